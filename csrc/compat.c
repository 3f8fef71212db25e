/* The Linux interfaces of the core and their portable fallbacks (see compat.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "compat.h"
#if ALCOVE_LINUX_CORE
#include <sys/prctl.h>
#endif

int alcove_pipe(int fds[2])
{
#if ALCOVE_LINUX_CORE
    return pipe2(fds, O_CLOEXEC | O_NONBLOCK);
#else
    /* A control process is single threaded: no exec can come between pipe and fcntl. */
    if (pipe(fds) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0 || fcntl(fds[i], F_SETFL, O_NONBLOCK) < 0) {
            int err = errno;
            close(fds[0]);
            close(fds[1]);
            errno = err;
            return -1;
        }
    }
    return 0;
#endif
}

void alcove_die_with_parent(void)
{
#if ALCOVE_LINUX_CORE
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
}

int alcove_set_subreaper(int on)
{
#if ALCOVE_LINUX_CORE
    return prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0);
#else
    (void)on;
    errno = ENOSYS;
    return -1;
#endif
}

void alcove_grow_pipe(int fd, int size)
{
#if ALCOVE_LINUX_CORE && defined(F_SETPIPE_SZ)
    (void)fcntl(fd, F_SETPIPE_SZ, size);
#else
    (void)fd;
    (void)size;
#endif
}
