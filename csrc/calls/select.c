#include <errno.h>
#include <sys/select.h>

#include "../calls.h"

/* FD_SET and FD_ISSET mix signed and unsigned arithmetic in ways that differ between C
 * libraries (glibc converts the descriptor to long, musl divides it by an unsigned
 * size): every descriptor given to them here is checked to be in [0, FD_SETSIZE). */
#pragma GCC diagnostic ignored "-Wsign-conversion"

/* Fill a set from a list of descriptors; returns the highest + 1, or -1 when one is
 * outside [0, FD_SETSIZE) (the host checks this before sending). */
static int fill(fd_set *set, const struct alcove_arg *list, int nfds)
{
    FD_ZERO(set);
    for (size_t i = 0; i < list->count; i++) {
        int64_t fd = list->list[i].i;
        if (fd < 0 || fd >= FD_SETSIZE)
            return -1;
        FD_SET((int)fd, set);
        if ((int)fd >= nfds)
            nfds = (int)fd + 1;
    }
    return nfds;
}

static int reply_set(struct alcove_reply *reply, const fd_set *set, int nfds)
{
    uint32_t n = 0;
    for (int fd = 0; fd < nfds; fd++)
        if (FD_ISSET(fd, set))
            n++;
    int rv = alcove_reply_list(reply, n);
    for (int fd = 0; fd < nfds && rv == 0; fd++)
        if (FD_ISSET(fd, set))
            rv = alcove_reply_int(reply, fd);
    return rv;
}

/* Blocks the control process until a descriptor is ready or the timeout passes,
 * as select(2) does; an empty timeout list means no timeout. */
int alcove_call_select(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    (void)ap;
    fd_set want[3], got[3];
    int nfds = 0;
    for (int i = 0; i < 3; i++) {
        nfds = fill(&want[i], &arg[i], nfds);
        if (nfds < 0)
            return alcove_reply_badarg(reply, "select: a descriptor is outside [0, FD_SETSIZE)");
    }
    struct timeval tv, *timeout = NULL;
    if (arg[3].count == 2) {
        int64_t sec = arg[3].list[0].i, usec = arg[3].list[1].i;
        if (sec < 0 || usec < 0 || usec > 999999)
            return alcove_reply_badarg(reply, "select: timeout must be { sec >= 0, usec in "
                                              "[0, 999999] }");
        tv.tv_sec = (time_t)sec;
        tv.tv_usec = (suseconds_t)usec;
        timeout = &tv;
    } else if (arg[3].count != 0) {
        return alcove_reply_badarg(reply, "select: timeout must be null or { sec, usec }");
    }
    int n;
    do {
        /* Linux updates tv to the time left, so a retry after a signal waits only that. */
        for (int i = 0; i < 3; i++)
            got[i] = want[i];
        n = select(nfds, &got[0], &got[1], &got[2], timeout);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    int rv = alcove_reply_list(reply, 3);
    for (int i = 0; i < 3 && rv == 0; i++)
        rv = reply_set(reply, &got[i], nfds);
    return rv;
}
