import type { Command } from '../command.ts';
import { parseArgs, bool } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore } from '../../cache/store.ts';
import { familiarRepository, parseImageName } from '../../cache/image-name.ts';
import { humanSize, shortId, table, timeAgo } from '../../cache/format.ts';

export const command: Command = {
  name: 'images',
  summary: 'List images in the local store',
  help: `Usage: tsbuild images [OPTIONS] [REPOSITORY[:TAG]]

List the images in the local store (TSBUILD_ROOT), newest first, as "docker images" does.
IMAGE ID is the first 12 hex digits of the config digest; SIZE sums the layer blobs as stored.

Options:
  -q, --quiet       Only show image IDs
      --no-trunc    Show full image IDs
      --digests     Show manifest digests

Examples:
  tsbuild images
  tsbuild images alpine
  tsbuild images -q
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('images', args, [
      { name: 'quiet', short: 'q', type: 'boolean' },
      { name: 'no-trunc', type: 'boolean' },
      { name: 'digests', type: 'boolean' },
    ]);
    const store = await openStore(defaultStoreRoot(io.env));
    const filter = positionals[0];
    let wantRepo: string | undefined;
    let wantTag: string | undefined;
    if (filter !== undefined) {
      const n = parseImageName(filter);
      wantRepo = `${n.domain}/${n.path}`;
      // "alpine" filters the repository; "alpine:3" also the tag.
      wantTag = /:[^/]*$/.test(filter) ? n.tag : undefined;
    }
    const rows: Array<{ repo: string; tag: string; id: string; manifest: string; created: number | undefined; size: number }> = [];
    for (const e of await store.images.list()) {
      const n = parseImageName(e.name);
      if (wantRepo !== undefined && `${n.domain}/${n.path}` !== wantRepo) continue;
      if (wantTag !== undefined && n.tag !== wantTag) continue;
      const img = await store.getImage(e.manifestDigest).catch(() => undefined);
      if (!img) continue;
      const created = img.config.created ? Date.parse(img.config.created) : undefined;
      rows.push({
        repo: familiarRepository(n),
        tag: n.tag ?? '<none>',
        id: img.configDigest,
        manifest: img.manifestDigest,
        created: Number.isNaN(created) ? undefined : created,
        size: img.manifest.layers.reduce((a, l) => a + l.size, 0),
      });
    }
    rows.sort((a, b) => (b.created ?? 0) - (a.created ?? 0) || a.repo.localeCompare(b.repo) || a.tag.localeCompare(b.tag));
    const noTrunc = bool(values['no-trunc']);
    const fmtId = (d: string): string => (noTrunc ? d : shortId(d));
    if (bool(values.quiet)) {
      const seen = new Set<string>();
      for (const r of rows) if (!seen.has(r.id)) (seen.add(r.id), io.stdout.write(`${fmtId(r.id)}\n`));
      return 0;
    }
    const digests = bool(values.digests);
    const head = ['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
    const body = rows.map((r) => [r.repo, r.tag, ...(digests ? [r.manifest] : []), fmtId(r.id), r.created === undefined ? 'N/A' : timeAgo(r.created), humanSize(r.size)]);
    io.stdout.write(table([head, ...body]));
    return 0;
  },
};
