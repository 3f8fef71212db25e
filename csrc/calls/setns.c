#include <errno.h>
#include <sched.h>

#include "../calls.h"

int alcove_call_setns(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("setns"));
    if (arg[0].i < 0 || arg[0].i > INT32_MAX)
        return -EBADF;
    if (arg[1].i < INT32_MIN || arg[1].i > UINT32_MAX)
        return -EINVAL;
    if (setns((int)arg[0].i, (int)(uint32_t)arg[1].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
