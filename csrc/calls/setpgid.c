#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_setpgid(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    if (setpgid((pid_t)arg[0].i, (pid_t)arg[1].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
