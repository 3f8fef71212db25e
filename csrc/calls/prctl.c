#include <errno.h>
#include <sys/prctl.h>

#include "../calls.h"
#include "../cstruct.h"

/* Numbers of options newer than some C libraries' headers (linux/prctl.h). */
#define ALCOVE_PR_GET_TID_ADDRESS 40
#define ALCOVE_PR_SCHED_CORE 62
#define ALCOVE_PR_SCHED_CORE_GET 0
#define ALCOVE_PR_GET_SHADOW_STACK_STATUS 74
#define ALCOVE_PR_GET_AUXV 0x41555856

/* Options whose arg2 is an address the kernel writes (or reads): given an integer, it would
 * use the control process's memory at that address. */
static const long pointer_options[] = {
    PR_GET_PDEATHSIG,
    PR_GET_NAME,
    PR_SET_NAME,
    PR_GET_ENDIAN,
    PR_GET_FPEMU,
    PR_GET_FPEXC,
    PR_GET_UNALIGN,
    PR_GET_TSC,
    36, /* PR_GET_CHILD_SUBREAPER */
    ALCOVE_PR_GET_TID_ADDRESS,
    ALCOVE_PR_GET_SHADOW_STACK_STATUS,
    ALCOVE_PR_GET_AUXV,
};

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
    const char *address = NULL; /* an argument that must be a pointer, given as a number */
    for (size_t i = 0; rv == 0 && i < sizeof(pointer_options) / sizeof(pointer_options[0]); i++)
        if (arg[0].i == pointer_options[i] && alcove_ptrarg_is_address(&p[0]))
            address = "prctl: this option takes arg2 as a pointer (bytes or a cstruct), not an "
                      "integer";
    /* PR_SET_SECCOMP with SECCOMP_MODE_FILTER (2): arg3 is the filter program. */
    if (rv == 0 && arg[0].i == PR_SET_SECCOMP && p[0].value == 2 && alcove_ptrarg_is_address(&p[1]))
        address = "prctl: PR_SET_SECCOMP takes arg3 as a pointer (a cstruct), not an integer";
    /* PR_SCHED_CORE's PR_SCHED_CORE_GET writes the cookie at arg5. */
    if (rv == 0 && arg[0].i == ALCOVE_PR_SCHED_CORE && p[0].value == ALCOVE_PR_SCHED_CORE_GET &&
        alcove_ptrarg_is_address(&p[3]))
        address = "prctl: PR_SCHED_CORE_GET takes arg5 as a pointer (bytes), not an integer";
    if (address != NULL) {
        for (int i = 0; i < 4; i++)
            alcove_ptrarg_free(&p[i]);
        return alcove_reply_badarg(reply, address);
    }
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
