/* Creating a child control process (fork and clone). The child gets pipes for
 * stdin, stdout and stderr, and a close-on-exec control channel: two pipes, so
 * that EOF on it tells the parent the child ran execve (or exited). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sched.h>
#endif

#include "alcove.h"
#include "compat.h"
#include "sandbox.h"
#include "support.h"

static void close_above(int lo, int hi)
{
    if (lo > hi)
        return;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0u) == 0)
        return;
#endif
    int max = (int)sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = lo; fd <= hi && fd < max; fd++)
        close(fd);
}

/* Close every descriptor from 3 up except the two given. */
static void close_all_but(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    close_above(3, lo - 1);
    close_above(lo + 1, hi - 1);
    close_above(hi + 1, 0x7fffffff);
}

pid_t alcove_clone(unsigned long long flags)
{
    if (flags == 0)
        return fork();
#ifndef __linux__
    errno = ENOSYS; /* namespaces and the other clone flags are Linux's */
    return -1;
#else
#ifdef SYS_clone3
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid >= 0 || errno != ENOSYS)
        return (pid_t)pid;
#endif
    return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
#endif
}

static void child_setup(struct alcove_state *ap, int fds[5][2], const sigset_t *mask)
{
    /* Die with the parent control process: it is single threaded, so unlike a
     * runtime's worker thread its exit is the process's. (Without this, EOF on the
     * control channel ends the child and its subtree.) */
    alcove_die_with_parent();
    setpgid(0, 0);
    if (dup2(fds[2][0], 0) < 0 || dup2(fds[3][1], 1) < 0 || dup2(fds[4][1], 2) < 0)
        _exit(127);
    int up_in = fds[0][0], up_out = fds[1][1];
    close_all_but(up_in, up_out);
    alcove_ninherited = 0;
    /* The parent's loop state stays the parent's: its children, buffers, a reply
     * being built, a splice in progress. The child starts from a fresh state and
     * carries over only what it inherits by design: options, signal dispositions
     * (the kernel kept them too) and the call filter meant for children. */
    struct alcove_state fresh;
    alcove_state_init(&fresh, ap->depth + 1, up_in, up_out);
    fresh.opt = ap->opt;
    memcpy(fresh.sigmode, ap->sigmode, sizeof(fresh.sigmode));
    memcpy(fresh.filter, ap->filter_next, sizeof(fresh.filter));
    memcpy(fresh.filter_next, ap->filter_next, sizeof(fresh.filter_next));
    for (size_t i = 0; i < ap->nchild; i++) {
        struct alcove_child *c = &ap->child[i];
        alcove_buf_free(&c->ctl_rbuf);
        alcove_buf_free(&c->ctl_wbuf);
        alcove_buf_free(&c->in_wbuf);
        alcove_buf_free(&c->setup_buf);
        free(c->marks);
        free(c->pending);
    }
    free(ap->child);
    alcove_buf_free(&ap->up_rbuf);
    alcove_buf_free(&ap->up_wbuf);
    *ap = fresh; /* subreaper 0: the flag is not inherited across fork */
    /* Their flags are known: alcove_pipe gave them O_NONBLOCK and nothing else. */
    fcntl(0, F_SETFL, O_RDONLY);
    fcntl(1, F_SETFL, O_WRONLY);
    fcntl(2, F_SETFL, O_WRONLY);
    if (alcove_signal_reinit(ap) < 0)
        _exit(127);
    /* Signals that came while the handlers still wrote to the parent's pipe
     * waited, blocked; now they reach this process's own pipe. */
    sigprocmask(SIG_SETMASK, mask, NULL);
    alcove_loop(ap);
    _exit(0);
}

int alcove_reply_spawned(struct alcove_state *ap, struct alcove_reply *reply, pid_t pid)
{
    if (pid >= 0)
        return alcove_reply_int(reply, pid);
    if (pid == -EAGAIN && ap->depth + 1 > ALCOVE_PIPELINE_MAX)
        return alcove_reply_errno_limit(reply, EAGAIN, "pipeline");
    if (pid == -EAGAIN && ap->depth + 1 > ap->opt.maxforkdepth)
        return alcove_reply_errno_limit(reply, EAGAIN, "maxforkdepth");
    /* At the most children the descriptors allow, raising maxchild alone would not help. */
    if (pid == -EAGAIN && ap->nchild >= (size_t)ap->opt.maxchild)
        return alcove_reply_errno_limit(
            reply, EAGAIN,
            ap->opt.maxchild >= alcove_nofile_maxchild() ? "RLIMIT_NOFILE" : "maxchild");
    return pid;
}

pid_t alcove_spawn_child(struct alcove_state *ap, unsigned long long clone_flags)
{
    if (!alcove_child_room(ap))
        return -EAGAIN;
    alcove_subreaper(ap, 1);
    /* 0: control down, 1: control up, 2: stdin, 3: stdout, 4: stderr */
    int fds[5][2];
    int made = 0;
    for (; made < 5; made++) {
        /* Every end starts non-blocking, as the control processes want theirs;
         * the child makes its stdio ends blocking again for the programs it runs. */
        if (alcove_pipe(fds[made]) < 0) {
            int err = errno;
            while (made-- > 0) {
                close(fds[made][0]);
                close(fds[made][1]);
            }
            return -err;
        }
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t pid = alcove_clone(clone_flags);
    if (pid == 0)
        child_setup(ap, fds, &old); /* never returns */
    int err = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        for (int i = 0; i < 5; i++) {
            close(fds[i][0]);
            close(fds[i][1]);
        }
        return -err;
    }

    close(fds[0][0]);
    close(fds[1][1]);
    close(fds[2][0]);
    close(fds[3][1]);
    close(fds[4][1]);
    struct alcove_child c;
    memset(&c, 0, sizeof(c));
    c.pid = pid;
    c.ctl_out = fds[0][1];
    c.ctl_in = fds[1][0];
    c.in = fds[2][1];
    c.out = fds[3][0];
    c.err = fds[4][0];
    c.setup_fd = -1;
    c.started_ns = alcove_monotonic_ns();
    c.flowcontrol = ap->opt.flowcontrol;
    c.signaloneof = ap->opt.signaloneof;
    if (alcove_child_add(ap, &c) < 0) {
        kill(pid, SIGKILL);
        close(c.ctl_out);
        close(c.ctl_in);
        close(c.in);
        close(c.out);
        close(c.err);
        return -ENOMEM;
    }
    return pid;
}
