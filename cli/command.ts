/** What every subcommand module exports as `command`. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full `--help` text, with usage, options and examples. */
  readonly help: string;
  /** Runs the command; returns the exit code (0 ok, 1 failure, 2 usage error). Throws TsbuildError for failures. */
  run(args: readonly string[], io: Io): Promise<number>;
}
