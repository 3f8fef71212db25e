#include <errno.h>
#include <unistd.h>

#include "../calls.h"

/* Every control process leads its own process group, so setsid fails with EPERM
 * until the process moves into another group (setpgid). */
int alcove_call_setsid(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    pid_t sid = setsid();
    if (sid < 0)
        return -errno;
    return alcove_reply_int(reply, sid);
}
