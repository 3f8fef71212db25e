#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_getgroups(struct alcove_state *ap, const struct alcove_arg *arg,
                          struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    int n = getgroups(0, NULL);
    if (n < 0)
        return -errno;
    gid_t *gids = calloc((size_t)n + 1, sizeof(gid_t));
    if (gids == NULL)
        return -ENOMEM;
    n = getgroups(n, gids);
    if (n < 0) {
        int err = errno;
        free(gids);
        return -err;
    }
    int rv = alcove_reply_list(reply, (uint32_t)n);
    for (int i = 0; i < n && rv == 0; i++)
        rv = alcove_reply_int(reply, gids[i]);
    free(gids);
    return rv;
}
