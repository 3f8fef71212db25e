/* The event loop of a control process: calls from the parent, frames and output
 * from the children, signals. Everything is non-blocking; frames to the parent
 * are collected in up_wbuf and written once per turn so that replies batch. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alcove.h"
#include "cgroup.h"
#include "compat.h"
#include "frame.h"
#include "sandbox.h"
#include "support.h"

#define READ_CHUNK 65536u
/* How much of what the host sent is read while earlier calls still wait to run (see
 * serve_down): enough for the channel to take the host's last write, so that a stop after
 * it shows (host_has_stopped) while hundreds of calls are still queued. */
#define READ_AHEAD (4 * READ_CHUNK)
/* Waits for the next call that paid off in a row, at most (see spin). */
#define SPIN_CREDIT_MAX 4

/* The wall clock in milliseconds, as the host's Date.now(): a call's deadline is
 * on it because, unlike the monotonic clock, no time namespace shifts it. */
static long long realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int alcove_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

rlim_t alcove_program_nofile = RLIM_INFINITY;
int alcove_inherited_fd[ALCOVE_MAX_INHERITED];
size_t alcove_ninherited;

long alcove_nofile_maxchild(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    rlim_t n = rl.rlim_cur == RLIM_INFINITY ? 4096 : rl.rlim_cur;
    if (n < 17)
        return 0;
    /* A control process holds 7 descriptors, each child 5, and a fork needs 5
     * more for a moment. */
    n = (n - 12) / 5;
    return n > ALCOVE_MAXCHILD_LIMIT ? ALCOVE_MAXCHILD_LIMIT : (long)n;
}

int alcove_default_maxchild(void)
{
    long n = alcove_nofile_maxchild();
    return n > ALCOVE_MAXCHILD_DEFAULT ? ALCOVE_MAXCHILD_DEFAULT : (int)n;
}

void alcove_state_init(struct alcove_state *ap, int depth, int up_in, int up_out)
{
    memset(ap, 0, sizeof(*ap));
    ap->depth = depth;
    ap->up_in = up_in;
    ap->up_out = up_out;
    ap->sigread = ap->sigwrite = -1;
    ap->up_building = SIZE_MAX;
    ap->xfer_fd = -1;
    ap->clear_refs_fd = -1;
    ap->opt.maxchild = alcove_default_maxchild();
    ap->opt.maxforkdepth = 16;
    ap->opt.exit_status = 1;
    ap->opt.termsig = 1;
    ap->opt.flowcontrol = -1;
    ap->opt.signaloneof = SIGTERM;
    ap->opt.spin = ALCOVE_SPIN_DEFAULT;
}

size_t alcove_children_in_setup(const struct alcove_state *ap)
{
    size_t n = 0;
    for (size_t i = 0; i < ap->nchild; i++)
        n += ap->child[i].setup_fd >= 0;
    return n;
}

struct alcove_child *alcove_child_find(struct alcove_state *ap, pid_t pid)
{
    for (size_t i = 0; i < ap->nchild; i++)
        if (ap->child[i].pid == pid)
            return &ap->child[i];
    return NULL;
}

int alcove_child_add(struct alcove_state *ap, const struct alcove_child *c)
{
    if (ap->nchild == ap->capchild) {
        size_t cap = ap->capchild ? ap->capchild * 2 : 8;
        struct alcove_child *p = realloc(ap->child, cap * sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        ap->child = p;
        ap->capchild = cap;
    }
    ap->child[ap->nchild++] = *c;
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void drop_shared_report(struct alcove_child *c)
{
    if (c->shared_report != NULL)
        munmap(c->shared_report, SB_SHARED_REPORT);
    c->shared_report = NULL;
}

static void child_free(struct alcove_child *c)
{
    close_fd(&c->ctl_in);
    close_fd(&c->ctl_out);
    close_fd(&c->in);
    close_fd(&c->out);
    close_fd(&c->err);
    close_fd(&c->setup_fd);
    drop_shared_report(c);
    alcove_buf_free(&c->setup_buf);
    alcove_buf_free(&c->ctl_rbuf);
    alcove_buf_free(&c->ctl_wbuf);
    alcove_buf_free(&c->in_wbuf);
    free(c->marks);
    free(c->pending);
    c->marks = NULL;
    c->pending = NULL;
    c->nmarks = c->npending = 0;
}

static int pending_add(struct alcove_child *c, uint32_t id)
{
    if (c->npending == c->cappending) {
        size_t cap = c->cappending ? c->cappending * 2 : 16;
        uint32_t *p = realloc(c->pending, cap * sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        c->pending = p;
        c->cappending = cap;
    }
    c->pending[c->npending++] = id;
    return 0;
}

/* Replies mostly come back in the order the calls went down: search from the front. */
static int pending_remove(struct alcove_child *c, uint32_t id)
{
    for (size_t i = 0; i < c->npending; i++) {
        if (c->pending[i] == id) {
            memmove(c->pending + i, c->pending + i + 1, (c->npending - i - 1) * sizeof(uint32_t));
            c->npending--;
            return 1;
        }
    }
    return 0;
}

static void reply_status(struct alcove_state *ap, uint32_t id, pid_t lead, uint16_t status)
{
    alcove_frame_simple(&ap->up_wbuf, ALCOVE_UP_REPLY, status, id, lead, 0, 0);
}

/* An errno reply with the C library's text, as a failed call's has it. */
static void reply_errno(struct alcove_state *ap, uint32_t id, int err)
{
    size_t start =
        alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_REPLY, ALCOVE_STATUS_ERRNO, id, 0, NULL, 0);
    if (start == (size_t)-1)
        return;
    struct alcove_reply r = {.out = &ap->up_wbuf};
    if (alcove_reply_errno(&r, err) < 0) {
        ap->up_wbuf.len = start;
        return;
    }
    alcove_frame_end(&ap->up_wbuf, start);
}

static void reply_message(struct alcove_state *ap, uint32_t id, uint16_t status, const char *msg)
{
    size_t start = alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_REPLY, status, id, 0, NULL, 0);
    if (start == (size_t)-1)
        return;
    struct alcove_reply r = {.out = &ap->up_wbuf};
    alcove_reply_bytes(&r, msg, strlen(msg));
    alcove_frame_end(&ap->up_wbuf, start);
}

static void event(struct alcove_state *ap, pid_t pid, uint16_t kind, int has_value, int64_t v)
{
    alcove_frame_simple(&ap->up_wbuf, ALCOVE_UP_EVENT, kind, 0, pid, has_value, v);
}

/* An in-process host takes the whole frames up to `end` instead of a channel. */
static void host_take(struct alcove_state *ap, size_t end)
{
    struct alcove_buf *b = &ap->up_wbuf;
    while (end - b->off >= 4) {
        size_t n = 4 + (size_t)alcove_get_u32(b->data + b->off);
        if (n > end - b->off)
            break;
        size_t at = b->off;
        b->off += n;
        ap->host(ap, b->data + at, n);
    }
    if (b->off == b->len)
        b->off = b->len = 0;
}

/* A spawned program's report pipe: EOF alone means it ran execve, a record means
 * a setup step failed. Either way the spawn call is answered now, before any of
 * the program's output or its exit goes up. */
static void setup_read(struct alcove_state *ap, struct alcove_child *c)
{
    while (c->setup_fd >= 0) {
        unsigned char *p = alcove_buf_reserve(&c->setup_buf, 4096);
        if (p == NULL)
            break;
        ssize_t n = read(c->setup_fd, p, 4096);
        if (n > 0 && c->setup_buf.len < 65536) {
            c->setup_buf.len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break;
    }
    close_fd(&c->setup_fd);
    /* A record its own filter kept from the pipe, left in the shared page. */
    const unsigned char *shared = NULL;
    size_t shared_len =
        c->setup_buf.len <= 1 ? alcove_shared_report(c->shared_report, &shared) : 0;
    if (shared_len > 0 && c->setup_buf.len == 1 &&
        alcove_buf_append(&c->setup_buf, shared, shared_len) < 0)
        shared_len = 0;
    drop_shared_report(c);
    /* The byte the control process wrote first, then a failed step's record if any. */
    if (c->setup_buf.len <= 1) {
        c->execed = 1;
        alcove_frame_simple(&ap->up_wbuf, ALCOVE_UP_REPLY, ALCOVE_STATUS_OK, c->spawn_id, 0, 1,
                            c->pid);
    } else {
        size_t start = alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_REPLY, ALCOVE_STATUS_SETUP,
                                          c->spawn_id, 0, NULL, 0);
        if (start != (size_t)-1) {
            struct alcove_reply r = {.out = &ap->up_wbuf};
            alcove_reply_bytes(&r, c->setup_buf.data + 1, c->setup_buf.len - 1);
            alcove_frame_end(&ap->up_wbuf, start);
        }
        /* It exits right after its report: reap it here, so that no process of a
         * failed spawn is left once the caller hears of it. */
        c->quiet = 1;
        int status;
        if (!c->dead && wait4(c->pid, &status, 0, &c->usage) == c->pid) {
            c->dead = 1;
            c->status = status;
        }
    }
    c->spawn_id = 0;
    alcove_buf_free(&c->setup_buf);
}

/* Ends a spawned program for exceeding a limit, once. */
static void limit_reached(struct alcove_child *c, int reason)
{
    if (c->reason != SB_REASON_NONE)
        return;
    c->reason = reason;
    if (c->dead)
        return; /* it ended first: its status still says that its output was cut */
    alcove_kill_tree(c->pid, SIGKILL);
    alcove_cg_kill(c->cg);
}

/* How much more output a spawned program may send up (SIZE_MAX: no limit). */
static size_t output_room(const struct alcove_child *c)
{
    if (!c->output_limited)
        return SIZE_MAX;
    return c->output >= c->max_output ? 0 : (size_t)(c->max_output - c->output);
}

/* Counts what went up. Reaching maxOutput is within it: the limit is crossed by the next
 * byte the program writes (see read_output). */
static void output_sent(struct alcove_child *c, size_t n)
{
    c->output += n;
}

enum { READ_CLOSED = 0, READ_DATA = 1, READ_AGAIN = 2 };

/* Bulk data is coming up this pipe: a bigger buffer means fewer wake-ups on both sides. */
static void grow_pipe(int fd, int *grown)
{
    if (*grown)
        return;
    *grown = 1;
    alcove_grow_pipe(fd, ALCOVE_PIPE_SIZE);
}

/* An output pipe at its end: closed, and its reader told where the options ask for it. A
 * spawned program's output ends where it closes it, which may be long before its exit (since
 * ABI 16): its reader is always told. */
static int output_closed(struct alcove_state *ap, struct alcove_child *c, int *fd, unsigned type)
{
    close_fd(fd);
    int spawned = c->spawned && !c->quiet;
    if (type == ALCOVE_UP_STDOUT && (ap->opt.stdout_closed || spawned))
        event(ap, c->pid, ALCOVE_EVENT_STDOUT_CLOSED, 0, 0);
    if (type == ALCOVE_UP_STDERR && (ap->opt.stderr_closed || spawned))
        event(ap, c->pid, ALCOVE_EVENT_STDERR_CLOSED, 0, 0);
    return READ_CLOSED;
}

/* Forward output of a child's stdout or stderr as data frames, read straight into
 * the upward buffer. On EOF or error the descriptor is closed. */
static int read_output(struct alcove_state *ap, struct alcove_child *c, int *fd, unsigned type,
                       int may_splice)
{
    if (*fd == ap->xfer_fd)
        return READ_AGAIN; /* its bytes belong to the splice in progress */
    if (c->setup_fd >= 0)
        setup_read(ap, c);
    size_t room = output_room(c);
    if (room == 0) {
        /* A byte past maxOutput ends the tree; what the program still writes goes nowhere. */
        unsigned char sink[4096];
        ssize_t n = read(*fd, sink, sizeof(sink));
        if (n > 0)
            limit_reached(c, SB_REASON_OUTPUT);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
            return n > 0 ? READ_DATA : READ_AGAIN;
        return output_closed(ap, c, fd, type);
    }
    size_t hdr = ALCOVE_WIRE_HEADER + 4;
    int avail = 0;
    if (may_splice && ioctl(*fd, FIONREAD, &avail) < 0)
        avail = 0;
    if (fd == &c->out && avail >= ALCOVE_PIPE_FULL)
        grow_pipe(*fd, &c->out_grown);
    if (ALCOVE_LINUX_CORE && ap->xfer_fd < 0 && ap->host == NULL &&
        (unsigned)avail >= ALCOVE_SPLICE_MIN) {
        /* Only this process reads the pipe: all `avail` bytes can be spliced. */
        size_t n = (unsigned)avail > ALCOVE_SPLICE_MAX ? ALCOVE_SPLICE_MAX : (size_t)avail;
        if (n > room)
            n = room;
        size_t start = alcove_frame_begin(&ap->up_wbuf, type, 0, 0, c->pid, NULL, 0);
        if (start == (size_t)-1)
            return READ_AGAIN;
        alcove_put_u32(ap->up_wbuf.data + start, (uint32_t)(hdr - 4 + n));
        ap->xfer_fd = *fd;
        ap->xfer_pid = c->pid;
        ap->xfer_at = ap->up_wbuf.len;
        ap->xfer_left = n;
        if (c->flowcontrol > 0)
            c->flowcontrol--;
        output_sent(c, n);
        return READ_DATA;
    }
    unsigned char *p = alcove_buf_reserve(&ap->up_wbuf, hdr + READ_CHUNK);
    if (p == NULL)
        return READ_AGAIN;
    ssize_t n = read(*fd, p + hdr, room < READ_CHUNK ? room : READ_CHUNK);
    if (n > 0) {
        size_t start = alcove_frame_begin(&ap->up_wbuf, type, 0, 0, c->pid, NULL, 0);
        ap->up_wbuf.len += (size_t)n;
        alcove_frame_end(&ap->up_wbuf, start);
        if (c->flowcontrol > 0)
            c->flowcontrol--;
        output_sent(c, (size_t)n);
        return READ_DATA;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return READ_AGAIN;
    return output_closed(ap, c, fd, type);
}

/* Closes the output pipes the host no longer wants (ALCOVE_DOWN_CLOSE_OUTPUT), each once
 * no splice reads from it: a frame being spliced keeps its announced length. */
static void close_output(struct alcove_state *ap, struct alcove_child *c)
{
    if ((c->output_closing & 1) && c->out != ap->xfer_fd) {
        close_fd(&c->out);
        c->output_closing &= ~1;
    }
    if ((c->output_closing & 2) && c->err != ap->xfer_fd) {
        close_fd(&c->err);
        c->output_closing &= ~2;
    }
}

static void ctl_closed(struct alcove_state *ap, struct alcove_child *c)
{
    close_fd(&c->ctl_in);
    close_fd(&c->ctl_out);
    alcove_buf_free(&c->ctl_wbuf);
    alcove_buf_free(&c->ctl_rbuf);
    if (c->exec_id == 0)
        return; /* exiting: pending calls are answered when it is reaped */
    /* The control channel is close-on-exec: EOF without an error reply to the exec
     * call means the exec succeeded. Calls queued behind it have no one to answer. */
    c->execed = 1;
    if (!c->spawned)
        c->started_ns = alcove_monotonic_ns(); /* a program's wall time starts at its exec */
    pending_remove(c, c->exec_id);
    reply_status(ap, c->exec_id, c->pid, ALCOVE_STATUS_OK);
    c->exec_id = 0;
    for (size_t i = 0; i < c->npending; i++)
        reply_status(ap, c->pending[i], c->pid, ALCOVE_STATUS_NOTCONTROL);
    c->npending = 0;
}

/* Whether a frame of this kind and announced length could come from a control
 * process: see ALCOVE_UP_OUTPUT_MAX. `len` counts the bytes after the length field. */
static int up_frame_plausible(unsigned type, unsigned depth, uint32_t len)
{
    size_t hdr = ALCOVE_WIRE_HEADER + 4u * depth;
    size_t payload = 4 + (size_t)len > hdr ? 4 + (size_t)len - hdr : 0;
    switch (type) {
    case ALCOVE_UP_REPLY: return 1;
    case ALCOVE_UP_STDOUT:
    case ALCOVE_UP_STDERR: return payload <= ALCOVE_UP_OUTPUT_MAX;
    case ALCOVE_UP_EVENT: return payload <= ALCOVE_UP_EVENT_MAX;
    default: return 0;
    }
}

/* Frames from a child's control channel: tag them with its pid and pass them up. */
static void forward_up(struct alcove_state *ap, struct alcove_child *c)
{
    struct alcove_buf *b = &c->ctl_rbuf;
    while (alcove_buf_pending(b) >= 4) {
        unsigned char *f = alcove_buf_head(b);
        uint32_t len = alcove_get_u32(f);
        if (len < ALCOVE_WIRE_HEADER - 4 || len > 0x7fffffffu ||
            (alcove_buf_pending(b) >= 6 && !up_frame_plausible(f[4], f[5], len))) {
            /* A corrupt child: stop listening to it; it is killed and reaped. Judged
             * from the frame's first 6 bytes, before any byte of it goes up. */
            kill(c->pid, SIGKILL);
            ctl_closed(ap, c);
            return;
        }
        if (alcove_buf_pending(b) < 6)
            return; /* its kind and depth are still to come */
        unsigned type = f[4], depth = f[5];
        if (alcove_buf_pending(b) < 4 + (size_t)len) {
            size_t hdr0 = ALCOVE_WIRE_HEADER + 4u * depth;
            size_t have = alcove_buf_pending(b);
            if (!ALCOVE_LINUX_CORE || ap->host != NULL || ap->xfer_fd >= 0 || ap->draining ||
                have < hdr0 ||
                4 + (size_t)len - have < ALCOVE_SPLICE_MIN ||
                depth >= 255 || type == ALCOVE_UP_REPLY)
                return;
            /* A large frame still arriving: pass on its header and what is here,
             * then splice the rest straight from the child's pipe. */
            grow_pipe(c->ctl_in, &c->ctl_grown);
            size_t start = alcove_frame_begin(&ap->up_wbuf, type, alcove_get_u16(f + 6),
                                              alcove_get_u32(f + 8), c->pid,
                                              f + ALCOVE_WIRE_HEADER, depth);
            if (start == (size_t)-1 || alcove_buf_append(&ap->up_wbuf, f + hdr0, have - hdr0) < 0)
                return;
            alcove_put_u32(ap->up_wbuf.data + start, len + 4);
            ap->xfer_fd = c->ctl_in;
            ap->xfer_pid = c->pid;
            ap->xfer_at = ap->up_wbuf.len;
            ap->xfer_left = 4 + (size_t)len - have;
            alcove_buf_consume(b, have);
            return;
        }
        uint16_t code = alcove_get_u16(f + 6);
        uint32_t id = alcove_get_u32(f + 8);
        size_t hdr = ALCOVE_WIRE_HEADER + 4u * depth;
        if (hdr > 4 + (size_t)len || depth >= 255) {
            kill(c->pid, SIGKILL);
            ctl_closed(ap, c);
            return;
        }
        /* A reply passes only for a call that went to this child or through it: a
         * process cannot answer a call sent to another. */
        if (type == ALCOVE_UP_REPLY && !pending_remove(c, id)) {
            alcove_buf_consume(b, 4 + (size_t)len);
            continue;
        }
        if (type == ALCOVE_UP_REPLY) {
            if (id == c->exec_id && depth == 0)
                c->exec_id = 0; /* the exec failed and said why */
        }
        size_t start =
            alcove_frame_begin(&ap->up_wbuf, type, code, id, c->pid, f + ALCOVE_WIRE_HEADER, depth);
        if (start != (size_t)-1) {
            if (alcove_buf_append(&ap->up_wbuf, f + hdr, 4 + (size_t)len - hdr) == 0)
                alcove_frame_end(&ap->up_wbuf, start);
            else
                ap->up_wbuf.len = start;
        }
        alcove_buf_consume(b, 4 + (size_t)len);
    }
}

static int read_ctl(struct alcove_state *ap, struct alcove_child *c)
{
    if (c->ctl_in == ap->xfer_fd)
        return READ_AGAIN; /* its bytes belong to the splice in progress */
    alcove_buf_compact(&c->ctl_rbuf);
    unsigned char *p = alcove_buf_reserve(&c->ctl_rbuf, READ_CHUNK);
    if (p == NULL)
        return READ_AGAIN;
    ssize_t n = read(c->ctl_in, p, READ_CHUNK);
    if (n > 0) {
        c->ctl_rbuf.len += (size_t)n;
        forward_up(ap, c);
        return READ_DATA;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return READ_AGAIN;
    ctl_closed(ap, c);
    return READ_CLOSED;
}

static void write_stdin(struct alcove_state *ap, struct alcove_child *c)
{
    struct alcove_buf *b = &c->in_wbuf;
    while (c->in >= 0 && alcove_buf_pending(b) > 0) {
        ssize_t n = write(c->in, alcove_buf_head(b), alcove_buf_pending(b));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n < 0) {
            int err = errno;
            /* Nothing more can be written: every waiting request fails. */
            for (size_t i = 0; i < c->nmarks; i++)
                reply_errno(ap, c->marks[i].id, err);
            c->nmarks = 0;
            alcove_buf_free(b);
            close_fd(&c->in);
            if (ap->opt.stdin_closed)
                event(ap, c->pid, ALCOVE_EVENT_STDIN_CLOSED, 0, 0);
            return;
        }
        alcove_buf_consume(b, (size_t)n);
        c->in_written += (uint64_t)n;
    }
    /* A request is answered once its last byte is in the pipe: that is the
     * backpressure the host waits on. */
    size_t k = 0;
    while (k < c->nmarks && c->marks[k].end <= c->in_written)
        reply_status(ap, c->marks[k++].id, 0, ALCOVE_STATUS_OK);
    if (k > 0) {
        memmove(c->marks, c->marks + k, (c->nmarks - k) * sizeof(*c->marks));
        c->nmarks -= k;
    }
    if (alcove_buf_pending(b) == 0 && c->stdin_eof)
        close_fd(&c->in);
}

/* The writer gave up (an aborted stream): what it queued and the program has not read
 * is dropped, its requests fail with ECANCELED, and the program reads EOF now. */
static void stdin_discard(struct alcove_state *ap, struct alcove_child *c)
{
    for (size_t i = 0; i < c->nmarks; i++)
        reply_errno(ap, c->marks[i].id, ECANCELED);
    c->nmarks = 0;
    alcove_buf_free(&c->in_wbuf);
    close_fd(&c->in);
}

static int stdin_queue(struct alcove_state *ap, struct alcove_child *c, uint32_t id,
                       const unsigned char *p, size_t n)
{
    if (c->in < 0 || c->stdin_eof) {
        reply_errno(ap, id, EPIPE);
        return 0;
    }
    if (c->nmarks == c->capmarks) {
        size_t cap = c->capmarks ? c->capmarks * 2 : 8;
        struct alcove_stdin_mark *m = realloc(c->marks, cap * sizeof(*m));
        if (m == NULL)
            return -ENOMEM;
        c->marks = m;
        c->capmarks = cap;
    }
    if (alcove_buf_append(&c->in_wbuf, p, n) < 0)
        return -ENOMEM;
    c->in_queued += n;
    c->marks[c->nmarks].id = id;
    c->marks[c->nmarks].end = c->in_queued;
    c->nmarks++;
    write_stdin(ap, c);
    return 0;
}

static void usage_event(struct alcove_state *ap, const struct alcove_child *c)
{
    size_t start =
        alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_EVENT, ALCOVE_EVENT_USAGE, 0, c->pid, NULL, 0);
    if (start == (size_t)-1)
        return;
    struct alcove_reply r = {.out = &ap->up_wbuf};
    alcove_reply_int(&r, c->reason);
    alcove_reply_int(&r, (int64_t)c->usage.ru_utime.tv_sec * 1000000 + c->usage.ru_utime.tv_usec);
    alcove_reply_int(&r, (int64_t)c->usage.ru_stime.tv_sec * 1000000 + c->usage.ru_stime.tv_usec);
    alcove_reply_int(&r, c->usage.ru_maxrss);
    alcove_reply_int(&r, (alcove_monotonic_ns() - c->started_ns) / 1000);
    /* From its cgroups when it had some (-1: not known). */
    const struct alcove_cg_usage *u = &c->cg_usage;
    alcove_reply_int(&r, c->has_cg_usage);
    alcove_reply_int(&r, c->has_cg_usage ? u->memory_peak : -1);
    alcove_reply_int(&r, c->has_cg_usage ? u->cpu_usec : -1);
    alcove_reply_int(&r, c->has_cg_usage ? u->pids_peak : -1);
    alcove_reply_int(&r, c->has_cg_usage ? u->oom_kills : -1);
    alcove_frame_end(&ap->up_wbuf, start);
}

static void child_died(struct alcove_state *ap, struct alcove_child *c)
{
    /* Everything it wrote is already in its pipes: pass it up before the exit,
     * copying (a splice would leave bytes behind when the pipes close). */
    if (c->setup_fd >= 0)
        setup_read(ap, c);
    ap->draining = 1;
    while (c->ctl_in >= 0 && read_ctl(ap, c) == READ_DATA)
        ;
    if (c->ctl_in >= 0)
        ctl_closed(ap, c);
    while (c->out >= 0 && read_output(ap, c, &c->out, ALCOVE_UP_STDOUT, 0) == READ_DATA)
        ;
    while (c->err >= 0 && read_output(ap, c, &c->err, ALCOVE_UP_STDERR, 0) == READ_DATA)
        ;
    ap->draining = 0;
    int kind, value;
    if (WIFSIGNALED(c->status)) {
        kind = ALCOVE_EVENT_TERMSIG;
        value = WTERMSIG(c->status);
        /* Killed once its time was up: by the timeout, if not by this process (a spawned
         * child does it itself when its budget ran out before its exec). */
        if (value == SIGKILL && c->reason == SB_REASON_NONE && c->deadline_ns != 0 &&
            alcove_monotonic_ns() >= c->deadline_ns)
            c->reason = SB_REASON_TIMEOUT;
        /* A filter's kill, most likely (a kill(2) of SIGSYS looks the same). A spawned
         * program without a filter that this process knows of got a signal like any
         * other; a forked child may have installed one itself. */
        if (value == SIGSYS && c->reason == SB_REASON_NONE && (c->filtered || !c->spawned))
            c->reason = SB_REASON_SECCOMP;
    } else {
        kind = ALCOVE_EVENT_EXIT;
        value = WEXITSTATUS(c->status);
    }
    for (size_t i = 0; i < c->npending; i++) {
        size_t start = alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_REPLY, ALCOVE_STATUS_DIED,
                                          c->pending[i], c->pid, NULL, 0);
        if (start == (size_t)-1)
            continue;
        struct alcove_reply r = {.out = &ap->up_wbuf};
        alcove_reply_int(&r, kind);
        alcove_reply_int(&r, value);
        alcove_frame_end(&ap->up_wbuf, start);
    }
    for (size_t i = 0; i < c->nmarks; i++)
        reply_errno(ap, c->marks[i].id, EPIPE);
    c->npending = c->nmarks = 0;
    if (c->cg != NULL) {
        /* What it left behind goes with it; then the figures, and the cgroups go. */
        alcove_cg_finish(c->cg, &c->cg_usage,
                         kind == ALCOVE_EVENT_TERMSIG && value == SIGKILL &&
                             c->reason == SB_REASON_NONE);
        c->cg = NULL;
        c->has_cg_usage = 1;
        /* The memory controller killed it, or killed a process of its cgroup and it then
         * failed: a shell whose command was killed exits 137, the run failed all the same.
         * A program that survives the kill of one of its children and succeeds has no
         * reason to change (the kill is still counted). */
        if (c->cg_usage.oom_kills > 0 && c->reason == SB_REASON_NONE &&
            !(kind == ALCOVE_EVENT_EXIT && value == 0))
            c->reason = SB_REASON_OOM;
    }
    /* A control process that ended (a Task's end is a SIGKILL) may have left the cgroups of
     * what it spawned: they go now, not at the next start. Only its own, by the pid in their
     * name: where /proc numbers processes otherwise than this process, none (the next start
     * judges them). */
    if (!c->spawned && !c->execed && ALCOVE_LINUX_CORE) {
        struct alcove_proc_view view = alcove_proc_view();
        if (view.level == 0)
            alcove_cg_remove_stale_of(c->pid);
    }
    if ((c->spawned || c->report_usage) && !c->quiet)
        usage_event(ap, c);
    if (!c->quiet && ((kind == ALCOVE_EVENT_EXIT && ap->opt.exit_status) ||
                      (kind == ALCOVE_EVENT_TERMSIG && ap->opt.termsig)))
        event(ap, c->pid, (uint16_t)kind, 1, value);
    child_free(c);
    c->dead = 2; /* removed at the end of this turn */
}


/* Only marks the child: its remaining output and its exit are reported by the
 * loop between calls, never in the middle of a reply being built (waitpid). */
void alcove_child_reaped(struct alcove_state *ap, pid_t pid, int status)
{
    struct alcove_child *c = alcove_child_find(ap, pid);
    if (c == NULL || c->dead)
        return;
    c->dead = 1;
    c->status = status;
    /* What a spawned program left in its process group (a background job) ends with it,
     * as at its limits: nothing could reach it any more, and it would hold what it holds
     * (the uid's RLIMIT_NPROC, say) until the driver stops. The number still names the
     * group while the group has a member (the kernel keeps it for the group); with none,
     * the signal finds no one. */
    if (c->spawned && c->own_group)
        kill(-pid, SIGKILL);
}

static void reap(struct alcove_state *ap)
{
    for (;;) {
        int status;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, WNOHANG, &ru);
        if (pid <= 0)
            return;
        struct alcove_child *c = alcove_child_find(ap, pid);
        if (c != NULL && !c->dead)
            c->usage = ru;
        alcove_child_reaped(ap, pid, status);
    }
}

/* Wall-clock limits of spawned programs: end those past theirs, and return the
 * milliseconds until the next one (-1: none). */
static int check_deadlines(struct alcove_state *ap)
{
    long long now = 0, next = -1;
    for (size_t i = 0; i < ap->nchild; i++) {
        struct alcove_child *c = &ap->child[i];
        if (c->deadline_ns == 0 || c->dead || c->reason != SB_REASON_NONE)
            continue;
        if (now == 0)
            now = alcove_monotonic_ns();
        if (now >= c->deadline_ns) {
            limit_reached(c, SB_REASON_TIMEOUT);
            continue;
        }
        long long ms = (c->deadline_ns - now + 999999) / 1000000;
        if (next < 0 || ms < next)
            next = ms;
    }
    return next > 0x7fffffff ? 0x7fffffff : (int)next;
}

static void handle_signals(struct alcove_state *ap)
{
    siginfo_t si;
    int chld = 0;
    alcove_signal_waiting = 0;
    for (;;) {
        ssize_t n = read(ap->sigread, &si, sizeof(si));
        if (n != (ssize_t)sizeof(si))
            break;
        int sig = si.si_signo;
        if (sig <= 0 || sig > 64)
            continue;
        if (sig == SIGCHLD && alcove_reaps(ap)) {
            chld = 1;
            continue;
        }
        if (ap->sigmode[sig] != ALCOVE_SIG_INFO)
            continue;
        size_t start = alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_EVENT, ALCOVE_EVENT_SIGNAL, 0,
                                          0, NULL, 0);
        if (start == (size_t)-1)
            continue;
        struct alcove_reply r = {.out = &ap->up_wbuf};
        alcove_reply_int(&r, sig);
        alcove_reply_bytes(&r, &si, sizeof(si));
        alcove_frame_end(&ap->up_wbuf, start);
    }
    if (chld || alcove_reaps(ap))
        reap(ap);
}

/* A frame from the parent: run it here or pass it to the child it names. */
static void handle_down(struct alcove_state *ap, const unsigned char *f, size_t flen)
{
    unsigned type = f[4], depth = f[5];
    uint16_t code = alcove_get_u16(f + 6);
    uint32_t id = alcove_get_u32(f + 8);
    size_t hdr = ALCOVE_WIRE_HEADER + 4u * depth;
    if (hdr > flen) {
        reply_message(ap, id, ALCOVE_STATUS_BADARG, "Malformed frame: pipeline longer than frame");
        return;
    }
    const unsigned char *payload = f + hdr;
    size_t plen = flen - hdr;

    if (depth == 0) {
        if (type != ALCOVE_DOWN_CALL && type != ALCOVE_DOWN_CALL_BY) {
            reply_message(ap, id, ALCOVE_STATUS_BADARG,
                          "Standard input and output belong to a child: the pipeline is empty");
            return;
        }
        if (type == ALCOVE_DOWN_CALL_BY) {
            if (plen < 8) {
                reply_message(ap, id, ALCOVE_STATUS_BADARG, "Malformed frame: no deadline");
                return;
            }
            /* The caller gave up on it while it waited in a queue (a stopped or busy
             * process): it does not run. The answer only clears the queues' books. The
             * deadline's own millisecond counts as past: the host gives up once its
             * clock reads the deadline, and its clock, as this one, counts whole
             * milliseconds. */
            if (realtime_ms() >= (long long)alcove_get_u64(payload)) {
                reply_errno(ap, id, ETIMEDOUT);
                return;
            }
            payload += 8;
            plen -= 8;
        }
        size_t start = alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_REPLY, 0, id, 0, NULL, 0);
        if (start == (size_t)-1)
            return;
        struct alcove_reply r = {.out = &ap->up_wbuf, .id = id};
        ap->up_building = start;
        alcove_dispatch(ap, code, payload, plen, &r);
        ap->up_building = SIZE_MAX;
        if (r.deferred && r.status == ALCOVE_STATUS_OK) {
            ap->up_wbuf.len = start; /* it answers by itself later */
            return;
        }
        if (r.error != NULL) {
            int status = r.status; /* alcove_reply_bytes marks a reply OK */
            ap->up_wbuf.len = start + ALCOVE_WIRE_HEADER;
            alcove_reply_bytes(&r, r.error, strlen(r.error));
            r.status = status;
        }
        if (r.status == ALCOVE_STATUS_FILTERED)
            ap->up_wbuf.len = start + ALCOVE_WIRE_HEADER;
        alcove_frame_set_code(&ap->up_wbuf, start, (uint16_t)r.status);
        alcove_frame_end(&ap->up_wbuf, start);
        return;
    }

    pid_t pid = (pid_t)alcove_get_u32(f + ALCOVE_WIRE_HEADER);
    struct alcove_child *c = alcove_child_find(ap, pid);
    if (c == NULL || c->dead) {
        reply_status(ap, id, 0, ALCOVE_STATUS_NOTCHILD);
        return;
    }
    if (depth == 1 && type == ALCOVE_DOWN_STDIN) {
        if (stdin_queue(ap, c, id, payload, plen) < 0)
            reply_errno(ap, id, ENOMEM);
        return;
    }
    if (depth == 1 && type == ALCOVE_DOWN_CLOSE_OUTPUT) {
        if (code == 1 || code == 2)
            c->output_closing |= code; /* closed before the next poll (close_output) */
        reply_status(ap, id, 0, ALCOVE_STATUS_OK);
        return;
    }
    if (depth == 1 && type == ALCOVE_DOWN_EOF) {
        c->stdin_eof = 1;
        if (code == ALCOVE_EOF_DISCARD)
            stdin_discard(ap, c);
        else if (alcove_buf_pending(&c->in_wbuf) == 0)
            close_fd(&c->in);
        reply_status(ap, id, 0, ALCOVE_STATUS_OK);
        return;
    }
    if (c->ctl_out < 0) {
        /* Exec'd: a program, tagged with its pid. Ended, not yet reaped: no longer a child,
         * untagged, as for a pid that is none (the host names the pid after the tags). */
        if (c->execed)
            reply_status(ap, id, c->pid, ALCOVE_STATUS_NOTCONTROL);
        else
            reply_status(ap, id, 0, ALCOVE_STATUS_NOTCHILD);
        return;
    }
    /* A child that does not read its calls (stopped, or busy in a long call) would
     * make this process buffer without bound: past a high-water mark, while it has
     * taken nothing for a while, further calls to it or through it fail at once with
     * ENOBUFS (the caller may retry once it drains); everything else keeps flowing.
     * A child that is reading is refused only past the hard limit, which also bounds
     * what a fast host can queue before the child counts as stalled. (Its stdin needs
     * no such limit: the host keeps a small window of it in flight per process.) */
    size_t queued = alcove_buf_pending(&c->ctl_wbuf);
    if (queued == 0)
        c->ctl_taken_ns = alcove_monotonic_ns();
    else if (queued + plen > ALCOVE_DOWN_LIMIT ||
             (queued > ALCOVE_DOWN_HIGH_WATER &&
              alcove_monotonic_ns() - c->ctl_taken_ns > ALCOVE_DOWN_STALL_MS * 1000000LL)) {
        reply_errno(ap, id, ENOBUFS);
        return;
    }
    /* Pass it on with the first pid stripped. */
    size_t start = alcove_frame_begin(&c->ctl_wbuf, type, code, id, 0,
                                      f + ALCOVE_WIRE_HEADER + 4, depth - 1);
    if (start == (size_t)-1 || alcove_buf_append(&c->ctl_wbuf, payload, plen) < 0 ||
        pending_add(c, id) < 0) {
        if (start != (size_t)-1)
            c->ctl_wbuf.len = start;
        reply_errno(ap, id, ENOMEM);
        return;
    }
    alcove_frame_end(&c->ctl_wbuf, start);
    if (depth == 1 && (type == ALCOVE_DOWN_CALL || type == ALCOVE_DOWN_CALL_BY) &&
        code < alcove_ncalls &&
        (alcove_calls[code].flags & ALCOVE_CALLF_EXEC))
        c->exec_id = id;
}

int alcove_host_call(struct alcove_state *ap, uint16_t call, uint32_t id, const void *payload,
                     size_t len)
{
    struct alcove_buf f = {0};
    size_t start = alcove_frame_begin(&f, ALCOVE_DOWN_CALL, call, id, 0, NULL, 0);
    if (start == (size_t)-1 || alcove_buf_append(&f, payload, len) < 0) {
        alcove_buf_free(&f);
        return -ENOMEM;
    }
    alcove_frame_end(&f, start);
    handle_down(ap, f.data + start, f.len - start);
    alcove_buf_free(&f);
    host_take(ap, ap->up_wbuf.len);
    return 0;
}

/* A call came down: if it came soon after this process last sent something up,
 * waiting for it awake would have paid off. */
static void spin_learn(struct alcove_state *ap)
{
    if (ap->sent_up_ns != 0 && ap->spin_credit == 0 &&
        alcove_monotonic_ns() - ap->sent_up_ns <= (long long)ap->opt.spin * 1000)
        ap->spin_credit = 1;
    ap->sent_up_ns = 0;
}

/* A frame from the parent that does not fit in this process's memory: its call
 * fails with ENOMEM and the rest of its bytes are read and dropped as they come,
 * instead of waiting for room that may never come (with the channel still
 * readable, the loop would spin). Without even a header to answer to, the channel
 * cannot be followed any more: the process shuts down. */
static void refuse_down(struct alcove_state *ap)
{
    struct alcove_buf *b = &ap->up_rbuf;
    size_t have = alcove_buf_pending(b);
    if (have < ALCOVE_WIRE_HEADER) {
        ap->up_eof = 1;
        return;
    }
    const unsigned char *f = alcove_buf_head(b);
    uint32_t id = alcove_get_u32(f + 8);
    ap->up_skip = 4 + (size_t)alcove_get_u32(f) - have;
    alcove_buf_free(b);
    reply_errno(ap, id, ENOMEM);
}

static void skip_down(struct alcove_state *ap)
{
    static unsigned char sink[READ_CHUNK];
    ssize_t n = read(ap->up_in, sink, ap->up_skip < sizeof(sink) ? ap->up_skip : sizeof(sink));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        ap->up_eof = 1;
    else if (n > 0)
        ap->up_skip -= (size_t)n;
}

/* How long the calls of one read may run before the loop's other work has its turn. */
#define SERVE_BUDGET_NS (2 * 1000000LL)

static void serve_down(struct alcove_state *ap);

static void read_up(struct alcove_state *ap)
{
    if (ap->up_skip > 0) {
        skip_down(ap);
        return;
    }
    alcove_buf_compact(&ap->up_rbuf);
    unsigned char *p = alcove_buf_reserve(&ap->up_rbuf, READ_CHUNK);
    if (p == NULL) {
        refuse_down(ap);
        return;
    }
    ssize_t n = read(ap->up_in, p, READ_CHUNK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ap->up_eof = 1;
        return;
    }
    if (n < 0)
        return;
    spin_learn(ap);
    ap->up_rbuf.len += (size_t)n;
    if (!ap->down_backlog)
        serve_down(ap); /* else at the end of this turn, after the calls queued before */
}

/* Runs the calls read from the host, in order, for SERVE_BUDGET_NS at most: what is left
 * waits in up_rbuf (down_backlog) while the loop takes its turn (the replies so far go up,
 * deadlines and limits are checked, output and exits are read), and no more than READ_AHEAD
 * is read from the host until it has run. Else a burst of spawns (a few ms each) held every
 * reply and every time limit for as long as the whole burst took. */
static void serve_down(struct alcove_state *ap)
{
    struct alcove_buf *b = &ap->up_rbuf;
    long long until = alcove_monotonic_ns() + SERVE_BUDGET_NS;
    ap->down_backlog = 0;
    while (alcove_buf_pending(b) >= 4) {
        unsigned char *f = alcove_buf_head(b);
        uint32_t len = alcove_get_u32(f);
        if (len < ALCOVE_WIRE_HEADER - 4 || len > ALCOVE_MAX_REQUEST) {
            /* The stream has lost framing: nothing after this can be trusted. */
            ap->up_eof = 1;
            return;
        }
        if (alcove_buf_pending(b) < 4 + (size_t)len) {
            /* Room for the whole frame now, or its call fails at once. */
            if (alcove_buf_pending(b) >= ALCOVE_WIRE_HEADER &&
                alcove_buf_reserve(b, 4 + (size_t)len - alcove_buf_pending(b)) == NULL)
                refuse_down(ap);
            break;
        }
        ap->down_queued = alcove_buf_pending(b) - (4 + (size_t)len);
        handle_down(ap, f, 4 + (size_t)len);
        /* A forked child returns from handle_down only in the parent. */
        ap->down_queued = 0;
        alcove_buf_consume(b, 4 + (size_t)len);
        if (alcove_buf_pending(b) >= 4 && alcove_monotonic_ns() >= until) {
            ap->down_backlog = 1;
            return;
        }
    }
    alcove_buf_shrink(b);
}

static void flush_fd(int fd, struct alcove_buf *b, int *broken)
{
    while (alcove_buf_pending(b) > 0) {
        ssize_t n = write(fd, alcove_buf_head(b), alcove_buf_pending(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            *broken = 1;
            alcove_buf_free(b);
            return;
        }
        alcove_buf_consume(b, (size_t)n);
    }
}

/* Calls going down to a child: the child took some, or had nothing waiting. */
static void flush_calls(struct alcove_child *c, int *broken)
{
    size_t before = alcove_buf_pending(&c->ctl_wbuf);
    flush_fd(c->ctl_out, &c->ctl_wbuf, broken);
    if (alcove_buf_pending(&c->ctl_wbuf) < before)
        c->ctl_taken_ns = alcove_monotonic_ns();
}


/* The bytes a splice could not move (the child's pipe ended mid-frame) go up as
 * zeros, so the frame keeps its announced length: written from a static block,
 * never allocated, since a frame may announce far more than this process has room
 * for. */
static ssize_t xfer_zeros(struct alcove_state *ap)
{
    static const unsigned char zeros[READ_CHUNK];
    return write(ap->up_out, zeros, ap->xfer_left < sizeof(zeros) ? ap->xfer_left : sizeof(zeros));
}

static void xfer_done(struct alcove_state *ap)
{
    ap->xfer_fd = -1;
    ap->xfer_zeros = 0;
    ap->xfer_left = 0;
}

/* Write up_wbuf and any splice in progress, in order, as far as the pipe takes. */
static void flush_up(struct alcove_state *ap, int *broken)
{
    struct alcove_buf *b = &ap->up_wbuf;
    if (ap->host != NULL) {
        host_take(ap, b->len);
        return;
    }
    for (;;) {
        size_t end = ap->xfer_fd >= 0 ? ap->xfer_at : b->len;
        while (b->off < end) {
            ssize_t n = write(ap->up_out, b->data + b->off, end - b->off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                return;
            if (n <= 0) {
                *broken = 1;
                return;
            }
            b->off += (size_t)n;
            ap->sent_up_ns = alcove_monotonic_ns();
        }
        if (ap->xfer_fd < 0) {
            if (b->off == b->len)
                b->off = b->len = 0;
            return;
        }
        ssize_t n;
        if (ap->xfer_zeros)
            n = xfer_zeros(ap);
        else {
#if ALCOVE_LINUX_CORE
            n = splice(ap->xfer_fd, NULL, ap->up_out, NULL, ap->xfer_left,
                       SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
#else
            n = -1; /* never reached: without splice, nothing starts a transfer */
            errno = ENOSYS;
#endif
        }
        if (n > 0) {
            ap->xfer_left -= (size_t)n;
            if (ap->xfer_left == 0)
                xfer_done(ap);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (ap->xfer_zeros || (n < 0 && errno == EPIPE)) {
            *broken = 1;
            return;
        }
        ap->xfer_zeros = 1;
    }
}

static void compact_up(struct alcove_state *ap)
{
    size_t off = ap->up_wbuf.off;
    alcove_buf_compact(&ap->up_wbuf);
    if (ap->xfer_fd >= 0 && ap->up_wbuf.off == 0)
        ap->xfer_at -= off;
    if (ap->xfer_fd < 0)
        alcove_buf_shrink(&ap->up_wbuf);
}

void alcove_flush_blocking(struct alcove_state *ap)
{
    struct alcove_buf *b = &ap->up_wbuf;
    /* Only whole frames: not the reply of the call that is flushing. */
    size_t end = ap->up_building != SIZE_MAX ? ap->up_building : b->len;
    if (ap->host != NULL) {
        host_take(ap, end);
        return;
    }
    if (ap->xfer_fd >= 0 && ap->xfer_at < end)
        end = ap->xfer_at;
    while (b->off < end) {
        ssize_t n = write(ap->up_out, b->data + b->off, end - b->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = ap->up_out, .events = POLLOUT};
            if (poll(&pfd, 1, 1000) <= 0)
                return;
            continue;
        }
        if (n <= 0)
            return;
        b->off += (size_t)n;
    }
}

static long long now_ms(void)
{
    return alcove_monotonic_ns() / 1000000;
}

static void kill_child(struct alcove_child *c, int sig)
{
    if (kill(-c->pid, sig) < 0)
        kill(c->pid, sig);
}

/* Orphans adopted as a subreaper (descendants of exec'd programs that outlived
 * their parents, even in other sessions or process groups) go with this process:
 * kill and reap them until none is left. */
static void kill_adopted(void)
{
    if (!ALCOVE_LINUX_CORE)
        return; /* nothing was adopted: process groups end a program's descendants */
    /* /proc's numbers: in a pid namespace of its own, not this process's (alcove_proc_view). */
    struct alcove_proc_view view = alcove_proc_view();
    if (view.level < 0)
        return; /* /proc does not show this process: nothing to find there */
    /* Bounded: a fork bomb under rlimits still ends within about a second (more children
     * than fit here are found on the next round). */
    for (int round = 0; round < 1000; round++) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        pid_t kids[256];
        size_t n = alcove_children_of(view.self, kids, sizeof(kids) / sizeof(kids[0]));
        for (size_t i = 0; i < n; i++) {
            pid_t own = alcove_pid_of_proc(&view, kids[i]);
            if (own > 0)
                kill(own, SIGKILL);
        }
        if (n == 0)
            return;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ts, NULL);
    }
}

/* The parent is gone: end the subtree. Exec'd children get signaloneof (their
 * process group), control processes see EOF on their control channel and do the same. */
static void begin_shutdown(struct alcove_state *ap)
{
    for (size_t i = 0; i < ap->nchild; i++) {
        struct alcove_child *c = &ap->child[i];
        if (c->dead)
            continue;
        close_fd(&c->in);
        c->control_at_shutdown = c->ctl_out >= 0;
        if (c->ctl_out >= 0)
            close_fd(&c->ctl_out);
        else if (c->signaloneof > 0)
            kill_child(c, c->signaloneof);
    }
}

enum { FD_UP_IN, FD_UP_OUT, FD_SIG, FD_XFER, FD_CTL_IN, FD_CTL_OUT, FD_IN, FD_OUT, FD_ERR, FD_SETUP };

#ifndef POLLRDHUP
#define POLLRDHUP 0
#endif

/* The host has shut its side of a socket channel (stop(), or its end): it failed every call
 * it was still waiting for, so the calls queued here, read or not, are for nobody, and a
 * program started by one would only be killed again. They are dropped and the shutdown
 * begins, as at the channel's end. (A pipe has no such notice: its end comes after its data.) */
static void host_stopped(struct alcove_state *ap)
{
    alcove_buf_free(&ap->up_rbuf);
    ap->down_backlog = 0;
    ap->up_skip = 0;
    ap->up_eof = 1;
}

/* Whether the host has shut its side of the channel, looked at between turns of queued calls
 * when the loop's poll did not watch the channel (past READ_AHEAD, or replies piling up). */
static int host_has_stopped(const struct alcove_state *ap)
{
    if (POLLRDHUP == 0)
        return 0;
    struct pollfd p = {.fd = ap->up_in, .events = POLLRDHUP, .revents = 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP) != 0;
}

/* Whether this process may run on more than one CPU: on one, nothing it waits for can
 * come while it polls (the host, the programs and the other control processes need that
 * CPU), so it never spins. Learnt once; children inherit it. */
static int several_cpus(void)
{
    static int several = -1;
    if (several < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
#if defined(__linux__) && defined(CPU_COUNT)
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) == 0)
            n = CPU_COUNT(&set);
#endif
        several = n > 1;
    }
    return several;
}

/* After sending something up, keep polling for a while before sleeping, giving
 * the CPU to anything else runnable between polls. On a machine where waking a
 * sleeping CPU is slow (a virtual machine's idle vCPU takes tens of microseconds),
 * what comes next is then picked up at once: the next call of a caller that answers
 * quickly (fork, then exec, then the next fork), the next chunk of a program's
 * output, or the end of a short program just spawned (/bin/true is done about half a
 * millisecond after its exec, ahead of the host's next spawn). It only spins while that
 * keeps paying off: a wait that runs out costs credit, and with none left it sleeps at
 * once until a call comes soon after a reply again. Returns poll's result, 0 when it
 * gave up. */
static int spin(struct alcove_state *ap, struct pollfd *pfd, nfds_t n)
{
    if (ap->opt.spin <= 0 || ap->sent_up_ns == 0 || ap->spin_credit == 0 || !several_cpus())
        return 0;
    long long until = ap->sent_up_ns + (long long)ap->opt.spin * 1000;
    for (;;) {
        int rv = poll(pfd, n, 0);
        if (rv != 0) {
            if (rv > 0 && ap->spin_credit < SPIN_CREDIT_MAX)
                ap->spin_credit++;
            return rv;
        }
        if (alcove_monotonic_ns() >= until)
            break;
        sched_yield();
    }
    if (ap->spin_credit > 0)
        ap->spin_credit--;
    ap->sent_up_ns = 0;
    return 0;
}

int alcove_loop(struct alcove_state *ap)
{
    struct pollfd *pfd = NULL;
    size_t *who = NULL;
    size_t cap = 0;
    long long shutdown_at = -1;
    int killed = 0, killed_all = 0, up_broken = 0;
    if (ap->sweep_stale) {
        ap->sweep_stale = 0;
        alcove_cg_remove_stale();
    }

    for (;;) {
        if (ap->up_eof && shutdown_at < 0) {
            shutdown_at = now_ms();
            begin_shutdown(ap);
        }
        if (shutdown_at >= 0 && ap->nchild == 0) {
            kill_adopted();
            break;
        }

        size_t need = 4 + 5 * ap->nchild;
        if (need > cap) {
            struct pollfd *np = realloc(pfd, need * sizeof(*pfd));
            if (np == NULL)
                return -1;
            pfd = np;
            size_t *nw = realloc(who, need * sizeof(*who));
            if (nw == NULL)
                return -1;
            who = nw;
            cap = need;
        }
        size_t n = 0;
        int up_full = alcove_buf_pending(&ap->up_wbuf) > ALCOVE_UP_HIGH_WATER;
#define ADD(fd_, ev_, kind_, idx_)                                                               \
    do {                                                                                         \
        pfd[n].fd = (fd_);                                                                       \
        pfd[n].events = (short)(ev_);                                                            \
        pfd[n].revents = 0;                                                                      \
        who[n] = (size_t)(kind_) | (size_t)(idx_) << 4;                                          \
        n++;                                                                                     \
    } while (0)
        int watched_up = !ap->up_eof && !up_full &&
                         (!ap->down_backlog || alcove_buf_pending(&ap->up_rbuf) < READ_AHEAD);
        if (watched_up)
            ADD(ap->up_in, POLLIN | POLLRDHUP, FD_UP_IN, 0);
        if (!up_broken) {
            int want_out = alcove_buf_pending(&ap->up_wbuf) > 0;
            if (ap->xfer_fd >= 0 && ap->up_wbuf.off >= ap->xfer_at) {
                /* Splicing: wait for whichever side is holding it up. */
                int avail = 0;
                if (ap->xfer_zeros ||
                    (ioctl(ap->xfer_fd, FIONREAD, &avail) == 0 && avail > 0))
                    want_out = 1;
                else {
                    want_out = 0;
                    ADD(ap->xfer_fd, POLLIN, FD_XFER, 0);
                }
            }
            if (want_out)
                ADD(ap->up_out, POLLOUT, FD_UP_OUT, 0);
        }
        ADD(ap->sigread, POLLIN, FD_SIG, 0);
        for (size_t i = 0; i < ap->nchild; i++) {
            struct alcove_child *c = &ap->child[i];
            if (c->output_closing)
                close_output(ap, c);
            if (c->ctl_in >= 0 && !up_full && c->ctl_in != ap->xfer_fd)
                ADD(c->ctl_in, POLLIN, FD_CTL_IN, i);
            if (c->setup_fd >= 0) /* hang-up only: see the report pipe in calls/spawn.c */
                ADD(c->setup_fd, 0, FD_SETUP, i);
            if (c->ctl_out >= 0 && alcove_buf_pending(&c->ctl_wbuf) > 0)
                ADD(c->ctl_out, POLLOUT, FD_CTL_OUT, i);
            if (c->in >= 0 && (alcove_buf_pending(&c->in_wbuf) > 0 || ap->opt.stdin_closed))
                ADD(c->in, alcove_buf_pending(&c->in_wbuf) > 0 ? POLLOUT : 0, FD_IN, i);
            /* A spawned program's output waits for its spawn's answer (setup_read), which
             * the host needs first to know the process it comes from. */
            if (!up_full && c->flowcontrol != 0 && c->setup_fd < 0) {
                if (c->out >= 0 && c->out != ap->xfer_fd && !c->out_paused)
                    ADD(c->out, POLLIN, FD_OUT, i);
                if (c->err >= 0 && c->err != ap->xfer_fd && !c->err_paused)
                    ADD(c->err, POLLIN, FD_ERR, i);
            }
        }
#undef ADD
        int timeout = -1;
        if (shutdown_at >= 0) {
            long long elapsed = now_ms() - shutdown_at;
            if (elapsed >= ALCOVE_GRACE_MS && !killed) {
                for (size_t i = 0; i < ap->nchild; i++)
                    if (!ap->child[i].dead && !ap->child[i].control_at_shutdown)
                        kill_child(&ap->child[i], SIGKILL);
                killed = 1;
            }
            if (elapsed >= ALCOVE_GRACE_MS + ALCOVE_GRACE_EXTRA_MS && !killed_all) {
                for (size_t i = 0; i < ap->nchild; i++)
                    if (!ap->child[i].dead)
                        kill_child(&ap->child[i], SIGKILL);
                killed_all = 1;
            }
            long long next = killed ? ALCOVE_GRACE_MS + ALCOVE_GRACE_EXTRA_MS : ALCOVE_GRACE_MS;
            timeout = killed_all ? 100 : (int)(next - elapsed);
            if (timeout < 0)
                timeout = 0;
        }
        int limit = check_deadlines(ap);
        if (limit >= 0 && (timeout < 0 || limit < timeout))
            timeout = limit;
        if (ap->down_backlog && !up_full)
            timeout = 0; /* calls wait to run: a look at the rest, then them */
        int rv = timeout < 0 ? spin(ap, pfd, (nfds_t)n) : 0;
        if (rv == 0)
            rv = poll(pfd, (nfds_t)n, timeout);
        if (rv < 0 && errno != EINTR)
            return -1;
        if (rv < 0)
            continue;

        for (size_t k = 0; k < n; k++) {
            if (pfd[k].revents == 0)
                continue;
            unsigned kind = (unsigned)(who[k] & 15);
            size_t i = who[k] >> 4;
            struct alcove_child *c = kind >= FD_CTL_IN ? &ap->child[i] : NULL;
            if (c != NULL && c->dead)
                continue;
            switch (kind) {
            case FD_UP_IN:
                if (pfd[k].revents & POLLRDHUP)
                    host_stopped(ap);
                else
                    read_up(ap);
                break;
            case FD_UP_OUT:
            case FD_XFER:
                if (!up_broken)
                    flush_up(ap, &up_broken);
                break;
            case FD_SIG:
                handle_signals(ap);
                break;
            case FD_CTL_IN:
                if (c->ctl_in == pfd[k].fd)
                    read_ctl(ap, c);
                break;
            case FD_CTL_OUT:
                if (c->ctl_out == pfd[k].fd) {
                    int broken = 0;
                    flush_calls(c, &broken);
                }
                break;
            case FD_IN:
                if (c->in == pfd[k].fd) {
                    if (alcove_buf_pending(&c->in_wbuf) > 0)
                        write_stdin(ap, c);
                    else if (pfd[k].revents & (POLLERR | POLLHUP)) {
                        close_fd(&c->in);
                        if (ap->opt.stdin_closed)
                            event(ap, c->pid, ALCOVE_EVENT_STDIN_CLOSED, 0, 0);
                    }
                }
                break;
            case FD_OUT:
                if (c->out == pfd[k].fd)
                    read_output(ap, c, &c->out, ALCOVE_UP_STDOUT, 1);
                break;
            case FD_ERR:
                if (c->err == pfd[k].fd)
                    read_output(ap, c, &c->err, ALCOVE_UP_STDERR, 1);
                break;
            case FD_SETUP:
                if (c->setup_fd == pfd[k].fd)
                    setup_read(ap, c);
                break;
            default:
                break;
            }
        }

        /* Forwarded calls go out before the next poll, so that a child sees them at once. */
        for (size_t i = 0; i < ap->nchild; i++) {
            struct alcove_child *c = &ap->child[i];
            if (c->ctl_out >= 0 && alcove_buf_pending(&c->ctl_wbuf) > 0) {
                int broken = 0;
                flush_calls(c, &broken);
            }
        }
        /* A signal that came during this turn (most often a program's exit, right after
         * its pipes' ends were read above) is taken now rather than at the next poll:
         * its exit then goes up in the same write as its output and closed pipes, and
         * the host wakes once for them instead of twice. */
        if (alcove_signal_waiting)
            handle_signals(ap);
        /* Report children reaped this turn, then drop them; one whose pipe is
         * being spliced waits until that is done, so its output stays in order. */
        for (size_t i = 0; i < ap->nchild; i++)
            if (ap->child[i].dead == 1 && !(ap->xfer_fd >= 0 && ap->xfer_pid == ap->child[i].pid))
                child_died(ap, &ap->child[i]);
        for (size_t i = 0; i < ap->nchild;) {
            if (ap->child[i].dead == 2) {
                ap->child[i] = ap->child[--ap->nchild];
                continue;
            }
            i++;
        }
        /* Calls left from the last read run now: after the exits reaped this turn went up
         * (a fork among them may get a reaped pid) and before what they answer goes up. Not
         * once the host has gone. */
        if (ap->down_backlog && !ap->up_eof && !watched_up && host_has_stopped(ap))
            host_stopped(ap);
        if (ap->down_backlog && !ap->up_eof &&
            alcove_buf_pending(&ap->up_wbuf) <= ALCOVE_UP_HIGH_WATER)
            serve_down(ap);
        if (!up_broken)
            flush_up(ap, &up_broken);
        compact_up(ap);
        for (size_t i = 0; i < ap->nchild; i++) {
            struct alcove_child *c = &ap->child[i];
            alcove_buf_compact(&c->ctl_wbuf);
            alcove_buf_compact(&c->in_wbuf);
            alcove_buf_shrink(&c->ctl_wbuf);
            alcove_buf_shrink(&c->in_wbuf);
            alcove_buf_shrink(&c->ctl_rbuf);
        }
        if (up_broken) {
            alcove_buf_free(&ap->up_wbuf);
            xfer_done(ap);
            ap->up_eof = 1;
            ap->down_backlog = 0; /* nobody takes their answers */
        }
    }
    if (!up_broken)
        alcove_flush_blocking(ap);
    free(pfd);
    free(who);
    return 0;
}

#ifdef ALCOVE_FUZZ
/* For the fuzz harness (fuzz/stream.c): what the loop does when a child's control
 * pipe is readable and the parent's pipe writable. */
int alcove_fuzz_relay(struct alcove_state *ap, struct alcove_child *c);
int alcove_fuzz_relay(struct alcove_state *ap, struct alcove_child *c)
{
    int rv = c->ctl_in >= 0 ? read_ctl(ap, c) : READ_CLOSED;
    int broken = 0;
    flush_up(ap, &broken);
    compact_up(ap);
    return broken ? -1 : rv;
}
#endif
