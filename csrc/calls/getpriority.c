#include <errno.h>
#include <sys/resource.h>

#include "../calls.h"
#include "../compat.h"

int alcove_call_getpriority(struct alcove_state *ap, const struct alcove_arg *arg,
                            struct alcove_reply *reply)
{
    (void)ap;
    /* -1 is a valid priority: only errno tells a failure. */
    errno = 0;
    int prio = getpriority((alcove_priority_which)arg[0].i, (id_t)arg[1].i);
    if (prio == -1 && errno != 0)
        return -errno;
    return alcove_reply_int(reply, prio);
}
