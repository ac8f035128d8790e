import type { Command } from '../command.ts';
import { parseArgs, bool } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { liveLeases, openStore } from '../../cache/store.ts';
import { familiarName, normalizeImageName } from '../../cache/image-name.ts';
import { TsbuildError } from '../../util/errors.ts';

export const command: Command = {
  name: 'rmi',
  summary: 'Remove one or more images',
  help: `Usage: tsbuild rmi [OPTIONS] NAME|ID [NAME|ID...]

Remove image tags from the local store. A name removes that tag; an image ID removes its only tag (with several
tags, -f removes them all). When no tag refers to an image any more, its manifest and config are deleted; its
layers stay while the build cache uses them ("tsbuild prune" reclaims the rest).

Options:
  -f, --force   Remove all tags of an image given by ID

Examples:
  tsbuild rmi myapp:dev
  tsbuild rmi -f 1d34ffeaf190
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('rmi', args, [{ name: 'force', short: 'f', type: 'boolean' }]);
    if (positionals.length === 0) throw new TsbuildError('usage/missing-argument', '"tsbuild rmi" requires at least 1 argument', { exitCode: 2, suggestion: 'usage: tsbuild rmi NAME|ID [NAME|ID...]' });
    const store = await openStore(defaultStoreRoot(io.env));
    let failed = false;
    for (const ref of positionals) {
      try {
        const img = await store.getImage(ref);
        const tags = (await store.images.list()).filter((e) => e.manifestDigest === img.manifestDigest);
        let byName: string | undefined;
        try {
          const canon = normalizeImageName(ref);
          if (tags.some((t) => t.name === canon)) byName = canon;
        } catch {
          /* an ID, not a name */
        }
        const remove = byName !== undefined ? [byName] : tags.map((t) => t.name);
        if (byName === undefined && tags.length > 1 && !bool(values.force)) {
          throw new TsbuildError('image/conflict', `unable to delete ${ref} (must be forced): image is referenced in multiple repositories`, {
            suggestion: `remove the tags one by one, or use "tsbuild rmi -f ${ref}"`,
          });
        }
        for (const name of remove) {
          await store.images.remove(name);
          io.stdout.write(`Untagged: ${familiarName(name)}\n`);
        }
        const still = (await store.images.list()).some((e) => e.manifestDigest === img.manifestDigest);
        // Manifest and config are this image's own; layers may be shared with the cache, so GC decides on them.
        // While a build holds a lease it might be re-tagging this very manifest: leave the blobs to prune then.
        if (!still && (await liveLeases(store.paths)).length === 0) {
          const others = await Promise.all((await store.images.list()).map((e) => store.getImage(e.manifestDigest).then((i) => i.configDigest, () => '')));
          await store.blobs.remove(img.manifestDigest);
          if (!others.includes(img.configDigest)) await store.blobs.remove(img.configDigest);
          io.stdout.write(`Deleted: ${img.configDigest}\n`);
        }
      } catch (e) {
        if (!(e instanceof TsbuildError)) throw e;
        io.stderr.write(`error: ${e.message}\n`);
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
};
