/**
 * What `build` needs from the registry, in two calls: resolve a FROM image (from the store, pulling what it lacks,
 * or checking for a newer manifest with `--pull`) and push the tags of a finished build (`--push`). The client is
 * created only when the network is actually needed, so a build from local bases never loads undici.
 */
import type { Store, StoredImage } from '../cache/store.ts';
import type { Range } from '../util/position.ts';
import { TsbuildError } from '../util/errors.ts';
import type { RegistryClient } from './client.ts';
import type { PushResult } from './push.ts';

/** Lazily creates one client per build and closes it at the end. */
export class BuildRegistry {
  #client: RegistryClient | undefined;
  readonly #env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env;
  }

  async client(): Promise<RegistryClient> {
    if (!this.#client) {
      const { RegistryClient } = await import('./client.ts');
      this.#client = new RegistryClient({ env: this.#env });
    }
    return this.#client;
  }

  /**
   * The base image for FROM `ref`: from the store when present (unless `pull`), else pulled. Errors carry the FROM
   * line's position (`file`, `range`) so the CLI prints a code frame.
   */
  async resolveBase(store: Store, ref: string, opts: { pull: boolean; file: string; range?: Range; onPull?: (ref: string) => void }): Promise<StoredImage> {
    if (!opts.pull) {
      const have = await store.findImage(ref);
      if (have) return have;
    }
    opts.onPull?.(ref);
    try {
      const { pullImage } = await import('./pull.ts');
      const r = await pullImage(store, ref, { client: await this.client() });
      return await store.getImage(r.name);
    } catch (e) {
      if (e instanceof TsbuildError) {
        throw new TsbuildError(e.code, e.message, { file: opts.file, range: opts.range, suggestion: e.suggestion, exitCode: e.exitCode, cause: e });
      }
      throw e;
    }
  }

  /** Pushes every tag (each a name in the store) to its registry, in order. */
  async pushTags(store: Store, tags: readonly string[], onPush?: (tag: string) => void): Promise<PushResult[]> {
    if (tags.length === 0) throw new TsbuildError('build/push-without-tag', '--push needs at least one --tag naming the destination', { exitCode: 2, suggestion: 'e.g. tsbuild build --push -t localhost:5000/app:1 .' });
    const { pushImage } = await import('./push.ts');
    const out: PushResult[] = [];
    for (const tag of tags) {
      onPush?.(tag);
      out.push(await pushImage(store, tag, { client: await this.client() }));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#client?.close();
    this.#client = undefined;
  }
}
