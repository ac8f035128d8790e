import { execFile, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { copyFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { busyboxBinary, busyboxRootfsDir, debianRootfsTar, examplesCacheDir, preparedExample } from '../helpers/bases.ts';
import { repoRoot, requireRoot, tempDir } from '../helpers/env.ts';

const run = promisify(execFile);

/** True when an ELF file has a PT_INTERP program header (i.e. is dynamically linked). */
function hasInterpreter(file: string): boolean {
  const b = readFileSync(file);
  expect(b.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  expect(b[4]).toBe(2); // 64-bit
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return true;
  return false;
}

describe('busybox base (examples/busybox/prepare.sh)', () => {
  it('is a static busybox with an applet symlink per command and a minimal /etc', async () => {
    const dir = await busyboxRootfsDir();
    expect(dir).toBe(path.join(repoRoot, 'examples/busybox/rootfs'));
    const bin = await busyboxBinary();
    expect(bin).toBe(path.join(dir, 'bin/busybox'));
    expect(hasInterpreter(bin)).toBe(false);
    expect(hasInterpreter('/bin/ls')).toBe(true); // the check itself can tell the difference
    expect(readlinkSync(path.join(dir, 'bin/sh'))).toBe('busybox');
    const applets = execFileSync(bin, ['--list'], { encoding: 'utf8' }).trim().split('\n');
    expect(applets.length).toBeGreaterThan(100);
    for (const a of applets) if (a !== 'busybox') expect(lstatSync(path.join(dir, 'bin', a)).isSymbolicLink()).toBe(true);
    expect(execFileSync(path.join(dir, 'bin/sh'), ['-c', 'echo $((6*7))'], { encoding: 'utf8' })).toBe('42\n');
    expect(statSync(path.join(dir, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(statSync(path.join(dir, 'root')).mode & 0o7777).toBe(0o700);
    expect(readFileSync(path.join(dir, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:.*\nnobody:x:65534:65534:/);
    expect(readFileSync(path.join(dir, 'etc/group'), 'utf8')).toMatch(/^root:x:0:\nnobody:x:65534:/);
    // Nothing but the root file system goes into the build context's rootfs/.
    expect(readdirSync(dir).sort()).toEqual(['bin', 'etc', 'home', 'root', 'tmp', 'var']);
    // Reproducible context: every mtime is the busybox binary's.
    const mtime = statSync('/bin/busybox').mtimeMs;
    expect(lstatSync(path.join(dir, 'etc/passwd')).mtimeMs).toBe(mtime);
    expect(lstatSync(path.join(dir, 'bin/sh')).mtimeMs).toBe(mtime);
  });

  it('parallel prepare runs wait for one build and leave no temp files', async () => {
    const dir = await tempDir();
    await copyFile(path.join(repoRoot, 'examples/busybox/prepare.sh'), path.join(dir, 'prepare.sh'));
    const results = await Promise.all([1, 2, 3, 4].map(() => run(path.join(dir, 'prepare.sh'))));
    for (const r of results) expect(r.stdout.trim()).toBe(path.join(dir, 'rootfs'));
    expect((await readdir(dir)).sort()).toEqual(['.prepare.lock', '.rootfs.stamp', 'prepare.sh', 'rootfs']);
    expect(readdirSync(path.join(dir, 'rootfs/bin')).length).toBeGreaterThan(100);
    // A changed binary is noticed: a different stamp forces a rebuild.
    const before = statSync(path.join(dir, 'rootfs')).ino;
    await run(path.join(dir, 'prepare.sh'));
    expect(statSync(path.join(dir, 'rootfs')).ino).toBe(before);
    execFileSync('sh', ['-c', `echo stale > ${dir}/.rootfs.stamp`]);
    await run(path.join(dir, 'prepare.sh'));
    expect(statSync(path.join(dir, 'rootfs')).ino).not.toBe(before);
  });

  it('refuses a busybox that is not statically linked', async () => {
    const dir = await tempDir();
    await copyFile(path.join(repoRoot, 'examples/busybox/prepare.sh'), path.join(dir, 'prepare.sh'));
    // /bin/ls is dynamic and also not a busybox: either check must stop it, with a message and no rootfs.
    const err = await run(path.join(dir, 'prepare.sh'), [], { env: { ...process.env, TSBUILD_BUSYBOX: '/bin/ls' } }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/not a working busybox|dynamically linked/);
    expect(existsSync(path.join(dir, 'rootfs'))).toBe(false);
  });
});

describe('debian base (examples/debian/prepare.sh)', () => {
  let tar = '';
  let entries: string[] = [];
  beforeAll(async () => {
    requireRoot('building the Debian base with mmdebstrap', ['mmdebstrap']);
    tar = await debianRootfsTar();
    entries = (await run('tar', ['-tf', tar], { maxBuffer: 64 * 1024 * 1024 })).stdout.split('\n');
  });

  const member = (name: string): string => execFileSync('tar', ['-xOf', tar, name], { encoding: 'utf8' });

  it('is published in the examples cache with no temp files beside it', () => {
    expect(tar).toBe(path.join(examplesCacheDir(), 'debian-bookworm-minbase.tar'));
    expect(readdirSync(path.dirname(tar)).filter((f) => f.includes('.tmp.'))).toEqual([]);
  });

  it('is hard-linked (or, across file systems, copied) into the example context', async () => {
    const dir = await preparedExample('debian');
    expect(dir).toBe(path.join(repoRoot, 'examples/debian'));
    const inContext = statSync(path.join(dir, 'rootfs.tar'));
    const cached = statSync(tar);
    expect(inContext.size).toBe(cached.size);
    if (inContext.dev === cached.dev) expect(inContext.ino).toBe(cached.ino);
  });

  it('is a merged-/usr bookworm minbase without device nodes or perl', () => {
    expect(member('./etc/debian_version')).toMatch(/^12\./);
    expect(entries).toContain('./usr/bin/apt-get');
    expect(entries).toContain('./usr/bin/bash');
    expect(entries.filter((e) => e.startsWith('./dev/') && e !== './dev/')).toEqual([]);
    const bin = execFileSync('tar', ['-tvf', tar, './bin'], { encoding: 'utf8' });
    expect(bin).toMatch(/^l.*\.\/bin -> usr\/bin$/m);
    // usrmerge (which pulls in the full perl) must not be there: the merged-usr hook uses usr-is-merged.
    const packages = [...member('./var/lib/dpkg/status').matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]);
    expect(packages).toContain('usr-is-merged');
    expect(packages).not.toContain('usrmerge');
    expect(packages).not.toContain('perl');
    const size = statSync(tar).size;
    expect(size).toBeGreaterThan(60e6);
    expect(size).toBeLessThan(160e6);
  });

  it('lets apt reach Debian the way the host does', () => {
    const hostSources = '/etc/apt/sources.list.d/debian.sources';
    if (existsSync(hostSources)) {
      expect(member('./etc/apt/sources.list.d/0000debian.sources')).toBe(readFileSync(hostSources, 'utf8'));
    } else {
      expect(entries.some((e) => e.startsWith('./etc/apt/sources.list'))).toBe(true);
    }
    const hostRelaxes = readdirSync('/etc/apt/apt.conf.d').some((f) =>
      /^\s*Acquire::Check-Valid-Until/m.test(readFileSync(path.join('/etc/apt/apt.conf.d', f), 'utf8')),
    );
    if (hostRelaxes) expect(member('./etc/apt/apt.conf.d/99mmdebstrap')).toMatch(/Acquire::Check-Valid-Until "false"/);
  });

  it('is reused: a second call does not rebuild', async () => {
    const before = statSync(tar);
    await run(path.join(repoRoot, 'examples/debian/prepare.sh'), ['--cache-only']);
    const after = statSync(tar);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });
});
