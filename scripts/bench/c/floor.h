/* What every C floor of the benchmarks needs: a clock and a way to fail. */
#ifndef ALCOVE_BENCH_FLOOR_H
#define ALCOVE_BENCH_FLOOR_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inline double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Reports what failed and ends this process; _exit, so that a forked copy never
 * flushes output its parent still owns. */
__attribute__((noreturn)) static inline void die(const char *what)
{
    perror(what);
    _exit(1);
}

#endif
