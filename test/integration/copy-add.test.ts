/**
 * COPY and ADD through the CLI: ownership by name, modes, wildcards, .dockerignore, local archives, URLs with
 * checksums, --link, --parents, --exclude, and the context boundary (symlinks, `..`).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, readlink, lstat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageBlobs, imageLayerTars, makeRig, markedLines, step, type Rig } from './helpers.ts';

let rig: Rig;
let server: Server;
let base: string;
let requests = 0;
const served = 'served over http\n';
beforeAll(async () => {
  rig = await makeRig();
  server = createServer((req, res) => {
    requests++;
    if (req.url === '/file.txt') {
      res.writeHead(200, { 'content-type': 'text/plain', 'last-modified': 'Tue, 14 Nov 2023 22:13:20 GMT' });
      res.end(served);
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await rig?.cleanup();
});

/** Builds `ctx` with a local export and returns the export directory. */
async function buildLocal(ctx: string, ...extra: string[]): Promise<{ out: string; stderr: string }> {
  const out = await mkdtemp(path.join(rig.dir, 'out-'));
  const r = await rig.ok(['build', '--progress', 'plain', ...extra, '-o', `type=local,dest=${out}`, ctx]);
  return { out, stderr: r.stderr };
}

/** Sorted relative paths of every entry below `dir`. */
async function tree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(path.join(dir, rel))).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    out.push(r);
    const st = await lstat(path.join(dir, r));
    if (st.isDirectory()) out.push(...(await tree(dir, r)));
  }
  return out;
}

describe('COPY', () => {
  it('--chown by name (from the image /etc/passwd and /etc/group) and --chmod', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        'COPY --chown=nobody:nobody owned.txt /owned.txt',
        'COPY --chown=nobody --chmod=640 both.txt /both.txt',
        'COPY --chmod=u=rwx,go=rx dir/ /dir/',
        'RUN stat -c "%n %u:%g %a" /owned.txt /both.txt /dir/inner.sh',
        '',
      ].join('\n'),
      'owned.txt': 'o\n',
      'both.txt': 'b\n',
      'dir/inner.sh': { content: 'echo\n', mode: 0o600 },
    });
    const r = await rig.ok(['build', '--progress', 'plain', '-t', 'chown-img', ctx]);
    expect(step(r.stderr, 'RUN stat -c "%n %u:%g %a" /owned.txt /both.txt /dir/inner.sh').logs).toEqual([
      '/owned.txt 65534:65534 644',
      '/both.txt 65534:65534 640',
      '/dir/inner.sh 0:0 755',
    ]);
    // The layer tar records the same owners.
    const layers = await imageLayerTars(rig, 'chown-img');
    const owned = layers.find((l) => l.has('owned.txt'))!.get('owned.txt')!;
    expect([owned.uid, owned.gid]).toEqual([65534, 65534]);
    // An unknown user name is an error at the instruction.
    const bad = await rig.context({ Dockerfile: 'FROM busybox\nCOPY --chown=nosuchuser f /f\n', f: 'x' });
    const b = await rig.cli(['build', '--progress', 'plain', bad]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/nosuchuser/);
    expect(b.stderr).not.toMatch(/^\s+at /m);
  });

  it('wildcards and .dockerignore (with ! exceptions) decide what COPY sees', async () => {
    const ctx = await rig.context({
      Dockerfile: 'FROM scratch\nCOPY *.txt /wild/\nCOPY . /all/\n',
      'a.txt': 'a',
      'b.txt': 'b',
      'c.md': 'c',
      'debug.log': 'log',
      'keep.log': 'keep',
      'secret/key.pem': 'private',
      'src/app.js': 'js',
      'src/app.tmp': 'tmp',
      '.dockerignore': '*.log\n!keep.log\nsecret/\n**/*.tmp\n',
    });
    const { out } = await buildLocal(ctx);
    expect(await tree(out, 'wild')).toEqual(['wild/a.txt', 'wild/b.txt']);
    expect(await tree(out, 'all')).toEqual([
      'all/.dockerignore',
      'all/Dockerfile',
      'all/a.txt',
      'all/b.txt',
      'all/c.md',
      'all/keep.log',
      'all/src',
      'all/src/app.js',
    ]);
    // A wildcard that matches nothing is an error.
    const none = await rig.context({ Dockerfile: 'FROM scratch\nCOPY *.nothing /x/\n' });
    const r = await rig.cli(['build', '--progress', 'plain', none]);
    expect(r.code).toBe(1);
    expect(markedLines(r.stderr).map(([n]) => n)).toEqual([2]);
  });

  it('--link makes a layer that does not depend on what is below it', async () => {
    // One context (the file's mtime is part of the layer), two Dockerfiles that differ below the COPY --link.
    const ctx = await rig.context({
      'app.txt': 'linked content\n',
      'a.Dockerfile': 'FROM busybox\nRUN echo one > /one\nCOPY --link app.txt /opt/app.txt\n',
      'b.Dockerfile': 'FROM busybox\nRUN echo two > /two\nCOPY --link app.txt /opt/app.txt\n',
    });
    await rig.ok(['build', '--progress', 'plain', '-t', 'link-a', '-f', path.join(ctx, 'a.Dockerfile'), ctx]);
    const second = await rig.ok(['build', '--progress', 'plain', '-t', 'link-b', '-f', path.join(ctx, 'b.Dockerfile'), ctx]);
    // The linked COPY's cache entry does not depend on the layers below it (BuildKit's MergeOp semantics).
    expect(step(second.stderr, 'COPY --link app.txt /opt/app.txt').cached).toBe(true);
    expect(step(second.stderr, 'RUN echo two > /two').cached).toBe(false);
    const la = (await imageBlobs(rig, 'link-a')).manifest.layers;
    const lb = (await imageBlobs(rig, 'link-b')).manifest.layers;
    expect(la).toHaveLength(3);
    expect(la[1]!.digest).not.toBe(lb[1]!.digest);
    expect(la[2]!.digest).toBe(lb[2]!.digest);
    // The image still sees both the lower layers and the linked file.
    const run = await rig.ok(['run', '--rm', 'link-a', 'cat', '/one', '/opt/app.txt']);
    expect(run.stdout).toBe('one\nlinked content\n');
  });

  it('--parents keeps the source directories; --exclude leaves matches out (dockerignore rules)', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        '# syntax=docker/dockerfile:1.7-labs',
        'FROM scratch',
        'COPY --parents a/b/one.txt c/two.txt /p/',
        'COPY --exclude=*.tmp --exclude=skip/ src/ /e/',
        '',
      ].join('\n'),
      'a/b/one.txt': '1',
      'c/two.txt': '2',
      'src/keep.js': 'k',
      'src/drop.tmp': 'd',
      'src/deep/x.tmp': 'x',
      'src/deep/y.js': 'y',
      'src/skip/z.js': 'z',
    });
    const { out } = await buildLocal(ctx);
    expect(await tree(out, 'p')).toEqual(['p/a', 'p/a/b', 'p/a/b/one.txt', 'p/c', 'p/c/two.txt']);
    // Exclude patterns follow .dockerignore rules relative to the source: `*.tmp` matches at its top level only.
    expect(await tree(out, 'e')).toEqual(['e/deep', 'e/deep/x.tmp', 'e/deep/y.js', 'e/keep.js']);
  });

  it('a context symlink to /etc is copied as a symlink, never as the host directory it points to', async () => {
    const ctx = await rig.context({
      Dockerfile: 'FROM scratch\nCOPY . /app/\n',
      etclink: { symlink: '/etc' },
      'passwdlink': { symlink: '/etc/passwd' },
      'real.txt': 'real',
    });
    const { out } = await buildLocal(ctx);
    expect(await tree(out, 'app')).toEqual(['app/Dockerfile', 'app/etclink', 'app/passwdlink', 'app/real.txt']);
    expect(await readlink(path.join(out, 'app/etclink'))).toBe('/etc');
    expect(await readlink(path.join(out, 'app/passwdlink'))).toBe('/etc/passwd');
    // Naming a path through the symlink resolves it inside the context (where there is no etc/), not on the host.
    const through = await rig.context({ Dockerfile: 'FROM scratch\nCOPY etclink/passwd /stolen\n', etclink: { symlink: '/etc' } });
    const r = await rig.cli(['build', '--progress', 'plain', '-o', `type=local,dest=${path.join(rig.dir, 'stolen-out')}`, through]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('root:x:0:0');
    await expect(readFile(path.join(rig.dir, 'stolen-out/stolen'))).rejects.toThrow(/ENOENT/);
    // The same for a symlink source named directly: it is followed inside the context only.
    const direct = await rig.context({ Dockerfile: 'FROM scratch\nCOPY passwdlink /stolen\n', passwdlink: { symlink: '/etc/passwd' } });
    const r2 = await rig.cli(['build', '--progress', 'plain', '-o', `type=local,dest=${path.join(rig.dir, 'stolen-out2')}`, direct]);
    expect(r2.code).toBe(1);
    await expect(readFile(path.join(rig.dir, 'stolen-out2/stolen'))).rejects.toThrow(/ENOENT/);
  });

  it('COPY ../x fails with the instruction position and copies nothing from outside the context', async () => {
    const outside = path.join(rig.dir, 'outside-secret.txt');
    await writeFile(outside, 'outside\n');
    const ctx = await rig.context({ Dockerfile: 'FROM busybox\nRUN true\nCOPY ../outside-secret.txt /x\n' });
    const r = await rig.cli(['build', '--progress', 'plain', ctx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:3(:\d+)?/);
    expect(markedLines(r.stderr).map(([n]) => n)).toEqual([3]);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('ADD', () => {
  it('extracts a local tar.gz into the destination; a remote-looking name is not special', async () => {
    const ctx = await rig.context({ Dockerfile: 'FROM scratch\nADD bundle.tar.gz /x/\nADD plain.txt /p.txt\n', 'plain.txt': 'p' });
    const src = path.join(rig.dir, 'tarsrc');
    await mkdir(path.join(src, 'inner/deeper'), { recursive: true });
    await writeFile(path.join(src, 'inner/a.txt'), 'from tar\n');
    await writeFile(path.join(src, 'inner/deeper/b.txt'), 'deep\n');
    execFileSync('tar', ['-czf', path.join(ctx, 'bundle.tar.gz'), '-C', src, 'inner']);
    const { out } = await buildLocal(ctx);
    expect(await tree(out, 'x')).toEqual(['x/inner', 'x/inner/a.txt', 'x/inner/deeper', 'x/inner/deeper/b.txt']);
    expect(await readFile(path.join(out, 'x/inner/a.txt'), 'utf8')).toBe('from tar\n');
    expect(await readFile(path.join(out, 'p.txt'), 'utf8')).toBe('p');
  });

  it('ADD URL fetches from an HTTP server, --checksum verifies it, a mismatch fails at the instruction', async () => {
    const sum = `sha256:${createHash('sha256').update(served).digest('hex')}`;
    const ctx = await rig.context({ Dockerfile: `FROM scratch\nADD --checksum=${sum} ${base}/file.txt /dl/\nADD ${base}/file.txt /named.txt\n` });
    const before = requests;
    const { out } = await buildLocal(ctx);
    expect(requests).toBeGreaterThan(before);
    expect(await readFile(path.join(out, 'dl/file.txt'), 'utf8')).toBe(served);
    expect(await readFile(path.join(out, 'named.txt'), 'utf8')).toBe(served);
    // URL downloads are 0600 in BuildKit unless --chmod says otherwise.
    expect((await lstat(path.join(out, 'named.txt'))).mode & 0o777).toBe(0o600);

    const wrong = `sha256:${'0'.repeat(64)}`;
    const bad = await rig.context({ Dockerfile: `FROM scratch\n\nADD --checksum=${wrong} ${base}/file.txt /dl/\n` });
    const r = await rig.cli(['build', '--progress', 'plain', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:3/);
    expect(r.stderr).toMatch(/checksum|digest/i);
    expect(r.stderr).toContain(sum.slice(7, 19));
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // A 404 fails too, naming the URL.
    const missing = await rig.context({ Dockerfile: `FROM scratch\nADD ${base}/missing.txt /m\n` });
    const r2 = await rig.cli(['build', '--progress', 'plain', missing]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/404|not found/i);
  });
});
