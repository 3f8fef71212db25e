/* The floor for a call relayed down a chain of processes and answered with getpid().
 *
 *   pingpong rtt DEPTH ITERATIONS PIN       one message in flight: prints µs per round trip
 *   pingpong batch DEPTH ROUNDS BATCH PIN   BATCH messages in flight: prints calls per second
 *
 * The client (this process) is joined by socketpairs to DEPTH relays and then to the
 * process that calls getpid(): the same chain as a driver call at pipeline depth DEPTH.
 * Every hop reads and writes one small message. PIN=0 leaves placement to the
 * scheduler, PIN=1 runs every process on one CPU, PIN=2 puts neighbours on two
 * different CPUs alternately, so that every hop crosses CPUs. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

#define MSG 32
#define BUF 65536

static int batch_mode;
static int pin_mode;
/* The first two CPUs this process may run on (the same one when only one is allowed). */
static unsigned cpus[2];

static void find_cpus(void)
{
    cpu_set_t set;
    unsigned n = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        for (unsigned c = 0; c < CPU_SETSIZE && n < 2; c++)
            if (CPU_ISSET(c, &set))
                cpus[n++] = c;
    if (n == 1)
        cpus[1] = cpus[0];
}

static void pin(unsigned which)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[which], &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0) {
        perror("sched_setaffinity");
        _exit(1);
    }
}

/* Reads exactly n bytes; returns 0 at EOF. */
static int read_full(int fd, unsigned char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("read");
        }
        got += (size_t)r;
    }
    return 1;
}

static void write_full(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("write");
        }
        p += r;
        n -= (size_t)r;
    }
}

/* Answers each whole message with the caller's pid. */
__attribute__((noreturn)) static void serve(int up)
{
    static unsigned char in[BUF], out[BUF];
    size_t have = 0;
    for (;;) {
        ssize_t r = read(up, in + have, sizeof(in) - have);
        if (r == 0)
            _exit(0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("read");
        }
        have += (size_t)r;
        size_t whole = have / MSG * MSG, n = 0;
        for (size_t off = 0; off < whole; off += MSG) {
            pid_t pid = getpid();
            memcpy(out + n, in + off, MSG);
            memcpy(out + n + MSG - sizeof(pid), &pid, sizeof(pid));
            n += MSG;
        }
        write_full(up, out, n);
        memmove(in, in + whole, have - whole);
        have -= whole;
    }
}

/* One message at a time: down, then its answer up. */
__attribute__((noreturn)) static void relay_blocking(int up, int down)
{
    unsigned char m[MSG];
    for (;;) {
        if (!read_full(up, m, MSG))
            _exit(0);
        write_full(down, m, MSG);
        if (!read_full(down, m, MSG))
            _exit(0);
        write_full(up, m, MSG);
    }
}

/* Whatever arrives on either side goes to the other (many messages in flight). */
__attribute__((noreturn)) static void relay_poll(int up, int down)
{
    static unsigned char b[BUF];
    struct pollfd p[2] = {{.fd = up, .events = POLLIN}, {.fd = down, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].revents == 0)
                continue;
            ssize_t r = read(p[i].fd, b, sizeof(b));
            if (r <= 0)
                _exit(0);
            write_full(p[1 - i].fd, b, (size_t)r);
        }
    }
}

/* The process at `level` of the chain: relays while above `depth`, then serves. */
__attribute__((noreturn)) static void chain(int up, int level, int depth)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (pin_mode == 2)
        pin((unsigned)(level + 1) % 2u);
    if (level == depth)
        serve(up);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(up);
        close(sv[0]);
        chain(sv[1], level + 1, depth);
    }
    close(sv[1]);
    if (batch_mode)
        relay_poll(up, sv[0]);
    relay_blocking(up, sv[0]);
}

static int start_chain(int depth)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(sv[0]);
        chain(sv[1], 0, depth);
    }
    close(sv[1]);
    return sv[0];
}

static void end_chain(int fd)
{
    close(fd);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: pingpong rtt DEPTH ITERATIONS PIN | batch DEPTH ROUNDS BATCH PIN\n");
        return 2;
    }
    batch_mode = strcmp(argv[1], "batch") == 0;
    int depth = atoi(argv[2]);
    long iters = atol(argv[3]);
    long batch = batch_mode ? atol(argv[4]) : 1;
    if (depth < 0 || iters <= 0 || batch <= 0 || batch * MSG > BUF) {
        fprintf(stderr, "pingpong: bad arguments\n");
        return 2;
    }
    pin_mode = atoi(argv[batch_mode ? 5 : 4]);
    find_cpus();
    if (pin_mode != 0)
        pin(0);
    int fd = start_chain(depth);
    static unsigned char out[BUF], in[BUF];
    memset(out, 'x', sizeof(out));
    long warm = iters / 10 + 1;
    double t0 = 0;
    for (long i = -warm; i < iters; i++) {
        if (i == 0)
            t0 = now_us();
        write_full(fd, out, (size_t)batch * MSG);
        if (!read_full(fd, in, (size_t)batch * MSG)) {
            fprintf(stderr, "pingpong: the chain ended early\n");
            return 1;
        }
    }
    double us = now_us() - t0;
    end_chain(fd);
    if (batch_mode)
        printf("%.1f\n", (double)(iters * batch) / (us / 1e6));
    else
        printf("%.3f\n", us / (double)iters);
    return 0;
}
