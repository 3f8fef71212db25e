#include <errno.h>

#include "../calls.h"
#include "../sandbox.h"

int alcove_call_setcpid(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    struct alcove_child *c = alcove_child_find(ap, (pid_t)arg[0].i);
    if (c == NULL || c->dead)
        return -ESRCH;
    int64_t v = arg[2].i;
    switch (arg[1].i) {
    case 0:
        if (v < -1 || v > 0x7fffffff)
            return alcove_reply_badargf(reply,
                                        "setcpid: flowcontrol must be in [-1, 2147483647], got %lld",
                                        (long long)v);
        c->flowcontrol = (int)v;
        break;
    case 1:
        if (v < 0 || v > 64)
            return alcove_reply_badargf(
                reply, "setcpid: signaloneof must be a signal or 0, in [0, 64], got %lld",
                (long long)v);
        c->signaloneof = (int)v;
        break;
    case 2:
    case 3:
        if (v != -1 && v != 0)
            return alcove_reply_badargf(reply, "setcpid: %s must be -1 or 0, got %lld",
                                        arg[1].i == 2 ? "stdout_flowcontrol" : "stderr_flowcontrol",
                                        (long long)v);
        *(arg[1].i == 2 ? &c->out_paused : &c->err_paused) = v == 0;
        break;
    case 4:
        /* Not a setting: the signal goes to its process group and to every process
         * below it, daemons that left the group included, as the limits kill. */
        if (v < 1 || v > 64)
            return alcove_reply_badargf(
                reply, "setcpid: kill_tree must be a signal number, in [1, 64], got %lld",
                (long long)v);
        alcove_kill_tree(c->pid, (int)v);
        break;
    case 5:
        if (v != 0 && v != 1)
            return alcove_reply_badargf(reply, "setcpid: usage must be 0 or 1, got %lld",
                                        (long long)v);
        c->report_usage = (int)v;
        break;
    default:
        return alcove_reply_badarg(reply, "setcpid: unknown option");
    }
    return alcove_reply_ok(reply);
}
