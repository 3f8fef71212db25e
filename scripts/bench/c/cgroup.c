/* The floor for a program in a cgroup with limits: what a cgroup adds to running a
 * program, done with raw system calls.
 *
 *   cgroup COUNT PROGRAM HIERARCHY=DIR...   prints µs added per program by the cgroup
 *
 * Each HIERARCHY=DIR is where to make the cgroups: v2=DIR (placed by clone3
 * CLONE_INTO_CGROUP), memory=DIR, pids=DIR, cpu=DIR, cpuacct=DIR, freezer=DIR (v1: the
 * parent writes the child into cgroup.procs while the child waits on a pipe). For each
 * program, one at a time: fork (or clone3), place, execve, stdout and stderr on pipes read
 * to EOF, waitpid; with the cgroup also mkdir in each hierarchy, the limits (memory 64 MiB,
 * pids 32, cpu 0.5) written to the files of the hierarchy holding each controller, after
 * the exit the same figures spawn reports (one read of cgroup.procs to see that nothing is
 * left to kill, then peak memory, OOM kills, peak pids and CPU time, from the files of
 * whichever hierarchy has them), and rmdir. COUNT programs are run without and COUNT with,
 * alternately; the difference per program is printed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floor.h"

extern char **environ;

#define MAXH 8
static char *kind[MAXH], *parent[MAXH];
static int nh;

static void put(const char *dir, const char *file, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die(path);
    close(fd);
}

/* Reads a file of a cgroup whole, if it exists (a figure spawn reads where it is). */
static void figure(const char *dir, const char *file)
{
    char path[4096], buf[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            die(path);
        return;
    }
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
}

static int given(const char *k)
{
    for (int h = 0; h < nh; h++)
        if (strcmp(kind[h], k) == 0)
            return 1;
    return 0;
}

/* What spawn reads after the exit: whether anything is left, then its usage (memory and
 * pids from v1 where they are there, else from v2). */
static void figures(char dir[][4096])
{
    figure(dir[0], "cgroup.procs");
    for (int h = 0; h < nh; h++) {
        if (strcmp(kind[h], "v2") == 0) {
            if (!given("memory")) {
                figure(dir[h], "memory.peak");
                figure(dir[h], "memory.events");
            }
            if (!given("pids"))
                figure(dir[h], "pids.peak");
            figure(dir[h], "cpu.stat");
        } else if (strcmp(kind[h], "memory") == 0) {
            figure(dir[h], "memory.max_usage_in_bytes");
            figure(dir[h], "memory.oom_control");
        } else if (strcmp(kind[h], "pids") == 0) {
            figure(dir[h], "pids.peak");
        } else if (strcmp(kind[h], "cpuacct") == 0) {
            figure(dir[h], "cpuacct.usage");
        }
    }
}

static void run(char *prog, int with, int n)
{
    char dir[MAXH][4096];
    int v2fd = -1, v2 = -1;
    if (with) {
        for (int h = 0; h < nh; h++) {
            snprintf(dir[h], sizeof(dir[h]), "%s/floor-%d-%d", parent[h], (int)getpid(), n);
            if (mkdir(dir[h], 0755) < 0)
                die("cgroup: mkdir");
            if (strcmp(kind[h], "v2") == 0) {
                v2 = h;
                if ((v2fd = open(dir[h], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                    die("cgroup: open");
            } else if (strcmp(kind[h], "memory") == 0) {
                put(dir[h], "memory.limit_in_bytes", "67108864");
            } else if (strcmp(kind[h], "pids") == 0) {
                put(dir[h], "pids.max", "32");
            } else if (strcmp(kind[h], "cpu") == 0) {
                put(dir[h], "cpu.cfs_period_us", "100000");
                put(dir[h], "cpu.cfs_quota_us", "50000");
            }
        }
    }
    int out[2], err[2], sync[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0)
        die("cgroup: pipe2");
    pid_t pid;
    if (v2fd >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof(args));
        args.flags = CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (unsigned)v2fd;
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
    } else {
        pid = fork();
    }
    if (pid == 0) {
        char c;
        if (with && read(sync[0], &c, 1) != 1)
            _exit(127);
        dup2(out[1], 1);
        dup2(err[1], 2);
        char *argv[] = {prog, NULL};
        execve(prog, argv, environ);
        _exit(127);
    }
    if (pid < 0)
        die("cgroup: fork");
    if (with) {
        char text[32];
        snprintf(text, sizeof(text), "%d", (int)pid);
        for (int h = 0; h < nh; h++)
            if (h != v2)
                put(dir[h], "cgroup.procs", text);
        if (write(sync[1], "", 1) != 1)
            die("cgroup: write");
    }
    close(out[1]);
    close(err[1]);
    close(sync[0]);
    close(sync[1]);
    char buf[4096];
    while (read(out[0], buf, sizeof(buf)) > 0)
        ;
    while (read(err[0], buf, sizeof(buf)) > 0)
        ;
    close(out[0]);
    close(err[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("cgroup: the program failed");
    if (with) {
        figures(dir);
        if (v2fd >= 0)
            close(v2fd);
        for (int h = 0; h < nh; h++)
            if (rmdir(dir[h]) < 0)
                die("cgroup: rmdir");
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: cgroup COUNT PROGRAM HIERARCHY=DIR...\n");
        return 2;
    }
    int count = atoi(argv[1]);
    for (int i = 3; i < argc && nh < MAXH; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL)
            die("cgroup: HIERARCHY=DIR expected");
        *eq = 0;
        kind[nh] = argv[i];
        parent[nh++] = eq + 1;
    }
    /* Alternately without and with, so that a drift of the machine's load falls on both. */
    double without = 0, with = 0;
    for (int i = 0; i < count; i++) {
        double t0 = now_us();
        run(argv[2], 0, i);
        double t1 = now_us();
        run(argv[2], 1, i);
        double t2 = now_us();
        without += t1 - t0;
        with += t2 - t1;
    }
    printf("%.1f\n", (with - without) / count);
    return 0;
}
