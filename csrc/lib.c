/* libalcove.so: what the host process loads with dlopen. The same call
 * implementations as the control process, run synchronously in the host
 * ("local"), and the identity the host checks right after loading. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alcove.h"
#include "constants.h"

__attribute__((visibility("default"))) int alcove_abi(void);
__attribute__((visibility("default"))) const char *alcove_version(void);
__attribute__((visibility("default"))) long long alcove_local_call(unsigned call,
                                                                    const unsigned char *payload,
                                                                    size_t len, unsigned char *out,
                                                                    size_t cap);
__attribute__((visibility("default"))) long long alcove_local_reply(unsigned char *out,
                                                                     size_t cap);
__attribute__((visibility("default"))) long long alcove_constants_text(char *out, size_t cap);
__attribute__((visibility("default"))) int alcove_refuse_strangers(const char *path, int root);
__attribute__((visibility("default"))) int alcove_spawn_root(char *path, char *channel);
__attribute__((visibility("default"))) int alcove_reap(int pid, int wait);
__attribute__((visibility("default"))) int alcove_kill(int pid, int sig);

extern char **environ;

int alcove_abi(void)
{
    return ALCOVE_ABI;
}

const char *alcove_version(void)
{
    return ALCOVE_VERSION;
}

/* A reply too large for the caller's buffer, kept for alcove_local_reply. Per
 * thread: each JS worker calling in is a thread of its own. */
static _Thread_local struct alcove_buf kept;

/* The state the calls in this process share, set up once whichever thread calls first. */
static struct alcove_state local_state;
static pthread_once_t local_once = PTHREAD_ONCE_INIT;

static void local_init(void)
{
    alcove_state_init(&local_state, 0, -1, -1);
    local_state.local = 1;
}

/* Run one call in this process. The reply (u16 status, then the value) is written
 * to `out`; returns its length, or -(needed length) when `cap` is too small, in
 * which case the call has already run and must not be repeated: the reply is kept
 * and alcove_local_reply hands it over. */
long long alcove_local_call(unsigned call, const unsigned char *payload, size_t len,
                            unsigned char *out, size_t cap)
{
    pthread_once(&local_once, local_init);
    struct alcove_buf buf = {0};
    struct alcove_reply r = {.out = &buf};
    if (alcove_buf_reserve(&buf, 2) == NULL)
        return -ENOMEM;
    buf.len = 2;
    alcove_dispatch(&local_state, (uint16_t)(call > 0xffff ? 0xffff : call), payload, len, &r);
    if (r.error != NULL) {
        int status = r.status; /* alcove_reply_bytes marks a reply OK */
        buf.len = 2;
        alcove_reply_bytes(&r, r.error, strlen(r.error));
        r.status = status;
    }
    buf.data[0] = (unsigned char)r.status;
    buf.data[1] = (unsigned char)(r.status >> 8);
    long long n = (long long)buf.len;
    if (buf.len > cap) {
        alcove_buf_free(&kept);
        kept = buf;
        return -n;
    }
    memcpy(out, buf.data, buf.len);
    alcove_buf_free(&buf);
    return n;
}

/* The reply kept by the last alcove_local_call of this thread whose buffer was too
 * small: copies it to `out` and forgets it, returning its length; -(needed length)
 * when `cap` is too small again (it stays kept); 0 when nothing is kept. */
long long alcove_local_reply(unsigned char *out, size_t cap)
{
    if (kept.data == NULL)
        return 0;
    long long n = (long long)kept.len;
    if (kept.len > cap)
        return -n;
    memcpy(out, kept.data, kept.len);
    alcove_buf_free(&kept);
    return n;
}

#if defined(__linux__) && defined(SO_PEERCRED)
/* The parent of `pid` from /proc/PID/stat ("pid (comm) state ppid ..."), or -1. The
 * command name may hold ')' but the fields up to ppid never do: the last ')' read
 * ends it. */
static pid_t parent_of(pid_t pid)
{
    char path[32], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *end = strrchr(buf, ')');
    int ppid;
    if (end == NULL || sscanf(end + 1, " %*c %d", &ppid) != 1)
        return -1;
    return (pid_t)ppid;
}

/* Whether `pid` is `root` or a descendant of it no more than 16 generations down (a
 * prefix such as sudo may fork the control process, and fork again for a pty). */
static int descends_from(pid_t pid, pid_t root)
{
    for (int step = 0; step <= 16 && pid > 1; step++) {
        if (pid == root)
            return 1;
        pid = parent_of(pid);
    }
    return 0;
}

/* Whether `fd` is a connection accepted on the Unix socket bound to `path`: a socket
 * that does not listen, whose own address (the listener's, for an accepted one) is
 * `path`. */
static int accepted_on(int fd, const char *path, size_t plen)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
        return 0;
    int listening = 1;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || listening)
        return 0;
    struct sockaddr_un addr;
    socklen_t alen = sizeof(addr);
    if (getsockname(fd, (struct sockaddr *)&addr, &alen) < 0 || addr.sun_family != AF_UNIX ||
        alen > sizeof(addr))
        return 0;
    size_t n = alen - offsetof(struct sockaddr_un, sun_path);
    return n >= plen && memcmp(addr.sun_path, path, plen) == 0 &&
           (n == plen || addr.sun_path[plen] == '\0');
}
#endif

/* The host's check of who connected to the socket it listens on for the root control
 * process (ffi/_runtime_*.ts): every connection this process accepted on `path` whose
 * peer (SO_PEERCRED, as it was at connect) is neither `root` (the process the host
 * spawned) nor a descendant of it is shut down, so that its reads see EOF and it is
 * closed as any stranger is, before a byte of it is read. Shut down, not closed: the
 * descriptor belongs to the runtime, whose thread that owns these sockets is the one
 * calling. Returns how many it shut down (one refused earlier counts again), or -errno
 * (ENOSYS where there is no SO_PEERCRED). */
int alcove_refuse_strangers(const char *path, int root)
{
#if defined(__linux__) && defined(SO_PEERCRED)
    size_t plen = strlen(path);
    if (plen == 0)
        return -EINVAL; /* no socket is bound to an empty path */
    if (plen >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
        return -ENAMETOOLONG;
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -errno;
    int refused = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || fd < 0 || fd > 0x7fffffff || fd == dirfd(dir) ||
            !accepted_on((int)fd, path, plen))
            continue;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        /* A peer that cannot be told is refused as a stranger. */
        if (getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
            descends_from(cred.pid, (pid_t)root))
            continue;
        if (shutdown((int)fd, SHUT_RDWR) == 0)
            refused++;
    }
    closedir(dir);
    return refused;
#else
    (void)path;
    (void)root;
    return -ENOSYS;
#endif
}

#ifdef __linux__
/* What the root's first process runs, on the caller's stack and memory (CLONE_VM |
 * CLONE_VFORK: the caller sleeps until the exec or the exit): stdin on /dev/null, then the
 * exec, with every signal still blocked. Nothing else needs doing: exec resets the
 * caught signals, and the root, before anything else, sets every signal's action itself
 * (alcove_signal_init), the ones ignored here included, then unblocks them. posix_spawn
 * reads and resets each of the 64 actions in the child, since it cannot know that. */
struct root_exec {
    const char *path;
    char **argv;
    char **envp;
    int err; /* the child's, read by the caller once it has woken */
};

static int null_on(int fd, int flags)
{
    int got = open("/dev/null", flags);
    if (got < 0 || got == fd)
        return got;
    int rv = dup2(got, fd);
    close(got);
    return rv;
}

static int root_exec_child(void *arg)
{
    struct root_exec *r = arg;
    /* The signals the C library keeps for itself stay ignored, as posix_spawn leaves them
     * (the root never sets them; sig.c sets them past the C library). */
    alcove_library_signals(1);
    if (null_on(0, O_RDONLY) >= 0)
        execve(r->path, r->argv, r->envp);
    r->err = errno;
    _exit(127);
}
#endif

/* The host's start of the root control process (ffi/_runtime_deno.ts), where the runtime's
 * own first spawn costs a cold start several milliseconds: `path` with no other argument,
 * stdin on /dev/null, stdout and stderr this process's (where programs spawned with stdio
 * "inherit" write), its signals left for the root to
 * set (on Linux they stay blocked until it has; elsewhere every one is at its default action
 * and none blocked: not the runtime's, Rust ignores SIGPIPE), and this process's environment
 * with `channel` ("NAME=value") in place of any variable of that name. The strings are not
 * changed. Called on a thread of the runtime's pool: the environment is read as it is then
 * (a variable that another thread sets at that moment may be missed). Returns the pid, or
 * -errno, the exec's own failure included. */
int alcove_spawn_root(char *path, char *channel)
{
    const char *eq = strchr(channel, '=');
    if (eq == NULL)
        return -EINVAL;
    size_t nlen = (size_t)(eq - channel) + 1;
    size_t n = 0;
    for (char **e = environ; e != NULL && *e != NULL; e++)
        n++;
    char **envp = calloc(n + 2, sizeof(*envp));
    if (envp == NULL)
        return -ENOMEM;
    size_t k = 0;
    envp[k++] = channel;
    for (size_t i = 0; i < n && environ[i] != NULL; i++)
        if (strncmp(environ[i], channel, nlen) != 0)
            envp[k++] = environ[i];
    envp[k] = NULL;
    char *argv[] = {path, NULL};

#ifdef __linux__
    /* 16 KiB of this thread's stack (a pool thread's is megabytes) for the child. */
    unsigned char stack[16384] __attribute__((aligned(16)));
    struct root_exec r = {path, argv, envp, 0};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(root_exec_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &r);
    int err = pid < 0 ? errno : r.err;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(envp);
    if (pid > 0 && err != 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    return err != 0 ? -err : (int)pid;
#else
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t none, all;
    pid_t pid = -1;
    int err = posix_spawn_file_actions_init(&actions);
    if (err == 0 && (err = posix_spawnattr_init(&attr)) != 0)
        posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        free(envp);
        return -err;
    }
    sigemptyset(&none);
    sigfillset(&all);
    if ((err = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)) == 0 &&
        (err = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
        (err = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
        (err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) ==
            0)
        err = posix_spawn(&pid, path, &actions, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    free(envp);
    return err != 0 ? -err : (int)pid;
#endif
}

/* Reaps the root control process started by alcove_spawn_root once it has exited, waiting
 * for that when `wait` is not 0: its wait status (>= 0), -EAGAIN while it runs (without
 * `wait`), or -errno. */
int alcove_reap(int pid, int wait)
{
    int status;
    pid_t got;
    do
        got = waitpid((pid_t)pid, &status, wait ? 0 : WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return -errno;
    return got == 0 ? -EAGAIN : status;
}

/* kill(2) of the root control process started by alcove_spawn_root: 0 or -errno. */
int alcove_kill(int pid, int sig)
{
    return kill((pid_t)pid, sig) < 0 ? -errno : 0;
}
