/* Laying out cstructs in memory and reading them back (see cstruct.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cstruct.h"
#include "frame.h"

#define WORD sizeof(void *)

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

int alcove_cstruct_build(const struct alcove_arg *a, size_t room, struct alcove_cstruct *cs,
                         const char **why)
{
    memset(cs, 0, sizeof(*cs));
    if (a->type != ALCOVE_VAL_CSTRUCT) {
        *why = "must be a cstruct";
        return -EINVAL;
    }
    if (a->count == 0) {
        *why = "is a cstruct with no segments";
        return -EINVAL;
    }
    if (a->count > ALCOVE_CSTRUCT_MAX_SEGMENTS) {
        *why = "is a cstruct of more than 64 segments";
        return -EINVAL;
    }
    cs->seg = calloc(a->count, sizeof(*cs->seg));
    if (cs->seg == NULL)
        return -ENOMEM;
    cs->count = a->count;

    /* First pass: the extent was checked by the dispatcher; here the kinds and sizes. */
    const unsigned char *p = (const unsigned char *)a->s + 4;
    size_t total = 0;
    for (size_t k = 0; k < cs->count; k++) {
        struct alcove_segment *s = &cs->seg[k];
        s->kind = p[0];
        s->n = alcove_get_u32(p + 1);
        p += 5;
        if (s->kind != ALCOVE_SEG_ZEROED)
            p += s->n;
        /* s->n first: WORD + s->n wraps around where size_t has 32 bits. */
        size_t add = s->kind == ALCOVE_SEG_INLINE ? s->n : WORD + s->n;
        if (s->n > ALCOVE_CSTRUCT_MAX_BYTES || add > ALCOVE_CSTRUCT_MAX_BYTES ||
            total + add > ALCOVE_CSTRUCT_MAX_BYTES) {
            *why = "is a cstruct larger than 16 MiB";
            return -EINVAL;
        }
        total += add;
        s->off = cs->size;
        cs->size += s->kind == ALCOVE_SEG_INLINE ? s->n : WORD;
    }

    /* Never a zero-sized allocation: the struct's address is always a valid pointer. */
    cs->mem = calloc(max_size(cs->size, room) + ALCOVE_KERNEL_SLACK, 1);
    if (cs->mem == NULL)
        return -ENOMEM;
    p = (const unsigned char *)a->s + 4;
    for (size_t k = 0; k < cs->count; k++) {
        struct alcove_segment *s = &cs->seg[k];
        const unsigned char *data = p + 5;
        p += 5 + (s->kind == ALCOVE_SEG_ZEROED ? 0 : s->n);
        if (s->kind == ALCOVE_SEG_INLINE) {
            if (s->n > 0)
                memcpy(cs->mem + s->off, data, s->n);
            continue;
        }
        if (s->n == 0)
            continue; /* NULL: the word stays zero */
        s->ptr = calloc(s->n + ALCOVE_KERNEL_SLACK, 1);
        if (s->ptr == NULL)
            return -ENOMEM;
        if (s->kind == ALCOVE_SEG_PTR)
            memcpy(s->ptr, data, s->n);
        memcpy(cs->mem + s->off, &s->ptr, WORD);
    }
    return 0;
}

/* Appends `n` bytes of `data` to the reply buffer. */
static int put(struct alcove_reply *r, const void *data, size_t n)
{
    return alcove_buf_append(r->out, data, n);
}

static int put_head(struct alcove_reply *r, unsigned char tag, size_t n)
{
    unsigned char head[5];
    head[0] = tag;
    alcove_put_u32(head + 1, (uint32_t)n);
    return put(r, head, sizeof(head));
}

int alcove_reply_cstruct(struct alcove_reply *r, const struct alcove_cstruct *cs)
{
    r->status = ALCOVE_STATUS_OK;
    if (put_head(r, ALCOVE_VAL_CSTRUCT, cs->count) < 0)
        return -ENOMEM;
    for (size_t k = 0; k < cs->count; k++) {
        const struct alcove_segment *s = &cs->seg[k];
        int rv;
        if (s->kind == ALCOVE_SEG_INLINE) {
            rv = put_head(r, ALCOVE_SEG_INLINE, s->n);
            if (rv == 0 && s->n > 0)
                rv = put(r, cs->mem + s->off, s->n);
        } else {
            size_t n = s->ptr != NULL ? s->n : 0;
            rv = put_head(r, ALCOVE_SEG_PTR, n);
            if (rv == 0 && n > 0)
                rv = put(r, s->ptr, n);
        }
        if (rv < 0)
            return rv;
    }
    return 0;
}

void alcove_cstruct_free(struct alcove_cstruct *cs)
{
    for (size_t k = 0; k < cs->count && cs->seg != NULL; k++)
        free(cs->seg[k].ptr);
    free(cs->seg);
    free(cs->mem);
    memset(cs, 0, sizeof(*cs));
}

int alcove_ptrarg_init(struct alcove_reply *r, const char *call, const char *name,
                       const struct alcove_arg *a, size_t room, struct alcove_ptrarg *p)
{
    memset(p, 0, sizeof(*p));
    p->type = a->type;
    switch (a->type) {
    case ALCOVE_VAL_INT:
        p->value = (unsigned long)a->i;
        return 0;
    case ALCOVE_VAL_NULL:
        return 0;
    case ALCOVE_VAL_PTR:
        /* Only the host process sends these: the dispatcher refuses them elsewhere. */
        p->value = (unsigned long)a->i;
        p->size = a->len;
        return 0;
    case ALCOVE_VAL_BYTES:
        /* A copy, so the kernel may write into it; the zeroed slack also ends a string. */
        p->copy = calloc(max_size(a->len, room) + ALCOVE_KERNEL_SLACK, 1);
        if (p->copy == NULL)
            return -ENOMEM;
        if (a->len > 0)
            memcpy(p->copy, a->s, a->len);
        p->value = (unsigned long)p->copy;
        p->size = a->len;
        return 0;
    case ALCOVE_VAL_CSTRUCT: {
        const char *why = NULL;
        int rv = alcove_cstruct_build(a, room, &p->cs, &why);
        if (rv == -EINVAL && why != NULL) {
            alcove_reply_badargf(r, "%s: %s %s", call, name, why);
            return 1;
        }
        if (rv < 0)
            return rv;
        p->value = (unsigned long)p->cs.mem;
        p->size = p->cs.size;
        return 0;
    }
    default:
        alcove_reply_badargf(r, "%s: %s must be an integer, bytes, a cstruct or null", call,
                             name);
        return 1;
    }
}

int alcove_reply_ptrarg(struct alcove_reply *r, const struct alcove_ptrarg *p)
{
    switch (p->type) {
    case ALCOVE_VAL_BYTES: return alcove_reply_bytes(r, p->copy, p->size);
    case ALCOVE_VAL_CSTRUCT: return alcove_reply_cstruct(r, &p->cs);
    case ALCOVE_VAL_NULL: return alcove_reply_null(r);
    default: return alcove_reply_int(r, (int64_t)p->value);
    }
}

void alcove_ptrarg_free(struct alcove_ptrarg *p)
{
    free(p->copy);
    alcove_cstruct_free(&p->cs);
    p->copy = NULL;
}
