/**
 * BuildKit's `${v#p}` / `${v%p}` / `${v/p/r}` patterns: POSIX-style globs without bracket expressions.
 * `*` is any run of characters (shortest for `#`/`%`, longest for `##`/`%%` and `/`), `?` is one character, and
 * `\*` `\?` `\\` are literal. `\}` and `\/` are also accepted and mean `}` and `/` (the escape only served to keep
 * the `${...}` scanner from stopping there). Any other `\x` is an error.
 *
 * Upstream compiles the glob into a Go RE2 regexp. We compile it into a JS RegExp with the same construction;
 * leftmost-first priority is the same in both engines, so `.*?` and `.*` pick the same matches. Go's `.` does not
 * match `\n`, hence `[^\n]`. Cost: V8 backtracks, so a pattern with many `*` against a long value is polynomial
 * where RE2 is linear; Dockerfile values are short.
 */

/** A glob whose escapes are invalid. `message` is Go's, e.g. `invalid escape '\a'`. */
export class InvalidPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPatternError';
  }
}

const REGEX_SPECIAL = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

/** Code points of `s`; like Go's text/scanner, a leading byte-order mark is skipped. */
function scanRunes(s: string): string[] {
  const runes = Array.from(s);
  if (runes[0] === '\ufeff') runes.shift();
  return runes;
}

/** Compile a shell glob into a RegExp (flags `u`, plus `g` when `global`). Throws InvalidPatternError. */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const runes = scanRunes(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '[^\\n]*' : '[^\\n]*?';
  for (let i = 0; i < runes.length; i++) {
    const tok = runes[i]!;
    if (tok === '*') {
      out += star;
    } else if (tok === '?') {
      out += '[^\\n]';
    } else if (tok === '\\') {
      const next = runes[i + 1];
      if (next === '}' || next === '/') continue; // the escape only protected the delimiter
      i++;
      if (next !== '*' && next !== '?' && next !== '\\') {
        // Go formats the missing rune (EOF) with %c, which prints U+FFFD.
        throw new InvalidPatternError(`invalid escape '\\${next ?? '\ufffd'}'`);
      }
      out += '\\' + next;
    } else if (REGEX_SPECIAL.has(tok)) {
      out += '\\' + tok;
    } else {
      out += tok;
    }
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

/** `${v#p}` (greedy=false) and `${v##p}` (greedy=true): drop the shortest/longest prefix of `value` matching `pattern`. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return m === null ? value : value.slice(m[0].length);
}

/**
 * `${v%p}` and `${v%%p}`. A regexp cannot find the shortest match that ends at the end, so (as upstream does) we
 * reverse both the value and the pattern, keeping each `\x` escape pair in order, and trim a prefix instead.
 */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseRunes(trimPrefix(reversePattern(pattern), reverseRunes(value), greedy));
}

function reverseRunes(s: string): string {
  return Array.from(s).reverse().join('');
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

/** `${v/p/r}`: replace the first (longest-starred) match of `pattern` in `value` with `replacement`, literally. */
export function replaceFirst(pattern: string, value: string, replacement: string): string {
  const m = shellPatternToRegExp(pattern, true, false).exec(value);
  if (m === null) return value;
  return value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length);
}

/**
 * `${v//p/r}`: Go's `Regexp.ReplaceAllString`. Two Go details carry over: an empty match right after a previous
 * match is not replaced again, and the replacement is a Go template (`$0`/`${0}` = the match, `$$` = `$`, any other
 * `$name` = empty since the pattern has no groups).
 */
export function replaceAll(pattern: string, value: string, replacement: string): string {
  const re = shellPatternToRegExp(pattern, true, false, true);
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= value.length) {
    re.lastIndex = searchPos;
    const m = re.exec(value);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    out += value.slice(lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0) out += expandGoTemplate(replacement, m[0]);
    lastMatchEnd = end;
    // Always advance at least one character, as Go does.
    const width = searchPos < value.length ? runeWidth(value, searchPos) : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + value.slice(lastMatchEnd);
}

function runeWidth(s: string, i: number): number {
  return s.codePointAt(i)! > 0xffff ? 2 : 1;
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
