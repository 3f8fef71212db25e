#include <unistd.h>

#include "../calls.h"

int alcove_call_getpgrp(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_int(reply, getpgrp());
}
