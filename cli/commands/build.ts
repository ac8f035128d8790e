import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { Command, Io } from '../command.ts';
import { parseArgs, str, list, bool, parseKeyValues, parseAttrs, type OptionSpec } from '../args.ts';
import { TsbuildError } from '../../util/errors.ts';
import type { ProgressEvent } from '../../executor/progress.ts';
import { createPlainPrinter, stepLabel } from '../progress/plain.ts';
import { createRawJsonPrinter } from '../progress/rawjson.ts';
import { formatStepFailure } from '../progress/failure.ts';
import { renderError } from '../render-error.ts';
import { defaultStoreRoot } from '../store-root.ts';
import type { BuildRequest, OutputSpec } from '../../executor/build.ts';
import type { Dockerfile } from '../../grammar/ast.ts';
import type { Finding } from '../../compiler/lint/types.ts';
import { ENTITLEMENTS, type Entitlement } from '../../executor/entitlements.ts';

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
  { name: 'allow', type: 'string', multiple: true },
  { name: 'iidfile', type: 'string' },
  { name: 'metadata-file', type: 'string' },
  { name: 'cache-from', type: 'string', multiple: true },
  { name: 'cache-to', type: 'string', multiple: true },
  { name: 'compression', type: 'string' },
  { name: 'source-date-epoch', type: 'string' },
  { name: 'runtime', type: 'string' },
  { name: 'snapshotter', type: 'string' },
  { name: 'parallelism', short: 'j', type: 'string' },
  { name: 'check', type: 'boolean' },
  { name: 'explain', type: 'boolean' },
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
      --allow ENTITLEMENT     Grant security.insecure (RUN --security=insecure runs privileged) or
                              network.host (repeatable)
      --iidfile FILE          Write the image ID to FILE
      --metadata-file FILE    Write build metadata (JSON) to FILE
      --compression ALGO      Layer compression: gzip (default), zstd, none
      --source-date-epoch N   Clamp timestamps to N (also SOURCE_DATE_EPOCH) for reproducible images
      --runtime NAME          OCI runtime for RUN: runc (default) or crun
      --snapshotter NAME      How steps get a writable root: auto (default: overlayfs when the host has it),
                              overlay, or copy (full copies, diffed after each step; slow, works anywhere)
  -j, --parallelism N         Steps run at once (default: number of cores)
      --explain               After the build, say why each step that ran was not cached: the context files,
                              build-arg/ENV values, base image or instruction that changed since the last build
                              of this Dockerfile (as "tsbuild diff --builds")
      --push                  Push every --tag to its registry after the build
      --cache-from type=local,src=DIR
                              Load a build cache written by --cache-to before building (repeatable)
      --cache-to type=local,dest=DIR[,mode=min|max]
                              Write this build's cache to DIR (an OCI layout; min: the image's own stages,
                              the default; max: every stage)

Examples:
  tsbuild -t mynginx examples/nginx
  tsbuild build -f Dockerfile.dev --build-arg VERSION=1.2 --target test .
  tsbuild -q --output type=oci,dest=image.tar .
`,
  async run(args, io) {
    const parsed = parseBuildArgs(args, io);
    // Context and Dockerfile first (stdin, tar, directory): a missing Dockerfile is reported before the engine loads.
    const prepared = await prepareContext(parsed, io);
    try {
      const request: BuildRequest = { ...parsed.request, contextDir: prepared.contextDir, dockerfile: prepared.dockerfile };
      // BuildKit's build checks: `--check` lints without building; a build prints them as warnings at the end
      const checked = await frontend(prepared, parsed);
      if (args.includes('--check')) {
        const { formatCheckReport } = await import('./lint.ts');
        io.stdout.write(formatCheckReport(checked.findings, prepared.dockerfile.displayName, checked.source));
        return checked.findings.some((f) => f.severity === 'error') ? 1 : 0;
      }
      // The build compiles the AST the checks parsed (when it has no errors; else the build's parse reports the first)
      const code = await runBuild(checked.parsed ? { ...request, parsed: checked.parsed } : request, parsed, io);
      if (!parsed.quiet && checked.findings.length > 0) io.stderr.write((await import('./lint.ts')).formatBuildWarnings(checked.findings));
      return code;
    } finally {
      await prepared.cleanup();
    }
  },
};

/**
 * The build's front end: the Dockerfile's AST and its BuildKit check findings, from the store's frontend cache when
 * nothing they depend on changed (then neither the grammar's parser nor the linter is built or loaded), else computed
 * and remembered. Contexts unpacked from a tar or stdin into a temporary directory are not cached.
 */
async function frontend(prepared: PreparedContext, parsed: ParsedBuild): Promise<{ findings: readonly Finding[]; source: string; parsed?: Dockerfile }> {
  const { FrontendCache } = await import('../../cache/frontend.ts');
  const cache = prepared.temporary ? undefined : new FrontendCache(parsed.request.storeRoot);
  const inputs = {
    contextDir: prepared.contextDir,
    dockerfilePath: prepared.dockerfile.path,
    displayName: prepared.dockerfile.displayName,
    text: prepared.dockerfile.text,
    target: parsed.request.target,
    buildArgs: parsed.request.buildArgs,
  };
  const key = cache?.key(inputs);
  const hit = cache && key !== undefined ? cache.get(inputs, key) : undefined;
  if (hit) return hit;
  const { buildCheckFindings } = await import('./lint.ts');
  const computed = buildCheckFindings(inputs.text, inputs.displayName, inputs.contextDir, {
    ...(inputs.target !== undefined ? { target: inputs.target } : {}),
    dockerfilePath: inputs.dockerfilePath,
    buildArgs: inputs.buildArgs,
  });
  if (cache && key !== undefined && computed.parsed) cache.put(inputs, key, { findings: computed.findings, source: computed.source, parsed: computed.parsed });
  return computed;
}

async function runBuild(request: BuildRequest, parsed: ParsedBuild, io: Io): Promise<number> {
  const { build } = await import('../../executor/build.ts');
  const printer = choosePrinter(parsed.progress, io);
  const controller = new AbortController();
  // Ctrl-C aborts the build, which then unwinds in order (containers killed and deleted, bundles and mounts
  // removed, temp dirs gone). The handler stays installed until the build has settled: the executor's last-resort
  // cleanup (executor/snapshot/on-exit.ts) re-raises the signal after killing containers, and with no handler left
  // that re-raise would kill the process before its own cleanup finished (leaving runc bundles behind). A deadline
  // still guarantees exit if unwinding hangs.
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    controller.abort(new TsbuildError('build/interrupted', 'build interrupted', { exitCode: 130 }));
    setTimeout(() => process.exit(130), 10_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await build(request, printer.emit, controller.signal);
    await printer.close();
    if (parsed.quiet) io.stdout.write(`${result.imageId}\n`);
    if (parsed.iidfile) await writeFileAtomic(resolve(io.cwd, parsed.iidfile), result.imageId);
    if (parsed.metadataFile)
      await writeFileAtomic(
        resolve(io.cwd, parsed.metadataFile),
        `${JSON.stringify(
          {
            'containerimage.config.digest': result.imageId,
            'containerimage.digest': result.manifestDigest,
            'image.name': request.tags.join(','),
            'tsbuild.steps': { run: result.stepsRun, cached: result.stepsCached },
            ...(result.recordId ? { 'tsbuild.build.ref': result.recordId } : {}),
          },
          null,
          2,
        )}\n`,
      );
    if (parsed.explain && result.recordId) await printExplanation(request.storeRoot, result.recordId, io);
    return 0;
  } catch (caught) {
    // An interrupted build can also surface as the failure of the step whose container the abort killed: the
    // interrupt is what happened, so report that (exit 130), not a step failure.
    const e = controller.signal.aborted && controller.signal.reason instanceof TsbuildError ? controller.signal.reason : caught;
    printer.fail(e);
    await printer.close();
    // rawjson keeps stderr machine-readable (its build.error line carries the error); the rest is for people.
    if (parsed.progress === 'rawjson') return e instanceof TsbuildError ? e.exitCode : 1;
    const report = formatStepFailure(e, request.dockerfile, printer.label);
    io.stderr.write(report);
    // Rendered here, with the Dockerfile text, so other errors with a position (a parse error, a missing base image)
    // get a code frame; a failed step already showed its excerpt.
    const withFrame = report === '' && e instanceof TsbuildError && e.file === request.dockerfile.displayName;
    return renderError(e, io, withFrame ? request.dockerfile.text : undefined);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The build command's arguments, checked; the context and Dockerfile are read later by `prepareContext`. */
export interface ParsedBuild {
  /** The request without `contextDir`/`dockerfile` text (filled in by `prepareContext`). */
  readonly request: BuildRequest;
  /** `-`, a directory or a tar file, as given. */
  readonly contextArg: string;
  /** `-f` as given, or undefined for CONTEXT/Dockerfile. */
  readonly fileArg?: string;
  readonly progress: 'auto' | 'tty' | 'plain' | 'rawjson' | 'quiet';
  readonly quiet: boolean;
  /** `--explain`: print why steps ran, against the previous build of the same Dockerfile. */
  readonly explain?: boolean;
  readonly iidfile?: string;
  readonly metadataFile?: string;
}

export function parseBuildArgs(args: readonly string[], io: Io): ParsedBuild {
  const { values: v, positionals } = parseArgs('build', args, specs);
  if (positionals.length !== 1)
    throw new TsbuildError('usage/context', `"tsbuild build" requires exactly 1 argument (the context), got ${positionals.length}`, {
      exitCode: 2,
      suggestion: 'usage: tsbuild build [OPTIONS] CONTEXT, e.g. "tsbuild -t myimage ."',
    });
  const contextArg = positionals[0]!;
  const fileArg = str(v.file);
  if (contextArg === '-' && fileArg === '-')
    throw new TsbuildError('usage/stdin', 'cannot read both the Dockerfile and the context from stdin (-f - with CONTEXT -)', {
      exitCode: 2,
      suggestion: 'pipe a tar of the context with the Dockerfile inside it: tar -c . | tsbuild -',
    });
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
  const cacheFrom = list(v['cache-from']).map((spec) => ({ type: 'local' as const, src: cacheSpec('cache-from', spec, 'src', io.cwd).dir }));
  const cacheTo = list(v['cache-to']).map((spec) => {
    const c = cacheSpec('cache-to', spec, 'dest', io.cwd);
    const mode = c.attrs.get('mode') ?? 'min';
    if (mode !== 'min' && mode !== 'max')
      throw new TsbuildError('usage/cache-to', `invalid mode "${mode}" in --cache-to`, { exitCode: 2, suggestion: 'use mode=min or mode=max' });
    return { type: 'local' as const, dest: c.dir, mode: mode as 'min' | 'max' };
  });
  const entitlements = list(v.allow).flatMap((s) => s.split(',')).filter(Boolean);
  for (const e of entitlements) {
    if (!(ENTITLEMENTS as readonly string[]).includes(e))
      throw new TsbuildError('usage/allow', `invalid --allow "${e}"`, { exitCode: 2, suggestion: `use ${ENTITLEMENTS.join(' or ')}` });
  }
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
  const snapshotter = str(v.snapshotter) ?? io.env.TSBUILD_SNAPSHOTTER ?? 'auto';
  if (snapshotter !== 'auto' && snapshotter !== 'overlay' && snapshotter !== 'copy')
    throw new TsbuildError('usage/snapshotter', `invalid --snapshotter "${snapshotter}"`, { exitCode: 2, suggestion: 'use auto, overlay or copy' });
  if (bool(v.push) && list(v.tag).length === 0)
    throw new TsbuildError('usage/push-without-tag', '--push needs at least one --tag naming the destination', { exitCode: 2, suggestion: 'e.g. tsbuild build --push -t localhost:5000/app:1 .' });
  const quiet = bool(v.quiet);
  const request: BuildRequest = {
    contextDir: '',
    dockerfile: { path: '', text: '', displayName: '' },
    buildArgs: parseKeyValues(list(v['build-arg']), io.env, 'build-arg'),
    target: str(v.target),
    tags: list(v.tag),
    labels: parseKeyValues(list(v.label), {}, 'label'),
    noCache: bool(v['no-cache']),
    noCacheFilter: list(v['no-cache-filter']).flatMap((s) => s.split(',')).filter(Boolean),
    pull: bool(v.pull),
    push: bool(v.push),
    outputs,
    compression: compression as BuildRequest['compression'],
    sourceDateEpoch,
    network: network as BuildRequest['network'],
    ...(entitlements.length > 0 ? { entitlements: entitlements as Entitlement[] } : {}),
    ...(cacheFrom.length > 0 ? { cacheFrom } : {}),
    ...(cacheTo.length > 0 ? { cacheTo } : {}),
    secrets,
    ssh,
    parallelism,
    runtime,
    snapshotter,
    storeRoot: defaultStoreRoot(io.env),
  };
  return {
    request,
    contextArg,
    ...(fileArg !== undefined ? { fileArg } : {}),
    progress: quiet ? 'quiet' : (progress as ParsedBuild['progress']),
    quiet,
    ...(str(v.iidfile) !== undefined ? { iidfile: str(v.iidfile)! } : {}),
    ...(str(v['metadata-file']) !== undefined ? { metadataFile: str(v['metadata-file'])! } : {}),
    ...(bool(v.explain) ? { explain: true } : {}),
  };
}

/**
 * A `--cache-from`/`--cache-to` value as buildx writes it (`type=local,src=DIR`). Only the local type exists here: a
 * registry, inline or cloud cache is refused by name rather than ignored.
 */
function cacheSpec(flag: 'cache-from' | 'cache-to', spec: string, dirKey: 'src' | 'dest', cwd: string): { dir: string; attrs: Map<string, string> } {
  const attrs = parseAttrs(spec);
  const type = spec.includes('=') ? attrs.get('type') : 'registry';
  if (type !== 'local') {
    throw new TsbuildError(`usage/${flag}`, `--${flag} type ${JSON.stringify(type ?? '')} is not supported`, {
      exitCode: 2,
      suggestion: `use --${flag} type=local,${dirKey}=DIR (a directory CI keeps between jobs)`,
    });
  }
  const allowed = flag === 'cache-to' ? ['type', 'dest', 'mode'] : ['type', 'src'];
  const unknown = [...attrs.keys()].filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw new TsbuildError(`usage/${flag}`, `unknown --${flag} attribute ${unknown.join(', ')}`, { exitCode: 2, suggestion: `--${flag} takes ${allowed.join(', ')}` });
  const dir = attrs.get(dirKey);
  if (!dir) throw new TsbuildError(`usage/${flag}`, `--${flag} type=local needs ${dirKey}=DIR`, { exitCode: 2 });
  return { dir: resolve(cwd, dir), attrs };
}

/** The build context on disk and the Dockerfile text; `cleanup` removes what was extracted (idempotent). */
export interface PreparedContext {
  readonly contextDir: string;
  readonly dockerfile: BuildRequest['dockerfile'];
  /** The context was unpacked (from a tar or stdin) into a directory that cleanup removes. */
  readonly temporary: boolean;
  cleanup(): Promise<void>;
}

/**
 * Makes CONTEXT a directory, as `docker build` accepts it:
 * - a directory: used in place; the Dockerfile is `-f` (relative to the working directory) or CONTEXT/Dockerfile;
 * - `-`: stdin is spooled to a temp file; a (possibly compressed) tar is extracted and is the context, anything
 *   else is the Dockerfile and the context is empty;
 * - a tar file (plain, gzip, bzip2, xz, zstd): extracted to a temp directory; `-f` names a path inside it.
 * Extraction is executor/fileops' archive code: entry names that climb out, absolute symlinks and hardlinks are all
 * contained in the temp directory.
 */
export async function prepareContext(p: ParsedBuild, io: Io): Promise<PreparedContext> {
  const { contextArg, fileArg } = p;
  const noCleanup = async (): Promise<void> => {};
  if (contextArg !== '-') {
    const contextDir = resolve(io.cwd, contextArg);
    let st;
    try {
      st = statSync(contextDir);
    } catch {
      throw new TsbuildError('usage/context', `unable to prepare context: path "${contextArg}" not found`, { exitCode: 1 });
    }
    if (st.isDirectory()) {
      const dockerfile = await readDockerfile(fileArg, contextArg, contextDir, io, false);
      return { contextDir, dockerfile, temporary: false, cleanup: noCleanup };
    }
    const { detectArchive } = await import('../../executor/fileops/archive.ts');
    const compression = st.isFile() ? await detectArchive(contextDir).catch(() => null) : null;
    if (compression === null)
      throw new TsbuildError('usage/context', `unable to prepare context: "${contextArg}" is neither a directory nor a tar archive`, { exitCode: 1 });
    const tmp = await makeTemp();
    try {
      const dir = await extractContext(contextDir, compression, tmp.path);
      const dockerfile = await readDockerfile(fileArg, contextArg, dir, io, true);
      return { contextDir: dir, dockerfile, temporary: true, cleanup: tmp.cleanup };
    } catch (e) {
      await tmp.cleanup();
      throw e;
    }
  }
  const tmp = await makeTemp();
  try {
    const spool = join(tmp.path, 'stdin');
    // node:stream/promises on first use: only a context read from stdin needs it
    const { pipeline } = await import('node:stream/promises');
    await pipeline(io.stdin, createWriteStream(spool, { flags: 'wx', mode: 0o600 }));
    const { detectArchive } = await import('../../executor/fileops/archive.ts');
    const size = statSync(spool).size;
    const compression = size > 0 ? await detectArchive(spool).catch(() => null) : null;
    if (compression !== null) {
      const dir = await extractContext(spool, compression, tmp.path);
      await rm(spool, { force: true });
      const dockerfile = await readDockerfile(fileArg, contextArg, dir, io, true);
      return { contextDir: dir, dockerfile, temporary: true, cleanup: tmp.cleanup };
    }
    if (fileArg !== undefined)
      throw new TsbuildError('usage/stdin', `-f ${fileArg} cannot be used when the Dockerfile comes from stdin (CONTEXT -)`, {
        exitCode: 2,
        suggestion: 'use "tsbuild -f - DIR" for a Dockerfile on stdin with a context directory',
      });
    const text = readFileSync(spool, 'utf8');
    if (text.trim() === '') throw new TsbuildError('usage/dockerfile', 'the Dockerfile read from stdin is empty', { exitCode: 1 });
    const dir = join(tmp.path, 'context');
    await mkdir(dir, { mode: 0o755 });
    await rm(spool, { force: true });
    return { contextDir: dir, dockerfile: { path: '-', text, displayName: 'Dockerfile' }, temporary: true, cleanup: tmp.cleanup };
  } catch (e) {
    await tmp.cleanup();
    throw e;
  }
}

async function makeTemp(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'tsbuild-context-'));
  let done = false;
  return {
    path,
    cleanup: async () => {
      if (done) return;
      done = true;
      await rm(path, { recursive: true, force: true });
    },
  };
}

async function extractContext(file: string, compression: Awaited<ReturnType<typeof import('../../executor/fileops/archive.ts').detectArchive>>, tmp: string): Promise<string> {
  const { extractArchive } = await import('../../executor/fileops/archive.ts');
  const dir = join(tmp, 'context');
  await mkdir(dir, { mode: 0o755 });
  await extractArchive(file, compression ?? 'none', dir);
  return dir;
}

/** The Dockerfile: `-f -` (stdin), `-f PATH` (inside a tar context when relative), or CONTEXT/Dockerfile. */
async function readDockerfile(fileArg: string | undefined, contextArg: string, contextDir: string, io: Io, fromArchive: boolean): Promise<BuildRequest['dockerfile']> {
  if (fileArg === '-') {
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
    return { path: '-', text: Buffer.concat(chunks).toString('utf8'), displayName: 'Dockerfile' };
  }
  let path: string;
  if (fileArg === undefined) path = join(contextDir, 'Dockerfile');
  else if (fromArchive && !isAbsolute(fileArg)) {
    const { resolveInRoot } = await import('../../util/safe-path.ts');
    path = await resolveInRoot(contextDir, fileArg, { followFinal: true });
  } else path = resolve(io.cwd, fileArg);
  const shown = fileArg ?? join(contextArg, 'Dockerfile');
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    text = readFileSync(path, 'utf8');
  } catch {
    throw new TsbuildError('usage/dockerfile', `failed to read Dockerfile: open ${fromArchive && fileArg === undefined ? 'Dockerfile (in the context archive)' : shown}: no such file or directory`, {
      exitCode: 1,
    });
  }
  return { path, text, displayName: fileArg ?? 'Dockerfile' };
}

/** Writes a small file whole or not at all: temp file beside it, fsync, rename. */
async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

interface Printer {
  emit: (e: ProgressEvent) => void;
  /** Reports the error that ended the build (rawjson: a `build.error` line). */
  fail: (e: unknown) => void;
  close: () => Promise<void>;
  /** A step's progress label, once build-start announced it. */
  label: (id: string) => string | undefined;
}

/**
 * auto: the ink view when stderr is a terminal and CI is unset, else plain. An explicit `tty` on a non-terminal
 * also falls back to plain: cursor movement into a pipe or a log file is garbage.
 */
function choosePrinter(mode: ParsedBuild['progress'], io: Io): Printer {
  const write = (s: string): void => {
    io.stderr.write(s);
  };
  const labels = new Map<string, string>();
  const track = (e: ProgressEvent): void => {
    if (e.type === 'build-start') for (const s of e.steps) labels.set(s.id, stepLabel(s));
  };
  const label = (id: string): string | undefined => labels.get(id);
  const terminal = io.stderr.isTTY === true && !io.env.CI;
  const m = mode === 'auto' || mode === 'tty' ? (terminal ? 'tty' : 'plain') : mode;
  if (m === 'quiet') return { emit: track, fail: () => {}, close: async () => {}, label };
  if (m === 'rawjson') {
    const p = createRawJsonPrinter(write);
    return { emit: (e) => (track(e), p.emit(e)), fail: p.fail, close: async () => {}, label };
  }
  if (m === 'tty') {
    // The ink view is loaded only when a terminal shows it (start-up stays lean for CI and -q).
    let view: { emit: (e: ProgressEvent) => void; close: () => Promise<void> } | undefined;
    const queue: ProgressEvent[] = [];
    const ready = import('../progress/tty.tsx')
      .then((mod) => {
        view = mod.createTtyView(io);
      })
      .catch(() => {
        view = { emit: createPlainPrinter(write), close: async () => {} };
      })
      .then(() => {
        for (const e of queue.splice(0)) view!.emit(e);
      });
    return {
      emit: (e) => {
        track(e);
        if (view) view.emit(e);
        else queue.push(e);
      },
      fail: () => {},
      close: async () => {
        await ready;
        await view?.close();
      },
      label,
    };
  }
  const plain = createPlainPrinter(write);
  return { emit: (e) => (track(e), plain(e)), fail: () => {}, close: async () => {}, label };
}

/** `--explain`: the new record against the previous build of the same Dockerfile and context (stderr). */
async function printExplanation(storeRoot: string, recordId: string, io: Io): Promise<void> {
  const [{ openStore }, d] = await Promise.all([import('../../cache/index.ts'), import('../../diff/index.ts')]);
  const store = await openStore(storeRoot);
  const all = await store.records.list();
  const rec = all.find((r) => r.id === recordId) ?? (await store.records.get(recordId));
  const prev = d.previousRecord(all, rec);
  if (!prev) {
    io.stderr.write(`\nexplain: no earlier build of this Dockerfile is recorded: every step ran for the first time\n`);
    return;
  }
  io.stderr.write(`\n${d.renderExplanation(d.explainBuilds(prev, rec))}`);
}
