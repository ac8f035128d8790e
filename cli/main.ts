import { commands } from './commands/index.ts';
import type { Io } from './command.ts';
import { TsbuildError, closest } from '../util/errors.ts';
import { renderError } from './render-error.ts';

/** Runs the CLI and returns the exit code; never throws. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(await topLevelHelp());
      return 0;
    }
    if (first === '--version') return await (await commands.version!()).run([], io);
    const load = commands[first];
    if (load) {
      const cmd = await load();
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(cmd.help);
        return 0;
      }
      return await cmd.run(rest, io);
    }
    // `build` is the default command: `tsbuild -t x .` and `tsbuild .`
    const build = commands.build;
    if (build && (first.startsWith('-') || !/^[a-z]+$/.test(first))) return await (await build()).run(argv, io);
    const hint = closest(first, Object.keys(commands));
    throw new TsbuildError('usage/unknown-command', `unknown command "${first}"`, {
      exitCode: 2,
      suggestion: hint ? `did you mean "tsbuild ${hint}"?` : `run "tsbuild --help" for the list of commands`,
    });
  } catch (e) {
    return renderError(e, io);
  }
}

async function topLevelHelp(): Promise<string> {
  const lines: string[] = [];
  for (const [name, load] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  return `Usage: tsbuild [build] [OPTIONS] CONTEXT
       tsbuild COMMAND [OPTIONS]

A Dockerfile compiler and build engine.

Commands:
${lines.join('\n')}

Run "tsbuild COMMAND --help" for more on a command.
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
