/**
 * The visitor: one line's CST (keyword, flag tokens, rest token) plus its logical line → a typed Instruction.
 * Per-instruction argument rules follow BuildKit's dispatch table (line_parsers.go); see FORMAT.md (a).
 */
import type { IToken } from 'chevrotain';
import type {
  ArgDeclaration,
  CommandForm,
  Comment,
  Flag,
  Heredoc,
  Instruction,
  KeyValue,
  Word,
} from './ast.ts';
import type { Diagnostic } from '../util/errors.ts';
import type { Position, Range } from '../util/position.ts';
import { parseLines, type LineCst } from './cst.ts';
import { positionAfter, positionIn, type HeredocBody, type Segment } from './prepass.ts';
import { decodeJsonArray, isSpace, parseWords, splitWhitespace, trimBounds, type Piece } from './words.ts';

/** Where a line being built sits in the source. */
export interface LineSource {
  readonly text: string;
  readonly segs: readonly Segment[];
  /** Start of the first character of `text` and end of the instruction (heredocs included). */
  readonly end: Position;
  readonly comments: readonly Comment[];
  readonly heredocs: readonly HeredocBody[];
}

export interface BuildContext {
  readonly escape: '\\' | '`';
  readonly file: string | undefined;
  readonly errors: Diagnostic[];
}

const KNOWN = new Set([
  'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'ENV', 'LABEL', 'ARG', 'EXPOSE', 'VOLUME', 'USER',
  'WORKDIR', 'STOPSIGNAL', 'MAINTAINER', 'HEALTHCHECK', 'ONBUILD',
]);

/** Builds the instruction of one logical line from its CST. */
export function buildInstruction(cst: LineCst, src: LineSource, ctx: BuildContext, ob = 0): Instruction {
  const text = src.text;
  const rng = (a: number, b: number): Range => ({ start: positionIn(src, a), end: b > a ? positionAfter(src, b) : positionIn(src, a) });
  const word = (p: Piece): Word => ({ value: p.value, range: rng(p.start, p.end) });
  const err = (code: string, message: string, range: Range, suggestion?: string): void => {
    ctx.errors.push({
      code,
      severity: 'error',
      message,
      ...(ctx.file !== undefined ? { file: ctx.file } : {}),
      range,
      ...(suggestion !== undefined ? { suggestion } : {}),
    });
  };

  const kwTok: IToken | undefined = cst.children.Keyword?.[0];
  let kwStart = 0;
  let kwEnd = 0;
  if (kwTok) {
    kwStart = kwTok.startOffset - ob;
    kwEnd = kwStart + kwTok.image.length;
    while (kwEnd > kwStart && isSpace(text.charCodeAt(kwEnd - 1))) kwEnd--;
  } else {
    [kwStart] = trimBounds(text);
    kwEnd = kwStart;
  }
  const keywordText = text.slice(kwStart, kwEnd);
  const keyword = keywordText.toUpperCase();

  const flags: Flag[] = (cst.children.Flag ?? []).map((t) => {
    const processed: string = t.payload as string;
    const body = processed.slice(2);
    const eq = body.indexOf('=');
    const a = t.startOffset - ob;
    const b = a + t.image.length;
    const rawEq = t.image.indexOf('=');
    return {
      name: eq === -1 ? body : body.slice(0, eq),
      value: eq === -1 ? null : body.slice(eq + 1),
      raw: t.image,
      range: rng(a, b),
      nameRange: rng(a + 2, rawEq === -1 ? b : a + rawEq),
      ...(rawEq !== -1 ? { valueRange: rng(a + rawEq + 1, b) } : {}),
    };
  });

  const restTok = cst.children.Rest?.[0];
  let [rs, re] = restTok ? trimBounds(text, restTok.startOffset - ob, restTok.startOffset - ob + restTok.image.length) : [text.length, text.length];
  if (!restTok) {
    const after = cst.children.DoubleDash?.[0] ?? cst.children.Flag?.at(-1);
    rs = re = after ? after.startOffset - ob + after.image.length : kwEnd;
  }
  const rest = text.slice(rs, re);
  const restWord: Word = { value: rest, range: rng(rs, re) };
  const emptyAt = (i: number): Word => ({ value: '', range: rng(i, i) });

  const heredocs: Heredoc[] = src.heredocs.map((h) => {
    const content = h.marker.chomp ? h.rawContent.replace(/^\t+/gm, '') : h.rawContent;
    const markerRange = rng(h.marker.start, h.marker.end);
    return {
      name: h.marker.name,
      ...(h.marker.fd !== undefined ? { fd: h.marker.fd } : {}),
      chomp: h.marker.chomp,
      expand: h.marker.expand,
      content,
      rawContent: h.rawContent,
      range: { start: markerRange.start, end: h.end },
      markerRange,
      contentRange: h.contentRange,
    };
  });

  const base = {
    keyword,
    keywordText,
    keywordRange: rng(kwStart, kwEnd),
    range: { start: positionIn(src, kwStart), end: src.end },
    flags,
    rest,
    original: text,
    heredocs,
    comments: src.comments,
  };

  /** parseMaybeJSON: exec form when `rest` is a JSON array of strings, else the shell form (one word). */
  const maybeJson = (from: number, to: number): { form: CommandForm; args: Word[] } => {
    const whole = rng(from, to);
    if (from >= to) return { form: { form: 'shell', command: emptyAt(from), range: whole }, args: [] };
    const j = decodeJsonArray(text, from, to);
    if (j.kind === 'array') {
      const argv = j.items.map(word);
      return { form: { form: 'exec', argv, range: whole }, args: argv };
    }
    if (j.kind === 'not-strings') {
      err('parse/invalid-json', 'when using JSON array syntax, arrays must be comprised of strings only', rng(j.at.start, j.at.end),
        'quote every element: ["executable", "param1"]');
    }
    const command = { value: text.slice(from, to), range: whole };
    return { form: { form: 'shell', command, range: whole }, args: [command] };
  };

  /** parseMaybeJSONToList: JSON array of strings, or whitespace-separated words. */
  const jsonOrWords = (): { form: 'exec' | 'shell'; args: Word[] } => {
    const j = decodeJsonArray(text, rs, re);
    if (j.kind === 'array') return { form: 'exec', args: j.items.map(word) };
    if (j.kind === 'not-strings') {
      err('parse/invalid-json', 'when using JSON array syntax, arrays must be comprised of strings only', rng(j.at.start, j.at.end),
        'quote every element: ["src", "dest"]');
    }
    return { form: 'shell', args: splitWhitespace(text, rs, re).map(word) };
  };

  if (!KNOWN.has(keyword)) return { ...base, kind: 'UNKNOWN', args: [emptyAt(rs)] };

  switch (keyword) {
    case 'FROM': {
      const args = splitWhitespace(text, rs, re).map(word);
      const asKw = args[1] !== undefined && args[1].value.toLowerCase() === 'as' ? args[1] : undefined;
      return {
        ...base,
        kind: 'FROM',
        args,
        image: args[0] ?? emptyAt(rs),
        ...(asKw ? { asKeyword: asKw } : {}),
        ...(asKw && args[2] ? { stageName: args[2] } : {}),
        extra: asKw ? args.slice(3) : args.slice(1),
      };
    }
    case 'EXPOSE': {
      const args = splitWhitespace(text, rs, re).map(word);
      return { ...base, kind: 'EXPOSE', args, ports: args };
    }
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
    case 'SHELL': {
      const { form, args } = maybeJson(rs, re);
      return { ...base, kind: keyword, args, command: form };
    }
    case 'COPY':
    case 'ADD': {
      const { form, args } = jsonOrWords();
      const dest = args.length >= 2 ? args[args.length - 1] : undefined;
      return {
        ...base,
        kind: keyword,
        args,
        form,
        sources: dest ? args.slice(0, -1) : args,
        ...(dest ? { dest } : {}),
      };
    }
    case 'VOLUME': {
      const { form, args } = jsonOrWords();
      return { ...base, kind: 'VOLUME', args, form, paths: args };
    }
    case 'ENV':
    case 'LABEL': {
      const { pairs, args } = nameVal(keyword);
      return { ...base, kind: keyword, args, pairs };
    }
    case 'ARG': {
      const words = parseWords(text, ctx.escape, rs, re);
      const declarations: ArgDeclaration[] = words.map((w) => {
        const eq = w.value.indexOf('=');
        if (eq === -1) return { name: word(w), range: rng(w.start, w.end) };
        return {
          name: { value: w.value.slice(0, eq), range: rng(w.start, w.start + eq) },
          default: { value: w.value.slice(eq + 1), range: rng(w.start + eq + 1, w.end) },
          range: rng(w.start, w.end),
        };
      });
      return { ...base, kind: 'ARG', args: words.map(word), declarations };
    }
    case 'USER':
      return { ...base, kind: 'USER', args: rest ? [restWord] : [], user: restWord };
    case 'WORKDIR':
      return { ...base, kind: 'WORKDIR', args: rest ? [restWord] : [], path: restWord };
    case 'STOPSIGNAL':
      return { ...base, kind: 'STOPSIGNAL', args: rest ? [restWord] : [], signal: restWord };
    case 'MAINTAINER':
      return { ...base, kind: 'MAINTAINER', args: rest ? [restWord] : [], name: restWord };
    case 'HEALTHCHECK': {
      let sep = rs;
      while (sep < re && !isSpace(text.charCodeAt(sep))) sep++;
      let nx = sep;
      while (nx < re && isSpace(text.charCodeAt(nx))) nx++;
      const type: Word = { value: text.slice(rs, sep).toUpperCase(), range: rng(rs, sep) };
      if (sep === rs) return { ...base, kind: 'HEALTHCHECK', args: [], type };
      const typeWord: Word = { value: text.slice(rs, sep), range: type.range };
      const { form, args } = maybeJson(nx, re);
      return { ...base, kind: 'HEALTHCHECK', args: [typeWord, ...args], type, command: form };
    }
    case 'ONBUILD': {
      if (rest === '') return { ...base, kind: 'ONBUILD', args: [], triggerText: '' };
      const sub: LineSource = {
        text: rest,
        segs: shiftSegs(src.segs, rs, re),
        end: positionAfter(src, re),
        comments: [],
        heredocs: [],
      };
      const [subCst] = parseLines(rest.replace(/\n/g, ' ') + '\n');
      const trigger = buildInstruction(subCst!, sub, ctx);
      const withDocs = heredocs.length > 0 ? { ...trigger, heredocs, range: { start: trigger.range.start, end: src.end } } : trigger;
      return { ...base, kind: 'ONBUILD', args: [], trigger: withDocs, triggerText: rest };
    }
  }
  throw new Error(`grammar bug: unhandled keyword ${keyword}`);

  /** parseNameVal (ENV, LABEL): legacy `K v…` or `k=v …` pairs; args are the key/value/separator triples. */
  function nameVal(key: string): { pairs: KeyValue[]; args: Word[] } {
    const words = parseWords(text, ctx.escape, rs, re);
    const pairs: KeyValue[] = [];
    const args: Word[] = [];
    if (words.length === 0) return { pairs, args };
    const first = words[0]!;
    if (!first.value.includes('=')) {
      let k = rs;
      while (k < re && !isSpaceRe(text.charCodeAt(k))) k++;
      let v = k;
      while (v < re && isSpaceRe(text.charCodeAt(v))) v++;
      const keyW: Word = { value: text.slice(rs, k), range: rng(rs, k) };
      if (v === k) {
        err('parse/env-missing-value', `${key} must have two arguments`, keyW.range, `write "${key} ${keyW.value}=<value>"`);
        return { pairs, args };
      }
      const valW: Word = { value: text.slice(v, re), range: rng(v, re) };
      pairs.push({ key: keyW, value: valW, legacy: true, range: rng(rs, re) });
      args.push(keyW, valW, { value: '', range: rng(k, k) });
      return { pairs, args };
    }
    for (const w of words) {
      const eq = w.value.indexOf('=');
      if (eq === -1) {
        err('parse/env-syntax', `Syntax error - can't find = in "${w.value}". Must be of the form: name=value`, rng(w.start, w.end),
          `write ${w.value}=<value>`);
        return { pairs, args };
      }
      const keyW: Word = { value: w.value.slice(0, eq), range: rng(w.start, w.start + eq) };
      const valW: Word = { value: w.value.slice(eq + 1), range: rng(w.start + eq + 1, w.end) };
      pairs.push({ key: keyW, value: valW, legacy: false, range: rng(w.start, w.end) });
      args.push(keyW, valW, { value: '=', range: rng(w.start + eq, w.start + eq + 1) });
    }
    return { pairs, args };
  }
}

function isSpaceRe(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

/** Segments of a sub-range [a, b) of a logical line, re-based so that index 0 is `a`. */
function shiftSegs(segs: readonly Segment[], a: number, b: number): Segment[] {
  const out: Segment[] = [];
  for (let k = 0; k < segs.length; k++) {
    const s = segs[k]!;
    const nextJ = segs[k + 1]?.j ?? Infinity;
    if (nextJ <= a || s.j >= b) continue;
    const from = Math.max(a, s.j);
    const d = from - s.j;
    out.push({ j: from - a, src: s.src + d, line: s.line, col: s.col + d });
  }
  return out;
}
