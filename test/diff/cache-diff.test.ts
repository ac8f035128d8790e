import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../cache/index.ts';
import { diffCaches, renderCacheDiff } from '../../diff/index.ts';
import { tempDir, tsbuildCli } from '../helpers/env.ts';

async function storeWith(root: string, keys: Record<string, string>) {
  const store = await openStore(root);
  for (const [key, content] of Object.entries(keys)) {
    const digest = await store.blobs.putBytes(content);
    await store.cacheIndex.put(key, { layers: [{ digest, diffId: digest, size: content.length, mediaType: 'application/vnd.oci.image.layer.v1.tar' }], createdAt: '2026-01-01T00:00:00.000Z' });
  }
  await store.records.write({
    startedAt: '2026-01-01T00:00:00.000Z',
    steps: Object.keys(keys).map((k, i) => ({ id: `s${i}`, description: `RUN step ${k}`, kind: 'exec', cacheKey: k, cached: false })),
    status: 'success',
  });
  return store;
}

describe('diff --caches', () => {
  it('lists the keys each store has that the other lacks, named by the step that made them', async () => {
    const dir = await tempDir();
    const a = await storeWith(path.join(dir, 'a'), { 'sha256:k1': 'one', 'sha256:k2': 'two!' });
    const b = await storeWith(path.join(dir, 'b'), { 'sha256:k2': 'two!', 'sha256:k3': 'three' });
    const d = await diffCaches(a, b);
    expect(d.shared).toBe(1);
    expect(d.onlyInA.map((e) => [e.key, e.step, e.size])).toEqual([['sha256:k1', 'RUN step sha256:k1', 3]]);
    expect(d.onlyInB.map((e) => [e.key, e.step, e.size])).toEqual([['sha256:k3', 'RUN step sha256:k3', 5]]);
    expect(renderCacheDiff(d)).toContain('only in A: 1');
    const cli = await tsbuildCli(['diff', '--caches', '--format', 'json', path.join(dir, 'a'), path.join(dir, 'b')]);
    expect(cli.code).toBe(0);
    expect((JSON.parse(cli.stdout) as { onlyInB: { key: string }[] }).onlyInB.map((e) => e.key)).toEqual(['sha256:k3']);
  });
});

describe('diff/analyze/builds usage errors', () => {
  it('exit 2 with a clear message', async () => {
    const dir = await tempDir();
    const env = { TSBUILD_ROOT: path.join(dir, 'store') };
    const cases: Array<[string[], RegExp]> = [
      [['diff', 'only-one'], /requires exactly 2 images/],
      [['diff', '--format', 'yaml', 'a', 'b'], /invalid --format "yaml"/],
      [['diff', '--layer', 'x', 'a', 'b'], /invalid --layer "x"/],
      [['diff', '--semantik', 'a', 'b'], /unknown flag: --semantik[\s\S]*--semantic/],
      [['analyze'], /requires exactly 1 image/],
      [['builds', 'frobnicate'], /unknown "tsbuild builds" subcommand/],
    ];
    for (const [args, re] of cases) {
      const r = await tsbuildCli(args, { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
    const missing = await tsbuildCli(['diff', 'nope:1', 'nope:2'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope/);
    const none = await tsbuildCli(['diff', '--builds'], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no build records/);
  });
});
