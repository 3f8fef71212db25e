/* Differences between C libraries and between kernels, in one place. */
#ifndef ALCOVE_COMPAT_H
#define ALCOVE_COMPAT_H

/* The types glibc gives some arguments, where POSIX and musl say int. */
#ifdef __GLIBC__
#include <sys/ptrace.h>
#include <sys/resource.h>
typedef __rlimit_resource_t alcove_rlimit_resource;
typedef __priority_which_t alcove_priority_which;
typedef enum __ptrace_request alcove_ptrace_request;
typedef unsigned long alcove_ioctl_request;
#else
typedef int alcove_rlimit_resource;
typedef int alcove_priority_which;
typedef int alcove_ptrace_request;
typedef int alcove_ioctl_request;
#endif

/* The core of a control process uses a few Linux interfaces that have portable
 * fallbacks: splice(2) (read and write instead), pipe2(2) (pipe and fcntl),
 * F_SETPIPE_SZ (the default pipe size), PR_SET_PDEATHSIG (a child sees EOF on its
 * control channel when its parent dies, and ends its subtree), and
 * PR_SET_CHILD_SUBREAPER (a program's descendants are ended through its process
 * group instead of being adopted). ALCOVE_LINUX_CORE is 0 where they are missing,
 * and on Linux too in a build with ALCOVE_PORTABLE (make PORTABLE=1), so that the
 * fallbacks are tested here. */
#if defined(__linux__) && !defined(ALCOVE_PORTABLE)
#define ALCOVE_LINUX_CORE 1
#else
#define ALCOVE_LINUX_CORE 0
#endif

/* A pipe with both ends non-blocking and close-on-exec. Returns 0 or -1 (errno). */
int alcove_pipe(int fds[2]);

/* Ask the kernel to SIGKILL this process when its parent exits (nothing where it cannot). */
void alcove_die_with_parent(void);

/* Turn the subreaper role on or off: 0, or -1 where there is no such role. */
int alcove_set_subreaper(int on);

/* Give a pipe a bigger buffer where the kernel allows it; a refusal only costs speed. */
void alcove_grow_pipe(int fd, int size);

#endif
