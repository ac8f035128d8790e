/**
 * The Chevrotain runtime, loaded on first use (`chevrotain()`) from the single-file ESM bundle the package ships
 * (`lib/chevrotain.mjs`) rather than through its `exports` entry (`lib/src/api.js`, which pulls in 53 modules): the
 * same code, but one module to resolve and compile. Measured under Node 24 with the compile cache: 8–10 ms to load
 * instead of 52–61 ms. Loaded with `require` (Node loads an ES module without top-level await synchronously), so
 * that the parser can be built lazily inside a synchronous parse. Falls back to the package entry if the bundle is
 * missing.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

export type Chevrotain = typeof import('chevrotain');

let loaded: Chevrotain | undefined;

export function chevrotain(): Chevrotain {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    const entry = require.resolve('chevrotain'); // <pkg>/lib/src/api.js
    loaded = require(path.join(path.dirname(entry), '..', 'chevrotain.mjs')) as Chevrotain;
  } catch {
    loaded = require('chevrotain') as Chevrotain;
  }
  return loaded;
}
