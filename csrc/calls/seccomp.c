#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"
#include "../cstruct.h"

/* seccomp(operation, flags, args): args is usually a sock_fprog cstruct (a filter),
 * or a number, bytes or null for the other operations. glibc has no wrapper. */
int alcove_call_seccomp(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
#ifdef SYS_seccomp
    struct alcove_ptrarg p;
    int rv = alcove_ptrarg_init(reply, "seccomp", "prog", &arg[2], 0, &p);
    if (rv == 0) {
        long ret = syscall(SYS_seccomp, (unsigned long)arg[0].i, (unsigned long)arg[1].i, p.value);
        rv = ret < 0 ? -errno : alcove_reply_int(reply, ret);
    }
    alcove_ptrarg_free(&p);
    return rv > 0 ? 0 : rv;
#else
    (void)arg;
    return alcove_reply_unsupported(reply, "seccomp: not available on this platform");
#endif
}
