/**
 * The build command end to end on a real busybox base (runc, overlayfs): the plain and rawjson progress streams
 * line by line, -q, the failed-step report, and the stdin / tar contexts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeBinary, requireRoot, tempDir } from '../helpers/env.ts';
import { cliEntry, expectExit, testStoreRoot, tsbuildCli } from '../helpers/cli.ts';
import { storeBaseImage } from '../helpers/bases.ts';

beforeAll(async () => {
  requireRoot('building on a busybox base');
  await storeBaseImage('busybox');
});

// stdout and stderr reach tsbuild through two pipes: the pause keeps their order deterministic.
const DOCKERFILE = 'FROM busybox\nRUN echo hello; sleep 0.3; echo world >&2\nCOPY a.txt /a.txt\n';

async function context(dockerfile = DOCKERFILE): Promise<string> {
  const dir = await tempDir('tsbuild-cli-ctx-');
  writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  writeFileSync(path.join(dir, 'a.txt'), `${dir}\n`); // unique content: no cache hit from another test
  return dir;
}

/** Timings vary: `0.372`, `0.4s` become `T`, `Ts`; digests become `sha256:D`; sizes `SIZE`. */
const normalize = (s: string): string[] =>
  s
    .replace(/sha256:[0-9a-f]{64}/g, 'sha256:D')
    .replace(/\b\d+\.\d+s\b/g, 'Ts')
    .replace(/^(#\d+) \d+\.\d{3} /gm, '$1 T ')
    .replace(/ \d+(\.\d+)?(B|kB|MB|GB)$/gm, ' SIZE')
    .split('\n');

describe('plain progress from a real build', () => {
  it('prints one line per event: step numbers, labels, full output, DONE with durations, CACHED, the summary', async () => {
    const dir = await context();
    const first = await tsbuildCli(['--progress', 'plain', '-t', 'cli-plain:1', dir]);
    expectExit(first, 0);
    expect(first.stdout).toBe('');
    expect(normalize(first.stderr)).toEqual([
      '#1 [1/3] FROM busybox',
      '#1 CACHED',
      '#2 [2/3] RUN echo hello; sleep 0.3; echo world >&2',
      '#2 T hello',
      '#2 T world',
      '#2 DONE Ts',
      '#3 [3/3] COPY a.txt /a.txt',
      '#3 DONE Ts',
      '',
      'Built in Ts (2 run, 0 cached): sha256:D SIZE',
      '',
    ]);
    const again = await tsbuildCli(['--progress=plain', '-t', 'cli-plain:1', dir], { env: { CI: '1' } });
    expectExit(again, 0);
    expect(normalize(again.stderr)).toEqual([
      '#1 [1/3] FROM busybox',
      '#1 CACHED',
      '#2 [2/3] RUN echo hello; sleep 0.3; echo world >&2',
      '#2 CACHED',
      '#3 [3/3] COPY a.txt /a.txt',
      '#3 CACHED',
      '',
      'Built in Ts (0 run, 2 cached): sha256:D SIZE',
      '',
    ]);
    // auto is plain when stderr is not a terminal
    const auto = await tsbuildCli(['-t', 'cli-plain:1', dir]);
    expect(normalize(auto.stderr)).toEqual(normalize(again.stderr));
  });

  it('-q prints only the image ID on stdout, nothing on stderr, and --iidfile/--metadata-file agree', async () => {
    const dir = await context();
    const out = await tempDir();
    const r = await tsbuildCli(['-q', '--iidfile', path.join(out, 'iid'), '--metadata-file', path.join(out, 'meta.json'), dir]);
    expectExit(r, 0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(r.stderr).toBe('');
    const id = r.stdout.trim();
    expect(readFileSync(path.join(out, 'iid'), 'utf8')).toBe(id);
    const meta = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta['containerimage.config.digest']).toBe(id);
    expect(meta['containerimage.digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('rawjson progress from a real build', () => {
  it('writes one v1 JSON event per line: build.started, vertex started/cached/log/completed, build.completed', async () => {
    const dir = await context();
    const r = await tsbuildCli(['--progress', 'rawjson', '--no-cache', dir]);
    expectExit(r, 0);
    const lines = r.stderr.trimEnd().split('\n');
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of events) {
      expect(e.v).toBe(1);
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const shape = events.map((e) => [e.type, e.name ?? null, e.line ?? null, e.stream ?? null]);
    expect(shape).toEqual([
      ['build.started', null, null, null],
      ['vertex.started', '[1/3] FROM busybox', null, null],
      ['vertex.completed', '[1/3] FROM busybox', null, null],
      ['vertex.started', '[2/3] RUN echo hello; sleep 0.3; echo world >&2', null, null],
      ['vertex.log', '[2/3] RUN echo hello; sleep 0.3; echo world >&2', 'hello', 'stdout'],
      ['vertex.log', '[2/3] RUN echo hello; sleep 0.3; echo world >&2', 'world', 'stderr'],
      ['vertex.completed', '[2/3] RUN echo hello; sleep 0.3; echo world >&2', null, null],
      ['vertex.started', '[3/3] COPY a.txt /a.txt', null, null],
      ['vertex.completed', '[3/3] COPY a.txt /a.txt', null, null],
      ['build.completed', null, null, null],
    ]);
    const started = events[0]!.vertices as { id: string; name: string; kind: string }[];
    expect(started.map((v) => [v.name, v.kind])).toEqual([
      ['[1/3] FROM busybox', 'source'],
      ['[2/3] RUN echo hello; sleep 0.3; echo world >&2', 'exec'],
      ['[3/3] COPY a.txt /a.txt', 'file'],
    ]);
    const run = events.find((e) => e.type === 'vertex.completed' && e.name === started[1]!.name)!;
    expect(run.id).toBe(started[1]!.id);
    expect(run.cached).toBe(false);
    expect(Date.parse(run.completed as string) - Date.parse(run.started as string)).toBe(run.durationMs);
    const done = events.at(-1)!;
    expect(done).toMatchObject({ stepsRun: 2, stepsCached: 0 });
    expect(done.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(done.size).toBeGreaterThan(0);

    const cached = await tsbuildCli(['--progress', 'rawjson', dir]);
    const types = cached.stderr.trimEnd().split('\n').map((l) => (JSON.parse(l) as { type: string; cached?: boolean }));
    expect(types.filter((e) => e.type === 'vertex.cached').map((e) => e.cached)).toEqual([true, true, true]);
  });
});

describe('a failed step', () => {
  it('shows the label and last 20 output lines, the Dockerfile excerpt with >>>, the command and exit code; exits 1', async () => {
    const dir = await context('FROM busybox\nRUN echo ok\nRUN for i in $(seq 1 30); do echo line $i; done; exit 3\nRUN echo never\n');
    const r = await tsbuildCli(['--progress', 'plain', dir]);
    expect(r.code).toBe(1);
    const report = r.stderr.slice(r.stderr.indexOf('------\n'));
    expect(report.split('\n')).toEqual([
      '------',
      ' > [3/4] RUN for i in $(seq 1 30); do echo line $i; done; exit 3:',
      ...Array.from({ length: 20 }, (_, i) => `line ${i + 11}`),
      '------',
      'Dockerfile:3',
      '--------------------',
      '  1 |     FROM busybox',
      '  2 |     RUN echo ok',
      '  3 | >>> RUN for i in $(seq 1 30); do echo line $i; done; exit 3',
      '  4 |     RUN echo never',
      '--------------------',
      'Dockerfile:3:1: error: process "/bin/sh -c \\"for i in $(seq 1 30); do echo line $i; done; exit 3\\"" did not complete successfully: exit code: 3',
      '',
    ].map((l) => (l.startsWith('Dockerfile:3:1') ? expect.stringMatching(/^Dockerfile:3:1: error: process .*for i in \$\(seq 1 30\).*exit 3.* did not complete successfully: exit code: 3$/) : l)));
    // plain mode also printed the step's full output as it ran
    expect(r.stderr).toContain('ERROR: ');
    expect(r.stderr.match(/^#\d+ [\d.]+ line 1$/m)).not.toBeNull();

    const json = await tsbuildCli(['--progress', 'rawjson', dir]);
    expect(json.code).toBe(1);
    const events = json.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const err = events.find((e) => e.type === 'vertex.error')!;
    expect(err).toMatchObject({ name: '[3/4] RUN for i in $(seq 1 30); do echo line $i; done; exit 3', exitCode: 3 });
    expect((err.tail as string[]).length).toBe(20);
    expect(events.at(-1)).toMatchObject({ type: 'build.error', code: 'build/step-failed', file: 'Dockerfile', line: 3, col: 1, exitCode: 1 });
  });

  it('a base image that cannot be had is reported at its FROM line with a code frame', async () => {
    const dir = await context('FROM nosuchimage:1\nRUN true\n');
    const r = await tsbuildCli(['--progress', 'plain', dir]);
    expect(r.code).toBe(1);
    // Not found locally, then not pullable (no network here): either way the error points at the image name.
    expect(r.stderr).toMatch(/^Dockerfile:1:6: error: \S/m);
    expect(r.stderr).toContain('1 | FROM nosuchimage:1\n  |      ^~~~~~~~~~~~~\n');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('interrupt', () => {
  it('SIGINT during a RUN stops the build, kills the container and exits 130', async () => {
    const dir = await context(`FROM busybox\nRUN echo started-${process.pid}; sleep 60\n`);
    const child = spawn(nodeBinary, [cliEntry(), '--progress', 'plain', '--no-cache', dir], {
      env: { ...process.env, TSBUILD_ROOT: testStoreRoot()!, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    let sent = false;
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      // Once, when the RUN's own output shows (a second ^C kills outright, as docker's does).
      if (!sent && new RegExp(`^#2 [\\d.]+ started-${process.pid}$`, 'm').test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const started = Date.now();
    const code = await new Promise<number | null>((r) => child.on('close', (c, sig) => r(c ?? (sig === 'SIGINT' ? 128 + 2 : null))));
    // Exit 130, or death by the re-raised SIGINT once the cleanups ran (executor/snapshot/on-exit.ts): a shell
    // reports both as 130.
    expect(code, err).toBe(130);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(err).toMatch(/interrupted/);
    expect(err).not.toMatch(/\n\s+at /);
  });
});

describe('contexts: stdin and tar files', () => {
  it('a Dockerfile on stdin (CONTEXT -) builds with an empty context', async () => {
    const r = await tsbuildCli(['--progress', 'plain', '-'], { input: 'FROM busybox\nRUN ls /tmp-ctx 2>/dev/null; echo from-stdin\n' });
    expectExit(r, 0);
    expect(r.stderr).toMatch(/^#2 [\d.]+ from-stdin$/m);
    const copy = await tsbuildCli(['--progress', 'plain', '-'], { input: 'FROM busybox\nCOPY a.txt /\n' });
    expect(copy.code).toBe(1);
    expect(copy.stderr).toContain('a.txt');
  });

  it('-f - reads the Dockerfile from stdin with a context directory', async () => {
    const dir = await context();
    const r = await tsbuildCli(['--progress', 'plain', '-f', '-', dir], { input: 'FROM busybox\nCOPY a.txt /\nRUN cat /a.txt\n' });
    expectExit(r, 0);
    expect(r.stderr).toContain(` ${dir}\n`);
  });

  for (const [what, flags] of [
    ['plain', []],
    ['gzip', ['-z']],
  ] as const) {
    it(`a ${what} tar on stdin and a tar file are extracted and used as the context`, async () => {
      const dir = await context('FROM busybox\nCOPY sub/b.txt /b.txt\nRUN cat /b.txt\n');
      mkdirSync(path.join(dir, 'sub'));
      writeFileSync(path.join(dir, 'sub/b.txt'), `from the ${what} tar ${dir}\n`);
      const tar = execFileSync('tar', ['-c', ...flags, '-C', dir, '.']);
      const viaStdin = await tsbuildCli(['--progress', 'plain', '-'], { input: tar });
      expectExit(viaStdin, 0);
      expect(viaStdin.stderr).toContain(`from the ${what} tar ${dir}\n`);
      const file = path.join(await tempDir(), 'ctx.tar');
      writeFileSync(file, tar);
      const viaFile = await tsbuildCli(['--progress', 'plain', file]);
      expectExit(viaFile, 0);
      expect(viaFile.stderr).toContain('CACHED'); // same content, same cache keys
    });
  }

  it('-f inside a tar context names a file in the archive; a tar entry climbing out is refused', async () => {
    const dir = await context('FROM busybox\nRUN echo wrong\n');
    mkdirSync(path.join(dir, 'docker'));
    writeFileSync(path.join(dir, 'docker/Dockerfile.dev'), 'FROM busybox\nRUN echo dev-dockerfile\n');
    const file = path.join(await tempDir(), 'ctx.tar');
    execFileSync('tar', ['-c', '-f', file, '-C', dir, '.']);
    const r = await tsbuildCli(['--progress', 'plain', '-f', 'docker/Dockerfile.dev', file]);
    expectExit(r, 0);
    expect(r.stderr).toMatch(/ dev-dockerfile$/m);

    const evil = path.join(await tempDir(), 'evil.tar');
    execFileSync('tar', ['-c', '-f', evil, '-P', '--transform', 's|^.*escape.txt|../../escape.txt|', '-C', dir, 'a.txt', '--transform', 's|a.txt|../escape.txt|']);
    const bad = await tsbuildCli(['--progress', 'plain', evil]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/outside the destination directory/);
  });

  it('a file that is not a tar archive is not a context', async () => {
    const file = path.join(await tempDir(), 'notes.txt');
    writeFileSync(file, 'just text\n');
    const r = await tsbuildCli([file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: unable to prepare context: "${file}" is neither a directory nor a tar archive\n`);
  });
});
