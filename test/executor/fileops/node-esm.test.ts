import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeBinary, repoRoot } from '../../helpers/env.ts';

// vitest's module interop hides CommonJS named-export problems (xz-decompress, unbzip2-stream) that break under
// Node's own ESM loader, which is what runs dist/ and bin/tsbuild. Load the module the way production does.
describe('fileops under plain Node ESM', () => {
  it('imports and exposes the public API', () => {
    const entry = path.join(repoRoot, 'executor/fileops/index.ts');
    const script = `const m = await import(${JSON.stringify(entry)}); console.log(Object.keys(m).sort().join(','));`;
    const out = execFileSync(nodeBinary, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe(
      'compileChmod,copy,destinationOf,detectArchive,detectCompression,extractArchive,fetchUrl,makeDir,makeFile,urlFilename',
    );
  });
});
