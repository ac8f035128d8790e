/**
 * Layer writer benchmark: a 512 MiB tree (half random, half compressible text, in files of 1-16 MiB plus many
 * small files) written as a gzip layer. Reports seconds, MB/s of uncompressed input and peak RSS.
 *
 * Run: npm exec -- node bench/layer.ts [sizeMiB] [gzip|zstd|none]
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeLayer, type Compression, type LayerBlob } from '../executor/layer/index.ts';

if (process.argv[2] === '--write') {
  // Child mode: only the layer write, so maxRSS measures the writer and not the input generation.
  const [, , , upper, out, comp] = process.argv as [string, string, string, string, string, Compression];
  const t0 = performance.now();
  const blob = await writeLayer({ upperDir: upper, out, compression: comp });
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ blob, seconds, maxRssKiB: process.resourceUsage().maxRSS }));
} else {
  await main();
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 512);
  const compression = (process.argv[3] ?? 'gzip') as Compression;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-layer-'));
  try {
    const upper = path.join(dir, 'upper');
    mkdirSync(upper);
    let written = 0;
    let i = 0;
    const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(20_000));
    while (written < sizeMiB * 1024 * 1024) {
      const sub = path.join(upper, `d${i % 16}`);
      mkdirSync(sub, { recursive: true });
      if (i % 50 === 49) {
        // a burst of small files, like a package install
        for (let j = 0; j < 200; j++) writeFileSync(path.join(sub, `small-${i}-${j}`), text.subarray(0, 1000 + j));
        written += 200 * 1100;
      } else {
        // Written 1 MiB at a time so that generating the input does not inflate the peak RSS being measured.
        const mib = 1 + (i % 16);
        const fd = openSync(path.join(sub, `f${i}`), 'w');
        for (let k = 0; k < mib; k++) writeSync(fd, i % 2 === 0 ? randomBytes(1024 * 1024) : text.subarray(0, 1024 * 1024));
        closeSync(fd);
        written += mib * 1024 * 1024;
      }
      i++;
    }
    const child = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--write', upper, path.join(dir, 'layer.blob'), compression], {
      encoding: 'utf8',
    });
    const r = JSON.parse(child) as { blob: LayerBlob; seconds: number; maxRssKiB: number };
    const { blob, seconds: secs } = r;
    const peakMB = r.maxRssKiB / 1024;
    console.log(
      JSON.stringify(
        {
          compression,
          inputMiB: +(written / 1048576).toFixed(1),
          tarMiB: +(blob.uncompressedSize / 1048576).toFixed(1),
          blobMiB: +(blob.size / 1048576).toFixed(1),
          seconds: +secs.toFixed(2),
          MBps: +(blob.uncompressedSize / 1e6 / secs).toFixed(1),
          peakRssMB: +peakMB.toFixed(1),
          },
        null,
        2,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
