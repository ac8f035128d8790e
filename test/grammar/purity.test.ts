import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers.ts';

describe('grammar/ is pure', () => {
  it('imports no file system, process, network or undici module', () => {
    const dir = path.join(repoRoot, 'grammar');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const src = readFileSync(path.join(dir, f), 'utf8');
      const imports = [...src.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
      for (const spec of imports) expect(spec, `${f} imports ${spec}`).not.toMatch(/^(node:)?(fs|child_process|net|http|https|undici)(\/|$)/);
      expect(src, f).not.toMatch(/\bBuffer\b|\bprocess\./);
    }
  });
});
