#include <errno.h>

#include "../calls.h"

int alcove_call_getopt(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    int *field = alcove_option(ap, arg[0].i);
    if (field == NULL)
        return alcove_reply_badarg(reply, "getopt: unknown option");
    return alcove_reply_int(reply, *field);
}
