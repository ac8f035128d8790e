/**
 * Overlayfs snapshots: stack read-only layer directories under a fresh upperdir and mount the merged view.
 *
 * Mount options are limited to one page (4096 bytes) by mount(2), which long lowerdir lists exceed quickly
 * (~60 layers of 64-byte paths). The short-path trick: a private temp dir holds symlinks `0`, `1`, ... to each
 * lowerdir plus `u` and `w` for upper and work, `mount` runs with that dir as its cwd, and the option string only
 * holds relative names (`lowerdir=0:1:2,upperdir=u,workdir=w`); the kernel resolves them (following the symlinks)
 * at mount time, after which the links are removed. That also sidesteps escaping `:` and `,` in paths. The kernel's
 * own stacking limit is 500 lower layers (OVL_MAX_STACK); we check it up front.
 *
 * redirect_dir and metacopy are forced off so the upperdir is always a self-contained diff a layer writer can tar
 * (renamed directories are copied up whole; no metadata-only copy-ups).
 */
import { spawn } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TsbuildError } from '../../util/errors.ts';
import { onExit } from './on-exit.ts';

/** The kernel's maximum number of overlayfs lower layers (fs/overlayfs OVL_MAX_STACK). */
export const MAX_OVERLAY_LOWERS = 500;

/** A mounted snapshot. `unmount` is idempotent and never leaves the mount behind (lazy detach as a last resort). */
export interface MountedSnapshot {
  /** The merged directory (what a container sees as /). */
  readonly target: string;
  unmount(): Promise<void>;
}

/** Options for `mountOverlay`. All paths absolute or relative to the cwd; upper and work on the same filesystem. */
export interface OverlayOptions {
  /** Layer directories, top (newest) first. At least one. */
  readonly lowerDirs: readonly string[];
  /** Where changes go; becomes the layer diff. Created if missing. */
  readonly upperDir: string;
  /** Overlayfs scratch dir, empty, same filesystem as upperDir. Created if missing. */
  readonly workDir: string;
  /** Mountpoint; created if missing. */
  readonly target: string;
}

interface ExecResult {
  readonly code: number;
  readonly stderr: string;
}

function exec(cmd: string, args: readonly string[], cwd?: string): Promise<ExecResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', (e) => resolve({ code: -1, stderr: e.message }));
    p.on('close', (code) => resolve({ code: code ?? -1, stderr: stderr.trim() }));
  });
}

/** Whether `target` is currently a mountpoint (reads /proc/self/mountinfo; octal escapes decoded). */
export async function isMounted(target: string): Promise<boolean> {
  const abs = path.resolve(target);
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp === undefined) continue;
    const decoded = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === abs) return true;
  }
  return false;
}

/**
 * Unmounts `target`: a normal unmount first; if it is busy, a lazy detach (the mount disappears from the
 * namespace now and is freed when the last user goes). Succeeds when nothing is mounted there.
 */
export async function unmountPath(target: string): Promise<void> {
  const r = await exec('umount', [target]);
  if (r.code === 0) return;
  if (!(await isMounted(target))) return;
  const lazy = await exec('umount', ['-l', target]);
  if (lazy.code !== 0 && (await isMounted(target))) {
    throw new TsbuildError('snapshot/unmount-failed', `cannot unmount ${target}: ${lazy.stderr || r.stderr}`);
  }
}

function unmountSync(target: string): void {
  const r = spawnSync('umount', [target], { stdio: 'ignore' });
  if (r.status !== 0) spawnSync('umount', ['-l', target], { stdio: 'ignore' });
}

/** Longest option string passed as is (the kernel takes one page, 4096 bytes, with the terminating NUL). */
const DIRECT_OPTIONS_MAX = 4000;

/** Mounts an overlay of `lowerDirs` + `upperDir` at `target`. Throws `snapshot/mount-failed` with mount's message. */
export async function mountOverlay(opts: OverlayOptions): Promise<MountedSnapshot> {
  if (opts.lowerDirs.length === 0) throw new TsbuildError('snapshot/no-lowers', 'an overlay needs at least one lower directory');
  if (opts.lowerDirs.length > MAX_OVERLAY_LOWERS) {
    throw new TsbuildError('snapshot/too-many-layers', `${opts.lowerDirs.length} layers exceed overlayfs's limit of ${MAX_OVERLAY_LOWERS}`, {
      suggestion: 'squash some layers',
    });
  }
  const target = path.resolve(opts.target);
  await mkdir(opts.upperDir, { recursive: true, mode: 0o755 });
  await mkdir(opts.workDir, { recursive: true, mode: 0o700 });
  await mkdir(target, { recursive: true, mode: 0o755 });
  // Mount options must fit in one page. Absolute paths usually do; a long chain of layers goes through a directory
  // of short symlinks instead (the "short-path trick"), which costs a temp dir and a symlink per layer.
  const direct = `lowerdir=${opts.lowerDirs.map((d) => path.resolve(d)).join(':')},upperdir=${path.resolve(opts.upperDir)},workdir=${path.resolve(opts.workDir)},redirect_dir=off,metacopy=off,index=off`;
  if (direct.length <= DIRECT_OPTIONS_MAX && !/[,:\\]/.test(opts.lowerDirs.join('') + opts.upperDir + opts.workDir)) {
    const r = await exec('mount', ['-t', 'overlay', 'overlay', '-o', direct, target]);
    if (r.code !== 0) throw new TsbuildError('snapshot/mount-failed', `cannot mount overlay at ${target}: ${r.stderr}`);
    return trackMount(target);
  }
  const links = await mkdtemp(path.join(os.tmpdir(), 'tsb-ovl-'));
  try {
    const names: string[] = [];
    for (const [i, d] of opts.lowerDirs.entries()) {
      const name = String(i);
      await symlink(path.resolve(d), path.join(links, name));
      names.push(name);
    }
    await symlink(path.resolve(opts.upperDir), path.join(links, 'u'));
    await symlink(path.resolve(opts.workDir), path.join(links, 'w'));
    const options = `lowerdir=${names.join(':')},upperdir=u,workdir=w,redirect_dir=off,metacopy=off,index=off`;
    const r = await exec('mount', ['-t', 'overlay', 'overlay', '-o', options, target], links);
    if (r.code !== 0) {
      throw new TsbuildError('snapshot/mount-failed', `cannot mount overlay at ${target}: ${r.stderr}`);
    }
  } finally {
    await rm(links, { recursive: true, force: true });
  }
  return trackMount(target);
}

/** Wraps a mounted path with an idempotent unmount and an exit cleanup. */
export function trackMount(target: string): MountedSnapshot {
  let done: Promise<void> | undefined;
  const unregister = onExit(
    () => unmountPath(target),
    () => unmountSync(target),
  );
  return {
    target,
    unmount(): Promise<void> {
      done ??= unmountPath(target).then(unregister, (e: unknown) => {
        done = undefined;
        throw e;
      });
      return done;
    },
  };
}

let overlayProbe: Promise<boolean> | undefined;

/**
 * Whether overlayfs can be mounted here (root, kernel support, a filesystem that can hold an upperdir).
 * Probed once per process by mounting a tiny overlay under `probeDir` (default os.tmpdir()).
 */
export function overlaySupported(probeDir?: string): Promise<boolean> {
  overlayProbe ??= (async () => {
    let dir: string | undefined;
    try {
      dir = await mkdtemp(path.join(probeDir ?? os.tmpdir(), 'tsb-ovl-probe-'));
      for (const d of ['l', 'u', 'w', 'm']) await mkdir(path.join(dir, d));
      const m = await mountOverlay({ lowerDirs: [path.join(dir, 'l')], upperDir: path.join(dir, 'u'), workDir: path.join(dir, 'w'), target: path.join(dir, 'm') });
      await m.unmount();
      return true;
    } catch {
      return false;
    } finally {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  })();
  return overlayProbe;
}
