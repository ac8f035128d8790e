/**
 * The persistent stat cache: (path, size, mtime, ctime, inode, mode) → content hash, so a no-op rebuild reads no
 * file contents; and per directory, a fingerprint of its direct entries' names and stat fields plus its
 * subdirectories' digests → the directory's digest, so a no-op rebuild does no per-file work beyond the lstat.
 * One file per context root under `<store>/statcache/` (named by sha256 of the root's real path), written
 * atomically: the version line, a line per directory `D \t fingerprint \t digest \t relPath`, a `--files` line,
 * then a line per file `hash \t statKey \t relPath`. The file lines are parsed on the first file lookup only: a
 * no-op rebuild whose directories all match never needs them.
 *
 * ctime cannot be set from user space, so a file rewritten with the same size and a restored mtime still misses.
 * "Racily clean" files (changed within `racyWindowMs` of being hashed) are not recorded: on filesystems with coarse
 * timestamps a second write in the same tick would otherwise leave a stale hash behind an unchanged stat.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../atomic.ts';

/**
 * What identifies a file's content without reading it: `size/mtimeMs/ctimeMs/ino/mode` joined with `/` (times as
 * JS numbers: sub-microsecond resolution for current dates). Compared as one string: cheap to build, load and test.
 */
export type StatKey = string;

/** The stat key of an lstat result. */
export function statKey(st: { size: number; mtimeMs: number; ctimeMs: number; ino: number; mode: number }): StatKey {
  return `${st.size}/${st.mtimeMs}/${st.ctimeMs}/${st.ino}/${st.mode}`;
}

interface Entry {
  readonly key: StatKey;
  readonly hash: string;
}

/**
 * Whether something changed at `changedMs` is "racily clean" at `nowMs`: too recently for its stat to vouch for its
 * content (a second write within the same timestamp tick would leave the stat unchanged).
 */
export function racilyClean(changedMs: number, nowMs: number, racyWindowMs: number): boolean {
  return changedMs + racyWindowMs > nowMs;
}

const VERSION_LINE = 'tsbuild-statcache 3';
const FILES_LINE = '--files';

export class StatCache {
  readonly file: string | undefined;
  readonly #entries = new Map<string, Entry>();
  /** The file lines as read, until the first file lookup parses them into #entries. */
  #unparsed: string | undefined;
  readonly #dirs = new Map<string, { readonly fp: string; readonly digest: string }>();
  #dirty = false;

  private constructor(file: string | undefined) {
    this.file = file;
  }

  /** An in-memory cache (no store). */
  static memory(): StatCache {
    return new StatCache(undefined);
  }

  /** Loads the cache for `realRoot` from `dir` (a missing or unreadable file is an empty cache). */
  static load(dir: string, realRoot: string): StatCache {
    const file = join(dir, createHash('sha256').update(realRoot).digest('hex').slice(0, 32));
    const c = new StatCache(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return c;
    }
    if (!text.startsWith(`${VERSION_LINE}\n`)) return c;
    const filesAt = text.indexOf(`\n${FILES_LINE}\n`);
    const dirPart = text.slice(VERSION_LINE.length + 1, filesAt < 0 ? text.length : filesAt + 1);
    for (const l of dirPart.split('\n')) {
      // D \t fp \t digest \t rel
      const a = l.indexOf('\t', 2);
      const b = l.indexOf('\t', a + 1);
      if (!l.startsWith('D\t') || a < 0 || b < 0) continue;
      c.#dirs.set(l.slice(b + 1), { fp: l.slice(2, a), digest: l.slice(a + 1, b) });
    }
    if (filesAt >= 0) c.#unparsed = text.slice(filesAt + FILES_LINE.length + 2);
    return c;
  }

  /** The file entries, parsed on first use. */
  #files(): Map<string, Entry> {
    const text = this.#unparsed;
    if (text !== undefined) {
      this.#unparsed = undefined;
      let i = 0;
      while (i < text.length) {
        let e = text.indexOf('\n', i);
        if (e < 0) e = text.length;
        const a = text.indexOf('\t', i);
        const b = a < 0 ? -1 : text.indexOf('\t', a + 1);
        if (b >= 0 && b < e) this.#entries.set(text.slice(b + 1, e), { hash: text.slice(i, a), key: text.slice(a + 1, b) });
        i = e + 1;
      }
    }
    return this.#entries;
  }

  /** Whether entries outlive this process (a cache loaded from a store), so that recording one can pay off later. */
  get persistent(): boolean {
    return this.file !== undefined;
  }

  /** Number of file entries. */
  get size(): number {
    return this.#files().size;
  }

  /** Number of directory entries. */
  get dirCount(): number {
    return this.#dirs.size;
  }

  /** The cached digest of the directory `path` if its fingerprint still agrees. */
  lookupDir(path: string, fp: string): string | undefined {
    const e = this.#dirs.get(path);
    return e !== undefined && e.fp === fp ? e.digest : undefined;
  }

  /** Remembers a directory's digest under its fingerprint (the caller has checked that none of its entries is racy). */
  recordDir(path: string, fp: string, digest: string): void {
    const e = this.#dirs.get(path);
    if (e !== undefined && e.fp === fp && e.digest === digest) return;
    this.#dirs.set(path, { fp, digest });
    this.#dirty = true;
  }

  /** Drops a directory's entry (its fingerprint could not be trusted, or it is gone). */
  forgetDir(path: string): void {
    if (this.#dirs.delete(path)) this.#dirty = true;
  }

  /** The cached hash if every stat field still agrees. */
  lookup(path: string, k: StatKey): string | undefined {
    const e = this.#files().get(path);
    if (!e) return undefined;
    return e.key === k ? e.hash : undefined;
  }

  /** Remembers a hash unless the file changed within `racyWindowMs` of `nowMs` (then forgets it). */
  record(path: string, k: StatKey, changedMs: number, hash: string, nowMs: number, racyWindowMs: number): void {
    const files = this.#files();
    if (racilyClean(changedMs, nowMs, racyWindowMs)) {
      if (files.delete(path)) this.#dirty = true;
      return;
    }
    files.set(path, { key: k, hash });
    this.#dirty = true;
  }

  /** Drops the entries of a path that no longer exists (as a file, and as a directory). */
  forget(path: string): void {
    if (this.#files().delete(path)) this.#dirty = true;
    this.forgetDir(path);
  }

  /** Writes the cache if it changed (atomic; concurrent builds of one context: last writer wins, both valid). */
  save(): void {
    if (!this.#dirty || this.file === undefined) return;
    const parts: string[] = [VERSION_LINE];
    for (const [p, e] of this.#dirs) {
      if (p.includes('\n')) continue;
      parts.push(`D\t${e.fp}\t${e.digest}\t${p}`);
    }
    parts.push(FILES_LINE);
    if (this.#unparsed !== undefined) {
      // file lines never parsed are written back as they were read
      if (this.#unparsed !== '') parts.push(this.#unparsed.replace(/\n$/, ''));
    } else {
      for (const [p, e] of this.#entries) {
        if (p.includes('\n')) continue;
        parts.push(`${e.hash}\t${e.key}\t${p}`);
      }
    }
    writeFileAtomicSync(this.file, `${parts.join('\n')}\n`);
    this.#dirty = false;
  }
}
