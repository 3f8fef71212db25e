#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../calls.h"

/* Sets the calling process's capability sets from three 64-bit masks (effective,
 * permitted, inheritable), with the raw system call, version 3. */
int alcove_call_capset(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    uint64_t eff = (uint64_t)arg[0].i, perm = (uint64_t)arg[1].i, inh = (uint64_t)arg[2].i;
    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(eff >> (32 * i));
        data[i].permitted = (uint32_t)(perm >> (32 * i));
        data[i].inheritable = (uint32_t)(inh >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
