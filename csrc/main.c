/* The root control process: exec'd by the host with its stdin and stdout as the
 * control channel. It greets the host, then runs the event loop until the host
 * closes its stdin. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alcove.h"
#include "constants.h"
#include "frame.h"

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
    struct alcove_buf text = {0};
    char line[160];
    for (int d = 0; d < ALCOVE_CONST_DOMAINS; d++) {
        for (size_t i = 0; i < alcove_constant_counts[d]; i++) {
            const struct alcove_constant *c = &alcove_constant_tables[d][i];
            int n = snprintf(line, sizeof(line), "%s\t%s\t%lld\n", alcove_constant_domain_names[d],
                             c->name, c->value);
            if (n > 0 && (size_t)n < sizeof(line))
                alcove_buf_append(&text, line, (size_t)n);
        }
    }
    alcove_reply_bytes(&r, text.data, text.len);
    alcove_buf_free(&text);
    alcove_frame_end(&ap->up_wbuf, start);
    return 0;
}

int main(int argc, char *argv[])
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "alcove: the root control process takes no arguments; it is started "
                        "by the alcove library\n");
        return 2;
    }
    /* Whatever started us, only stdin, stdout and stderr go further. */
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0)
#endif
        for (int fd = 3; fd < 1024; fd++)
            close(fd);

    static struct alcove_state state;
    struct alcove_state *ap = &state;
    alcove_state_init(ap, 0, 0, 1);
    alcove_set_nonblock(0);
    alcove_set_nonblock(1);
    /* Bigger pipe buffers mean fewer wake-ups for bulk output. */
    fcntl(1, F_SETPIPE_SZ, 1 << 20);
    if (alcove_signal_init(ap) < 0) {
        fprintf(stderr, "alcove: cannot set up signal handling: %s\n", strerror(errno));
        return 1;
    }
    if (hello(ap) < 0)
        return 1;
    return alcove_loop(ap) < 0 ? 1 : 0;
}
