/* libalcove.so: what the host process loads with dlopen. The same call
 * implementations as the control process, run synchronously in the host
 * ("local"), and the identity the host checks right after loading. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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
