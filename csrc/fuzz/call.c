/* libFuzzer harness: a call request (u16 call number, then the payload) through the
 * argument decoder, dispatch, the cstruct and pointer-argument builders and the
 * reply encoder. Calls that only read or change the control process's own state
 * run for real; every other call is a checking fake: it checks each decoded
 * argument against its specification, builds its pointer arguments as the real
 * call would, and encodes them back. The reply must then decode exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../alcove.h"
#include "../cstruct.h"
#include "check.h"

/* Calls without effects outside this process's own state: run for real. */
static const char *const REAL[] = {
    "alloc", "cpid", "environ", "errno_id", "getcwd", "getenv", "getgid", "getgroups",
    "gethostname", "getopt", "getpgrp", "getpid", "getppid", "getpriority", "getresgid",
    "getresuid", "getrlimit", "getsid", "getuid", "setopt", "version", "filter",
    "clone_constant", "fcntl_constant", "file_constant", "ioctl_constant", "mount_constant",
    "prctl_constant", "ptrace_constant", "rlimit_constant", "seccomp_constant",
    "signal_constant", "syscall_constant", NULL,
};

static int is_real(const char *name)
{
    for (size_t i = 0; REAL[i] != NULL; i++)
        if (strcmp(REAL[i], name) == 0)
            return 1;
    return 0;
}

static size_t touch(const char *s, size_t n)
{
    size_t sum = 0;
    for (size_t i = 0; i <= n; i++) /* the NUL after the bytes too */
        sum += (unsigned char)s[i];
    return sum;
}

static void check_string(const struct alcove_arg *a, int nul_free)
{
    CHECK(a->type == ALCOVE_VAL_BYTES);
    CHECK(a->s[a->len] == '\0');
    (void)touch(a->s, a->len);
    if (nul_free)
        CHECK(strlen(a->s) == a->len);
}

int alcove_fuzz_call(const struct alcove_call_def *def, struct alcove_state *ap,
                     const struct alcove_arg *arg, struct alcove_reply *reply)
{
    if (is_real(def->name))
        return def->fn(ap, arg, reply);
    size_t nargs = strlen(def->args);
    int rv = alcove_reply_list(reply, (uint32_t)nargs);
    for (size_t n = 0; n < nargs && rv == 0; n++) {
        const struct alcove_arg *a = &arg[n];
        switch (def->args[n]) {
        case ALCOVE_ARGSPEC_INT:
            CHECK(a->type == ALCOVE_VAL_INT);
            rv = alcove_reply_int(reply, a->i);
            break;
        case ALCOVE_ARGSPEC_NULLINT:
            CHECK(a->type == ALCOVE_VAL_INT || a->type == ALCOVE_VAL_NULL);
            rv = a->type == ALCOVE_VAL_INT ? alcove_reply_int(reply, a->i) : alcove_reply_null(reply);
            break;
        case ALCOVE_ARGSPEC_STRING:
        case ALCOVE_ARGSPEC_BYTES:
            check_string(a, def->args[n] == ALCOVE_ARGSPEC_STRING);
            rv = alcove_reply_bytes(reply, a->s, a->len);
            break;
        case ALCOVE_ARGSPEC_STRINGS:
        case ALCOVE_ARGSPEC_INTS:
            CHECK(a->type == ALCOVE_VAL_LIST);
            rv = alcove_reply_list(reply, (uint32_t)a->count);
            for (size_t k = 0; k < a->count && rv == 0; k++) {
                if (def->args[n] == ALCOVE_ARGSPEC_INTS) {
                    CHECK(a->list[k].type == ALCOVE_VAL_INT);
                    rv = alcove_reply_int(reply, a->list[k].i);
                } else {
                    check_string(&a->list[k], 1);
                    rv = alcove_reply_bytes(reply, a->list[k].s, a->list[k].len);
                }
            }
            break;
        case ALCOVE_ARGSPEC_ANY: {
            /* As ioctl, prctl and the like prepare theirs: the memory the kernel would
             * see, written to its last byte, then read back. */
            CHECK(a->type != ALCOVE_VAL_LIST && a->type != ALCOVE_VAL_PTR);
            struct alcove_ptrarg p;
            size_t room = a->type == ALCOVE_VAL_INT ? (size_t)(a->i & 0xff) : 0;
            int prv = alcove_ptrarg_init(reply, def->name, "arg", a, room, &p);
            if (prv != 0) {
                alcove_ptrarg_free(&p);
                return prv > 0 ? 0 : prv;
            }
            if (p.type != ALCOVE_VAL_INT && p.type != ALCOVE_VAL_NULL && p.size > 0) {
                unsigned char *mem = (unsigned char *)p.value;
                memset(mem, 0xa5, p.size);
            }
            rv = alcove_reply_ptrarg(reply, &p);
            alcove_ptrarg_free(&p);
            break;
        }
        default:
            CHECK(!"an argument specification the fake does not know");
        }
    }
    return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static struct alcove_state state;
    alcove_state_init(&state, 1, -1, -1);
    uint16_t call = (uint16_t)(data[0] | data[1] << 8);
    call = (uint16_t)(call % (alcove_ncalls + 2)); /* mostly real call numbers */
    /* An exact copy: the decoder must not read past the payload. */
    unsigned char *payload = malloc(size - 2 > 0 ? size - 2 : 1);
    CHECK(payload != NULL);
    memcpy(payload, data + 2, size - 2);
    struct alcove_buf out = {0};
    struct alcove_reply reply = {.out = &out};
    alcove_dispatch(&state, call, payload, size - 2, &reply);
    switch (reply.status) {
    case ALCOVE_STATUS_OK: {
        int n = fuzz_values(out.data, out.len); /* nothing (ok) or one value */
        CHECK(n == 0 || n == 1);
        break;
    }
    case ALCOVE_STATUS_ERRNO: {
        /* The errno, then the C library's text and the option of a limit, if any. */
        int n = fuzz_values(out.data, out.len);
        CHECK(n >= 1 && n <= 3 && out.data[0] == ALCOVE_VAL_INT);
        break;
    }
    case ALCOVE_STATUS_BADARG:
    case ALCOVE_STATUS_UNSUPPORTED:
        CHECK(reply.error != NULL && strlen(reply.error) > 0);
        break;
    case ALCOVE_STATUS_FILTERED:
        break;
    default:
        CHECK(!"an unknown reply status");
    }
    alcove_buf_free(&out);
    free(payload);
    free(state.child);
    return 0;
}
