import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImageConfig, buildManifest, scratchConfig, type Descriptor } from '../../../executor/image/image.ts';
import {
  exportDockerArchive,
  exportFsTar,
  exportLocal,
  exportOciArchive,
  parseTag,
  type ExportImage,
} from '../../../executor/export/export.ts';
import { writeLayer, writeTarFromDir } from '../../../executor/layer/index.ts';
import { digestOf, type Digest } from '../../../util/digest.ts';
import { ensureContainersConf } from '../../helpers/containers-conf.ts';
import { makeTempDir, requireRoot, type TempDir } from '../../helpers/env.ts';
import { busyboxRootfs } from '../../helpers/rootfs.ts';
import { listTar, sh } from '../layer/fixtures.ts';

const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;
const TAG = `localhost/tsbuild-export-test:p${process.pid}`;

let scratch: TempDir;
let image: ExportImage;
let blobFiles: Map<Digest, string>;

/** Two layers: the busybox rootfs (gzip), then an upperdir that adds /hello.txt and deletes /etc/group. */
beforeAll(async () => {
  requireRoot('exporter tests (podman, umoci, skopeo)', ['podman', 'skopeo', 'umoci', 'getfattr', 'tar']);
  await ensureContainersConf();
  scratch = await makeTempDir('tsbuild-export-');
  const rootfs = await busyboxRootfs();
  const l1 = await writeTarFromDir(rootfs, path.join(scratch.path, 'l1.tgz'), { compression: 'gzip', sourceDateEpoch: 0 });
  const upper = path.join(scratch.path, 'upper');
  mkdirSync(path.join(upper, 'etc'), { recursive: true });
  writeFileSync(path.join(upper, 'hello.txt'), 'hello from tsbuild\n');
  sh('mknod', [path.join(upper, 'etc/group'), 'c', '0', '0']); // an overlayfs whiteout
  const l2 = await writeLayer({ upperDir: upper, out: path.join(scratch.path, 'l2.tar'), compression: 'none', sourceDateEpoch: 0 });
  blobFiles = new Map([
    [l1.digest, path.join(scratch.path, 'l1.tgz')],
    [l2.digest, path.join(scratch.path, 'l2.tar')],
  ]);
  const config = buildImageConfig(scratchConfig(ARCH), {
    config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin:/usr/bin'] },
    history: [
      { createdBy: 'ADD busybox /', diffId: l1.diffId },
      { createdBy: 'ENV PATH=/bin:/usr/bin' },
      { createdBy: 'RUN rm /etc/group && echo hello > /hello.txt', diffId: l2.diffId },
    ],
    sourceDateEpoch: 0,
  });
  const layers: Descriptor[] = [l1, l2].map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }));
  const manifest = buildManifest(config.digest, config.size, layers);
  image = {
    manifest: manifest.bytes,
    config: config.bytes,
    layers,
    blobSource: (d) => createReadStream(blobFiles.get(d)!),
    tags: [TAG],
  };
});

afterAll(async () => {
  try {
    execFileSync('podman', ['rmi', '-f', TAG], { stdio: 'ignore' });
  } catch {
    // not loaded (the load test failed): nothing to remove
  }
  await scratch?.cleanup();
});

describe('exporters, checked by real clients', () => {
  it('type=oci: skopeo inspects it and umoci unpacks it', async () => {
    const out = path.join(scratch.path, 'oci.tar');
    const { manifestDigest } = await exportOciArchive(image, out);
    expect(manifestDigest).toBe(digestOf(image.manifest));
    const tag = parseTag(TAG).tag;
    const info = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${out}:${tag}`])) as {
      Digest: string;
      Layers: string[];
      Architecture: string;
      Env: string[];
    };
    expect(info.Digest).toBe(manifestDigest);
    expect(info.Layers).toEqual(image.layers.map((l) => l.digest));
    expect(info.Architecture).toBe(ARCH);
    expect(info.Env).toEqual(['PATH=/bin:/usr/bin']);
    const rawConfig = sh('skopeo', ['inspect', '--raw', '--config', `oci-archive:${out}:${tag}`]);
    expect(Buffer.from(rawConfig).equals(Buffer.from(image.config))).toBe(true);

    const layout = path.join(scratch.path, 'layout');
    mkdirSync(layout);
    sh('tar', ['-xf', out, '-C', layout]);
    expect(JSON.parse(readFileSync(path.join(layout, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const bundle = path.join(scratch.path, 'bundle');
    sh('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
    expect(readFileSync(path.join(bundle, 'rootfs/hello.txt'), 'utf8')).toBe('hello from tsbuild\n');
    expect(existsSync(path.join(bundle, 'rootfs/bin/busybox'))).toBe(true);
    expect(existsSync(path.join(bundle, 'rootfs/etc/passwd'))).toBe(true);
    expect(existsSync(path.join(bundle, 'rootfs/etc/group'))).toBe(false); // whiteout applied
  });

  it('type=docker: podman loads it (compressed layers as they are) and runs it', async () => {
    const out = path.join(scratch.path, 'docker.tar');
    await exportDockerArchive(image, out);
    const names = (await listTar(out)).map((e) => e.name);
    expect(names).toContain('manifest.json');
    expect(names).toContain('index.json');
    const loaded = sh('podman', ['load', '-i', out]);
    expect(loaded).toContain(`Loaded image: ${TAG}`);
    const id = sh('podman', ['image', 'inspect', '--format', '{{.Id}}', TAG]).trim();
    expect(`sha256:${id}`).toBe(digestOf(image.config)); // image ID = sha256 of our config bytes
    expect(sh('podman', ['run', '--rm', '--network=none', TAG, '/bin/busybox', 'echo', 'hi'])).toBe('hi\n');
    expect(sh('podman', ['run', '--rm', '--network=none', TAG, '/bin/busybox', 'cat', '/hello.txt'])).toBe('hello from tsbuild\n');
  });

  it('type=local: the filesystem with every layer applied', async () => {
    const dest = path.join(scratch.path, 'local');
    await exportLocal(image, dest);
    expect(readFileSync(path.join(dest, 'hello.txt'), 'utf8')).toBe('hello from tsbuild\n');
    expect(existsSync(path.join(dest, 'etc/group'))).toBe(false);
    expect(readdirSync(path.join(dest, 'etc'))).toEqual(['passwd']);
    expect(sh(path.join(dest, 'bin/busybox'), ['echo', 'ok'])).toBe('ok\n');
  });

  it('type=tar: the filesystem as one tar', async () => {
    const out = path.join(scratch.path, 'fs.tar');
    await exportFsTar(image, out, { sourceDateEpoch: 0 });
    const entries = await listTar(out);
    const names = entries.map((e) => e.name);
    expect(names).toContain('bin/busybox');
    expect(names).toContain('hello.txt');
    expect(names).not.toContain('etc/group');
    expect(names.some((n) => n.includes('.wh.'))).toBe(false);
    expect(entries.every((e) => e.mtime === 0)).toBe(true);
    // no work directory left beside the output
    expect(readdirSync(scratch.path).filter((n) => n.startsWith('.fs.tar'))).toEqual([]);
  });

  it('fails with export/blob-mismatch on a corrupt blob and leaves no file behind', async () => {
    const out = path.join(scratch.path, 'bad.tar');
    const bad: ExportImage = {
      ...image,
      blobSource: (d) => (d === image.layers[1]!.digest ? Readable.from([Buffer.alloc(image.layers[1]!.size, 1)]) : image.blobSource(d)),
    };
    await expect(exportOciArchive(bad, out)).rejects.toMatchObject({ code: 'export/blob-mismatch' });
    expect(readdirSync(scratch.path).filter((n) => n.includes('bad.tar'))).toEqual([]);
    await expect(exportLocal(bad, path.join(scratch.path, 'bad-local'))).rejects.toMatchObject({ code: 'export/blob-mismatch' });
  });

  it('rejects malformed tags with export/bad-tag', () => {
    expect(parseTag('app')).toEqual({ ref: 'app:latest', name: 'app', tag: 'latest' });
    expect(parseTag('reg.example:5000/team/app:1.0')).toEqual({ ref: 'reg.example:5000/team/app:1.0', name: 'reg.example:5000/team/app', tag: '1.0' });
    expect(() => parseTag('App:1')).toThrow(expect.objectContaining({ code: 'export/bad-tag' }));
    expect(() => parseTag('app@sha256:abc')).toThrow(expect.objectContaining({ code: 'export/bad-tag' }));
    expect(() => parseTag('app:')).toThrow(expect.objectContaining({ code: 'export/bad-tag' }));
  });
});
