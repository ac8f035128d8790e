/**
 * The build context as a lazily hashed tree (after BuildKit's contenthash):
 * - walked with .dockerignore semantics (moby/patternmatcher), never following a symlink out of the root;
 * - a file's digest covers its type, permission bits, uid, gid, size, link target and content (not mtime);
 * - a directory's digest is a Merkle hash of its kept children, so `COPY src/ ...` is keyed on `src/` alone and
 *   only the subtrees a build asks about are ever read;
 * - content hashes are remembered in the store's stat cache, so a no-op rebuild reads no file contents.
 *
 * Digests are XXH64 (`xxh64:<16 hex>`): fast, non-cryptographic. They identify content for cache keys inside one
 * store, which only trusted local builds write; the cache key itself is sha256 over them (compiler/executor).
 */
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, constants as C, type Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { setImmediate as yieldNow } from 'node:timers/promises';
import type { XXHashAPI } from 'xxhash-wasm';
import { TsbuildError, closest } from '../../util/errors.ts';
import { cleanPath, hasWildcard, matchSegment, parseIgnoreFile, PatternMatcher } from './patterns.ts';
import { StatCache, racilyClean, statKey } from './stat-cache.ts';

let xxhash: Promise<XXHashAPI> | undefined;
/** xxhash-wasm is loaded on first use only: commands that never hash the context pay nothing. */
function loadXxhash(): Promise<XXHashAPI> {
  xxhash ??= import('xxhash-wasm').then((m) => m.default());
  return xxhash;
}

/** Which context paths a step reads (COPY sources after expansion; `exclude` = COPY --exclude). */
export interface ContextSelectorLike {
  /** Go path.Match patterns relative to the context root (leading `/` already stripped by the compiler). */
  readonly include: readonly string[];
  /** moby patternmatcher patterns (`**` allowed), matched against paths relative to each matched source. */
  readonly exclude: readonly string[];
}

export type ContextEntryType = 'file' | 'dir' | 'symlink' | 'other';

/** One entry a COPY must materialise. */
export interface ContextFile {
  /** Path relative to the context root, `/`-separated (`''` = the root). */
  readonly path: string;
  readonly absPath: string;
  /** Path relative to the matched source: `''` for the source itself, `a/b.txt` below a directory source. */
  readonly relPath: string;
  readonly type: ContextEntryType;
  /** Permission bits (`st_mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes (regular files; 0 otherwise). */
  readonly size: number;
  /** Milliseconds since the epoch (COPY preserves it). */
  readonly mtimeMs: number;
  /** Symlink target as stored (never followed below a source). */
  readonly linkTarget?: string;
}

/** A matched COPY source: the source itself first, then its kept descendants in pre-order, names sorted. */
export interface ContextMatch {
  readonly pattern: string;
  /** The match as the user named it, relative to the root (before following a final symlink). */
  readonly name: string;
  readonly entries: readonly ContextFile[];
}

/** Counters for tests and the benchmark. */
export interface ContextStats {
  /** Files whose content was read. */
  filesRead: number;
  bytesRead: number;
  /** Files whose hash came from the stat cache. */
  statCacheHits: number;
  /** Directories whose digest came from the stat cache (their files were neither looked up nor read). */
  dirCacheHits: number;
  /** lstat calls. */
  stats: number;
}

export interface OpenContextOptions {
  /**
   * The Dockerfile (absolute, or relative to the context dir; default `Dockerfile`, which `-` (stdin) also means):
   * `<it>.dockerignore` beside it wins over the root `.dockerignore`.
   */
  readonly dockerfileName?: string;
  /** Patterns to use instead of reading any ignore file. */
  readonly ignorePatterns?: readonly string[];
  /** Directory for the persistent stat cache (`store.paths.statcache`); omitted = in-memory only. */
  readonly statCacheDir?: string;
  /** Files changed less than this long before hashing are not recorded in the stat cache. Default 2000 ms. */
  readonly racyWindowMs?: number;
  /** Called before each file-content read (tests count reads with it). */
  readonly onRead?: (absPath: string) => void;
}

export interface ContextSnapshot {
  /** The context root's real path. */
  readonly root: string;
  /** The ignore file used (absolute), if any. */
  readonly ignoreFile: string | undefined;
  readonly ignorePatterns: readonly string[];
  readonly stats: ContextStats;
  /** A stable digest of what the selector selects: names, metadata and content. `xxh64:<hex>`. */
  digestFor(selector: ContextSelectorLike): Promise<string>;
  /** The entries a COPY with this selector copies; with `maxEntries`, at most that many in all (the walk stops there). */
  files(selector: ContextSelectorLike, maxEntries?: number): Promise<ContextMatch[]>;
  /** How many entries `files` would list, counting no further than `limit` (nothing is materialised). */
  countEntries(selector: ContextSelectorLike, limit?: number): Promise<number>;
  /** True if the path (relative, clean) is excluded by the ignore file. */
  isIgnored(path: string): boolean;
  /** Persists the stat cache (if it changed). Call once the build no longer needs the context. */
  save(): Promise<void>;
}

const BUF_SIZE = 1 << 20;
/** Doubles per entry in a directory fingerprint: type, mode, uid, gid, size, mtime, ctime, inode, rdev. */
const FP_FIELDS = 9;
const TYPE_CODE: Record<ContextEntryType, number> = { file: 1, dir: 2, symlink: 3, other: 4 };

interface Node {
  readonly rel: string;
  readonly abs: string;
  readonly type: ContextEntryType;
  readonly st: Stats;
  readonly linkTarget: string | undefined;
  /** Kept children names, sorted (after .dockerignore), once listed. */
  children: string[] | undefined;
  /** Their nodes, in the same order. */
  kids: Node[] | undefined;
  digest: string | undefined;
}

/**
 * The ignore file a build of the context `root` with the Dockerfile `dockerfileName` (absolute, or relative to the
 * root; default `Dockerfile`, which `-`, a Dockerfile read from stdin, also means) uses, with its text:
 * `<Dockerfile>.dockerignore` when it exists, else the root's `.dockerignore`, else none. One function, so that the
 * build, its check findings, their cache key and `tsbuild lint` all read the same file.
 */
export function findIgnoreFile(root: string, dockerfileName = 'Dockerfile'): { file: string; text: string } | undefined {
  const name = dockerfileName === '-' ? 'Dockerfile' : dockerfileName;
  const dfAbs = isAbsolute(name) ? name : join(root, name);
  for (const file of [`${dfAbs}.dockerignore`, join(root, '.dockerignore')]) {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch {
      // absent or unreadable: the next candidate
    }
  }
  return undefined;
}

/** Opens a build context; reads the ignore file now, everything else on demand. */
export async function openContext(dir: string, opts: OpenContextOptions = {}): Promise<ContextSnapshot> {
  let root: string;
  try {
    root = realpathSync(dir);
    if (!lstatSync(root).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new TsbuildError('context/unavailable', `build context "${dir}" is not a readable directory: ${(e as Error).message}`, { exitCode: 1 });
  }
  let ignoreFile: string | undefined;
  let patterns: readonly string[];
  if (opts.ignorePatterns) patterns = opts.ignorePatterns;
  else {
    const found = findIgnoreFile(root, opts.dockerfileName);
    ignoreFile = found?.file;
    patterns = found ? parseIgnoreFile(found.text) : [];
  }
  const xx = await loadXxhash();
  const statCache = opts.statCacheDir ? StatCache.load(opts.statCacheDir, root) : StatCache.memory();
  return new Context(root, ignoreFile, patterns, xx, statCache, opts);
}

class Context implements ContextSnapshot {
  readonly root: string;
  readonly ignoreFile: string | undefined;
  readonly ignorePatterns: readonly string[];
  readonly stats: ContextStats = { filesRead: 0, bytesRead: 0, statCacheHits: 0, dirCacheHits: 0, stats: 0 };
  readonly #matcher: PatternMatcher;
  readonly #xx: XXHashAPI;
  readonly #statCache: StatCache;
  readonly #nodes = new Map<string, Node | null>();
  readonly #racyMs: number;
  readonly #onRead: ((p: string) => void) | undefined;
  readonly #buf = Buffer.allocUnsafe(BUF_SIZE);
  #fpBuf = new Float64Array(64 * FP_FIELDS);
  #lastYield = performance.now();

  constructor(root: string, ignoreFile: string | undefined, patterns: readonly string[], xx: XXHashAPI, statCache: StatCache, opts: OpenContextOptions) {
    this.root = root;
    this.ignoreFile = ignoreFile;
    this.ignorePatterns = patterns;
    this.#matcher = new PatternMatcher(patterns);
    this.#xx = xx;
    this.#statCache = statCache;
    this.#racyMs = opts.racyWindowMs ?? 2000;
    this.#onRead = opts.onRead;
  }

  isIgnored(path: string): boolean {
    return this.#matcher.matches(path);
  }

  async save(): Promise<void> {
    this.#statCache.save();
  }

  // ---- tree ----

  #abs(rel: string): string {
    // rel is clean (no `.`/`..`, no leading or doubled `/`), so plain concatenation is a valid join.
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /** lstat-based node, memoised; null if absent. */
  #node(rel: string): Node | null {
    const hit = this.#nodes.get(rel);
    if (hit !== undefined) return hit;
    const abs = this.#abs(rel);
    let st: Stats | undefined;
    try {
      this.stats.stats++;
      st = lstatSync(abs, { throwIfNoEntry: false });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') {
        throw new TsbuildError('context/unreadable', `cannot read "${rel}" in the build context: ${(e as Error).message}`);
      }
    }
    if (st === undefined) {
      this.#nodes.set(rel, null);
      this.#statCache.forget(rel);
      return null;
    }
    const type: ContextEntryType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    // every field set up front: one object shape for all nodes
    const node: Node = { rel, abs, type, st, linkTarget: type === 'symlink' ? readlinkSync(abs) : undefined, children: undefined, kids: undefined, digest: undefined };
    this.#nodes.set(rel, node);
    return node;
  }

  /** Kept children names of a directory node, sorted. */
  #children(n: Node): string[] {
    if (n.children) return n.children;
    let names: string[];
    try {
      names = readdirSync(n.abs);
    } catch (e) {
      throw new TsbuildError('context/unreadable', `cannot list "${n.rel || '.'}" in the build context: ${(e as Error).message}`);
    }
    names.sort();
    const kept: string[] = [];
    const kids: Node[] = [];
    for (const name of names) {
      const rel = n.rel === '' ? name : `${n.rel}/${name}`;
      const child = this.#keptNode(rel);
      if (child === null) continue;
      kept.push(name);
      kids.push(child);
    }
    n.children = kept;
    n.kids = kids;
    return kept;
  }

  /** Whether `rel` is part of the context after .dockerignore (an excluded dir stays if an exception keeps a descendant). */
  #kept(rel: string): boolean {
    return this.#keptNode(rel) !== null;
  }

  /** The node at `rel` if it is part of the context after .dockerignore, else null. */
  #keptNode(rel: string): Node | null {
    if (!this.#matcher.matches(rel)) return this.#node(rel);
    if (!this.#matcher.hasExclusions) return null;
    const n = this.#node(rel);
    return n !== null && n.type === 'dir' && this.#children(n).length > 0 ? n : null;
  }

  /**
   * Resolves a clean relative path, following symlinks (in every component; in the last one if `followFinal`)
   * scoped to the root. Returns the canonical relative path, or null if some component does not exist.
   */
  #resolve(path: string, followFinal: boolean, shown: string): string | null {
    const todo = path === '' || path === '.' ? [] : path.split('/');
    const cur: string[] = [];
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (cur.length === 0) throw new TsbuildError('context/symlink-escape', `"${shown}" resolves through a symlink to a path outside the build context`);
        cur.pop();
        continue;
      }
      const rel = cur.length === 0 ? part : `${cur.join('/')}/${part}`;
      const n = this.#node(rel);
      if (n === null) return null;
      if (n.type === 'symlink' && (todo.length > 0 || followFinal)) {
        if (++hops > 255) throw new TsbuildError('context/symlink-loop', `too many levels of symbolic links resolving "${shown}"`);
        let target = n.linkTarget!;
        if (isAbsolute(target)) {
          const inRoot = relative(this.root, target);
          if (inRoot === '' ) target = '';
          else if (inRoot.startsWith('..') || isAbsolute(inRoot)) {
            throw new TsbuildError('context/symlink-escape', `"${shown}" is a symlink to ${target}, outside the build context`, {
              suggestion: 'copy the target into the context, or make the link relative and inside it',
            });
          }
          else target = inRoot.split(sep).join('/');
          cur.length = 0;
        }
        todo.unshift(...target.split('/'));
        continue;
      }
      if (todo.length > 0 && n.type !== 'dir') return null;
      cur.push(part);
    }
    return cur.join('/');
  }

  // ---- selectors ----

  /** Expands one include pattern to matches `{name, rel}` (rel canonical, following symlinks). */
  #expand(pattern: string): Array<{ name: string; rel: string }> {
    let p = cleanPath(pattern.replace(/^\/+/, ''));
    if (p === '..' || p.startsWith('../')) {
      throw new TsbuildError('context/outside', `source "${pattern}" is outside the build context`, { suggestion: 'sources are relative to the context root; move the file into the context' });
    }
    if (p === '.') p = '';
    const missing = (): never => {
      const top = p.split('/')[0] ?? p;
      const near = top === '' ? undefined : closest(top, this.#childrenOf(''));
      throw new TsbuildError('context/not-found', `"${pattern}": not found in the build context${this.#matcher.matches(p) ? ' (excluded by .dockerignore)' : ''}`, {
        ...(near && near !== top ? { suggestion: `did you mean "${near}"?` } : {}),
      });
    };
    if (!hasWildcard(p)) {
      const rel = this.#resolve(p, true, pattern);
      if (rel === null || !this.#keptPath(p) || !this.#keptPath(rel)) missing();
      return [{ name: p, rel: rel! }];
    }
    let cands: Array<{ name: string; rel: string }> = [{ name: '', rel: '' }];
    const segs = p.split('/');
    segs.forEach((seg, i) => {
      const last = i === segs.length - 1;
      const next: Array<{ name: string; rel: string }> = [];
      for (const c of cands) {
        const join2 = (a: string, b: string) => (a === '' ? b : `${a}/${b}`);
        if (hasWildcard(seg)) {
          const dirNode = this.#node(c.rel);
          if (!dirNode || dirNode.type !== 'dir') continue;
          for (const child of this.#children(dirNode)) if (matchSegment(seg, child)) next.push({ name: join2(c.name, child), rel: join2(c.rel, child) });
        } else next.push({ name: join2(c.name, seg), rel: join2(c.rel, seg) });
      }
      cands = [];
      for (const c of next) {
        const rel = this.#resolve(c.rel, true, c.name);
        if (rel === null || !this.#keptPath(c.name)) continue;
        if (!last && this.#node(rel)?.type !== 'dir') continue;
        if (last && !this.#keptPath(rel)) continue;
        cands.push({ name: c.name, rel });
      }
    });
    if (cands.length === 0) {
      throw new TsbuildError('context/no-match', `no source files were specified: "${pattern}" matches nothing in the build context`);
    }
    return cands;
  }

  #childrenOf(rel: string): string[] {
    const n = this.#node(rel);
    return n && n.type === 'dir' ? this.#children(n) : [];
  }

  #keptPath(rel: string): boolean {
    return rel === '' || this.#kept(rel);
  }

  async digestFor(selector: ContextSelectorLike): Promise<string> {
    const excl = selector.exclude.length > 0 ? new PatternMatcher(selector.exclude) : undefined;
    const parts: string[] = [];
    for (const pattern of selector.include) {
      parts.push(`p${pattern.length}:${pattern}`);
      for (const m of this.#expand(pattern)) {
        const n = this.#node(m.rel)!;
        if (excl && m.name !== '' && excl.matches(m.name)) continue;
        parts.push(`m${m.name.length}:${m.name}\0${await this.#digest(n, excl, m.rel)}`);
      }
    }
    return `xxh64:${hex(this.#xx.h64(parts.join('\n')))}`;
  }

  async files(selector: ContextSelectorLike, maxEntries = Infinity): Promise<ContextMatch[]> {
    const out: ContextMatch[] = [];
    let entries: ContextFile[] = [];
    this.#walkMatches(selector, maxEntries, {
      match: (pattern, name) => {
        entries = [];
        out.push({ pattern, name, entries });
      },
      entry: (n, relPath) => entries.push(toFile(n, relPath)),
    });
    return out;
  }

  async countEntries(selector: ContextSelectorLike, limit = Infinity): Promise<number> {
    return this.#walkMatches(selector, limit, { match: () => {}, entry: () => {} });
  }

  /** Visits what `files` lists (each match, then its entries in pre-order), `maxEntries` in all; returns how many. */
  #walkMatches(
    selector: ContextSelectorLike,
    maxEntries: number,
    on: { match(pattern: string, name: string): void; entry(n: Node, relPath: string): void },
  ): number {
    const excl = selector.exclude.length > 0 ? new PatternMatcher(selector.exclude) : undefined;
    let total = 0;
    for (const pattern of selector.include) {
      for (const m of this.#expand(pattern)) {
        if (excl && m.name !== '' && excl.matches(m.name)) continue;
        on.match(pattern, m.name);
        const visit = (n: Node, relPath: string): void => {
          if (total >= maxEntries) return;
          total++;
          on.entry(n, relPath);
          if (n.type !== 'dir') return;
          for (const name of this.#keptChildren(n, excl, m.rel)) {
            const child = this.#node(n.rel === '' ? name : `${n.rel}/${name}`)!;
            visit(child, relPath === '' ? name : `${relPath}/${name}`);
          }
        };
        visit(this.#node(m.rel)!, '');
      }
    }
    return total;
  }

  /** Kept children after both .dockerignore and the selector's excludes (relative to `base`). */
  #keptChildren(n: Node, excl: PatternMatcher | undefined, base: string): string[] {
    const names = this.#children(n);
    if (!excl) return names;
    return names.filter((name) => {
      const rel = n.rel === '' ? name : `${n.rel}/${name}`;
      const relToBase = base === '' ? rel : rel.slice(base.length + 1);
      if (!excl.matches(relToBase)) return true;
      if (!excl.hasExclusions) return false;
      const child = this.#node(rel);
      return child !== null && child.type === 'dir' && this.#keptChildren(child, excl, base).length > 0;
    });
  }

  // ---- hashing ----

  /**
   * Digest of a node: a directory's is the Merkle digest of its kept children (recursing asynchronously). Without
   * excludes, a directory whose fingerprint (its entries' names and stat fields, its subdirectories' digests) is in
   * the stat cache takes its digest from there: none of its files is looked up or hashed.
   */
  async #digest(n: Node, excl: PatternMatcher | undefined, base: string): Promise<string> {
    if (n.type !== 'dir') return this.#leafDigest(n);
    if (!excl && n.digest !== undefined) return n.digest;
    const names = this.#keptChildren(n, excl, base);
    const kids = names === n.children ? n.kids! : names.map((name) => this.#node(n.rel === '' ? name : `${n.rel}/${name}`)!);
    // Only directories recurse asynchronously (they may yield); a file's digest is computed in place, below.
    const subs: (string | undefined)[] = [];
    for (const kid of kids) subs.push(kid.type === 'dir' ? await this.#digest(kid, excl, base) : undefined);
    // (a cache that is not kept gains nothing: within one context, n.digest already remembers a directory)
    const fp = excl || !this.#statCache.persistent ? undefined : this.#fingerprint(n, names, kids, subs);
    let d = fp === undefined ? undefined : this.#statCache.lookupDir(n.rel, fp);
    if (d !== undefined) this.stats.dirCacheHits++;
    else {
      const st = n.st;
      const parts = [`d ${(st.mode & 0o7777).toString(8)} ${st.uid} ${st.gid}`];
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        // Length-prefixed: a name containing a newline cannot imitate another entry.
        parts.push(`${name.length}:${name}\0${subs[i] ?? this.#leafDigest(kids[i]!)}`);
      }
      d = hex(this.#xx.h64(parts.join('\n')));
      if (fp !== undefined) {
        // A racily clean file (changed within the window) may change again under the same stat: the directory's
        // fingerprint cannot vouch for it, as the file's own stat key cannot.
        if (this.#anyRacy(kids)) this.#statCache.forgetDir(n.rel);
        else this.#statCache.recordDir(n.rel, fp, d);
      }
    }
    if (performance.now() - this.#lastYield > 20) {
      // Hashing is synchronous per file; let progress output and timers run between directories.
      await yieldNow();
      this.#lastYield = performance.now();
    }
    if (!excl) n.digest = d;
    return d;
  }

  /**
   * What a directory's digest depends on, cheaply: its own permission bits and owner, and per kept entry the name,
   * type, mode, owner, size, mtime, ctime, inode and rdev (what a file's stat key covers), a symlink's target and a
   * subdirectory's digest. Stat fields are hashed as raw doubles, not formatted.
   */
  #fingerprint(n: Node, names: readonly string[], kids: readonly Node[], subs: readonly (string | undefined)[]): string {
    const need = (kids.length + 1) * FP_FIELDS;
    if (this.#fpBuf.length < need) this.#fpBuf = new Float64Array(need * 2);
    const f = this.#fpBuf;
    f[0] = TYPE_CODE.dir;
    f[1] = n.st.mode;
    f[2] = n.st.uid;
    f[3] = n.st.gid;
    f[4] = f[5] = f[6] = f[7] = f[8] = 0;
    let text = '';
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i]!;
      const st = k.st;
      const o = (i + 1) * FP_FIELDS;
      f[o] = TYPE_CODE[k.type];
      f[o + 1] = st.mode;
      f[o + 2] = st.uid;
      f[o + 3] = st.gid;
      f[o + 4] = st.size;
      f[o + 5] = st.mtimeMs;
      f[o + 6] = st.ctimeMs;
      f[o + 7] = st.ino;
      f[o + 8] = st.rdev;
      // names cannot contain NUL, nor can link targets; digests are hex
      text += `${names[i]}\0${subs[i] ?? k.linkTarget ?? ''}\0`;
    }
    const stats = this.#xx.h64Raw(new Uint8Array(f.buffer, 0, need * 8));
    return hex(this.#xx.h64(text)) + hex(stats);
  }

  /** Whether any non-directory entry changed within the racy window (directories vouch for themselves). */
  #anyRacy(kids: readonly Node[]): boolean {
    const now = Date.now();
    return kids.some((k) => k.type !== 'dir' && racilyClean(Math.max(k.st.mtimeMs, k.st.ctimeMs), now, this.#racyMs));
  }

  /** Digest of a file, symlink or special file (excludes do not change it; cached on the node). */
  #leafDigest(n: Node): string {
    if (n.digest !== undefined) return n.digest;
    const st = n.st;
    const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid} ${st.gid}`;
    let d: string;
    if (n.type === 'file') {
      // Not hashed again: the metadata plus the content hash is already a fixed-size, unambiguous identity.
      d = `f${meta} ${st.size} ${this.#contentHash(n)}`;
    } else if (n.type === 'symlink') d = hex(this.#xx.h64(`l ${meta} ${n.linkTarget}`));
    else d = hex(this.#xx.h64(`o ${st.mode.toString(8)} ${st.uid} ${st.gid} ${st.rdev}`));
    n.digest = d;
    return d;
  }

  #contentHash(n: Node): string {
    const st = n.st;
    const key = statKey(st);
    const cached = this.#statCache.lookup(n.rel, key);
    if (cached !== undefined) {
      this.stats.statCacheHits++;
      return cached;
    }
    this.#onRead?.(n.abs);
    let fd: number;
    try {
      // O_NOFOLLOW: a file swapped for a symlink after the lstat is not followed out of the context.
      fd = openSync(n.abs, C.O_RDONLY | C.O_NOFOLLOW);
    } catch (e) {
      throw new TsbuildError('context/unreadable', `cannot read "${n.rel}" in the build context: ${(e as Error).message}`);
    }
    let h: string;
    try {
      const buf = this.#buf;
      let n1 = 0;
      for (;;) {
        const r = readSync(fd, buf, n1, buf.length - n1, null);
        if (r === 0) break;
        n1 += r;
        // Stop at the size lstat reported (saves the EOF read); a file growing meanwhile changes its stat key.
        if (n1 === buf.length || n1 === st.size) break;
      }
      if (n1 < buf.length) {
        h = hex(this.#xx.h64Raw(buf.subarray(0, n1)));
        this.stats.bytesRead += n1;
      } else {
        const s = this.#xx.create64();
        s.update(buf);
        let total = n1;
        for (;;) {
          const r = readSync(fd, buf, 0, buf.length, null);
          if (r === 0) break;
          s.update(buf.subarray(0, r));
          total += r;
        }
        h = hex(s.digest());
        this.stats.bytesRead += total;
      }
    } finally {
      closeSync(fd);
    }
    this.stats.filesRead++;
    this.#statCache.record(n.rel, key, Math.max(st.mtimeMs, st.ctimeMs), h, Date.now(), this.#racyMs);
    return h;
  }
}

function hex(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

function toFile(n: Node, relPath: string): ContextFile {
  const st = n.st;
  return {
    path: n.rel,
    absPath: n.abs,
    relPath,
    type: n.type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: n.type === 'file' ? st.size : 0,
    mtimeMs: st.mtimeMs,
    ...(n.linkTarget !== undefined ? { linkTarget: n.linkTarget } : {}),
  };
}
