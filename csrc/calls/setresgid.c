#include <errno.h>
#include <unistd.h>

#include "../calls.h"

/* -1 leaves an id unchanged: it arrives as -1 and converts to (gid_t)-1. */
int alcove_call_setresgid(struct alcove_state *ap, const struct alcove_arg *arg,
                          struct alcove_reply *reply)
{
    (void)ap;
    if (setresgid((gid_t)arg[0].i, (gid_t)arg[1].i, (gid_t)arg[2].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
