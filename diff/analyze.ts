/**
 * `tsbuild analyze IMAGE`, after dive (wagoodman/dive): per-layer sizes with the instruction that made each layer,
 * the paths written by more than one layer (overwritten or deleted: wasted bytes), and dive's efficiency score.
 *
 * Definitions (dive's filetree/efficiency.go and image analysis, reproduced):
 * - Every leaf path of every layer (files, symlinks, empty directories, whiteouts) is an occurrence. A regular
 *   file's occurrence has its size; a whiteout's has the size of what it deletes in the layers below (a directory's
 *   whole subtree; 0 for a single file, as dive does); other leaves 0.
 * - Per path: `cumulative` = sum of its occurrences' sizes, `min` = the smallest occurrence.
 * - efficiency = Σ min / Σ cumulative over all paths (1 when Σ cumulative is 0).
 * - wasted bytes = Σ cumulative over the paths with two or more occurrences ("inefficiencies").
 * - user wasted percent = wasted bytes / the size of every layer but the first (layer size = the sum of its
 *   occurrences' file sizes, as dive measures it).
 * - An opaque-directory marker counts as a whiteout of each path it hides from lower layers (dive has no rule).
 * Layers are streamed one at a time; memory holds per-path sizes, not contents.
 */
import { FsTree } from './fs-tree.ts';
import type { ImageHandle } from './image-source.ts';
import { layerInfos } from './image-diff.ts';
import { layerEntries, type LayerEntry } from './layer-entries.ts';

/** One layer in the analysis. Sizes in bytes. */
export interface AnalyzedLayer {
  /** 0-based. */
  readonly index: number;
  readonly digest: string;
  /** Compressed blob size. */
  readonly blobSize: number;
  /** Sum of the content sizes of the files in the layer (dive's layer size). */
  readonly size: number;
  /** Entries in the layer's tar (whiteouts included). */
  readonly entries: number;
  readonly createdBy?: string;
}

/** A path written by two or more layers. */
export interface Inefficiency {
  readonly path: string;
  /** Occurrences (layers that wrote or deleted the path). */
  readonly count: number;
  /** Sum of all occurrences' sizes: what the path costs across layers. */
  readonly cumulativeSize: number;
  readonly minSize: number;
  /** 0-based layers, in order. */
  readonly layers: readonly number[];
}

export interface Analysis {
  readonly label: string;
  readonly layers: readonly AnalyzedLayer[];
  /** Sum of the layers' `size`. */
  readonly totalSize: number;
  /** Sum of the layers' `size` except the first. */
  readonly userSize: number;
  readonly efficiency: number;
  readonly wastedBytes: number;
  /** wastedBytes / userSize (0 when userSize is 0). */
  readonly userWastedPercent: number;
  /** Largest `cumulativeSize` first. */
  readonly inefficiencies: readonly Inefficiency[];
}

interface PathData {
  cumulative: number;
  min: number;
  layers: number[];
}

/** Analyzes an image. */
export async function analyzeImage(img: ImageHandle): Promise<Analysis> {
  const infos = layerInfos(img);
  const stacked = new FsTree();
  const paths = new Map<string, PathData>();
  const layers: AnalyzedLayer[] = [];
  for (const info of infos) {
    // The layer's own entries, collected as metadata so its leaves can be told from its directories.
    const entries: LayerEntry[] = [];
    for await (const e of layerEntries(img.openLayer(info.index))) entries.push(e);
    const parents = new Set<string>();
    for (const e of entries) {
      let p = e.path;
      for (let s = p.lastIndexOf('/'); s !== -1; s = p.lastIndexOf('/')) {
        p = p.slice(0, s);
        if (parents.has(p)) break;
        parents.add(p);
      }
    }
    const occur = (path: string, size: number): void => {
      let d = paths.get(path);
      if (!d) {
        d = { cumulative: 0, min: -1, layers: [] };
        paths.set(path, d);
      }
      d.cumulative += size;
      if (d.min < 0 || size < d.min) d.min = size;
      d.layers.push(info.index);
    };
    let size = 0;
    const writes = new Set(entries.filter((x) => x.type !== 'whiteout' && x.type !== 'opaque').map((x) => x.path));
    for (const e of entries) {
      if (e.type === 'opaque') {
        // Each lower-layer path the marker hides counts as a whiteout of it.
        for (const name of stacked.childNames(e.path)) {
          const path = `${e.path}/${name}`;
          if (writes.has(path)) continue;
          occur(path, stacked.isDir(path) ? stacked.sizeOf(path) : 0);
        }
        continue;
      }
      if (parents.has(e.path)) continue;
      if (e.type === 'whiteout') occur(e.path, stacked.isDir(e.path) ? stacked.sizeOf(e.path) : 0);
      else {
        const s = e.type === 'file' ? e.size : 0;
        size += s;
        occur(e.path, s);
      }
    }
    const written = new Set<string>();
    for (const e of entries) stacked.apply(e, info.index, written);
    layers.push({
      index: info.index,
      digest: info.digest,
      blobSize: info.size,
      size,
      entries: entries.length,
      ...(info.createdBy !== undefined ? { createdBy: info.createdBy } : {}),
    });
  }
  let minSum = 0;
  let cumSum = 0;
  const inefficiencies: Inefficiency[] = [];
  for (const [path, d] of paths) {
    minSum += d.min;
    cumSum += d.cumulative;
    if (d.layers.length >= 2) inefficiencies.push({ path, count: d.layers.length, cumulativeSize: d.cumulative, minSize: d.min, layers: d.layers });
  }
  inefficiencies.sort((x, y) => y.cumulativeSize - x.cumulativeSize || (x.path < y.path ? -1 : 1));
  const wastedBytes = inefficiencies.reduce((s, x) => s + x.cumulativeSize, 0);
  const totalSize = layers.reduce((s, l) => s + l.size, 0);
  const userSize = totalSize - (layers[0]?.size ?? 0);
  return {
    label: img.label,
    layers,
    totalSize,
    userSize,
    efficiency: cumSum === 0 ? 1 : minSum / cumSum,
    wastedBytes,
    userWastedPercent: userSize === 0 ? 0 : wastedBytes / userSize,
    inefficiencies,
  };
}

/** dive's CI rules; each threshold may be absent (disabled). */
export interface CiRules {
  /** Fail when efficiency is below this (0..1). dive default 0.9. */
  readonly lowestEfficiency?: number;
  /** Fail when wasted bytes exceed this many bytes. */
  readonly highestWastedBytes?: number;
  /** Fail when wasted bytes / user size exceeds this (0..1). dive default 0.1. */
  readonly highestUserWastedPercent?: number;
}

export interface CiResult {
  readonly rule: keyof CiRules;
  readonly threshold: number;
  readonly actual: number;
  readonly passed: boolean;
}

/** Evaluates the rules; a rule without a threshold is skipped. */
export function evaluateCi(a: Analysis, rules: CiRules): CiResult[] {
  const out: CiResult[] = [];
  if (rules.lowestEfficiency !== undefined)
    out.push({ rule: 'lowestEfficiency', threshold: rules.lowestEfficiency, actual: a.efficiency, passed: a.efficiency >= rules.lowestEfficiency });
  if (rules.highestWastedBytes !== undefined)
    out.push({ rule: 'highestWastedBytes', threshold: rules.highestWastedBytes, actual: a.wastedBytes, passed: a.wastedBytes <= rules.highestWastedBytes });
  if (rules.highestUserWastedPercent !== undefined)
    out.push({
      rule: 'highestUserWastedPercent',
      threshold: rules.highestUserWastedPercent,
      actual: a.userWastedPercent,
      passed: a.userWastedPercent <= rules.highestUserWastedPercent,
    });
  return out;
}
