#include <errno.h>
#include <signal.h>

#include "../calls.h"

int alcove_call_kill(struct alcove_state *ap, const struct alcove_arg *arg,
                     struct alcove_reply *reply)
{
    (void)ap;
    if (kill((pid_t)arg[0].i, (int)arg[1].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
