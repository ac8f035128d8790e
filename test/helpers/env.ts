/**
 * Where tests run: the repository and shared-data paths, environment requirements that fail loudly, and scratch
 * directories that are always cleaned up (and never deleted through a mount point).
 *
 * Tests that need root, runc or overlayfs call `requireRoot()` first: it throws, failing the test with a message
 * saying what is missing, because a suite that silently skips its integration tests proves nothing.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

/** Absolute path of the repository checkout (the directory holding package.json). */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Absolute path of the shared data directory beside the checkout (`<repo>/../shared`); read it in place. */
export const sharedDir: string = path.resolve(repoRoot, '../shared');

/** The project's own Node (>= 24, a devDependency); the machine's `node` may be too old for dist/. */
export const nodeBinary: string = path.join(repoRoot, 'node_modules/node/bin/node');

/** Which binary provides a command on PATH, or undefined. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when the process runs as uid 0. */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Throws (failing the calling test) unless the process is root and runc and overlayfs are usable.
 * `what` names the test's need in the message, e.g. `requireRoot('RUN in a runc sandbox')`.
 * `tools` lists further commands that must be on PATH (`['mmdebstrap']`).
 */
export function requireRoot(what = 'this test', tools: readonly string[] = []): void {
  const problems: string[] = [];
  if (!isRoot()) problems.push(`it must run as root (uid is ${process.getuid?.() ?? 'unknown'})`);
  for (const tool of ['runc', ...tools]) if (!which(tool)) problems.push(`\`${tool}\` is not on PATH`);
  if (!readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.trim().endsWith('overlay'))) {
    problems.push('overlayfs is not available (modprobe overlay)');
  }
  if (problems.length > 0) {
    throw new Error(
      `${what} needs a root machine with runc and overlayfs, but ${problems.join('; ')}. ` +
        'Run the suite as root after ./scripts/setup.sh; these tests fail rather than skip on purpose.',
    );
  }
}

/** A scratch directory; `cleanup()` unmounts anything left mounted inside it, then removes it. Idempotent. */
export interface TempDir {
  /** Absolute path of the directory (under os.tmpdir()). */
  readonly path: string;
  cleanup(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a scratch directory under os.tmpdir(); the caller cleans it up (or uses `await using`). */
export async function makeTempDir(prefix = 'tsbuild-test-'): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  let done = false;
  const cleanup = async (): Promise<void> => {
    if (done) return;
    done = true;
    await removeTree(dir);
  };
  return { path: dir, cleanup, [Symbol.asyncDispose]: cleanup };
}

/**
 * A scratch directory that is removed when the current test finishes (pass or fail).
 * Call it inside a test body; use `makeTempDir()` in `beforeAll` hooks.
 */
export async function tempDir(prefix = 'tsbuild-test-'): Promise<string> {
  const dir = await makeTempDir(prefix);
  onTestFinished(() => dir.cleanup());
  return dir.path;
}

/** Mount points at or below `dir`, deepest first, read from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  const root = path.resolve(dir);
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const line of info.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    // mountinfo escapes space, tab, newline and backslash as octal.
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mountPoint === root || mountPoint.startsWith(root + '/')) found.push(mountPoint);
  }
  return found.sort((a, b) => b.length - a.length);
}

/**
 * Removes a directory tree. A recursive delete would descend into anything still mounted inside it (a bind mount
 * of a host directory, an overlay over a base image) and delete the mount's source, so mounts are detached first
 * and the removal is refused if one cannot be.
 */
export async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const mountPoint of mountsUnder(dir)) {
    try {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`cannot remove ${dir}: ${mountPoint} is still mounted and umount failed: ${String(e)}`);
    }
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`cannot remove ${dir}: still mounted: ${left.join(', ')}`);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

export { tsbuildCli, type CliResult, type CliOptions } from './cli.ts';
