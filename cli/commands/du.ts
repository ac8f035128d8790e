import type { Command } from '../command.ts';
import { parseArgs, bool } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore } from '../../cache/store.ts';
import { diskUsage } from '../../cache/gc.ts';
import { humanSize, table, timeAgo } from '../../cache/format.ts';

export const command: Command = {
  name: 'du',
  summary: 'Show disk usage of the store',
  help: `Usage: tsbuild du [OPTIONS]

Show what takes space in the store (TSBUILD_ROOT) and what can be reclaimed:
  Images         blobs of tagged images (not reclaimable by prune; use "tsbuild rmi")
  Build cache    cache entries' own layers and snapshots ("tsbuild prune --all" reclaims them)
  Unreferenced   blobs, snapshots and leftovers nothing refers to ("tsbuild prune" reclaims them)

Options:
  -v, --verbose   Also list the build cache entries, most recently used first

Examples:
  tsbuild du
  tsbuild du -v
`,
  async run(args, io) {
    const { values } = parseArgs('du', args, [{ name: 'verbose', short: 'v', type: 'boolean' }]);
    const store = await openStore(defaultStoreRoot(io.env));
    const u = await diskUsage(store);
    io.stdout.write(table([['TYPE', 'TOTAL', 'SIZE', 'RECLAIMABLE'], ...u.rows.map((r) => [r.type, String(r.total), humanSize(r.size), humanSize(r.reclaimable)])]));
    if (bool(values.verbose) && u.cache.length > 0) {
      io.stdout.write('\nBuild cache:\n');
      io.stdout.write(table([['KEY', 'SIZE', 'LAST USED', 'SHARED'], ...u.cache.map((c) => [c.key.replace(/^sha256:/, '').slice(0, 12), humanSize(c.size), timeAgo(c.lastUsedMs), c.shared ? 'true' : 'false'])]));
    }
    return 0;
  },
};
