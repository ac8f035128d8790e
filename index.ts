/**
 * The tsbuild library: the same engine the CLI uses.
 *
 * ```ts
 * import { build, lint, diff } from 'tsbuild';
 * const { imageId } = await build({ context: './app', tags: ['app:dev'], onProgress: (e) => console.log(e.type) });
 * const findings = lint('FROM debian\nRUN apt-get install curl\n');
 * const d = await diff('app:1', 'app:2');
 * ```
 *
 * Heavy parts (the executor, the store, the registry client, WASM) are imported when a function first needs them,
 * so importing the library is cheap.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildRequest, BuildResult, OutputSpec } from './executor/build.ts';
import type { ProgressEvent } from './executor/progress.ts';
import type { Dockerfile } from './grammar/ast.ts';
import type { Finding, LintOptions } from './compiler/lint/types.ts';
import type { DiffOptions, ImageDiff } from './diff/image-diff.ts';
import { defaultStoreRoot } from './util/store-root.ts';

export * from './grammar/ast.ts';
export type { Diagnostic, Severity } from './util/errors.ts';
export { TsbuildError } from './util/errors.ts';
export { parse, parseTolerant, type ParseOptions, type TolerantResult } from './grammar/index.ts';
export { compile, baseImageRefs, computeCacheKey, type BuildOptions as CompileOptions, type ResolvedImage, type ImageResolver } from './compiler/index.ts';
export type { BuildGraph, Step, StepId, CacheKey, StepOrigin } from './compiler/graph.ts';
export type { ProgressEvent, StepInfo } from './executor/progress.ts';
export type { BuildResult, OutputSpec } from './executor/build.ts';
export type { Finding, LintOptions } from './compiler/lint/types.ts';
export type { DiffOptions, ImageDiff } from './diff/image-diff.ts';

/** Options of `build()`. Only `context` is required; the rest default as `tsbuild build` does. */
export interface BuildOptions {
  /** The build context directory. */
  readonly context: string;
  /** Dockerfile path (relative paths are taken from the process's working directory); default `<context>/Dockerfile`. */
  readonly dockerfile?: string;
  /** Dockerfile text; when given, `dockerfile` is only its display name in errors (default `Dockerfile`). */
  readonly dockerfileText?: string;
  readonly tags?: readonly string[];
  readonly buildArgs?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  readonly target?: string;
  readonly labels?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /** Run every step, ignoring the cache. */
  readonly noCache?: boolean;
  /** Stages (names or 0-based indices) whose steps ignore the cache. */
  readonly noCacheFilter?: readonly string[];
  readonly pull?: boolean;
  /** Exports besides the store: `{ type: 'oci' | 'docker' | 'tar' | 'local', dest: path }`. */
  readonly outputs?: readonly OutputSpec[];
  /** Layer compression; default gzip. */
  readonly compression?: BuildRequest['compression'];
  /** Seconds since the epoch to clamp timestamps to (reproducible images). */
  readonly sourceDateEpoch?: number;
  /** Default network of RUN steps; default `default`. */
  readonly network?: BuildRequest['network'];
  /** Secret id → a file (`src`) or an environment variable (`env`) for `RUN --mount=type=secret`. */
  readonly secrets?: ReadonlyMap<string, { readonly src?: string; readonly env?: string }>;
  /** SSH id → agent socket path for `RUN --mount=type=ssh`. */
  readonly ssh?: ReadonlyMap<string, string>;
  /** Steps run at once; default the number of cores. */
  readonly parallelism?: number;
  readonly runtime?: BuildRequest['runtime'];
  /** The store; default TSBUILD_ROOT, else /var/lib/tsbuild (root) or ~/.local/share/tsbuild. */
  readonly storeRoot?: string;
  /** Receives every progress event (the CLI's plain, rawjson and TTY views are printers of these). */
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Aborting stops the build; it then rejects with TsbuildError `build/interrupted` (or the signal's reason). */
  readonly signal?: AbortSignal;
}

const toMap = (v: Readonly<Record<string, string>> | ReadonlyMap<string, string> | undefined): ReadonlyMap<string, string> =>
  v === undefined ? new Map() : v instanceof Map ? v : new Map(Object.entries(v as Record<string, string>));

/**
 * Builds an image into the store (and `outputs`), as `tsbuild build` does. Rejects with a TsbuildError: a failed
 * step is `build/step-failed` with `file`/`range` at its instruction (and `step`, `tail`, `stepExitCode` fields).
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const contextDir = path.resolve(options.context);
  const dockerfilePath = options.dockerfile !== undefined ? path.resolve(options.dockerfile) : path.join(contextDir, 'Dockerfile');
  const text = options.dockerfileText ?? (await readDockerfile(dockerfilePath));
  const displayName = options.dockerfileText !== undefined ? (options.dockerfile ?? 'Dockerfile') : path.relative(contextDir, dockerfilePath).startsWith('..') ? dockerfilePath : path.relative(contextDir, dockerfilePath);
  const { availableParallelism } = await import('node:os');
  const request: BuildRequest = {
    contextDir,
    dockerfile: { path: options.dockerfileText !== undefined ? '-' : dockerfilePath, text, displayName },
    buildArgs: toMap(options.buildArgs),
    ...(options.target !== undefined ? { target: options.target } : {}),
    tags: options.tags ?? [],
    labels: toMap(options.labels),
    noCache: options.noCache ?? false,
    noCacheFilter: options.noCacheFilter ?? [],
    pull: options.pull ?? false,
    outputs: options.outputs ?? [],
    compression: options.compression ?? 'gzip',
    ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
    network: options.network ?? 'default',
    secrets: options.secrets ?? new Map(),
    ssh: options.ssh ?? new Map(),
    parallelism: options.parallelism ?? availableParallelism(),
    runtime: options.runtime ?? 'runc',
    storeRoot: options.storeRoot ?? defaultStoreRoot(process.env),
  };
  const engine = await import('./executor/build.ts');
  return engine.build(request, options.onProgress ?? (() => {}), options.signal);
}

async function readDockerfile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    const { TsbuildError } = await import('./util/errors.ts');
    throw new TsbuildError('usage/dockerfile', `failed to read Dockerfile: open ${file}: no such file or directory`);
  }
}

/**
 * Lints a Dockerfile (its text, or an AST from `parse`/`parseTolerant`) with every rule `tsbuild lint` runs.
 * Text is parsed tolerantly, so a file with syntax errors still gets its findings. Findings are sorted by position.
 */
export async function lint(source: string | Dockerfile, options: LintOptions & { readonly file?: string } = {}): Promise<Finding[]> {
  const [{ parseTolerant }, rules] = await Promise.all([import('./grammar/index.ts'), import('./compiler/lint/index.ts')]);
  const df = typeof source === 'string' ? parseTolerant(source, options.file !== undefined ? { file: options.file } : {}).dockerfile : source;
  return rules.lint(df, options);
}

/**
 * Compares two images file by file and config field by field, as `tsbuild diff A B`. Each reference is an image in
 * the store (name, ID or digest), an OCI layout directory, or an OCI / docker-archive tar (`oci-archive:PATH`).
 */
export async function diff(a: string, b: string, options: DiffOptions & { readonly storeRoot?: string; readonly cwd?: string } = {}): Promise<ImageDiff> {
  const [d, { openStore }] = await Promise.all([import('./diff/index.ts'), import('./cache/index.ts')]);
  const root = options.storeRoot ?? defaultStoreRoot(process.env);
  const deps = { store: () => openStore(root), cwd: options.cwd ?? process.cwd() };
  const [ia, ib] = await Promise.all([d.openImage(a, deps), d.openImage(b, deps)]);
  return d.diffImages(ia, ib, options);
}
