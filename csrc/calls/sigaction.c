#include <errno.h>
#include <signal.h>

#include "../calls.h"

/* Handlers on the wire: 0 sig_dfl, 1 sig_ign, 2 sig_info. */
static int64_t handler_of(int sig, enum alcove_sigmode mode)
{
    switch (mode) {
    case ALCOVE_SIG_INFO: return 2;
    case ALCOVE_SIG_IGN:
    case ALCOVE_SIG_QUIET: return 1;
    case ALCOVE_SIG_REAP: return 0;
    case ALCOVE_SIG_DFL: return sig == SIGCHLD ? 0 : 0;
    }
    return 0;
}

int alcove_call_sigaction(struct alcove_state *ap, const struct alcove_arg *arg,
                          struct alcove_reply *reply)
{
    int64_t sig = arg[0].i;
    if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP || (sig >= 32 && sig < SIGRTMIN))
        return -EINVAL;
    int64_t old = handler_of((int)sig, ap->sigmode[sig]);
    if (arg[1].type == ALCOVE_VAL_INT) {
        enum alcove_sigmode mode;
        switch (arg[1].i) {
        case 0: mode = sig == SIGCHLD ? ALCOVE_SIG_REAP : ALCOVE_SIG_DFL; break;
        case 1: mode = ALCOVE_SIG_IGN; break;
        case 2: mode = ALCOVE_SIG_INFO; break;
        default: return alcove_reply_badarg(reply, "sigaction: unknown handler");
        }
        int rv = alcove_signal_set(ap, (int)sig, mode);
        if (rv < 0)
            return rv;
    }
    return alcove_reply_int(reply, old);
}
