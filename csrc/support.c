#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "compat.h"
#include "constants.h"
#include "support.h"

int *alcove_option(struct alcove_state *ap, int64_t option)
{
    switch (option) {
    case ALCOVE_OPT_MAXCHILD: return &ap->opt.maxchild;
    case ALCOVE_OPT_MAXFORKDEPTH: return &ap->opt.maxforkdepth;
    case ALCOVE_OPT_EXIT_STATUS: return &ap->opt.exit_status;
    case ALCOVE_OPT_TERMSIG: return &ap->opt.termsig;
    case ALCOVE_OPT_FLOWCONTROL: return &ap->opt.flowcontrol;
    case ALCOVE_OPT_SIGNALONEOF: return &ap->opt.signaloneof;
    case ALCOVE_OPT_STDIN_CLOSED: return &ap->opt.stdin_closed;
    case ALCOVE_OPT_STDOUT_CLOSED: return &ap->opt.stdout_closed;
    case ALCOVE_OPT_STDERR_CLOSED: return &ap->opt.stderr_closed;
    case ALCOVE_OPT_SPIN: return &ap->opt.spin;
    default: return NULL;
    }
}

const char *alcove_option_name(int64_t option)
{
    static const char *const names[] = {
        "maxchild",      "maxforkdepth",  "exit_status",   "termsig", "flowcontrol",
        "signaloneof",   "stdin_closed",  "stdout_closed", "stderr_closed", "spin",
    };
    if (option < 0 || option >= (int64_t)(sizeof(names) / sizeof(names[0])))
        return "unknown option";
    return names[option];
}

char **alcove_strings(const struct alcove_arg *list)
{
    char **v = calloc(list->count + 1, sizeof(char *));
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < list->count; i++) {
        union {
            const char *c;
            char *m;
        } u = {.c = list->list[i].s};
        /* execve's prototype takes char *const[] but never writes through it. */
        v[i] = u.m;
    }
    return v;
}

int alcove_reply_constant(struct alcove_reply *reply, int domain, const struct alcove_arg *name)
{
    long long value;
    if (alcove_constant_lookup(domain, name->s, name->len, &value) < 0)
        return alcove_reply_null(reply);
    return alcove_reply_int(reply, value);
}

int alcove_fd_internal(const struct alcove_state *ap, int64_t fd)
{
    if (fd < 0)
        return 0;
    if (fd == ap->up_in || fd == ap->up_out || fd == ap->sigread || fd == ap->sigwrite ||
        fd == ap->clear_refs_fd)
        return 1;
    for (size_t i = 0; i < ap->nchild; i++) {
        const struct alcove_child *c = &ap->child[i];
        if (fd == c->ctl_in || fd == c->ctl_out || fd == c->in || fd == c->out || fd == c->err ||
            fd == c->setup_fd)
            return 1;
        /* Its cgroup v2 directory, held until the program ends (cgroup.c). */
        if (c->cg != NULL && fd == c->cg->v2_fd)
            return 1;
    }
    return 0;
}

void alcove_subreaper(struct alcove_state *ap, int on)
{
    if (ap->subreaper == on)
        return;
    if (alcove_set_subreaper(on) == 0)
        ap->subreaper = on;
}

void alcove_exec_prepare(struct alcove_state *ap)
{
    alcove_flush_blocking(ap);
    ap->subreaper_before_exec = ap->subreaper;
    alcove_subreaper(ap, 0);
    /* An ignored SIGCHLD stays ignored across exec: the program inherits what the
     * caller asked for, not the handler that kept reaping. */
    if (!ap->local && ap->sigmode[SIGCHLD] == ALCOVE_SIG_IGN)
        signal(SIGCHLD, SIG_IGN);
    /* ... and the C library's own signals, which a root started through libalcove.so
     * inherits ignored (posix_spawn leaves them so), are the program's to have at their
     * default, as bubblewrap's and a shell's programs have them. */
    if (!ap->local)
        ap->library_ignored = alcove_library_signals(0);
}

void alcove_exec_failed(struct alcove_state *ap)
{
    int saved = errno;
    if (!ap->local && ap->subreaper_before_exec)
        alcove_subreaper(ap, 1);
    if (!ap->local && ap->sigmode[SIGCHLD] == ALCOVE_SIG_IGN)
        alcove_signal_set(ap, SIGCHLD, ALCOVE_SIG_IGN);
    if (!ap->local)
        alcove_library_signals(ap->library_ignored);
    errno = saved;
}

struct build_id {
    unsigned char *out;
    size_t cap, len;
};

/* Called for the program first (then its libraries): looks only there. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct build_id *b = data;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
            ElfW(Nhdr) nh;
            memcpy(&nh, p, sizeof(nh));
            size_t name = sizeof(nh), desc = name + ((nh.n_namesz + 3u) & ~3u);
            size_t next = desc + ((nh.n_descsz + 3u) & ~3u);
            if (next > (size_t)(end - p))
                break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                memcmp(p + name, "GNU", 4) == 0 && nh.n_descsz <= b->cap) {
                memcpy(b->out, p + desc, nh.n_descsz);
                b->len = nh.n_descsz;
                return 1;
            }
            p += next;
        }
    }
    return 1;
}

size_t alcove_build_id(unsigned char *out, size_t cap)
{
    struct build_id b = {out, cap, 0};
    dl_iterate_phdr(find_build_id, &b);
    return b.len;
}

void alcove_null_if_closed(int fd, int flags)
{
    if (fd < 0 || fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
        return;
    int null = open("/dev/null", flags);
    if (null >= 0 && null != fd) {
        if (dup2(null, fd) >= 0 && (flags & O_CLOEXEC) != 0)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        close(null);
    }
}

int alcove_read_int_file(const char *path)
{
    FILE *fp = fopen(path, "re");
    if (fp == NULL)
        return -1;
    int v = -1;
    if (fscanf(fp, "%d", &v) != 1)
        v = -1;
    fclose(fp);
    return v;
}

int alcove_reply_id(struct alcove_reply *reply, long nr, long (*value)(void))
{
    if (nr < 0)
        return alcove_reply_int(reply, value());
    long v = syscall(nr);
    if (v == -1)
        return -errno;
    return alcove_reply_int(reply, v);
}
