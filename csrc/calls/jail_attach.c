#include "../calls.h"

/* jail_attach is a FreeBSD call: on this platform it only says so. */
int alcove_call_jail_attach(struct alcove_state *ap, const struct alcove_arg *arg,
                            struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_unsupported(reply, "not supported on this platform (FreeBSD only)");
}
