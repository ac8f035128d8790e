/**
 * Build entitlements (BuildKit's `--allow`): what a Dockerfile may only do when the person running the build says so.
 * A light module: the CLI validates `--allow` without loading the executor.
 */
import type { BuildGraph } from '../compiler/graph.ts';
import { TsbuildError } from '../util/errors.ts';

/** What `--allow` may grant (BuildKit's entitlements; tsbuild's RUN network is the host's by default). */
export const ENTITLEMENTS = ['security.insecure', 'network.host'] as const;
export type Entitlement = (typeof ENTITLEMENTS)[number];

/**
 * Refuses a build whose graph has a `RUN --security=insecure` step unless `security.insecure` was granted, as BuildKit
 * does, before anything runs; the error points at the instruction.
 */
export function checkEntitlements(graph: BuildGraph, granted: readonly Entitlement[], file: string): void {
  if (granted.includes('security.insecure')) return;
  for (const step of graph.steps.values()) {
    if (step.kind !== 'exec' || step.security !== 'insecure') continue;
    throw new TsbuildError('build/entitlement-not-allowed', 'RUN --security=insecure needs the security.insecure entitlement, which this build was not granted', {
      file: step.origin?.file ?? file,
      ...(step.origin ? { range: step.origin.range } : {}),
      suggestion: 'build with --allow security.insecure to run this step privileged (all capabilities, no seccomp), or drop the flag',
    });
  }
}
