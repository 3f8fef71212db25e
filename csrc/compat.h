/* Differences between C libraries and between kernels, in one place. */
#ifndef ALCOVE_COMPAT_H
#define ALCOVE_COMPAT_H

/* The types glibc gives some arguments, where POSIX and musl say int. */
#ifdef __GLIBC__
#include <sys/ptrace.h>
#include <sys/resource.h>
typedef __priority_which_t alcove_priority_which;
typedef enum __ptrace_request alcove_ptrace_request;
typedef unsigned long alcove_ioctl_request;
#else
typedef int alcove_priority_which;
typedef int alcove_ptrace_request;
typedef int alcove_ioctl_request;
#endif

#endif
