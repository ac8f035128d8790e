/** hadolint's instruction-level DL rules (FROM, WORKDIR, USER, COPY/ADD, EXPOSE, labels, ONBUILD, order). */
import type { Instruction, LabelInstruction } from '../../../grammar/ast.ts';
import { parseImageRef } from '../../image-ref.ts';
import type { LintContext } from '../context.ts';
import type { Rule } from '../types.ts';
import { hadolint, literalPattern } from './helpers.ts';

const dl3000 = hadolint('DL3000', 'absolute-workdir', 'error', 'Use absolute WORKDIR', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'WORKDIR') continue;
    const v = ins.path.value.replace(/^["']|["']$/g, '');
    if (!v.startsWith('/') && !v.startsWith('$') && !/^[A-Za-z]:[\\/]/.test(v)) ctx.report(ins.range, 'Use absolute WORKDIR', { instruction: ins });
  }
});

const dl3002 = hadolint('DL3002', 'last-user-root', 'warning', 'Last USER should not be root', (ctx) => {
  const st = ctx.stages[ctx.targetStage];
  if (!st) return;
  const users = st.instructions.filter((i) => i.kind === 'USER');
  const last = users[users.length - 1];
  if (last && last.kind === 'USER' && /^(root|0)(:.*)?$/.test(last.user.value)) ctx.report(last.range, 'Last USER should not be root', { instruction: last });
});

/** Whether a FROM image is a stage name, scratch or still holds a variable. */
function imageCheckable(ctx: LintContext, stageIdx: number, image: string): boolean {
  if (image === 'scratch' || image.includes('$')) return false;
  const named = ctx.stageNamed(image.toLowerCase());
  return named === undefined || named >= stageIdx;
}

const dl3006 = hadolint('DL3006', 'tag-image', 'warning', 'Always tag the version of an image explicitly', (ctx) => {
  for (const st of ctx.stages) {
    const image = ctx.imageOf(st.from);
    if (!imageCheckable(ctx, st.index, image)) continue;
    try {
      const r = parseImageRef(image);
      // parseImageRef defaults the tag to latest: look at what was written
      const lastPart = image.slice(image.lastIndexOf('/') + 1);
      if (!r.digest && !lastPart.includes(':')) ctx.report(st.from.image.range, 'Always tag the version of an image explicitly', { instruction: st.from });
    } catch {
      // invalid references are the compiler's (and InvalidDefaultArgInFrom's) business
    }
  }
});

const dl3007 = hadolint('DL3007', 'no-latest', 'warning', 'Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag', (ctx) => {
  for (const st of ctx.stages) {
    const image = ctx.imageOf(st.from);
    if (!imageCheckable(ctx, st.index, image)) continue;
    if (/:latest(@|$)/.test(image) && !image.includes('@')) ctx.report(st.from.image.range, 'Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag', { instruction: st.from });
  }
});

const dl3011 = hadolint('DL3011', 'valid-port', 'error', 'Valid UNIX ports range from 0 to 65535', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'EXPOSE') continue;
    for (const p of ins.ports) {
      if (p.value.includes('$')) continue;
      const nums = p.value.split('/')[0]!.split(':').pop()!.split('-');
      if (nums.some((n) => /^\d+$/.test(n) && Number(n) > 65535)) ctx.report(p.range, 'Valid UNIX ports range from 0 to 65535', { instruction: ins });
    }
  }
});

function multiple(code: string, kind: 'HEALTHCHECK' | 'CMD' | 'ENTRYPOINT', severity: Rule['severity'], message: string): Rule {
  return hadolint(code, `multiple-${kind.toLowerCase()}`, severity, message, (ctx) => {
    for (const st of ctx.stages) {
      const list = st.instructions.filter((i) => i.kind === kind);
      for (const ins of list.slice(1)) ctx.report(ins.range, message, { instruction: ins });
    }
  });
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|gz|bz2|xz|zst|zip)$/i;

const dl3020 = hadolint('DL3020', 'copy-not-add', 'error', 'Use COPY instead of ADD for files and folders', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'ADD') continue;
    const local = ins.sources.filter((s) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(s.value) && !s.value.startsWith('git@') && !s.value.startsWith('<<'));
    if (local.length === 0 || local.some((s) => ARCHIVE.test(s.value) || s.value.includes('$'))) continue;
    if (local.length !== ins.sources.length) continue;
    const plainFlags = ins.flags.every((f) => ['chown', 'chmod', 'link', 'from', 'exclude', 'parents'].includes(f.name));
    const want = ins.keywordText === ins.keywordText.toLowerCase() ? 'copy' : 'COPY';
    ctx.report(ins.range, 'Use COPY instead of ADD for files and folders', {
      instruction: ins,
      fix: { description: 'use COPY', safe: plainFlags, edits: [{ start: ins.keywordRange.start.offset, end: ins.keywordRange.end.offset, text: want }] },
    });
  }
});

const dl3021 = hadolint('DL3021', 'copy-dest-slash', 'error', 'COPY with more than 2 arguments requires the last argument to end with /', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'COPY' || !ins.dest || ins.sources.length < 2) continue;
    if (!/[/\\]$/.test(ins.dest.value.replace(/["']$/, ''))) ctx.report(ins.range, 'COPY with more than 2 arguments requires the last argument to end with /', { instruction: ins });
  }
});

const dl3022 = hadolint('DL3022', 'copy-from-alias', 'warning', 'COPY --from should reference a previously defined FROM alias', (ctx) => {
  // the names of the stages before the one being checked, grown stage by stage
  const before = new Set<string>();
  for (const st of ctx.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== 'COPY') continue;
      const f = ins.flags.find((x) => x.name === 'from');
      if (!f?.value) continue;
      const v = ctx.expand(f.value, ctx.globalArgs).toLowerCase();
      if (v.includes('$') || /^\d+$/.test(v) || v.includes(':') || v.includes('/') || before.has(v) || v === st.name) continue;
      ctx.report(f.range, 'COPY --from should reference a previously defined FROM alias', { instruction: ins });
    }
    if (st.name) before.add(st.name);
  }
});

const dl3023 = hadolint('DL3023', 'copy-from-self', 'error', 'COPY --from cannot reference its own FROM alias', (ctx) => {
  for (const st of ctx.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== 'COPY') continue;
      const f = ins.flags.find((x) => x.name === 'from');
      if (f?.value && st.name && f.value.toLowerCase() === st.name) ctx.report(f.range, 'COPY --from cannot reference its own FROM alias', { instruction: ins });
    }
  }
});

const dl3024 = hadolint('DL3024', 'unique-alias', 'error', 'FROM aliases (stage names) must be unique', (ctx) => {
  const seen = new Set<string>();
  for (const st of ctx.stages) {
    if (!st.name) continue;
    if (seen.has(st.name)) ctx.report(st.from.stageName!.range, 'FROM aliases (stage names) must be unique', { instruction: st.from });
    seen.add(st.name);
  }
});

const dl3025 = hadolint('DL3025', 'json-cmd', 'warning', 'Use arguments JSON notation for CMD and ENTRYPOINT arguments', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if ((ins.kind === 'CMD' || ins.kind === 'ENTRYPOINT') && ins.command.form === 'shell') ctx.report(ins.range, 'Use arguments JSON notation for CMD and ENTRYPOINT arguments', { instruction: ins });
  }
});

const dl3026 = hadolint('DL3026', 'trusted-registry', 'error', 'Use only an allowed registry in the FROM image', (ctx) => {
  const trusted = ctx.options.trustedRegistries;
  if (!trusted || trusted.length === 0) return;
  for (const st of ctx.stages) {
    const image = ctx.imageOf(st.from);
    if (!imageCheckable(ctx, st.index, image)) continue;
    let domain: string;
    try {
      domain = parseImageRef(image).domain;
    } catch {
      continue;
    }
    const ok = trusted.some((t) => t === domain || (t === 'docker.io' && domain === 'docker.io') || (t.startsWith('*.') && domain.endsWith(t.slice(1))) || t === '*');
    if (!ok) ctx.report(st.from.image.range, `Use only an allowed registry in the FROM image`, { instruction: st.from });
  }
});

const dl3029 = hadolint('DL3029', 'no-platform', 'warning', 'Do not use --platform flag with FROM', (ctx) => {
  for (const st of ctx.stages) {
    const f = st.from.flags.find((x) => x.name === 'platform');
    // a variable (`$BUILDPLATFORM`) is the cross-compilation idiom, not a hard-coded platform
    if (f && !(f.value ?? '').includes('$')) ctx.report(f.range, 'Do not use --platform flag with FROM', { instruction: st.from });
  }
});

const dl3043 = hadolint('DL3043', 'onbuild-forbidden', 'error', '`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction.', (ctx) => {
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind === 'ONBUILD' && ins.trigger && ['ONBUILD', 'FROM', 'MAINTAINER'].includes(ins.trigger.keyword)) {
      ctx.report(ins.range, '`ONBUILD`, `FROM` or `MAINTAINER` triggered from within `ONBUILD` instruction.', { instruction: ins });
    }
  }
});

const dl3044 = hadolint('DL3044', 'env-self-reference', 'error', 'Do not refer to an environment variable within the same `ENV` statement where it is defined.', (ctx) => {
  for (const st of ctx.stages) {
    const defined = new Set<string>();
    for (const ins of st.instructions) {
      if (ins.kind === 'ARG') for (const d of ins.declarations) defined.add(d.name.value);
      if (ins.kind !== 'ENV') continue;
      const here: string[] = [];
      for (const p of ins.pairs) {
        for (const name of here) {
          if (defined.has(name)) continue;
          if (new RegExp(`\\$\\{?${literalPattern(name)}\\b`).test(p.value.value)) ctx.report(p.range, 'Do not refer to an environment variable within the same `ENV` statement where it is defined.', { instruction: ins });
        }
        here.push(p.key.value);
      }
      for (const n of here) defined.add(n);
    }
  }
});

const dl3045 = hadolint('DL3045', 'copy-relative-dest', 'warning', '`COPY` to a relative destination without `WORKDIR` set.', (ctx) => {
  const hasWorkdir = new Set<number>();
  for (const st of ctx.stages) {
    let wd = st.parent !== undefined && hasWorkdir.has(st.parent);
    for (const ins of st.instructions) {
      if (ins.kind === 'WORKDIR') wd = true;
      if (ins.kind !== 'COPY' || !ins.dest || wd) continue;
      const d = ins.dest.value.replace(/^["']|["']$/g, '');
      if (!d.startsWith('/') && !d.startsWith('$') && !/^[A-Za-z]:[\\/]/.test(d)) ctx.report(ins.range, '`COPY` to a relative destination without `WORKDIR` set.', { instruction: ins });
    }
    if (wd) hasWorkdir.add(st.index);
  }
});

const dl3057 = hadolint('DL3057', 'healthcheck-missing', 'ignore', '`HEALTHCHECK` instruction missing.', (ctx) => {
  const st = ctx.stages[ctx.targetStage];
  if (st && !st.instructions.some((i) => i.kind === 'HEALTHCHECK')) ctx.report(st.from.range, '`HEALTHCHECK` instruction missing.', { instruction: st.from });
});

const dl3059 = hadolint('DL3059', 'consecutive-run', 'info', 'Multiple consecutive `RUN` instructions. Consider consolidation.', (ctx) => {
  for (const st of ctx.stages) {
    let prev: Instruction | undefined;
    for (const ins of st.instructions) {
      if (ins.kind === 'RUN' && prev?.kind === 'RUN' && ins.flags.length === 0 && prev.flags.length === 0) {
        ctx.report(ins.range, 'Multiple consecutive `RUN` instructions. Consider consolidation.', { instruction: ins });
      }
      prev = ins;
    }
  }
});

const dl3061 = hadolint('DL3061', 'instruction-order', 'error', 'Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment.', (ctx) => {
  const first = ctx.df.instructions.find((i) => i.kind !== 'ARG');
  if (first && first.kind !== 'FROM') ctx.report(first.range, 'Invalid instruction order. Dockerfile must begin with `FROM`, `ARG` or comment.', { instruction: first });
});

const dl4000 = hadolint('DL4000', 'maintainer-deprecated', 'error', 'MAINTAINER is deprecated', (ctx) => {
  for (const { ins } of ctx.allInstructions()) if (ins.kind === 'MAINTAINER') ctx.report(ins.range, 'MAINTAINER is deprecated', { instruction: ins });
});

// --- labels (DL3048–DL3058) ---

const LABEL_KEY = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
const RESERVED_NS = /^(com\.docker|io\.docker|org\.dockerproject)\./;
const SPDX = new Set(['MIT', 'Apache-2.0', 'GPL-2.0', 'GPL-2.0-only', 'GPL-2.0-or-later', 'GPL-3.0', 'GPL-3.0-only', 'GPL-3.0-or-later', 'LGPL-2.1', 'LGPL-2.1-only', 'LGPL-2.1-or-later', 'LGPL-3.0', 'LGPL-3.0-only', 'LGPL-3.0-or-later', 'BSD-2-Clause', 'BSD-3-Clause', 'ISC', 'MPL-2.0', 'AGPL-3.0', 'AGPL-3.0-only', 'AGPL-3.0-or-later', 'Unlicense', 'CC0-1.0', 'EPL-2.0', 'Zlib', 'BSL-1.0', 'PostgreSQL', 'Python-2.0', 'Artistic-2.0', '0BSD']);

function labels(ctx: LintContext): { ins: LabelInstruction; key: string; value: string; range: LabelInstruction['range'] }[] {
  const out: { ins: LabelInstruction; key: string; value: string; range: LabelInstruction['range'] }[] = [];
  for (const { ins } of ctx.allInstructions()) {
    if (ins.kind !== 'LABEL') continue;
    for (const p of ins.pairs) out.push({ ins, key: p.key.value.replace(/^"|"$/g, ''), value: p.value.value.replace(/^"(.*)"$|^'(.*)'$/, '$1$2'), range: p.range });
  }
  return out;
}

const dl3048 = hadolint('DL3048', 'label-key', 'style', 'Invalid Label Key', (ctx) => {
  for (const l of labels(ctx)) {
    if (l.key.includes('$')) continue;
    if (!LABEL_KEY.test(l.key) || RESERVED_NS.test(l.key) || l.key.includes('..') || l.key.includes('--')) ctx.report(l.range, `Invalid Label Key: ${l.key}`, { instruction: l.ins });
  }
});

const VALIDATORS: Record<string, { code: string; ok: (v: string) => boolean; what: string }> = {
  url: { code: 'DL3052', ok: (v) => /^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i.test(v), what: 'is not a valid URL' },
  rfc3339: { code: 'DL3053', ok: (v) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v), what: 'is not a valid time format - must conform to RFC3339' },
  spdx: { code: 'DL3054', ok: (v) => v.split(/\s+(?:AND|OR|WITH)\s+/).every((id) => SPDX.has(id.replace(/[()]/g, ''))), what: 'is not a valid SPDX license identifier' },
  hash: { code: 'DL3055', ok: (v) => /^[0-9a-f]{7,40}$/.test(v), what: 'is not a valid git hash' },
  semver: { code: 'DL3056', ok: (v) => /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.test(v), what: 'does not conform to semantic versioning' },
  email: { code: 'DL3058', ok: (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), what: 'is not a valid email format - must conform to RFC5322' },
};

function schemaRule(code: string, severity: Rule['severity'], description: string, check: (ctx: LintContext, schema: ReadonlyMap<string, string>) => void): Rule {
  return hadolint(code, `label-${code}`, severity, description, (ctx) => {
    const schema = ctx.options.labelSchema;
    if (schema && schema.size > 0) check(ctx, schema);
  });
}

const dl3049 = schemaRule('DL3049', 'info', 'Label is missing', (ctx, schema) => {
  const st = ctx.stages[ctx.targetStage];
  if (!st) return;
  const present = new Set(labels(ctx).filter((l) => st.instructions.includes(l.ins)).map((l) => l.key));
  for (const k of schema.keys()) if (!present.has(k)) ctx.report(st.from.range, `Label \`${k}\` is missing.`, { instruction: st.from });
});
const dl3050 = schemaRule('DL3050', 'info', 'Superfluous label(s) present', (ctx, schema) => {
  if (!ctx.options.strictLabels) return;
  for (const l of labels(ctx)) if (!schema.has(l.key)) ctx.report(l.range, `Superfluous label(s) present: ${l.key}`, { instruction: l.ins });
});
const dl3051 = schemaRule('DL3051', 'warning', 'Label is empty', (ctx, schema) => {
  for (const l of labels(ctx)) if (schema.has(l.key) && l.value === '') ctx.report(l.range, `label \`${l.key}\` is empty.`, { instruction: l.ins });
});
const typedLabelRules: Rule[] = Object.entries(VALIDATORS).map(([type, v]) =>
  schemaRule(v.code, 'warning', `Label ${v.what}`, (ctx, schema) => {
    for (const l of labels(ctx)) {
      if (schema.get(l.key) !== type || l.value === '' || l.value.includes('$')) continue;
      if (!v.ok(l.value)) ctx.report(l.range, `label \`${l.key}\` ${v.what}.`, { instruction: l.ins });
    }
  }),
);

/** hadolint's instruction rules. */
export const hadolintRules: readonly Rule[] = [
  dl3000,
  dl3002,
  dl3006,
  dl3007,
  dl3011,
  multiple('DL3012', 'HEALTHCHECK', 'error', 'Multiple `HEALTHCHECK` instructions'),
  dl3020,
  dl3021,
  dl3022,
  dl3023,
  dl3024,
  dl3025,
  dl3026,
  dl3029,
  dl3043,
  dl3044,
  dl3045,
  dl3048,
  dl3049,
  dl3050,
  dl3051,
  ...typedLabelRules,
  dl3057,
  dl3059,
  dl3061,
  dl4000,
  multiple('DL4003', 'CMD', 'warning', 'Multiple `CMD` instructions found. If you list more than one `CMD` then only the last `CMD` will take effect'),
  multiple('DL4004', 'ENTRYPOINT', 'error', 'Multiple `ENTRYPOINT` instructions found. If you list more than one `ENTRYPOINT` then only the last `ENTRYPOINT` will take effect'),
];
