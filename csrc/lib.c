/* libalcove.so: what the host process loads with dlopen. The same call
 * implementations as the control process, run synchronously in the host
 * ("local"), and the identity the host checks right after loading. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
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
__attribute__((visibility("default"))) long long alcove_cli_exec(const char *helper,
                                                                  const char *words,
                                                                  size_t words_len,
                                                                  const unsigned char *request,
                                                                  size_t len);

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


static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A descriptor that reads back `len` bytes of `request` and survives execve: a memory
 * file, or where there is none a pipe, when the request fits in it. -errno on failure. */
static int request_fd(const unsigned char *request, size_t len)
{
    int fd = -1, err = ENOSYS;
#ifdef SYS_memfd_create
    fd = (int)syscall(SYS_memfd_create, "alcove-request", 0u);
    err = errno;
#endif
    if (fd >= 0) {
        int rv = write_all(fd, request, len);
        if (rv == 0 && lseek(fd, 0, SEEK_SET) < 0)
            rv = -errno;
        if (rv < 0)
            close(fd);
        return rv < 0 ? rv : fd;
    }
    int p[2];
    if (len > 65536 || pipe(p) < 0)
        return -err;
    int rv = write_all(p[1], request, len);
    close(p[1]);
    if (rv < 0)
        close(p[0]);
    return rv < 0 ? rv : p[0];
}

/* The command line's last step (cli.h): this process becomes the executable `helper`
 * (its argv: helper, the NUL-terminated words in `words`, then "--request" and the number
 * of a descriptor holding `request`), with this process's environment. Returns only on
 * failure: -errno. */
long long alcove_cli_exec(const char *helper, const char *words, size_t words_len,
                          const unsigned char *request, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < words_len; i++)
        n += words[i] == 0;
    if (words_len > 0 && words[words_len - 1] != 0)
        return -EINVAL;
    char **argv = calloc(n + 4, sizeof(char *));
    if (argv == NULL)
        return -ENOMEM;
    int fd = request_fd(request, len);
    if (fd < 0) {
        free(argv);
        return fd;
    }
    char number[16];
    snprintf(number, sizeof(number), "%d", fd);
    /* execv takes char *const[] and never writes through it */
    union {
        const char *c;
        char *m;
    } u = {.c = helper};
    size_t k = 0;
    argv[k++] = u.m;
    for (size_t i = 0; i < words_len; i += strlen(words + i) + 1) {
        u.c = words + i;
        argv[k++] = u.m;
    }
    u.c = "--request";
    argv[k++] = u.m;
    argv[k++] = number;
    argv[k] = NULL;
    execv(helper, argv);
    int err = errno;
    close(fd);
    free(argv);
    return -err;
}
