/**
 * Bench harness: time commands, find the peer builders on this machine (Docker's BuildKit, buildah) and build
 * the same Dockerfile with tsbuild and each peer, printing a side-by-side table with ratios to tsbuild.
 *
 * Peers are set up by scripts/install-peers.sh (dockerd without iptables/bridge, so every builder uses the host
 * network; busybox:latest and debian:bookworm built from examples/ in each peer). tsbuild builds into its own
 * bench store (TSBUILD_ROOT, default os.tmpdir()/tsbuild-bench-store), never the user's.
 *
 * Used as a library by bench scripts and directly from the command line (Node 24 runs TypeScript):
 *   npm exec -- node bench/lib.ts [--runs N] [--cold|--warm] [--peers tsbuild,buildkit,buildah] CONTEXT_DIR
 * Times are wall-clock milliseconds of the whole CLI process, start to exit.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleTreeRss, type TreeRssSampler } from './proc-tree.ts';

/** The repository root (bench/ is one level down). */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What one process run produced. `ms` is wall-clock time from spawn to exit. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Peak summed RSS of the process tree in KiB, when `sampleRss` was set. */
  readonly maxTreeRssKiB?: number;
}

export interface RunOptions {
  readonly cwd?: string;
  /** Merged over process.env. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill after this many milliseconds (SIGKILL) and fail; default 30 minutes. */
  readonly timeoutMs?: number;
  /** Sample the child's process tree RSS (see proc-tree.ts) and report its peak. */
  readonly sampleRss?: boolean;
}

/** Runs argv[0] with the rest as arguments, capturing output; never throws for a non-zero exit. */
export function runCommand(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('runCommand: empty argv'));
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, args, {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sampler: TreeRssSampler | undefined = opts.sampleRss && child.pid !== undefined ? sampleTreeRss(child.pid) : undefined;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      sampler?.stop();
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const maxTreeRssKiB = sampler?.stop();
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) reject(new Error(`${argv.join(' ')}: timed out after ${timeoutMs} ms\n${stderr}`));
      else resolve({ code: code ?? 128, stdout, stderr, ms, ...(maxTreeRssKiB !== undefined ? { maxTreeRssKiB } : {}) });
    });
  });
}

/** Summary of repeated timings, all in milliseconds. Invariant: min <= median <= max; samples in run order. */
export interface Timing {
  readonly samples: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Peak process-tree RSS per measured run in KiB (run order), when sampled. */
  readonly rssKiB?: readonly number[];
}

/** Median (mean of the middle two for an even count), min and max of a non-empty sample list. */
export function summarize(samples: readonly number[]): Timing {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { samples: [...samples], median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export interface TimeOptions extends RunOptions {
  /** Measured runs; default 5. */
  readonly runs?: number;
  /** Unmeasured runs first (to warm caches); default 0. */
  readonly warmup?: number;
  /** Called before every run, warm-up included, outside the measured time (e.g. to drop a cache). */
  readonly before?: () => Promise<void>;
  /** Called after every successful run, warm-up included, outside the measured time (e.g. to read a build record). */
  readonly after?: (r: RunResult, measured: boolean) => Promise<void>;
}

/** Runs a command `warmup + runs` times and summarises the measured runs; throws with its output if a run fails. */
export async function timeCommand(argv: readonly string[], opts: TimeOptions = {}): Promise<Timing> {
  const runs = opts.runs ?? 5;
  const warmup = opts.warmup ?? 0;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`timeCommand: runs must be a positive integer, got ${runs}`);
  const samples: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    await opts.before?.();
    const r = await runCommand(argv, opts);
    if (r.code !== 0) {
      throw new Error(`${argv.join(' ')} exited with ${r.code}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`);
    }
    await opts.after?.(r, i >= warmup);
    if (i >= warmup) {
      samples.push(r.ms);
      if (r.maxTreeRssKiB !== undefined) rss.push(r.maxTreeRssKiB);
    }
  }
  return rss.length > 0 ? { ...summarize(samples), rssKiB: rss } : summarize(samples);
}

function tail(s: string, lines = 40): string {
  return s.split('\n').slice(-lines).join('\n');
}

/** Cold: no build cache (bases stay); warm: the same build again with the cache from earlier runs. */
export type CacheMode = 'cold' | 'warm';

/** One builder that can build a Dockerfile context. */
export interface Peer {
  /** Short stable name: `tsbuild`, `buildkit`, `buildah`. */
  readonly name: string;
  /** Version string as the tool reports it. */
  readonly version: string;
  /** The command building `contextDir` (its Dockerfile) into image `tag`. */
  buildCommand(contextDir: string, tag: string, mode: CacheMode): { argv: string[]; env: Record<string, string> };
}

/** The bench store for tsbuild: TSBUILD_ROOT if set, else os.tmpdir()/tsbuild-bench-store. */
export function benchStoreRoot(): string {
  return process.env.TSBUILD_ROOT ?? path.join(os.tmpdir(), 'tsbuild-bench-store');
}

/** package.json's version and the checkout's short commit (with `+dirty` for local changes), e.g. `0.1.0 (a1b2c3d)`. */
export function tsbuildVersion(): string {
  const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no') === '' ? '' : '+dirty';
    return `${version} (${git('rev-parse', '--short', 'HEAD')}${dirty})`;
  } catch {
    return version;
  }
}

/** tsbuild itself, through ./bin/tsbuild (the built CLI; run `npm run build` first). */
export function tsbuildPeer(storeRoot = benchStoreRoot()): Peer {
  return {
    name: 'tsbuild',
    version: tsbuildVersion(),
    buildCommand(contextDir, tag, mode) {
      const argv = [path.join(repoRoot, 'bin/tsbuild'), 'build', '--progress', 'plain', '--network', 'host', '-t', tag];
      if (mode === 'cold') argv.push('--no-cache');
      argv.push(contextDir);
      return { argv, env: { TSBUILD_ROOT: storeRoot } };
    },
  };
}

/**
 * The docker client to drive BuildKit with: TSBUILD_BENCH_DOCKER, else the docker.io package's /usr/bin/docker
 * (its 20.10 client has BuildKit built in, while the Docker 28 CLI this machine has in /usr/local/bin needs a
 * buildx plugin that bookworm does not package), else `docker` from PATH.
 */
export function dockerClient(): string {
  return process.env.TSBUILD_BENCH_DOCKER ?? (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');
}

const dockerPeer = (version: string): Peer => ({
  name: 'buildkit',
  version,
  buildCommand(contextDir, tag, mode) {
    const argv = [dockerClient(), 'build', '--network=host', '--progress=plain', '-t', tag];
    if (mode === 'cold') argv.push('--no-cache');
    argv.push(contextDir);
    return { argv, env: { DOCKER_BUILDKIT: '1' } };
  },
});

const buildahPeer = (version: string): Peer => ({
  name: 'buildah',
  version,
  buildCommand(contextDir, tag, mode) {
    const argv = ['buildah', 'bud', '--isolation', 'oci', '--network', 'host', '--layers', '--pull=false', '-t', tag];
    if (mode === 'cold') argv.push('--no-cache');
    argv.push(contextDir);
    return { argv, env: {} };
  },
});

/**
 * The peers usable right now: Docker with BuildKit when `docker info` reaches a running dockerd, buildah when
 * installed. (tsbuild is not a peer of itself: see `tsbuildPeer()`.) Never throws; a missing peer is just absent.
 */
export async function detectPeers(): Promise<Peer[]> {
  const found: Peer[] = [];
  const docker = await runCommand([dockerClient(), 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 }).catch(
    () => undefined,
  );
  if (docker && docker.code === 0 && docker.stdout.trim() !== '') found.push(dockerPeer(`docker ${docker.stdout.trim()}`));
  const buildah = await runCommand(['buildah', '--version'], { timeoutMs: 10_000 }).catch(() => undefined);
  if (buildah && buildah.code === 0) found.push(buildahPeer(buildah.stdout.trim().replace(/^buildah version (\S+).*/s, '$1')));
  return found;
}

/** One row of a comparison: a peer's timing, or why it could not build. */
export interface BenchRow {
  readonly peer: string;
  readonly version: string;
  readonly timing?: Timing;
  readonly error?: string;
}

export interface CompareOptions {
  readonly runs?: number;
  readonly mode?: CacheMode;
  /** Peers to run (tsbuild first is conventional: ratios are relative to the first row that succeeded). */
  readonly peers: readonly Peer[];
  /** Image tag to build; default `tsbuild-bench/<context dir name>:latest`. */
  readonly tag?: string;
}

/**
 * Builds one context with every peer. Warm mode builds once unmeasured first so the cache is populated.
 * A peer that fails is reported in its row (with the tail of its output) instead of aborting the comparison.
 */
export async function comparePeers(contextDir: string, opts: CompareOptions): Promise<BenchRow[]> {
  const mode = opts.mode ?? 'cold';
  const tag = opts.tag ?? `tsbuild-bench/${path.basename(path.resolve(contextDir)).toLowerCase()}:latest`;
  const rows: BenchRow[] = [];
  for (const peer of opts.peers) {
    const { argv, env } = peer.buildCommand(path.resolve(contextDir), tag, mode);
    try {
      const timing = await timeCommand(argv, { env, runs: opts.runs ?? 3, warmup: mode === 'warm' ? 1 : 0 });
      rows.push({ peer: peer.name, version: peer.version, timing });
    } catch (e) {
      rows.push({ peer: peer.name, version: peer.version, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return rows;
}

const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/**
 * A plain-text table: peer, version, median, min, runs and the median's ratio to the first successful row
 * (`1.00x` for it; `2.50x` means 2.5 times slower).
 */
export function formatTable(title: string, rows: readonly BenchRow[]): string {
  const base = rows.find((r) => r.timing !== undefined)?.timing?.median;
  const header = ['peer', 'version', 'median', 'min', 'runs', 'ratio'];
  const body = rows.map((r) =>
    r.timing
      ? [
          r.peer,
          r.version,
          fmtMs(r.timing.median),
          fmtMs(r.timing.min),
          String(r.timing.samples.length),
          base ? `${(r.timing.median / base).toFixed(2)}x` : '-',
        ]
      : [r.peer, r.version, 'failed', '-', '-', '-'],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [title, line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  for (const r of rows) if (r.error) out.push('', `${r.peer} failed:`, tail(r.error, 15));
  return out.join('\n') + '\n';
}

async function main(argv: readonly string[]): Promise<number> {
  let runs = 3;
  let mode: CacheMode = 'cold';
  let only: string[] | undefined;
  let context: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--cold') mode = 'cold';
    else if (a === '--warm') mode = 'warm';
    else if (a === '--peers') only = (argv[++i] ?? '').split(',');
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node bench/lib.ts [--runs N] [--cold|--warm] [--peers tsbuild,buildkit,buildah] CONTEXT_DIR\n');
      return 0;
    } else if (!a.startsWith('-') && context === undefined) context = a;
    else {
      process.stderr.write(`bench: unexpected argument ${a}\n`);
      return 2;
    }
  }
  if (context === undefined || !existsSync(path.join(context, 'Dockerfile'))) {
    process.stderr.write('bench: give a context directory containing a Dockerfile\n');
    return 2;
  }
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('bench: --runs must be a positive integer\n');
    return 2;
  }
  let peers = [tsbuildPeer(), ...(await detectPeers())];
  if (only) peers = peers.filter((p) => only.includes(p.name));
  const rows = await comparePeers(context, { runs, mode, peers });
  process.stdout.write(formatTable(`${context} (${mode}, ${runs} runs)`, rows));
  return rows.some((r) => r.error) ? 1 : 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
