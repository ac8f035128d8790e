import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { comparePeers, formatTable, repoRoot, runCommand, summarize, timeCommand, tsbuildPeer, type Peer } from '../../bench/lib.ts';

describe('bench/lib', () => {
  it('summarize: median of odd and even counts, min, max, samples in run order', () => {
    expect(summarize([30, 10, 20])).toEqual({ samples: [30, 10, 20], median: 20, min: 10, max: 30 });
    expect(summarize([4, 1, 3, 2])).toMatchObject({ median: 2.5, min: 1, max: 4 });
    expect(() => summarize([])).toThrow(/no samples/);
  });

  it('runCommand captures output and exit code and measures wall time', async () => {
    const r = await runCommand(['sh', '-c', 'echo out; echo err >&2; sleep 0.2; exit 3']);
    expect(r).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(r.ms).toBeGreaterThanOrEqual(190);
    expect(r.ms).toBeLessThan(5000);
  });

  it('timeCommand runs warm-up plus measured runs, calling before() each time', async () => {
    let befores = 0;
    const t = await timeCommand(['true'], { runs: 3, warmup: 2, before: async () => void befores++ });
    expect(befores).toBe(5);
    expect(t.samples).toHaveLength(3);
    await expect(timeCommand(['sh', '-c', 'echo boom >&2; exit 1'], { runs: 1 })).rejects.toThrow(/exited with 1[\s\S]*boom/);
  });

  it('comparePeers reports each peer, keeping failures in their row; formatTable shows ratios', async () => {
    const fake = (name: string, script: string): Peer => ({
      name,
      version: `${name}-1`,
      buildCommand: (dir, tag, mode) => ({ argv: ['sh', '-c', script, 'sh', dir, tag, mode], env: {} }),
    });
    const rows = await comparePeers('/tmp', {
      runs: 2,
      peers: [fake('fast', 'sleep 0.05'), fake('slow', 'sleep 0.25'), fake('broken', 'echo nope >&2; exit 7')],
    });
    expect(rows.map((r) => r.peer)).toEqual(['fast', 'slow', 'broken']);
    expect(rows[0]!.timing!.samples).toHaveLength(2);
    expect(rows[2]!.error).toMatch(/exited with 7[\s\S]*nope/);
    const table = formatTable('demo', rows);
    const lines = table.split('\n');
    expect(lines[0]).toBe('demo');
    expect(lines[1]).toMatch(/^peer\s+version\s+median\s+min\s+runs\s+ratio$/);
    expect(lines.find((l) => l.startsWith('fast'))).toMatch(/1\.00x$/);
    const slowRatio = Number(/([\d.]+)x$/.exec(lines.find((l) => l.startsWith('slow'))!)![1]);
    expect(slowRatio).toBeGreaterThan(1.5);
    expect(lines.find((l) => l.startsWith('broken'))).toMatch(/failed/);
    expect(table).toMatch(/broken failed:\n[\s\S]*nope/);
  });

  it('passes the context, tag and cache mode to the peer', async () => {
    const seen: string[] = [];
    const peer: Peer = {
      name: 'probe',
      version: '0',
      buildCommand: (dir, tag, mode) => {
        seen.push(`${dir} ${tag} ${mode}`);
        return { argv: ['true'], env: {} };
      },
    };
    await comparePeers('/tmp/Some-Ctx', { runs: 1, mode: 'warm', peers: [peer] });
    expect(seen).toEqual(['/tmp/Some-Ctx tsbuild-bench/some-ctx:latest warm']);
  });
});

describe('bench/lib peers', () => {
  it('tsbuildPeer builds through ./bin/tsbuild into the bench store, --no-cache only when cold', () => {
    const peer = tsbuildPeer('/tmp/some-store');
    expect(peer.version).toMatch(/^\d+\.\d+\.\d+( \([0-9a-f]+(\+dirty)?\))?$/);
    const cold = peer.buildCommand('/ctx', 'x:1', 'cold');
    expect(cold.argv[0]).toBe(path.join(repoRoot, 'bin/tsbuild'));
    expect(cold.argv.slice(1)).toEqual(['build', '--progress', 'plain', '--network', 'host', '-t', 'x:1', '--no-cache', '/ctx']);
    expect(cold.env).toEqual({ TSBUILD_ROOT: '/tmp/some-store' });
    expect(peer.buildCommand('/ctx', 'x:1', 'warm').argv).not.toContain('--no-cache');
  });
});
