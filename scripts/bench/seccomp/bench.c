/* Per-system-call cost of seccomp filters for one allowlist policy.
 *
 *   bench DIR ITERATIONS ROUNDS EARLY_NR LATE_NR
 *
 * DIR holds the policy and the filters prepared by main.ts:
 *   policy.txt  the allowed syscall numbers, one per line, in rule order
 *   ours.bpf    the policy compiled by alcove's compilePolicy (struct sock_filter array)
 *   linear.bpf  the same policy as a plain chain of equality tests
 * The libseccomp filters are built here from policy.txt (default action ERRNO(EPERM), like the
 * others), with the binary tree optimizer (SCMP_FLTATR_CTL_OPTIMIZE 2) and with the default
 * optimizer, and exported to DIR/libseccomp_tree.bpf and DIR/libseccomp_default.bpf, which are
 * the programs seccomp_load would install and which main.ts inspects.
 *
 * Every filter is measured twice. As is, the kernel's action cache (Linux 5.11+) answers calls
 * the filter allows for any arguments without running it, so the filter's own cost hardly shows.
 * With a leading load of seccomp_data.instruction_pointer, which the cache cannot evaluate, the
 * kernel runs the whole program on every call; the load is one instruction for every filter.
 *
 * Every measurement runs in its own child (a filter cannot be removed once installed): the child
 * installs the filter, then times ITERATIONS calls of EARLY_NR (the first rule) and of LATE_NR
 * (the last rule). Measurements take turns for ROUNDS rounds so that drift in the machine's
 * speed hits all of them alike. One line per measurement on stdout:
 *   result CONFIG cached|run early|late NANOSECONDS_PER_CALL
 * and one line per filter:
 *   filter CONFIG INSTRUCTIONS */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_RULES = 4096, PATH_SIZE = 4096 };

enum config { NONE, OURS, LIBSECCOMP_TREE, LIBSECCOMP_DEFAULT, LINEAR, CONFIGS };

static const char *const config_names[CONFIGS] = {
    "none", "ours", "libseccomp_tree", "libseccomp_default", "linear",
};

struct filter {
    struct sock_filter *insns;
    unsigned short count;
};

static const char *dir;
static long rules[MAX_RULES];
static int rule_count;

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
}

static void close_file(FILE **file) {
    if (*file != NULL) fclose(*file);
}

static void release_ctx(scmp_filter_ctx *ctx) {
    if (*ctx != NULL) seccomp_release(*ctx);
}

static void die(const char *what, int error) {
    fprintf(stderr, "bench: %s: %s\n", what, strerror(error));
    exit(1);
}

static void path_in_dir(char *out, const char *name) {
    int n = snprintf(out, PATH_SIZE, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_SIZE) die("path too long", ENAMETOOLONG);
}

static void read_policy(void) {
    char path[PATH_SIZE];
    path_in_dir(path, "policy.txt");
    __attribute__((cleanup(close_file))) FILE *file = fopen(path, "r");
    if (file == NULL) die(path, errno);
    long nr;
    while (fscanf(file, "%ld", &nr) == 1) {
        if (rule_count == MAX_RULES) die("too many rules", E2BIG);
        rules[rule_count++] = nr;
    }
}

static struct filter read_filter(const char *name) {
    char path[PATH_SIZE];
    path_in_dir(path, name);
    __attribute__((cleanup(close_fd))) int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(path, errno);
    struct stat st;
    if (fstat(fd, &st) < 0) die(path, errno);
    if (st.st_size <= 0 || st.st_size % 8 != 0 || st.st_size / 8 > BPF_MAXINSNS) {
        die(path, EINVAL);
    }
    struct filter filter = {malloc((size_t)st.st_size), (unsigned short)(st.st_size / 8)};
    if (filter.insns == NULL) die(path, ENOMEM);
    if (read(fd, filter.insns, (size_t)st.st_size) != st.st_size) die(path, EIO);
    return filter;
}

static scmp_filter_ctx libseccomp_ctx(int optimize) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (ctx == NULL) die("seccomp_init", ENOMEM);
    for (int i = 0; i < rule_count; i++) {
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, (int)rules[i], 0);
        if (rc < 0) die("seccomp_rule_add", -rc);
    }
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, (uint32_t)optimize);
    if (rc < 0) die("seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE)", -rc);
    return ctx;
}

static void export_libseccomp(int optimize, const char *name) {
    __attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = libseccomp_ctx(optimize);
    char path[PATH_SIZE];
    path_in_dir(path, name);
    __attribute__((cleanup(close_fd))) int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die(path, errno);
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) die("seccomp_export_bpf", -rc);
}

static void install(const struct filter *filter, int defeat_cache) {
    struct sock_filter insns[BPF_MAXINSNS + 1];
    unsigned short count = 0;
    if (defeat_cache) {
        insns[count++] = (struct sock_filter)BPF_STMT(
            BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer));
    }
    memcpy(&insns[count], filter->insns, filter->count * sizeof(struct sock_filter));
    count += filter->count;
    struct sock_fprog prog = {.len = count, .filter = insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("prctl(PR_SET_NO_NEW_PRIVS)", errno);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) die("seccomp", errno);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double time_calls(long nr, long iterations) {
    /* Warm up caches and the branch predictor, then time. */
    for (long i = 0; i < iterations / 10; i++) syscall(nr);
    double start = now_ns();
    for (long i = 0; i < iterations; i++) syscall(nr);
    return (now_ns() - start) / (double)iterations;
}

static void measure(enum config config, int defeat_cache, const struct filter *filters,
                    long iterations, long early, long late) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork", errno);
    if (pid == 0) {
        /* libseccomp's filters are installed from their exported bytes, as seccomp_load would. */
        if (config != NONE) install(&filters[config], defeat_cache);
        if (syscall(early) < 0 || syscall(late) < 0) die("a timed call under the filter", errno);
        double early_ns = time_calls(early, iterations);
        double late_ns = time_calls(late, iterations);
        const char *mode = defeat_cache ? "run" : "cached";
        printf("result %s %s early %.3f\n", config_names[config], mode, early_ns);
        printf("result %s %s late %.3f\n", config_names[config], mode, late_ns);
        fflush(stdout);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) die("waitpid", errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: the %s child failed (status 0x%x)\n", config_names[config], status);
        exit(1);
    }
}

int main(int argc, char *argv[]) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s DIR ITERATIONS ROUNDS EARLY_NR LATE_NR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    long iterations = strtol(argv[2], NULL, 10);
    long rounds = strtol(argv[3], NULL, 10);
    long early = strtol(argv[4], NULL, 10);
    long late = strtol(argv[5], NULL, 10);
    if (iterations <= 0 || rounds <= 0) die("ITERATIONS and ROUNDS must be positive", EINVAL);
    read_policy();

    /* One CPU for every child, so that all measure the same core. */
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) {
        for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--) {
            if (CPU_ISSET(cpu, &cpus)) {
                CPU_ZERO(&cpus);
                CPU_SET(cpu, &cpus);
                sched_setaffinity(0, sizeof(cpus), &cpus);
                break;
            }
        }
    }

    export_libseccomp(2, "libseccomp_tree.bpf");
    export_libseccomp(1, "libseccomp_default.bpf");
    struct filter filters[CONFIGS] = {{0}};
    filters[OURS] = read_filter("ours.bpf");
    filters[LINEAR] = read_filter("linear.bpf");
    filters[LIBSECCOMP_TREE] = read_filter("libseccomp_tree.bpf");
    filters[LIBSECCOMP_DEFAULT] = read_filter("libseccomp_default.bpf");
    for (int config = OURS; config < CONFIGS; config++) {
        printf("filter %s %u\n", config_names[config], filters[config].count);
    }

    /* Every filter as is and with the cache defeated; no filter once. */
    enum { MEASUREMENTS = 2 * CONFIGS - 1 };
    for (long round = 0; round < rounds; round++) {
        for (int step = 0; step < MEASUREMENTS; step++) {
            /* Rotate the order each round so no measurement always runs first. */
            int which = (int)((step + round) % MEASUREMENTS);
            enum config config = which < CONFIGS ? (enum config)which : (enum config)(which - CONFIGS + 1);
            measure(config, which >= CONFIGS, filters, iterations, early, late);
        }
    }
    for (int config = OURS; config < CONFIGS; config++) free(filters[config].insns);
    return 0;
}
