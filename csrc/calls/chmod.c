#include <errno.h>
#include <sys/stat.h>

#include "../calls.h"

int alcove_call_chmod(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    (void)ap;
    if (chmod(arg[0].s, (mode_t)arg[1].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
