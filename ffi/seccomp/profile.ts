/**
 * The default seccomp profile for running untrusted programs, in the spirit of the default
 * profile of container runtimes: the system calls ordinary programs make are allowed, the ones
 * that reach past the sandbox (kernel modules, kexec, BPF, keyrings, other processes' memory,
 * mounts, namespaces, the clock, swap, ...) fail with EPERM, and every call the profile does
 * not list fails with ENOSYS, as if the kernel lacked it, so that programs take their fallback
 * path (glibc retries `clone3` as `clone`, for instance).
 *
 * The profile is a list of groups, each with the reason for its verdict; `DEFAULT_PROFILE` is
 * the policy they make. Names that do not exist on an architecture are skipped, so the same
 * profile compiles for every architecture with a table. `installPolicy(drv, [pid],
 * DEFAULT_PROFILE)` compiles it for a control process's architecture and installs it there.
 *
 * @example
 * ```ts
 * import { DEFAULT_PROFILE } from "./profile.ts";
 * import { assemble, compilePolicy } from "./mod.ts";
 *
 * const bytes = assemble(compilePolicy(DEFAULT_PROFILE, { arches: ["x86_64"] }));
 * ```
 *
 * @module
 */

import type { SeccompAction, SeccompPolicy, SeccompRule } from "./policy.ts";

const EPERM = 1;
const ENOSYS = 38;
const DENY: SeccompAction = { errno: EPERM };

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/**
 * The terminal requests that put input into a terminal: TIOCSTI (one character) and TIOCLINUX
 * (a virtual console's selection is pasted by one of its subcodes). Every architecture with a
 * table uses the generic tty numbering.
 */
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

/** personality(2) values that only change how the process sees the kernel, not what it may do. */
const SAFE_PERSONALITIES = [
  0x0, // PER_LINUX
  0x8, // PER_LINUX32
  0x20000, // UNAME26
  0x20008, // UNAME26 | PER_LINUX32
  0xffffffff, // query the current persona
];

/**
 * One group of the default profile: related system calls, the rules that decide them, and why.
 *
 * @example
 * ```ts
 * import type { ProfileGroup } from "./profile.ts";
 * const group: ProfileGroup = {
 *   title: "Swap",
 *   reason: "Swap areas are a host resource.",
 *   rules: [{ names: ["swapon", "swapoff"], action: { errno: 1 } }],
 * };
 * ```
 */
export interface ProfileGroup {
  /** A short title. */
  readonly title: string;
  /** Why these calls get these actions. */
  readonly reason: string;
  /** The rules, in order. */
  readonly rules: readonly SeccompRule[];
}

function allow(title: string, reason: string, names: string[]): ProfileGroup {
  return { title, reason, rules: [{ names, action: "allow" }] };
}

function deny(title: string, reason: string, names: string[]): ProfileGroup {
  return { title, reason, rules: [{ names, action: DENY }] };
}

/**
 * The groups of the default profile, allowed groups first, then denied ones. Each group's
 * `reason` says why; calls in no group fail with ENOSYS.
 *
 * @example
 * ```ts
 * import { DEFAULT_PROFILE_GROUPS } from "./profile.ts";
 * for (const group of DEFAULT_PROFILE_GROUPS) console.log(group.title, "-", group.reason);
 * ```
 */
export const DEFAULT_PROFILE_GROUPS: readonly ProfileGroup[] = [
  // ----- allowed -------------------------------------------------------------------------------
  allow("Reading and writing descriptors", "The everyday I/O of any program.", [
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "_llseek",
    "sendfile",
    "sendfile64",
    "copy_file_range",
    "splice",
    "tee",
    "vmsplice",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "fcntl64",
    "flock",
    "fsync",
    "fdatasync",
    "sync",
    "syncfs",
    "sync_file_range",
    "arm_sync_file_range",
    "fadvise64",
    "fadvise64_64",
    "arm_fadvise64_64",
    "readahead",
    "fallocate",
    "truncate",
    "truncate64",
    "ftruncate",
    "ftruncate64",
    "pipe",
    "pipe2",
    "memfd_create",
  ]),
  allow(
    "Files and directories",
    "Path-based calls; what a path may reach is for file permissions and mount namespaces to decide.",
    [
      "open",
      "openat",
      "openat2",
      "creat",
      "stat",
      "stat64",
      "fstat",
      "fstat64",
      "lstat",
      "lstat64",
      "newfstatat",
      "fstatat64",
      "statx",
      "statfs",
      "statfs64",
      "fstatfs",
      "fstatfs64",
      "access",
      "faccessat",
      "faccessat2",
      "readlink",
      "readlinkat",
      "getdents",
      "getdents64",
      "getcwd",
      "chdir",
      "fchdir",
      "mkdir",
      "mkdirat",
      "rmdir",
      "rename",
      "renameat",
      "renameat2",
      "link",
      "linkat",
      "symlink",
      "symlinkat",
      "unlink",
      "unlinkat",
      "mknod",
      "mknodat",
      "chmod",
      "fchmod",
      "fchmodat",
      "fchmodat2",
      "chown",
      "chown32",
      "fchown",
      "fchown32",
      "fchownat",
      "lchown",
      "lchown32",
      "umask",
      "utime",
      "utimes",
      "utimensat",
      "utimensat_time64",
      "futimesat",
      "getxattr",
      "lgetxattr",
      "fgetxattr",
      "setxattr",
      "lsetxattr",
      "fsetxattr",
      "listxattr",
      "llistxattr",
      "flistxattr",
      "removexattr",
      "lremovexattr",
      "fremovexattr",
      "inotify_init",
      "inotify_init1",
      "inotify_add_watch",
      "inotify_rm_watch",
    ],
  ),
  allow("Memory", "Mapping and protecting the process's own memory.", [
    "brk",
    "mmap",
    "mmap2",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "mincore",
    "msync",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "remap_file_pages",
    "membarrier",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "map_shadow_stack",
    "cachestat",
  ]),
  allow(
    "Processes and threads",
    "Creating, running and waiting for the process's own children and threads.",
    [
      "fork",
      "vfork",
      "execve",
      "execveat",
      "exit",
      "exit_group",
      "wait4",
      "waitid",
      "waitpid",
      "set_tid_address",
      "set_robust_list",
      "get_robust_list",
      "futex",
      "futex_time64",
      "futex_waitv",
      "futex_wake",
      "futex_wait",
      "futex_requeue",
      "rseq",
      "arch_prctl",
      "set_thread_area",
      "get_thread_area",
      "set_tls",
      "get_tls",
      "cacheflush",
      "breakpoint",
      "riscv_flush_icache",
      "prctl",
      "getpid",
      "getppid",
      "gettid",
      "getpgid",
      "setpgid",
      "getpgrp",
      "getsid",
      "setsid",
      "capget",
      "capset",
      "getrlimit",
      "ugetrlimit",
      "setrlimit",
      "prlimit64",
      "getrusage",
      "getpriority",
      "setpriority",
      "ioprio_get",
      "ioprio_set",
      "sched_yield",
      "sched_getaffinity",
      "sched_setaffinity",
      "sched_getparam",
      "sched_setparam",
      "sched_getscheduler",
      "sched_setscheduler",
      "sched_getattr",
      "sched_setattr",
      "sched_get_priority_max",
      "sched_get_priority_min",
      "sched_rr_get_interval",
      "sched_rr_get_interval_time64",
      "pidfd_open",
      "pidfd_send_signal",
      "kill",
      "tkill",
      "tgkill",
    ],
  ),
  {
    title: "ioctl, except typing into a terminal",
    reason: "A program that shares the terminal of the shell that started it can push " +
      "characters into that terminal's input with TIOCSTI, or paste with TIOCLINUX, and the " +
      "shell runs them as commands once the sandbox ends. The request is compared on its low " +
      "32 bits, which are all the kernel reads.",
    rules: [
      ...[TIOCSTI, TIOCLINUX].map((request): SeccompRule => ({
        name: "ioctl",
        action: DENY,
        args: [{ arg: 1, op: "masked==", mask: 0xffffffff, value: request }],
      })),
      { name: "ioctl", action: "allow" },
    ],
  },
  {
    title: "clone without namespaces",
    reason: "clone(2) starts processes and threads, but with a CLONE_NEW* flag it creates " +
      "namespaces, which unprivileged user namespaces turn into new kernel attack surface.",
    rules: [
      {
        name: "clone",
        action: "allow",
        args: [{ arg: 0, op: "masked==", mask: CLONE_NAMESPACE_FLAGS, value: 0 }],
      },
      { name: "clone", action: DENY },
    ],
  },
  {
    title: "clone3",
    reason: "Its flags are in a struct in memory a filter cannot read; ENOSYS makes C libraries " +
      "fall back to clone(2), whose flags the rule above checks.",
    rules: [{ name: "clone3", action: { errno: ENOSYS } }],
  },
  allow("User and group ids", "Reading and changing the process's own credentials.", [
    "getuid",
    "getuid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getegid",
    "getegid32",
    "getresuid",
    "getresuid32",
    "getresgid",
    "getresgid32",
    "getgroups",
    "getgroups32",
    "setuid",
    "setuid32",
    "setgid",
    "setgid32",
    "setreuid",
    "setreuid32",
    "setregid",
    "setregid32",
    "setresuid",
    "setresuid32",
    "setresgid",
    "setresgid32",
    "setgroups",
    "setgroups32",
    "setfsuid",
    "setfsuid32",
    "setfsgid",
    "setfsgid32",
  ]),
  allow("Signals", "Handling, blocking, waiting for and sending signals.", [
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigpending",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "sigaction",
    "sigprocmask",
    "sigreturn",
    "sigpending",
    "sigsuspend",
    "signal",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "pause",
    "alarm",
    "restart_syscall",
  ]),
  allow(
    "Clocks and timers",
    "Reading clocks, sleeping and timers; setting clocks is denied below.",
    [
      "time",
      "gettimeofday",
      "clock_gettime",
      "clock_gettime64",
      "clock_getres",
      "clock_getres_time64",
      "clock_nanosleep",
      "clock_nanosleep_time64",
      "nanosleep",
      "getitimer",
      "setitimer",
      "timer_create",
      "timer_settime",
      "timer_settime64",
      "timer_gettime",
      "timer_gettime64",
      "timer_getoverrun",
      "timer_delete",
      "timerfd_create",
      "timerfd_settime",
      "timerfd_settime64",
      "timerfd_gettime",
      "timerfd_gettime64",
      "times",
    ],
  ),
  allow("Waiting for events", "poll, select, epoll, eventfd and asynchronous I/O.", [
    "select",
    "_newselect",
    "pselect6",
    "pselect6_time64",
    "poll",
    "ppoll",
    "ppoll_time64",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_cancel",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
  ]),
  allow(
    "Sockets",
    "Networking; which networks exist is for the network namespace to decide.",
    [
      "socket",
      "socketpair",
      "bind",
      "connect",
      "listen",
      "accept",
      "accept4",
      "getsockname",
      "getpeername",
      "sendto",
      "recvfrom",
      "send",
      "recv",
      "sendmsg",
      "recvmsg",
      "sendmmsg",
      "recvmmsg",
      "recvmmsg_time64",
      "shutdown",
      "setsockopt",
      "getsockopt",
      "socketcall",
    ],
  ),
  allow("System V and POSIX IPC", "Namespaced by the IPC namespace.", [
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "ipc",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_notify",
    "mq_getsetattr",
  ]),
  allow("System information", "Harmless questions about the system.", [
    "uname",
    "sysinfo",
    "getrandom",
    "getcpu",
  ]),
  allow(
    "Self-restriction",
    "seccomp and Landlock can only take rights away from the calling process.",
    ["seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"],
  ),
  {
    title: "personality with safe values",
    reason: "Linux, 32-bit Linux and the 2.6 uname emulation are harmless; other personas " +
      "change how the kernel lays out memory (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ...).",
    rules: [
      ...SAFE_PERSONALITIES.map((persona): SeccompRule => ({
        name: "personality",
        action: "allow",
        args: [{ arg: 0, op: "masked==", mask: 0xffffffff, value: persona }],
      })),
      { name: "personality", action: DENY },
    ],
  },
  // ----- denied with EPERM ---------------------------------------------------------------------
  deny("Kernel modules", "Loading code into the kernel is taking over the machine.", [
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "get_kernel_syms",
    "query_module",
  ]),
  deny("Replacing the kernel", "kexec boots another kernel and reboot stops this one.", [
    "kexec_load",
    "kexec_file_load",
    "reboot",
  ]),
  deny(
    "BPF and performance events",
    "Both expose large, often exploited kernel interfaces and can observe other processes.",
    ["bpf", "perf_event_open"],
  ),
  deny(
    "Kernel keyrings",
    "Keyrings are not namespaced: a sandbox could read or plant the host's keys.",
    ["add_key", "request_key", "keyctl"],
  ),
  deny(
    "userfaultfd",
    "Lets a process stall the kernel on a page fault, the usual tool to win kernel races.",
    ["userfaultfd"],
  ),
  deny(
    "Other processes",
    "Tracing, reading or writing another process's memory, or stealing its descriptors.",
    ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd"],
  ),
  deny(
    "Mounts and the root directory",
    "Changing the filesystem view is the sandbox's job, done before the program starts.",
    [
      "mount",
      "umount",
      "umount2",
      "pivot_root",
      "chroot",
      "move_mount",
      "fsopen",
      "fsconfig",
      "fsmount",
      "fspick",
      "open_tree",
      "mount_setattr",
    ],
  ),
  deny(
    "Namespaces",
    "Entering or creating namespaces; unprivileged user namespaces open kernel attack surface.",
    ["unshare", "setns"],
  ),
  deny("Swap", "Swap areas are a host resource.", ["swapon", "swapoff"]),
  deny("Setting clocks", "The system clock is shared with the host.", [
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_settime64",
    "adjtimex",
    "clock_adjtime",
    "clock_adjtime64",
  ]),
  deny("Accounting and quotas", "Host-wide settings.", ["acct", "quotactl", "quotactl_fd"]),
  deny("lookup_dcookie", "Exposes kernel paths for profiling; no ordinary use.", [
    "lookup_dcookie",
  ]),
  deny(
    "I/O ports and legacy modes",
    "Raw port access and the x86 real-mode and LDT interfaces are privileged or obsolete.",
    ["iopl", "ioperm", "vm86", "vm86old", "modify_ldt"],
  ),
  deny(
    "File handles",
    "open_by_handle_at opens any file of a filesystem by handle, bypassing the directory tree.",
    ["name_to_handle_at", "open_by_handle_at"],
  ),
  deny("Host names and kernel log", "Host-wide state.", [
    "sethostname",
    "setdomainname",
    "syslog",
  ]),
];

/**
 * The names of the calls the default profile allows (some only with safe arguments: `clone`
 * without namespace flags, `personality` with safe values, `ioctl` except TIOCSTI and
 * TIOCLINUX).
 *
 * @example
 * ```ts
 * import { DEFAULT_PROFILE_ALLOWED } from "./profile.ts";
 * console.log(DEFAULT_PROFILE_ALLOWED.includes("openat")); // true
 * ```
 */
export const DEFAULT_PROFILE_ALLOWED: readonly string[] = namesWith((rule) =>
  rule.action === "allow"
);

/**
 * The names of the calls the default profile denies with EPERM (for `clone`, `personality`
 * and `ioctl`: when their arguments are not the safe ones).
 *
 * @example
 * ```ts
 * import { DEFAULT_PROFILE_DENIED } from "./profile.ts";
 * console.log(DEFAULT_PROFILE_DENIED.includes("mount")); // true
 * ```
 */
export const DEFAULT_PROFILE_DENIED: readonly string[] = namesWith((rule) =>
  typeof rule.action === "object" && "errno" in rule.action && rule.action.errno === EPERM
);

function namesWith(predicate: (rule: SeccompRule) => boolean): string[] {
  const names = new Set<string>();
  for (const group of DEFAULT_PROFILE_GROUPS) {
    for (const rule of group.rules) {
      if (!predicate(rule)) continue;
      for (const name of rule.name === undefined ? rule.names : [rule.name]) names.add(name);
    }
  }
  return [...names];
}

/**
 * The default profile as a policy: the rules of `DEFAULT_PROFILE_GROUPS`, ENOSYS for every
 * other call, and names missing on an architecture skipped.
 *
 * @example
 * ```ts
 * import { DEFAULT_PROFILE } from "./profile.ts";
 * import { compilePolicy } from "./mod.ts";
 *
 * const program = compilePolicy(DEFAULT_PROFILE, { arches: ["aarch64"] });
 * ```
 */
export const DEFAULT_PROFILE: SeccompPolicy = {
  defaultAction: { errno: ENOSYS },
  rules: DEFAULT_PROFILE_GROUPS.flatMap((group) => group.rules),
  skipUnknown: true,
};
