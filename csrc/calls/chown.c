#include <errno.h>
#include <unistd.h>

#include "../calls.h"

/* An id of -1 leaves it unchanged. */
int alcove_call_chown(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    (void)ap;
    if (chown(arg[0].s, (uid_t)arg[1].i, (gid_t)arg[2].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
