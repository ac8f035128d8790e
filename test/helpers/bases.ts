/**
 * Base images for tests: the artifacts the examples' prepare scripts make (examples/busybox/prepare.sh,
 * examples/debian/prepare.sh), built once per machine and reused.
 *
 * The scripts are the single implementation: they lock (flock), build into a temp path and rename, so parallel
 * vitest workers calling these helpers at once wait for one build instead of racing. Within one worker the
 * result is memoised. The Debian base takes ~25 s the first time on a machine: call `debianRootfsTar()` from a
 * `beforeAll` hook (hookTimeout is 300 s), not from a test body (testTimeout is 60 s).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { testStoreRoot } from './cli.ts';
import { nodeBinary, repoRoot } from './env.ts';

const run = promisify(execFile);

/** The shared cache the prepare scripts use (TSBUILD_EXAMPLES_CACHE, default /var/cache/tsbuild-examples). */
export function examplesCacheDir(): string {
  return process.env.TSBUILD_EXAMPLES_CACHE ?? '/var/cache/tsbuild-examples';
}

/** The examples whose build context a prepare script generates. */
export type PreparedExample = 'busybox' | 'debian';

const memo = new Map<string, Promise<string>>();

function once(key: string, make: () => Promise<string>): Promise<string> {
  let p = memo.get(key);
  if (p === undefined) {
    p = make();
    // A failure is not cached: the next caller retries (and reports its own error).
    p.catch(() => memo.delete(key));
    memo.set(key, p);
  }
  return p;
}

async function runPrepare(example: PreparedExample, args: readonly string[]): Promise<string> {
  const script = path.join(repoRoot, 'examples', example, 'prepare.sh');
  try {
    const { stdout } = await run(script, [...args], { maxBuffer: 16 * 1024 * 1024, timeout: 280_000 });
    const printed = stdout.trim().split('\n').pop() ?? '';
    if (!printed || !existsSync(printed)) throw new Error(`printed "${printed}", which does not exist`);
    return printed;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`examples/${example}/prepare.sh failed: ${String(e)}\n${stderr}`);
  }
}

/**
 * Absolute path of a tar of a minbase Debian bookworm root file system (~120 MB, merged /usr, empty /dev, apt set
 * up to reach the same mirror as the host). Read-only: never modify or move it.
 */
export function debianRootfsTar(): Promise<string> {
  return once('debian-tar', () => runPrepare('debian', ['--cache-only']));
}

/**
 * Absolute path of a busybox root file system directory: /bin/busybox (static) with one symlink per applet in
 * /bin, /etc/passwd and /etc/group (root, nobody), /tmp and /var/tmp 1777, /root 0700. Read-only: copy it or use it
 * as an overlay lowerdir.
 */
export function busyboxRootfsDir(): Promise<string> {
  return once('busybox-rootfs', () => runPrepare('busybox', []));
}

/** Absolute path of a statically linked busybox binary (inside `busyboxRootfsDir()`). */
export async function busyboxBinary(): Promise<string> {
  return path.join(await busyboxRootfsDir(), 'bin/busybox');
}

/**
 * Prepares an example's build context (runs its prepare.sh) and returns the example directory, ready for
 * `tsbuild build -t NAME <dir>`.
 */
export async function preparedExample(example: PreparedExample): Promise<string> {
  if (example === 'debian') await once('debian-link', () => runPrepare('debian', []));
  else await busyboxRootfsDir();
  return path.join(repoRoot, 'examples', example);
}

/** The base images the examples provide, by their image names. */
export const baseImageTags: Readonly<Record<PreparedExample, string>> = {
  busybox: 'busybox:latest',
  debian: 'debian:bookworm',
};

/**
 * Makes sure a tsbuild store holds the base image built from examples/<base> (tagged `busybox:latest` or
 * `debian:bookworm`), building it with the CLI when it is missing, and returns the tag. The check and the build
 * run under one file lock beside the store, so parallel test files sharing the run's store build it once.
 * `storeRoot` defaults to the test run's scratch store (see test/setup/global.ts).
 */
export async function storeBaseImage(base: PreparedExample, storeRoot = testStoreRoot()): Promise<string> {
  if (storeRoot === undefined) throw new Error('storeBaseImage: no store (TSBUILD_ROOT or the vitest global setup)');
  const tag = baseImageTags[base];
  return once(`image:${storeRoot}:${base}`, async () => {
    const dir = await preparedExample(base);
    const lock = `${storeRoot.replace(/\/+$/, '')}.bases.lock`;
    const cli = path.join(repoRoot, 'dist/cli/main.js');
    const script = '"$0" "$1" inspect "$2" >/dev/null 2>&1 || "$0" "$1" build --progress plain -t "$2" "$3"';
    try {
      await run('flock', [lock, 'sh', '-c', script, nodeBinary, cli, tag, dir], {
        env: { ...process.env, TSBUILD_ROOT: storeRoot, NO_COLOR: '1' },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 280_000,
      });
    } catch (e) {
      const out = e as { stdout?: string; stderr?: string };
      throw new Error(`building ${tag} from examples/${base} failed: ${String(e)}\n${out.stdout ?? ''}\n${out.stderr ?? ''}`);
    }
    return tag;
  });
}
