/**
 * The compiler's working values: the per-stage state that instruction lowerings take and return (never mutated),
 * and the compile context that owns the growing step table.
 */
import type { Instruction, Word } from '../grammar/ast.ts';
import type { Range } from '../util/position.ts';
import type { Diagnostic } from '../util/errors.ts';
import type { ImageConfig, StageHistoryEntry, Step, StepId, StepOrigin, ContainerConfig } from './graph.ts';
import type { Platform } from './platform.ts';
import type { At } from './diag.ts';

/** A declared ARG as BuildKit's `d.buildArgs` keeps it (for the `RUN |N K=V …` history prefix). */
export interface DeclaredArg {
  readonly key: string;
  readonly value: string | undefined;
}

/** A stage while it is being lowered. Lowerings return a new state; nothing here is mutated. */
export interface StageState {
  readonly index: number;
  /** Stage name or index as a string, for origins. */
  readonly label: string;
  readonly platform: Platform;
  readonly platformString: string;
  /** The step whose rootfs is the stage's current filesystem. */
  readonly last: StepId;
  readonly image: ImageConfig;
  /** BuildKit's LLB state env: the image Env plus ARG values, in order; what RUN sees and what expansion uses. */
  readonly env: readonly (readonly [string, string])[];
  readonly args: readonly DeclaredArg[];
  /** Absolute working directory (`/` by default). */
  readonly cwd: string;
  /** USER as written (empty: the image default, root). */
  readonly user: string;
  /** Whether this stage set CMD (so a later ENTRYPOINT keeps it). */
  readonly cmdSet: boolean;
  readonly history: readonly StageHistoryEntry[];
  /** Step-making instructions seen so far and in total (BuildKit's `[stage i/n]`). */
  readonly cmdIndex: number;
  readonly cmdTotal: number;
}

/** A step before it gets its id and definition digest. */
export type StepDraft = Step extends infer S ? (S extends Step ? Omit<S, 'id' | 'definitionDigest'> : never) : never;

/** What lowerings may ask of the compile run. */
export interface CompileContext {
  readonly file: string | undefined;
  readonly escape: '\\' | '`';
  /** Global (meta) ARGs and automatic platform args, with values. */
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly buildArgs: ReadonlyMap<string, string>;
  /** `K=V` proxy variables from the build args. */
  readonly proxyEnv: readonly string[];
  /** ISO time for history `created` when SOURCE_DATE_EPOCH is set. */
  readonly created: string | undefined;
  readonly warnings: Diagnostic[];
  addStep(draft: StepDraft): StepId;
  /** The single build-context source step (created on first use). */
  contextStep(): StepId;
  /** Resolves `COPY --from` / `--mount from=` to a step: a stage's last step, or an image source. */
  resolveFrom(name: string, at: At, stage: StageState): StepId;
  /** Records an ARG name as declared (for the unused build-arg warning). */
  markArgUsed(name: string): void;
}

export function envMap(s: StageState): Map<string, string> {
  return new Map(s.env);
}

/** LLB AddEnv: replaces an existing key in place, else appends. */
export function addEnv(env: readonly (readonly [string, string])[], k: string, v: string): (readonly [string, string])[] {
  const i = env.findIndex(([key]) => key === k);
  if (i < 0) return [...env, [k, v]];
  const out = [...env];
  out[i] = [k, v];
  return out;
}

/** Image config Env update (BuildKit addEnv): replace `K=…` in place or append. */
export function addImageEnv(env: readonly string[] | undefined, k: string, v: string): string[] {
  const list = [...(env ?? [])];
  const i = list.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === k);
  if (i < 0) list.push(`${k}=${v}`);
  else list[i] = `${k}=${v}`;
  return list;
}

export function withConfig(s: StageState, patch: Partial<ContainerConfig>): StageState {
  return { ...s, image: { ...s.image, config: { ...s.image.config, ...patch } } };
}

/**
 * BuildKit's commitToHistory: one history entry. `layerStep` ties it to the step that makes its layer; `suffix`
 * appends ` # buildkit` (BuildKit does so for RUN/COPY/ADD, not for WORKDIR although it makes a layer).
 */
export function commit(s: StageState, ctx: CompileContext, createdBy: string, layerStep?: StepId, suffix = layerStep !== undefined): StageState {
  const text = suffix ? `${createdBy} # buildkit` : createdBy;
  const entry: StageHistoryEntry = layerStep !== undefined ? { createdBy: text, comment: 'buildkit.dockerfile.v0', layerStep } : { createdBy: text, comment: 'buildkit.dockerfile.v0' };
  const h = {
    ...(ctx.created !== undefined ? { created: ctx.created } : {}),
    created_by: text,
    comment: 'buildkit.dockerfile.v0',
    ...(layerStep !== undefined ? {} : { empty_layer: true }),
  };
  return { ...s, history: [...s.history, entry], image: { ...s.image, history: [...(s.image.history ?? []), h] } };
}

/** The origin of a step made by `ins` (advances the `[i/n]` counter: call once per step-making instruction). */
export function originOf(s: StageState, ctx: CompileContext, ins: Instruction, cmdIndex: number, range?: Range): StepOrigin {
  return {
    ...(ctx.file !== undefined ? { file: ctx.file } : {}),
    range: range ?? ins.range,
    stage: s.label,
    stageIndex: s.index,
    instructionIndex: cmdIndex,
    instructionCount: s.cmdTotal,
    text: ins.original,
  };
}

/** `RUN apt-get update`: the instruction line with the keyword upper-cased (BuildKit's uppercaseCmd). */
export function describe(ins: Instruction): string {
  const text = ins.original.trimStart();
  const sp = text.search(/\s/);
  return sp < 0 ? text.toUpperCase() : `${text.slice(0, sp).toUpperCase()}${text.slice(sp)}`;
}

export function atWord(ctx: CompileContext, w: Word | { range: Range }): At {
  return { file: ctx.file, range: w.range };
}

/** POSIX path.Join + Clean (Go's path.Join semantics; an empty result is ""). */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  return joined === '' ? '' : cleanPath(joined);
}

/** Go's path.Clean. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const body = out.join('/');
  if (rooted) return `/${body}`;
  return body === '' ? '.' : body;
}
