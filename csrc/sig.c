/* Signals in a control process: every catchable signal is caught by a handler that
 * writes its siginfo to a self-pipe; the loop reports it, or reaps on SIGCHLD.
 * Handlers (unlike ignored dispositions) reset to the default on execve, so an
 * exec'd program starts with ordinary signal dispositions. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alcove.h"
#include "compat.h"

static int self_pipe = -1;

volatile sig_atomic_t alcove_spawning;
volatile sig_atomic_t alcove_signal_waiting;

/* A fault raised by the kernel for the instruction that just ran (si_code > 0;
 * a signal sent by a process has si_code <= 0). Returning from the handler would
 * run the same instruction again, and fault again, for ever: the handler gives
 * the signal its default action instead, so that the instruction kills the
 * process and the parent reports the signal as its termsig. SIGABRT (abort
 * raises it again itself) and SIGSYS (a seccomp trap skips the system call) do
 * not repeat and stay reported as events. */
static int is_fault(int sig, const siginfo_t *info)
{
    return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) &&
           info->si_code > 0;
}

/* A signal of the C library's own (32 up to SIGRTMIN) set to handler (SIG_DFL or SIG_IGN)
 * when `set`, its handler before in *was: its sigaction refuses them, so the system call is
 * made directly, with the kernel's layout of these targets. 0 where that is done, -1
 * elsewhere. */
static int library_signal(int sig, int set, void (*handler)(int), void (**was)(int))
{
#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))
    struct ksigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        uint64_t mask;
    } k = {handler, 0, NULL, 0}, old;
    memset(&old, 0, sizeof(old));
    int rv = (int)syscall(SYS_rt_sigaction, sig, set ? &k : NULL, &old, sizeof(k.mask));
    if (was != NULL)
        *was = old.handler;
    return rv;
#else
    (void)sig;
    (void)set;
    (void)handler;
    (void)was;
    return -1;
#endif
}

uint64_t alcove_inherited_ignored(void)
{
    uint64_t mask = 0;
    /* Not SIGPIPE nor SIGXFSZ: the runtimes that exec the command line ignore those for
     * themselves (Deno SIGPIPE; Node.js both, having reset every other disposition). */
    for (int sig = 1; sig < 64; sig++) {
        if (sig == SIGPIPE || sig == SIGXFSZ)
            continue;
        struct sigaction old;
        if ((sig < 32 || sig >= SIGRTMIN) && sigaction(sig, NULL, &old) == 0 &&
            old.sa_handler == SIG_IGN)
            mask |= (uint64_t)1 << sig;
    }
    return mask;
}

int alcove_library_signals(int ignored)
{
    void (*was)(int) = SIG_DFL;
    library_signal(32, 0, SIG_DFL, &was);
    for (int sig = 32; sig < SIGRTMIN; sig++)
        library_signal(sig, 1, ignored ? SIG_IGN : SIG_DFL, NULL);
    return was == SIG_IGN;
}

void alcove_signal_default(int sig)
{
    /* A root started through libalcove.so inherits the C library's own ignored. */
    if (sig >= 32 && sig < SIGRTMIN && library_signal(sig, 1, SIG_DFL, NULL) == 0)
        return;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
}

static void on_signal(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    int saved = errno;
    if (alcove_spawning) {
        /* In a spawned program's process before its exec, the signal does what it
         * would do to the program: its default action, once this handler returns
         * (the signal is blocked meanwhile). getpid is a system call: a child that
         * shares this process's memory has its own pid, but not its own thread data. */
        alcove_signal_default(sig);
        kill(getpid(), sig);
        errno = saved;
        return;
    }
    if (is_fault(sig, info)) {
        alcove_signal_default(sig);
        errno = saved;
        return;
    }
    /* A full pipe drops the record; SIGCHLD is re-checked by every reap. */
    ssize_t n = write(self_pipe, info, sizeof(*info));
    (void)n;
    alcove_signal_waiting = 1;
    errno = saved;
}

int alcove_signal_set(struct alcove_state *ap, int sig, enum alcove_sigmode mode)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    /* SIGCHLD ignored in the kernel would reap children by itself, and their exits
     * would never be reported: "ignore" only means no signal event, the handler
     * stays (see alcove_exec_prepare for what an exec'd program inherits). */
    enum alcove_sigmode kernel = mode;
    if (sig == SIGCHLD && mode == ALCOVE_SIG_IGN)
        kernel = ALCOVE_SIG_REAP;
    switch (kernel) {
    case ALCOVE_SIG_DFL:
        sa.sa_handler = SIG_DFL;
        break;
    case ALCOVE_SIG_IGN:
        sa.sa_handler = SIG_IGN;
        break;
    default:
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        break;
    }
    if (sigaction(sig, &sa, NULL) < 0)
        return -errno;
    ap->sigmode[sig] = mode;
    /* Children that exited while the caller reaped them itself (sig_info) sent
     * their SIGCHLD already: a fresh one makes the loop reap them now. */
    if (sig == SIGCHLD && alcove_reaps(ap))
        raise(SIGCHLD);
    return 0;
}

int alcove_signal_reinit(struct alcove_state *ap)
{
    int fds[2];
    if (alcove_pipe(fds) < 0)
        return -errno;
    ap->sigread = fds[0];
    ap->sigwrite = fds[1];
    self_pipe = fds[1];
    return 0;
}

int alcove_signal_init(struct alcove_state *ap, uint64_t left_default)
{
    int rv = alcove_signal_reinit(ap);
    if (rv < 0)
        return rv;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        /* glibc keeps the first real-time signals for itself. */
        if (sig >= 32 && sig < SIGRTMIN)
            continue;
        enum alcove_sigmode mode = ALCOVE_SIG_INFO;
        if (sig < 64 && (ap->keep_ignored >> sig & 1) && sig != SIGCHLD && sig != SIGPIPE)
            mode = ALCOVE_SIG_IGN;
        else if (sig < 64 && (left_default >> sig & 1))
            mode = ALCOVE_SIG_DFL;
        else if (sig == SIGCHLD)
            mode = ALCOVE_SIG_REAP;
        else if (sig == SIGPIPE)
            mode = ALCOVE_SIG_QUIET;
        alcove_signal_set(ap, sig, mode);
    }
    return 0;
}

