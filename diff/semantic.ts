/**
 * `tsbuild diff --semantic`: are two images the same for every practical purpose? After diffoci's semantic mode:
 * history, timestamps (config `created`, file mtimes), the order of tar entries, the tar format (PAX vs GNU, header
 * padding) and the compression are ignored, so digests may differ while the images are equivalent. What counts:
 * the config (platform, env, cmd, entrypoint, user, ports, labels, volumes…), the number of layers, and in each
 * layer every path with its type, permission bits, owner, size, content digest, link target, xattrs and device
 * numbers (whiteouts included). A reproducibility gate for CI: `tsbuild diff --semantic A B` exits 1 on any
 * difference.
 */
import { canonicalJson } from '../util/digest.ts';
import { diffConfigs, type ConfigChange } from './image-diff.ts';
import type { ImageHandle } from './image-source.ts';
import { layerEntries, type LayerEntry } from './layer-entries.ts';

/** One semantic difference. `layer` is 0-based. */
export interface SemanticDifference {
  readonly kind: 'config' | 'layer-count' | 'file';
  readonly layer?: number;
  readonly path?: string;
  /** What differs, in words: `Env.VERSION`, `content`, `only in A`... */
  readonly what: string;
  readonly old?: unknown;
  readonly new?: unknown;
}

export interface SemanticResult {
  readonly equal: boolean;
  readonly differences: readonly SemanticDifference[];
}

/** The part of an entry that semantic equality looks at (no mtime, no position in the archive). */
function identity(e: LayerEntry): Record<string, unknown> {
  return {
    type: e.type === 'hardlink' ? 'file' : e.type,
    mode: e.type === 'whiteout' || e.type === 'opaque' ? 0 : e.mode,
    uid: e.type === 'whiteout' || e.type === 'opaque' ? 0 : e.uid,
    gid: e.type === 'whiteout' || e.type === 'opaque' ? 0 : e.gid,
    size: e.size,
    digest: e.digest ?? null,
    link: e.type === 'symlink' ? (e.linkTarget ?? null) : null,
    xattrs: e.xattrs ?? null,
    dev: e.devmajor !== undefined ? [e.devmajor, e.devminor ?? 0] : null,
  };
}

async function layerMap(img: ImageHandle, i: number): Promise<Map<string, Record<string, unknown>>> {
  const m = new Map<string, Record<string, unknown>>();
  // Opaque markers and whiteouts get their own keys: they can share a path with a directory entry.
  for await (const e of layerEntries(img.openLayer(i))) m.set(e.type === 'opaque' ? `${e.path}/<opaque>` : e.type === 'whiteout' ? `${e.path} <whiteout>` : e.path, identity(e));
  return m;
}

/** Compares two images semantically; `limit` caps the listed differences (the verdict is exact regardless). */
export async function semanticCompare(a: ImageHandle, b: ImageHandle, opts: { limit?: number } = {}): Promise<SemanticResult> {
  const limit = opts.limit ?? 1000;
  const out: SemanticDifference[] = [];
  let equal = true;
  const add = (d: SemanticDifference): void => {
    equal = false;
    if (out.length < limit) out.push(d);
  };
  for (const c of diffConfigs(a.config, b.config, { timestamps: false }) as ConfigChange[]) {
    add({ kind: 'config', what: c.field, ...('old' in c ? { old: c.old } : {}), ...('new' in c ? { new: c.new } : {}) });
  }
  const na = a.manifest.layers.length;
  const nb = b.manifest.layers.length;
  if (na !== nb) add({ kind: 'layer-count', what: 'number of layers', old: na, new: nb });
  for (let i = 0; i < Math.min(na, nb); i++) {
    // Same blob: same content, nothing to read.
    if (a.manifest.layers[i]!.digest === b.manifest.layers[i]!.digest) continue;
    const ma = await layerMap(a, i);
    const mb = await layerMap(b, i);
    for (const path of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
      const x = ma.get(path);
      const y = mb.get(path);
      if (!x) add({ kind: 'file', layer: i, path, what: `only in ${b.label}`, new: y });
      else if (!y) add({ kind: 'file', layer: i, path, what: `only in ${a.label}`, old: x });
      else {
        const fields = Object.keys(x).filter((k) => canonicalJson(x[k] ?? null) !== canonicalJson(y[k] ?? null));
        if (fields.length > 0)
          add({
            kind: 'file',
            layer: i,
            path,
            what: fields.join(', '),
            old: Object.fromEntries(fields.map((k) => [k, x[k]])),
            new: Object.fromEntries(fields.map((k) => [k, y[k]])),
          });
      }
    }
  }
  return { equal, differences: out };
}
