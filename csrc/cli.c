/* The command line's supervisor (see cli.h): the root event loop with the command line
 * as its in-process host. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "compat.h"
#include "constants.h"
#include "frame.h"
#include "sandbox.h"
#include "support.h"

#define NAMESPACES alcove_cli_namespaces
#define NNAMESPACES ALCOVE_CLI_NNAMESPACES

const char *const alcove_cli_namespaces[ALCOVE_CLI_NNAMESPACES] = {"cgroup", "ipc", "mnt", "net",
                                                                  "pid",    "uts", "user"};
_Static_assert(NNAMESPACES <= sizeof(((struct alcove_cli *)0)->ns_inode) /
                                  sizeof(((struct alcove_cli *)0)->ns_inode[0]),
               "ns_inode holds every namespace of the table");

/* The spawn call's id: the only call this host makes. */
#define SPAWN_ID 1u

static int cli_fail(const char *what, const char *detail)
{
    fprintf(stderr, "alcove: --cli: %s%s\n", what, detail);
    return ALCOVE_EXIT_SETUP;
}

static int parse_fd(const char *s, int *fd)
{
    char *end;
    errno = 0;
    long v = s == NULL ? -1 : strtol(s, &end, 10);
    if (s == NULL || errno != 0 || end == s || *end != 0 || v < 0 || v > 0x7fffffffL)
        return -1;
    *fd = (int)v;
    return 0;
}

static int parse_report(struct alcove_cli *cli, const char *list)
{
    while (*list != 0) {
        size_t n = strcspn(list, ",");
        size_t i = 0;
        while (i < NNAMESPACES && !(strlen(NAMESPACES[i]) == n && strncmp(NAMESPACES[i], list, n) == 0))
            i++;
        if (i == NNAMESPACES || n == 0)
            return -1;
        cli->report |= 1u << i;
        list += n;
        if (*list == ',')
            list++;
    }
    return 0;
}

/* The request, as the spawn call's payload: one BYTES value (tag, length, bytes, NUL). */
static int read_request(struct alcove_cli *cli, int fd)
{
    size_t cap = 65536, len = 5;
    unsigned char *buf = malloc(cap);
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        if (cap - len < 2) {
            if (cap > ALCOVE_MAX_REQUEST) {
                free(buf);
                return -E2BIG;
            }
            unsigned char *p = realloc(buf, cap * 2);
            if (p == NULL) {
                free(buf);
                return -ENOMEM;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            free(buf);
            return -err;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[0] = ALCOVE_VAL_BYTES;
    alcove_put_u32(buf + 1, (uint32_t)(len - 5));
    buf[len++] = 0;
    cli->request = buf;
    cli->request_len = len;
    return 0;
}

void alcove_cli_reserve(const struct alcove_cli *cli)
{
    /* The held ones include those it reports on and waits on (alcove_cli_words). Read-only:
     * a report written there fails with EBADF. */
    for (size_t i = 0; i < cli->nhold; i++)
        alcove_null_if_closed(cli->hold[i], O_RDONLY | O_CLOEXEC);
}

int alcove_cli_abi_mismatch(int abi)
{
    fprintf(stderr,
            "alcove: the control process executable is ABI %d, the command line needs ABI "
            "%d: rebuild the native files (deno task build)\n",
            ALCOVE_ABI, abi);
    return ALCOVE_EXIT_SETUP;
}

int alcove_cli_prepare(struct alcove_cli *cli, int argc, char *argv[])
{
    memset(cli, 0, sizeof(*cli));
    cli->info_fd = cli->json_fd = cli->userns_block = -1;
    return alcove_cli_words(cli, argc, argv);
}

int alcove_cli_words(struct alcove_cli *cli, int argc, char *argv[])
{
    int request = -1, abi = -1;
    int close_fds[ALCOVE_CLI_MAX_FDS];
    size_t nclose = 0;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--forward-interrupts") == 0) {
            cli->forward_interrupts = 1;
            continue;
        }
        if (strcmp(opt, "--die-with-parent") == 0) {
            cli->die_with_parent = 1;
            continue;
        }
        const char *val = i + 1 < argc ? argv[++i] : NULL;
        int fd = -1;
        if (strcmp(opt, "--report") == 0) {
            if (val == NULL || parse_report(cli, val) < 0)
                return cli_fail("bad --report: ", val == NULL ? "(missing)" : val);
            continue;
        }
        if (parse_fd(val, &fd) < 0)
            return cli_fail(opt, " takes a descriptor number");
        if (strcmp(opt, "--abi") == 0)
            abi = fd;
        else if (strcmp(opt, "--request") == 0)
            request = fd;
        else if (strcmp(opt, "--info-fd") == 0)
            cli->info_fd = fd;
        else if (strcmp(opt, "--json-status-fd") == 0)
            cli->json_fd = fd;
        else if (strcmp(opt, "--hold") == 0 && cli->nhold < ALCOVE_CLI_MAX_FDS)
            cli->hold[cli->nhold++] = fd;
        else if (strcmp(opt, "--close") == 0 && nclose < ALCOVE_CLI_MAX_FDS)
            close_fds[nclose++] = fd;
        else if (strcmp(opt, "--block") == 0 && cli->nblock < ALCOVE_CLI_MAX_FDS)
            cli->block[cli->nblock++] = fd;
        else if (strcmp(opt, "--userns-block") == 0)
            cli->userns_block = fd;
        else
            return cli_fail("unknown option, or given too often: ", opt);
    }
    if (abi != ALCOVE_ABI)
        return alcove_cli_abi_mismatch(abi);
    if (request >= 0) {
        int rv = read_request(cli, request);
        close(request);
        if (rv < 0)
            return cli_fail("cannot read the request: ", strerror(-rv));
    } else if (cli->request == NULL) {
        return cli_fail("no --request descriptor", "");
    }
    /* The descriptors it holds are reported on, waited on or kept, not passed on. */
    int mine[ALCOVE_CLI_MAX_FDS + 3];
    size_t nmine = 0;
    mine[nmine++] = cli->info_fd;
    mine[nmine++] = cli->json_fd;
    mine[nmine++] = cli->userns_block;
    for (size_t i = 0; i < cli->nblock; i++)
        mine[nmine++] = cli->block[i];
    for (size_t i = 0; i < nmine; i++)
        if (mine[i] >= 0 && cli->nhold < ALCOVE_CLI_MAX_FDS)
            cli->hold[cli->nhold++] = mine[i];
    for (size_t i = 0; i < nclose; i++) {
        size_t k = 0;
        while (k < cli->nhold && cli->hold[k] != close_fds[i])
            k++;
        if (k == cli->nhold)
            close(close_fds[i]);
    }
    return 0;
}

static int write_all(int fd, const char *text)
{
    size_t len = strlen(text);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        off += (size_t)n;
    }
    return 0;
}

/* A number of milliseconds from microseconds, as JSON.stringify prints n / 1000. */
static void put_ms(char *out, size_t cap, int64_t us)
{
    int64_t whole = us / 1000, frac = us % 1000;
    if (frac < 0)
        frac = -frac;
    if (frac == 0) {
        snprintf(out, cap, "%" PRId64, whole);
        return;
    }
    char digits[4];
    snprintf(digits, sizeof(digits), "%03d", (int)frac);
    for (int i = 2; i > 0 && digits[i] == '0'; i--)
        digits[i] = 0;
    snprintf(out, cap, "%s%" PRId64 ".%s", us < 0 && whole == 0 ? "-" : "", whole, digits);
}

/* Facts as one JSON object, laid out as bubblewrap's: on one line (--json-status-fd), or
 * as JSON.stringify(facts, null, 4) (--info-fd). */
static void json_object(char *out, size_t cap, char keys[][64], char values[][32], size_t n,
                        int pretty)
{
    size_t off = (size_t)snprintf(out, cap, "%s", pretty ? "{\n" : "{ ");
    for (size_t i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(out + off, cap - off, "%s\"%s\": %s%s", pretty ? "    " : "",
                                keys[i], values[i],
                                i + 1 < n ? (pretty ? ",\n" : ", ") : (pretty ? "\n" : ""));
    if (off < cap)
        snprintf(out + off, cap - off, "%s", pretty ? "}\n" : " }\n");
}

/* The inode of /proc/PID/ns/NAME, 0 when it cannot be read. */
static unsigned long long ns_inode(pid_t pid, const char *name)
{
    char path[64], link[128];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
    ssize_t len = readlink(path, link, sizeof(link) - 1);
    if (len <= 0)
        return 0;
    link[len] = 0;
    char *open = strchr(link, '['), *end;
    if (open == NULL)
        return 0;
    errno = 0;
    unsigned long long inode = strtoull(open + 1, &end, 10);
    return errno == 0 && end != open + 1 && *end == ']' ? inode : 0;
}

/* Where the command's pid namespace is told: joining one (--pidns, --userns), the process
 * spawned stays outside and relays, its children in the namespace (and with --unshare-pid
 * too, one more relays from inside the joined one, its children in the new one). Each relay
 * has one child, its pid namespace not its children's: past those, the command's process,
 * whose children's namespace is its own. */
static pid_t pid_namespace_holder(pid_t pid)
{
    for (int depth = 0; depth < 3; depth++) {
        pid_t child[2];
        if (ns_inode(pid, "pid") == ns_inode(pid, "pid_for_children") ||
            alcove_children_of(pid, child, 2) != 1) /* not exactly one child */
            break;
        pid = child[0];
    }
    return pid;
}

/* The inodes of the reported namespaces `pid` is in; one that cannot be read is 0. The pid
 * namespace is the one its children are in (see pid_namespace_holder): the command's. */
static void read_namespaces(struct alcove_cli *cli, pid_t pid)
{
    for (size_t i = 0; i < NNAMESPACES; i++) {
        cli->ns_inode[i] = 0;
        if (!(cli->report & (1u << i)))
            continue;
        cli->ns_inode[i] = strcmp(NAMESPACES[i], "pid") == 0
                               ? ns_inode(pid_namespace_holder(pid), "pid_for_children")
                               : ns_inode(pid, NAMESPACES[i]);
    }
}

/* What --info-fd and the first --json-status-fd line say: the command's pid and the
 * namespaces it is in. */
static void report_started(struct alcove_cli *cli, pid_t pid)
{
    char keys[NNAMESPACES + 1][64];
    char values[NNAMESPACES + 1][32];
    size_t n = 0;
    cli->started = 1;
    snprintf(keys[n], sizeof(keys[n]), "child-pid");
    snprintf(values[n++], sizeof(values[0]), "%d", (int)pid);
    for (size_t i = 0; i < NNAMESPACES; i++) {
        if (cli->ns_inode[i] == 0)
            continue;
        snprintf(keys[n], sizeof(keys[n]), "%s-namespace", NAMESPACES[i]);
        snprintf(values[n++], sizeof(values[0]), "%llu", cli->ns_inode[i]);
    }
    char text[2048];
    int rv = 0;
    if (cli->info_fd >= 0) {
        json_object(text, sizeof(text), keys, values, n, 1);
        rv = write_all(cli->info_fd, text);
        close(cli->info_fd);
        cli->info_fd = -1;
    }
    if (rv == 0 && cli->json_fd >= 0) {
        json_object(text, sizeof(text), keys, values, n, 0);
        rv = write_all(cli->json_fd, text);
    }
    if (rv < 0)
        cli->info_failed = -rv;
}

/* After a failed report the command is ended as soon as it is known to run. */
static void end_unreported(struct alcove_cli *cli)
{
    if (cli->info_failed != 0 && cli->pid > 0 && kill(-cli->pid, SIGKILL) < 0)
        kill(cli->pid, SIGKILL);
}

/* The signals that would end bubblewrap while it waits. */
static void ending_signals(sigset_t *ending)
{
    static const int sigs[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};
    sigemptyset(ending);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        /* Not one it was started with ignored (nohup): a blocked signal is queued even when
         * ignored, and would end the wait. */
        struct sigaction now;
        if (sigaction(sigs[i], NULL, &now) == 0 && now.sa_handler == SIG_IGN)
            continue;
        sigaddset(ending, sigs[i]);
    }
}

/* Reads one byte, as bubblewrap does: it goes on when the descriptor cannot be read (at
 * once when it does not block). A signal that would end bubblewrap while it waits (SIGTERM,
 * SIGHUP, SIGINT, SIGQUIT) ends the wait instead: the command never runs, and this process
 * ends by that signal once it has cleaned up (alcove_cli_run). Returns 0, or the signal. */

static int wait_on(int fd)
{
    sigset_t ending, before;
    ending_signals(&ending);
    /* Blocked here (the spawn may have let them through already), so that one that comes
     * now is read from the signalfd rather than given to the command once it runs. */
    sigprocmask(SIG_BLOCK, &ending, &before);
    int sfd = -1;
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK))
        sfd = signalfd(-1, &ending, SFD_CLOEXEC);
    int sig = 0;
    while (sfd >= 0) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN, .revents = 0},
                              {.fd = sfd, .events = POLLIN, .revents = 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        struct signalfd_siginfo si;
        if (p[1].revents & POLLIN && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            sig = (int)si.ssi_signo;
            break;
        }
        if (p[0].revents != 0)
            break;
    }
    if (sfd >= 0)
        close(sfd);
    char c;
    while (sig == 0 && read(fd, &c, 1) < 0 && errno == EINTR)
        ;
    close(fd);
    sigprocmask(SIG_SETMASK, &before, NULL);
    return sig;
}

/* The report and the waits of the spawn's hook (below). */
static int report_and_wait(struct alcove_cli *cli, pid_t pid, int made)
{
    if (made && (cli->info_fd >= 0 || cli->json_fd >= 0)) {
        read_namespaces(cli, pid);
        report_started(cli, pid);
        if (cli->info_failed != 0)
            return -cli->info_failed; /* it never runs (spawn_answered says why) */
    }
    int mapped = cli->userns_block >= 0;
    if (mapped)
        cli->interrupted = wait_on(cli->userns_block);
    cli->userns_block = -1;
    for (size_t i = 0; i < cli->nblock; i++) {
        if (cli->interrupted == 0)
            cli->interrupted = wait_on(cli->block[i]);
        else
            close(cli->block[i]);
    }
    cli->nblock = 0;
    if (cli->interrupted != 0)
        return -EINTR; /* it never runs */
    return mapped;
}

/* The spawn's hook (alcove_spawned_fn), in bubblewrap's order: with the command's process
 * made and waiting, its pid and namespaces are reported (read now, since the command may
 * end before its spawn is answered), then the --userns-block-fd and --block-fd wait, so
 * that whoever reads the report can act on the process (write its id maps, set up its
 * network) before it goes on. When it joins namespaces itself they are reported once it
 * runs, and the waits are all it does here. */
static int spawned(struct alcove_state *ap, pid_t pid, int made)
{
    struct alcove_cli *cli = ap->host_data;
    /* With a wait to come, the signals that end it are held from before the report: one
     * sent by whoever read the report must end the wait, not reach the handler meanwhile
     * (which leaves SIGINT to the command, and the wait for ever). */
    sigset_t ending, before;
    int waits = cli->userns_block >= 0 || cli->nblock > 0;
    ending_signals(&ending);
    if (waits)
        sigprocmask(SIG_BLOCK, &ending, &before);
    int rv = report_and_wait(cli, pid, made);
    if (waits)
        sigprocmask(SIG_SETMASK, &before, NULL);
    return rv;
}

/* The last --json-status-fd line: bubblewrap's exit-code, then ours. */
static void report_ended(struct alcove_cli *cli, int code, int exit_status, const char *reason,
                         const char *signal)
{
    const int64_t *u = cli->usage;
    char wall[32], user[32], sys[32], cpu[32];
    put_ms(wall, sizeof(wall), cli->has_usage ? u[4] : 0);
    put_ms(user, sizeof(user), cli->has_usage ? u[1] : 0);
    put_ms(sys, sizeof(sys), cli->has_usage ? u[2] : 0);
    char text[1024];
    size_t off = (size_t)snprintf(
        text, sizeof(text),
        "{ \"exit-code\": %d, \"exit-status\": %d, \"reason\": \"%s\", \"signal\": %s%s%s, "
        "\"usage\": {\"wallMs\":%s,\"userMs\":%s,\"systemMs\":%s,\"maxRssKb\":%" PRId64,
        code, exit_status, reason, signal ? "\"" : "", signal ? signal : "null",
        signal ? "\"" : "", wall, user, sys, cli->has_usage ? u[3] : 0);
    if (cli->has_usage && u[5] == 1) {
        /* The cgroup's figures; one not known (-1) is left out, as undefined is. */
        const char *sep = "";
        off += (size_t)snprintf(text + off, sizeof(text) - off, ",\"cgroup\":{");
        if (u[6] >= 0) {
            off += (size_t)snprintf(text + off, sizeof(text) - off, "\"memoryPeak\":%" PRId64,
                                    u[6]);
            sep = ",";
        }
        if (u[7] >= 0) {
            put_ms(cpu, sizeof(cpu), u[7]);
            off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\"cpuMs\":%s", sep, cpu);
            sep = ",";
        }
        if (u[8] >= 0) {
            off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\"pidsPeak\":%" PRId64,
                                    sep, u[8]);
            sep = ",";
        }
        if (u[9] >= 0)
            off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\"oomKills\":%" PRId64,
                                    sep, u[9]);
        off += (size_t)snprintf(text + off, sizeof(text) - off, "}");
    }
    snprintf(text + off, sizeof(text) - off, "} }\n");
    write_all(cli->json_fd, text); /* the reader may have gone away */
}

static void forward(struct alcove_cli *cli, int sig)
{
    if (cli->ended)
        return;
    if (cli->pid == 0) {
        cli->pending |= 1u << sig; /* given to the command once it runs */
        return;
    }
    if (kill(-cli->pid, sig) < 0 && errno == ESRCH)
        kill(cli->pid, sig); /* the command keeps this process's group */
}

static void ended(struct alcove_state *ap, struct alcove_cli *cli, int kind, int value)
{
    cli->ended = 1;
    ap->up_eof = 1; /* the loop ends (and ends anything left behind) */
    if (cli->info_failed != 0) {
        fprintf(stderr, "alcove: Write to info_fd: %s\n", strerror(cli->info_failed));
        cli->code = ALCOVE_EXIT_USAGE;
        return;
    }
    int signaled = kind == ALCOVE_EVENT_TERMSIG;
    int code = signaled ? 128 + value : value;
    const char *signal = NULL;
    char unknown[16];
    if (signaled) {
        signal = alcove_constant_name(ALCOVE_CONST_SIGNAL, value);
        if (signal == NULL) {
            snprintf(unknown, sizeof(unknown), "SIG%d", value);
            signal = unknown;
        }
    }
    int limit = cli->has_usage ? (int)cli->usage[0] : SB_REASON_NONE;
    const char *reason = limit == SB_REASON_SECCOMP ? "seccomp" : signaled ? "signal" : "exit";
    int status = code;
    if (limit == SB_REASON_TIMEOUT) {
        reason = "timeout";
        status = ALCOVE_EXIT_TIMEOUT;
        fprintf(stderr, "alcove: wall-clock limit reached: killed\n");
    } else if (limit == SB_REASON_OUTPUT) {
        reason = "output-limit";
        status = ALCOVE_EXIT_OUTPUT_LIMIT;
        /* A command that ended before it could be killed still had its output cut. */
        fprintf(stderr, "alcove: output limit reached: %s\n",
                signaled ? "killed" : "the rest of the output was dropped");
    } else if (limit == SB_REASON_OOM) {
        reason = "oom";
        status = ALCOVE_EXIT_OOM;
        /* Or a process of its cgroup was, and the command then failed (a shell's). */
        fprintf(stderr, "alcove: out of memory: %s\n",
                signaled ? "killed" : "a process of the command was killed");
    }
    if (cli->json_fd >= 0)
        report_ended(cli, code, status, reason, signal);
    cli->code = status;
}

/* The next value of a frame's payload, when it is of `type`. */
static int take(const unsigned char **p, size_t *left, int type, struct alcove_arg *a)
{
    size_t n = alcove_decode_scalar(*p, *left, a);
    if (n == 0 || a->type != type)
        return -1;
    *p += n;
    *left -= n;
    return 0;
}

/* What the setup report adds to a failed exec's "Cannot run PATH" (" (it is there, its
 * interpreter ... is not)"), or "". */
static const char *exec_hint(const char *what, const char *path)
{
    static const char prefix[] = "Cannot run ";
    size_t n = strlen(path);
    if (strncmp(what, prefix, sizeof(prefix) - 1) != 0 ||
        strncmp(what + sizeof(prefix) - 1, path, n) != 0)
        return "";
    return what + sizeof(prefix) - 1 + n;
}

/* A failed setup step, as the command line prints it (setupFailure in ffi/cli/_driver_run.ts). */
static int setup_failure(const unsigned char *rec, size_t len)
{
    char part[4][256];
    if (len < 4)
        return cli_fail("malformed setup report", "");
    int err = (int)alcove_get_u32(rec);
    size_t off = 4;
    for (int i = 0; i < 4; i++) {
        if (len - off < 4)
            return cli_fail("malformed setup report", "");
        size_t n = alcove_get_u32(rec + off);
        off += 4;
        if (n > len - off)
            return cli_fail("malformed setup report", "");
        size_t k = n < sizeof(part[i]) - 1 ? n : sizeof(part[i]) - 1;
        memcpy(part[i], rec + off, k);
        part[i][k] = 0;
        off += n;
    }
    const char *step = part[0], *what = part[1], *path = part[2], *text = part[3];
    int exec = strcmp(step, "exec") == 0;
    /* These messages are whole, as bubblewrap's: no system error to add. */
    if (exec)
        fprintf(stderr, "alcove: execvp %s: %s%s\n", path, text, exec_hint(what, path));
    else if (strcmp(step, "assert-userns") == 0 || strcmp(step, "userns-join") == 0)
        fprintf(stderr, "alcove: %s\n", what);
    else
        fprintf(stderr, "alcove: %s: %s\n", what, text);
    if (exec)
        return err == ENOENT ? ALCOVE_EXIT_NOT_FOUND : ALCOVE_EXIT_NOT_EXECUTABLE;
    return ALCOVE_EXIT_SETUP;
}

static void spawn_answered(struct alcove_state *ap, struct alcove_cli *cli, unsigned status,
                           const unsigned char *p, size_t left)
{
    struct alcove_arg a;
    if (status == ALCOVE_STATUS_OK && take(&p, &left, ALCOVE_VAL_INT, &a) == 0 && a.i > 0) {
        cli->pid = (pid_t)a.i;
        for (int sig = 1; sig < 32; sig++)
            if (cli->pending & (1u << sig))
                forward(cli, sig);
        cli->pending = 0;
        if (!cli->started && (cli->info_fd >= 0 || cli->json_fd >= 0)) {
            read_namespaces(cli, cli->pid);
            report_started(cli, cli->pid);
        }
        end_unreported(cli);
        return;
    }
    cli->ended = 1;
    ap->up_eof = 1;
    if (cli->interrupted != 0) {
        cli->code = 128 + cli->interrupted; /* and alcove_cli_run ends by the signal */
        return;
    }
    if (cli->info_failed != 0) {
        fprintf(stderr, "alcove: Write to info_fd: %s\n", strerror(cli->info_failed));
        cli->code = ALCOVE_EXIT_USAGE;
        return;
    }
    int has_text = (status != ALCOVE_STATUS_ERRNO || take(&p, &left, ALCOVE_VAL_INT, &a) == 0) &&
                   take(&p, &left, ALCOVE_VAL_BYTES, &a) == 0;
    char text[1024] = "";
    if (has_text)
        snprintf(text, sizeof(text), "%.*s", (int)(a.len < 1000 ? a.len : 1000), a.s);
    if (status == ALCOVE_STATUS_SETUP && has_text) {
        cli->code = setup_failure((const unsigned char *)a.s, a.len);
    } else if ((status == ALCOVE_STATUS_BADARG || status == ALCOVE_STATUS_UNSUPPORTED) &&
               has_text) {
        fprintf(stderr, "alcove: %s\n", text);
        cli->code = ALCOVE_EXIT_USAGE;
    } else {
        fprintf(stderr, "alcove: spawn: %s\n", has_text ? text : "the control process failed");
        cli->code = ALCOVE_EXIT_SETUP;
    }
}

static void host(struct alcove_state *ap, const unsigned char *f, size_t len)
{
    struct alcove_cli *cli = ap->host_data;
    unsigned type = f[4], depth = f[5];
    unsigned code = alcove_get_u16(f + 6);
    size_t hdr = ALCOVE_WIRE_HEADER + 4u * depth;
    if (hdr > len)
        return;
    pid_t lead = depth > 0 ? (pid_t)alcove_get_u32(f + ALCOVE_WIRE_HEADER) : 0;
    const unsigned char *p = f + hdr;
    size_t left = len - hdr;
    struct alcove_arg a;
    if (type == ALCOVE_UP_REPLY && depth == 0 && alcove_get_u32(f + 8) == SPAWN_ID) {
        spawn_answered(ap, cli, code, p, left);
        return;
    }
    if (type != ALCOVE_UP_EVENT)
        return;
    if (code == ALCOVE_EVENT_SIGNAL && depth == 0 && take(&p, &left, ALCOVE_VAL_INT, &a) == 0) {
        int sig = (int)a.i;
        if (sig == SIGTERM || sig == SIGHUP ||
            (cli->forward_interrupts && (sig == SIGINT || sig == SIGQUIT)))
            forward(cli, sig);
        return;
    }
    if (depth != 1 || lead != cli->pid || cli->pid == 0 || cli->ended)
        return;
    if (code == ALCOVE_EVENT_USAGE) {
        size_t i = 0;
        while (i < 10 && take(&p, &left, ALCOVE_VAL_INT, &a) == 0)
            cli->usage[i++] = a.i;
        cli->has_usage = i == 10;
    } else if ((code == ALCOVE_EVENT_EXIT || code == ALCOVE_EVENT_TERMSIG) &&
               take(&p, &left, ALCOVE_VAL_INT, &a) == 0) {
        ended(ap, cli, (int)code, (int)a.i);
    }
}

uint64_t alcove_cli_default_signals(void)
{
    /* The signals a runtime's process would not catch do to this one what they would do
     * to it (a terminal's SIGTSTP stops it, so that its shell sees the job stop): only
     * those it forwards or ignores, SIGCHLD and SIGPIPE stay caught. */
    uint64_t mask = 0;
    for (int sig = 1; sig < 32; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGPIPE ||
            sig == SIGTERM || sig == SIGHUP || sig == SIGINT || sig == SIGQUIT)
            continue;
        mask |= (uint64_t)1 << sig;
    }
    return mask;
}

int alcove_cli_run(struct alcove_state *ap, struct alcove_cli *cli)
{
    /* bwrap's --die-with-parent: the command dies with alcove anyway (its control process
     * ends it), and alcove now dies with the process that started it. */
    if (cli->die_with_parent)
        alcove_die_with_parent();
    ap->host = host;
    ap->host_data = cli;
    ap->spawned = spawned;
    ap->host_fds = cli->hold;
    ap->nhost_fds = cli->nhold;
    ap->up_in = ap->up_out = -1;
    size_t spawn = 0;
    while (spawn < alcove_ncalls && strcmp(alcove_calls[spawn].name, "spawn") != 0)
        spawn++;
    cli->code = ALCOVE_EXIT_SETUP;
    int rv = spawn < alcove_ncalls
                 ? alcove_host_call(ap, (uint16_t)spawn, SPAWN_ID, cli->request, cli->request_len)
                 : -ENOSYS;
    free(cli->request);
    cli->request = NULL;
    if (rv < 0) {
        fprintf(stderr, "alcove: spawn: %s\n", strerror(-rv));
        return ALCOVE_EXIT_SETUP;
    }
    if (alcove_loop(ap) < 0 && !cli->ended) {
        fprintf(stderr, "alcove: the supervisor's event loop failed: %s\n", strerror(errno));
        return ALCOVE_EXIT_SETUP;
    }
    if (cli->interrupted != 0) {
        /* Ended by the signal, as bubblewrap would have been, now that nothing is left. */
        alcove_signal_default(cli->interrupted);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, cli->interrupted);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        raise(cli->interrupted);
    }
    return cli->code;
}
