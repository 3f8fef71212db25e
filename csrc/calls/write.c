#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_write(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("write"));
    if (arg[0].i < 0 || arg[0].i > INT32_MAX)
        return -EBADF;
    ssize_t n = write((int)arg[0].i, arg[1].s, arg[1].len);
    if (n < 0)
        return -errno;
    return alcove_reply_int(reply, n);
}
