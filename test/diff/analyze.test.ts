import { describe, expect, it } from 'vitest';
import { analyzeImage, evaluateCi, openImage, parseBytes, parseCiConfig, renderAnalysis } from '../../diff/index.ts';
import { tempDir } from '../helpers/env.ts';
import { writeLayout } from './fixtures.ts';

const noStore = { store: async () => { throw new Error('no store in this test'); }, cwd: '/' };
const bytes = (n: number): string => 'x'.repeat(n);

/**
 * A fixture whose figures are worked out by hand from dive's definitions (wagoodman/dive filetree/efficiency.go):
 * every leaf of every layer is an occurrence of its path; a file's occurrence weighs its size, a whiteout the size
 * of the subtree it deletes (0 for a plain file), an opaque marker a whiteout of each lower child it hides.
 */
const fixture = {
  layers: [
    [
      { name: 'a', content: bytes(100) },
      { name: 'd', type: 'dir' as const },
      { name: 'd/x', content: bytes(50) },
      { name: 'd/y', content: bytes(30) },
      { name: 'keep', content: bytes(7) },
    ],
    [
      { name: 'a', content: bytes(40) }, // overwrites a
      { name: '.wh.d' }, // deletes directory d (80 bytes below it)
      { name: 'b', content: bytes(10) },
    ],
    [
      { name: '.wh.b' }, // deletes file b: weighs 0, as in dive
      { name: 'e', type: 'dir' as const },
      { name: 'e/f', content: bytes(5) },
    ],
    [
      { name: 'e', type: 'dir' as const },
      { name: 'e/.wh..wh..opq' }, // hides e/f
      { name: 'e/g', content: bytes(3) },
    ],
  ],
  history: ['FROM base', 'COPY a b', 'RUN rm b', 'RUN reset e'],
};

describe('analyze (dive definitions)', () => {
  it('computes per-layer sizes, wasted bytes and efficiency exactly as worked out by hand', async () => {
    const dir = await writeLayout(await tempDir(), fixture);
    const a = await analyzeImage(await openImage(`oci:${dir}`, noStore));
    // Layer size = the file bytes in the layer.
    expect(a.layers.map((l) => l.size)).toEqual([187, 50, 5, 3]);
    expect(a.layers.map((l) => l.createdBy)).toEqual(fixture.history);
    expect(a.layers.map((l) => l.entries)).toEqual([5, 3, 3, 3]);
    expect(a.totalSize).toBe(245);
    expect(a.userSize).toBe(58);
    // Paths: a {100,40}, d/x {50}, d/y {30}, keep {7}, d {80 (whiteout)}, b {10,0}, e/f {5,0}, e/g {3}
    // Σmin = 40+50+30+7+80+0+0+3 = 210; Σcumulative = 140+50+30+7+80+10+5+3 = 325.
    expect(a.efficiency).toBeCloseTo(210 / 325, 12);
    // Wasted = Σcumulative of the paths seen twice or more: a 140 + b 10 + e/f 5.
    expect(a.wastedBytes).toBe(155);
    expect(a.userWastedPercent).toBeCloseTo(155 / 58, 12);
    expect(a.inefficiencies.map((x) => [x.path, x.count, x.cumulativeSize, x.minSize, x.layers])).toEqual([
      ['a', 2, 140, 40, [0, 1]],
      ['b', 2, 10, 0, [1, 2]],
      ['e/f', 2, 5, 0, [2, 3]],
    ]);
    const text = renderAnalysis(a);
    expect(text).toContain('Potential wasted space: 155B (155 bytes)');
    expect(text).toContain('Image efficiency score: 64.62 %');
  });

  it('an image with no repeated path is 100 % efficient and wastes nothing', async () => {
    const dir = await writeLayout(await tempDir(), { layers: [[{ name: 'a', content: 'abc' }], [{ name: 'b', content: 'de' }]] });
    const a = await analyzeImage(await openImage(`oci:${dir}`, noStore));
    expect(a.efficiency).toBe(1);
    expect(a.wastedBytes).toBe(0);
    expect(a.inefficiencies).toEqual([]);
  });

  it('evaluates CI rules with dive semantics (efficiency >=, wasted <=, user percent <=)', async () => {
    const dir = await writeLayout(await tempDir(), fixture);
    const a = await analyzeImage(await openImage(`oci:${dir}`, noStore));
    const r = evaluateCi(a, { lowestEfficiency: 0.6, highestWastedBytes: 155, highestUserWastedPercent: 2.5 });
    expect(r.map((x) => [x.rule, x.passed])).toEqual([
      ['lowestEfficiency', true],
      ['highestWastedBytes', true],
      ['highestUserWastedPercent', false],
    ]);
    expect(evaluateCi(a, { lowestEfficiency: 0.65 })[0]!.passed).toBe(false);
    expect(evaluateCi(a, { highestWastedBytes: 154 })[0]!.passed).toBe(false);
    expect(evaluateCi(a, {})).toEqual([]);
  });

  it('reads .dive-ci files: numbers, humanized byte sizes, "disabled"; rejects unknown rules', () => {
    const c = parseCiConfig('rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n');
    expect(c.rules).toEqual({ lowestEfficiency: 0.95, highestWastedBytes: 20_000_000 });
    expect([...c.present].sort()).toEqual(['highestUserWastedPercent', 'highestWastedBytes', 'lowestEfficiency']);
    expect(parseBytes('1MiB')).toBe(1_048_576);
    expect(parseBytes('512')).toBe(512);
    expect(parseBytes('1.5 GB')).toBe(1_500_000_000);
    expect(() => parseBytes('lots')).toThrow(/invalid byte size/);
    expect(() => parseCiConfig('rules:\n  lowestEfficency: 0.9\n')).toThrow(/unknown rule "lowestEfficency"/);
    expect(() => parseCiConfig('rules:\n  lowestEfficiency: 2\n')).toThrow(/between 0 and 1/);
  });
});
