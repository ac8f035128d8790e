/**
 * The container runtime behind `tsbuild run`: an overlay of the image's layers with a fresh upperdir, the image
 * config applied with Docker's rules, one process in the foreground, its exit code passed through.
 *
 * State lives in `<stateDir>/<id>/` (`upper/`, `work/`, `rootfs/` mountpoint, `state.json`), so detached
 * containers, `ps`, `exec` and port mapping can be added later on the same layout. With `rm` the directory is
 * removed when the process exits; otherwise the upperdir and an `exited` state.json are kept.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerConfig } from '../../compiler/graph.ts';
import { TsbuildError } from '../../util/errors.ts';
import { createSandbox } from '../sandbox/index.ts';
import type { OciMount, RunIo, Sandbox } from '../sandbox/sandbox.ts';
import { prepareSnapshot, type Snapshot } from '../snapshot/index.ts';
import { resolveUser } from '../users.ts';

/** A host directory or file mounted into the container (`-v host:target[:ro]`). */
export interface VolumeSpec {
  /** Absolute host path; must exist. */
  readonly host: string;
  /** Absolute path in the container. */
  readonly target: string;
  readonly readonly: boolean;
}

/** Options of `runContainer`. */
export interface RunContainerOptions {
  /** Snapshot directories of the image's layers, base first (as in the image manifest). */
  readonly layers: readonly string[];
  readonly config: ContainerConfig;
  /** Replaces the image's Cmd (`tsbuild run IMAGE cmd...`). */
  readonly cmd?: readonly string[];
  /** Replaces the image's Entrypoint (`--entrypoint`); also clears the image's Cmd, as Docker does. */
  readonly entrypoint?: readonly string[];
  /** `K=V` entries overriding/adding to the image's Env. */
  readonly env?: readonly string[];
  /** Replaces the image's User (`-u`). */
  readonly user?: string;
  /** Replaces the image's WorkingDir (`-w`). */
  readonly workdir?: string;
  readonly volumes?: readonly VolumeSpec[];
  readonly network: 'host' | 'none';
  /** Container name (recorded in state.json); the id is always generated. */
  readonly name?: string;
  /** Allocate a terminal and hand the real terminal to the runtime (`-it`). */
  readonly tty: boolean;
  /** Keep stdin open (`-i`); without it the process reads /dev/null. Implied by `tty`. */
  readonly interactive?: boolean;
  /** Root of per-container state dirs. */
  readonly stateDir: string;
  /** Remove the container's state (including its upperdir) after it exits (`--rm`). */
  readonly rm: boolean;
  /** Streams for non-tty mode; default this process's. */
  readonly stdio?: {
    readonly stdin?: NodeJS.ReadableStream;
    readonly stdout?: NodeJS.WritableStream;
    readonly stderr?: NodeJS.WritableStream;
  };
  /** Stops the container (SIGKILL). */
  readonly signal?: AbortSignal;
  /** Sandbox to use; default `createSandbox()` (runc, state under /run/tsbuild). */
  readonly sandbox?: Sandbox;
  /** Force the copy-based snapshot (hosts without overlayfs). */
  readonly forceCopy?: boolean;
}

/** What `state.json` records. */
export interface ContainerState {
  readonly id: string;
  readonly name?: string;
  readonly status: 'created' | 'running' | 'exited';
  readonly argv: readonly string[];
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly exitCode?: number;
}

/**
 * The process argv by Docker's rules: Entrypoint + Cmd, where `--entrypoint` replaces Entrypoint and drops the
 * image's Cmd, and a command given on the command line replaces Cmd. Throws `run/no-command` when empty.
 */
export function containerArgv(config: ContainerConfig, entrypoint?: readonly string[], cmd?: readonly string[]): string[] {
  const ep = entrypoint ?? config.Entrypoint ?? [];
  const c = cmd !== undefined && cmd.length > 0 ? cmd : entrypoint !== undefined ? [] : (config.Cmd ?? []);
  const argv = [...ep, ...c];
  if (argv.length === 0) throw new TsbuildError('run/no-command', 'no command specified', { suggestion: 'give a command after the image name' });
  return argv;
}

/** Merges env lists: later `K=V` entries replace earlier ones with the same key, order of first appearance kept. */
export function mergeEnv(...lists: readonly (readonly string[] | undefined)[]): string[] {
  const map = new Map<string, string>();
  for (const list of lists) {
    for (const e of list ?? []) {
      const eq = e.indexOf('=');
      const key = eq < 0 ? e : e.slice(0, eq);
      map.set(key, e);
    }
  }
  return [...map.values()];
}

async function writeState(dir: string, state: ContainerState): Promise<void> {
  const tmp = path.join(dir, `.state.json.${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(JSON.stringify(state, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path.join(dir, 'state.json'));
}

/** Runs a container in the foreground and resolves with its exit code (128+N when killed by signal N). */
export async function runContainer(opts: RunContainerOptions): Promise<number> {
  const argv = containerArgv(opts.config, opts.entrypoint, opts.cmd);
  const id = randomBytes(32).toString('hex');
  const dir = path.join(path.resolve(opts.stateDir), id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const createdAt = new Date().toISOString();
  const base: ContainerState = { id, ...(opts.name !== undefined ? { name: opts.name } : {}), status: 'created', argv, createdAt };
  let snapshot: Snapshot | undefined;
  let exitCode: number | undefined;
  try {
    await writeState(dir, base);
    snapshot = await prepareSnapshot({
      lowerDirs: [...opts.layers].reverse(),
      upperDir: path.join(dir, 'upper'),
      workDir: path.join(dir, 'work'),
      target: path.join(dir, 'rootfs'),
      ...(opts.forceCopy === true ? { forceCopy: true } : {}),
    });
    const rootfs = snapshot.target;
    const user = await resolveUser(rootfs, opts.user ?? opts.config.User ?? '');
    const hostname = id.slice(0, 12);
    const env = mergeEnv(
      opts.config.Env,
      opts.env,
      // Docker sets these unless the image or the user did.
      [`HOSTNAME=${hostname}`].filter(() => !hasKey(opts.config.Env, 'HOSTNAME') && !hasKey(opts.env, 'HOSTNAME')),
      [`HOME=${user.home !== undefined && user.home !== '' ? user.home : '/'}`].filter(() => !hasKey(opts.config.Env, 'HOME') && !hasKey(opts.env, 'HOME')),
      opts.tty ? ['TERM=xterm'].filter(() => !hasKey(opts.config.Env, 'TERM') && !hasKey(opts.env, 'TERM')) : [],
    );
    const wd = opts.workdir ?? opts.config.WorkingDir;
    const cwd = wd !== undefined && wd !== '' ? path.posix.resolve('/', wd) : '/';
    const mounts: OciMount[] = (opts.volumes ?? []).map((v) => ({
      destination: path.posix.resolve('/', v.target),
      type: 'bind',
      source: path.resolve(v.host),
      options: ['rbind', v.readonly ? 'ro' : 'rw'],
    }));
    const sandbox = opts.sandbox ?? createSandbox();
    const out = opts.stdio?.stdout ?? process.stdout;
    const errOut = opts.stdio?.stderr ?? process.stderr;
    const io: RunIo = {
      ...(opts.tty ? { inheritStdio: true } : {}),
      onStdout: (b) => out.write(b),
      onStderr: (b) => errOut.write(b),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(!opts.tty && opts.interactive === true ? { stdinStream: opts.stdio?.stdin ?? process.stdin } : {}),
    };
    await writeState(dir, { ...base, status: 'running' });
    const r = await sandbox.run(
      { rootfs, argv, env, cwd, user, mounts, network: opts.network, hostname, tty: opts.tty },
      io,
    );
    exitCode = r.exitCode;
    return r.exitCode;
  } finally {
    await snapshot?.release();
    if (opts.rm) {
      await rm(dir, { recursive: true, force: true });
    } else {
      await writeState(dir, {
        ...base,
        status: 'exited',
        finishedAt: new Date().toISOString(),
        ...(exitCode !== undefined ? { exitCode } : {}),
      }).catch(() => undefined);
    }
  }
}

function hasKey(list: readonly string[] | undefined, key: string): boolean {
  return (list ?? []).some((e) => e === key || e.startsWith(`${key}=`));
}
