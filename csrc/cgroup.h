/* cgroups for spawned programs: one cgroup per sandbox, v1, v2 or both (hybrid).
 *
 * The control process finds the machine's layout once (/proc/self/mountinfo and
 * /proc/self/cgroup), creates the sandbox's cgroups before the fork, nested under
 * its own cgroup of each hierarchy and named alcove-<pid>-<starttime>-<n> after
 * itself (so that a later start can tell a dead control process's from a live
 * one's), writes the limits, and has the child placed in them before it runs any
 * setup step: clone3 CLONE_INTO_CGROUP on v2, cgroup.procs written by the parent
 * for v1 (a child that pivots into a new root, changes its ids or enters a user
 * namespace could not reach or write them itself). When the program ends,
 * everything left in its cgroups is killed, the usage read and the cgroups removed. */
#ifndef ALCOVE_CGROUP_H
#define ALCOVE_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

/* Keys of SB_CG_SET records (see sandbox.h). */
enum {
    CG_MEMORY_MAX = 1,      /* bytes */
    CG_MEMORY_HIGH = 2,     /* bytes */
    CG_MEMORY_SWAP_MAX = 3, /* bytes of swap (v1: added to memory.max for memsw) */
    CG_PIDS_MAX = 4,        /* tasks */
    CG_CPU_MAX = 5,         /* millionths of a CPU */
    CG_CPU_WEIGHT = 6,      /* 1..10000, v2's scale */
    CG_NKEYS = 7,
};

/* The hierarchies a sandbox may be in: the v2 one, then v1 ones by controller. */
enum { CG_V2 = 0, CG_MEMORY, CG_PIDS, CG_CPU, CG_CPUACCT, CG_FREEZER, CG_NHIER };

struct alcove_cg_file {
    const char *name, *value;
};

/* What a spawn request asks for. */
struct alcove_cg_request {
    int on;
    int has[CG_NKEYS];
    uint64_t value[CG_NKEYS];
    struct alcove_cg_file *files;
    size_t nfiles;
};

/* A sandbox's cgroups. */
struct alcove_cg {
    char *dir[CG_NHIER];  /* created, or NULL */
    int v2_fd;            /* the v2 directory, for CLONE_INTO_CGROUP (-1: none) */
    int procs[CG_NHIER];  /* each cgroup's cgroup.procs, open for the child (-1: none) */
};

/* Figures read when the program ended (-1: not known). */
struct alcove_cg_usage {
    int64_t memory_peak, cpu_usec, pids_peak, oom_kills;
};

/* Creates the cgroups and writes the limits. On failure returns -errno with what
 * failed in `what`, and nothing is left. */
int alcove_cg_create(const struct alcove_cg_request *req, struct alcove_cg **out, char *what,
                     size_t whatlen);
/* In the child, before its setup steps: moves itself into the cgroups (v1
 * hierarchies, and v2 unless `into_v2` says clone3 did). Only system calls (it may
 * share the parent's memory). Returns 0, or -errno with the hierarchy that failed
 * in *failed. */
int alcove_cg_enter(const struct alcove_cg *cg, int into_v2, int *failed);
/* In the parent once the child has run (or was never made): the cgroup.procs
 * descriptors are closed. */
void alcove_cg_entered(struct alcove_cg *cg);
/* Kills everything in the cgroups (signal SIGKILL). */
void alcove_cg_kill(const struct alcove_cg *cg);
/* Kills what is left, reads the usage, removes the cgroups and frees cg.
 * `sigkilled`: the program died of a SIGKILL this process did not send. */
void alcove_cg_finish(struct alcove_cg *cg, struct alcove_cg_usage *usage, int sigkilled);
/* Removes cgroups left by control processes that are gone (run at start). */
void alcove_cg_remove_stale(void);
/* The same for the control process /proc numbers `owner` alone (0: any). */
void alcove_cg_remove_stale_of(pid_t owner);
/* clone3 into a v2 cgroup; -1 with errno (ENOSYS, E2BIG, ...) when it cannot. */
pid_t alcove_clone_into(unsigned long long flags, int cgroup_fd);
/* clone3 into a v2 cgroup, the child sharing this process's memory and running
 * fn(arg) on `stack` (it must exec or exit) while this process waits (CLONE_VM |
 * CLONE_VFORK); -1 with errno when it cannot (ENOSYS where this architecture has no
 * such call here). */
pid_t alcove_clone_into_vm(int cgroup_fd, int (*fn)(void *), void *arg, void *stack,
                           size_t size);

#endif
