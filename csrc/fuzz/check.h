/* Checks shared by the fuzz harnesses. */
#ifndef ALCOVE_FUZZ_CHECK_H
#define ALCOVE_FUZZ_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "../wire.h"

/* An invariant: a failure is a finding, reported and ended like a sanitizer's. */
#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);              \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

static inline unsigned long fuzz_u32(const unsigned char *p)
{
    return (unsigned long)p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 |
           (unsigned long)p[3] << 24;
}

/* The length of the well-formed value (wire.h) at p, or 0. */
static inline size_t fuzz_value_len(const unsigned char *p, size_t len, int depth)
{
    if (len < 1 || depth > 4)
        return 0;
    switch (p[0]) {
    case ALCOVE_VAL_INT: return len >= 9 ? 9 : 0;
    case ALCOVE_VAL_NULL: return 1;
    case ALCOVE_VAL_PTR: return len >= 17 ? 17 : 0;
    case ALCOVE_VAL_BYTES: {
        if (len < 5)
            return 0;
        size_t n = fuzz_u32(p + 1);
        if (n > len - 5 || len - 5 - n < 1 || p[5 + n] != 0)
            return 0;
        return 5 + n + 1;
    }
    case ALCOVE_VAL_LIST: {
        if (len < 5)
            return 0;
        size_t count = fuzz_u32(p + 1), off = 5;
        for (size_t k = 0; k < count; k++) {
            size_t n = fuzz_value_len(p + off, len - off, depth + 1);
            if (n == 0)
                return 0;
            off += n;
        }
        return off;
    }
    case ALCOVE_VAL_CSTRUCT: {
        if (len < 5)
            return 0;
        size_t count = fuzz_u32(p + 1), off = 5;
        for (size_t k = 0; k < count; k++) {
            if (len - off < 5)
                return 0;
            unsigned kind = p[off];
            size_t n = fuzz_u32(p + off + 1);
            off += 5;
            if (kind != ALCOVE_SEG_INLINE && kind != ALCOVE_SEG_PTR)
                return 0; /* a read-back has every pointer's contents */
            if (n > len - off)
                return 0;
            off += n;
        }
        return off;
    }
    default: return 0;
    }
}

/* How many well-formed values fill [p, p + len) exactly, or -1. */
static inline int fuzz_values(const unsigned char *p, size_t len)
{
    int count = 0;
    for (size_t off = 0; off < len; count++) {
        size_t n = fuzz_value_len(p + off, len - off, 0);
        if (n == 0)
            return -1;
        off += n;
    }
    return count;
}

#endif
