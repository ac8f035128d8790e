import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { resolve, join, basename } from 'node:path';
import type { Command, Io } from '../command.ts';
import { parseArgs, str, list, bool, parseKeyValues, parseAttrs, type OptionSpec } from '../args.ts';
import { TsbuildError } from '../../util/errors.ts';
import type { ProgressEvent } from '../../executor/progress.ts';
import { createPlainPrinter, createRawJsonPrinter } from '../progress/plain.ts';
import { defaultStoreRoot } from '../store-root.ts';
import type { BuildRequest, OutputSpec } from '../../executor/build.ts';

const specs: OptionSpec[] = [
  { name: 'tag', short: 't', type: 'string', multiple: true },
  { name: 'file', short: 'f', type: 'string' },
  { name: 'build-arg', type: 'string', multiple: true },
  { name: 'target', type: 'string' },
  { name: 'no-cache', type: 'boolean' },
  { name: 'no-cache-filter', type: 'string', multiple: true },
  { name: 'pull', type: 'boolean' },
  { name: 'platform', type: 'string' },
  { name: 'progress', type: 'string' },
  { name: 'quiet', short: 'q', type: 'boolean' },
  { name: 'output', short: 'o', type: 'string', multiple: true },
  { name: 'push', type: 'boolean' },
  { name: 'load', type: 'boolean' },
  { name: 'label', type: 'string', multiple: true },
  { name: 'secret', type: 'string', multiple: true },
  { name: 'ssh', type: 'string', multiple: true },
  { name: 'network', type: 'string' },
  { name: 'iidfile', type: 'string' },
  { name: 'metadata-file', type: 'string' },
  { name: 'cache-from', type: 'string', multiple: true },
  { name: 'cache-to', type: 'string', multiple: true },
  { name: 'compression', type: 'string' },
  { name: 'source-date-epoch', type: 'string' },
  { name: 'runtime', type: 'string' },
  { name: 'parallelism', short: 'j', type: 'string' },
  { name: 'check', type: 'boolean' },
];

export const command: Command = {
  name: 'build',
  summary: 'Build an image from a Dockerfile (the default command)',
  help: `Usage: tsbuild [build] [OPTIONS] CONTEXT

Build an image from a Dockerfile and a context directory. "build" is the default
command, so "tsbuild -t myimage ." works.

Options:
  -t, --tag NAME[:TAG]        Name the image (repeatable)
  -f, --file PATH             Dockerfile (default: CONTEXT/Dockerfile; "-" reads stdin)
      --build-arg K[=V]       Set a build-time variable (repeatable; K alone takes $K)
      --target STAGE          Build only up to this stage
      --no-cache              Do not use the cache
      --no-cache-filter S,..  Do not use the cache for these stages
      --pull                  Check for a newer base image
      --platform P            Target platform (only the native one is supported)
      --progress MODE         auto|tty|plain|rawjson|quiet (default auto: tty on a terminal, plain in CI)
  -q, --quiet                 Print only the image ID
  -o, --output SPEC           type=oci|docker|local|tar,dest=PATH (repeatable)
      --label K=V             Add an image label (repeatable)
      --secret id=ID[,src=FILE|env=VAR]   Expose a secret to RUN --mount=type=secret
      --ssh default[=SOCKET]  Forward an SSH agent socket to RUN --mount=type=ssh
      --network MODE          Default network for RUN: default|host|none
      --iidfile FILE          Write the image ID to FILE
      --metadata-file FILE    Write build metadata (JSON) to FILE
      --compression ALGO      Layer compression: gzip (default), zstd, none
      --source-date-epoch N   Clamp timestamps to N (also SOURCE_DATE_EPOCH) for reproducible images
      --runtime NAME          OCI runtime for RUN: runc (default) or crun
  -j, --parallelism N         Steps run at once (default: number of cores)
      --push, --cache-from, --cache-to   Accepted; implemented by the registry issue

Examples:
  tsbuild -t mynginx examples/nginx
  tsbuild build -f Dockerfile.dev --build-arg VERSION=1.2 --target test .
  tsbuild -q --output type=oci,dest=image.tar .
`,
  async run(args, io) {
    const req = buildRequestFromArgs(args, io);
    const { build } = await import('../../executor/build.ts');
    const printer = choosePrinter(req.progress, io);
    const controller = new AbortController();
    const onSignal = (): void => controller.abort(new TsbuildError('build/interrupted', 'build interrupted', { exitCode: 130 }));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await build(req.request, printer.emit, controller.signal);
      await printer.close();
      if (req.quiet) io.stdout.write(`${result.imageId}\n`);
      if (req.iidfile) writeFileSync(req.iidfile, result.imageId);
      if (req.metadataFile)
        writeFileSync(
          req.metadataFile,
          `${JSON.stringify(
            {
              'containerimage.config.digest': result.imageId,
              'containerimage.digest': result.manifestDigest,
              'image.name': req.request.tags.join(','),
            },
            null,
            2,
          )}\n`,
        );
      return 0;
    } catch (e) {
      await printer.close();
      renderStepFailure(e, req.request, io);
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

interface ParsedBuild {
  request: BuildRequest;
  progress: string;
  quiet: boolean;
  iidfile?: string;
  metadataFile?: string;
}

export function buildRequestFromArgs(args: readonly string[], io: Io): ParsedBuild {
  const { values: v, positionals } = parseArgs('build', args, specs);
  if (positionals.length !== 1)
    throw new TsbuildError('usage/context', `"tsbuild build" requires exactly 1 argument (the context), got ${positionals.length}`, {
      exitCode: 2,
      suggestion: 'usage: tsbuild build [OPTIONS] CONTEXT, e.g. "tsbuild -t myimage ."',
    });
  const contextArg = positionals[0]!;
  const contextDir = resolve(io.cwd, contextArg);
  if (contextArg !== '-' && (!existsSync(contextDir) || !statSync(contextDir).isDirectory()))
    throw new TsbuildError('usage/context', `unable to prepare context: path "${contextArg}" not found`, { exitCode: 1 });
  const fileArg = str(v.file);
  let dockerfilePath: string;
  let text: string;
  if (fileArg === '-') {
    dockerfilePath = '-';
    text = readFileSync(0, 'utf8');
  } else {
    dockerfilePath = fileArg ? resolve(io.cwd, fileArg) : join(contextDir, 'Dockerfile');
    if (!existsSync(dockerfilePath))
      throw new TsbuildError('usage/dockerfile', `failed to read Dockerfile: open ${fileArg ?? join(contextArg, 'Dockerfile')}: no such file or directory`);
    text = readFileSync(dockerfilePath, 'utf8');
  }
  const platform = str(v.platform);
  const native = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
  if (platform && platform !== native && platform !== 'local')
    throw new TsbuildError('usage/platform', `platform "${platform}" is not supported: tsbuild builds for the native platform ${native} only`, { exitCode: 2 });
  const progress = str(v.progress) ?? 'auto';
  if (!['auto', 'tty', 'plain', 'rawjson', 'quiet'].includes(progress))
    throw new TsbuildError('usage/progress', `invalid --progress "${progress}"`, { exitCode: 2, suggestion: 'use auto, tty, plain, rawjson or quiet' });
  const compression = str(v.compression) ?? 'gzip';
  if (!['gzip', 'zstd', 'none'].includes(compression))
    throw new TsbuildError('usage/compression', `invalid --compression "${compression}"`, { exitCode: 2, suggestion: 'use gzip, zstd or none' });
  const network = str(v.network) ?? 'default';
  if (!['default', 'host', 'none'].includes(network))
    throw new TsbuildError('usage/network', `invalid --network "${network}"`, { exitCode: 2, suggestion: 'use default, host or none' });
  const sdeArg = str(v['source-date-epoch']) ?? io.env.SOURCE_DATE_EPOCH;
  let sourceDateEpoch: number | undefined;
  if (sdeArg !== undefined && sdeArg !== '') {
    sourceDateEpoch = Number(sdeArg);
    if (!Number.isInteger(sourceDateEpoch) || sourceDateEpoch < 0)
      throw new TsbuildError('usage/source-date-epoch', `invalid SOURCE_DATE_EPOCH "${sdeArg}"`, { exitCode: 2 });
  }
  const outputs: OutputSpec[] = list(v.output).map((o) => {
    const attrs = parseAttrs(o);
    const type = attrs.get('type') ?? (o.includes('=') ? undefined : 'local');
    const dest = attrs.get('dest') ?? (o.includes('=') ? undefined : o);
    if (!type || !['oci', 'docker', 'local', 'tar', 'image'].includes(type))
      throw new TsbuildError('usage/output', `invalid --output "${o}": unknown type`, { exitCode: 2, suggestion: 'type=oci|docker|local|tar,dest=PATH' });
    if (type !== 'image' && !dest) throw new TsbuildError('usage/output', `invalid --output "${o}": dest is required`, { exitCode: 2 });
    return { type: type as OutputSpec['type'], dest: dest ? resolve(io.cwd, dest) : '' };
  });
  const secrets = new Map<string, { src?: string; env?: string }>();
  for (const s of list(v.secret)) {
    const a = parseAttrs(s);
    const id = a.get('id');
    if (!id) throw new TsbuildError('usage/secret', `invalid --secret "${s}": id is required`, { exitCode: 2 });
    const src = a.get('src') ?? a.get('source');
    const env = a.get('env');
    secrets.set(id, src ? { src: resolve(io.cwd, src) } : { env: env ?? id });
  }
  const ssh = new Map<string, string>();
  for (const s of list(v.ssh)) {
    const eq = s.indexOf('=');
    const id = eq === -1 ? s : s.slice(0, eq);
    const sock = eq === -1 ? io.env.SSH_AUTH_SOCK : s.slice(eq + 1);
    if (!sock) throw new TsbuildError('usage/ssh', `--ssh ${s}: SSH_AUTH_SOCK is not set`, { exitCode: 2 });
    ssh.set(id, resolve(io.cwd, sock));
  }
  const par = str(v.parallelism);
  const { availableParallelism } = process as unknown as { availableParallelism?: () => number };
  const parallelism = par ? Number(par) : (availableParallelism?.() ?? 2);
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new TsbuildError('usage/parallelism', `invalid --parallelism "${par}"`, { exitCode: 2 });
  const runtime = str(v.runtime) ?? io.env.TSBUILD_RUNTIME ?? 'runc';
  if (runtime !== 'runc' && runtime !== 'crun') throw new TsbuildError('usage/runtime', `invalid --runtime "${runtime}"`, { exitCode: 2, suggestion: 'use runc or crun' });
  const quiet = bool(v.quiet);
  const request: BuildRequest = {
    contextDir,
    dockerfile: { path: dockerfilePath, text, displayName: fileArg === '-' ? '<stdin>' : basename(dockerfilePath) === 'Dockerfile' && !fileArg ? 'Dockerfile' : (fileArg ?? 'Dockerfile') },
    buildArgs: parseKeyValues(list(v['build-arg']), io.env, 'build-arg'),
    target: str(v.target),
    tags: list(v.tag),
    labels: parseKeyValues(list(v.label), {}, 'label'),
    noCache: bool(v['no-cache']),
    noCacheFilter: list(v['no-cache-filter']).flatMap((s) => s.split(',')).filter(Boolean),
    pull: bool(v.pull),
    outputs,
    compression: compression as BuildRequest['compression'],
    sourceDateEpoch,
    network: network as BuildRequest['network'],
    secrets,
    ssh,
    parallelism,
    runtime,
    storeRoot: defaultStoreRoot(io.env),
  };
  return { request, progress: quiet ? 'quiet' : progress, quiet, iidfile: str(v.iidfile), metadataFile: str(v['metadata-file']) };
}

interface Printer {
  emit: (e: ProgressEvent) => void;
  close: () => Promise<void>;
}

function choosePrinter(mode: string, io: Io): Printer {
  const out = (s: string): void => {
    io.stderr.write(s);
  };
  const auto = io.stderr.isTTY && !io.env.CI ? 'tty' : 'plain';
  const m = mode === 'auto' ? auto : mode;
  if (m === 'quiet') return { emit: () => {}, close: async () => {} };
  if (m === 'rawjson') return { emit: createRawJsonPrinter(out), close: async () => {} };
  if (m === 'tty') {
    // The ink view is loaded only when a terminal shows it (start-up stays lean for CI and -q).
    let view: Printer | undefined;
    const queue: ProgressEvent[] = [];
    const ready = import('../progress/tty.tsx')
      .then((mod) => {
        view = mod.createTtyView(io);
        for (const e of queue) view.emit(e);
      })
      .catch(() => {
        view = { emit: createPlainPrinter(out), close: async () => {} };
        for (const e of queue) view.emit(e);
      });
    return {
      emit: (e) => (view ? view.emit(e) : queue.push(e)),
      close: async () => {
        await ready;
        await view?.close();
      },
    };
  }
  return { emit: createPlainPrinter(out), close: async () => {} };
}

/** For a failed RUN: the Dockerfile excerpt with the instruction marked, the command, exit code, last lines. */
function renderStepFailure(e: unknown, req: BuildRequest, io: Io): void {
  const se = e as { step?: { origin?: { range: { start: { line: number; col: number }; end: { line: number; col: number } } }; description?: string }; tail?: readonly string[]; stepExitCode?: number };
  if (!se.step?.origin) return;
  const r = se.step.origin.range;
  io.stderr.write(`\n------\n > ${se.step.description}:\n`);
  for (const l of se.tail ?? []) io.stderr.write(`   ${l}\n`);
  io.stderr.write('------\n');
  const lines = req.dockerfile.text.split(/\r?\n/);
  const from = Math.max(1, r.start.line - 2);
  const to = Math.min(lines.length, r.end.line + 2);
  io.stderr.write(`${req.dockerfile.displayName}:${r.start.line}\n`);
  for (let l = from; l <= to; l++) {
    const mark = l >= r.start.line && l <= r.end.line ? '>>>' : '   ';
    io.stderr.write(` ${mark} ${String(l).padStart(3)} | ${lines[l - 1] ?? ''}\n`);
  }
  io.stderr.write('--------------------\n');
}
