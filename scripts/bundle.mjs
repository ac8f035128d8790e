// Bundles the CLI after tsc: dist/cli/main.js becomes one ESM module holding tsbuild's own code that every command
// needs, with code-split chunks (dist/cli/chunks/) for what only some commands load, so lazy imports stay lazy.
// Dependencies in node_modules stay external (resolved by Node as before). Why: a no-op build resolved, read and
// linked ~70 of tsbuild's own modules before doing any work, ~40 ms of every CLI start on this machine (measured
// 270 → 230 ms for a no-op rebuild of 30 RUN steps). tsc's per-module output stays in dist/ for the library entry
// (dist/index.js) and its type declarations.
//
// The bundle carries a build id (`__TSBUILD_BUILD_ID__`): a sha256 of the bundle's files and package-lock.json,
// which keys what the CLI caches of its own computations (cache/frontend.ts), so that any change of tsbuild's code or
// dependencies invalidates it. The outputs are hashed with a placeholder in the id's place, then written with the id.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/cli');
rmSync(path.join(outdir, 'chunks'), { recursive: true, force: true });
const placeholder = 'tsbuild-build-id-placeholder'.padEnd(64, '-');
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  jsx: 'automatic',
  logLevel: 'warning',
  define: { __TSBUILD_BUILD_ID__: JSON.stringify(placeholder) },
  write: false,
});
const files = [...result.outputFiles].sort((a, b) => (a.path < b.path ? -1 : 1));
const hash = createHash('sha256');
for (const f of files) hash.update(`${path.relative(outdir, f.path)}\0${f.contents.length}\0`).update(f.contents);
const id = hash.update(readFileSync(path.join(root, 'package-lock.json'))).digest('hex');
for (const f of files) {
  mkdirSync(path.dirname(f.path), { recursive: true });
  writeFileSync(f.path, f.text.replaceAll(placeholder, id));
}
