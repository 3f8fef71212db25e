#include <errno.h>
#include <sys/ptrace.h>

#include "../calls.h"
#include "../compat.h"
#include "../cstruct.h"

/* Requests whose data is an address in the tracer (this process): given an integer, the
 * kernel would read or write this process's memory at that address. The numbers of the
 * newer ones are those of linux/ptrace.h (some C libraries' headers lack them). */
static const long data_pointer_requests[] = {
    0x4202, /* PTRACE_GETSIGINFO */
    0x4203, /* PTRACE_SETSIGINFO */
    0x4201, /* PTRACE_GETEVENTMSG */
    0x4204, /* PTRACE_GETREGSET */
    0x4205, /* PTRACE_SETREGSET */
    0x4209, /* PTRACE_PEEKSIGINFO */
    0x420a, /* PTRACE_GETSIGMASK */
    0x420b, /* PTRACE_SETSIGMASK */
    0x420c, /* PTRACE_SECCOMP_GET_FILTER */
    0x420d, /* PTRACE_SECCOMP_GET_METADATA */
    0x420e, /* PTRACE_GET_SYSCALL_INFO */
    0x420f, /* PTRACE_GET_RSEQ_CONFIGURATION */
    0x4210, /* PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG */
    0x4211, /* PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG */
#if defined(__x86_64__) || defined(__i386__)
    12, /* PTRACE_GETREGS */
    13, /* PTRACE_SETREGS */
    14, /* PTRACE_GETFPREGS */
    15, /* PTRACE_SETFPREGS */
    18, /* PTRACE_GETFPXREGS */
    19, /* PTRACE_SETFPXREGS */
    25, /* PTRACE_GET_THREAD_AREA */
    26, /* PTRACE_SET_THREAD_AREA */
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
    const char *address = NULL; /* an argument that must be a pointer, given as a number */
    for (size_t i = 0;
         rv == 0 && i < sizeof(data_pointer_requests) / sizeof(data_pointer_requests[0]); i++)
        if (arg[0].i == data_pointer_requests[i] && alcove_ptrarg_is_address(&data))
            address = "ptrace: this request takes data as a pointer (bytes or a cstruct), not an "
                      "integer";
#ifdef __x86_64__
    /* PTRACE_ARCH_PRCTL (30) with ARCH_GET_FS or ARCH_GET_GS writes the base at addr. */
    if (rv == 0 && arg[0].i == 30 && (data.value == 0x1003 || data.value == 0x1004) &&
        alcove_ptrarg_is_address(&addr))
        address = "ptrace: PTRACE_ARCH_PRCTL's ARCH_GET_FS and ARCH_GET_GS take addr as a "
                  "pointer (bytes), not an integer";
#endif
    if (address != NULL) {
        alcove_ptrarg_free(&addr);
        alcove_ptrarg_free(&data);
        return alcove_reply_badarg(reply, address);
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
