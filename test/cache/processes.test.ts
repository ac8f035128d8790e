import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '../../cache/store.ts';
import { fsck, prune } from '../../cache/gc.ts';
import { digestOf } from '../../util/digest.ts';
import { putTestImage, tempStore } from './helpers.ts';

const worker = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

let store: Store;
let root: string;
let cleanup: () => void;
beforeEach(async () => {
  ({ store, root, cleanup } = await tempStore());
});
afterEach(() => cleanup());

function start(...args: string[]): ChildProcess {
  return spawn(process.execPath, [worker, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve(p.exitCode) : p.once('exit', (code) => resolve(code))));
}

async function run(...args: string[]): Promise<void> {
  const p = start(...args);
  let err = '';
  p.stderr!.on('data', (c) => (err += c));
  const code = await exited(p);
  if (code !== 0) throw new Error(`worker ${args.join(' ')} exited ${code}: ${err}`);
}

/** Resolves when the child prints `word` on stdout. */
function said(p: ChildProcess, word: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    p.stdout!.on('data', (c) => {
      out += c;
      if (out.includes(word)) resolve();
    });
    p.stderr!.on('data', (c) => (err += c));
    p.once('exit', (code) => reject(new Error(`worker exited ${code} before "${word}": ${err}`)));
  });
}

describe('crash safety (SIGKILL)', () => {
  it('a writer killed at random moments leaves a store fsck finds clean and the next ingest uses', async () => {
    for (let i = 0; i < 8; i++) {
      const p = start(i % 2 === 0 ? 'ingest' : 'snapshot', root);
      await said(p, 'ready');
      await new Promise((r) => setTimeout(r, 30 + Math.random() * 150));
      p.kill('SIGKILL');
      await exited(p);
      const r = await fsck(store);
      expect(r.problems).toEqual([]);
    }
    // Something was interrupted mid-way at least once (leftovers exist), and the store is still usable.
    expect((await fsck(store)).leftovers).toBeGreaterThan(0);
    const tmp = store.tempFile('after');
    writeFileSync(tmp, 'after the crashes');
    expect((await store.blobs.ingest(tmp, digestOf('after the crashes'))).digest).toBe(digestOf('after the crashes'));
    await prune(store);
    expect(readdirSync(join(root, 'ingest'))).toEqual([]);
    expect((await fsck(store)).problems).toEqual([]);
  }, 120_000);
});

describe('locks across processes', () => {
  it('serialise read-modify-write: no lost updates', async () => {
    const file = join(root, 'counter');
    writeFileSync(file, '0');
    await Promise.all([1, 2, 3, 4].map(() => run('counter', root, file, '25')));
    expect(readFileSync(file, 'utf8')).toBe('100');
  }, 120_000);

  it('per-key: two builds of the same step compute once; different keys run in parallel', async () => {
    const log = join(root, 'log');
    writeFileSync(log, '');
    await Promise.all([run('step', root, 'same', log), run('step', root, 'same', log), run('step', root, 'other', log)]);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const same = lines.filter((l) => l[1] === 'same').map((l) => l[0]).sort();
    expect(same).toEqual(['compute', 'reuse']);
    const computes = lines.filter((l) => l[0] === 'compute').map((l) => ({ start: Number(l[3]), end: Number(l[4]) }));
    expect(computes).toHaveLength(2);
    const [x, y] = computes as [{ start: number; end: number }, { start: number; end: number }];
    // The two keys' work overlapped in time: a per-key lock does not serialise unrelated steps.
    expect(Math.max(x.start, y.start)).toBeLessThan(Math.min(x.end, y.end));
  }, 120_000);

  it('a lock held by a SIGKILLed process is broken by the next taker', async () => {
    const p = start('hold', root, 'gc');
    await said(p, 'held');
    p.kill('SIGKILL');
    await exited(p);
    const t = Date.now();
    const release = await store.lock('gc', { timeoutMs: 5000 });
    expect(Date.now() - t).toBeLessThan(2000);
    await release();
  }, 60_000);

  it('a lock held by a live process times out with a clear error', async () => {
    const p = start('hold', root, 'busy');
    await said(p, 'held');
    try {
      await expect(store.lock('busy', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'store/lock-timeout' });
    } finally {
      p.kill('SIGKILL');
      await exited(p);
    }
  }, 60_000);
});

describe('shared store, concurrent writers', () => {
  it('three processes on one key: one computes, two reuse, the store stays consistent', async () => {
    const log = join(root, 'log2');
    writeFileSync(log, '');
    await Promise.all([1, 2, 3].map(() => run('step', root, 'shared-key', log)));
    const verbs = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]).sort();
    expect(verbs).toEqual(['compute', 'reuse', 'reuse']);
    await putTestImage(store, 'x', ['same']);
    expect((await fsck(store)).problems).toEqual([]);
  }, 60_000);
});
