import type { Command } from '../command.ts';
import { parseArgs } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore } from '../../cache/store.ts';
import { fsck } from '../../cache/gc.ts';

export const command: Command = {
  name: 'fsck',
  summary: 'Check the store for corruption and dangling references',
  help: `Usage: tsbuild fsck

Verify the store (TSBUILD_ROOT): every blob's digest, every reference from tags and cache entries to blobs and
snapshots, and every snapshot's commit marker. Prints one line per problem and exits 1 if there is any.
Leftovers of killed builds are not problems (the store ignores them; "tsbuild prune" removes them).

Options:
  -h, --help   Show this help

Examples:
  tsbuild fsck
`,
  async run(args, io) {
    parseArgs('fsck', args, []);
    const store = await openStore(defaultStoreRoot(io.env));
    const r = await fsck(store);
    for (const p of r.problems) io.stdout.write(`error: ${p.kind}: ${p.message}\n`);
    const c = r.checked;
    io.stdout.write(
      `checked ${c.blobs} blobs, ${c.images} images, ${c.cacheEntries} cache entries, ${c.snapshots} snapshots, ${c.records} records: ` +
        `${r.problems.length === 0 ? 'no problems' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`}` +
        `${r.leftovers > 0 ? ` (${r.leftovers} leftovers of interrupted work, removed by "tsbuild prune")` : ''}\n`,
    );
    return r.problems.length === 0 ? 0 : 1;
  },
};
