/**
 * The lint contract: rules are data (`Rule`), findings are Diagnostics with a rule code and an optional fix.
 * Offsets in fixes are 0-based UTF-16 indexes into `Dockerfile.source`; ranges are util/position.ts ranges.
 */
import type { Diagnostic, Severity } from '../../util/errors.ts';
import type { Range } from '../../util/position.ts';
import type { LintContext } from './context.ts';

/** Where a rule comes from: BuildKit's build checks, hadolint's DL rules, or tsbuild's own. */
export type RuleSource = 'buildkit' | 'hadolint' | 'tsbuild';

/** A severity, or `ignore` (hadolint's name for off). */
export type RuleLevel = Severity | 'ignore';

/** One text replacement: `[start, end)` of the source (0-based UTF-16 offsets) becomes `text`. */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** A fix for one finding; `safe` fixes run with `--fix`, the others only with `--fix=unsafe`. */
export interface Fix {
  readonly description: string;
  readonly safe: boolean;
  /** Non-overlapping edits. */
  readonly edits: readonly TextEdit[];
}

/** A lint finding: a Diagnostic whose `code` is the rule code (`DL3008`, `StageNameCasing`, `UnusedStage`). */
export interface Finding extends Diagnostic {
  readonly range: Range;
  /** The rule's human name (equal to the code for BuildKit and tsbuild rules). */
  readonly rule: string;
  readonly source: RuleSource;
  readonly docsUrl: string;
  readonly fix?: Fix;
}

/** A rule: data plus a check function that calls `ctx.report`. */
export interface Rule {
  /** Stable code: BuildKit's check name, hadolint's `DLxxxx`, or a tsbuild PascalCase name. */
  readonly code: string;
  /** A short kebab/PascalCase name (hadolint rules have no names upstream; ours are descriptive). */
  readonly name: string;
  readonly source: RuleSource;
  /** Default severity (hadolint's defaults for DL rules; BuildKit checks are warnings). */
  readonly severity: RuleLevel;
  readonly docsUrl: string;
  /** One sentence, shown in SARIF rule help and `--list-rules`. */
  readonly description: string;
  /** Off unless enabled by name (BuildKit's experimental checks). */
  readonly experimental?: boolean;
  check(ctx: LintContext): void;
}

/** Everything a lint run may be told. All optional. */
export interface LintOptions {
  /** Only the stages this target needs are linted for stage-local rules (default: the last stage). */
  readonly target?: string;
  /** Build args given on the command line (they count as defined ARG values). */
  readonly buildArgs?: ReadonlyMap<string, string>;
  /** Per-rule severity overrides (`DL3008: error`, `StageNameCasing: ignore`). */
  readonly overrides?: ReadonlyMap<string, RuleLevel>;
  /** Rule codes to skip entirely. */
  readonly ignored?: readonly string[];
  /** Enable experimental rules too (BuildKit's `# check=experimental=all`). */
  readonly experimental?: boolean | readonly string[];
  /** Registries allowed in FROM (DL3026); empty/undefined means the rule is off. */
  readonly trustedRegistries?: readonly string[];
  /** hadolint label-schema: label → type (`text`, `url`, `rfc3339`, `semver`, `hash`, `spdx`, `email`). */
  readonly labelSchema?: ReadonlyMap<string, string>;
  /** hadolint strict-labels: labels outside the schema are reported (DL3050). */
  readonly strictLabels?: boolean;
  /** CopyIgnoredFile: whether a context path is excluded by .dockerignore (injected by the CLI). */
  readonly isIgnored?: (contextPath: string) => boolean;
  /** Whether the build context has a .dockerignore, and its size in bytes (NoDockerignore); unknown when absent. */
  readonly context?: { readonly hasDockerignore: boolean; readonly sizeBytes: number };
  /** Base image environment variable names, when known (UndefinedVar); undefined: unknown. */
  readonly baseImageEnv?: (imageRef: string) => readonly string[] | undefined;
  /** Platform a base image was resolved for, when known (InvalidBaseImagePlatform). */
  readonly baseImagePlatform?: (imageRef: string) => string | undefined;
  /** The build's target platform (`linux/amd64`), for InvalidBaseImagePlatform. */
  readonly targetPlatform?: string;
  /** Shell syntax checker (sh-syntax WASM), loaded once with `loadShellSyntax`; without it no ShellSyntax findings. */
  readonly shellSyntax?: ShellSyntaxChecker;
  /** Check every RUN with sh-syntax, not only those the structural parser finds malformed (slow: ~0.3 MB/s). */
  readonly shellSyntaxAll?: boolean;
  /** Report suppressions that matched nothing (`UnusedSuppression`). Default true. */
  readonly reportUnusedSuppressions?: boolean;
  /** Rule set override (tests). */
  readonly rules?: readonly Rule[];
}

/** A loaded shell syntax checker: returns the first syntax error of a script, or undefined. */
export interface ShellSyntaxChecker {
  /** `variant` `bash` or `posix`. Positions are 1-based line/col and 0-based UTF-16 offset into `script`. */
  check(script: string, variant: 'bash' | 'posix'): ShellSyntaxError | undefined;
  /** Top-level statement ranges (0-based UTF-16 offsets), for cross-checking the structural parser. */
  statements(script: string, variant: 'bash' | 'posix'): { start: number; end: number }[] | ShellSyntaxError;
}

export interface ShellSyntaxError {
  readonly message: string;
  readonly line: number;
  readonly col: number;
  readonly offset: number;
}
