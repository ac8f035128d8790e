/**
 * Crash-safe file primitives. A reader never sees a half-written file: data goes to a temp file on the same
 * filesystem, is fsynced, renamed over the target, and the parent directory is fsynced so the rename itself
 * survives a power loss. SIGKILL at any point leaves either the old file or the new one, plus at most a temp
 * file that the store's collector removes later.
 */
import { closeSync, fsyncSync, openSync, writeSync, renameSync, unlinkSync, constants as C } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A unique temp name beside `target` (same directory, so rename is atomic): `.<base>.tmp.<pid>.<rand>`. */
export function tempNameBeside(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`);
}

/** fsyncs a directory so that renames/creations inside it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `target` atomically (temp file + fsync + rename + fsync of the directory). */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempNameBeside(target);
  const fh = await open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fsyncDir(dirname(target));
}

/** Synchronous twin of writeFileAtomic (for the stat cache, written at the end of a hashing pass). */
export function writeFileAtomicSync(target: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempNameBeside(target);
  const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, mode);
  try {
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  fsyncDirSync(dirname(target));
}
