/**
 * Copy-based snapshots, for hosts where overlayfs cannot be mounted (not root, a filesystem that cannot hold an
 * upperdir, a kernel without overlay). The layers are copied, base first, into a fresh directory with `cp -a`
 * (which keeps owners, modes, times, links, device nodes and xattrs, and reflinks where the filesystem can).
 *
 * Whiteouts in the lower dirs are honoured in both forms a layer unpacker may leave: overlay's character device
 * 0/0 and OCI's `.wh.<name>` files; `.wh..wh..opq` and overlay's `trusted.overlay.opaque=y` xattr (read with
 * getfattr) empty the directory.
 *
 * There is no upperdir: the step runner diffs the result against a pristine copy (./diff.ts) to get one.
 */
import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { TsbuildError } from '../../util/errors.ts';
import { OVERLAY_OPAQUE, readXattrTree } from '../layer/xattr.ts';

/** A copied snapshot; `dispose` deletes the directory. */
export interface CopySnapshot {
  readonly target: string;
  dispose(): Promise<void>;
}

function cp(src: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // `src/.` copies the contents, including dotfiles, onto existing directories.
    const p = spawn('cp', ['-a', '--reflink=auto', '--no-target-directory', `${src}/.`, dest], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve() : reject(new TsbuildError('snapshot/copy-failed', `copying layer ${src} failed: ${err.trim()}`)),
    );
  });
}

interface Whiteouts {
  /** Layer-relative paths to delete below. */
  readonly deleted: string[];
  /** Layer-relative directories whose lower contents are hidden. */
  readonly opaque: string[];
  /** Layer-relative paths of the marker entries themselves (removed from the result after copying). */
  readonly markers: string[];
  /** Layer-relative directories, parents before children. */
  readonly dirs: string[];
  /** Layer-relative non-directories (whiteouts aside): each replaces a directory below, if there is one. */
  readonly nondirs: string[];
}

async function findWhiteouts(layer: string): Promise<Whiteouts> {
  const out: Whiteouts = { deleted: [], opaque: [], markers: [], dirs: [], nondirs: [] };
  // Layers unpacked for overlay mark opaque directories with an xattr rather than a marker file.
  const xattrs = await readXattrTree(layer, (n) => n === OVERLAY_OPAQUE);
  for (const [rel, m] of xattrs) if (m.get(OVERLAY_OPAQUE)?.toString() === 'y' && rel !== '') out.opaque.push(rel);
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(layer, rel), { withFileTypes: true });
    for (const e of entries) {
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.name === '.wh..wh..opq') {
        out.opaque.push(rel);
        out.markers.push(childRel);
      } else if (e.name.startsWith('.wh.')) {
        out.deleted.push(rel === '' ? e.name.slice(4) : `${rel}/${e.name.slice(4)}`);
        out.markers.push(childRel);
      } else if (e.isCharacterDevice()) {
        const st = await lstat(path.join(layer, childRel));
        if (st.rdev === 0) {
          out.deleted.push(childRel);
          out.markers.push(childRel);
        } else out.nondirs.push(childRel);
      } else if (e.isDirectory()) {
        out.dirs.push(childRel);
        await walk(childRel);
      } else {
        out.nondirs.push(childRel);
      }
    }
  };
  await walk('');
  return out;
}

/**
 * Builds a snapshot by copying `lowerDirs` (top first, as for overlay) into `target` (created; must not exist or
 * be empty). Paths inside a layer never escape `target`: cp copies symlinks as links, whiteout paths come from
 * directory listings (no `..`), and every directory of a layer is made a real directory in `target` before anything
 * is written or deleted below it.
 */
export async function prepareCopySnapshot(opts: { readonly lowerDirs: readonly string[]; readonly target: string }): Promise<CopySnapshot> {
  const target = path.resolve(opts.target);
  await mkdir(target, { recursive: true, mode: 0o755 });
  try {
    for (const layer of [...opts.lowerDirs].reverse()) {
      const wh = await findWhiteouts(layer);
      // A directory in this layer replaces whatever non-directory is below (a symlink especially): remove it first,
      // so neither cp nor the deletions below ever write through a link that may point outside the target.
      for (const d of wh.dirs) {
        const p = path.join(target, d);
        const st = await lstat(p).catch(() => undefined);
        if (st !== undefined && !st.isDirectory()) await rm(p, { force: true });
      }
      for (const d of wh.opaque) {
        const dir = path.join(target, d);
        const st = await lstat(dir).catch(() => undefined);
        if (st?.isDirectory() === true) {
          for (const child of await readdir(dir)) await rm(path.join(dir, child), { recursive: true, force: true });
        }
      }
      // …and a non-directory replaces a directory below (cp cannot overwrite a directory with a file).
      for (const f of wh.nondirs) {
        const p = path.join(target, f);
        const st = await lstat(p).catch(() => undefined);
        if (st?.isDirectory() === true) await rm(p, { recursive: true, force: true });
      }
      // Delete before copying: cp cannot replace a directory with a whiteout device.
      for (const d of wh.deleted) await rm(path.join(target, d), { recursive: true, force: true });
      await cp(path.resolve(layer), target);
      for (const m of wh.markers) await rm(path.join(target, m), { recursive: true, force: true });
      // Removing a marker touched its directory: give it back the layer's times, so two copies of the same layers
      // are identical (the copy differ compares mtimes).
      for (const dir of new Set(wh.markers.map((m) => path.dirname(m)))) {
        const st = await lstat(path.join(layer, dir)).catch(() => undefined);
        if (st?.isDirectory() === true) await utimes(path.join(target, dir), st.atime, st.mtime);
      }
    }
  } catch (e) {
    await rm(target, { recursive: true, force: true });
    throw e;
  }
  return {
    target,
    dispose: () => rm(target, { recursive: true, force: true }),
  };
}
