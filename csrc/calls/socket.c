#include <errno.h>
#include <sys/socket.h>

#include "../calls.h"

int alcove_call_socket(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    int fd = socket((int)arg[0].i, (int)arg[1].i, (int)arg[2].i);
    if (fd < 0)
        return -errno;
    return alcove_reply_int(reply, fd);
}
