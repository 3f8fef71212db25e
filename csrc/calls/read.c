#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "../calls.h"

/* Largest read in one call; the host checks it before sending. */
#define ALCOVE_READ_MAX (16u * 1024u * 1024u)

int alcove_call_read(struct alcove_state *ap, const struct alcove_arg *arg,
                     struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("read"));
    if (arg[1].i < 0 || arg[1].i > (int64_t)ALCOVE_READ_MAX)
        return alcove_reply_badarg(reply, "read: count must be in [0, 16777216]");
    if (arg[0].i < 0 || arg[0].i > INT32_MAX)
        return -EBADF;
    size_t count = (size_t)arg[1].i;
    unsigned char *buf = malloc(count ? count : 1);
    if (buf == NULL)
        return -ENOMEM;
    ssize_t n = read((int)arg[0].i, buf, count);
    if (n < 0) {
        int err = errno;
        free(buf);
        return -err;
    }
    int rv = alcove_reply_bytes(reply, buf, (size_t)n);
    free(buf);
    return rv;
}
