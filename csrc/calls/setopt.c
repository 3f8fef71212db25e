#include <errno.h>

#include "../calls.h"

int alcove_call_setopt(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    int *field = alcove_option(ap, arg[0].i);
    if (field == NULL)
        return alcove_reply_badarg(reply, "setopt: unknown option");
    int64_t v = arg[1].i;
    int64_t lo = 0, hi = 1;
    switch (arg[0].i) {
    case ALCOVE_OPT_MAXCHILD: hi = ALCOVE_MAXCHILD_LIMIT; break;
    case ALCOVE_OPT_MAXFORKDEPTH: hi = ALCOVE_MAXFORKDEPTH_LIMIT; break;
    case ALCOVE_OPT_FLOWCONTROL: lo = -1; hi = 0x7fffffff; break;
    case ALCOVE_OPT_SIGNALONEOF: hi = 64; break;
    case ALCOVE_OPT_SPIN: hi = ALCOVE_SPIN_LIMIT; break;
    default: break;
    }
    if (v < lo || v > hi)
        return alcove_reply_badargf(reply, "setopt: %s must be in [%lld, %lld], got %lld",
                                    alcove_option_name(arg[0].i), (long long)lo, (long long)hi,
                                    (long long)v);
    *field = (int)v;
    return alcove_reply_ok(reply);
}
