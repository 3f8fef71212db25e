#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_getcwd(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof(buf)) == NULL)
        return -errno;
    return alcove_reply_bytes(reply, buf, strlen(buf));
}
