/**
 * Opt-in phase timings for profiling builds: with `TSBUILD_TRACE=<file>` in the environment, `span()` records how
 * long each named phase took (summed per name, with a count) and the totals are appended to that file as one JSON
 * line when the process exits. Without the variable `span()` only calls the function: one property read of cost.
 *
 * Wall-clock milliseconds; spans of concurrent steps overlap, so totals can exceed the build's duration.
 */
import { appendFileSync } from 'node:fs';

const file = process.env['TSBUILD_TRACE'];
const totals = new Map<string, { ms: number; count: number }>();
const t0 = performance.now();

if (file) {
  process.once('exit', () => {
    const phases = Object.fromEntries([...totals].map(([k, v]) => [k, { ms: Math.round(v.ms * 10) / 10, count: v.count }]));
    const line = { pid: process.pid, argv: process.argv.slice(2), totalMs: Math.round(performance.now() - t0), uptimeMs: Math.round(process.uptime() * 1000), phases };
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // Profiling aid only: never fail a build over it.
    }
  });
}

/** Whether tracing is on (to skip computing trace-only data). */
export const tracing: boolean = file !== undefined && file !== '';

/** Runs `fn`, adding its duration to phase `name` when tracing. */
export async function span<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!tracing) return fn();
  const start = performance.now();
  try {
    return await fn();
  } finally {
    const e = totals.get(name) ?? { ms: 0, count: 0 };
    e.ms += performance.now() - start;
    e.count++;
    totals.set(name, e);
  }
}
