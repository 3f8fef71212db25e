#include <errno.h>
#include <sys/ioctl.h>
#ifdef __linux__
#include <linux/ioctl.h> /* _IOC_DIR and _IOC_SIZE, which musl's sys/ioctl.h lacks */
#endif

#include "../calls.h"
#include "../compat.h"
#include "../cstruct.h"

/* ioctl(fd, request, arg): arg is a number passed by value, or bytes or a cstruct
 * passed by pointer and read back after the call. */
int alcove_call_ioctl(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("ioctl"));
    struct alcove_ptrarg p;
    /* A request that encodes a direction encodes the size of its struct too. */
    unsigned long req = (unsigned long)arg[1].i;
    size_t room = _IOC_DIR(req) != _IOC_NONE ? _IOC_SIZE(req) : 0;
    int rv = alcove_ptrarg_init(reply, "ioctl", "arg", &arg[2], room, &p);
    /* A request that reads or writes its argument, given an integer past 32 bits: an address
     * in this process, whose memory the kernel would use (some such requests take a small
     * value instead, as TUNSETPERSIST does: those pass). */
    if (rv == 0 && room > 0 && alcove_ptrarg_is_address(&p) &&
        (unsigned long long)p.value >> 32 != 0) {
        alcove_ptrarg_free(&p);
        return alcove_reply_badarg(reply, "ioctl: the request reads or writes its argument: pass "
                                          "bytes or a cstruct, not an address");
    }
    if (rv == 0) {
        int ret = ioctl((int)arg[0].i, (alcove_ioctl_request)arg[1].i, p.value);
        if (ret < 0) {
            rv = -errno;
        } else {
            rv = alcove_reply_list(reply, 2);
            rv |= alcove_reply_int(reply, ret);
            rv |= alcove_reply_ptrarg(reply, &p);
        }
    }
    alcove_ptrarg_free(&p);
    return rv > 0 ? 0 : rv;
}
