import type { Command } from '../command.ts';
import { parseArgs } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { openStore } from '../../cache/store.ts';
import { normalizeImageName } from '../../cache/image-name.ts';
import { TsbuildError } from '../../util/errors.ts';

export const command: Command = {
  name: 'tag',
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  help: `Usage: tsbuild tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]

Point TARGET_IMAGE at the same manifest as SOURCE_IMAGE (a name or an image ID) in the local store.
Names are normalised as docker does ("app" is docker.io/library/app:latest).

Options:
  -h, --help   Show this help

Examples:
  tsbuild tag myapp:dev myapp:1.0
  tsbuild tag 1d34ffeaf190 registry.example.com/team/app:latest
`,
  async run(args, io) {
    const { positionals } = parseArgs('tag', args, []);
    if (positionals.length !== 2) throw new TsbuildError('usage/missing-argument', '"tsbuild tag" requires exactly 2 arguments', { exitCode: 2, suggestion: 'usage: tsbuild tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]' });
    const [src, dst] = positionals as [string, string];
    const target = normalizeImageName(dst);
    if (target.includes('@')) throw new TsbuildError('image/invalid-name', `refusing to create a tag with a digest reference: "${dst}"`, { exitCode: 2 });
    const store = await openStore(defaultStoreRoot(io.env));
    const img = await store.getImage(src);
    await store.tagImage(target, img.manifestDigest);
    return 0;
  },
};
