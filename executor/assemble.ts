/**
 * Turns the target stage's outcome into an image: config (the compiler's image config with the real layer list and
 * history), manifest, both stored as blobs; returns what the tagger and the exporters need.
 */
import type { BuildGraph, HistoryEntry, ImageConfig, Stage, StepId } from '../compiler/graph.ts';
import type { Store, StoredImage, Descriptor } from '../cache/index.ts';
import type { Digest } from '../util/digest.ts';
import { encodeImageConfig } from './image/image.ts';
import type { BuildRequest } from './build.ts';
import type { StepOutcome } from './scheduler.ts';
import type { FsResult } from './step-runner.ts';

export interface AssembledImage {
  readonly manifestDigest: Digest;
  readonly configDigest: Digest;
  readonly manifestBytes: Uint8Array;
  readonly configBytes: Uint8Array;
  readonly layers: readonly Descriptor[];
  /** Sum of the compressed layer sizes (what `docker images` shows for a pulled image). */
  readonly size: number;
}

/** The target stage (`--target`, else the last) and the stages it builds FROM, target first. */
export function targetChain(graph: BuildGraph): Stage[] {
  const chain: Stage[] = [];
  for (let st = graph.stages.find((s) => s.index === graph.target) ?? graph.stages[graph.stages.length - 1]; st; st = st.baseStage !== undefined ? graph.stages.find((x) => x.index === st!.baseStage) : undefined) {
    chain.push(st);
  }
  return chain;
}

export async function assembleImage(opts: {
  store: Store;
  graph: BuildGraph;
  outcomes: ReadonlyMap<StepId, StepOutcome<FsResult>>;
  req: BuildRequest;
  resolvedImages: ReadonlyMap<string, StoredImage>;
}): Promise<AssembledImage> {
  const { store, graph, outcomes, req } = opts;
  const chain = targetChain(graph);
  const stage = chain[0];
  if (!stage) throw new Error('compiled graph has no stages');
  const last = outcomes.get(stage.last)?.result;
  if (!last || last.kind !== 'fs') throw new Error('target stage produced no filesystem');

  // History entries whose step turned out to change nothing (an empty upperdir) become empty_layer entries, as
  // BuildKit does; the compiler marked every layer-making instruction optimistically.
  const history: HistoryEntry[] = [...(stage.image.history ?? [])];
  const layerStepAt = new Map<number, StepId>();
  let offset = history.length;
  for (const st of chain) {
    offset -= st.history.length;
    st.history.forEach((h, i) => {
      if (h.layerStep === undefined) return;
      const o = outcomes.get(h.layerStep);
      const produced = o?.result.kind === 'fs' && o.result.produced;
      const idx = offset + i;
      layerStepAt.set(idx, h.layerStep);
      const entry = history[idx];
      if (entry && !produced) history[idx] = { ...entry, empty_layer: true };
    });
  }
  const stamped = stampHistory(history, (i) => {
    const stepId = layerStepAt.get(i);
    const o = stepId === undefined ? undefined : outcomes.get(stepId);
    return o?.result.kind === 'fs' ? o.result.createdAt : undefined;
  }, req.sourceDateEpoch);
  const created = stamped.findLast((h) => h.created !== undefined)?.created ?? new Date().toISOString();
  const labels = req.labels.size > 0 ? { ...(stage.image.config.Labels ?? {}), ...Object.fromEntries(req.labels) } : stage.image.config.Labels;
  const config: ImageConfig = {
    ...stage.image,
    created,
    config: { ...stage.image.config, ...(labels ? { Labels: labels } : {}) },
    rootfs: { type: 'layers', diff_ids: last.layers.map((l) => l.diffId) },
    history: stamped,
  };
  const layers: Descriptor[] = last.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }));
  const put = await store.putImage({ config: encodeImageConfig(config).value, layers });
  const manifestBytes = await store.blobs.readBytes(put.manifestDigest);
  const configBytes = await store.blobs.readBytes(put.configDigest);
  return {
    manifestDigest: put.manifestDigest,
    configDigest: put.configDigest,
    manifestBytes,
    configBytes,
    layers,
    size: layers.reduce((a, l) => a + l.size, 0),
  };
}

/**
 * Gives every history entry a time, as BuildKit's exporter does (normalizeLayersAndHistory, patchImageConfig): an
 * entry that made a layer gets the time that layer was first made (kept in the cache entry, so a fully cached rebuild
 * gives the same config and the same image ID, as `docker build` does); an entry without one (metadata, a step that
 * changed nothing) gets the first new layer's time until a later layer's time takes over. With SOURCE_DATE_EPOCH every
 * new entry gets the epoch. Base-image entries keep their own times. The image's `created` is the last entry's time.
 */
export function stampHistory(history: readonly HistoryEntry[], layerTime: (index: number) => string | undefined, sourceDateEpoch?: number): HistoryEntry[] {
  const epoch = sourceDateEpoch !== undefined ? new Date(sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z') : undefined;
  const withTimes = history.map((h, i) => {
    const t = h.created ?? epoch ?? layerTime(i);
    return t === undefined || t === h.created ? h : { ...h, created: t };
  });
  let created: string | undefined;
  let gap = false;
  for (const h of withTimes) {
    if (h.created !== undefined) {
      created = h.created;
      if (gap) break;
    } else gap = true;
  }
  gap = false;
  return withTimes.map((h) => {
    if (h.created !== undefined) {
      if (gap) created = h.created;
      return h;
    }
    gap = true;
    return created === undefined ? h : { ...h, created };
  });
}
