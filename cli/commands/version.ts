import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
    const pkg = ownPackageJson();
    io.stdout.write(`tsbuild ${pkg.version} (node ${process.version}, ${process.platform}/${process.arch})\n`);
    return 0;
  },
};

/**
 * tsbuild's package.json, found upwards from this module: it runs from cli/commands/ (sources), dist/cli/commands/
 * (tsc) or dist/cli/chunks/ (the bundled CLI), at different depths.
 */
function ownPackageJson(): { version: string } {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'tsbuild') return pkg;
    } catch {
      // no package.json here
    }
    if (path.dirname(dir) === dir) throw new Error('tsbuild: package.json not found above ' + fileURLToPath(import.meta.url));
  }
}
