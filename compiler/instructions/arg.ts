/**
 * ARG inside a stage (BuildKit dispatchArg): the value is the --build-arg, else the expanded default, else the
 * global ARG of the same name; a value joins the stage's environment (what RUN sees), never the image config.
 */
import type { ArgInstruction } from '../../grammar/ast.ts';
import { expandAt } from '../expand.ts';
import { addEnv, commit, envMap, type CompileContext, type StageState } from '../state.ts';

export function lowerArg(ins: ArgInstruction, s: StageState, ctx: CompileContext): StageState {
  let out = s;
  const parts: string[] = [];
  for (const d of ins.declarations) {
    const key = d.name.value;
    ctx.markArgUsed(key);
    let value: string | undefined;
    if (ctx.buildArgs.has(key)) value = ctx.buildArgs.get(key);
    else if (d.default !== undefined) {
      value = expandAt(d.default.value, envMap(out), { file: ctx.file, range: d.default.range }, { escape: ctx.escape });
    } else if (ctx.globalArgs.has(key)) value = ctx.globalArgs.get(key);
    if (value !== undefined) out = { ...out, env: addEnv(out.env, key, value) };
    out = { ...out, args: [...out.args, { key, value }] };
    parts.push(value === undefined ? key : `${key}=${value}`);
  }
  return commit(out, ctx, `ARG ${parts.join(' ')}`);
}
