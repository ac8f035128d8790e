/**
 * The persistent stat cache: (path, size, mtime, ctime, inode, mode) → content hash, so a no-op rebuild reads no
 * file contents. One file per context root under `<store>/statcache/` (named by sha256 of the root's real path),
 * a line per file: `hash \t size \t mtimeNs \t ctimeNs \t ino \t mode \t relPath`, written atomically.
 *
 * ctime cannot be set from user space, so a file rewritten with the same size and a restored mtime still misses.
 * "Racily clean" files (changed within `racyWindowMs` of being hashed) are not recorded: on filesystems with coarse
 * timestamps a second write in the same tick would otherwise leave a stale hash behind an unchanged stat.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../atomic.ts';

/** What identifies a file's content without reading it. Times in nanoseconds since the epoch. */
export interface StatKey {
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
  readonly mode: bigint;
}

interface Entry extends StatKey {
  readonly hash: string;
}

const VERSION_LINE = 'tsbuild-statcache 1';

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
      const f = l.split('\t');
      if (f.length < 7) continue;
      const path = f.slice(6).join('\t');
      try {
        c.#entries.set(path, { hash: f[0]!, size: BigInt(f[1]!), mtimeNs: BigInt(f[2]!), ctimeNs: BigInt(f[3]!), ino: BigInt(f[4]!), mode: BigInt(f[5]!) });
      } catch {
        /* a malformed line is a miss */
      }
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
    if (e.size !== k.size || e.mtimeNs !== k.mtimeNs || e.ctimeNs !== k.ctimeNs || e.ino !== k.ino || e.mode !== k.mode) return undefined;
    return e.hash;
  }

  record(path: string, k: StatKey, hash: string, nowNs: bigint, racyWindowNs: bigint): void {
    if (k.mtimeNs + racyWindowNs > nowNs || k.ctimeNs + racyWindowNs > nowNs) {
      if (this.#entries.delete(path)) this.#dirty = true;
      return;
    }
    this.#entries.set(path, { ...k, hash });
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
      parts.push(`${e.hash}\t${e.size}\t${e.mtimeNs}\t${e.ctimeNs}\t${e.ino}\t${e.mode}\t${p}`);
    }
    writeFileAtomicSync(this.file, `${parts.join('\n')}\n`);
    this.#dirty = false;
  }
}
