/**
 * WORKDIR: chains relative paths onto the current directory and, as BuildKit does, creates the directory in a
 * mkdir file step (0755, parents, owned by the current USER) unless it is `/`. The history entry has a layer but
 * no ` # buildkit` suffix.
 */
import type { WorkdirInstruction } from '../../grammar/ast.ts';
import type { ChownSpec } from '../graph.ts';
import { compileError } from '../diag.ts';
import { expandAt } from '../expand.ts';
import { cleanPath, commit, describe, envMap, originOf, withConfig, type CompileContext, type StageState } from '../state.ts';

export function chownOf(user: string): ChownSpec {
  const i = user.indexOf(':');
  return i < 0 ? { user } : { user: user.slice(0, i), group: user.slice(i + 1) };
}

export function lowerWorkdir(ins: WorkdirInstruction, s: StageState, ctx: CompileContext): StageState {
  const at = { file: ctx.file, range: ins.path.range };
  const p = expandAt(ins.path.value, envMap(s), at, { escape: ctx.escape });
  if (p === '') throw compileError('compile/empty-workdir', 'cannot normalize empty path', at, 'WORKDIR needs a directory, e.g. WORKDIR /app');
  const wd = cleanPath(p.startsWith('/') ? p : `${s.image.config.WorkingDir || '/'}/${p}`);
  let out = withConfig({ ...s, cwd: wd }, { WorkingDir: wd });
  if (wd === '/') return commit(out, ctx, `WORKDIR ${wd}`);
  const user = s.image.config.User ?? '';
  const cmdIndex = s.cmdIndex + 1;
  const id = ctx.addStep({
    kind: 'file',
    rootfs: s.last,
    inputs: [s.last],
    actions: [{ action: 'mkdir', path: wd, mode: 0o755, parents: true, ...(user !== '' ? { chown: chownOf(user) } : {}) }],
    contextSelectors: [],
    origin: originOf(s, ctx, ins, cmdIndex),
    description: describe(ins),
    platform: s.platformString,
  });
  out = { ...out, last: id, cmdIndex };
  return commit(out, ctx, `WORKDIR ${wd}`, id, false);
}
