/**
 * Registry throughput: push and pull of a ~200 MB image (4 layers of incompressible data) to/from a local
 * distribution registry (Debian's docker-registry on 127.0.0.1), tsbuild vs `skopeo copy` of the same image in
 * the same run. Each measured run gets a fresh registry (and, for pulls, a fresh destination), so nothing is
 * deduplicated or mounted; both tools run as CLI processes (start-up included).
 *
 *   npm exec -- node bench/registry.ts [--runs N] [--mb 200]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pack } from 'tar-stream';
import { openStore, type Store } from '../cache/store.ts';
import { MediaType, type Descriptor } from '../cache/types.ts';
import type { ImageConfig } from '../compiler/graph.ts';
import type { Digest } from '../util/digest.ts';
import { repoRoot, runCommand, summarize, type Timing } from './lib.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = opt('runs', 3);
const TOTAL_MB = opt('mb', 200);
const LAYERS = 4;
const node = path.join(repoRoot, 'node_modules/node/bin/node');
const cli = path.join(repoRoot, 'dist/cli/main.js');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function startRegistry(): Promise<{ host: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-bench-registry-'));
  const port = await freePort();
  await writeFile(
    path.join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) break;
    if (i > 300) throw new Error('docker-registry did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A layer tar with one file of `size` random bytes, streamed into the store. */
async function putLayer(store: Store, i: number, size: number): Promise<{ desc: Descriptor; diffId: Digest }> {
  const p = pack();
  const CH = 1 << 20;
  const entry = p.entry({ name: `blob-${i}.bin`, size, mode: 0o644, mtime: new Date(0) });
  (async () => {
    for (let left = size; left > 0; left -= CH) {
      if (!entry.write(randomBytes(Math.min(CH, left)))) await new Promise((r) => entry.once('drain', r));
    }
    entry.end();
    p.finalize();
  })().catch((e: unknown) => p.destroy(e as Error));
  const r = await store.blobs.putStream(p as AsyncIterable<Uint8Array>);
  return { desc: { mediaType: MediaType.layer, digest: r.digest, size: r.size }, diffId: r.digest };
}

function fmt(t: Timing, bytes: number): string {
  return `median ${(t.median / 1000).toFixed(2)} s (${(bytes / 1e6 / (t.median / 1000)).toFixed(0)} MB/s; runs ${t.samples.map((s) => (s / 1000).toFixed(2)).join(', ')} s)`;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-bench-reg-'));
  try {
    const srcRoot = path.join(work, 'src-store');
    const store = await openStore(srcRoot);
    const layers: Descriptor[] = [];
    const diffIds: Digest[] = [];
    const per = Math.floor((TOTAL_MB * 1e6) / LAYERS);
    for (let i = 0; i < LAYERS; i++) {
      const l = await putLayer(store, i, per);
      layers.push(l.desc);
      diffIds.push(l.diffId);
    }
    const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } };
    const img = await store.putImage({ config, layers });
    const bytes = layers.reduce((n, l) => n + l.size, 0);
    // The same image as an OCI layout for skopeo (blobs hard-linked from the store).
    const layout = path.join(work, 'layout');
    await mkdir(path.join(layout, 'blobs', 'sha256'), { recursive: true });
    await writeFile(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    for (const d of [img.manifestDigest, img.configDigest, ...layers.map((l) => l.digest)]) await link(store.blobs.path(d), path.join(layout, 'blobs', 'sha256', d.slice(7)));
    const manifestSize = (await store.blobs.readBytes(img.manifestDigest)).length;
    await writeFile(
      path.join(layout, 'index.json'),
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.manifest, digest: img.manifestDigest, size: manifestSize, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }] }),
    );
    process.stdout.write(`image: ${LAYERS} layers, ${(bytes / 1e6).toFixed(0)} MB, manifest ${img.manifestDigest}\n`);

    const pushT: number[] = [];
    const pushS: number[] = [];
    const pullT: number[] = [];
    const pullS: number[] = [];
    const must = (r: { code: number; stderr: string; stdout: string }, what: string): void => {
      if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stdout}\n${r.stderr}`);
    };
    for (let run = 0; run < RUNS; run++) {
      // Alternate who goes first so page-cache warmth does not favour one tool.
      const order = run % 2 === 0 ? ['tsbuild', 'skopeo'] : ['skopeo', 'tsbuild'];
      for (const who of order) {
        const reg = await startRegistry();
        try {
          const ref = `${reg.host}/bench/img:1`;
          if (who === 'tsbuild') {
            await runCommand([node, cli, 'tag', img.manifestDigest, ref], { env: { TSBUILD_ROOT: srcRoot } });
            const p = await runCommand([node, cli, 'push', '-q', ref], { env: { TSBUILD_ROOT: srcRoot } });
            must(p, 'tsbuild push');
            pushT.push(p.ms);
            const dst = path.join(work, `pull-store-${run}`);
            const q = await runCommand([node, cli, 'pull', '-q', ref], { env: { TSBUILD_ROOT: dst } });
            must(q, 'tsbuild pull');
            if (!q.stdout.includes(ref)) throw new Error(`tsbuild pull printed ${q.stdout}`);
            pullT.push(q.ms);
            await rm(dst, { recursive: true, force: true });
          } else {
            const p = await runCommand(['skopeo', 'copy', '-q', '--dest-tls-verify=false', `oci:${layout}:bench`, `docker://${ref}`]);
            must(p, 'skopeo push');
            pushS.push(p.ms);
            const dst = path.join(work, `skopeo-pull-${run}`);
            const q = await runCommand(['skopeo', 'copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${dst}:bench`]);
            must(q, 'skopeo pull');
            pullS.push(q.ms);
            await rm(dst, { recursive: true, force: true });
          }
        } finally {
          await reg.stop();
        }
      }
    }
    const rows: Array<[string, Timing, Timing]> = [
      ['push', summarize(pushT), summarize(pushS)],
      ['pull', summarize(pullT), summarize(pullS)],
    ];
    for (const [what, t, s] of rows) {
      process.stdout.write(`${what}  tsbuild ${fmt(t, bytes)}\n${what}  skopeo  ${fmt(s, bytes)}\n${what}  ratio tsbuild/skopeo ${(t.median / s.median).toFixed(2)}\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
