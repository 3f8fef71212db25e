#include <errno.h>
#include <sched.h>

#include "../calls.h"

int alcove_call_unshare(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    if (arg[0].i < INT32_MIN || arg[0].i > UINT32_MAX)
        return -EINVAL;
    if (unshare((int)(uint32_t)arg[0].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
