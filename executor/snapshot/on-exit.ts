/**
 * A process-wide registry of cleanups that must run when tsbuild is interrupted: kill running containers, then
 * unmount overlays, so Ctrl-C never leaves a mount or a container behind.
 *
 * On the first registration SIGINT, SIGTERM and SIGHUP handlers are installed. On such a signal every registered
 * cleanup runs (newest first: containers started on top of a mount are killed before the mount goes), then the
 * handlers are removed and the signal is re-raised so the process dies with the usual status. On a plain
 * `process.exit` only the synchronous variants can run; they are run too.
 *
 * The CLI may call `runExitCleanups()` itself (e.g. from its own Ctrl-C handling) before exiting.
 */
interface Entry {
  readonly async: () => Promise<void> | void;
  readonly sync: (() => void) | undefined;
}

const entries = new Map<number, Entry>();
let nextId = 1;
let installed = false;
let running: Promise<void> | undefined;

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** Cleanups get this long in total before the signal is re-raised anyway. */
const SIGNAL_DEADLINE_MS = 15_000;

function onSignal(sig: NodeJS.Signals): void {
  void runExitCleanups().finally(() => {
    uninstall();
    process.kill(process.pid, sig);
  });
  // A second Ctrl-C while cleaning up is absorbed by the still-installed handler; the deadline bounds the wait.
  setTimeout(() => {
    uninstall();
    process.kill(process.pid, sig);
  }, SIGNAL_DEADLINE_MS).unref();
}

function onProcessExit(): void {
  for (const e of [...entries.values()].reverse()) {
    try {
      e.sync?.();
    } catch {
      // Best effort while the process is going away.
    }
  }
  entries.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', onProcessExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('exit', onProcessExit);
}

/**
 * Registers a cleanup. `sync` (optional) is what can be done synchronously from `process.on('exit')`.
 * @returns a function that unregisters it (call it once the resource is released normally).
 */
export function onExit(cleanup: () => Promise<void> | void, sync?: () => void): () => void {
  install();
  const id = nextId++;
  entries.set(id, { async: cleanup, sync });
  return () => {
    entries.delete(id);
  };
}

/** Runs every registered cleanup now (newest first), once; errors are swallowed (best effort). */
export function runExitCleanups(): Promise<void> {
  running ??= (async () => {
    const list = [...entries.entries()].reverse();
    for (const [id, e] of list) {
      entries.delete(id);
      try {
        await e.async();
      } catch {
        // Keep going: one failed unmount must not leave the rest mounted.
      }
    }
  })().finally(() => {
    running = undefined;
  });
  return running;
}

/** How many cleanups are registered (for tests and leak checks). */
export function pendingExitCleanups(): number {
  return entries.size;
}
