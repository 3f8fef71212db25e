/* The child side of spawn: the setup steps in their fixed order (see sandbox.h),
 * then exec. Everything was decided and checked before the fork; a step that
 * fails reports itself on the close-on-exec report pipe and the child exits. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "constants.h"
#include "sandbox.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define NEWROOT "/newroot"
#define FD_SOURCE "/proc/self/fd/" /* a mount source given as a descriptor */
#define OLDROOT "/oldroot"
/* Where the scratch root of the new mount namespace is mounted (a tmpfs over it
 * is seen only inside the namespace; the host's /tmp stays reachable as
 * OLDROOT/tmp). */
#define BASE "/tmp"

static struct alcove_sandbox *cur;
/* The umask the program gets: the control process's, set aside for the setup (which has none). */
static mode_t caller_umask;

/* Appends a string of at most `limit` bytes; a longer one is cut before a whole UTF-8
 * character and ends with "\u2026" (the four strings of a record stay within a page). */
static void put_str(unsigned char *buf, size_t *off, size_t cap, const char *s, size_t limit)
{
    static const char more[] = "\xe2\x80\xa6";
    size_t n = strlen(s), mark = 0;
    if (n > limit) {
        n = limit - (sizeof(more) - 1);
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
        mark = sizeof(more) - 1;
    }
    if (*off + 4 + n + mark > cap)
        return;
    size_t len = n + mark;
    buf[*off] = (unsigned char)len;
    buf[*off + 1] = (unsigned char)(len >> 8);
    buf[*off + 2] = 0;
    buf[*off + 3] = 0;
    memcpy(buf + *off + 4, s, n);
    memcpy(buf + *off + 4 + n, more, mark);
    *off += 4 + len;
}

/* A failed step: one record on the report pipe (written at once: it is smaller
 * than PIPE_BUF, and with the control process's byte before it, it fits in the pipe's
 * first page, which needs no memory of this process's cgroup), or in the control process's
 * memory for a child that borrows it (and under seccomp filters), then exit. */
static void __attribute__((noreturn)) fail(int err, const char *step, const char *what,
                                          const char *path)
{
    unsigned char buf[4095];
    size_t off = 4;
    uint32_t e = (uint32_t)err;
    buf[0] = (unsigned char)e;
    buf[1] = (unsigned char)(e >> 8);
    buf[2] = (unsigned char)(e >> 16);
    buf[3] = (unsigned char)(e >> 24);
    put_str(buf, &off, sizeof(buf), step, 64);
    /* Out of memory, or E2BIG from an exec that could not map what it copies: under a small
     * memory limit, the limit is the likely reason (a few pages more and it is the OOM). */
    char limited[2400];
    if ((err == ENOMEM || err == E2BIG) && cur->cg.on && cur->cg.has[CG_MEMORY_MAX]) {
        snprintf(limited, sizeof(limited), "%s (within the cgroup's memoryMax of %llu bytes)", what,
                 (unsigned long long)cur->cg.value[CG_MEMORY_MAX]);
        what = limited;
    }
    put_str(buf, &off, sizeof(buf), what, 1024);
    put_str(buf, &off, sizeof(buf), path != NULL ? path : "", 2560);
    put_str(buf, &off, sizeof(buf), strerror(err), 256);
    if (cur->shared_report != NULL && off <= SB_SHARED_REPORT - 4) {
        uint32_t len = (uint32_t)off;
        memcpy(cur->shared_report + 4, buf, off);
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the record, then its length */
        memcpy(cur->shared_report, &len, sizeof(len));
    }
    if (cur->report_fd >= 0) {
        ssize_t n = write(cur->report_fd, buf, off);
        (void)n;
    }
    syscall(SYS_exit_group, 127);
    /* Refused by the program's own filter (its record is in the shared page): a trap ends
     * it, SIGILL at its default action (set before the filters; a handler could not even
     * return, and a sanitizer's SIGSEGV handler would try to report, refused, for ever). */
    __builtin_trap();
}

static void __attribute__((noreturn, format(printf, 4, 5)))
failf(int err, const char *step, const char *path, const char *fmt, ...)
{
    char what[2200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fail(err, step, what, path);
}

#define PATH_CAP 4200

/* a + b into out (PATH_CAP bytes), or the step fails with ENAMETOOLONG. */
static void path_join(char *out, const char *a, const char *b, const char *target)
{
    int n = snprintf(out, PATH_CAP, "%s%s", a, b);
    if (n < 0 || n >= PATH_CAP)
        failf(ENAMETOOLONG, "mount", target, "Path too long: %s", target);
}

static void close_range_of(int lo, int hi)
{
    if (lo <= hi && syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0u) < 0) {
        for (int fd = lo; fd <= hi && fd < 65536; fd++)
            close(fd);
    }
}

/* Whether a mount source is given as a descriptor, /proc/self/fd/N. */
static int by_descriptor(const char *src)
{
    return src != NULL && strncmp(src, FD_SOURCE, strlen(FD_SOURCE)) == 0;
}

/* N of a source for which by_descriptor holds. */
static int source_fd(const char *src)
{
    return atoi(src + strlen(FD_SOURCE));
}

/* The source of a mount as /proc/self/fd/N (bubblewrap closes those; it leaves namespace
 * descriptors open). */
static int used_by_setup(const struct alcove_sandbox *sb, int fd)
{
    for (size_t i = 0; i < sb->nmounts; i++)
        if (by_descriptor(sb->mounts[i].source.s) && source_fd(sb->mounts[i].source.s) == fd)
            return 1;
    return 0;
}

/* Whether the program gets this descriptor the control process inherited. */
static int passed_on(const struct alcove_sandbox *sb, int fd)
{
    if (sb->pass_all_fds)
        return !used_by_setup(sb, fd);
    for (size_t i = 0; i < sb->npass_fds; i++)
        if (sb->pass_fd[i] == fd)
            return 1;
    return 0;
}

/* Every descriptor from 3 up is closed but the report pipe, the namespace descriptors
 * still to be used and those the control process inherited (close-on-exec: a --bind-fd
 * source is one); of these, the ones passed on lose close-on-exec. */
static void close_descriptors(const struct alcove_sandbox *sb)
{
    int keep[ALCOVE_MAX_INHERITED + 4];
    size_t n = 0;
    keep[n++] = sb->report_fd;
    if (sb->userns2_fd >= 0)
        keep[n++] = sb->userns2_fd;
    for (size_t i = 0; i < alcove_ninherited; i++)
        keep[n++] = alcove_inherited_fd[i];
    int lo = 3;
    for (;;) {
        int next = -1; /* the lowest kept descriptor from lo up */
        for (size_t i = 0; i < n; i++)
            if (keep[i] >= lo && (next < 0 || keep[i] < next))
                next = keep[i];
        if (next < 0) {
            close_range_of(lo, 0x7fffffff);
            break;
        }
        close_range_of(lo, next - 1);
        lo = next + 1;
    }
    if (sb->userns2_fd >= 0)
        fcntl(sb->userns2_fd, F_SETFD, FD_CLOEXEC);
    for (size_t i = 0; i < alcove_ninherited; i++) {
        int fd = alcove_inherited_fd[i];
        if (passed_on(sb, fd) && fcntl(fd, F_SETFD, 0) < 0)
            failf(errno, "fds", NULL, "Cannot pass descriptor %d on", fd);
    }
}

/* Whether a process between the control process and the program (the relay below, the
 * init of a new pid namespace) passes on a signal it got, to the program. Sharing its
 * parent's process group (the command line's, a terminal's job), it is sent what is meant
 * for the program alone (that group's leader is elsewhere), and passes it on; not what a
 * terminal sends to its whole foreground job, the program included. Leading its own group,
 * it passes on nothing: a signal meant for the program is sent to the group, and the
 * program gets it itself (passed on as well, it would get it twice). */
static int forwards_signal(int sig)
{
    return getpgrp() != getpid() && sig > 0 && sig != SIGCHLD && sig != SIGINT &&
           sig != SIGQUIT && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU &&
           sig != SIGWINCH && sig != SIGCONT;
}

/* The relay's and the init's wait: reaps whatever ends up below this process, and exits
 * as the program's process `child` did (128 + N after signal N) as soon as it ends, passing
 * on the signals that reach this process meanwhile (see forwards_signal). Every signal is
 * blocked and taken with sigwaitinfo, SIGCHLD included: pid 1 of a pid namespace would
 * drop one it has no handler for. */
static void __attribute__((noreturn)) exit_with_program(pid_t child)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (;;) {
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            if (pid == child)
                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        if (pid < 0 && errno != EINTR)
            _exit(127);
        int sig = sigwaitinfo(&all, NULL);
        if (forwards_signal(sig))
            kill(child, sig);
    }
}

/* Waits for the program's process (relay below) and exits as it did. */
static void __attribute__((noreturn)) relay_status(pid_t child)
{
    prctl(PR_SET_NAME, "alcove-relay", 0, 0, 0);
    exit_with_program(child);
}

/* SIGKILL when the parent (`parent`) dies, if asked. It may have died before: then this was
 * reparented (in a new pid namespace the parent is outside it, and getppid says 0: that moment
 * is not covered). Set again after a change of the effective or file-system ids, which
 * clears it (prctl(2)): else a sandbox run as another uid would outlive the control process
 * (a supervisor killed with SIGKILL, say), its time limit and all. */
static void die_with_parent(const struct alcove_sandbox *sb, pid_t parent)
{
    if (!sb->die_with_parent)
        return;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pid_t ppid = getppid();
    if (ppid != 0 && ppid != parent)
        _exit(127);
}

/* Forks: the child goes on, in the pid namespace made or joined; this process relays. */
static void fork_relay(const struct alcove_sandbox *sb)
{
    pid_t relay = getpid();
    pid_t child = fork();
    if (child < 0)
        fail(errno, "pidns", "Cannot fork into the pid namespace", NULL);
    if (child > 0) {
        close_range_of(0, 0x7fffffff);
        relay_status(child);
    }
    die_with_parent(sb, relay);
}

/* bubblewrap's --userns and --pidns: join the namespaces given, make the others inside
 * them, and, when the pid namespace changed, fork: the program's side goes on, this
 * process stays outside it and relays. */
static void join_namespaces(struct alcove_sandbox *sb)
{
    unsigned long long rest = sb->namespaces & ~(unsigned long long)CLONE_NEWPID;
    if (sb->userns_fd >= 0) {
        if (setns(sb->userns_fd, CLONE_NEWUSER) < 0) {
            if (errno == EINVAL)
                fail(errno, "userns-join",
                     "Joining the specified user namespace failed, it might not be a "
                     "descendant of the current user namespace.",
                     NULL);
            fail(errno, "userns", "Joining specified user namespace failed", NULL);
        }
        if (rest != 0 && unshare((int)rest) < 0)
            fail(errno, "unshare", "Creating new namespace failed", NULL);
    }
    int new_pid = (sb->namespaces & CLONE_NEWPID) != 0;
    if (sb->pidns_fd >= 0) {
        if (setns(sb->pidns_fd, CLONE_NEWPID) < 0)
            fail(errno, "pidns", "Setting pidns failed", NULL);
        /* A new pid namespace is made from inside the one joined. */
        if (new_pid)
            fork_relay(sb);
    }
    if (new_pid && unshare(CLONE_NEWPID) < 0)
        fail(errno, "unshare", "unshare pid ns", NULL);
    if (sb->pidns_fd >= 0 || new_pid)
        fork_relay(sb);
}

/* Writes a /proc/self file through the procfs of the start (the new root may have none). */
static void write_self(int proc_fd, const char *name, const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "self/%s", name);
    int fd = openat(proc_fd, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        failf(errno, "userns", NULL, "Cannot write /proc/self/%s", name);
    close(fd);
}

/* bubblewrap's --userns2, --disable-userns and --assert-userns-disabled, after the mounts.
 * Disabling: user.max_user_namespaces of this user namespace becomes 1, then a nested one
 * uses it up; inside, the limit cannot be raised again. The ids change first, so that the
 * nested namespace maps them to themselves. */
static void user_namespace_rules(struct alcove_sandbox *sb, int proc_fd)
{
    if (sb->userns2_fd >= 0) {
        if (setns(sb->userns2_fd, CLONE_NEWUSER) < 0)
            fail(errno, "userns2", "Setting userns2 failed", NULL);
    }
    if (sb->disable_userns) {
        int fd = openat(proc_fd, "sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            fail(errno, "userns", "cannot open /proc/sys/user/max_user_namespaces", NULL);
        if (write(fd, "1", 1) != 1)
            fail(errno, "userns", "sysctl user.max_user_namespaces = 1", NULL);
        close(fd);
        uid_t uid = sb->has_uid ? sb->uid : getuid();
        gid_t gid = sb->has_gid ? sb->gid : getgid();
        if (setgroups(0, NULL) < 0 && errno != EPERM)
            fail(errno, "setgroups", "Cannot drop the supplementary groups", NULL);
        if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
            fail(errno, "userns", "Cannot change ids before the nested user namespace", NULL);
        /* A change of ids made /proc/self root's: its id maps must stay writable, for the
         * three writes below (this process is on a copy of the control process's memory, not
         * on that memory itself, and in no user namespace another program owns). */
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        if (unshare(CLONE_NEWUSER) < 0)
            fail(errno, "userns", "unshare user ns", NULL);
        char line[64];
        snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
        write_self(proc_fd, "uid_map", line);
        write_self(proc_fd, "setgroups", "deny");
        snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
        write_self(proc_fd, "gid_map", line);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    if ((sb->disable_userns || sb->assert_userns_disabled) && unshare(CLONE_NEWUSER) == 0)
        fail(EEXIST, "assert-userns",
             "creation of new user namespaces was not disabled as requested", NULL);
}

/* What the setup makes in the new root (directories, files, symbolic links, the root and
 * /dev themselves) belongs to the sandbox's uid and gid when it has them, as bubblewrap's
 * does (its setup makes them as that user): a directory made for the program is the
 * program's to write in. `fd` >= 0 names the file by its descriptor. */
static void own(const char *path, int fd)
{
    if (!cur->has_uid && !cur->has_gid)
        return;
    uid_t uid = cur->has_uid ? cur->uid : (uid_t)-1;
    gid_t gid = cur->has_gid ? cur->gid : (gid_t)-1;
    (void)(fd >= 0 ? fchown(fd, uid, gid) : lchown(path, uid, gid));
}

/* mkdir -p of path's parents, with `parents` for their mode (and of path itself, with
 * `mode`, when `self`). The new root is there already (new_root made it): below it, only
 * what follows is made. The modes are exact: the setup runs with no umask (see
 * alcove_sandbox_child), as bubblewrap's. Returns 1 when it made path itself, 0 when it was
 * there, or -errno. */
static int mkdirs(const char *path, int self, mode_t mode, mode_t parents)
{
    int made = 0;
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    size_t from = strncmp(path, NEWROOT "/", sizeof(NEWROOT)) == 0 ? sizeof(NEWROOT) : 1;
    for (size_t i = from; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        if (buf[i] == 0 && !self)
            break;
        char c = buf[i];
        buf[i] = 0;
        struct stat st;
        if (mkdir(buf, c == 0 ? mode : parents) == 0) {
            own(buf, -1);
            made = c == 0;
        } else if (errno != EEXIST)
            return -errno;
        else if (c == 0 && stat(buf, &st) == 0 && !S_ISDIR(st.st_mode))
            return -ENOTDIR; /* a file is there: a directory was asked for (as bwrap has it, a
                              * symbolic link that leads nowhere from here will do) */
        buf[i] = c;
    }
    return made;
}

/* The mode of the parents an operation makes, as bubblewrap has it: 0755, less what the
 * mode it was given (--perms, else bind-data's own 0600) denies the group and the others. */
static mode_t parent_mode(const struct sb_mount *m)
{
    uint32_t given = m->mode;
    if (given == SB_MODE_DEFAULT && (m->op == SB_MNT_BIND_DATA || m->op == SB_MNT_RO_BIND_DATA))
        given = 0600;
    mode_t mode = 0755;
    if (given != SB_MODE_DEFAULT && (given & 0070) == 0)
        mode &= ~(mode_t)0050;
    if (given != SB_MODE_DEFAULT && (given & 0007) == 0)
        mode &= ~(mode_t)0005;
    return mode;
}

/* The flags to keep when remounting a bind mount: the kernel refuses to drop
 * locked ones (nodev, nosuid, noexec, atime) inherited from another namespace. */
static unsigned long kept_flags(const char *path)
{
    struct statvfs st;
    if (statvfs(path, &st) < 0)
        return 0;
    unsigned long f = 0;
    if (st.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (st.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    if (st.f_flag & ST_RDONLY)
        f |= MS_RDONLY;
    return f;
}

/* Adds flags to the mount at path, keeping its own. A mount that has them all already
 * is left alone, as bubblewrap leaves it: the remount would change nothing. */
static int add_flags(const char *path, unsigned long add)
{
    unsigned long have = kept_flags(path);
    if ((have | add) == have)
        return 0;
    return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | have | add, NULL);
}

static void remount(const char *dst, const char *target, unsigned long add, int dev)
{
    if (add_flags(dst, add | MS_NOSUID | (dev ? 0 : MS_NODEV)) < 0)
        failf(errno, "mount", target, "Cannot remount %s%s", target,
              (add & MS_RDONLY) ? " read-only" : "");
}

/* A mount point from mountinfo, with its octal escapes (\040 for a space) undone. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r != 0; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
}

/* The whole of a file whose size stat does not tell (a /proc file), NUL terminated, in
 * as few reads as it takes; NULL with errno on failure. */
static char *read_all(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t len = 0, cap = 16384;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (cap - len < 4096) {
            char *more = realloc(buf, cap * 2);
            if (more == NULL) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = more;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(buf);
            buf = NULL;
            break;
        }
        if (got == 0) {
            buf[len] = 0;
            break;
        }
        len += (size_t)got;
    }
    int err = errno;
    close(fd);
    errno = err;
    return buf;
}

/* A recursive bind brings the mounts below the source along with their own flags:
 * each of them gets the same treatment as the top (read-only, nosuid, nodev), as
 * bubblewrap does, or a read-only view of / would leave /dev/shm writable. */
static void remount_below(const char *dst, const char *target, unsigned long add, int dev)
{
    char *all = read_all(OLDROOT "/proc/self/mountinfo");
    if (all == NULL)
        failf(errno, "mount", target, "Cannot read the mounts below %s", target);
    size_t n = strlen(dst);
    while (n > 1 && dst[n - 1] == '/')
        n--;
    for (char *line = all, *next; *line != 0; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = 0;
        else
            next = line + strlen(line);
        /* id parent major:minor root mountpoint ... */
        char *field = line;
        for (int i = 0; i < 4 && field != NULL; i++) {
            field = strchr(field, ' ');
            if (field != NULL)
                field++;
        }
        if (field == NULL)
            continue;
        char *end = strchr(field, ' ');
        if (end == NULL)
            continue;
        *end = 0;
        unescape(field);
        if (strncmp(field, dst, n) != 0 || field[n] != '/')
            continue;
        if (add_flags(field, add | MS_NOSUID | (dev ? 0 : MS_NODEV)) < 0 && errno != ENOENT &&
            errno != EACCES)
            failf(errno, "mount", target, "Cannot remount %s below %s", field + strlen(NEWROOT),
                  target);
    }
    free(all);
}

/* A file to bind a file on: one already there will do (in a read-only tree it
 * could not be created). */
static void mount_point_file(const char *dst, const char *target)
{
    struct stat st;
    if (lstat(dst, &st) == 0 && !S_ISDIR(st.st_mode))
        return;
    int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444);
    if (fd < 0)
        failf(errno, "mount", target, "Cannot create %s", target);
    own(dst, fd);
    close(fd);
}

/* The path that a descriptor's magic link (OLDROOT/proc/self/fd/N) names, seen in the old
 * root, into path (PATH_CAP bytes): 0, or -errno; -ENOENT for a file that has no path (a
 * pipe's "pipe:[N]"), which is no source to bind, as bubblewrap finds none. */
static int path_named(const char *link_path, char *path, const char *target)
{
    char link[PATH_CAP];
    ssize_t n = readlink(link_path, link, sizeof(link) - 1);
    if (n < 0)
        return -errno;
    link[n] = 0;
    if (link[0] != '/')
        return -ENOENT;
    path_join(path, OLDROOT, link, target);
    return 0;
}

/* A bind of src; `again`, when not NULL, is bound instead if the kernel refuses src with
 * EINVAL (src a descriptor's magic link to a mount of another namespace, opened before this
 * one was made, as /dev/stdin's file is: that path, seen in the old root, is bound). */
static void bind_op(const struct sb_mount *m, const char *src, const char *again, const char *dst,
                    int dev, int ro)
{
    struct stat st;
    if (stat(src, &st) < 0) {
        /* a missing source only, as bubblewrap's: another failure (ENOTDIR, ELOOP, EACCES)
         * is not a source that is absent */
        if ((m->flags & SB_MNT_TRY) && errno == ENOENT)
            return;
        failf(errno, "mount", m->source.s, "Can't find source path %s", m->source.s);
    }
    int rv = S_ISDIR(st.st_mode) ? mkdirs(dst, 1, 0755, 0755) : mkdirs(dst, 0, 0755, 0755);
    if (rv < 0)
        failf(-rv, "mount", m->target.s, "Cannot create %s", m->target.s);
    if (!S_ISDIR(st.st_mode))
        mount_point_file(dst, m->target.s);
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) {
        int err = errno;
        if (err != EINVAL || again == NULL || mount(again, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
            failf(err, "mount", m->target.s, "Cannot bind %s on %s", m->source.s, m->target.s);
    }
    remount(dst, m->target.s, ro ? MS_RDONLY : 0, dev);
    if (S_ISDIR(st.st_mode))
        remount_below(dst, m->target.s, ro ? MS_RDONLY : 0, dev);
}

static void dev_op(const struct sb_mount *m, const char *dst)
{
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    static const char *const links[][2] = {
        {"/proc/self/fd", "fd"},         {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"},   {"/proc/self/fd/2", "stderr"},
        {"/proc/kcore", "core"},         {"pts/ptmx", "ptmx"},
    };
    char path[PATH_CAP], src[PATH_CAP], name[64];
    int rv = mkdirs(dst, 1, 0755, 0755);
    if (rv < 0)
        failf(-rv, "mount", m->target.s, "Cannot create %s", m->target.s);
    if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        failf(errno, "mount", m->target.s, "Cannot mount tmpfs on %s", m->target.s);
    own(dst, -1);
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        snprintf(name, sizeof(name), "/%s", nodes[i]);
        path_join(path, dst, name, m->target.s);
        path_join(src, OLDROOT "/dev", name, m->target.s);
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
        if (fd < 0)
            failf(errno, "mount", m->target.s, "Cannot create %s/%s", m->target.s, nodes[i]);
        close(fd);
        if (mount(src, path, NULL, MS_BIND, NULL) < 0 || add_flags(path, MS_NOSUID) < 0)
            failf(errno, "mount", m->target.s, "Cannot bind /dev/%s in %s", nodes[i],
                  m->target.s);
    }
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        snprintf(name, sizeof(name), "/%s", links[i][1]);
        path_join(path, dst, name, m->target.s);
        if (symlink(links[i][0], path) < 0)
            failf(errno, "mount", m->target.s, "Cannot create %s/%s", m->target.s, links[i][1]);
        own(path, -1);
    }
    /* The program's stdout a terminal: that terminal is /dev/console too, as bubblewrap
     * binds it (ttyname and tools that open the console find it). */
    char tty[PATH_CAP - sizeof(OLDROOT)];
    ssize_t n = isatty(1) ? readlink(OLDROOT "/proc/self/fd/1", tty, sizeof(tty) - 1) : -1;
    if (n > 0 && (tty[n] = 0, strncmp(tty, "/dev/", 5) == 0)) {
        path_join(path, dst, "/console", m->target.s);
        path_join(src, OLDROOT, tty, m->target.s);
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
        if (fd < 0)
            failf(errno, "mount", m->target.s, "Cannot create %s/console", m->target.s);
        close(fd);
        if (mount(src, path, NULL, MS_BIND, NULL) < 0 || add_flags(path, MS_NOSUID) < 0)
            failf(errno, "mount", m->target.s, "Cannot bind %s on %s/console", tty,
                  m->target.s);
    }
    path_join(path, dst, "/shm", m->target.s);
    if (mkdir(path, 01777) < 0 || chmod(path, 01777) < 0)
        failf(errno, "mount", m->target.s, "Cannot create %s/shm", m->target.s);
    own(path, -1);
    path_join(path, dst, "/pts", m->target.s);
    if (mkdir(path, 0755) < 0)
        failf(errno, "mount", m->target.s, "Cannot create %s/pts", m->target.s);
    own(path, -1);
    if (mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=620") < 0)
        failf(errno, "mount", m->target.s, "Cannot mount devpts on %s/pts", m->target.s);
}

/* A mount operation's data into fd, then its mode (unless -1: a file that was there keeps
 * its own); fd is closed. */
static void write_data(const struct sb_mount *m, int fd, int mode)
{
    for (size_t off = 0; off < m->data.len;) {
        ssize_t n = write(fd, m->data.s + off, m->data.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            failf(errno ? errno : EIO, "mount", m->target.s, "Cannot write %s", m->target.s);
        off += (size_t)n;
    }
    if (mode >= 0 && fchmod(fd, (mode_t)mode) < 0)
        failf(errno, "mount", m->target.s, "Cannot chmod %s", m->target.s);
    close(fd);
}

/* bubblewrap's --bind-data: the data goes to a file of the scratch root (the
 * current directory), which is bound on the target, so that the target is a
 * mount point of its own. */
static void bind_data_op(const struct sb_mount *m, const char *dst)
{
    static unsigned serial;
    char scratch[64];
    snprintf(scratch, sizeof(scratch), "data-%u", serial++);
    mode_t mode = m->mode == SB_MODE_DEFAULT ? 0600 : (mode_t)(m->mode & 07777);
    int fd = open(scratch, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0)
        failf(errno, "mount", m->target.s, "Cannot create the data of %s", m->target.s);
    own(scratch, fd);
    write_data(m, fd, (int)mode);
    int rv = mkdirs(dst, 0, 0755, parent_mode(m));
    if (rv < 0)
        failf(-rv, "mount", m->target.s, "Cannot create %s", m->target.s);
    mount_point_file(dst, m->target.s);
    if (mount(scratch, dst, NULL, MS_BIND, NULL) < 0)
        failf(errno, "mount", m->target.s, "Cannot bind data on %s", m->target.s);
    remount(dst, m->target.s, m->op == SB_MNT_RO_BIND_DATA ? MS_RDONLY : 0, 0);
}

/* The parts of a fresh proc that change the host, read-only (bubblewrap's list). */
static void proc_read_only(const char *dst)
{
    static const char *const parts[] = {"/sys", "/sysrq-trigger", "/irq", "/bus"};
    char path[PATH_CAP];
    /* A network namespace of its own: its sysctls (/proc/sys/net) are its own to set, as with
     * bubblewrap (ip_forward, ...). Bound first, as a mount of its own that the read-only
     * remount of /proc/sys below leaves writable. */
    if ((cur->namespaces & CLONE_NEWNET) &&
        snprintf(path, sizeof(path), "%s/sys/net", dst) < (int)sizeof(path) &&
        access(path, F_OK) == 0)
        (void)mount(path, path, NULL, MS_BIND | MS_REC, NULL);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (snprintf(path, sizeof(path), "%s%s", dst, parts[i]) >= (int)sizeof(path))
            continue;
        /* Whether it is writable is no test: /proc/sys itself refuses W_OK to everyone while
         * its files take root's writes (core_pattern, ...), which bubblewrap's access() test
         * lets through. Absent, or not to be bound here: it goes on, as bubblewrap does. */
        if (access(path, F_OK) < 0 || mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
            continue;
        add_flags(path, MS_RDONLY);
    }
}

/* A bind of /proc/self/fd/N (bubblewrap's --bind-fd): the descriptor's file belongs to the
 * host's mount namespace, which cannot be bound from here; its path, seen in the old root,
 * is bound instead, and must turn out to be the same file. */
static void bind_fd_op(const struct sb_mount *m, const char *src, const char *dst, int ro)
{
    char path[PATH_CAP];
    int rv = path_named(src, path, m->target.s);
    if (rv < 0)
        failf(-rv, "mount", m->source.s, "Can't find source path %s", m->source.s);
    bind_op(m, path, NULL, dst, 0, ro);
    struct stat want, got;
    if (fstat(source_fd(m->source.s), &want) < 0 || stat(dst, &got) < 0 ||
        want.st_dev != got.st_dev || want.st_ino != got.st_ino)
        failf(EXDEV, "mount", m->target.s, "Can't bind %s on %s: it was replaced",
              path + sizeof(OLDROOT) - 1, m->target.s);
}

/* Whether a mount operation binds a source of the host found by its path. */
static int binds_host_path(const struct sb_mount *m)
{
    return (m->op == SB_MNT_BIND || m->op == SB_MNT_RO_BIND || m->op == SB_MNT_DEV_BIND) &&
           !by_descriptor(m->source.s);
}

/* A source to look up by its path from the old root, as before there were descriptors. */
#define SOURCE_BY_PATH INT_MIN

/* A bind's source, opened (O_PATH) while the host's root is still this process's, as
 * bubblewrap resolves its sources before it leaves that root: once in the scratch root, an
 * absolute link (/etc/resolv.conf -> /run/...) or a magic one (/proc/self/cwd) would be looked
 * up there. The descriptor, or -errno; SOURCE_BY_PATH past `below`, the descriptors the
 * setup may hold (the rest of it needs some, and a low RLIMIT_NOFILE must not fail binds). */
static int open_source(const struct sb_mount *m, long below)
{
    int fd = open(m->source.s, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return errno == EMFILE || errno == ENFILE ? SOURCE_BY_PATH : -errno;
    if (fd >= below) {
        close(fd);
        return SOURCE_BY_PATH;
    }
    return fd;
}

/* One operation; `source` is open_source's for a bind of a host path. */
static void mount_op(const struct sb_mount *m, int source)
{
    char dst[PATH_CAP], src[PATH_CAP], named[PATH_CAP];
    path_join(dst, NEWROOT, m->target.s, m->target.s);
    path_join(src, OLDROOT, m->source.s, m->target.s);
    const char *again = NULL; /* bind_op's */
    int rv;
    int by_fd = by_descriptor(m->source.s);
    if (binds_host_path(m) && source != SOURCE_BY_PATH) {
        /* Bound through its descriptor, or the path that names, by its own path where
         * there is no /proc to name the descriptor (absolute links then lead nowhere). */
        char link[64];
        struct stat st;
        snprintf(link, sizeof(link), OLDROOT "/proc/self/fd/%d", source);
        if (source >= 0 && stat(link, &st) == 0) {
            rv = path_named(link, named, m->target.s);
            source = rv == -ENOENT ? rv : source;
            again = rv == 0 ? named : NULL;
            memcpy(src, link, strlen(link) + 1);
        }
        if (source < 0) {
            if ((m->flags & SB_MNT_TRY) && source == -ENOENT)
                return;
            failf(-source, "mount", m->source.s, "Can't find source path %s", m->source.s);
        }
    }
    switch (m->op) {
    case SB_MNT_BIND:
        by_fd ? bind_fd_op(m, src, dst, 0) : bind_op(m, src, again, dst, 0, 0);
        return;
    case SB_MNT_RO_BIND:
        by_fd ? bind_fd_op(m, src, dst, 1) : bind_op(m, src, again, dst, 0, 1);
        return;
    case SB_MNT_DEV_BIND: bind_op(m, src, again, dst, 1, 0); return;
    case SB_MNT_REMOUNT_RO:
        remount(dst, m->target.s, MS_RDONLY, !(kept_flags(dst) & MS_NODEV));
        return;
    case SB_MNT_TMPFS: {
        /* Owned by the sandbox's ids, as when an unprivileged user makes it. */
        char data[128], owner[64] = "";
        if (cur->has_uid || cur->has_gid)
            snprintf(owner, sizeof(owner), ",uid=%u,gid=%u",
                     (unsigned)(cur->has_uid ? cur->uid : getuid()),
                     (unsigned)(cur->has_gid ? cur->gid : getgid()));
        unsigned mode = m->mode == SB_MODE_DEFAULT ? 0755u : m->mode & 07777u;
        if (m->size > 0)
            snprintf(data, sizeof(data), "mode=%04o,size=%llu%s", mode,
                     (unsigned long long)m->size, owner);
        else
            snprintf(data, sizeof(data), "mode=%04o%s", mode, owner);
        if ((rv = mkdirs(dst, 1, 0755, parent_mode(m))) < 0)
            failf(-rv, "mount", m->target.s, "Cannot create %s", m->target.s);
        if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, data) < 0)
            failf(errno, "mount", m->target.s, "Cannot mount tmpfs on %s", m->target.s);
        return;
    }
    case SB_MNT_PROC:
        if ((rv = mkdirs(dst, 1, 0755, 0755)) < 0)
            failf(-rv, "mount", m->target.s, "Cannot create %s", m->target.s);
        /* A proc of its own for a pid namespace of its own; else the host's, bound, as
         * bubblewrap does: it shows the same processes, and a user namespace may mount only
         * the proc of a pid namespace it owns. Its own is noexec, as bubblewrap mounts it
         * (/proc/PID/exe and /proc/self/fd/N stay open to execve, which follows those links
         * to their own mounts); the host's keeps its flags, as bubblewrap's bind does. */
        if ((cur->namespaces & CLONE_NEWPID) != 0 || cur->pidns_fd >= 0) {
            if (mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                failf(errno, "mount", m->target.s, "Cannot mount proc on %s", m->target.s);
        } else if (mount(OLDROOT "/proc", dst, NULL, MS_BIND | MS_REC, NULL) < 0) {
            failf(errno, "mount", m->target.s, "Cannot bind the host's proc on %s", m->target.s);
        } else {
            remount(dst, m->target.s, 0, 0);
        }
        proc_read_only(dst);
        return;
    case SB_MNT_DEV: dev_op(m, dst); return;
    case SB_MNT_MQUEUE:
        if ((rv = mkdirs(dst, 1, 0755, 0755)) < 0)
            failf(-rv, "mount", m->target.s, "Cannot create %s", m->target.s);
        if (mount("mqueue", dst, "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0)
            failf(errno, "mount", m->target.s, "Cannot mount mqueue on %s", m->target.s);
        return;
    case SB_MNT_DIR:
        if ((rv = mkdirs(dst, 1, m->mode == SB_MODE_DEFAULT ? 0755 : (mode_t)(m->mode & 07777),
                         parent_mode(m))) < 0)
            failf(-rv, "mount", m->target.s, "Cannot create directory %s", m->target.s);
        /* The mode of a directory it made (exactly, whatever the umask), as bubblewrap has it:
         * one that was there keeps its own. As mkdir(2) takes it, without setuid and setgid
         * (bubblewrap's --perms 07777 --dir makes 1777). */
        if (rv == 1 && m->mode != SB_MODE_DEFAULT && chmod(dst, (mode_t)(m->mode & 01777)) < 0)
            failf(errno, "mount", m->target.s, "Cannot chmod %s", m->target.s);
        return;
    case SB_MNT_SYMLINK: {
        if ((rv = mkdirs(dst, 0, 0755, 0755)) < 0)
            failf(-rv, "mount", m->target.s, "Cannot create %s", m->target.s);
        if (symlink(m->source.s, dst) < 0) {
            int err = errno; /* what symlink said, not what the readlink below may say */
            if (err == EEXIST) {
                char have[4200];
                ssize_t n = readlink(dst, have, sizeof(have) - 1);
                if (n >= 0 && (have[n] = 0, strcmp(have, m->source.s) == 0))
                    return; /* the same link twice, as bubblewrap after 0.8 accepts */
            }
            failf(err, "mount", m->target.s, "Can't make symlink at %s", m->target.s);
        }
        own(dst, -1);
        return;
    }
    case SB_MNT_FILE: {
        if ((rv = mkdirs(dst, 0, 0755, parent_mode(m))) < 0)
            failf(-rv, "mount", m->target.s, "Cannot create %s", m->target.s);
        mode_t mode = m->mode == SB_MODE_DEFAULT ? 0666 : (mode_t)(m->mode & 07777);
        /* A file made here gets the mode and owner; one that was there (a file of a bind
         * from the host) only new contents, as bubblewrap's creat() gives it. */
        int fd = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
        int made = fd >= 0;
        if (fd < 0 && errno == EEXIST)
            fd = open(dst, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            failf(errno, "mount", m->target.s, "Cannot create file %s", m->target.s);
        if (made)
            own(dst, fd);
        write_data(m, fd, made ? (int)mode : -1);
        return;
    }
    case SB_MNT_CHMOD:
        if (chmod(dst, (mode_t)(m->mode & 07777)) < 0)
            failf(errno, "mount", m->target.s, "Cannot chmod %s to %04o", m->target.s,
                  (unsigned)(m->mode & 07777));
        return;
    case SB_MNT_BIND_DATA:
    case SB_MNT_RO_BIND_DATA: bind_data_op(m, dst); return;
    default: fail(EINVAL, "mount", "Unknown mount operation", m->target.s);
    }
}

/* A scratch tmpfs root holds the new root and the old one; the operations build
 * the new root from the old; then the new root becomes / and the rest goes. */
static void new_root(struct alcove_sandbox *sb)
{
    int source[SB_MAX_MOUNTS];
    struct rlimit nofile;
    long below = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 1u << 30
                     ? (long)nofile.rlim_cur - 16
                     : 1L << 30;
    for (size_t i = 0; i < sb->nmounts; i++)
        source[i] = binds_host_path(&sb->mounts[i]) ? open_source(&sb->mounts[i], below) : -EBADF;
    if (mount("tmpfs", BASE, "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755") < 0)
        fail(errno, "mount", "Cannot mount the scratch root on " BASE, BASE);
    if (chdir(BASE) < 0 || mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0)
        fail(errno, "mount", "Cannot prepare the scratch root", BASE);
    if (syscall(SYS_pivot_root, BASE, "oldroot") < 0)
        fail(errno, "pivot_root", "Cannot pivot into the scratch root", BASE);
    if (chdir("/") < 0)
        fail(errno, "pivot_root", "Cannot enter the scratch root", "/");
    if (mount("newroot", "newroot", NULL, MS_BIND | MS_REC, NULL) < 0)
        fail(errno, "mount", "Cannot make the new root a mount point", "/");
    own("newroot", -1);
    for (size_t i = 0; i < sb->nmounts; i++) {
        mount_op(&sb->mounts[i], source[i]);
        if (source[i] >= 0)
            close(source[i]);
    }
    if (mount("oldroot", "oldroot", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        umount2("oldroot", MNT_DETACH) < 0)
        fail(errno, "pivot_root", "Cannot detach the old root", "/");
    int oldfd = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldfd < 0 || chdir(NEWROOT) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
        fchdir(oldfd) < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        fail(errno, "pivot_root", "Cannot pivot into the new root", "/");
    close(oldfd);
}

/* Read locks held by descriptors the program inherits (and the init, with one),
 * so that they last as long as the sandbox (bubblewrap's --lock-file). */
static void lock_files(const struct alcove_sandbox *sb)
{
    for (size_t i = 0; i < sb->nlock_files; i++) {
        const char *path = sb->lock_files[i].s;
        /* Held by the init of a pid namespace, which took it: the program does not get the
         * descriptor, as with bubblewrap. Without one, the program holds the lock itself. */
        int fd = open(path, O_RDONLY | (sb->init ? O_CLOEXEC : 0));
        if (fd < 0)
            failf(errno, "lock", path, "Unable to open lock file %s", path);
        struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (fcntl(fd, F_SETLK, &l) < 0)
            failf(errno, "lock", path, "Unable to lock file %s", path);
    }
}

/* The working directory: the one asked for, else the first candidate that exists
 * (bubblewrap's fallback when --chdir is absent), else "/". */
static const char *enter_cwd(const struct alcove_sandbox *sb)
{
    if (sb->cwd.s != NULL) {
        if (chdir(sb->cwd.s) < 0)
            failf(errno, "cwd", sb->cwd.s, "Cannot change directory to %s", sb->cwd.s);
        return NULL;
    }
    for (size_t i = 0; i < sb->ncwd_try; i++)
        if (chdir(sb->cwd_try[i].s) == 0)
            return sb->cwd_try[i].s;
    if (sb->ncwd_try == 0)
        return NULL;
    if (chdir("/") < 0)
        fail(errno, "cwd", "Cannot change directory to /", "/");
    return "/";
}

/* The steps after the init: the program's environment, signals, seccomp, exec. */
struct last_steps {
    struct alcove_sandbox *sb;
    const char *pwd;
    char *pwd_entry;
    size_t pwd_cap;
};

static void __attribute__((noreturn)) run_last_steps(struct last_steps *ls);

static int last_steps_child(void *arg)
{
    run_last_steps(arg); /* never returns */
}

/* The program's stack while it borrows the init's memory (one at a time: the init sleeps
 * until the program has exec'd or exited). */
static unsigned char init_stack[256 * 1024] __attribute__((aligned(16)));

/* pid 1 of a new pid namespace (bubblewrap's reaper): the program runs the last steps as
 * its child (pid 2); the init reaps whatever ends up below it and exits with the program's
 * status (128 + N after signal N) as soon as the program ends; the namespace's other
 * processes die with it. The program borrows the init's memory until its exec, as vfork
 * would have it, instead of copying it: copying costs a page fault for every page either
 * process writes after the fork, each slow on a virtual machine, and the program's last
 * steps write little. */
static void __attribute__((noreturn)) run_init(struct last_steps *ls)
{
    struct alcove_sandbox *sb = ls->sb;
    pid_t child;
    /* Named before the program exists: it may read /proc/1/comm at once. */
    prctl(PR_SET_NAME, "alcove-init", 0, 0, 0);
    if (SPAWN_COPIES_MEMORY) {
        child = fork();
        if (child == 0)
            run_last_steps(ls);
    } else {
        child = clone(last_steps_child, init_stack + sizeof(init_stack),
                      CLONE_VM | CLONE_VFORK | SIGCHLD, ls);
    }
    if (child < 0)
        fail(errno, "init", "Cannot fork the init of the pid namespace", NULL);
    close(sb->report_fd); /* the program's exec closes its copy: that is the answer */
    for (int fd = 0; fd < 3; fd++)
        close(fd);
    for (size_t i = 0; i < alcove_ninherited; i++)
        if (passed_on(sb, alcove_inherited_fd[i]))
            close(alcove_inherited_fd[i]); /* a pipe passed on ends when the program closes it */
    exit_with_program(child);
}

static void set_caps(const struct alcove_sandbox *sb)
{
    uint64_t keep = sb->has_caps ? sb->caps : 0;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
    data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0) {
        /* Kept capabilities must be held: without root, a user namespace gives them. */
        int err = errno;
        failf(err, "capabilities", NULL, "Cannot set the capabilities kept%s",
              err == EPERM && (sb->namespaces & CLONE_NEWUSER) == 0 && sb->userns_fd < 0
                  ? " (this process does not hold them: without root, ask for the \"user\" "
                    "namespace)"
                  : "");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        fail(errno, "capabilities", "Cannot clear the ambient capabilities", NULL);
    for (unsigned cap = 0; cap < 64; cap++)
        if ((keep >> cap & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            fail(errno, "capabilities", "Cannot raise an ambient capability", NULL);
}

/* Needs CAP_SETPCAP, so it runs before the ids change. Without it (an
 * unprivileged process outside a user namespace) nothing can be gained anyway:
 * the effective and permitted sets are empty, and no_new_privs keeps them so. */
static void drop_bounding(const struct alcove_sandbox *sb)
{
    uint64_t keep = sb->has_caps ? sb->caps : 0;
    for (unsigned long cap = 0; cap < 64; cap++) {
        if (keep >> cap & 1)
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break; /* past the last capability of this kernel */
            if (errno == EPERM)
                return;
            fail(errno, "capabilities", "Cannot drop from the bounding set", NULL);
        }
    }
}

static uint64_t landlock_mask(int abi, unsigned kind, int dir)
{
    uint64_t all = (1ULL << 13) - 1; /* ABI 1 */
    if (abi >= 2)
        all |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        all |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    uint64_t m;
    if (kind == SB_LL_EXECUTE) /* the kernel opens a program for reading to run it */
        m = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE;
    else if (kind == SB_LL_READ)
        m = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
            LANDLOCK_ACCESS_FS_EXECUTE;
    else
        m = all;
    if (!dir) /* only these apply to a file */
        m &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
             LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
             LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return m & all;
}

static void landlock(const struct alcove_sandbox *sb)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        if (sb->landlock_best_effort)
            return;
        fail(errno, "landlock", "Landlock is not available in this kernel", NULL);
    }
    struct landlock_ruleset_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.handled_access_fs = landlock_mask((int)abi, SB_LL_WRITE, 1);
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0u);
    if (rs < 0)
        fail(errno, "landlock", "Cannot create a Landlock ruleset", NULL);
    for (size_t i = 0; i < sb->nlandlock; i++) {
        const struct sb_landlock *l = &sb->landlock_rules[i];
        int fd = open(l->path.s, O_PATH | O_CLOEXEC);
        if (fd < 0)
            failf(errno, "landlock", l->path.s, "Cannot open %s for a Landlock rule", l->path.s);
        struct stat st;
        if (fstat(fd, &st) < 0)
            failf(errno, "landlock", l->path.s, "Cannot stat %s", l->path.s);
        struct landlock_path_beneath_attr pb = {
            .allowed_access = landlock_mask((int)abi, l->kind, S_ISDIR(st.st_mode)),
            .parent_fd = fd,
        };
        if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0u) < 0)
            failf(errno, "landlock", l->path.s, "Cannot add a Landlock rule for %s", l->path.s);
        close(fd);
    }
    if (syscall(SYS_landlock_restrict_self, rs, 0u) < 0)
        fail(errno, "landlock", "Cannot enforce the Landlock ruleset", NULL);
    close(rs);
}

/* PT_INTERP's string from the program headers at phoff, 64- or 32-bit by their size. */
static size_t elf_interp(int fd, uint64_t phoff, unsigned entsize, unsigned count, char *out,
                         size_t cap)
{
    for (unsigned i = 0; i < count && i < 64; i++) {
        off_t at = (off_t)(phoff + (uint64_t)i * entsize);
        uint64_t type, offset, size;
        if (entsize >= sizeof(Elf64_Phdr)) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof(ph), at) != sizeof(ph))
                return 0;
            type = ph.p_type, offset = ph.p_offset, size = ph.p_filesz;
        } else if (entsize >= sizeof(Elf32_Phdr)) {
            Elf32_Phdr ph;
            if (pread(fd, &ph, sizeof(ph), at) != sizeof(ph))
                return 0;
            type = ph.p_type, offset = ph.p_offset, size = ph.p_filesz;
        } else {
            return 0;
        }
        if (type != PT_INTERP)
            continue;
        size_t want = size < cap ? (size_t)size : cap - 1;
        ssize_t got = pread(fd, out, want, (off_t)offset);
        return got > 0 ? strnlen(out, (size_t)got) : 0;
    }
    return 0;
}

/* The interpreter an executable names: its ELF program header's PT_INTERP (the dynamic
 * loader) or its #! line, into out (cap bytes); 0 when it names none or cannot be read. */
static int named_interpreter(const char *file, char *out, size_t cap)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char head[256];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    size_t len = 0;
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
        ssize_t i = 2;
        while (i < n && (head[i] == ' ' || head[i] == '\t'))
            i++;
        while (i < n && len + 1 < cap && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' &&
               head[i] != 0)
            out[len++] = (char)head[i++];
    } else if (n >= (ssize_t)sizeof(Elf64_Ehdr) && memcmp(head, ELFMAG, SELFMAG) == 0 &&
               head[EI_CLASS] == ELFCLASS64) {
        Elf64_Ehdr eh;
        memcpy(&eh, head, sizeof(eh));
        len = elf_interp(fd, eh.e_phoff, eh.e_phentsize, eh.e_phnum, out, cap);
    } else if (n >= (ssize_t)sizeof(Elf32_Ehdr) && memcmp(head, ELFMAG, SELFMAG) == 0 &&
               head[EI_CLASS] == ELFCLASS32) {
        Elf32_Ehdr eh;
        memcpy(&eh, head, sizeof(eh));
        len = elf_interp(fd, eh.e_phoff, eh.e_phentsize, eh.e_phnum, out, cap);
    }
    close(fd);
    out[len < cap ? len : cap - 1] = 0;
    return len > 0;
}

/* An exec that failed with ENOENT though the file is there: what is missing is the
 * interpreter it names (a root without /lib64, say). Not there at all in a new root that
 * no mount covers whole: that root holds only the mounts given. */
static void __attribute__((noreturn))
exec_failed(const struct alcove_sandbox *sb, int err, const char *file, const char *found)
{
    char interp[256];
    const char *there = found != NULL && strcmp(found, file) == 0 ? "it" : found;
    if (err == ENOENT && found != NULL && named_interpreter(found, interp, sizeof(interp)))
        failf(err, "exec", file, "Cannot run %s (%s is there, its interpreter %s is not)", file,
              there, interp);
    if (err == ENOENT && found != NULL)
        failf(err, "exec", file, "Cannot run %s (%s is there, the interpreter it names is not)",
              file, there);
    int root_mounted = 0;
    for (size_t i = 0; i < sb->nmounts; i++)
        root_mounted |= strcmp(sb->mounts[i].target.s, "/") == 0;
    if (err == ENOENT && sb->new_root && !root_mounted)
        failf(err, "exec", file, "Cannot run %s (the new root holds only the mounts given)", file);
    failf(err, "exec", file, "Cannot run %s", file);
}

/* execvp with the PATH of the program's own environment, without touching `environ`
 * (the child may share its parent's memory). Like musl's, and unlike glibc's, it does
 * not run a file without a #! line through /bin/sh. */
static void __attribute__((noreturn)) exec_search(const struct alcove_sandbox *sb)
{
    char **env = sb->exec_env != NULL ? sb->exec_env : sb->envp;
    const char *file = sb->argv[0];
    if (strchr(file, '/') != NULL) {
        execve(file, sb->argv, env);
        int err = errno;
        exec_failed(sb, err, file, err == ENOENT && access(file, F_OK) == 0 ? file : NULL);
    }
    const char *path = "/usr/local/bin:/usr/bin:/bin";
    for (char **e = env; e != NULL && *e != NULL; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    int err = ENOENT, denied = 0;
    char found[PATH_CAP];
    found[0] = 0;
    size_t flen = strlen(file);
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end != NULL ? (size_t)(end - p) : strlen(p);
        char full[PATH_CAP];
        if (dlen + 1 + flen < sizeof(full)) {
            memcpy(full, dlen ? p : ".", dlen ? dlen : 1);
            size_t off = dlen ? dlen : 1;
            full[off] = '/';
            memcpy(full + off + 1, file, flen + 1);
            execve(full, sb->argv, env);
            int why = errno; /* access() below sets errno too */
            if (why == EACCES)
                denied = 1;
            else if (why == ENOENT && found[0] == 0 && access(full, F_OK) == 0)
                memcpy(found, full, strlen(full) + 1);
            else if (why != ENOENT && why != ENOTDIR) {
                err = why;
                break;
            }
        }
        if (end == NULL)
            break;
        p = end;
    }
    if (denied && err == ENOENT && found[0] == 0)
        err = EACCES;
    exec_failed(sb, err, file, found[0] != 0 ? found : NULL);
}

/* PWD in the program's environment, for the working directory taken from a list:
 * it replaces one there, or takes the slot alcove_sandbox_env kept free. */
static void set_pwd(struct alcove_sandbox *sb, const char *pwd, char *entry, size_t cap)
{
    if (snprintf(entry, cap, "PWD=%s", pwd) >= (int)cap)
        fail(ENAMETOOLONG, "environment", "Cannot set PWD", pwd);
    size_t i = 0;
    while (sb->exec_env[i] != NULL && strncmp(sb->exec_env[i], "PWD=", 4) != 0)
        i++;
    sb->exec_env[i] = entry;
}

void alcove_sandbox_child(struct alcove_sandbox *sb, struct alcove_state *ap)
{
    char pwd_entry[PATH_CAP + 8]; /* lives until exec: this never returns */
    int rv;
    cur = sb;
    /* Signals stay blocked until just before exec. One that comes meanwhile acts on
     * the program as it would by default: the control process's handlers give it its
     * default action from here on (alcove_spawning), and exec resets them. Ignored
     * signals would stay ignored across exec: those are reset, and the ones the C
     * library keeps for itself. */
    alcove_spawning = 1;
    /* What the setup makes has the modes asked for, whatever the umask, as bubblewrap's. */
    caller_umask = umask(0);
    for (int sig = 1; sig < 65; sig++) {
        if (sig < 64 && (ap->keep_ignored >> sig & 1)) {
            signal(sig, SIG_IGN); /* the command line's, inherited so (nohup) */
            continue;
        }
        if (ap->sigmode[sig] != ALCOVE_SIG_IGN && (sig < 32 || sig >= SIGRTMIN))
            continue;
        alcove_signal_default(sig);
    }
    die_with_parent(sb, sb->parent);
    if (sb->new_session ? setsid() < 0 : !sb->keep_pgrp && setpgid(0, 0) < 0)
        fail(errno, sb->new_session ? "setsid" : "setpgid", "Cannot start a process group",
             NULL);
    for (size_t i = 0; i < ap->nhost_fds; i++)
        close(ap->host_fds[i]);
    if (sb->sync_fd >= 0) {
        char c;
        ssize_t n;
        while ((n = read(sb->sync_fd, &c, 1)) < 0 && errno == EINTR)
            ;
        if (n != 1)
            _exit(127); /* the parent reported why */
        close(sb->sync_fd);
    }
    /* This process drops its privileges below while it runs on the control process's
     * memory (or a copy of it): no process of its user may then open that memory through
     * /proc/PID/mem or ptrace it, which would be the control process's. Started by root it
     * was born so; otherwise not before the id maps, which the parent writes through this
     * process's /proc. exec gives the program a state of its own; the parent gives its own
     * back once this process has left. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    int hier;
    if (sb->cgroup != NULL && (rv = alcove_cg_enter(sb->cgroup, sb->cg_into_v2, &hier)) < 0)
        failf(-rv, "cgroup", NULL, "Cannot move the process into the cgroup %s",
              sb->cgroup->dir[hier]);
    if (sb->userns_fd >= 0 || sb->pidns_fd >= 0)
        join_namespaces(sb);
    for (int i = 0; i < 3; i++) {
        if (sb->stdio_fd[i] < 0)
            continue;
        if (dup2(sb->stdio_fd[i], i) < 0)
            fail(errno, "stdio", "Cannot set up standard input and output", NULL);
        fcntl(i, F_SETFL, i == 0 ? O_RDONLY : O_WRONLY);
    }
    /* Only 0, 1, 2 and the report pipe (none for a child on its control process's memory) go on. */
    if (sb->report_fd >= 0 && sb->report_fd < 3) {
        int fd = fcntl(sb->report_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            _exit(127);
        sb->report_fd = fd;
    }
    close_descriptors(sb);

    if (sb->hostname.s != NULL && sethostname(sb->hostname.s, sb->hostname.len) < 0)
        fail(errno, "hostname", "Cannot set the host name", sb->hostname.s);
    int proc_fd = -1;
    if (sb->disable_userns && (proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        fail(errno, "userns", "Can't open /proc", "/proc");
    if (sb->namespaces & CLONE_NEWNS) {
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
            fail(errno, "mount", "Cannot make / a slave mount", "/");
        if (sb->new_root)
            new_root(sb);
    }
    user_namespace_rules(sb, proc_fd);
    if (proc_fd >= 0)
        close(proc_fd);
    lock_files(sb);
    struct rlimit nofile;
    if (alcove_program_nofile != RLIM_INFINITY && getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
        nofile.rlim_cur = alcove_program_nofile;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    for (size_t i = 0; i < sb->nrlimits; i++) {
        struct rlimit rl = {.rlim_cur = (rlim_t)sb->rlimits[i].cur,
                            .rlim_max = (rlim_t)sb->rlimits[i].max};
        if (setrlimit((alcove_rlimit_resource)sb->rlimits[i].resource, &rl) < 0) {
            int err = errno;
            char number[24], limit[2][24];
            const char *name = alcove_constant_name(ALCOVE_CONST_RLIMIT, sb->rlimits[i].resource);
            if (name == NULL) {
                snprintf(number, sizeof(number), "rlimit %d", sb->rlimits[i].resource);
                name = number;
            }
            for (int k = 0; k < 2; k++) {
                rlim_t v = k == 0 ? rl.rlim_cur : rl.rlim_max;
                if (v == RLIM_INFINITY)
                    snprintf(limit[k], sizeof(limit[k]), "unlimited");
                else
                    snprintf(limit[k], sizeof(limit[k]), "%llu", (unsigned long long)v);
            }
            failf(err, "rlimit", NULL, "Cannot set %s to %s (hard %s)", name, limit[0], limit[1]);
        }
    }
    const char *pwd = enter_cwd(sb);
    drop_bounding(sb);
    /* Before any change of ids: the parent then, to tell whether it died meanwhile. */
    pid_t ppid = getppid();
    if (sb->has_caps && sb->caps != 0 && sb->has_uid)
        prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    if (sb->has_uid || sb->has_gid) {
        /* Refused in a user namespace whose setgroups is "deny": none to drop then. */
        if (setgroups(0, NULL) < 0 && errno != EPERM)
            fail(errno, "setgroups", "Cannot drop the supplementary groups", NULL);
    }
    /* Without CAP_SETUID/CAP_SETGID, only a user namespace gives other ids. */
    const char *ids_hint = (sb->namespaces & CLONE_NEWUSER) == 0 && sb->userns_fd < 0
                               ? " (without root, ask for the \"user\" namespace)"
                               : "";
    if (sb->has_gid && setresgid(sb->gid, sb->gid, sb->gid) < 0) {
        int err = errno;
        failf(err, "setgid", NULL, "Cannot change to gid %u%s", (unsigned)sb->gid,
              err == EPERM ? ids_hint : "");
    }
    if (sb->has_uid && setresuid(sb->uid, sb->uid, sb->uid) < 0) {
        int err = errno;
        failf(err, "setuid", NULL, "Cannot change to uid %u%s", (unsigned)sb->uid,
              err == EPERM ? ids_hint : "");
    }
    if (sb->has_uid || sb->has_gid || sb->disable_userns)
        die_with_parent(sb, ppid);
    /* A change of ids sets the state to fs.suid_dumpable, which may be 1. */
    if (sb->has_uid || sb->has_gid)
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    set_caps(sb);
    if (sb->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail(errno, "no_new_privs", "Cannot set no_new_privs", NULL);
    if (sb->landlock)
        landlock(sb);
    struct last_steps ls = {sb, pwd, pwd_entry, sizeof(pwd_entry)};
    if (sb->init)
        run_init(&ls);
    run_last_steps(&ls);
}

static void run_last_steps(struct last_steps *ls)
{
    struct alcove_sandbox *sb = ls->sb;
    /* The program's umask, as it was before the setup: before the filters, which may refuse
     * umask(2). */
    umask(caller_umask);
    if (ls->pwd != NULL)
        set_pwd(sb, ls->pwd, ls->pwd_entry, ls->pwd_cap);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* A time budget already spent (a timeout of 0, or steps that took all of it): the program
     * never starts. Its end is the timeout's kill (loop.c counts it so). Before the filters,
     * which may refuse kill. */
    if (sb->deadline_ns > 0 && alcove_monotonic_ns() >= sb->deadline_ns) {
        kill(getpid(), SIGKILL);
        /* The init of a pid namespace ignores its own: the control process's comes. */
        for (;;)
            pause();
    }
    /* After the filters, a failed exec may have neither write nor exit (fail): it ends by a
     * trap, at SIGILL's default action from here, which exec would give the program anyway. */
    if (sb->nseccomp > 0)
        alcove_signal_default(SIGILL);
    for (size_t i = 0; i < sb->nseccomp; i++) {
        struct sock_fprog prog = {
            .len = (unsigned short)(sb->seccomp_len[i] / 8),
            .filter = (struct sock_filter *)(uintptr_t)sb->seccomp[i],
        };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0u, &prog) < 0 &&
            (errno != ENOSYS || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0))
            fail(errno, "seccomp", "Cannot install the seccomp filter", NULL);
    }
    exec_search(sb);
}
