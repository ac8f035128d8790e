/** An in-memory `Io` for running `main()` in-process: what the CLI wrote, and a fixed cwd/env. */
import { PassThrough, Writable } from 'node:stream';
import type { Io } from '../../cli/command.ts';

export interface FakeIo extends Io {
  /** Everything written to stdout so far. */
  out(): string;
  /** Everything written to stderr so far. */
  err(): string;
}

export function fakeIo(opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string } = {}): FakeIo {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? '');
  return {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    stdin,
    env: { NO_COLOR: '1', ...(opts.env ?? {}) },
    cwd: opts.cwd ?? process.cwd(),
    out: () => out,
    err: () => err,
  };
}
