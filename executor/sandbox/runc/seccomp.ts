/**
 * Docker's default seccomp profile (moby's profiles/seccomp/default.json, the one `docker run` and BuildKit's RUN
 * sandboxes apply), resolved into the OCI `linux.seccomp` section for one capability set, architecture and kernel.
 *
 * The profile is an allowlist: anything not named fails with EPERM. Entries conditioned on capabilities follow the
 * process's capabilities, so with Docker's 14 (no CAP_SYS_ADMIN) a RUN cannot mount, unshare, setns, create
 * namespaces through clone, or use keyctl/add_key, bpf or perf_event_open; clone3 fails with ENOSYS so that libc
 * falls back to clone, whose flags the profile can inspect. Syscall names the host's libseccomp does not know are
 * skipped by runc, as with Docker.
 */

/** The OCI runtime spec's LinuxSeccomp. */
export interface OciSeccomp {
  readonly defaultAction: 'SCMP_ACT_ERRNO';
  readonly defaultErrnoRet: number;
  readonly architectures: readonly string[];
  readonly syscalls: readonly OciSyscallRule[];
}

export interface OciSyscallRule {
  readonly names: readonly string[];
  readonly action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  readonly errnoRet?: number;
  readonly args?: readonly { readonly index: number; readonly value: number; readonly valueTwo: number; readonly op: string }[];
}

/** Where the profile runs: capabilities (kernel names), Node's `process.arch`, the kernel release (`os.release()`). */
export interface SeccompTarget {
  readonly caps: readonly string[];
  readonly arch: string;
  readonly kernel: string;
}

const EPERM = 1;
const ENOSYS = 38;

/** Namespace flags a clone without CAP_SYS_ADMIN must not carry (NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET). */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
/** socket(2) domain the profile refuses: AF_VSOCK. */
const AF_VSOCK = 40;
/** personality(2) values allowed: PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and the query 0xffffffff. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** Syscalls every container may make (Docker's unconditional allowlist). */
const ALWAYS = `accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 clock_adjtime
clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64
close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat
faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64
fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 getegid getegid32
geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid
getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid
getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init
inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get
ioprio_set io_setup io_submit io_uring_enter io_uring_register io_uring_setup ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr
_llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat
mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock
munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open
pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv
recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall
rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid
setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall
socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill
time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64
ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid
write writev`.split(/\s+/);

/** Syscalls allowed only with a capability. */
const BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYS_ADMIN: `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr
move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2
unshare`.split(/\s+/),
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_MODULE: ['delete_module', 'init_module', 'finit_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

/** The profile's syscalls for arm and arm64 alike. */
const ARM_SYSCALLS = ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'];

/** Per Node architecture: libseccomp's architectures (native first) and the profile's arch-only syscalls. */
const ARCHES: Readonly<Record<string, { readonly seccomp: readonly string[]; readonly syscalls: readonly string[]; readonly s390: boolean }>> = {
  x64: { seccomp: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: ['arch_prctl', 'modify_ldt'], s390: false },
  ia32: { seccomp: ['SCMP_ARCH_X86'], syscalls: ['modify_ldt'], s390: false },
  arm64: { seccomp: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'], syscalls: ARM_SYSCALLS, s390: false },
  arm: { seccomp: ['SCMP_ARCH_ARM'], syscalls: ARM_SYSCALLS, s390: false },
  ppc64: { seccomp: ['SCMP_ARCH_PPC64LE'], syscalls: ['sync_file_range2', 'swapcontext'], s390: false },
  s390x: { seccomp: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'], syscalls: ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], s390: true },
  riscv64: { seccomp: ['SCMP_ARCH_RISCV64'], syscalls: ['riscv_flush_icache'], s390: false },
};

/** Whether a kernel release (`6.1.0-13-amd64`) is at least major.minor. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

/** Docker's default profile for `target`; throws for an architecture the profile does not cover. */
export function dockerSeccomp(target: SeccompTarget): OciSeccomp {
  const arch = ARCHES[target.arch];
  if (!arch) throw new Error(`no seccomp profile for architecture ${target.arch}`);
  const caps = new Set(target.caps);
  const allow = new Set([...ALWAYS, ...arch.syscalls]);
  // ptrace and process_vm_* became safe to allow once the kernel stopped letting ptrace bypass seccomp (4.8)
  if (kernelAtLeast(target.kernel, 4, 8)) for (const s of ['process_vm_readv', 'process_vm_writev', 'ptrace']) allow.add(s);
  for (const [cap, names] of Object.entries(BY_CAPABILITY)) if (caps.has(cap)) for (const s of names) allow.add(s);
  const syscalls: OciSyscallRule[] = [
    { names: [...allow].sort(), action: 'SCMP_ACT_ALLOW' },
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, valueTwo: 0, op: 'SCMP_CMP_NE' }] },
    ...PERSONALITIES.map((p): OciSyscallRule => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: p, valueTwo: 0, op: 'SCMP_CMP_EQ' }] })),
  ];
  if (!caps.has('CAP_SYS_ADMIN')) {
    // clone without namespace flags (s390 passes the flags second); clone3's flags live in memory seccomp cannot
    // read, so it reports ENOSYS and libc retries with clone
    syscalls.push(
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: arch.s390 ? 1 : 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    );
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: [...arch.seccomp], syscalls };
}
