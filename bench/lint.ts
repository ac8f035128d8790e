/**
 * Lint throughput: `tsbuild lint` (parseTolerant + every default rule) vs dockerfile-utils' validate over the
 * real-world corpus, same run, interleaved rounds so that machine load hits both alike.
 * Run: npm exec -- node bench/lint.ts [--shell-all] [--stages N]   (Node 24 strips the types; WARMUP=40 ROUNDS=15 by default)
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

/** Runs one round and times it on its own. */
const timed = (round: () => number): { ms: number; count: number } => {
  const t0 = performance.now();
  const count = round();
  return { ms: performance.now() - t0, count };
};

// The first round of each tool, timed on its own: what a single lint of the corpus costs with a cold JIT.
const first = { ours: timed(ours).ms, theirs: timed(theirs).ms };
// Warm-up to steady state, interleaved; throughput is measured after both tools are there. dockerfile-utils gets there
// in about three corpus rounds. tsbuild's 96 rules and two parsers take V8 about thirty: with --trace-opt and
// --trace-deopt, each round still optimises 5-10 functions and every fifth round or so deoptimises 25-45 of them
// ("wrong map") until round ~28; from round ~30 on a round optimises 0-3 and deoptimises none. After 10 warm-up
// rounds (this script's default until the tenth session) the median round was still inside that churn.
const warmup = Number(process.env.WARMUP ?? 40);
for (let i = 0; i < warmup; i++) {
  ours();
  theirs();
}
// Interleaved rounds so that machine load hits both alike; each round is timed on its own and the figures are the
// median and the best round of each (this VM shares its host: single rounds vary by 30-50%).
const rounds = Number(process.env.ROUNDS ?? 15);
const t = { ours: [] as number[], theirs: [] as number[] };
let findings = 0;
let problems = 0;
for (let i = 0; i < rounds; i++) {
  const a = timed(ours);
  t.ours.push(a.ms);
  findings = a.count;
  const b = timed(theirs);
  t.theirs.push(b.ms);
  problems = b.count;
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const best = (a: number[]): number => Math.min(...a);
const mbps = (ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(2).padStart(6);
console.log(`corpus: ${files.length} files, ${(bytes / 1e6).toFixed(2)} MB; first round, then ${rounds} interleaved rounds after ${warmup} warm-up rounds`);
console.log(`                           first round      median round      best round`);
console.log(`tsbuild lint               ${mbps(first.ours)} MB/s      ${mbps(median(t.ours))} MB/s       ${mbps(best(t.ours))} MB/s   (${findings} findings${shellAll ? ', every RUN through sh-syntax' : ''})`);
console.log(`dockerfile-utils validate  ${mbps(first.theirs)} MB/s      ${mbps(median(t.theirs))} MB/s       ${mbps(best(t.theirs))} MB/s   (${problems} problems)`);
console.log(`ratio                      ${(first.theirs / first.ours).toFixed(1).padStart(6)}x           ${(median(t.theirs) / median(t.ours)).toFixed(1).padStart(6)}x            ${(best(t.theirs) / best(t.ours)).toFixed(1).padStart(6)}x`);
// The same comparison per pair of rounds run back to back (the host's speed drifts within a run; a pair shares it).
const paired = median(t.ours.map((ms, i) => t.theirs[i]! / ms));
console.log(`median of the ${rounds} per-round ratios (each pair back to back): ${paired.toFixed(1)}x`);

// `--stages N`: one synthetic Dockerfile of N stages, each FROM the one before, with a COPY --from and a piped RUN:
// what the cross-stage rules cost as a file grows (they must stay linear in the number of stages).
const stagesArg = process.argv.indexOf('--stages');
if (stagesArg > 0) {
  const n = Number(process.argv[stagesArg + 1] ?? 1000);
  let text = 'ARG GO_VERSION=1.22\nFROM golang:${GO_VERSION} AS s0\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n';
  for (let i = 1; i < n; i++) text += `FROM s${i - 1} AS s${i}\nCOPY --from=s${i - 1} /out/bin /out/bin\nRUN curl -s https://example.com/${i} | tar x && wget -q z\n`;
  const best = (f: () => unknown): number => {
    let b = Infinity;
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      f();
      b = Math.min(b, performance.now() - t0);
    }
    return b;
  };
  const ours1 = best(() => lint(parseTolerant(text).dockerfile, { shellSyntax }));
  const theirs1 = best(() => validate(text));
  console.log(`${n} chained stages (${(text.length / 1024).toFixed(0)} KB), best of 7: tsbuild lint ${ours1.toFixed(1)} ms, dockerfile-utils validate ${theirs1.toFixed(1)} ms`);
}
