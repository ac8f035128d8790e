/**
 * Build outputs checked by real clients: OCI archives with skopeo, docker archives loaded and run by podman, local
 * directories and filesystem tars; -q, --iidfile and --metadata-file.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureContainersConf } from '../helpers/containers-conf.ts';
import { which } from '../helpers/env.ts';
import { imageBlobs, inspect, makeRig, readTar, type Rig } from './helpers.ts';

const run = promisify(execFile);

let rig: Rig;
let ctx: string;
beforeAll(async () => {
  rig = await makeRig();
  ctx = await rig.context({
    Dockerfile: 'FROM busybox\nCOPY hello.txt /srv/hello.txt\nRUN ln -s /srv/hello.txt /link && echo made > /srv/made\nCMD ["cat", "/srv/hello.txt"]\n',
    'hello.txt': 'hello from tsbuild\n',
  });
});
afterAll(() => rig?.cleanup());

describe('outputs', () => {
  it('-q prints only the image ID, which is the config digest and the inspect Id; --iidfile and --metadata-file agree', async () => {
    const iid = path.join(rig.dir, 'iid.txt');
    const meta = path.join(rig.dir, 'meta.json');
    const r = await rig.ok(['build', '-q', '-t', 'out-img', '--iidfile', iid, '--metadata-file', meta, ctx]);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(r.stderr).toBe('');
    const id = r.stdout.trim();
    const info = await inspect(rig, 'out-img');
    expect(info.Id).toBe(id);
    const { manifest } = await imageBlobs(rig, 'out-img');
    expect(manifest.config.digest).toBe(id);
    expect(await readFile(iid, 'utf8')).toBe(id);
    const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
    expect(m['containerimage.config.digest']).toBe(id);
    expect(m['containerimage.digest']).toBe(info.Descriptor.digest);
  });

  it('-o type=oci,dest=x.tar is an OCI archive skopeo reads, with the same manifest and layers', async () => {
    requireTool('skopeo');
    const tar = path.join(rig.dir, 'image-oci.tar');
    await rig.ok(['build', '--progress', 'plain', '-t', 'out-img', '-o', `type=oci,dest=${tar}`, ctx]);
    const { stdout } = await run('skopeo', ['inspect', `oci-archive:${tar}`]);
    const info = JSON.parse(stdout) as { Digest: string; Layers: string[]; Architecture: string; Os: string };
    const { manifest } = await imageBlobs(rig, 'out-img');
    const stored = await inspect(rig, 'out-img');
    expect(info.Digest).toBe(stored.Descriptor.digest);
    expect(info.Layers).toEqual(manifest.layers.map((l) => l.digest));
    expect(info.Os).toBe('linux');
    const { stdout: cfg } = await run('skopeo', ['inspect', '--config', `oci-archive:${tar}`]);
    expect((JSON.parse(cfg) as { config: { Cmd: string[] } }).config.Cmd).toEqual(['cat', '/srv/hello.txt']);
  });

  it('-o type=docker,dest=x.tar loads into podman and runs', async () => {
    requireTool('podman');
    await ensureContainersConf();
    const tar = path.join(rig.dir, 'image-docker.tar');
    const name = `localhost/tsbuild-it-out:${process.pid}`;
    await rig.ok(['build', '--progress', 'plain', '-t', name, '-o', `type=docker,dest=${tar}`, ctx]);
    try {
      const load = await run('podman', ['load', '-i', tar]);
      expect(load.stdout + load.stderr).toContain(name);
      const hi = await run('podman', ['run', '--rm', '--network', 'none', name, 'echo', 'hi']);
      expect(hi.stdout).toBe('hi\n');
      const def = await run('podman', ['run', '--rm', '--network', 'none', name]);
      expect(def.stdout).toBe('hello from tsbuild\n');
      // podman sees the same image ID (the config digest).
      const { stdout: pid } = await run('podman', ['image', 'inspect', '--format', '{{.Id}}', name]);
      expect(`sha256:${pid.trim()}`).toBe((await inspect(rig, name)).Id);
    } finally {
      await run('podman', ['rmi', '-f', name]).catch(() => undefined);
    }
  }, 120_000);

  it('-o type=local writes the image filesystem; -o type=tar writes it as one tar', async () => {
    const dir = await mkdtemp(path.join(rig.dir, 'local-'));
    const tar = path.join(rig.dir, 'fs.tar');
    await rig.ok(['build', '--progress', 'plain', '-o', `type=local,dest=${dir}`, '-o', `type=tar,dest=${tar}`, ctx]);
    expect(await readFile(path.join(dir, 'srv/hello.txt'), 'utf8')).toBe('hello from tsbuild\n');
    expect(await readFile(path.join(dir, 'srv/made'), 'utf8')).toBe('made\n');
    expect((await readdir(path.join(dir, 'bin'))).length).toBeGreaterThan(100);
    const { readlink } = await import('node:fs/promises');
    expect(await readlink(path.join(dir, 'link'))).toBe('/srv/hello.txt');
    expect((await stat(path.join(dir, 'bin/busybox'))).mode & 0o111).not.toBe(0);
    const entries = await readTar(tar);
    expect(entries.get('srv/hello.txt')?.content.toString()).toBe('hello from tsbuild\n');
    expect(entries.get('link')?.linkname).toBe('/srv/hello.txt');
    expect(entries.has('bin/busybox')).toBe(true);
    // A filesystem tar has no overlay whiteouts or image metadata.
    expect([...entries.keys()].some((k) => k.includes('.wh.') || k === 'manifest.json' || k === 'index.json')).toBe(false);
  });
});

function requireTool(tool: string): void {
  if (!which(tool)) throw new Error(`this test needs \`${tool}\` on PATH (installed by ./scripts/setup.sh); it fails rather than skips`);
}
