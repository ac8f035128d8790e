/**
 * The compile driver: splits the file into stages, evaluates global ARGs and FROM lines, resolves the target and
 * the stages it needs, lowers each needed stage instruction by instruction, and assembles the BuildGraph.
 */
import type { ArgInstruction, Dockerfile, FromInstruction, Instruction } from '../grammar/ast.ts';
import { parse } from '../grammar/index.ts';
import { TsbuildError, type Diagnostic } from '../util/errors.ts';
import type { Range } from '../util/position.ts';
import type { Digest } from '../util/digest.ts';
import type { BuildGraph, ImageConfig, Stage, Step, StepId } from './graph.ts';
import { stepId } from './graph.ts';
import { compileError, didYouMean, locate, type At } from './diag.ts';
import { definitionDigest } from './digest.ts';
import { expandAt } from './expand.ts';
import { normalizeImageRef } from './image-ref.ts';
import { formatPlatform, parsePlatform, type Platform } from './platform.ts';
import { splitCsv } from './mounts.ts';
import { validateInstruction } from './validate.ts';
import { addImageEnv, type CompileContext, type StageState, type StepDraft } from './state.ts';
import { lowerArg } from './instructions/arg.ts';
import { lowerCmd, lowerEntrypoint, lowerHealthcheck, lowerShell } from './instructions/command.ts';
import { lowerCopy } from './instructions/copy.ts';
import { lowerEnv, lowerLabel } from './instructions/env.ts';
import { lowerExpose, lowerMaintainer, lowerOnbuild, lowerStopsignal, lowerUser, lowerVolume } from './instructions/metadata.ts';
import { lowerRun } from './instructions/run.ts';
import { lowerWorkdir } from './instructions/workdir.ts';

/** What the caller decides for a build. */
export interface BuildOptions {
  /** `--build-arg K=V` (a bare `K` is resolved from the environment by the CLI before it gets here). */
  readonly buildArgs: ReadonlyMap<string, string>;
  /** `--target`: the stage to build (case-insensitive name); default the last stage. */
  readonly target?: string;
  /** The native platform; build platform = target platform. */
  readonly platform: Platform;
  /** Dockerfile path for diagnostics. */
  readonly file?: string;
  /** Seconds since the epoch: history `created` times (also read from the SOURCE_DATE_EPOCH build arg). */
  readonly sourceDateEpoch?: number;
  /** Passed through for the executor; the compiler does not act on it. */
  readonly noCacheFilter?: readonly string[];
}

/** A base image the caller already resolved. */
export interface ResolvedImage {
  /** The normalised reference it was resolved from. */
  readonly ref: string;
  /** The manifest digest. */
  readonly digest: Digest;
  readonly config: ImageConfig;
}

/** Base images the caller resolved (store/registry); undefined = unresolved (the graph keeps an unresolved source). */
export type ImageResolver = (ref: string, platform: string) => ResolvedImage | undefined;

/** Variables BuildKit predefines: usable in RUN without ARG, never reported as unused build args. */
const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'];
const isProxyArg = (k: string): boolean => PROXY_ARGS.includes(k.toUpperCase()) && (k === k.toUpperCase() || k === k.toLowerCase());
const AUTO_ARGS = [
  'BUILDPLATFORM', 'BUILDOS', 'BUILDOSVERSION', 'BUILDARCH', 'BUILDVARIANT',
  'TARGETPLATFORM', 'TARGETOS', 'TARGETOSVERSION', 'TARGETARCH', 'TARGETVARIANT', 'TARGETSTAGE',
];
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface StageInfo {
  readonly index: number;
  readonly from: FromInstruction;
  /** Lower-cased. */
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
  /** The FROM image after ARG expansion. */
  readonly baseName: string;
  readonly platform: Platform;
  readonly baseStage: number | undefined;
  /** Stages this one reads (COPY --from, --mount from=, base stage), with where. */
  readonly deps: readonly { stage: number; at: At }[];
  /** Images named by COPY --from / --mount from=. */
  readonly fromImages: readonly { ref: string; at: At }[];
}

interface Prepared {
  readonly file: string | undefined;
  readonly metaArgs: readonly ArgInstruction[];
  readonly stages: readonly StageInfo[];
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly target: number;
  /** Needed stages, ascending. */
  readonly reachable: readonly number[];
}

/** Resolves a `--from`/`from=` value to a stage index, or undefined for an image. Throws for a bad index. */
function stageRef(value: string, stages: readonly { name: string | undefined }[], count: number, at: At): number | undefined {
  if (/^[+-]?\d+$/.test(value)) {
    const i = Number(value);
    if (i < 0 || i >= count) throw compileError('compile/invalid-stage-index', `invalid stage index ${i}`, at, `stage indexes go from 0 to ${count - 1}`);
    return i;
  }
  const lower = value.toLowerCase();
  const i = stages.findIndex((s) => s.name === lower);
  return i < 0 ? undefined : i;
}

/** `from=` of each `--mount` flag (raw, unexpanded: BuildKit forbids variables there). */
function mountFroms(ins: Instruction): { value: string; range: Range }[] {
  if (ins.kind !== 'RUN') return [];
  const out: { value: string; range: Range }[] = [];
  for (const f of ins.flags) {
    if (f.name !== 'mount' || f.value === null) continue;
    let fields: string[];
    try {
      fields = splitCsv(f.value);
    } catch {
      continue; // reported with its position when the RUN is lowered
    }
    for (const field of fields) {
      const eq = field.indexOf('=');
      if (eq > 0 && field.slice(0, eq).toLowerCase() === 'from') out.push({ value: field.slice(eq + 1), range: f.range });
    }
  }
  return out;
}

function defaultArgs(opts: BuildOptions, targetName: string): Map<string, string> {
  const p = opts.platform;
  const m = new Map<string, string>([
    ['BUILDPLATFORM', formatPlatform(p)],
    ['BUILDOS', p.os],
    ['BUILDOSVERSION', ''],
    ['BUILDARCH', p.architecture],
    ['BUILDVARIANT', p.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(p)],
    ['TARGETOS', p.os],
    ['TARGETOSVERSION', ''],
    ['TARGETARCH', p.architecture],
    ['TARGETVARIANT', p.variant ?? ''],
    ['TARGETSTAGE', targetName],
  ]);
  for (const k of m.keys()) {
    const v = opts.buildArgs.get(k);
    if (v !== undefined) m.set(k, v);
  }
  return m;
}

function prepare(df: Dockerfile, opts: BuildOptions): Prepared {
  const file = opts.file ?? df.file;
  for (const ins of df.instructions) validateInstruction(ins, file);

  const metaArgs: ArgInstruction[] = [];
  const raw: { from: FromInstruction; instructions: Instruction[] }[] = [];
  for (const ins of df.instructions) {
    if (ins.kind === 'FROM') raw.push({ from: ins, instructions: [] });
    else if (raw.length > 0) raw[raw.length - 1]!.instructions.push(ins);
    else if (ins.kind === 'ARG') metaArgs.push(ins);
    else throw compileError('compile/no-stage', 'no build stage in current context', { file, range: ins.range }, 'only ARG may come before the first FROM');
  }
  if (raw.length === 0) {
    throw compileError('compile/no-stages', 'dockerfile contains no stages to build', df.instructions[0] ? { file, range: df.instructions[0].range } : undefined, 'add a FROM instruction');
  }
  const names: (string | undefined)[] = [];
  for (const r of raw) {
    const n = r.from.stageName?.value.toLowerCase();
    if (n !== undefined && names.includes(n)) {
      throw compileError('compile/duplicate-stage', `duplicate stage name ${JSON.stringify(n)}`, { file, range: r.from.stageName!.range }, 'stage names are case-insensitive and must be unique');
    }
    names.push(n);
  }

  // Target (BuildKit resolves it before evaluating args so that TARGETSTAGE is known).
  let target = raw.length - 1;
  if (opts.target !== undefined && opts.target !== '') {
    const i = names.indexOf(opts.target.toLowerCase());
    if (i < 0) {
      throw new TsbuildError('compile/unknown-target', `target stage ${JSON.stringify(opts.target)} could not be found`, {
        file,
        suggestion: didYouMean(opts.target, names.filter((n): n is string => n !== undefined)) ?? (names.some((n) => n) ? `stages: ${names.filter(Boolean).join(', ')}` : 'this Dockerfile has no named stages'),
      });
    }
    target = i;
  }

  // Global scope: automatic platform args, then the ARGs before the first FROM.
  const globalArgs = defaultArgs(opts, names[target] ?? '');
  for (const a of metaArgs) {
    for (const d of a.declarations) {
      const key = d.name.value;
      const bv = opts.buildArgs.get(key);
      let value: string | undefined = bv;
      if (bv === undefined && d.default !== undefined) value = expandAt(d.default.value, globalArgs, { file, range: d.default.range }, { escape: df.escape });
      if (value !== undefined) globalArgs.set(key, value);
    }
  }

  const stages: StageInfo[] = [];
  raw.forEach((r, index) => {
    const at = { file, range: r.from.image.range };
    const baseName = expandAt(r.from.image.value, globalArgs, at, { escape: df.escape });
    if (baseName === '') throw compileError('compile/empty-base', `base name (${r.from.image.value}) should not be blank`, at, 'declare the ARG before the first FROM with a default, or pass --build-arg');
    let platform = opts.platform;
    const pf = r.from.flags.find((f) => f.name === 'platform');
    if (pf && pf.value !== null) {
      const pat = { file, range: pf.range };
      const v = expandAt(pf.value, globalArgs, pat, { escape: df.escape });
      if (v === '') throw compileError('compile/invalid-platform', `empty platform value from expression ${pf.value}`, pat);
      platform = locate(pat, () => parsePlatform(v, opts.platform));
    }
    const lower = baseName.toLowerCase();
    let baseStage: number | undefined = names.indexOf(lower);
    if (baseStage < 0 || baseStage >= index) {
      if (baseStage >= index) {
        throw compileError('compile/forward-stage-reference', `stage ${JSON.stringify(baseName)} is defined after this FROM; a stage can only be based on an earlier stage`, at, 'move the stage above, or rename it if you meant an image');
      }
      baseStage = undefined;
    }
    const deps: { stage: number; at: At }[] = baseStage !== undefined ? [{ stage: baseStage, at }] : [];
    const fromImages: { ref: string; at: At }[] = [];
    const collect = (ins: Instruction): void => {
      const refs: { value: string; range: Range }[] = [...mountFroms(ins)];
      if (ins.kind === 'COPY') {
        const f = ins.flags.find((x) => x.name === 'from');
        if (f && f.value !== null) refs.push({ value: f.value, range: f.range });
      }
      if (ins.kind === 'ONBUILD' && ins.trigger) return;
      for (const ref of refs) {
        const rat = { file, range: ref.range };
        const si = stageRef(ref.value, raw.map((x) => ({ name: x.from.stageName?.value.toLowerCase() })), raw.length, rat);
        if (si !== undefined) deps.push({ stage: si, at: rat });
        else fromImages.push({ ref: ref.value, at: rat });
      }
    };
    r.instructions.forEach(collect);
    // ONBUILD triggers of a base stage run in this stage and may read other stages.
    if (baseStage !== undefined) for (const ins of raw[baseStage]!.instructions) if (ins.kind === 'ONBUILD' && ins.trigger) collect(ins.trigger);
    stages.push({ index, from: r.from, name: names[index], instructions: r.instructions, baseName, platform, baseStage, deps, fromImages });
  });

  // Cycles (BuildKit: "circular dependency detected on stage").
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (i: number, via: At | undefined): void => {
    const st = state.get(i);
    if (st === 'done') return;
    if (st === 'visiting') {
      throw compileError('compile/stage-cycle', `circular dependency detected on stage: ${stages[i]!.name ?? i}`, via, 'a stage cannot (indirectly) copy from itself');
    }
    state.set(i, 'visiting');
    for (const d of stages[i]!.deps) visit(d.stage, d.at);
    state.set(i, 'done');
  };
  for (let i = 0; i < stages.length; i++) visit(i, undefined);

  const needed = new Set<number>();
  const mark = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const d of stages[i]!.deps) mark(d.stage);
  };
  mark(target);
  return { file, metaArgs, stages, globalArgs, target, reachable: [...needed].sort((a, b) => a - b) };
}

/**
 * The base images the target needs: FROM images and COPY --from / --mount from= images of every needed stage,
 * after ARG expansion, normalised (`alpine` → `docker.io/library/alpine:latest`), deduplicated, in file order.
 * Images named only by a base image's ONBUILD triggers are not known before that image is resolved.
 */
export function baseImageRefs(df: Dockerfile, opts: BuildOptions): { ref: string; platform: string; range: Range }[] {
  const p = prepare(df, opts);
  const out: { ref: string; platform: string; range: Range }[] = [];
  const seen = new Set<string>();
  const add = (ref: string, platform: string, at: At): void => {
    const n = locate(at, () => normalizeImageRef(ref));
    if (seen.has(`${n} ${platform}`)) return;
    seen.add(`${n} ${platform}`);
    out.push({ ref: n, platform, range: at.range });
  };
  for (const i of p.reachable) {
    const s = p.stages[i]!;
    if (s.baseStage === undefined && s.baseName.toLowerCase() !== 'scratch') add(s.baseName, formatPlatform(s.platform), { file: p.file, range: s.from.image.range });
    for (const img of s.fromImages) add(img.ref, formatPlatform(opts.platform), img.at);
  }
  return out;
}

function emptyImage(p: Platform): ImageConfig {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

function isStepMaker(ins: Instruction): boolean {
  return ins.kind === 'RUN' || ins.kind === 'COPY' || ins.kind === 'ADD' || ins.kind === 'WORKDIR';
}

/** The exhaustive dispatcher: one lowering per instruction kind. */
function lower(ins: Instruction, s: StageState, ctx: CompileContext): StageState {
  switch (ins.kind) {
    case 'RUN':
      return lowerRun(ins, s, ctx);
    case 'COPY':
    case 'ADD':
      return lowerCopy(ins, s, ctx);
    case 'WORKDIR':
      return lowerWorkdir(ins, s, ctx);
    case 'ENV':
      return lowerEnv(ins, s, ctx);
    case 'LABEL':
      return lowerLabel(ins, s, ctx);
    case 'ARG':
      return lowerArg(ins, s, ctx);
    case 'CMD':
      return lowerCmd(ins, s, ctx);
    case 'ENTRYPOINT':
      return lowerEntrypoint(ins, s, ctx);
    case 'SHELL':
      return lowerShell(ins, s, ctx);
    case 'HEALTHCHECK':
      return lowerHealthcheck(ins, s, ctx);
    case 'EXPOSE':
      return lowerExpose(ins, s, ctx);
    case 'VOLUME':
      return lowerVolume(ins, s, ctx);
    case 'USER':
      return lowerUser(ins, s, ctx);
    case 'STOPSIGNAL':
      return lowerStopsignal(ins, s, ctx);
    case 'MAINTAINER':
      return lowerMaintainer(ins, s, ctx);
    case 'ONBUILD':
      return lowerOnbuild(ins, s, ctx);
    case 'FROM':
    case 'UNKNOWN':
      // validateInstruction rejects both here (FROM only starts a stage); reaching this is a bug.
      throw new Error(`unexpected ${ins.kind} inside a stage`);
    default: {
      const never: never = ins;
      return never;
    }
  }
}

/** Parses a base image's OnBuild triggers; errors point at the FROM that pulled them in. */
function imageTriggers(triggers: readonly string[], at: At): Instruction[] {
  const out: Instruction[] = [];
  for (const t of triggers) {
    try {
      const df = parse(t);
      if (df.instructions.length !== 1) throw new TsbuildError('compile/onbuild-trigger', 'onbuild trigger should be a single expression');
      const ins = df.instructions[0]!;
      if (ins.kind === 'ONBUILD' || ins.kind === 'FROM' || ins.kind === 'MAINTAINER') {
        throw new TsbuildError('compile/onbuild-trigger', `${ins.keyword} isn't allowed as an ONBUILD trigger`);
      }
      validateInstruction(ins, undefined);
      out.push(ins);
    } catch (e) {
      if (e instanceof TsbuildError) {
        throw compileError(e.code, `base image ONBUILD trigger ${JSON.stringify(t)}: ${e.message}`, at, e.suggestion);
      }
      throw e;
    }
  }
  return out;
}

/** SOURCE_DATE_EPOCH in seconds: the option, else the build-arg of that name (as BuildKit accepts it). */
function epochSeconds(opts: BuildOptions): number | undefined {
  const fromArg = opts.buildArgs.get('SOURCE_DATE_EPOCH');
  return opts.sourceDateEpoch ?? (fromArg !== undefined && /^\d+$/.test(fromArg) ? Number(fromArg) : undefined);
}

function epochIso(opts: BuildOptions): string | undefined {
  const epoch = epochSeconds(opts);
  if (epoch === undefined) return undefined;
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * Compiles a parsed Dockerfile into the build graph for `opts.target` (default: the last stage). Pure: base image
 * configs come from `resolve`. Throws TsbuildError (with file and range) for every invalid input.
 */
export function compile(df: Dockerfile, opts: BuildOptions, resolve: ImageResolver): BuildGraph {
  const p = prepare(df, opts);
  const file = p.file;
  const steps = new Map<StepId, Step>();
  const sourceMemo = new Map<string, StepId>();
  const used = new Set<string>();
  for (const a of p.metaArgs) for (const d of a.declarations) used.add(d.name.value);
  const warnings: Diagnostic[] = [];
  const results = new Map<number, { state: StageState; stage: Stage }>();
  let contextId: StepId | undefined;
  const proxyEnv = [...opts.buildArgs].filter(([k]) => isProxyArg(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);

  const epoch = epochSeconds(opts);
  const addStep = (input: StepDraft): StepId => {
    const draft: StepDraft = input.kind !== 'source' && epoch !== undefined ? { ...input, sourceDateEpoch: epoch } : input;
    const digest = definitionDigest(draft);
    if (draft.kind === 'source') {
      const hit = sourceMemo.get(digest);
      if (hit !== undefined) return hit;
    }
    const id = stepId(`s${steps.size}`);
    steps.set(id, { ...draft, id, definitionDigest: digest } as Step);
    if (draft.kind === 'source') sourceMemo.set(digest, id);
    return id;
  };

  const imageSource = (refRaw: string, platform: Platform, at: At, origin: Parameters<typeof addStep>[0]['origin'], resolved?: ResolvedImage): StepId => {
    const ref = locate(at, () => normalizeImageRef(refRaw));
    const plat = formatPlatform(platform);
    const r = resolved ?? resolve(ref, plat);
    return addStep({
      kind: 'source',
      inputs: [],
      source: { type: 'image', ref, platform: plat, ...(r ? { resolvedDigest: r.digest } : {}) },
      contextSelectors: [],
      description: `FROM ${r ? `${ref.replace(/@.*$/, '')}@${r.digest}` : ref}`,
      ...(origin ? { origin } : {}),
    });
  };

  const ctx: CompileContext = {
    file,
    escape: df.escape,
    globalArgs: p.globalArgs,
    buildArgs: opts.buildArgs,
    proxyEnv,
    created: epochIso(opts),
    warnings,
    addStep,
    contextStep() {
      contextId ??= addStep({ kind: 'source', inputs: [], source: { type: 'context', name: 'context' }, contextSelectors: [], description: 'load build context' });
      return contextId;
    },
    resolveFrom(name, at, stage) {
      const si = stageRef(name, p.stages, p.stages.length, at);
      if (si !== undefined) {
        const done = results.get(si);
        if (si >= stage.index || done === undefined) {
          throw compileError('compile/forward-stage-reference', `cannot copy from stage ${JSON.stringify(name)}, it needs to be defined before current stage ${JSON.stringify(stage.label)}`, at, 'move that stage above this one');
        }
        return done.state.last;
      }
      return imageSource(name, opts.platform, at, undefined);
    },
    markArgUsed(name) {
      used.add(name);
    },
  };

  for (const i of p.reachable) {
    const info = p.stages[i]!;
    const label = info.name ?? String(i);
    const platformString = formatPlatform(info.platform);
    const fromAt = { file, range: info.from.image.range };
    let triggers: Instruction[] = [];
    let base: StepId;
    let image: ImageConfig;
    let state: Pick<StageState, 'env' | 'args' | 'cwd' | 'user'> | undefined;
    let fromCounts = 0;
    if (info.baseStage !== undefined) {
      const parent = results.get(info.baseStage)!;
      base = parent.state.last;
      image = { ...parent.state.image, config: { ...parent.state.image.config, OnBuild: null } };
      state = parent.state;
      for (const ins of p.stages[info.baseStage]!.instructions) if (ins.kind === 'ONBUILD' && ins.trigger) triggers.push(ins.trigger);
    } else if (info.baseName.toLowerCase() === 'scratch') {
      base = addStep({ kind: 'source', inputs: [], source: { type: 'scratch' }, contextSelectors: [], description: 'FROM scratch' });
      image = emptyImage(info.platform);
    } else {
      fromCounts = 1;
      const ref = locate(fromAt, () => normalizeImageRef(info.baseName));
      const resolved = resolve(ref, platformString);
      const origin = {
        ...(file !== undefined ? { file } : {}),
        range: info.from.range,
        stage: label,
        stageIndex: i,
        instructionIndex: 1,
        instructionCount: 0,
        text: info.from.original,
      };
      triggers = resolved ? imageTriggers(resolved.config.config.OnBuild ?? [], { file, range: info.from.range }) : [];
      const cmdTotal = 1 + [...triggers, ...info.instructions].filter(isStepMaker).length;
      base = imageSource(info.baseName, info.platform, fromAt, { ...origin, instructionCount: cmdTotal }, resolved);
      if (resolved) {
        const { created: _created, ...rest } = resolved.config;
        image = { ...rest, config: { ...rest.config, OnBuild: null }, history: [...(rest.history ?? [])] };
      } else image = emptyImage(info.platform);
    }
    if (!(image.config.Env ?? []).some((e) => e.startsWith('PATH='))) {
      image = { ...image, config: { ...image.config, Env: addImageEnv(image.config.Env, 'PATH', DEFAULT_PATH) } };
    }
    let s: StageState = {
      index: i,
      label,
      platform: info.platform,
      platformString,
      last: base,
      image,
      env: state?.env ?? (image.config.Env ?? []).map((e) => {
        const eq = e.indexOf('=');
        return eq < 0 ? ([e, ''] as const) : ([e.slice(0, eq), e.slice(eq + 1)] as const);
      }),
      args: state?.args ?? [],
      cwd: state?.cwd ?? (image.config.WorkingDir || '/'),
      user: state?.user ?? image.config.User ?? '',
      cmdSet: false,
      history: [],
      cmdIndex: fromCounts,
      cmdTotal: fromCounts + [...triggers, ...info.instructions].filter(isStepMaker).length,
    };
    for (const t of triggers) s = lower(t, s, ctx);
    for (const ins of info.instructions) s = lower(ins, s, ctx);
    const stage: Stage = {
      index: i,
      ...(info.name !== undefined ? { name: info.name } : {}),
      base,
      ...(info.baseStage !== undefined ? { baseStage: info.baseStage } : {}),
      last: s.last,
      platform: platformString,
      image: s.image,
      history: s.history,
      origin: info.from.range,
    };
    results.set(i, { state: s, stage });
  }

  for (const k of [...opts.buildArgs.keys()].sort()) {
    if (used.has(k) || isProxyArg(k) || AUTO_ARGS.includes(k) || k === 'SOURCE_DATE_EPOCH' || k.startsWith('BUILDKIT_')) continue;
    const hint = didYouMean(k, used);
    warnings.push({
      code: 'compile/unused-build-arg',
      severity: 'warning',
      message: `build-arg ${k} was not consumed: no ARG ${k} in the stages being built`,
      ...(file !== undefined ? { file } : {}),
      ...(hint !== undefined ? { suggestion: hint } : {}),
    });
  }

  return {
    steps,
    stages: p.reachable.map((i) => results.get(i)!.stage),
    target: p.target,
    warnings,
  };
}
