/**
 * Metadata-only instructions: each changes the image config and adds an empty-layer history entry whose text is
 * what BuildKit writes (`USER x`, `EXPOSE [80/tcp]`, `VOLUME [/data]`, `STOPSIGNAL x`, `MAINTAINER x`).
 */
import type { ExposeInstruction, MaintainerInstruction, OnbuildInstruction, StopsignalInstruction, UserInstruction, VolumeInstruction } from '../../grammar/ast.ts';
import { compileError, didYouMean, locate } from '../diag.ts';
import { expandAt, expandWordsAt } from '../expand.ts';
import { goList } from '../go-format.ts';
import { parsePortSpec } from '../ports.ts';
import { isValidSignal, SIGNAL_NAMES } from '../signal.ts';
import { commit, envMap, withConfig, type CompileContext, type StageState } from '../state.ts';

export function lowerUser(ins: UserInstruction, s: StageState, ctx: CompileContext): StageState {
  const user = expandAt(ins.user.value, envMap(s), { file: ctx.file, range: ins.user.range }, { escape: ctx.escape });
  return commit(withConfig({ ...s, user }, { User: user }), ctx, `USER ${user}`);
}

export function lowerExpose(ins: ExposeInstruction, s: StageState, ctx: CompileContext): StageState {
  const env = envMap(s);
  const ports: string[] = [];
  for (const w of ins.ports) {
    const at = { file: ctx.file, range: w.range };
    for (const p of expandWordsAt(w.value, env, at, { escape: ctx.escape })) ports.push(...locate(at, () => parsePortSpec(p)));
  }
  const exposed: Record<string, Record<string, never>> = { ...(s.image.config.ExposedPorts ?? {}) };
  for (const p of ports) exposed[p] = {};
  return commit(withConfig(s, { ExposedPorts: exposed }), ctx, `EXPOSE ${goList(ports)}`);
}

export function lowerVolume(ins: VolumeInstruction, s: StageState, ctx: CompileContext): StageState {
  const env = envMap(s);
  const vols: Record<string, Record<string, never>> = { ...(s.image.config.Volumes ?? {}) };
  const list: string[] = [];
  for (const w of ins.paths) {
    const v = expandAt(w.value, env, { file: ctx.file, range: w.range }, { escape: ctx.escape });
    if (v === '') throw compileError('compile/empty-volume', 'VOLUME specified can not be an empty string', { file: ctx.file, range: w.range });
    vols[v] = {};
    list.push(v);
  }
  return commit(withConfig(s, { Volumes: vols }), ctx, `VOLUME ${goList(list)}`);
}

export function lowerStopsignal(ins: StopsignalInstruction, s: StageState, ctx: CompileContext): StageState {
  const at = { file: ctx.file, range: ins.signal.range };
  const sig = expandAt(ins.signal.value, envMap(s), at, { escape: ctx.escape });
  if (!isValidSignal(sig)) {
    throw compileError('compile/invalid-signal', `invalid signal: ${sig}`, at, didYouMean(sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`, SIGNAL_NAMES) ?? 'use a signal name such as SIGTERM or a number such as 15');
  }
  return commit(withConfig(s, { StopSignal: sig }), ctx, `STOPSIGNAL ${sig}`);
}

export function lowerMaintainer(ins: MaintainerInstruction, s: StageState, ctx: CompileContext): StageState {
  const author = ins.name.value;
  return commit({ ...s, image: { ...s.image, author } }, ctx, `MAINTAINER ${author}`);
}

/** ONBUILD records its trigger text; BuildKit writes no history entry for it. */
export function lowerOnbuild(ins: OnbuildInstruction, s: StageState, _ctx: CompileContext): StageState {
  return withConfig(s, { OnBuild: [...(s.image.config.OnBuild ?? []), ins.triggerText] });
}
