#include <errno.h>
#include <sys/resource.h>

#include "../calls.h"
#include "../compat.h"

int alcove_call_setrlimit(struct alcove_state *ap, const struct alcove_arg *arg,
                          struct alcove_reply *reply)
{
    if (arg[1].count != 2)
        return alcove_reply_badarg(reply, "setrlimit: limit must be { cur, max }");
    struct rlimit rl = {
        .rlim_cur = (rlim_t)arg[1].list[0].i,
        .rlim_max = (rlim_t)arg[1].list[1].i,
    };
    if (setrlimit((alcove_rlimit_resource)arg[0].i, &rl) < 0)
        return -errno;
    /* Each child costs descriptors: fewer descriptors, fewer children. */
    if (arg[0].i == RLIMIT_NOFILE) {
        int max = alcove_default_maxchild();
        if (ap->opt.maxchild > max)
            ap->opt.maxchild = max;
    }
    return alcove_reply_ok(reply);
}
