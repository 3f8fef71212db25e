#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_link(struct alcove_state *ap, const struct alcove_arg *arg,
                     struct alcove_reply *reply)
{
    (void)ap;
    if (link(arg[0].s, arg[1].s) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
