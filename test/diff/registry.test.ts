/** `docker://REF` images for diff and analyze: pulled into the store through registry/, then compared. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../cache/index.ts';
import { RegistryClient } from '../../registry/client.ts';
import { pushImage } from '../../registry/push.ts';
import { putRandomImage, startRegistry, type RunningRegistry } from '../registry/helpers.ts';
import { tempDir, tsbuildCli } from '../helpers/env.ts';

let reg: RunningRegistry;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
});

describe('registry references', () => {
  it('diff and analyze pull docker://REF into the store first', async () => {
    const dir = await tempDir();
    const src = await openStore(path.join(dir, 'src'));
    const a = `${reg.host}/diff/app:1`;
    const b = `${reg.host}/diff/app:2`;
    await putRandomImage(src, a, [3000, 5000]);
    await putRandomImage(src, b, [3000, 7000]);
    const client = new RegistryClient({ config: { mirrors: [], insecure: [], caCerts: {} }, credentials: { get: async () => undefined } });
    try {
      await pushImage(src, a, { client });
      await pushImage(src, b, { client });
    } finally {
      await client.close();
    }
    // A different, empty store: everything comes from the registry.
    const env = { TSBUILD_ROOT: path.join(dir, 'dst') };
    const same = await tsbuildCli(['diff', '--semantic', `docker://${a}`, `docker://${a}`], { env });
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    const differ = await tsbuildCli(['diff', '--format', 'json', `docker://${a}`, `docker://${b}`], { env });
    expect(differ.code).toBe(0);
    const d = JSON.parse(differ.stdout) as { layers: { status: string }[]; a: { label: string } };
    expect(d.a.label).toBe(`docker://${a}`);
    expect(d.layers.length).toBeGreaterThan(0);
    const an = await tsbuildCli(['analyze', '--format', 'json', `docker://${b}`], { env });
    expect(an.code).toBe(0);
    expect((JSON.parse(an.stdout) as { layers: unknown[] }).layers.length).toBe(2);
    // Without a registry, a clear error rather than a stack trace.
    const gone = await tsbuildCli(['diff', `docker://127.0.0.1:1/none:1`, `docker://127.0.0.1:1/none:2`], { env });
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});
