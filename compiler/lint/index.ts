/**
 * The linter: `lint(df, options) → Finding[]`. Pure (no I/O): the CLI injects what needs the file system
 * (.dockerignore, config files, base image facts) through LintOptions, and the sh-syntax WASM bytes through
 * `loadShellSyntax`.
 *
 * Pipeline: context (stages, RUN scripts parsed once) → every enabled rule → suppressions (inline, stage, file,
 * BuildKit's `# check=` directive) → severities (defaults, overrides, `error=true`) → sorted findings, with
 * `UnusedSuppression` findings for suppressions that matched nothing.
 */
import type { Dockerfile, Instruction } from '../../grammar/ast.ts';
import type { Range } from '../../util/position.ts';
import { LintContext, type RawFinding } from './context.ts';
import { buildkitRules } from './rules/buildkit.ts';
import { hadolintRules } from './rules/hadolint.ts';
import { hadolintShellRules } from './rules/hadolint-shell.ts';
import { tsbuildRules, } from './rules/tsbuild.ts';
import { tsbuildRule } from './rules/helpers.ts';
import type { Finding, LintOptions, Rule, RuleLevel } from './types.ts';

export type * from './types.ts';
export { LintContext, type Stage, type RunScript } from './context.ts';
export { parseShell, type ShScript, type ShCommand, type ShWord } from './shell/parse.ts';
export { applyFixes, fixUntilStable, unifiedDiff, type FixResult } from './fix.ts';
export { formatFindings, FORMATS, type OutputFormat } from './format/index.ts';
export { loadShellSyntax } from './shell/sh-syntax.ts';
export { lintConfigFrom, type LintConfig } from './config.ts';

const unusedSuppressionRule = tsbuildRule('UnusedSuppression', 'info', 'A suppression comment that matched no finding', () => {});

/** Every rule tsbuild knows, BuildKit's first. */
export const RULES: readonly Rule[] = [...buildkitRules, ...hadolintRules, ...hadolintShellRules, ...tsbuildRules, unusedSuppressionRule];
/** The code of every rule (a suppression naming another code is reported as unknown). */
const KNOWN_CODES: ReadonlySet<string> = new Set(RULES.map((r) => r.code));
/**
 * Each known code's rank in locale order, which for the rule codes is code-unit order (a test holds them to it): sorting
 * them with localeCompare would load ICU's collator, 12 ms of every build's start-up. Unknown (custom) codes still
 * compare with localeCompare.
 */
const CODE_RANK: ReadonlyMap<string, number> = new Map([...KNOWN_CODES].sort().map((c, i) => [c, i]));
const byPositionThenCode = (a: Finding, b: Finding): number => {
  const d = a.range.start.offset - b.range.start.offset;
  if (d !== 0 || a.code === b.code) return d;
  const ra = CODE_RANK.get(a.code);
  const rb = CODE_RANK.get(b.code);
  return ra !== undefined && rb !== undefined ? ra - rb : a.code.localeCompare(b.code);
};

const SEVERITY_ORDER: Record<RuleLevel, number> = { error: 0, warning: 1, info: 2, style: 3, ignore: 4 };

/** Whether `a` is at least as severe as threshold `t` (`error` > `warning` > `info` > `style`). */
export function atLeast(a: RuleLevel, t: RuleLevel): boolean {
  return SEVERITY_ORDER[a] <= SEVERITY_ORDER[t];
}

interface Suppression {
  readonly codes: readonly string[];
  readonly scope: 'instruction' | 'stage' | 'file';
  /** Source line range the suppression covers (1-based, inclusive). */
  readonly from: number;
  readonly to: number;
  readonly range: Range;
  used: boolean;
}

const INLINE_RE = /^\s*(hadolint|tsbuild)\s+(global\s+)?(ignore|ignore-file|ignore-stage)\s*=\s*([A-Za-z0-9_,\s]+?)\s*(?:--.*)?$/;

/** Reads suppression comments: inline (next instruction), stage-wide and file-wide. */
function suppressions(df: Dockerfile, ctx: LintContext): Suppression[] {
  const out: Suppression[] = [];
  const lastLine = ctx.lines.at(df.source.length).line;
  const stageEnd = (startLine: number): number => {
    const next = ctx.stages.find((s) => s.from.range.start.line > startLine);
    return next ? next.from.range.start.line - 1 : lastLine;
  };
  const seen = new Set<number>();
  const visit = (ins: Instruction): void => {
    for (const c of ins.comments) {
      if (seen.has(c.range.start.offset)) continue;
      seen.add(c.range.start.offset);
      const m = INLINE_RE.exec(c.text);
      if (!m) continue;
      const codes = m[4]!.split(/[\s,]+/).filter(Boolean);
      const kind = m[2] ? 'ignore-file' : m[3]!;
      if (kind === 'ignore-file') out.push({ codes, scope: 'file', from: 1, to: lastLine, range: c.range, used: false });
      else if (kind === 'ignore-stage') out.push({ codes, scope: 'stage', from: ins.range.start.line, to: stageEnd(ins.range.start.line), range: c.range, used: false });
      else out.push({ codes, scope: 'instruction', from: ins.range.start.line, to: ins.range.end.line, range: c.range, used: false });
    }
  };
  for (const ins of df.instructions) visit(ins);
  // comments not attached to an instruction (after a blank line) can still be file-wide
  for (const c of df.comments) {
    if (seen.has(c.range.start.offset)) continue;
    const m = INLINE_RE.exec(c.text);
    if (m && (m[2] || m[3] === 'ignore-file')) out.push({ codes: m[4]!.split(/[\s,]+/).filter(Boolean), scope: 'file', from: 1, to: lastLine, range: c.range, used: false });
  }
  return out;
}

/** BuildKit's `# check=skip=A,B;error=true;experimental=all` directive. */
function checkDirective(directives: Dockerfile['directives']): { skip: Set<string>; skipAll: boolean; error: boolean; experimental: Set<string>; experimentalAll: boolean } {
  const res = { skip: new Set<string>(), skipAll: false, error: false, experimental: new Set<string>(), experimentalAll: false };
  for (const d of directives) {
    if (d.name !== 'check') continue;
    for (const part of d.value.split(';')) {
      const eq = part.indexOf('=');
      const k = part.slice(0, eq).trim().toLowerCase();
      const v = part.slice(eq + 1).trim();
      const list = v.split(',').map((s) => s.trim()).filter(Boolean);
      if (k === 'skip') {
        if (list.includes('all')) res.skipAll = true;
        for (const s of list) res.skip.add(s);
      } else if (k === 'error') res.error = v === 'true';
      else if (k === 'experimental') {
        if (list.includes('all')) res.experimentalAll = true;
        for (const s of list) res.experimental.add(s);
      }
    }
  }
  return res;
}

type CheckDirective = ReturnType<typeof checkDirective>;

/** The severity a rule reports at: an override, BuildKit's `error=true` for its checks, else the rule's own. */
function levelFor(r: Rule, options: LintOptions, directive: CheckDirective): RuleLevel {
  const o = options.overrides?.get(r.code);
  if (o) return o;
  if (r.source === 'buildkit' && directive.error) return 'error';
  return r.severity;
}

/** The rules that run: not ignored or switched off, experimental ones only when enabled, BuildKit's minus `skip`. */
function selectRules(rules: readonly Rule[], options: LintOptions, directive: CheckDirective): Rule[] {
  const ignored = new Set(options.ignored ?? []);
  const expOpt = options.experimental;
  const experimentalOn = (r: Rule): boolean =>
    expOpt === true || (Array.isArray(expOpt) && expOpt.includes(r.code)) || directive.experimentalAll || directive.experimental.has(r.code);
  return rules.filter(
    (r) =>
      !ignored.has(r.code) &&
      levelFor(r, options, directive) !== 'ignore' &&
      (!r.experimental || experimentalOn(r)) &&
      !(r.source === 'buildkit' && (directive.skipAll || directive.skip.has(r.code))),
  );
}

/** What selectRules picks with no options and no `# check=` directive, computed once (most lints need just that). */
const DEFAULT_ACTIVE: readonly Rule[] = selectRules(RULES, {}, checkDirective([]));
const usesDefaults = (options: LintOptions, df: Dockerfile): boolean =>
  options.rules === undefined &&
  !options.ignored?.length &&
  !options.overrides?.size &&
  options.experimental === undefined &&
  !df.directives.some((d) => d.name === 'check');

/**
 * Lints a Dockerfile (from `parseTolerant`, so a broken file still gets every finding). Returns findings sorted
 * by position; `severity` is the effective one after overrides. Never throws on any parsed input.
 */
export function lint(df: Dockerfile, options: LintOptions = {}): Finding[] {
  const ctx = new LintContext(df, options);
  const directive = checkDirective(df.directives);
  const ignored = new Set(options.ignored ?? []);
  const levelOf = (r: Rule): RuleLevel => levelFor(r, options, directive);
  const rules = options.rules ?? RULES;
  for (const r of usesDefaults(options, df) ? DEFAULT_ACTIVE : selectRules(rules, options, directive)) {
    try {
      ctx.runRule(r);
    } catch (e) {
      // a rule bug must not hide every other finding; report it as a finding of its own
      const first = df.instructions[0];
      const at = first?.keywordRange ?? { start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } };
      ctx.findings.push({ rule: r, range: at, message: `internal error in rule ${r.code}: ${(e as Error).message}` });
    }
  }
  const sups = suppressions(df, ctx);
  const out: Finding[] = [];
  const emit = (f: RawFinding, level: Exclude<RuleLevel, 'ignore'>): void => {
    out.push({
      code: f.rule.code,
      rule: f.rule.name,
      source: f.rule.source,
      docsUrl: f.rule.docsUrl,
      severity: level,
      message: f.message,
      ...(df.file !== undefined ? { file: df.file } : {}),
      range: f.range,
      ...(f.fix ? { fix: f.fix } : {}),
    });
  };
  for (const f of ctx.findings) {
    const line = f.instruction ? f.instruction.range.start.line : f.range.start.line;
    const endLine = f.instruction ? f.instruction.range.end.line : f.range.end.line;
    const sup = sups.find((s) => s.codes.includes(f.rule.code) && s.from <= line && endLine <= s.to + (s.scope === 'instruction' ? 0 : 0));
    if (sup) {
      sup.used = true;
      continue;
    }
    const level = levelOf(f.rule);
    if (level !== 'ignore') emit(f, level);
  }
  if (options.reportUnusedSuppressions !== false && !ignored.has('UnusedSuppression')) {
    for (const s of sups) {
      if (s.used) continue;
      // a suppression for a rule that is switched off here may be used elsewhere (another config): only report
      // codes that ran
      const ran = s.codes.filter((c) => KNOWN_CODES.has(c) && rules.some((r) => r.code === c) && !ignored.has(c));
      if (ran.length === 0 && s.codes.every((c) => KNOWN_CODES.has(c))) continue;
      const unknown = s.codes.filter((c) => !KNOWN_CODES.has(c));
      const msg = unknown.length > 0 ? `suppression names unknown rule${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}` : `suppression of ${s.codes.join(', ')} matched no finding`;
      const level = levelOf(unusedSuppressionRule);
      if (level !== 'ignore') emit({ rule: unusedSuppressionRule, range: s.range, message: msg }, level);
    }
  }
  out.sort(byPositionThenCode);
  return out;
}
