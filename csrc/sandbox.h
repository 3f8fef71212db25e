/* The spawn request: one call that forks, confines and execs a program.
 *
 * The request is one BYTES argument holding records, each
 *   u8 tag, u32 length, length bytes
 * (little endian). The host validates everything; the control process checks the
 * framing and the ranges again before it forks, so the child only runs the steps.
 *
 * The child runs the steps in this fixed order (the same as bubblewrap's):
 * process group or session, namespaces (clone, into the v2 cgroup), id maps
 * (written by the parent while the child waits), the other cgroups (the child
 * writes itself into them through descriptors the parent opened), joining the
 * user namespace and pid namespace given as descriptors (the other namespaces
 * are then made inside them with unshare, and a process that stays outside
 * relays the program's status), descriptors closed but those passed on,
 * hostname, mounts and pivot_root, switching to the second user namespace
 * given, disabling further user namespaces (user.max_user_namespaces = 1, then
 * a nested one) or checking that they are, lock files, rlimits, cwd,
 * setgroups/gid/uid, capabilities,
 * no_new_privs, Landlock, the init of a new pid namespace (bubblewrap's reaper:
 * the program becomes pid 2), environment, seccomp last, exec. A failed step is
 * reported on a close-on-exec pipe
 * as one record (errno, step, what, path, strerror text); EOF with nothing on it
 * means the exec succeeded. */
#ifndef ALCOVE_SANDBOX_H
#define ALCOVE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* AddressSanitizer cannot follow a child running on a stack of our own: the
 * sanitizer build copies memory (fork) wherever a child would borrow it. */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_COPIES_MEMORY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_COPIES_MEMORY 1
#endif
#endif
#ifndef SPAWN_COPIES_MEMORY
#define SPAWN_COPIES_MEMORY 0
#endif

#include "alcove.h"
#include "cgroup.h"

enum {
    SB_ARG = 1,          /* one argv element (argv[0] is the program, searched in PATH) */
    SB_ENV = 2,          /* one "NAME=value" */
    SB_ENV_CLEAR = 3,    /* the environment is exactly the SB_ENV records */
    SB_NAMESPACES = 5,   /* u64 CLONE_NEW* flags */
    SB_UID = 6,          /* u32 uid inside */
    SB_GID = 7,          /* u32 gid inside */
    SB_HOSTNAME = 8,     /* the host name (needs CLONE_NEWUTS) */
    SB_MOUNT = 9,        /* u8 op, u8 flags, u32 mode, u64 size, then three strings, each
                          * u32 length and bytes: source, target, data */
    SB_CWD = 10,         /* the working directory */
    SB_RLIMIT = 11,      /* u32 resource, u64 cur, u64 max */
    SB_CAPS = 12,        /* u64 mask of capabilities kept */
    SB_NO_NEW_PRIVS = 13,
    SB_LANDLOCK = 14,    /* u8 access kind (SB_LL_*), then the path */
    SB_LANDLOCK_BEST_EFFORT = 15,
    SB_LANDLOCK_ON = 16, /* restrict the file system, even with no path allowed */
    SB_SECCOMP = 17,     /* a BPF program: 8-byte sock_filter instructions */
    SB_NEW_SESSION = 18,
    SB_DIE_WITH_PARENT = 19,
    SB_STDIO = 20,       /* u8 stdin, u8 stdout, u8 stderr: SB_STDIO_* */
    SB_TIMEOUT = 21,     /* u64 milliseconds of wall clock */
    SB_MAX_OUTPUT = 22,  /* u64 bytes of stdout and stderr together */
    SB_ROOT = 23,        /* build a new root from the mounts and pivot into it */
    SB_CGROUP = 24,      /* run it in a cgroup of its own (cgroup.h) */
    SB_CG_SET = 25,      /* u8 key (CG_*), u64 value: a limit */
    SB_CG_FILE = 26,     /* two strings, each u32 length and bytes: file name, value */
    SB_KEEP_PGRP = 27,   /* stay in the control process's process group (a terminal's
                          * foreground job stays one) */
    SB_INIT = 28,        /* with a new pid namespace: a reaper is pid 1, the program pid 2 */
    SB_CWD_TRY = 29,     /* a working directory to try, in order, when SB_CWD is absent;
                          * "/" when none exists; PWD is set to the one taken */
    SB_LOCK_FILE = 30,   /* a path in the new root to hold a read lock on (fcntl) while the
                          * sandbox runs */
    SB_PASS_FD = 31,     /* u32: a descriptor the control process inherited
                          * (alcove_inherited_fd), handed to the program at its number;
                          * empty: all of them but the /proc/self/fd/N sources of
                          * mounts */
    SB_USERNS = 32,      /* u32 descriptor: join this user namespace first (no CLONE_NEWUSER);
                          * the other namespaces are made inside it */
    SB_PIDNS = 33,       /* u32 descriptor: join this pid namespace (with CLONE_NEWPID, a new
                          * one is made below it) */
    SB_USERNS2 = 34,     /* u32 descriptor: switch to this user namespace after the mounts */
    SB_DISABLE_USERNS = 35, /* no further user namespaces inside (needs CLONE_NEWUSER) */
    SB_ASSERT_USERNS_DISABLED = 36, /* fail unless further user namespaces are refused */
};

enum { SB_STDIO_PIPE = 0, SB_STDIO_NULL = 1, SB_STDIO_INHERIT = 2 };

enum { SB_LL_READ = 0, SB_LL_WRITE = 1, SB_LL_EXECUTE = 2 };

enum {
    SB_MNT_BIND = 1,
    SB_MNT_RO_BIND = 2,
    SB_MNT_DEV_BIND = 3,
    SB_MNT_REMOUNT_RO = 4,
    SB_MNT_TMPFS = 5,
    SB_MNT_PROC = 6,
    SB_MNT_DEV = 7,
    SB_MNT_MQUEUE = 8,
    SB_MNT_DIR = 9,
    SB_MNT_SYMLINK = 10,
    SB_MNT_FILE = 11,
    SB_MNT_CHMOD = 12,
    SB_MNT_BIND_DATA = 13,    /* data written to a file of the scratch root, bound on target */
    SB_MNT_RO_BIND_DATA = 14, /* the same, read-only */
};
#define SB_MNT_TRY 1u /* a missing source is skipped (bubblewrap's -try forms) */
#define SB_MODE_DEFAULT 0xffffffffu

/* Why a spawned program ended, where its status alone does not say (the usage event
 * says so): a limit the control process kept, or the kernel's. */
enum {
    SB_REASON_NONE = 0,
    SB_REASON_TIMEOUT = 1,
    SB_REASON_OUTPUT = 2,
    SB_REASON_KILLED = 3,
    SB_REASON_OOM = 4,     /* the memory controller killed it */
    SB_REASON_SECCOMP = 5, /* SIGSYS, under a seccomp filter it was given or inherited */
};

#define SB_MAX_MOUNTS 1024
#define SB_MAX_RLIMITS 32
#define SB_MAX_LANDLOCK 256
#define SB_MAX_CG_FILES 64
#define SB_MAX_SECCOMP 8
#define SB_MAX_CWD_TRY 4
#define SB_MAX_LOCK_FILES 16
#define SB_MAX_PASS_FDS ALCOVE_MAX_INHERITED

struct sb_str {
    const char *s; /* NUL terminated copy in the request buffer (see sandbox.c) */
    size_t len;
};

struct sb_mount {
    unsigned op, flags;
    uint32_t mode;
    uint64_t size;
    struct sb_str source, target, data;
};

struct sb_rlimit {
    int resource;
    uint64_t cur, max;
};

struct sb_landlock {
    unsigned kind;
    struct sb_str path;
};

struct alcove_sandbox {
    char **argv;
    char **envp;
    size_t argc, envc;
    int env_clear;
    unsigned long long namespaces;
    int has_uid, has_gid;
    uid_t uid;
    gid_t gid;
    struct sb_str hostname;
    struct sb_mount *mounts;
    size_t nmounts;
    int new_root;
    struct sb_str cwd;
    struct sb_rlimit rlimits[SB_MAX_RLIMITS];
    size_t nrlimits;
    int has_caps;
    uint64_t caps;
    int no_new_privs;
    int landlock, landlock_best_effort;
    struct sb_landlock *landlock_rules;
    size_t nlandlock;
    const unsigned char *seccomp[SB_MAX_SECCOMP]; /* installed in order */
    size_t seccomp_len[SB_MAX_SECCOMP];
    size_t nseccomp;
    struct sb_str cwd_try[SB_MAX_CWD_TRY];
    size_t ncwd_try;
    struct sb_str lock_files[SB_MAX_LOCK_FILES];
    size_t nlock_files;
    int new_session, die_with_parent, keep_pgrp, init;
    int pass_fd[SB_MAX_PASS_FDS];
    size_t npass_fds;
    int pass_all_fds;
    int userns_fd, pidns_fd, userns2_fd; /* -1: none */
    int disable_userns, assert_userns_disabled;
    unsigned stdio[3];
    uint64_t timeout_ms, max_output;
    int has_timeout, has_max_output; /* a limit of 0 is one: at once, no byte */
    struct alcove_cg_request cg;
    /* Filled in by the parent for the child. */
    pid_t parent;      /* the control process */
    long long deadline_ns; /* when its timeout is reached (CLOCK_MONOTONIC), 0: no timeout */
    int report_fd;     /* close-on-exec pipe for a failed step */
    /* With seccomp filters: a page shared with the parent that also gets a failed step's
     * record (4 bytes of length, then the record), which needs no system call: the filters
     * may refuse the write to report_fd, and the exit after it, to an exec that failed. */
    unsigned char *shared_report;
    int sync_fd;       /* the child waits here for its id maps (and the host's look) */
    const struct alcove_cg *cgroup; /* the cgroups the child moves itself into, or NULL */
    int cg_into_v2;    /* it was born in the v2 one */
    int stdio_fd[3];   /* descriptors to become 0, 1, 2 (-1: keep the control process's) */
    char *arena;       /* the strings */
    char **exec_env;   /* the environment the program gets (alcove_sandbox_env) */
};

/* Decode a request; strings are copied, NUL terminated, into an arena the sandbox
 * owns. Returns 0; -EINVAL with a message in *why; or -ENOMEM. Free with
 * alcove_sandbox_free. */
int alcove_sandbox_decode(struct alcove_sandbox *sb, const unsigned char *p, size_t len,
                          const char **why);
void alcove_sandbox_free(struct alcove_sandbox *sb);

/* The program's environment, made in the parent: the records alone (SB_ENV_CLEAR), or
 * this process's environment with the records added or replacing. The child may share
 * this process's memory (spawn without namespaces), so it must not change `environ`.
 * Returns 0 or -ENOMEM. */
int alcove_sandbox_env(struct alcove_sandbox *sb);

/* In the child after clone: run every step and exec; never returns. */
void alcove_sandbox_child(struct alcove_sandbox *sb, struct alcove_state *ap) __attribute__((noreturn));

/* Kill a spawned program and everything it started that can still be found: its
 * process group, its pid namespace (when it is init there) and its descendants. */
void alcove_kill_tree(pid_t pid, int sig);

/* The children of a process, from every thread's /proc children list: up to cap of them
 * in out; returns how many. Both in /proc's numbers (see alcove_proc_view). */
size_t alcove_children_of(pid_t pid, pid_t *out, size_t cap);

/* How /proc numbers this process's pids. A control process in a pid namespace of its own (a
 * Task cloned with CLONE_NEWPID) has its parent namespace's /proc: there, its pid 2 is some
 * other process. `level` is the place of this process's namespace in the NSpid lines of
 * /proc/PID/status (0: /proc is its own, the numbers are the same; -1: /proc does not show
 * this process at all); `self` is this process's pid in /proc's numbers. */
struct alcove_proc_view {
    int level;
    pid_t self;
};
struct alcove_proc_view alcove_proc_view(void);

/* A child of this process (by this process's numbering) in /proc's numbers; 0 when it is
 * not found. */
pid_t alcove_proc_pid(const struct alcove_proc_view *v, pid_t child);

/* A process found in /proc, in this process's numbering; 0 when it has none (gone, or not
 * in this process's pid namespace). */
pid_t alcove_pid_of_proc(const struct alcove_proc_view *v, pid_t proc_pid);

/* The size of a shared report page (struct alcove_sandbox's shared_report). */
#define SB_SHARED_REPORT 4096

/* The record in a shared report page, if the child left one: its length, 0 for none. */
size_t alcove_shared_report(const unsigned char *page, const unsigned char **record);

/* The monotonic clock in nanoseconds (deadlines and budgets). */
long long alcove_monotonic_ns(void);

#endif
