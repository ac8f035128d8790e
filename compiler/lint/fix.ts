import { parseTolerant } from '../../grammar/index.ts';
import type { LintOptions } from './types.ts';

/**
 * Lints and fixes repeatedly until no applicable fix is left (one fix can enable another: `from … as` needs the
 * keyword fixed before `as` can follow its case). At most `maxPasses` rounds.
 */
export function fixUntilStable(
  source: string,
  lintFn: (df: ReturnType<typeof parseTolerant>['dockerfile'], o: LintOptions) => Finding[],
  options: LintOptions & { file?: string },
  opts: { unsafe?: boolean; maxPasses?: number } = {},
): { text: string; applied: Finding[] } {
  let text = source;
  const applied: Finding[] = [];
  for (let pass = 0; pass < (opts.maxPasses ?? 5); pass++) {
    const df = parseTolerant(text, options.file !== undefined ? { file: options.file } : {}).dockerfile;
    const res = applyFixes(df.source, lintFn(df, options), { unsafe: opts.unsafe ?? false });
    if (res.applied.length === 0) break;
    applied.push(...res.applied);
    text = res.text;
  }
  return { text, applied };
}

/** Applies finding fixes to a source text: safe fixes only, or all with `unsafe`. Overlapping edits are skipped. */
import type { Finding, TextEdit } from './types.ts';

export interface FixResult {
  /** The fixed text (equal to the input when nothing applied). */
  readonly text: string;
  /** Findings whose fix was applied. */
  readonly applied: readonly Finding[];
  /** Findings with a fix that was not applied (unsafe without `unsafe`, or overlapping an applied one). */
  readonly skipped: readonly Finding[];
}

export function applyFixes(source: string, findings: readonly Finding[], opts: { unsafe?: boolean; only?: ReadonlySet<string> } = {}): FixResult {
  const chosen: { f: Finding; edits: readonly TextEdit[] }[] = [];
  const skipped: Finding[] = [];
  const taken: TextEdit[] = [];
  const overlaps = (e: TextEdit): boolean => taken.some((t) => e.start < t.end && t.start < e.end || (e.start === e.end && e.start === t.start && t.start === t.end && e.text === t.text));
  for (const f of findings) {
    if (!f.fix) continue;
    if ((!f.fix.safe && !opts.unsafe) || (opts.only && !opts.only.has(f.code))) {
      skipped.push(f);
      continue;
    }
    if (f.fix.edits.some(overlaps)) {
      skipped.push(f);
      continue;
    }
    taken.push(...f.fix.edits);
    chosen.push({ f, edits: f.fix.edits });
  }
  const edits = chosen.flatMap((c) => c.edits).sort((a, b) => b.start - a.start || b.end - a.end);
  let text = source;
  for (const e of edits) text = text.slice(0, e.start) + e.text + text.slice(e.end);
  return { text, applied: chosen.map((c) => c.f), skipped };
}

/** A unified diff of two texts (whole-file hunks per changed line run, 3 lines of context). */
export function unifiedDiff(a: string, b: string, name: string): string {
  if (a === b) return '';
  const A = a.split('\n');
  const B = b.split('\n');
  // LCS on lines (Dockerfiles are small)
  const n = A.length;
  const m = B.length;
  const dp: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i]![j] = A[i] === B[j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
  const ops: { t: ' ' | '-' | '+'; s: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && A[i] === B[j]) ops.push({ t: ' ', s: A[i]!, ai: i++, bi: j++ });
    else if (i < n && (j >= m || dp[i + 1]![j]! >= dp[i]![j + 1]!)) ops.push({ t: '-', s: A[i]!, ai: i++, bi: j });
    else ops.push({ t: '+', s: B[j]!, ai: i, bi: j++ });
  }
  let out = `--- a/${name}\n+++ b/${name}\n`;
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.t === ' ') {
      k++;
      continue;
    }
    let start = Math.max(0, k - 3);
    let end = k;
    while (end < ops.length) {
      if (ops[end]!.t !== ' ') {
        end++;
        continue;
      }
      let run = 0;
      while (end + run < ops.length && ops[end + run]!.t === ' ') run++;
      if (end + run >= ops.length || run > 6) {
        end = Math.min(ops.length, end + 3);
        break;
      }
      end += run;
    }
    const hunk = ops.slice(start, end);
    const aCount = hunk.filter((o) => o.t !== '+').length;
    const bCount = hunk.filter((o) => o.t !== '-').length;
    out += `@@ -${hunk[0]!.ai + 1},${aCount} +${hunk[0]!.bi + 1},${bCount} @@\n`;
    for (const o of hunk) out += `${o.t}${o.s}\n`;
    k = end;
    start = end;
  }
  return out;
}
