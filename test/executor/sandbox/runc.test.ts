/**
 * Real runc runs on an overlay of the busybox fixture. Needs root, runc and overlayfs: fails loudly otherwise.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync, symlinkSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSandbox, type RunSpec } from '../../../executor/sandbox/index.ts';
import { DOCKER_CAPABILITY_MASK, MASKED_PATHS } from '../../../executor/sandbox/runc/config.ts';
import { listRuntimeContainers } from '../../../executor/sandbox/runc/runc-sandbox.ts';
import { isMounted, mountOverlay, type MountedSnapshot } from '../../../executor/snapshot/index.ts';
import { assertCanRunContainers, busyboxRootfs } from '../../helpers/rootfs.ts';

const stateRoot = mkdtempSync(path.join(os.tmpdir(), 'tsb-runc-state-'));
const sandbox = createSandbox({ stateRoot });
let base: string;
const scratch: string[] = [];
const mounts: MountedSnapshot[] = [];

beforeAll(async () => {
  await assertCanRunContainers();
  base = await busyboxRootfs();
});

afterEach(async () => {
  for (const m of mounts.splice(0)) await m.unmount();
});

afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

/** A fresh writable rootfs: overlay of the fixture with an empty upper. */
async function rootfs(lower = base): Promise<{ root: string; upper: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsb-runc-'));
  scratch.push(dir);
  const m = await mountOverlay({ lowerDirs: [lower], upperDir: `${dir}/u`, workDir: `${dir}/w`, target: `${dir}/m` });
  mounts.push(m);
  return { root: m.target, upper: `${dir}/u` };
}

async function sh(script: string, over: Partial<RunSpec> = {}): Promise<{ code: number; out: string; err: string; upper: string }> {
  const { root, upper } = over.rootfs !== undefined ? { root: over.rootfs, upper: '' } : await rootfs();
  let out = '';
  let err = '';
  const r = await sandbox.run(
    {
      rootfs: root,
      argv: ['/bin/sh', '-c', script],
      env: [],
      cwd: '/',
      user: { uid: 0, gid: 0, additionalGids: [] },
      mounts: [],
      network: 'none',
      ...over,
    },
    { onStdout: (b) => (out += b.toString()), onStderr: (b) => (err += b.toString()) },
  );
  return { code: r.exitCode, out, err, upper };
}

describe('runc sandbox', () => {
  it('streams stdout/stderr and passes exit codes through', async () => {
    const r = await sh('echo hello; echo oops >&2; exit 42');
    expect(r).toMatchObject({ code: 42, out: 'hello\n', err: 'oops\n' });
    expect((await sh('true')).code).toBe(0);
    // The shell is the container's pid 1, which ignores signals it has no handler for: KILL from inside is a no-op.
    expect((await sh('kill -9 $$; echo survived')).out).toBe('survived\n');
  });

  it('applies env, cwd, user and additional groups', async () => {
    const r = await sh('echo "$FOO|$(pwd)|$(id -u):$(id -g)|$(id -G)"', {
      env: ['FOO=bar baz'],
      cwd: '/home/app',
      user: { uid: 1000, gid: 1000, additionalGids: [2000, 3000] },
    });
    expect(r.out.trim()).toBe('bar baz|/home/app|1000:1000|1000 2000 3000');
  });

  it('feeds stdin data and defaults PATH', async () => {
    const { root } = await rootfs();
    let out = '';
    await sandbox.run(
      { rootfs: root, argv: ['sh', '-c', 'cat; echo "$PATH"'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, mounts: [], network: 'none', stdin: 'from stdin\n' },
      { onStdout: (b) => (out += b.toString()) },
    );
    expect(out).toBe('from stdin\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
  });

  it('--network=none has only lo, and it is up', async () => {
    const r = await sh('ls /sys/class/net; ip -o link show lo');
    expect(r.out.split('\n')[0]).toBe('lo');
    expect(r.out.split('\n').filter((l) => /^[a-z]/.test(l) && !l.includes(':'))).toEqual(['lo']);
    expect(r.out).toMatch(/lo: <LOOPBACK,UP,LOWER_UP>/);
  });

  it('host network sees the host interfaces', async () => {
    const hostIfs = readdirSync('/sys/class/net').sort();
    expect(hostIfs.length).toBeGreaterThan(1);
    const r = await sh('ls /sys/class/net', { network: 'host' });
    expect(r.out.trim().split(/\s+/).sort()).toEqual(hostIfs);
  });

  it("grants exactly Docker's 14 capabilities; inheritable and ambient empty", async () => {
    const r = await sh('grep ^Cap /proc/self/status');
    const caps = Object.fromEntries(r.out.trim().split('\n').map((l) => l.split(/:\s+/) as [string, string]));
    expect(BigInt(`0x${caps['CapEff']}`)).toBe(DOCKER_CAPABILITY_MASK);
    expect(BigInt(`0x${caps['CapPrm']}`)).toBe(DOCKER_CAPABILITY_MASK);
    expect(BigInt(`0x${caps['CapBnd']}`)).toBe(DOCKER_CAPABILITY_MASK);
    expect(BigInt(`0x${caps['CapInh']}`)).toBe(0n);
    expect(BigInt(`0x${caps['CapAmb']}`)).toBe(0n);
  });

  it("applies Docker's seccomp profile: no new namespaces (unshare fails with EPERM), while fork and chroot work", async () => {
    const r = await sh('grep ^Seccomp: /proc/self/status; unshare -U true; echo "unshare=$?"; (true &); wait; chroot / true; echo "chroot=$?"');
    expect(r.out).toContain('Seccomp:\t2');
    expect(r.out).toContain('unshare=1');
    expect(r.err).toContain('Operation not permitted');
    expect(r.out).toContain('chroot=0');
  });

  it('masks /proc/keys & co (files read empty, dirs list empty) and makes /proc/sys read-only', async () => {
    // /proc/kcore is not built into every kernel: check the masked paths this host actually has.
    const files = MASKED_PATHS.filter((p) => existsSync(p) && statSync(p).isFile());
    const dirs = MASKED_PATHS.filter((p) => existsSync(p) && statSync(p).isDirectory());
    expect(files.length).toBeGreaterThan(0);
    const script = [
      ...files.map((f) => `echo "${f}:$(cat ${f} 2>&1 | wc -c)"`),
      ...dirs.map((d) => `echo "${d}:$(ls -A ${d} 2>&1 | wc -l)"`),
      'echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo WROTE || echo RO',
    ].join('; ');
    const r = await sh(script);
    for (const p of [...files, ...dirs]) expect(r.out).toContain(`${p}:0\n`);
    expect(r.out).toMatch(/RO\n$/);
  });

  it('cannot reach the host filesystem; /proc/1/root is the sandbox', async () => {
    const hostDir = mkdtempSync(path.join(os.tmpdir(), 'tsb-host-marker-'));
    scratch.push(hostDir);
    writeFileSync(path.join(hostDir, 'marker'), 'host secret');
    const r = await sh(`cat ${hostDir}/marker 2>&1; ls /proc/1/root/bin/busybox; cat /proc/1/cmdline | tr '\\0' ' '; echo; readlink /proc/1/root`);
    expect(r.out).not.toContain('host secret');
    expect(r.out).toContain('/proc/1/root/bin/busybox');
    expect(r.out).toContain('/bin/sh -c');
    expect(r.out.trim().endsWith('/')).toBe(true);
  });

  it('passes no fds beyond 0-2 (CVE-2024-21626)', async () => {
    // `; true` keeps sh from exec-ing ls in place of itself (ls's own directory fd would show up).
    const r = await sh('ls /proc/$$/fd; true');
    expect(r.out.trim().split(/\s+/).sort()).toEqual(['0', '1', '2']);
  });

  it('bind-mounts generated resolv.conf/hosts read-only and leaves no trace in the upperdir', async () => {
    const r = await sh('cat /etc/hosts; hostname; echo x >> /etc/hosts 2>/dev/null && echo WROTE || echo RO; test -e /etc/resolv.conf && echo RESOLV');
    expect(r.out).toContain('127.0.0.1\tlocalhost buildkitsandbox\n');
    expect(r.out).toContain('::1\tlocalhost ip6-localhost ip6-loopback\n');
    expect(r.out).toContain('buildkitsandbox\nRO\nRESOLV\n');
    // The fixture has neither file: the stubs must be gone, the /etc copy-up must keep the lower's times (to within
    // a microsecond: Node's utimes takes a double of seconds, and layers keep whole seconds).
    expect(existsSync(path.join(r.upper, 'etc/hosts'))).toBe(false);
    expect(existsSync(path.join(r.upper, 'etc/resolv.conf'))).toBe(false);
    if (existsSync(path.join(r.upper, 'etc'))) {
      expect(readdirSync(path.join(r.upper, 'etc'))).toEqual([]);
      const miss = statSync(path.join(r.upper, 'etc'), { bigint: true }).mtimeNs - statSync(path.join(base, 'etc'), { bigint: true }).mtimeNs;
      expect(miss > -1000n && miss < 1000n, `mtime off by ${miss} ns`).toBe(true);
    }
  });

  it('reports and removes the mount stubs it created, never following a symlink (CVE-2024-23652)', async () => {
    const { root } = await rootfs();
    const hostDir = mkdtempSync(path.join(os.tmpdir(), 'tsb-victim-'));
    scratch.push(hostDir);
    mkdirSync(path.join(hostDir, 'sub'));
    let res = await sandbox.run(
      {
        rootfs: root,
        // The process replaces the stub's parent with a symlink to a host path: cleanup must not rmdir through it.
        argv: ['/bin/sh', '-c', `true`],
        env: [],
        cwd: '/',
        user: { uid: 0, gid: 0, additionalGids: [] },
        mounts: [{ destination: '/newdir/sub', type: 'tmpfs', source: 'tmpfs', options: [] }],
        network: 'none',
      },
      {},
    );
    expect([...res.mountStubs].sort()).toEqual(['etc/hosts', 'etc/resolv.conf', 'newdir', 'newdir/sub']);
    expect(existsSync(path.join(root, 'newdir'))).toBe(false);
    // Now a stub whose parent the RUN turns into a link to the host dir.
    res = await sandbox.run(
      {
        rootfs: root,
        // A directory holding a mountpoint can be renamed; the stub path then resolves through the link.
        argv: ['/bin/sh', '-c', `mv /evil /evil2 && ln -s ${hostDir} /evil && ls -d /evil2/sub`],
        env: [],
        cwd: '/',
        user: { uid: 0, gid: 0, additionalGids: [] },
        mounts: [{ destination: '/evil/sub', type: 'tmpfs', source: 'tmpfs', options: [] }],
        network: 'none',
      },
      {},
    );
    expect(res.exitCode).toBe(0);
    expect(existsSync(path.join(hostDir, 'sub'))).toBe(true);
    expect(res.mountStubs).not.toContain('evil/sub');
    expect(res.mountStubs).not.toContain('evil');
  });

  it('abort kills the container and cleans up (no runc state, no bundle)', async () => {
    const { root } = await rootfs();
    const ac = new AbortController();
    let out = '';
    const started = Date.now();
    const p = sandbox.run(
      { rootfs: root, argv: ['/bin/sh', '-c', 'echo started; sleep 60'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, mounts: [], network: 'none' },
      {
        onStdout: (b) => {
          out += b.toString();
          if (out.includes('started')) ac.abort();
        },
        signal: ac.signal,
      },
    );
    await expect(p).rejects.toMatchObject({ code: 'sandbox/aborted' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await listRuntimeContainers({ stateRoot })).toEqual([]);
    expect(readdirSync(path.join(stateRoot, 'bundles'))).toEqual([]);
    const runcList = execFileSync('runc', ['--root', path.join(stateRoot, 'runc'), 'list', '-q']).toString().trim();
    expect(runcList).toBe('');
    // Nothing of the container remains mounted below the rootfs.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${root}/`);
    expect(await isMounted(root)).toBe(true);
  });

  it('an executable that does not exist is a sandbox/start-failed error', async () => {
    const { root } = await rootfs();
    await expect(
      sandbox.run({ rootfs: root, argv: ['/no/such/binary'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, mounts: [], network: 'none' }, {}),
    ).rejects.toMatchObject({ code: 'sandbox/start-failed', message: expect.stringContaining('/no/such/binary') });
    expect(readdirSync(path.join(stateRoot, 'bundles'))).toEqual([]);
  });

  it('runs concurrently with unique ids', async () => {
    const results = await Promise.all([1, 2, 3, 4].map((i) => sh(`echo ${i}; exit ${i}`)));
    expect(results.map((r) => r.code)).toEqual([1, 2, 3, 4]);
    expect(results.map((r) => r.out)).toEqual(['1\n', '2\n', '3\n', '4\n']);
  });

  it('crun is selectable (fails here with a clear start error when it cannot run)', async () => {
    const { root } = await rootfs();
    const crun = createSandbox({ runtime: 'crun', stateRoot });
    let out = '';
    try {
      const r = await crun.run(
        { rootfs: root, argv: ['/bin/sh', '-c', 'echo crun-ok'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, mounts: [], network: 'none' },
        { onStdout: (b) => (out += b.toString()) },
      );
      expect(r.exitCode).toBe(0);
      expect(out).toBe('crun-ok\n');
    } catch (e) {
      // On this machine crun cannot use the cgroup layout; the error must say so rather than hang or crash.
      expect(e).toMatchObject({ code: 'sandbox/start-failed' });
      expect((e as Error).message).toMatch(/cgroup/);
    }
    expect(readdirSync(path.join(stateRoot, 'bundles'))).toEqual([]);
  });

  it('resolves a symlinked mount destination inside the rootfs only', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsb-linkroot-'));
    scratch.push(dir);
    const lower = path.join(dir, 'lower');
    execFileSync('cp', ['-a', `${base}/.`, lower]);
    // An absolute symlink in the image must resolve in the rootfs, never on the host.
    symlinkSync('/tmp', path.join(lower, 'data'));
    const { root } = await rootfs(lower);
    const r = await sh('ls -d /tmp/inner && echo ok', { rootfs: root, mounts: [{ destination: '/data/inner', type: 'tmpfs', source: 'tmpfs', options: [] }] });
    expect(r.out).toContain('ok');
    expect(existsSync('/tmp/inner')).toBe(false);
  });
});
