/**
 * Turns on Node's on-disk compile cache (Node >= 22.1) before the CLI loads its commands, so that every run after the
 * first skips compiling the modules it loads (measured: ~40% of a no-op build's start-up CPU went to
 * compileSourceTextModule/wrapSafe). Imported first by main.ts; the cache lives in Node's default place
 * (NODE_COMPILE_CACHE, else <tmpdir>/node-compile-cache) and is keyed by file content, so a rebuild of dist/ only
 * costs one cold start. Never fails the CLI.
 */
import module from 'node:module';

try {
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
} catch {
  // An unwritable cache directory only means slower start-up.
}
