import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command, Io } from '../command.ts';
import { parseArgs, bool, str } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore, type Store } from '../../cache/index.ts';
import type { BuildRecord } from '../../cache/types.ts';
import { TsbuildError } from '../../util/errors.ts';

export const command: Command = {
  name: 'diff',
  summary: 'Compare two images, two builds, or the caches of two stores',
  help: `Usage: tsbuild diff [OPTIONS] IMAGE_A IMAGE_B
       tsbuild diff --semantic IMAGE_A IMAGE_B
       tsbuild diff --builds [OLD [NEW]]
       tsbuild diff --caches STORE_A [STORE_B]

Compare two images: config differences (env, cmd, entrypoint, user, ports, labels, ...), the layer table side
by side (= shared, ~ differs, - only in A, + only in B) and file-level changes of the stacked file systems (A added, D
removed, M modified with the attributes that differ: type, mode, owner, size, content, link, xattrs). Layers are
streamed: memory does not grow with image size.

An image is a name or ID in the store, an OCI archive or docker-archive tar (a path, or oci-archive:PATH /
docker-archive:PATH), an OCI layout directory (a path, or oci:DIR), or docker://REF (pulled into the store first).

Options:
      --format FORMAT   text (default) or json
      --timestamps      Also compare modification times and the config's "created"
      --layer N         Compare only layer N (0-based) of each image
      --semantic        Ignore history, timestamps, file order, tar format and compression (as diffoci
                        --semantic); exit 1 when the images differ: a reproducibility gate for CI
      --builds          Compare two build records (ids or id prefixes from "tsbuild builds", or JSON files
                        from "tsbuild builds export"); default: the last two builds of the same Dockerfile.
                        For every step whose cache key changed, names the cause: context files (path, old and
                        new digests, mode/owner), build-arg or ENV value, base image digest, instruction text,
                        or the parent step that changed first
      --caches          Compare the cache keys of two stores (STORE_B defaults to the current store)

Examples:
  tsbuild diff myapp:1 myapp:2
  tsbuild diff --semantic oci-archive:a.tar oci-archive:b.tar
  tsbuild diff --builds
  tsbuild diff --builds 20260101T1200 other-machine.json
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('diff', args, [
      { name: 'format', type: 'string' },
      { name: 'timestamps', type: 'boolean' },
      { name: 'layer', type: 'string' },
      { name: 'semantic', type: 'boolean' },
      { name: 'builds', type: 'boolean' },
      { name: 'caches', type: 'boolean' },
    ]);
    const format = str(values.format) ?? 'text';
    if (format !== 'text' && format !== 'json') throw new TsbuildError('usage/format', `invalid --format "${format}"`, { exitCode: 2, suggestion: 'use text or json' });
    const out = (text: string, obj: unknown): void => {
      io.stdout.write(format === 'json' ? `${JSON.stringify(obj, null, 2)}\n` : text);
    };
    const d = await import('../../diff/index.ts');
    let store: Store | undefined;
    const getStore = async (): Promise<Store> => (store ??= await openStore(defaultStoreRoot(io.env)));

    if (bool(values.builds)) {
      if (positionals.length > 2) throw new TsbuildError('usage/too-many-arguments', '"tsbuild diff --builds" takes at most 2 arguments (OLD NEW)', { exitCode: 2 });
      const [oldRec, newRec] = await pickRecords(positionals, await getStore(), io);
      const e = d.explainBuilds(oldRec, newRec);
      out(d.renderExplanation(e), e);
      return 0;
    }
    if (bool(values.caches)) {
      if (positionals.length < 1 || positionals.length > 2)
        throw new TsbuildError('usage/missing-argument', '"tsbuild diff --caches" takes 1 or 2 store directories', { exitCode: 2 });
      const open = async (p: string): Promise<Store> => {
        const dir = resolve(io.cwd, p);
        if (!existsSync(dir)) throw new TsbuildError('diff/no-store', `no store at ${dir}`);
        return openStore(dir);
      };
      const a = await open(positionals[0]!);
      const b = positionals[1] !== undefined ? await open(positionals[1]) : await getStore();
      const r = await d.diffCaches(a, b);
      out(d.renderCacheDiff(r), r);
      return 0;
    }
    if (positionals.length !== 2)
      throw new TsbuildError('usage/missing-argument', `"tsbuild diff" requires exactly 2 images, got ${positionals.length}`, { exitCode: 2, suggestion: 'usage: tsbuild diff IMAGE_A IMAGE_B' });
    const layerArg = str(values.layer);
    let layer: number | undefined;
    if (layerArg !== undefined) {
      layer = Number(layerArg);
      if (!/^\d+$/.test(layerArg)) throw new TsbuildError('usage/layer', `invalid --layer "${layerArg}": a 0-based layer index`, { exitCode: 2 });
    }
    const deps = { store: getStore, cwd: io.cwd, pull: registryPull(getStore, io) };
    const a = await d.openImage(positionals[0]!, deps);
    const b = await d.openImage(positionals[1]!, deps);
    if (bool(values.semantic)) {
      const r = await d.semanticCompare(a, b);
      out(d.renderSemantic(r, a.label, b.label), r);
      return r.equal ? 0 : 1;
    }
    const r = await d.diffImages(a, b, { timestamps: bool(values.timestamps), ...(layer !== undefined ? { layer } : {}) });
    out(d.renderImageDiff(r), r);
    return 0;
  },
};

/** A record by id (prefix) in the store, or an exported record file. */
async function loadRecord(arg: string, store: Store, io: Io): Promise<BuildRecord> {
  const path = resolve(io.cwd, arg);
  if ((arg.endsWith('.json') || arg.includes('/')) && existsSync(path)) {
    let r: BuildRecord;
    try {
      r = JSON.parse(readFileSync(path, 'utf8')) as BuildRecord;
    } catch (e) {
      throw new TsbuildError('diff/bad-record', `cannot read build record ${arg}: ${(e as Error).message}`);
    }
    if (r.version !== 1 || !Array.isArray(r.steps)) throw new TsbuildError('diff/bad-record', `${arg} is not a tsbuild build record (version 1)`);
    return r;
  }
  return store.records.get(arg);
}

async function pickRecords(positionals: readonly string[], store: Store, io: Io): Promise<[BuildRecord, BuildRecord]> {
  const { previousRecord } = await import('../../diff/index.ts');
  if (positionals.length === 2) return [await loadRecord(positionals[0]!, store, io), await loadRecord(positionals[1]!, store, io)];
  const all = await store.records.list();
  const newest = positionals.length === 1 ? undefined : [...all].reverse().find((r) => r.status === 'success');
  if (positionals.length === 1) {
    // One argument: compare it with the latest build of the same Dockerfile.
    const old = await loadRecord(positionals[0]!, store, io);
    const latest = [...all].reverse().find((r) => r.id !== old.id && r.status === 'success' && r.dockerfile === old.dockerfile && r.context === old.context);
    if (!latest) throw new TsbuildError('diff/no-previous-build', `no other build of ${old.dockerfile ?? 'that Dockerfile'} to compare ${old.id} with`);
    return old.id < latest.id ? [old, latest] : [latest, old];
  }
  if (!newest) throw new TsbuildError('diff/no-builds', 'the store has no build records', { suggestion: 'build something first: tsbuild -t NAME .' });
  const prev = previousRecord(all, newest);
  if (!prev) throw new TsbuildError('diff/no-previous-build', `only one build of ${newest.dockerfile ?? 'the last Dockerfile'} is recorded`, { suggestion: 'build it again, or name two records: tsbuild diff --builds OLD NEW' });
  return [prev, newest];
}

/** `docker://REF`: pulled into the store with the registry client (credentials and mirrors as for "tsbuild pull"). */
export function registryPull(getStore: () => Promise<Store>, io: Io): (ref: string) => Promise<string> {
  return async (ref) => {
    const [{ pullImage }, { registryClient }] = await Promise.all([import('../../registry/pull.ts'), import('./pull.ts')]);
    const client = await registryClient({}, io);
    try {
      return (await pullImage(await getStore(), ref, { client })).name;
    } finally {
      await client.close();
    }
  };
}
