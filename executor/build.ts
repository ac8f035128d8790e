/**
 * `build`: Dockerfile text + context directory → an OCI image in the store (and any exports).
 *
 * parse → resolve base images from the store → compile → schedule steps (cache lookups, runc for RUN, file ops for
 * COPY/ADD, one overlayfs upperdir per step turned into a layer) → assemble the image config and manifest → tag →
 * export → write the build record. The engine never prints: it emits progress events.
 */
import { availableParallelism } from 'node:os';
import type { BuildGraph, CacheKey, Step, StepId } from '../compiler/graph.ts';
import type { Dockerfile } from '../grammar/ast.ts';
import { TsbuildError } from '../util/errors.ts';
import { nativePlatform } from '../util/platform.ts';
import type { ProgressSink, StepInfo } from './progress.ts';
import { schedule } from './scheduler.ts';
import { createStepRunner, type FsResult } from './step-runner.ts';
import { assembleImage, targetChain } from './assemble.ts';
import { span } from './trace.ts';
import { checkEntitlements, type Entitlement } from './entitlements.ts';

export interface OutputSpec {
  readonly type: 'oci' | 'docker' | 'local' | 'tar' | 'image';
  /** Absolute path (file for oci/docker/tar, directory for local); empty for `image`. */
  readonly dest: string;
}

export interface BuildRequest {
  readonly contextDir: string;
  readonly dockerfile: { readonly path: string; readonly text: string; readonly displayName: string };
  /** `dockerfile.text` already parsed without errors (the CLI's build checks parse it first); parsed here if absent. */
  readonly parsed?: Dockerfile;
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly target?: string;
  readonly tags: readonly string[];
  readonly labels: ReadonlyMap<string, string>;
  readonly noCache: boolean;
  readonly noCacheFilter: readonly string[];
  readonly pull: boolean;
  /** Push each tag to the registry its name points at after tagging (`--push`). */
  readonly push?: boolean;
  readonly outputs: readonly OutputSpec[];
  readonly compression: 'gzip' | 'zstd' | 'none';
  readonly sourceDateEpoch?: number;
  readonly network: 'default' | 'none' | 'host';
  /** `--cache-from type=local,src=DIR`: caches loaded into the store before the build. */
  readonly cacheFrom?: readonly CacheImport[];
  /** `--cache-to type=local,dest=DIR[,mode=min|max]`: where the build's cache entries are written afterwards. */
  readonly cacheTo?: readonly CacheExport[];
  /** Entitlements granted with `--allow` (BuildKit's names): `security.insecure` lets `RUN --security=insecure` run privileged. */
  readonly entitlements?: readonly Entitlement[];
  readonly secrets: ReadonlyMap<string, { readonly src?: string; readonly env?: string }>;
  /** ssh id → agent socket path. */
  readonly ssh: ReadonlyMap<string, string>;
  readonly parallelism?: number;
  readonly runtime: 'runc' | 'crun';
  /** Writable roots for steps: overlayfs (`auto` uses it when the host can), or copies diffed after each step. */
  readonly snapshotter?: 'auto' | 'overlay' | 'copy';
  readonly storeRoot: string;
}

export interface BuildResult {
  /** `sha256:…` of the config blob, as `docker build -q` prints. */
  readonly imageId: string;
  readonly manifestDigest: string;
  readonly size: number;
  readonly tags: readonly string[];
  readonly stepsRun: number;
  readonly stepsCached: number;
  readonly recordId?: string;
}

export async function build(req: BuildRequest, emit: ProgressSink, signal?: AbortSignal): Promise<BuildResult> {
  const started = Date.now();
  const [{ parse }, { compile, baseImageRefs }, { openStore }] = await span('build.imports', () => Promise.all([
    import('../grammar/index.ts'),
    import('../compiler/index.ts'),
    import('../cache/index.ts'),
  ]));
  const df = req.parsed ?? parse(req.dockerfile.text, { file: req.dockerfile.displayName });
  const store = await span('build.open-store', () => openStore(req.storeRoot));
  const platform = nativePlatform();
  const options = {
    buildArgs: req.buildArgs,
    target: req.target,
    platform,
    file: req.dockerfile.displayName,
    sourceDateEpoch: req.sourceDateEpoch,
  };

  // Base images come from the local store first, as docker does; what it lacks is pulled, and `--pull` asks the
  // registry for a newer manifest even when the store has one.
  const { BuildRegistry } = await import('../registry/build-hooks.ts');
  const registry = new BuildRegistry();
  const resolved = new Map<string, Awaited<ReturnType<typeof store.getImage>>>();
  try {
    for (const ref of baseImageRefs(df, options)) {
      if (resolved.has(ref.ref)) continue;
      resolved.set(ref.ref, await registry.resolveBase(store, ref.ref, { pull: req.pull, file: req.dockerfile.displayName, range: ref.range }));
    }
  } finally {
    await registry.close();
  }
  const graph = compile(df, options, (ref) => {
    const img = resolved.get(ref);
    return img ? { ref, digest: img.manifestDigest, config: img.config } : undefined;
  });
  for (const w of graph.warnings) emit({ type: 'warning', time: Date.now(), diagnostic: w });
  checkEntitlements(graph, req.entitlements ?? [], req.dockerfile.displayName);
  emit({ type: 'build-start', time: Date.now(), steps: stepInfos(graph) });

  // A lease keeps a concurrent `tsbuild prune` away from what this build is making.
  const releaseLease = await store.lease(`build ${req.dockerfile.displayName}`);
  try {
    return await runBuild();
  } finally {
    await releaseLease();
  }

  async function runBuild(): Promise<BuildResult> {
  if ((req.cacheFrom ?? []).length > 0) {
    const { importCache } = await import('../cache/exchange.ts');
    for (const c of req.cacheFrom ?? []) {
      emit({ type: 'export', time: Date.now(), message: `importing cache from ${c.src}` });
      try {
        await span('build.cache-import', () => importCache(store, c.src));
      } catch (e) {
        // As with BuildKit, a cache that cannot be used costs time, not the build: entries verified before the
        // problem are kept, and the steps they do not cover run.
        if (!(e instanceof TsbuildError) || e.code !== 'cache/import-failed') throw e;
        emit({ type: 'warning', time: Date.now(), diagnostic: { code: e.code, severity: 'warning', message: e.message } });
      }
    }
  }
  const runner = await createStepRunner({ store, req, graph, emit, resolvedImages: resolved });
  const bypass = cacheBypass(graph, req);
  const outcomes = await span('build.schedule', () => schedule(graph, runner, {
    parallelism: req.parallelism ?? availableParallelism(),
    emit,
    signal,
    bypassCache: bypass,
    quietStep: (s) => s.kind === 'source' && s.source.type !== 'image',
    roots: outputSteps(graph),
  })).finally(() => runner.dispose());

  // `graph.target` is a stage index; `graph.stages` holds only the stages the target needs, so look it up by index.
  const target = graph.stages.find((s) => s.index === graph.target);
  if (!target) throw new Error('compiled graph has no target stage');
  const last = outcomes.get(target.last);
  if (!last || last.result.kind !== 'fs') throw new Error('target stage produced no filesystem');
  const image = await span('build.assemble', () => assembleImage({ store, graph, outcomes, req, resolvedImages: resolved }));
  for (const tag of req.tags) await store.tagImage(tag, image.manifestDigest);
  if (req.push) {
    try {
      await registry.pushTags(store, req.tags, (tag) => emit({ type: 'export', time: Date.now(), message: `pushing ${tag}` }));
    } finally {
      await registry.close();
    }
  }
  for (const out of req.outputs) {
    emit({ type: 'export', time: Date.now(), message: `exporting to ${out.type}${out.dest ? ` ${out.dest}` : ''}` });
    await runner.exportImage(image, out);
  }
  if ((req.cacheTo ?? []).length > 0) {
    const { exportCache } = await import('../cache/exchange.ts');
    for (const c of req.cacheTo ?? []) {
      emit({ type: 'export', time: Date.now(), message: `exporting cache to ${c.dest} (mode=${c.mode})` });
      await span('build.cache-export', () => exportCache(store, c.dest, cacheKeysFor(graph, outcomes, c.mode)));
    }
  }
  let stepsRun = 0;
  let stepsCached = 0;
  let stepsSkipped = 0;
  for (const step of graph.steps.values()) {
    if (step.kind === 'source') continue;
    const o = outcomes.get(step.id);
    if (!o) stepsSkipped++;
    else if (o.cached) stepsCached++;
    else stepsRun++;
  }
  const durationMs = Date.now() - started;
  const recordId = await span('build.record', () => runner.writeRecord({ outcomes, image, durationMs, started }));
  emit({
    type: 'build-done',
    time: Date.now(),
    durationMs,
    imageId: image.configDigest,
    manifestDigest: image.manifestDigest,
    size: image.size,
    stepsRun,
    stepsCached,
    ...(stepsSkipped > 0 ? { stepsSkipped } : {}),
  });
  return {
    imageId: image.configDigest,
    manifestDigest: image.manifestDigest,
    size: image.size,
    tags: req.tags,
    stepsRun,
    stepsCached,
    recordId,
  };
  }
}

/** Where `--cache-from` reads a cache. */
export interface CacheImport {
  readonly type: 'local';
  readonly src: string;
}

/** Where `--cache-to` writes one; `min` (BuildKit's default) keeps the steps of the image's own stages, `max` all. */
export interface CacheExport {
  readonly type: 'local';
  readonly dest: string;
  readonly mode: 'min' | 'max';
}

/**
 * The steps whose outcomes the image needs: every step of the target's stage chain (each makes one of its layers
 * or history entries). Other stages are resolved only as far as a step of the chain that must run needs them.
 */
export function outputSteps(graph: BuildGraph): StepId[] {
  const chain = new Set(targetChain(graph).map((s) => s.index));
  const out: StepId[] = [];
  for (const st of graph.stages) if (chain.has(st.index)) out.push(st.last);
  for (const step of graph.steps.values()) if (step.origin !== undefined && chain.has(step.origin.stageIndex)) out.push(step.id);
  return out;
}

/** The cache keys a cache export carries: the filesystem steps of the target's stage chain (min) or of every stage (max). */
export function cacheKeysFor(graph: BuildGraph, outcomes: ReadonlyMap<StepId, { readonly key: CacheKey }>, mode: 'min' | 'max'): string[] {
  const chain = new Set(targetChain(graph).map((s) => s.index));
  const keys: string[] = [];
  for (const [id, o] of outcomes) {
    const step = graph.steps.get(id);
    if (!step || step.kind === 'source') continue;
    if (mode === 'min' && (step.origin === undefined || !chain.has(step.origin.stageIndex))) continue;
    keys.push(o.key);
  }
  return keys;
}

function stepInfos(graph: BuildGraph): StepInfo[] {
  return [...graph.steps.values()]
    .filter((s) => !(s.kind === 'source' && s.source.type !== 'image'))
    .map((s) => ({ id: s.id, description: s.description, ...(s.origin ? { origin: s.origin } : {}), kind: s.kind, multiStage: graph.stages.length > 1 }));
}

/** `--no-cache` bypasses every step; `--no-cache-filter a,b` the steps of those stages (by name or index). */
function cacheBypass(graph: BuildGraph, req: BuildRequest): (s: Step) => boolean {
  if (req.noCache) return (s) => s.kind !== 'source' || s.source.type !== 'context';
  if (req.noCacheFilter.length === 0) return () => false;
  const wanted = new Set(req.noCacheFilter.map((x) => x.toLowerCase()));
  return (s) =>
    s.kind !== 'source' &&
    s.origin !== undefined &&
    (wanted.has(s.origin.stage.toLowerCase()) || wanted.has(String(s.origin.stageIndex)));
}

export type { FsResult, CacheKey };

