// Preloaded with --import by test/cli/startup.test.ts: records every module URL the process resolves and
// writes the list to $TSBUILD_TRACE_IMPORTS at exit. Node 24's synchronous module hooks see ESM and CJS loads.
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';

const seen = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    seen.add(r.url);
    return r;
  },
});
process.on('exit', () => writeFileSync(process.env.TSBUILD_TRACE_IMPORTS, [...seen].join('\n')));
