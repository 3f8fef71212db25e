#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_fexecve(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    if (alcove_fd_internal(ap, arg[0].i))
        return alcove_reply_badarg(reply, ALCOVE_OWN_FD("fexecve"));
    if (arg[0].i < 0 || arg[0].i > INT32_MAX)
        return -EBADF;
    char **argv = alcove_strings(&arg[1]);
    char **envp = alcove_strings(&arg[2]);
    if (argv == NULL || envp == NULL) {
        free(argv);
        free(envp);
        return -ENOMEM;
    }
    alcove_exec_prepare(ap);
    fexecve((int)arg[0].i, argv, envp);
    int err = errno;
    alcove_exec_failed(ap);
    free(argv);
    free(envp);
    return -err;
}
