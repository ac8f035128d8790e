/**
 * Overlay mounts (real overlayfs, needs root) and the copy fallback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  MAX_OVERLAY_LOWERS,
  isMounted,
  mountOverlay,
  onExit,
  overlaySupported,
  pendingExitCleanups,
  prepareCopySnapshot,
  prepareSnapshot,
  runExitCleanups,
  unmountPath,
} from '../../../executor/snapshot/index.ts';
import { assertCanRunContainers } from '../../helpers/rootfs.ts';

const dirs: string[] = [];
function tmp(prefix = 'tsb-snap-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  await assertCanRunContainers();
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function layer(root: string, name: string, files: Record<string, string>): string {
  const d = path.join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
    writeFileSync(path.join(d, f), content);
  }
  return d;
}

describe('overlay snapshots', () => {
  it('detects overlay support', async () => {
    expect(await overlaySupported()).toBe(true);
  });

  it('stacks layers top first, writes go to the upperdir, unmount leaves nothing mounted', async () => {
    const d = tmp();
    const base = layer(d, 'base', { 'a.txt': 'base a', 'b.txt': 'base b' });
    const top = layer(d, 'top', { 'a.txt': 'top a' });
    const m = await mountOverlay({ lowerDirs: [top, base], upperDir: `${d}/u`, workDir: `${d}/w`, target: `${d}/m` });
    expect(await isMounted(m.target)).toBe(true);
    expect(readFileSync(`${d}/m/a.txt`, 'utf8')).toBe('top a');
    expect(readFileSync(`${d}/m/b.txt`, 'utf8')).toBe('base b');
    writeFileSync(`${d}/m/new.txt`, 'new');
    rmSync(`${d}/m/b.txt`);
    await m.unmount();
    await m.unmount(); // idempotent
    expect(await isMounted(m.target)).toBe(false);
    expect(readdirSync(`${d}/u`).sort()).toEqual(['b.txt', 'new.txt']);
    // A deleted lower file becomes an overlay whiteout (char device 0/0) in the upperdir.
    const wh = lstatSync(`${d}/u/b.txt`);
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(readFileSync(`${base}/b.txt`, 'utf8')).toBe('base b');
  });

  it(`mounts ${MAX_OVERLAY_LOWERS} layers with long paths (short-path trick) and refuses more`, async () => {
    const d = tmp('tsb-snap-a-deliberately-long-directory-name-to-overflow-the-mount-option-page-');
    const lowers: string[] = [];
    for (let i = 0; i < MAX_OVERLAY_LOWERS; i++) lowers.unshift(layer(d, `layer-number-${i}-with-padding-padding-padding`, { [`f${i}`]: String(i) }));
    expect(lowers.join(':').length).toBeGreaterThan(4096 * 8);
    const m = await mountOverlay({ lowerDirs: lowers, upperDir: `${d}/u`, workDir: `${d}/w`, target: `${d}/m` });
    try {
      expect(readdirSync(m.target).length).toBe(MAX_OVERLAY_LOWERS);
      expect(readFileSync(`${m.target}/f0`, 'utf8')).toBe('0');
      expect(readFileSync(`${m.target}/f499`, 'utf8')).toBe('499');
    } finally {
      await m.unmount();
    }
    await expect(
      mountOverlay({ lowerDirs: [...lowers, lowers[0]!], upperDir: `${d}/u2`, workDir: `${d}/w2`, target: `${d}/m2` }),
    ).rejects.toMatchObject({ code: 'snapshot/too-many-layers' });
  }, 120_000);

  it('handles paths with commas and colons', async () => {
    const d = tmp('tsb-snap-odd,name:');
    const l = layer(d, 'l,1:x', { f: 'x' });
    const m = await mountOverlay({ lowerDirs: [l], upperDir: `${d}/u,p`, workDir: `${d}/w:k`, target: `${d}/m` });
    expect(readFileSync(`${d}/m/f`, 'utf8')).toBe('x');
    await m.unmount();
  });

  it('a failed mount is a snapshot/mount-failed error', async () => {
    const d = tmp();
    await expect(mountOverlay({ lowerDirs: [`${d}/does-not-exist`], upperDir: `${d}/u`, workDir: `${d}/w`, target: `${d}/m` })).rejects.toMatchObject({
      code: 'snapshot/mount-failed',
    });
  });

  it('unmounts a busy mount lazily', async () => {
    const d = tmp();
    const l = layer(d, 'l', { f: 'x' });
    const m = await mountOverlay({ lowerDirs: [l], upperDir: `${d}/u`, workDir: `${d}/w`, target: `${d}/m` });
    // A process with its cwd inside keeps the mount busy.
    const busy = execFileSync('sh', ['-c', `cd ${d}/m && (sleep 5 >/dev/null 2>&1 &) ; echo started`]).toString();
    expect(busy.trim()).toBe('started');
    await unmountPath(m.target);
    expect(await isMounted(m.target)).toBe(false);
    await m.unmount();
  });

  it('exit cleanups unmount what is still mounted (Ctrl-C path)', async () => {
    const d = tmp();
    const l = layer(d, 'l', { f: 'x' });
    const before = pendingExitCleanups();
    let order: string[] = [];
    onExit(() => void order.push('first-registered'));
    const m = await mountOverlay({ lowerDirs: [l], upperDir: `${d}/u`, workDir: `${d}/w`, target: `${d}/m` });
    onExit(() => void order.push('last-registered'));
    expect(pendingExitCleanups()).toBe(before + 3);
    await runExitCleanups();
    expect(await isMounted(m.target)).toBe(false);
    expect(order).toEqual(['last-registered', 'first-registered']);
    expect(pendingExitCleanups()).toBe(0);
    order = [];
  });

  it('SIGTERM in a child process unmounts before dying', async () => {
    const d = tmp();
    const l = layer(d, 'l', { f: 'x' });
    const script = path.join(d, 'child.mts');
    const mod = path.resolve(import.meta.dirname, '../../../executor/snapshot/index.ts');
    writeFileSync(
      script,
      `import { mountOverlay } from ${JSON.stringify(mod)};
       await mountOverlay({ lowerDirs: [${JSON.stringify(l)}], upperDir: ${JSON.stringify(`${d}/u`)}, workDir: ${JSON.stringify(`${d}/w`)}, target: ${JSON.stringify(`${d}/m`)} });
       console.log('mounted');
       setInterval(() => {}, 1000);`,
    );
    const node = path.resolve(import.meta.dirname, '../../../node_modules/node/bin/node');
    const { spawn } = await import('node:child_process');
    const child = spawn(node, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => b.toString().includes('mounted') && resolve()));
    expect(await isMounted(`${d}/m`)).toBe(true);
    child.kill('SIGTERM');
    const sig = await new Promise((resolve) => child.on('exit', (_c, s) => resolve(s)));
    expect(sig).toBe('SIGTERM');
    expect(await isMounted(`${d}/m`)).toBe(false);
  });

  it('prepareSnapshot with no layers (scratch) gives an empty writable root', async () => {
    const d = tmp();
    const s = await prepareSnapshot({ lowerDirs: [], upperDir: `${d}/u`, workDir: `${d}/w`, target: `${d}/m` });
    expect(s.kind).toBe('overlay');
    expect(readdirSync(s.target)).toEqual([]);
    writeFileSync(`${s.target}/x`, '1');
    await s.release();
    expect(readdirSync(`${d}/u`)).toEqual(['x']);
    // the empty lower layer lives in the snapshot's own directory, not in the temp dir where nobody removes it
    expect(readdirSync(d).sort()).toEqual(['empty-lower', 'm', 'u', 'w']);
    expect(readdirSync(`${d}/empty-lower`)).toEqual([]);
    expect(readdirSync(os.tmpdir()).filter((n) => n.startsWith('tsb-empty-lower-'))).toEqual([]);
  });
});

describe('copy snapshots (fallback)', () => {
  it('copies layers base first and applies both whiteout forms and opaque markers', async () => {
    const d = tmp();
    const base = layer(d, 'base', { 'keep.txt': 'k', 'gone.txt': 'g', 'dir/a': 'a', 'opq/old': 'o', 'over.txt': 'base' });
    symlinkSync('keep.txt', `${base}/link`);
    const top = layer(d, 'top', { 'over.txt': 'top', 'opq/.wh..wh..opq': '', 'opq/new': 'n', '.wh.gone.txt': '' });
    // Overlay-style whiteout for dir/: a char device 0/0.
    execFileSync('mknod', [`${top}/dir`, 'c', '0', '0']);
    const s = await prepareCopySnapshot({ lowerDirs: [top, base], target: `${d}/out` });
    expect(readdirSync(s.target).sort()).toEqual(['keep.txt', 'link', 'opq', 'over.txt']);
    expect(readFileSync(`${s.target}/over.txt`, 'utf8')).toBe('top');
    expect(readdirSync(`${s.target}/opq`)).toEqual(['new']);
    expect(readlinkSync(`${s.target}/link`)).toBe('keep.txt');
    await s.dispose();
    expect(existsSync(s.target)).toBe(false);
  });

  it('never writes through a lower symlink that an upper layer replaces with a directory', async () => {
    const d = tmp();
    const victim = tmp('tsb-victim-');
    writeFileSync(`${victim}/precious`, 'p');
    const base = layer(d, 'base', {});
    symlinkSync(victim, `${base}/etc`);
    const top = layer(d, 'top', { 'etc/.wh.precious': '', 'etc/new': 'n' });
    const s = await prepareCopySnapshot({ lowerDirs: [top, base], target: `${d}/out` });
    expect(lstatSync(`${s.target}/etc`).isDirectory()).toBe(true);
    expect(readdirSync(`${s.target}/etc`)).toEqual(['new']);
    expect(readdirSync(victim)).toEqual(['precious']);
  });

  it('prepareSnapshot can be forced to copy', async () => {
    const d = tmp();
    const base = layer(d, 'base', { f: '1' });
    const s = await prepareSnapshot({ lowerDirs: [base], upperDir: `${d}/u`, workDir: `${d}/w`, target: `${d}/m`, forceCopy: true });
    expect(s.kind).toBe('copy');
    expect(s.upperDir).toBeUndefined();
    expect(readFileSync(`${s.target}/f`, 'utf8')).toBe('1');
    await s.release();
  });
});
