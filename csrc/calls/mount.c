#include <errno.h>
#include <sys/mount.h>

#include "../calls.h"

/* An empty source, file system type or data is NULL. The sixth argument, alcove's
 * options for other platforms, has no meaning on Linux and is ignored. */
int alcove_call_mount(struct alcove_state *ap, const struct alcove_arg *arg,
                      struct alcove_reply *reply)
{
    (void)ap;
    const char *source = arg[0].len ? arg[0].s : NULL;
    const char *fstype = arg[2].len ? arg[2].s : NULL;
    const void *data = arg[4].len ? arg[4].s : NULL;
    if (mount(source, arg[1].s, fstype, (unsigned long)arg[3].i, data) < 0)
        return -errno;
    return alcove_reply_ok(reply);
}
