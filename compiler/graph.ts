/**
 * The build graph: the compiler's output and the executor's input. Plain readonly data.
 *
 * Contract between compiler/ and executor/: add fields freely, never rename or remove one.
 */
import type { Range } from '../util/position.ts';
import type { Diagnostic } from '../util/errors.ts';
import type { Digest } from '../util/digest.ts';

/** A step identifier, stable for the same Dockerfile and options (e.g. `s3`). */
export type StepId = string & { readonly __brand: 'StepId' };
export const stepId = (s: string): StepId => s as StepId;

/** A full cache key (sha256 over input keys, definition digest and context content digests). */
export type CacheKey = string & { readonly __brand: 'CacheKey' };

/** Where a step came from, for progress lines, error code frames and lint. */
export interface StepOrigin {
  readonly file?: string;
  readonly range: Range;
  /** Stage name or its index as a string. */
  readonly stage: string;
  readonly stageIndex: number;
  /** 1-based position of the instruction in its stage and the stage's instruction count: `[stage 3/7]`. */
  readonly instructionIndex: number;
  readonly instructionCount: number;
  /** The instruction as written (joined line), e.g. `RUN apt-get update`. */
  readonly text: string;
}

/** The context paths a step reads, relative to the context root, in Dockerfile pattern syntax. */
export interface ContextSelector {
  /** The context source step that provides the files. */
  readonly context: StepId;
  /** Source patterns after expansion (wildcards allowed; leading `/` and `./` removed). */
  readonly include: readonly string[];
  /** `--exclude` patterns. */
  readonly exclude: readonly string[];
  /** True for `--parents`-style or wildcard sources that need the directory structure too. */
  readonly followPaths?: readonly string[];
}

export type ImageSource =
  | { readonly type: 'image'; readonly ref: string; readonly platform: string; readonly resolvedDigest?: Digest }
  | { readonly type: 'scratch' }
  | { readonly type: 'context'; readonly name: string }
  | { readonly type: 'url'; readonly url: string; readonly checksum?: string; readonly filename?: string };

interface StepBase {
  readonly id: StepId;
  /** Steps whose results this one needs (rootfs first for exec/file steps). */
  readonly inputs: readonly StepId[];
  /** sha256 of the canonical encoding of the normalised definition (no input keys, no content digests). */
  readonly definitionDigest: Digest;
  readonly contextSelectors: readonly ContextSelector[];
  readonly origin?: StepOrigin;
  /** Human-readable one-liner for progress: `RUN apt-get update`, `FROM debian:bookworm`. */
  readonly description: string;
  /** The platform the step runs for (`linux/amd64`); part of the definition digest. */
  readonly platform?: string;
  /**
   * SOURCE_DATE_EPOCH (seconds) for steps that make a layer: it clamps the times written into the layer, so it is part
   * of the definition (a layer made under another epoch, or none, is not reused).
   */
  readonly sourceDateEpoch?: number;
}

export interface SourceStep extends StepBase {
  readonly kind: 'source';
  readonly source: ImageSource;
}

export type RunMount =
  | { readonly type: 'bind'; readonly target: string; readonly from?: StepId; readonly source: string; readonly readwrite: boolean }
  | {
      readonly type: 'cache';
      readonly target: string;
      /** The cache id as given (or the target); the executor hashes it, never path-joins it. */
      readonly id: string;
      readonly sharing: 'shared' | 'private' | 'locked';
      readonly from?: StepId;
      readonly source?: string;
      readonly readonly: boolean;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
    }
  | { readonly type: 'tmpfs'; readonly target: string; readonly size?: number }
  | {
      readonly type: 'secret';
      readonly id: string;
      readonly target?: string;
      readonly env?: string;
      readonly required: boolean;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
    }
  | { readonly type: 'ssh'; readonly id: string; readonly target: string; readonly required: boolean; readonly mode: number; readonly uid: number; readonly gid: number };

/** A file a RUN heredoc needs (`/dev/pipes/<name>`, 0755, executed) or feeds on stdin. */
export interface RunHeredocFile {
  readonly name: string;
  readonly content: string;
  readonly mode: number;
}

export interface ExecStep extends StepBase {
  readonly kind: 'exec';
  /** The rootfs input (the previous step of the stage). Also inputs[0]. */
  readonly rootfs: StepId;
  readonly argv: readonly string[];
  /** `K=V` entries: image ENV plus in-scope ARGs (BuildKit rule), proxy args excluded from the key. */
  readonly env: readonly string[];
  readonly cwd: string;
  /** As written in USER (`name`, `uid`, `name:group`); resolved against the rootfs's /etc/passwd at run time. */
  readonly user: string;
  readonly mounts: readonly RunMount[];
  readonly network: 'default' | 'none' | 'host';
  readonly security: 'sandbox' | 'insecure';
  /** Heredoc bodies to materialise (`/dev/pipes/...`) or to pass on stdin. */
  readonly heredocFiles: readonly RunHeredocFile[];
  /** Data to feed on the process's stdin (a heredoc), if any. */
  readonly stdin?: string;
  /**
   * Proxy variables from `--build-arg` (HTTP_PROXY, https_proxy, ... `K=V`), added to the process environment but
   * kept out of the definition digest and history, as BuildKit's llb.WithProxy does.
   */
  readonly proxyEnv?: readonly string[];
}

export type ChownSpec = { readonly user: string; readonly group?: string };

export type FileAction =
  | {
      readonly action: 'copy';
      /** The step providing the source files: a context source, a stage's last step, or an image source. */
      readonly from: StepId;
      /** Source paths/patterns within `from` after expansion. */
      readonly sources: readonly string[];
      /** Absolute destination in the rootfs; a trailing `/` means "into this directory". */
      readonly dest: string;
      readonly chown?: ChownSpec;
      /** Octal (e.g. 0o755) or a symbolic string (`u+x`). */
      readonly chmod?: number | string;
      readonly link: boolean;
      readonly parents: boolean;
      readonly exclude: readonly string[];
      /** ADD semantics: extract local archives, fetch URLs. */
      readonly add: boolean;
      /** ADD --unpack for URLs; local archives are always extracted by ADD. */
      readonly unpack?: boolean;
      readonly checksum?: string;
      readonly keepGitDir?: boolean;
    }
  | {
      readonly action: 'mkfile';
      /** Absolute path in the rootfs (COPY <<EOF /dest). */
      readonly path: string;
      readonly content: string;
      readonly mode: number;
      readonly chown?: ChownSpec;
    }
  | { readonly action: 'mkdir'; readonly path: string; readonly mode: number; readonly chown?: ChownSpec; readonly parents: boolean };

export interface FileStep extends StepBase {
  readonly kind: 'file';
  /** The rootfs input; undefined for `--link` (the layer is built on an empty root and stacked). */
  readonly rootfs?: StepId;
  /**
   * For `--link`: the stage filesystem the independent layer is stacked on (also in `inputs`, so it is done first).
   * The layer itself is made on an empty root.
   */
  readonly linkBase?: StepId;
  readonly actions: readonly FileAction[];
}

export type Step = SourceStep | ExecStep | FileStep;
export type StepKind = Step['kind'];

/** OCI image config (the `config` part) plus Docker's extensions. Field names as in the JSON. */
export interface ContainerConfig {
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Volumes?: Readonly<Record<string, Record<string, never>>>;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly StopSignal?: string;
  readonly Healthcheck?: {
    readonly Test: readonly string[];
    /** Nanoseconds. */
    readonly Interval?: number;
    readonly Timeout?: number;
    readonly StartPeriod?: number;
    readonly StartInterval?: number;
    readonly Retries?: number;
  };
  readonly OnBuild?: readonly string[] | null;
  readonly Shell?: readonly string[];
  readonly ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  readonly created?: string;
  readonly created_by?: string;
  readonly author?: string;
  readonly comment?: string;
  readonly empty_layer?: boolean;
}

/** An OCI image config document (what the config blob holds). */
export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly created?: string;
  readonly author?: string;
  readonly config: ContainerConfig;
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly Digest[] };
  readonly history?: readonly HistoryEntry[];
}

/** A history entry of the built part of a stage, tied to the step that makes its layer (if any). */
export interface StageHistoryEntry {
  readonly createdBy: string;
  readonly comment?: string;
  /** The step whose filesystem change is this entry's layer; absent for metadata-only instructions. */
  readonly layerStep?: StepId;
}

export interface Stage {
  readonly index: number;
  /** Lower-cased stage name, if named. */
  readonly name?: string;
  /** The FROM source step (image/scratch) or the parent stage's last step. */
  readonly base: StepId;
  /** The parent stage index when `FROM <stage>`. */
  readonly baseStage?: number;
  /** The step whose rootfs is the stage's final filesystem. */
  readonly last: StepId;
  readonly platform: string;
  /**
   * The stage's image config as far as the compiler knows it: the base image's config (when resolved) with this
   * stage's instructions applied. `rootfs.diff_ids` holds only the base image's layers; the executor appends one per
   * `history` entry with a layerStep.
   */
  readonly image: ImageConfig;
  /** History entries added by this stage's instructions, in order. */
  readonly history: readonly StageHistoryEntry[];
  readonly origin: Range;
}

export interface BuildGraph {
  /** Every step the target needs, in a topological order (inputs before users). */
  readonly steps: ReadonlyMap<StepId, Step>;
  readonly stages: readonly Stage[];
  /** The index of the stage being built (`--target`, or the last stage). */
  readonly target: number;
  readonly warnings: readonly Diagnostic[];
}
