/**
 * The real StepRunner: what each kind of step does against the content store.
 *
 * Every exec/file step mounts an overlay of its parent's layer snapshots (top first) with a fresh upperdir, runs
 * (runc for RUN, file operations for COPY/ADD/WORKDIR), unmounts, turns the upperdir into a layer blob, and then
 * keeps the upperdir itself as the layer's snapshot: an overlay upperdir (whiteouts as 0/0 char devices, opaque
 * xattrs) is exactly an overlay lowerdir, so nothing is unpacked after a build step.
 *
 * A step's result is the full chain of layers of its filesystem (base first), stored in the cache index under the
 * step's key, so a cache hit needs nothing but the entry.
 */
import { mkdir, readdir, rename, rm, writeFile, lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type { BuildGraph, CacheKey, ExecStep, FileAction, FileStep, Step, StepId } from '../compiler/graph.ts';
import { computeCacheKey, definitionOf } from '../compiler/index.ts';
import type { Store, StoredImage, LayerRef, ContextSnapshot, BuildRecordContextFile } from '../cache/index.ts';
import { openContext } from '../cache/index.ts';
import { TsbuildError } from '../util/errors.ts';
import { canonicalJson, digestOf, type Digest } from '../util/digest.ts';
import { hostname } from 'node:os';
import type { BuildRequest, OutputSpec } from './build.ts';
import { LineTail, type ProgressSink } from './progress.ts';
import { StepFailedError, type StepRunner, type StepOutcome } from './scheduler.ts';
import type { OciMount, Sandbox } from './sandbox/sandbox.ts';
import { imageLayers, layerSnapshot } from './layer-snapshots.ts';
import type { AssembledImage } from './assemble.ts';
import { span } from './trace.ts';
import type { ExportImage } from './export/export.ts';

/**
 * What only a step that does work needs (sandboxes, snapshots, file operations, the layer writer, exporters) is
 * loaded on first use (the module loader keeps it after that): a fully cached build never loads it (~40 modules
 * with tar-stream and the decompressors, 60-70 ms of start-up here).
 */
const sandboxMod = () => import('./sandbox/index.ts');
const snapshotMod = () => import('./snapshot/index.ts');
const diffMod = () => import('./snapshot/diff.ts');
const runMountsMod = () => import('./run-mounts/index.ts');
const usersMod = () => import('./users.ts');
const fileopsMod = () => import('./fileops/index.ts');
const layerMod = () => import('./layer/index.ts');
const exportMod = () => import('./export/export.ts');

/** What a step leaves behind for the steps that use it. */
export type FsResult =
  | {
      readonly kind: 'fs';
      /** Every layer of the filesystem, base first. */
      readonly layers: readonly LayerRef[];
      /** Whether this step added the last layer of `layers` (false for a step with no filesystem change). */
      readonly produced: boolean;
      /** When the step's result was first made (ISO 8601; from the cache entry on a hit): its history entry's time. */
      readonly createdAt?: string;
    }
  | { readonly kind: 'context'; readonly ctx: ContextSnapshot }
  | { readonly kind: 'url'; readonly dir: string; readonly filename: string; readonly digest: string };

export interface StepRunnerDeps {
  readonly store: Store;
  readonly req: BuildRequest;
  readonly graph: BuildGraph;
  readonly emit: ProgressSink;
  readonly resolvedImages: ReadonlyMap<string, StoredImage>;
}

export interface RealStepRunner extends StepRunner<FsResult> {
  exportImage(image: AssembledImage, out: OutputSpec): Promise<void>;
  writeRecord(info: { outcomes: Map<StepId, StepOutcome<FsResult>>; image: AssembledImage; durationMs: number; started: number }): Promise<string>;
  /** Context digests computed per step (for build records). */
  readonly contextDigests: Map<StepId, string[]>;
  dispose(): Promise<void>;
}

export async function createStepRunner(deps: StepRunnerDeps): Promise<RealStepRunner> {
  const { store, req, graph, emit } = deps;
  let sandbox: Sandbox | undefined;
  const getSandbox = async (): Promise<Sandbox> => (sandbox ??= (await sandboxMod()).createSandbox({ runtime: req.runtime }));
  const forceCopy = req.snapshotter === 'copy';
  if (req.snapshotter === 'overlay' && !(await (await snapshotMod()).overlaySupported()))
    throw new TsbuildError('build/no-overlay', 'overlayfs cannot be mounted here', { suggestion: 'use --snapshotter copy (or auto)' });
  const contextDigests = new Map<StepId, string[]>();
  const contextFiles = new Map<StepId, Array<readonly BuildRecordContextFile[] | undefined>>();
  const urlResults = new Map<StepId, FsResult>();
  let context: ContextSnapshot | undefined;
  const getContext = async (): Promise<ContextSnapshot> => {
    context ??= await openContext(req.contextDir, {
      dockerfileName: req.dockerfile.path,
      statCacheDir: store.paths.statcache,
    });
    return context;
  };
  const results = new Map<StepId, FsResult>();
  /** Every key computed, also of steps the scheduler then skipped (the build record keeps them for `diff --builds`). */
  const stepKeys = new Map<StepId, CacheKey>();
  /** Layer blobs this build's cache lookups found stored (see CacheIndex.get). */
  const layersPresent = new Set<Digest>();
  const cacheMountRoot = join(store.root, 'cache-mounts');

  const snapshotOf = (layer: LayerRef): Promise<string> => layerSnapshot(store, layer);
  const lowerDirsOf = async (layers: readonly LayerRef[]): Promise<string[]> => {
    const dirs = await Promise.all(layers.map(snapshotOf));
    return dirs.reverse();
  };

  /** Mounts `layers` with a throwaway upperdir and calls `f` with the merged root (for COPY --from, bind mounts). */
  const withMountedFs = async <T>(layers: readonly LayerRef[], f: (root: string) => Promise<T>): Promise<T> => {
    const tmp = await store.tempDir('view');
    try {
      await Promise.all(['upper', 'work', 'root'].map((d) => mkdir(join(tmp, d))));
      const snap = await (await snapshotMod()).prepareSnapshot({ lowerDirs: await lowerDirsOf(layers), upperDir: join(tmp, 'upper'), workDir: join(tmp, 'work'), target: join(tmp, 'root'), forceCopy });
      try {
        return await f(snap.target);
      } finally {
        await snap.release();
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  };

  const fsOf = (id: StepId): FsResult => {
    const r = results.get(id);
    if (!r) throw new Error(`step ${id} has no result yet`);
    return r;
  };

  /**
   * Runs `work` on an overlay of `parent` with a fresh upperdir; turns the upperdir into a layer and a snapshot.
   * Returns the new chain.
   */
  const withLayer = async (
    step: Step,
    parent: readonly LayerRef[],
    work: (root: string) => Promise<{ excludePaths?: readonly string[]; ignoreDirs?: readonly string[] }>,
  ): Promise<FsResult> => {
    const tmp = await store.tempDir('step');
    try {
      const upper = join(tmp, 'upper');
      await Promise.all(['upper', 'work', 'root'].map((d) => mkdir(join(tmp, d))));
      const lowerDirs = await lowerDirsOf(parent);
      const snap = await span('step.mount', async () =>
        snapshotMod().then((m) => m.prepareSnapshot({ lowerDirs, upperDir: upper, workDir: join(tmp, 'work'), target: join(tmp, 'root'), forceCopy })),
      );
      // Without overlay there is no upperdir: a pristine copy of the parent is kept to diff the step's tree against.
      const before = snap.kind === 'copy' ? await (await snapshotMod()).prepareCopySnapshot({ lowerDirs, target: join(tmp, 'before') }).catch(async (e: unknown) => {
        await snap.release();
        throw e;
      }) : undefined;
      let excludes: { excludePaths?: readonly string[]; ignoreDirs?: readonly string[] };
      try {
        excludes = await span('step.work', () => work(snap.target));
        if (before) await span('step.diff', async () => (await diffMod()).diffToUpper(before.target, snap.target, upper));
      } finally {
        await span('step.unmount', async () => {
          await snap.release();
          await before?.dispose();
        });
      }
      if (await isEmptyUpper(upper, excludes.ignoreDirs ?? [])) return { kind: 'fs', layers: parent, produced: false };
      // Directories copied up only to hold mount stubs (/etc for /etc/resolv.conf) are not changes when the process
      // left them alone: BuildKit's differ skips such metadata-identical copy-ups, so the layer has no trace of them.
      const skip = [...(excludes.excludePaths ?? []), ...(await unchangedCopyUps(upper, excludes.ignoreDirs ?? [], await lowerDirsOf(parent)))];
      const out = store.tempFile('layer');
      const blob = await span('step.write-layer', async () => (await layerMod()).writeLayer({
        upperDir: upper,
        out,
        compression: req.compression,
        ...(req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {}),
        ...(skip.length > 0 ? { excludePaths: skip } : {}),
      }));
      // writeLayer hashed exactly the bytes it wrote and fsynced them: no need to read the blob back.
      await span('step.ingest', () => store.blobs.adoptHashed(out, blob.digest));
      const layer: LayerRef = { digest: blob.digest, diffId: blob.diffId, size: blob.size, mediaType: blob.mediaType };
      // Keep the upperdir as the layer's snapshot (unless another build already made the same one).
      const id = `diff:${blob.diffId}`;
      if (!(await store.snapshots.has(id))) {
        const prep = await store.snapshots.prepare(id);
        try {
          await rm(prep.dir, { recursive: true, force: true });
          await rename(upper, prep.dir);
          await span('step.snapshot-commit', () => prep.commit({ diffId: blob.diffId, digest: blob.digest, step: step.description }));
        } catch (e) {
          await prep.abort();
          throw e;
        }
      }
      return { kind: 'fs', layers: [...parent, layer], produced: true };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  };

  const runExec = async (step: ExecStep, signal: AbortSignal): Promise<FsResult> => {
    const parent = fsOf(step.rootfs);
    if (parent.kind !== 'fs') throw new Error(`RUN on a non-filesystem input ${step.rootfs}`);
    const tail = new LineTail(20);
    return withLayer(step, parent.layers, async (root) => {
      const user = await span('exec.resolve-user', async () => (await usersMod()).resolveUser(root, step.user === '' ? 'root' : step.user)).catch((e: unknown) => {
        throw new StepFailedError(step, e instanceof Error ? e.message : String(e), { cause: e });
      });
      const scratch = await store.tempDir('mounts');
      const prepared = await (await runMountsMod()).prepareRunMounts(step.mounts, {
        resolveFrom: async (from) => {
          if (from === undefined) return (await getContext()).root;
          const r = fsOf(from);
          if (r.kind === 'context') return r.ctx.root;
          if (r.kind === 'url') return r.dir;
          // A stage or image as a bind source: mount a read-only view for the duration of the RUN.
          return mountView(r.layers);
        },
        cacheRoot: cacheMountRoot,
        secrets: new Map([...req.secrets].map(([id, s]) => [id, s.src ? { file: s.src } : { env: s.env ?? id }])),
        ssh: req.ssh,
        scratchDir: scratch,
        signal,
      });
      const mounts: OciMount[] = [...prepared.mounts];
      if (step.heredocFiles.length > 0) {
        const pipes = join(scratch, 'pipes');
        await mkdir(pipes, { recursive: true });
        for (const h of step.heredocFiles) await writeFile(join(pipes, h.name), h.content, { mode: h.mode });
        mounts.push({ destination: '/dev/pipes', type: 'bind', source: pipes, options: ['rbind', 'ro'] });
      }
      const network = step.network === 'default' ? (req.network === 'none' ? 'none' : 'host') : step.network;
      try {
        const res = await span('exec.sandbox-run', async () => (await getSandbox()).run(
          {
            rootfs: root,
            argv: [...step.argv],
            env: [...step.env, ...(step.proxyEnv ?? []), ...prepared.env],
            cwd: step.cwd,
            user,
            mounts,
            network,
            // checkEntitlements refused the build unless security.insecure was granted
            ...(step.security === 'insecure' ? { privileged: true } : {}),
            ...(step.stdin !== undefined ? { stdin: step.stdin } : {}),
          },
          {
            onStdout: (b) => {
              const data = b.toString('utf8');
              tail.push(data);
              emit({ type: 'step-log', time: Date.now(), id: step.id, stream: 'stdout', data });
            },
            onStderr: (b) => {
              const data = b.toString('utf8');
              tail.push(data);
              emit({ type: 'step-log', time: Date.now(), id: step.id, stream: 'stderr', data });
            },
            signal,
          },
        ));
        if (res.exitCode !== 0) {
          // BuildKit quotes the command with Go's %q, which also keeps a heredoc's multi-line script on one line.
          const message = `process ${goQuote(step.argv.join(' '))} did not complete successfully: exit code: ${res.exitCode}`;
          emit({ type: 'step-error', time: Date.now(), id: step.id, message, exitCode: res.exitCode, tail: tail.get() });
          throw new StepFailedError(step, message, { exitCode: res.exitCode, tail: tail.get() });
        }
        return { excludePaths: res.mountStubs, ignoreDirs: res.stubParents };
      } catch (e) {
        // Cancelled (Ctrl-C, or another step failed): the build fails with the cancellation's reason (exit 130 for
        // an interrupt), not with this step's "container killed" as if the RUN itself had failed.
        if (signal.aborted) {
          emit({ type: 'step-error', time: Date.now(), id: step.id, message: 'CANCELED', tail: tail.get() });
          throw signal.reason ?? e;
        }
        if (!(e instanceof StepFailedError)) {
          const message = e instanceof Error ? e.message : String(e);
          emit({ type: 'step-error', time: Date.now(), id: step.id, message, tail: tail.get() });
          throw new StepFailedError(step, message, { tail: tail.get(), cause: e });
        }
        throw e;
      } finally {
        await prepared.cleanup();
        await releaseViews();
        await rm(scratch, { recursive: true, force: true });
      }
    });
  };

  // Read-only views of other stages used as RUN bind-mount sources, released after the RUN.
  const views: Array<() => Promise<void>> = [];
  const mountView = async (layers: readonly LayerRef[]): Promise<string> => {
    const tmp = await store.tempDir('bindview');
    await Promise.all(['upper', 'work', 'root'].map((d) => mkdir(join(tmp, d))));
    const snap = await (await snapshotMod()).prepareSnapshot({ lowerDirs: await lowerDirsOf(layers), upperDir: join(tmp, 'upper'), workDir: join(tmp, 'work'), target: join(tmp, 'root'), forceCopy });
    views.push(async () => {
      await snap.release();
      await rm(tmp, { recursive: true, force: true });
    });
    return snap.target;
  };
  const releaseViews = async (): Promise<void> => {
    while (views.length > 0) await views.pop()!();
  };

  const ownerOf = async (root: string, chown: { user: string; group?: string } | undefined): Promise<{ uid: number; gid: number } | undefined> => {
    if (!chown) return undefined;
    const u = await (await usersMod()).resolveUser(root, chown.group !== undefined ? `${chown.user}:${chown.group}` : chown.user);
    return { uid: u.uid, gid: u.gid };
  };

  const runAction = async (step: FileStep, a: FileAction, root: string, signal: AbortSignal): Promise<void> => {
    const epoch = req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {};
    switch (a.action) {
      case 'mkdir':
        await (await fileopsMod()).makeDir(root, a.path, a.mode, await ownerOf(root, a.chown), a.parents, epoch);
        return;
      case 'mkfile':
        await (await fileopsMod()).makeFile(root, a.path, a.content, a.mode, await ownerOf(root, a.chown), epoch);
        return;
      case 'copy': {
        const src = fsOf(a.from);
        const chown = await ownerOf(root, a.chown);
        const base = {
          sources: a.sources,
          destRoot: root,
          dest: a.dest,
          ...(chown ? { chown } : {}),
          ...(a.chmod !== undefined ? { chmod: a.chmod } : {}),
          parents: a.parents,
          exclude: a.exclude,
          link: a.link,
          ...epoch,
        };
        if (src.kind === 'context') {
          await (await fileopsMod()).copy({ ...base, srcRoot: src.ctx.root, add: a.add, isIgnored: (p) => src.ctx.isIgnored(p) });
        } else if (src.kind === 'url') {
          await (await fileopsMod()).copy({ ...base, sources: [src.filename], srcRoot: src.dir, add: a.unpack === true, ...(chown ? {} : { chown: { uid: 0, gid: 0 } }) });
        } else {
          await withMountedFs(src.layers, async (from) => (await fileopsMod()).copy({ ...base, srcRoot: from, add: a.add, preserveOwnership: true }));
        }
        void signal;
        return;
      }
    }
  };

  const runFile = async (step: FileStep, signal: AbortSignal): Promise<FsResult> => {
    const parentId = step.rootfs ?? step.linkBase;
    const parent = parentId !== undefined ? fsOf(parentId) : ({ kind: 'fs', layers: [], produced: false } as const);
    if (parent.kind !== 'fs') throw new Error(`file step on a non-filesystem input`);
    const onEmpty = step.rootfs === undefined;
    try {
      const r = await withLayer(step, onEmpty ? [] : parent.layers, async (root) => {
        for (const a of step.actions) await runAction(step, a, root, signal);
        return {};
      });
      if (r.kind !== 'fs') return r;
      // --link: the layer was made on an empty root; stack it on the stage's filesystem.
      return onEmpty ? { kind: 'fs', layers: [...parent.layers, ...r.layers], produced: r.produced } : r;
    } catch (e) {
      if (e instanceof StepFailedError) throw e;
      if (signal.aborted) throw signal.reason ?? e;
      const message = e instanceof Error ? e.message : String(e);
      emit({ type: 'step-error', time: Date.now(), id: step.id, message, tail: [] });
      throw new StepFailedError(step, message, { cause: e });
    }
  };

  /**
   * COPY --link (a file step with a linkBase and no rootfs) makes its layer on an empty root, so, as with BuildKit's
   * MergeOp, neither its key nor its cache entry may depend on the stage below: the key leaves the base out, the
   * entry holds only the linked layers, and a hit is stacked on whatever base this build has.
   */
  const linkBaseOf = (step: Step): StepId | undefined => (step.kind === 'file' && step.rootfs === undefined ? step.linkBase : undefined);
  const linkStack = (step: Step, layers: readonly LayerRef[]): readonly LayerRef[] => {
    const base = linkBaseOf(step);
    if (base === undefined) return layers;
    const below = fsOf(base);
    return below.kind === 'fs' ? [...below.layers, ...layers] : layers;
  };
  const linkOwn = (step: Step, layers: readonly LayerRef[]): readonly LayerRef[] => {
    const base = linkBaseOf(step);
    if (base === undefined) return layers;
    const below = fsOf(base);
    return below.kind === 'fs' ? layers.slice(below.layers.length) : layers;
  };

  const runner: RealStepRunner = {
    contextDigests,
    async key(step, inputKeys) {
      const digests: string[] = [];
      if (step.contextSelectors.length > 0) {
        const ctx = await span('context.open', getContext);
        for (const sel of step.contextSelectors) digests.push(await span('context.digest', () => ctx.digestFor(sel)));
        contextDigests.set(step.id, digests);
        contextFiles.set(step.id, await span('context.record-files', () => Promise.all(step.contextSelectors.map((sel) => recordFiles(ctx, sel)))));
      }
      if (step.kind === 'source' && step.source.type === 'url') {
        // A URL's content is part of its key: fetch it now (BuildKit also checks the remote on every build).
        const dir = await store.tempDir('url');
        const filename = step.source.filename ?? (await fileopsMod()).urlFilename(step.source.url);
        const got = await (await fileopsMod()).fetchUrl(step.source.url, { destFile: join(dir, filename), ...(step.source.checksum ? { checksum: step.source.checksum } : {}) });
        urlResults.set(step.id, { kind: 'url', dir, filename, digest: got.digest });
        digests.push(got.digest);
      }
      const key = computeCacheKey(step, inputKeys, digests);
      stepKeys.set(step.id, key);
      return key;
    },
    lookupNeeds(step) {
      const base = linkBaseOf(step);
      return base === undefined ? [] : [base];
    },
    async lookup(step, key) {
      let r: FsResult | undefined;
      if (step.kind === 'source') {
        r = await sourceResult(step);
      } else {
        const hit = await store.cacheIndex.get(key, layersPresent);
        if (hit) r = { kind: 'fs', layers: linkStack(step, hit.layers), produced: hit.meta?.produced === true, createdAt: hit.createdAt };
      }
      if (r) results.set(step.id, r);
      return r;
    },
    async run(step, _inputs, key, signal) {
      let r: FsResult;
      if (step.kind === 'source') {
        const s = await sourceResult(step);
        if (!s) throw new Error(`unresolvable source ${step.description}`);
        r = s;
      } else {
        // One process computes a given key at a time; whoever waited reuses the result (CI runners share stores).
        const release = await span('step.lock', () => store.lock(`step-${key.replace(/[^a-z0-9]/gi, '').slice(-64)}`, { signal, purpose: step.description }));
        try {
          const hit = req.noCache ? undefined : await store.cacheIndex.get(key);
          if (hit) r = { kind: 'fs', layers: linkStack(step, hit.layers), produced: hit.meta?.produced === true, createdAt: hit.createdAt };
          else {
            r = step.kind === 'exec' ? await runExec(step, signal) : await runFile(step, signal);
            if (r.kind === 'fs') {
              const createdAt = new Date().toISOString();
              await store.cacheIndex.put(key, { layers: linkOwn(step, r.layers), createdAt, meta: { produced: r.produced } });
              r = { ...r, createdAt };
            }
          }
        } finally {
          await release();
        }
      }
      results.set(step.id, r);
      return r;
    },
    async exportImage(image, out) {
      const img: ExportImage = {
        manifest: image.manifestBytes,
        config: image.configBytes,
        layers: image.layers,
        blobSource: (d: Digest) => store.blobs.openRead(d),
        tags: [...req.tags],
      };
      switch (out.type) {
        case 'oci':
          await (await exportMod()).exportOciArchive(img, out.dest);
          return;
        case 'docker':
          await (await exportMod()).exportDockerArchive(img, out.dest);
          return;
        case 'local':
          await (await exportMod()).exportLocal(img, out.dest);
          return;
        case 'tar':
          await (await exportMod()).exportFsTar(img, out.dest, req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {});
          return;
        case 'image':
          return;
      }
    },
    async writeRecord({ outcomes, image, durationMs, started }) {
      const steps = [...graph.steps.values()].map((s) => {
        const o = outcomes.get(s.id);
        const digests = contextDigests.get(s.id);
        return {
          id: s.id,
          description: s.origin?.text ?? s.description,
          kind: s.kind,
          definitionDigest: s.definitionDigest,
          inputKeys: s.inputs.map((i) => stepKeys.get(i) ?? ''),
          ...(o ? { cacheKey: o.key, cached: o.cached, durationMs: o.durationMs } : { ...(stepKeys.has(s.id) ? { cacheKey: stepKeys.get(s.id), skipped: true } : {}), cached: false }),
          ...(digests ? { contextDigests: Object.fromEntries(s.contextSelectors.map((sel, i) => [sel.include.join(' '), digests[i] ?? ''])) } : {}),
          inputs: [...s.inputs],
          ...(s.origin
            ? { origin: { stage: s.origin.stage, stageIndex: s.origin.stageIndex, line: s.origin.range.start.line, instructionIndex: s.origin.instructionIndex } }
            : {}),
          definition: compactDefinition(definitionOf(s)),
          ...(contextFiles.has(s.id)
            ? {
                contextFiles: Object.fromEntries(
                  s.contextSelectors.flatMap((sel, i) => {
                    const f = contextFiles.get(s.id)?.[i];
                    return f ? [[sel.include.join(' '), f]] : [];
                  }),
                ),
              }
            : {}),
          ...(o && o.result.kind === 'fs' ? { result: { layers: o.result.layers, createdAt: new Date(started).toISOString() } } : {}),
        };
      });
      await span('context.save', async () => context?.save());
      return store.records.write({
        startedAt: new Date(started).toISOString(),
        finishedAt: new Date(started + durationMs).toISOString(),
        context: req.contextDir,
        dockerfile: req.dockerfile.path,
        ...(req.target !== undefined ? { target: req.target } : {}),
        tags: req.tags,
        buildArgs: Object.fromEntries(req.buildArgs),
        steps,
        image: { manifestDigest: image.manifestDigest, configDigest: image.configDigest },
        status: 'success',
        ...(context ? { contextStats: { filesRead: context.stats.filesRead, bytesRead: context.stats.bytesRead, statCacheHits: context.stats.statCacheHits } } : {}),
        host: {
          hostname: hostname(),
          platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
          uid: process.getuid?.() ?? -1,
          gid: process.getgid?.() ?? -1,
          umask: process.umask(),
        },
      });
    },
    async dispose() {
      await releaseViews();
      for (const r of urlResults.values()) if (r.kind === 'url') await rm(r.dir, { recursive: true, force: true });
    },
  };

  const sourceResult = async (step: Step & { kind: 'source' }): Promise<FsResult | undefined> => {
    const src = step.source;
    switch (src.type) {
      case 'scratch':
        return { kind: 'fs', layers: [], produced: false };
      case 'context':
        return { kind: 'context', ctx: await getContext() };
      case 'url':
        return urlResults.get(step.id);
      case 'image': {
        const img = deps.resolvedImages.get(src.ref);
        if (!img) return undefined;
        const layers = imageLayers(img, src.ref);
        // Unpack missing snapshots now, so that the first RUN does not pay for it inside its own timing.
        await Promise.all(layers.map(snapshotOf));
        return { kind: 'fs', layers, produced: false };
      }
    }
  };

  // A key is computed before its step starts; failing there (a COPY source missing from the context, an ADD URL
  // that cannot be fetched or does not match its --checksum) is the instruction's failure and is reported at its
  // position, with the Dockerfile excerpt, like a failing RUN. URL sources borrow the position of the ADD using them.
  const computeKey = runner.key;
  const keyFailure = (step: Step, e: unknown): unknown => {
    if (e instanceof StepFailedError) return e;
    const at = step.origin ? step : [...graph.steps.values()].find((s) => s.origin !== undefined && s.inputs.includes(step.id));
    if (!at) return e;
    const message = e instanceof Error ? e.message : String(e);
    emit({ type: 'step-error', time: Date.now(), id: at.id, message, tail: [] });
    return new StepFailedError(at, message, { cause: e });
  };
  return {
    ...runner,
    async key(step, inputKeys) {
      // --link and SOURCE_DATE_EPOCH are part of the compiler's keys (computeCacheKey, definitionOf), so `tsbuild plan`
      // shows exactly these keys.
      try {
        return await computeKey(step, inputKeys);
      } catch (e) {
        throw keyFailure(step, e);
      }
    },
  };
}

/** A string quoted as Go's `%q` prints it (backslash escapes for quotes, backslashes and control characters). */
function goQuote(s: string): string {
  const named: Readonly<Record<string, string>> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v' };
  return `"${s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

/**
 * Of `dirs` (rootfs-relative directories that got mount stubs), those whose upperdir copy is empty (apart from other
 * such directories) and has the mode, owner and mtime of the directory below it: copy-ups the sandbox caused, not
 * changes the process made. (A directory the process emptied and recreated has a new mtime, so it is kept.)
 */
async function unchangedCopyUps(upper: string, dirs: readonly string[], lowerDirs: readonly string[]): Promise<string[]> {
  const rels = dirs.map((d) => d.replace(/^\/+|\/+$/g, '')).filter((d) => d !== '');
  // Deepest first, so a parent whose only entry is an unchanged copy-up counts as empty.
  rels.sort((a, b) => b.split('/').length - a.split('/').length);
  const out: string[] = [];
  for (const rel of rels) {
    const up = join(upper, rel);
    const st = await lstat(up).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const entries = await readdir(up);
    if (entries.some((e) => !out.includes(rel ? `${rel}/${e}` : e))) continue;
    let below: Stats | undefined;
    for (const l of lowerDirs) {
      below = await lstat(join(l, rel)).catch(() => undefined);
      if (below) break;
    }
    if (!below?.isDirectory()) continue;
    if (below.mode === st.mode && below.uid === st.uid && below.gid === st.gid && Math.floor(below.mtimeMs) === Math.floor(st.mtimeMs)) out.push(rel);
  }
  return out;
}

/** True when the upperdir holds nothing but directories the sandbox copied up only to hold mount stubs. */
async function isEmptyUpper(upper: string, ignoreDirs: readonly string[]): Promise<boolean> {
  const ignore = new Set(ignoreDirs.map((d) => d.replace(/^\/+|\/+$/g, '')));
  const walk = async (dir: string, rel: string): Promise<boolean> => {
    for (const name of await readdir(dir)) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, name));
      if (!st.isDirectory() || !ignore.has(r)) return false;
      if (!(await walk(join(dir, name), r))) return false;
    }
    return true;
  };
  return walk(upper, '');
}

export { digestOf };

/** Largest JSON value kept verbatim in a record's step definition; bigger ones are kept as their digest. */
const RECORD_VALUE_LIMIT = 512;

/** The definition with big values (heredoc bodies, long scripts) replaced by `{ digest }`: records stay small. */
function compactDefinition(v: unknown): unknown {
  const json = canonicalJson(v ?? null);
  if (Buffer.byteLength(json) <= RECORD_VALUE_LIMIT) return v;
  if (Array.isArray(v)) return v.map(compactDefinition);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, compactDefinition(x)]));
  return { digest: digestOf(json) };
}

/** Selectors matching this many entries or more get no per-file listing in the record (the walk stops at this many). */
const RECORD_FILES_LIMIT = 10_000;

/**
 * Per-entry listing of what a selector reads, with each file's own context digest, so that `tsbuild diff --builds`
 * can name the files (and the attribute: mode, owner, size, content) that changed a COPY's key.
 */
async function recordFiles(ctx: ContextSnapshot, sel: { readonly include: readonly string[]; readonly exclude: readonly string[] }): Promise<readonly BuildRecordContextFile[] | undefined> {
  // a context too large to record is not listed: counted first, without materialising its entries (listing the
  // first 10,000 of a 20,000-file context cost a no-op build 31-37 ms)
  if ((await ctx.countEntries(sel, RECORD_FILES_LIMIT)) >= RECORD_FILES_LIMIT) return undefined;
  const matches = await ctx.files(sel);
  const seen = new Map<string, BuildRecordContextFile>();
  for (const m of matches) {
    for (const e of m.entries) {
      if (seen.has(e.path)) continue;
      let digest: string | undefined;
      if (e.type === 'file' || e.type === 'symlink') {
        // The entry alone, as a pattern: wildcard characters in its name are escaped (Go path.Match `\`).
        const escaped = e.path.replace(/[*?[\\]/g, (c) => `\\${c}`);
        digest = await ctx.digestFor({ include: [escaped], exclude: [] }).catch(() => undefined);
      }
      seen.set(e.path, {
        path: e.path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
        ...(digest !== undefined ? { digest } : {}),
      });
    }
  }
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
