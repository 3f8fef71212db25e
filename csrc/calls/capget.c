#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"

/* The calling process's capability sets, from the raw system call (version 3:
 * two 32-bit words per set). The reply is the three sets as pairs of words, low
 * word first: effective, permitted, inheritable. */
int alcove_call_capget(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    (void)arg;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    if (syscall(SYS_capget, &hdr, data) < 0)
        return -errno;
    int rv = alcove_reply_list(reply, 6);
    rv |= alcove_reply_int(reply, data[0].effective);
    rv |= alcove_reply_int(reply, data[1].effective);
    rv |= alcove_reply_int(reply, data[0].permitted);
    rv |= alcove_reply_int(reply, data[1].permitted);
    rv |= alcove_reply_int(reply, data[0].inheritable);
    rv |= alcove_reply_int(reply, data[1].inheritable);
    return rv;
}
