#include "../calls.h"

/* pledge is an OpenBSD call: on this platform it only says so. */
int alcove_call_pledge(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_unsupported(reply, "not supported on this platform (OpenBSD only)");
}
