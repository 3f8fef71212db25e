/* Decoding a spawn request (see sandbox.h) into a struct the child can run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "sandbox.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define SB_NAMESPACE_FLAGS                                                                       \
    (0x00020000ull /* NEWNS */ | 0x02000000ull /* NEWCGROUP */ | 0x04000000ull /* NEWUTS */ |  \
     0x08000000ull /* NEWIPC */ | 0x10000000ull /* NEWUSER */ | 0x20000000ull /* NEWPID */ |   \
     0x40000000ull /* NEWNET */ | (unsigned long long)CLONE_NEWTIME)

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Strings are copied, NUL terminated, into one arena owned by the sandbox. */
struct arena {
    char *base;
    size_t used, cap;
};

static int take_str(struct arena *a, const unsigned char *p, size_t n, struct sb_str *out)
{
    if (memchr(p, 0, n) != NULL || n + 1 > a->cap - a->used)
        return -1;
    char *s = a->base + a->used;
    memcpy(s, p, n);
    s[n] = 0;
    a->used += n + 1;
    out->s = s;
    out->len = n;
    return 0;
}

/* A cgroup file a sandbox may not write: those that move processes into the cgroup or
 * kill them (any process of the machine could be taken in, then killed with the program's
 * tree), and v1's that run a program as root when the cgroup empties. */
static int cg_file_refused(const char *name)
{
    static const char *const refused[] = {"cgroup.procs", "cgroup.threads", "cgroup.kill",
                                          "tasks", "release_agent", "notify_on_release"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (strcmp(name, refused[i]) == 0)
            return 1;
    return 0;
}

/* A u32-length-prefixed string inside a record. */
static int take_lp(struct arena *a, const unsigned char **p, size_t *left, struct sb_str *out,
                   int allow_nul)
{
    if (*left < 4)
        return -1;
    uint32_t n = alcove_get_u32(*p);
    if (n > *left - 4)
        return -1;
    const unsigned char *s = *p + 4;
    if (allow_nul) {
        /* File contents: any bytes; still NUL terminated for convenience. */
        if (n + 1 > a->cap - a->used)
            return -1;
        char *d = a->base + a->used;
        memcpy(d, s, n);
        d[n] = 0;
        a->used += (size_t)n + 1;
        out->s = d;
        out->len = n;
    } else if (take_str(a, s, n, out) < 0) {
        return -1;
    }
    *p += 4 + (size_t)n;
    *left -= 4 + (size_t)n;
    return 0;
}

static int push_ptr(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 2) * sizeof(char *));
    if (nv == NULL)
        return -1;
    union {
        const char *c;
        char *m;
    } u = {.c = s};
    nv[(*n)++] = u.m; /* execve takes char *const[] and never writes through it */
    nv[*n] = NULL;
    *v = nv;
    return 0;
}

void alcove_sandbox_free(struct alcove_sandbox *sb)
{
    free(sb->argv);
    free(sb->envp);
    free(sb->mounts);
    free(sb->landlock_rules);
    free(sb->cg.files);
    free(sb->arena);
    free(sb->exec_env);
    if (sb->shared_report != NULL)
        munmap(sb->shared_report, SB_SHARED_REPORT);
    memset(sb, 0, sizeof(*sb));
}

extern char **environ;

int alcove_sandbox_env(struct alcove_sandbox *sb)
{
    size_t spare = sb->ncwd_try > 0; /* a slot for PWD, set by the child (set_pwd) */
    if (sb->env_clear && !spare) {
        sb->exec_env = NULL;
        return 0; /* sb->envp as it is */
    }
    char **base = sb->env_clear ? NULL : environ;
    size_t n = 0;
    for (char **e = base; e != NULL && *e != NULL; e++)
        n++;
    char **v = calloc(n + sb->envc + 1 + spare, sizeof(char *));
    if (v == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        v[k++] = base[i];
    for (size_t i = 0; i < sb->envc; i++) {
        const char *eq = strchr(sb->envp[i], '=');
        size_t name = (size_t)(eq - sb->envp[i]) + 1; /* with the '=' */
        size_t j = 0;
        while (j < k && strncmp(v[j], sb->envp[i], name) != 0)
            j++;
        v[j] = sb->envp[i];
        if (j == k)
            k++;
    }
    v[k] = NULL;
    sb->exec_env = v;
    return 0;
}

#define FAIL(msg)                                                                                \
    do {                                                                                         \
        *why = (msg);                                                                            \
        goto fail;                                                                               \
    } while (0)

int alcove_sandbox_decode(struct alcove_sandbox *sb, const unsigned char *p, size_t len,
                          const char **why)
{
    memset(sb, 0, sizeof(*sb));
    sb->report_fd = sb->sync_fd = -1;
    sb->userns_fd = sb->pidns_fd = sb->userns2_fd = -1;
    for (int i = 0; i < 3; i++)
        sb->stdio_fd[i] = -1;
    struct arena a = {.base = malloc(len + 1), .used = 0, .cap = len + 1};
    if (a.base == NULL) {
        *why = NULL;
        return -ENOMEM;
    }
    sb->arena = a.base;
    size_t off = 0;
    while (off < len) {
        if (len - off < 5)
            FAIL("spawn: the request is truncated");
        unsigned tag = p[off];
        uint32_t n = alcove_get_u32(p + off + 1);
        if (n > len - off - 5)
            FAIL("spawn: the request is truncated");
        const unsigned char *r = p + off + 5;
        off += 5 + (size_t)n;
        struct sb_str s;
        switch (tag) {
        case SB_ARG:
            if (take_str(&a, r, n, &s) < 0)
                FAIL("spawn: argv contains a NUL byte");
            if (push_ptr(&sb->argv, &sb->argc, s.s) < 0)
                goto nomem;
            break;
        case SB_ENV:
            if (take_str(&a, r, n, &s) < 0 || memchr(s.s, '=', s.len) == NULL)
                FAIL("spawn: an environment entry is not NAME=value without NUL bytes");
            if (push_ptr(&sb->envp, &sb->envc, s.s) < 0)
                goto nomem;
            break;
        case SB_ENV_CLEAR:
            sb->env_clear = 1;
            break;
        case SB_NAMESPACES:
            if (n != 8)
                FAIL("spawn: malformed namespaces");
            sb->namespaces = get_u64(r);
            if (sb->namespaces & ~SB_NAMESPACE_FLAGS)
                FAIL("spawn: namespaces holds flags other than CLONE_NEW*");
            break;
        case SB_UID:
        case SB_GID: {
            if (n != 4)
                FAIL("spawn: malformed uid or gid");
            uint32_t id = alcove_get_u32(r);
            if (id == 0xffffffffu)
                FAIL("spawn: uid and gid cannot be -1");
            if (tag == SB_UID) {
                sb->has_uid = 1;
                sb->uid = (uid_t)id;
            } else {
                sb->has_gid = 1;
                sb->gid = (gid_t)id;
            }
            break;
        }
        case SB_HOSTNAME:
            if (n > 64 || take_str(&a, r, n, &sb->hostname) < 0)
                FAIL("spawn: the host name is longer than 64 bytes or has a NUL byte");
            break;
        case SB_MOUNT: {
            if (n < 14 + 12)
                FAIL("spawn: malformed mount");
            if (sb->nmounts >= SB_MAX_MOUNTS)
                FAIL("spawn: more than 1024 mounts");
            struct sb_mount *m = realloc(sb->mounts, (sb->nmounts + 1) * sizeof(*m));
            if (m == NULL)
                goto nomem;
            sb->mounts = m;
            m = &sb->mounts[sb->nmounts];
            memset(m, 0, sizeof(*m));
            m->op = r[0];
            m->flags = r[1];
            m->mode = alcove_get_u32(r + 2);
            m->size = get_u64(r + 6);
            const unsigned char *q = r + 14;
            size_t left = n - 14;
            if (m->op < SB_MNT_BIND || m->op > SB_MNT_RO_BIND_DATA)
                FAIL("spawn: unknown mount operation");
            if (take_lp(&a, &q, &left, &m->source, 0) < 0 ||
                take_lp(&a, &q, &left, &m->target, 0) < 0 ||
                take_lp(&a, &q, &left, &m->data, 1) < 0 || left != 0)
                FAIL("spawn: malformed mount");
            if (m->target.len == 0 || m->target.s[0] != '/')
                FAIL("spawn: a mount target must be an absolute path");
            sb->nmounts++;
            break;
        }
        case SB_CWD:
            if (take_str(&a, r, n, &sb->cwd) < 0)
                FAIL("spawn: cwd contains a NUL byte");
            break;
        case SB_RLIMIT: {
            if (n != 20)
                FAIL("spawn: malformed rlimit");
            if (sb->nrlimits >= SB_MAX_RLIMITS)
                FAIL("spawn: too many rlimits");
            struct sb_rlimit *l = &sb->rlimits[sb->nrlimits++];
            uint32_t res = alcove_get_u32(r);
            if (res >= RLIM_NLIMITS)
                FAIL("spawn: unknown rlimit resource");
            l->resource = (int)res;
            l->cur = get_u64(r + 4);
            l->max = get_u64(r + 12);
            if (l->cur > l->max)
                FAIL("spawn: an rlimit's soft limit is above its hard limit");
            break;
        }
        case SB_CAPS:
            if (n != 8)
                FAIL("spawn: malformed capabilities");
            sb->has_caps = 1;
            sb->caps = get_u64(r);
            break;
        case SB_NO_NEW_PRIVS:
            sb->no_new_privs = 1;
            break;
        case SB_LANDLOCK: {
            if (n < 2)
                FAIL("spawn: malformed landlock rule");
            if (sb->nlandlock >= SB_MAX_LANDLOCK)
                FAIL("spawn: more than 256 landlock paths");
            struct sb_landlock *l =
                realloc(sb->landlock_rules, (sb->nlandlock + 1) * sizeof(*l));
            if (l == NULL)
                goto nomem;
            sb->landlock_rules = l;
            l = &sb->landlock_rules[sb->nlandlock];
            l->kind = r[0];
            if (l->kind > SB_LL_EXECUTE || take_str(&a, r + 1, n - 1, &l->path) < 0)
                FAIL("spawn: malformed landlock rule");
            sb->nlandlock++;
            sb->landlock = 1;
            break;
        }
        case SB_LANDLOCK_BEST_EFFORT:
            sb->landlock_best_effort = 1;
            break;
        case SB_LANDLOCK_ON:
            sb->landlock = 1;
            break;
        case SB_SECCOMP:
            if (n == 0 || n % 8 != 0 || n / 8 > 4096)
                FAIL("spawn: a seccomp program is 1 to 4096 instructions of 8 bytes");
            if (sb->nseccomp >= SB_MAX_SECCOMP)
                FAIL("spawn: more than 8 seccomp programs");
            sb->seccomp[sb->nseccomp] = r;
            sb->seccomp_len[sb->nseccomp++] = n;
            break;
        case SB_CWD_TRY:
            if (sb->ncwd_try >= SB_MAX_CWD_TRY)
                FAIL("spawn: more than 4 working directories to try");
            if (n == 0 || r[0] != '/' || take_str(&a, r, n, &sb->cwd_try[sb->ncwd_try]) < 0)
                FAIL("spawn: a working directory to try must be an absolute path");
            sb->ncwd_try++;
            break;
        case SB_LOCK_FILE:
            if (sb->nlock_files >= SB_MAX_LOCK_FILES)
                FAIL("spawn: more than 16 lock files");
            if (n == 0 || r[0] != '/' || take_str(&a, r, n, &sb->lock_files[sb->nlock_files]) < 0)
                FAIL("spawn: a lock file must be an absolute path");
            sb->nlock_files++;
            break;
        case SB_PASS_FD: {
            if (n == 0) {
                sb->pass_all_fds = 1;
                break;
            }
            if (n != 4)
                FAIL("spawn: malformed descriptor to pass");
            uint32_t fd = alcove_get_u32(r);
            size_t k = 0;
            while (k < alcove_ninherited && alcove_inherited_fd[k] != (int)fd)
                k++;
            if (fd > 0x7fffffffu || k == alcove_ninherited)
                FAIL("spawn: inheritFds: a descriptor is not one the control process was "
                     "started with");
            if (sb->npass_fds >= SB_MAX_PASS_FDS)
                FAIL("spawn: inheritFds: too many descriptors");
            sb->pass_fd[sb->npass_fds++] = (int)fd;
            break;
        }
        case SB_USERNS:
        case SB_PIDNS:
        case SB_USERNS2: {
            if (n != 4 || alcove_get_u32(r) > 0x7fffffffu)
                FAIL("spawn: malformed namespace descriptor");
            int fd = (int)alcove_get_u32(r);
            if (tag == SB_USERNS)
                sb->userns_fd = fd;
            else if (tag == SB_PIDNS)
                sb->pidns_fd = fd;
            else
                sb->userns2_fd = fd;
            break;
        }
        case SB_DISABLE_USERNS:
            sb->disable_userns = 1;
            break;
        case SB_ASSERT_USERNS_DISABLED:
            sb->assert_userns_disabled = 1;
            break;
        case SB_KEEP_PGRP:
            sb->keep_pgrp = 1;
            break;
        case SB_INIT:
            sb->init = 1;
            break;
        case SB_NEW_SESSION:
            sb->new_session = 1;
            break;
        case SB_DIE_WITH_PARENT:
            sb->die_with_parent = 1;
            break;
        case SB_STDIO:
            if (n != 3 || r[0] > SB_STDIO_INHERIT || r[1] > SB_STDIO_INHERIT ||
                r[2] > SB_STDIO_INHERIT)
                FAIL("spawn: malformed stdio modes");
            sb->stdio[0] = r[0];
            sb->stdio[1] = r[1];
            sb->stdio[2] = r[2];
            break;
        case SB_TIMEOUT:
            if (n != 8)
                FAIL("spawn: malformed timeout");
            sb->timeout_ms = get_u64(r);
            sb->has_timeout = 1;
            break;
        case SB_MAX_OUTPUT:
            if (n != 8)
                FAIL("spawn: malformed maxOutput");
            sb->max_output = get_u64(r);
            sb->has_max_output = 1;
            break;
        case SB_ROOT:
            sb->new_root = 1;
            break;
        case SB_CGROUP:
            sb->cg.on = 1;
            break;
        case SB_CG_SET: {
            if (n != 9 || r[0] == 0 || r[0] >= CG_NKEYS)
                FAIL("spawn: malformed cgroup limit");
            uint64_t v = get_u64(r + 1);
            if (v > (1ull << 62) || (v == 0 && r[0] != CG_MEMORY_SWAP_MAX))
                FAIL("spawn: a cgroup limit is out of range");
            sb->cg.on = sb->cg.has[r[0]] = 1;
            sb->cg.value[r[0]] = v;
            break;
        }
        case SB_CG_FILE: {
            if (sb->cg.nfiles >= SB_MAX_CG_FILES)
                FAIL("spawn: more than 64 cgroup files");
            struct alcove_cg_file *f =
                realloc(sb->cg.files, (sb->cg.nfiles + 1) * sizeof(*f));
            if (f == NULL)
                goto nomem;
            sb->cg.files = f;
            struct sb_str name, value;
            const unsigned char *q = r;
            size_t left = n;
            if (take_lp(&a, &q, &left, &name, 0) < 0 || take_lp(&a, &q, &left, &value, 0) < 0 ||
                left != 0 || name.len == 0 || name.len > 255 || value.len > 4096 ||
                memchr(name.s, '/', name.len) != NULL || name.s[0] == '.')
                FAIL("spawn: malformed cgroup file");
            if (cg_file_refused(name.s))
                FAIL("spawn: a cgroup file that moves processes into the cgroup or kills them "
                     "(cgroup.procs, cgroup.threads, cgroup.kill, tasks) or runs a program "
                     "(release_agent, notify_on_release) is not written for a sandbox");
            f[sb->cg.nfiles].name = name.s;
            f[sb->cg.nfiles].value = value.s;
            sb->cg.nfiles++;
            sb->cg.on = 1;
            break;
        }
        default:
            FAIL("spawn: unknown record in the request");
        }
    }
    if (sb->argc == 0)
        FAIL("spawn: argv is empty");
    if (sb->hostname.s != NULL && !(sb->namespaces & 0x04000000ull))
        FAIL("spawn: a host name needs the uts namespace");
    if ((sb->nmounts > 0 || sb->new_root) && !(sb->namespaces & 0x00020000ull))
        FAIL("spawn: mounts need the mount namespace");
    if (sb->nlock_files > 0 && !sb->new_root)
        FAIL("spawn: lock files need a new root");
    if (sb->init && !(sb->namespaces & 0x20000000ull))
        FAIL("spawn: an init needs the pid namespace");
    if (sb->userns_fd >= 0 && (sb->namespaces & 0x10000000ull))
        FAIL("spawn: a user namespace to join cannot go with a new user namespace");
    if (sb->disable_userns && !(sb->namespaces & 0x10000000ull))
        FAIL("spawn: disabling user namespaces needs a new user namespace");
    if (sb->new_session && sb->keep_pgrp)
        FAIL("spawn: a new session cannot keep the process group");
    if (sb->envp == NULL && sb->env_clear && (sb->envp = calloc(1, sizeof(char *))) == NULL)
        goto nomem;
    return 0;
nomem:
    alcove_sandbox_free(sb);
    *why = NULL;
    return -ENOMEM;
fail:
    alcove_sandbox_free(sb);
    return -EINVAL;
}

/* The pids of the NSpid line of /proc/<pid>/status ("self" when pid is 0), from /proc's
 * namespace down to the process's own: up to cap of them; returns how many (0: none). */
static int nspids(pid_t pid, pid_t *out, int cap)
{
    char path[64], line[512];
    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/status");
    else
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "re");
    if (fp == NULL)
        return 0;
    int n = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, "NSpid:", 6) != 0)
            continue;
        char *p = line + 6, *end;
        for (long v; n < cap && (v = strtol(p, &end, 10)) > 0 && end != p; p = end)
            out[n++] = (pid_t)v;
        break;
    }
    fclose(fp);
    return n;
}

static size_t all_children(pid_t pid, pid_t **buf, size_t *cap);

/* Nesting of pid namespaces is at most 32 deep. */
#define NSPID_MAX 33

struct alcove_proc_view alcove_proc_view(void)
{
    struct alcove_proc_view v = {-1, 0};
    char self[32];
    ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
    if (n <= 0)
        return v;
    self[n] = 0;
    v.self = (pid_t)strtol(self, NULL, 10);
    /* From NSpid, not from the numbers alone: a pid namespace of its own may number this
     * process as /proc's namespace does (small pids, or after a wrap). */
    pid_t ids[NSPID_MAX];
    int k = nspids(0, ids, NSPID_MAX);
    if (k >= 1 && ids[0] == v.self && ids[k - 1] == getpid())
        v.level = k - 1;
    else if (k == 0 && v.self == getpid())
        v.level = 0; /* a kernel without NSpid (before 4.1): no pid namespaces to tell */
    return v;
}

pid_t alcove_pid_of_proc(const struct alcove_proc_view *v, pid_t proc_pid)
{
    if (v->level == 0)
        return proc_pid;
    pid_t ids[NSPID_MAX];
    return v->level > 0 && nspids(proc_pid, ids, NSPID_MAX) > v->level ? ids[v->level] : 0;
}

pid_t alcove_proc_pid(const struct alcove_proc_view *v, pid_t child)
{
    if (v->level <= 0)
        return v->level == 0 ? child : 0;
    /* One of this process's children in /proc's list (a control process has one thread),
     * however many it has. */
    pid_t *kids = NULL;
    size_t cap = 0, n = all_children(v->self, &kids, &cap);
    pid_t found = 0;
    for (size_t i = 0; i < n && found == 0; i++)
        if (alcove_pid_of_proc(v, kids[i]) == child)
            found = kids[i];
    free(kids);
    return found;
}

/* Calls each(path, arg) with /proc/PID/task/TID/<file> for every thread TID of pid, until
 * one returns nonzero. Returns that, or 0 (also when pid is gone). */
static int each_task_file(pid_t pid, const char *file, int (*each)(const char *, void *),
                          void *arg)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    int rv = 0;
    struct dirent *e;
    while (rv == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char name[384];
        snprintf(name, sizeof(name), "/proc/%d/task/%s/%s", (int)pid, e->d_name, file);
        rv = each(name, arg);
    }
    closedir(d);
    return rv;
}

struct children {
    pid_t *out;
    size_t n, cap;
};

static int add_children(const char *path, void *arg)
{
    struct children *c = arg;
    FILE *fp = fopen(path, "re");
    if (fp == NULL)
        return 0;
    int child;
    while (c->n < c->cap && fscanf(fp, "%d", &child) == 1)
        c->out[c->n++] = (pid_t)child;
    fclose(fp);
    return c->n == c->cap;
}

size_t alcove_children_of(pid_t pid, pid_t *out, size_t cap)
{
    struct children c = {out, 0, cap};
    if (cap > 0)
        each_task_file(pid, "children", add_children, &c);
    return c.n;
}

/* Nonzero when the thread whose stat is at path runs yet: neither stopped, nor ended, nor
 * in an uninterruptible sleep (a vfork's parent waits for its child so; such a thread forks
 * nothing until it wakes, and stops then). */
static int running(const char *path, void *arg)
{
    (void)arg;
    char stat[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    stat[n] = 0;
    /* "pid (comm) S ...": the name may hold ") ", the state follows the last one. */
    const char *end = strrchr(stat, ')');
    return end != NULL && end[1] == ' ' && end[2] != 0 && strchr("TtZXxD", end[2]) == NULL;
}

/* Whether every thread of pid has stopped, ended or sleeps uninterruptibly (or pid is
 * gone). A thread stops on its way back to user space: one that has stopped is not inside a
 * fork whose child its list of children does not hold yet (a stop sent to one process does
 * not end a fork under way, as a signal to a whole process group would). */
static int all_stopped(pid_t pid)
{
    return !each_task_file(pid, "stat", running, NULL);
}

size_t alcove_shared_report(const unsigned char *page, const unsigned char **record)
{
    if (page == NULL)
        return 0;
    uint32_t len;
    memcpy(&len, page, sizeof(len));
    if (len == 0 || len > SB_SHARED_REPORT - sizeof(len))
        return 0;
    *record = page + sizeof(len);
    return len;
}

long long alcove_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The processes of a tree being killed: in the order found, and a set of them (open
 * addressing, 0 for a free slot, at most half full). */
struct tree {
    pid_t *pid;
    size_t n, cap;
    pid_t *set;
    size_t set_cap;
};

/* The slot of set (cap slots, a power of two) that holds p, or the free one it would take. */
static size_t slot_of(const pid_t *set, size_t cap, pid_t p)
{
    size_t i = (size_t)((uint32_t)p * 2654435761u) & (cap - 1);
    while (set[i] != 0 && set[i] != p)
        i = (i + 1) & (cap - 1);
    return i;
}

/* 1 when p is added, 0 when it was there, -1 without memory. */
static int tree_add(struct tree *t, pid_t p)
{
    if (t->set_cap > 0 && t->set[slot_of(t->set, t->set_cap, p)] == p)
        return 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        pid_t *grown = realloc(t->pid, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        t->pid = grown;
        t->cap = cap;
    }
    if (2 * (t->n + 1) > t->set_cap) {
        size_t cap = t->set_cap ? 2 * t->set_cap : 512;
        pid_t *set = calloc(cap, sizeof(*set));
        if (set == NULL)
            return -1;
        for (size_t i = 0; i < t->n; i++)
            set[slot_of(set, cap, t->pid[i])] = t->pid[i];
        free(t->set);
        t->set = set;
        t->set_cap = cap;
    }
    t->set[slot_of(t->set, t->set_cap, p)] = p;
    t->pid[t->n++] = p;
    return 1;
}

/* Every child of pid, into *buf (grown as needed); the count. */
static size_t all_children(pid_t pid, pid_t **buf, size_t *cap)
{
    for (;;) {
        if (*cap == 0) {
            pid_t *b = malloc(256 * sizeof(*b));
            if (b == NULL)
                return 0;
            *buf = b;
            *cap = 256;
        }
        size_t n = alcove_children_of(pid, *buf, *cap);
        if (n < *cap)
            return n;
        pid_t *grown = realloc(*buf, 2 * *cap * sizeof(*grown));
        if (grown == NULL)
            return n;
        *buf = grown;
        *cap *= 2;
    }
}

/* Signals a process known by its /proc pid. */
static void signal_proc(const struct alcove_proc_view *v, pid_t p, int sig)
{
    pid_t own = alcove_pid_of_proc(v, p);
    if (own > 0)
        kill(own, sig);
}

static void stop_one(const struct alcove_proc_view *v, pid_t p, long long until)
{
    signal_proc(v, p, SIGSTOP);
    while (!all_stopped(p) && alcove_monotonic_ns() < until) {
        struct timespec pause = {0, 20000};
        nanosleep(&pause, NULL);
    }
}

void alcove_kill_tree(pid_t pid, int sig)
{
    /* Every descendant is found before anything dies: a process that dies first hands
     * its children to the subreaper, out of the walk (a daemon that left the process
     * group would then live on). Each is stopped, and its children listed once it has
     * stopped, so none can fork past the walk; the process group is stopped first, so
     * none of it forks meanwhile either. The wait for the stops has a bound (100 ms for
     * the whole walk), and the walk goes over the whole tree again until a pass finds no
     * one new (for a second at most): a fork under way when its parent was listed shows on
     * a later pass. Then the group and the tree get sig. A pid namespace goes with its
     * init. The walk goes by /proc's numbers, which differ from this process's in a pid
     * namespace of its own. */
    kill(-pid, SIGSTOP);
    struct alcove_proc_view v = alcove_proc_view();
    pid_t top = alcove_proc_pid(&v, pid);
    if (top <= 0) {
        /* Not in /proc (gone, or /proc is not of this namespace): its group and itself. */
        kill(-pid, sig);
        kill(pid, sig);
        kill(-pid, SIGCONT);
        kill(pid, SIGCONT);
        return;
    }
    struct tree t = {0};
    pid_t *kids = NULL;
    size_t kids_cap = 0;
    long long now = alcove_monotonic_ns(), until = now + 100000000LL, last = now + 1000000000LL;
    if (tree_add(&t, top) > 0)
        stop_one(&v, top, until);
    else
        kill(pid, sig);
    for (int quiet = 0; quiet < 2 && alcove_monotonic_ns() < last;) {
        int added = 0;
        for (size_t i = 0; i < t.n; i++) { /* those found in this pass too */
            size_t k = all_children(t.pid[i], &kids, &kids_cap);
            for (size_t j = 0; j < k; j++) {
                int r = tree_add(&t, kids[j]);
                if (r > 0)
                    stop_one(&v, kids[j], until);
                else if (r < 0)
                    signal_proc(&v, kids[j], sig); /* no memory to hold it: at least it goes */
                added |= r != 0;
            }
        }
        quiet = added ? 0 : quiet + 1;
    }
    kill(-pid, sig);
    for (size_t i = t.n; i-- > 0;)
        signal_proc(&v, t.pid[i], sig);
    kill(-pid, SIGCONT); /* a stopped process that ignored sig still dies of SIGKILL */
    for (size_t i = 0; i < t.n; i++)
        signal_proc(&v, t.pid[i], SIGCONT);
    free(t.pid);
    free(t.set);
    free(kids);
}
