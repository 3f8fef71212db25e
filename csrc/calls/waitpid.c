#include <errno.h>
#include <sys/wait.h>

#include "../calls.h"

int alcove_call_waitpid(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    int status = 0;
    pid_t pid = waitpid((pid_t)arg[0].i, &status, (int)arg[1].i);
    if (pid < 0)
        return -errno;
    /* kind: 0 nothing yet (WNOHANG), 1 exited, 2 killed by a signal, 3 stopped,
     * 4 continued */
    int64_t kind = 0, value = 0;
    if (pid > 0) {
        if (WIFEXITED(status)) {
            kind = 1;
            value = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            kind = 2;
            value = WTERMSIG(status);
        } else if (WIFSTOPPED(status)) {
            kind = 3;
            value = WSTOPSIG(status);
        } else if (WIFCONTINUED(status)) {
            kind = 4;
        }
        if (kind == 1 || kind == 2)
            alcove_child_reaped(ap, pid, status);
    }
    int rv = alcove_reply_list(reply, 4);
    rv |= alcove_reply_int(reply, pid);
    rv |= alcove_reply_int(reply, status);
    rv |= alcove_reply_int(reply, kind);
    rv |= alcove_reply_int(reply, value);
    return rv;
}
