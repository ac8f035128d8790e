import type { Command } from '../command.ts';
import { parseArgs, bool, str } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore } from '../../cache/index.ts';
import { ellipsis, humanDuration, table } from '../../cache/format.ts';
import type { BuildRecord } from '../../cache/types.ts';
import { TsbuildError } from '../../util/errors.ts';

export const command: Command = {
  name: 'builds',
  summary: 'List the build records kept by the store; export one',
  help: `Usage: tsbuild builds [ls] [OPTIONS]
       tsbuild builds export ID > record.json

List the build records (newest first): id, start time, context, target, image, steps run/cached, duration.
"export" prints one record as JSON, to compare builds across machines with "tsbuild diff --builds OLD rec.json".

Options (ls):
      --format FORMAT   table (default) or json
  -q, --quiet           Only print record ids
  -n, --last N          Show only the N newest records

Examples:
  tsbuild builds
  tsbuild builds export 20260105T101500 > ci-build.json
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('builds', args, [
      { name: 'format', type: 'string' },
      { name: 'quiet', short: 'q', type: 'boolean' },
      { name: 'last', short: 'n', type: 'string' },
    ]);
    const sub = positionals[0] ?? 'ls';
    const store = await openStore(defaultStoreRoot(io.env));
    if (sub === 'export' || sub === 'inspect') {
      if (positionals.length !== 2) throw new TsbuildError('usage/missing-argument', `"tsbuild builds ${sub}" requires exactly 1 record id`, { exitCode: 2 });
      const r = await store.records.get(positionals[1]!);
      io.stdout.write(`${JSON.stringify(r, null, sub === 'inspect' ? 2 : undefined)}\n`);
      return 0;
    }
    if (sub !== 'ls' && sub !== 'list')
      throw new TsbuildError('usage/unknown-subcommand', `unknown "tsbuild builds" subcommand "${sub}"`, { exitCode: 2, suggestion: 'use ls or export' });
    if (positionals.length > 1) throw new TsbuildError('usage/too-many-arguments', '"tsbuild builds ls" takes no arguments', { exitCode: 2 });
    const format = str(values.format) ?? 'table';
    if (format !== 'table' && format !== 'json') throw new TsbuildError('usage/format', `invalid --format "${format}"`, { exitCode: 2, suggestion: 'use table or json' });
    let records = (await store.records.list()).reverse();
    const last = str(values.last);
    if (last !== undefined) {
      const n = Number(last);
      if (!Number.isInteger(n) || n < 0) throw new TsbuildError('usage/last', `invalid --last "${last}"`, { exitCode: 2 });
      records = records.slice(0, n);
    }
    if (bool(values.quiet)) {
      io.stdout.write(records.map((r) => `${r.id}\n`).join(''));
      return 0;
    }
    const rows = records.map(summarize);
    if (format === 'json') {
      io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    io.stdout.write(
      table([
        ['ID', 'STARTED', 'CONTEXT', 'TARGET', 'IMAGE', 'STEPS RUN/CACHED', 'DURATION', 'STATUS'],
        ...rows.map((r) => [
          r.id,
          r.startedAt.replace(/\.\d+Z$/, 'Z'),
          ellipsis(r.context ?? '', 40),
          r.target ?? '',
          r.image ? r.image.replace(/^sha256:/, '').slice(0, 12) : '',
          `${r.stepsRun}/${r.stepsCached}`,
          r.durationMs !== undefined ? (r.durationMs < 1000 ? `${r.durationMs}ms` : humanDuration(r.durationMs)) : '',
          r.status,
        ]),
      ]),
    );
    return 0;
  },
};

/** One row of `tsbuild builds`. Steps count non-source steps; `durationMs` from the record's start and end. */
export interface BuildSummary {
  readonly id: string;
  readonly startedAt: string;
  readonly context?: string;
  readonly dockerfile?: string;
  readonly target?: string;
  readonly tags: readonly string[];
  readonly image?: string;
  readonly stepsRun: number;
  readonly stepsCached: number;
  readonly durationMs?: number;
  readonly status: string;
}

export function summarize(r: BuildRecord): BuildSummary {
  let stepsRun = 0;
  let stepsCached = 0;
  for (const s of r.steps) {
    if (s.kind === 'source') continue;
    if (s.cached) stepsCached++;
    else if (s.cacheKey !== undefined) stepsRun++;
  }
  const t0 = Date.parse(r.startedAt);
  const t1 = r.finishedAt !== undefined ? Date.parse(r.finishedAt) : NaN;
  return {
    id: r.id,
    startedAt: r.startedAt,
    ...(r.context !== undefined ? { context: r.context } : {}),
    ...(r.dockerfile !== undefined ? { dockerfile: r.dockerfile } : {}),
    ...(r.target !== undefined ? { target: r.target } : {}),
    tags: r.tags ?? [],
    ...(r.image ? { image: r.image.configDigest } : {}),
    stepsRun,
    stepsCached,
    ...(Number.isFinite(t0) && Number.isFinite(t1) ? { durationMs: t1 - t0 } : {}),
    status: r.status,
  };
}
