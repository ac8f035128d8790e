import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectExit, tsbuildCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/env.ts';

const example = (name: string): string => path.join(repoRoot, 'examples', name);

describe('examples parse and compile with tsbuild', () => {
  it.each([
    ['busybox', ['(from "scratch")', '(copy "rootfs/" "/")', '(cmd "sh")']],
    ['debian', ['(from "scratch")', '(add "rootfs.tar" "/")', '(cmd "bash")']],
    [
      'nginx',
      [
        '(from "debian:bookworm")',
        '(run "apt-get update && apt-get install -y --no-install-recommends nginx && rm -rf /var/lib/apt/lists/*")',
        '(expose "80")',
        '(cmd "nginx" "-g" "daemon off;")',
      ],
    ],
  ])('tsbuild parse examples/%s', async (name, dump) => {
    const r = await tsbuildCli(['parse', '--format', 'buildkit', example(name)]);
    expectExit(r, 0);
    expect(r.stdout.trim().split('\n')).toEqual(dump);
    expect(r.stderr).toBe('');
  });

  it('tsbuild plan examples/busybox reads only rootfs/ from the context', async () => {
    const r = await tsbuildCli(['plan', example('busybox')]);
    expectExit(r, 0);
    expect(r.stdout).toMatch(/COPY rootfs\/ \//);
    expect([...r.stdout.matchAll(/reads context: (.*)/g)].map((m) => m[1])).toEqual(['rootfs']);
  });

  it('tsbuild plan examples/nginx has one RUN on debian:bookworm', async () => {
    const r = await tsbuildCli(['plan', example('nginx')]);
    expectExit(r, 0);
    expect(r.stdout).toMatch(/image docker\.io\/library\/debian:bookworm/);
    expect(r.stdout.match(/^s\d+ exec/gm)).toHaveLength(1);
  });
});
