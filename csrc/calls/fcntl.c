#include <errno.h>
#include <fcntl.h>

#include "../calls.h"

/* Commands whose argument is a pointer: with an integer argument the kernel would
 * read or write memory of the control process at that address. */
static const int pointer_commands[] = {
    F_GETLK,
    F_SETLK,
    F_SETLKW,
#ifdef F_OFD_GETLK
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
#endif
#ifdef F_GETOWN_EX
    F_GETOWN_EX,
    F_SETOWN_EX,
#endif
#ifdef F_GET_RW_HINT
    F_GET_RW_HINT,
    F_SET_RW_HINT,
    F_GET_FILE_RW_HINT,
    F_SET_FILE_RW_HINT,
#endif
#ifdef F_GETOWNER_UIDS
    F_GETOWNER_UIDS,
#endif
};

int alcove_call_fcntl(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("fcntl"));
    for (size_t i = 0; i < sizeof(pointer_commands) / sizeof(pointer_commands[0]); i++) {
        if (arg[1].i == pointer_commands[i])
            return alcove_reply_badarg(reply,
                                       "fcntl: the command takes a pointer, not an integer");
    }
    if (arg[0].i < 0 || arg[0].i > INT32_MAX)
        return -EBADF;
    if (arg[1].i < INT32_MIN || arg[1].i > INT32_MAX)
        return -EINVAL;
    int rv = fcntl((int)arg[0].i, (int)arg[1].i, (long)arg[2].i);
    if (rv < 0)
        return -errno;
    return alcove_reply_int(reply, rv);
}
