/**
 * What rules see: the Dockerfile, its stages, the shell analysis of every RUN (parsed once, shared by all
 * rules), constant ARG values, and `report`.
 */
import type { Dockerfile, FromInstruction, Heredoc, Instruction, RunInstruction, Word } from '../../grammar/ast.ts';
import type { Range } from '../../util/position.ts';
import { processWord } from '../shell/index.ts';
import { heredocOffsetMap, LineIndex, wordOffsetMap, type OffsetMap } from './source-map.ts';
import { parseShell, type ShCommand, type ShScript } from './shell/parse.ts';
import type { Fix, LintOptions, Rule } from './types.ts';

/** A simple command and the RUN script it is in. */
export interface CommandAt {
  readonly cmd: ShCommand;
  readonly run: RunScript;
}
const NO_COMMANDS: readonly CommandAt[] = [];

/** The argv an exec-form SHELL instruction sets; undefined for any other instruction. */
function shellSetBy(ins: Instruction): string[] | undefined {
  return ins.kind === 'SHELL' && ins.command.form === 'exec' ? ins.command.argv.map((w) => w.value) : undefined;
}

/** A build stage as the linter sees it. */
export interface Stage {
  /** 0-based stage index. */
  readonly index: number;
  readonly from: FromInstruction;
  /** Lower-cased stage name, when named. */
  readonly name?: string;
  /** The stage's instructions after FROM (ONBUILD triggers not unwrapped). */
  readonly instructions: readonly Instruction[];
  /** Whether building the target needs this stage. */
  readonly needed: boolean;
  /** The stage this one builds on (FROM <stage>), when any. */
  readonly parent?: number;
}

/** One shell script inside a RUN: the main command or a heredoc body analysed as shell. */
export interface RunScript {
  readonly run: RunInstruction;
  /** The stage index the RUN belongs to (-1 never happens for RUN; ONBUILD RUNs carry their stage too). */
  readonly stage: number;
  readonly text: string;
  readonly script: ShScript;
  readonly map: OffsetMap;
  readonly heredoc?: Heredoc;
  /** From an ONBUILD trigger. */
  readonly onbuild: boolean;
  /** `bash` when the script is known to run under bash (SHELL, shebang, `<<EOF bash`), else `posix`. */
  readonly variant: 'bash' | 'posix';
}

/** A raw finding before suppression and severity resolution. */
export interface RawFinding {
  readonly rule: Rule;
  readonly range: Range;
  readonly message: string;
  readonly fix?: Fix;
  /** The instruction the finding belongs to (for inline suppressions); undefined: file-level. */
  readonly instruction?: Instruction;
}

const SHELLS = /(?:^|\/)(?:ba|da|a|z|k|mk)?sh$/;

export class LintContext {
  readonly df: Dockerfile;
  readonly options: LintOptions;
  readonly lines: LineIndex;
  readonly stages: readonly Stage[];
  /** ARG instructions before the first FROM. */
  readonly globals: readonly Instruction[];
  #runs: readonly RunScript[] | undefined;
  /**
   * Every RUN script (main command and shell heredocs), in file order. Parsed on first use: a lint that runs no
   * shell rule (a build's BuildKit checks) never parses a RUN.
   */
  get runs(): readonly RunScript[] {
    return (this.#runs ??= this.collectRuns());
  }
  /** Global ARG defaults with constants expanded (build args override), for image names and pins. */
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly findings: RawFinding[] = [];
  private current: Rule | undefined;

  constructor(df: Dockerfile, options: LintOptions) {
    this.df = df;
    this.options = options;
    this.lines = new LineIndex(df.source);
    const globals: Instruction[] = [];
    const raw: { from: FromInstruction; instructions: Instruction[] }[] = [];
    for (const ins of df.instructions) {
      if (ins.kind === 'FROM') raw.push({ from: ins, instructions: [] });
      else if (raw.length === 0) globals.push(ins);
      else raw[raw.length - 1]!.instructions.push(ins);
    }
    this.globals = globals;
    const args = new Map<string, string>();
    for (const g of globals) {
      if (g.kind !== 'ARG') continue;
      for (const d of g.declarations) {
        const given = options.buildArgs?.get(d.name.value);
        if (given !== undefined) args.set(d.name.value, given);
        else if (d.default) args.set(d.name.value, this.expand(d.default.value, args));
      }
    }
    this.globalArgs = args;
    this.stages = this.resolveStages(raw);
  }

  /** Expands `$VAR` with the given values (unknown names stay as written); never throws. */
  expand(text: string, env: ReadonlyMap<string, string>): string {
    if (!text.includes('$')) return text;
    try {
      return processWord(text, env, { escape: this.df.escape, skipUnsetEnv: true }).value;
    } catch {
      return text;
    }
  }

  readonly #images = new Map<FromInstruction, string>();

  /**
   * The FROM image with constant global ARGs substituted (e.g. `debian:${TAG}` → `debian:bookworm`). Remembered per
   * FROM: the stage resolution and several rules ask for every stage's image.
   */
  imageOf(from: FromInstruction): string {
    let image = this.#images.get(from);
    if (image === undefined) {
      image = this.expand(from.image.value, this.globalArgs);
      this.#images.set(from, image);
    }
    return image;
  }

  #firstStageNamed: Map<string, number> | undefined;

  /** The index of the first stage named `name` (lower case), if any. */
  stageNamed(name: string): number | undefined {
    if (!this.#firstStageNamed) {
      const m = new Map<string, number>();
      for (const s of this.stages) if (s.name !== undefined && !m.has(s.name)) m.set(s.name, s.index);
      this.#firstStageNamed = m;
    }
    return this.#firstStageNamed.get(name);
  }

  private resolveStages(raw: { from: FromInstruction; instructions: Instruction[] }[]): Stage[] {
    const byName = new Map<string, number>();
    const deps: Set<number>[] = [];
    const parents: (number | undefined)[] = [];
    raw.forEach((s, i) => {
      const d = new Set<number>();
      const ref = this.imageOf(s.from).toLowerCase();
      const parent = byName.get(ref);
      if (parent !== undefined) d.add(parent);
      parents.push(parent);
      for (const ins of s.instructions) {
        const eff = ins.kind === 'ONBUILD' ? undefined : ins;
        if (!eff) continue;
        for (const f of eff.flags) {
          let ref2: string | undefined;
          if (f.name === 'from' && (eff.kind === 'COPY' || eff.kind === 'ADD')) ref2 = f.value ?? undefined;
          if (f.name === 'mount' && f.value) {
            const m = /(?:^|,)from=([^,]+)/.exec(f.value);
            ref2 = m?.[1];
          }
          if (ref2 === undefined) continue;
          const r = this.expand(ref2, this.globalArgs).toLowerCase();
          const idx = byName.get(r) ?? (/^\d+$/.test(r) ? Number(r) : undefined);
          if (idx !== undefined && idx < i) d.add(idx);
        }
      }
      deps.push(d);
      if (s.from.stageName) byName.set(s.from.stageName.value.toLowerCase(), i);
    });
    let target = raw.length - 1;
    if (this.options.target !== undefined) {
      const t = byName.get(this.options.target.toLowerCase());
      if (t !== undefined) target = t;
    }
    const needed = new Set<number>();
    const visit = (i: number): void => {
      if (needed.has(i) || i < 0) return;
      needed.add(i);
      for (const d of deps[i] ?? []) visit(d);
    };
    visit(target);
    return raw.map((s, i) => ({
      index: i,
      from: s.from,
      ...(s.from.stageName ? { name: s.from.stageName.value.toLowerCase() } : {}),
      instructions: s.instructions,
      needed: needed.has(i),
      ...(parents[i] !== undefined ? { parent: parents[i] } : {}),
    }));
  }

  /** The target stage index (the last stage unless `--target`). */
  get targetStage(): number {
    let t = this.stages.length - 1;
    if (this.options.target !== undefined) {
      const i = this.stages.findIndex((s) => s.name === this.options.target!.toLowerCase());
      if (i >= 0) t = i;
    }
    return t;
  }

  /** The shell in effect at an instruction of `stage`: SHELLs of its ancestors, then its own SHELLs before it. */
  shellAt(stage: Stage, before: Instruction): { argv: string[] } {
    // collectRuns recorded it for every RUN (and ONBUILD RUN) while walking the stages once
    const known = this.#shellBefore.get(before);
    if (known) return { argv: known };
    let argv = this.inheritedShell(stage);
    for (const ins of stage.instructions) {
      if (ins === before) break;
      argv = shellSetBy(ins) ?? argv;
    }
    return { argv };
  }

  /** The SHELL a stage starts with: its ancestors' SHELL instructions applied in order. */
  private inheritedShell(stage: Stage): string[] {
    const parent = stage.parent !== undefined ? this.stages[stage.parent] : undefined;
    return parent ? this.#finalShell(parent) : ['/bin/sh', '-c'];
  }

  readonly #shellAfter = new Map<number, string[]>();

  /**
   * The SHELL in effect at the end of a stage (what a stage built FROM it starts with), remembered per stage: a
   * chain of stages each FROM the one before costs one pass over each stage, not one over all its ancestors.
   */
  #finalShell(stage: Stage): string[] {
    let argv = this.#shellAfter.get(stage.index);
    if (argv === undefined) {
      argv = this.inheritedShell(stage);
      for (const ins of stage.instructions) argv = shellSetBy(ins) ?? argv;
      this.#shellAfter.set(stage.index, argv);
    }
    return argv;
  }

  private collectRuns(): RunScript[] {
    const out: RunScript[] = [];
    for (const st of this.stages) {
      // The shell in effect, tracked along the stage (what shellAt computes, without rescanning for every RUN).
      let shell = this.inheritedShell(st);
      for (const ins of st.instructions) {
        shell = shellSetBy(ins) ?? shell;
        const run = ins.kind === 'RUN' ? ins : ins.kind === 'ONBUILD' && ins.trigger?.kind === 'RUN' ? ins.trigger : undefined;
        if (!run) continue;
        this.#shellBefore.set(ins, shell);
        if (run !== ins) this.#shellBefore.set(run, shell);
        // PowerShell and cmd scripts (Windows images) are not POSIX shell: no shell analysis for them
        if (!SHELLS.test(shell[0] ?? '')) continue;
        const shellVariant: 'bash' | 'posix' = /bash$/.test(shell[0] ?? '') ? 'bash' : 'posix';
        if (run.command.form === 'exec') {
          // exec form: `["sh", "-c", "script"]` is still a script
          const argv = run.command.argv;
          if (argv.length >= 3 && SHELLS.test(argv[0]!.value) && /^-[a-z]*c[a-z]*$/.test(argv[1]!.value)) {
            const w = argv[2]!;
            const text = w.value;
            const map: OffsetMap = {
              source: (i) => w.range.start.offset + 1 + i,
              range: (a, b) => ({ start: this.lines.at(w.range.start.offset + 1 + a), end: this.lines.at(w.range.start.offset + 1 + b) }),
            };
            out.push({ run, stage: st.index, text, script: parseShell(text), map, onbuild: ins !== run, variant: shellVariant });
          }
          continue;
        }
        const cmd = run.command.command;
        const hasHeredocs = run.heredocs.length > 0;
        const script = parseShell(cmd.value);
        out.push({
          run,
          stage: st.index,
          text: cmd.value,
          script,
          map: wordOffsetMap(cmd, this.lines, this.df.escape),
          onbuild: ins !== run,
          variant: shellVariant,
        });
        if (hasHeredocs) {
          const words = script.commands;
          const onlyHeredoc = words.length === 0 || words.every((c) => c.words.length === 0);
          for (const h of run.heredocs) {
            const interp = heredocInterpreter(h, onlyHeredoc, words, shell);
            if (!interp) continue;
            out.push({
              run,
              stage: st.index,
              text: h.content,
              script: parseShell(h.content),
              map: heredocOffsetMap(h, this.lines),
              heredoc: h,
              onbuild: ins !== run,
              variant: interp,
            });
          }
        }
      }
    }
    return out;
  }

  /** The shell in effect at each RUN (and at an ONBUILD RUN, under both the ONBUILD and its trigger), recorded by collectRuns. */
  readonly #shellBefore = new Map<Instruction, string[]>();
  #byName: Map<string, CommandAt[]> | undefined;
  #byRun: Map<RunInstruction, RunScript[]> | undefined;

  /**
   * The simple commands named `name` (basename of argv[0]) in every RUN script, in file order: rules about one tool
   * look at its commands only instead of every command of the file (the index is built once per file).
   */
  commandsNamed(name: string): readonly CommandAt[] {
    return this.#commandIndex().get(name) ?? NO_COMMANDS;
  }

  /** Every command name that occurs in the RUN scripts. */
  commandNames(): Iterable<string> {
    return this.#commandIndex().keys();
  }

  #commandIndex(): ReadonlyMap<string, CommandAt[]> {
    if (!this.#byName) {
      const m = new Map<string, CommandAt[]>();
      for (const run of this.runs) {
        for (const cmd of run.script.commands) {
          const l = m.get(cmd.name);
          if (l) l.push({ cmd, run });
          else m.set(cmd.name, [{ cmd, run }]);
        }
      }
      this.#byName = m;
    }
    return this.#byName;
  }

  /** The RUN scripts grouped per RUN instruction, in order (computed once per file). */
  runsByInstruction(): ReadonlyMap<RunInstruction, RunScript[]> {
    if (!this.#byRun) {
      const m = new Map<RunInstruction, RunScript[]>();
      for (const r of this.runs) {
        const l = m.get(r.run);
        if (l) l.push(r);
        else m.set(r.run, [r]);
      }
      this.#byRun = m;
    }
    return this.#byRun;
  }

  /** Runs one rule (findings are attributed to it). */
  runRule(rule: Rule): void {
    this.current = rule;
    try {
      rule.check(this);
    } finally {
      this.current = undefined;
    }
  }

  /** Reports a finding for the rule being run. */
  report(range: Range, message: string, opts: { fix?: Fix; instruction?: Instruction } = {}): void {
    if (!this.current) throw new Error('report() outside a rule');
    this.findings.push({
      rule: this.current,
      range,
      message,
      ...(opts.fix ? { fix: opts.fix } : {}),
      ...(opts.instruction ? { instruction: opts.instruction } : {}),
    });
  }

  /** Source range of a shell word/command inside a RUN script. */
  shRange(r: RunScript, start: number, end: number): Range {
    return r.map.range(start, end);
  }

  private all: { ins: Instruction; stage: Stage | undefined; wrapper?: Instruction }[] | undefined;

  /** Every instruction of every stage and the globals, ONBUILD triggers unwrapped (with their wrapper). */
  allInstructions(): readonly { ins: Instruction; stage: Stage | undefined; wrapper?: Instruction }[] {
    if (this.all) return this.all;
    const out: { ins: Instruction; stage: Stage | undefined; wrapper?: Instruction }[] = [];
    for (const g of this.globals) out.push({ ins: g, stage: undefined });
    for (const st of this.stages) {
      out.push({ ins: st.from, stage: st });
      for (const ins of st.instructions) {
        out.push({ ins, stage: st });
        if (ins.kind === 'ONBUILD' && ins.trigger) out.push({ ins: ins.trigger, stage: st, wrapper: ins });
      }
    }
    this.all = out;
    return out;
  }

  /** Commands of every RUN script, with their script. */
  *commands(): Generator<{ cmd: ShCommand; run: RunScript }> {
    for (const r of this.runs) for (const cmd of r.script.commands) yield { cmd, run: r };
  }

  /** A range for a word. */
  wordRange(w: Word): Range {
    return w.range;
  }
}

/** Which shell variant runs a heredoc body, or undefined when it is not shell (python, a data file). */
function heredocInterpreter(h: Heredoc, onlyHeredoc: boolean, cmds: readonly ShCommand[], shell: string[]): 'bash' | 'posix' | undefined {
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(h.content);
  if (shebang) {
    const prog = shebang[1]!.endsWith('/env') ? (shebang[2] ?? '') : shebang[1]!;
    if (/bash$/.test(prog)) return 'bash';
    return SHELLS.test(prog) ? 'posix' : undefined;
  }
  if (onlyHeredoc) return /bash$/.test(shell[0] ?? '') ? 'bash' : 'posix';
  // `<<EOF bash`, `bash <<EOF`, `sh -e <<EOF`: the command that reads the heredoc is a shell
  const reader = cmds.find((c) => c.redirects.some((r) => r.op.startsWith('<<') && r.target?.value.replace(/^-/, '') === h.name));
  const name = reader?.words[0]?.value ?? '';
  if (/bash$/.test(name)) return 'bash';
  return SHELLS.test(name) ? 'posix' : undefined;
}
