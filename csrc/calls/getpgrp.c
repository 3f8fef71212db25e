#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"

#ifdef SYS_getpgrp
#define NR_GETPGRP SYS_getpgrp
#else
#define NR_GETPGRP (-1L)
#endif

static long value(void)
{
    return (long)getpgrp();
}

int alcove_call_getpgrp(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_id(reply, NR_GETPGRP, value);
}
