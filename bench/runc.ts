/**
 * Sandbox start latency: N sequential tiny runs (`true`) in the busybox fixture, as 30 tiny RUN steps would be.
 *
 *   npm exec -- node bench/runc.ts [N]        (root; default N=30)
 *
 * Prints ms per run for:
 *  - raw:     `runc run` of a minimal prepared bundle (no mounts beyond runc's own /proc, /dev), spawned directly;
 *             the floor set by runc itself.
 *  - sandbox: `createSandbox().run()` on a mounted overlay (bundle + config + resolv.conf/hosts + stub tracking +
 *             cleanup), the overlay mounted once.
 *  - step:    overlay mount + sandbox run + unmount per run, i.e. what one RUN step costs before layer writing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSandbox } from '../executor/sandbox/index.ts';
import { mountOverlay } from '../executor/snapshot/index.ts';
import { busyboxRootfs } from '../test/helpers/rootfs.ts';

const N = Number(process.argv[2] ?? 30);
const base = await busyboxRootfs();
const work = mkdtempSync(path.join(os.tmpdir(), 'tsb-bench-runc-'));

function spawnWait(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: 'ignore' });
    p.on('error', reject);
    p.on('close', (c) => resolve(c ?? -1));
  });
}

async function time(label: string, fn: (i: number) => Promise<void>): Promise<number> {
  await fn(-1); // warm-up (page cache, runc binary)
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await fn(i);
  const per = (performance.now() - t0) / N;
  console.log(`${label.padEnd(8)} ${per.toFixed(1)} ms/run (N=${N})`);
  return per;
}

try {
  // raw runc
  const bundle = path.join(work, 'bundle');
  const state = path.join(work, 'state');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(bundle);
  writeFileSync(
    path.join(bundle, 'config.json'),
    JSON.stringify({
      ociVersion: '1.0.2',
      process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/true'], env: ['PATH=/bin'], cwd: '/' },
      root: { path: base, readonly: true },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      ],
      linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }] },
    }),
  );
  await time('raw', async (i) => {
    const code = await spawnWait('runc', ['--root', state, 'run', '--bundle', bundle, `bench-${process.pid}-${i + 1}`]);
    if (code !== 0) throw new Error(`runc exited ${code}`);
  });

  const sandbox = createSandbox({ stateRoot: path.join(work, 'sb') });
  const spec = (rootfs: string) => ({
    rootfs,
    argv: ['/bin/true'],
    env: [],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    mounts: [],
    network: 'none' as const,
  });
  const m = await mountOverlay({ lowerDirs: [base], upperDir: `${work}/u`, workDir: `${work}/w`, target: `${work}/m` });
  try {
    await time('sandbox', async () => {
      const r = await sandbox.run(spec(m.target), {});
      if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}`);
    });
  } finally {
    await m.unmount();
  }

  await time('step', async (i) => {
    const d = path.join(work, `step-${i + 1}`);
    const s = await mountOverlay({ lowerDirs: [base], upperDir: `${d}/u`, workDir: `${d}/w`, target: `${d}/m` });
    try {
      const r = await sandbox.run(spec(s.target), {});
      if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}`);
    } finally {
      await s.unmount();
    }
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
