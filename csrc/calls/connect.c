#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "../calls.h"
#include "../cstruct.h"

/* connect(fd, address): the address is bytes or a cstruct (its laid-out length is
 * the address length), or null for an AF_UNSPEC address, which dissolves the
 * association of a connected socket. */
int alcove_call_connect(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("connect"));
    if (arg[1].type == ALCOVE_VAL_INT)
        return alcove_reply_badarg(reply, "connect: address must be bytes, a cstruct or null");
    struct alcove_ptrarg p;
    int rv = alcove_ptrarg_init(reply, "connect", "address", &arg[1], 0, &p);
    if (rv == 0) {
        struct sockaddr unspec;
        const struct sockaddr *addr = (const struct sockaddr *)p.value;
        socklen_t len = (socklen_t)p.size;
        if (p.type == ALCOVE_VAL_NULL) {
            memset(&unspec, 0, sizeof(unspec));
            unspec.sa_family = AF_UNSPEC;
            addr = &unspec;
            len = sizeof(unspec);
        } else if (p.size > 0x7fffffff) {
            rv = -EINVAL;
        }
        if (rv == 0 && connect((int)arg[0].i, addr, len) < 0)
            rv = -errno;
        if (rv == 0)
            rv = alcove_reply_ok(reply);
    }
    alcove_ptrarg_free(&p);
    return rv > 0 ? 0 : rv;
}
