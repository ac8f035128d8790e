/**
 * BuildKit's 22 build checks (moby/buildkit frontend/dockerfile/linter/ruleset.go), with BuildKit's names and
 * messages. CopyIgnoredFile and InvalidDefinitionDescription are experimental upstream and here.
 */
import type { FromInstruction, Instruction, KeyValue, Word } from '../../../grammar/ast.ts';
import { closest } from '../../../util/errors.ts';
import { parseImageRef } from '../../image-ref.ts';
import { processWord } from '../../shell/index.ts';
import type { LintContext, Stage } from '../context.ts';
import type { Fix, Rule } from '../types.ts';

const url = (slug: string): string => `https://docs.docker.com/go/dockerfile/rule/${slug}/`;

function rule(code: string, slug: string, description: string, check: (ctx: LintContext) => void, experimental = false): Rule {
  return { code, name: code, source: 'buildkit', severity: 'warning', docsUrl: url(slug), description, check, ...(experimental ? { experimental } : {}) };
}

const isUpper = (s: string): boolean => s === s.toUpperCase();
const isLower = (s: string): boolean => s === s.toLowerCase();

/** Automatic platform ARGs: defined in the global scope without a declaration. */
export const PLATFORM_ARGS = new Set(['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT']);

/** BuildKit's secret-name heuristics (linter SecretsUsedInArgOrEnv). */
const SECRET_RE = /(?:^|_)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOW_RE = /(?:^|_)public(?:_|$)/i;

function edit(start: number, end: number, text: string, description: string, safe = true): Fix {
  return { description, safe, edits: [{ start, end, text }] };
}

/**
 * The names a text references when every `$` in it is a plain `$NAME` or `${NAME}` and nothing quotes or escapes
 * (then the expander would find exactly these); undefined when the text needs the real expander.
 */
function simpleRefs(text: string, escape: string): string[] | undefined {
  if (text.includes("'") || text.includes('"') || text.includes(escape)) return undefined;
  const names: string[] = [];
  for (let i = text.indexOf('$'); i >= 0; i = text.indexOf('$', i)) {
    let j = i + 1;
    const braced = text.charCodeAt(j) === 123;
    if (braced) j++;
    const start = j;
    const c = text.charCodeAt(j);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return undefined;
    j++;
    for (;;) {
      const d = text.charCodeAt(j);
      if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || d === 95 || (d >= 48 && d <= 57)) j++;
      else break;
    }
    names.push(text.slice(start, j));
    if (braced) {
      if (text.charCodeAt(j) !== 125) return undefined;
      j++;
    }
    i = j;
  }
  return names;
}

/** Names referenced in a word (expansion), split into defined/undefined against `env`. */
const NONE: ReadonlySet<string> = new Set();
function refs(ctx: LintContext, text: string, env: ReadonlyMap<string, string>): { unmatched: ReadonlySet<string> } {
  if (!text.includes('$')) return { unmatched: NONE };
  const simple = simpleRefs(text, ctx.df.escape);
  if (simple) {
    const unmatched = new Set<string>();
    for (const n of simple) if (!env.has(n)) unmatched.add(n);
    return { unmatched };
  }
  try {
    return processWord(text, env, { escape: ctx.df.escape, skipUnsetEnv: true });
  } catch {
    return { unmatched: new Set() };
  }
}

const stageNameCasing = rule('StageNameCasing', 'stage-name-casing', 'Stage names should be lowercase', (ctx) => {
  for (const st of ctx.stages) {
    const n = st.from.stageName;
    if (n && !isLower(n.value)) ctx.report(n.range, `Stage name '${n.value}' should be lowercase`, { instruction: st.from });
  }
});

const fromAsCasing = rule('FromAsCasing', 'from-as-casing', "The 'as' keyword should match the case of the 'from' keyword", (ctx) => {
  for (const st of ctx.stages) {
    const as = st.from.asKeyword;
    if (!as) continue;
    const from = st.from.keywordText;
    const bad = (isUpper(from) && !isUpper(as.value)) || (isLower(from) && !isLower(as.value));
    if (!bad) continue;
    const want = isUpper(from) ? 'AS' : 'as';
    ctx.report(st.from.range, `'${as.value}' and '${from}' keywords' casing do not match`, {
      instruction: st.from,
      fix: edit(as.range.start.offset, as.range.end.offset, want, `write '${want}'`),
    });
  }
});

const noEmptyContinuation = rule('NoEmptyContinuation', 'no-empty-continuation', 'Empty continuation lines will become errors in a future release', (ctx) => {
  for (const w of ctx.df.warnings) {
    if (w.code === 'parse/empty-continuation' && w.range) ctx.report(w.range, 'Empty continuation line');
  }
});

const consistentInstructionCasing = rule(
  'ConsistentInstructionCasing',
  'consistent-instruction-casing',
  'All commands within the Dockerfile should use the same casing (either upper or lower)',
  (ctx) => {
    let upper = 0;
    let lower = 0;
    const all: Instruction[] = [];
    for (const { ins } of ctx.allInstructions()) {
      all.push(ins);
      if (isUpper(ins.keywordText)) upper++;
      else if (isLower(ins.keywordText)) lower++;
    }
    const majorityUpper = upper >= lower;
    for (const ins of all) {
      const ok = majorityUpper ? isUpper(ins.keywordText) : isLower(ins.keywordText);
      if (ok) continue;
      const want = majorityUpper ? ins.keywordText.toUpperCase() : ins.keywordText.toLowerCase();
      ctx.report(ins.keywordRange, `Command '${ins.keywordText}' should match the case of the command majority (${majorityUpper ? 'uppercase' : 'lowercase'})`, {
        instruction: ins,
        fix: edit(ins.keywordRange.start.offset, ins.keywordRange.end.offset, want, `write '${want}'`),
      });
    }
  },
);

const duplicateStageName = rule('DuplicateStageName', 'duplicate-stage-name', 'Stage names should be unique', (ctx) => {
  const seen = new Set<string>();
  for (const st of ctx.stages) {
    if (!st.name || !st.from.stageName) continue;
    if (seen.has(st.name)) ctx.report(st.from.stageName.range, `Duplicate stage name ${JSON.stringify(st.name)}, stage names should be unique`, { instruction: st.from });
    seen.add(st.name);
  }
});

const reservedStageName = rule('ReservedStageName', 'reserved-stage-name', 'Reserved words should not be used as stage names', (ctx) => {
  for (const st of ctx.stages) {
    if (st.name === 'scratch' || st.name === 'context') {
      ctx.report(st.from.stageName!.range, `Stage name should not use the same name as reserved stage ${JSON.stringify(st.name)}`, { instruction: st.from });
    }
  }
});

/** A shell-form command that becomes the same exec form: plain words, no quotes, expansions or operators. */
export function simpleExecForm(text: string): string[] | undefined {
  const t = text.trim();
  if (t === '' || /[^A-Za-z0-9_./:=,@%+-\s]/.test(t)) return undefined;
  return t.split(/\s+/);
}

const jsonArgsRecommended = rule(
  'JSONArgsRecommended',
  'json-args-recommended',
  'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
  (ctx) => {
    for (const st of ctx.stages) {
      let shellSet = false;
      for (const ins of st.instructions) {
        if (ins.kind === 'SHELL') shellSet = true;
        if ((ins.kind !== 'CMD' && ins.kind !== 'ENTRYPOINT') || ins.command.form !== 'shell' || shellSet) continue;
        const w = ins.command.command;
        const argv = simpleExecForm(w.value);
        const fix = argv && w.range.start.line === w.range.end.line
          ? edit(w.range.start.offset, w.range.end.offset, JSON.stringify(argv).replace(/","/g, '", "'), 'use the exec (JSON) form')
          : undefined;
        ctx.report(ins.range, `JSON arguments recommended for ${ins.keyword} to prevent unintended behavior related to OS signals`, {
          instruction: ins,
          ...(fix ? { fix } : {}),
        });
      }
    }
  },
);

/** `"`-quoted JSON-ish string for a label value. */
function quoteValue(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const maintainerDeprecated = rule(
  'MaintainerDeprecated',
  'maintainer-deprecated',
  'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
  (ctx) => {
    for (const { ins } of ctx.allInstructions()) {
      if (ins.kind !== 'MAINTAINER') continue;
      const label = `${isLower(ins.keywordText) ? 'label' : 'LABEL'} org.opencontainers.image.authors=${quoteValue(ins.name.value)}`;
      ctx.report(ins.range, 'Maintainer instruction is deprecated in favor of using label', {
        instruction: ins,
        ...(ins.range.start.line === ins.range.end.line ? { fix: edit(ins.range.start.offset, ins.range.end.offset, label, 'replace with a LABEL') } : {}),
      });
    }
  },
);

/** Global ARG names in scope at a FROM (declared before it). */
function globalArgNames(ctx: LintContext): Set<string> {
  const names = new Set<string>(PLATFORM_ARGS);
  for (const g of ctx.globals) if (g.kind === 'ARG') for (const d of g.declarations) names.add(d.name.value);
  return names;
}

const undefinedArgInFrom = rule('UndefinedArgInFrom', 'undefined-arg-in-from', 'FROM command must use declared ARGs', (ctx) => {
  // built on the first FROM that names a variable (most name none)
  let declared: Set<string> | undefined;
  let env: Map<string, string> | undefined;
  for (const st of ctx.stages) {
    const words: Word[] = [st.from.image];
    const pf = st.from.flags.find((f) => f.name === 'platform');
    if (pf?.value) words.push({ value: pf.value, range: pf.range });
    for (const w of words) {
      if (!w.value.includes('$')) continue;
      declared ??= globalArgNames(ctx);
      env ??= new Map([...declared].map((n) => [n, 'x']));
      for (const name of refs(ctx, w.value, env).unmatched) {
        const sug = closest(name, declared);
        ctx.report(w.range, `FROM argument '${name}' is not declared${sug ? ` (did you mean ${sug}?)` : ''}`, { instruction: st.from });
      }
    }
  }
});

const workdirRelativePath = rule(
  'WorkdirRelativePath',
  'workdir-relative-path',
  'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
  (ctx) => {
    const absolute = new Set<number>();
    for (const st of ctx.stages) {
      let abs = st.parent !== undefined && absolute.has(st.parent);
      for (const ins of st.instructions) {
        if (ins.kind !== 'WORKDIR') continue;
        const v = ins.path.value.replace(/^["']|["']$/g, '');
        if (v.startsWith('/') || v.startsWith('$') || /^[A-Za-z]:[\\/]/.test(v)) abs = true;
        else if (!abs) ctx.report(ins.range, `Relative workdir ${JSON.stringify(ins.path.value)} can have unexpected results if the base image changes`, { instruction: ins });
      }
      if (abs) absolute.add(st.index);
    }
  },
);

/** Default names every stage has (BuildKit sets PATH when the image does not). */
const ALWAYS_DEFINED = ['PATH'];

/** Words of an instruction that BuildKit expands (and therefore checks for UndefinedVar). */
function expandedWords(ins: Instruction): Word[] {
  switch (ins.kind) {
    case 'ENV':
    case 'LABEL':
      return ins.pairs.map((p: KeyValue) => p.value);
    case 'COPY':
    case 'ADD':
      return [...ins.sources.filter((s) => !s.value.startsWith('<<')), ...(ins.dest ? [ins.dest] : [])];
    case 'WORKDIR':
      return [ins.path];
    case 'USER':
      return [ins.user];
    case 'EXPOSE':
      return [...ins.ports];
    case 'VOLUME':
      return [...ins.paths];
    case 'STOPSIGNAL':
      return [ins.signal];
    case 'ARG':
      return ins.declarations.flatMap((d) => (d.default ? [d.default] : []));
    default:
      return [];
  }
}

const undefinedVar = rule('UndefinedVar', 'undefined-var', 'Variables should be defined before their use', (ctx) => {
  const stageEnv = new Map<number, Set<string>>();
  for (const st of ctx.stages) {
    const image = ctx.imageOf(st.from);
    const inherited = st.parent !== undefined ? stageEnv.get(st.parent) : undefined;
    const baseEnv = st.parent !== undefined ? undefined : image === 'scratch' ? [] : ctx.options.baseImageEnv?.(image);
    // without the base image's environment only likely typos (a close defined name exists) are reported
    const envKnown = st.parent !== undefined ? true : baseEnv !== undefined;
    const defined = new Set<string>([...ALWAYS_DEFINED, ...(inherited ?? []), ...(baseEnv ?? [])]);
    // The names as an environment for the expander (values do not matter), kept in step with `defined`.
    const env = new Map<string, string>();
    for (const n of defined) env.set(n, 'x');
    const define = (n: string): void => {
      defined.add(n);
      env.set(n, 'x');
    };
    for (const ins of st.instructions) {
      const words = expandedWords(ins).filter((w) => w.value.includes('$'));
      for (const w of words) {
        for (const name of refs(ctx, w.value, env).unmatched) {
          if (!/^[A-Za-z_]/.test(name)) continue;
          // with the base image's environment unknown only a one-edit typo of a defined name is reported
          if (!envKnown && name.length < 4) continue;
          const sug = closest(name, defined, envKnown ? 2 : 1);
          if (!envKnown && !sug) continue;
          ctx.report(w.range, `Usage of undefined variable '$${name}'${sug ? ` (did you mean $${sug}?)` : ''}`, { instruction: ins });
        }
      }
      if (ins.kind === 'ARG') for (const d of ins.declarations) define(d.name.value);
      if (ins.kind === 'ENV') for (const p of ins.pairs) define(p.key.value);
    }
    stageEnv.set(st.index, defined);
  }
});

const multipleInstructionsDisallowed = rule(
  'MultipleInstructionsDisallowed',
  'multiple-instructions-disallowed',
  'Multiple instructions of the same type should not be used in the same stage',
  (ctx) => {
    for (const st of ctx.stages) {
      for (const kind of ['CMD', 'ENTRYPOINT', 'HEALTHCHECK'] as const) {
        const list = st.instructions.filter((i) => i.kind === kind);
        for (const ins of list.slice(0, -1)) {
          ctx.report(ins.range, `Multiple ${kind} instructions should not be used in the same stage because only the last one will be used`, { instruction: ins });
        }
      }
    }
  },
);

/** `ENV k v` → `ENV k=v` when that means the same (no quotes or escapes in the value). */
function legacyFix(p: KeyValue): Fix | undefined {
  const v = p.value.value;
  if (/["'\\`]/.test(v) || p.range.start.line !== p.range.end.line) return undefined;
  const value = /\s/.test(v) ? `"${v}"` : v;
  return edit(p.range.start.offset, p.range.end.offset, `${p.key.value}=${value}`, 'use key=value');
}

const legacyKeyValueFormat = rule('LegacyKeyValueFormat', 'legacy-key-value-format', 'Legacy key/value format with whitespace separator should not be used', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'ENV' && ins.kind !== 'LABEL') continue;
    for (const p of ins.pairs) {
      if (!p.legacy) continue;
      const fix = legacyFix(p);
      ctx.report(ins.range, `"${ins.keyword} key=value" should be used instead of legacy "${ins.keyword} key value" format`, { instruction: ins, ...(fix ? { fix } : {}) });
    }
  }
});

const invalidBaseImagePlatform = rule('InvalidBaseImagePlatform', 'invalid-base-image-platform', 'Base image platform does not match expected target platform', (ctx) => {
  const want = ctx.options.targetPlatform;
  const lookup = ctx.options.baseImagePlatform;
  if (!want || !lookup) return;
  for (const st of ctx.stages) {
    if (st.parent !== undefined || st.from.flags.some((f) => f.name === 'platform')) continue;
    const image = ctx.imageOf(st.from);
    const got = lookup(image);
    if (got && got !== want) ctx.report(st.from.image.range, `Base image ${image} was pulled with platform ${JSON.stringify(got)}, expected ${JSON.stringify(want)} for current build`, { instruction: st.from });
  }
});

const redundantTargetPlatform = rule(
  'RedundantTargetPlatform',
  'redundant-target-platform',
  'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
  (ctx) => {
    for (const st of ctx.stages) {
      const f = st.from.flags.find((x) => x.name === 'platform');
      if (f?.value === '$TARGETPLATFORM' || f?.value === '${TARGETPLATFORM}') {
        ctx.report(f.range, `Setting platform to predefined ${f.value} in FROM is redundant as this is the default behavior`, {
          instruction: st.from,
          fix: edit(f.range.start.offset, f.range.end.offset + (ctx.df.source[f.range.end.offset] === ' ' ? 1 : 0), '', 'remove the flag'),
        });
      }
    }
  },
);

const secretsUsedInArgOrEnv = rule('SecretsUsedInArgOrEnv', 'secrets-used-in-arg-or-env', 'Sensitive data should not be used in the ARG or ENV commands', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    const keys: Word[] = ins.kind === 'ARG' ? ins.declarations.map((d) => d.name) : ins.kind === 'ENV' ? ins.pairs.map((p) => p.key) : [];
    for (const k of keys) {
      if (SECRET_RE.test(k.value) && !SECRET_ALLOW_RE.test(k.value)) {
        ctx.report(k.range, `Do not use ARG or ENV instructions for sensitive data (${ins.keyword} ${JSON.stringify(k.value)})`, { instruction: ins });
      }
    }
  }
});

const invalidDefaultArgInFrom = rule(
  'InvalidDefaultArgInFrom',
  'invalid-default-arg-in-from',
  'Default value for global ARG results in an empty or invalid base image name',
  (ctx) => {
    let env: Map<string, string> | undefined;
    let stageNames: Set<string> | undefined;
    for (const st of ctx.stages) {
      const raw = st.from.image.value;
      if (!raw.includes('$')) continue;
      stageNames ??= new Set(ctx.stages.flatMap((s) => (s.name ? [s.name] : [])));
      // only ARGs that are declared (undeclared ones are UndefinedArgInFrom's); the same for every FROM
      if (!env) {
        env = new Map<string, string>();
        for (const n of globalArgNames(ctx)) env.set(n, ctx.globalArgs.get(n) ?? (PLATFORM_ARGS.has(n) ? 'linux/amd64' : ''));
      }
      let value: string;
      try {
        value = processWord(raw, env, { escape: ctx.df.escape }).value;
      } catch {
        continue;
      }
      if (refs(ctx, raw, env).unmatched.size > 0) continue;
      let ok = value !== '';
      if (ok && value !== 'scratch' && !stageNames.has(value.toLowerCase())) {
        try {
          parseImageRef(value);
        } catch {
          ok = false;
        }
      }
      if (!ok) ctx.report(st.from.image.range, `Default value for ARG ${raw} results in empty or invalid base image name`, { instruction: st.from });
    }
  },
);

const fromPlatformFlagConstDisallowed = rule(
  'FromPlatformFlagConstDisallowed',
  'from-platform-flag-const-disallowed',
  'FROM --platform flag should not use a constant value',
  (ctx) => {
    for (const st of ctx.stages) {
      const f = st.from.flags.find((x) => x.name === 'platform');
      if (!f?.value || f.value.includes('$')) continue;
      // BuildKit allows a constant when the stage name says which platform it is for (`AS build-amd64`)
      const parts = f.value.toLowerCase().split('/');
      if (st.name && parts.slice(1).some((p) => p !== '' && st.name!.includes(p))) continue;
      ctx.report(f.range, `FROM --platform flag should not use constant value ${JSON.stringify(f.value)}`, { instruction: st.from });
    }
  },
);

const copyIgnoredFile = rule(
  'CopyIgnoredFile',
  'copy-ignored-file',
  'Attempting to Copy file that is excluded by .dockerignore',
  (ctx) => {
    const ignored = ctx.options.isIgnored;
    if (!ignored) return;
    for (const st of ctx.stages) {
      for (const ins of st.instructions) {
        if ((ins.kind !== 'COPY' && ins.kind !== 'ADD') || ins.flags.some((f) => f.name === 'from')) continue;
        for (const s of ins.sources) {
          if (s.value.startsWith('<<') || /^[a-z]+:\/\//i.test(s.value) || s.value.startsWith('git@')) continue;
          const p = s.value.replace(/^\.?\/+/, '');
          if (p !== '' && p !== '.' && ignored(p)) {
            ctx.report(s.range, `Attempting to ${ins.keyword === 'ADD' ? 'Add' : 'Copy'} file ${JSON.stringify(s.value)} that is excluded by .dockerignore`, { instruction: ins });
          }
        }
      }
    }
  },
  true,
);

const invalidDefinitionDescription = rule(
  'InvalidDefinitionDescription',
  'invalid-definition-description',
  'Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.',
  (ctx) => {
    const check = (ins: Instruction, what: string, name: string): void => {
      const last = ins.comments[ins.comments.length - 1];
      if (!last || last.range.start.line !== ins.keywordRange.start.line - 1) return;
      const first = last.text.trim().split(/\s+/)[0] ?? '';
      if (first !== name) ctx.report(ins.keywordRange, `Comment for ${what} should follow the format: \`# ${name} <description>\``, { instruction: ins });
    };
    for (const g of ctx.globals) if (g.kind === 'ARG' && g.declarations.length === 1) check(g, 'ARG', g.declarations[0]!.name.value);
    for (const st of ctx.stages) {
      if (st.from.stageName) check(st.from, 'build stage', st.from.stageName.value);
      for (const ins of st.instructions) if (ins.kind === 'ARG' && ins.declarations.length === 1) check(ins, 'ARG', ins.declarations[0]!.name.value);
    }
  },
  true,
);

const exposeProtoCasing = rule('ExposeProtoCasing', 'expose-proto-casing', 'Protocol in EXPOSE instruction should be lowercase', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'EXPOSE') continue;
    for (const p of ins.ports) {
      const slash = p.value.indexOf('/');
      if (slash < 0) continue;
      const proto = p.value.slice(slash + 1);
      if (isLower(proto)) continue;
      ctx.report(p.range, `Defined protocol '${p.value}' in EXPOSE instruction should be lowercase`, {
        instruction: ins,
        fix: edit(p.range.start.offset + slash + 1, p.range.end.offset, proto.toLowerCase(), 'lowercase the protocol'),
      });
    }
  }
});

const exposeInvalidFormat = rule('ExposeInvalidFormat', 'expose-invalid-format', 'IP address and host-port mapping should not be used in EXPOSE instruction', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'EXPOSE') continue;
    for (const p of ins.ports) {
      if (p.value.includes(':')) ctx.report(p.range, `EXPOSE instruction should not define an IP address or host-port mapping, found '${p.value}'`, { instruction: ins });
    }
  }
});

/** All 22 BuildKit checks, in BuildKit's documentation order. */
export const buildkitRules: readonly Rule[] = [
  stageNameCasing,
  fromAsCasing,
  noEmptyContinuation,
  consistentInstructionCasing,
  duplicateStageName,
  reservedStageName,
  jsonArgsRecommended,
  maintainerDeprecated,
  undefinedArgInFrom,
  workdirRelativePath,
  undefinedVar,
  multipleInstructionsDisallowed,
  legacyKeyValueFormat,
  invalidBaseImagePlatform,
  redundantTargetPlatform,
  secretsUsedInArgOrEnv,
  invalidDefaultArgInFrom,
  fromPlatformFlagConstDisallowed,
  copyIgnoredFile,
  invalidDefinitionDescription,
  exposeProtoCasing,
  exposeInvalidFormat,
];

export type { FromInstruction, Stage };
