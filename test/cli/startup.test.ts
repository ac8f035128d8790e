/**
 * Start-up stays lean: `tsbuild version`, `tsbuild --help` and `tsbuild COMMAND --help` for cheap commands must not
 * load ink, react, undici, chevrotain or any WebAssembly module (they cost hundreds of milliseconds). Checked by
 * tracing every module the real CLI process resolves.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeBinary, repoRoot, tempDir } from '../helpers/env.ts';
import { cliEntry } from '../helpers/cli.ts';

const HEAVY = /\/node_modules\/(ink|react|react-reconciler|undici|chevrotain|sh-syntax|xxhash-wasm|yoga-layout)\/|\.wasm$/;

async function loaded(args: string[]): Promise<{ modules: string[]; ms: number; stdout: string }> {
  const trace = path.join(await tempDir(), 'modules.txt');
  const started = performance.now();
  const r = spawnSync(nodeBinary, ['--import', path.join(repoRoot, 'test/cli/trace-imports.mjs'), cliEntry(), ...args], {
    env: { ...process.env, TSBUILD_TRACE_IMPORTS: trace, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  const ms = performance.now() - started;
  expect(r.status, r.stderr).toBe(0);
  return { modules: readFileSync(trace, 'utf8').split('\n'), ms, stdout: r.stdout };
}

describe('lean start-up', () => {
  for (const args of [['version'], ['--version'], ['--help'], ['build', '--help'], ['-t', 'x', '--help'], ['images', '--help']]) {
    it(`tsbuild ${args.join(' ')} loads no ink, react, undici, chevrotain or WebAssembly`, async () => {
      const { modules, stdout } = await loaded(args);
      expect(stdout.length).toBeGreaterThan(0);
      expect(modules.some((m) => m.endsWith('/dist/cli/main.js')), 'the trace works').toBe(true);
      expect(modules.filter((m) => HEAVY.test(m))).toEqual([]);
    });
  }

  it('runs the bundled CLI: a lint loads a handful of tsbuild modules (chunks), not one per source file, and no YAML parser without a config file', async () => {
    const dir = await tempDir();
    const df = path.join(dir, 'Dockerfile');
    writeFileSync(df, 'FROM busybox:1.36\nRUN echo hi\n');
    const { modules } = await loaded(['lint', df]);
    const ours = modules.filter((m) => m.includes('/dist/'));
    expect(ours.some((m) => m.includes('/dist/cli/chunks/')), 'code-split chunks from scripts/bundle.mjs').toBe(true);
    // tsc's per-module output loads 35 modules for this; the bundle 10
    expect(ours.length).toBeLessThanOrEqual(15);
    expect(modules.filter((m) => m.includes('/node_modules/yaml/'))).toEqual([]);
    expect(modules.some((m) => m.includes('/node_modules/sh-syntax/') || m.includes('/node_modules/chevrotain/')), 'the trace sees dependencies').toBe(true);
  });

  it('the tracer does see the heavy modules when a command needs them (the check can fail)', async () => {
    const { modules } = await loaded(['parse', '-f', path.join(repoRoot, 'examples/busybox/Dockerfile')]);
    expect(modules.some((m) => m.includes('/node_modules/chevrotain/'))).toBe(true);
  });
});
