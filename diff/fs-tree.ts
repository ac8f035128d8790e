/**
 * An in-memory model of an image's file system built by stacking layer entries (metadata only: contents are
 * represented by their digests), with OCI whiteout semantics. Memory grows with the number of paths, never with
 * the bytes in the layers.
 */
import type { LayerEntry } from './layer-entries.ts';

/** What a path holds after stacking: the entry that last wrote it and the 0-based layer it came from. */
export interface FsFile extends LayerEntry {
  readonly layer: number;
}

interface Node {
  file?: FsFile;
  children?: Map<string, Node>;
}

/** A stacked file system. Paths are clean and relative (`etc/passwd`). */
export class FsTree {
  readonly #root: Node = { children: new Map() };

  #find(path: string): Node | undefined {
    let n: Node | undefined = this.#root;
    for (const part of path.split('/')) {
      n = n.children?.get(part);
      if (!n) return undefined;
    }
    return n;
  }

  #ensureParent(path: string): { parent: Node; name: string } {
    const parts = path.split('/');
    const name = parts.pop()!;
    let n = this.#root;
    for (const part of parts) {
      n.children ??= new Map();
      let c = n.children.get(part);
      if (!c) {
        c = { children: new Map() };
        n.children.set(part, c);
      } else if (c.file && c.file.type !== 'dir') {
        // A file where a directory is needed: the layer replaced it (tar extractors do the same).
        c = { children: new Map() };
        n.children.set(part, c);
      }
      c.children ??= new Map();
      n = c;
    }
    return { parent: n, name };
  }

  get(path: string): FsFile | undefined {
    return this.#find(path)?.file;
  }

  /**
   * Applies one layer's entries. `protect` collects the paths this layer wrote, so that an opaque marker met after
   * them (archive order is free) only hides what lower layers had.
   */
  apply(e: LayerEntry, layer: number, written: Set<string>): void {
    if (e.type === 'whiteout') {
      const { parent, name } = this.#ensureParent(e.path);
      parent.children?.delete(name);
      return;
    }
    if (e.type === 'opaque') {
      const n = this.#find(e.path);
      if (!n?.children) return;
      for (const [name] of n.children) {
        const p = `${e.path}/${name}`;
        if (!written.has(p)) n.children.delete(name);
      }
      return;
    }
    written.add(e.path);
    const { parent, name } = this.#ensureParent(e.path);
    const existing = parent.children!.get(name);
    const file: FsFile = { ...e, layer };
    if (e.type === 'dir') {
      if (existing && (existing.file === undefined || existing.file.type === 'dir')) existing.file = file;
      else parent.children!.set(name, { file, children: new Map() });
    } else parent.children!.set(name, { file });
  }

  /** Every path with its file, in sorted (pre-order, names sorted) order. Implicit directories have no file. */
  *walk(): Generator<{ path: string; file: FsFile | undefined }> {
    function* go(n: Node, prefix: string): Generator<{ path: string; file: FsFile | undefined }> {
      if (!n.children) return;
      for (const name of [...n.children.keys()].sort()) {
        const c = n.children.get(name)!;
        const p = prefix === '' ? name : `${prefix}/${name}`;
        yield { path: p, file: c.file };
        yield* go(c, p);
      }
    }
    yield* go(this.#root, '');
  }

  /** Total content bytes at or below `path` (a file's own size, or the sum over a directory's subtree). */
  sizeOf(path: string): number {
    const n = this.#find(path);
    if (!n) return 0;
    let sum = 0;
    const go = (x: Node): void => {
      sum += x.file?.size ?? 0;
      for (const c of x.children?.values() ?? []) go(c);
    };
    go(n);
    return sum;
  }

  /** Names directly below `path` ('' = the root), sorted; empty when it is not a directory. */
  childNames(path: string): string[] {
    const n = path === '' ? this.#root : this.#find(path);
    return n?.children ? [...n.children.keys()].sort() : [];
  }

  /** True when the path exists and is a directory (explicit or implicit). */
  isDir(path: string): boolean {
    const n = this.#find(path);
    return n !== undefined && (n.file === undefined || n.file.type === 'dir');
  }
}
