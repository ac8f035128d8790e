/**
 * RUN --mount preparation, exercised through real runc runs on an overlay of the busybox fixture.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { RunMount, StepId } from '../../../compiler/graph.ts';
import { stepId } from '../../../compiler/graph.ts';
import { cacheDirName, prepareRunMounts, type RunMountContext } from '../../../executor/run-mounts/index.ts';
import { acquireLock, tryAcquireLock } from '../../../executor/run-mounts/lock.ts';
import { createSandbox } from '../../../executor/sandbox/index.ts';
import { isMounted, mountOverlay, type MountedSnapshot } from '../../../executor/snapshot/index.ts';
import { assertCanRunContainers, busyboxRootfs } from '../../helpers/rootfs.ts';

const stateRoot = mkdtempSync(path.join(os.tmpdir(), 'tsb-mounts-state-'));
const sandbox = createSandbox({ stateRoot });
const scratch: string[] = [];
const mounts: MountedSnapshot[] = [];
let base: string;

function tmp(prefix: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
}

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

async function rootfs(): Promise<{ root: string; upper: string }> {
  const dir = tmp('tsb-mnt-root-');
  const m = await mountOverlay({ lowerDirs: [base], upperDir: `${dir}/u`, workDir: `${dir}/w`, target: `${dir}/m` });
  mounts.push(m);
  return { root: m.target, upper: `${dir}/u` };
}

/** Prepares `runMounts`, runs `script` as `uid`, cleans up; returns output and the upperdir. */
async function runWith(
  runMounts: RunMount[],
  ctx: RunMountContext,
  script: string,
  uid = 0,
): Promise<{ code: number; out: string; upper: string; root: string }> {
  const { root, upper } = await rootfs();
  const prepared = await prepareRunMounts(runMounts, ctx);
  let out = '';
  try {
    const r = await sandbox.run(
      {
        rootfs: root,
        argv: ['/bin/sh', '-c', script],
        env: prepared.env,
        cwd: '/',
        user: { uid, gid: uid, additionalGids: [] },
        mounts: prepared.mounts,
        network: 'none',
      },
      { onStdout: (b) => (out += b.toString()), onStderr: (b) => (out += b.toString()) },
    );
    return { code: r.exitCode, out, upper, root };
  } finally {
    await prepared.cleanup();
  }
}

function ctxFor(over: Partial<RunMountContext> = {}): RunMountContext {
  const context = tmp('tsb-mnt-ctx-');
  return { resolveFrom: () => context, cacheRoot: tmp('tsb-mnt-cache-'), scratchDir: tmp('tsb-mnt-scratch-'), ...over };
}

const cache = (over: Partial<Extract<RunMount, { type: 'cache' }>> = {}): RunMount => ({
  type: 'cache',
  target: '/cache',
  id: 'c1',
  sharing: 'shared',
  readonly: false,
  mode: 0o755,
  uid: 0,
  gid: 0,
  ...over,
});

describe('RUN --mount', () => {
  it('type=cache persists between runs under a hashed id, with mode/uid/gid, and leaves no trace in the layer', async () => {
    const ctx = ctxFor();
    const first = await runWith([cache({ uid: 1000, gid: 1000, mode: 0o750 })], ctx, 'echo one >> /cache/log; stat -c "%u:%g:%a" /cache');
    expect(first.out.trim()).toBe('1000:1000:750');
    const second = await runWith([cache()], ctx, 'cat /cache/log');
    expect(second.out).toBe('one\n');
    expect(readdirSync(ctx.cacheRoot)).toEqual([cacheDirName('c1')]);
    expect(existsSync(path.join(second.upper, 'cache'))).toBe(false);
  });

  it('a cache id like ../.. stays inside the cache root (CVE-2024-9675)', async () => {
    const outside = tmp('tsb-mnt-outside-');
    const ctx = ctxFor({ cacheRoot: path.join(outside, 'a', 'b') });
    writeFileSync(path.join(outside, 'host-file'), 'host');
    const r = await runWith([cache({ id: '../..' }), cache({ id: '/etc', target: '/c2' })], ctx, 'ls -A /cache /c2; touch /cache/written');
    expect(r.out).not.toContain('host-file');
    const entries = readdirSync(ctx.cacheRoot).sort();
    expect(entries).toEqual([cacheDirName('../..'), cacheDirName('/etc')].sort());
    expect(existsSync(path.join(ctx.cacheRoot, cacheDirName('../..'), 'written'))).toBe(true);
    expect(readdirSync(outside).sort()).toEqual(['a', 'host-file']);
  });

  it('sharing=locked serialises users; sharing=private gets a second instance while the first is held', async () => {
    const ctx = ctxFor();
    mkdirSync(ctx.cacheRoot, { recursive: true });
    const held = await prepareRunMounts([cache({ sharing: 'locked' })], ctx);
    let secondDone = false;
    const second = prepareRunMounts([cache({ sharing: 'locked' })], ctx).then((p) => {
      secondDone = true;
      return p;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(secondDone).toBe(false);
    // private: the base instance is held, so a new one is used.
    const priv = await prepareRunMounts([cache({ sharing: 'private' })], ctx);
    expect(priv.mounts[0]!.source).toBe(path.join(ctx.cacheRoot, `${cacheDirName('c1')}-1`));
    await priv.cleanup();
    await held.cleanup();
    const s = await second;
    expect(secondDone).toBe(true);
    expect(s.mounts[0]!.source).toBe(path.join(ctx.cacheRoot, cacheDirName('c1')));
    await s.cleanup();
  });

  it('a lock held by a dead process is broken', async () => {
    const d = tmp('tsb-mnt-lock-');
    mkdirSync(`${d}/x.lock`);
    writeFileSync(`${d}/x.lock/owner`, '999999999\n');
    const l = await tryAcquireLock(`${d}/x.lock`);
    expect(l).toBeDefined();
    expect(await tryAcquireLock(`${d}/x.lock`)).toBeUndefined();
    await l!.release();
    const again = await acquireLock(`${d}/x.lock`);
    await again.release();
  });

  it('type=bind is read-only by default, resolves the source inside its root, and rw writes are discarded', async () => {
    const ctx = ctxFor();
    const context = ctx.resolveFrom(undefined) as string;
    mkdirSync(`${context}/src`);
    writeFileSync(`${context}/src/file.txt`, 'ctx file');
    // An absolute symlink in the context must resolve inside the context, not on the host.
    symlinkSync('/src', `${context}/link`);
    const bind = (over: Partial<Extract<RunMount, { type: 'bind' }>>): RunMount => ({ type: 'bind', target: '/mnt', source: 'src', readwrite: false, ...over });
    const ro = await runWith([bind({ source: 'link' })], ctx, 'cat /mnt/file.txt; (echo x > /mnt/new) 2>/dev/null && echo WROTE || echo RO');
    expect(ro.out).toBe('ctx fileRO\n');
    const rw = await runWith([bind({ readwrite: true })], ctx, 'echo changed > /mnt/file.txt; echo x > /mnt/new && cat /mnt/file.txt');
    expect(rw.out).toBe('changed\n');
    expect(readFileSync(`${context}/src/file.txt`, 'utf8')).toBe('ctx file');
    expect(existsSync(`${context}/src/new`)).toBe(false);
    // The throwaway overlay is gone.
    expect(readdirSync(ctx.scratchDir!)).toEqual([]);
    await expect(prepareRunMounts([bind({ source: '../../../etc' })], ctx)).rejects.toMatchObject({ code: 'run-mounts/bind-source-missing' });
  });

  it('type=bind from another step uses that directory', async () => {
    const stage = tmp('tsb-mnt-stage-');
    writeFileSync(`${stage}/built`, 'artifact');
    const ctx = ctxFor({ resolveFrom: (from: StepId | undefined) => (from === stepId('s1') ? stage : '/nonexistent') });
    const r = await runWith([{ type: 'bind', target: '/from', source: '/', from: stepId('s1'), readwrite: false }], ctx, 'cat /from/built');
    expect(r.out).toBe('artifact');
  });

  it('type=tmpfs is a fresh tmpfs with the size limit', async () => {
    const r = await runWith([{ type: 'tmpfs', target: '/scratch', size: 1024 * 1024 }], ctxFor(), 'grep " /scratch " /proc/mounts');
    expect(r.out).toMatch(/^tmpfs \/scratch tmpfs rw,nosuid,nodev,.*size=1024k/);
    expect(existsSync(path.join(r.upper, 'scratch'))).toBe(false);
  });

  it('type=secret mounts the value at /run/secrets/<id> with mode/uid/gid and never writes it to the rootfs', async () => {
    const secretFile = path.join(tmp('tsb-mnt-secret-'), 's');
    writeFileSync(secretFile, 'top-secret-value');
    const ctx = ctxFor({ secrets: new Map([['tok', { file: secretFile }], ['envtok', { value: 'env-secret' }]]) });
    const r = await runWith(
      [
        { type: 'secret', id: 'tok', required: true, mode: 0o400, uid: 1000, gid: 1000 },
        { type: 'secret', id: 'envtok', env: 'API_TOKEN', required: true, mode: 0o400, uid: 0, gid: 0 },
        { type: 'secret', id: 'absent', required: false, mode: 0o400, uid: 0, gid: 0 },
      ],
      ctx,
      'cat /run/secrets/tok; echo; stat -c "%u:%g:%a" /run/secrets/tok; echo "$API_TOKEN"; ls /run/secrets',
      1000,
    );
    expect(r.out).toBe('top-secret-value\n1000:1000:400\nenv-secret\ntok\n');
    // Nothing of the secret in the layer; the stub dirs are gone too.
    expect(existsSync(path.join(r.upper, 'run'))).toBe(false);
    const all = JSON.stringify(readdirSync(r.upper, { recursive: true }));
    expect(all).not.toContain('tok');
    await expect(prepareRunMounts([{ type: 'secret', id: 'absent', required: true, mode: 0o400, uid: 0, gid: 0 }], ctx)).rejects.toMatchObject({
      code: 'run-mounts/secret-missing',
      message: 'secret absent not found',
    });
  });

  it('type=ssh forwards the agent socket and sets SSH_AUTH_SOCK', async () => {
    const d = tmp('tsb-mnt-ssh-');
    const agentPath = path.join(d, 'agent.sock');
    // A fake agent: answers every connection with a fixed greeting.
    const agent = net.createServer((c) => c.end('agent-hello\n'));
    await new Promise<void>((r) => agent.listen(agentPath, r));
    try {
      const ctx = ctxFor({ ssh: new Map([['default', agentPath]]) });
      const sshMount: RunMount = { type: 'ssh', id: 'default', target: '', required: true, mode: 0o600, uid: 1000, gid: 1000 };
      const r = await runWith([sshMount], ctx, 'echo "$SSH_AUTH_SOCK"; test -S "$SSH_AUTH_SOCK" && stat -c "%u:%a" "$SSH_AUTH_SOCK"', 1000);
      expect(r.out).toBe('/run/buildkit/ssh_agent.0\n1000:600\n');
      expect(existsSync(path.join(r.upper, 'run'))).toBe(false);
      // busybox nc cannot speak unix sockets, so the forwarding itself is checked from the host side of the proxy.
      const prepared = await prepareRunMounts([sshMount], ctx);
      try {
        const greeting = await new Promise<string>((resolve, reject) => {
          let got = '';
          const c = net.connect(prepared.mounts[0]!.source);
          c.on('data', (b) => (got += b.toString()));
          c.on('end', () => resolve(got));
          c.on('error', reject);
        });
        expect(greeting).toBe('agent-hello\n');
      } finally {
        await prepared.cleanup();
      }
      expect(readdirSync(ctx.scratchDir!)).toEqual([]);
      await expect(
        prepareRunMounts([{ type: 'ssh', id: 'other', target: '/s', required: true, mode: 0o600, uid: 0, gid: 0 }], ctx),
      ).rejects.toMatchObject({ code: 'run-mounts/ssh-missing' });
    } finally {
      agent.close();
    }
  });

  it('undoes earlier mounts when a later one fails', async () => {
    const ctx = ctxFor();
    const context = ctx.resolveFrom(undefined) as string;
    mkdirSync(`${context}/d`);
    await expect(
      prepareRunMounts(
        [
          { type: 'bind', target: '/a', source: 'd', readwrite: true },
          { type: 'secret', id: 'missing', required: true, mode: 0o400, uid: 0, gid: 0 },
        ],
        ctx,
      ),
    ).rejects.toMatchObject({ code: 'run-mounts/secret-missing' });
    expect(readdirSync(ctx.scratchDir!)).toEqual([]);
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mountinfo).not.toContain(ctx.scratchDir!);
    expect(statSync(context).isDirectory()).toBe(true);
    expect(await isMounted(ctx.scratchDir!)).toBe(false);
  });
});
