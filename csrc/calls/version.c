#include <string.h>

#include "../calls.h"

int alcove_call_version(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_bytes(reply, ALCOVE_VERSION, strlen(ALCOVE_VERSION));
}
