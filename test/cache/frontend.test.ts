/** The frontend cache (cache/frontend.ts): what its key depends on, and that what it remembers comes back intact. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrontendCache, type FrontendInputs } from '../../cache/frontend.ts';
import { buildCheckFindings } from '../../cli/commands/lint.ts';
import { corpus } from '../lint/helpers.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tsbuild-frontend-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const inputs = (over: Partial<FrontendInputs> = {}): FrontendInputs => ({
  contextDir: dir,
  dockerfilePath: path.join(dir, 'Dockerfile'),
  displayName: 'Dockerfile',
  text: 'FROM busybox AS Foo\n',
  target: undefined,
  buildArgs: new Map([['A', '1'], ['B', '2']]),
  ...over,
});

describe('the key', () => {
  it('changes with every input the front end reads, and with the code', () => {
    const cache = new FrontendCache(path.join(dir, 'store'), 'build-1');
    const base = cache.key(inputs())!;
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(cache.key(inputs())).toBe(base);
    // build args in another order are the same args
    expect(cache.key(inputs({ buildArgs: new Map([['B', '2'], ['A', '1']]) }))).toBe(base);
    const variants = [
      cache.key(inputs({ text: 'FROM busybox AS foo\n' })),
      cache.key(inputs({ displayName: 'Dockerfile.dev' })),
      cache.key(inputs({ target: 'Foo' })),
      cache.key(inputs({ buildArgs: new Map([['A', '1'], ['B', '3']]) })),
      cache.key(inputs({ buildArgs: new Map([['A', '1']]) })),
      new FrontendCache(path.join(dir, 'store'), 'build-2').key(inputs()),
    ];
    writeFileSync(path.join(dir, '.dockerignore'), 'secret\n');
    variants.push(cache.key(inputs()));
    writeFileSync(path.join(dir, '.dockerignore'), 'secret2\n');
    variants.push(cache.key(inputs()));
    // the Dockerfile's own ignore file wins over .dockerignore, as in the build: its content is what counts
    writeFileSync(path.join(dir, 'Dockerfile.dockerignore'), 'secret\n');
    variants.push(cache.key(inputs()));
    writeFileSync(path.join(dir, 'Dockerfile.dockerignore'), 'secret3\n');
    const own = cache.key(inputs())!;
    variants.push(own);
    writeFileSync(path.join(dir, '.dockerignore'), 'ignored while Dockerfile.dockerignore exists\n');
    expect(cache.key(inputs())).toBe(own);
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('is undefined without a build id (running from the sources): nothing is cached', () => {
    const cache = new FrontendCache(path.join(dir, 'store'), undefined);
    expect(cache.key(inputs())).toBeUndefined();
  });
});

describe('entries', () => {
  it('come back for their key only; one file per Dockerfile, overwritten on change; torn files are misses', () => {
    const store = path.join(dir, 'store');
    const cache = new FrontendCache(store, 'build-1');
    const a = inputs();
    const key = cache.key(a)!;
    expect(cache.get(a, key)).toBeUndefined();
    const value = buildCheckFindings(a.text, a.displayName, dir, {});
    cache.put(a, key, { findings: value.findings, source: value.source, parsed: value.parsed! });
    expect(cache.get(a, key)?.findings.map((f) => f.code)).toEqual(['StageNameCasing']);
    const b = inputs({ text: 'FROM busybox\n' });
    const keyB = cache.key(b)!;
    expect(cache.get(b, keyB)).toBeUndefined();
    cache.put(b, keyB, { findings: [], source: b.text, parsed: buildCheckFindings(b.text, b.displayName, dir, {}).parsed! });
    expect(cache.get(a, key)).toBeUndefined();
    expect(readdirSync(path.join(store, 'frontend'))).toHaveLength(1);
    // another Dockerfile of the context has its own entry
    const c = inputs({ dockerfilePath: path.join(dir, 'Dockerfile.dev') });
    cache.put(c, cache.key(c)!, { findings: [], source: c.text, parsed: value.parsed! });
    expect(readdirSync(path.join(store, 'frontend'))).toHaveLength(2);
    expect(cache.get(b, keyB)).toBeDefined();
    expect(cache.get(c, cache.key(c)!)).toBeDefined();
    for (const f of readdirSync(path.join(store, 'frontend'))) {
      const file = path.join(store, 'frontend', f);
      writeFileSync(file, readFileSync(file, 'utf8').slice(0, 100));
    }
    expect(cache.get(b, keyB)).toBeUndefined();
    expect(cache.get(c, cache.key(c)!)).toBeUndefined();
  });

  it('give back exactly the AST and findings of every corpus Dockerfile', () => {
    const cache = new FrontendCache(path.join(dir, 'store'), 'build-1');
    let findings = 0;
    for (const { name, text } of corpus()) {
      const i = inputs({ text, displayName: name, dockerfilePath: name });
      const computed = buildCheckFindings(text, name, dir, {});
      if (!computed.parsed) continue;
      const value = { findings: computed.findings, source: computed.source, parsed: computed.parsed };
      const key = cache.key(i)!;
      cache.put(i, key, value);
      const back = cache.get(i, key);
      if (!isDeepStrictEqual(back, value)) expect.fail(`${name}: the remembered front end differs from the computed one`);
      findings += value.findings.length;
    }
    expect(findings).toBeGreaterThan(100);
  });
});
