/* Decode a call's arguments against its specification and run it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alcove.h"

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t get_i64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | p[i];
    return (int64_t)u;
}

size_t alcove_decode_scalar(const unsigned char *p, size_t len, struct alcove_arg *a)
{
    memset(a, 0, sizeof(*a));
    if (len < 1)
        return 0;
    a->type = p[0];
    switch (p[0]) {
    case ALCOVE_VAL_INT:
        if (len < 9)
            return 0;
        a->i = get_i64(p + 1);
        return 9;
    case ALCOVE_VAL_BYTES: {
        if (len < 5)
            return 0;
        uint32_t n = get_u32(p + 1);
        if ((size_t)n > len - 5 || len - 5 - n < 1 || p[5 + n] != 0)
            return 0;
        a->s = (const char *)(p + 5);
        a->len = n;
        return 5 + (size_t)n + 1;
    }
    case ALCOVE_VAL_NULL:
        return 1;
    case ALCOVE_VAL_PTR: {
        if (len < 17)
            return 0;
        int64_t size = get_i64(p + 9);
        if (size < 0)
            return 0;
        a->i = get_i64(p + 1);
        a->len = (size_t)size;
        return 17;
    }
    case ALCOVE_VAL_CSTRUCT: {
        /* Validated by the call that takes it (cstruct.c); here only its extent. */
        if (len < 5)
            return 0;
        uint32_t count = get_u32(p + 1);
        size_t off = 5;
        for (uint32_t k = 0; k < count; k++) {
            if (len - off < 5)
                return 0;
            unsigned kind = p[off];
            uint32_t n = get_u32(p + off + 1);
            off += 5;
            if (kind == ALCOVE_SEG_ZEROED)
                continue;
            if (kind != ALCOVE_SEG_INLINE && kind != ALCOVE_SEG_PTR)
                return 0;
            if ((size_t)n > len - off)
                return 0;
            off += n;
        }
        a->s = (const char *)(p + 1);
        a->len = off - 1;
        a->count = count;
        return off;
    }
    default:
        return 0;
    }
}

static const char *type_name(int type)
{
    switch (type) {
    case ALCOVE_VAL_INT: return "an integer";
    case ALCOVE_VAL_BYTES: return "bytes";
    case ALCOVE_VAL_LIST: return "a list";
    case ALCOVE_VAL_NULL: return "null";
    case ALCOVE_VAL_CSTRUCT: return "a cstruct";
    case ALCOVE_VAL_PTR: return "a raw pointer";
    default: return "an unknown value";
    }
}

static int bad(struct alcove_reply *r, const char *call, unsigned n, const char *what)
{
    return alcove_reply_badargf(r, "%s: argument %u %s", call, n + 1, what);
}

static int spec_accepts(char spec, int type)
{
    switch (spec) {
    case ALCOVE_ARGSPEC_INT: return type == ALCOVE_VAL_INT;
    case ALCOVE_ARGSPEC_STRING:
    case ALCOVE_ARGSPEC_BYTES: return type == ALCOVE_VAL_BYTES;
    case ALCOVE_ARGSPEC_STRINGS:
    case ALCOVE_ARGSPEC_INTS: return type == ALCOVE_VAL_LIST;
    case ALCOVE_ARGSPEC_NULLINT: return type == ALCOVE_VAL_INT || type == ALCOVE_VAL_NULL;
    case ALCOVE_ARGSPEC_ANY: return type != ALCOVE_VAL_LIST;
    default: return 0;
    }
}

#ifdef ALCOVE_FUZZ
/* The fuzz harness (fuzz/call.c) runs the calls that would have effects as checking fakes. */
int alcove_fuzz_call(const struct alcove_call_def *def, struct alcove_state *ap,
                     const struct alcove_arg *arg, struct alcove_reply *reply);
#define RUN_CALL(def, ap, arg, reply) alcove_fuzz_call(def, ap, arg, reply)
#else
#define RUN_CALL(def, ap, arg, reply) (def)->fn(ap, arg, reply)
#endif

void alcove_dispatch(struct alcove_state *ap, uint16_t call, const unsigned char *payload,
                     size_t len, struct alcove_reply *reply)
{
    struct alcove_arg args[ALCOVE_MAX_ARGS];
    struct alcove_arg *lists[ALCOVE_MAX_ARGS] = {0};
    reply->status = ALCOVE_STATUS_OK;
    reply->error = NULL;

    if (call >= alcove_ncalls || alcove_calls[call].fn == NULL) {
        alcove_reply_unsupported(reply, "Unknown call number");
        return;
    }
    const struct alcove_call_def *def = &alcove_calls[call];
    if (ap->filter[call / 8] & (1u << (call % 8))) {
        reply->status = ALCOVE_STATUS_FILTERED;
        return;
    }
    if (ap->local && (def->flags & ALCOVE_CALLF_NOLOCAL)) {
        alcove_reply_unsupported(reply, "Cannot run in the host process: it would fork or "
                                        "replace a multithreaded runtime; use a control process");
        return;
    }

    size_t nargs = strlen(def->args);
    size_t off = 0;
    unsigned n;
    for (n = 0; n < nargs && n < ALCOVE_MAX_ARGS; n++) {
        char spec = def->args[n];
        if (off >= len) {
            bad(reply, def->name, n, "is missing");
            goto out;
        }
        if (payload[off] == ALCOVE_VAL_LIST) {
            if (len - off < 5) {
                bad(reply, def->name, n, "is truncated");
                goto out;
            }
            uint32_t count = get_u32(payload + off + 1);
            if (count > (len - off - 5)) { /* every element takes at least one byte */
                bad(reply, def->name, n, "is truncated");
                goto out;
            }
            off += 5;
            lists[n] = calloc((size_t)count + 1, sizeof(struct alcove_arg));
            if (lists[n] == NULL) {
                reply->status = ALCOVE_STATUS_ERRNO;
                alcove_reply_int(reply, ENOMEM);
                reply->status = ALCOVE_STATUS_ERRNO;
                goto out;
            }
            for (uint32_t k = 0; k < count; k++) {
                size_t used = alcove_decode_scalar(payload + off, len - off, &lists[n][k]);
                if (used == 0) {
                    bad(reply, def->name, n, "is malformed");
                    goto out;
                }
                int want = spec == ALCOVE_ARGSPEC_INTS ? ALCOVE_VAL_INT : ALCOVE_VAL_BYTES;
                if (lists[n][k].type != want) {
                    bad(reply, def->name, n,
                        want == ALCOVE_VAL_INT ? "must be a list of integers"
                                               : "must be a list of strings");
                    goto out;
                }
                if (spec == ALCOVE_ARGSPEC_STRINGS && strlen(lists[n][k].s) != lists[n][k].len) {
                    bad(reply, def->name, n, "contains a NUL byte");
                    goto out;
                }
                off += used;
            }
            memset(&args[n], 0, sizeof(args[n]));
            args[n].type = ALCOVE_VAL_LIST;
            args[n].list = lists[n];
            args[n].count = count;
        } else {
            size_t used = alcove_decode_scalar(payload + off, len - off, &args[n]);
            if (used == 0) {
                bad(reply, def->name, n, "is malformed");
                goto out;
            }
            off += used;
        }
        if (args[n].type == ALCOVE_VAL_PTR && !ap->local) {
            /* An address means nothing in another address space. */
            bad(reply, def->name, n, "is a raw pointer: only calls in the host process take one");
            goto out;
        }
        if (!spec_accepts(spec, args[n].type)) {
            char what[64];
            snprintf(what, sizeof(what), "must not be %s", type_name(args[n].type));
            bad(reply, def->name, n, what);
            goto out;
        }
        if (spec == ALCOVE_ARGSPEC_STRING && strlen(args[n].s) != args[n].len) {
            bad(reply, def->name, n, "contains a NUL byte");
            goto out;
        }
    }
    if (off != len) {
        alcove_reply_badargf(reply, "%s: takes %zu arguments, got more", def->name, nargs);
        goto out;
    }

    size_t mark = reply->out->len;
    int rv = RUN_CALL(def, ap, args, reply);
    if (rv < 0) {
        reply->out->len = mark; /* drop any partial value */
        alcove_reply_errno(reply, -rv);
    }
out:
    for (unsigned k = 0; k < ALCOVE_MAX_ARGS; k++)
        free(lists[k]);
}
