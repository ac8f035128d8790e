/**
 * Real builds (busybox base, runc, overlayfs) into a scratch store, then `tsbuild diff --builds` explanations,
 * image diffs and `analyze --ci` on what was built. Needs root: fails loudly otherwise.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type BuildRecord } from '../../cache/index.ts';
import { build, type BuildRequest } from '../../executor/build.ts';
import { diffImages, explainBuilds, openImage, type BuildExplanation, type Cause } from '../../diff/index.ts';
import { storeBaseImage } from '../helpers/bases.ts';
import { makeTempDir, requireRoot, tsbuildCli, type TempDir } from '../helpers/env.ts';

let scratch: TempDir;
let storeRoot: string;

beforeAll(async () => {
  requireRoot('tsbuild diff --builds scenarios (real builds)');
  scratch = await makeTempDir('tsbuild-diff-');
  storeRoot = path.join(scratch.path, 'store');
  await storeBaseImage('busybox', storeRoot);
});
afterAll(async () => {
  await scratch?.cleanup();
});

let ctxCount = 0;
/** A fresh context directory with these files. */
function context(files: Record<string, string>): string {
  const dir = path.join(scratch.path, `ctx${++ctxCount}`);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** Builds `dir` (its Dockerfile) in-process; returns the build's record. */
async function buildRecord(dir: string, opts: { args?: Record<string, string>; tag?: string } = {}): Promise<BuildRecord> {
  const text = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
  const req: BuildRequest = {
    contextDir: dir,
    dockerfile: { path: path.join(dir, 'Dockerfile'), text, displayName: 'Dockerfile' },
    buildArgs: new Map(Object.entries(opts.args ?? {})),
    tags: opts.tag ? [opts.tag] : [],
    labels: new Map(),
    noCache: false,
    noCacheFilter: [],
    pull: false,
    outputs: [],
    compression: 'gzip',
    network: 'none',
    secrets: new Map(),
    ssh: new Map(),
    runtime: 'runc',
    storeRoot,
  };
  const r = await build(req, () => {});
  const store = await openStore(storeRoot);
  return store.records.get(r.recordId!);
}

/** Explained steps as `[instruction, cause kinds]`. */
const summary = (e: BuildExplanation): Array<[string, string[]]> => e.steps.map((s) => [s.step.description, s.causes.map((c) => c.kind)]);
const causeOf = <K extends Cause['kind']>(e: BuildExplanation, step: string, kind: K): Extract<Cause, { kind: K }> => {
  const s = e.steps.find((x) => x.step.description === step);
  const c = s?.causes.find((x) => x.kind === kind);
  if (!c) throw new Error(`no ${kind} cause for ${step}: ${JSON.stringify(e.steps, null, 1)}`);
  return c as Extract<Cause, { kind: K }>;
};

describe('diff --builds: the exact cause of every step that ran', () => {
  it('one changed context file: names that file (old and new digests) and points later steps at the COPY', async () => {
    const dir = context({
      Dockerfile: 'FROM busybox\nCOPY a.txt b.txt /app/\nCOPY sub /sub\nRUN cat /app/a.txt > /out\n',
      'a.txt': 'aaa\n',
      'b.txt': 'bbb\n',
      'sub/c.txt': 'ccc\n',
    });
    const r1 = await buildRecord(dir);
    writeFileSync(path.join(dir, 'b.txt'), 'b changed\n');
    const r2 = await buildRecord(dir);
    expect(r2.steps.filter((s) => s.kind !== 'source' && !s.cached).length).toBe(3);
    const e = explainBuilds(r1, r2);
    expect(summary(e)).toEqual([
      ['COPY a.txt b.txt /app/', ['context-changed']],
      ['COPY sub /sub', ['parent-changed']],
      ['RUN cat /app/a.txt > /out', ['parent-changed']],
    ]);
    const c = causeOf(e, 'COPY a.txt b.txt /app/', 'context-changed');
    expect(c.listed).toBe(true);
    expect(c.files.map((f) => [f.path, f.change, f.attributes])).toEqual([['b.txt', 'modified', ['size', 'content']]]);
    expect(c.files[0]!.old!.digest).toMatch(/^xxh64:/);
    expect(c.files[0]!.old!.digest).not.toBe(c.files[0]!.new!.digest);
    expect(causeOf(e, 'RUN cat /app/a.txt > /out', 'parent-changed').rootCauses.map((s) => s.description)).toEqual(['COPY a.txt b.txt /app/']);

    // An added file and a mode change (what a different umask does to a checkout).
    writeFileSync(path.join(dir, 'sub/d.txt'), 'ddd\n');
    chmodSync(path.join(dir, 'a.txt'), 0o664);
    const r3 = await buildRecord(dir);
    const e2 = explainBuilds(r2, r3);
    expect(causeOf(e2, 'COPY a.txt b.txt /app/', 'context-changed').files.map((f) => [f.path, f.change, f.attributes])).toEqual([['a.txt', 'modified', ['mode']]]);
    expect(causeOf(e2, 'COPY sub /sub', 'context-changed').files.map((f) => [f.path, f.change])).toEqual([['sub/d.txt', 'added']]);
    // The step is also downstream of the first COPY, which changed too.
    expect(causeOf(e2, 'COPY sub /sub', 'parent-changed').parent.description).toBe('COPY a.txt b.txt /app/');
  });

  it('one changed build-arg: names the argument and its values, and nothing else', async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nARG V=0\nCOPY f /f\nRUN echo "$V" > /v\nRUN cat /v\n', f: 'x\n' });
    const r1 = await buildRecord(dir, { args: { V: '1' } });
    const r2 = await buildRecord(dir, { args: { V: '2' } });
    const e = explainBuilds(r1, r2);
    expect(summary(e)).toEqual([
      ['RUN echo "$V" > /v', ['build-arg-changed']],
      // In scope as an ARG, V is in this RUN's environment too (BuildKit's rule), and its parent moved.
      ['RUN cat /v', ['build-arg-changed', 'parent-changed']],
    ]);
    // The COPY before the RUNs does not see V: it was served from the cache.
    expect(r2.steps.find((s) => s.description === 'COPY f /f')?.cached).toBe(true);
    expect(causeOf(e, 'RUN echo "$V" > /v', 'build-arg-changed')).toEqual({ kind: 'build-arg-changed', name: 'V', old: '1', new: '2' });
  });

  it('a moved base image: names the reference and both digests', async () => {
    const baseDir = context({ Dockerfile: 'FROM busybox\nRUN echo one > /base\n' });
    await buildRecord(baseDir, { tag: 'diffbase:test' });
    const store = await openStore(storeRoot);
    const before = (await store.getImage('diffbase:test')).manifestDigest;
    const dir = context({ Dockerfile: 'FROM diffbase:test\nRUN cat /base > /copy\n' });
    const r1 = await buildRecord(dir);
    writeFileSync(path.join(baseDir, 'Dockerfile'), 'FROM busybox\nRUN echo two > /base\n');
    await buildRecord(baseDir, { tag: 'diffbase:test' });
    const after = (await store.getImage('diffbase:test')).manifestDigest;
    expect(after).not.toBe(before);
    const r2 = await buildRecord(dir);
    const e = explainBuilds(r1, r2);
    expect(summary(e)).toEqual([
      ['FROM diffbase:test', ['base-image-changed']],
      ['RUN cat /base > /copy', ['parent-changed']],
    ]);
    expect(causeOf(e, 'FROM diffbase:test', 'base-image-changed')).toEqual({ kind: 'base-image-changed', ref: 'docker.io/library/diffbase:test', old: before, new: after });
  });

  it('reordered instructions: steps matched by text across moved lines, the reorder named', async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n' });
    const r1 = await buildRecord(dir);
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo b > /b\nRUN echo a > /a\n');
    const r2 = await buildRecord(dir);
    const e = explainBuilds(r1, r2);
    expect(summary(e)).toEqual([
      ['RUN echo b > /b', ['order-changed']],
      ['RUN echo a > /a', ['order-changed']],
    ]);
    expect(e.steps.map((s) => [s.step.line, s.old?.line])).toEqual([
      [2, 3],
      [3, 2],
    ]);
    expect(causeOf(e, 'RUN echo a > /a', 'order-changed').after.description).toBe('RUN echo b > /b');
    expect(causeOf(e, 'RUN echo b > /b', 'order-changed').wasAfter?.description).toBe('RUN echo a > /a');
  });

  it('an edited instruction: matched to the line it replaced, old and new text named', async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nRUN echo one > /x\nRUN cat /x\n' });
    const r1 = await buildRecord(dir);
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo two > /x\nRUN cat /x\n');
    const r2 = await buildRecord(dir);
    const e = explainBuilds(r1, r2);
    expect(summary(e)).toEqual([
      ['RUN echo two > /x', ['instruction-changed']],
      ['RUN cat /x', ['parent-changed']],
    ]);
    expect(causeOf(e, 'RUN echo two > /x', 'instruction-changed')).toEqual({ kind: 'instruction-changed', old: 'RUN echo one > /x', new: 'RUN echo two > /x' });
  });

  it('across machines: an exported record; owner and umask-made mode differences named (CLI)', async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nCOPY src /src\n', 'src/a': 'a\n', 'src/b': 'b\n' });
    const r1 = await buildRecord(dir);
    // The "other runner": a checkout made under umask 002 by uid 1000.
    chmodSync(path.join(dir, 'src/a'), 0o664);
    chownSync(path.join(dir, 'src/b'), 1000, 1000);
    const old = process.umask(0o002);
    let r2: BuildRecord;
    try {
      r2 = await buildRecord(dir);
    } finally {
      process.umask(old);
    }
    const env = { TSBUILD_ROOT: storeRoot };
    const exp1 = await tsbuildCli(['builds', 'export', r1.id], { env });
    expect(exp1.code).toBe(0);
    const file = path.join(scratch.path, 'runner-a.json');
    writeFileSync(file, exp1.stdout);
    const res = await tsbuildCli(['diff', '--builds', file, r2.id], { env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('machine: umask 0022 -> 0002');
    expect(res.stdout).toContain('modified src/a: mode 0644 -> 0664 (umask 0022 -> 0002)');
    expect(res.stdout).toContain('modified src/b: owner 0:0 -> 1000:1000');
    const json = await tsbuildCli(['diff', '--builds', '--format', 'json', file, r2.id], { env });
    const e = JSON.parse(json.stdout) as BuildExplanation;
    expect(e.host).toContainEqual({ attribute: 'umask', old: '0022', new: '0002' });
    const c = e.steps[0]!.causes[0] as Extract<Cause, { kind: 'context-changed' }>;
    expect(c.files.map((f) => [f.path, f.attributes])).toEqual([
      ['src/a', ['mode']],
      ['src/b', ['owner']],
    ]);
  });
});

describe('build records', () => {
  it('list the context files a COPY matched, but not for a selector of 10,000 entries or more (its digest stays)', async () => {
    const small = await buildRecord(context({ Dockerfile: 'FROM busybox\nCOPY src /src\n', 'src/a': 'a\n', 'src/b': 'b\n' }));
    const copy = (r: BuildRecord) => r.steps.find((s) => s.description === 'COPY src /src')!;
    expect(copy(small).contextFiles?.['src']?.map((f) => f.path)).toEqual(['src', 'src/a', 'src/b']);
    // src itself and 9,999 files: the limit exactly
    const files: Record<string, string> = { Dockerfile: 'FROM busybox\nCOPY src /src\n' };
    for (let i = 0; i < 9_999; i++) files[`src/d${i % 50}/f${i}`] = '';
    const dir = context(files);
    rmSync(path.join(dir, 'src/d0/f0'));
    rmSync(path.join(dir, 'src/d1/f1'));
    const under = await buildRecord(dir); // src, 50 directories, 9,997 files: 10,048 entries
    expect(copy(under).contextDigests?.['src']).toMatch(/^xxh64:/);
    expect(copy(under).contextFiles).toEqual({});
    for (let i = 1; i < 50; i++) rmSync(path.join(dir, `src/d${i}`), { recursive: true });
    const listed = await buildRecord(dir); // src, d0 and its 199 files: 201 entries
    expect(copy(listed).contextFiles?.['src']).toHaveLength(201);
  }, 120_000);
});

describe('images built for real', () => {
  it('diff of two images whose Dockerfiles differ by one RUN shows exactly that RUN\'s files', async () => {
    const d1 = context({ Dockerfile: 'FROM busybox\nRUN echo same > /same\n' });
    const d2 = context({ Dockerfile: 'FROM busybox\nRUN echo same > /same\nRUN mkdir -p /opt/tool && echo hi > /opt/tool/run && ln -s tool/run /opt/link && rm /bin/vi\n' });
    await buildRecord(d1, { tag: 'diff-one:a' });
    await buildRecord(d2, { tag: 'diff-one:b' });
    const store = await openStore(storeRoot);
    const deps = { store: async () => store, cwd: scratch.path };
    const d = await diffImages(await openImage('diff-one:a', deps), await openImage('diff-one:b', deps));
    expect(d.files.map((f) => [f.change, f.path])).toEqual([
      ['removed', 'bin/vi'],
      ['added', 'opt'],
      ['added', 'opt/link'],
      ['added', 'opt/tool'],
      ['added', 'opt/tool/run'],
    ]);
    expect(d.files.find((f) => f.path === 'opt/link')!.new).toMatchObject({ type: 'symlink', linkTarget: 'tool/run' });
    expect(d.layers.map((r) => r.status)).toEqual(['shared', 'shared', 'added']);
    // The CLI agrees, and --semantic fails the gate.
    const env = { TSBUILD_ROOT: storeRoot };
    const sem = await tsbuildCli(['diff', '--semantic', 'diff-one:a', 'diff-one:b'], { env });
    expect(sem.code).toBe(1);
    expect(sem.stdout).toContain('number of layers');
    const same = await tsbuildCli(['diff', '--semantic', 'diff-one:a', 'diff-one:a'], { env });
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('semantically equal');
  });

  it('analyze --ci fails on a deliberately wasted 10 MB file and passes on a clean image', async () => {
    const wasteful = context({ Dockerfile: 'FROM busybox\nRUN dd if=/dev/zero of=/blob bs=1M count=10 2>/dev/null\nRUN rm /blob\n' });
    const clean = context({ Dockerfile: 'FROM busybox\nRUN echo small > /small\n' });
    await buildRecord(wasteful, { tag: 'waste:test' });
    await buildRecord(clean, { tag: 'clean:test' });
    const env = { TSBUILD_ROOT: storeRoot };
    const bad = await tsbuildCli(['analyze', '--ci', '--highestWastedBytes', '5MB', 'waste:test'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('Potential wasted space: 10.5MB (10485760 bytes)');
    expect(bad.stdout).toMatch(/FAIL: highestWastedBytes: 10\.5MB \(10485760 bytes\) <= 5MB/);
    expect(bad.stdout).toMatch(/\/blob/);
    const json = JSON.parse((await tsbuildCli(['analyze', '--format', 'json', 'waste:test'], { env })).stdout) as { wastedBytes: number; inefficiencies: { path: string; layers: number[] }[] };
    expect(json.wastedBytes).toBe(10 * 1024 * 1024);
    expect(json.inefficiencies[0]).toMatchObject({ path: 'blob', layers: [1, 2] });
    const good = await tsbuildCli(['analyze', '--ci', '--highestWastedBytes', '5MB', 'clean:test'], { env });
    expect(good.stdout).toContain('Result: PASS');
    expect(good.code).toBe(0);
  });

  it('tsbuild builds lists records; build --explain prints the cause after a rebuild', async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nCOPY conf /conf\nRUN cat /conf\n', conf: 'v1\n' });
    const env = { TSBUILD_ROOT: storeRoot };
    const first = await tsbuildCli(['build', '--progress', 'plain', '--explain', dir], { env });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('explain: no earlier build of this Dockerfile is recorded');
    writeFileSync(path.join(dir, 'conf'), 'v2\n');
    const second = await tsbuildCli(['build', '--progress', 'plain', '--explain', dir], { env });
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/RAN +line 2: COPY conf \/conf\n +- context files changed \(conf\)/);
    expect(second.stderr).toMatch(/modified conf: size 3 -> 3|modified conf: content \(xxh64:[0-9a-f]{16} -> xxh64:[0-9a-f]{16}\)/);
    expect(second.stderr).toMatch(/RAN +line 3: RUN cat \/conf\n +- parent step changed: line 2: COPY conf \/conf/);
    const ls = await tsbuildCli(['builds', '--format', 'json'], { env });
    const rows = JSON.parse(ls.stdout) as { context?: string; stepsRun: number; stepsCached: number }[];
    const mine = rows.filter((r) => r.context === dir);
    expect(mine.length).toBe(2);
    expect(mine.map((r) => [r.stepsRun, r.stepsCached])).toEqual([
      [2, 0],
      [2, 0],
    ]);
    const table = await tsbuildCli(['builds'], { env });
    expect(table.stdout.split('\n')[0]).toMatch(/^ID +STARTED +CONTEXT +TARGET +IMAGE +STEPS RUN\/CACHED +DURATION +STATUS$/);
    // With no argument, diff --builds compares the last two builds of the same Dockerfile: these two.
    const dflt = await tsbuildCli(['diff', '--builds'], { env });
    expect(dflt.stdout).toContain('COPY conf /conf');
  });
});
