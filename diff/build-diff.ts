/**
 * `tsbuild diff --builds OLD NEW` and `tsbuild build --explain`: why steps of NEW were not served by OLD's cache.
 *
 * Steps are matched across the two records even when lines moved: by equal cache key, then by equal instruction
 * text in the same stage (nearest position), then anywhere, then as "the same kind of step on the matched parent"
 * (an edited instruction). For every matched step whose key changed, the causes are taken apart from what the
 * records keep: the instruction text, the normalised definition (which ENV or build-arg value, the base image
 * digest, the platform, any other field), the per-file context listing (which files were added, removed or
 * modified, and which attribute: mode, owner, size, content, link), and the inputs ("parent step changed",
 * pointing at the first step with a cause of its own). Differences between the machines (umask, uid, platform)
 * are reported beside the files they explain. Pure: records in, explanation out.
 */
import type { BuildRecord, BuildRecordContextFile, BuildRecordStep } from '../cache/types.ts';
import { canonicalJson } from '../util/digest.ts';

/** A step as the explanation names it. `line` is 1-based. */
export interface StepRef {
  readonly id: string;
  readonly description: string;
  readonly stage?: string;
  readonly line?: number;
}

/** One context entry that differs. `attributes` (for `modified`): type, mode, owner, size, content, link. */
export interface ContextFileChange {
  readonly path: string;
  readonly change: 'added' | 'removed' | 'modified';
  readonly attributes?: readonly string[];
  readonly old?: BuildRecordContextFile;
  readonly new?: BuildRecordContextFile;
}

/** Why a step's key moved. */
export type Cause =
  | { readonly kind: 'new-step' }
  | { readonly kind: 'instruction-changed'; readonly old: string; readonly new: string }
  | { readonly kind: 'base-image-changed'; readonly ref: string; readonly old?: string; readonly new?: string }
  | { readonly kind: 'build-arg-changed'; readonly name: string; readonly old?: string; readonly new?: string }
  | { readonly kind: 'env-changed'; readonly name: string; readonly old?: string; readonly new?: string }
  | { readonly kind: 'platform-changed'; readonly old?: string; readonly new?: string }
  | { readonly kind: 'definition-changed'; readonly field: string; readonly old?: unknown; readonly new?: unknown }
  | {
      readonly kind: 'context-changed';
      readonly selector: string;
      readonly oldDigest?: string;
      readonly newDigest?: string;
      /** Empty with `listed: false` when a record kept no per-file listing (≥ 10,000 entries or an old record). */
      readonly files: readonly ContextFileChange[];
      readonly listed: boolean;
    }
  | { readonly kind: 'parent-changed'; readonly parent: StepRef; readonly rootCauses: readonly StepRef[] }
  /** The step now builds on a different step than it did (instructions reordered, inserted or removed before it). */
  | { readonly kind: 'order-changed'; readonly after: StepRef; readonly wasAfter?: StepRef }
  | { readonly kind: 'cache-miss' }
  | { readonly kind: 'unknown' };

export interface StepExplanation {
  readonly step: StepRef;
  /** The matched step of OLD, if any. */
  readonly old?: StepRef;
  /** Whether NEW ran the step or took it from the cache. */
  readonly ran: boolean;
  /** NEW neither ran it nor had it cached: nothing its image needed depended on it (a builder whose COPY --from hit). */
  readonly skipped?: boolean;
  readonly causes: readonly Cause[];
}

/** A machine attribute that differs between the two builds (`umask`, `uid`, `gid`, `platform`, `hostname`). */
export interface HostChange {
  readonly attribute: string;
  readonly old: string;
  readonly new: string;
}

export interface BuildExplanation {
  readonly old: { readonly id: string; readonly startedAt: string; readonly dockerfile?: string };
  readonly new: { readonly id: string; readonly startedAt: string; readonly dockerfile?: string };
  /** Steps of NEW whose key differs from OLD's (or that ran despite an equal key), in NEW's order. */
  readonly steps: readonly StepExplanation[];
  readonly host: readonly HostChange[];
  /** Steps of OLD that NEW no longer has. */
  readonly removed: readonly StepRef[];
}

const ref = (s: BuildRecordStep): StepRef => ({
  id: s.id,
  description: s.description,
  ...(s.origin ? { stage: s.origin.stage, line: s.origin.line } : {}),
});

/** Steps worth explaining: everything but the context and scratch sources (they have no content of their own). */
function relevant(s: BuildRecordStep): boolean {
  if (s.kind !== 'source') return true;
  return s.description !== 'load build context' && !/^FROM scratch\b/i.test(s.description) && s.description !== 'scratch';
}

/** Matches NEW's steps to OLD's. Returns new id → old step. */
export function matchSteps(oldSteps: readonly BuildRecordStep[], newSteps: readonly BuildRecordStep[]): Map<string, BuildRecordStep> {
  const match = new Map<string, BuildRecordStep>();
  const used = new Set<string>();
  const take = (n: BuildRecordStep, o: BuildRecordStep): void => {
    match.set(n.id, o);
    used.add(o.id);
  };
  const free = (pred: (o: BuildRecordStep) => boolean): BuildRecordStep[] => oldSteps.filter((o) => !used.has(o.id) && pred(o));
  const dist = (n: BuildRecordStep, o: BuildRecordStep): number => Math.abs((n.origin?.line ?? 0) - (o.origin?.line ?? 0));
  const nearest = (n: BuildRecordStep, cands: BuildRecordStep[]): BuildRecordStep | undefined => cands.sort((x, y) => dist(n, x) - dist(n, y))[0];
  // 1. Equal cache keys: the same step, wherever it moved.
  for (const n of newSteps) {
    if (!n.cacheKey) continue;
    const o = nearest(n, free((o) => o.cacheKey === n.cacheKey && o.kind === n.kind));
    if (o) take(n, o);
  }
  // 2. Same instruction text in the same stage; 3. anywhere.
  for (const sameStage of [true, false]) {
    for (const n of newSteps) {
      if (match.has(n.id)) continue;
      const o = nearest(n, free((o) => o.kind === n.kind && o.description === n.description && (!sameStage || o.origin?.stage === n.origin?.stage)));
      if (o) take(n, o);
    }
  }
  // 4. An edited instruction: the same kind of step on the matched parent (inputs[0] is the rootfs / previous step).
  const byId = new Map(newSteps.map((s) => [s.id, s]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of newSteps) {
      if (match.has(n.id) || n.kind === 'source') continue;
      const parent = n.inputs?.[0] !== undefined ? byId.get(n.inputs[0]) : undefined;
      const op = parent ? match.get(parent.id) : undefined;
      if (!op) continue;
      const o = nearest(n, free((o) => o.kind === n.kind && o.inputs?.[0] === op.id));
      if (o) {
        take(n, o);
        changed = true;
      }
    }
  }
  // 5. FROM lines that changed their image: the source step that starts the same stage.
  for (const n of newSteps) {
    if (match.has(n.id) || n.kind !== 'source' || !n.origin) continue;
    const o = free((o) => o.kind === 'source' && o.origin?.stage === n.origin!.stage && o.origin?.instructionIndex === n.origin!.instructionIndex)[0];
    if (o) take(n, o);
  }
  return match;
}

/** Flattens JSON into dotted paths (arrays of `K=V` strings become keyed by K, so one ENV entry is one path). */
function flatten(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' && /^[^=]+=/.test(x)) && v.length > 0 && prefix.endsWith('env')) {
    for (const e of v as string[]) {
      const eq = e.indexOf('=');
      out.set(`${prefix}.${e.slice(0, eq)}`, e.slice(eq + 1));
    }
    return;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !('digest' in v && Object.keys(v).length === 1)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix === '' ? k : `${prefix}.${k}`, out);
    return;
  }
  out.set(prefix, v);
}

function definitionCauses(o: BuildRecordStep, n: BuildRecordStep, oldRec: BuildRecord, newRec: BuildRecord, textChanged: boolean): Cause[] {
  if (o.definitionDigest !== undefined && o.definitionDigest === n.definitionDigest) return [];
  const causes: Cause[] = [];
  const fo = new Map<string, unknown>();
  const fn = new Map<string, unknown>();
  flatten(o.definition ?? {}, '', fo);
  flatten(n.definition ?? {}, '', fn);
  const keys = [...new Set([...fo.keys(), ...fn.keys()])].sort();
  const str = (x: unknown): string | undefined => (x === undefined ? undefined : typeof x === 'string' ? x : canonicalJson(x));
  const buildArgNames = new Set([...Object.keys(oldRec.buildArgs ?? {}), ...Object.keys(newRec.buildArgs ?? {})]);
  for (const k of keys) {
    const x = fo.get(k);
    const y = fn.get(k);
    if (canonicalJson(x ?? null) === canonicalJson(y ?? null)) continue;
    const env = /^env\.(.+)$/.exec(k);
    if (env) {
      const name = env[1]!;
      const isArg = buildArgNames.has(name) && (oldRec.buildArgs?.[name] ?? undefined) !== (newRec.buildArgs?.[name] ?? undefined);
      causes.push({ kind: isArg ? 'build-arg-changed' : 'env-changed', name, ...(x !== undefined ? { old: str(x)! } : {}), ...(y !== undefined ? { new: str(y)! } : {}) });
    } else if (k === 'source.resolvedDigest') {
      causes.push({ kind: 'base-image-changed', ref: String(fn.get('source.ref') ?? fo.get('source.ref') ?? ''), ...(x !== undefined ? { old: str(x)! } : {}), ...(y !== undefined ? { new: str(y)! } : {}) });
    } else if (k === 'platform' || k === 'source.platform') {
      if (!causes.some((c) => c.kind === 'platform-changed')) causes.push({ kind: 'platform-changed', ...(x !== undefined ? { old: str(x)! } : {}), ...(y !== undefined ? { new: str(y)! } : {}) });
    } else if (!textChanged) {
      causes.push({ kind: 'definition-changed', field: k, ...(x !== undefined ? { old: x } : {}), ...(y !== undefined ? { new: y } : {}) });
    }
  }
  // Old records without a definition: say what is known.
  if (causes.length === 0 && !textChanged) causes.push({ kind: 'definition-changed', field: 'definition', old: o.definitionDigest, new: n.definitionDigest });
  return causes;
}

function fileAttributes(x: BuildRecordContextFile, y: BuildRecordContextFile): string[] {
  const a: string[] = [];
  if (x.type !== y.type) a.push('type');
  if (x.mode !== y.mode) a.push('mode');
  if (x.uid !== y.uid || x.gid !== y.gid) a.push('owner');
  if (x.size !== y.size) a.push('size', 'content');
  if ((x.linkTarget ?? '') !== (y.linkTarget ?? '')) a.push('link');
  // The entry digest covers metadata and content: when it moved and nothing else did, the content did.
  // The entry digest covers metadata and content: when it moved and no recorded attribute did, the content did.
  // (When metadata moved too, the record cannot tell whether the content also changed.)
  if (a.length === 0 && (x.digest ?? '') !== (y.digest ?? '')) a.push('content');
  return a;
}

function contextCauses(o: BuildRecordStep, n: BuildRecordStep): Cause[] {
  const causes: Cause[] = [];
  const labels = [...new Set([...Object.keys(o.contextDigests ?? {}), ...Object.keys(n.contextDigests ?? {})])];
  for (const sel of labels) {
    const od = o.contextDigests?.[sel];
    const nd = n.contextDigests?.[sel];
    if (od === nd) continue;
    const of = o.contextFiles?.[sel];
    const nf = n.contextFiles?.[sel];
    const files: ContextFileChange[] = [];
    if (of && nf) {
      const om = new Map(of.map((f) => [f.path, f]));
      const nm = new Map(nf.map((f) => [f.path, f]));
      for (const p of [...new Set([...om.keys(), ...nm.keys()])].sort()) {
        const x = om.get(p);
        const y = nm.get(p);
        if (!x) files.push({ path: p, change: 'added', new: y! });
        else if (!y) files.push({ path: p, change: 'removed', old: x });
        else {
          const attributes = fileAttributes(x, y);
          if (attributes.length > 0) files.push({ path: p, change: 'modified', attributes, old: x, new: y });
        }
      }
    }
    causes.push({
      kind: 'context-changed',
      selector: sel,
      ...(od !== undefined ? { oldDigest: od } : {}),
      ...(nd !== undefined ? { newDigest: nd } : {}),
      files,
      listed: of !== undefined && nf !== undefined,
    });
  }
  return causes;
}

/** Explains NEW against OLD. */
export function explainBuilds(oldRec: BuildRecord, newRec: BuildRecord): BuildExplanation {
  const match = matchSteps(oldRec.steps, newRec.steps);
  const newById = new Map(newRec.steps.map((s) => [s.id, s]));
  const own = new Map<string, Cause[]>();
  const changedKey = (n: BuildRecordStep): boolean => {
    const o = match.get(n.id);
    return !o || o.cacheKey !== n.cacheKey;
  };
  for (const n of newRec.steps) {
    if (!relevant(n)) continue;
    const o = match.get(n.id);
    if (!o) {
      own.set(n.id, [{ kind: 'new-step' }]);
      continue;
    }
    if (o.cacheKey === n.cacheKey) continue;
    const causes: Cause[] = [];
    const textChanged = o.description !== n.description;
    if (textChanged) causes.push({ kind: 'instruction-changed', old: o.description, new: n.description });
    causes.push(...definitionCauses(o, n, oldRec, newRec, textChanged));
    causes.push(...contextCauses(o, n));
    own.set(n.id, causes);
  }
  const oldById = new Map(oldRec.steps.map((s) => [s.id, s]));
  /** Whether input `i` of `n` is a different step than input `i` of its match (the instruction moved). */
  const movedInput = (n: BuildRecordStep, i: number): boolean => {
    const o = match.get(n.id);
    const inp = n.inputs?.[i];
    const oldInp = o?.inputs?.[i];
    if (!o || inp === undefined || oldInp === undefined) return false;
    return match.get(inp)?.id !== oldInp;
  };
  /** The inputs of `n` whose keys changed, as NEW steps, with their index. */
  const changedInputs = (n: BuildRecordStep): Array<{ step: BuildRecordStep; index: number }> => {
    const o = match.get(n.id);
    const out: Array<{ step: BuildRecordStep; index: number }> = [];
    (n.inputs ?? []).forEach((id, i) => {
      const inp = newById.get(id);
      if (!inp || !relevant(inp)) return;
      const oldKey = o?.inputKeys?.[i];
      if (oldKey === undefined ? changedKey(inp) : oldKey !== n.inputKeys?.[i]) out.push({ step: inp, index: i });
    });
    return out;
  };
  const rootsMemo = new Map<string, StepRef[]>();
  const roots = (n: BuildRecordStep): StepRef[] => {
    const hit = rootsMemo.get(n.id);
    if (hit) return hit;
    rootsMemo.set(n.id, []);
    const mine = own.get(n.id) ?? [];
    let r: StepRef[];
    const inputs = changedInputs(n);
    if (mine.length > 0 || inputs.some((p) => movedInput(n, p.index))) r = [ref(n)];
    else {
      const seen = new Map<string, StepRef>();
      for (const p of inputs) for (const x of roots(p.step)) seen.set(x.id, x);
      r = [...seen.values()];
    }
    rootsMemo.set(n.id, r);
    return r;
  };
  const steps: StepExplanation[] = [];
  for (const n of newRec.steps) {
    if (!relevant(n)) continue;
    const o = match.get(n.id);
    const causes: Cause[] = [...(own.get(n.id) ?? [])];
    if (o && o.cacheKey === n.cacheKey) {
      // Same key: the step was not reused although OLD had it (pruned cache, --no-cache, another store).
      if (!n.cached && !n.skipped && n.kind !== 'source') causes.push({ kind: 'cache-miss' });
    } else if (o) {
      for (const p of changedInputs(n)) {
        if (movedInput(n, p.index)) {
          const was = oldById.get(match.get(n.id)!.inputs![p.index]!);
          causes.push({ kind: 'order-changed', after: ref(p.step), ...(was ? { wasAfter: ref(was) } : {}) });
        } else causes.push({ kind: 'parent-changed', parent: ref(p.step), rootCauses: roots(p.step) });
      }
      if (causes.length === 0) causes.push({ kind: 'unknown' });
    }
    if (causes.length > 0) steps.push({ step: ref(n), ...(o ? { old: ref(o) } : {}), ran: !n.cached && !n.skipped, ...(n.skipped ? { skipped: true } : {}), causes });
  }
  const matched = new Set([...match.values()].map((o) => o.id));
  const removed = oldRec.steps.filter((o) => relevant(o) && !matched.has(o.id)).map(ref);
  const host: HostChange[] = [];
  if (oldRec.host && newRec.host) {
    const oh = oldRec.host;
    const nh = newRec.host;
    const pairs: Array<[string, string, string]> = [
      ['hostname', oh.hostname, nh.hostname],
      ['platform', oh.platform, nh.platform],
      ['uid', String(oh.uid), String(nh.uid)],
      ['gid', String(oh.gid), String(nh.gid)],
      ['umask', `0${oh.umask.toString(8).padStart(3, '0')}`, `0${nh.umask.toString(8).padStart(3, '0')}`],
    ];
    for (const [attribute, x, y] of pairs) if (x !== y) host.push({ attribute, old: x, new: y });
  }
  return {
    old: { id: oldRec.id, startedAt: oldRec.startedAt, ...(oldRec.dockerfile !== undefined ? { dockerfile: oldRec.dockerfile } : {}) },
    new: { id: newRec.id, startedAt: newRec.startedAt, ...(newRec.dockerfile !== undefined ? { dockerfile: newRec.dockerfile } : {}) },
    steps,
    host,
    removed,
  };
}

/**
 * The record to compare `rec` with by default: the latest earlier successful record of the same Dockerfile and
 * context (and target). `records` oldest first.
 */
export function previousRecord(records: readonly BuildRecord[], rec: BuildRecord): BuildRecord | undefined {
  const idx = records.findIndex((r) => r.id === rec.id);
  const before = idx === -1 ? records.filter((r) => r.id < rec.id) : records.slice(0, idx);
  for (let i = before.length - 1; i >= 0; i--) {
    const r = before[i]!;
    if (r.status === 'success' && r.dockerfile === rec.dockerfile && r.context === rec.context && (r.target ?? '') === (rec.target ?? '')) return r;
  }
  return undefined;
}
