/** `tsbuild lint` and `tsbuild build --check` end to end (the built CLI; `npm run build` first). */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, tsbuildCli } from '../helpers/env.ts';

const BAD = 'from debian:latest as Build\nMAINTAINER me@x.org\nENV A b\nRUN apt-get update && \\\n    apt-get install curl\nADD app.py /app/\nCMD python /app/app.py\n';

describe('tsbuild lint', () => {
  it('prints findings with code frames and exits 1 at the default threshold (warning)', async () => {
    const dir = await tempDir();
    writeFileSync(path.join(dir, 'Dockerfile'), BAD);
    const r = await tsbuildCli(['lint', '.'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Dockerfile:5:21: warning DL3008: Pin versions in apt get install');
    expect(r.stdout).toContain('5 |     apt-get install curl\n  |                     ^^^^');
    const ok = await tsbuildCli(['lint', '--failure-threshold', 'none', '.'], { cwd: dir });
    expect(ok.code).toBe(0);
  });
  it('--fix writes a file that lints clean for the fixed rules; --diff only prints the patch', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'Dockerfile');
    writeFileSync(file, BAD);
    const d = await tsbuildCli(['lint', '--fix', '--diff', '.'], { cwd: dir });
    expect(d.stdout).toContain('-MAINTAINER me@x.org\n');
    expect(d.stdout).toContain('+LABEL org.opencontainers.image.authors="me@x.org"\n');
    expect(readFileSync(file, 'utf8')).toBe(BAD);
    const f = await tsbuildCli(['lint', '--fix', '--format', 'json', '.'], { cwd: dir });
    const fixed = readFileSync(file, 'utf8');
    expect(fixed).toContain('FROM debian:latest AS Build\n');
    expect(fixed).toContain('apt-get install --no-install-recommends -y curl && rm -rf /var/lib/apt/lists/*');
    expect(fixed).toContain('COPY app.py /app/');
    expect(fixed).toContain('CMD ["python", "/app/app.py"]');
    const left = JSON.parse(f.stdout).map((x: { code: string }) => x.code);
    for (const code of ['ConsistentInstructionCasing', 'FromAsCasing', 'MaintainerDeprecated', 'LegacyKeyValueFormat', 'DL3014', 'DL3015', 'DL3009', 'DL3020', 'JSONArgsRecommended']) expect(left).not.toContain(code);
    expect(left).toContain('DL3008');
  });
  it('measures the context for NoDockerignore: a 11 MB context without .dockerignore is reported, with one it is not', async () => {
    const dir = await tempDir();
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM alpine:3\nCOPY blob /\n');
    writeFileSync(path.join(dir, 'blob'), Buffer.alloc(11_000_000));
    const codes = async (): Promise<string[]> => JSON.parse((await tsbuildCli(['lint', '--format', 'json', '.'], { cwd: dir })).stdout).map((x: { code: string }) => x.code);
    expect(await codes()).toContain('NoDockerignore');
    writeFileSync(path.join(dir, '.dockerignore'), '');
    expect(await codes()).not.toContain('NoDockerignore');
  });
  it('reads .hadolint.yaml from the context; rejects unknown keys', async () => {
    const dir = await tempDir();
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM alpine:3\nRUN sudo make\n');
    writeFileSync(path.join(dir, '.hadolint.yaml'), 'ignored: [DL3004]\n');
    const r = await tsbuildCli(['lint', '--format', 'json', '.'], { cwd: dir });
    expect(JSON.parse(r.stdout).map((x: { code: string }) => x.code)).not.toContain('DL3004');
    writeFileSync(path.join(dir, '.hadolint.yaml'), 'ignore: [DL3004]\n');
    const bad = await tsbuildCli(['lint', '.'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown key "ignore"');
  });
  it('CopyIgnoredFile reads the context .dockerignore (experimental)', async () => {
    const dir = await tempDir();
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM alpine:3\nCOPY secret.env /x\n');
    writeFileSync(path.join(dir, '.dockerignore'), '*.env\n');
    const r = await tsbuildCli(['lint', '--experimental', '--format', 'json', '.'], { cwd: dir });
    expect(JSON.parse(r.stdout).map((x: { code: string }) => x.code)).toContain('CopyIgnoredFile');
  });
  it("reads the Dockerfile's own <name>.dockerignore first, as the build does", async () => {
    const dir = await tempDir();
    writeFileSync(path.join(dir, 'app.Dockerfile'), 'FROM alpine:3\nCOPY secret.env /x\nCOPY notes.txt /y\nCOPY blob /z\n');
    writeFileSync(path.join(dir, 'app.Dockerfile.dockerignore'), '*.env\n');
    writeFileSync(path.join(dir, '.dockerignore'), '*.txt\n');
    writeFileSync(path.join(dir, 'blob'), Buffer.alloc(11_000_000));
    const r = await tsbuildCli(['lint', '--experimental', '--format', 'json', 'app.Dockerfile'], { cwd: dir });
    const found = JSON.parse(r.stdout) as Array<{ code: string; line: number }>;
    expect(found.filter((x) => x.code === 'CopyIgnoredFile').map((x) => x.line)).toEqual([2]);
    // an 11 MB context with only the Dockerfile's own ignore file has one
    rmSync(path.join(dir, '.dockerignore'));
    const again = JSON.parse((await tsbuildCli(['lint', '--format', 'json', 'app.Dockerfile'], { cwd: dir })).stdout) as Array<{ code: string }>;
    expect(again.map((x) => x.code)).not.toContain('NoDockerignore');
  });
  it('CopyIgnoredFile matches as the build does (moby patternmatcher: metacharacters, parents, exceptions)', async () => {
    const dir = await tempDir();
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM alpine:3\nCOPY a+b(c).txt /x\nCOPY docs/keep.md /y\nCOPY docs/drop.md /z\nCOPY build/out /w\n');
    writeFileSync(path.join(dir, '.dockerignore'), 'a+b(c).txt\ndocs\n!docs/keep.md\nbuild\n');
    const r = await tsbuildCli(['lint', '--experimental', '--format', 'json', '.'], { cwd: dir });
    const lines = (JSON.parse(r.stdout) as Array<{ code: string; line: number }>).filter((x) => x.code === 'CopyIgnoredFile').map((x) => x.line);
    expect(lines).toEqual([2, 4, 5]);
  });
  it('bad flags are usage errors', async () => {
    const r = await tsbuildCli(['lint', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown --format "xml"');
  });
});

describe('tsbuild build --check', () => {
  it('lints with the BuildKit checks only and does not build', async () => {
    const dir = await tempDir();
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox AS Foo\nRUN sudo x\n');
    const r = await tsbuildCli(['build', '--check', '.'], { cwd: dir });
    expect(r.stdout).toContain("StageNameCasing: Stage name 'Foo' should be lowercase");
    expect(r.stdout).not.toContain('DL3004');
    expect(r.stdout).toContain('Check complete, 1 warning has been found!');
    expect(r.code).toBe(0);
    writeFileSync(path.join(dir, 'Dockerfile'), '# check=error=true\nFROM busybox AS Foo\n');
    expect((await tsbuildCli(['build', '--check', '.'], { cwd: dir })).code).toBe(1);
  });

  it("takes the findings of an unchanged Dockerfile from the store's frontend cache, and recomputes them after a change", async () => {
    const dir = await tempDir();
    const store = await tempDir('tsbuild-store-');
    const env = { TSBUILD_ROOT: store };
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox AS Foo\n');
    const first = await tsbuildCli(['build', '--check', '.'], { cwd: dir, env });
    expect(first.stdout).toContain("StageNameCasing: Stage name 'Foo' should be lowercase");
    // Tamper with the remembered message: a second check that prints it read the cache instead of linting.
    const entries = readdirSync(path.join(store, 'frontend'));
    expect(entries).toHaveLength(1);
    const file = path.join(store, 'frontend', entries[0]!);
    writeFileSync(file, readFileSync(file, 'utf8').replace("Stage name 'Foo' should be lowercase", 'remembered by the cache'));
    const second = await tsbuildCli(['build', '--check', '.'], { cwd: dir, env });
    expect(second.stdout).toContain('StageNameCasing: remembered by the cache');
    // Any change of the inputs is a miss: the Dockerfile, a build arg
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox AS Foo\n\n');
    expect((await tsbuildCli(['build', '--check', '.'], { cwd: dir, env })).stdout).toContain("Stage name 'Foo' should be lowercase");
    writeFileSync(file, readFileSync(file, 'utf8').replace("Stage name 'Foo' should be lowercase", 'remembered by the cache'));
    const withArg = await tsbuildCli(['build', '--check', '--build-arg', 'X=1', '.'], { cwd: dir, env });
    expect(withArg.stdout).toContain("Stage name 'Foo' should be lowercase");
  });

  it("checks COPY sources against the Dockerfile's own ignore file, and a change of it is a cache miss", async () => {
    const dir = await tempDir();
    const store = await tempDir('tsbuild-store-');
    const env = { TSBUILD_ROOT: store };
    writeFileSync(path.join(dir, 'Dockerfile'), '# check=experimental=CopyIgnoredFile\nFROM busybox\nCOPY secret.env /x\n');
    writeFileSync(path.join(dir, 'Dockerfile.dockerignore'), '*.env\n');
    const check = async (): Promise<string> => (await tsbuildCli(['build', '--check', '.'], { cwd: dir, env })).stdout;
    expect(await check()).toContain('CopyIgnoredFile');
    writeFileSync(path.join(dir, 'Dockerfile.dockerignore'), '*.txt\n');
    expect(await check()).not.toContain('CopyIgnoredFile');
  });
});
