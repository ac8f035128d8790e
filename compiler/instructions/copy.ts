/**
 * COPY and ADD (BuildKit dispatchCopy): one file step whose actions copy from the build context, a stage, an
 * image or a URL source, plus mkfile actions for heredoc sources. Destinations resolve against WORKDIR and keep a
 * trailing `/`; context sources become the step's context selectors.
 */
import type { AddInstruction, CopyInstruction, Heredoc, Word } from '../../grammar/ast.ts';
import type { ChownSpec, ContextSelector, FileAction, StepId } from '../graph.ts';
import { applySymbolicMode, parseChmod } from '../chmod.ts';
import { compileError, locate } from '../diag.ts';
import { expandAt } from '../expand.ts';
import { parseFlags } from '../flags.ts';
import { cleanPath, commit, describe, envMap, originOf, type CompileContext, type StageState } from '../state.ts';
import { chownOf } from './workdir.ts';

const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;
const GIT_SOURCE = /^(?:git@[^:]+:|git:\/\/|ssh:\/\/)|^https?:\/\/[^#]*\.git(?:[#/?].*)?$/;

export function isUrlSource(src: string): boolean {
  return /^https?:\/\//.test(src) && !GIT_SOURCE.test(src);
}

/** BuildKit's pathRelativeToWorkingDir: absolute in the rootfs, trailing `/` kept (`.` and `` become `cwd/`). */
export function resolveDest(dest: string, cwd: string): string {
  const p = dest === '.' || dest === '' ? './' : dest;
  const keepSlash = p.endsWith('/') || p.endsWith('/.');
  const abs = cleanPath(p.startsWith('/') ? p : `${cwd}/${p}`);
  return keepSlash && abs !== '/' ? `${abs}/` : abs;
}

export function lowerCopy(ins: CopyInstruction | AddInstruction, s: StageState, ctx: CompileContext): StageState {
  const isAdd = ins.kind === 'ADD';
  const name = ins.kind;
  const f = parseFlags(ins.kind, ins.flags, ctx.file);
  const env = envMap(s);
  const ex = (value: string, w: { range: Word['range'] }): string => expandAt(value, env, { file: ctx.file, range: w.range }, { escape: ctx.escape });
  const flagStr = (k: string): { value: string; at: { file: string | undefined; range: Word['range'] } } | undefined => {
    const v = f.strings.get(k);
    return v === undefined ? undefined : { value: ex(v.value, v.flag), at: { file: ctx.file, range: v.flag.range } };
  };
  const chownRaw = flagStr('chown');
  const chmodRaw = flagStr('chmod');
  const checksum = flagStr('checksum');
  const link = f.bools.get('link')?.value ?? false;
  const parents = f.bools.get('parents')?.value ?? false;
  const unpackFlag = f.bools.get('unpack')?.value;
  const keepGitDir = f.bools.get('keep-git-dir')?.value;
  const exclude = (f.lists.get('exclude') ?? []).map((e) => ex(e.value, e.flag));
  const chown: ChownSpec | undefined = chownRaw && chownRaw.value !== '' ? chownOf(chownRaw.value) : undefined;
  const chmod = chmodRaw && chmodRaw.value !== '' ? locate(chmodRaw.at, () => parseChmod(chmodRaw.value)) : undefined;

  // Sources: heredoc markers take the next heredoc body, the rest are paths or URLs.
  const heredocs: Heredoc[] = [];
  const paths: { value: string; word: Word }[] = [];
  let hi = 0;
  for (const w of ins.sources) {
    const h = ins.heredocs[hi];
    if (ins.form === 'shell' && h !== undefined && HEREDOC_WORD.test(w.value)) {
      heredocs.push(h);
      hi++;
    } else paths.push({ value: ex(w.value, w), word: w });
  }
  const destWord = ins.dest!;
  const destRaw = ex(destWord.value, destWord);
  const dest = resolveDest(destRaw, s.cwd);

  if (checksum !== undefined && checksum.value !== '') {
    if (paths.length !== 1) throw compileError('compile/invalid-checksum', "checksum can't be specified for multiple sources", checksum.at);
    if (!/^https?:\/\//.test(paths[0]!.value) && !GIT_SOURCE.test(paths[0]!.value)) {
      throw compileError('compile/invalid-checksum', 'checksum requires HTTP(S) or Git sources', checksum.at);
    }
    if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(checksum.value)) {
      throw compileError('compile/invalid-checksum', `invalid checksum digest format: ${checksum.value}`, checksum.at, 'write --checksum=sha256:<64 hex digits>');
    }
  }

  const fromFlag = f.strings.get('from');
  const fromAt = fromFlag ? { file: ctx.file, range: fromFlag.flag.range } : undefined;
  const inputs: StepId[] = [s.last];
  const use = (id: StepId): StepId => {
    if (!inputs.includes(id)) inputs.push(id);
    return id;
  };
  const actions: FileAction[] = [];
  const selectors: ContextSelector[] = [];
  const local: string[] = [];
  const unpack = isAdd ? (unpackFlag ?? true) : undefined;
  const copyBase = {
    dest,
    ...(chown ? { chown } : {}),
    ...(chmod !== undefined ? { chmod } : {}),
    link,
    parents,
    exclude,
    add: isAdd,
  };
  for (const p of paths) {
    const at = { file: ctx.file, range: p.word.range };
    if (GIT_SOURCE.test(p.value)) {
      if (!isAdd) throw compileError('compile/invalid-source', "source can't be a git ref for COPY", at, 'use ADD for git sources');
      throw compileError('compile/unsupported', `git sources are not supported by tsbuild yet: ${p.value}`, at, 'clone in a RUN step or add the files to the build context');
    }
    if (/^https?:\/\//.test(p.value)) {
      if (!isAdd) throw compileError('compile/invalid-source', "source can't be a URL for COPY", at, 'use ADD for URLs, or RUN curl');
      let filename = '__unnamed__';
      try {
        const base = new URL(p.value).pathname.split('/').filter(Boolean).pop();
        if (base !== undefined && base !== '.') filename = decodeURIComponent(base);
      } catch {
        // An unparsable URL keeps BuildKit's default name; fetching it will fail with a clear error later.
      }
      const src = ctx.addStep({
        kind: 'source',
        inputs: [],
        source: { type: 'url', url: p.value, ...(checksum && checksum.value !== '' ? { checksum: checksum.value } : {}), filename },
        contextSelectors: [],
        description: `ADD ${p.value}`,
        origin: originOf(s, ctx, ins, s.cmdIndex + 1, p.word.range),
      });
      actions.push({ action: 'copy', from: use(src), sources: [`/${filename}`], ...copyBase, unpack: unpackFlag ?? false, ...(checksum && checksum.value !== '' ? { checksum: checksum.value } : {}) });
      continue;
    }
    local.push(parents ? p.value : cleanPath(`/${p.value}`));
  }
  if (local.length > 0) {
    const from = fromFlag !== undefined ? use(ctx.resolveFrom(fromFlag.value, fromAt!, s)) : use(ctx.contextStep());
    if (fromFlag === undefined) {
      selectors.push({
        context: from,
        include: local.map((l) => {
          const c = cleanPath(`/${l.replace('/./', '/')}`);
          return c === '/' ? '.' : c.slice(1);
        }),
        exclude,
        ...(parents ? { followPaths: local.map((l) => cleanPath(`/${l}`).slice(1) || '.') } : {}),
      });
    }
    actions.push({ action: 'copy', from, sources: local, ...copyBase, ...(unpack !== undefined ? { unpack } : {}), ...(keepGitDir !== undefined ? { keepGitDir } : {}) });
  }
  const many = paths.length + heredocs.length > 1;
  for (const h of heredocs) {
    const content = h.expand ? expandAt(h.content, env, { file: ctx.file, range: h.contentRange }, { escape: '\\', skipProcessQuotes: true }) : h.content;
    const path = dest.endsWith('/') ? `${dest}${h.name}` : many ? `${dest}/${h.name}` : dest;
    const mode = chmod === undefined ? 0o644 : typeof chmod === 'number' ? chmod : applySymbolicMode(0o644, chmod);
    actions.push({ action: 'mkfile', path, content, mode, ...(chown ? { chown } : {}) });
  }

  const cmdIndex = s.cmdIndex + 1;
  const id = ctx.addStep({
    kind: 'file',
    ...(link ? { linkBase: s.last } : { rootfs: s.last }),
    inputs,
    actions,
    contextSelectors: selectors,
    origin: originOf(s, ctx, ins, cmdIndex),
    description: describe(ins),
    platform: s.platformString,
  });
  let msg = name;
  if (parents) msg += ' --parents';
  if (chownRaw && chownRaw.value !== '') msg += ` --chown=${chownRaw.value}`;
  if (chmodRaw && chmodRaw.value !== '') msg += ` --chmod=${chmodRaw.value}`;
  for (const p of paths) msg += ` ${p.value}`;
  for (const h of heredocs) msg += ` <<${h.name}`;
  msg += ` ${destRaw}`;
  return commit({ ...s, last: id, cmdIndex }, ctx, msg, id);
}
