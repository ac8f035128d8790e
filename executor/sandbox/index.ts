/**
 * Sandbox entry point: the interface types plus `createSandbox`, which picks a backend.
 */
import { createRuncSandbox } from './runc/runc-sandbox.ts';
import type { Sandbox } from './sandbox.ts';

export type { ExtraHost, OciMount, RunIo, RunResult, RunSpec, Sandbox } from './sandbox.ts';
export { DEFAULT_HOSTNAME, DEFAULT_PATH } from './sandbox.ts';

/**
 * Creates the default sandbox: runc from PATH unless `runtime: 'crun'`. State (bundles, runtime state) under
 * `stateRoot` (default `/run/tsbuild`).
 */
export function createSandbox(opts: { runtime?: 'runc' | 'crun'; stateRoot?: string } = {}): Sandbox {
  return createRuncSandbox(opts);
}
