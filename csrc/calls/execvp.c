#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "../calls.h"

int alcove_call_execvp(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)reply;
    char **argv = alcove_strings(&arg[1]);
    if (argv == NULL)
        return -ENOMEM;
    alcove_exec_prepare(ap);
    execvp(arg[0].s, argv);
    int err = errno;
    alcove_exec_failed(ap);
    free(argv);
    return -err;
}
