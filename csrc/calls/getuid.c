#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"

#ifdef SYS_getuid
#define NR_GETUID SYS_getuid
#else
#define NR_GETUID (-1L)
#endif

static long value(void)
{
    return (long)getuid();
}

int alcove_call_getuid(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_id(reply, NR_GETUID, value);
}
