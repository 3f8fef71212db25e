#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_getsid(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    pid_t sid = getsid((pid_t)arg[0].i);
    if (sid < 0)
        return -errno;
    return alcove_reply_int(reply, sid);
}
