/**
 * Reproducible builds: the same Dockerfile and context built into two fresh stores.
 *
 * With SOURCE_DATE_EPOCH the whole image (manifest digest) must be identical and every layer timestamp clamped.
 * Without it, BuildKit guarantees only what does not depend on the clock: COPY layers carry the context files'
 * own mtimes, so they match; layers of RUN steps hold files with the time they were written, and the config holds
 * the build time.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/env.ts';
import { busyboxRootfsDir } from '../helpers/bases.ts';
import { imageBlobs, inspect, makeRig, readTar, type Rig } from './helpers.ts';

const EPOCH = 1_700_000_000;
let a: Rig;
let b: Rig;
let dockerfile: string;
let context: string;
beforeAll(async () => {
  // No pre-built base: the base is part of what must be reproducible, so the Dockerfile builds it from the
  // busybox example's root filesystem (the same files, with the same mtimes, for both stores).
  [a, b] = await Promise.all([makeRig({ base: false }), makeRig({ base: false })]);
  await busyboxRootfsDir();
  context = path.join(repoRoot, 'examples/busybox');
  const ctx = await a.context({
    'repro.Dockerfile': [
      'FROM scratch',
      'COPY rootfs/ /',
      'ENV GREETING=reproducible',
      'WORKDIR /app',
      'RUN echo "$GREETING" > /app/greeting && mkdir -p /app/data && touch /app/data/empty',
      'CMD ["cat", "/app/greeting"]',
      '',
    ].join('\n'),
  });
  dockerfile = path.join(ctx, 'repro.Dockerfile');
});
afterAll(async () => {
  await a?.cleanup();
  await b?.cleanup();
});

const build = (rig: Rig, tag: string, env: Record<string, string | undefined>) =>
  rig.ok(['build', '--progress', 'plain', '-t', tag, '-f', dockerfile, context], { env });

describe('reproducibility', () => {
  it('SOURCE_DATE_EPOCH=1700000000 in two fresh stores gives the same image digest, with clamped timestamps', async () => {
    await build(a, 'repro:sde', { SOURCE_DATE_EPOCH: String(EPOCH) });
    // A second apart at least, so that unclamped times would differ.
    await new Promise((r) => setTimeout(r, 1100));
    await build(b, 'repro:sde', { SOURCE_DATE_EPOCH: String(EPOCH) });
    const ia = await inspect(a, 'repro:sde');
    const ib = await inspect(b, 'repro:sde');
    expect(ia.Descriptor.digest).toBe(ib.Descriptor.digest);
    expect(ia.Id).toBe(ib.Id);
    const { config, manifest } = await imageBlobs(a, 'repro:sde');
    expect(config.created).toBe('2023-11-14T22:13:20Z');
    for (const h of config.history) expect(h.created).toBe('2023-11-14T22:13:20Z');
    // Every entry of every layer has an mtime at or before the epoch (files made by RUN included).
    for (const l of manifest.layers) {
      const entries = await readTar(path.join(a.store, 'blobs', l.digest.replace(':', '/')));
      for (const [name, e] of entries) expect(e.mtime, name).toBeLessThanOrEqual(EPOCH);
    }
    const runLayer = await readTar(path.join(a.store, 'blobs', manifest.layers.at(-1)!.digest.replace(':', '/')));
    expect(runLayer.get('app/greeting')?.mtime).toBe(EPOCH);
  });

  it('without SOURCE_DATE_EPOCH the COPY layer is still identical across stores; RUN layers carry real times', async () => {
    await build(a, 'repro:plain', { SOURCE_DATE_EPOCH: undefined });
    await new Promise((r) => setTimeout(r, 1100));
    await build(b, 'repro:plain', { SOURCE_DATE_EPOCH: undefined });
    const ma = (await imageBlobs(a, 'repro:plain')).manifest;
    const mb = (await imageBlobs(b, 'repro:plain')).manifest;
    expect(ma.layers).toHaveLength(3); // COPY rootfs, WORKDIR /app, RUN
    expect(ma.layers[0]!.digest).toBe(mb.layers[0]!.digest);
    // The RUN's files carry the time they were written: after the build started, not the epoch.
    const run = await readTar(path.join(a.store, 'blobs', ma.layers[2]!.digest.replace(':', '/')));
    const mtime = run.get('app/greeting')?.mtime ?? 0;
    expect(mtime).toBeGreaterThan(EPOCH);
    expect(Math.abs(mtime - Date.now() / 1000)).toBeLessThan(600);
    // Reported, not asserted (BuildKit makes no promise): whether the clock-dependent layers happened to match.
    // The clock-dependent layers are cached under keys of their own: building with the epoch again (in a store that
    // now also holds unclamped layers of the same steps) gives the reproducible image back, not a mix.
    const again = await build(a, 'repro:sde-again', { SOURCE_DATE_EPOCH: String(EPOCH) });
    expect((await inspect(a, 'repro:sde-again')).Descriptor.digest).toBe((await inspect(b, 'repro:sde')).Descriptor.digest);
    expect(again.stderr).toMatch(/\(0 run, \d+ cached\)/);
    console.info(
      `reproducibility without SOURCE_DATE_EPOCH: WORKDIR layer ${ma.layers[1]!.digest === mb.layers[1]!.digest ? 'same' : 'differs'}, ` +
        `RUN layer ${ma.layers[2]!.digest === mb.layers[2]!.digest ? 'same' : 'differs'}, ` +
        `image ${(await inspect(a, 'repro:plain')).Id === (await inspect(b, 'repro:plain')).Id ? 'same' : 'differs'}`,
    );
  });
});
