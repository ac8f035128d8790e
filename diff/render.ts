/** Text renderings of the diff/analyze/explain results (JSON output is the result objects themselves). */
import { humanSize, shortId, table, ellipsis } from '../cache/format.ts';
import type { Analysis, CiResult } from './analyze.ts';
import type { BuildExplanation, Cause, StepRef } from './build-diff.ts';
import type { CacheDiff } from './cache-diff.ts';
import type { FileSummary, ImageDiff } from './image-diff.ts';
import type { SemanticResult } from './semantic.ts';

const json = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v ?? null));
const octal = (m: number): string => `0${m.toString(8).padStart(3, '0')}`;

function fileLine(f: FileSummary | undefined): string {
  if (!f) return '(implicit directory)';
  const parts = [f.type, octal(f.mode), `${f.uid}:${f.gid}`];
  if (f.type === 'file' || f.type === 'hardlink') parts.push(humanSize(f.size));
  if (f.linkTarget !== undefined) parts.push(`-> ${f.linkTarget}`);
  if (f.digest) parts.push(f.digest.slice(0, 19));
  return parts.join(' ');
}

/** `tsbuild diff A B` as text. */
export function renderImageDiff(d: ImageDiff): string {
  let out = `--- ${d.a.label} (${shortId(d.a.configDigest)})\n+++ ${d.b.label} (${shortId(d.b.configDigest)})\n`;
  out += '\nConfig:\n';
  if (d.config.length === 0) out += '  (no differences)\n';
  for (const c of d.config) {
    if (!('old' in c)) out += `  + ${c.field}: ${json(c.new)}\n`;
    else if (!('new' in c)) out += `  - ${c.field}: ${json(c.old)}\n`;
    else out += `  ~ ${c.field}: ${json(c.old)} -> ${json(c.new)}\n`;
  }
  out += '\nLayers:\n';
  const rows: string[][] = [['', 'A', 'SIZE', 'B', 'SIZE', 'CREATED BY']];
  for (const r of d.layers) {
    const mark = r.status === 'shared' ? '=' : r.status === 'changed' ? '~' : r.status === 'added' ? '+' : '-';
    rows.push([
      mark,
      r.a ? `${r.a.index}: ${shortId(r.a.diffId)}` : '',
      r.a ? humanSize(r.a.size) : '',
      r.b ? `${r.b.index}: ${shortId(r.b.diffId)}` : '',
      r.b ? humanSize(r.b.size) : '',
      ellipsis((r.b?.createdBy ?? r.a?.createdBy ?? '').replace(/\s+/g, ' '), 60),
    ]);
  }
  out += table(rows).replace(/^/gm, '  ');
  out += d.layer !== undefined ? `\nFiles (layer ${d.layer} only):\n` : '\nFiles:\n';
  if (d.files.length === 0) out += '  (no differences)\n';
  for (const f of d.files) {
    if (f.change === 'added') out += `  A ${f.path}  ${fileLine(f.new)}\n`;
    else if (f.change === 'removed') out += `  D ${f.path}  ${fileLine(f.old)}\n`;
    else out += `  M ${f.path}  [${(f.fields ?? []).join(', ')}]  ${fileLine(f.old)} => ${fileLine(f.new)}\n`;
  }
  const counts = { added: 0, removed: 0, modified: 0 };
  for (const f of d.files) counts[f.change]++;
  out += `\n${d.config.length} config change(s); files: ${counts.added} added, ${counts.removed} removed, ${counts.modified} modified\n`;
  return out;
}

/** `tsbuild diff --semantic` as text. */
export function renderSemantic(r: SemanticResult, a: string, b: string): string {
  if (r.equal) return `${a} and ${b} are semantically equal\n`;
  let out = `${a} and ${b} differ:\n`;
  for (const d of r.differences) {
    const where = d.kind === 'file' ? `layer ${d.layer}: ${d.path}: ` : '';
    const vals = 'old' in d || 'new' in d ? `: ${json(d.old)} -> ${json(d.new)}` : '';
    out += `  ${where}${d.what}${vals}\n`;
  }
  return out;
}

/** dive's `--ci` line format, with a verdict. */
export function renderCi(results: readonly CiResult[]): string {
  let out = '';
  for (const r of results) {
    const fmt = (v: number): string => (r.rule === 'highestWastedBytes' ? `${humanSize(v)} (${v} bytes)` : v.toFixed(4));
    out += `  ${r.passed ? 'PASS' : 'FAIL'}: ${r.rule}: ${fmt(r.actual)} ${r.rule === 'lowestEfficiency' ? '>=' : '<='} ${fmt(r.threshold)}${r.passed ? '' : ' (threshold broken)'}\n`;
  }
  const failed = results.filter((r) => !r.passed).length;
  out += failed === 0 ? 'Result: PASS\n' : `Result: FAIL [${failed} rule(s) broken]\n`;
  return out;
}

/** `tsbuild analyze` as text. */
export function renderAnalysis(a: Analysis, top = 20): string {
  let out = `Image: ${a.label}\n\nLayers:\n`;
  out += table([
    ['#', 'SIZE', 'BLOB', 'ENTRIES', 'CREATED BY'],
    ...a.layers.map((l) => [String(l.index), humanSize(l.size), humanSize(l.blobSize), String(l.entries), ellipsis((l.createdBy ?? '').replace(/\s+/g, ' '), 70)]),
  ]).replace(/^/gm, '  ');
  out += `\nTotal image size: ${humanSize(a.totalSize)}\nPotential wasted space: ${humanSize(a.wastedBytes)} (${a.wastedBytes} bytes)\n`;
  out += `Image efficiency score: ${(a.efficiency * 100).toFixed(2)} %\nUser wasted percent: ${(a.userWastedPercent * 100).toFixed(2)} %\n`;
  if (a.inefficiencies.length > 0) {
    out += `\nPaths written by more than one layer (largest first${a.inefficiencies.length > top ? `, top ${top} of ${a.inefficiencies.length}` : ''}):\n`;
    out += table([
      ['COUNT', 'TOTAL SPACE', 'LAYERS', 'PATH'],
      ...a.inefficiencies.slice(0, top).map((x) => [String(x.count), humanSize(x.cumulativeSize), x.layers.join(','), `/${x.path}`]),
    ]).replace(/^/gm, '  ');
  }
  return out;
}

const stepName = (s: StepRef): string => `${s.line !== undefined ? `line ${s.line}: ` : ''}${s.description}`;

function renderCause(c: Cause, hostUmask: string | undefined): string {
  switch (c.kind) {
    case 'new-step':
      return 'new step: no step of the old build matches it';
    case 'instruction-changed':
      return `instruction changed: ${json(c.old)} -> ${json(c.new)}`;
    case 'base-image-changed':
      return `base image ${c.ref} moved: ${c.old ?? '(unresolved)'} -> ${c.new ?? '(unresolved)'}`;
    case 'build-arg-changed':
      return `build-arg ${c.name} changed: ${c.old === undefined ? '(unset)' : json(c.old)} -> ${c.new === undefined ? '(unset)' : json(c.new)}`;
    case 'env-changed':
      return `ENV ${c.name} changed: ${c.old === undefined ? '(unset)' : json(c.old)} -> ${c.new === undefined ? '(unset)' : json(c.new)}`;
    case 'platform-changed':
      return `platform changed: ${c.old ?? '?'} -> ${c.new ?? '?'}`;
    case 'definition-changed':
      return `${c.field} changed: ${json(c.old)} -> ${json(c.new)}`;
    case 'context-changed': {
      let s = `context files changed (${c.selector}): ${c.oldDigest ?? '-'} -> ${c.newDigest ?? '-'}`;
      if (!c.listed) s += '\n      (no per-file listing in the records: more than 10,000 entries, or an older record)';
      for (const f of c.files) {
        if (f.change === 'added') s += `\n      added    ${f.path} (${f.new?.digest ?? f.new?.type})`;
        else if (f.change === 'removed') s += `\n      removed  ${f.path} (${f.old?.digest ?? f.old?.type})`;
        else {
          const attrs = (f.attributes ?? []).map((a) => {
            if (a === 'mode') return `mode ${octal(f.old!.mode)} -> ${octal(f.new!.mode)}${hostUmask ? ` (umask ${hostUmask})` : ''}`;
            if (a === 'owner') return `owner ${f.old!.uid}:${f.old!.gid} -> ${f.new!.uid}:${f.new!.gid}`;
            if (a === 'size') return `size ${f.old!.size} -> ${f.new!.size}`;
            if (a === 'link') return `link ${f.old!.linkTarget ?? ''} -> ${f.new!.linkTarget ?? ''}`;
            if (a === 'type') return `type ${f.old!.type} -> ${f.new!.type}`;
            return 'content';
          });
          s += `\n      modified ${f.path}: ${attrs.join('; ')} (${f.old!.digest ?? '?'} -> ${f.new!.digest ?? '?'})`;
        }
      }
      return s;
    }
    case 'parent-changed':
      return `parent step changed: ${stepName(c.parent)}${c.rootCauses.length > 0 && !(c.rootCauses.length === 1 && c.rootCauses[0]!.id === c.parent.id) ? ` (first cause: ${c.rootCauses.map(stepName).join('; ')})` : ''}`;
    case 'order-changed':
      return `instructions reordered: now runs after ${stepName(c.after)}${c.wasAfter ? `, was after ${stepName(c.wasAfter)}` : ''}`;
    case 'cache-miss':
      return 'same cache key as the old build: the cached result was not available (pruned, --no-cache, or another store)';
    case 'unknown':
      return 'key changed for a reason the records do not show';
  }
}

/** `tsbuild diff --builds` / `build --explain` as text. */
export function renderExplanation(e: BuildExplanation): string {
  let out = `Comparing build ${e.new.id} with ${e.old.id}\n`;
  const umask = e.host.find((h) => h.attribute === 'umask');
  for (const h of e.host) out += `  machine: ${h.attribute} ${h.old} -> ${h.new}\n`;
  if (e.steps.length === 0) out += '  every step has the same cache key as in the old build\n';
  for (const s of e.steps) {
    out += `\n${s.ran ? 'RAN   ' : s.skipped ? 'UNUSED' : 'CACHED'} ${stepName(s.step)}${s.old && (s.old.line !== s.step.line || s.old.description !== s.step.description) ? `  (old: ${stepName(s.old)})` : ''}\n`;
    for (const c of s.causes) out += `    - ${renderCause(c, umask ? `${umask.old} -> ${umask.new}` : undefined)}\n`;
  }
  for (const r of e.removed) out += `\nREMOVED ${stepName(r)}\n`;
  return out;
}

/** Cache diff as text. */
export function renderCacheDiff(d: CacheDiff): string {
  let out = `A: ${d.a}\nB: ${d.b}\n${d.shared} key(s) in both\n`;
  for (const [label, list] of [['only in A', d.onlyInA], ['only in B', d.onlyInB]] as const) {
    out += `\n${label}: ${list.length}\n`;
    if (list.length > 0)
      out += table([['KEY', 'LAYERS', 'SIZE', 'CREATED', 'STEP'], ...list.map((e) => [shortId(e.key), String(e.layers), humanSize(e.size), e.createdAt, ellipsis(e.step ?? '', 50)])]).replace(/^/gm, '  ');
  }
  return out;
}
