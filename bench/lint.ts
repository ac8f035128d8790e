/**
 * Lint throughput: `tsbuild lint` (parseTolerant + every default rule) vs dockerfile-utils' validate over the
 * real-world corpus, same run, interleaved rounds so that machine load hits both alike.
 * Run: npm exec -- node bench/lint.ts [--shell-all]   (Node 24 strips the types)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import { parseTolerant } from '../grammar/index.ts';
import { lint, loadShellSyntax } from '../compiler/lint/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(repoRoot, '../shared/corpus/real');
const rows = readFileSync(path.join(corpus, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
const files = rows.filter((r) => r[6] === 'dockerfile').map((r) => ({ name: r[3]!, text: readFileSync(path.join(corpus, r[3]!), 'utf8') }));
const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
const shellAll = process.argv.includes('--shell-all');
const shellSyntax = await loadShellSyntax(readFileSync(path.join(repoRoot, 'node_modules/sh-syntax/main.wasm')));

const ours = (): number => {
  let n = 0;
  for (const f of files) n += lint(parseTolerant(f.text, { file: f.name }).dockerfile, { shellSyntax, shellSyntaxAll: shellAll }).length;
  return n;
};
const theirs = (): number => {
  let n = 0;
  for (const f of files) n += validate(f.text).length;
  return n;
};

// warm-up
ours();
theirs();
const time = { ours: 0, theirs: 0 };
const rounds = Number(process.env.ROUNDS ?? 5);
let findings = 0;
let problems = 0;
for (let i = 0; i < rounds; i++) {
  let t = performance.now();
  findings = ours();
  time.ours += performance.now() - t;
  t = performance.now();
  problems = theirs();
  time.theirs += performance.now() - t;
}
const mbps = (ms: number): number => (bytes * rounds) / 1e6 / (ms / 1000);
console.log(`corpus: ${files.length} files, ${(bytes / 1e6).toFixed(2)} MB, ${rounds} interleaved rounds`);
console.log(`tsbuild lint            ${mbps(time.ours).toFixed(2).padStart(7)} MB/s  (${findings} findings${shellAll ? ', every RUN through sh-syntax' : ''})`);
console.log(`dockerfile-utils validate ${mbps(time.theirs).toFixed(2).padStart(5)} MB/s  (${problems} problems)`);
console.log(`ratio                   ${(time.theirs / time.ours).toFixed(1).padStart(7)}x`);
