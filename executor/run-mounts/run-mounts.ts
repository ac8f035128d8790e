/**
 * RUN --mount preparation: turns the graph's `RunMount`s into OCI mounts for the sandbox, extra env entries, and a
 * cleanup that undoes everything (unmounts throwaway overlays, releases cache locks, deletes secret copies, closes
 * SSH agent proxies). Nothing here writes into the rootfs; the sandbox removes the mount points it had to create.
 *
 * - cache: a persistent directory `<cacheRoot>/<sha256(id)>` (the id is hashed, never path-joined: CVE-2024-9675),
 *   created atomically with mode/uid/gid (and seeded from `from`/`source` when given). `locked` holds an exclusive
 *   lock for the whole run; `private` takes the first free instance (`<hash>`, `<hash>-1`, ...); `shared` takes none.
 * - bind: `source` resolved inside the `from` directory (the build context by default) as if it were `/`; read-only
 *   unless `rw`, in which case writes land in a throwaway overlay (or copy) that is discarded afterwards.
 * - tmpfs: a fresh tmpfs (optionally size-limited).
 * - secret: the secret's bytes are written to a private 0700 temp dir (under /dev/shm when available, so they stay
 *   in memory) with the mount's mode/uid/gid and bind-mounted read-only at the target (default /run/secrets/<id>);
 *   with `env=` the value goes into an env var instead (and to a file too only if a target is also given).
 * - ssh: a proxy socket with the mount's mode/uid/gid forwards to the host agent socket, bind-mounted at the target
 *   (default /run/buildkit/ssh_agent.<n>); SSH_AUTH_SOCK points at it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { RunMount, StepId } from '../../compiler/graph.ts';
import { TsbuildError } from '../../util/errors.ts';
import type { OciMount } from '../sandbox/sandbox.ts';
import { resolveInRoot } from '../sandbox/in-root.ts';
import { mountOverlay, overlaySupported } from '../snapshot/overlay.ts';
import { acquireLock, tryAcquireLock, type Lock } from './lock.ts';

/** Where a secret's value comes from (`--secret id=x,src=file` / `env=VAR` / a literal for tests and APIs). */
export type SecretSource = { readonly file: string } | { readonly env: string } | { readonly value: string | Uint8Array };

/** Everything mount preparation needs from the caller. */
export interface RunMountContext {
  /** The directory a `from` names (a stage's rootfs, an image, a named context); `undefined` = the build context. */
  resolveFrom(from: StepId | undefined): string | Promise<string>;
  /** Persistent root of cache mounts (created if missing). */
  readonly cacheRoot: string;
  /** Secrets by id. */
  readonly secrets?: ReadonlyMap<string, SecretSource>;
  /** SSH agent sockets by id (`default` → usually $SSH_AUTH_SOCK). */
  readonly ssh?: ReadonlyMap<string, string>;
  /** Scratch space for throwaway overlays and proxy sockets. Default os.tmpdir(). */
  readonly scratchDir?: string;
  /** Aborts waiting for a `locked` cache. */
  readonly signal?: AbortSignal;
}

/** The result of preparing a RUN's mounts. Always call `cleanup` (also when the run failed). */
export interface PreparedMounts {
  /** To append to `RunSpec.mounts`, in the order the mounts were given. */
  readonly mounts: OciMount[];
  /** `K=V` entries to add to the process env (`env=` secrets, SSH_AUTH_SOCK). */
  readonly env: string[];
  cleanup(): Promise<void>;
}

/** `sha256(id)` in hex: the directory name of a cache id. Never path-join an id. */
export function cacheDirName(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function absTarget(t: string): string {
  return path.posix.resolve('/', t);
}

function cpContents(src: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('cp', ['-a', '--reflink=auto', '--no-target-directory', `${src}/.`, dest], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (c) => (c === 0 ? resolve() : reject(new TsbuildError('run-mounts/copy-failed', `copying ${src} failed: ${err.trim()}`))));
  });
}

function secretsDirBase(): string {
  // /dev/shm is a tmpfs on Linux: secret copies never reach a disk.
  return existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

async function secretBytes(id: string, src: SecretSource): Promise<Buffer> {
  if ('file' in src) {
    try {
      return await readFile(src.file);
    } catch (e) {
      throw new TsbuildError('run-mounts/secret-unreadable', `secret ${id}: cannot read ${src.file}: ${(e as Error).message}`);
    }
  }
  if ('env' in src) {
    const v = process.env[src.env];
    if (v === undefined) throw new TsbuildError('run-mounts/secret-missing', `secret ${id}: environment variable ${src.env} is not set`);
    return Buffer.from(v);
  }
  return Buffer.from(src.value);
}

/** Creates the cache directory for `name` atomically (build in a temp dir, then rename) if it does not exist. */
async function ensureCacheDir(
  cacheRoot: string,
  name: string,
  m: Extract<RunMount, { type: 'cache' }>,
  seed: (() => Promise<string | undefined>) | undefined,
): Promise<string> {
  const dir = path.join(cacheRoot, name);
  const st = await lstat(dir).catch(() => undefined);
  if (st?.isDirectory() === true) return dir;
  if (st !== undefined) throw new TsbuildError('run-mounts/cache-corrupt', `cache directory ${dir} is not a directory`);
  const tmp = path.join(cacheRoot, `.tmp-${name}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  try {
    const from = seed === undefined ? undefined : await seed();
    if (from !== undefined) await cpContents(from, tmp);
    await chmod(tmp, m.mode);
    await chown(tmp, m.uid, m.gid);
    try {
      await rename(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      // Another run created it first; theirs wins.
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

function sshProxy(agentSocket: string, listenPath: string, mode: number, uid: number, gid: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((client) => {
      const upstream = net.connect(agentSocket);
      client.pipe(upstream).pipe(client);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    });
    server.on('error', reject);
    server.listen(listenPath, () => {
      void (async () => {
        await chmod(listenPath, mode);
        await chown(listenPath, uid, gid);
        resolve(server);
      })().catch(reject);
    });
  });
}

/**
 * Prepares `mounts` for one RUN. On error everything prepared so far is undone before the error is thrown.
 * Throws TsbuildError `run-mounts/*` (missing required secret or ssh socket, bind source not found, ...).
 */
export async function prepareRunMounts(mounts: readonly RunMount[], ctx: RunMountContext): Promise<PreparedMounts> {
  const oci: OciMount[] = [];
  const env: string[] = [];
  const undo: (() => Promise<void>)[] = [];
  const scratch = ctx.scratchDir ?? os.tmpdir();
  let privateDir: string | undefined;
  const ownDir = async (): Promise<string> => {
    privateDir ??= await mkdtemp(path.join(scratch, 'tsb-mounts-'));
    return privateDir;
  };
  let sshIndex = 0;
  const cleanup = async (): Promise<void> => {
    let first: unknown;
    for (const u of undo.splice(0).reverse()) {
      try {
        await u();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  };
  try {
    for (const m of mounts) {
      switch (m.type) {
        case 'tmpfs': {
          const options = ['nosuid', 'nodev', 'mode=1777'];
          if (m.size !== undefined && m.size > 0) options.push(`size=${m.size}`);
          oci.push({ destination: absTarget(m.target), type: 'tmpfs', source: 'tmpfs', options });
          break;
        }
        case 'cache': {
          await mkdir(ctx.cacheRoot, { recursive: true, mode: 0o700 });
          const base = cacheDirName(m.id);
          const seed =
            m.from === undefined && m.source === undefined
              ? undefined
              : async (): Promise<string | undefined> => {
                  const root = await ctx.resolveFrom(m.from);
                  const src = await resolveInRoot(root, m.source ?? '/', { followFinal: true });
                  const st = await stat(src).catch(() => undefined);
                  return st?.isDirectory() === true ? src : undefined;
                };
          let dir: string;
          if (m.sharing === 'shared') {
            dir = await ensureCacheDir(ctx.cacheRoot, base, m, seed);
          } else if (m.sharing === 'locked') {
            dir = await ensureCacheDir(ctx.cacheRoot, base, m, seed);
            const lock = await acquireLock(`${dir}.lock`, ctx.signal);
            undo.push(() => lock.release());
          } else {
            let lock: Lock | undefined;
            let name = base;
            for (let i = 0; lock === undefined; i++) {
              name = i === 0 ? base : `${base}-${i}`;
              await ensureCacheDir(ctx.cacheRoot, name, m, seed);
              lock = await tryAcquireLock(path.join(ctx.cacheRoot, `${name}.lock`));
            }
            const held = lock;
            undo.push(() => held.release());
            dir = path.join(ctx.cacheRoot, name);
          }
          const options = ['rbind', m.readonly ? 'ro' : 'rw'];
          oci.push({ destination: absTarget(m.target), type: 'bind', source: dir, options });
          break;
        }
        case 'bind': {
          const root = await ctx.resolveFrom(m.from);
          const src = await resolveInRoot(root, m.source, { followFinal: true });
          const st = await stat(src).catch(() => undefined);
          if (st === undefined) {
            throw new TsbuildError('run-mounts/bind-source-missing', `failed to compute cache key: "${absTarget(m.source)}" not found`);
          }
          let source = src;
          if (m.readwrite) {
            const work = await mkdtemp(path.join(await ownDir(), 'rw-'));
            undo.push(() => rm(work, { recursive: true, force: true }));
            if (st.isDirectory() && (await overlaySupported())) {
              const ov = await mountOverlay({ lowerDirs: [src], upperDir: path.join(work, 'u'), workDir: path.join(work, 'w'), target: path.join(work, 'm') });
              undo.push(() => ov.unmount());
              source = ov.target;
            } else if (st.isDirectory()) {
              await mkdir(path.join(work, 'm'));
              await cpContents(src, path.join(work, 'm'));
              source = path.join(work, 'm');
            } else {
              source = path.join(work, 'file');
              await writeFile(source, await readFile(src), { mode: st.mode & 0o7777 });
            }
          }
          oci.push({ destination: absTarget(m.target), type: 'bind', source, options: ['rbind', m.readwrite ? 'rw' : 'ro'] });
          break;
        }
        case 'secret': {
          const src = ctx.secrets?.get(m.id);
          if (src === undefined) {
            if (m.required) throw new TsbuildError('run-mounts/secret-missing', `secret ${m.id} not found`, { suggestion: `pass --secret id=${m.id},src=<file>` });
            break;
          }
          const bytes = await secretBytes(m.id, src);
          if (m.env !== undefined && m.env !== '') env.push(`${m.env}=${bytes.toString('utf8')}`);
          if (m.env === undefined || m.env === '' || m.target !== undefined) {
            const dir = await mkdtemp(path.join(secretsDirBase(), 'tsb-secret-'));
            undo.push(() => rm(dir, { recursive: true, force: true }));
            await chmod(dir, 0o700);
            const file = path.join(dir, 'secret');
            await writeFile(file, bytes, { mode: 0o600 });
            await chown(file, m.uid, m.gid);
            await chmod(file, m.mode);
            const target = m.target !== undefined && m.target !== '' ? absTarget(m.target) : `/run/secrets/${m.id}`;
            oci.push({ destination: target, type: 'bind', source: file, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
          }
          break;
        }
        case 'ssh': {
          const agent = ctx.ssh?.get(m.id);
          const idx = sshIndex++;
          if (agent === undefined) {
            if (m.required) {
              throw new TsbuildError('run-mounts/ssh-missing', `no SSH key ${JSON.stringify(m.id)} forwarded from the client`, { suggestion: `pass --ssh ${m.id}` });
            }
            break;
          }
          const dir = await mkdtemp(path.join(await ownDir(), 'ssh-'));
          await chmod(dir, 0o711);
          const sock = path.join(dir, 'agent.sock');
          const server = await sshProxy(agent, sock, m.mode, m.uid, m.gid);
          undo.push(() => new Promise<void>((r) => server.close(() => r())));
          const target = m.target !== '' ? absTarget(m.target) : `/run/buildkit/ssh_agent.${idx}`;
          oci.push({ destination: target, type: 'bind', source: sock, options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec'] });
          if (idx === 0) env.push(`SSH_AUTH_SOCK=${target}`);
          break;
        }
        default: {
          const never: never = m;
          throw new Error(`unknown mount ${JSON.stringify(never)}`);
        }
      }
    }
  } catch (e) {
    if (privateDir !== undefined) {
      const d = privateDir;
      undo.unshift(() => rm(d, { recursive: true, force: true }));
    }
    await cleanup().catch(() => undefined);
    throw e;
  }
  if (privateDir !== undefined) {
    const d = privateDir;
    // First in the list = last to run: after overlays are unmounted and sockets closed.
    undo.unshift(() => rm(d, { recursive: true, force: true }));
  }
  return { mounts: oci, env, cleanup };
}
