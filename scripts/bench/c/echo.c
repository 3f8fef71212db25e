/* Writes back whatever it reads on stdin, until EOF: the other end of a bare
 * runtime pipe round trip. Blocked in read, it is also the smallest process to
 * compare a control process's memory with. */
#include <errno.h>
#include <unistd.h>

int main(void)
{
    static unsigned char b[65536];
    for (;;) {
        ssize_t n = read(0, b, sizeof(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, b + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return 1;
            off += w;
        }
    }
}
