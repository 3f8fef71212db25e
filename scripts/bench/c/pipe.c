/* The floor for reading a program's stdout: fork, exec, read the pipe to EOF.
 *
 *   pipe RELAYS BYTES     runs `head -c BYTES /dev/zero`; prints MB/s (10^6 bytes/s)
 *
 * RELAYS=0 reads the program's pipe directly; RELAYS=N puts N processes between
 * it and the reader, each copying its input pipe to its output pipe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

#define CHUNK 65536

/* Starts the stage that writes to `out`: the program, or a relay in front of the
 * rest of the chain. */
static void stage(int out, int relays, const char *bytes)
{
    pid_t pid;
    if (relays == 0) {
        pid = fork();
        if (pid == 0) {
            dup2(out, 1);
            execlp("head", "head", "-c", bytes, "/dev/zero", (char *)NULL);
            _exit(127);
        }
        if (pid < 0) {
            perror("fork");
            exit(1);
        }
        return;
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid > 0)
        return;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int p[2];
    if (pipe(p) < 0)
        _exit(1);
    stage(p[1], relays - 1, bytes);
    close(p[1]);
    static char b[CHUNK];
    for (;;) {
        ssize_t n = read(p[0], b, sizeof(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, b + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                _exit(1);
            off += w;
        }
    }
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pipe RELAYS BYTES\n");
        return 2;
    }
    int relays = atoi(argv[1]);
    long long want = atoll(argv[2]);
    double t0 = now_us();
    int p[2];
    if (pipe(p) < 0) {
        perror("pipe");
        return 1;
    }
    stage(p[1], relays, argv[2]);
    close(p[1]);
    static char b[CHUNK];
    long long got = 0;
    for (;;) {
        ssize_t n = read(p[0], b, sizeof(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += n;
    }
    int status = 0;
    while (wait(&status) > 0 || errno == EINTR)
        ;
    double us = now_us() - t0;
    if (got != want) {
        fprintf(stderr, "pipe: read %lld bytes, expected %lld\n", got, want);
        return 1;
    }
    printf("%.1f\n", (double)got / us);
    return 0;
}
