#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_setuid(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    if (setuid((uid_t)arg[0].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
