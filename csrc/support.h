/* Helpers shared by the call implementations (csrc/calls/). */
#ifndef ALCOVE_SUPPORT_H
#define ALCOVE_SUPPORT_H

#include "alcove.h"

/* Option numbers on the wire, in the order of AlcoveOption in ffi/driver.ts. */
enum {
    ALCOVE_OPT_MAXCHILD = 0,
    ALCOVE_OPT_MAXFORKDEPTH,
    ALCOVE_OPT_EXIT_STATUS,
    ALCOVE_OPT_TERMSIG,
    ALCOVE_OPT_FLOWCONTROL,
    ALCOVE_OPT_SIGNALONEOF,
    ALCOVE_OPT_STDIN_CLOSED,
    ALCOVE_OPT_STDOUT_CLOSED,
    ALCOVE_OPT_STDERR_CLOSED,
    ALCOVE_OPT_SPIN,
};

/* The field of an option, or NULL for an unknown number. */
int *alcove_option(struct alcove_state *ap, int64_t option);

/* The name of an option number, as the host spells it. */
const char *alcove_option_name(int64_t option);

/* A NULL-terminated array of the strings of a list argument (free() it), or NULL. */
char **alcove_strings(const struct alcove_arg *list);

/* Opens /dev/null with `flags` (O_CLOEXEC included, if there) on descriptor fd when fd is
 * not open: no descriptor this process opens later can take that number. */
void alcove_null_if_closed(int fd, int flags);

/* The integer a file (a /proc/sys setting) starts with, or -1 when it cannot be read as one. */
int alcove_read_int_file(const char *path);

/* The answer of a system call that takes no argument and cannot fail but for a seccomp filter
 * (getpid, getuid, ...): made raw where the C library has the number, so that such a failure
 * is said as any other, not as an id of -1. `nr` is its SYS_ number (-1: none here), `value`
 * what the C library's wrapper gives otherwise. */
int alcove_reply_id(struct alcove_reply *reply, long nr, long (*value)(void));

/* Reply with the value of a constant name in a domain, or null when unknown. */
int alcove_reply_constant(struct alcove_reply *reply, int domain, const struct alcove_arg *name);

/* Write everything waiting for the parent before the process is replaced or ends. */
void alcove_flush_blocking(struct alcove_state *ap);

/* Before an exec: flush, and stop being a subreaper (a program should not inherit
 * that role). After a failed exec: a control process again. */
void alcove_exec_prepare(struct alcove_state *ap);
void alcove_exec_failed(struct alcove_state *ap);

/* Adopt orphaned descendants (PR_SET_CHILD_SUBREAPER), so that none escapes the
 * tree: they are reaped when they exit and killed when the process shuts down.
 * A control process takes the role when it creates its first child (with no
 * children it has no descendants to adopt), so a child that only runs execve
 * never needs to take it and give it up again. */
void alcove_subreaper(struct alcove_state *ap, int on);

/* This program's build ID (the linker's NT_GNU_BUILD_ID note): copied to `out`, its
 * length returned, 0 when it has none (or it is longer than `cap`). */
#define ALCOVE_BUILD_ID_MAX 32
size_t alcove_build_id(unsigned char *out, size_t cap);

/* A child was reaped outside the loop (waitpid): report it like the loop would. */
void alcove_child_reaped(struct alcove_state *ap, pid_t pid, int status);

/* True when fd is one of the control process's own descriptors (the channel to its
 * parent, the signal pipe, a child's control channel or stdio pipes): the calls that
 * read, write, change or close a descriptor refuse these, so that no call can break
 * the process that runs it. */
int alcove_fd_internal(const struct alcove_state *ap, int64_t fd);
/* The message of a call refusing such a descriptor: every call that takes one
 * checks it first, with alcove_fd_internal. */
#define ALCOVE_OWN_FD(call) call ": the descriptor belongs to the control process"

#endif
