import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  makeTempDir,
  mountsUnder,
  removeTree,
  repoRoot,
  requireRoot,
  sharedDir,
  tempDir,
  tsbuildCli,
} from '../helpers/env.ts';
import { expectExit, testStoreRoot } from '../helpers/cli.ts';

describe('test/helpers/env', () => {
  it('locates the repository and the shared data beside it', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string };
    expect(pkg.name).toBe('tsbuild');
    expect(sharedDir).toBe(path.resolve(repoRoot, '../shared'));
    expect(existsSync(path.join(sharedDir, 'STYLE.md'))).toBe(true);
  });

  it('requireRoot passes on this machine and fails loudly, naming what is missing', () => {
    requireRoot('the infra self-test');
    expect(() => requireRoot('the frobnicator test', ['tsbuild-no-such-tool'])).toThrow(
      /the frobnicator test needs a root machine.*`tsbuild-no-such-tool` is not on PATH.*fail rather than skip/,
    );
  });

  it('global setup exported a per-run scratch directory', () => {
    const runDir = process.env.TSBUILD_TEST_RUN_DIR;
    expect(runDir).toBeDefined();
    expect(statSync(runDir!).isDirectory()).toBe(true);
  });

  let fromTest = '';
  it('tempDir() gives a fresh writable directory...', async () => {
    fromTest = await tempDir();
    await writeFile(path.join(fromTest, 'f'), 'x');
    expect(readFileSync(path.join(fromTest, 'f'), 'utf8')).toBe('x');
  });
  it('...that is gone once that test finished', () => {
    expect(fromTest).not.toBe('');
    expect(existsSync(fromTest)).toBe(false);
  });

  it('removeTree detaches mounts inside the tree instead of deleting through them', async () => {
    requireRoot('mount-safe cleanup');
    await using outside = await makeTempDir('tsbuild-outside-');
    await writeFile(path.join(outside.path, 'precious'), 'keep me');
    const tree = await makeTempDir('tsbuild-tree-');
    try {
      const bindTarget = path.join(tree.path, 'with space', 'bind');
      const tmpfsTarget = path.join(tree.path, 'tmpfs');
      await mkdir(bindTarget, { recursive: true });
      await mkdir(tmpfsTarget);
      execFileSync('mount', ['--bind', outside.path, bindTarget]);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', tmpfsTarget]);
      expect(mountsUnder(tree.path).sort()).toEqual([bindTarget, tmpfsTarget].sort());
      expect(await readFile(path.join(bindTarget, 'precious'), 'utf8')).toBe('keep me');
      await removeTree(tree.path);
      expect(existsSync(tree.path)).toBe(false);
      expect(await readFile(path.join(outside.path, 'precious'), 'utf8')).toBe('keep me');
    } finally {
      await tree.cleanup();
    }
  });
});

describe('test/helpers/cli', () => {
  it('runs the built CLI and returns its exit code and output', async () => {
    const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const r = await tsbuildCli(['--version']);
    expectExit(r, 0);
    expect(r.stdout).toContain(version);
  });

  it('reports usage errors with exit code 2 and no stack trace', async () => {
    const r = await tsbuildCli(['verison']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "verison"/);
    expect(r.stderr).toMatch(/did you mean "tsbuild version"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('points the CLI at the run\'s scratch store, never the machine\'s', async () => {
    expect(process.env.TSBUILD_ROOT).toBeUndefined();
    expect(testStoreRoot()).toBe(path.join(process.env.TSBUILD_TEST_RUN_DIR!, 'store'));
    const r = await tsbuildCli(['images']);
    expectExit(r, 0);
    expect(existsSync(testStoreRoot()!)).toBe(true);
  });

  it('expectExit shows the output when the code differs', () => {
    expect(() => expectExit({ code: 1, stdout: 'out-text', stderr: 'err-text' }, 0)).toThrow(
      /expected exit 0, got 1[\s\S]*out-text[\s\S]*err-text/,
    );
  });
});
