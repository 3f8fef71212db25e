#include <errno.h>
#include <sched.h>
#include <linux/sched.h>

#include "../calls.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Only namespace flags: the child is a copy of this process with its own memory,
 * so flags that share state (CLONE_VM, CLONE_FILES, ...) make no sense here. */
#define NAMESPACE_FLAGS                                                                          \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |              \
     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

int alcove_call_clone(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    unsigned long long flags = (unsigned long long)arg[0].i;
    if (flags & ~(unsigned long long)NAMESPACE_FLAGS)
        return alcove_reply_badarg(reply, "clone: only CLONE_NEW* namespace flags are allowed");
    pid_t pid = alcove_spawn_child(ap, flags);
    return alcove_reply_spawned(ap, reply, pid);
}
