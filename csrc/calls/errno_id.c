#include <string.h>

#include "../calls.h"
#include "../constants.h"

int alcove_call_errno_id(struct alcove_state *ap, const struct alcove_arg *arg,
                         struct alcove_reply *reply)
{
    (void)ap;
    const char *name = alcove_constant_name(ALCOVE_CONST_ERRNO, arg[0].i);
    if (name == NULL)
        name = "unknown";
    return alcove_reply_bytes(reply, name, strlen(name));
}
