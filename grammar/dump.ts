/**
 * AST printers: BuildKit's `Node.Dump()` notation (what `tsbuild parse --format buildkit` prints and what the
 * upstream `testfiles/<case>/result` files hold), and a stable JSON rendering of the AST.
 */
import type { Dockerfile, Flag, Instruction } from './ast.ts';

/** `(from "a")\n(run "b")\n`: BuildKit's root.Dump() plus the final newline, byte for byte. */
export function dumpBuildkit(df: Dockerfile): string {
  let out = '';
  for (const ins of df.instructions) out += `(${dumpInstruction(ins)})\n`;
  return out;
}

function flagWord(f: Flag): string {
  return `--${f.name}${f.value === null ? '' : `=${f.value}`}`;
}

function dumpInstruction(ins: Instruction): string {
  let s = ins.keywordText.toLowerCase();
  if (ins.flags.length > 0) s += ` [${ins.flags.map((f) => goQuote(flagWord(f))).join(' ')}]`;
  if (ins.kind === 'ONBUILD') {
    if (ins.trigger) s += ` (${dumpInstruction(ins.trigger)})`;
  } else {
    for (const a of ins.args) s += ` ${goQuote(a.value)}`;
  }
  return s.trim();
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's strconv.Quote: `"` + escapes for `"` `\` and non-printable runes (Go's unicode.IsPrint) + `"`. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x20 || (c > 0x20 && c < 0x7f)) out += ch;
    else if (c < 0x80 || !PRINTABLE.test(ch) || (c >= 0xd800 && c <= 0xdfff)) {
      switch (c) {
        case 0x07: out += '\\a'; break;
        case 0x08: out += '\\b'; break;
        case 0x0c: out += '\\f'; break;
        case 0x0a: out += '\\n'; break;
        case 0x0d: out += '\\r'; break;
        case 0x09: out += '\\t'; break;
        case 0x0b: out += '\\v'; break;
        default:
          if (c < 0x20 || c === 0x7f) out += `\\x${hex(c, 2)}`;
          else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
          else if (c < 0x10000) out += `\\u${hex(c, 4)}`;
          else out += `\\U${hex(c, 8)}`;
      }
    } else out += ch;
  }
  return out + '"';
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Pretty, stable JSON of the AST (key order as built, which is fixed by the parser), ending in a newline. */
export function toJson(df: Dockerfile): string {
  return JSON.stringify(df, null, 2) + '\n';
}
