import type { Command } from '../command.ts';
import { parseArgs } from '../args.ts';
import { TsbuildError } from '../../util/errors.ts';
import { registryHostArg } from './pull.ts';

export const command: Command = {
  name: 'logout',
  summary: 'Remove saved credentials for a registry',
  help: `Usage: tsbuild logout [SERVER]

Remove the credentials "tsbuild login" (or "docker login") saved for SERVER (default Docker Hub), from
$DOCKER_CONFIG/config.json or its credential helper.

Examples:
  tsbuild logout localhost:5000
`,
  async run(args, io) {
    const { positionals } = parseArgs('logout', args, []);
    if (positionals.length > 1) throw new TsbuildError('usage/too-many-arguments', '"tsbuild logout" takes at most 1 argument', { exitCode: 2 });
    const host = registryHostArg(positionals[0]);
    const { CredentialStore } = await import('../../registry/credentials.ts');
    const removed = await new CredentialStore(io.env).erase(host);
    io.stdout.write(removed ? `Removing login credentials for ${host}\n` : `Not logged in to ${host}\n`);
    return 0;
  },
};
