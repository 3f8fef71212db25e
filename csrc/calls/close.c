#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_close(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("close"));
    if (arg[0].i < 0 || arg[0].i > INT32_MAX)
        return -EBADF;
    /* Linux releases the descriptor even when close reports EINTR: never retry. */
    if (close((int)arg[0].i) < 0 && errno != EINTR)
        return -errno;
    return alcove_reply_ok(reply);
}
