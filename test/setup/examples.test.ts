import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { storeBaseImage } from '../helpers/bases.ts';
import { expectExit, tsbuildCli } from '../helpers/cli.ts';
import { repoRoot, requireRoot } from '../helpers/env.ts';

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

describe('the example bases build and run with tsbuild', () => {
  beforeAll(async () => {
    requireRoot('building the example bases', ['mmdebstrap']);
    await storeBaseImage('busybox');
    await storeBaseImage('debian');
  });

  it('busybox:latest runs its applets as root with the example /etc/passwd', async () => {
    const r = await tsbuildCli(['run', '--rm', 'busybox:latest', 'sh', '-c', 'id -un; ls /bin/sh; echo $((6*7))']);
    expectExit(r, 0);
    expect(r.stdout).toBe('root\n/bin/sh\n42\n');
  });

  it('busybox:latest has CMD ["sh"] and no entrypoint', async () => {
    const r = await tsbuildCli(['inspect', 'busybox:latest']);
    expectExit(r, 0);
    const [img] = JSON.parse(r.stdout) as [{ Config: { Cmd?: string[]; Entrypoint?: unknown } }];
    expect(img.Config.Cmd).toEqual(['sh']);
    expect(img.Config.Entrypoint ?? null).toBeNull();
  });

  it('debian:bookworm runs bash and has apt configured like the host', async () => {
    const r = await tsbuildCli(['run', '--rm', 'debian:bookworm', 'bash', '-c', 'cat /etc/debian_version; apt-config dump Acquire::Check-Valid-Until']);
    expectExit(r, 0);
    expect(r.stdout).toMatch(/^12\.\d+\n/);
    // This host's mirror is a snapshot: apt inside the image must not reject its old Release files.
    expect(r.stdout).toContain('Acquire::Check-Valid-Until "false";');
  });
});
