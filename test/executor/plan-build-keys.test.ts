/**
 * `tsbuild plan` computes the same cache keys a build computes (context digests at the edge, bases from the store):
 * the keys a build record holds for every step equal those `plan --format json` prints for the same inputs.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tsbuildCli } from '../helpers/cli.ts';
import { storeBaseImage } from '../helpers/bases.ts';
import { requireRoot } from '../helpers/env.ts';
import { openStore } from '../../cache/index.ts';

describe('plan keys = build keys', () => {
  it('matches step by step, and both move together when a COPY source changes', async () => {
    requireRoot('building with runc', ['runc']);
    const root = await mkdtemp(path.join(tmpdir(), 'tsb-plankeys-'));
    try {
      const store = path.join(root, 'store');
      const ctx = path.join(root, 'ctx');
      await storeBaseImage('busybox', store);
      await import('node:fs/promises').then((fs) => fs.mkdir(ctx));
      await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nARG V=1\nCOPY a.txt /a.txt\nRUN cat /a.txt && echo $V\n');
      await writeFile(path.join(ctx, 'a.txt'), 'one\n');
      const env = { TSBUILD_ROOT: store };

      const keysOf = async (extra: string[] = []): Promise<{ plan: string[]; build: string[] }> => {
        const b = await tsbuildCli(['build', '--progress', 'plain', ...extra, ctx], { env });
        expect(b.code, b.stderr).toBe(0);
        const p = await tsbuildCli(['plan', '--format', 'json', ...extra, ctx], { env });
        expect(p.code, p.stderr).toBe(0);
        const plan = JSON.parse(p.stdout) as { steps: Array<{ id: string; kind: string; key?: string }> };
        const records = await (await openStore(store)).records.list();
        const last = records[records.length - 1]!;
        const build = last.steps.filter((s) => s.kind !== 'source').map((s) => `${s.id}=${s.cacheKey}`);
        return { plan: plan.steps.filter((s) => s.kind !== 'source').map((s) => `${s.id}=${s.key}`), build };
      };

      const first = await keysOf();
      expect(first.plan.length).toBe(2);
      expect(first.plan).toEqual(first.build);
      await writeFile(path.join(ctx, 'a.txt'), 'two\n');
      const second = await keysOf();
      expect(second.plan).toEqual(second.build);
      expect(second.plan).not.toEqual(first.plan);

      // COPY --link (keyed without the stage below it) and SOURCE_DATE_EPOCH (part of every layer step's key) are the
      // compiler's business too, so plan and build still agree.
      await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo x > /x\nCOPY --link a.txt /a.txt\n');
      const linked = await keysOf();
      expect(linked.plan).toEqual(linked.build);
      const epoch = await keysOf(['--build-arg', 'SOURCE_DATE_EPOCH=1700000000']);
      expect(epoch.plan).toEqual(epoch.build);
      expect(epoch.plan).not.toEqual(linked.plan);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
