/* Constant tables: C macro names of this platform, looked up by name. A name the
 * headers of the building machine do not define is absent, never guessed. */
#ifndef ALCOVE_CONSTANTS_H
#define ALCOVE_CONSTANTS_H

#include <stddef.h>

enum alcove_constant_domain {
    ALCOVE_CONST_CLONE = 0, /* CLONE_* */
    ALCOVE_CONST_FCNTL,     /* F_*, FD_CLOEXEC */
    ALCOVE_CONST_FILE,      /* O_*, S_I* */
    ALCOVE_CONST_IOCTL,     /* FIONREAD, TIOC*, TUNSETIFF, SIOC*, ... */
    ALCOVE_CONST_MOUNT,     /* MS_*, MNT_*, UMOUNT_* */
    ALCOVE_CONST_PRCTL,     /* PR_*, SECCOMP_MODE_*, PR_CAP_AMBIENT_* */
    ALCOVE_CONST_PTRACE,    /* PTRACE_* */
    ALCOVE_CONST_RLIMIT,    /* RLIMIT_* */
    ALCOVE_CONST_SECCOMP,   /* SECCOMP_*, BPF_* and SECCOMP_RET_* */
    ALCOVE_CONST_SIGNAL,    /* SIG* signal numbers (no SIG_DFL/SIG_IGN) */
    ALCOVE_CONST_SYSCALL,   /* SYS_* and AUDIT_ARCH_* */
    ALCOVE_CONST_ERRNO,     /* E* errno values */
    ALCOVE_CONST_WAIT,      /* WNOHANG, WUNTRACED, WCONTINUED, ... */
    ALCOVE_CONST_PRIO,      /* PRIO_PROCESS, PRIO_PGRP, PRIO_USER */
    ALCOVE_CONST_SOCKET,    /* AF_*, SOCK_*, ... */
    ALCOVE_CONST_DOMAINS
};

/* A domain's `count` constants: their names one after the other in `names`, each ending
 * with a NUL, and their values in the same order (constants_table.c says why). */
struct alcove_constant_table {
    const char *names; /* each name and its NUL, back to back */
    const long long *values;
    size_t count;
    size_t names_len; /* bytes of `names`, the NULs included */
};

/* Room for a domain's name and its NUL (scripts/gen_constants.ts checks the names). */
#define ALCOVE_CONST_DOMAIN_NAME_CAP 16

/* One table per domain, in the order of the name lists (scripts/constants/). */
extern const struct alcove_constant_table alcove_constant_tables[ALCOVE_CONST_DOMAINS];
extern const char alcove_constant_domain_names[ALCOVE_CONST_DOMAINS][ALCOVE_CONST_DOMAIN_NAME_CAP];

/* Case-insensitive look-up of `len` bytes of `name`: 0 and *value set when found,
 * -1 when the name is unknown on this platform or the domain is out of range. */
int alcove_constant_lookup(int domain, const char *name, size_t len, long long *value);

/* The first name in `domain` whose value is `value`, or NULL. */
const char *alcove_constant_name(int domain, long long value);

/* The tables as "domain\tNAME\tvalue\n" lines, written to `out` when they fit in
 * `cap` bytes; returns the length of the whole text either way. */
__attribute__((visibility("default"))) long long alcove_constants_text(char *out, size_t cap);

#endif
