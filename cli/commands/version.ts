import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parseArgs } from '../args.ts';

export const command: Command = {
  name: 'version',
  summary: 'Show the tsbuild version',
  help: `Usage: tsbuild version

Show the tsbuild version and the Node.js runtime it runs on.

Options:
  -h, --help   Show this help

Examples:
  tsbuild version
`,
  async run(args, io) {
    parseArgs('version', args, []);
    const pkg = JSON.parse(readFileSync(new URL(import.meta.url.includes('/dist/') ? '../../../package.json' : '../../package.json', import.meta.url), 'utf8')) as { version: string };
    io.stdout.write(`tsbuild ${pkg.version} (node ${process.version}, ${process.platform}/${process.arch})\n`);
    return 0;
  },
};
