/* Building frames into buffers (see wire.h). */
#ifndef ALCOVE_FRAME_H
#define ALCOVE_FRAME_H

#include "alcove.h"

static inline void alcove_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t alcove_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t alcove_get_u64(const unsigned char *p)
{
    return (uint64_t)alcove_get_u32(p) | (uint64_t)alcove_get_u32(p + 4) << 32;
}

static inline uint16_t alcove_get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Start a frame in `b`: header, an optional leading pid (0: none), then `npids`
 * pids read little endian from `pids`. Returns the frame's offset in b->data, or
 * (size_t)-1 when out of memory. Finish it with alcove_frame_end. */
size_t alcove_frame_begin(struct alcove_buf *b, unsigned type, uint16_t code, uint32_t id,
                          pid_t lead, const unsigned char *pids, unsigned npids);
void alcove_frame_end(struct alcove_buf *b, size_t start);
void alcove_frame_set_code(struct alcove_buf *b, size_t start, uint16_t code);

/* Append a whole REPLY/EVENT frame with an optional single INT payload value. */
int alcove_frame_simple(struct alcove_buf *b, unsigned type, uint16_t code, uint32_t id,
                        pid_t lead, int has_value, int64_t value);

#endif
