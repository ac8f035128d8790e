import type { Command } from '../command.ts';
import { bool, parseArgs, str } from '../args.ts';
import { defaultStoreRoot } from '../store-root.ts';
import { TsbuildError } from '../../util/errors.ts';
import { registryClient, registryOptionSpecs, registryOptionsHelp, shortDigest } from './pull.ts';

export const command: Command = {
  name: 'push',
  summary: 'Upload an image from the local store to a registry',
  help: `Usage: tsbuild push [OPTIONS] NAME[:TAG]

Upload a stored image to the registry its name points at ("me/app" is Docker Hub, "host:5000/app" a private
registry). Blobs the registry already has are skipped (HEAD), blobs it holds in another repository tsbuild
pulled from or pushed to are mounted, and the rest are uploaded; large blobs go in chunks, and an interrupted
upload resumes on the next push. The manifest is uploaded byte for byte, so its digest is the local one.

Options:
      --chunk-size BYTES   Upload blobs larger than this in chunks of this size (default 67108864)
  -q, --quiet              Print only the pushed digest
${registryOptionsHelp}

Examples:
  tsbuild tag myapp localhost:5000/team/myapp:1.0
  tsbuild push localhost:5000/team/myapp:1.0
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('push', args, [{ name: 'chunk-size', type: 'string' }, { name: 'quiet', short: 'q', type: 'boolean' }, ...registryOptionSpecs]);
    if (positionals.length !== 1) throw new TsbuildError('usage/missing-argument', '"tsbuild push" requires exactly 1 argument', { exitCode: 2, suggestion: 'usage: tsbuild push NAME[:TAG]' });
    const name = positionals[0]!;
    const chunkArg = str(values['chunk-size']);
    const chunkSize = chunkArg === undefined ? undefined : Number(chunkArg);
    if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize < 1)) throw new TsbuildError('usage/chunk-size', `invalid --chunk-size "${chunkArg}"`, { exitCode: 2 });
    const quiet = bool(values.quiet);
    const out = (s: string): void => {
      if (!quiet) io.stdout.write(s);
    };
    const [{ openStore }, { pushImage }, { parseImageRef }] = await Promise.all([import('../../cache/store.ts'), import('../../registry/push.ts'), import('../../compiler/image-ref.ts')]);
    const ref = parseImageRef(name);
    out(`The push refers to repository [${ref.domain}/${ref.path}]\n`);
    const store = await openStore(defaultStoreRoot(io.env));
    const client = await registryClient(values, io);
    try {
      const labels: Record<string, string> = { exists: 'Layer already exists', mounted: 'Mounted from another repository', uploaded: 'Pushed', resumed: 'Pushed (resumed)' };
      const result = await pushImage(store, name, {
        client,
        ...(chunkSize !== undefined ? { chunkSize } : {}),
        onProgress: (e) => {
          if (e.type === 'blob' && labels[e.status] !== undefined) out(`${shortDigest(e.digest)}: ${labels[e.status]}\n`);
          else if (e.type === 'blob' && e.status === 'resuming') out(`${shortDigest(e.digest)}: Resuming at byte ${e.offset ?? 0}\n`);
        },
      });
      if (quiet) io.stdout.write(`${result.manifestDigest}\n`);
      else out(`${ref.tag ?? 'latest'}: digest: ${result.manifestDigest} size: ${result.manifestSize}\n`);
      return 0;
    } finally {
      await client.close();
    }
  },
};
