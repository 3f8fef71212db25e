#include <errno.h>
#include <sys/ptrace.h>

#include "../calls.h"
#include "../compat.h"
#include "../cstruct.h"

/* Requests whose data is an address in the tracer (this process): given an integer, the
 * kernel would read or write this process's memory at that address. */
static const int data_pointer_requests[] = {
#if defined(PTRACE_GETREGS) || defined(PT_GETREGS)
    PTRACE_GETREGS, PTRACE_SETREGS, PTRACE_GETFPREGS, PTRACE_SETFPREGS,
#endif
    PTRACE_GETSIGINFO, PTRACE_SETSIGINFO, PTRACE_GETEVENTMSG,
#ifdef PTRACE_GETREGSET
    PTRACE_GETREGSET, PTRACE_SETREGSET,
#endif
#ifdef PTRACE_PEEKSIGINFO
    PTRACE_PEEKSIGINFO, PTRACE_GETSIGMASK, PTRACE_SETSIGMASK,
#endif
#ifdef PTRACE_SECCOMP_GET_FILTER
    PTRACE_SECCOMP_GET_FILTER,
#endif
#ifdef PTRACE_GET_SYSCALL_INFO
    PTRACE_GET_SYSCALL_INFO,
#endif
};

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
    for (size_t i = 0;
         rv == 0 && i < sizeof(data_pointer_requests) / sizeof(data_pointer_requests[0]); i++) {
        if (arg[0].i == data_pointer_requests[i] && data.type == ALCOVE_VAL_INT &&
            data.value != 0) {
            alcove_ptrarg_free(&addr);
            alcove_ptrarg_free(&data);
            return alcove_reply_badarg(reply, "ptrace: this request takes data as a pointer "
                                              "(bytes or a cstruct), not an integer");
        }
    }
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
