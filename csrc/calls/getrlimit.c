#include <errno.h>
#include <sys/resource.h>

#include "../calls.h"
#include "../compat.h"

int alcove_call_getrlimit(struct alcove_state *ap, const struct alcove_arg *arg,
                          struct alcove_reply *reply)
{
    (void)ap;
    struct rlimit rl;
    if (getrlimit((alcove_rlimit_resource)arg[0].i, &rl) < 0)
        return -errno;
    int rv = alcove_reply_list(reply, 2);
    rv |= alcove_reply_int(reply, (int64_t)rl.rlim_cur);
    rv |= alcove_reply_int(reply, (int64_t)rl.rlim_max);
    return rv;
}
