/* Installs a seccomp filter read from a file, then runs a command under it.
 *
 *   seccomp_install FILTER COMMAND [ARG...]
 *
 * FILTER holds the raw struct sock_filter array (8 bytes per instruction, native byte order).
 * The filter is installed with prctl(PR_SET_NO_NEW_PRIVS) and seccomp(SECCOMP_SET_MODE_FILTER),
 * and COMMAND is run with execvp, so the filter also judges the execve itself.
 *
 * Exit status 125: the filter could not be read or installed; 127: COMMAND could not be run.
 * Otherwise the status is the command's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { EXIT_SETUP_FAILED = 125, EXIT_EXEC_FAILED = 127 };

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
}

static void free_buffer(unsigned char **buffer) {
    free(*buffer);
}

static int read_filter(const char *path, unsigned char **out, size_t *len) {
    __attribute__((cleanup(close_fd))) int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
        st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        return -EINVAL;
    }
    unsigned char *buffer = malloc((size_t)st.st_size);
    if (buffer == NULL) return -ENOMEM;
    size_t done = 0;
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buffer + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int error = n < 0 ? errno : EIO;
            free(buffer);
            return -error;
        }
        done += (size_t)n;
    }
    *out = buffer;
    *len = done;
    return 0;
}

int main(int argc, char *argv[]) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILTER COMMAND [ARG...]\n", argv[0]);
        return EXIT_SETUP_FAILED;
    }
    __attribute__((cleanup(free_buffer))) unsigned char *filter = NULL;
    size_t len = 0;
    int rc = read_filter(argv[1], &filter, &len);
    if (rc < 0) {
        fprintf(stderr, "seccomp_install: cannot read filter %s: %s\n", argv[1], strerror(-rc));
        return EXIT_SETUP_FAILED;
    }
    struct sock_fprog prog = {
        .len = (unsigned short)(len / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)filter,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        fprintf(stderr, "seccomp_install: cannot set no_new_privs: %s\n", strerror(errno));
        return EXIT_SETUP_FAILED;
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        fprintf(stderr, "seccomp_install: cannot install filter: %s\n", strerror(errno));
        return EXIT_SETUP_FAILED;
    }
    execvp(argv[2], &argv[2]);
    fprintf(stderr, "seccomp_install: cannot run %s: %s\n", argv[2], strerror(errno));
    return EXIT_EXEC_FAILED;
}
