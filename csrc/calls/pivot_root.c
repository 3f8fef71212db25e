#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"

/* glibc has no wrapper. */
int alcove_call_pivot_root(struct alcove_state *ap, const struct alcove_arg *arg,
                           struct alcove_reply *reply)
{
    (void)ap;
    if (syscall(SYS_pivot_root, arg[0].s, arg[1].s) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
