/**
 * Snapshots: a writable root filesystem on top of read-only layer directories.
 * Overlayfs when the host supports it (probed once), else a full copy.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { prepareCopySnapshot } from './copy.ts';
import { mountOverlay, overlaySupported } from './overlay.ts';

export { MAX_OVERLAY_LOWERS, isMounted, mountOverlay, overlaySupported, trackMount, unmountPath, type MountedSnapshot, type OverlayOptions } from './overlay.ts';
export { prepareCopySnapshot, type CopySnapshot } from './copy.ts';
export { onExit, pendingExitCleanups, runExitCleanups } from './on-exit.ts';

/** A writable snapshot of either kind. */
export interface Snapshot {
  readonly kind: 'overlay' | 'copy';
  /** The merged root filesystem. */
  readonly target: string;
  /** For `overlay`: the directory holding exactly this snapshot's changes (the layer diff). Undefined for `copy`. */
  readonly upperDir: string | undefined;
  /** Unmounts (overlay) or deletes (copy). The upperdir of an overlay is kept: it is the caller's result. */
  release(): Promise<void>;
}

/**
 * An empty directory to stand in as the only lower layer of a `FROM scratch` snapshot: `empty-lower` beside the
 * work directory, in the snapshot's own directory, so that it goes with it (one per process under /tmp was never
 * removed: a test run left hundreds).
 */
async function emptyDir(workDir: string): Promise<string> {
  const dir = path.join(path.dirname(path.resolve(workDir)), 'empty-lower');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Prepares a writable snapshot: an overlay of `lowerDirs` (top first; empty for scratch) with `upperDir`/`workDir`,
 * or, without overlayfs (or with `forceCopy`), a copy of the layers at `target`.
 */
export async function prepareSnapshot(opts: {
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
  readonly workDir: string;
  readonly target: string;
  readonly forceCopy?: boolean;
}): Promise<Snapshot> {
  if (opts.forceCopy !== true && (await overlaySupported())) {
    const lowers = opts.lowerDirs.length > 0 ? opts.lowerDirs : [await emptyDir(opts.workDir)];
    const m = await mountOverlay({ lowerDirs: lowers, upperDir: opts.upperDir, workDir: opts.workDir, target: opts.target });
    return { kind: 'overlay', target: m.target, upperDir: path.resolve(opts.upperDir), release: () => m.unmount() };
  }
  const c = await prepareCopySnapshot({ lowerDirs: opts.lowerDirs, target: opts.target });
  return { kind: 'copy', target: c.target, upperDir: undefined, release: () => c.dispose() };
}
