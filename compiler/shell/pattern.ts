/**
 * BuildKit's `${v#p}` / `${v%p}` / `${v/p/r}` patterns: POSIX-style globs without bracket expressions.
 * `*` is any run of characters (shortest for `#`/`%`, longest for `##`/`%%` and `/`), `?` is one character, and
 * `\*` `\?` `\\` are literal. `\}` and `\/` are also accepted and mean `}` and `/` (the escape only served to keep
 * the `${...}` scanner from stopping there). Any other `\x` is an error.
 *
 * Upstream compiles the glob into a Go RE2 regexp (`.*?` or `.*` per star, `.` per `?`, Go's `.` not matching
 * `\n`) and relies on leftmost-first match priority. With only stars, `?` and literals that priority reduces to:
 * lazy stars pick the shortest match, greedy stars the longest, and an unanchored search takes the leftmost start.
 * So instead of a backtracking JS RegExp (polynomial, in the number of stars, on adversarial values) we simulate
 * the glob as an NFA over code points: O(pattern × value) per match, whatever the input.
 */

/** A glob whose escapes are invalid. `message` is Go's, e.g. `invalid escape '\a'`. */
export class InvalidPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPatternError';
  }
}

/** One glob element; `lit` holds exactly one code point. */
type GlobToken = { readonly kind: 'star' } | { readonly kind: 'any' } | { readonly kind: 'lit'; readonly ch: string };

const STAR: GlobToken = { kind: 'star' };
const ANY: GlobToken = { kind: 'any' };

/** Parse a glob into tokens. Like Go's text/scanner, a leading byte-order mark is skipped. */
export function compileGlob(pattern: string): readonly GlobToken[] {
  const runes = Array.from(pattern);
  if (runes[0] === '\ufeff') runes.shift();
  const out: GlobToken[] = [];
  for (let i = 0; i < runes.length; i++) {
    const tok = runes[i]!;
    if (tok === '*') {
      out.push(STAR);
    } else if (tok === '?') {
      out.push(ANY);
    } else if (tok === '\\') {
      const next = runes[i + 1];
      if (next === '}' || next === '/') continue; // the escape only protected the delimiter
      i++;
      if (next !== '*' && next !== '?' && next !== '\\') {
        // Go formats the missing rune (EOF) with %c, which prints U+FFFD.
        throw new InvalidPatternError(`invalid escape '\\${next ?? '\ufffd'}'`);
      }
      out.push({ kind: 'lit', ch: next });
    } else {
      out.push({ kind: 'lit', ch: tok });
    }
  }
  return out;
}

/**
 * The NFA: state i means "tokens[0..i) consumed"; state tokens.length accepts. `starts[i]` is the earliest match
 * start of any thread in state i (-1 = no thread). Keeping only the earliest start per state is enough: threads
 * in the same state have the same future, and an earlier start always wins.
 */
class GlobMachine {
  private readonly tokens: readonly GlobToken[];
  private starts: Int32Array;
  private nextStarts: Int32Array;

  constructor(tokens: readonly GlobToken[]) {
    this.tokens = tokens;
    this.starts = new Int32Array(tokens.length + 1).fill(-1);
    this.nextStarts = new Int32Array(tokens.length + 1).fill(-1);
  }

  get acceptStart(): number {
    return this.starts[this.tokens.length]!;
  }

  reset(): void {
    this.starts.fill(-1);
  }

  /** Start a thread at state 0 (unless one with an earlier start is there) and follow empty star matches. */
  seed(start: number): void {
    const s = this.starts;
    if (s[0] === -1 || s[0]! > start) s[0] = start;
    this.closure();
  }

  /** A star may match nothing: propagate each thread past the stars in front of it. */
  private closure(): void {
    const s = this.starts;
    for (let i = 0; i < this.tokens.length; i++) {
      if (this.tokens[i]!.kind === 'star' && s[i] !== -1 && (s[i + 1] === -1 || s[i + 1]! > s[i]!)) s[i + 1] = s[i]!;
    }
  }

  /** Consume one code point; returns whether any thread survives. `maxStart` drops threads that can no longer win. */
  step(ch: string, maxStart: number): boolean {
    const cur = this.starts;
    const nxt = this.nextStarts.fill(-1);
    let alive = false;
    for (let i = 0; i < this.tokens.length; i++) {
      const start = cur[i]!;
      if (start === -1 || start > maxStart) continue;
      const tok = this.tokens[i]!;
      let to: number;
      // Go's `.` (our `*` and `?`) never matches a newline.
      if (tok.kind === 'star') to = ch === '\n' ? -1 : i;
      else if (tok.kind === 'any') to = ch === '\n' ? -1 : i + 1;
      else to = tok.ch === ch ? i + 1 : -1;
      if (to === -1) continue;
      if (nxt[to] === -1 || nxt[to]! > start) nxt[to] = start;
      alive = true;
    }
    this.starts = nxt;
    this.nextStarts = cur;
    this.closure();
    return alive;
  }
}

/**
 * Length (in code points) of the shortest (`greedy` false) or longest match of the glob at the start of `runes`,
 * or -1 if none.
 */
function matchPrefix(tokens: readonly GlobToken[], runes: readonly string[], greedy: boolean): number {
  const m = new GlobMachine(tokens);
  m.seed(0);
  let best = m.acceptStart === 0 ? 0 : -1;
  if (best === 0 && !greedy) return 0;
  for (let k = 0; k < runes.length; k++) {
    if (!m.step(runes[k]!, 0)) break;
    if (m.acceptStart === 0) {
      best = k + 1;
      if (!greedy) break;
    }
  }
  return best;
}

/**
 * Go's unanchored search with greedy stars: the leftmost start at or after `from`, then the longest match from
 * there. Returns [start, end) in code points, or undefined.
 */
function findLeftmostLongest(
  tokens: readonly GlobToken[],
  runes: readonly string[],
  from: number,
): [number, number] | undefined {
  const m = new GlobMachine(tokens);
  let best: [number, number] | undefined;
  for (let k = from; ; k++) {
    // No new threads once a match is known: they would start later and lose.
    if (best === undefined) m.seed(k);
    const acc = m.acceptStart;
    if (acc !== -1 && (best === undefined || acc < best[0] || (acc === best[0] && k > best[1]))) best = [acc, k];
    if (k >= runes.length) break;
    const alive = m.step(runes[k]!, best === undefined ? Number.MAX_SAFE_INTEGER : best[0]);
    if (!alive && best !== undefined) break;
  }
  return best;
}

/** `${v#p}` (greedy=false) and `${v##p}` (greedy=true): drop the shortest/longest prefix of `value` matching `pattern`. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const runes = Array.from(value);
  const n = matchPrefix(compileGlob(pattern), runes, greedy);
  return n <= 0 ? value : runes.slice(n).join('');
}

/**
 * `${v%p}` and `${v%%p}`: a suffix match is a prefix match of the reversed value against the reversed pattern
 * (reversed keeping each `\x` escape pair in order, as upstream does, which also decides how odd escapes parse).
 */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reversed = Array.from(value).reverse();
  const n = matchPrefix(compileGlob(reversePattern(pattern)), reversed, greedy);
  return n <= 0 ? value : reversed.slice(n).reverse().join('');
}

/** Reverse a glob without reversing its escapes: `a\*c` → `c\*a`. */
export function reversePattern(pattern: string): string {
  const runes = Array.from(pattern);
  const out = new Array<string>(runes.length);
  const last = runes.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = runes[i]!;
    const outIdx = last - i;
    if (tok === '\\' && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = runes[i + 1]!;
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return out.join('');
}

/** `${v/p/r}`: replace the leftmost(-longest) match of `pattern` in `value` with `replacement`, literally. */
export function replaceFirst(pattern: string, value: string, replacement: string): string {
  const runes = Array.from(value);
  const m = findLeftmostLongest(compileGlob(pattern), runes, 0);
  if (m === undefined) return value;
  return runes.slice(0, m[0]).join('') + replacement + runes.slice(m[1]).join('');
}

/**
 * `${v//p/r}`: Go's `Regexp.ReplaceAllString`. Two Go details carry over: an empty match right after a previous
 * match is not replaced again, and the replacement is a Go template (`$0`/`${0}` = the match, `$$` = `$`, any other
 * `$name` = empty since the pattern has no groups).
 */
export function replaceAll(pattern: string, value: string, replacement: string): string {
  const tokens = compileGlob(pattern);
  const runes = Array.from(value);
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= runes.length) {
    const m = findLeftmostLongest(tokens, runes, searchPos);
    if (m === undefined) break;
    const [start, end] = m;
    out += runes.slice(lastMatchEnd, start).join('');
    if (end > lastMatchEnd || start === 0) out += expandGoTemplate(replacement, runes.slice(start, end).join(''));
    lastMatchEnd = end;
    // Always advance at least one character, as Go does.
    if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + runes.slice(lastMatchEnd).join('');
}

const TEMPLATE_NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;

/** Go's Regexp.expand for a regexp with no capture groups: only group 0 (the whole match) exists. */
function expandGoTemplate(template: string, match: string): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = extractTemplateName(rest);
    if (ref === undefined) {
      out += '$'; // malformed reference: the `$` is literal text
      continue;
    }
    rest = ref.rest;
    if (ref.name === '0') out += match;
  }
  return out + rest;
}

function extractTemplateName(s: string): { name: string; rest: string } | undefined {
  const brace = s.startsWith('{');
  const body = brace ? s.slice(1) : s;
  let i = 0;
  for (const ch of body) {
    if (!TEMPLATE_NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === 0) return undefined;
  const name = body.slice(0, i);
  if (brace) {
    if (body[i] !== '}') return undefined;
    i++;
  }
  return { name, rest: body.slice(i) };
}
