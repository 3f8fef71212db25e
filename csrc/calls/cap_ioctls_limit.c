#include "../calls.h"

/* cap_ioctls_limit is a FreeBSD call: on this platform it only says so. */
int alcove_call_cap_ioctls_limit(struct alcove_state *ap, const struct alcove_arg *arg,
                                 struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_unsupported(reply, "not supported on this platform (FreeBSD only)");
}
