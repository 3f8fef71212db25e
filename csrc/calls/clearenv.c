#include <errno.h>
#include <stdlib.h>

#include "../calls.h"

int alcove_call_clearenv(struct alcove_state *ap, const struct alcove_arg *arg,
                         struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    if (clearenv() != 0)
        return -ENOMEM;
    return alcove_reply_ok(reply);
}
