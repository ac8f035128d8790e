/**
 * Context hashing benchmark (prints figures; not a timed test).
 *   npm exec -- node bench/context.ts [files=20000] [megabytes=158]
 * Generates a context, then measures: cold hashing (empty stat cache; page cache warm, since the files were just
 * written), warm no-op re-hash (stat cache loaded from disk, as a second build would), and a re-hash after changing
 * one file (must re-read exactly one file).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openContext } from '../cache/context/context.ts';

const files = Number(process.argv[2] ?? 20_000);
const totalBytes = Number(process.argv[3] ?? 158) * 1e6;
const dir = mkdtempSync(join(tmpdir(), 'tsbuild-bench-ctx-'));
const statDir = mkdtempSync(join(tmpdir(), 'tsbuild-bench-stat-'));

// Deterministic PRNG (mulberry32) so runs are comparable.
let seed = 42;
const rnd = (): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

try {
  // 99.5% small files (0-8 KiB), 0.5% large ones carrying the rest of the bytes: like a source tree with assets.
  const large = Math.max(1, Math.round(files * 0.005));
  const small = files - large;
  const smallAvg = 4096;
  const largeSize = Math.floor((totalBytes - small * smallAvg) / large);
  const block = Buffer.alloc(Math.max(largeSize, 8192));
  for (let i = 0; i < block.length; i++) block[i] = (rnd() * 256) | 0;
  let written = 0;
  const t0 = performance.now();
  for (let i = 0; i < files; i++) {
    const d = join(dir, `d${i % 40}`, `s${Math.floor(i / 40) % 25}`);
    if (i < 1000) mkdirSync(d, { recursive: true });
    const size = i < large ? largeSize : Math.floor(rnd() * smallAvg * 2);
    const off = Math.floor(rnd() * 4096);
    const data = Buffer.from(block.subarray(off % Math.max(1, block.length - size), (off % Math.max(1, block.length - size)) + size));
    if (data.length >= 4) data.writeUInt32LE(i, 0);
    writeFileSync(join(d, `f${i}.dat`), data);
    written += data.length;
  }
  console.log(`generated ${files} files, ${(written / 1e6).toFixed(1)} MB in ${(performance.now() - t0).toFixed(0)} ms`);
  // Let the stat cache's racy window pass, as it would between a checkout and a build.
  await sleep(2100);

  const sel = { include: ['.'], exclude: [] };
  const c1 = await openContext(dir, { statCacheDir: statDir });
  let t = performance.now();
  const d1 = await c1.digestFor(sel);
  const cold = performance.now() - t;
  await c1.save();
  console.log(`cold: ${cold.toFixed(0)} ms, ${(c1.stats.bytesRead / 1e6 / (cold / 1000)).toFixed(0)} MB/s, ${c1.stats.filesRead} files read`);

  // The same cold pass again (no stat cache), now that the JIT is warm and writeback of the generated files is done.
  for (let i = 0; i < 2; i++) {
    const cx = await openContext(dir);
    const tx = performance.now();
    await cx.digestFor(sel);
    const ms = performance.now() - tx;
    console.log(`cold again (no stat cache, JIT warm): ${ms.toFixed(0)} ms, ${(cx.stats.bytesRead / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
  }

  const c2 = await openContext(dir, { statCacheDir: statDir });
  t = performance.now();
  const d2 = await c2.digestFor(sel);
  const warm = performance.now() - t;
  await c2.save();
  console.log(`warm no-op: ${warm.toFixed(0)} ms (incl. stat cache load: see below), ${c2.stats.filesRead} files read, same digest: ${d1 === d2}`);

  const tl = performance.now();
  const c3pre = await openContext(dir, { statCacheDir: statDir });
  const loadMs = performance.now() - tl;
  void c3pre;
  console.log(`stat cache load (openContext): ${loadMs.toFixed(0)} ms`);

  const victim = join(dir, 'd7', 's3', `f${7 + 40 * 3}.dat`);
  writeFileSync(victim, 'changed');
  const c3 = await openContext(dir, { statCacheDir: statDir });
  t = performance.now();
  const d3 = await c3.digestFor(sel);
  const one = performance.now() - t;
  console.log(`after changing one file: ${one.toFixed(0)} ms, ${c3.stats.filesRead} file(s) read, digest changed: ${d3 !== d1}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(statDir, { recursive: true, force: true });
}
