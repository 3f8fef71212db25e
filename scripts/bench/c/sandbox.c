/* The floor for a full sandbox: what bubblewrap and spawn do, with raw system calls.
 *
 *   sandbox COUNT INFLIGHT BPF_FILE PROGRAM    prints µs per program run
 *
 * For each run: stdio on pipes; clone into new user, pid, net, mount, uts and ipc
 * namespaces; the parent writes the id maps; the child makes / a slave mount, builds
 * a new root on a tmpfs (ro-bind /usr and /etc, symlinks /bin /lib /lib64 /sbin,
 * proc, a minimal dev, tmpfs /tmp), pivots into it, sets RLIMIT_NOFILE, drops every
 * capability, sets no_new_privs, installs the seccomp program from BPF_FILE and execs
 * PROGRAM; the parent reads the output to EOF and reaps it. Runs as root.
 *
 * The setup takes the steps bubblewrap takes for safety, as spawn does: a remount keeps
 * the flags the mount has (statfs: in a user namespace the kernel refuses to drop locked
 * ones) and is left out when it would change nothing; the mounts below a recursive bind
 * (from /proc/self/mountinfo) get the same read-only remount as its top, or a mount below
 * /etc or /usr would stay writable; the parts of the new proc that reach the host (sys,
 * sysrq-trigger, irq, bus) are bound read-only over themselves where writable. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floor.h"

static struct sock_fprog prog;
static char *program;

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "sandbox child: %s: %s\n", what, strerror(errno));
        _exit(127);
    }
}

/* The per-mount flags a remount must keep. */
static unsigned long flags_of(const char *path)
{
    struct statfs st;
    if (statfs(path, &st) < 0)
        return 0;
    unsigned long f = 0;
    static const unsigned long pairs[][2] = {
        {ST_NOSUID, MS_NOSUID},     {ST_NODEV, MS_NODEV},         {ST_NOEXEC, MS_NOEXEC},
        {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
        {ST_RDONLY, MS_RDONLY},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if ((unsigned long)st.f_flags & pairs[i][0])
            f |= pairs[i][1];
    return f;
}

static int add_flags(const char *path, unsigned long add)
{
    unsigned long have = flags_of(path);
    if ((have | add) == have)
        return 0;
    return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | have | add, NULL);
}

/* The mounts below dst: each mount point field of mountinfo that starts with dst/. */
static void below_ro(const char *dst)
{
    static char buf[1 << 16];
    int fd = open("/oldroot/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    must(fd >= 0, "mountinfo");
    size_t len = 0;
    ssize_t n;
    while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = 0;
    size_t dlen = strlen(dst);
    for (char *line = buf, *next; *line != 0; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = 0;
        else
            next = line + strlen(line);
        char *field = line;
        for (int i = 0; i < 4 && field != NULL; i++)
            if ((field = strchr(field, ' ')) != NULL)
                field++;
        char *end = field == NULL ? NULL : strchr(field, ' ');
        if (end == NULL)
            continue;
        *end = 0;
        if (strncmp(field, dst, dlen) == 0 && field[dlen] == '/')
            must(add_flags(field, MS_RDONLY | MS_NOSUID | MS_NODEV) == 0 || errno == ENOENT ||
                     errno == EACCES,
                 "remount below");
    }
}

static void bind_ro(const char *src, const char *dst)
{
    must(mkdir(dst, 0755) == 0, "mkdir");
    must(mount(src, dst, NULL, MS_BIND | MS_REC, NULL) == 0, "bind");
    must(add_flags(dst, MS_RDONLY | MS_NOSUID | MS_NODEV) == 0, "remount");
    below_ro(dst);
}

/* The parts of a fresh proc that reach the host, read-only where writable. */
static void proc_ro(void)
{
    static const char *const parts[] = {"sys", "sysrq-trigger", "irq", "bus"};
    for (size_t i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/newroot/proc/%s", parts[i]);
        if (access(path, W_OK) < 0 || mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
            continue;
        add_flags(path, MS_RDONLY);
    }
}

static void child(int sync, const int in[2], const int out[2], const int err[2])
{
    char c;
    must(read(sync, &c, 1) == 1, "sync");
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    syscall(SYS_close_range, 3u, ~0u, 0u);
    setsid();
    must(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0, "slave");
    must(mount("tmpfs", "/tmp", "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755") == 0, "base");
    must(chdir("/tmp") == 0 && mkdir("newroot", 0755) == 0 && mkdir("oldroot", 0755) == 0,
         "base dirs");
    must(syscall(SYS_pivot_root, "/tmp", "oldroot") == 0 && chdir("/") == 0, "pivot 1");
    must(mount("newroot", "newroot", NULL, MS_BIND | MS_REC, NULL) == 0, "newroot");
    bind_ro("/oldroot/usr", "/newroot/usr");
    bind_ro("/oldroot/etc", "/newroot/etc");
    must(symlink("usr/bin", "/newroot/bin") == 0 && symlink("usr/lib", "/newroot/lib") == 0 &&
             symlink("usr/lib64", "/newroot/lib64") == 0 &&
             symlink("usr/sbin", "/newroot/sbin") == 0,
         "symlinks");
    must(mkdir("/newroot/proc", 0755) == 0 &&
             mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV, NULL) == 0,
         "proc");
    proc_ro();
    must(mkdir("/newroot/dev", 0755) == 0 &&
             mount("tmpfs", "/newroot/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") == 0,
         "dev");
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (size_t i = 0; i < 6; i++) {
        char src[64], dst[64];
        snprintf(src, sizeof(src), "/oldroot/dev/%s", nodes[i]);
        snprintf(dst, sizeof(dst), "/newroot/dev/%s", nodes[i]);
        int fd = open(dst, O_CREAT | O_WRONLY, 0444);
        must(fd >= 0, "dev node");
        close(fd);
        must(mount(src, dst, NULL, MS_BIND, NULL) == 0 && add_flags(dst, MS_NOSUID) == 0,
             "dev bind");
    }
    must(mkdir("/newroot/dev/pts", 0755) == 0 && mkdir("/newroot/dev/shm", 01777) == 0 &&
             mount("devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                   "newinstance,ptmxmode=0666,mode=620") == 0,
         "devpts");
    must(mkdir("/newroot/tmp", 0755) == 0 &&
             mount("tmpfs", "/newroot/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == 0,
         "tmp");
    must(mount("oldroot", "oldroot", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
             umount2("oldroot", MNT_DETACH) == 0,
         "old root");
    int oldfd = open("/", O_DIRECTORY | O_RDONLY);
    must(oldfd >= 0 && chdir("/newroot") == 0 && syscall(SYS_pivot_root, ".", ".") == 0 &&
             fchdir(oldfd) == 0 && umount2(".", MNT_DETACH) == 0 && chdir("/") == 0,
         "pivot 2");
    close(oldfd);
    struct rlimit rl = {64, 64};
    must(setrlimit(RLIMIT_NOFILE, &rl) == 0, "rlimit");
    for (unsigned long cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
            break;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    must(syscall(SYS_capset, &hdr, data) == 0, "capset");
    must(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs");
    must(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0u, &prog) == 0, "seccomp");
    char *argv[] = {program, NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    execve(program, argv, envp);
    _exit(127);
}

static void write_file(pid_t pid, const char *name, const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die("sandbox: id map");
    close(fd);
}

struct run {
    pid_t pid;
    int in, out, err;
};

static void start(struct run *r)
{
    int in[2], out[2], err[2], sync[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
        pipe2(sync, O_CLOEXEC) < 0)
        die("sandbox: pipe2");
    r->pid = (pid_t)syscall(SYS_clone,
                            (unsigned long)(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS |
                                            CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD),
                            NULL, NULL, NULL, NULL);
    if (r->pid < 0)
        die("sandbox: clone");
    if (r->pid == 0)
        child(sync[0], in, out, err);
    write_file(r->pid, "uid_map", "0 0 1\n");
    write_file(r->pid, "gid_map", "0 0 1\n");
    if (write(sync[1], "x", 1) != 1)
        die("sandbox: sync");
    close(sync[0]);
    close(sync[1]);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    r->in = in[1];
    r->out = out[0];
    r->err = err[0];
}

/* Read stdout and stderr to EOF, then reap. */
static void finish(struct run *r)
{
    close(r->in);
    char buf[4096];
    struct pollfd p[2] = {{r->out, POLLIN, 0}, {r->err, POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(p, 2, -1) < 0)
            die("sandbox: poll");
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || p[i].revents == 0)
                continue;
            if (read(p[i].fd, buf, sizeof(buf)) <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            }
        }
    }
    int status;
    if (waitpid(r->pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("sandbox: the program failed");
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sandbox COUNT INFLIGHT BPF_FILE PROGRAM\n");
        return 2;
    }
    int count = atoi(argv[1]), inflight = atoi(argv[2]);
    program = argv[4];
    static struct sock_filter insns[4096];
    int fd = open(argv[3], O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, insns, sizeof(insns));
    if (n <= 0 || n % 8 != 0)
        die("sandbox: cannot read the BPF file");
    close(fd);
    prog.len = (unsigned short)(n / 8);
    prog.filter = insns;
    struct run runs[64];
    if (inflight < 1 || inflight > 64)
        die("sandbox: INFLIGHT must be 1..64");
    double t0 = now_us();
    int started = 0, done = 0;
    while (done < count) {
        /* Keep `inflight` running; finish the oldest. */
        while (started < count && started - done < inflight)
            start(&runs[started++ % inflight]);
        finish(&runs[done++ % inflight]);
    }
    printf("%.2f\n", (now_us() - t0) / count);
    return 0;
}
