#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"

#ifdef SYS_getppid
#define NR_GETPPID SYS_getppid
#else
#define NR_GETPPID (-1L)
#endif

static long value(void)
{
    return (long)getppid();
}

int alcove_call_getppid(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_id(reply, NR_GETPPID, value);
}
