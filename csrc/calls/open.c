#include <errno.h>
#include <fcntl.h>

#include "../calls.h"

int alcove_call_open(struct alcove_state *ap, const struct alcove_arg *arg,
                     struct alcove_reply *reply)
{
    (void)ap;
    int fd = open(arg[0].s, (int)arg[1].i, (mode_t)arg[2].i);
    if (fd < 0)
        return -errno;
    return alcove_reply_int(reply, fd);
}
