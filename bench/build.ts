/**
 * Build benchmarks: the scenarios of issues 4 and 5, each built by tsbuild and by every peer installed here
 * (BuildKit through dockerd, buildah; see scripts/install-peers.sh), in the same run, with tsbuild/peer ratios.
 *
 *   npm run build && npm exec -- node bench/build.ts [--runs N] [--only a,b] [--peers tsbuild,buildkit,buildah] [--json FILE]
 *
 * Scenarios (generated Dockerfiles and contexts live in a temp dir, removed at the end):
 *   ctx-noop     no-op rebuild of `COPY . /ctx/` over a 20,000-file / 158 MB context (warm)
 *   ctx-onefile  the same after changing one file before each run; tsbuild's record says how many files it read
 *   run30-cold   30 tiny RUN steps, --no-cache
 *   run30-noop   the same, no-op rebuild (warm)
 *   cpu4         4 independent CPU-bound stages (a shell loop each) gathered by a final stage, --no-cache
 *   layer512     one RUN writing 256 MiB of urandom + 256 MiB of text, --no-cache; peak RSS of the process tree
 *   debian       examples/debian (`ADD rootfs.tar /` of the ~120 MB Debian tarball), --no-cache
 *   nginx        examples/nginx (apt-get update + install nginx), --no-cache
 *
 * Times are wall-clock milliseconds of the whole client process (Node start-up included for tsbuild). BuildKit's
 * work happens inside dockerd, so its RSS is not comparable and is not shown. tsbuild builds into the bench store
 * (TSBUILD_ROOT, default os.tmpdir()/tsbuild-bench-store), with busybox:latest and debian:bookworm built there
 * from examples/ first.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchStoreRoot,
  detectPeers,
  dockerClient,
  repoRoot,
  runCommand,
  timeCommand,
  tsbuildPeer,
  type CacheMode,
  type Peer,
  type Timing,
} from './lib.ts';
import { storeBaseImage } from '../test/helpers/bases.ts';

/** One scenario: a context to build and how to time it. */
interface Scenario {
  readonly name: string;
  readonly what: string;
  readonly mode: CacheMode;
  /** Creates the context (a directory holding a Dockerfile) under `work`; returns its path. */
  prepare(work: string): Promise<string>;
  /** Runs before each build (warm-up included), untimed. */
  readonly before?: (ctx: string) => Promise<void>;
  readonly sampleRss?: boolean;
  /** Target: tsbuild's median must be at most `ratio` times BuildKit's. */
  readonly target?: { readonly ratio: number; readonly note: string };
  /** Removes what the builds left in the peers' stores (big layers). */
  readonly cleanup?: boolean;
}

/** Deterministic PRNG (mulberry32) so that every run generates the same context. */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The issue-4 context: `files` files, `megabytes` MB in all, 0.5% large files carrying most of the bytes. */
function makeBigContext(dir: string, files = 20_000, megabytes = 158): number {
  const rnd = prng(42);
  const large = Math.max(1, Math.round(files * 0.005));
  const small = files - large;
  const smallAvg = 4096;
  const largeSize = Math.floor((megabytes * 1e6 - small * smallAvg) / large);
  const block = Buffer.alloc(Math.max(largeSize, 8192) + 8192);
  for (let i = 0; i < block.length; i++) block[i] = (rnd() * 256) | 0;
  let written = 0;
  for (let i = 0; i < files; i++) {
    const d = path.join(dir, `d${i % 40}`, `s${Math.floor(i / 40) % 25}`);
    if (i < 1000) mkdirSync(d, { recursive: true });
    const size = i < large ? largeSize : Math.floor(rnd() * smallAvg * 2);
    const off = Math.floor(rnd() * 8192);
    const data = Buffer.from(block.subarray(off, off + size));
    if (data.length >= 4) data.writeUInt32LE(i, 0);
    writeFileSync(path.join(d, `f${i}.dat`), data);
    written += data.length;
  }
  return written;
}

const scenarios: Scenario[] = [
  {
    name: 'ctx-noop',
    what: 'no-op rebuild, COPY of a 20,000-file / 158 MB context',
    mode: 'warm',
    target: { ratio: 0.5, note: 'issue 4: <= 0.5x BuildKit' },
    async prepare(work) {
      const dir = path.join(work, 'ctx');
      mkdirSync(dir);
      const bytes = makeBigContext(dir);
      writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox:latest\nCOPY . /ctx/\n');
      process.stderr.write(`  context: 20000 files, ${(bytes / 1e6).toFixed(1)} MB\n`);
      await sleep(2100); // past the stat cache's racy window, as between a checkout and a build
      return dir;
    },
  },
  {
    name: 'ctx-onefile',
    what: 'rebuild after changing one file of that context',
    mode: 'warm',
    async prepare(work) {
      return path.join(work, 'ctx'); // made by ctx-noop (run it first: --only keeps the order)
    },
    async before(ctx) {
      writeFileSync(path.join(ctx, 'd7', 's3', 'f127.dat'), `changed ${Date.now()} ${Math.random()}\n`);
      await sleep(2100); // the changed file must be older than the racy window to be cacheable next time
    },
  },
  {
    name: 'run30-cold',
    what: '30 tiny RUN steps, --no-cache',
    mode: 'cold',
    target: { ratio: 0.5, note: 'issue 5: <= 0.5x BuildKit' },
    async prepare(work) {
      return run30(work);
    },
  },
  {
    name: 'run30-noop',
    what: '30 tiny RUN steps, no-op rebuild (Node start-up included)',
    mode: 'warm',
    target: { ratio: 0.7, note: 'issue 4: <= 0.7x BuildKit' },
    async prepare(work) {
      return run30(work);
    },
  },
  {
    name: 'cpu4',
    what: '4 independent CPU-bound stages, --no-cache',
    mode: 'cold',
    target: { ratio: 1, note: 'issue 5: no slower than BuildKit' },
    async prepare(work) {
      const dir = path.join(work, 'cpu4');
      mkdirSync(dir, { recursive: true });
      const stages = ['a', 'b', 'c', 'd'].map(
        (s) => `FROM busybox:latest AS ${s}\nRUN i=0; while [ $i -lt 1500000 ]; do i=$((i+1)); done; echo $i > /${s}.out\n`,
      );
      const final = `FROM busybox:latest\n${['a', 'b', 'c', 'd'].map((s) => `COPY --from=${s} /${s}.out /`).join('\n')}\n`;
      writeFileSync(path.join(dir, 'Dockerfile'), stages.join('\n') + '\n' + final);
      return dir;
    },
  },
  {
    name: 'layer512',
    what: 'one RUN making a 512 MiB layer (256 MiB urandom + 256 MiB text), --no-cache',
    mode: 'cold',
    sampleRss: true,
    cleanup: true,
    target: { ratio: 0.7, note: 'issue 5: <= 0.7x BuildKit, peak RSS < 200 MB' },
    async prepare(work) {
      const dir = path.join(work, 'layer512');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, 'Dockerfile'),
        'FROM busybox:latest\n' +
          'RUN head -c 268435456 /dev/urandom > /random.bin && ' +
          "yes 'tsbuild compressible text line 0123456789 abcdefghijklmnopqrstuvwxyz' | head -c 268435456 > /text.txt\n",
      );
      return dir;
    },
  },
  {
    name: 'debian',
    what: 'examples/debian: ADD rootfs.tar / (~120 MB tarball), --no-cache',
    mode: 'cold',
    sampleRss: true,
    async prepare() {
      return path.join(repoRoot, 'examples/debian');
    },
  },
  {
    name: 'nginx',
    what: 'examples/nginx: apt-get update && apt-get install nginx, --no-cache',
    mode: 'cold',
    target: { ratio: 1, note: 'issue 5: no slower than BuildKit' },
    async prepare() {
      return path.join(repoRoot, 'examples/nginx');
    },
  },
];

async function run30(work: string): Promise<string> {
  const dir = path.join(work, 'run30');
  mkdirSync(dir, { recursive: true });
  const steps = Array.from({ length: 30 }, (_, i) => `RUN echo step ${i + 1} > /step-${i + 1}`);
  writeFileSync(path.join(dir, 'Dockerfile'), `FROM busybox:latest\n${steps.join('\n')}\n`);
  return dir;
}

/** The newest build record in the tsbuild bench store. */
function latestRecord(store: string): { contextStats?: { filesRead: number; bytesRead: number; statCacheHits: number } } | undefined {
  const dir = path.join(store, 'records');
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .sort();
  const last = names[names.length - 1];
  return last ? (JSON.parse(readFileSync(path.join(dir, last), 'utf8')) as ReturnType<typeof latestRecord>) : undefined;
}

/** Removes an image and the build cache a big scenario left in each peer. */
async function cleanupPeers(peers: readonly Peer[], tag: string, store: string): Promise<void> {
  for (const p of peers) {
    if (p.name === 'tsbuild') {
      await runCommand([path.join(repoRoot, 'bin/tsbuild'), 'rmi', tag], { env: { TSBUILD_ROOT: store } });
      await runCommand([path.join(repoRoot, 'bin/tsbuild'), 'prune', '--all', '-f'], { env: { TSBUILD_ROOT: store } });
    } else if (p.name === 'buildkit') {
      await runCommand([dockerClient(), 'image', 'rm', '-f', tag]);
      await runCommand([dockerClient(), 'builder', 'prune', '-f']);
    } else if (p.name === 'buildah') {
      await runCommand(['buildah', 'rmi', '-f', `localhost/${tag}`]);
    }
  }
}

interface Row {
  peer: string;
  version: string;
  timing?: Timing;
  error?: string;
  note?: string;
}

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

function table(s: Scenario, rows: readonly Row[]): string {
  const ts = rows.find((r) => r.peer === 'tsbuild')?.timing?.median;
  const header = ['peer', 'median', 'min', 'max', 'runs', 'tsbuild/peer', 'peak RSS', 'note'];
  const body = rows.map((r) => {
    if (!r.timing) return [r.peer, 'failed', '-', '-', '-', '-', '-', r.note ?? ''];
    const t = r.timing;
    const rss = t.rssKiB && r.peer !== 'buildkit' ? `${(Math.max(...t.rssKiB) / 1024).toFixed(0)} MB` : '-';
    return [
      r.peer,
      fmt(t.median),
      fmt(t.min),
      fmt(t.max),
      String(t.samples.length),
      ts !== undefined ? `${(ts / t.median).toFixed(2)}x` : '-',
      rss,
      r.note ?? '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i >= 1 && i <= 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [`== ${s.name}: ${s.what} (${s.mode})`, line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  const bk = rows.find((r) => r.peer === 'buildkit')?.timing?.median;
  if (s.target && ts !== undefined && bk !== undefined)
    out.push(`target ${s.target.note}: ${(ts / bk).toFixed(2)}x -> ${ts / bk <= s.target.ratio ? 'MET' : 'MISSED'}`);
  for (const r of rows) if (r.error) out.push(`${r.peer} failed:\n${r.error.split('\n').slice(-15).join('\n')}`);
  return out.join('\n') + '\n';
}

async function main(argv: readonly string[]): Promise<number> {
  let runs = 3;
  let only: string[] | undefined;
  let peerNames: string[] | undefined;
  let jsonOut: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--only') only = (argv[++i] ?? '').split(',');
    else if (a === '--peers') peerNames = (argv[++i] ?? '').split(',');
    else if (a === '--json') jsonOut = argv[++i];
    else if (a === '-h' || a === '--help') {
      process.stdout.write(
        `usage: node bench/build.ts [--runs N] [--only ${scenarios.map((s) => s.name).join(',')}] [--peers tsbuild,buildkit,buildah] [--json FILE]\n`,
      );
      return 0;
    } else {
      process.stderr.write(`bench: unexpected argument ${a}\n`);
      return 2;
    }
  }
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('bench: --runs must be a positive integer\n');
    return 2;
  }
  const unknown = (only ?? []).filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.join(', ')}\n`);
    return 2;
  }
  const store = benchStoreRoot();
  let peers: Peer[] = [tsbuildPeer(store), ...(await detectPeers())];
  if (peerNames) peers = peers.filter((p) => peerNames.includes(p.name));
  process.stderr.write(`peers: ${peers.map((p) => `${p.name} ${p.version}`).join(', ')}; tsbuild store ${store}\n`);
  if (peers.some((p) => p.name === 'tsbuild')) {
    await storeBaseImage('busybox', store);
    await storeBaseImage('debian', store);
  }
  const chosen = scenarios.filter((s) => !only || only.includes(s.name));
  if (chosen.some((s) => s.name === 'ctx-onefile') && !chosen.some((s) => s.name === 'ctx-noop')) chosen.unshift(scenarios[0]!);
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-build-'));
  const results: Record<string, Row[]> = {};
  let failed = false;
  try {
    for (const s of chosen) {
      process.stderr.write(`${s.name}: preparing\n`);
      const ctx = await s.prepare(work);
      const tag = `tsbuild-bench/${s.name}:latest`;
      const rows: Row[] = [];
      for (const p of peers) {
        process.stderr.write(`${s.name}: ${p.name}\n`);
        const { argv, env } = p.buildCommand(ctx, tag, s.mode);
        const filesRead: number[] = [];
        try {
          const timing = await timeCommand(argv, {
            env,
            runs,
            warmup: s.mode === 'warm' ? 1 : 0,
            ...(s.sampleRss ? { sampleRss: true } : {}),
            ...(s.before ? { before: () => s.before!(ctx) } : {}),
            after: async (_r, measured) => {
              if (p.name !== 'tsbuild' || !measured) return;
              const st = latestRecord(store)?.contextStats;
              if (st) filesRead.push(st.filesRead);
            },
          });
          const note = s.name.startsWith('ctx-') && filesRead.length > 0 ? `context files read per run: ${filesRead.join(',')}` : undefined;
          rows.push({ peer: p.name, version: p.version, timing, ...(note ? { note } : {}) });
        } catch (e) {
          failed = true;
          rows.push({ peer: p.name, version: p.version, error: e instanceof Error ? e.message : String(e) });
        }
      }
      results[s.name] = rows;
      process.stdout.write(table(s, rows) + '\n');
      if (s.cleanup) await cleanupPeers(peers, tag, store);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ date: new Date().toISOString(), loadavg: os.loadavg(), runs, results }, null, 2)}\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
