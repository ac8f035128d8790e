/**
 * Options and helpers shared by pull, push and login: the registry client built from the environment
 * (registry config, docker credentials) plus `--ca-cert`, and registry-host argument normalisation.
 */
import { resolve } from 'node:path';
import type { Io } from '../command.ts';
import type { OptionSpec, ParsedArgs } from '../args.ts';
import { list } from '../args.ts';
import { TsbuildError } from '../../util/errors.ts';
import type { RegistryClient } from '../../registry/client.ts';
import type { Credentials } from '../../registry/credentials.ts';

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
