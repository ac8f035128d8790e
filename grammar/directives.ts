/**
 * BuildKit's DetectSyntax (parser/directives.go): find the `syntax` directive the way the frontend selector does,
 * which is more lenient than the parser proper: a `#!` first line is skipped, and `//syntax=` comments and a JSON
 * document with a "syntax" key are accepted too.
 */

/** A detected `syntax` directive. */
export interface DetectedSyntax {
  /** The frontend reference: the value up to the first space (`docker/dockerfile:1`). */
  readonly ref: string;
  /** The whole value, options included (`dockerfile:experimental // opts`). */
  readonly cmdline: string;
  /** 1-based line of the directive (the line after a shebang counts as 2). */
  readonly line: number;
}

const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const VALID = new Set(['syntax', 'escape', 'check']);

function scan(lines: readonly string[], prefix: string, firstLine: number): DetectedSyntax | undefined {
  const seen = new Set<string>();
  let lineNo = firstLine;
  for (const raw of lines) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.startsWith(prefix)) return undefined;
    const m = DIRECTIVE_RE.exec(line.slice(prefix.length).replace(/^[\s\u0085]+/, ''));
    const key = m?.[1]?.toLowerCase();
    if (!m || key === undefined || !VALID.has(key)) return undefined;
    if (seen.has(key)) return undefined;
    seen.add(key);
    if (key === 'syntax') {
      const value = m[2]!;
      const sp = value.indexOf(' ');
      return { ref: sp === -1 ? value : value.slice(0, sp), cmdline: value, line: lineNo };
    }
  }
  return undefined;
}

/** The `syntax` directive of a Dockerfile, if any, found as BuildKit's DetectSyntax does. */
export function detectSyntax(text: string): DetectedSyntax | undefined {
  let dt = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let first = 0;
  const nl = dt.indexOf('\n');
  const firstLine = nl === -1 ? dt : dt.slice(0, nl);
  if (firstLine.startsWith('#!')) {
    dt = nl === -1 ? '' : dt.slice(nl + 1);
    first = 1;
  }
  const lines = dt.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const found = scan(lines, '#', first) ?? scan(lines, '//', first);
  if (found) return found;
  try {
    const j: unknown = JSON.parse(dt);
    if (j !== null && typeof j === 'object' && !Array.isArray(j)) {
      const v = (j as Record<string, unknown>).syntax;
      if (typeof v === 'string') return { ref: v, cmdline: v, line: first };
    }
  } catch {
    // not JSON: no directive
  }
  return undefined;
}
