#include <errno.h>

#include "../calls.h"
#include "../cstruct.h"

/* alloc(cstruct): lays the cstruct out as a call would, and returns the struct's
 * memory (pointer segments hold the addresses of their buffers in this process)
 * and the read-back. No system call is made. */
int alcove_call_alloc(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    (void)ap;
    struct alcove_cstruct cs;
    const char *why = NULL;
    int rv = alcove_cstruct_build(&arg[0], 0, &cs, &why);
    if (rv == -EINVAL && why != NULL) {
        rv = alcove_reply_badargf(reply, "alloc: argument 1 %s", why);
    } else if (rv == 0) {
        rv = alcove_reply_list(reply, 2);
        rv |= alcove_reply_bytes(reply, cs.mem, cs.size);
        rv |= alcove_reply_cstruct(reply, &cs);
    }
    alcove_cstruct_free(&cs);
    return rv;
}
