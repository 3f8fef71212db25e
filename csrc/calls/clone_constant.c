#include "../calls.h"
#include "../constants.h"

int alcove_call_clone_constant(struct alcove_state *ap, const struct alcove_arg *arg,
                              struct alcove_reply *reply)
{
    (void)ap;
    return alcove_reply_constant(reply, ALCOVE_CONST_CLONE, &arg[0]);
}
