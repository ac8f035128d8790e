import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { busyboxRootfsDir } from '../helpers/bases.ts';
import { repoRoot, requireRoot, tempDir } from '../helpers/env.ts';

const run = promisify(execFile);
const conf = '/etc/containers/containers.conf.d/50-tsbuild.conf';

describe('scripts/setup.sh', () => {
  it('is idempotent: a second run installs nothing and rewrites nothing', async () => {
    requireRoot('setup.sh');
    const first = await run(path.join(repoRoot, 'scripts/setup.sh'), ['--no-npm']);
    expect(first.stderr).toMatch(/setup:.* done/);
    const before = statSync(conf);
    const second = await run(path.join(repoRoot, 'scripts/setup.sh'), ['--no-npm']);
    expect(second.stderr).toMatch(/system packages present/);
    expect(second.stderr).not.toMatch(/installing|wrote/);
    expect(statSync(conf).mtimeMs).toBe(before.mtimeMs);
    expect(readFileSync(conf, 'utf8')).toMatch(/default_ulimits = \[\][\s\S]*runtime = "runc"[\s\S]*cgroup_manager = "cgroupfs"/);
  });

  it('rejects unknown options with exit code 2', async () => {
    const e = await run(path.join(repoRoot, 'scripts/setup.sh'), ['--bogus']).then(
      () => undefined,
      (x: { code: number; stderr: string }) => x,
    );
    expect(e?.code).toBe(2);
    expect(e?.stderr).toMatch(/unknown option --bogus/);
  });

  it('leaves podman able to run a container on this host', async () => {
    requireRoot('podman run', ['podman']);
    const rootfs = await busyboxRootfsDir();
    const dir = await tempDir();
    const tar = path.join(dir, 'bb.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
    const tag = `localhost/tsbuild-setup-test:${process.pid}`;
    await run('podman', ['import', '-q', tar, tag]);
    try {
      const r = await run('podman', ['run', '--rm', tag, 'sh', '-c', 'echo hello from $(uname -s)']);
      expect(r.stdout).toBe('hello from Linux\n');
    } finally {
      await run('podman', ['rmi', '-f', tag]).catch(() => undefined);
    }
  });
});

describe('README and CI', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

  it('.ci/run runs exactly the README test command', () => {
    const ci = readFileSync(path.join(repoRoot, '.ci/run'), 'utf8');
    expect(statSync(path.join(repoRoot, '.ci/run')).mode & 0o111).not.toBe(0);
    expect(ci.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(ci).toMatch(/^set -euo pipefail$/m);
    const command = ci.trim().split('\n').pop()!;
    expect(command).toBe('./scripts/setup.sh && npm test');
    expect(readme).toContain(`\n${command}\n`);
  });

  it('the README opens with the demo command, and every script it names exists', () => {
    const firstBlock = /```(?:sh|bash)?\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock).toContain('./scripts/setup.sh && ./scripts/demo.sh');
    for (const m of readme.matchAll(/\.\/(scripts\/[\w.-]+|examples\/[\w/.-]+\.sh|\.ci\/run)/g)) {
      expect(statSync(path.join(repoRoot, m[1]!)).mode & 0o111, m[1]).not.toBe(0);
    }
  });

  it('the shell scripts pass bash -n', () => {
    for (const s of ['scripts/lib.sh', 'scripts/setup.sh', 'scripts/demo.sh', 'scripts/install-peers.sh', 'examples/busybox/prepare.sh', 'examples/debian/prepare.sh', '.ci/run']) {
      execFileSync('bash', ['-n', path.join(repoRoot, s)]);
    }
  });
});
