/* The root control process: exec'd by the host, it connects to the host's Unix
 * socket (or uses its stdin and stdout), greets the host, then runs the event loop
 * until the host closes the channel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alcove.h"
#include "cli.h"
#include "compat.h"
#include "constants.h"
#include "frame.h"
#include "support.h"

/* The token the host expects first on the socket, and back in the greeting. */
static char token[65];
/* The build the host holds the constant tables of ("constants=HEX" on the first line):
 * when it is this one, the greeting leaves them out. */
static char constants_known[2 * ALCOVE_BUILD_ID_MAX + 1];
/* Where the host listens, in socket mode ("" in pipe mode). */
static struct sockaddr_un host_addr;

extern char **environ;

/* The value of ALCOVE_CHANNEL in the environment block itself (not a copy), or NULL. */
static char *channel_variable(void)
{
    static const char name[] = "ALCOVE_CHANNEL=";
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, sizeof(name) - 1) == 0)
            return *e + sizeof(name) - 1;
    return NULL;
}

/* The next word of `*rest` (words are separated by one space), NUL-terminated in place;
 * NULL at the end. */
static char *next_word(char **rest)
{
    char *word = *rest;
    if (*word == 0)
        return NULL;
    char *sp = strchr(word, ' ');
    if (sp != NULL) {
        *sp = 0;
        *rest = sp + 1;
    } else
        *rest = word + strlen(word);
    return word;
}

/* The first line says how to reach the host: "pipes" (stdin and stdout are the
 * control channel) or "socket PATH TOKEN" (connect to a Unix socket). It is in
 * ALCOVE_CHANNEL, which is removed from the environment at once (so that nothing
 * started from here inherits it), when the host started this process directly (no
 * other user may read its environment) or gave it its own stdin and stdout (the
 * command line, so that programs get the terminal): stdin then stays as it is.
 * Otherwise it is the first line of stdin, read a byte at a time: whatever follows
 * the line belongs to the channel. "socket PATH TOKEN inherit" comes from a host that
 * gave this process its own stdio (the command line): the other descriptors this
 * process inherited stay, for its programs (`*keep_fds`). Either may end with
 * "constants=HEX", the build ID of the control process whose constant tables the host
 * holds (see hello). Returns 1 for a socket, 0 for pipes, -1 when the line is missing or
 * malformed. */
static int channel_line(int *keep_fds)
{
    char line[512];
    size_t n = 0;
    int from_env = 0;
    char *env = channel_variable();
    if (env != NULL) {
        size_t len = strlen(env);
        if (len >= sizeof(line))
            return -1;
        memcpy(line, env, len + 1);
        /* The text stays readable in /proc/PID/environ (to this user) after unsetenv:
         * wipe it, token included. */
        memset(env, 0, len);
        unsetenv("ALCOVE_CHANNEL");
        n = len;
        from_env = 1;
    }
    while (!from_env && n < sizeof(line) - 1) {
        ssize_t r = read(0, line + n, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = 0;
    char *rest = line;
    const char *kind = next_word(&rest);
    int socket_mode = kind != NULL && strcmp(kind, "socket") == 0;
    if (!socket_mode && (kind == NULL || strcmp(kind, "pipes") != 0 || from_env))
        return -1;
    const char *path = socket_mode ? next_word(&rest) : NULL;
    const char *tok = socket_mode ? next_word(&rest) : NULL;
    if (socket_mode && tok == NULL)
        return -1;
    for (const char *word; (word = next_word(&rest)) != NULL;) {
        if (socket_mode && strcmp(word, "inherit") == 0)
            *keep_fds = 1;
        else if (strncmp(word, "constants=", 10) == 0 &&
                 strlen(word + 10) < sizeof(constants_known))
            strcpy(constants_known, word + 10);
        else
            return -1;
    }
    if (!socket_mode)
        return 0;
    if (strlen(tok) >= sizeof(token))
        return -1;
    strcpy(token, tok);
    host_addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(host_addr.sun_path))
        return -1;
    strcpy(host_addr.sun_path, path);
    /* stdin has done its job: the channel is the socket. */
    if (!from_env) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            close(null);
        }
    }
    return 1;
}

/* Over pipes, the channel is stdin and stdout: it moves above 2 and /dev/null takes their
 * place, so that a program spawned with stdio "inherit" gets no end of it (it would read the
 * host's calls, or write into the replies). */
static int move_pipe_channel(struct alcove_state *ap)
{
    int in = fcntl(0, F_DUPFD_CLOEXEC, 3);
    int out = in < 0 ? -1 : fcntl(1, F_DUPFD_CLOEXEC, 3);
    int null = out < 0 ? -1 : open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
        return -1;
    close(null);
    ap->up_in = in;
    ap->up_out = out;
    return 0;
}

/* Connects to the host's socket: the channel from now on. */
static int connect_host(struct alcove_state *ap)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* The host starts this process first and makes its socket meanwhile: a socket not
     * there yet (or not listening yet) is tried again, for a second at the most. */
    long waited_us = 0;
    for (long wait_us = 20; connect(fd, (struct sockaddr *)&host_addr, sizeof(host_addr)) < 0;
         wait_us = wait_us < 10000 ? wait_us * 2 : wait_us) {
        if ((errno != ENOENT && errno != ECONNREFUSED) || waited_us >= 1000000) {
            int err = errno;
            close(fd);
            errno = err;
            return -1;
        }
        struct timespec ts = {0, wait_us * 1000};
        nanosleep(&ts, NULL);
        waited_us += wait_us;
    }
    int size = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    ap->up_in = ap->up_out = fd;
    return 0;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && sizeof(long long) == 8,
               "the greeting sends the constant values as they are in memory, which the host "
               "reads as 64-bit little-endian integers");

/* The greeting, after the token in socket mode: the host accepts connections until one
 * starts with the token, and reads nothing else from the others. */
static int hello(struct alcove_state *ap, int socket_mode)
{
    if (socket_mode && alcove_buf_append(&ap->up_wbuf, token, strlen(token)) < 0)
        return -1;
    size_t start = alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_HELLO, 0, 0, 0, NULL, 0);
    if (start == (size_t)-1)
        return -1;
    struct alcove_reply r = {.out = &ap->up_wbuf};
    alcove_reply_int(&r, ALCOVE_ABI);
    alcove_reply_bytes(&r, ALCOVE_VERSION, strlen(ALCOVE_VERSION));
    alcove_reply_int(&r, getpid());
    /* The constant tables, so the host can check names before it sends a call: as they
     * are in this program (a domain's names back to back, each with its NUL, and its
     * values as 64-bit little-endian integers), with nothing to format, for a host that
     * reads only the domains it uses. They are the same in every run of one build: its
     * build ID comes first, and a host that holds them already gets none (40 KB less to
     * write, read and keep at every start). */
    unsigned char id[ALCOVE_BUILD_ID_MAX];
    size_t idlen = alcove_build_id(id, sizeof(id));
    char hex[2 * ALCOVE_BUILD_ID_MAX + 1];
    for (size_t i = 0; i < idlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    hex[2 * idlen] = 0;
    alcove_reply_bytes(&r, id, idlen);
    int known = idlen > 0 && strcmp(hex, constants_known) == 0;
    alcove_reply_list(&r, known ? 0 : ALCOVE_CONST_DOMAINS);
    for (int d = 0; d < ALCOVE_CONST_DOMAINS && !known; d++) {
        const struct alcove_constant_table *t = &alcove_constant_tables[d];
        const char *domain = alcove_constant_domain_names[d];
        alcove_reply_list(&r, 3);
        alcove_reply_bytes(&r, domain, strlen(domain));
        alcove_reply_bytes(&r, t->names, t->names_len);
        alcove_reply_bytes(&r, t->values, t->count * sizeof(long long));
    }
    alcove_reply_bytes(&r, token, strlen(token));
    /* Bytes of a pointer and of a long here: the layout of the structs the calls take. */
    alcove_reply_int(&r, (int64_t)sizeof(void *));
    alcove_frame_end(&ap->up_wbuf, start);
    return 0;
}

static void close_inherited(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
        return;
#endif
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
}

/* The descriptors from 3 up become close-on-exec and are listed, but those `held` by
 * this process itself; more than the list holds are closed. */
static void keep_inherited(const int *held, size_t nheld)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        size_t k = 0;
        while (k < nheld && held[k] != fd)
            k++;
        if (fd < 3 || fd == dirfd(d) || k < nheld) {
            if (k < nheld)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
            continue;
        }
        if (alcove_ninherited < ALCOVE_MAX_INHERITED && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0)
            alcove_inherited_fd[alcove_ninherited++] = fd;
        else
            close(fd);
    }
    closedir(d);
}

/* Writes the greeting whole, in one write where the channel takes it: the host, which
 * waits for it, wakes once. */
static int send_hello(struct alcove_state *ap)
{
    struct alcove_buf *b = &ap->up_wbuf;
    while (alcove_buf_pending(b) > 0) {
        ssize_t n = write(ap->up_out, alcove_buf_head(b), alcove_buf_pending(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        alcove_buf_consume(b, (size_t)n);
    }
    b->off = b->len = 0;
    return 0;
}

int main(int argc, char *argv[])
{
    /* The command line's supervisor (cli.h): the command line became this process. */
    static struct alcove_cli cli;
    int parse_mode = argc > 1 && strcmp(argv[1], "--cli-parse") == 0;
    int cli_mode = parse_mode || (argc > 1 && strcmp(argv[1], "--cli") == 0);
    if (cli_mode) {
        int rv = parse_mode ? alcove_cli_parse(&cli, argc, argv)
                            : alcove_cli_prepare(&cli, argc, argv);
        if (rv != 0 || cli.request == NULL)
            return rv;
        alcove_cli_reserve(&cli);
    } else if (argc > 1) {
        fprintf(stderr, "alcove: the root control process takes no arguments; it is started "
                        "by the alcove library\n");
        return 2;
    }
    /* Started by the library, a stdin, stdout or stderr that came closed is opened on
     * /dev/null: no descriptor this process opens (its channel) may take that number, where
     * programs spawned with stdio "inherit" would write into it. */
    for (int fd = 0; fd < 3 && !cli_mode; fd++)
        alcove_null_if_closed(fd, O_RDWR);
    int keep_fds = cli_mode;
    int socket_mode = cli_mode ? 0 : channel_line(&keep_fds);
    if (socket_mode < 0) {
        fprintf(stderr, "alcove: no handshake from the host: the root control process "
                        "is started by the alcove library\n");
        return 2;
    }
    /* A process group of its own, unless it shares the host's terminal (inheritStdio, the
     * command line): a signal to the host's group (`timeout -s KILL`, `kill -KILL -PGID`)
     * then ends the host and not this process, which ends the tree when the channel
     * closes. Killed along with the host, it would leave its programs' children to init. */
    if (!keep_fds)
        setpgid(0, 0);
    /* Whatever started us, only stdin, stdout and stderr go further; started for the
     * command line, the other descriptors it inherited stay for its programs. */
    if (keep_fds)
        keep_inherited(cli.hold, cli.nhold);
    else
        close_inherited();

    /* Each child costs descriptors: raise the soft limit to the hard one, so that
     * hundreds of children fit (maxchild follows), and give programs started by
     * spawn the limit this process was started with. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        alcove_program_nofile = nofile.rlim_cur;
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    static struct alcove_state state;
    struct alcove_state *ap = &state;
    alcove_state_init(ap, 0, 0, 1);
    if (!cli_mode && !socket_mode && move_pipe_channel(ap) < 0) {
        fprintf(stderr, "alcove: cannot move the channel off stdin and stdout: %s\n",
                strerror(errno));
        return 1;
    }
    alcove_subreaper(ap, 1);
    if (cli_mode)
        ap->keep_ignored = alcove_inherited_ignored();
    if (alcove_signal_init(ap, cli_mode ? alcove_cli_default_signals() : 0) < 0) {
        fprintf(stderr, "alcove: cannot set up signal handling: %s\n", strerror(errno));
        return 1;
    }
    /* cgroups that control processes gone before their programs ended left behind: gone
     * before the loop reads its first call, after the host has heard from us (for the
     * command line, once its command runs). */
    ap->sweep_stale = 1;
    if (cli_mode)
        return alcove_cli_run(ap, &cli);
    /* Everything is ready before the host hears from us: it gets the token and the
     * greeting together. */
    if (hello(ap, socket_mode) < 0)
        return 1;
    if (socket_mode && connect_host(ap) < 0) {
        fprintf(stderr, "alcove: cannot connect to the host's socket: %s\n", strerror(errno));
        return 2;
    }
    /* Bigger pipe buffers mean fewer wake-ups for bulk output. */
    if (ap->up_out == 1)
        alcove_grow_pipe(1, 1 << 20);
    if (send_hello(ap) < 0)
        return 1;
    alcove_set_nonblock(ap->up_in);
    alcove_set_nonblock(ap->up_out);
    return alcove_loop(ap) < 0 ? 1 : 0;
}
