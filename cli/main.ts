// First: enables the compile cache before the commands' modules load.
import './compile-cache.ts';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { commands, summaries } from './commands/index.ts';
import type { Io } from './command.ts';
import { TsbuildError, closest } from '../util/errors.ts';
import { renderError } from './render-error.ts';

/**
 * Runs the CLI and returns the exit code; never throws. Exit codes: 0 ok, 1 the command failed (a build, a lint
 * check), 2 usage error, 130 interrupted (SIGINT/SIGTERM during a build).
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h') {
      io.stdout.write(await topLevelHelp());
      return 0;
    }
    if (first === 'help') {
      // `tsbuild help build` as `tsbuild build --help`.
      const name = rest[0];
      if (name === undefined) {
        io.stdout.write(await topLevelHelp());
        return 0;
      }
      const load = commands[name] ?? unknownCommand(name);
      io.stdout.write((await load()).help);
      return 0;
    }
    if (first === '--version' || first === '-v') return await (await commands.version!()).run([], io);
    const load = commands[first];
    if (load) {
      const cmd = await load();
      if (wantsHelp(rest)) {
        io.stdout.write(cmd.help);
        return 0;
      }
      return await cmd.run(rest, io);
    }
    // `build` is the default command: `tsbuild -t x .`, `tsbuild .`, `tsbuild ctx.tar`, `tsbuild -`, and
    // `tsbuild mydir` when mydir exists (a word that is neither a command nor a path gets a did-you-mean).
    const build = commands.build;
    if (build && (first.startsWith('-') || !/^[a-z]+$/.test(first) || exists(resolve(io.cwd, first)))) {
      const cmd = await build();
      if (wantsHelp(argv)) {
        io.stdout.write(cmd.help);
        return 0;
      }
      return await cmd.run(argv, io);
    }
    return unknownCommand(first);
  } catch (e) {
    return renderError(e, io);
  }
}

function unknownCommand(name: string): never {
  const hint = closest(name, Object.keys(commands));
  throw new TsbuildError('usage/unknown-command', `unknown command "${name}"`, {
    exitCode: 2,
    suggestion: hint ? `did you mean "tsbuild ${hint}"?` : `run "tsbuild --help" for the list of commands`,
  });
}

/** `--help`/`-h` among the command's own options (not after `--`, where they belong to a container command). */
function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The command list, from `summaries` where it has the command so that no command module is imported. */
export async function topLevelHelp(): Promise<string> {
  const lines: string[] = [];
  const names = Object.keys(commands).sort((a, b) => (a === 'build' ? -1 : b === 'build' ? 1 : a.localeCompare(b)));
  for (const name of names) {
    const summary = summaries[name] ?? (await commands[name]!()).summary;
    lines.push(`  ${name.padEnd(10)} ${summary}`);
  }
  return `Usage: tsbuild [build] [OPTIONS] CONTEXT
       tsbuild COMMAND [OPTIONS]

A Dockerfile compiler and build engine. "build" is the default command.

Commands:
${lines.join('\n')}

Exit codes: 0 success, 1 the build (or lint check) failed, 2 usage error, 130 interrupted.

Examples:
  tsbuild -t myimage .                  build ./Dockerfile with context . and tag it
  tsbuild build -f - . < Dockerfile     Dockerfile from stdin
  tsbuild run --rm myimage              run the image
  tsbuild COMMAND --help                more on a command
`;
}

const isEntry = process.argv[1] !== undefined && import.meta.url.endsWith('/cli/main.js');
if (isEntry) {
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  });
  process.exitCode = code;
}
