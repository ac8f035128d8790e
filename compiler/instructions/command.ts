/** CMD, ENTRYPOINT, SHELL and HEALTHCHECK: process settings in the image config, shell form wrapped in SHELL. */
import type { CmdInstruction, CommandForm, EntrypointInstruction, HealthcheckInstruction, ShellInstruction } from '../../grammar/ast.ts';
import type { ContainerConfig } from '../graph.ts';
import { parseFlags } from '../flags.ts';
import { formatGoDuration, parseGoDuration } from '../duration.ts';
import { goList, goQuoteList } from '../go-format.ts';
import { commit, withConfig, type CompileContext, type StageState } from '../state.ts';

export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/** The stage's SHELL (or `/bin/sh -c`) followed by the command text: BuildKit's withShell. */
export function withShell(s: StageState, text: string): string[] {
  const sh = s.image.config.Shell && s.image.config.Shell.length > 0 ? s.image.config.Shell : DEFAULT_SHELL;
  return [...sh, text];
}

function argvOf(cmd: CommandForm, s: StageState): string[] {
  return cmd.form === 'exec' ? cmd.argv.map((w) => w.value) : withShell(s, cmd.command.value);
}

export function lowerCmd(ins: CmdInstruction, s: StageState, ctx: CompileContext): StageState {
  const args = argvOf(ins.command, s);
  return commit({ ...withConfig(s, { Cmd: args, ArgsEscaped: true }), cmdSet: true }, ctx, `CMD ${goQuoteList(args)}`);
}

/** ENTRYPOINT also clears an inherited CMD unless this stage set one (the CMD/ENTRYPOINT table). */
export function lowerEntrypoint(ins: EntrypointInstruction, s: StageState, ctx: CompileContext): StageState {
  const args = argvOf(ins.command, s);
  const patch: Partial<ContainerConfig> = s.cmdSet ? { Entrypoint: args } : { Entrypoint: args, Cmd: null };
  return commit(withConfig(s, patch), ctx, `ENTRYPOINT ${goQuoteList(args)}`);
}

export function lowerShell(ins: ShellInstruction, s: StageState, ctx: CompileContext): StageState {
  const sh = ins.command.form === 'exec' ? ins.command.argv.map((w) => w.value) : [];
  return commit(withConfig(s, { Shell: sh }), ctx, `SHELL ${goList(sh)}`);
}

export function lowerHealthcheck(ins: HealthcheckInstruction, s: StageState, ctx: CompileContext): StageState {
  const f = parseFlags('HEALTHCHECK', ins.flags, ctx.file);
  const dur = (k: string): number => {
    const v = f.strings.get(k)?.value;
    return v === undefined || v === '' ? 0 : parseGoDuration(v) ?? 0;
  };
  const retriesRaw = f.strings.get('retries')?.value;
  const retries = retriesRaw === undefined || retriesRaw === '' ? 0 : Number(retriesRaw);
  let test: string[];
  if (ins.type.value.toUpperCase() === 'NONE') test = ['NONE'];
  else if (ins.command?.form === 'exec') test = ['CMD', ...ins.command.argv.map((w) => w.value)];
  else test = ['CMD-SHELL', ins.command?.form === 'shell' ? ins.command.command.value : ''];
  const interval = dur('interval');
  const timeout = dur('timeout');
  const startPeriod = dur('start-period');
  const startInterval = dur('start-interval');
  // Docker's JSON omits zero durations (omitempty); the history text prints them all, as Go's %+v does.
  const hc: NonNullable<ContainerConfig['Healthcheck']> = {
    Test: test,
    ...(interval ? { Interval: interval } : {}),
    ...(timeout ? { Timeout: timeout } : {}),
    ...(startPeriod ? { StartPeriod: startPeriod } : {}),
    ...(startInterval ? { StartInterval: startInterval } : {}),
    ...(retries ? { Retries: retries } : {}),
  };
  const text = `HEALTHCHECK {Test:${goList(test)} Interval:${formatGoDuration(interval)} Timeout:${formatGoDuration(timeout)} StartPeriod:${formatGoDuration(startPeriod)} StartInterval:${formatGoDuration(startInterval)} Retries:${retries}}`;
  return commit(withConfig(s, { Healthcheck: hc }), ctx, text);
}
