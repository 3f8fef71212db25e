/* Checks the constant tables against the headers they were compiled from, and the look-up
 * rules of constants.c. Prints "N passed, M failed"; exits 1 on any failure.
 *
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wconversion -Wformat=2 -O2 \
 *       -Icsrc csrc/constants.c csrc/constants_table.c tests/c/constants_test.c \
 *       -o constants_test && ./constants_test
 *
 * tests/c/constants_test.ts builds and runs it as part of `deno task test`. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "constants.h"

static int passed;
static int failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL: %s\n", what);
    }
}

static int lookup(int domain, const char *name, long long *value)
{
    return alcove_constant_lookup(domain, name, strlen(name), value);
}

static void check_value(int domain, const char *name, long long expected)
{
    long long value = 0;
    char what[128];
    snprintf(what, sizeof(what), "%s is %lld", name, expected);
    check(lookup(domain, name, &value) == 0 && value == expected, what);
}

static void check_missing(int domain, const char *name, size_t len, const char *what)
{
    long long value = 12345;
    check(alcove_constant_lookup(domain, name, len, &value) == -1 && value == 12345, what);
}

static void check_name(int domain, long long value, const char *expected)
{
    const char *name = alcove_constant_name(domain, value);
    char what[128];
    snprintf(what, sizeof(what), "value %lld names %s", value, expected);
    check(name != NULL && strcmp(name, expected) == 0, what);
}

static int ascii_equal_ignoring_case(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'a' && x <= 'z')
            x = (unsigned char)(x - 'a' + 'A');
        if (y >= 'a' && y <= 'z')
            y = (unsigned char)(y - 'a' + 'A');
        if (x != y)
            return 0;
        if (x == '\0')
            return 1;
    }
}

/* Every table: named, non-empty, with as many names as values (the names end where the
 * count does, the values with a 0 past it), no two names equal ignoring case (a look-up
 * could never reach the second), and each name finds itself. */
static void check_tables(void)
{
    static const char *const expected[ALCOVE_CONST_DOMAINS] = {
        "clone",   "fcntl",  "file",    "ioctl", "mount", "prctl", "ptrace", "rlimit",
        "seccomp", "signal", "syscall", "errno", "wait",  "prio",  "socket",
    };
    for (int d = 0; d < ALCOVE_CONST_DOMAINS; d++) {
        const struct alcove_constant_table *table = &alcove_constant_tables[d];
        size_t count = table->count;
        char what[160];

        snprintf(what, sizeof(what), "domain %d is named %s", d, expected[d]);
        check(strcmp(alcove_constant_domain_names[d], expected[d]) == 0, what);
        const char *names[1024];
        size_t n = 0;
        for (const char *p = table->names; *p != '\0' && n < 1024; p += strlen(p) + 1)
            names[n++] = p;
        snprintf(what, sizeof(what), "domain %s has %zu names for %zu values, then a 0",
                 expected[d], n, count);
        check(count > 0 && n == count && table->values[count] == 0, what);

        int unique = 1, found = 1;
        for (size_t i = 0; i < n; i++) {
            for (size_t j = i + 1; j < n; j++) {
                if (ascii_equal_ignoring_case(names[i], names[j]))
                    unique = 0;
            }
            long long value = 0;
            if (lookup(d, names[i], &value) != 0 || value != table->values[i])
                found = 0;
        }
        snprintf(what, sizeof(what), "domain %s names differ ignoring case", expected[d]);
        check(unique, what);
        snprintf(what, sizeof(what), "domain %s names each find their own value", expected[d]);
        check(found, what);
    }
}

int main(void)
{
    check_tables();

    /* Values come from the same macros the tables were built from. */
    check_value(ALCOVE_CONST_SIGNAL, "SIGKILL", SIGKILL);
    check_value(ALCOVE_CONST_SIGNAL, "SIGKILL", 9);
    check_value(ALCOVE_CONST_SYSCALL, "SYS_getpid", SYS_getpid);
    check_value(ALCOVE_CONST_SYSCALL, "AUDIT_ARCH_X86_64", (long long)AUDIT_ARCH_X86_64);
    check_value(ALCOVE_CONST_SYSCALL, "AUDIT_ARCH_AARCH64", (long long)AUDIT_ARCH_AARCH64);
    check_value(ALCOVE_CONST_ERRNO, "EAGAIN", EAGAIN);
    check_value(ALCOVE_CONST_ERRNO, "EWOULDBLOCK", EWOULDBLOCK);
    check_value(ALCOVE_CONST_CLONE, "CLONE_NEWUSER", CLONE_NEWUSER);
    check_value(ALCOVE_CONST_MOUNT, "MS_BIND", MS_BIND);
    check_value(ALCOVE_CONST_RLIMIT, "RLIMIT_NOFILE", RLIMIT_NOFILE);
    check_value(ALCOVE_CONST_RLIMIT, "RLIM_INFINITY", (long long)RLIM_INFINITY);
    check_value(ALCOVE_CONST_SECCOMP, "SECCOMP_RET_KILL_PROCESS", SECCOMP_RET_KILL_PROCESS);
    check_value(ALCOVE_CONST_WAIT, "WNOHANG", WNOHANG);
    check_value(ALCOVE_CONST_WAIT, "__WALL", __WALL);
    check_value(ALCOVE_CONST_PRIO, "PRIO_USER", PRIO_USER);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 36))
    /* An enum constant without a macro in glibc. */
    check_value(ALCOVE_CONST_WAIT, "P_PIDFD", P_PIDFD);
#endif
    /* Both spellings of the user-area ptrace requests exist whichever the headers use. */
    check_value(ALCOVE_CONST_PTRACE, "PTRACE_PEEKUSER", 3);
    check_value(ALCOVE_CONST_PTRACE, "PTRACE_PEEKUSR", 3);

    /* Names match ignoring ASCII case, by exactly `len` bytes. */
    check_value(ALCOVE_CONST_RLIMIT, "rlimit_nofile", RLIMIT_NOFILE);
    check_value(ALCOVE_CONST_SIGNAL, "sigKill", SIGKILL);
    {
        long long value = 0;
        check(alcove_constant_lookup(ALCOVE_CONST_SIGNAL, "SIGTERMINAL", 7, &value) == 0 &&
                  value == SIGTERM,
              "a prefix of len bytes is looked up on its own");
        check(alcove_constant_lookup(ALCOVE_CONST_SIGNAL, "SIGKILL", 7, NULL) == 0,
              "a NULL value pointer is allowed");
    }
    check_missing(ALCOVE_CONST_SIGNAL, "SIGKIL", 6, "a truncated name is unknown");
    check_missing(ALCOVE_CONST_SIGNAL, "SIGKILLS", 8, "a longer name is unknown");
    check_missing(ALCOVE_CONST_SIGNAL, "SIGNOPE", 7, "an unknown name is unknown");
    check_missing(ALCOVE_CONST_ERRNO, "SIGKILL", 7, "a name of another domain is unknown");
    check_missing(ALCOVE_CONST_SIGNAL, "SIGKILL\0", 8, "a name with a NUL is unknown");
    check_missing(ALCOVE_CONST_SIGNAL, "", 0, "the empty name is unknown");
    check_missing(-1, "SIGKILL", 7, "a negative domain is refused");
    check_missing(ALCOVE_CONST_DOMAINS, "SIGKILL", 7, "a domain past the last is refused");
    check_missing(ALCOVE_CONST_SIGNAL, NULL, 7, "a NULL name is refused");
    {
        char long_name[100];
        memset(long_name, 'A', sizeof(long_name));
        memcpy(long_name, "SIGKILL", 7);
        check_missing(ALCOVE_CONST_SIGNAL, long_name, 65, "a name over 64 bytes is refused");
    }

    /* Reverse look-ups return the canonical name of a shared value. */
    check_name(ALCOVE_CONST_ERRNO, 11, "EAGAIN");
    check_name(ALCOVE_CONST_ERRNO, EDEADLK, "EDEADLK");
    check_name(ALCOVE_CONST_ERRNO, EOPNOTSUPP, "EOPNOTSUPP");
    check_name(ALCOVE_CONST_SIGNAL, 6, "SIGABRT");
    check_name(ALCOVE_CONST_SIGNAL, SIGIO, "SIGIO");
    check_name(ALCOVE_CONST_SIGNAL, SIGCHLD, "SIGCHLD");
    check_name(ALCOVE_CONST_SYSCALL, SYS_getpid, "SYS_getpid");
    check(alcove_constant_name(ALCOVE_CONST_SIGNAL, 12345) == NULL, "an unknown value has no name");
    check(alcove_constant_name(ALCOVE_CONST_DOMAINS, 9) == NULL, "a bad domain has no names");

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
