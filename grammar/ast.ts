/**
 * The Dockerfile AST: plain readonly data, one node type per instruction, tagged by `kind`.
 * Every node carries its source range (see util/position.ts: 1-based line/col, 0-based offset, end exclusive).
 *
 * Values are as written in the source after continuation joining (quotes and escapes kept where BuildKit keeps
 * them); word expansion ($VAR) and quote removal are the compiler's job, not the parser's.
 *
 * Contract between grammar/, compiler/ and lint: add fields freely, never rename or remove one.
 */
import type { Range } from '../util/position.ts';
import type { Diagnostic } from '../util/errors.ts';

export type { Range, Position } from '../util/position.ts';

/** A piece of source text: an argument, a key, a value, an image name. */
export interface Word {
  /** The text as BuildKit's parser hands it on (e.g. `"a b"` keeps its quotes for ENV values). */
  readonly value: string;
  readonly range: Range;
}

/** `--name=value` or `--name` before an instruction's arguments. */
export interface Flag {
  /** Without the leading `--`. */
  readonly name: string;
  /** `null` for a bare `--name`; quotes removed and escapes applied as BuildKit's extractBuilderFlags does. */
  readonly value: string | null;
  /** The whole flag as written, e.g. `--mount=type=cache,target=/x`. */
  readonly raw: string;
  readonly range: Range;
  readonly nameRange: Range;
  readonly valueRange?: Range;
}

export interface Heredoc {
  /** The delimiter word with quotes removed (`EOF` for `<<"EOF"`); also the file name for COPY/ADD heredocs. */
  readonly name: string;
  /** Optional file descriptor before `<<` (`3<<EOF`). */
  readonly fd?: number;
  /** `<<-`: leading tabs stripped from body lines and terminator. */
  readonly chomp: boolean;
  /** False when any part of the delimiter was quoted: no expansion of the body. */
  readonly expand: boolean;
  /** The body, every line ending in `\n` (tabs already stripped for `<<-`). */
  readonly content: string;
  /**
   * The body exactly as BuildKit's parser stores it (`Node.Heredocs[].Content`): line endings as in the file
   * (`\r\n` kept), leading tabs NOT stripped even for `<<-` (BuildKit chomps later, in its instructions layer).
   */
  readonly rawContent?: string;
  /** The whole heredoc: from the `<<` word to the end of the terminator line. */
  readonly range: Range;
  /** The `<<EOF` word on the instruction line. */
  readonly markerRange: Range;
  /** The body lines (empty range at the body start when the body is empty). */
  readonly contentRange: Range;
}

interface InstructionBase {
  /** Upper-case instruction name, e.g. `RUN`; for UNKNOWN the upper-cased word as written. */
  readonly keyword: string;
  /** The keyword exactly as written (`run`, `Run`), for casing rules. */
  readonly keywordText: string;
  readonly keywordRange: Range;
  /** From the first character of the keyword to the end of the last line (including heredoc bodies). */
  readonly range: Range;
  readonly flags: readonly Flag[];
  /**
   * The instruction's arguments after the flags, split as BuildKit's parser does (its `Next` chain): this is
   * what `--format buildkit` prints. For ENV/LABEL the triples key,value,sep; for JSON forms the array items.
   */
  readonly args: readonly Word[];
  /** The joined logical line after the keyword and flags, verbatim (continuations removed). */
  readonly rest: string;
  /** The whole joined logical line, keyword included, as BuildKit's `Node.Original`. */
  readonly original: string;
  readonly heredocs: readonly Heredoc[];
  /** Comment lines directly above this instruction (without `#`), for lint descriptions and suppressions. */
  readonly comments: readonly Comment[];
}

/** Exec (JSON array) or shell form of RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD. */
export type CommandForm =
  | { readonly form: 'exec'; readonly argv: readonly Word[]; readonly range: Range }
  | { readonly form: 'shell'; readonly command: Word; readonly range: Range };

export interface FromInstruction extends InstructionBase {
  readonly kind: 'FROM';
  readonly image: Word;
  /** The `AS` keyword, when present (for FromAsCasing). */
  readonly asKeyword?: Word;
  readonly stageName?: Word;
  /** Extra words after `AS name` or a missing name: the compiler reports them. */
  readonly extra: readonly Word[];
}

export interface RunInstruction extends InstructionBase {
  readonly kind: 'RUN';
  readonly command: CommandForm;
}

export interface CmdInstruction extends InstructionBase {
  readonly kind: 'CMD';
  readonly command: CommandForm;
}

export interface EntrypointInstruction extends InstructionBase {
  readonly kind: 'ENTRYPOINT';
  readonly command: CommandForm;
}

export interface ShellInstruction extends InstructionBase {
  readonly kind: 'SHELL';
  /** SHELL must be JSON; a shell-form SHELL is a compile error, so the parser keeps the form. */
  readonly command: CommandForm;
}

export interface CopyInstruction extends InstructionBase {
  readonly kind: 'COPY';
  readonly form: 'exec' | 'shell';
  /** Every argument but the last (heredoc markers included as `<<EOF` words). */
  readonly sources: readonly Word[];
  /** The last argument; undefined when there is only one argument (the compiler reports it). */
  readonly dest?: Word;
}

export interface AddInstruction extends InstructionBase {
  readonly kind: 'ADD';
  readonly form: 'exec' | 'shell';
  readonly sources: readonly Word[];
  readonly dest?: Word;
}

export interface KeyValue {
  readonly key: Word;
  /** Raw value, quotes and escapes kept (BuildKit keeps them at parse time; the compiler processes them). */
  readonly value: Word;
  /** True for the legacy `ENV key value` form (LegacyKeyValueFormat). */
  readonly legacy: boolean;
  readonly range: Range;
}

export interface EnvInstruction extends InstructionBase {
  readonly kind: 'ENV';
  readonly pairs: readonly KeyValue[];
}

export interface LabelInstruction extends InstructionBase {
  readonly kind: 'LABEL';
  readonly pairs: readonly KeyValue[];
}

export interface ArgDeclaration {
  readonly name: Word;
  /** Raw default value after `=`, quotes kept; absent for `ARG name`. */
  readonly default?: Word;
  readonly range: Range;
}

export interface ArgInstruction extends InstructionBase {
  readonly kind: 'ARG';
  readonly declarations: readonly ArgDeclaration[];
}

export interface ExposeInstruction extends InstructionBase {
  readonly kind: 'EXPOSE';
  readonly ports: readonly Word[];
}

export interface VolumeInstruction extends InstructionBase {
  readonly kind: 'VOLUME';
  readonly form: 'exec' | 'shell';
  readonly paths: readonly Word[];
}

export interface UserInstruction extends InstructionBase {
  readonly kind: 'USER';
  readonly user: Word;
}

export interface WorkdirInstruction extends InstructionBase {
  readonly kind: 'WORKDIR';
  readonly path: Word;
}

export interface StopsignalInstruction extends InstructionBase {
  readonly kind: 'STOPSIGNAL';
  readonly signal: Word;
}

export interface MaintainerInstruction extends InstructionBase {
  readonly kind: 'MAINTAINER';
  readonly name: Word;
}

export interface HealthcheckInstruction extends InstructionBase {
  readonly kind: 'HEALTHCHECK';
  /** The first word: `CMD`, `NONE`, or anything else (an error in the compiler), upper-cased. */
  readonly type: Word;
  /** For `CMD`: the command in exec or shell form. */
  readonly command?: CommandForm;
}

export interface OnbuildInstruction extends InstructionBase {
  readonly kind: 'ONBUILD';
  /** The nested instruction, parsed like a top-level one (its ranges point into the ONBUILD line). */
  readonly trigger?: Instruction;
  /** The trigger's text as written, for the image config's OnBuild list. */
  readonly triggerText: string;
}

export interface UnknownInstruction extends InstructionBase {
  readonly kind: 'UNKNOWN';
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | CopyInstruction
  | AddInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | StopsignalInstruction
  | MaintainerInstruction
  | HealthcheckInstruction
  | OnbuildInstruction
  | UnknownInstruction;

export type InstructionKind = Instruction['kind'];

export interface Directive {
  /** Lower-cased: `syntax`, `escape`, `check`. */
  readonly name: string;
  readonly value: string;
  readonly range: Range;
}

export interface Comment {
  /** The text after `#`, not trimmed. */
  readonly text: string;
  readonly range: Range;
}

export interface Dockerfile {
  /** The path as the user named it, when known (for diagnostics). */
  readonly file?: string;
  readonly directives: readonly Directive[];
  /** The escape character in force (`\` or `` ` ``). */
  readonly escape: '\\' | '`';
  readonly instructions: readonly Instruction[];
  /** Every comment line outside directives (including those dropped from continuations). */
  readonly comments: readonly Comment[];
  /** Parse warnings, e.g. `parse/empty-continuation` with its position. */
  readonly warnings: readonly Diagnostic[];
  /** The source text as given (BOM removed, CRLF kept in offsets as given). */
  readonly source: string;
}
