#include <errno.h>
#include <sys/mount.h>

#include "../calls.h"

int alcove_call_umount2(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    if (umount2(arg[0].s, (int)arg[1].i) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
