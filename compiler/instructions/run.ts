/**
 * RUN: an exec step on the stage's rootfs. Shell form is wrapped in SHELL; heredocs follow BuildKit's dispatchRun
 * (a lone `#!` heredoc becomes a 0755 file at /dev/pipes/<name> that is executed, a lone plain heredoc becomes
 * the shell command, anything else hands the line plus bodies to the shell). The env is the stage env (image ENV
 * plus in-scope ARG values), so an ARG changes the key of every later RUN but of no COPY.
 */
import type { RunInstruction } from '../../grammar/ast.ts';
import type { ContextSelector, ExecStep, RunHeredocFile, RunMount, StepId } from '../graph.ts';
import { compileError, locate } from '../diag.ts';
import { expandAt } from '../expand.ts';
import { parseFlags } from '../flags.ts';
import { parseMount } from '../mounts.ts';
import { cleanPath, commit, describe, envMap, originOf, type CompileContext, type DeclaredArg, type StageState } from '../state.ts';
import { withShell } from './command.ts';

const LONE_HEREDOC = /^(\d*)<<(-?)\s*([^<]*)$/;
const SINGLE_WORD = /^(?:'[^']*'|"[^"]*"|[^\s'"])+$/;

/** BuildKit's runCommandString: `|2 A=1 B=2 /bin/sh -c …` when ARGs are declared. */
export function runCommandString(argv: readonly string[], args: readonly DeclaredArg[], env: ReadonlyMap<string, string>): string {
  const order: string[] = [];
  const vals = new Map<string, string>();
  for (const a of args) {
    if (!vals.has(a.key)) order.push(a.key);
    vals.set(a.key, env.get(a.key) ?? a.value ?? '');
  }
  const prefix = order.length > 0 ? [`|${order.length}`, ...order.map((k) => `${k}=${vals.get(k)}`)] : [];
  return [...prefix, ...argv].join(' ');
}

function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replace(/\r\n/g, '\n').split('\n');
  return lines.length > 1 ? `${lines[0]}...` : (lines[0] ?? '');
}

export function lowerRun(ins: RunInstruction, s: StageState, ctx: CompileContext): StageState {
  const f = parseFlags('RUN', ins.flags, ctx.file);
  const env = envMap(s);
  const network = f.strings.get('network');
  const security = f.strings.get('security');
  const net = network === undefined ? 'default' : expandAt(network.value, env, { file: ctx.file, range: network.flag.range }, { escape: ctx.escape });
  if (net !== 'default' && net !== 'none' && net !== 'host') {
    throw compileError('compile/invalid-network', `unsupported network mode ${JSON.stringify(net)}`, { file: ctx.file, range: network!.flag.range }, 'use --network=default, none or host');
  }
  const sec = security === undefined ? 'sandbox' : expandAt(security.value, env, { file: ctx.file, range: security.flag.range }, { escape: ctx.escape });
  if (sec !== 'sandbox' && sec !== 'insecure') {
    throw compileError('compile/invalid-security', `unsupported security mode ${JSON.stringify(sec)}`, { file: ctx.file, range: security!.flag.range }, 'use --security=sandbox or insecure');
  }

  const inputs: StepId[] = [s.last];
  const use = (id: StepId): StepId => {
    if (!inputs.includes(id)) inputs.push(id);
    return id;
  };
  const mounts: RunMount[] = [];
  const selectors: ContextSelector[] = [];
  let sshIndex = 0;
  for (const m of f.lists.get('mount') ?? []) {
    const at = { file: ctx.file, range: m.flag.range };
    const pm = locate(at, () => parseMount(m.value, (w) => expandAt(w, env, at, { escape: ctx.escape }), sshIndex));
    if (pm.type === 'ssh') sshIndex++;
    const target = pm.type === 'secret' && pm.target === '' ? '' : pm.target.startsWith('/') ? cleanPath(pm.target) : cleanPath(`/${s.cwd}/${pm.target}`);
    if (target === '/') throw compileError('compile/invalid-mount', `invalid mount target "/"`, at, 'mount somewhere below /, e.g. target=/src');
    const source = cleanPath(`/${pm.source}`);
    switch (pm.type) {
      case 'bind': {
        const from = pm.from !== undefined ? use(ctx.resolveFrom(pm.from, at, s)) : use(ctx.contextStep());
        if (pm.from === undefined) selectors.push({ context: from, include: [source === '/' ? '.' : source.slice(1)], exclude: [] });
        mounts.push({ type: 'bind', target, from, source, readwrite: !pm.readonly });
        break;
      }
      case 'cache': {
        const from = pm.from !== undefined ? use(ctx.resolveFrom(pm.from, at, s)) : undefined;
        mounts.push({
          type: 'cache',
          target,
          id: pm.id !== '' ? pm.id : cleanPath(pm.target),
          sharing: pm.sharing ?? 'shared',
          ...(from !== undefined ? { from, source } : {}),
          readonly: pm.readonly,
          mode: pm.mode ?? 0o755,
          uid: pm.uid ?? 0,
          gid: pm.gid ?? 0,
        });
        break;
      }
      case 'tmpfs':
        mounts.push({ type: 'tmpfs', target, ...(pm.size !== undefined && pm.size > 0 ? { size: pm.size } : {}) });
        break;
      case 'secret':
        mounts.push({
          type: 'secret',
          id: pm.id,
          ...(target !== '' ? { target } : {}),
          ...(pm.env !== undefined ? { env: pm.env } : {}),
          required: pm.required,
          mode: pm.mode ?? 0o400,
          uid: pm.uid ?? 0,
          gid: pm.gid ?? 0,
        });
        break;
      case 'ssh':
        mounts.push({ type: 'ssh', id: pm.id, target, required: pm.required, mode: pm.mode ?? 0o600, uid: pm.uid ?? 0, gid: pm.gid ?? 0 });
        break;
    }
  }

  let argv: string[];
  const heredocFiles: RunHeredocFile[] = [];
  let description = describe(ins);
  const cmd = ins.command;
  if (cmd.form === 'exec') argv = cmd.argv.map((w) => w.value);
  else if (ins.heredocs.length === 0) argv = withShell(s, cmd.command.value);
  else {
    const text = cmd.command.value;
    const lone = LONE_HEREDOC.exec(text.trim());
    const first = ins.heredocs[0]!;
    if (lone && ins.heredocs.length === 1 && SINGLE_WORD.test(lone[3]!.trim())) {
      const data = first.content;
      if (data.startsWith('#!')) {
        heredocFiles.push({ name: first.name, content: data, mode: 0o755 });
        argv = withShell(s, cleanPath(`/dev/pipes/${first.name}`));
      } else argv = withShell(s, data);
      description += ` (${summarizeHeredoc(data)})`;
    } else {
      let full = text;
      for (const h of ins.heredocs) full += `\n${h.content}${h.name}`;
      argv = withShell(s, full);
    }
  }

  const cmdIndex = s.cmdIndex + 1;
  const step: Omit<ExecStep, 'id' | 'definitionDigest'> = {
    kind: 'exec',
    rootfs: s.last,
    inputs,
    argv,
    env: s.env.map(([k, v]) => `${k}=${v}`),
    cwd: s.cwd,
    user: s.user,
    mounts,
    network: net,
    security: sec,
    heredocFiles,
    ...(ctx.proxyEnv.length > 0 ? { proxyEnv: ctx.proxyEnv } : {}),
    contextSelectors: selectors,
    origin: originOf(s, ctx, ins, cmdIndex),
    description,
    platform: s.platformString,
  };
  const id = ctx.addStep(step);
  return commit({ ...s, last: id, cmdIndex }, ctx, `RUN ${runCommandString(argv, s.args, env)}`, id);
}
