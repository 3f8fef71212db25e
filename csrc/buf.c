/* Growable byte buffers and the encoders of reply values. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alcove.h"

void alcove_buf_free(struct alcove_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->off = b->cap = 0;
}

void alcove_buf_compact(struct alcove_buf *b)
{
    /* Moving a large backlog after every partial write costs more than the
     * space it frees: wait until the consumed part is at least what is left. */
    if (b->off == 0 || b->off < b->len - b->off)
        return;
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
}

/* Never moves the bytes already in the buffer (only realloc may), so offsets of a
 * frame under construction stay valid; space is reclaimed by alcove_buf_compact. */
unsigned char *alcove_buf_reserve(struct alcove_buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len)
        return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) {
            if (cap > SIZE_MAX / 2)
                return NULL;
            cap *= 2;
        }
        unsigned char *p = realloc(b->data, cap);
        if (p == NULL)
            return NULL;
        b->data = p;
        b->cap = cap;
    }
    return b->data + b->len;
}

/* What an empty buffer keeps: enough for ordinary frames without a realloc each time. */
#define BUF_KEEP (1u << 20)

void alcove_buf_shrink(struct alcove_buf *b)
{
    if (b->len == 0 && b->cap > BUF_KEEP)
        alcove_buf_free(b);
}

int alcove_buf_append(struct alcove_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0; /* nothing to hold, even where nothing is held yet (data NULL) */
    unsigned char *dst = alcove_buf_reserve(b, n);
    if (dst == NULL)
        return -ENOMEM;
    memcpy(dst, p, n);
    b->len += n;
    return 0;
}

void alcove_buf_consume(struct alcove_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) {
        b->off = 0;
        b->len = 0;
    }
}

static int put_tag(struct alcove_reply *r, unsigned char tag, const void *p, size_t n)
{
    unsigned char *dst = alcove_buf_reserve(r->out, 1 + n);
    if (dst == NULL)
        return -ENOMEM;
    dst[0] = tag;
    if (n > 0)
        memcpy(dst + 1, p, n);
    r->out->len += 1 + n;
    return 0;
}

int alcove_reply_ok(struct alcove_reply *r)
{
    r->status = ALCOVE_STATUS_OK;
    return 0;
}

int alcove_reply_int(struct alcove_reply *r, int64_t v)
{
    unsigned char le[8];
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(u >> (8 * i));
    r->status = ALCOVE_STATUS_OK;
    return put_tag(r, ALCOVE_VAL_INT, le, sizeof(le));
}

int alcove_reply_bytes(struct alcove_reply *r, const void *p, size_t n)
{
    if (n > UINT32_MAX)
        return -E2BIG;
    unsigned char *dst = alcove_buf_reserve(r->out, 1 + 4 + n + 1);
    if (dst == NULL)
        return -ENOMEM;
    uint32_t len = (uint32_t)n;
    dst[0] = ALCOVE_VAL_BYTES;
    for (int i = 0; i < 4; i++)
        dst[1 + i] = (unsigned char)(len >> (8 * i));
    if (n > 0)
        memcpy(dst + 5, p, n);
    dst[5 + n] = 0;
    r->out->len += 1 + 4 + n + 1;
    r->status = ALCOVE_STATUS_OK;
    return 0;
}

int alcove_reply_null(struct alcove_reply *r)
{
    r->status = ALCOVE_STATUS_OK;
    return put_tag(r, ALCOVE_VAL_NULL, NULL, 0);
}

int alcove_reply_list(struct alcove_reply *r, uint32_t count)
{
    unsigned char le[4];
    for (int i = 0; i < 4; i++)
        le[i] = (unsigned char)(count >> (8 * i));
    r->status = ALCOVE_STATUS_OK;
    return put_tag(r, ALCOVE_VAL_LIST, le, sizeof(le));
}

int alcove_reply_badarg(struct alcove_reply *r, const char *msg)
{
    r->status = ALCOVE_STATUS_BADARG;
    r->error = msg;
    return 0;
}

int alcove_reply_badargf(struct alcove_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    return alcove_reply_badarg(r, r->message);
}

int alcove_reply_errno(struct alcove_reply *r, int err)
{
    const char *text = strerror(err); /* the C library's words, for the error message */
    int rv = alcove_reply_int(r, err);
    rv |= alcove_reply_bytes(r, text, strlen(text));
    r->status = ALCOVE_STATUS_ERRNO;
    return rv;
}

int alcove_reply_errno_limit(struct alcove_reply *r, int err, const char *option)
{
    int rv = alcove_reply_errno(r, err);
    rv |= alcove_reply_bytes(r, option, strlen(option));
    r->status = ALCOVE_STATUS_ERRNO; /* each value put marks the reply OK again */
    return rv;
}

int alcove_reply_unsupported(struct alcove_reply *r, const char *msg)
{
    r->status = ALCOVE_STATUS_UNSUPPORTED;
    r->error = msg;
    return 0;
}
