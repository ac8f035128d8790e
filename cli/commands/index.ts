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
};
