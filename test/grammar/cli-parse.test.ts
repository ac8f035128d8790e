import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { repoRoot } from './helpers.ts';

const node = path.join(repoRoot, 'node_modules/node/bin/node');
const main = path.join(repoRoot, 'dist/cli/main.js');
let dir: string;

function run(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(node, [main, ...args], { cwd: dir, input, encoding: 'utf8', env: { ...process.env, TSBUILD_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // tsc emits dist/ even when unrelated files elsewhere in the tree fail to typecheck; our files must be there.
  try {
    execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'pipe' });
  } catch {
    // a type error in another area must not hide this test's result; the checks below need only our output
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-parse-cli-'));
  mkdirSync(path.join(dir, 'ctx'));
  writeFileSync(path.join(dir, 'ctx/Dockerfile'), 'FROM alpine\nENV a=b c\nRUN true\n');
  writeFileSync(path.join(dir, 'good.Dockerfile'), 'FROM alpine AS x\nRUN echo hi\n');
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tsbuild parse (child process)', () => {
  it('prints FILE:LINE:COL: error:, the line with a caret, exits 1, no stack trace', () => {
    const r = run(['parse', 'ctx']);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(`ctx/Dockerfile:2:9: error: Syntax error - can't find = in "c". Must be of the form: name=value`);
    expect(lines[1]).toBe('2 | ENV a=b c');
    expect(lines[2]).toBe('  |         ^');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
  it('prints the BuildKit dump and the JSON AST', () => {
    const b = run(['parse', '-f', 'good.Dockerfile', '--format', 'buildkit']);
    expect([b.code, b.stdout]).toEqual([0, '(from "alpine" "AS" "x")\n(run "echo hi")\n']);
    const j = run(['parse', '-f', 'good.Dockerfile']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout).instructions[0].stageName.value).toBe('x');
  });
  it('reads stdin with -f -', () => {
    const r = run(['parse', '-f', '-', '--format', 'buildkit'], 'FROM a\nCMD ["x"]\n');
    expect([r.code, r.stdout]).toEqual([0, '(from "a")\n(cmd "x")\n']);
  });
  it('usage errors exit 2 with a did-you-mean hint', () => {
    const r = run(['parse', '--formt', 'json', 'ctx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown flag: --formt');
    expect(r.stderr).toContain('did you mean --format?');
  });
  it('a missing Dockerfile is a clean error', () => {
    const r = run(['parse', 'nowhere']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read nowhere/Dockerfile: no such file');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
