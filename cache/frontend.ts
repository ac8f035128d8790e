/**
 * The build's front end, remembered. A Dockerfile's AST and its BuildKit check findings are pure functions of the
 * Dockerfile's text and name, the target, the build args, the context's ignore file (`<Dockerfile>.dockerignore` or
 * `.dockerignore`, whichever the build uses) and the code computing them,
 * so a rebuild whose inputs are all unchanged loads them from the store instead of building Chevrotain's lexer and
 * parser, parsing and loading the linter: ~25 ms of the ~140 ms of a no-op build of 30 RUN steps.
 *
 * One file per context directory and Dockerfile under `<store>/frontend/` (named by sha256 of the two paths, so
 * the directory holds one entry per Dockerfile built, not one per edit), holding the key of the inputs it was
 * computed from. An entry whose key differs, that is unreadable or of another format is a miss and is overwritten.
 * Writes are atomic; a lost or torn entry only costs a parse.
 *
 * The code's identity is the build id that scripts/bundle.mjs writes into the bundled CLI (a hash of the bundle and
 * of package-lock.json). Running from the TypeScript sources there is none, and nothing is cached.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dockerfile } from '../grammar/ast.ts';
import type { Finding } from '../compiler/lint/types.ts';
import { writeFileAtomicSync } from './atomic.ts';
import { storePaths } from './blobs.ts';
import { findIgnoreFile } from './context/context.ts';

declare const __TSBUILD_BUILD_ID__: string | undefined;

/** The bundled CLI's build id; undefined when running from sources (then the front end is never cached). */
export const BUILD_ID: string | undefined = typeof __TSBUILD_BUILD_ID__ === 'string' ? __TSBUILD_BUILD_ID__ : undefined;

const FORMAT = 'tsbuild-frontend 1';

/** What the front end of a build computes from its inputs. */
export interface Frontend {
  /** The BuildKit check findings, in order. */
  readonly findings: readonly Finding[];
  /** The Dockerfile's text as parsed (BOM removed), for the `--check` report's source lines. */
  readonly source: string;
  /** The AST; only Dockerfiles that parse without errors are remembered. */
  readonly parsed: Dockerfile;
}

/** Everything the front end's result depends on, besides the code. */
export interface FrontendInputs {
  readonly contextDir: string;
  readonly dockerfilePath: string;
  readonly displayName: string;
  readonly text: string;
  readonly target: string | undefined;
  readonly buildArgs: ReadonlyMap<string, string>;
}

/** The frontend cache of one store; every method is a no-op without a build id. */
export class FrontendCache {
  readonly #dir: string;
  readonly #buildId: string | undefined;

  constructor(storeRoot: string, buildId: string | undefined = BUILD_ID) {
    this.#dir = storePaths(storeRoot).frontend;
    this.#buildId = buildId;
  }

  /** The key of `inputs` (undefined when nothing can be cached), to pass to get and put. */
  key(inputs: FrontendInputs): string | undefined {
    if (this.#buildId === undefined) return undefined;
    const found = findIgnoreFile(inputs.contextDir, inputs.dockerfilePath);
    const ignore = found ? [found.file, found.text] : null;
    const args = [...inputs.buildArgs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const material = [FORMAT, this.#buildId, inputs.displayName, inputs.target ?? null, args, ignore, inputs.text];
    return createHash('sha256').update(JSON.stringify(material)).digest('hex');
  }

  /** The remembered front end of `inputs`, if its key matches. */
  get(inputs: FrontendInputs, key: string): Frontend | undefined {
    try {
      const entry = JSON.parse(readFileSync(this.#file(inputs), 'utf8')) as { format?: unknown; key?: unknown; value?: Frontend };
      return entry.format === FORMAT && entry.key === key ? entry.value : undefined;
    } catch {
      return undefined;
    }
  }

  /** Remembers `value` for `inputs`, replacing what was there. A store that cannot be written only loses the cache. */
  put(inputs: FrontendInputs, key: string, value: Frontend): void {
    try {
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      writeFileAtomicSync(this.#file(inputs), JSON.stringify({ format: FORMAT, key, value }));
    } catch {
      // a read-only or full store: the next build parses again
    }
  }

  #file(inputs: FrontendInputs): string {
    const slot = createHash('sha256').update(`${inputs.contextDir}\0${inputs.dockerfilePath}`).digest('hex');
    return join(this.#dir, `${slot}.json`);
  }
}
