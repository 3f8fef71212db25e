#include <errno.h>
#include <sys/prctl.h>

#include "../calls.h"
#include "../cstruct.h"

/* prctl(option, arg2, arg3, arg4, arg5): each of arg2..arg5 is a number passed by
 * value, or bytes or a cstruct passed by pointer and read back after the call. */
int alcove_call_prctl(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    (void)ap;
    static const char *const names[4] = {"arg2", "arg3", "arg4", "arg5"};
    struct alcove_ptrarg p[4] = {0};
    int rv = 0;
    for (int i = 0; i < 4 && rv == 0; i++)
        rv = alcove_ptrarg_init(reply, "prctl", names[i], &arg[i + 1], 0, &p[i]);
    if (rv == 0) {
        int ret = prctl((int)arg[0].i, p[0].value, p[1].value, p[2].value, p[3].value);
        if (ret < 0) {
            rv = -errno;
        } else {
            rv = alcove_reply_list(reply, 5);
            rv |= alcove_reply_int(reply, ret);
            for (int i = 0; i < 4; i++)
                rv |= alcove_reply_ptrarg(reply, &p[i]);
        }
    }
    for (int i = 0; i < 4; i++)
        alcove_ptrarg_free(&p[i]);
    return rv > 0 ? 0 : rv;
}
