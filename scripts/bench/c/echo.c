/* Writes back whatever it reads, until EOF: the other end of a bare runtime
 * round trip, on its stdin and stdout, or on a Unix socket when given the path
 * of one to connect to (the transport a driver uses). Blocked in read, it is
 * also the smallest process to compare a control process's memory with. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static unsigned char b[65536];
    int in = 0, out = 1;
    if (argc > 1) {
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(argv[1]) >= sizeof(addr.sun_path)) {
            fprintf(stderr, "echo: socket path too long\n");
            return 2;
        }
        strcpy(addr.sun_path, argv[1]);
        in = out = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (in < 0 || connect(in, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
            perror("echo: connect");
            return 2;
        }
    }
    for (;;) {
        ssize_t n = read(in, b, sizeof(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, b + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return 1;
            off += w;
        }
    }
}
