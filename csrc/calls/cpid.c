#include "../calls.h"

int alcove_call_cpid(struct alcove_state *ap, const struct alcove_arg *arg,
                     struct alcove_reply *reply)
{
    (void)arg;
    size_t live = 0;
    for (size_t i = 0; i < ap->nchild; i++)
        if (!ap->child[i].dead)
            live++;
    int rv = alcove_reply_list(reply, (uint32_t)live);
    for (size_t i = 0; i < ap->nchild && rv == 0; i++) {
        const struct alcove_child *c = &ap->child[i];
        if (c->dead)
            continue;
        rv |= alcove_reply_list(reply, 8);
        rv |= alcove_reply_int(reply, c->pid);
        rv |= alcove_reply_int(reply, c->flowcontrol);
        rv |= alcove_reply_int(reply, c->signaloneof);
        rv |= alcove_reply_int(reply, c->ctl_out);
        rv |= alcove_reply_int(reply, c->in);
        rv |= alcove_reply_int(reply, c->out);
        rv |= alcove_reply_int(reply, c->err);
        rv |= alcove_reply_int(reply, c->execed);
    }
    return rv;
}
