#include <errno.h>
#include <sys/ptrace.h>

#include "../calls.h"
#include "../compat.h"
#include "../cstruct.h"

/* ptrace(request, pid, addr, data): addr and data are numbers passed by value, or
 * bytes or cstructs passed by pointer and read back after the call. */
int alcove_call_ptrace(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    struct alcove_ptrarg addr = {0}, data = {0};
    int rv = alcove_ptrarg_init(reply, "ptrace", "addr", &arg[2], 0, &addr);
    if (rv == 0)
        rv = alcove_ptrarg_init(reply, "ptrace", "data", &arg[3], 0, &data);
    if (rv == 0) {
        /* The PEEK requests return the word read: only errno tells a failure apart. */
        errno = 0;
        long ret = ptrace((alcove_ptrace_request)arg[0].i, (pid_t)arg[1].i, (void *)addr.value,
                          (void *)data.value);
        if (ret == -1 && errno != 0) {
            rv = -errno;
        } else {
            rv = alcove_reply_list(reply, 3);
            rv |= alcove_reply_int(reply, ret);
            rv |= alcove_reply_ptrarg(reply, &addr);
            rv |= alcove_reply_ptrarg(reply, &data);
        }
    }
    alcove_ptrarg_free(&addr);
    alcove_ptrarg_free(&data);
    return rv > 0 ? 0 : rv;
}
