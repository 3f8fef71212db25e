#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "../calls.h"

/* The list's count is not known until the directory is read: write the list
 * with a count of 0, then patch it. Replies have no size limit. */
int alcove_call_readdir(struct alcove_state *ap, const struct alcove_arg *arg,
                        struct alcove_reply *reply)
{
    (void)ap;
    DIR *dir = opendir(arg[0].s);
    if (dir == NULL)
        return -errno;
    size_t head = reply->out->len;
    int rv = alcove_reply_list(reply, 0);
    uint32_t count = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dir);
        if (de == NULL) {
            if (errno != 0)
                rv = -errno;
            break;
        }
        if (rv < 0)
            break;
        if (count == UINT32_MAX) {
            rv = -EOVERFLOW;
            break;
        }
        rv = alcove_reply_bytes(reply, de->d_name, strlen(de->d_name));
        count++;
    }
    closedir(dir);
    if (rv < 0)
        return rv;
    unsigned char *p = reply->out->data + head + 1;
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(count >> (8 * i));
    return 0;
}
