import type { Command, Io } from '../command.ts';
import { bool, parseArgs, str } from '../args.ts';
import { TsbuildError } from '../../util/errors.ts';
import { registryClient, registryHostArg, registryOptionSpecs, registryOptionsHelp } from './pull.ts';

export const command: Command = {
  name: 'login',
  summary: 'Log in to a registry (credentials saved in ~/.docker/config.json)',
  help: `Usage: tsbuild login [OPTIONS] [SERVER]

Check a user name and password (or token) against a registry and save them the way docker does: in
$DOCKER_CONFIG/config.json (default ~/.docker/config.json), or through the credential helper named by its
"credsStore" / "credHelpers" (docker-credential-NAME) when that helper is installed. SERVER defaults to Docker Hub.

Options:
  -u, --username USER      User name
  -p, --password PASS      Password or token (visible in the process list: prefer --password-stdin)
      --password-stdin     Read the password from stdin
${registryOptionsHelp}

Examples:
  echo "$TOKEN" | tsbuild login -u me --password-stdin registry.example.com
  tsbuild login -u me localhost:5000
`,
  async run(args, io) {
    const { values, positionals } = parseArgs('login', args, [
      { name: 'username', short: 'u', type: 'string' },
      { name: 'password', short: 'p', type: 'string' },
      { name: 'password-stdin', type: 'boolean' },
      ...registryOptionSpecs,
    ]);
    if (positionals.length > 1) throw new TsbuildError('usage/too-many-arguments', '"tsbuild login" takes at most 1 argument', { exitCode: 2, suggestion: 'usage: tsbuild login [-u USER] [--password-stdin] [SERVER]' });
    const host = registryHostArg(positionals[0]);
    let username = str(values.username);
    let password = str(values.password);
    if (bool(values['password-stdin'])) {
      if (password !== undefined) throw new TsbuildError('usage/conflicting-flags', '--password and --password-stdin are mutually exclusive', { exitCode: 2 });
      if (username === undefined) throw new TsbuildError('usage/missing-value', 'must provide --username with --password-stdin', { exitCode: 2 });
      password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
    } else if (password !== undefined) {
      io.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    }
    if (username === undefined) username = await prompt(io, 'Username: ', false);
    if (password === undefined) password = await prompt(io, 'Password: ', true);
    if (username === '' || password === '') throw new TsbuildError('usage/missing-value', 'user name and password must not be empty', { exitCode: 2 });

    const creds = { username, password };
    const client = await registryClient(values, io, { credentials: { get: async () => creds } });
    try {
      const ep = await client.endpoint(host);
      const res = await client.send(ep, { method: 'GET', path: '/v2/', scopes: [] });
      await res.body.dump().catch(() => {});
      if (res.status === 401 || res.status === 403) throw new TsbuildError('registry/login-failed', `login to ${host} failed: unauthorized: incorrect username or password`);
      if (res.status !== 200) throw new TsbuildError('registry/login-failed', `login to ${host} failed: the registry answered HTTP ${res.status} to /v2/`);
    } catch (e) {
      if (e instanceof TsbuildError && e.code === 'registry/unauthorized') throw new TsbuildError('registry/login-failed', `login to ${host} failed: unauthorized: incorrect username or password`);
      throw e;
    } finally {
      await client.close();
    }
    const { CredentialStore } = await import('../../registry/credentials.ts');
    const store = new CredentialStore(io.env);
    const saved = await store.set(host, creds);
    if (saved.helper === undefined) io.stderr.write(`WARNING! Your password will be stored unencrypted in ${store.path}.\n`);
    io.stdout.write('Login Succeeded\n');
    return 0;
  },
};

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from a terminal (without echo for secrets); refuses when stdin is not a terminal. */
async function prompt(io: Io, label: string, secret: boolean): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY) {
    throw new TsbuildError('usage/missing-value', `cannot prompt for ${secret ? 'a password' : 'a user name'}: stdin is not a terminal`, {
      exitCode: 2,
      suggestion: 'pass -u USER and --password-stdin',
    });
  }
  io.stderr.write(label);
  return await new Promise<string>((resolve) => {
    let line = '';
    if (secret) stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    const onData = (d: string): void => {
      for (const ch of d) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.off('data', onData);
          if (secret) stdin.setRawMode(false);
          stdin.pause();
          io.stderr.write('\n');
          resolve(line);
          return;
        }
        if (ch === '\u0003') {
          if (secret) stdin.setRawMode(false);
          process.exit(130);
        }
        if (ch === '\u007f') line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
