#include <errno.h>
#include <sys/prctl.h>

#include "../calls.h"

/* Linux has no setproctitle(3): the name is set with PR_SET_NAME (what ps -o comm,
 * top and /proc/PID/comm show; the kernel keeps 15 bytes). The argv area is left
 * alone. */
int alcove_call_setproctitle(struct alcove_state *ap, const struct alcove_arg *arg,
                             struct alcove_reply *reply)
{
    (void)ap;
    if (prctl(PR_SET_NAME, arg[0].s, 0, 0, 0) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
