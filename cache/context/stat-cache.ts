/**
 * The persistent stat cache: (path, size, mtime, ctime, inode, mode) → content hash, so a no-op rebuild reads no
 * file contents. One file per context root under `<store>/statcache/` (named by sha256 of the root's real path),
 * a line per file: `hash \t statKey \t relPath`, written atomically.
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

const VERSION_LINE = 'tsbuild-statcache 2';

export class StatCache {
  readonly file: string | undefined;
  readonly #entries = new Map<string, Entry>();
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
    const lines = text.split('\n');
    if (lines[0] !== VERSION_LINE) return c;
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      if (l === '') continue;
      const a = l.indexOf('\t');
      const b = l.indexOf('\t', a + 1);
      if (a < 0 || b < 0) continue;
      c.#entries.set(l.slice(b + 1), { hash: l.slice(0, a), key: l.slice(a + 1, b) });
    }
    return c;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached hash if every stat field still agrees. */
  lookup(path: string, k: StatKey): string | undefined {
    const e = this.#entries.get(path);
    if (!e) return undefined;
    return e.key === k ? e.hash : undefined;
  }

  /** Remembers a hash unless the file changed within `racyWindowMs` of `nowMs` (then forgets it). */
  record(path: string, k: StatKey, changedMs: number, hash: string, nowMs: number, racyWindowMs: number): void {
    if (changedMs + racyWindowMs > nowMs) {
      if (this.#entries.delete(path)) this.#dirty = true;
      return;
    }
    this.#entries.set(path, { key: k, hash });
    this.#dirty = true;
  }

  forget(path: string): void {
    if (this.#entries.delete(path)) this.#dirty = true;
  }

  /** Writes the cache if it changed (atomic; concurrent builds of one context: last writer wins, both valid). */
  save(): void {
    if (!this.#dirty || this.file === undefined) return;
    const parts: string[] = [VERSION_LINE];
    for (const [p, e] of this.#entries) {
      if (p.includes('\n')) continue;
      parts.push(`${e.hash}\t${e.key}\t${p}`);
    }
    writeFileAtomicSync(this.file, `${parts.join('\n')}\n`);
    this.#dirty = false;
  }
}
