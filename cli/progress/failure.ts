/**
 * The report of a failed step, in BuildKit's layout: the step's label and its last output lines (at most 20)
 * between `------` rules, then the Dockerfile excerpt with the failing instruction marked `>>>`. The error line
 * that follows (rendered by cli/render-error.ts) carries the command and its exit code.
 */
import type { BuildRequest } from '../../executor/build.ts';

/** The fields of executor/scheduler.ts's StepFailedError this report reads (duck-typed: no executor import). */
interface FailedStepLike {
  readonly step: {
    readonly id: string;
    readonly description: string;
    readonly origin?: { readonly range: { readonly start: { readonly line: number }; readonly end: { readonly line: number } } };
  };
  readonly tail?: readonly string[];
}

function isFailedStep(e: unknown): e is FailedStepLike {
  const s = (e as { step?: { id?: unknown; description?: unknown } } | null)?.step;
  return typeof s?.id === 'string' && typeof s.description === 'string';
}

/** Lines of context shown around the failing instruction. */
const CONTEXT_LINES = 2;

/**
 * The report for `e` when it is a failed step, else ''. `label` maps a step id to its progress label
 * (`[stage-1 2/3] RUN make`); without one the step's description is used.
 */
export function formatStepFailure(e: unknown, dockerfile: BuildRequest['dockerfile'], label?: (id: string) => string | undefined): string {
  if (!isFailedStep(e)) return '';
  const { step } = e;
  let out = `------\n > ${label?.(step.id) ?? step.description}:\n`;
  for (const l of (e.tail ?? []).slice(-20)) out += `${l}\n`;
  out += '------\n';
  const r = step.origin?.range;
  if (!r) return out;
  const lines = dockerfile.text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const from = Math.max(1, r.start.line - CONTEXT_LINES);
  const to = Math.min(lines.length, r.end.line + CONTEXT_LINES);
  const width = String(to).length;
  out += `${dockerfile.displayName}:${r.start.line}${r.end.line !== r.start.line ? `-${r.end.line}` : ''}\n--------------------\n`;
  for (let n = from; n <= to; n++) {
    const mark = n >= r.start.line && n <= r.end.line ? '>>>' : '   ';
    out += `  ${String(n).padStart(width)} | ${mark} ${lines[n - 1] ?? ''}`.trimEnd() + '\n';
  }
  out += '--------------------\n';
  return out;
}
