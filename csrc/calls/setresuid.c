#include <errno.h>
#include <unistd.h>

#include "../calls.h"

/* -1 leaves an id unchanged: it arrives as -1 and converts to (uid_t)-1. */
int alcove_call_setresuid(struct alcove_state *ap, const struct alcove_arg *arg,
                          struct alcove_reply *reply)
{
    (void)ap;
    if (setresuid((uid_t)arg[0].i, (uid_t)arg[1].i, (uid_t)arg[2].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
