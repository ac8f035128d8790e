/**
 * `tsbuild diff A B`: what differs between two images: the config (env, cmd, entrypoint, user, ports, labels…), the
 * layer table side by side, and the file-level changes of the stacked file systems. Layers are streamed; a layer
 * both images share at the same position is read once.
 */
import type { ImageConfig } from '../compiler/graph.ts';
import { canonicalJson } from '../util/digest.ts';
import { TsbuildError } from '../util/errors.ts';
import { FsTree, type FsFile } from './fs-tree.ts';
import type { ImageHandle } from './image-source.ts';
import { layerEntries } from './layer-entries.ts';

export interface DiffOptions {
  /** Compare modification times too (and the config's `created`). Default false. */
  readonly timestamps?: boolean;
  /** Compare only layer N (0-based) of each image, as two file sets. */
  readonly layer?: number;
}

/** One config difference. `field` is dotted: `Cmd`, `Env.PATH`, `Labels.version`, `ExposedPorts.80/tcp`. */
export interface ConfigChange {
  readonly field: string;
  /** Absent when the field is only in B. */
  readonly old?: unknown;
  /** Absent when the field is only in A. */
  readonly new?: unknown;
}

/** One layer as listed in the table. `index` is 0-based, `size` the blob size in bytes. */
export interface LayerInfo {
  readonly index: number;
  readonly digest: string;
  readonly diffId: string;
  readonly size: number;
  /** The history entry that made the layer (`created_by`), when the config has one. */
  readonly createdBy?: string;
}

/**
 * A row of the side-by-side layer table (aligned on diff IDs, longest common subsequence). Between two shared
 * layers, A's and B's differing layers are paired in order as `changed`; the surplus is `removed` / `added`.
 */
export interface LayerRow {
  readonly status: 'shared' | 'changed' | 'removed' | 'added';
  readonly a?: LayerInfo;
  readonly b?: LayerInfo;
}

/** What the diff shows of one file. */
export interface FileSummary {
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly digest?: string;
  readonly linkTarget?: string;
  readonly mtime: number;
  /** 0-based layer that last wrote the path. */
  readonly layer: number;
}

/** One file-level change. `fields` lists what differs for `modified`: type, mode, owner, size, content, link, xattrs, device, mtime. */
export interface FileChange {
  readonly path: string;
  readonly change: 'added' | 'removed' | 'modified';
  readonly fields?: readonly string[];
  readonly old?: FileSummary;
  readonly new?: FileSummary;
}

export interface ImageDiff {
  readonly a: { readonly label: string; readonly configDigest: string; readonly layers: number };
  readonly b: { readonly label: string; readonly configDigest: string; readonly layers: number };
  readonly config: readonly ConfigChange[];
  readonly layers: readonly LayerRow[];
  readonly files: readonly FileChange[];
  /** Which layer was compared (`--layer`), if not the whole file system. */
  readonly layer?: number;
  /** True when config and files are the same under the chosen options (the layer table may still differ in bytes). */
  readonly identical: boolean;
}

/** Layer infos with their history entries (non-empty history entries map to layers in order). */
export function layerInfos(img: ImageHandle): LayerInfo[] {
  const hist = (img.config.history ?? []).filter((h) => !h.empty_layer);
  return img.manifest.layers.map((l, i) => ({
    index: i,
    digest: l.digest,
    diffId: img.config.rootfs?.diff_ids?.[i] ?? '',
    size: l.size,
    ...(hist[i]?.created_by !== undefined ? { createdBy: hist[i]!.created_by! } : {}),
  }));
}

/** Side-by-side alignment of two layer lists on diff IDs (LCS; equal layers in the same order line up). */
export function alignLayers(a: readonly LayerInfo[], b: readonly LayerInfo[]): LayerRow[] {
  const n = a.length;
  const m = b.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) L[i]![j] = a[i]!.diffId === b[j]!.diffId ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const rows: LayerRow[] = [];
  let gapA: LayerInfo[] = [];
  let gapB: LayerInfo[] = [];
  const flush = (): void => {
    for (let k = 0; k < Math.max(gapA.length, gapB.length); k++) {
      const x = gapA[k];
      const y = gapB[k];
      rows.push(x && y ? { status: 'changed', a: x, b: y } : x ? { status: 'removed', a: x } : { status: 'added', b: y! });
    }
    gapA = [];
    gapB = [];
  };
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i]!.diffId === b[j]!.diffId) {
      flush();
      rows.push({ status: 'shared', a: a[i++]!, b: b[j++]! });
    } else if (j < m && (i >= n || L[i]![j + 1]! >= L[i + 1]![j]!)) gapB.push(b[j++]!);
    else gapA.push(a[i++]!);
  }
  flush();
  return rows;
}

const same = (x: unknown, y: unknown): boolean => canonicalJson(x ?? null) === canonicalJson(y ?? null);

/** The config differences between two images (timestamps only when asked). */
export function diffConfigs(a: ImageConfig, b: ImageConfig, opts: { timestamps?: boolean } = {}): ConfigChange[] {
  const out: ConfigChange[] = [];
  const scalar = (field: string, x: unknown, y: unknown): void => {
    if (same(x, y)) return;
    out.push({ field, ...(x !== undefined ? { old: x } : {}), ...(y !== undefined ? { new: y } : {}) });
  };
  const keyed = (field: string, x: Readonly<Record<string, unknown>> | undefined, y: Readonly<Record<string, unknown>> | undefined): void => {
    const keys = [...new Set([...Object.keys(x ?? {}), ...Object.keys(y ?? {})])].sort();
    for (const k of keys) scalar(`${field}.${k}`, x?.[k], y?.[k]);
  };
  const envMap = (env: readonly string[] | undefined): Record<string, string> => {
    const o: Record<string, string> = {};
    for (const e of env ?? []) {
      const eq = e.indexOf('=');
      o[eq === -1 ? e : e.slice(0, eq)] = eq === -1 ? '' : e.slice(eq + 1);
    }
    return o;
  };
  scalar('architecture', a.architecture, b.architecture);
  scalar('os', a.os, b.os);
  scalar('variant', a.variant, b.variant);
  if (opts.timestamps) scalar('created', a.created, b.created);
  scalar('author', a.author, b.author);
  const ca = a.config ?? {};
  const cb = b.config ?? {};
  scalar('User', ca.User, cb.User);
  scalar('WorkingDir', ca.WorkingDir, cb.WorkingDir);
  scalar('Entrypoint', ca.Entrypoint, cb.Entrypoint);
  scalar('Cmd', ca.Cmd, cb.Cmd);
  keyed('Env', envMap(ca.Env), envMap(cb.Env));
  keyed('Labels', ca.Labels, cb.Labels);
  keyed('ExposedPorts', ca.ExposedPorts, cb.ExposedPorts);
  keyed('Volumes', ca.Volumes, cb.Volumes);
  scalar('StopSignal', ca.StopSignal, cb.StopSignal);
  scalar('Healthcheck', ca.Healthcheck, cb.Healthcheck);
  scalar('Shell', ca.Shell, cb.Shell);
  scalar('OnBuild', ca.OnBuild, cb.OnBuild);
  return out;
}

function summary(f: FsFile): FileSummary {
  return {
    type: f.type,
    mode: f.mode,
    uid: f.uid,
    gid: f.gid,
    size: f.size,
    ...(f.digest !== undefined ? { digest: f.digest } : {}),
    ...(f.linkTarget !== undefined ? { linkTarget: f.linkTarget } : {}),
    mtime: f.mtime,
    layer: f.layer,
  };
}

/** The attributes in which two versions of a path differ (empty: the same). */
export function fileFields(x: FsFile | undefined, y: FsFile | undefined, timestamps: boolean): string[] {
  const f: string[] = [];
  // An implicit directory (no entry of its own) reads as root:root 0755.
  const X = x ?? ({ type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 } as FsFile);
  const Y = y ?? ({ type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 } as FsFile);
  // Hardlinks compare as the file they share content with.
  const t = (e: FsFile): string => (e.type === 'hardlink' ? 'file' : e.type);
  if (t(X) !== t(Y)) f.push('type');
  if (X.mode !== Y.mode) f.push('mode');
  if (X.uid !== Y.uid || X.gid !== Y.gid) f.push('owner');
  if (X.size !== Y.size) f.push('size');
  if ((X.digest ?? '') !== (Y.digest ?? '')) f.push('content');
  if (X.type === 'symlink' && Y.type === 'symlink' && X.linkTarget !== Y.linkTarget) f.push('link');
  if (!same(X.xattrs, Y.xattrs)) f.push('xattrs');
  if (X.devmajor !== Y.devmajor || X.devminor !== Y.devminor) f.push('device');
  if (timestamps && x && y && X.mtime !== Y.mtime) f.push('mtime');
  return f;
}

/** Compares two stacked trees path by path (both walks are sorted the same way: a merge). */
export function diffTrees(ta: FsTree, tb: FsTree, timestamps: boolean): FileChange[] {
  const la = [...ta.walk()];
  const lb = [...tb.walk()];
  const out: FileChange[] = [];
  let i = 0;
  let j = 0;
  // The walk is pre-order with sorted names, which is not plain string order ("a/b" vs "a.txt"); compare by parts.
  const cmp = (p: string, q: string): number => {
    const P = p.split('/');
    const Q = q.split('/');
    for (let k = 0; k < Math.min(P.length, Q.length); k++) if (P[k] !== Q[k]) return P[k]! < Q[k]! ? -1 : 1;
    return P.length - Q.length;
  };
  while (i < la.length || j < lb.length) {
    const x = la[i];
    const y = lb[j];
    const c = x && y ? cmp(x.path, y.path) : x ? -1 : 1;
    if (c < 0) {
      out.push({ path: x!.path, change: 'removed', ...(x!.file ? { old: summary(x!.file) } : {}) });
      i++;
    } else if (c > 0) {
      out.push({ path: y!.path, change: 'added', ...(y!.file ? { new: summary(y!.file) } : {}) });
      j++;
    } else {
      const fields = fileFields(x!.file, y!.file, timestamps);
      if (fields.length > 0)
        out.push({ path: x!.path, change: 'modified', fields, ...(x!.file ? { old: summary(x!.file) } : {}), ...(y!.file ? { new: summary(y!.file) } : {}) });
      i++;
      j++;
    }
  }
  return out;
}

/** Streams layers `from..to` (exclusive) of `img` into `trees` (all of them get every entry). */
async function stack(img: ImageHandle, indexes: readonly number[], trees: readonly FsTree[]): Promise<void> {
  for (const i of indexes) {
    const written = trees.map(() => new Set<string>());
    for await (const e of layerEntries(img.openLayer(i))) trees.forEach((t, k) => t.apply(e, i, written[k]!));
  }
}

/** Diffs two images. */
export async function diffImages(a: ImageHandle, b: ImageHandle, opts: DiffOptions = {}): Promise<ImageDiff> {
  const timestamps = opts.timestamps === true;
  const config = diffConfigs(a.config, b.config, { timestamps });
  const la = layerInfos(a);
  const lb = layerInfos(b);
  const layers = alignLayers(la, lb);
  const ta = new FsTree();
  const tb = new FsTree();
  if (opts.layer !== undefined) {
    const n = opts.layer;
    for (const [img, count] of [[a, la.length], [b, lb.length]] as const) {
      if (!Number.isInteger(n) || n < 0 || n >= count)
        throw new TsbuildError('diff/no-such-layer', `--layer ${n}: ${img.label} has ${count} layer${count === 1 ? '' : 's'} (0-based: 0..${count - 1})`, { exitCode: 2 });
    }
    if (la[n]!.diffId !== '' && la[n]!.diffId === lb[n]!.diffId) {
      // Same layer: nothing to read.
    } else {
      await stack(a, [n], [ta]);
      await stack(b, [n], [tb]);
    }
  } else {
    // The common prefix of identical layers is read once and applied to both trees.
    let p = 0;
    while (p < la.length && p < lb.length && la[p]!.diffId !== '' && la[p]!.diffId === lb[p]!.diffId) p++;
    const prefix = Array.from({ length: p }, (_, k) => k);
    await stack(a, prefix, [ta, tb]);
    await stack(a, Array.from({ length: la.length - p }, (_, k) => p + k), [ta]);
    await stack(b, Array.from({ length: lb.length - p }, (_, k) => p + k), [tb]);
  }
  const files = diffTrees(ta, tb, timestamps);
  return {
    a: { label: a.label, configDigest: a.configDigest, layers: la.length },
    b: { label: b.label, configDigest: b.configDigest, layers: lb.length },
    config,
    layers,
    files,
    ...(opts.layer !== undefined ? { layer: opts.layer } : {}),
    // Layers whose bytes differ only in what the options ignore (timestamps) do not make the images differ.
    identical: config.length === 0 && files.length === 0,
  };
}
