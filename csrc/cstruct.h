/* Struct arguments with pointers ("cstructs"): a list of segments laid out back to
 * back in memory of the process that runs the call, pointer segments pointing to
 * buffers of their own, and the contents of every segment read back afterwards.
 *
 * Also the arguments that take a number, bytes, a cstruct, null or (in the host
 * process only) a raw pointer: prctl's arg2..arg5, ioctl's arg, ptrace's addr and
 * data, seccomp's prog, connect's address. */
#ifndef ALCOVE_CSTRUCT_H
#define ALCOVE_CSTRUCT_H

#include "alcove.h"

/* Refused beyond these, here and by the host before sending (ffi/cstruct.ts). */
#define ALCOVE_CSTRUCT_MAX_SEGMENTS 64u
/* Inline bytes, pointer words and pointed-to bytes together. */
#define ALCOVE_CSTRUCT_MAX_BYTES (16u * 1024u * 1024u)

struct alcove_segment {
    unsigned kind;      /* ALCOVE_SEG_* as sent */
    size_t off;         /* offset in the laid-out struct */
    size_t n;           /* inline length, or length of the pointed-to buffer */
    unsigned char *ptr; /* pointer segments: their buffer, NULL when n is 0 */
};

struct alcove_cstruct {
    unsigned char *mem; /* the laid-out struct (never NULL once built) */
    size_t size;
    struct alcove_segment *seg;
    size_t count;
};

/* Every buffer the kernel may write into (the laid-out struct, each pointer
 * segment's buffer, a copy of bytes) has this many zeroed bytes after it: a
 * request without an encoded size (TCGETS, many ptrace requests) writes a struct
 * of its own size, whatever the caller passed. The read-back keeps the caller's
 * sizes. */
#define ALCOVE_KERNEL_SLACK 4096u

/* Lays out a CSTRUCT argument, with at least `room` bytes of memory at its address
 * (the size a request encodes, 0 if none). Returns 0, -ENOMEM, or -EINVAL with *why
 * set to a message (without the call's name). Free with alcove_cstruct_free either
 * way. */
int alcove_cstruct_build(const struct alcove_arg *a, size_t room, struct alcove_cstruct *cs,
                         const char **why);

/* Appends the read-back: a CSTRUCT value with the same segments, inline ones with
 * the struct's bytes, pointer ones (kind PTR) with their buffer's contents. */
int alcove_reply_cstruct(struct alcove_reply *r, const struct alcove_cstruct *cs);

void alcove_cstruct_free(struct alcove_cstruct *cs);

/* An argument passed to a system call as one machine word. */
struct alcove_ptrarg {
    int type;            /* ALCOVE_VAL_* of the argument */
    unsigned long value; /* the word: the number, or the address of the memory */
    size_t size;         /* bytes at `value` when it is a pointer */
    unsigned char *copy; /* BYTES: a writable, NUL-terminated copy */
    struct alcove_cstruct cs;
};

/* Whether the argument is a non-zero number: for an argument the kernel takes as an address,
 * one in the control process's own memory. */
static inline int alcove_ptrarg_is_address(const struct alcove_ptrarg *p)
{
    return p->type == ALCOVE_VAL_INT && p->value != 0;
}

/* Prepares the argument called `name` of `call` (both for messages); a pointer
 * gets at least `room` bytes (see alcove_cstruct_build). Returns 0, a negative
 * errno, or 1 after replying BADARG (the call then returns 0). Free with
 * alcove_ptrarg_free either way. */
int alcove_ptrarg_init(struct alcove_reply *r, const char *call, const char *name,
                       const struct alcove_arg *a, size_t room, struct alcove_ptrarg *p);

/* Appends the read-back: the number, the bytes or the cstruct after the call,
 * null for null, and for a raw pointer its address (the host reads it back). */
int alcove_reply_ptrarg(struct alcove_reply *r, const struct alcove_ptrarg *p);

void alcove_ptrarg_free(struct alcove_ptrarg *p);

#endif
