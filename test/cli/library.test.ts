/**
 * The library entry (`import { build, lint, diff } from 'tsbuild'`): the same engine as the CLI, with typed
 * options and results. Imports the compiled package entry (dist/index.js), as a user of the package would.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireRoot, tempDir } from '../helpers/env.ts';
import { testStoreRoot } from '../helpers/cli.ts';
import { storeBaseImage } from '../helpers/bases.ts';

type Lib = typeof import('../../index.ts');
let lib: Lib;

beforeAll(async () => {
  requireRoot('library builds');
  await storeBaseImage('busybox');
  lib = (await import(path.join(repoRoot, 'dist/index.js'))) as Lib;
});

describe('library', () => {
  it('build() builds into the store, reports progress events, and returns the image ID; a failure rejects with the step', async () => {
    const dir = await tempDir('tsbuild-lib-');
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nARG WHO\nRUN echo "hi $WHO" > /who\n');
    const events: string[] = [];
    const r = await lib.build({
      context: dir,
      tags: ['lib-test:1'],
      buildArgs: { WHO: dir },
      storeRoot: testStoreRoot()!,
      onProgress: (e) => events.push(e.type),
    });
    expect(r.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.tags).toEqual(['lib-test:1']);
    expect(r.stepsRun).toBe(1);
    expect(events[0]).toBe('build-start');
    expect(events).toContain('step-done');
    expect(events.at(-1)).toBe('build-done');

    const again = await lib.build({ context: dir, dockerfileText: 'FROM busybox\nRUN echo "changed" > /who\n', tags: ['lib-test:2'], storeRoot: testStoreRoot()! });
    const d = await lib.diff('lib-test:1', 'lib-test:2', { storeRoot: testStoreRoot()! });
    expect(JSON.stringify(d)).toContain('who');
    expect(again.imageId).not.toBe(r.imageId);

    await expect(lib.build({ context: dir, dockerfileText: 'FROM busybox\nRUN exit 7\n', storeRoot: testStoreRoot()! })).rejects.toMatchObject({
      name: 'TsbuildError',
      code: 'build/step-failed',
      file: 'Dockerfile',
      range: { start: { line: 2, col: 1 } },
      stepExitCode: 7,
    });
  });

  it('lint() takes Dockerfile text and returns positioned findings; parse/compile are exported too', async () => {
    const findings = await lib.lint('from busybox AS Base\nRUN cd /tmp\n', { file: 'Dockerfile' });
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) {
      expect(typeof f.code).toBe('string');
      expect(f.range.start.line).toBeGreaterThanOrEqual(1);
    }
    const df = lib.parse('FROM scratch\nCOPY a /\n');
    expect(df.instructions.map((i) => i.kind)).toEqual(['FROM', 'COPY'].map((k) => expect.stringMatching(new RegExp(k, 'i'))));
    expect(typeof lib.compile).toBe('function');
  });
});
