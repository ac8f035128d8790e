import type { Command } from '../command.ts';
import { parseArgs } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore, type StoredImage } from '../../cache/store.ts';
import { familiarName } from '../../cache/image-name.ts';
import { TsbuildError } from '../../util/errors.ts';

export const command: Command = {
  name: 'inspect',
  summary: 'Show detailed information on images',
  help: `Usage: tsbuild inspect NAME|ID [NAME|ID...]

Print a JSON array describing each image, in the shape of "docker image inspect":
Id (config digest), RepoTags, RepoDigests, Created, Author, Config, Architecture, Variant, Os, Size (sum of
layer blobs), RootFS, Metadata, and the manifest Descriptor.

Options:
  -h, --help   Show this help

Examples:
  tsbuild inspect alpine
  tsbuild inspect 1d34ffeaf190
`,
  async run(args, io) {
    const { positionals } = parseArgs('inspect', args, []);
    if (positionals.length === 0) throw new TsbuildError('usage/missing-argument', '"tsbuild inspect" requires at least 1 argument', { exitCode: 2, suggestion: 'usage: tsbuild inspect NAME|ID [NAME|ID...]' });
    const store = await openStore(defaultStoreRoot(io.env));
    const out: unknown[] = [];
    let failed = false;
    const all = await store.images.list();
    for (const ref of positionals) {
      let img: StoredImage;
      try {
        img = await store.getImage(ref);
      } catch (e) {
        if (e instanceof TsbuildError && e.code === 'image/not-found') {
          io.stderr.write(`error: no such image: ${ref}\n`);
          failed = true;
          continue;
        }
        throw e;
      }
      const tags = all.filter((e) => e.manifestDigest === img.manifestDigest);
      const c = img.config;
      out.push({
        Id: img.configDigest,
        RepoTags: tags.map((t) => familiarName(t.name)),
        RepoDigests: [],
        Parent: '',
        Comment: '',
        Created: c.created ?? '',
        Author: c.author ?? '',
        Config: c.config,
        Architecture: c.architecture,
        ...(c.variant !== undefined ? { Variant: c.variant } : {}),
        Os: c.os,
        Size: img.manifest.layers.reduce((a, l) => a + l.size, 0),
        RootFS: { Type: c.rootfs.type, Layers: c.rootfs.diff_ids },
        Metadata: { LastTagTime: tags.map((t) => t.taggedAt).sort().at(-1) ?? '0001-01-01T00:00:00Z' },
        Descriptor: { mediaType: img.manifest.mediaType, digest: img.manifestDigest, size: (await store.blobs.size(img.manifestDigest)) },
      });
    }
    io.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    return failed ? 1 : 0;
  },
};
