/* libFuzzer harness: the upward stream of a control process. Bytes a child control
 * process sends up (frames, arbitrary or truncated) arrive on a real pipe in pieces
 * of varying size; the parent parses them, tags each frame with the child's pid and
 * passes it up another real pipe, splicing the rest of a large frame straight from
 * the child's pipe (the bulk path). What comes out is checked against a model: the
 * input's well-formed frames, in order, each with the child's pid in front; at the
 * first malformed frame the child is killed (kill is a checking fake here) and
 * nothing more of it is passed on; a reply passes only for a call the child has
 * pending (ids 1 to 8 here), once; a frame other than a reply that announces more
 * than a control process sends in one of its kind (alcove.h), or of a kind none sends
 * up, is malformed as soon as its first 6 bytes are in; a frame cut off by EOF during
 * a splice is padded with zeros to its announced length. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../alcove.h"
#include "check.h"

int alcove_fuzz_relay(struct alcove_state *ap, struct alcove_child *c);
int alcove_fuzz_call(const struct alcove_call_def *def, struct alcove_state *ap,
                     const struct alcove_arg *arg, struct alcove_reply *reply);

/* The build's dispatch runs calls through the call harness's fakes; none runs here. */
int alcove_fuzz_call(const struct alcove_call_def *def, struct alcove_state *ap,
                     const struct alcove_arg *arg, struct alcove_reply *reply)
{
    (void)def;
    (void)ap;
    (void)arg;
    (void)reply;
    CHECK(!"no call runs in the stream harness");
    return 0;
}

/* No real child: a pid no process has (above the kernel's pid_max limit of 2^22). */
#define CHILD_PID 0x7ffffff0
/* The calls the child has pending: ids 1 to NPENDING. */
#define NPENDING 8
static int child_killed;

/* The checking fake of kill(2), which the event loop's calls reach (this harness is linked
 * with --wrap=kill): only ever the child, only ever SIGKILL. */
int __wrap_kill(pid_t pid, int sig);
int __wrap_kill(pid_t pid, int sig)
{
    if (pid == CHILD_PID || pid == -CHILD_PID) {
        CHECK(sig == SIGKILL);
        child_killed = 1;
        return 0;
    }
    return (int)syscall(SYS_kill, pid, sig);
}

/* Whether a frame other than a reply announces no more than its kind carries at most. */
static int within_kind(unsigned type, unsigned depth, size_t flen)
{
    size_t hdr = ALCOVE_WIRE_HEADER + 4u * depth;
    size_t payload = 4 + flen > hdr ? 4 + flen - hdr : 0;
    if (type == ALCOVE_UP_STDOUT || type == ALCOVE_UP_STDERR)
        return payload <= ALCOVE_UP_OUTPUT_MAX;
    if (type == ALCOVE_UP_EVENT)
        return payload <= ALCOVE_UP_EVENT_MAX;
    return type == ALCOVE_UP_REPLY;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

struct bytes {
    unsigned char *data;
    size_t len, cap;
};

static void append(struct bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        CHECK(b->data != NULL);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void drain(int fd, struct bytes *got)
{
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        append(got, buf, (size_t)n);
}

/* What the parent must pass up for `in`, as far as the input's frames are whole.
 * *part is the input offset of a frame that EOF cuts short (SIZE_MAX: none), and
 * *malformed is set when the input has a frame the parent must refuse. */
static void model(const unsigned char *in, size_t len, struct bytes *want, size_t *part,
                  int *malformed)
{
    size_t off = 0;
    *part = SIZE_MAX;
    *malformed = 0;
    int answered[NPENDING + 1] = {0};
    while (len - off >= 4) {
        uint32_t flen = (uint32_t)fuzz_u32(in + off);
        if (flen < ALCOVE_WIRE_HEADER - 4 || flen > 0x7fffffffu) {
            *malformed = 1;
            return;
        }
        if (len - off >= 6 && !within_kind(in[off + 4], in[off + 5], flen)) {
            *malformed = 1;
            return;
        }
        if (len - off < 4 + (size_t)flen) {
            *part = off;
            return;
        }
        unsigned depth = in[off + 5];
        size_t hdr = ALCOVE_WIRE_HEADER + 4u * depth;
        if (hdr > 4 + (size_t)flen || depth >= 255) {
            *malformed = 1;
            return;
        }
        uint32_t id = (uint32_t)fuzz_u32(in + off + 8);
        if (in[off + 4] == ALCOVE_UP_REPLY) {
            int pending = id >= 1 && id <= NPENDING && !answered[id];
            if (pending)
                answered[id] = 1;
            else {
                off += 4 + (size_t)flen;
                continue;
            }
        }
        unsigned char h[ALCOVE_WIRE_HEADER + 4];
        put_u32(h, flen + 4);
        memcpy(h + 4, in + off + 4, 8);
        h[5] = (unsigned char)(depth + 1);
        put_u32(h + ALCOVE_WIRE_HEADER, CHILD_PID);
        append(want, h, sizeof(h));
        append(want, in + off + ALCOVE_WIRE_HEADER, 4 + (size_t)flen - ALCOVE_WIRE_HEADER);
        off += 4 + (size_t)flen;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* writes to a closed pipe fail with EPIPE instead */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* A frame that EOF cuts short during a splice goes up padded with zeros to its announced
     * length: output frames up to 1 MiB would make each run pass and check that much. Frames
     * up to twice the largest input (-max_len=65536) still take the bulk path (16 KiB and
     * more); larger ones of other kinds, and larger than any output frame, stay in: they are
     * refused before any of them goes up. */
    for (size_t off = 2; size - off >= 4;) {
        size_t flen = fuzz_u32(data + off);
        if (flen > 128u << 10 && size - off >= 6 &&
            (data[off + 4] == ALCOVE_UP_STDOUT || data[off + 4] == ALCOVE_UP_STDERR) &&
            within_kind(data[off + 4], data[off + 5], flen))
            return -1;
        if (flen < ALCOVE_WIRE_HEADER - 4 || size - off - 4 < flen)
            break;
        off += 4 + flen;
    }
    /* The first two bytes choose how the stream is cut into writes. */
    unsigned seed = (unsigned)(data[0] | data[1] << 8);
    const unsigned char *in = data + 2;
    size_t len = size - 2;

    int ctl[2], up[2];
    CHECK(pipe2(ctl, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK(pipe2(up, O_NONBLOCK | O_CLOEXEC) == 0);
    struct alcove_state st;
    alcove_state_init(&st, 1, -1, up[1]);
    struct alcove_child c;
    memset(&c, 0, sizeof(c));
    c.pid = CHILD_PID;
    c.ctl_in = ctl[0];
    c.ctl_out = c.in = c.out = c.err = -1;
    c.flowcontrol = -1;
    c.setup_fd = -1;
    c.pending = malloc(NPENDING * sizeof(*c.pending));
    CHECK(c.pending != NULL);
    for (uint32_t i = 0; i < NPENDING; i++)
        c.pending[i] = i + 1;
    c.npending = c.cappending = NPENDING;
    CHECK(alcove_child_add(&st, &c) == 0);
    child_killed = 0;

    struct bytes got = {0};
    size_t off = 0;
    while (off < len) {
        seed = seed * 1103515245u + 12345u;
        size_t piece = 1 + (seed >> 8) % ((seed & 1) ? 64 : 40000);
        if (piece > len - off)
            piece = len - off;
        ssize_t n = write(ctl[1], in + off, piece);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno == EPIPE)
            break; /* the parent stopped listening to the child */
        CHECK(alcove_fuzz_relay(&st, &st.child[0]) >= 0);
        drain(up[0], &got);
    }
    close(ctl[1]);
    for (int round = 0; round < 100000 && st.child[0].ctl_in >= 0; round++) {
        CHECK(alcove_fuzz_relay(&st, &st.child[0]) >= 0);
        drain(up[0], &got);
    }
    CHECK(st.child[0].ctl_in < 0); /* EOF was seen */
    for (int round = 0; round < 100000 && alcove_buf_pending(&st.up_wbuf) > 0; round++) {
        CHECK(alcove_fuzz_relay(&st, &st.child[0]) >= 0);
        drain(up[0], &got);
    }
    CHECK(alcove_buf_pending(&st.up_wbuf) == 0 && st.xfer_fd < 0);

    struct bytes want = {0};
    size_t part;
    int malformed;
    model(in, len, &want, &part, &malformed);
    /* The frames before a bad one, then nothing: the child is killed. */
    CHECK(child_killed == malformed);
    CHECK(got.len >= want.len && (want.len == 0 || memcmp(got.data, want.data, want.len) == 0));
    if (got.len > want.len) {
        /* Only a frame that EOF cut short during a splice: its header and pid, the bytes
         * that came, and zeros up to its announced length. */
        CHECK(!malformed && part != SIZE_MAX);
        const unsigned char *f = in + part, *g = got.data + want.len;
        size_t have = len - part, flen = fuzz_u32(f);
        CHECK(f[4] != ALCOVE_UP_REPLY && within_kind(f[4], f[5], flen));
        CHECK(got.len - want.len == flen + 8 && fuzz_u32(g) == flen + 4);
        CHECK(memcmp(g + 4, f + 4, 8) == 0 || (g[5] == f[5] + 1 && g[4] == f[4]));
        CHECK(fuzz_u32(g + ALCOVE_WIRE_HEADER) == CHILD_PID);
        CHECK(have >= ALCOVE_WIRE_HEADER);
        CHECK(memcmp(g + ALCOVE_WIRE_HEADER + 4, f + ALCOVE_WIRE_HEADER, have - ALCOVE_WIRE_HEADER) == 0);
        for (size_t i = ALCOVE_WIRE_HEADER + 4 + have - ALCOVE_WIRE_HEADER; i < flen + 8; i++)
            CHECK(g[i] == 0);
    }

    if (st.child[0].ctl_in >= 0)
        close(st.child[0].ctl_in);
    close(up[0]);
    close(up[1]);
    alcove_buf_free(&st.up_wbuf);
    alcove_buf_free(&st.up_rbuf);
    alcove_buf_free(&st.child[0].ctl_rbuf);
    free(st.child[0].pending);
    free(st.child);
    free(got.data);
    free(want.data);
    return 0;
}
