#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_lseek(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    (void)ap;
    if (arg[0].i < 0 || arg[0].i > INT32_MAX)
        return -EBADF;
    off_t off = lseek((int)arg[0].i, (off_t)arg[1].i, (int)arg[2].i);
    if (off < 0)
        return -errno;
    return alcove_reply_int(reply, off);
}
