#include <unistd.h>

#include "../calls.h"

int alcove_call_exit(struct alcove_state *ap, const struct alcove_arg *arg,
                     struct alcove_reply *reply)
{
    (void)reply;
    /* Replies to earlier calls in the same batch go out first. */
    alcove_flush_blocking(ap);
    _exit((int)arg[0].i);
}
