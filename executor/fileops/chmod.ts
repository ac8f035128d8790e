/**
 * `COPY --chmod` values: octal (`755`, `0755`, or a number already parsed) or symbolic (`u+x,g-w`, `a=rX`,
 * `go=u`), as BuildKit accepts them since dockerfile 1.14. BuildKit first tries `strconv.ParseUint(s, 8, 32)` and
 * falls back to a chmod(1)-style symbolic mode (tonistiigi/dchapes-mode); symbolic modes are applied to each copied
 * file's own source mode, with no umask (a clause without `ugoa` applies to all classes).
 */
import { TsbuildError } from '../../util/errors.ts';

/** A compiled chmod: the new permission bits (0..0o7777) for an entry whose current bits are `mode`. */
export type ModeFn = (mode: number, isDir: boolean) => number;

const WHO_BITS = { u: 0o4700, g: 0o2070, o: 0o1007 } as const;

interface Clause {
  readonly who: number;
  readonly ops: readonly { readonly op: '+' | '-' | '='; readonly perms: string }[];
}

/** Compiles a `--chmod` value; throws TsbuildError `fileops/invalid-chmod` when it is neither octal nor symbolic. */
export function compileChmod(spec: number | string): ModeFn {
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < 0 || spec > 0o7777) throw invalid(String(spec));
    return () => spec;
  }
  if (/^[0-7]+$/.test(spec)) {
    const n = parseInt(spec, 8);
    if (n > 0o7777) throw invalid(spec);
    return () => n;
  }
  const clauses = parseSymbolic(spec);
  return (mode, isDir) => applySymbolic(clauses, mode & 0o7777, isDir);
}

function invalid(spec: string): TsbuildError {
  return new TsbuildError(
    'fileops/invalid-chmod',
    `invalid chmod value ${JSON.stringify(spec)}: expected an octal mode such as 755 or a symbolic one such as u+x,g-w`,
  );
}

function parseSymbolic(spec: string): Clause[] {
  if (spec === '') throw invalid(spec);
  const clauses: Clause[] = [];
  for (const part of spec.split(',')) {
    const m = /^([ugoa]*)((?:[-+=][rwxXstugo]*)+)$/.exec(part);
    if (!m) throw invalid(spec);
    let who = 0;
    for (const w of m[1]!) who |= w === 'a' ? 0o7777 : WHO_BITS[w as 'u' | 'g' | 'o'];
    if (who === 0) who = 0o7777;
    const ops: { op: '+' | '-' | '='; perms: string }[] = [];
    for (const om of m[2]!.matchAll(/([-+=])([rwxXstugo]*)/g)) {
      const perms = om[2]!;
      // A class copy (`g=u`) must stand alone, as in chmod(1).
      if (/[ugo]/.test(perms) && perms.length !== 1) throw invalid(spec);
      ops.push({ op: om[1] as '+' | '-' | '=', perms });
    }
    clauses.push({ who, ops });
  }
  return clauses;
}

function applySymbolic(clauses: readonly Clause[], start: number, isDir: boolean): number {
  let mode = start;
  for (const c of clauses) {
    for (const { op, perms } of c.ops) {
      let bits = 0;
      for (const p of perms) {
        switch (p) {
          case 'r':
            bits |= 0o444;
            break;
          case 'w':
            bits |= 0o222;
            break;
          case 'x':
            bits |= 0o111;
            break;
          case 'X':
            if (isDir || (mode & 0o111) !== 0) bits |= 0o111;
            break;
          case 's':
            bits |= 0o6000;
            break;
          case 't':
            bits |= 0o1000;
            break;
          case 'u':
            bits |= replicate((mode >> 6) & 7);
            break;
          case 'g':
            bits |= replicate((mode >> 3) & 7);
            break;
          case 'o':
            bits |= replicate(mode & 7);
            break;
        }
      }
      const affected = bits & c.who;
      if (op === '+') mode |= affected;
      else if (op === '-') mode &= ~affected;
      else mode = (mode & ~c.who) | affected;
    }
  }
  return mode & 0o7777;
}

function replicate(rwx: number): number {
  return (rwx << 6) | (rwx << 3) | rwx;
}
