import type { Command } from '../command.ts';

/**
 * Every subcommand, loaded lazily so that start-up only pays for the command that runs.
 * To add one: create cli/commands/<name>.ts exporting `command: Command`, and add a line here.
 */
export const commands: Record<string, () => Promise<Command>> = {
  version: async () => (await import('./version.ts')).command,
  parse: async () => (await import('./parse.ts')).command,
};
