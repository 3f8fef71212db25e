#include <errno.h>
#include <stdlib.h>

#include "../calls.h"

int alcove_call_setenv(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    if (setenv(arg[0].s, arg[1].s, (int)arg[2].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
