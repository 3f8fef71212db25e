/* The floor for running a program to completion: posix_spawn (or fork and
 * execve) and waitpid.
 *
 *   spawn MODE COUNT INFLIGHT PROGRAM    prints µs per program run (wall time / COUNT)
 *
 * MODE is one of
 *   piped        posix_spawn with the program's stdin, stdout and stderr on pipes, its
 *                output read to EOF, then waitpid: the job a driver (or Deno.Command's
 *                output()) does for each program, and the floor the benchmark uses
 *   posix_spawn  posix_spawn and waitpid, the program sharing this process's stdio
 *   fork         fork, execve and waitpid, likewise
 *   confined     as piped, from vfork, the child clearing every capability set first
 *                (the bounding set one capability at a time, then permitted, effective,
 *                inheritable and ambient) and setting no_new_privs: what the driver's
 *                spawn does by default (its `capabilities` option), for reference
 * INFLIGHT=1 runs one at a time; otherwise INFLIGHT stay running, a new one started
 * as each is reaped. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

extern char **environ;

enum mode { PIPED, SPAWN, FORK, CONFINED };
static enum mode mode;

/* The program's stdio on pipes, read by this process. */
static int piped(void)
{
    return mode == PIPED || mode == CONFINED;
}

/* In the child of vfork: only system calls, then exec or _exit. */
static void confine_and_exec(char *prog, char **argv, int p[3][2])
{
    if (dup2(p[0][0], 0) < 0 || dup2(p[1][1], 1) < 0 || dup2(p[2][1], 2) < 0)
        _exit(126);
    for (unsigned long cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
            break;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
    if (syscall(SYS_capset, &hdr, data) < 0 ||
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit(126);
    execve(prog, argv, environ);
    _exit(127);
}

struct run {
    pid_t pid;
    int in, out, err; /* this side of the pipes; -1 once closed */
};

static void start(char *prog, struct run *r)
{
    char *argv[] = {prog, NULL};
    r->in = r->out = r->err = -1;
    if (mode == FORK) {
        r->pid = fork();
        if (r->pid == 0) {
            execve(prog, argv, environ);
            _exit(127);
        }
        if (r->pid < 0)
            die("spawn: fork");
        return;
    }
    posix_spawn_file_actions_t fa, *fap = NULL;
    int p[3][2];
    if (piped()) {
        for (int i = 0; i < 3; i++)
            if (pipe2(p[i], O_CLOEXEC) < 0)
                die("spawn: pipe2");
    }
    if (mode == CONFINED) {
        r->pid = vfork();
        if (r->pid == 0)
            confine_and_exec(prog, argv, p);
        if (r->pid < 0)
            die("spawn: vfork");
    } else {
        if (mode == PIPED) {
            posix_spawn_file_actions_init(&fa);
            posix_spawn_file_actions_adddup2(&fa, p[0][0], 0);
            posix_spawn_file_actions_adddup2(&fa, p[1][1], 1);
            posix_spawn_file_actions_adddup2(&fa, p[2][1], 2);
            fap = &fa;
        }
        int err = posix_spawn(&r->pid, prog, fap, NULL, argv, environ);
        if (err != 0) {
            fprintf(stderr, "spawn: posix_spawn %s: %s\n", prog, strerror(err));
            exit(1);
        }
        if (mode == PIPED)
            posix_spawn_file_actions_destroy(&fa);
    }
    if (piped()) {
        close(p[0][0]);
        close(p[1][1]);
        close(p[2][1]);
        r->in = p[0][1];
        r->out = p[1][0];
        r->err = p[2][0];
    }
}

static void reap(pid_t pid)
{
    int status;
    pid_t got;
    do
        got = waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "spawn: the program failed\n");
        exit(1);
    }
}

static void drain(int *fd)
{
    char buf[4096];
    ssize_t n = read(*fd, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

/* Waits until one program has ended (for a piped one: its output is at EOF) and
 * reaps it; returns its slot. */
static long finish_one(struct run *runs, long n)
{
    if (!piped()) {
        int status;
        pid_t pid = wait(&status);
        if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn: the program failed\n");
            exit(1);
        }
        for (long i = 0; i < n; i++)
            if (runs[i].pid == pid)
                return i;
        fprintf(stderr, "spawn: reaped an unknown child\n");
        exit(1);
    }
    struct pollfd pfd[2 * 64];
    long who[2 * 64];
    for (;;) {
        nfds_t k = 0;
        for (long i = 0; i < n; i++) {
            if (runs[i].out < 0 && runs[i].err < 0) {
                close(runs[i].in);
                reap(runs[i].pid);
                return i;
            }
            if (runs[i].out >= 0) {
                pfd[k] = (struct pollfd){.fd = runs[i].out, .events = POLLIN};
                who[k++] = i;
            }
            if (runs[i].err >= 0) {
                pfd[k] = (struct pollfd){.fd = runs[i].err, .events = POLLIN};
                who[k++] = i;
            }
        }
        if (poll(pfd, k, -1) < 0 && errno != EINTR)
            die("spawn: poll");
        for (nfds_t j = 0; j < k; j++) {
            if (pfd[j].revents == 0)
                continue;
            struct run *r = &runs[who[j]];
            drain(pfd[j].fd == r->out ? &r->out : &r->err);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: spawn piped|posix_spawn|fork|confined COUNT INFLIGHT PROGRAM\n");
        return 2;
    }
    if (strcmp(argv[1], "piped") == 0)
        mode = PIPED;
    else if (strcmp(argv[1], "posix_spawn") == 0)
        mode = SPAWN;
    else if (strcmp(argv[1], "fork") == 0)
        mode = FORK;
    else if (strcmp(argv[1], "confined") == 0)
        mode = CONFINED;
    else {
        fprintf(stderr, "spawn: unknown mode %s\n", argv[1]);
        return 2;
    }
    long count = atol(argv[2]), inflight = atol(argv[3]);
    if (count <= 0 || inflight <= 0 || inflight > 64)
        return 2;
    struct run runs[64];
    for (long i = 0; i < inflight && i < 4; i++) { /* warm up */
        start(argv[4], &runs[0]);
        finish_one(runs, 1);
    }
    double t0 = now_us();
    long started = 0, running = 0;
    while (started < count || running > 0) {
        while (running < inflight && started < count) {
            start(argv[4], &runs[running]);
            started++;
            running++;
        }
        long done = finish_one(runs, running);
        runs[done] = runs[--running];
    }
    printf("%.3f\n", (now_us() - t0) / (double)count);
    return 0;
}
