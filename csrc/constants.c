/* Look-ups in the constant tables of constants_table.c. The largest table holds about
 * five hundred entries, so a linear scan is enough. */
#include <string.h>

#include "constants.h"

/* Longer than any listed name (the generator refuses longer ones): a longer request cannot
 * match, and refusing it first keeps a huge `len` from being scanned for NULs. */
#define ALCOVE_CONSTANT_NAME_MAX 64

/* Not tolower(): names are ASCII, and a locale must not change what matches. */
static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Whether the `len` bytes at `name` spell all of `entry`, ignoring ASCII case. */
static int name_matches(const char *name, size_t len, const char *entry)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char want = (unsigned char)entry[i];
        /* A shorter entry ends before `len`: stop at its NUL instead of reading past it. */
        if (want == '\0' || ascii_lower((unsigned char)name[i]) != ascii_lower(want))
            return 0;
    }
    return entry[len] == '\0';
}

static int domain_valid(int domain)
{
    return domain >= 0 && domain < ALCOVE_CONST_DOMAINS;
}

int alcove_constant_lookup(int domain, const char *name, size_t len, long long *value)
{
    if (!domain_valid(domain) || name == NULL || len == 0 || len > ALCOVE_CONSTANT_NAME_MAX)
        return -1;
    /* An embedded NUL would make "SIGKILL\0junk" match SIGKILL. */
    if (memchr(name, '\0', len) != NULL)
        return -1;

    const struct alcove_constant_table *t = &alcove_constant_tables[domain];
    const char *entry = t->names;
    for (size_t i = 0; i < t->count; i++, entry += strlen(entry) + 1) {
        if (name_matches(name, len, entry)) {
            if (value != NULL)
                *value = t->values[i];
            return 0;
        }
    }
    return -1;
}

const char *alcove_constant_name(int domain, long long value)
{
    if (!domain_valid(domain))
        return NULL;

    /* The lists put a canonical name before its aliases (EAGAIN before EWOULDBLOCK), so
     * the first match is the one to report. */
    const struct alcove_constant_table *t = &alcove_constant_tables[domain];
    const char *entry = t->names;
    for (size_t i = 0; i < t->count; i++, entry += strlen(entry) + 1) {
        if (t->values[i] == value)
            return entry;
    }
    return NULL;
}

/* `v` in decimal at `p` (room for 20 digits and a sign); returns the length. */
static size_t put_decimal(char *p, long long v)
{
    char digits[20];
    size_t n = 0, len = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    if (v < 0)
        p[len++] = '-';
    while (n > 0)
        p[len++] = digits[--n];
    return len;
}

/* The constant tables as "domain\tNAME\tvalue\n" lines, what a control process
 * sends in its greeting: written to `out` when it fits in `cap` bytes. Returns the
 * length of the whole text either way. Every control process start makes it, so it
 * is put together by hand (snprintf took most of a millisecond for the two thousand
 * lines). */
long long alcove_constants_text(char *out, size_t cap)
{
    size_t len = 0;
    char line[160];
    for (int d = 0; d < ALCOVE_CONST_DOMAINS; d++) {
        const char *domain = alcove_constant_domain_names[d];
        size_t dlen = strlen(domain);
        const struct alcove_constant_table *t = &alcove_constant_tables[d];
        const char *name = t->names;
        for (size_t i = 0; i < t->count; i++, name += strlen(name) + 1) {
            size_t nlen = strlen(name);
            /* domain, tab, name, tab, at most 20 digits and a sign, newline */
            if (dlen + nlen + 24 > sizeof(line))
                continue;
            size_t n = 0;
            memcpy(line, domain, dlen);
            n += dlen;
            line[n++] = '\t';
            memcpy(line + n, name, nlen);
            n += nlen;
            line[n++] = '\t';
            n += put_decimal(line + n, t->values[i]);
            line[n++] = '\n';
            if (len + n <= cap)
                memcpy(out + len, line, n);
            len += n;
        }
    }
    return (long long)len;
}
