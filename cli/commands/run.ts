import { resolve, join } from 'node:path';
import type { Command } from '../command.ts';
import { parseArgs, str, list, bool, type OptionSpec } from '../args.ts';
import { TsbuildError } from '../../util/errors.ts';
import { defaultStoreRoot } from '../store-root.ts';

const specs: OptionSpec[] = [
  { name: 'rm', type: 'boolean' },
  { name: 'env', short: 'e', type: 'string', multiple: true },
  { name: 'volume', short: 'v', type: 'string', multiple: true },
  { name: 'network', type: 'string' },
  { name: 'name', type: 'string' },
  { name: 'interactive', short: 'i', type: 'boolean' },
  { name: 'tty', short: 't', type: 'boolean' },
  { name: 'user', short: 'u', type: 'string' },
  { name: 'workdir', short: 'w', type: 'string' },
  { name: 'entrypoint', type: 'string' },
  { name: 'runtime', type: 'string' },
];

export const command: Command = {
  name: 'run',
  summary: 'Run a command in a new container from an image',
  help: `Usage: tsbuild run [OPTIONS] IMAGE [COMMAND] [ARG...]

Run an image with runc: its Entrypoint/Cmd/Env/WorkingDir/User apply, a command
after the image name overrides Cmd, and the exit code is passed through.

Options:
      --rm                Remove the container's state when it exits
  -e, --env K=V           Set an environment variable (repeatable; K alone takes $K)
  -v, --volume HOST:CTR[:ro]   Bind-mount a host directory (repeatable)
      --network MODE      host (default) or none
      --name NAME         Name the container
  -i, --interactive       Keep stdin open
  -t, --tty               Allocate a terminal
  -u, --user USER[:GROUP] Run as this user
  -w, --workdir DIR       Working directory inside the container
      --entrypoint CMD    Override the image's entrypoint
      --runtime NAME      runc (default) or crun

Examples:
  tsbuild run --rm busybox echo hello
  tsbuild run --rm -it busybox sh
  tsbuild run --rm --network host mynginx
`,
  async run(args, io) {
    // Options stop at the image name: everything after it is the command.
    const imageAt = findImageIndex(args);
    const { values: v } = parseArgs('run', args.slice(0, imageAt), specs);
    const image = args[imageAt];
    if (image === undefined)
      throw new TsbuildError('usage/run', '"tsbuild run" requires at least 1 argument (the image)', { exitCode: 2, suggestion: 'usage: tsbuild run [OPTIONS] IMAGE [COMMAND] [ARG...]' });
    const cmd = args.slice(imageAt + 1);
    const network = str(v.network) ?? 'host';
    if (network !== 'host' && network !== 'none')
      throw new TsbuildError('usage/network', `invalid --network "${network}"`, { exitCode: 2, suggestion: 'use host or none (port mapping is not implemented yet)' });
    const volumes = list(v.volume).map((s) => {
      const parts = s.split(':');
      if (parts.length < 2 || parts.length > 3 || parts[0] === '' || parts[1] === '' || (parts[2] !== undefined && !['ro', 'rw'].includes(parts[2])))
        throw new TsbuildError('usage/volume', `invalid volume "${s}"`, { exitCode: 2, suggestion: 'use HOST:CONTAINER[:ro]' });
      return { host: resolve(io.cwd, parts[0]!), target: parts[1]!, readonly: parts[2] === 'ro' };
    });
    const env = list(v.env).flatMap((e) => (e.includes('=') ? [e] : io.env[e] !== undefined ? [`${e}=${io.env[e]}`] : []));
    const runtime = str(v.runtime) ?? io.env.TSBUILD_RUNTIME ?? 'runc';
    if (runtime !== 'runc' && runtime !== 'crun') throw new TsbuildError('usage/runtime', `invalid --runtime "${runtime}"`, { exitCode: 2 });

    const [{ openStore }, { runContainer }, { createSandbox }, { layerSnapshot, imageLayers }] = await Promise.all([
      import('../../cache/index.ts'),
      import('../../executor/container/index.ts'),
      import('../../executor/sandbox/index.ts'),
      import('../../executor/layer-snapshots.ts'),
    ]);
    const store = await openStore(defaultStoreRoot(io.env));
    const img = await store.findImage(image);
    if (!img)
      throw new TsbuildError('run/image-not-found', `Unable to find image '${image}' locally`, { suggestion: `build it with "tsbuild -t ${image} DIR" or list images with "tsbuild images"` });
    const layers = await Promise.all(imageLayers(img, image).map((l) => layerSnapshot(store, l)));
    const entrypoint = str(v.entrypoint);
    const controller = new AbortController();
    // Stopping aborts runContainer, which kills the container, unmounts and (with --rm) removes its state. The
    // handler stays installed until that is done: the executor's last-resort cleanup (executor/snapshot/on-exit.ts)
    // re-raises the signal after killing the container, and with no handler left that re-raise would end the
    // process before --rm had removed the state. A deadline still guarantees exit.
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      controller.abort(new TsbuildError('run/interrupted', 'container stopped', { exitCode: 130 }));
      setTimeout(() => process.exit(130), 10_000).unref();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      return await runContainer({
        layers,
        config: img.config.config,
        ...(cmd.length > 0 ? { cmd } : {}),
        ...(entrypoint !== undefined ? { entrypoint: entrypoint === '' ? [] : [entrypoint] } : {}),
        env,
        ...(str(v.user) !== undefined ? { user: str(v.user)! } : {}),
        ...(str(v.workdir) !== undefined ? { workdir: str(v.workdir)! } : {}),
        volumes,
        network,
        ...(str(v.name) !== undefined ? { name: str(v.name)! } : {}),
        tty: bool(v.tty),
        interactive: bool(v.interactive),
        stateDir: join(store.root, 'containers'),
        rm: bool(v.rm),
        stdio: { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr },
        signal: controller.signal,
        sandbox: createSandbox({ runtime }),
      });
    } catch (e) {
      if (controller.signal.aborted) return 130;
      throw e;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

/** Index of the first positional argument (the image), skipping options and their values. */
function findImageIndex(args: readonly string[]): number {
  const withValue = new Set(specs.filter((s) => s.type === 'string').flatMap((s) => [`--${s.name}`, ...(s.short ? [`-${s.short}`] : [])]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return i + 1;
    if (!a.startsWith('-') || a === '-') return i;
    if (withValue.has(a)) i++;
    else if (/^-[a-zA-Z]+$/.test(a) && withValue.has(`-${a[a.length - 1]}`)) i++;
  }
  return args.length;
}
