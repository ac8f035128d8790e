import { defaultStoreRoot } from '../store-root.ts';
import { TsbuildError } from '../../util/errors.ts';
import { resolve } from 'node:path';
import type { Command, Io } from '../command.ts';
import { bool, list, parseArgs, str, type OptionSpec, type ParsedArgs } from '../args.ts';
import type { RegistryClient } from '../../registry/client.ts';
import type { Credentials } from '../../registry/credentials.ts';

// Registry options and helpers shared with push, login and logout.

export const registryOptionSpecs: OptionSpec[] = [{ name: 'ca-cert', type: 'string', multiple: true }];

export const registryOptionsHelp = `      --ca-cert FILE       Trust this PEM CA for the registry (repeatable; also TSBUILD_REGISTRY_CA)`;

/** A client for the command's registry work (config from TSBUILD_REGISTRY_CONFIG etc., credentials from DOCKER_CONFIG). */
export async function registryClient(values: ParsedArgs['values'], io: Io, extra: { credentials?: { get(host: string): Promise<Credentials | undefined> } } = {}): Promise<RegistryClient> {
  const { RegistryClient } = await import('../../registry/client.ts');
  return new RegistryClient({
    env: io.env,
    caCerts: list(values['ca-cert']).map((f) => resolve(io.cwd, f)),
    ...(extra.credentials ? { credentials: extra.credentials } : {}),
  });
}

/** `https://index.docker.io/v1/`, `index.docker.io`, `docker.io` → `docker.io`; `http://host:5000/` → `host:5000`. */
export function registryHostArg(arg: string | undefined): string {
  if (arg === undefined || arg === '') return 'docker.io';
  const h = arg.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (h === '' || /[\s@]/.test(h)) throw new TsbuildError('usage/registry', `invalid registry "${arg}"`, { exitCode: 2 });
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? 'docker.io' : h;
}

/** docker shows digests shortened to 12 hex characters in progress lines. */
export const shortDigest = (d: string): string => d.replace(/^sha256:/, '').slice(0, 12);

export const command: Command = {
  name: 'pull',
  summary: 'Download an image from a registry into the local store',
  help: `Usage: tsbuild pull [OPTIONS] NAME[:TAG|@DIGEST]

Download an image (manifest, config and layers) from a registry into the local store and tag it.
Names are normalised as docker does ("alpine" is docker.io/library/alpine:latest). From a manifest list or
OCI index the entry for --platform (default: this machine) is chosen. Layers already in the store are not
fetched; an interrupted pull resumes where it stopped. docker.io pulls try the configured mirrors first.

Options:
      --platform OS/ARCH[/VARIANT]   Platform to pick from a multi-platform image
  -q, --quiet              Print only the image name
${registryOptionsHelp}

Environment: TSBUILD_REGISTRY_CONFIG (JSON: registry-mirrors, insecure-registries, ca-certs),
TSBUILD_REGISTRY_MIRRORS, TSBUILD_INSECURE_REGISTRIES, DOCKER_CONFIG (credentials from "tsbuild login").

Examples:
  tsbuild pull alpine:3.20
  tsbuild pull localhost:5000/team/app@sha256:0123…
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('pull', args, [{ name: 'platform', type: 'string' }, { name: 'quiet', short: 'q', type: 'boolean' }, ...registryOptionSpecs]);
    if (positionals.length !== 1) throw new TsbuildError('usage/missing-argument', '"tsbuild pull" requires exactly 1 argument', { exitCode: 2, suggestion: 'usage: tsbuild pull NAME[:TAG|@DIGEST]' });
    const ref = positionals[0]!;
    const platformArg = str(values.platform);
    let platform: { os: string; architecture: string; variant?: string } | undefined;
    if (platformArg !== undefined) {
      const [os, architecture, variant] = platformArg.split('/');
      if (!os || !architecture) throw new TsbuildError('usage/platform', `invalid --platform "${platformArg}"`, { exitCode: 2, suggestion: 'e.g. linux/amd64 or linux/arm64/v8' });
      platform = { os, architecture, ...(variant ? { variant } : {}) };
    }
    const quiet = bool(values.quiet);
    const out = (s: string): void => {
      if (!quiet) io.stdout.write(s);
    };
    const [{ openStore }, { pullImage }, { parseImageRef }] = await Promise.all([import('../../cache/store.ts'), import('../../registry/pull.ts'), import('../../compiler/image-ref.ts')]);
    const parsed = parseImageRef(ref);
    if (parsed.tag === undefined && parsed.digest === undefined) out('Using default tag: latest\n');
    out(`${parsed.digest ?? parsed.tag ?? 'latest'}: Pulling from ${parsed.domain === 'docker.io' ? parsed.path : `${parsed.domain}/${parsed.path}`}\n`);
    const store = await openStore(defaultStoreRoot(io.env));
    const client = await registryClient(values, io);
    try {
      const result = await pullImage(store, ref, {
        client,
        ...(platform ? { platform } : {}),
        onProgress: (e) => {
          if (e.type === 'blob' && e.status === 'exists') out(`${shortDigest(e.digest)}: Already exists\n`);
          else if (e.type === 'blob' && e.status === 'resuming') out(`${shortDigest(e.digest)}: Resuming at byte ${e.offset ?? 0}\n`);
          else if (e.type === 'blob' && e.status === 'done') out(`${shortDigest(e.digest)}: Pull complete\n`);
          else if (e.type === 'mirror-failed') io.stderr.write(`warning: mirror ${e.endpoint} failed (${e.message}); trying the next endpoint\n`);
        },
      });
      out(`Digest: ${result.indexDigest ?? result.manifestDigest}\n`);
      out(`Status: ${result.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${ref}\n`);
      io.stdout.write(`${result.name}\n`);
      return 0;
    } finally {
      await client.close();
    }
  },
};
