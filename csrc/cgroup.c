/* cgroups for spawned programs (see cgroup.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sched.h>
#endif

#include "cgroup.h"

static const char *const HIER_NAME[CG_NHIER] = {"", "memory", "pids", "cpu", "cpuacct",
                                                "freezer"};

/* This control process's place in each hierarchy, found once per process; the rest
 * (`named`) once it first creates a cgroup. */
static struct {
    pid_t pid;
    int named;    /* tag, seq and the v2 files below are read */
    char tag[64]; /* alcove-<pid>-<starttime> */
    unsigned long long seq;
    char *dir[CG_NHIER]; /* its own cgroup's directory, or NULL */
    int hidden[CG_NHIER]; /* v1: mounted, but its cgroup is outside the mount */
    int alias[CG_NHIER];  /* v1 controllers mounted together (cpu,cpuacct) share one */
    char v2_controllers[512], v2_subtree[512];
} layout;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000};
    nanosleep(&ts, NULL);
}

static int has_word(const char *list, const char *word, char sep)
{
    size_t n = strlen(word);
    for (const char *p = list; *p != 0;) {
        while (*p == sep || *p == ' ' || *p == '\n')
            p++;
        const char *e = p;
        while (*e != 0 && *e != sep && *e != ' ' && *e != '\n')
            e++;
        if ((size_t)(e - p) == n && n > 0 && memcmp(p, word, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* Reads a small file into buf (NUL terminated); -errno on failure. */
static int read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    for (;;) {
        ssize_t n = read(fd, buf + off, cap - 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
        if (off == cap - 1)
            break;
    }
    close(fd);
    buf[off] = 0;
    return 0;
}

static int read_at(const char *dir, const char *file, char *buf, size_t cap)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    return read_text(path, buf, cap);
}

static int write_at(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    ssize_t n;
    while ((n = write(fd, text, len)) < 0 && errno == EINTR)
        ;
    int err = errno;
    close(fd);
    return n == (ssize_t)len ? 0 : -(n < 0 ? err : EIO);
}

/* "key value" lines (memory.events, cpu.stat, memory.oom_control): the value, or -1. */
static int64_t keyed(const char *dir, const char *file, const char *key)
{
    char buf[4096];
    if (read_at(dir, file, buf, sizeof(buf)) < 0)
        return -1;
    size_t n = strlen(key);
    for (char *p = buf; p != NULL && *p != 0;) {
        if (strncmp(p, key, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

static int64_t number(const char *dir, const char *file)
{
    char buf[64];
    if (read_at(dir, file, buf, sizeof(buf)) < 0 || buf[0] < '0' || buf[0] > '9')
        return -1;
    return strtoll(buf, NULL, 10);
}

/* The start time (clock ticks since boot) of a process, 0 if it is gone. */
static unsigned long long start_time(const char *pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    if (read_text(path, buf, sizeof(buf)) < 0)
        return 0;
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    /* p is at the space before field 3 (state); the start time is field 22. */
    p++;
    for (int field = 3; field < 22 && p != NULL; field++)
        p = strchr(p + 1, ' ');
    return p == NULL ? 0 : strtoull(p + 1, NULL, 10);
}

static char *join_dir(const char *mount, const char *root, const char *path, int *hidden)
{
    size_t rl = strlen(root);
    const char *rest;
    if (strcmp(root, "/") == 0)
        rest = path;
    else if (strncmp(path, root, rl) == 0 && (path[rl] == '/' || path[rl] == 0))
        rest = path + rl;
    else {
        *hidden = 1;
        return NULL;
    }
    if (strcmp(rest, "/") == 0)
        rest = "";
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s%s", mount, rest) >= (int)sizeof(buf))
        return NULL;
    return strdup(buf);
}

static void detect(void)
{
    pid_t self = getpid();
    if (layout.pid == self)
        return;
    for (int h = 0; h < CG_NHIER; h++) {
        free(layout.dir[h]);
        layout.dir[h] = NULL;
        layout.hidden[h] = 0;
    }
    layout.pid = self;
    layout.named = 0;

    char *mnt[CG_NHIER] = {NULL}, *root[CG_NHIER] = {NULL};
    FILE *fp = fopen("/proc/self/mountinfo", "re");
    char *line = NULL;
    size_t cap = 0;
    while (fp != NULL && getline(&line, &cap, fp) > 0) {
        /* id parent maj:min root mountpoint options [optional...] - type source superoptions */
        char *f[6] = {NULL}, *save = NULL, *tok = strtok_r(line, " \n", &save);
        int i = 0;
        for (; tok != NULL && i < 6; tok = strtok_r(NULL, " \n", &save))
            f[i++] = tok;
        while (tok != NULL && strcmp(tok, "-") != 0)
            tok = strtok_r(NULL, " \n", &save);
        char *type = tok == NULL ? NULL : strtok_r(NULL, " \n", &save);
        char *source = type == NULL ? NULL : strtok_r(NULL, " \n", &save);
        char *super = source == NULL ? NULL : strtok_r(NULL, " \n", &save);
        if (i < 5 || super == NULL)
            continue;
        for (int h = 0; h < CG_NHIER; h++) {
            int match = h == CG_V2 ? strcmp(type, "cgroup2") == 0
                                   : strcmp(type, "cgroup") == 0 &&
                                         has_word(super, HIER_NAME[h], ',');
            if (match && mnt[h] == NULL) {
                mnt[h] = strdup(f[4]);
                root[h] = strdup(f[3]);
            }
        }
    }
    if (fp != NULL)
        fclose(fp);
    fp = fopen("/proc/self/cgroup", "re");
    while (fp != NULL && getline(&line, &cap, fp) > 0) {
        char *a = strchr(line, ':'), *b = a == NULL ? NULL : strchr(a + 1, ':');
        if (b == NULL)
            continue;
        *b = 0;
        char *path = b + 1;
        path[strcspn(path, "\n")] = 0;
        for (int h = 0; h < CG_NHIER; h++) {
            int match = h == CG_V2 ? a[1] == 0 && strncmp(line, "0", 1) == 0
                                   : has_word(a + 1, HIER_NAME[h], ',');
            if (match && mnt[h] != NULL && layout.dir[h] == NULL && !layout.hidden[h])
                layout.dir[h] = join_dir(mnt[h], root[h], path, &layout.hidden[h]);
        }
    }
    if (fp != NULL)
        fclose(fp);
    free(line);
    for (int h = 0; h < CG_NHIER; h++) {
        free(mnt[h]);
        free(root[h]);
    }
    for (int h = 0; h < CG_NHIER; h++) {
        layout.alias[h] = h;
        for (int g = 0; g < h; g++)
            if (layout.dir[h] != NULL && layout.dir[g] != NULL &&
                strcmp(layout.dir[h], layout.dir[g]) == 0 && layout.alias[h] == h)
                layout.alias[h] = g;
    }
}

/* What creating cgroups needs besides the directories: the name of this process's, and
 * what v2 delegates. The sweep at start needs neither, and runs while the host reads the
 * greeting: a few system calls fewer there are a start that is that much sooner. */
static void detect_named(void)
{
    detect();
    if (layout.named)
        return;
    layout.named = 1;
    layout.seq = 0;
    /* Named by the pid /proc knows it by: in a pid namespace of its own, getpid() is
     * not the pid a later start (outside it) would check. */
    char proc_pid[32];
    ssize_t n = readlink("/proc/self", proc_pid, sizeof(proc_pid) - 1);
    if (n > 0)
        proc_pid[n] = 0;
    else
        snprintf(proc_pid, sizeof(proc_pid), "%d", (int)layout.pid);
    snprintf(layout.tag, sizeof(layout.tag), "alcove-%s-%llu", proc_pid, start_time(proc_pid));
    layout.v2_controllers[0] = layout.v2_subtree[0] = 0;
    if (layout.dir[CG_V2] != NULL) {
        read_at(layout.dir[CG_V2], "cgroup.controllers", layout.v2_controllers,
                sizeof(layout.v2_controllers));
        read_at(layout.dir[CG_V2], "cgroup.subtree_control", layout.v2_subtree,
                sizeof(layout.v2_subtree));
    }
}

/* Where a controller's limits go: a hierarchy, or -1 with why in `what`. */
static int locate(const char *name, int h, char *what, size_t whatlen)
{
    const char *v2 = layout.dir[CG_V2];
    if (h > 0 && layout.dir[h] != NULL)
        return layout.alias[h];
    if (h > 0 && layout.hidden[h])
        snprintf(what, whatlen,
                 "the %s controller is mounted for cgroup v1, but this process's cgroup is "
                 "outside that mount",
                 name);
    else if (v2 != NULL && has_word(layout.v2_subtree, name, ' '))
        return CG_V2;
    else if (v2 != NULL && has_word(layout.v2_controllers, name, ' '))
        snprintf(what, whatlen,
                 "the %s controller is not delegated: it is not enabled for the cgroups under "
                 "%s (cgroup.subtree_control), which v2 allows only in a cgroup without "
                 "processes",
                 name, v2);
    else if (h < 0)
        /* A v1 hierarchy of another controller (cpuset, blkio, ...) may well be mounted. */
        snprintf(what, whatlen,
                 "spawn writes only cgroup v2 files and those of the v1 memory, pids, cpu, "
                 "cpuacct and freezer hierarchies (Cgroup.create reaches %s)",
                 name);
    else if (v2 != NULL)
        snprintf(what, whatlen,
                 "the %s controller is neither mounted for cgroup v1 nor available to %s in "
                 "cgroup v2 (cgroup.controllers)",
                 name, v2);
    else
        snprintf(what, whatlen, "the %s controller is not mounted (no cgroup v1 or v2 holds it)",
                 name);
    return -1;
}

static int hier_of_file(const char *file)
{
    for (int h = CG_MEMORY; h < CG_NHIER; h++) {
        size_t n = strlen(HIER_NAME[h]);
        if (strncmp(file, HIER_NAME[h], n) == 0 && file[n] == '.')
            return h;
    }
    return -1;
}

void alcove_cg_entered(struct alcove_cg *cg)
{
    for (int h = 0; h < CG_NHIER; h++) {
        if (cg->procs[h] >= 0)
            close(cg->procs[h]);
        cg->procs[h] = -1;
    }
}

/* Cgroups below ours: only a program that owns our cgroups' files (see the chmod in
 * alcove_cg_create) can have made them. A cgroup directory's link count is 2 plus its
 * subdirectories, so most checks cost one stat. */
#define CG_MAX_DEPTH 32

static int has_children(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && st.st_nlink > 2;
}

/* Calls fn on each cgroup directly below dir (depth levels below ours). */
static int each_child(const char *dir, int depth, int (*fn)(const char *, int))
{
    int n = 0;
    DIR *d = depth < CG_MAX_DEPTH ? opendir(dir) : NULL;
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        n += fn(path, depth + 1);
    }
    closedir(d);
    return n;
}

static int rmdir_retry(const char *dir)
{
    for (int i = 0; i < 200; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return -1;
        sleep_ms(1);
    }
    return -1;
}

/* Removes a cgroup and those below it (whose processes were killed). */
static int rmdir_tree(const char *dir, int depth)
{
    if (has_children(dir)) {
        (void)chmod(dir, 0755); /* ours, made 0555 */
        each_child(dir, depth, rmdir_tree);
    }
    return rmdir_retry(dir);
}

/* Closes the cgroups' descriptors, removes them (`retry`: waiting for the kernel to let go
 * of processes just killed) and frees `cg`. */
static void destroy(struct alcove_cg *cg, int retry)
{
    alcove_cg_entered(cg);
    if (cg->v2_fd >= 0)
        close(cg->v2_fd);
    for (int h = 0; h < CG_NHIER; h++) {
        if (cg->dir[h] != NULL)
            (void)(retry ? rmdir_tree(cg->dir[h], 0) : rmdir(cg->dir[h]));
        free(cg->dir[h]);
    }
    free(cg);
}

#define WHAT(...) ((void)snprintf(what, whatlen, __VA_ARGS__))

static int set(struct alcove_cg *cg, int h, const char *file, const char *text, char *what,
               size_t whatlen)
{
    int rv = write_at(cg->dir[h], file, text);
    if (rv < 0)
        WHAT("Cannot write %s to %s/%s", text, cg->dir[h], file);
    return rv;
}

int alcove_cg_create(const struct alcove_cg_request *req, struct alcove_cg **out, char *what,
                     size_t whatlen)
{
    detect_named();
    int need[CG_NHIER] = {0}, where[CG_NKEYS] = {0};
    static const int KEY_HIER[CG_NKEYS] = {0, CG_MEMORY, CG_MEMORY, CG_MEMORY,
                                           CG_PIDS, CG_CPU, CG_CPU};
    static const char *const KEY_NAME[CG_NKEYS] = {
        "", "memoryMax", "memoryHigh", "memorySwapMax", "pidsMax", "cpuMax", "cpuWeight"};
    char why[512];
    for (int k = 1; k < CG_NKEYS; k++) {
        if (!req->has[k])
            continue;
        where[k] = locate(HIER_NAME[KEY_HIER[k]], KEY_HIER[k], why, sizeof(why));
        if (where[k] < 0)
            return WHAT("Cannot apply cgroup.%s: %s", KEY_NAME[k], why), -EOPNOTSUPP;
        need[where[k]] = 1;
    }
    int file_hier[64] = {0};
    for (size_t i = 0; i < req->nfiles && i < 64; i++) {
        const char *file = req->files[i].name;
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(file, "."), file);
        int h = CG_V2;
        if (strcmp(name, "cgroup") != 0 &&
            (h = locate(name, hier_of_file(file), why, sizeof(why))) < 0)
            return WHAT("Cannot write %s: %s", req->files[i].name, why), -EOPNOTSUPP;
        if (layout.dir[h] == NULL)
            return WHAT("Cannot write %s: no cgroup v2 hierarchy is mounted",
                        req->files[i].name),
                   -EOPNOTSUPP;
        file_hier[i] = h;
        need[h] = 1;
    }
    if (req->has[CG_MEMORY_SWAP_MAX] && where[CG_MEMORY_SWAP_MAX] != CG_V2 &&
        !req->has[CG_MEMORY_MAX])
        return WHAT("Cannot apply cgroup.memorySwapMax: on cgroup v1 it needs memoryMax too "
                    "(memory.memsw.limit_in_bytes limits memory and swap together)"),
               -EINVAL;
    /* Also for the figures and to kill everything at the end: v2 (cgroup.kill,
     * cpu.stat), else v1's freezer and cpuacct; memory and pids for their peaks. */
    for (int h = 0; h < CG_NHIER; h++)
        if (layout.dir[h] != NULL &&
            (h == CG_V2 || h == CG_MEMORY || h == CG_PIDS ||
             (layout.dir[CG_V2] == NULL && (h == CG_FREEZER || h == CG_CPUACCT))))
            need[layout.alias[h]] = 1;
    int any = 0;
    for (int h = 0; h < CG_NHIER; h++)
        any |= need[h];
    if (!any)
        return WHAT("Cannot create a cgroup: no cgroup hierarchy is mounted here"), -EOPNOTSUPP;

    struct alcove_cg *cg = calloc(1, sizeof(*cg));
    if (cg == NULL)
        return WHAT("Cannot create a cgroup"), -ENOMEM;
    cg->v2_fd = -1;
    for (int h = 0; h < CG_NHIER; h++)
        cg->procs[h] = -1;
    unsigned long long seq = ++layout.seq;
    int rv = 0;
    for (int h = 0; h < CG_NHIER && rv == 0; h++) {
        if (!need[h])
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s-%llu", layout.dir[h], layout.tag, seq) >=
            (int)sizeof(path)) {
            rv = -ENAMETOOLONG;
            WHAT("Cannot create a cgroup under %s: the path is too long", layout.dir[h]);
            break;
        }
        if (mkdir(path, 0755) < 0) {
            rv = -errno;
            if (rv == -EACCES || rv == -EPERM || rv == -EROFS)
                WHAT("Cannot create a cgroup under %s: it is not delegated to this user (no "
                     "write permission on it)",
                     layout.dir[h]);
            else
                WHAT("Cannot create the cgroup %s", path);
            break;
        }
        /* No cgroups below it: a program that runs as its owner without capabilities
         * (root's, by default) could otherwise make some, and move processes there, out
         * of reach of the kill at the end, and stop its removal. Its files keep their
         * modes; removing it needs write access to its parent only. */
        (void)chmod(path, 0555);
        if ((cg->dir[h] = strdup(path)) == NULL) {
            rmdir(path);
            rv = -ENOMEM;
            WHAT("Cannot create a cgroup");
        }
    }
    for (int h = 0; h < CG_NHIER && rv == 0; h++)
        if (layout.alias[h] != h && cg->dir[layout.alias[h]] != NULL &&
            (cg->dir[h] = strdup(cg->dir[layout.alias[h]])) == NULL)
            rv = -ENOMEM;
    char text[64];
    for (int k = 1; k < CG_NKEYS && rv == 0; k++) {
        if (!req->has[k])
            continue;
        int h = where[k], v2 = h == CG_V2;
        uint64_t v = req->value[k];
        snprintf(text, sizeof(text), "%" PRIu64, v);
        switch (k) {
        case CG_MEMORY_MAX:
            rv = set(cg, h, v2 ? "memory.max" : "memory.limit_in_bytes", text, what, whatlen);
            break;
        case CG_MEMORY_HIGH:
            rv = set(cg, h, v2 ? "memory.high" : "memory.soft_limit_in_bytes", text, what,
                     whatlen);
            break;
        case CG_MEMORY_SWAP_MAX:
            if (!v2)
                snprintf(text, sizeof(text), "%" PRIu64, v + req->value[CG_MEMORY_MAX]);
            rv = set(cg, h, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes", text, what,
                     whatlen);
            break;
        case CG_PIDS_MAX:
            rv = set(cg, h, "pids.max", text, what, whatlen);
            break;
        case CG_CPU_MAX: {
            uint64_t quota = v / 10; /* millionths of a CPU to microseconds per 100 ms */
            if (quota < 1000)
                quota = 1000;
            if (v2) {
                snprintf(text, sizeof(text), "%" PRIu64 " 100000", quota);
                rv = set(cg, h, "cpu.max", text, what, whatlen);
            } else {
                rv = set(cg, h, "cpu.cfs_period_us", "100000", what, whatlen);
                snprintf(text, sizeof(text), "%" PRIu64, quota);
                if (rv == 0)
                    rv = set(cg, h, "cpu.cfs_quota_us", text, what, whatlen);
            }
            break;
        }
        case CG_CPU_WEIGHT:
            if (!v2)
                snprintf(text, sizeof(text), "%" PRIu64, v * 1024 / 100 < 2 ? 2 : v * 1024 / 100);
            rv = set(cg, h, v2 ? "cpu.weight" : "cpu.shares", text, what, whatlen);
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < req->nfiles && rv == 0; i++) {
        int h = file_hier[i];
        rv = write_at(cg->dir[h], req->files[i].name, req->files[i].value);
        if (rv == -ENOENT)
            WHAT("Cannot write %s: no such file in the cgroup %s%s", req->files[i].name,
                 cg->dir[h],
                 h == CG_V2 ? "" : " (this controller is bound to cgroup v1 here)");
        else if (rv < 0)
            WHAT("Cannot write %s to %s/%s", req->files[i].value, cg->dir[h],
                 req->files[i].name);
    }
    if (rv == 0 && cg->dir[CG_V2] != NULL &&
        (cg->v2_fd = open(cg->dir[CG_V2], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rv = -errno;
        WHAT("Cannot open the cgroup %s", cg->dir[CG_V2]);
    }
    for (int h = 0; h < CG_NHIER && rv == 0; h++) {
        if (cg->dir[h] == NULL || layout.alias[h] != h)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[h]) >= (int)sizeof(path))
            rv = -ENAMETOOLONG;
        else if ((cg->procs[h] = open(path, O_WRONLY | O_CLOEXEC)) < 0)
            rv = -errno;
        if (rv < 0)
            WHAT("Cannot move the process into the cgroup %s", cg->dir[h]);
    }
    if (rv < 0) {
        destroy(cg, 0);
        return rv;
    }
    *out = cg;
    return 0;
}

int alcove_cg_enter(const struct alcove_cg *cg, int into_v2, int *failed)
{
    for (int h = into_v2 ? 1 : 0; h < CG_NHIER; h++) {
        if (cg->procs[h] < 0)
            continue;
        ssize_t n;
        while ((n = write(cg->procs[h], "0", 1)) < 0 && errno == EINTR)
            ;
        if (n != 1) {
            *failed = h;
            return n < 0 ? -errno : -EIO;
        }
    }
    return 0;
}

/* Kills the processes listed in a cgroup and in those below it; returns how many there
 * were. */
static int kill_listed(const char *dir, int depth)
{
    int below = has_children(dir) ? each_child(dir, depth, kill_listed) : 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
        return 0;
    FILE *fp = fopen(path, "re");
    if (fp == NULL)
        return below;
    int pid, n = below;
    while (fscanf(fp, "%d", &pid) == 1) {
        if (pid > 0)
            kill(pid, SIGKILL);
        n++;
    }
    fclose(fp);
    return n;
}

static int v2_kill(const char *dir)
{
    return write_at(dir, "cgroup.kill", "1");
}

void alcove_cg_kill(const struct alcove_cg *cg)
{
    if (cg == NULL)
        return;
    if (cg->dir[CG_V2] != NULL && v2_kill(cg->dir[CG_V2]) == 0)
        return;
    for (int h = 0; h < CG_NHIER; h++)
        if (cg->dir[h] != NULL)
            kill_listed(cg->dir[h], 0);
}

/* Kills everything in a set of cgroup directories until they are empty (bounded):
 * cgroup.kill on v2 (atomic against forks), else rounds of listing and killing, in
 * v1's freezer when there is one so that nothing forks meanwhile. */
/* Whether a cgroup lists no process (a descendant of the program is in the v2 one,
 * or in every v1 one, unless something moved it out). */
static int empty(const char *dir)
{
    char buf[16];
    return read_at(dir, "cgroup.procs", buf, sizeof(buf)) == 0 && buf[0] == 0;
}

static void kill_until_empty(char *const dir[CG_NHIER])
{
    /* Most programs leave nothing behind: one read tells. */
    for (int h = 0; h < CG_NHIER; h++)
        if (dir[h] != NULL) {
            if (empty(dir[h]) && !has_children(dir[h]) && (h == CG_V2 || dir[CG_V2] == NULL))
                return;
            break;
        }
    int v2_killed = 0;
    for (int round = 0; round < 2000; round++) {
        if (dir[CG_V2] != NULL && !v2_killed)
            v2_killed = v2_kill(dir[CG_V2]) == 0;
        int frozen = dir[CG_FREEZER] != NULL &&
                     write_at(dir[CG_FREEZER], "freezer.state", "FROZEN") == 0;
        int left = 0;
        for (int h = 0; h < CG_NHIER; h++)
            if (dir[h] != NULL)
                left += kill_listed(dir[h], 0);
        if (frozen)
            write_at(dir[CG_FREEZER], "freezer.state", "THAWED");
        if (left == 0)
            return;
        sleep_ms(1);
    }
}


void alcove_cg_finish(struct alcove_cg *cg, struct alcove_cg_usage *u, int sigkilled)
{
    u->memory_peak = u->cpu_usec = u->pids_peak = u->oom_kills = -1;
    if (cg == NULL)
        return;
    kill_until_empty(cg->dir);
    const char *v2 = cg->dir[CG_V2], *mem = cg->dir[CG_MEMORY], *pids = cg->dir[CG_PIDS];
    if (mem != NULL) {
        u->memory_peak = number(mem, "memory.max_usage_in_bytes");
        u->oom_kills = keyed(mem, "memory.oom_control", "oom_kill");
        /* The OOM killer counts its kill after sending SIGKILL and logging it: a
         * program killed by an unknown SIGKILL at its limit may be counted late. */
        for (int i = 0; i < 100 && sigkilled && u->oom_kills == 0 &&
                        number(mem, "memory.failcnt") > 0;
             i++) {
            sleep_ms(1);
            u->oom_kills = keyed(mem, "memory.oom_control", "oom_kill");
        }
    } else if (v2 != NULL) {
        u->memory_peak = number(v2, "memory.peak");
        u->oom_kills = keyed(v2, "memory.events", "oom_kill");
        for (int i = 0; i < 100 && sigkilled && u->oom_kills == 0 &&
                        keyed(v2, "memory.events", "max") > 0;
             i++) {
            sleep_ms(1);
            u->oom_kills = keyed(v2, "memory.events", "oom_kill");
        }
    }
    u->pids_peak = number(pids != NULL ? pids : v2 != NULL ? v2 : "", "pids.peak");
    if (v2 != NULL)
        u->cpu_usec = keyed(v2, "cpu.stat", "usage_usec");
    else if (cg->dir[CG_CPUACCT] != NULL) {
        int64_t ns = number(cg->dir[CG_CPUACCT], "cpuacct.usage");
        u->cpu_usec = ns < 0 ? -1 : ns / 1000;
    }
    destroy(cg, 1);
}

void alcove_cg_remove_stale(void)
{
    alcove_cg_remove_stale_of(0);
}

void alcove_cg_remove_stale_of(pid_t owner)
{
    detect();
    for (int h = 0; h < CG_NHIER; h++) {
        if (layout.dir[h] == NULL || layout.alias[h] != h)
            continue;
        DIR *d = opendir(layout.dir[h]);
        if (d == NULL)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char pid[16];
            unsigned long long start, seq;
            if (sscanf(e->d_name, "alcove-%15[0-9]-%llu-%llu", pid, &start, &seq) != 3)
                continue;
            if (owner != 0 && strtol(pid, NULL, 10) != (long)owner)
                continue;
            if (start_time(pid) == start)
                continue; /* its control process is alive */
            char *dirs[CG_NHIER] = {NULL};
            char path[PATH_MAX];
            if (snprintf(path, sizeof(path), "%s/%s", layout.dir[h], e->d_name) >=
                (int)sizeof(path))
                continue;
            dirs[h] = path;
            kill_until_empty(dirs);
            rmdir_tree(path, 0);
        }
        closedir(d);
    }
}

pid_t alcove_clone_into(unsigned long long flags, int cgroup_fd)
{
#if defined(SYS_clone3) && defined(CLONE_INTO_CGROUP)
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (unsigned)cgroup_fd;
    return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
#else
    (void)flags;
    (void)cgroup_fd;
    errno = ENOSYS;
    return -1;
#endif
}

pid_t alcove_clone_into_vm(int cgroup_fd, int (*fn)(void *), void *arg, void *stack, size_t size)
{
#if defined(__x86_64__) && defined(SYS_clone3) && defined(CLONE_INTO_CGROUP)
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (unsigned)cgroup_fd;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = size;
    /* The child starts on its own stack at the instruction after the system call:
     * it calls fn(arg) there, and exits with what fn returns should it return. */
    register int (*r12)(void *) __asm__("r12") = fn;
    register void *r13 __asm__("r13") = arg;
    long rv = SYS_clone3;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "mov %%r13, %%rdi\n\t"
                     "call *%%r12\n\t"
                     "mov %%eax, %%edi\n\t"
                     "mov %[exit], %%eax\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "+a"(rv)
                     : "D"(&args), "S"(sizeof(args)), "r"(r12), "r"(r13), [exit] "i"(SYS_exit)
                     : "rcx", "r11", "memory");
    if (rv < 0) {
        errno = (int)-rv;
        return -1;
    }
    return (pid_t)rv;
#else
    (void)cgroup_fd;
    (void)fn;
    (void)arg;
    (void)stack;
    (void)size;
    errno = ENOSYS;
    return -1;
#endif
}
