/**
 * Ctrl-C and concurrent builds: SIGINT during a long RUN stops the build promptly and leaves nothing behind (no runc
 * container, no bundle, no mount, no process), and the next build works; two builds on one store at once both
 * succeed and leave a consistent store.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlesMentioning, makeRig, ranSteps, runcContainers, spawnCli, step, storeMounts, waitFor, type Rig } from './helpers.ts';

let rig: Rig;
beforeAll(async () => {
  rig = await makeRig();
});
afterAll(() => rig?.cleanup());

/** Pids of processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

describe('Ctrl-C', () => {
  it('SIGINT during RUN sleep 30 exits within 5 s, non-zero, leaving no container, mount or process; the next build succeeds', async () => {
    const marker = `it-interrupt-${randomBytes(6).toString('hex')}`;
    // The first run leaves a flag in a cache mount and sleeps; once interrupted, the rerun finds the flag and is quick.
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        'RUN echo before-the-sleep > /before',
        `RUN --mount=type=cache,target=/flag,id=${marker} if [ -e /flag/once ]; then echo resumed-${marker}; else touch /flag/once; sleep 30; echo slept-${marker}; fi`,
        '',
      ].join('\n'),
    });
    const bg = spawnCli(rig, ['build', '--progress', 'plain', '-t', 'interrupted', ctx]);
    const started = await waitFor(() => bundlesMentioning(marker).length > 0 && processesWith(`sleep 30; echo slept-${marker}`).length > 0, 30_000);
    if (!started) {
      bg.child.kill('SIGKILL');
      throw new Error(`the RUN never started:\n${bg.stderr()}`);
    }
    const bundles = bundlesMentioning(marker);
    // Let the sleep run a moment, as a user would press Ctrl-C.
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    bg.child.kill('SIGINT');
    const code = await Promise.race([bg.exited, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
    const took = Date.now() - t0;
    if (code === -1) bg.child.kill('SIGKILL');
    expect(code, bg.stderr()).not.toBe(-1);
    expect(took).toBeLessThan(5000);
    expect(code).not.toBe(0);
    expect(code).toBe(130);
    expect(bg.stderr()).not.toMatch(new RegExp(`^#\\d+ [\\d.]+ slept-${marker}$`, 'm'));
    expect(bg.stderr()).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    // Nothing left: runc state, bundle directories, the container's processes, overlay mounts under the store.
    const live = runcContainers();
    for (const id of bundles) expect(live).not.toContain(id);
    expect(bundlesMentioning(marker)).toEqual([]);
    expect(processesWith(`sleep 30; echo slept-${marker}`)).toEqual([]);
    expect(storeMounts(rig)).toEqual([]);
    // The step's scratch directories (overlay upper/work, bundle views) were removed, not left in the store.
    expect(readdirSync(path.join(rig.store, 'ingest'))).toEqual([]);
    // No image was tagged.
    expect((await rig.cli(['inspect', 'interrupted'])).code).not.toBe(0);
    // The next build of the same Dockerfile works (the earlier step is cached, the interrupted one reruns).
    const next = await rig.ok(['build', '--progress', 'plain', '-t', 'interrupted', ctx]);
    expect(step(next.stderr, 'RUN echo before-the-sleep > /before').cached).toBe(true);
    expect(ranSteps(next.stderr)).toHaveLength(1);
    expect(next.stderr).toMatch(new RegExp(`^#\\d+ [\\d.]+ resumed-${marker}$`, 'm'));
    expect(storeMounts(rig)).toEqual([]);
    const fsck = await rig.cli(['fsck']);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });
});

describe('concurrent builds', () => {
  it('two tsbuild build processes on one store at once both succeed, agree, and leave fsck clean', async () => {
    const marker = `it-concurrent-${randomBytes(4).toString('hex')}`;
    const ctx = await rig.context({
      Dockerfile: `FROM busybox\nRUN sleep 1 && echo ${marker} > /m\nCOPY data.txt /data.txt\nRUN cat /m /data.txt > /both\n`,
      'data.txt': 'shared\n',
    });
    const one = spawnCli(rig, ['build', '--progress', 'plain', '-t', 'conc:one', ctx]);
    const two = spawnCli(rig, ['build', '--progress', 'plain', '-t', 'conc:two', ctx]);
    const [c1, c2] = await Promise.all([one.exited, two.exited]);
    expect(c1, one.stderr()).toBe(0);
    expect(c2, two.stderr()).toBe(0);
    const i1 = JSON.parse((await rig.ok(['inspect', 'conc:one'])).stdout) as { RootFS: { Layers: string[] } }[];
    const i2 = JSON.parse((await rig.ok(['inspect', 'conc:two'])).stdout) as { RootFS: { Layers: string[] } }[];
    expect(i1[0]!.RootFS.Layers).toEqual(i2[0]!.RootFS.Layers);
    // One process computed the first RUN; the other waited for it and reused it (a per-key lock).
    const printed = [one.stderr(), two.stderr()].join('\n').split('\n').filter((l) => /^#\d+ [\d.]+ /.test(l) && l.endsWith(marker));
    expect(printed.length).toBeLessThanOrEqual(1);
    const fsck = await rig.cli(['fsck']);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
    expect(storeMounts(rig)).toEqual([]);
    const run = await rig.ok(['run', '--rm', 'conc:two', 'cat', '/both']);
    expect(run.stdout).toBe(`${marker}\nshared\n`);
  });
});
