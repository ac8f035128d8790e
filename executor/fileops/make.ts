/**
 * Files and directories created from the Dockerfile itself: `COPY <<EOF /dest` heredoc bodies and WORKDIR.
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { TsbuildError } from '../../util/errors.ts';
import { cleanPath, relativeInRoot, resolveInRoot } from '../../util/safe-path.ts';
import { applyMeta, lstatOrNull, mkdirAllInRoot, notADirectory, placeEntry, type Owner } from './fs-write.ts';

/** Options shared by makeFile and makeDir. */
export interface MakeOptions {
  /** SOURCE_DATE_EPOCH in seconds: the mtime of created entries (default: now). */
  readonly sourceDateEpoch?: number;
}

const ROOT: Owner = { uid: 0, gid: 0 };

/**
 * Writes `content` to `filePath` (absolute inside `destRoot`) with `mode` and owner `chown` (default 0:0), as a
 * heredoc source of COPY lands. Missing parents are created 0755 with the same owner (BuildKit copies the heredoc
 * with CreateDestPath). An existing file or symlink at `filePath` is replaced, never written through; an existing
 * directory is an error. Returns the bytes written.
 */
export async function makeFile(
  destRoot: string,
  filePath: string,
  content: string | Uint8Array,
  mode: number,
  chown?: Owner,
  opts: MakeOptions = {},
): Promise<number> {
  if (filePath.endsWith('/')) {
    throw new TsbuildError('fileops/invalid-path', `cannot create file ${JSON.stringify(filePath)}: the path names a directory`);
  }
  const owner = chown ?? ROOT;
  const mtime = opts.sourceDateEpoch === undefined ? undefined : new Date(opts.sourceDateEpoch * 1000);
  const clean = cleanPath('/' + filePath);
  const parent = await mkdirAllInRoot(destRoot, path.posix.dirname(clean), { owner, ...(mtime ? { mtime } : {}) });
  const target = path.join(parent, path.posix.basename(clean));
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  await placeEntry(path.resolve(destRoot), target, async (tmp) => {
    await writeFile(tmp, data, { flag: 'wx', mode: 0o600 });
    await applyMeta(tmp, { mode: mode & 0o7777, owner, ...(mtime ? { mtime } : {}) }, false);
  });
  return data.length;
}

/**
 * Creates directory `dirPath` (absolute inside `destRoot`) with `mode` and owner `chown` (default 0:0), as WORKDIR
 * does. With `parents`, missing parents are created with the same mode and owner (BuildKit's Mkdir WithParents);
 * without, a missing parent is an error (`fileops/parent-missing`). An existing directory (or a symlink resolving
 * to one inside `destRoot`) is left as it is; an existing non-directory is an error.
 */
export async function makeDir(
  destRoot: string,
  dirPath: string,
  mode: number,
  chown: Owner | undefined,
  parents: boolean,
  opts: MakeOptions = {},
): Promise<void> {
  const absRoot = path.resolve(destRoot);
  const owner = chown ?? ROOT;
  const mtime = opts.sourceDateEpoch === undefined ? undefined : new Date(opts.sourceDateEpoch * 1000);
  const clean = cleanPath('/' + dirPath);
  if (!parents) {
    const parentHost = await resolveInRoot(absRoot, path.posix.dirname(clean), { followFinal: true });
    const pst = await lstatOrNull(parentHost);
    if (!pst) throw new TsbuildError('fileops/parent-missing', `cannot create directory ${clean}: parent ${path.posix.dirname(clean)} does not exist`);
    if (!pst.isDirectory()) throw notADirectory(absRoot, parentHost);
  }
  const resolved = await resolveInRoot(absRoot, clean, { followFinal: true });
  const st = await lstatOrNull(resolved);
  if (st?.isDirectory()) return;
  if (st) throw notADirectory(absRoot, resolved);
  await mkdirAllInRoot(absRoot, '/' + relativeInRoot(absRoot, resolved), { mode: mode & 0o7777, owner, ...(mtime ? { mtime } : {}) });
}
