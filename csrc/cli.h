/* The command line's supervisor: `alcove --cli ...`, what the `alcove` command (cli.ts)
 * becomes once it has parsed its arguments and encoded the spawn request. The runtime
 * replaces itself with this executable (execv over FFI: execWithRequest in
 * ffi/_runtime_deno.ts, the request in a memory file), so the pid, parent,
 * session, terminal and stdio stay the command line's, as bubblewrap's do; this process
 * then runs the root control process's event loop with an in-process host instead of a
 * channel: it spawns the command, reports on --info-fd and --json-status-fd, forwards
 * signals, waits, and exits with the command line's status (EXIT_STATUS in
 * ffi/cli/parse.ts).
 *
 * On cli.ts's fast path (`alcove --cli-parse`, alcove_cli_parse below) this executable is
 * exec'd before anything is parsed, parses the command line itself into the same request
 * and words, and goes on the same way.
 *
 * Its own command line (made by ffi/cli/run.ts or cli_parse.c, never by people):
 *   alcove --cli --abi N [--info-fd FD] [--json-status-fd FD] [--hold FD]...
 *          [--close FD]... [--block FD]... [--userns-block FD] [--report NS,...]
 *          [--forward-interrupts] [--die-with-parent]
 *          --request FD
 * --request: a descriptor holding the spawn request (read, then closed); --hold: kept open
 * while the sandbox runs, not passed on (--sync-fd); --close: closed at once (descriptors
 * the command line read itself); --block, --userns-block: one byte read from each once the
 * command's process exists and is reported, before it takes a step (--block-fd,
 * --userns-block-fd, whose id maps are then left to whoever unblocks it);
 * --report: the namespaces (/proc/PID/ns names) whose inodes --info-fd reports;
 * --forward-interrupts: SIGINT and SIGQUIT go to the command too (--new-session);
 * --die-with-parent: killed (so the command is too) when its parent ends, as bwrap is.
 * SIGTERM and SIGHUP always do. Every other descriptor it inherited goes to the command at
 * its number, as from the root control process the driver starts for the command line. */
#ifndef ALCOVE_CLI_H
#define ALCOVE_CLI_H

#include <stddef.h>
#include <sys/types.h>

#include "alcove.h"

#define ALCOVE_CLI_MAX_FDS 64

/* EXIT_STATUS in ffi/cli/parse.ts. */
enum {
    ALCOVE_EXIT_USAGE = 1,
    ALCOVE_EXIT_OOM = 122,
    ALCOVE_EXIT_OUTPUT_LIMIT = 123,
    ALCOVE_EXIT_TIMEOUT = 124,
    ALCOVE_EXIT_SETUP = 125,
    ALCOVE_EXIT_NOT_EXECUTABLE = 126,
    ALCOVE_EXIT_NOT_FOUND = 127,
};

/* The namespaces --info-fd reports, in bubblewrap's order: /proc/PID/ns names. */
#define ALCOVE_CLI_NNAMESPACES 7
extern const char *const alcove_cli_namespaces[ALCOVE_CLI_NNAMESPACES];

struct alcove_cli {
    int info_fd, json_fd; /* -1: none */
    int hold[ALCOVE_CLI_MAX_FDS];
    size_t nhold;
    unsigned report;          /* bit i: the i-th namespace of cli.c's table */
    int forward_interrupts;
    int die_with_parent;      /* SIGKILL when the process that started it ends */
    unsigned char *request;   /* the spawn call's payload: one BYTES value */
    size_t request_len;
    pid_t pid;                /* the command, once it runs; 0 before */
    int block[ALCOVE_CLI_MAX_FDS]; /* --block: read before the command goes on */
    size_t nblock;
    int userns_block;         /* --userns-block: read first; its id maps are not written; -1 */
    int started;              /* --info-fd and --json-status-fd have their first report */
    unsigned long long ns_inode[8]; /* the reported namespaces by cli.c's table; 0: unknown */
    int ended;
    unsigned pending;         /* signals that came before the command ran, by bit */
    int interrupted;          /* the signal that ended a --block wait (it never ran); 0 */
    int info_failed;          /* errno of a failed --info-fd/--json-status-fd report */
    int64_t usage[10];        /* the usage event's values (loop.c, usage_event) */
    int has_usage;
    int code;                 /* the exit status */
};

/* Parses the command line, reads the request, closes the --close descriptors (the --block
 * ones are read later, by the spawn's hook). Returns 0, or the exit status after printing
 * why. */
int alcove_cli_prepare(struct alcove_cli *cli, int argc, char *argv[]);

/* The supervisor's own command line (argv[0] and --cli first) read into cli, which is
 * zeroed but for the descriptors (-1) and, without a --request word, the request; then the
 * --close descriptors closed. Returns 0, or the exit status after printing why. */
int alcove_cli_words(struct alcove_cli *cli, int argc, char *argv[]);

/* The fast path of cli.ts: `alcove --cli-parse --abi N [--dump] -- ARGS...` parses the
 * command line ARGS itself (cli_parse.c) into what alcove_cli_prepare reads from the
 * runtime's request and words (alcove_cli_words). Returns 0 with the request ready, or the
 * exit status after printing why; with --dump, prints the supervisor words and the request
 * (hex), and returns 0 with no request. */
int alcove_cli_parse(struct alcove_cli *cli, int argc, char *argv[]);

/* Puts /dev/null, read-only and close-on-exec, on each descriptor the command line names
 * that is not open: the supervisor's own descriptors, made later, cannot take those
 * numbers, and a report written there fails with EBADF, as on a closed one (bubblewrap's
 * "Write to info_fd: Bad file descriptor"); a --block one reads end of file. */
void alcove_cli_reserve(const struct alcove_cli *cli);

/* Prints that the executable is not of the command line's ABI; returns the exit status. */
int alcove_cli_abi_mismatch(int abi);

/* Spawns the command and supervises it; returns the exit status. */
int alcove_cli_run(struct alcove_state *ap, struct alcove_cli *cli);

/* The signals the supervisor leaves to their default action (alcove_signal_init). */
uint64_t alcove_cli_default_signals(void);

#endif
