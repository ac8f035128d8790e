/**
 * Parser throughput: our grammar vs dockerfile-ast (DockerfileParser.parse) over the real-world corpus, same run.
 * Run: npm exec -- node bench/parse.ts   (Node 24 strips the types)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { parse } from '../grammar/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(repoRoot, '../shared/corpus/real');
const rows = readFileSync(path.join(corpus, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
const files = rows.filter((r) => r[6] === 'dockerfile').map((r) => readFileSync(path.join(corpus, r[3]!), 'utf8'));
const bytes = files.reduce((n, f) => n + Buffer.byteLength(f), 0);

function measure(name: string, fn: (text: string) => unknown, minMs = 2000): number {
  // warm-up: let the JIT settle
  for (let i = 0; i < 3; i++) for (const f of files) fn(f);
  let rounds = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (const f of files) fn(f);
    rounds++;
    t = performance.now();
  }
  const mbps = (bytes * rounds) / 1e6 / ((t - t0) / 1000);
  console.log(`${name.padEnd(16)} ${mbps.toFixed(1).padStart(7)} MB/s  (${rounds} rounds of ${files.length} files, ${(bytes / 1e6).toFixed(2)} MB)`);
  return mbps;
}

const ms = Number(process.env.BENCH_MS ?? 2000);
const ours = measure('tsbuild grammar', (t) => parse(t), ms);
const theirs = measure('dockerfile-ast', (t) => DockerfileParser.parse(t), ms);
console.log(`ratio            ${(ours / theirs).toFixed(1)}x`);
