import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the content store lives: TSBUILD_ROOT, else /var/lib/tsbuild for root, else ~/.local/share/tsbuild
 * (XDG_DATA_HOME honoured). Shared by the CLI and the library entry (index.ts).
 */
export function defaultStoreRoot(env: NodeJS.ProcessEnv): string {
  if (env.TSBUILD_ROOT) return env.TSBUILD_ROOT;
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'tsbuild');
}
