import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command, Io } from '../command.ts';
import { parseArgs, str } from '../args.ts';
import { TsbuildError } from '../../util/errors.ts';
import { formatDiagnostic } from '../render-error.ts';
import { dumpBuildkit, parseTolerant, toJson } from '../../grammar/index.ts';

async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export const command: Command = {
  name: 'parse',
  summary: 'Parse a Dockerfile and print its syntax tree',
  help: `Usage: tsbuild parse [OPTIONS] [CONTEXT]

Parse a Dockerfile exactly as BuildKit's frontend does and print the result.
Errors are printed as FILE:LINE:COL with the offending line; the exit code is 1.

Options:
  -f, --file FILE       Dockerfile to read (default: CONTEXT/Dockerfile; "-" reads stdin)
      --format FORMAT   json (the typed AST, default) or buildkit (BuildKit's Node.Dump notation)

Examples:
  tsbuild parse .
  tsbuild parse -f build/Dockerfile --format buildkit
  cat Dockerfile | tsbuild parse -f - --format json
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('parse', args, [
      { name: 'file', short: 'f', type: 'string' },
      { name: 'format', type: 'string' },
    ]);
    const format = str(values.format) ?? 'json';
    if (format !== 'json' && format !== 'buildkit') {
      throw new TsbuildError('usage/bad-format', `unknown --format "${format}"`, { exitCode: 2, suggestion: 'use --format json or --format buildkit' });
    }
    if (positionals.length > 1) {
      throw new TsbuildError('usage/too-many-args', `"tsbuild parse" takes at most one CONTEXT, got ${positionals.length}`, { exitCode: 2 });
    }
    const context = path.resolve(io.cwd, positionals[0] ?? '.');
    const fileArg = str(values.file);
    let display: string;
    let text: string;
    if (fileArg === '-') {
      display = '<stdin>';
      text = await readStdin(io);
    } else {
      const file = fileArg !== undefined ? path.resolve(io.cwd, fileArg) : path.join(context, 'Dockerfile');
      display = fileArg ?? (path.relative(io.cwd, file) || 'Dockerfile');
      try {
        if (statSync(file).isDirectory()) throw new TsbuildError('parse/not-a-file', `${display} is a directory, not a Dockerfile`);
        text = readFileSync(file, 'utf8');
      } catch (e) {
        if (e instanceof TsbuildError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        throw new TsbuildError('parse/read-failed', `cannot read ${display}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, {
          suggestion: fileArg === undefined ? 'name the Dockerfile with -f FILE' : undefined,
        });
      }
    }
    const { dockerfile, errors } = parseTolerant(text, { file: display });
    for (const w of dockerfile.warnings) io.stderr.write(formatDiagnostic(w, dockerfile.source));
    if (errors.length > 0) {
      // the first problem, as a build would stop there; the rest would only be noise after it
      io.stderr.write(formatDiagnostic(errors[0]!, dockerfile.source));
      if (errors.length > 1) io.stderr.write(`(${errors.length - 1} more problem${errors.length > 2 ? 's' : ''} after this one)\n`);
      return 1;
    }
    io.stdout.write(format === 'buildkit' ? dumpBuildkit(dockerfile) : toJson(dockerfile));
    return 0;
  },
};
