#include "../calls.h"

int alcove_call_fork(struct alcove_state *ap, const struct alcove_arg *arg,
                     struct alcove_reply *reply)
{
    (void)arg;
    pid_t pid = alcove_spawn_child(ap, 0);
    return alcove_reply_spawned(ap, reply, pid);
}
