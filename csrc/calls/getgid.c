#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"

#ifdef SYS_getgid
#define NR_GETGID SYS_getgid
#else
#define NR_GETGID (-1L)
#endif

static long value(void)
{
    return (long)getgid();
}

int alcove_call_getgid(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    return alcove_reply_id(reply, NR_GETGID, value);
}
