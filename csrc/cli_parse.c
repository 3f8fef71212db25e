/* The command line parsed here (cli.h, alcove_cli_parse): cli.ts's fast path. The reference
 * is ffi/cli/parse.ts with the spawn request encoder (ffi/sandbox/options.ts): for the
 * options of FAST_OPTIONS this gives the same request, supervisor words, messages and exit
 * statuses, which tests/cli_parse_test.ts checks through --dump. cli.ts sends any other
 * command line to the TypeScript parser before it execs (ffi/cli/_fast.ts). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli.h"
#include "constants.h"
#include "frame.h"
#include "sandbox.h"
#include "support.h"
#include "wire.h"

extern char **environ;

/* The options parsed here and their arguments: the same as parse.ts's TAKES and FLAGS
 * (tests/cli_parse_test.ts checks both this table and ffi/cli/_fast.ts's copy of it). */
static const struct {
    const char *name;
    int takes;
} FAST_OPTIONS[] = {
    {"--unshare-all", 0},   {"--share-net", 0},      {"--unshare-user", 0},
    {"--unshare-user-try", 0}, {"--unshare-ipc", 0}, {"--unshare-pid", 0},
    {"--unshare-net", 0},   {"--unshare-uts", 0},    {"--unshare-cgroup", 0},
    {"--unshare-cgroup-try", 0}, {"--clearenv", 0},  {"--new-session", 0},
    {"--die-with-parent", 0}, {"--as-pid-1", 0},     {"--uid", 1},
    {"--gid", 1},           {"--hostname", 1},       {"--chdir", 1},
    {"--unsetenv", 1},      {"--lock-file", 1},      {"--remount-ro", 1},
    {"--proc", 1},          {"--dev", 1},            {"--tmpfs", 1},
    {"--mqueue", 1},        {"--dir", 1},            {"--perms", 1},
    {"--setenv", 2},        {"--bind", 2},           {"--bind-try", 2},
    {"--dev-bind", 2},      {"--dev-bind-try", 2},   {"--ro-bind", 2},
    {"--ro-bind-try", 2},   {"--symlink", 2},        {"--chmod", 2},
    {"--info-fd", 1},       {"--json-status-fd", 1}, {"--block-fd", 1},
    {"--userns-block-fd", 1}, {"--sync-fd", 1},    {"--size", 1},
    {"--time", 1},          {"--rlimit", 1},         {"--cap-add", 1},
    {"--cap-drop", 1},
};
#define NFAST (sizeof(FAST_OPTIONS) / sizeof(FAST_OPTIONS[0]))

/* CLONE_NEW* flags, by bit of `ns` below; the order of the --report words (NS_KEYS in
 * ffi/cli/_common.ts). */
enum { NS_CGROUP, NS_IPC, NS_MOUNT, NS_NET, NS_PID, NS_UTS, NS_USER };
static const uint64_t CLONE_FLAGS[] = {0x02000000, 0x08000000, 0x00020000, 0x40000000,
                                       0x20000000, 0x04000000, 0x10000000};

struct mount {
    unsigned char op, flags;
    uint32_t mode;
    double size; /* bytes, a whole number (--size); 0: none */
    const char *source, *target;
    const char *option; /* the option that made it, to say a problem of it */
};

/* One --rlimit: the name without RLIMIT_, in capitals; the limits, -1 for unlimited; the
 * resource's number, once encode has looked it up. */
struct rlim {
    const char *name;
    double cur, max;
    long long resource;
};

/* One --cap-add or --cap-drop: the name in capitals (ASCII: cli.ts sends no other here). */
struct cap_op {
    int add;
    const char *name;
    int number; /* -1 for ALL */
};

struct env_var {
    const char *text; /* NAME=value */
    size_t name_len;
    int alive;
};

struct parsed {
    char **argv; /* the command */
    int argc;
    unsigned ns;
    int share_net, as_pid1, new_session, die_with_parent;
    int user_try; /* --unshare-user-try, or --unshare-all */
    int has_uid, has_gid;
    uint32_t uid, gid;
    const char *hostname, *chdir;
    struct mount *mounts;
    size_t nmounts;
    const char **locks;
    size_t nlocks;
    struct env_var *env;
    size_t nenv;
    size_t *order;     /* scratch for the environment's order */
    const char *home;  /* $HOME as the command line started, or NULL */
    char **owned; /* the "NAME=value" strings of --setenv and PWD */
    size_t nowned;
    /* Descriptors: parse.ts's plan.ownFds (in order), infoFd, jsonStatusFd, blockFds,
     * syncFd, usernsBlockFd (-1: none). */
    int *own, *block;
    size_t nown, nblock;
    int info_fd, json_fd, sync_fd, userns_block, userns_block_fd;
    double timeout; /* milliseconds, a whole number (--time); 0: none */
    struct rlim *rlimits; /* --rlimit, by name in the order first given */
    size_t nrlimits;
    struct cap_op *caps; /* --cap-add and --cap-drop, in order */
    size_t ncaps;
};

/* An environment variable name that setenv(3) and unsetenv(3) refuse (ffi/cli/parse.ts). */
#define BAD_ENV_NAME "%s: \"%s\" is not a variable name: it must be non-empty, without '='"

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("alcove: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return ALCOVE_EXIT_USAGE;
}

/* Digits of `base` (ASCII), at most max, after what strtol(3) takes before them, as
 * bubblewrap reads its numbers: blanks, then one sign ("-" only before a zero, since a
 * negative number is refused). parse.ts's integer() in base 10, its octal() in base 8. */
static int whole_number(const char *s, unsigned base, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    int negative = 0;
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    if (*s == '+' || *s == '-')
        negative = *s++ == '-';
    if (*s == 0)
        return -1;
    for (; *s != 0; s++) {
        if (*s < '0' || *s >= (char)('0' + base))
            return -1;
        v = v > max ? v : v * base + (uint64_t)(*s - '0');
    }
    if (v > max || (negative && v != 0))
        return -1;
    *out = v;
    return 0;
}

static int decimal(const char *s, uint64_t max, uint64_t *out)
{
    return whole_number(s, 10, max, out);
}

/* /^[0-7]+$/, at most 07777. */
static int octal(const char *s, uint32_t *out)
{
    uint64_t v;
    if (whole_number(s, 8, 07777, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* How bubblewrap says what a missing value was: "an argument", but "one argument" for
 * --chdir and --remount-ro (parse.ts's argumentWords). */
static const char *argument_words(const char *option, int n)
{
    if (n == 2)
        return "two arguments";
    return strcmp(option, "--chdir") == 0 || strcmp(option, "--remount-ro") == 0
               ? "one argument"
               : "an argument";
}

static int fast_option(const char *name)
{
    for (size_t i = 0; i < NFAST; i++)
        if (strcmp(FAST_OPTIONS[i].name, name) == 0)
            return (int)i;
    return -1;
}

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq == NULL ? 0 : (size_t)(eq - entry);
}

static struct env_var *env_find(struct parsed *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->nenv; i++) {
        struct env_var *v = &p->env[i];
        if (v->alive && v->name_len == len && strncmp(v->text, name, len) == 0)
            return v;
    }
    return NULL;
}

/* Sets NAME=value (text): a variable already there keeps its place, as in an object. */
static void env_set(struct parsed *p, const char *text, size_t len)
{
    struct env_var *v = env_find(p, text, len);
    if (v == NULL) {
        v = &p->env[p->nenv++];
        v->name_len = len;
        v->alive = 1;
    }
    v->text = text;
}

/* The environment: entries with a non-empty name, as bytes (bubblewrap passes on what is not
 * UTF-8 too); a name given twice takes its last value. */
static void env_load(struct parsed *p)
{
    for (char **e = environ; *e != NULL; e++) {
        size_t len = name_len(*e);
        if (len > 0) {
            env_set(p, *e, len);
            if (len == 4 && strncmp(*e, "HOME", 4) == 0)
                p->home = *e + 5;
        }
    }
}

/* A name that an object orders first, by value: a canonical array index. */
static int array_index(const struct env_var *v, uint64_t *out)
{
    uint64_t n = 0;
    if (v->name_len == 0 || v->name_len > 10 || (v->text[0] == '0' && v->name_len > 1))
        return 0;
    for (size_t i = 0; i < v->name_len; i++) {
        if (v->text[i] < '0' || v->text[i] > '9')
            return 0;
        n = n * 10 + (uint64_t)(v->text[i] - '0');
    }
    *out = n;
    return n < 0xffffffffu;
}

/* The request's records (sandbox.h): u8 tag, u32 length, payload. */
struct records {
    unsigned char *data;
    size_t len, cap, start;
    int failed;
};

static unsigned char *room(struct records *r, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = r->cap == 0 ? 4096 : r->cap;
        while (cap < r->len + n)
            cap *= 2;
        unsigned char *d = realloc(r->data, cap);
        if (d == NULL) {
            r->failed = 1;
            return NULL;
        }
        r->data = d;
        r->cap = cap;
    }
    unsigned char *at = r->data + r->len;
    r->len += n;
    return at;
}

static void raw(struct records *r, const void *p, size_t n)
{
    unsigned char *at = room(r, n);
    if (at != NULL && n > 0)
        memcpy(at, p, n);
}

static void u8(struct records *r, unsigned v)
{
    unsigned char b = (unsigned char)v;
    raw(r, &b, 1);
}

static void u32(struct records *r, uint32_t v)
{
    unsigned char *at = room(r, 4);
    if (at != NULL)
        alcove_put_u32(at, v);
}

static void u64(struct records *r, uint64_t v)
{
    u32(r, (uint32_t)v);
    u32(r, (uint32_t)(v >> 32));
}

static void close_record(struct records *r)
{
    if (r->start != 0 && !r->failed)
        alcove_put_u32(r->data + r->start, (uint32_t)(r->len - r->start - 4));
    r->start = 0;
}

static void open_record(struct records *r, unsigned tag)
{
    close_record(r);
    u8(r, tag);
    r->start = r->len;
    u32(r, 0);
}

static void text_record(struct records *r, unsigned tag, const char *s)
{
    open_record(r, tag);
    raw(r, s, strlen(s));
}

static void lp_text(struct records *r, const char *s)
{
    u32(r, (uint32_t)strlen(s));
    raw(r, s, strlen(s));
}

/* options.ts's absPath(): the message for a path that is not one, or NULL. */
static const char *abs_path_problem(const char *s)
{
    if (s[0] != '/')
        return "must be an absolute path";
    for (const char *c = s; *c != 0;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return "must not contain \"..\" components";
        c += n;
        if (*c == '/')
            c++;
    }
    return NULL;
}

/* The longest path a system call takes, with its NUL (PATH_MAX), as options.ts has it. */
#define PATH_BUF 4096

/* options.ts's message for a path of n bytes that does not fit, in `buf`. */
static const char *too_long(char *buf, size_t cap, size_t n)
{
    snprintf(buf, cap, "must be shorter than %d bytes (PATH_MAX), got %zu", PATH_BUF, n);
    return buf;
}

/* bubblewrap's relative paths: a destination is from the new root, a bind's source from
 * where alcove was started (`base`, or "" for the root). Written into buf (PATH_BUF bytes);
 * NULL when the whole is PATH_BUF bytes or more, with its length in *n. */
static const char *relative_to(const char *s, const char *base, char *buf, size_t *n)
{
    size_t ls = strlen(s), lb = strlen(base);
    size_t slash = lb > 0 && base[lb - 1] == '/' ? 0 : 1;
    *n = s[0] == '/' ? ls : lb + slash + ls;
    if (*n >= PATH_BUF)
        return NULL;
    /* An empty source is no path (bubblewrap cannot find it), not the current directory; an
     * empty destination is the new root's /. */
    if (s[0] == '/' || (s[0] == 0 && lb > 0))
        return s;
    memcpy(buf, base, lb);
    if (slash)
        buf[lb] = '/';
    memcpy(buf + lb + slash, s, ls + 1);
    return buf;
}

/* A working directory: absolute, but ".." may be in it (it is entered once the new root is
 * made, where it cannot lead out). */
static const char *cwd_problem(const char *s)
{
    return s[0] != '/' ? "must be an absolute path" : NULL;
}

/* The length of JavaScript's white space (String.prototype.trim, \s) at s, or 0. */
static size_t js_space(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (*u == ' ' || (*u >= '\t' && *u <= '\r'))
        return 1;
    if (u[0] == 0xc2 && u[1] == 0xa0)
        return 2; /* U+00A0 */
    if (u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80)
        return 3; /* U+1680 */
    if (u[0] == 0xe2 && u[1] == 0x80 && ((u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 ||
                                         u[2] == 0xa9 || u[2] == 0xaf))
        return 3; /* U+2000..U+200A, U+2028, U+2029, U+202F */
    if (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f)
        return 3; /* U+205F */
    if (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)
        return 3; /* U+3000 */
    if (u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)
        return 3; /* U+FEFF */
    return 0;
}

static const char *skip_spaces(const char *s)
{
    for (size_t n; (n = js_space(s)) > 0;)
        s += n;
    return s;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* /\d+(\.\d+)?/ at s, as Number() reads it: the end of the match, or NULL. */
static const char *decimal_number(const char *s, double *out)
{
    const char *e = s;
    while (is_digit(*e))
        e++;
    if (e == s)
        return NULL;
    if (e[0] == '.' && is_digit(e[1]))
        for (e++; is_digit(*e); e++)
            ;
    size_t len = (size_t)(e - s);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = 0;
    *out = strtod(copy, NULL);
    free(copy);
    return e;
}

/* Math.round for x >= 0 (from 2^53 on, every double is a whole number). */
static double js_round(double x)
{
    if (x >= 9007199254740992.0)
        return x;
    double f = (double)(uint64_t)x;
    return x - f >= 0.5 ? f + 1 : f;
}

/* parse.ts's radixSize: bubblewrap's hexadecimal (0x1000) and octal (010000) --size, at most
 * 2^53; -1 for a leading 0 that is neither (or too large), -2 for any other text. */
static double radix_size(const char *text)
{
    unsigned base = 0;
    const char *s = text;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2] != 0)
        base = 16, s += 2;
    else if (s[0] == '0' && s[1] != 0)
        base = 8, s += 1;
    else
        return -2;
    if (base == 8 && strspn(s, "0123456789") != strlen(s))
        return -2;
    uint64_t v = 0;
    for (; *s != 0; s++) {
        unsigned d = *s >= '0' && *s <= '9'   ? (unsigned)(*s - '0')
                     : *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10)
                     : *s >= 'A' && *s <= 'F' ? (unsigned)(*s - 'A' + 10)
                                              : 99;
        if (d >= base)
            return base == 16 ? -2 : -1;
        if (v > (UINT64_C(1) << 53))
            return -1;
        v = v * base + d;
    }
    return v > (UINT64_C(1) << 53) ? -1 : (double)v;
}

/* parse.ts's sizeOf (the cgroup module's parseSize): bytes, or -1. */
static double size_of(const char *text)
{
    static const char UNITS[] = "KMGT";
    static const double SCALE[] = {1024.0, 1048576.0, 1073741824.0, 1099511627776.0};
    double n, scale = 1;
    const char *s = decimal_number(skip_spaces(text), &n);
    if (s == NULL)
        return -1;
    s = skip_spaces(s);
    for (int k = 0; k < 4 && *s != 0; k++)
        if (*s == UNITS[k] || *s == UNITS[k] + ('a' - 'A')) {
            scale = SCALE[k];
            s++;
            break;
        }
    if ((s[0] == 'i' || s[0] == 'I') && (s[1] == 'b' || s[1] == 'B'))
        s += 2;
    else if (s[0] == 'b' || s[0] == 'B')
        s++;
    if (*skip_spaces(s) != 0)
        return -1;
    double v = js_round(n * scale);
    return v > 4611686018427387904.0 ? -1 : v; /* 2^62 */
}

/* parse.ts's parseDuration: milliseconds, or -1. */
static double duration_of(const char *text)
{
    double n;
    const char *s = decimal_number(skip_spaces(text), &n);
    if (s == NULL)
        return -1;
    s = skip_spaces(s);
    double scale = 1000;
    if (strncmp(s, "ms", 2) == 0)
        scale = 1, s += 2;
    else if (*s == 's')
        s++;
    else if (*s == 'm')
        scale = 60000, s++;
    else if (*s == 'h')
        scale = 3600000, s++;
    /* the white space at either end is trim()'s */
    if (*skip_spaces(s) != 0)
        return -1;
    double v = js_round(n * scale);
    return v > 0 && v <= 9007199254740991.0 ? v : -1;
}

/* A limit of --rlimit: "unlimited" or "infinity" (-2, any case), bytes, or -1. */
static double limit_of(const char *text)
{
    if (strcasecmp(text, "unlimited") == 0 || strcasecmp(text, "infinity") == 0)
        return -2;
    return size_of(text);
}

/* parse.ts's --rlimit: /^([A-Za-z_]+)=([^:]+)(?::(.+))?$/, the limits read: 0, -1 for a
 * bad one, -2 for a soft limit above the hard one, -3 for a limit past 2^53 - 1. */
static int parse_rlimit(struct parsed *p, const char *a)
{
    size_t name = strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_");
    if (name == 0 || a[name] != '=')
        return -1;
    const char *soft = a + name + 1, *colon = strchr(soft, ':');
    size_t soft_len = colon == NULL ? strlen(soft) : (size_t)(colon - soft);
    const char *hard = colon == NULL ? NULL : colon + 1;
    /* . matches no line terminator: \n, \r, U+2028, U+2029 */
    if (soft_len == 0 ||
        (hard != NULL && (*hard == 0 || strpbrk(hard, "\n\r") != NULL ||
                          strstr(hard, "\xe2\x80\xa8") != NULL || strstr(hard, "\xe2\x80\xa9") != NULL)))
        return -1;
    /* the name without RLIMIT_, in capitals, and a copy of the soft limit, owned */
    char *key = malloc(name + soft_len + 2);
    if (key == NULL)
        return -1;
    p->owned[p->nowned++] = key;
    size_t skip = 0;
    while (name - skip >= 7 && strncasecmp(a + skip, "RLIMIT_", 7) == 0)
        skip += 7;
    for (size_t k = skip; k < name; k++)
        key[k - skip] = (char)(a[k] >= 'a' && a[k] <= 'z' ? a[k] - ('a' - 'A') : a[k]);
    key[name - skip] = 0;
    char *soft_text = key + name - skip + 1;
    memcpy(soft_text, soft, soft_len);
    soft_text[soft_len] = 0;
    double cur = limit_of(soft_text), max = hard == NULL ? cur : limit_of(hard);
    if (cur == -1 || max == -1)
        return -1;
    if (cur > 9007199254740991.0 || max > 9007199254740991.0)
        return -3;
    if (max != -2 && (cur == -2 || cur > max))
        return -2;
    size_t k = 0;
    while (k < p->nrlimits && strcmp(p->rlimits[k].name, key) != 0)
        k++;
    if (k == p->nrlimits)
        p->rlimits[p->nrlimits++].name = key;
    p->rlimits[k].cur = cur;
    p->rlimits[k].max = max;
    return 0;
}

/* Whether this system makes user namespaces, as parse.ts's userNamespacesAvailable (and
 * bubblewrap for --unshare-user-try) judges it. */
static int userns_available(void)
{
    FILE *fp = fopen("/sys/module/user_namespace/parameters/enable", "re");
    if (fp != NULL) {
        int c = fgetc(fp);
        fclose(fp);
        if (c == 'N')
            return 0;
    }
    return alcove_read_int_file("/proc/sys/user/max_user_namespaces") != 0;
}

/* Options of one value that bubblewrap lets the last of take effect, with a warning (those
 * of ffi/cli/parse.ts's ONLY_LAST that are parsed here). */
static const char *const ONLY_LAST[] = {
    "--chdir",   "--hostname", "--uid",      "--gid",           "--info-fd",
    "--sync-fd", "--block-fd", "--json-status-fd", "--userns-block-fd",
};

static void warn_if_repeated(const char *arg, unsigned *seen)
{
    for (unsigned k = 0; k < sizeof(ONLY_LAST) / sizeof(ONLY_LAST[0]); k++) {
        if (strcmp(arg, ONLY_LAST[k]) != 0)
            continue;
        if (*seen & 1u << k)
            fprintf(stderr, "alcove: Only the last %s option will take effect\n", arg);
        *seen |= 1u << k;
    }
}

/* The command line's own checks, in parse.ts's order. */
static int parse_args(struct parsed *p, int argc, char **argv, uid_t uid)
{
    int perms_pending = 0, have_chdir = 0;
    unsigned seen = 0; /* of ONLY_LAST */
    uint32_t next_perms = 0;
    double next_size = 0; /* 0: none */
    int i = 0;
    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-')
            break;
        i++;
        int k = fast_option(arg);
        if (k < 0) {
            fprintf(stderr, "alcove: --cli-parse: %s is not parsed here\n", arg);
            return ALCOVE_EXIT_SETUP;
        }
        int n = FAST_OPTIONS[k].takes;
        if (argc - i < n)
            return usage("%s takes %s", arg, argument_words(arg, n));
        const char *a = n > 0 ? argv[i] : NULL, *b = n > 1 ? argv[i + 1] : NULL;
        i += n;
        warn_if_repeated(arg, &seen);
        int modifier = strcmp(arg, "--perms") == 0 || strcmp(arg, "--size") == 0;
        int perms = perms_pending;
        uint32_t mode = next_perms;
        double size = next_size;
        if (!modifier) {
            perms_pending = 0;
            next_size = 0;
            if (perms && strcmp(arg, "--tmpfs") != 0 && strcmp(arg, "--dir") != 0)
                return usage("--perms must be followed by an option that creates a file");
            if (size > 0 && strcmp(arg, "--tmpfs") != 0)
                return usage("--size must be followed by --tmpfs");
        }
        struct mount *m = &p->mounts[p->nmounts];
        memset(m, 0, sizeof(*m));
        m->mode = SB_MODE_DEFAULT;
        m->source = "";
        m->option = arg;
        if (strcmp(arg, "--unshare-all") == 0) {
            p->ns |= 1u << NS_IPC | 1u << NS_PID | 1u << NS_NET | 1u << NS_UTS | 1u << NS_CGROUP;
            p->user_try = 1;
        } else if (strcmp(arg, "--share-net") == 0) {
            p->share_net = 1;
        } else if (strcmp(arg, "--unshare-user") == 0) {
            p->ns |= 1u << NS_USER;
        } else if (strcmp(arg, "--unshare-user-try") == 0) {
            p->user_try = 1;
        } else if (strcmp(arg, "--unshare-ipc") == 0) {
            p->ns |= 1u << NS_IPC;
        } else if (strcmp(arg, "--unshare-pid") == 0) {
            p->ns |= 1u << NS_PID;
        } else if (strcmp(arg, "--unshare-net") == 0) {
            p->ns |= 1u << NS_NET;
        } else if (strcmp(arg, "--unshare-uts") == 0) {
            p->ns |= 1u << NS_UTS;
        } else if (strcmp(arg, "--unshare-cgroup") == 0 ||
                   strcmp(arg, "--unshare-cgroup-try") == 0) {
            p->ns |= 1u << NS_CGROUP;
        } else if (strcmp(arg, "--uid") == 0 || strcmp(arg, "--gid") == 0) {
            uint64_t v;
            int is_uid = arg[2] == 'u';
            if (decimal(a, 0x7fffffff, &v) < 0) /* bubblewrap's int */
                return usage("Invalid %s: %s", is_uid ? "uid" : "gid", a);
            if (is_uid)
                p->has_uid = 1, p->uid = (uint32_t)v;
            else
                p->has_gid = 1, p->gid = (uint32_t)v;
        } else if (strcmp(arg, "--hostname") == 0) {
            p->hostname = a;
        } else if (strcmp(arg, "--chdir") == 0) {
            p->chdir = a;
            have_chdir = 1;
        } else if (strcmp(arg, "--clearenv") == 0) {
            for (size_t e = 0; e < p->nenv; e++)
                p->env[e].alive = 0;
        } else if (strcmp(arg, "--setenv") == 0) {
            /* What setenv(3) refuses, as bubblewrap has it refused ("setenv failed"). */
            if (a[0] == 0 || strchr(a, '=') != NULL)
                return usage(BAD_ENV_NAME, arg, a);
            size_t la = strlen(a), lb = strlen(b);
            char *text = malloc(la + lb + 2);
            if (text == NULL)
                return usage("out of memory");
            p->owned[p->nowned++] = text;
            memcpy(text, a, la);
            text[la] = '=';
            memcpy(text + la + 1, b, lb + 1);
            env_set(p, text, la);
        } else if (strcmp(arg, "--unsetenv") == 0) {
            if (a[0] == 0 || strchr(a, '=') != NULL)
                return usage(BAD_ENV_NAME, arg, a);
            struct env_var *v = env_find(p, a, strlen(a));
            if (v != NULL)
                v->alive = 0;
        } else if (strcmp(arg, "--lock-file") == 0) {
            p->locks[p->nlocks++] = a;
        } else if (strncmp(arg, "--bind", 6) == 0 || strncmp(arg, "--ro-bind", 9) == 0 ||
                   strncmp(arg, "--dev-bind", 10) == 0) {
            m->op = arg[2] == 'b' ? SB_MNT_BIND : arg[2] == 'r' ? SB_MNT_RO_BIND : SB_MNT_DEV_BIND;
            m->flags = strstr(arg, "-try") != NULL ? SB_MNT_TRY : 0;
            m->source = a;
            m->target = b;
            p->nmounts++;
        } else if (strcmp(arg, "--remount-ro") == 0) {
            m->op = SB_MNT_REMOUNT_RO;
            m->target = a;
            p->nmounts++;
        } else if (strcmp(arg, "--proc") == 0 || strcmp(arg, "--dev") == 0 ||
                   strcmp(arg, "--mqueue") == 0 || strcmp(arg, "--tmpfs") == 0 ||
                   strcmp(arg, "--dir") == 0) {
            m->op = arg[2] == 'p'   ? SB_MNT_PROC
                    : arg[2] == 'm' ? SB_MNT_MQUEUE
                    : arg[2] == 't' ? SB_MNT_TMPFS
                    : arg[3] == 'e' ? SB_MNT_DEV
                                    : SB_MNT_DIR;
            if (perms)
                m->mode = mode;
            if (m->op == SB_MNT_TMPFS)
                m->size = size;
            m->target = a;
            p->nmounts++;
        } else if (strcmp(arg, "--symlink") == 0) {
            m->op = SB_MNT_SYMLINK;
            m->source = a;
            m->target = b;
            p->nmounts++;
        } else if (strcmp(arg, "--chmod") == 0) {
            if (octal(a, &m->mode) < 0)
                return usage("--chmod takes an octal argument <= 07777");
            m->op = SB_MNT_CHMOD;
            m->target = b;
            p->nmounts++;
        } else if (strcmp(arg, "--new-session") == 0) {
            p->new_session = 1;
        } else if (strcmp(arg, "--die-with-parent") == 0) {
            /* the command always dies with alcove; this makes alcove die with its parent */
            p->die_with_parent = 1;
        } else if (strcmp(arg, "--as-pid-1") == 0) {
            p->as_pid1 = 1;
        } else if (strcmp(arg, "--info-fd") == 0 || strcmp(arg, "--json-status-fd") == 0 ||
                   strcmp(arg, "--block-fd") == 0 || strcmp(arg, "--userns-block-fd") == 0 ||
                   strcmp(arg, "--sync-fd") == 0) {
            uint64_t v;
            if (decimal(a, 0x7fffffff, &v) < 0)
                return usage("Invalid fd: %s", a);
            int fd = (int)v;
            if (strcmp(arg, "--sync-fd") == 0) {
                p->sync_fd = fd;
            } else {
                p->own[p->nown++] = fd;
                if (arg[2] == 'i')
                    p->info_fd = fd;
                else if (arg[2] == 'j')
                    p->json_fd = fd;
                else if (arg[2] == 'u')
                    p->userns_block_fd = fd;
                else {
                    p->block[0] = fd; /* the last one, as with bwrap */
                    p->nblock = 1;
                }
                if (arg[2] == 'u')
                    p->userns_block = 1;
            }
        } else if (strcmp(arg, "--perms") == 0) {
            if (perms)
                return usage("--perms given twice for the same action");
            if (octal(a, &next_perms) < 0)
                return usage("--perms takes an octal argument <= 07777");
            perms_pending = 1;
        } else if (strcmp(arg, "--size") == 0) {
            if (size > 0)
                return usage("--size given twice for the same action");
            /* parse.ts's radixSize(a) ?? sizeOf(a) */
            next_size = radix_size(a);
            if (next_size == -2)
                next_size = size_of(a);
            if (next_size <= 0)
                return usage("--size takes a non-zero number of bytes");
        } else if (strcmp(arg, "--cap-add") == 0 || strcmp(arg, "--cap-drop") == 0) {
            size_t len = strlen(a);
            char *name = malloc(len + 1);
            if (name == NULL)
                return usage("out of memory");
            p->owned[p->nowned++] = name;
            for (size_t c = 0; c <= len; c++)
                name[c] = (char)(a[c] >= 'a' && a[c] <= 'z' ? a[c] - ('a' - 'A') : a[c]);
            struct cap_op *op = &p->caps[p->ncaps++];
            op->add = arg[6] == 'a';
            op->name = name;
            op->number = -1;
        } else if (strcmp(arg, "--rlimit") == 0) {
            int rv = parse_rlimit(p, a);
            if (rv == -1)
                return usage("--rlimit takes NAME=SOFT[:HARD], e.g. NOFILE=64: %s", a);
            if (rv == -2)
                return usage("--rlimit: the soft limit is above the hard one: %s", a);
            if (rv == -3)
                return usage("--rlimit: a limit is at most 9007199254740991 or unlimited: %s", a);
        } else if (strcmp(arg, "--time") == 0) {
            p->timeout = duration_of(a);
            if (p->timeout < 0)
                return usage("--time takes a positive duration, e.g. 2s, 500ms or 1m: %s", a);
        }
    }
    /* A --perms or --size left at the end is dropped, as bubblewrap does (it checks them
     * only against the option that comes next). */
    if (i == argc) {
        /* parse.ts prints the whole usage: cli.ts does not send such a command line here */
        fprintf(stderr, "alcove: --cli-parse: no command\n");
        return ALCOVE_EXIT_SETUP;
    }
    p->argv = argv + i;
    p->argc = argc - i;
    if (p->userns_block && !(p->ns & 1u << NS_USER))
        return usage("--userns-block-fd requires --unshare-user");
    if (p->userns_block && p->info_fd < 0)
        return usage("--userns-block-fd requires --info-fd");
    /* The "try" form, after the checks above as bubblewrap has it: a user namespace wherever
     * the system makes them, as root too (unprivileged, spawn adds one in any case). */
    if (p->user_try && userns_available())
        p->ns |= 1u << NS_USER;
    int userns = (p->ns & 1u << NS_USER) != 0 || uid != 0;
    /* Without a user namespace, the ids it runs with already (bubblewrap's rule). */
    if (p->has_uid && !userns && p->uid != uid)
        return usage("Specifying --uid requires --unshare-user or --userns");
    if (p->has_gid && !userns && p->gid != getgid())
        return usage("Specifying --gid requires --unshare-user or --userns");
    if (p->hostname != NULL && !(p->ns & 1u << NS_UTS))
        return usage("Specifying --hostname requires --unshare-uts");
    if (p->as_pid1 && !(p->ns & 1u << NS_PID))
        return usage("Specifying --as-pid-1 requires --unshare-pid");
    if (p->as_pid1 && p->nlocks > 0)
        return usage("Specifying --as-pid-1 and --lock-file is not permitted");
    if (p->sync_fd >= 0 && !p->as_pid1)
        p->own[p->nown++] = p->sync_fd;
    p->ns |= 1u << NS_MOUNT;
    if (p->share_net)
        p->ns &= ~(1u << NS_NET);
    if (have_chdir) {
        /* bubblewrap fails on an empty one (chdir("") is ENOENT): / instead would run a
         * script's --chdir "$UNSET" somewhere it did not mean. */
        if (p->chdir[0] == 0)
            return usage("Can't chdir to an empty path (--chdir \"\")");
        size_t n = strlen(p->chdir);
        char *pwd = malloc(n + 5);
        if (pwd == NULL)
            return usage("out of memory");
        p->owned[p->nowned++] = pwd;
        memcpy(pwd, "PWD=", 4);
        memcpy(pwd + 4, p->chdir, n + 1);
        env_set(p, pwd, 3);
    }
    return 0;
}

static int spawn_problem(const char *field, const char *what)
{
    return usage("spawn: options.%s: %s", field, what);
}

/* A refused mount, said of the option that made it (_common.ts's commandLineMessage). */
static int mount_problem(const struct mount *m, const char *field, const char *what)
{
    return usage("%s: %s %s", m->option, field, what);
}

/* The mask of capabilities kept: bubblewrap's, every one of the bounding set for root
 * running the command as uid 0, none otherwise, then --cap-add and --cap-drop; --cap-add ALL
 * with a user namespace of its own adds every capability of the kernel (its creator holds
 * them there). ffi/cli/run.ts's capabilities() has the same. */
static uint64_t kept_capabilities(const struct parsed *p, uid_t uid)
{
    uint64_t inside = p->has_uid ? p->uid : uid, all = 0, every = 0;
    int userns = (p->ns & 1u << NS_USER) != 0 || (uid != 0 && p->ns != 0);
    for (int c = 0; c < 64; c++) {
        int in = prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0);
        if (in < 0)
            break; /* EINVAL: past the last capability of this kernel */
        every |= (uint64_t)1 << c;
        if (in == 1)
            all |= (uint64_t)1 << c;
    }
    uint64_t added = userns ? every : all;
    uint64_t keep = uid == 0 && inside == 0 ? all : 0;
    for (size_t i = 0; i < p->ncaps; i++) {
        uint64_t bits = p->caps[i].number < 0 ? added : (uint64_t)1 << p->caps[i].number;
        keep = p->caps[i].add ? keep | bits : keep & ~bits;
    }
    return keep;
}

/* The names of --cap-add and --cap-drop: CAPABILITY_NAMES of ffi/capabilities.ts, which the
 * constant table's CAP_* names are but for CAP_LAST_CAP (tests/cli_parse_test.ts checks
 * each). Returns 0, or the exit status after printing the first unknown one. */
static int name_capabilities(struct parsed *p)
{
    for (size_t i = 0; i < p->ncaps; i++) {
        struct cap_op *op = &p->caps[i];
        long long v = -1;
        if (strcmp(op->name, "ALL") == 0)
            continue;
        if (op->name[0] >= '0' && op->name[0] <= '9') {
            /* A number, as libcap's cap_from_name reads one (strtoul, base 0). */
            char *end;
            long long last = -1;
            unsigned long n;
            errno = 0;
            n = strtoul(op->name, &end, 0);
            alcove_constant_lookup(ALCOVE_CONST_PRCTL, "CAP_LAST_CAP", 12, &last);
            if (errno != 0 || *end != 0 || (long long)n > last)
                return usage("unknown cap: %s", op->name);
            op->number = (int)n;
            continue;
        }
        if (strcmp(op->name, "CAP_LAST_CAP") == 0 || strncmp(op->name, "CAP_", 4) != 0 ||
            alcove_constant_lookup(ALCOVE_CONST_PRCTL, op->name, strlen(op->name), &v) < 0 ||
            v < 0 || v > 63)
            return usage("unknown cap: %s", op->name);
        op->number = (int)v;
    }
    return 0;
}

/* The number of a resource of setrlimit(2) by name, RLIMIT_ before it or not (options.ts's
 * rlimitResource): -1 when this platform has none of that name. */
static long long rlimit_resource(const char *name)
{
    char full[64];
    long long resource, count = RLIM_NLIMITS;
    int n = snprintf(full, sizeof(full), "%s%s", strncmp(name, "RLIMIT_", 7) == 0 ? "" : "RLIMIT_",
                     name);
    if (n < 0 || (size_t)n >= sizeof(full) ||
        alcove_constant_lookup(ALCOVE_CONST_RLIMIT, full, (size_t)n, &resource) != 0)
        return -1;
    return resource >= 0 && resource < count ? resource : -1;
}

/* encodeSpawnRequest with the command line's options (ffi/cli/_common.ts, commandOptions):
 * the same records, in its order, and its checks. */
static int encode(struct records *r, struct parsed *p, uid_t uid, const char *cwd)
{
    char field[64];
    const char *problem;
    /* The resources first, as run.ts checks them: a name this platform lacks is the
     * command line's mistake, whatever else is wrong. */
    for (size_t i = 0; i < p->nrlimits; i++) {
        struct rlim *l = &p->rlimits[i];
        if ((l->resource = rlimit_resource(l->name)) < 0)
            return usage("--rlimit: unknown resource %s", l->name);
        /* two names of one resource (OFILE is NOFILE): which limit was meant is not known */
        for (size_t k = 0; k < i; k++)
            if (p->rlimits[k].resource == l->resource)
                return usage("--rlimit: %s and %s are the same resource", p->rlimits[k].name,
                             l->name);
    }
    if (p->argv[0][0] == 0)
        return usage("spawn: argv[0] must not be empty");
    for (int i = 0; i < p->argc; i++)
        text_record(r, SB_ARG, p->argv[i]);
    uint64_t flags = 0;
    for (unsigned n = 0; n < sizeof(CLONE_FLAGS) / sizeof(CLONE_FLAGS[0]); n++)
        if (p->ns & 1u << n)
            flags |= CLONE_FLAGS[n];
    open_record(r, SB_NAMESPACES);
    u64(r, flags);
    if (p->has_uid) {
        open_record(r, SB_UID);
        u32(r, p->uid);
    }
    if (p->has_gid) {
        open_record(r, SB_GID);
        u32(r, p->gid);
    }
    if (p->hostname != NULL) {
        if (strlen(p->hostname) > 64)
            return spawn_problem("hostname", "must be at most 64 bytes");
        text_record(r, SB_HOSTNAME, p->hostname);
    }
    if (p->nmounts > SB_MAX_MOUNTS)
        return spawn_problem("mounts", "must have at most 1024 entries");
    for (size_t i = 0; i < p->nmounts; i++) {
        const struct mount *m = &p->mounts[i];
        char tbuf[PATH_BUF], sbuf[PATH_BUF], why[80];
        size_t n;
        const char *target = relative_to(m->target, "", tbuf, &n);
        if ((problem = target == NULL ? too_long(why, sizeof(why), n)
                                      : abs_path_problem(target)) != NULL)
            return mount_problem(m, "the destination", problem);
        int bind = m->op == SB_MNT_BIND || m->op == SB_MNT_RO_BIND || m->op == SB_MNT_DEV_BIND;
        /* A host path: ".." in it is the host's to resolve. */
        const char *source = bind ? relative_to(m->source, cwd, sbuf, &n) : m->source;
        problem = source == NULL                                 ? too_long(why, sizeof(why), n)
                  : bind                                         ? cwd_problem(source)
                  : m->op == SB_MNT_SYMLINK && m->source[0] == 0 ? "must not be empty"
                                                                 : NULL;
        if (problem != NULL)
            return mount_problem(m, "the source", problem);
        if (m->size > 9007199254740991.0)
            return mount_problem(m, "the size", "must be an integer from 0 to 9007199254740991");
        open_record(r, SB_MOUNT);
        u8(r, m->op);
        u8(r, m->flags);
        u32(r, m->mode);
        u64(r, (uint64_t)m->size);
        lp_text(r, source);
        lp_text(r, target);
        u32(r, 0);
    }
    open_record(r, SB_ROOT);
    if (p->chdir != NULL) {
        /* A relative one is from /, where bubblewrap stands when it goes there. */
        char dir[4096] = "/";
        size_t n = strlen(p->chdir) + (p->chdir[0] != '/');
        if (n >= sizeof(dir))
            return usage("spawn: options.cwd: must be shorter than 4096 bytes (PATH_MAX), got %zu",
                         n);
        memcpy(dir + 1, p->chdir + (p->chdir[0] == '/'), n);
        text_record(r, SB_CWD, dir);
    } else {
        const char *tries[2] = {cwd, p->home != NULL ? p->home : ""};
        int n = tries[1][0] != 0 ? 2 : 1;
        for (int i = 0; i < n; i++) {
            if ((problem = cwd_problem(tries[i])) != NULL) {
                snprintf(field, sizeof(field), "cwd[%d]", i);
                return spawn_problem(field, problem);
            }
        }
        for (int i = 0; i < n; i++)
            text_record(r, SB_CWD_TRY, tries[i]);
    }
    for (size_t i = 0; i < p->nlocks; i++) {
        if ((problem = abs_path_problem(p->locks[i])) != NULL) {
            snprintf(field, sizeof(field), "lockFiles[%zu]", i);
            return spawn_problem(field, problem);
        }
    }
    if (p->nlocks > SB_MAX_LOCK_FILES)
        return spawn_problem("lockFiles", "must list at most 16 paths");
    for (size_t i = 0; i < p->nlocks; i++)
        text_record(r, SB_LOCK_FILE, p->locks[i]);
    open_record(r, SB_ENV_CLEAR);
    /* An object's order: array indices first, by value, then the rest as they came. */
    size_t nindex = 0;
    for (size_t i = 0; i < p->nenv; i++) {
        uint64_t v;
        if (p->env[i].alive && array_index(&p->env[i], &v))
            p->order[nindex++] = i;
    }
    for (size_t i = 1; i < nindex; i++) {
        size_t k = i, cur = p->order[i];
        uint64_t a, b;
        while (k > 0 && array_index(&p->env[p->order[k - 1]], &a) &&
               array_index(&p->env[cur], &b) && a > b) {
            p->order[k] = p->order[k - 1];
            k--;
        }
        p->order[k] = cur;
    }
    for (size_t i = 0; i < nindex; i++)
        text_record(r, SB_ENV, p->env[p->order[i]].text);
    for (size_t i = 0; i < p->nenv; i++) {
        const struct env_var *v = &p->env[i];
        uint64_t n;
        if (!v->alive || array_index(v, &n))
            continue;
        if (v->name_len == 0 || memchr(v->text, '=', v->name_len) != NULL)
            return usage("spawn: options.env.%.*s: a name must be non-empty, without '=' or "
                         "NUL bytes",
                         (int)v->name_len, v->text);
        text_record(r, SB_ENV, v->text);
    }
    for (size_t i = 0; i < p->nrlimits; i++) {
        const struct rlim *l = &p->rlimits[i];
        double value[2] = {l->cur, l->max};
        open_record(r, SB_RLIMIT);
        u32(r, (uint32_t)l->resource);
        for (int k = 0; k < 2; k++)
            u64(r, value[k] == -2 ? UINT64_MAX : (uint64_t)value[k]);
    }
    open_record(r, SB_CAPS);
    u64(r, kept_capabilities(p, uid));
    open_record(r, SB_NO_NEW_PRIVS);
    if (p->new_session)
        open_record(r, SB_NEW_SESSION);
    else
        open_record(r, SB_KEEP_PGRP);
    if ((p->ns & 1u << NS_PID) && !p->as_pid1)
        open_record(r, SB_INIT);
    open_record(r, SB_DIE_WITH_PARENT);
    if (p->timeout > 0) {
        if (p->timeout > 1000000000)
            return spawn_problem("timeout", "must be an integer from 0 to 1000000000");
        open_record(r, SB_TIMEOUT);
        u64(r, (uint64_t)p->timeout);
    }
    open_record(r, SB_STDIO);
    for (int i = 0; i < 3; i++)
        u8(r, SB_STDIO_INHERIT);
    open_record(r, SB_PASS_FD);
    close_record(r);
    return r->failed ? usage("out of memory") : 0;
}

static int seen_before(const int *fds, size_t at)
{
    for (size_t k = 0; k < at; k++)
        if (fds[k] == fds[at])
            return 1;
    return 0;
}

/* One word of the supervisor's command line, copied into its own slot of the pool. */
#define WORD_SIZE 40
static void word(char **words, char (*pool)[WORD_SIZE], size_t *n, const char *text)
{
    snprintf(pool[*n], WORD_SIZE, "%s", text);
    words[*n] = pool[*n];
    (*n)++;
}

static void fd_word(char **words, char (*pool)[WORD_SIZE], size_t *n, const char *option, int fd)
{
    char digits[12];
    snprintf(digits, sizeof(digits), "%d", fd);
    word(words, pool, n, option);
    word(words, pool, n, digits);
}

/* The supervisor's words, as ffi/cli/run.ts's supervisorWords makes them (argv[0] first):
 * their number. */
static size_t supervisor_words(const struct parsed *p, uid_t uid, char **words,
                               char (*pool)[WORD_SIZE])
{
    size_t n = 0;
    word(words, pool, &n, "alcove");
    word(words, pool, &n, "--cli");
    fd_word(words, pool, &n, "--abi", ALCOVE_ABI);
    if (p->info_fd >= 0)
        fd_word(words, pool, &n, "--info-fd", p->info_fd);
    if (p->json_fd >= 0)
        fd_word(words, pool, &n, "--json-status-fd", p->json_fd);
    int held = -1;
    for (size_t k = 0; k < p->nown; k++)
        if (p->sync_fd >= 0 && p->own[k] == p->sync_fd)
            held = p->sync_fd;
    if (held >= 0)
        fd_word(words, pool, &n, "--hold", held);
    for (size_t k = 0; k < p->nblock; k++)
        if (!seen_before(p->block, k))
            fd_word(words, pool, &n, "--block", p->block[k]);
    if (p->userns_block_fd >= 0)
        fd_word(words, pool, &n, "--userns-block", p->userns_block_fd);
    for (size_t k = 0; k < p->nown; k++) {
        int fd = p->own[k];
        int blocks = fd == p->userns_block_fd;
        for (size_t b = 0; b < p->nblock && !blocks; b++)
            blocks = p->block[b] == fd;
        if (!seen_before(p->own, k) && fd != p->info_fd && fd != p->json_fd && fd != held &&
            !blocks)
            fd_word(words, pool, &n, "--close", fd);
    }
    char report[WORD_SIZE];
    size_t len = 0;
    for (unsigned k = 0; k < ALCOVE_CLI_NNAMESPACES; k++)
        if (p->ns & 1u << k || (k == NS_USER && uid != 0))
            len += (size_t)snprintf(report + len, sizeof(report) - len, "%s%s",
                                    len > 0 ? "," : "", alcove_cli_namespaces[k]);
    if (len > 0) {
        word(words, pool, &n, "--report");
        word(words, pool, &n, report);
    }
    if (p->new_session)
        word(words, pool, &n, "--forward-interrupts");
    if (p->die_with_parent)
        word(words, pool, &n, "--die-with-parent");
    return n;
}

int alcove_cli_parse(struct alcove_cli *cli, int argc, char *argv[])
{
    memset(cli, 0, sizeof(*cli));
    cli->info_fd = cli->json_fd = cli->userns_block = -1;
    int dump = 0, abi = -1, i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        uint64_t v;
        if (strcmp(argv[i], "--dump") == 0)
            dump = 1;
        else if (strcmp(argv[i], "--abi") == 0 && i + 1 < argc && decimal(argv[i + 1], 0x7fffffff, &v) == 0)
            abi = (int)v, i++;
        else
            return usage("--cli-parse: unknown option %s", argv[i]);
    }
    if (abi != ALCOVE_ABI)
        return alcove_cli_abi_mismatch(abi);
    if (i == argc)
        return usage("--cli-parse: no -- before the command line");
    i++;
    size_t nenviron = 0;
    while (environ[nenviron] != NULL)
        nenviron++;
    struct parsed p;
    memset(&p, 0, sizeof(p));
    size_t n = (size_t)(argc - i) + 1;
    p.mounts = calloc(n, sizeof(*p.mounts));
    p.locks = calloc(n, sizeof(*p.locks));
    p.env = calloc(nenviron + n + 1, sizeof(*p.env));
    p.order = calloc(nenviron + n + 1, sizeof(*p.order));
    p.owned = calloc(2 * n + 2, sizeof(*p.owned));
    p.own = calloc(n + 1, sizeof(*p.own));
    p.block = calloc(n + 1, sizeof(*p.block));
    p.info_fd = p.json_fd = p.sync_fd = p.userns_block_fd = -1;
    p.rlimits = calloc(n + 1, sizeof(*p.rlimits));
    p.caps = calloc(n + 1, sizeof(*p.caps));
    /* At most 2 words for each descriptor option, 9 others. */
    char **words = calloc(2 * n + 16, sizeof(*words));
    char(*pool)[WORD_SIZE] = calloc(2 * n + 16, sizeof(*pool));
    char *cwd = getcwd(NULL, 0);
    int rv = 0;
    struct records r = {0};
    if (p.mounts == NULL || p.locks == NULL || p.env == NULL || p.order == NULL ||
        p.owned == NULL || p.own == NULL || p.block == NULL || p.rlimits == NULL || p.caps == NULL ||
        cwd == NULL) {
        fprintf(stderr, "alcove: --cli-parse: %s\n", strerror(errno));
        rv = ALCOVE_EXIT_SETUP;
        goto done;
    }
    uid_t uid = getuid();
    env_load(&p);
    /* Room for the spawn call's payload framing: one BYTES value (cli.c, read_request). */
    room(&r, 5);
    rv = parse_args(&p, argc - i, argv + i, uid);
    if (rv == 0)
        rv = name_capabilities(&p);
    if (rv == 0)
        rv = encode(&r, &p, uid, cwd);
    if (rv != 0)
        goto done;
    r.data[0] = ALCOVE_VAL_BYTES;
    alcove_put_u32(r.data + 1, (uint32_t)(r.len - 5));
    u8(&r, 0);
    size_t nwords = 0;
    if (!r.failed && words != NULL && pool != NULL)
        nwords = supervisor_words(&p, uid, words, pool);
    if (r.failed || nwords == 0) {
        rv = usage("out of memory");
        goto done;
    }
    if (dump) {
        for (size_t k = 1; k < nwords; k++)
            printf("%s%s", words[k], k + 1 < nwords ? " " : "\n");
        for (size_t k = 5; k + 1 < r.len; k++)
            printf("%02x", r.data[k]);
        printf("\n");
        goto done;
    }
    cli->request = r.data;
    cli->request_len = r.len;
    r.data = NULL;
    rv = alcove_cli_words(cli, (int)nwords, words);
done:
    for (size_t k = 0; p.owned != NULL && k < p.nowned; k++)
        free(p.owned[k]);
    free(p.owned);
    free(p.own);
    free(p.block);
    free(p.rlimits);
    free(p.caps);
    free(words);
    free(pool);
    free(p.order);
    free(p.env);
    free(p.locks);
    free(p.mounts);
    free(cwd);
    free(r.data);
    return rv;
}
