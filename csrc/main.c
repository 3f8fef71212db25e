/* The root control process: exec'd by the host with its stdin and stdout as the
 * control channel. It greets the host, then runs the event loop until the host
 * closes its stdin. */
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
#include <unistd.h>

#include "alcove.h"
#include "constants.h"
#include "frame.h"
#include "support.h"

/* The token the host expects back in the greeting (socket mode). */
static char token[65];

/* The first line of stdin says how to reach the host: "pipes" (stdin and stdout
 * are the control channel) or "socket PATH TOKEN" (connect to a Unix socket).
 * Read a byte at a time: whatever follows the line belongs to the channel. A host
 * that gives this process its own stdin and stdout (the command line, so that
 * programs get the terminal) puts the line in ALCOVE_CHANNEL instead; it is
 * removed from the environment at once, and stdin stays as it is. */
static int handshake(struct alcove_state *ap)
{
    char line[512];
    size_t n = 0;
    int from_env = 0;
    const char *env = getenv("ALCOVE_CHANNEL");
    if (env != NULL) {
        if (strlen(env) >= sizeof(line))
            return -1;
        strcpy(line, env);
        unsetenv("ALCOVE_CHANNEL");
        n = strlen(line);
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
    if (strcmp(line, "pipes") == 0)
        return from_env ? -1 : 0;
    if (strncmp(line, "socket ", 7) != 0)
        return -1;
    char *path = line + 7;
    char *sp = strchr(path, ' ');
    if (sp == NULL || strlen(sp + 1) >= sizeof(token))
        return -1;
    *sp = 0;
    strcpy(token, sp + 1);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path))
        return -1;
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        close(fd);
        return -1;
    }
    /* Before anything else, the token: the host accepts connections until one
     * starts with it, and reads nothing else from the others. */
    size_t sent = 0, want = strlen(token);
    while (sent < want) {
        ssize_t w = write(fd, token + sent, want - sent);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        sent += (size_t)w;
    }
    int size = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    /* stdin has done its job: the channel is the socket now. */
    int null = from_env ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        close(null);
    }
    ap->up_in = ap->up_out = fd;
    return 0;
}

static int hello(struct alcove_state *ap)
{
    size_t start = alcove_frame_begin(&ap->up_wbuf, ALCOVE_UP_HELLO, 0, 0, 0, NULL, 0);
    if (start == (size_t)-1)
        return -1;
    struct alcove_reply r = {.out = &ap->up_wbuf};
    alcove_reply_int(&r, ALCOVE_ABI);
    alcove_reply_bytes(&r, ALCOVE_VERSION, strlen(ALCOVE_VERSION));
    alcove_reply_int(&r, getpid());
    /* The constant tables, so the host can check names before it sends a call. */
    size_t len = (size_t)alcove_constants_text(NULL, 0);
    char *text = malloc(len + 1);
    if (text == NULL)
        return -1;
    alcove_constants_text(text, len);
    alcove_reply_bytes(&r, text, len);
    free(text);
    alcove_reply_bytes(&r, token, strlen(token));
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

/* The descriptors from 3 up become close-on-exec and are listed; more than the list
 * holds are closed. */
static void keep_inherited(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (fd < 3 || fd == dirfd(d))
            continue;
        if (alcove_ninherited < ALCOVE_MAX_INHERITED && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0)
            alcove_inherited_fd[alcove_ninherited++] = fd;
        else
            close(fd);
    }
    closedir(d);
}

int main(int argc, char *argv[])
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "alcove: the root control process takes no arguments; it is started "
                        "by the alcove library\n");
        return 2;
    }
    /* Whatever started us, only stdin, stdout and stderr go further; started for the
     * command line, the other descriptors it inherited stay for its programs. */
    if (getenv("ALCOVE_CHANNEL") != NULL)
        keep_inherited();
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
    if (handshake(ap) < 0) {
        fprintf(stderr, "alcove: no handshake from the host on stdin: the root control process "
                        "is started by the alcove library\n");
        return 2;
    }
    alcove_set_nonblock(ap->up_in);
    alcove_set_nonblock(ap->up_out);
    /* Bigger pipe buffers mean fewer wake-ups for bulk output. */
    if (ap->up_out == 1)
        fcntl(1, F_SETPIPE_SZ, 1 << 20);
    alcove_subreaper(ap, 1);
    if (alcove_signal_init(ap) < 0) {
        fprintf(stderr, "alcove: cannot set up signal handling: %s\n", strerror(errno));
        return 1;
    }
    if (hello(ap) < 0)
        return 1;
    /* cgroups that control processes gone before their programs ended left behind. */
    alcove_cg_remove_stale();
    return alcove_loop(ap) < 0 ? 1 : 0;
}
