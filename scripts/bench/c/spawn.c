/* The floor for running a program to completion: posix_spawn (or fork and
 * execv) and waitpid.
 *
 *   spawn MODE COUNT INFLIGHT PROGRAM    prints µs per program run (wall time / COUNT)
 *
 * MODE is posix_spawn or fork. INFLIGHT=1 runs one at a time; otherwise INFLIGHT
 * stay running, a new one started as each is reaped. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int use_fork;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void start(char *prog)
{
    char *argv[] = {prog, NULL};
    pid_t pid;
    if (use_fork) {
        pid = fork();
        if (pid == 0) {
            execve(prog, argv, environ);
            _exit(127);
        }
        if (pid < 0) {
            perror("spawn: fork");
            exit(1);
        }
        return;
    }
    int err = posix_spawn(&pid, prog, NULL, NULL, argv, environ);
    if (err != 0) {
        fprintf(stderr, "spawn: posix_spawn %s: error %d\n", prog, err);
        exit(1);
    }
}

static void reap(void)
{
    int status;
    if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "spawn: the program failed\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "posix_spawn") != 0 && strcmp(argv[1], "fork") != 0)) {
        fprintf(stderr, "usage: spawn posix_spawn|fork COUNT INFLIGHT PROGRAM\n");
        return 2;
    }
    use_fork = strcmp(argv[1], "fork") == 0;
    long count = atol(argv[2]), inflight = atol(argv[3]);
    if (count <= 0 || inflight <= 0)
        return 2;
    for (long i = 0; i < inflight && i < 4; i++) { /* warm up */
        start(argv[4]);
        reap();
    }
    double t0 = now_us();
    long started = 0, running = 0;
    while (started < count || running > 0) {
        while (running < inflight && started < count) {
            start(argv[4]);
            started++;
            running++;
        }
        reap();
        running--;
    }
    printf("%.3f\n", (now_us() - t0) / (double)count);
    return 0;
}
