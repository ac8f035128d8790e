/**
 * The sandbox interface: run one process in a prepared root filesystem, isolated like a BuildKit RUN step.
 * Backends live beside it (`runc/`). Only backends spawn processes; callers hand in directories and get an exit code.
 */

/** An OCI runtime-spec mount (config.json `mounts[]`). */
export interface OciMount {
  /** Absolute path inside the container. */
  readonly destination: string;
  /** Filesystem type (`bind`, `tmpfs`, `proc`, ...). For bind mounts `type: 'bind'` plus the `bind`/`rbind` option. */
  readonly type: string;
  /** Host path for bind mounts, a device label otherwise. */
  readonly source: string;
  readonly options: readonly string[];
}

/** An `/etc/hosts` entry added to the generated hosts file (`--add-host name:ip`). */
export interface ExtraHost {
  readonly host: string;
  readonly ip: string;
}

/** Everything a sandboxed run needs. Paths are host paths unless said otherwise. */
export interface RunSpec {
  /** A prepared directory (usually an overlay merged dir) that becomes `root.path`. */
  readonly rootfs: string;
  /** argv[0] is resolved through PATH inside the container (by runc). Must be non-empty. */
  readonly argv: readonly string[];
  /** `K=V` entries. A default PATH is appended when none is present (as BuildKit does). */
  readonly env: readonly string[];
  /** Absolute working directory inside the container; runc creates it when missing. */
  readonly cwd: string;
  readonly user: { readonly uid: number; readonly gid: number; readonly additionalGids: readonly number[] };
  /** Extra mounts, applied after the standard /proc, /dev, /sys, resolv.conf and hosts mounts (so they may cover them). */
  readonly mounts: readonly OciMount[];
  /** `host` shares the host's network namespace; `none` gets a private namespace with only `lo` (up). */
  readonly network: 'host' | 'none';
  /** Default `buildkitsandbox`. */
  readonly hostname?: string;
  readonly readonlyRootfs?: boolean;
  /** Data for the process's stdin (RUN heredocs); without it stdin is /dev/null. */
  readonly stdin?: string | Uint8Array;
  /** Allocate a terminal for the process (`tsbuild run -it`); use with `RunIo.inheritStdio`. */
  readonly tty?: boolean;
  readonly extraHosts?: readonly ExtraHost[];
  /**
   * A privileged container (`RUN --security=insecure` with the security.insecure entitlement, like BuildKit's): every
   * capability tsbuild itself holds, no seccomp filter, no masked or read-only /proc paths, /sys writable, every
   * device allowed by the devices cgroup.
   */
  readonly privileged?: boolean;
  /** Always false: setuid binaries (sudo, su, ping) must work as in Docker. */
  readonly noNewPrivileges?: false;
}

/** Where output goes and how a run is stopped. */
export interface RunIo {
  onStdout?(chunk: Buffer): void;
  onStderr?(chunk: Buffer): void;
  /** Aborting kills the container (SIGKILL), deletes it and rejects with TsbuildError `sandbox/aborted`. */
  readonly signal?: AbortSignal;
  /** A stream piped to the process's stdin (overrides `RunSpec.stdin`); for interactive `tsbuild run -i`. */
  readonly stdinStream?: NodeJS.ReadableStream;
  /**
   * Hand this process's own fds 0-2 straight to the runtime instead of pipes (onStdout/onStderr are then not
   * called). Needed for `-it`: the runtime puts the real terminal into raw mode and relays it to the container's pty.
   */
  readonly inheritStdio?: boolean;
}

/** The outcome of a run that started. A process that could not start is a TsbuildError `sandbox/start-failed`. */
export interface RunResult {
  /** The process's exit status; 128+N when it was killed by signal N. */
  readonly exitCode: number;
  /**
   * Rootfs-relative paths (no leading `/`) that did not exist before the run and were created only as mount points
   * (e.g. `etc/resolv.conf`, `run/secrets`). They have been removed again (when still empty and not a symlink), so
   * they are not in an overlay upperdir; the list is for layer writers that want to exclude them defensively
   * (`writeLayer({ excludePaths })`).
   */
  readonly mountStubs: readonly string[];
  /**
   * Rootfs-relative directories that existed before the run and got a mount stub created inside them. Their
   * mtime/atime were restored after the stubs were removed, so in an overlay upperdir they are metadata-identical
   * copy-ups unless the process itself changed them; a layer writer may skip such unchanged copy-ups.
   */
  readonly stubParents: readonly string[];
}

/** A container runtime backend. Safe to call `run` concurrently; each run gets a unique container id. */
export interface Sandbox {
  run(spec: RunSpec, io: RunIo): Promise<RunResult>;
}

/** Default hostname inside RUN sandboxes, as BuildKit's. */
export const DEFAULT_HOSTNAME = 'buildkitsandbox';

/** PATH added when the spec's env has none (BuildKit's default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
