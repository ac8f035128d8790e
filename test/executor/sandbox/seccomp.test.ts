/**
 * Docker's default seccomp profile as tsbuild resolves it (pure): what a RUN with Docker's 14 capabilities may and
 * may not call. The runc test checks the same filter on a real container.
 */
import { describe, expect, it } from 'vitest';
import { DOCKER_CAPABILITIES } from '../../../executor/sandbox/runc/config.ts';
import { dockerSeccomp, kernelAtLeast, type OciSeccomp, type OciSyscallRule } from '../../../executor/sandbox/runc/seccomp.ts';

const amd64 = dockerSeccomp({ caps: DOCKER_CAPABILITIES, arch: 'x64', kernel: '6.1.0-13-amd64' });

/** The unconditional allowlist of a profile. */
function allowed(p: OciSeccomp): Set<string> {
  return new Set(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.args === undefined).flatMap((r) => r.names));
}
/** The conditional rules for one syscall. */
function rulesFor(p: OciSeccomp, name: string): OciSyscallRule[] {
  return p.syscalls.filter((r) => r.names.includes(name) && (r.args !== undefined || r.action !== 'SCMP_ACT_ALLOW'));
}

describe("Docker's default seccomp profile", () => {
  it('denies by default with EPERM, on the native and compat architectures', () => {
    expect(amd64.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(amd64.defaultErrnoRet).toBe(1);
    expect(amd64.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const arm = dockerSeccomp({ caps: DOCKER_CAPABILITIES, arch: 'arm64', kernel: '6.1' });
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowed(arm).has('set_tls')).toBe(true);
    expect(allowed(arm).has('arch_prctl')).toBe(false);
    expect(() => dockerSeccomp({ caps: [], arch: 'sparc', kernel: '6.1' })).toThrow(/sparc/);
  });

  it('allows what builds need: files, processes, sockets, chroot (CAP_SYS_CHROOT), arch_prctl on amd64', () => {
    const a = allowed(amd64);
    for (const s of ['read', 'write', 'openat', 'execve', 'fork', 'vfork', 'wait4', 'setresuid', 'setgroups', 'chown', 'mknod', 'chroot', 'arch_prctl', 'io_uring_setup', 'statx']) {
      expect(a.has(s), s).toBe(true);
    }
  });

  it('refuses namespaces, mounts, keyrings, bpf, perf and module loading without CAP_SYS_ADMIN and friends', () => {
    const a = allowed(amd64);
    for (const s of ['unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'init_module', 'reboot', 'swapon', 'kexec_load', 'open_by_handle_at', 'clock_settime', 'sethostname']) {
      expect(a.has(s), s).toBe(false);
    }
  });

  it('lets clone through only without namespace flags; clone3 reports ENOSYS so libc falls back to clone', () => {
    expect(allowed(amd64).has('clone')).toBe(false);
    expect(rulesFor(amd64, 'clone')).toEqual([{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    expect(rulesFor(amd64, 'clone3')).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    const s390 = dockerSeccomp({ caps: DOCKER_CAPABILITIES, arch: 's390x', kernel: '6.1' });
    expect(rulesFor(s390, 'clone')[0]!.args![0]!.index).toBe(1);
  });

  it('with CAP_SYS_ADMIN, namespaces and mounts are allowed and clone is unconditional (as docker --cap-add SYS_ADMIN)', () => {
    const admin = dockerSeccomp({ caps: [...DOCKER_CAPABILITIES, 'CAP_SYS_ADMIN'], arch: 'x64', kernel: '6.1' });
    const a = allowed(admin);
    for (const s of ['unshare', 'setns', 'mount', 'clone', 'clone3']) expect(a.has(s), s).toBe(true);
    expect(rulesFor(admin, 'clone')).toEqual([]);
    expect(rulesFor(admin, 'clone3')).toEqual([]);
  });

  it('allows socket except AF_VSOCK, and only the known personality values', () => {
    expect(rulesFor(amd64, 'socket')).toEqual([{ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, valueTwo: 0, op: 'SCMP_CMP_NE' }] }]);
    expect(rulesFor(amd64, 'personality').map((r) => r.args![0]!.value)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
  });

  it('allows ptrace and process_vm_* from kernel 4.8 only (earlier ptrace could bypass seccomp)', () => {
    expect(allowed(amd64).has('ptrace')).toBe(true);
    const old = dockerSeccomp({ caps: DOCKER_CAPABILITIES, arch: 'x64', kernel: '4.4.0-210-generic' });
    expect(allowed(old).has('ptrace')).toBe(false);
    expect(allowed(old).has('process_vm_readv')).toBe(false);
    expect(kernelAtLeast('4.8.0', 4, 8)).toBe(true);
    expect(kernelAtLeast('5.0', 4, 8)).toBe(true);
    expect(kernelAtLeast('4.7.10', 4, 8)).toBe(false);
    expect(kernelAtLeast('garbage', 4, 8)).toBe(false);
  });
});
