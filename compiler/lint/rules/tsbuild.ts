/**
 * tsbuild's own rules: cross-stage (unused stages and ARGs, COPY --from paths nothing creates), cache efficiency
 * (`COPY . .` before a dependency install, early ARGs, remote ADD without --checksum, missing .dockerignore),
 * and RUN shell syntax through sh-syntax (mvdan/sh).
 */
import type { Instruction } from '../../../grammar/ast.ts';
import type { LintContext } from '../context.ts';
import type { Rule } from '../types.ts';
import { PLATFORM_ARGS } from './buildkit.ts';
import { argsOf, nameOf, runCommands, tsbuildRule } from './helpers.ts';

const unusedStage = tsbuildRule('UnusedStage', 'info', 'A stage that the target does not need is never built', (ctx) => {
  if (ctx.options.target === undefined && ctx.stages.some((s) => !s.needed && s.name)) {
    // without --target every named stage may be a build target of its own: only unnamed unused stages are dead
    for (const st of ctx.stages) if (!st.needed && !st.name) ctx.report(st.from.range, `Stage ${st.index} is not used by the final stage and has no name to target it by`, { instruction: st.from });
    return;
  }
  for (const st of ctx.stages) {
    if (st.needed) continue;
    const label = st.name ? `'${st.name}'` : String(st.index);
    ctx.report(st.from.range, `Stage ${label} is not needed to build ${ctx.options.target !== undefined ? `target '${ctx.options.target}'` : 'the final stage'}`, { instruction: st.from });
  }
});

/**
 * A test for `$NAME`/`${NAME…}` references to `name` in a text: `${NAME` followed by the end or one of `:}#%/^,@-`,
 * or `$NAME` not followed by a name character. Plain substring searches: no pattern is built from the ARG name, so
 * no name (`ARG A[B`, `ARG A.B`) can change what the test matches.
 */
function mentionsOf(name: string): (text: string) => boolean {
  const braced = `\${${name}`;
  const plain = `$${name}`;
  return (text) => {
    if (!text.includes('$')) return false;
    for (let i = text.indexOf(braced); i >= 0; i = text.indexOf(braced, i + 1)) {
      const after = i + braced.length;
      if (after === text.length || BRACED_AFTER.includes(text[after]!)) return true;
    }
    for (let i = text.indexOf(plain); i >= 0; i = text.indexOf(plain, i + 1)) {
      if (!isNameChar(text.charCodeAt(i + plain.length))) return true;
    }
    return false;
  };
}

/** What may follow `${NAME` in a reference to NAME (the closing brace, or a modifier). */
const BRACED_AFTER = ':}#%/^,@-';

/** [A-Za-z0-9_]; NaN (past the end) is not. */
function isNameChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;
}

function instructionText(ins: Instruction): string {
  return ins.original + ins.heredocs.map((h) => h.content).join('\n');
}

const unusedArg = tsbuildRule('UnusedArg', 'info', 'An ARG that no later instruction uses', (ctx) => {
  // global ARGs: used by a FROM or redeclared in a stage
  for (const g of ctx.globals) {
    if (g.kind !== 'ARG') continue;
    for (const d of g.declarations) {
      const name = d.name.value;
      const mentioned = mentionsOf(name);
      const used =
        ctx.stages.some((s) => mentioned(s.from.original)) ||
        ctx.stages.some((s) => s.instructions.some((i) => i.kind === 'ARG' && i.declarations.some((x) => x.name.value === name)));
      if (!used) ctx.report(d.range, `Global ARG '${name}' is used by no FROM and redeclared in no stage`, { instruction: g });
    }
  }
  for (const st of ctx.stages) {
    st.instructions.forEach((ins, k) => {
      if (ins.kind !== 'ARG') return;
      for (const d of ins.declarations) {
        const name = d.name.value;
        // RUN sees ARGs as environment variables: any later instruction's text may use it, also indirectly
        const mentioned = mentionsOf(name);
        let used = ctx.stages.some((s) => s.parent === st.index);
        for (let j = k + 1; j < st.instructions.length && !used; j++) {
          const i = st.instructions[j]!;
          used = i.kind === 'RUN' || mentioned(instructionText(i));
        }
        if (!used) ctx.report(d.range, `ARG '${name}' is not used by any later instruction of its stage`, { instruction: ins });
      }
    });
  }
});

const INSTALLERS: { cmd: string; sub: readonly string[]; lock: string }[] = [
  { cmd: 'npm', sub: ['ci', 'install', 'i'], lock: 'package.json and package-lock.json' },
  { cmd: 'yarn', sub: ['install', ''], lock: 'package.json and yarn.lock' },
  { cmd: 'pnpm', sub: ['install', 'i'], lock: 'package.json and pnpm-lock.yaml' },
  { cmd: 'pip', sub: ['install'], lock: 'requirements.txt' },
  { cmd: 'pip3', sub: ['install'], lock: 'requirements.txt' },
  { cmd: 'poetry', sub: ['install'], lock: 'pyproject.toml and poetry.lock' },
  { cmd: 'bundle', sub: ['install', ''], lock: 'Gemfile and Gemfile.lock' },
  { cmd: 'go', sub: ['mod'], lock: 'go.mod and go.sum' },
  { cmd: 'composer', sub: ['install'], lock: 'composer.json and composer.lock' },
  { cmd: 'cargo', sub: ['fetch'], lock: 'Cargo.toml and Cargo.lock' },
];

const copyAllBeforeInstall = tsbuildRule('CopyAllBeforeInstall', 'warning', 'Copy only the dependency manifests before installing dependencies, so that source edits keep the install step cached', (ctx) => {
  for (const st of ctx.stages) {
    let copyAll: Instruction | undefined;
    for (const ins of st.instructions) {
      if (ins.kind === 'COPY' && !ins.flags.some((f) => f.name === 'from') && ins.sources.some((s) => s.value === '.' || s.value === './')) copyAll ??= ins;
      if (ins.kind !== 'RUN' || !copyAll) continue;
      for (const { cmd, script } of runCommands(ctx, ins)) {
        const inst = INSTALLERS.find((x) => x.cmd === nameOf(cmd) && x.sub.includes(argsOf(cmd)[0]?.value ?? ''));
        if (!inst) continue;
        if (inst.cmd.startsWith('pip') && !argsOf(cmd).some((a) => a.value === '-r' || a.value === '--requirement' || a.value === '.' || a.value === '-e')) continue;
        ctx.report(ctx.shRange(script, cmd.start, cmd.end), `\`${nameOf(cmd)} ${argsOf(cmd)[0]?.value ?? ''}\`runs after COPY of the whole context (line ${copyAll.range.start.line}): every source change re-runs it; COPY ${inst.lock} first, install, then COPY the rest`.replace('`runs', '` runs'), { instruction: ins });
        copyAll = undefined;
        break;
      }
    }
  }
});

const earlyArg = tsbuildRule('EarlyArg', 'info', 'An ARG declared long before its first use invalidates the cache of every step in between when its value changes', (ctx) => {
  for (const st of ctx.stages) {
    st.instructions.forEach((ins, k) => {
      if (ins.kind !== 'ARG') return;
      for (const d of ins.declarations) {
        const name = d.name.value;
        // platform ARGs change with the platform, which changes every step anyway
        if (PLATFORM_ARGS.has(name)) continue;
        let steps = 0;
        const mentioned = mentionsOf(name);
        for (const later of st.instructions.slice(k + 1)) {
          if (mentioned(instructionText(later))) break;
          if (later.kind === 'RUN') steps++;
        }
        // RUN steps see every ARG in their environment, so a changed value re-runs them even when unused
        if (steps >= 2) ctx.report(d.range, `ARG '${name}' is declared ${steps} RUN steps before its first use; a new value re-runs all of them. Declare it just before it is needed`, { instruction: ins });
      }
    });
  }
});

const remoteAddChecksum = tsbuildRule('RemoteAddWithoutChecksum', 'warning', 'ADD of a remote URL without --checksum cannot be verified and is re-downloaded to check for changes', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'ADD' || ins.flags.some((f) => f.name === 'checksum')) continue;
    for (const s of ins.sources) if (/^https?:\/\//i.test(s.value)) ctx.report(s.range, `ADD ${s.value} has no --checksum=sha256:…: its content is not verified`, { instruction: ins });
  }
});

const noDockerignore = tsbuildRule('NoDockerignore', 'info', 'A large build context without a .dockerignore is hashed and copied in full', (ctx) => {
  const c = ctx.options.context;
  const first = ctx.df.instructions[0];
  if (!c || c.hasDockerignore || c.sizeBytes < 10 * 1024 * 1024 || !first) return;
  ctx.report(first.keywordRange, `The build context is ${(c.sizeBytes / 1048576).toFixed(1)} MiB and has no .dockerignore`);
});

const copyFromMissing = tsbuildRule('CopyFromMissingPath', 'warning', 'COPY --from a scratch-based stage of a path that no step of that stage creates', (ctx) => {
  const scratchBased = new Map<number, boolean>();
  const fromScratch = (i: number): boolean => {
    const st = ctx.stages[i];
    if (!st) return false;
    let known = scratchBased.get(i);
    if (known === undefined) {
      known = st.parent !== undefined ? fromScratch(st.parent) : ctx.imageOf(st.from) === 'scratch';
      scratchBased.set(i, known);
    }
    return known;
  };
  /** The stage a `--from` value names before stage `before`: the first with that name or that index. */
  const sourceStage = (value: string, before: number): number | undefined => {
    const named = ctx.stageNamed(value.toLowerCase());
    const numbered = /^(?:0|[1-9][0-9]*)$/.test(value) ? Number(value) : undefined;
    const earlier = [named, numbered].filter((i): i is number => i !== undefined && i < before);
    return earlier.length > 0 ? Math.min(...earlier) : undefined;
  };
  // what each stage (with its ancestors) creates, computed once per stage that a COPY --from names
  const createdBy = new Map<number, string[]>();
  const created = (i: number): string[] => {
    let paths = createdBy.get(i);
    if (!paths) {
      paths = creates(i).map((p) => p.replace(/\/+$/, '') || '/');
      createdBy.set(i, paths);
    }
    return paths;
  };
  const creates = (i: number): string[] => {
    const st = ctx.stages[i]!;
    const out = st.parent !== undefined ? creates(st.parent) : [];
    let wd = '/';
    for (const ins of st.instructions) {
      if (ins.kind === 'WORKDIR') wd = ins.path.value.startsWith('/') ? ins.path.value : `${wd.replace(/\/$/, '')}/${ins.path.value}`;
      if (ins.kind === 'WORKDIR') out.push(wd);
      if ((ins.kind === 'COPY' || ins.kind === 'ADD') && ins.dest) out.push(ins.dest.value.startsWith('/') ? ins.dest.value : `${wd.replace(/\/$/, '')}/${ins.dest.value}`);
      if (ins.kind === 'RUN') out.push('/'); // a RUN may create anything
    }
    return out;
  };
  for (const st of ctx.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== 'COPY') continue;
      const f = ins.flags.find((x) => x.name === 'from');
      if (!f?.value) continue;
      const srcIndex = sourceStage(f.value, st.index);
      const src = srcIndex !== undefined ? ctx.stages[srcIndex] : undefined;
      if (!src || !fromScratch(src.index)) continue;
      const paths = created(src.index);
      for (const s of ins.sources) {
        if (s.value.includes('$') || s.value.includes('*')) continue;
        const p = (s.value.startsWith('/') ? s.value : `/${s.value}`).replace(/\/+$/, '') || '/';
        if (p === '/') continue;
        const ok = paths.some((c) => c === '/' || p === c || p.startsWith(c + '/') || c.startsWith(p + '/'));
        if (!ok) ctx.report(s.range, `No step of stage '${src.name ?? src.index}' creates ${p}`, { instruction: ins });
      }
    }
  }
});

const shellSyntax = tsbuildRule('ShellSyntax', 'error', 'RUN commands must be valid shell (checked with mvdan/sh)', (ctx) => {
  const checker = ctx.options.shellSyntax;
  if (!checker) return;
  for (const r of ctx.runs) {
    // the RUN line of a heredoc names the body that follows it; only the body is a complete script
    if (!r.heredoc && r.run.heredocs.length > 0) continue;
    // mvdan/sh in WASM parses ~0.3 MB/s: by default only scripts the structural parser found malformed are sent
    if (!r.script.suspect && ctx.options.shellSyntaxAll !== true) continue;
    const e = checker.check(r.text, r.variant);
    if (!e) continue;
    ctx.report(ctx.shRange(r, e.offset, e.offset + 1), `shell syntax error: ${e.message}`, { instruction: r.run });
  }
});

export const tsbuildRules: readonly Rule[] = [unusedStage, unusedArg, copyAllBeforeInstall, earlyArg, remoteAddChecksum, noDockerignore, copyFromMissing, shellSyntax];
