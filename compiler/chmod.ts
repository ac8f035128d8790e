/** COPY/ADD `--chmod`: an octal mode up to 07777, or a symbolic mode (`u+x,g-w`, `a=rX`) as BuildKit accepts. */
import { TsbuildError } from '../util/errors.ts';

const SYMBOLIC = /^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+(?:,[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)*$/;

/** Returns the numeric mode or the symbolic string; throws TsbuildError `compile/invalid-chmod` (no range). */
export function parseChmod(s: string): number | string {
  const nonOctal = new TsbuildError(
    'compile/invalid-chmod',
    `invalid chmod parameter: '${s}'. it should be octal string and between 0 and 07777`,
    { suggestion: 'use an octal mode such as 0755 or a symbolic one such as u+x,g-w' },
  );
  if (/^[0-7]+$/.test(s)) {
    const n = parseInt(s, 8);
    if (n > 0o7777) throw nonOctal;
    return n;
  }
  if (/^[+-]?\d+$/.test(s)) throw nonOctal;
  if (!SYMBOLIC.test(s)) {
    throw new TsbuildError('compile/invalid-chmod', `invalid chmod parameter: '${s}'`, {
      suggestion: 'use an octal mode such as 0755 or a symbolic one such as u+x,g-w',
    });
  }
  return s;
}

/** Applies a symbolic mode (`u+x,g-w`, `a=r`) to `base` for a regular file (X acts as x only if some x bit is set). */
export function applySymbolicMode(base: number, spec: string): number {
  let mode = base;
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)(.*)$/.exec(clause)!;
    const who = m[1] === '' || m[1]!.includes('a') ? 'ugo' : m[1]!;
    const mask = (who.includes('u') ? 0o4700 : 0) | (who.includes('g') ? 0o2070 : 0) | (who.includes('o') ? 0o1007 : 0);
    for (const op of m[2]!.match(/[-+=][^-+=]*/g) ?? []) {
      const perms = op.slice(1);
      let bits = 0;
      const copyFrom = (shift: number): number => {
        const v = (mode >> shift) & 7;
        return (v << 6) | (v << 3) | v;
      };
      for (const ch of perms) {
        if (ch === 'r') bits |= 0o444;
        else if (ch === 'w') bits |= 0o222;
        else if (ch === 'x') bits |= 0o111;
        else if (ch === 'X') bits |= mode & 0o111 ? 0o111 : 0;
        else if (ch === 's') bits |= 0o6000;
        else if (ch === 't') bits |= 0o1000;
        else if (ch === 'u') bits |= copyFrom(6);
        else if (ch === 'g') bits |= copyFrom(3);
        else if (ch === 'o') bits |= copyFrom(0);
      }
      bits &= mask;
      if (op[0] === '+') mode |= bits;
      else if (op[0] === '-') mode &= ~bits;
      else mode = (mode & ~(mask & 0o777)) | bits;
    }
  }
  return mode & 0o7777;
}
