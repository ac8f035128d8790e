/**
 * OCI runtime config (config.json) for one sandboxed run: a pure function of the RunSpec plus a few host facts.
 * Follows Docker/BuildKit defaults (reference §4): Docker's 14 capabilities in bounding/effective/permitted with
 * inheritable and ambient empty (CVE-2022-24769), masked and read-only /proc paths, a fresh /dev tmpfs every run,
 * /sys read-only, generated resolv.conf/hosts bind-mounted read-only, and Docker's default seccomp profile (seccomp.ts).
 */
import { DEFAULT_HOSTNAME, DEFAULT_PATH, type OciMount, type RunSpec } from '../sandbox.ts';
import type { OciSeccomp } from './seccomp.ts';

/** Docker's default capability set, in the kernel's names. */
export const DOCKER_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability by bit number (capability(7)), for privileged containers and /proc/<pid>/status masks. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The capability names of a bit mask (`CapBnd` of /proc/self/status); bits past the known names are left out. */
export function capabilitiesOf(mask: bigint): string[] {
  return ALL_CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

/** The same set as a /proc/<pid>/status CapEff bit mask (`00000000a80425fb`). */
export const DOCKER_CAPABILITY_MASK = 0xa80425fbn;

export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** A process resource limit as config.json wants it. */
export interface Rlimit {
  readonly type: string;
  readonly soft: number;
  readonly hard: number;
}

/** Host facts the config depends on, gathered by the caller (I/O stays out of this module). */
export interface HostFacts {
  /** Host path of the generated resolv.conf. */
  readonly resolvConf: string;
  /** Host path of the generated hosts file. */
  readonly hosts: string;
  /** Limits to apply; each must not exceed the host's hard limit (no CAP_SYS_RESOURCE to raise it). */
  readonly rlimits: readonly Rlimit[];
  /** cgroup path for the container (`/tsbuild/<id>`), so leftovers are recognisable. */
  readonly cgroupsPath: string;
  /** The seccomp filter: Docker's default profile for DOCKER_CAPABILITIES on this host (`dockerSeccomp`). */
  readonly seccomp: OciSeccomp;
  /** What a privileged container gets: the capabilities tsbuild's own process may hand on (its bounding set). */
  readonly privilegedCapabilities: readonly string[];
}

/** Standard mounts every sandbox gets, before the spec's own. */
export function standardMounts(facts: Pick<HostFacts, 'resolvConf' | 'hosts'>, privileged = false): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: privileged ? ['nosuid', 'noexec', 'nodev', 'rw'] : ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: facts.resolvConf, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
    { destination: '/etc/hosts', type: 'bind', source: facts.hosts, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
  ];
}

/** The env with a default PATH appended when none is set. */
export function withDefaultPath(env: readonly string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? [...env] : [...env, `PATH=${DEFAULT_PATH}`];
}

/** Builds config.json for `spec`. Pure. */
export function buildRuncConfig(spec: RunSpec, facts: HostFacts): Record<string, unknown> {
  if (spec.argv.length === 0) throw new Error('buildRuncConfig: empty argv');
  if (!spec.cwd.startsWith('/')) throw new Error(`buildRuncConfig: cwd must be absolute, got ${spec.cwd}`);
  const namespaces: { type: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  // A new network namespace gets only `lo`; runc brings it up. `host` simply omits the namespace.
  if (spec.network === 'none') namespaces.push({ type: 'network' });
  const privileged = spec.privileged === true;
  const caps = privileged ? facts.privilegedCapabilities : DOCKER_CAPABILITIES;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.tty === true,
      user: { uid: spec.user.uid, gid: spec.user.gid, additionalGids: [...spec.user.additionalGids] },
      args: [...spec.argv],
      env: withDefaultPath(spec.env),
      cwd: spec.cwd,
      capabilities: {
        bounding: [...caps],
        effective: [...caps],
        permitted: [...caps],
        inheritable: [],
        ambient: [],
      },
      rlimits: facts.rlimits.map((r) => ({ type: r.type, soft: r.soft, hard: r.hard })),
      noNewPrivileges: false,
    },
    root: { path: spec.rootfs, readonly: spec.readonlyRootfs === true },
    hostname: spec.hostname ?? DEFAULT_HOSTNAME,
    mounts: [...standardMounts(facts, privileged), ...spec.mounts].map((m) => ({
      destination: m.destination,
      type: m.type,
      source: m.source,
      options: [...m.options],
    })),
    linux: {
      cgroupsPath: facts.cgroupsPath,
      resources: { devices: [{ allow: privileged, access: 'rwm' }] },
      namespaces,
      maskedPaths: privileged ? [] : [...MASKED_PATHS],
      readonlyPaths: privileged ? [] : [...READONLY_PATHS],
      ...(privileged ? {} : { seccomp: facts.seccomp }),
    },
  };
}

/** The generated /etc/hosts: localhost names plus the sandbox hostname, then extra hosts. */
export function hostsFile(hostname: string, extra: readonly { host: string; ip: string }[] = []): string {
  const lines = [`127.0.0.1\tlocalhost ${hostname}`, '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const e of extra) lines.push(`${e.ip}\t${e.host}`);
  return lines.join('\n') + '\n';
}

/**
 * The resolv.conf for the sandbox, from the host's. With a private network namespace, nameservers on loopback
 * (systemd-resolved's 127.0.0.53) would point at the container itself, so they are dropped, as Docker does.
 */
export function resolvConfFor(hostResolvConf: string | undefined, network: 'host' | 'none'): string {
  const text = hostResolvConf ?? '';
  if (network === 'host') return text;
  return text
    .split('\n')
    .filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$)/.test(l))
    .join('\n');
}

/** Parses /proc/self/limits into the limits config.json should carry (open files only, as BuildKit sets). */
export function rlimitsFromProc(limitsText: string): Rlimit[] {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (m === null) return [];
  const num = (s: string): number => (s === 'unlimited' ? 1048576 : Number(s));
  // BuildKit asks for 1048576; never above the host's hard limit, which the container could not raise anyway.
  const hard = Math.min(1048576, num(m[2]!));
  return [{ type: 'RLIMIT_NOFILE', soft: hard, hard }];
}
