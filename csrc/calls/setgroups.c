#include <errno.h>
#include <grp.h>
#include <stdlib.h>

#include "../calls.h"

int alcove_call_setgroups(struct alcove_state *ap, const struct alcove_arg *arg,
                          struct alcove_reply *reply)
{
    (void)ap;
    size_t n = arg[0].count;
    gid_t *gids = calloc(n ? n : 1, sizeof(gid_t));
    if (gids == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        gids[i] = (gid_t)arg[0].list[i].i;
    int rv = setgroups(n, gids);
    int err = errno;
    free(gids);
    if (rv < 0)
        return -err;
    return alcove_reply_ok(reply);
}
