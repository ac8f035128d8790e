import type { Command } from '../command.ts';
import { parseArgs, bool, str } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore } from '../../cache/store.ts';
import { prune } from '../../cache/gc.ts';
import { humanSize, parseSize } from '../../cache/format.ts';

export const command: Command = {
  name: 'prune',
  summary: 'Remove unused data from the store',
  help: `Usage: tsbuild prune [OPTIONS]

Remove data nothing refers to: blobs and snapshots not reachable from a tagged image or a kept cache entry,
leftovers of killed builds, stale locks. Tagged images are never removed (use "tsbuild rmi").
Objects made by a build that is still running are kept.

Options:
  -a, --all                 Remove all build cache too, not just unreferenced data
      --keep-storage SIZE   Keep the most recently used build cache up to SIZE (e.g. 10GB); older entries go
      --dry-run             Show what would be removed, remove nothing
  -f, --force               Do not prompt for confirmation

Examples:
  tsbuild prune -f
  tsbuild prune --all -f
  tsbuild prune --keep-storage 5GB -f
`,
  async run(args, io) {
    const { values } = parseArgs('prune', args, [
      { name: 'all', short: 'a', type: 'boolean' },
      { name: 'keep-storage', type: 'string' },
      { name: 'dry-run', type: 'boolean' },
      { name: 'force', short: 'f', type: 'boolean' },
    ]);
    const ks = str(values['keep-storage']);
    const keepStorage = ks === undefined ? undefined : parseSize(ks);
    const all = bool(values.all);
    const dryRun = bool(values['dry-run']);
    if (!bool(values.force) && !dryRun) {
      io.stderr.write(
        `WARNING! This will remove ${all ? 'all build cache and ' : ''}all unreferenced data${keepStorage !== undefined ? ` (keeping ${humanSize(keepStorage)} of recent build cache)` : ''}.\nAre you sure you want to continue? [y/N] `,
      );
      const answer = await readLine(io.stdin);
      if (!/^y(es)?$/i.test(answer.trim())) {
        io.stderr.write('Aborted.\n');
        return 1;
      }
    }
    const store = await openStore(defaultStoreRoot(io.env));
    const r = await prune(store, { all, ...(keepStorage !== undefined ? { keepStorage } : {}), dryRun });
    const verb = dryRun ? 'Would remove' : 'Removed';
    io.stdout.write(`${verb}: ${r.cacheEntries} cache entries, ${r.snapshots} snapshots, ${r.blobs} blobs, ${r.leftovers} leftovers, ${r.staleLocks} stale locks\n`);
    io.stdout.write(`Total${dryRun ? ' reclaimable' : ' reclaimed'} space: ${humanSize(r.reclaimed)}\n`);
    return 0;
  },
};

/** Reads one line (or to EOF) from stdin. */
function readLine(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (): void => {
      stdin.off('data', onData);
      stdin.off('end', done);
      stdin.pause?.();
      resolve(buf);
    };
    const onData = (c: Buffer | string): void => {
      buf += c.toString();
      if (buf.includes('\n')) done();
    };
    stdin.on('data', onData);
    stdin.on('end', done);
    stdin.resume?.();
  });
}
