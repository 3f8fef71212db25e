#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_lseek(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("lseek"));
    if (arg[0].i < 0 || arg[0].i > INT32_MAX)
        return -EBADF;
    off_t off = lseek((int)arg[0].i, (off_t)arg[1].i, (int)arg[2].i);
    if (off < 0)
        return -errno;
    return alcove_reply_int(reply, off);
}
