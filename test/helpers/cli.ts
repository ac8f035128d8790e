/**
 * Runs the built CLI (`dist/cli/main.js` under the project's Node 24) as a child process, the way a user runs
 * `./bin/tsbuild`, so tests cover argument parsing, rendering and exit codes end to end.
 *
 * `npm test` compiles dist/ before vitest starts; with `npm run test:unit` run `npm run build` first.
 * Unless the caller passes its own TSBUILD_ROOT, each call uses the test run's scratch store (see
 * test/setup/global.ts) so tests never touch the machine's real store.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { nodeBinary, repoRoot } from './env.ts';

/** What a CLI run produced. `code` is the exit status; a signal death is reported as 128 + signal number. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Working directory; default the repository root. */
  readonly cwd?: string;
  /** Extra environment, merged over the test process's own (set a key to undefined to remove it). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Bytes written to the CLI's stdin, then closed; default an immediately closed stdin. */
  readonly input?: string | Uint8Array;
  /** Kill the CLI (SIGKILL) after this many milliseconds and fail; default 120 000. */
  readonly timeoutMs?: number;
}

/** Absolute path of the compiled CLI entry point. (A function: env.ts re-exports this module, a cycle.) */
export function cliEntry(): string {
  return path.join(repoRoot, 'dist/cli/main.js');
}

/**
 * The store CLI tests use by default: TSBUILD_ROOT when the test process has it, else `<run dir>/store` from the
 * global setup, else undefined (the CLI's own default).
 */
export function testStoreRoot(): string | undefined {
  if (process.env.TSBUILD_ROOT !== undefined) return process.env.TSBUILD_ROOT;
  const runDir = process.env.TSBUILD_TEST_RUN_DIR;
  return runDir === undefined ? undefined : path.join(runDir, 'store');
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/** Runs `tsbuild ARGS…` and resolves with its exit code and output; rejects only when it cannot start or times out. */
export async function tsbuildCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const entry = cliEntry();
  if (!existsSync(entry)) {
    throw new Error(`${entry} does not exist: run "npm run build" first ("npm test" builds before testing)`);
  }
  if (!existsSync(nodeBinary)) throw new Error(`${nodeBinary} is missing: run ./scripts/setup.sh`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // The CLI must not decide on colours or TTY views from the test runner's terminal.
  env.NO_COLOR = '1';
  delete env.FORCE_COLOR;
  const store = testStoreRoot();
  if (store !== undefined) env.TSBUILD_ROOT = store;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return await new Promise<CliResult>((resolve, reject) => {
    const child = spawn(nodeBinary, [entry, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => errOut.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(errOut).toString('utf8');
      if (timedOut) {
        reject(new Error(`tsbuild ${args.join(' ')} timed out after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve({ code: code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0), stdout, stderr });
    });
    child.stdin.on('error', () => {
      // The CLI may exit without reading its input; that is its business, not a test failure.
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Fails with the CLI's full output when the exit code is not `expected`, so a failing test shows why. */
export function expectExit(result: CliResult, expected: number): void {
  if (result.code !== expected) {
    throw new Error(`expected exit ${expected}, got ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
}
