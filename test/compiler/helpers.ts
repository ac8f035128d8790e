import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '../../grammar/index.ts';
import { compile, type BuildOptions, type ImageResolver, type ResolvedImage } from '../../compiler/index.ts';
import type { BuildGraph, ExecStep, FileStep, Step } from '../../compiler/graph.ts';
import { TsbuildError } from '../../util/errors.ts';
import { asDigest, digestOf } from '../../util/digest.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedRoot = path.resolve(repoRoot, '../shared');

export const amd64 = { os: 'linux', architecture: 'amd64' } as const;

export function opts(o: Partial<BuildOptions> = {}): BuildOptions {
  return { buildArgs: new Map(), platform: amd64, file: 'Dockerfile', ...o };
}

export const none: ImageResolver = () => undefined;

export function c(src: string, o: Partial<BuildOptions> = {}, resolve: ImageResolver = none): BuildGraph {
  return compile(parse(src, { file: 'Dockerfile' }), opts(o), resolve);
}

/** The thrown TsbuildError (fails the test if nothing or something else is thrown). */
export function err(src: string, o: Partial<BuildOptions> = {}, resolve: ImageResolver = none): TsbuildError {
  try {
    c(src, o, resolve);
  } catch (e) {
    if (e instanceof TsbuildError) return e;
    throw e;
  }
  throw new Error('expected a TsbuildError');
}

export const steps = (g: BuildGraph): Step[] => [...g.steps.values()];
export const execs = (g: BuildGraph): ExecStep[] => steps(g).filter((s): s is ExecStep => s.kind === 'exec');
export const files = (g: BuildGraph): FileStep[] => steps(g).filter((s): s is FileStep => s.kind === 'file');
export const targetStage = (g: BuildGraph) => g.stages.find((s) => s.index === g.target)!;

/** A resolver that knows images by their normalised ref. */
export function images(map: Record<string, Partial<ResolvedImage['config']['config']> & { __history?: number }>): ImageResolver {
  return (ref, platform) => {
    const cfg = map[ref];
    if (cfg === undefined) return undefined;
    const [os = 'linux', architecture = 'amd64'] = platform.split('/');
    const { __history, ...config } = cfg;
    return {
      ref,
      digest: digestOf(`manifest of ${ref} ${JSON.stringify(config)}`),
      config: { os, architecture, config, rootfs: { type: 'layers', diff_ids: [asDigest(digestOf('layer'))] }, history: [{ created_by: 'base' }] },
    };
  };
}
