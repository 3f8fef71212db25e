#include <errno.h>
#include <sys/resource.h>

#include "../calls.h"
#include "../compat.h"

int alcove_call_setpriority(struct alcove_state *ap, const struct alcove_arg *arg,
                            struct alcove_reply *reply)
{
    (void)ap;
    if (setpriority((alcove_priority_which)arg[0].i, (id_t)arg[1].i, (int)arg[2].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
