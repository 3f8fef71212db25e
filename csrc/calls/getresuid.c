#include <errno.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_getresuid(struct alcove_state *ap, const struct alcove_arg *arg,
                          struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) < 0)
        return -errno;
    int rv = alcove_reply_list(reply, 3);
    rv |= alcove_reply_int(reply, r);
    rv |= alcove_reply_int(reply, e);
    rv |= alcove_reply_int(reply, s);
    return rv;
}
