#include <string.h>

#include "../calls.h"

extern char **environ;

int alcove_call_environ(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    uint32_t n = 0;
    for (char **e = environ; e != NULL && *e != NULL; e++)
        n++;
    int rv = alcove_reply_list(reply, n);
    for (uint32_t i = 0; i < n && rv == 0; i++)
        rv = alcove_reply_bytes(reply, environ[i], strlen(environ[i]));
    return rv;
}
