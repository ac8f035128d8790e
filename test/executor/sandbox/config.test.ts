import { describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, buildRuncConfig, capabilitiesOf, DOCKER_CAPABILITIES, DOCKER_CAPABILITY_MASK, hostsFile, resolvConfFor, rlimitsFromProc } from '../../../executor/sandbox/runc/config.ts';
import { dockerSeccomp } from '../../../executor/sandbox/runc/seccomp.ts';
import type { RunSpec } from '../../../executor/sandbox/sandbox.ts';

const CAP_BITS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_RAW: 13, CAP_SYS_CHROOT: 18, CAP_MKNOD: 27, CAP_AUDIT_WRITE: 29, CAP_SETFCAP: 31,
};

const spec: RunSpec = { rootfs: '/r', argv: ['sh'], env: ['A=1'], cwd: '/w', user: { uid: 1, gid: 2, additionalGids: [3] }, mounts: [], network: 'none' };
const facts = { resolvConf: '/b/resolv.conf', hosts: '/b/hosts', rlimits: [{ type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 }], cgroupsPath: '/tsbuild/x', seccomp: dockerSeccomp({ caps: DOCKER_CAPABILITIES, arch: 'x64', kernel: '6.1.0' }), privilegedCapabilities: capabilitiesOf(0x1fffeffffffn) };

describe('runc config.json', () => {
  it("has Docker's 14 capabilities, empty inheritable/ambient, and noNewPrivileges=false", () => {
    const c = buildRuncConfig(spec, facts) as { process: { capabilities: Record<string, string[]>; noNewPrivileges: boolean; env: string[] } };
    expect(DOCKER_CAPABILITIES).toHaveLength(14);
    const mask = DOCKER_CAPABILITIES.reduce((m, cap) => m | (1n << BigInt(CAP_BITS[cap]!)), 0n);
    expect(mask).toBe(DOCKER_CAPABILITY_MASK);
    expect(c.process.capabilities['inheritable']).toEqual([]);
    expect(c.process.capabilities['ambient']).toEqual([]);
    expect(c.process.capabilities['bounding']).toEqual(DOCKER_CAPABILITIES);
    expect(c.process.noNewPrivileges).toBe(false);
    expect(c.process.env).toEqual(['A=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  });

  it('adds a network namespace only for none; user mounts come after the standard ones', () => {
    type C = { linux: { namespaces: { type: string }[] }; mounts: { destination: string }[]; hostname: string };
    const none = buildRuncConfig({ ...spec, mounts: [{ destination: '/etc/hosts', type: 'bind', source: '/x', options: ['rbind'] }] }, facts) as C;
    expect(none.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
    expect(none.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/etc/resolv.conf', '/etc/hosts', '/etc/hosts']);
    expect(none.hostname).toBe('buildkitsandbox');
    const host = buildRuncConfig({ ...spec, network: 'host', hostname: 'h' }, facts) as C;
    expect(host.linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(host.hostname).toBe('h');
  });

  it('carries the seccomp filter it is given', () => {
    const c = buildRuncConfig(spec, facts) as { linux: { seccomp: unknown } };
    expect(c.linux.seccomp).toEqual(facts.seccomp);
    expect(JSON.parse(JSON.stringify(c)).linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
  });

  it('a privileged spec gets every capability the host process holds, no seccomp, no masked paths, /sys rw, all devices', () => {
    type C = { process: { capabilities: Record<string, string[]> }; linux: Record<string, unknown>; mounts: { destination: string; options: string[] }[] };
    const c = buildRuncConfig({ ...spec, privileged: true }, facts) as C;
    expect(c.process.capabilities['bounding']).toEqual(facts.privilegedCapabilities);
    expect(c.process.capabilities['effective']).toContain('CAP_SYS_ADMIN');
    expect(c.process.capabilities['effective']).not.toContain('CAP_SYS_RESOURCE');
    expect(c.process.capabilities['inheritable']).toEqual([]);
    expect('seccomp' in c.linux).toBe(false);
    expect(c.linux['maskedPaths']).toEqual([]);
    expect(c.linux['readonlyPaths']).toEqual([]);
    expect(c.linux['resources']).toEqual({ devices: [{ allow: true, access: 'rwm' }] });
    expect(c.mounts.find((m) => m.destination === '/sys')!.options).toContain('rw');
    const confined = buildRuncConfig(spec, facts) as C;
    expect(confined.mounts.find((m) => m.destination === '/sys')!.options).toContain('ro');
    expect(confined.linux['resources']).toEqual({ devices: [{ allow: false, access: 'rwm' }] });
  });

  it('names capability masks by bit number', () => {
    expect(ALL_CAPABILITIES).toHaveLength(41);
    expect(ALL_CAPABILITIES[21]).toBe('CAP_SYS_ADMIN');
    expect(capabilitiesOf(DOCKER_CAPABILITY_MASK).sort()).toEqual([...DOCKER_CAPABILITIES].sort());
    expect(capabilitiesOf(0x1fffeffffffn)).toHaveLength(40);
    expect(capabilitiesOf(1n << 60n)).toEqual([]);
  });

  it('rlimits never exceed the host hard limit', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\n';
    expect(rlimitsFromProc(limits)).toEqual([{ type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 }]);
    expect(rlimitsFromProc('Max open files            unlimited            unlimited            files')).toEqual([{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }]);
  });

  it('generates hosts and filters loopback nameservers without host networking', () => {
    expect(hostsFile('buildkitsandbox', [{ host: 'db', ip: '10.0.0.2' }])).toBe('127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.2\tdb\n');
    const host = 'nameserver 127.0.0.53\nnameserver 10.0.0.1\noptions edns0\n';
    expect(resolvConfFor(host, 'none')).toBe('nameserver 10.0.0.1\noptions edns0\n');
    expect(resolvConfFor(host, 'host')).toBe(host);
  });

  it('rejects an empty argv or a relative cwd (bugs in the caller)', () => {
    expect(() => buildRuncConfig({ ...spec, argv: [] }, facts)).toThrow(/empty argv/);
    expect(() => buildRuncConfig({ ...spec, cwd: 'rel' }, facts)).toThrow(/absolute/);
  });
});
