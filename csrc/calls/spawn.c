/* spawn (ours): fork, confine and exec a program in one request (see sandbox.h).
 * The call is answered when the child has exec'd (its pid) or a setup step failed
 * (the step, the path and the errno). A child that borrows this process's memory (the
 * usual case) is waited for until then; one that copies it sets up while the control
 * process goes on. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../calls.h"
#include "../sandbox.h"

#define NEWUSER 0x10000000ull
#define NEWPID 0x20000000ull

/* Whether this process runs under a seccomp filter, which its children inherit: a filter
 * is never removed, so once seen it is remembered (and inherited by forked children). */
static int under_seccomp(void)
{
    static int filtered;
#ifdef PR_GET_SECCOMP
    /* 0: none; 2: a filter; an error: prctl itself filtered out */
    if (!filtered)
        filtered = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0;
#endif
    return filtered;
}

/* When a spawn started at `started` is due, on the monotonic clock; 0 for no timeout. A
 * timeout of 0 is already reached (a budget that ran out), never "no limit". */
static long long deadline(long long started, const struct alcove_sandbox *sb)
{
    if (!sb->has_timeout)
        return 0;
    uint64_t ms = sb->timeout_ms > 1000000000ull ? 1000000000ull : sb->timeout_ms;
    return started + (long long)ms * 1000000;
}

static int write_file(pid_t pid, const char *name, const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int err = errno;
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -(n < 0 ? err : EIO);
}

/* Unprivileged, the kernel allows one mapping: this process's own id outside, to the id
 * asked for inside (after setgroups is denied). Privileged, ids map to themselves: root
 * (so that the setup steps run by root inside can create files) and the id asked for,
 * so that the sandbox's files are its own outside too. */
static int write_maps(const struct alcove_sandbox *sb, pid_t pid, const char **step)
{
    int privileged = geteuid() == 0;
    uid_t uid_in = sb->has_uid ? sb->uid : geteuid();
    gid_t gid_in = sb->has_gid ? sb->gid : getegid();
    char line[128];
    int rv;
    /* The files of the child /proc knows: in a pid namespace of this process's own, by
     * another number than pid (which there names some other process). */
    struct alcove_proc_view view = alcove_proc_view();
    pid = alcove_proc_pid(&view, pid);
    *step = "uid_map";
    if (pid <= 0)
        return -ESRCH;
    if (privileged && uid_in != 0)
        snprintf(line, sizeof(line), "0 0 1\n%u %u 1\n", (unsigned)uid_in, (unsigned)uid_in);
    else
        snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid_in, (unsigned)geteuid());
    if ((rv = write_file(pid, "uid_map", line)) < 0)
        return rv;
    if (!privileged) {
        *step = "setgroups";
        if ((rv = write_file(pid, "setgroups", "deny")) < 0 && rv != -ENOENT)
            return rv;
    }
    if (privileged && gid_in != 0)
        snprintf(line, sizeof(line), "0 0 1\n%u %u 1\n", (unsigned)gid_in, (unsigned)gid_in);
    else
        snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid_in, (unsigned)getegid());
    *step = "gid_map";
    return write_file(pid, "gid_map", line);
}

/* Why namespaces could not be made, as precisely as this machine tells. */
static const char *clone_hint(int err, unsigned long long flags)
{
    if (err != EPERM && err != ENOSPC && err != EUSERS && err != EACCES)
        return "Cannot create the namespaces";
    if (!(flags & NEWUSER))
        return "Cannot create the namespaces: this needs CAP_SYS_ADMIN, or a user namespace";
    if (alcove_read_int_file("/proc/sys/user/max_user_namespaces") == 0)
        return "Cannot create a user namespace: user.max_user_namespaces is 0 (raise it as "
               "root: sysctl -w user.max_user_namespaces=N)";
    if (alcove_read_int_file("/proc/sys/kernel/unprivileged_userns_clone") == 0 && geteuid() != 0)
        return "Cannot create a user namespace: kernel.unprivileged_userns_clone is 0 "
               "(set it to 1, or run as root)";
    if (alcove_read_int_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1 &&
        geteuid() != 0)
        return "Cannot create a user namespace: AppArmor restricts unprivileged user namespaces "
               "(kernel.apparmor_restrict_unprivileged_userns is 1; allow this program in a "
               "profile, or run as root)";
    return "Cannot create the namespaces: the kernel refused (a seccomp filter, a security "
           "module or a namespace limit)";
}

/* A failure of the parent's part, answered at once in the record format the child
 * uses: the host shows both the same way. */
static int setup_failed(struct alcove_reply *reply, int err, const char *step, const char *what)
{
    unsigned char buf[1024];
    size_t off = 0;
    const char *parts[] = {step, what, "", strerror(err)};
    uint32_t e = (uint32_t)err;
    for (int i = 0; i < 4; i++)
        buf[off++] = (unsigned char)(e >> (8 * i));
    for (int k = 0; k < 4; k++) {
        size_t n = strlen(parts[k]);
        if (n > 200)
            n = 200;
        for (int i = 0; i < 4; i++)
            buf[off++] = (unsigned char)((uint32_t)n >> (8 * i));
        memcpy(buf + off, parts[k], n);
        off += n;
    }
    int rv = alcove_reply_bytes(reply, buf, off);
    reply->status = ALCOVE_STATUS_SETUP;
    return rv;
}

/* A spawn that failed after its cgroups were made: whatever got in is killed and
 * they are removed. */
static void abandon(struct alcove_cg *cg)
{
    struct alcove_cg_usage u;
    if (cg != NULL)
        alcove_cg_finish(cg, &u, 0);
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

struct child_arg {
    struct alcove_sandbox *sb;
    struct alcove_state *ap;
};

/* The stack of a child that shares this process's memory: one at a time, since this
 * process waits until the child has exec'd or exited. */
static unsigned char spawn_stack[256 * 1024] __attribute__((aligned(16)));

/* Reads the report pipe to its end: nothing when the child ran execve (the pipe closes on
 * exec), else the record of its failed step (then it exits). A step that outlasts the
 * deadline (0: none) has the child killed, as the loop would have it: before its exec it
 * has started nothing, and walking its tree (which allocates) could race its own use of
 * the memory. */
static size_t wait_exec(int fd, pid_t pid, long long deadline, int *timed_out, unsigned char *rec,
                        size_t cap)
{
    size_t have = 0;
    for (;;) {
        int ms = -1;
        if (deadline > 0 && !*timed_out) {
            long long left = deadline - alcove_monotonic_ns();
            if (left <= 0) {
                kill(pid, SIGKILL);
                *timed_out = 1;
            } else {
                ms = (int)((left + 999999) / 1000000);
            }
        }
        /* Hang-up only: the pipe is read once the child has exec'd or exited (see the
         * byte written before the child was made). */
        struct pollfd p = {.fd = fd, .events = 0, .revents = 0};
        int ready = poll(&p, 1, ms);
        if (ready < 0 && errno != EINTR)
            return have;
        if (ready <= 0)
            continue;
        unsigned char spill[512];
        ssize_t n = have < cap ? read(fd, rec + have, cap - have) : read(fd, spill, sizeof(spill));
        if (n > 0 && have < cap)
            have += (size_t)n;
        else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return have;
    }
}

/* Brings the peak resident size of this process's memory down to what it holds now ("5"
 * to /proc/self/clear_refs). A child on this memory until its exec gets the memory's peak
 * from the kernel as its own (its rusage's maxrss): one large request, a file of 60 MiB to
 * write, showed in the figure of every program spawned after it. Nothing is done where
 * that file cannot be written (no /proc). */
static void reset_peak_rss(struct alcove_state *ap)
{
    if (ap->clear_refs_fd == -1 &&
        (ap->clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC)) < 0)
        ap->clear_refs_fd = -2;
    if (ap->clear_refs_fd >= 0 && write(ap->clear_refs_fd, "5", 1) != 1) {
        close(ap->clear_refs_fd);
        ap->clear_refs_fd = -2;
    }
}

/* Makes this process dumpable again when it was (*was 1) before a spawn took that away. */
static void give_back_dumpable(int *was)
{
    if (*was == 1)
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    *was = 0;
}

/* Where a child that borrows this process's memory leaves the record of a failed step (a
 * length, then the record; see alcove_shared_report): this process reads it once the
 * child has exited, and only one child borrows at a time. */
static unsigned char borrowed_report[SB_SHARED_REPORT];

static int vfork_child(void *arg)
{
    struct child_arg *a = arg;
    alcove_sandbox_child(a->sb, a->ap); /* never returns */
}

int alcove_call_spawn(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    struct alcove_sandbox sb;
    const char *why = NULL;
    int rv = alcove_sandbox_decode(&sb, (const unsigned char *)arg[0].s, arg[0].len, &why);
    if (rv == -EINVAL)
        return alcove_reply_badarg(reply, why);
    if (rv == 0 && (rv = alcove_sandbox_env(&sb)) < 0)
        alcove_sandbox_free(&sb);
    if (rv < 0)
        return rv;
    if (!alcove_child_room(ap)) {
        alcove_sandbox_free(&sb);
        return alcove_reply_spawned(ap, reply, -EAGAIN);
    }
    /* Unprivileged, other namespaces need a user namespace to own them (one given to
     * join owns them then). */
    if (sb.namespaces != 0 && geteuid() != 0 && sb.userns_fd < 0)
        sb.namespaces |= NEWUSER;
    /* Joining namespaces given as descriptors happens in the child: then it makes the
     * others itself (unshare), inside the joined user namespace, and it makes the pid
     * namespace below a joined one. */
    int joins = sb.userns_fd >= 0 || sb.pidns_fd >= 0;
    unsigned long long flags = sb.userns_fd >= 0 ? 0 : sb.namespaces;
    if (sb.pidns_fd >= 0)
        flags &= ~NEWPID;
    const int given[] = {sb.userns_fd, sb.pidns_fd, sb.userns2_fd};
    static const char *const given_name[] = {"userns", "pidns", "userns2"};
    for (int i = 0; i < 3; i++) {
        if (given[i] >= 0 && fcntl(given[i], F_GETFD) < 0) {
            alcove_sandbox_free(&sb);
            return setup_failed(reply, EBADF, given_name[i],
                                "The namespace descriptor is not open in the control process");
        }
    }
    /* Its cgroups are made and limited before the fork; a failure leaves none. */
    struct alcove_cg *cg = NULL;
    if (sb.cg.on) {
        char what[1024];
        rv = alcove_cg_create(&sb.cg, &cg, what, sizeof(what));
        if (rv < 0) {
            alcove_sandbox_free(&sb);
            return setup_failed(reply, -rv, "cgroup", what);
        }
    }

    /* 0..2: stdio, 3: the report pipe, 4: the sync pipe (id maps, the host's look) */
    int fds[5][2];
    for (int i = 0; i < 5; i++)
        fds[i][0] = fds[i][1] = -1;
    int err = 0;
    for (int i = 0; i < 3 && err == 0; i++) {
        if (sb.stdio[i] == SB_STDIO_PIPE) {
            if (pipe2(fds[i], O_CLOEXEC | O_NONBLOCK) < 0)
                err = errno;
        } else if (sb.stdio[i] == SB_STDIO_NULL) {
            int fd = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
            if (fd < 0)
                err = errno;
            /* The child's end only: nothing to proxy. */
            if (i == 0)
                fds[i][0] = fd;
            else
                fds[i][1] = fd;
        }
    }
    /* The child waits on the sync pipe for its id maps, and for the in-process host's hook. */
    int hold = ap->spawned != NULL;
    /* Without namespaces (and without the host's hook) nothing waits on this process (no id
     * maps to write), and the child's steps are quick: it borrows this process's memory until it execs, as
     * posix_spawn does, instead of copying it (not to join namespaces: the kernel
     * refuses that to a process sharing its memory). It is born in its v2 cgroup where
     * the kernel can (clone3 CLONE_INTO_CGROUP), and moves itself into the others. This
     * process sleeps until the child has exec'd or exited (CLONE_VFORK): a failed step
     * leaves its record in this memory (borrowed_report), and no report pipe is needed. */
    int borrow = flags == 0 && !joins && !SPAWN_COPIES_MEMORY && !hold;
    /* Non-blocking for this process; the child's one record always fits. One byte is written
     * here first and read only once the child has exec'd or exited: the pipe's page is then
     * this process's, so a child in a memory cgroup at its limit, whose other allocations
     * fail, can still write its record into that page (it fits beside the byte). */
    if (err == 0 && !borrow && pipe2(fds[3], O_CLOEXEC | O_NONBLOCK) < 0)
        err = errno;
    if (err == 0 && !borrow && write(fds[3][1], "", 1) != 1)
        err = errno != 0 ? errno : EIO;
    if (err == 0 && ((flags & NEWUSER) || hold) && pipe2(fds[4], O_CLOEXEC) < 0)
        err = errno;
    if (err != 0) {
        for (int i = 0; i < 5; i++)
            close_pair(fds[i]);
        alcove_sandbox_free(&sb);
        abandon(cg);
        return -err;
    }
    sb.stdio_fd[0] = fds[0][0];
    sb.stdio_fd[1] = fds[1][1];
    sb.stdio_fd[2] = fds[2][1];
    sb.report_fd = fds[3][1];
    sb.sync_fd = fds[4][0];
    if (borrow) {
        memset(borrowed_report, 0, sizeof(uint32_t)); /* no record yet */
        sb.shared_report = borrowed_report;
    } else if (sb.nseccomp > 0) {
        /* Where a filter may refuse the report's write (see shared_report). Without one, the
         * report goes as ever. */
        void *page = mmap(NULL, SB_SHARED_REPORT, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        sb.shared_report = page == MAP_FAILED ? NULL : page;
    }
    sb.parent = getpid();
    sb.cgroup = cg;

    alcove_subreaper(ap, 1);
    long long started = alcove_monotonic_ns();
    sb.deadline_ns = deadline(started, &sb);
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    /* With namespaces the child waits for its id maps, which this process writes (and for
     * the host's hook): it cannot sleep through the child's steps as vfork would have it. The child borrows
     * the memory all the same (copying it costs more than all the steps), and this
     * process, once the maps are written, only waits for the exec (or the failure)
     * before it runs on: signals stay blocked meanwhile, so that no handler runs on
     * memory the child is using. Not for what the kernel refuses to a process sharing
     * its memory (joining namespaces, a user namespace made inside), nor for a child
     * that stays (the init of a pid namespace). Nor while other calls wait behind this one
     * or other children are in their steps: this process would hold them all for the
     * whole of this child's steps (mounts, pivot_root: milliseconds), where a copy lets
     * them run on. A full sandbox, 8 in flight, took 3.5-3.6 ms each lent and 2.8-2.9 ms
     * copied; one at a time, 4.5-4.9 ms lent and 5.2-5.3 ms copied. */
    int busy = ap->down_queued > 0 || alcove_children_in_setup(ap) > 0;
    int lend = (flags != 0 || hold) && !joins && !SPAWN_COPIES_MEMORY && cg == NULL && !sb.init &&
               sb.userns2_fd < 0 && !sb.disable_userns && !sb.assert_userns_disabled && !busy;
    /* The child must not be dumpable while it runs on this memory (or a copy of it) with
     * fewer privileges than this process: a program of its uid, or the owner of a user
     * namespace it makes, could open its /proc/PID/mem, which would be this process's. As
     * root it is born so (root still writes its id maps); otherwise it makes itself so once
     * they are written (see alcove_sandbox_child), and an unprivileged control process is its
     * user's in any case. This process gets its state back once the child has left its
     * memory: at once for a copy. */
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    if (dumpable == 1 && geteuid() == 0)
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    else if (!(borrow || lend))
        dumpable = 0; /* nothing to give back */
    if (borrow || lend)
        reset_peak_rss(ap);
    struct child_arg a = {&sb, ap};
    pid_t pid = -1;
    if (cg != NULL && cg->v2_fd >= 0) {
        sb.cg_into_v2 = 1; /* for the child: set before it runs */
        if (borrow)
            pid = alcove_clone_into_vm(cg->v2_fd, vfork_child, &a, spawn_stack,
                                       sizeof(spawn_stack));
        else
            pid = alcove_clone_into(flags, cg->v2_fd);
        sb.cg_into_v2 = pid >= 0;
    }
    if (sb.cg_into_v2) {
        if (pid == 0)
            alcove_sandbox_child(&sb, ap); /* never returns */
    } else if (lend) {
        pid = clone(vfork_child, spawn_stack + sizeof(spawn_stack), CLONE_VM | (int)flags | SIGCHLD,
                    &a);
    } else if (borrow) {
        pid = clone(vfork_child, spawn_stack + sizeof(spawn_stack), CLONE_VM | CLONE_VFORK | SIGCHLD,
                    &a);
    } else {
        pid = alcove_clone(flags);
        if (pid == 0)
            alcove_sandbox_child(&sb, ap); /* never returns */
    }
    err = errno;
    /* A borrowing child's record is read from borrowed_report, which is no mapping to free. */
    if (borrow)
        sb.shared_report = NULL;
    if (pid < 0 || !(borrow || lend))
        give_back_dumpable(&dumpable);
    if (!lend || pid < 0) {
        alcove_spawning = 0; /* set by a child that shared this memory */
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    if (cg != NULL)
        alcove_cg_entered(cg);
    /* The child's ends. */
    if (fds[0][0] >= 0)
        close(fds[0][0]);
    if (fds[1][1] >= 0)
        close(fds[1][1]);
    if (fds[2][1] >= 0)
        close(fds[2][1]);
    if (fds[3][1] >= 0)
        close(fds[3][1]);
    if (fds[4][0] >= 0)
        close(fds[4][0]);
    fds[0][0] = fds[1][1] = fds[2][1] = fds[3][1] = fds[4][0] = -1;

    if (pid < 0) {
        for (int i = 0; i < 5; i++)
            close_pair(fds[i]);
        alcove_sandbox_free(&sb);
        abandon(cg);
        if (flags == 0)
            return -err;
        return setup_failed(reply, err, "clone", clone_hint(err, flags));
    }
    if (fds[4][1] >= 0) {
        /* The child waits until its id maps are written. */
        const char *step = "uid_map";
        char what[1024] = "Cannot write the id maps of the user namespace";
        int mapped = hold ? ap->spawned(ap, pid, !joins) : 0;
        if (mapped < 0) {
            rv = mapped;
            step = "report";
            snprintf(what, sizeof(what), "Cannot report the process");
        } else
            rv = flags & NEWUSER && !mapped ? write_maps(&sb, pid, &step) : 0;
        if (rv == 0 && write(fds[4][1], "", 1) != 1)
            rv = -errno;
        if (rv < 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            give_back_dumpable(&dumpable);
            if (lend) {
                alcove_spawning = 0;
                sigprocmask(SIG_SETMASK, &old, NULL);
            }
            for (int i = 0; i < 5; i++)
                close_pair(fds[i]);
            alcove_sandbox_free(&sb);
            abandon(cg);
            return setup_failed(reply, -rv, step, what);
        }
        close(fds[4][1]);
    }
    int timed_out = 0;
    if (lend || borrow) {
        /* A child on this memory: until its exec or its exit it may use it; then it is
         * answered here, at once. A vfork child has got that far already; one lent the
         * memory is waited for until its report pipe closes. */
        unsigned char rec[4096];
        size_t have = 0;
        if (lend) {
            have = wait_exec(fds[3][0], pid, deadline(started, &sb), &timed_out, rec,
                             sizeof(rec));
            close(fds[3][0]);
            fds[3][0] = -1;
        }
        give_back_dumpable(&dumpable);
        if (lend) {
            alcove_spawning = 0;
            sigprocmask(SIG_SETMASK, &old, NULL);
        }
        const unsigned char *shared = NULL;
        size_t shared_len =
            have > 1 ? 0
                     : alcove_shared_report(borrow ? borrowed_report : sb.shared_report, &shared);
        if (have > 1 || shared_len > 0) {
            /* A step failed and it exited (its record follows the byte written here, or, its
             * write refused by its own filter, is in the shared page): answered as the loop
             * answers a report, with no process left. */
            waitpid(pid, NULL, 0);
            for (int i = 0; i < 5; i++)
                close_pair(fds[i]);
            rv = have > 1 ? alcove_reply_bytes(reply, rec + 1, have - 1)
                          : alcove_reply_bytes(reply, shared, shared_len);
            alcove_sandbox_free(&sb);
            abandon(cg);
            reply->status = ALCOVE_STATUS_SETUP;
            return rv;
        }
    }
    struct alcove_child c;
    memset(&c, 0, sizeof(c));
    c.pid = pid;
    c.ctl_out = c.ctl_in = -1;
    c.in = fds[0][1];
    c.out = fds[1][0];
    c.err = fds[2][0];
    c.setup_fd = fds[3][0];
    c.spawned = 1;
    c.spawn_id = lend || borrow ? 0 : reply->id;
    c.execed = lend || borrow;
    c.started_ns = started;
    c.deadline_ns = deadline(started, &sb);
    if (timed_out)
        c.reason = SB_REASON_TIMEOUT;
    c.max_output = sb.max_output;
    c.output_limited = sb.has_max_output;
    c.filtered = sb.nseccomp > 0 || under_seccomp();
    c.own_group = sb.new_session || !sb.keep_pgrp;
    c.cg = cg;
    c.flowcontrol = ap->opt.flowcontrol;
    c.signaloneof = ap->opt.signaloneof;
    if (!(lend || borrow)) {
        c.shared_report = sb.shared_report; /* read with its report pipe (loop.c) */
        sb.shared_report = NULL;
    }
    alcove_sandbox_free(&sb);
    if (alcove_child_add(ap, &c) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        int own[4] = {c.in, c.out, c.err, c.setup_fd};
        for (int i = 0; i < 4; i++)
            if (own[i] >= 0)
                close(own[i]);
        abandon(cg);
        return -ENOMEM;
    }
    if (lend || borrow)
        return alcove_reply_int(reply, pid);
    reply->deferred = 1;
    return 0;
}
