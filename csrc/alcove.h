/* alcove control process: shared types.
 *
 * A control process runs one single-threaded event loop: it reads calls from its
 * parent (the host for the root), runs them, replies, and proxies everything its
 * children send up, tagged with the child's pid. See wire.h for the framing. */
#ifndef ALCOVE_H
#define ALCOVE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "cgroup.h"
#include "wire.h"

#define ALCOVE_VERSION "0.1.0"
/* Bumped whenever the wire format, call numbering, exported symbols or the spawn
 * request's records change. */
#define ALCOVE_ABI 17

/* alcove's ranges for the maxchild and maxforkdepth options. */
#define ALCOVE_MAXCHILD_LIMIT 65535
#define ALCOVE_MAXFORKDEPTH_LIMIT 65535
/* The most pids a pipeline holds on the wire: no process is made deeper than this, whatever
 * maxforkdepth says (one deeper could not be named, and its messages would not fit). */
#define ALCOVE_PIPELINE_MAX 255
/* The default maxchild is what the descriptors allow, up to this. */
#define ALCOVE_MAXCHILD_DEFAULT 1024
/* A request larger than this is refused by the host before it is sent. */
#define ALCOVE_MAX_REQUEST (64u * 1024u * 1024u)
/* Output and relayed frames at least this large move by splice instead of copies. */
#define ALCOVE_SPLICE_MIN (16u * 1024u)
#define ALCOVE_SPLICE_MAX (1024u * 1024u)
/* The largest payload a control process sends up in a frame other than a reply, by
 * kind. Output: a read takes at most 64 KiB, a splice ALCOVE_SPLICE_MAX, and a relayed
 * frame keeps its payload. Events: the signal event (INT signal, BYTES siginfo) is the
 * largest; usage has ten INTs, the others at most one. HELLO comes from the root alone,
 * and only to the host. A child that announces more, or another kind, has a corrupt
 * stream (forward_up in loop.c): its parent would otherwise buffer the frame, or pad it
 * with zeros to its announced length when the child dies in the middle of it. Replies
 * have no such bound: a read may answer 32 MiB. */
#define ALCOVE_UP_OUTPUT_MAX ALCOVE_SPLICE_MAX
#define ALCOVE_UP_EVENT_MAX (9u + 5u + sizeof(siginfo_t) + 1u)
/* A pipe bringing bulk data up grows to this size, when the system allows it, once it
 * is seen full. Growing every pipe at fork would cost each short-lived child the
 * allocation and release of a 1 MiB ring. */
#define ALCOVE_PIPE_SIZE (1 << 20)
#define ALCOVE_PIPE_FULL 65536
/* Default and upper bound of the spin option, in microseconds. */
#define ALCOVE_SPIN_DEFAULT 500
#define ALCOVE_SPIN_LIMIT 10000
/* Stop reading children's output while this much is waiting to go up. */
#define ALCOVE_UP_HIGH_WATER (256u * 1024u)
/* Calls to a child fail with ENOBUFS while this much waits for it and it has
 * taken none of it for this long, */
#define ALCOVE_DOWN_HIGH_WATER (1024u * 1024u)
#define ALCOVE_DOWN_STALL_MS 1000
/* and, however fast it reads, while this much waits for it: a host that sends
 * faster than the child takes would otherwise be bounded only by its own speed
 * during the stall time. One call of any size is taken when nothing waits. */
#define ALCOVE_DOWN_LIMIT (16u * 1024u * 1024u)
/* Milliseconds between signaloneof and SIGKILL when a control process shuts down.
 * Child control processes shut down their own subtree on the same schedule; they
 * get ALCOVE_GRACE_EXTRA_MS more before they are killed, so that they can reap
 * their children first and leave no zombie behind. */
#define ALCOVE_GRACE_MS 300
#define ALCOVE_GRACE_EXTRA_MS 250

struct alcove_buf {
    unsigned char *data;
    size_t len; /* bytes in use */
    size_t off; /* bytes already consumed from the front */
    size_t cap;
};

void alcove_buf_free(struct alcove_buf *b);
/* Ensure room for `n` more bytes at the end; returns a pointer to them or NULL. */
unsigned char *alcove_buf_reserve(struct alcove_buf *b, size_t n);
/* Move unconsumed bytes to the front; only where no frame offset is held. */
void alcove_buf_compact(struct alcove_buf *b);
int alcove_buf_append(struct alcove_buf *b, const void *p, size_t n);
/* Give the memory back once the buffer is empty, if it grew for a large frame. */
void alcove_buf_shrink(struct alcove_buf *b);
void alcove_buf_consume(struct alcove_buf *b, size_t n);
static inline size_t alcove_buf_pending(const struct alcove_buf *b) { return b->len - b->off; }
static inline unsigned char *alcove_buf_head(const struct alcove_buf *b) { return b->data + b->off; }

/* Per-signal disposition in a control process. */
enum alcove_sigmode {
    ALCOVE_SIG_INFO = 0, /* caught and reported as an event (the default) */
    ALCOVE_SIG_DFL,
    ALCOVE_SIG_IGN,
    ALCOVE_SIG_QUIET, /* caught, not reported (SIGPIPE: write errors come back as EPIPE) */
    ALCOVE_SIG_REAP,  /* SIGCHLD: reap children and report exit events (the default) */
};

struct alcove_stdin_mark {
    uint32_t id;
    uint64_t end; /* the request is fully written when in_written reaches this */
};

struct alcove_child {
    pid_t pid;
    int ctl_out; /* calls to the child (its close-on-exec control pipe) */
    int ctl_in;  /* frames from the child */
    int in;      /* the child's stdin */
    int out;     /* the child's stdout */
    int err;     /* the child's stderr */
    int execed;  /* control channel closed while alive: it ran execve */
    int dead;
    int status;  /* wait status once dead */
    int flowcontrol; /* -1: unlimited; N: read N more chunks of output */
    int out_paused;  /* its stdout, its stderr alone, are not read (setcpid's stream */
    int err_paused;  /* flowcontrol options): a flood of one does not hold the other */
    int signaloneof;
    int stdin_eof; /* EOF requested once pending stdin is written */
    int output_closing; /* 1 stdout, 2 stderr: to close once no splice reads from it */
    int control_at_shutdown; /* still a control process when the parent began to shut down */
    struct alcove_buf ctl_rbuf;
    struct alcove_buf ctl_wbuf;
    struct alcove_buf in_wbuf;
    uint64_t in_queued;  /* bytes of stdin ever queued for this child */
    uint64_t in_written; /* ... and ever written to its pipe */
    struct alcove_stdin_mark *marks;
    size_t nmarks, capmarks;
    uint32_t *pending; /* ids of calls forwarded to this child, not yet answered */
    size_t npending, cappending;
    uint32_t exec_id;  /* id of an exec call forwarded to this child, 0 if none */
    long long ctl_taken_ns; /* when it last took calls from ctl_wbuf (or had none) */
    int out_grown;     /* its stdout pipe was grown to ALCOVE_PIPE_SIZE */
    int ctl_grown;     /* ... and its upward control pipe */
    /* A program started by spawn (sandbox.h): the call is answered when its report
     * pipe closes (exec) or brings a failed step; limits are kept here. */
    int spawned;
    int report_usage;   /* a forked child's usage goes up before its exit (setcpid's usage) */
    int quiet;          /* its setup failed: reaped without events */
    int setup_fd;       /* the report pipe until exec, -1 after */
    unsigned char *shared_report; /* with seccomp filters, the report's shared page (sandbox.h) */
    uint32_t spawn_id;  /* the spawn call still to answer, 0 once answered */
    struct alcove_buf setup_buf;
    long long started_ns;  /* its clone (spawned) or its exec (forked): usage's wall time */
    long long deadline_ns; /* wall-clock limit, 0: none */
    uint64_t max_output;   /* stdout + stderr bytes allowed, when output_limited */
    int output_limited;
    uint64_t output;       /* ... and passed up so far */
    int reason;            /* SB_REASON_*: why it ended, where its status does not say */
    int filtered;          /* it started under a seccomp filter (spawn's, or inherited) */
    int own_group;         /* spawned as the leader of a process group of its own */
    struct rusage usage;   /* from wait4 */
    struct alcove_cg *cg;  /* its cgroups (cgroup.h), NULL: none */
    int has_cg_usage;
    struct alcove_cg_usage cg_usage;
};

struct alcove_opts {
    int maxchild;
    int maxforkdepth;
    int exit_status;
    int termsig;
    int flowcontrol;
    int signaloneof;
    int stdin_closed;
    int stdout_closed;
    int stderr_closed;
    int spin; /* microseconds to keep polling after sending up, 0: never */
};

struct alcove_state;

/* An in-process host (the command line's supervisor, cli.c): it is handed every whole
 * frame the loop would send up, in order, instead of a channel doing it. */
typedef void (*alcove_host_fn)(struct alcove_state *ap, const unsigned char *frame, size_t len);

/* Called by a spawn (calls/spawn.c) as soon as its child exists, before the child takes its
 * first step (it waits for the call to return), with `made` true when the child is already
 * in every namespace it will be in (false when it joins some itself). The command line's
 * supervisor reports the child's pid and namespaces there and waits for its --userns-block-fd
 * and --block-fd, as bubblewrap does before its child goes on. Returns 1 when the
 * child's id maps are written by someone else (bubblewrap's --userns-block-fd), 0 when not,
 * or -errno to refuse the spawn: the child is killed before its first step (the report of
 * it could not be written). */
typedef int (*alcove_spawned_fn)(struct alcove_state *ap, pid_t pid, int made);

struct alcove_state {
    int depth;
    int up_in;  /* calls from the parent */
    int up_out; /* frames to the parent */
    int up_eof;
    size_t up_skip; /* bytes of a frame too large for memory, still to drop (read_up) */
    size_t down_queued; /* bytes of calls read and waiting behind the one being handled */
    int down_backlog;   /* calls read and not yet run: the loop's turn came first (serve_down) */
    struct alcove_buf up_rbuf;
    struct alcove_buf up_wbuf;
    size_t up_building; /* offset of a reply frame being built in up_wbuf, or SIZE_MAX */
    /* Bulk data moved by splice(2) from a child's pipe into up_out, without
     * copying: the bytes belong at offset xfer_at of up_wbuf (frames queued after
     * that offset wait for them). */
    int xfer_fd;      /* -1: none */
    pid_t xfer_pid;   /* the child the descriptor belongs to */
    size_t xfer_at;
    size_t xfer_left;
    int xfer_zeros; /* the pipe ended mid-frame: the rest of it goes up as zeros */
    int draining; /* reporting a dead child: copy, never splice */
    struct alcove_opts opt;
    struct alcove_child *child;
    size_t nchild;
    size_t capchild;
    int sigread;
    int sigwrite;
    enum alcove_sigmode sigmode[65];
    /* Signals the command line inherited ignored (as under nohup): they stay ignored here
     * and in its command, as bubblewrap leaves them. 0 for the library. */
    uint64_t keep_ignored;
    int library_ignored; /* the C library's own signals were ignored before an exec */
    unsigned char filter[ALCOVE_WIRE_MAX_CALLS / 8];      /* calls refused in this process */
    unsigned char filter_next[ALCOVE_WIRE_MAX_CALLS / 8]; /* ... and in children forked later */
    int local;  /* running inside the host process: no fork, no exec */
    /* Polling before sleeping (see alcove_loop): when this process last sent
     * something up, and whether waiting for the answer awake has been paying off. */
    long long sent_up_ns; /* 0: nothing sent since the last call came down */
    int spin_credit;
    int clear_refs_fd; /* /proc/self/clear_refs, to reset the peak RSS (-1 not opened, -2 none) */
    int subreaper; /* PR_SET_CHILD_SUBREAPER is on (see alcove_subreaper) */
    int subreaper_before_exec;
    alcove_host_fn host; /* NULL: frames go up the channel (up_out) */
    void *host_data;
    alcove_spawned_fn spawned; /* NULL: none */
    /* Descriptors the in-process host keeps to itself (the command line's --info-fd, ...): a
     * spawned child closes its copies first, before it waits for the hook, so that a reader
     * of the report sees its end. */
    const int *host_fds;
    size_t nhost_fds;
    /* Work the loop does before it reads its first call, kept off the way to the greeting
     * (the host reads it meanwhile) and to the command line's command: removing the cgroups
     * that control processes gone before their programs ended left behind (main.c). */
    int sweep_stale;
};

/* A decoded argument. Strings and byte strings point into the request and are
 * NUL terminated; lists have their elements in `list`. */
struct alcove_arg {
    int type; /* ALCOVE_VAL_* */
    int64_t i;
    const char *s;
    size_t len;
    const struct alcove_arg *list;
    size_t count;
};

/* Decodes one value that is not a list (INT, BYTES, NULL, CSTRUCT or PTR) at `p`, as
 * calls and replies carry them (wire.h); returns the bytes it took, or 0 when `p` holds
 * no whole value. */
size_t alcove_decode_scalar(const unsigned char *p, size_t len, struct alcove_arg *a);

#define ALCOVE_MAX_ARGS 8

/* What a call answers: a value encoded into `out`, or a failure. */
struct alcove_reply {
    struct alcove_buf *out;
    uint32_t id;       /* the call's id */
    int deferred;      /* the call answers later, itself (spawn) */
    int status;        /* ALCOVE_STATUS_* */
    const char *error; /* message for BADARG / UNSUPPORTED */
    /* A message made for this reply (alcove_reply_badargf): each call has its own,
     * so calls in several threads of the host process never share one. */
    char message[256];
};

typedef int (*alcove_call_fn)(struct alcove_state *ap, const struct alcove_arg *arg,
                              struct alcove_reply *reply);

struct alcove_call_def {
    const char *name;
    alcove_call_fn fn;
    const char *args; /* one ALCOVE_ARGSPEC_* character per argument */
    unsigned flags;   /* ALCOVE_CALLF_* */
};

#define ALCOVE_CALLF_NOLOCAL 1u /* refused in the host process (fork, exec, ...) */
#define ALCOVE_CALLF_EXEC 2u    /* success means the control channel closes */

extern const struct alcove_call_def alcove_calls[];
extern const size_t alcove_ncalls;

/* Reply helpers: each returns 0, or -ENOMEM. */
int alcove_reply_ok(struct alcove_reply *r);
int alcove_reply_int(struct alcove_reply *r, int64_t v);
int alcove_reply_bytes(struct alcove_reply *r, const void *p, size_t n);
int alcove_reply_null(struct alcove_reply *r);
int alcove_reply_list(struct alcove_reply *r, uint32_t count);
int alcove_reply_badarg(struct alcove_reply *r, const char *msg);
int alcove_reply_badargf(struct alcove_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int alcove_reply_unsupported(struct alcove_reply *r, const char *msg);
/* An errno and the C library's text for it: an ERRNO reply's payload. */
int alcove_reply_errno(struct alcove_reply *r, int err);
/* An errno caused by one of the control process's own limits, named by its option
 * (EAGAIN at maxchild or maxforkdepth): the host says which and how to raise it. */
int alcove_reply_errno_limit(struct alcove_reply *r, int err, const char *option);

/* Event loop (loop.c). */
int alcove_loop(struct alcove_state *ap);
void alcove_state_init(struct alcove_state *ap, int depth, int up_in, int up_out);
struct alcove_child *alcove_child_find(struct alcove_state *ap, pid_t pid);
/* Spawned children that have not reached their exec yet (their report pipe is open). */
size_t alcove_children_in_setup(const struct alcove_state *ap);
int alcove_child_add(struct alcove_state *ap, const struct alcove_child *c);
int alcove_default_maxchild(void);
/* Whether this process may make one more child: below maxforkdepth and a pipeline's
 * ALCOVE_PIPELINE_MAX pids, and under maxchild (alcove_reply_spawned says which limit). */
static inline int alcove_child_room(const struct alcove_state *ap)
{
    return ap->depth + 1 <= ap->opt.maxforkdepth && ap->depth + 1 <= ALCOVE_PIPELINE_MAX &&
           ap->nchild < (size_t)ap->opt.maxchild;
}
/* The most children RLIMIT_NOFILE's soft limit leaves room for (up to maxchild's range). */
long alcove_nofile_maxchild(void);
/* Runs a call as if the host had sent it down (depth 0, with `id`), then hands the host
 * what it answered (ap->host must be set). Returns 0, or -ENOMEM. */
int alcove_host_call(struct alcove_state *ap, uint16_t call, uint32_t id, const void *payload,
                     size_t len);
/* The RLIMIT_NOFILE soft limit the root was started with, for programs started by
 * spawn (RLIM_INFINITY: it was not raised). */
extern rlim_t alcove_program_nofile;
/* The descriptors beyond 0..2 the root was started with, kept (close-on-exec) when it was
 * started for the command line (its stdio inherited): spawn hands the ones asked for to a
 * program at the same numbers, as bubblewrap passes its own on. None in other processes. */
#define ALCOVE_MAX_INHERITED 256
extern int alcove_inherited_fd[ALCOVE_MAX_INHERITED];
extern size_t alcove_ninherited;

/* Signals (sig.c). */
/* Set by a spawned program's process until its exec (and cleared by the control
 * process when it shares its memory): a caught signal then takes its default action
 * instead of being reported, as it would once the program runs. */
extern volatile sig_atomic_t alcove_spawning;
/* Set by the signal handler when it leaves a record in the self-pipe; cleared by the
 * loop before it reads the records. */
extern volatile sig_atomic_t alcove_signal_waiting;
/* Every signal is caught and reported, but those of `left_default` (bit N: signal N),
 * which keep their default action. */
int alcove_signal_init(struct alcove_state *ap, uint64_t left_default);
int alcove_signal_set(struct alcove_state *ap, int sig, enum alcove_sigmode mode);
/* A new self-pipe (after fork the child keeps its parent's dispositions). */
int alcove_signal_reinit(struct alcove_state *ap);
/* The signal's default action again (async-signal-safe). */
void alcove_signal_default(int sig);
/* The C library's own signals (32 up to SIGRTMIN) ignored, or at their default; returns
 * whether they were ignored before. */
int alcove_library_signals(int ignored);
/* The signals this process started with ignored, one bit each (the C library's own, and
 * SIGPIPE and SIGXFSZ, which the runtimes ignore for themselves, left out). */
uint64_t alcove_inherited_ignored(void);
/* True unless the caller took over reaping (SIGCHLD set to sig_info, then waitpid). */
static inline int alcove_reaps(const struct alcove_state *ap)
{
    return ap->sigmode[SIGCHLD] != ALCOVE_SIG_INFO;
}

/* Process creation shared by fork and clone (spawn.c). */
pid_t alcove_spawn_child(struct alcove_state *ap, unsigned long long clone_flags);
/* fork, or clone3/clone with CLONE_NEW* flags; returns like fork. */
pid_t alcove_clone(unsigned long long flags);
/* What alcove_spawn_child answers: the pid, or after a failure the errno, with the
 * option when one of the limits was reached. */
int alcove_reply_spawned(struct alcove_state *ap, struct alcove_reply *reply, pid_t pid);

/* Run one call (dispatch.c). */
void alcove_dispatch(struct alcove_state *ap, uint16_t call, const unsigned char *payload,
                     size_t len, struct alcove_reply *reply);

int alcove_set_nonblock(int fd);

#endif
