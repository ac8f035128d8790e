/**
 * Interoperability with skopeo and builds: images built by tsbuild are pushed (`push`, `build --push`) and read by
 * `skopeo inspect`; what skopeo pushes (Docker v2 schema 2 conversion) tsbuild pulls with the same digest; FROM
 * pulls a base the store lacks; an OCI index picks the manifest for the requested platform.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStore } from '../../cache/store.ts';
import { canonicalJson } from '../../util/digest.ts';
import { RegistryClient } from '../../registry/client.ts';
import { pullImage } from '../../registry/pull.ts';
import { pushImage } from '../../registry/push.ts';
import { storeBaseImage } from '../helpers/bases.ts';
import { requireRoot } from '../helpers/env.ts';
import { tsbuildCli } from '../helpers/cli.ts';
import { putRandomImage, requireTools, startRegistry, tempStore, type RunningRegistry, type TempStore } from './helpers.ts';

const run = promisify(execFile);
const noConfig = { mirrors: [], insecure: [], caCerts: {} };
let reg: RunningRegistry;
let dir: string;
const stores: TempStore[] = [];
const client = (): RegistryClient => new RegistryClient({ config: noConfig, credentials: { get: async () => undefined } });

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', args, { maxBuffer: 64 << 20 });
  return stdout;
}

beforeAll(async () => {
  requireTools(['skopeo', 'docker-registry']);
  reg = await startRegistry();
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-reg-interop-'));
});
afterAll(async () => {
  await reg?.stop();
  for (const s of stores) await s.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tsbuild-built images and skopeo', () => {
  test('push a built base, build FROM it in a fresh store (pulled), build --push, skopeo reads it, skopeo-pushed v2s2 pulls back', async () => {
    requireRoot('building images');
    const base = await storeBaseImage('busybox');
    const baseRef = `${reg.host}/interop/busybox:1`;
    expect((await tsbuildCli(['tag', base, baseRef])).code).toBe(0);
    const push = await tsbuildCli(['push', baseRef]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)![1]!;
    const inspected = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${baseRef}`)) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(pushedDigest);

    // A fresh store: FROM must pull the base, then --push sends the result.
    const root = await mkdtemp(path.join(dir, 'store-'));
    const ctx = await mkdtemp(path.join(dir, 'ctx-'));
    await writeFile(path.join(ctx, 'Dockerfile'), `FROM ${baseRef}\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n`);
    await writeFile(path.join(ctx, 'hello.txt'), 'hello from tsbuild\n');
    const appRef = `${reg.host}/interop/app:1`;
    const built = await tsbuildCli(['build', '--progress', 'plain', '--push', '-t', appRef, ctx], { env: { TSBUILD_ROOT: root }, timeoutMs: 180_000 });
    expect(built.stderr).toContain(`pushing ${appRef}`);
    expect(built.code).toBe(0);
    const store = await openStore(root);
    expect((await store.getImage(baseRef)).manifestDigest).toBe(pushedDigest);
    const app = await store.getImage(appRef);
    const appInspect = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${appRef}`)) as { Digest: string; Layers: string[] };
    expect(appInspect.Digest).toBe(app.manifestDigest);
    expect(appInspect.Layers).toEqual(app.manifest.layers.map((l) => l.digest));

    // skopeo copies the app to another repository converting to Docker v2 schema 2; tsbuild pulls that.
    const v2s2 = `${reg.host}/interop/app-v2s2:1`;
    await skopeo('copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--format', 'v2s2', `docker://${appRef}`, `docker://${v2s2}`);
    const skopeoDigest = (JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${v2s2}`)) as { Digest: string }).Digest;
    const fresh = await tempStore();
    stores.push(fresh);
    const c = client();
    const pulled = await pullImage(fresh.store, v2s2, { client: c });
    await c.close();
    expect(pulled.manifestDigest).toBe(skopeoDigest);
    const got = await fresh.store.getImage(v2s2);
    expect(got.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    // Byte for byte: re-hashing the stored manifest gives the registry's digest.
    expect((await fresh.store.blobs.readBytes(pulled.manifestDigest)).length).toBeGreaterThan(0);

    // And a build FROM the v2s2 image runs its layers (docker media types) through the layer code.
    const ctx2 = await mkdtemp(path.join(dir, 'ctx-'));
    await writeFile(path.join(ctx2, 'Dockerfile'), `FROM ${v2s2}\nCOPY more.txt /more.txt\n`);
    await writeFile(path.join(ctx2, 'more.txt'), 'more\n');
    const built2 = await tsbuildCli(['build', '--progress', 'plain', '-t', 'interop-v2s2-child', ctx2], { env: { TSBUILD_ROOT: fresh.root }, timeoutMs: 180_000 });
    expect(built2.stderr).not.toContain('error');
    expect(built2.code).toBe(0);
  });

  test('a base missing from the registry fails the build at the FROM line', async () => {
    const root = await mkdtemp(path.join(dir, 'store-'));
    const ctx = await mkdtemp(path.join(dir, 'ctx-'));
    await writeFile(path.join(ctx, 'Dockerfile'), `FROM ${reg.host}/interop/absent:1\nCOPY x /x\n`);
    const r = await tsbuildCli(['build', '--progress', 'plain', ctx], { env: { TSBUILD_ROOT: root } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Dockerfile:1:`);
    expect(r.stderr).toContain(`pull access denied for ${reg.host}/interop/absent: repository does not exist or may require 'tsbuild login'`);
  });
});

describe('platform selection', () => {
  test('an OCI index yields the manifest of the requested platform', async () => {
    const src = await tempStore();
    stores.push(src);
    const c = client();
    const repo = `${reg.host}/interop/multi`;
    const amd = await putRandomImage(src.store, `${repo}:amd64`, [1000]);
    const armImg = await putRandomImage(src.store, `${repo}:arm64-tmp`, [1000]);
    // Rewrite the second image's config as arm64/v8 (a new config and manifest).
    const armCfg = await src.store.getImage(armImg.manifestDigest);
    const arm = await src.store.putImage({ config: { ...armCfg.config, architecture: 'arm64', variant: 'v8' } as typeof armCfg.config, layers: armCfg.manifest.layers });
    await src.store.tagImage(`${repo}:arm64`, arm.manifestDigest);
    await pushImage(src.store, `${repo}:amd64`, { client: c });
    await pushImage(src.store, `${repo}:arm64`, { client: c });
    const size = async (d: string) => (await src.store.blobs.readBytes(d as never)).length;
    const index = canonicalJson({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd.manifestDigest, size: await size(amd.manifestDigest), platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.manifestDigest, size: await size(arm.manifestDigest), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    });
    const ep = await c.endpoint(reg.host);
    const put = await c.send(ep, { method: 'PUT', path: '/v2/interop/multi/manifests/latest', scopes: [], headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: () => index });
    await put.body.dump();
    expect(put.status).toBe(201);

    const a = await tempStore();
    const b = await tempStore();
    stores.push(a, b);
    const pa = await pullImage(a.store, repo, { client: c, platform: { os: 'linux', architecture: 'amd64' } });
    const pb = await pullImage(b.store, repo, { client: c, platform: { os: 'linux', architecture: 'arm64' } });
    expect(pa.manifestDigest).toBe(amd.manifestDigest);
    expect(pb.manifestDigest).toBe(arm.manifestDigest);
    expect(pa.indexDigest).toBe(pb.indexDigest);
    await expect(pullImage(a.store, repo, { client: c, platform: { os: 'linux', architecture: 's390x' } })).rejects.toMatchObject({
      code: 'registry/no-matching-platform',
      message: expect.stringContaining('available: linux/amd64, linux/arm64/v8'),
    });
    await c.close();
  });
});
