import type { Command } from '../command.ts';
import { parseArgs, bool } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore } from '../../cache/store.ts';
import { ellipsis, humanSize, shortId, table, timeAgo } from '../../cache/format.ts';
import { TsbuildError } from '../../util/errors.ts';

export const command: Command = {
  name: 'history',
  summary: 'Show the history of an image',
  help: `Usage: tsbuild history [OPTIONS] NAME|ID

Show the image's history, newest first, as "docker history" does. Each entry that made a layer shows that
layer's size; metadata-only entries show 0B. The first row carries the image ID, older rows show <missing>.

Options:
  -H, --human       Human-readable sizes and dates (default true; --human=false prints bytes and RFC 3339)
      --no-trunc    Do not truncate CREATED BY
  -q, --quiet       Only show image IDs

Examples:
  tsbuild history alpine
  tsbuild history --no-trunc myapp:dev
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('history', args, [
      { name: 'human', short: 'H', type: 'boolean' },
      { name: 'no-trunc', type: 'boolean' },
      { name: 'quiet', short: 'q', type: 'boolean' },
    ]);
    if (positionals.length !== 1) throw new TsbuildError('usage/missing-argument', '"tsbuild history" requires exactly 1 argument', { exitCode: 2, suggestion: 'usage: tsbuild history NAME|ID' });
    const store = await openStore(defaultStoreRoot(io.env));
    const img = await store.getImage(positionals[0]!);
    const human = values.human !== false;
    const noTrunc = bool(values['no-trunc']);
    const history = img.config.history ?? [];
    const layers = img.manifest.layers;
    // History entries map to layers in order, skipping empty_layer ones (OCI image spec).
    let li = 0;
    const entries = history.map((h) => {
      const size = h.empty_layer ? 0 : (layers[li++]?.size ?? 0);
      return { ...h, size };
    });
    entries.reverse();
    const id = noTrunc ? img.configDigest : shortId(img.configDigest);
    if (bool(values.quiet)) {
      io.stdout.write(entries.map((_, i) => (i === 0 ? id : '<missing>')).join('\n') + (entries.length ? '\n' : ''));
      return 0;
    }
    const rows = entries.map((h, i) => {
      const t = h.created ? Date.parse(h.created) : NaN;
      const created = Number.isNaN(t) ? 'N/A' : human ? timeAgo(t) : new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
      const by = (h.created_by ?? '').replace(/\s+/g, ' ').trim();
      return [i === 0 ? id : '<missing>', created, noTrunc ? by : ellipsis(by, 45), human ? humanSize(h.size) : String(h.size), h.comment ?? ''];
    });
    io.stdout.write(table([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...rows]));
    return 0;
  },
};
