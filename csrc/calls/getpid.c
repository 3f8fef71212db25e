#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"

#ifdef SYS_getpid
#define NR_GETPID SYS_getpid
#else
#define NR_GETPID (-1L)
#endif

static long value(void)
{
    return (long)getpid();
}

int alcove_call_getpid(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_id(reply, NR_GETPID, value);
}
