/* The wire format between the host and the root control process, and between
 * every control process and its children. All integers are little endian.
 *
 * A frame:
 *   u32 len      bytes that follow this field
 *   u8  type     ALCOVE_DOWN_* towards the target, ALCOVE_UP_* towards the host
 *   u8  depth    number of pids that follow the fixed header
 *   u16 code     call number (CALL), status (REPLY) or event kind (EVENT)
 *   u32 id       call id chosen by the host; echoed by the reply
 *   u32 pid[depth]
 *   payload
 *
 * Going down, pid[] is the rest of the pipeline: each control process strips the
 * first pid and forwards to that child. Going up, pid[] is the pipeline of the
 * process the frame is about, relative to the receiver: each control process
 * prepends its child's pid.
 *
 * Values in payloads: a tag byte, then
 *   INT   i64
 *   BYTES u32 length, the bytes, one NUL (not counted)
 *   LIST  u32 count, the values
 *   NULL  nothing
 *   CSTRUCT u32 count, then segments: u8 kind, u32 n, and n bytes unless the kind
 *         is ALCOVE_SEG_ZEROED (a pointer to n zeroed bytes). In a reply (the read-back
 *         after a call) pointer segments come back as ALCOVE_SEG_PTR with their contents.
 *   PTR   u64 address, u64 size: memory of the host process, laid out by the host; only
 *         calls run in the host process ("local") take it, a control process refuses it */
#ifndef ALCOVE_WIRE_H
#define ALCOVE_WIRE_H

#define ALCOVE_WIRE_HEADER 12
#define ALCOVE_WIRE_MAX_CALLS 512

#define ALCOVE_DOWN_CALL 1
#define ALCOVE_DOWN_STDIN 2
#define ALCOVE_DOWN_EOF 3
/* An EOF with this code (since ABI 15) does not wait for the stdin already queued: that
 * is dropped (its writes fail with ECANCELED) and the pipe is closed at once. */
#define ALCOVE_EOF_DISCARD 1
/* A call with a deadline (since ABI 6): the payload starts with an i64, the time
 * in milliseconds since the epoch (CLOCK_REALTIME) after which the caller no longer
 * waits for it; then the arguments as in a CALL. The process that would run it
 * answers ERRNO ETIMEDOUT instead once that time has passed, so that a call that
 * waited in a queue (a stopped process) does not run after its caller gave up. A
 * call already running, or run before its deadline, completes. */
#define ALCOVE_DOWN_CALL_BY 4
/* The host no longer wants a child's output (since ABI 12): code 1 closes the parent's
 * end of its stdout pipe, 2 of its stderr pipe, so that the program's next write fails
 * (SIGPIPE, EPIPE), as when a reader of a pipe goes away. Answered OK, as EOF is. */
#define ALCOVE_DOWN_CLOSE_OUTPUT 5

#define ALCOVE_UP_REPLY 1
#define ALCOVE_UP_STDOUT 2
#define ALCOVE_UP_STDERR 3
#define ALCOVE_UP_EVENT 4
#define ALCOVE_UP_HELLO 5

#define ALCOVE_STATUS_OK 0
#define ALCOVE_STATUS_ERRNO 1       /* INT errno, BYTES strerror text, then BYTES option
                                     * when the errno comes from a limit of the control
                                     * process (EAGAIN at maxchild or maxforkdepth) */
#define ALCOVE_STATUS_BADARG 2      /* BYTES message */
#define ALCOVE_STATUS_UNSUPPORTED 3 /* BYTES message */
#define ALCOVE_STATUS_NOTCHILD 4    /* the next pid is not a child */
#define ALCOVE_STATUS_NOTCONTROL 5  /* the target ran execve: it takes no calls */
#define ALCOVE_STATUS_DIED 6        /* INT event kind, INT value */
#define ALCOVE_STATUS_FILTERED 7    /* the call filter refuses it */
#define ALCOVE_STATUS_SETUP 8       /* BYTES: a spawn setup step failed (see sandbox.h) */

#define ALCOVE_EVENT_EXIT 1          /* INT exit status */
#define ALCOVE_EVENT_TERMSIG 2       /* INT signal */
#define ALCOVE_EVENT_SIGNAL 3        /* INT signal, BYTES siginfo */
#define ALCOVE_EVENT_STDIN_CLOSED 4
#define ALCOVE_EVENT_STDOUT_CLOSED 5
#define ALCOVE_EVENT_STDERR_CLOSED 6
/* Before the exit or termsig of a spawned program: INT reason (SB_REASON_*), INT user
 * and INT system CPU microseconds, INT peak RSS kB, INT wall-clock microseconds. */
#define ALCOVE_EVENT_USAGE 7

#define ALCOVE_VAL_INT 1
#define ALCOVE_VAL_BYTES 2
#define ALCOVE_VAL_LIST 3
#define ALCOVE_VAL_NULL 4
#define ALCOVE_VAL_CSTRUCT 5
#define ALCOVE_VAL_PTR 6

#define ALCOVE_SEG_INLINE 0
#define ALCOVE_SEG_ZEROED 1
#define ALCOVE_SEG_PTR 2

/* Argument specification characters in the call table. */
#define ALCOVE_ARGSPEC_INT 'i'
#define ALCOVE_ARGSPEC_STRING 's'  /* bytes without NUL */
#define ALCOVE_ARGSPEC_BYTES 'b'
#define ALCOVE_ARGSPEC_STRINGS 'l' /* list of strings */
#define ALCOVE_ARGSPEC_INTS 'n'    /* list of ints */
#define ALCOVE_ARGSPEC_ANY 'a'     /* int, bytes, cstruct, null (or, local only, ptr) */
#define ALCOVE_ARGSPEC_NULLINT 'I' /* int or null */

#endif
