#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_gethostname(struct alcove_state *ap, const struct alcove_arg *arg,
                            struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    char buf[256];
    if (gethostname(buf, sizeof(buf)) < 0)
        return -errno;
    buf[sizeof(buf) - 1] = 0;
    return alcove_reply_bytes(reply, buf, strlen(buf));
}
