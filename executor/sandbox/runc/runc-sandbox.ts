/**
 * The runc (or crun) backend: one `runc run` per RUN step, in the foreground, with a fresh bundle.
 *
 * Per run: a unique container id (`tsb-<16 hex>`), a bundle dir `<stateRoot>/bundles/<id>` holding config.json and
 * the generated resolv.conf/hosts (outside the rootfs, so they never land in a layer), runc state under
 * `<stateRoot>/runc`. The runtime is spawned with only fds 0-2 (Node marks every other fd close-on-exec), so no
 * host fd can leak into the container (CVE-2024-21626). Afterwards the bundle is removed, leftover runc state is
 * deleted (`runc delete -f`), and mount points the runtime had to create in the rootfs are removed again
 * without following symlinks (CVE-2024-23652).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rm, rmdir, unlink, utimes, writeFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TsbuildError } from '../../../util/errors.ts';
import { onExit } from '../../snapshot/on-exit.ts';
import { span } from '../../trace.ts';
import { missingPaths } from '../in-root.ts';
import { DEFAULT_HOSTNAME, type RunIo, type RunResult, type RunSpec, type Sandbox } from '../sandbox.ts';
import { buildRuncConfig, capabilitiesOf, DOCKER_CAPABILITIES, hostsFile, resolvConfFor, rlimitsFromProc, standardMounts, type Rlimit } from './config.ts';
import { dockerSeccomp, type OciSeccomp } from './seccomp.ts';

/** Options for `createRuncSandbox`. */
export interface RuncSandboxOptions {
  /** `runc` (default) or `crun`, looked up on PATH; or an absolute path to a compatible binary. */
  readonly runtime?: 'runc' | 'crun' | (string & {});
  /** Where bundles and runtime state live. Default `/run/tsbuild`. Keep it short: runc's socket paths are limited. */
  readonly stateRoot?: string;
}

const DEFAULT_STATE_ROOT = '/run/tsbuild';

let hostLimits: Promise<Rlimit[]> | undefined;
function readHostRlimits(): Promise<Rlimit[]> {
  hostLimits ??= readFile('/proc/self/limits', 'utf8').then(rlimitsFromProc, () => []);
  return hostLimits;
}

let seccompProfile: OciSeccomp | undefined;
/** Docker's default seccomp profile for this host's architecture and kernel (built once per process). */
function hostSeccomp(): OciSeccomp {
  seccompProfile ??= dockerSeccomp({ caps: DOCKER_CAPABILITIES, arch: process.arch, kernel: os.release() });
  return seccompProfile;
}

let ownCapabilities: Promise<string[]> | undefined;
/** The capabilities this process may hand to a privileged container: its bounding set (Docker: "all current"). */
function hostCapabilities(): Promise<string[]> {
  ownCapabilities ??= readFile('/proc/self/status', 'utf8').then(
    (t) => capabilitiesOf(BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)/m.exec(t)?.[1] ?? '0'}`)),
    () => [...DOCKER_CAPABILITIES],
  );
  return ownCapabilities;
}

async function readHostResolvConf(): Promise<string | undefined> {
  try {
    return await readFile('/etc/resolv.conf', 'utf8');
  } catch {
    return undefined;
  }
}

function findOnPath(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of (process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  // Root's sbin dirs are often missing from a user's PATH.
  for (const dir of ['/usr/sbin', '/sbin', '/usr/local/sbin']) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

interface Stub {
  /** Host path of the created entry. */
  readonly hostPath: string;
  /** Rootfs-relative path. */
  readonly rel: string;
}

interface StubPlan {
  readonly stubs: Stub[];
  /** Existing directories that will receive a stub, with their times before the run. */
  readonly parents: { hostPath: string; rel: string; atimeNs: bigint; mtimeNs: bigint }[];
}

/**
 * Records, before the run, which mount destinations do not exist in the rootfs (the runtime will create them) and
 * the times of the existing directories they will be created in.
 */
async function planStubs(rootfs: string, destinations: readonly string[]): Promise<StubPlan> {
  const seen = new Set<string>();
  const stubs: Stub[] = [];
  const parents: StubPlan['parents'] = [];
  const parentSeen = new Set<string>();
  for (const d of destinations) {
    const missing = await missingPaths(rootfs, d);
    const first = missing[0];
    if (first === undefined) continue;
    const parent = path.dirname(first);
    if (!parentSeen.has(parent)) {
      parentSeen.add(parent);
      try {
        const st = await lstat(parent, { bigint: true });
        if (st.isDirectory()) parents.push({ hostPath: parent, rel: path.relative(rootfs, parent), atimeNs: st.atimeNs, mtimeNs: st.mtimeNs });
      } catch {
        // A parent that does not exist is itself a stub of an earlier destination.
      }
    }
    for (const m of missing) {
      if (seen.has(m)) continue;
      seen.add(m);
      stubs.push({ hostPath: m, rel: path.relative(rootfs, m) });
    }
  }
  return { stubs, parents };
}

/** True when every component from `root` down to `p`'s parent is a real directory (no symlink swapped in). */
async function parentChainIsPlain(root: string, p: string): Promise<boolean> {
  const rel = path.relative(root, path.dirname(p));
  if (rel.startsWith('..')) return false;
  let cur = root;
  for (const c of rel.split('/').filter(Boolean)) {
    cur = path.join(cur, c);
    try {
      const st = await lstat(cur);
      if (!st.isDirectory()) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Removes the stubs the runtime created, deepest first: an empty directory or an empty regular file only, never
 * through or at a symlink (the process may have replaced a stub or a parent by a link to a host path). Then restores
 * the parents' times so a stub leaves no metadata trace either.
 */
async function removeStubs(rootfs: string, plan: StubPlan): Promise<{ removed: string[]; touched: string[] }> {
  const removed: string[] = [];
  const rootAbs = path.resolve(rootfs);
  for (const s of [...plan.stubs].reverse()) {
    if (!(await parentChainIsPlain(rootAbs, s.hostPath))) continue;
    let st;
    try {
      st = await lstat(s.hostPath);
    } catch {
      // Never created in the rootfs (it was inside another mount, e.g. /dev/pts in the /dev tmpfs).
      continue;
    }
    try {
      if (st.isDirectory()) {
        await rmdir(s.hostPath);
        removed.push(s.rel);
      } else if ((st.isFile() && st.size === 0) || st.isSocket()) {
        await unlink(s.hostPath);
        removed.push(s.rel);
      }
    } catch (e) {
      // ENOTEMPTY: the process put files there; it is content now, not a stub.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EBUSY') throw e;
    }
  }
  const touched: string[] = [];
  for (const p of plan.parents) {
    if (!removed.some((r) => path.dirname(path.join(rootAbs, r)) === p.hostPath)) continue;
    touched.push(p.rel);
    if (!(await parentChainIsPlain(rootAbs, path.join(p.hostPath, 'x')))) continue;
    try {
      const st = await lstat(p.hostPath);
      if (st.isDirectory()) await restoreTimes(p.hostPath, p.atimeNs, p.mtimeNs);
    } catch {
      // Removed by the process: nothing to restore.
    }
  }
  return { removed: removed.reverse(), touched };
}

function nsToTouch(ns: bigint): string {
  return `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * Sets a directory's times back to the recorded ones. Node's utimes goes through a double of seconds, so it can miss
 * by a fraction of a microsecond; that is within what layers keep (whole seconds in the tar header) and what the
 * unchanged-copy-up check compares (milliseconds), so only a bigger miss (a filesystem that rounds) pays for a spawn
 * of coreutils `touch` (`-h`: never through a symlink) to set the exact nanosecond. One spawn at most.
 */
async function restoreTimes(p: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
  await utimes(p, Number(atimeNs) / 1e9, Number(mtimeNs) / 1e9);
  const now = await lstat(p, { bigint: true });
  const miss = now.mtimeNs - mtimeNs;
  if (miss > -1000n && miss < 1000n) return;
  await new Promise<void>((resolve) => {
    const c = spawn('touch', ['-h', '-c', '-m', '-d', nsToTouch(mtimeNs), '--', p], { stdio: 'ignore' });
    c.on('error', () => resolve());
    c.on('close', () => resolve());
  });
}

/** Spawns the runtime for a short control command (`kill`, `delete`); resolves with its exit code. */
function control(bin: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { stdio: 'ignore' });
    p.on('error', () => resolve(-1));
    p.on('close', (code) => resolve(code ?? -1));
  });
}

function lastRuntimeError(logText: string): string | undefined {
  let msg: string | undefined;
  for (const line of logText.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const j = JSON.parse(line) as { level?: string; msg?: string };
      if ((j.level === 'error' || j.level === 'fatal') && typeof j.msg === 'string') msg = j.msg;
    } catch {
      // crun writes plain text lines; keep the last non-empty one.
      msg = line.trim();
    }
  }
  return msg;
}

/** Creates a sandbox backed by runc (default) or crun. Fails with `sandbox/runtime-missing` on first use if absent. */
export function createRuncSandbox(opts: RuncSandboxOptions = {}): Sandbox {
  const runtimeName = opts.runtime ?? 'runc';
  const stateRoot = path.resolve(opts.stateRoot ?? DEFAULT_STATE_ROOT);
  const runtimeRoot = path.join(stateRoot, runtimeName.includes('/') ? path.basename(runtimeName) : runtimeName);
  const bundleRoot = path.join(stateRoot, 'bundles');
  let bin: string | undefined;

  return {
    async run(spec: RunSpec, io: RunIo): Promise<RunResult> {
      bin ??= findOnPath(runtimeName);
      if (bin === undefined) {
        throw new TsbuildError('sandbox/runtime-missing', `container runtime "${runtimeName}" not found on PATH`, {
          suggestion: runtimeName === 'runc' ? 'install runc (apt-get install runc)' : `install ${runtimeName} or use runc`,
        });
      }
      if (io.signal?.aborted) throw abortError(io.signal);
      if (process.getuid?.() !== 0) {
        throw new TsbuildError('sandbox/not-root', 'running containers needs root (rootless mode is not supported yet)');
      }
      const id = `tsb-${randomBytes(8).toString('hex')}`;
      const bundle = path.join(bundleRoot, id);
      await mkdir(runtimeRoot, { recursive: true, mode: 0o700 });
      await mkdir(bundle, { recursive: true, mode: 0o700 });
      let plan: StubPlan = { stubs: [], parents: [] };
      let unregister: (() => void) | undefined;
      try {
        const hostname = spec.hostname ?? DEFAULT_HOSTNAME;
        const resolvPath = path.join(bundle, 'resolv.conf');
        const hostsPath = path.join(bundle, 'hosts');
        const logPath = path.join(bundle, 'runtime.log');
        await writeFile(resolvPath, resolvConfFor(await readHostResolvConf(), spec.network), { mode: 0o644 });
        await writeFile(hostsPath, hostsFile(hostname, spec.extraHosts ?? []), { mode: 0o644 });
        const facts = { resolvConf: resolvPath, hosts: hostsPath, rlimits: await readHostRlimits(), cgroupsPath: `/tsbuild/${id}`, seccomp: hostSeccomp(), privilegedCapabilities: await hostCapabilities() };
        const config = buildRuncConfig(spec, facts);
        await writeFile(path.join(bundle, 'config.json'), JSON.stringify(config));
        const destinations = [...standardMounts(facts, spec.privileged === true), ...spec.mounts].map((m) => m.destination);
        plan = await span('sandbox.plan-stubs', () => planStubs(spec.rootfs, destinations));

        const runtimeBin = bin;
        const killSync = (): void => {
          // Only used from process 'exit', where nothing async can run.
          spawnSync(runtimeBin, ['--root', runtimeRoot, 'kill', id, 'KILL'], { stdio: 'ignore' });
          spawnSync(runtimeBin, ['--root', runtimeRoot, 'delete', '-f', id], { stdio: 'ignore' });
        };
        let child: ReturnType<typeof spawn> | undefined;
        const kill = async (): Promise<void> => {
          // The container may not exist yet (runc still creating it): retry until runc run has gone.
          for (let i = 0; i < 200 && child !== undefined && child.exitCode === null && child.signalCode === null; i++) {
            if ((await control(runtimeBin, ['--root', runtimeRoot, 'kill', id, 'KILL'])) === 0) return;
            await new Promise((r) => setTimeout(r, 25));
          }
        };
        unregister = onExit(kill, killSync);

        const exit = await span('sandbox.runtime', () => new Promise<{ code: number | null; signal: NodeJS.Signals | null; aborted: boolean }>((resolve, reject) => {
          let aborted = false;
          const stdinMode = io.inheritStdio ? 'inherit' : io.stdinStream !== undefined || spec.stdin !== undefined ? 'pipe' : 'ignore';
          const outMode = io.inheritStdio ? 'inherit' : 'pipe';
          child = spawn(
            runtimeBin,
            ['--root', runtimeRoot, '--log', logPath, '--log-format', runtimeName === 'crun' ? 'text' : 'json', 'run', '--bundle', bundle, id],
            { stdio: [stdinMode, outMode, outMode], cwd: bundle },
          );
          const c = child;
          c.stdout?.on('data', (b: Buffer) => io.onStdout?.(b));
          c.stderr?.on('data', (b: Buffer) => io.onStderr?.(b));
          if (c.stdin) {
            // EPIPE when the process exits without reading its stdin is normal.
            c.stdin.on('error', () => undefined);
            if (io.stdinStream !== undefined) io.stdinStream.pipe(c.stdin);
            else c.stdin.end(spec.stdin === undefined ? undefined : Buffer.from(spec.stdin));
          }
          const onAbort = (): void => {
            aborted = true;
            void kill();
          };
          io.signal?.addEventListener('abort', onAbort, { once: true });
          c.on('error', (e) => {
            io.signal?.removeEventListener('abort', onAbort);
            reject(new TsbuildError('sandbox/spawn-failed', `cannot start ${runtimeBin}: ${e.message}`, { cause: e }));
          });
          c.on('close', (code, signal) => {
            io.signal?.removeEventListener('abort', onAbort);
            if (io.stdinStream !== undefined && c.stdin) io.stdinStream.unpipe(c.stdin);
            resolve({ code, signal, aborted });
          });
        }));

        // runc deletes the container when `run` returns normally; after a kill or a runtime crash, state may remain.
        if (exit.aborted || exit.signal !== null || existsSync(path.join(runtimeRoot, id))) {
          await control(runtimeBin, ['--root', runtimeRoot, 'delete', '-f', id]);
        }
        if (exit.aborted) throw abortError(io.signal);
        const code = exit.code ?? 128 + signalNumber(exit.signal);
        if (code !== 0) {
          const runtimeError = lastRuntimeError(await readFile(logPath, 'utf8').catch(() => ''));
          if (runtimeError !== undefined) {
            throw new TsbuildError('sandbox/start-failed', runtimeError, { suggestion: startFailureHint(runtimeError) });
          }
        }
        const { removed, touched } = await span('sandbox.remove-stubs', () => removeStubs(spec.rootfs, plan));
        plan = { stubs: [], parents: [] };
        return { exitCode: code, mountStubs: removed, stubParents: touched };
      } finally {
        unregister?.();
        if (plan.stubs.length > 0) await removeStubs(spec.rootfs, plan).catch(() => undefined);
        await span('sandbox.rm-bundle', () => rm(bundle, { recursive: true, force: true }));
      }
    },
  };
}

function abortError(signal: AbortSignal | undefined): TsbuildError {
  const reason: unknown = signal?.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new TsbuildError('sandbox/aborted', `container killed: ${why}`, { cause: reason });
}

function startFailureHint(msg: string): string | undefined {
  if (/executable file not found|no such file or directory/.test(msg)) return 'check the command exists in the image and is on PATH';
  if (/cgroups in hybrid mode|cgroup/.test(msg)) return 'this runtime cannot use the host cgroup setup; use runc';
  return undefined;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13, SIGABRT: 6, SIGSEGV: 11 };
function signalNumber(s: NodeJS.Signals | null): number {
  return s === null ? 0 : (SIGNALS[s] ?? 0);
}

/** Lists runtime containers left under `stateRoot` (for diagnostics and tests). */
export async function listRuntimeContainers(opts: RuncSandboxOptions = {}): Promise<string[]> {
  const runtimeName = opts.runtime ?? 'runc';
  const runtimeRoot = path.join(path.resolve(opts.stateRoot ?? DEFAULT_STATE_ROOT), runtimeName);
  try {
    return (await readdir(runtimeRoot)).filter((n) => n.startsWith('tsb-'));
  } catch {
    return [];
  }
}
