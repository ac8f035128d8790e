import type { Command } from '../command.ts';

/**
 * Every subcommand, loaded lazily so that start-up only pays for the command that runs.
 * To add one: create cli/commands/<name>.ts exporting `command: Command`, and add a line here.
 */
export const commands: Record<string, () => Promise<Command>> = {
  version: async () => (await import('./version.ts')).command,
  plan: async () => (await import('./plan.ts')).command,
  images: async () => (await import('./images.ts')).command,
  inspect: async () => (await import('./inspect.ts')).command,
  history: async () => (await import('./history.ts')).command,
  tag: async () => (await import('./tag.ts')).command,
  rmi: async () => (await import('./rmi.ts')).command,
  prune: async () => (await import('./prune.ts')).command,
  du: async () => (await import('./du.ts')).command,
  fsck: async () => (await import('./fsck.ts')).command,
  parse: async () => (await import('./parse.ts')).command,
  build: async () => (await import('./build.ts')).command,
  run: async () => (await import('./run.ts')).command,
  diff: async () => (await import('./diff.ts')).command,
  analyze: async () => (await import('./analyze.ts')).command,
  builds: async () => (await import('./builds.ts')).command,
  pull: async () => (await import('./pull.ts')).command,
  push: async () => (await import('./push.ts')).command,
  login: async () => (await import('./login.ts')).command,
  logout: async () => (await import('./logout.ts')).command,
  lint: async () => (await import('./lint.ts')).command,
};

/**
 * One-line summaries for `tsbuild --help`, so the command list does not import every command module (and with it
 * chevrotain, the store, WASM): start-up stays lean. A command missing here is loaded to read its `summary`; test/cli/help.test.ts checks the two agree.
 */
export const summaries: Record<string, string> = {
  build: 'Build an image from a Dockerfile (the default command)',
  parse: 'Parse a Dockerfile and print its syntax tree',
  plan: 'Compile a Dockerfile and print the build graph with its cache keys',
  run: 'Run a command in a new container from an image',
  images: 'List images in the local store',
  inspect: 'Show detailed information on images',
  history: 'Show the history of an image',
  tag: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  rmi: 'Remove one or more images',
  prune: 'Remove unused data from the store',
  du: 'Show disk usage of the store',
  fsck: 'Check the store for corruption and dangling references',
  version: 'Show the tsbuild version',
  diff: 'Compare two images, two builds, or the caches of two stores',
  analyze: 'Show wasted space and layer efficiency of an image (as dive does)',
  builds: 'List the build records kept by the store; export one',
  pull: 'Download an image from a registry into the local store',
  push: 'Upload an image from the local store to a registry',
  login: 'Log in to a registry (credentials saved in ~/.docker/config.json)',
  logout: 'Remove saved credentials for a registry',
  lint: 'Check Dockerfiles: BuildKit checks, hadolint rules and tsbuild rules',
};
