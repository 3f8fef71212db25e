#include <string.h>

#include "frame.h"

size_t alcove_frame_begin(struct alcove_buf *b, unsigned type, uint16_t code, uint32_t id,
                          pid_t lead, const unsigned char *pids, unsigned npids)
{
    unsigned depth = npids + (lead > 0 ? 1u : 0u);
    size_t hdr = ALCOVE_WIRE_HEADER + 4u * depth;
    if (depth > 255)
        return (size_t)-1;
    unsigned char *p = alcove_buf_reserve(b, hdr);
    if (p == NULL)
        return (size_t)-1;
    size_t start = b->len;
    alcove_put_u32(p, 0);
    p[4] = (unsigned char)type;
    p[5] = (unsigned char)depth;
    p[6] = (unsigned char)code;
    p[7] = (unsigned char)(code >> 8);
    alcove_put_u32(p + 8, id);
    unsigned char *q = p + ALCOVE_WIRE_HEADER;
    if (lead > 0) {
        alcove_put_u32(q, (uint32_t)lead);
        q += 4;
    }
    if (npids > 0)
        memcpy(q, pids, 4u * npids);
    b->len += hdr;
    return start;
}

void alcove_frame_end(struct alcove_buf *b, size_t start)
{
    alcove_put_u32(b->data + start, (uint32_t)(b->len - start - 4));
}

void alcove_frame_set_code(struct alcove_buf *b, size_t start, uint16_t code)
{
    b->data[start + 6] = (unsigned char)code;
    b->data[start + 7] = (unsigned char)(code >> 8);
}

int alcove_frame_simple(struct alcove_buf *b, unsigned type, uint16_t code, uint32_t id,
                        pid_t lead, int has_value, int64_t value)
{
    size_t start = alcove_frame_begin(b, type, code, id, lead, NULL, 0);
    if (start == (size_t)-1)
        return -1;
    if (has_value) {
        struct alcove_reply r = {.out = b};
        if (alcove_reply_int(&r, value) < 0) {
            b->len = start;
            return -1;
        }
    }
    alcove_frame_end(b, start);
    return 0;
}
