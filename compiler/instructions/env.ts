/** ENV and LABEL: key/value pairs, every pair expanded against the environment before the instruction. */
import type { EnvInstruction, LabelInstruction } from '../../grammar/ast.ts';
import { expandAt } from '../expand.ts';
import { addEnv, addImageEnv, commit, envMap, withConfig, type CompileContext, type StageState } from '../state.ts';

function expandPairs(ins: EnvInstruction | LabelInstruction, s: StageState, ctx: CompileContext): [string, string][] {
  const env = envMap(s);
  const opts = { escape: ctx.escape };
  return ins.pairs.map((p) => [
    expandAt(p.key.value, env, { file: ctx.file, range: p.key.range }, opts),
    expandAt(p.value.value, env, { file: ctx.file, range: p.value.range }, opts),
  ]);
}

export function lowerEnv(ins: EnvInstruction, s: StageState, ctx: CompileContext): StageState {
  let out = s;
  const parts: string[] = [];
  for (const [k, v] of expandPairs(ins, s, ctx)) {
    parts.push(`${k}=${v}`);
    out = withConfig({ ...out, env: addEnv(out.env, k, v) }, { Env: addImageEnv(out.image.config.Env, k, v) });
  }
  return commit(out, ctx, `ENV ${parts.join(' ')}`);
}

export function lowerLabel(ins: LabelInstruction, s: StageState, ctx: CompileContext): StageState {
  const labels: Record<string, string> = { ...(s.image.config.Labels ?? {}) };
  const parts: string[] = [];
  for (const [k, v] of expandPairs(ins, s, ctx)) {
    labels[k] = v;
    parts.push(`${k}=${v}`);
  }
  return commit(withConfig(s, { Labels: labels }), ctx, `LABEL ${parts.join(' ')}`);
}
