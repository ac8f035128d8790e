import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.ts';
import { parseArgs, list, str, parseKeyValues } from '../args.ts';
import { renderError, formatDiagnostic } from '../render-error.ts';
import { TsbuildError } from '../../util/errors.ts';
import { parse } from '../../grammar/index.ts';
import { existsSync } from 'node:fs';
import { nativePlatform } from '../../util/platform.ts';
import { openStore, openContext } from '../../cache/index.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { compile, baseImageRefs, computeCacheKey, type ResolvedImage, type BuildGraph, type CacheKey, type ContextSelector, type Step, type StepId } from '../../compiler/index.ts';

/** Content digest of the context paths a selector names (wired to cache/context by the build engine). */
export type ContextDigestFn = (selector: ContextSelector) => Promise<string>;

export type PlanFormat = 'text' | 'json' | 'dot';

/**
 * Cache keys for every step whose keys can be computed: all of them when `contextDigest` is given, otherwise
 * those with no context selectors anywhere upstream (the rest need content digests of the context).
 */
export async function planKeys(graph: BuildGraph, contextDigest?: ContextDigestFn): Promise<Map<StepId, CacheKey>> {
  const keys = new Map<StepId, CacheKey>();
  for (const step of graph.steps.values()) {
    const inputs = step.inputs.map((i) => keys.get(i));
    if (inputs.some((k) => k === undefined)) continue;
    if (step.contextSelectors.length > 0 && contextDigest === undefined) continue;
    const content: string[] = [];
    for (const sel of step.contextSelectors) content.push(await contextDigest!(sel));
    keys.set(step.id, computeCacheKey(step, inputs as CacheKey[], content));
  }
  return keys;
}

function sourceText(step: Step): string {
  if (step.kind !== 'source') return '';
  const s = step.source;
  switch (s.type) {
    case 'image':
      return s.resolvedDigest ? `image ${s.ref} ${s.platform} ${s.resolvedDigest}` : `image ${s.ref} ${s.platform} (unresolved)`;
    case 'scratch':
      return 'scratch';
    case 'context':
      return `context ${s.name}`;
    case 'url':
      return `url ${s.url}`;
  }
}

function selectorText(sel: ContextSelector): string {
  return `${sel.include.join(' ')}${sel.exclude.length ? ` (exclude ${sel.exclude.join(' ')})` : ''}`;
}

/** Renders the plan; byte-identical for the same graph and digests. */
export async function renderPlan(graph: BuildGraph, format: PlanFormat, contextDigest?: ContextDigestFn): Promise<string> {
  const keys = await planKeys(graph, contextDigest);
  const steps = [...graph.steps.values()];
  if (format === 'json') {
    const doc = {
      target: graph.target,
      stages: graph.stages.map((s) => ({
        index: s.index,
        ...(s.name !== undefined ? { name: s.name } : {}),
        platform: s.platform,
        base: s.base,
        ...(s.baseStage !== undefined ? { baseStage: s.baseStage } : {}),
        last: s.last,
        history: s.history,
        config: s.image.config,
      })),
      steps: steps.map((s) => ({
        id: s.id,
        kind: s.kind,
        description: s.description,
        inputs: s.inputs,
        definitionDigest: s.definitionDigest,
        key: keys.get(s.id) ?? null,
        contextSelectors: s.contextSelectors,
        ...(s.origin ? { origin: { line: s.origin.range.start.line, stage: s.origin.stage, step: `${s.origin.instructionIndex}/${s.origin.instructionCount}` } } : {}),
      })),
      warnings: graph.warnings.map((w) => ({ code: w.code, message: w.message })),
    };
    return `${JSON.stringify(doc, null, 2)}\n`;
  }
  if (format === 'dot') {
    const q = (s: string): string => JSON.stringify(s);
    const lines = ['digraph plan {', '  rankdir=LR;', '  node [shape=box, fontname="monospace"];'];
    for (const s of steps) lines.push(`  ${s.id} [label=${q(`${s.id} ${s.kind}\n${s.description}`)}];`);
    for (const s of steps) for (const i of s.inputs) lines.push(`  ${i} -> ${s.id};`);
    lines.push('}');
    return `${lines.join('\n')}\n`;
  }
  const out: string[] = [];
  const t = graph.stages.find((s) => s.index === graph.target);
  out.push(`target: stage ${t?.name ?? graph.target} (index ${graph.target}), ${graph.stages.length} stage(s) needed, ${steps.length} step(s)`);
  for (const s of steps) {
    const where = s.origin ? `  [${s.origin.stage} ${s.origin.instructionIndex}/${s.origin.instructionCount}] line ${s.origin.range.start.line}` : '';
    out.push(`${s.id} ${s.kind}${s.inputs.length ? ` <- ${s.inputs.join(', ')}` : ''}${where}`);
    out.push(`  ${s.kind === 'source' ? sourceText(s) : s.description}`);
    out.push(`  def: ${s.definitionDigest}`);
    for (const sel of s.contextSelectors) out.push(`  reads context: ${selectorText(sel)}`);
    out.push(`  key: ${keys.get(s.id) ?? '(needs context content digests)'}`);
  }
  return `${out.join('\n')}\n`;
}

export const command: Command = {
  name: 'plan',
  summary: 'Compile a Dockerfile and print the build graph with its cache keys',
  help: `Usage: tsbuild plan [OPTIONS] CONTEXT

Compile the Dockerfile into the build graph and print every step the target needs, with its definition digest,
the context paths it reads and, where computable, its cache key. Needs no network and no base image: base images
show as unresolved sources.

Options:
  -f, --file FILE          Dockerfile (default: CONTEXT/Dockerfile)
      --target STAGE       Build only what this stage needs
      --build-arg K=V      Set a build argument (repeatable; K alone takes the value from the environment)
      --format FORMAT      text (default), json or dot

Examples:
  tsbuild plan .
  tsbuild plan --target build --build-arg VERSION=1.2 --format json .
  tsbuild plan --format dot . | dot -Tsvg > plan.svg
`,
  async run(args, io) {
    const parsed = parseArgs('plan', args, [
      { name: 'file', short: 'f', type: 'string' },
      { name: 'target', type: 'string' },
      { name: 'build-arg', type: 'string', multiple: true },
      { name: 'format', type: 'string' },
    ]);
    const format = str(parsed.values.format) ?? 'text';
    if (format !== 'text' && format !== 'json' && format !== 'dot') {
      throw new TsbuildError('usage/bad-format', `unknown format "${format}"`, { exitCode: 2, suggestion: 'use --format text, json or dot' });
    }
    if (parsed.positionals.length > 1) throw new TsbuildError('usage/too-many-args', 'plan takes one CONTEXT argument', { exitCode: 2 });
    const contextDir = path.resolve(io.cwd, parsed.positionals[0] ?? '.');
    const fileArg = str(parsed.values.file);
    const file = fileArg ?? path.join(parsed.positionals[0] ?? '.', 'Dockerfile');
    let source: string;
    try {
      source = await readFile(fileArg !== undefined ? path.resolve(io.cwd, fileArg) : path.join(contextDir, 'Dockerfile'), 'utf8');
    } catch (e) {
      throw new TsbuildError('usage/no-dockerfile', `cannot read Dockerfile ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { exitCode: 1 });
    }
    try {
      const df = parse(source, { file });
      const target = str(parsed.values.target);
      const options = {
        buildArgs: parseKeyValues(list(parsed.values['build-arg']), io.env, 'build-arg'),
        ...(target !== undefined ? { target } : {}),
        platform: nativePlatform(),
        file,
      };
      // Bases already in the local store are resolved (their config, ENV and ONBUILD apply, their digest enters the
      // keys); anything else stays an unresolved source. plan never pulls and never creates a store.
      const resolved = new Map<string, ResolvedImage>();
      const root = defaultStoreRoot(io.env);
      const store = existsSync(root) ? await openStore(root) : undefined;
      if (store) {
        for (const ref of baseImageRefs(df, options)) {
          const img = await store.findImage(ref.ref);
          if (img) resolved.set(ref.ref, { ref: ref.ref, digest: img.manifestDigest, config: img.config });
        }
      }
      const graph = compile(df, options, (ref) => resolved.get(ref));
      for (const w of graph.warnings) io.stderr.write(formatDiagnostic(w, source));
      // Context content digests are computed here, at the edge, exactly as a build computes them.
      const ctx = await openContext(contextDir, {
        dockerfileName: fileArg !== undefined ? path.resolve(io.cwd, fileArg) : path.join(contextDir, 'Dockerfile'),
      });
      io.stdout.write(await renderPlan(graph, format, (sel) => ctx.digestFor(sel)));
      return 0;
    } catch (e) {
      return renderError(e, io, source);
    }
  },
};
