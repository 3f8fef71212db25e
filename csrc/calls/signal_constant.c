#include "../calls.h"
#include "../constants.h"

int alcove_call_signal_constant(struct alcove_state *ap, const struct alcove_arg *arg,
                              struct alcove_reply *reply)
{
    (void)ap;
    return alcove_reply_constant(reply, ALCOVE_CONST_SIGNAL, &arg[0]);
}
