/**
 * The copy snapshotter (for hosts without overlayfs): each step gets full copies of its parent, and what the step
 * changed is found by diffing the copies. It must make exactly the layers overlayfs makes: adds, changes in place,
 * deletions (whiteouts), a directory replaced by a file, hard links, symlinks, mode and setuid changes, COPY.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsbuildCli } from '../helpers/cli.ts';
import { storeBaseImage } from '../helpers/bases.ts';
import { requireRoot } from '../helpers/env.ts';

const DOCKERFILE = `FROM busybox
RUN mkdir -p /d/e && echo hi > /d/e/f && ln /d/e/f /d/hard && ln -s /d/e/f /d/sym && chmod 700 /d/e
RUN rm /d/e/f && echo changed > /d/hard && rm -rf /d/e && touch /d/e && chmod 4755 /bin/busybox && rm /bin/true
COPY a.txt /d/a.txt
RUN cat /d/a.txt > /copied && rm /d/sym && mkdir /bin/true && echo x > /bin/true/y
CMD ["cat", "/copied", "/d/hard"]
`;

describe('--snapshotter copy', () => {
  it('makes the same layers as overlayfs, bit for bit, and the image runs', async () => {
    requireRoot('building with runc', ['runc', 'tar']);
    const root = await mkdtemp(path.join(tmpdir(), 'tsb-snapshotter-'));
    try {
      const ctx = path.join(root, 'ctx');
      await mkdir(ctx);
      await writeFile(path.join(ctx, 'Dockerfile'), DOCKERFILE);
      await writeFile(path.join(ctx, 'a.txt'), 'from the context\n');
      const layersBy = async (snapshotter: string): Promise<{ layers: string[]; store: string }> => {
        const store = path.join(root, `store-${snapshotter}`);
        await storeBaseImage('busybox', store);
        const env = { TSBUILD_ROOT: store };
        const b = await tsbuildCli(['build', '--snapshotter', snapshotter, '--source-date-epoch', '1700000000', '--progress', 'plain', '-t', 'snap', ctx], { env });
        expect(b.code, b.stderr).toBe(0);
        const i = await tsbuildCli(['inspect', 'snap'], { env });
        const [img] = JSON.parse(i.stdout) as Array<{ RootFS: { Layers: string[] } }>;
        return { layers: img!.RootFS.Layers, store };
      };
      const overlay = await layersBy('overlay');
      const copy = await layersBy('copy');
      expect(copy.layers).toHaveLength(5);
      expect(copy.layers).toEqual(overlay.layers);

      const run = await tsbuildCli(['run', '--rm', 'snap'], { env: { TSBUILD_ROOT: copy.store } });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('from the context\nchanged\n');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('an unknown snapshotter is a usage error', async () => {
    const r = await tsbuildCli(['build', '--snapshotter', 'zfs', '.']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --snapshotter "zfs"/);
  });
});
