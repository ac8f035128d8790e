/** Small helpers shared by rule families. */
import type { RunInstruction } from '../../../grammar/ast.ts';
import type { RunScript } from '../context.ts';
import type { ShCommand, ShWord } from '../shell/parse.ts';
import type { Rule, RuleLevel, RuleSource } from '../types.ts';
import type { LintContext } from '../context.ts';

export function hadolint(code: string, name: string, severity: RuleLevel, description: string, check: (ctx: LintContext) => void): Rule {
  return { code, name, source: 'hadolint', severity, docsUrl: `https://github.com/hadolint/hadolint/wiki/${code}`, description, check };
}

export function tsbuildRule(code: string, severity: RuleLevel, description: string, check: (ctx: LintContext) => void, source: RuleSource = 'tsbuild'): Rule {
  return { code, name: code, source, severity, docsUrl: `https://github.com/tsbuild/tsbuild/blob/main/docs/rules/${code}.md`, description, check };
}

/** `--mount` specs of a RUN: type and target. */
export function mounts(run: RunInstruction): { type: string; target: string }[] {
  const out: { type: string; target: string }[] = [];
  for (const f of run.flags) {
    if (f.name !== 'mount' || !f.value) continue;
    const kv = new Map<string, string>();
    for (const part of f.value.split(',')) {
      const eq = part.indexOf('=');
      kv.set((eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase(), eq < 0 ? '' : part.slice(eq + 1).trim());
    }
    out.push({ type: kv.get('type') ?? 'bind', target: kv.get('target') ?? kv.get('dst') ?? kv.get('destination') ?? '' });
  }
  return out;
}

/** Whether a cache or tmpfs mount covers `dir` (so files left there never reach the image). */
export function mountedAway(run: RunInstruction, dir: string): boolean {
  const d = dir.replace(/\/+$/, '');
  return mounts(run).some((m) => (m.type === 'cache' || m.type === 'tmpfs') && (d === m.target.replace(/\/+$/, '') || d.startsWith(m.target.replace(/\/+$/, '') + '/')));
}

/** The command name (basename of argv[0]). */
export function nameOf(c: ShCommand): string {
  return c.name;
}

/**
 * `text` as a regular expression that matches it literally: ARG and ENV names come from the Dockerfile and may hold
 * any character (`ARG A[B` once made a rule build an invalid pattern and fail).
 */
export function literalPattern(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** argv values after the name. */
export function argsOf(c: ShCommand): readonly ShWord[] {
  return c.args;
}

/** Whether an argv holds a flag: long (`--yes`), or a short letter inside a cluster (`-qy`). */
export function hasFlag(args: readonly ShWord[], long: readonly string[], short: readonly string[] = []): boolean {
  for (const a of args) {
    const v = a.value;
    if (v === '--') return false;
    if (v.startsWith('--')) {
      const name = v.split('=')[0]!;
      if (long.includes(name)) return true;
    } else if (v.startsWith('-') && v.length > 1) {
      for (const s of short) if (v.slice(1).includes(s)) return true;
    }
  }
  return false;
}

/**
 * Positional arguments (non-flags) after a subcommand such as `install`, skipping the values of the given
 * flags that take one (`-o x`, `--target x`).
 */
export function positionalsAfter(c: ShCommand, sub: readonly string[], valued: readonly string[] = []): ShWord[] | undefined {
  const args = argsOf(c);
  const i = args.findIndex((a) => sub.includes(a.value));
  if (i < 0) return undefined;
  const out: ShWord[] = [];
  for (let k = i + 1; k < args.length; k++) {
    const v = args[k]!.value;
    if (v.startsWith('-')) {
      if (valued.includes(v)) k++;
      continue;
    }
    out.push(args[k]!);
  }
  return out;
}

/** Commands of one RUN (all its scripts). */
export function runCommands(ctx: LintContext, run: RunInstruction): { cmd: ShCommand; script: RunScript }[] {
  const out: { cmd: ShCommand; script: RunScript }[] = [];
  for (const r of ctx.runsByInstruction().get(run) ?? []) for (const cmd of r.script.commands) out.push({ cmd, script: r });
  return out;
}
