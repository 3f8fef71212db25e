#include <stdlib.h>
#include <string.h>

#include "../calls.h"

int alcove_call_getenv(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    const char *v = getenv(arg[0].s);
    if (v == NULL)
        return alcove_reply_null(reply);
    return alcove_reply_bytes(reply, v, strlen(v));
}
