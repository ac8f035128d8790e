/**
 * Definition digests and cache keys. The definition is the step with everything that does not change its result
 * removed (id, inputs' identities, origin, description, context selectors, proxy env); step references inside
 * mounts and file actions become input positions, so that unrelated steps elsewhere never shift a key.
 */
import { canonicalJson, digestOf, type Digest } from '../util/digest.ts';
import type { CacheKey, StepId } from './graph.ts';
import type { Step } from './graph.ts';
import type { StepDraft } from './state.ts';

/** The normalised definition of a step, as hashed into `definitionDigest`. */
export function definitionOf(step: StepDraft | Step): unknown {
  const inputIndex = (id: StepId | undefined): number | undefined => (id === undefined ? undefined : step.inputs.indexOf(id));
  switch (step.kind) {
    case 'source':
      return { kind: 'source', source: step.source, platform: step.platform };
    case 'exec':
      return {
        kind: 'exec',
        platform: step.platform,
        argv: step.argv,
        env: step.env,
        cwd: step.cwd,
        user: step.user,
        network: step.network,
        security: step.security,
        heredocFiles: step.heredocFiles,
        stdin: step.stdin,
        sourceDateEpoch: step.sourceDateEpoch,
        mounts: step.mounts.map((m) => ('from' in m && m.from !== undefined ? { ...m, from: inputIndex(m.from) } : m)),
      };
    case 'file':
      return {
        kind: 'file',
        platform: step.platform,
        link: step.rootfs === undefined,
        sourceDateEpoch: step.sourceDateEpoch,
        actions: step.actions.map((a) => (a.action === 'copy' ? { ...a, from: inputIndex(a.from) } : a)),
      };
  }
}

export function definitionDigest(step: StepDraft | Step): Digest {
  return digestOf(canonicalJson(definitionOf(step)));
}

/**
 * The full cache key: sha256 over the definition digest, the input steps' keys (in `inputs` order) and the content
 * digests of the context paths the step reads (in `contextSelectors` order).
 */
export function computeCacheKey(step: Step, inputKeys: readonly CacheKey[], contextDigests: readonly string[]): CacheKey {
  // COPY --link makes its layer on an empty root (BuildKit's MergeOp): the stage below is not part of its key, so the
  // layer is reused over any base.
  const linkBase = step.kind === 'file' && step.rootfs === undefined ? step.linkBase : undefined;
  const inputs = linkBase === undefined ? inputKeys : inputKeys.map((k, i) => (step.inputs[i] === linkBase ? 'link' : k));
  return digestOf(canonicalJson({ def: step.definitionDigest, inputs, content: contextDigests })) as string as CacheKey;
}
