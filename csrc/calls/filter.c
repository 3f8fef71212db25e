#include "../calls.h"

/* Adds calls to the set this process refuses (first list) and to the set its
 * children forked from now on start with (second list). Both sets only grow. */
int alcove_call_filter(struct alcove_state *ap, const struct alcove_arg *arg,
                       struct alcove_reply *reply)
{
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < arg[k].count; i++) {
            int64_t call = arg[k].list[i].i;
            if (call < 0 || (uint64_t)call >= alcove_ncalls)
                return alcove_reply_badarg(reply, "filter: unknown call number");
        }
    }
    for (int k = 0; k < 2; k++) {
        unsigned char *set = k == 0 ? ap->filter : ap->filter_next;
        for (size_t i = 0; i < arg[k].count; i++) {
            size_t call = (size_t)arg[k].list[i].i;
            set[call / 8] |= (unsigned char)(1u << (call % 8));
        }
    }
    return alcove_reply_ok(reply);
}
