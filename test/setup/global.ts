/**
 * vitest global setup: one scratch directory per test run, exported to every worker as TSBUILD_TEST_RUN_DIR.
 *
 * `tsbuildCli()` points TSBUILD_ROOT at `<run dir>/store` unless a test sets its own, so the suite never reads or
 * writes the machine's real store (/var/lib/tsbuild) and every run starts cold. Teardown unmounts whatever a
 * crashed test left mounted below the run directory and removes it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { removeTree, repoRoot } from '../helpers/env.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-test-run-'));
  // Workers are forked after global setup, so they inherit this.
  process.env.TSBUILD_TEST_RUN_DIR = runDir;
  if (!existsSync(path.join(repoRoot, 'dist/cli/main.js'))) {
    process.stderr.write('tsbuild test setup: dist/ is not built; CLI tests will fail. Run "npm run build" (npm test does).\n');
  }
  return async () => {
    if (process.env.TSBUILD_KEEP_TEST_RUN_DIR) {
      process.stderr.write(`tsbuild test setup: kept ${runDir}\n`);
      return;
    }
    await removeTree(runDir);
  };
}
