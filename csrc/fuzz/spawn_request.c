/* libFuzzer harness: a spawn request's payload (the sandbox records of sandbox.h, as the
 * host encodes them) through alcove_sandbox_decode, then the program's environment
 * (alcove_sandbox_env) and alcove_sandbox_free. A request the decoder takes must come out
 * whole: an argv of at least one string and a NULL after it, every count within its
 * limit, every string NUL terminated at its length, each seccomp program inside the
 * request, the stdio modes known, no descriptor below -1; one it refuses must say why.
 * The seeds (tests/fuzz/corpus/spawn_request) are requests encodeSpawnRequest made (the
 * named ones: every mount operation, limits, Landlock, the default seccomp profile,
 * cgroups, an init) and what fuzzing found from them. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../alcove.h"
#include "../sandbox.h"
#include "check.h"

int alcove_fuzz_call(const struct alcove_call_def *def, struct alcove_state *ap,
                     const struct alcove_arg *arg, struct alcove_reply *reply);

/* The build's dispatch runs calls through the call harness's fakes; none runs here. */
int alcove_fuzz_call(const struct alcove_call_def *def, struct alcove_state *ap,
                     const struct alcove_arg *arg, struct alcove_reply *reply)
{
    (void)def;
    (void)ap;
    (void)arg;
    (void)reply;
    CHECK(!"no call runs in the spawn request harness");
    return 0;
}

static void check_str(const struct sb_str *s)
{
    if (s->s != NULL)
        CHECK(strlen(s->s) == s->len);
}

static void check_decoded(const struct alcove_sandbox *sb, const unsigned char *data, size_t size)
{
    CHECK(sb->argv != NULL && sb->argc >= 1 && sb->argv[sb->argc] == NULL);
    for (size_t i = 0; i < sb->argc; i++)
        CHECK(sb->argv[i] != NULL && strlen(sb->argv[i]) < size);
    if (sb->envp != NULL) {
        CHECK(sb->envp[sb->envc] == NULL);
        for (size_t i = 0; i < sb->envc; i++)
            CHECK(strchr(sb->envp[i], '=') != NULL);
    }
    CHECK(sb->nmounts <= SB_MAX_MOUNTS);
    for (size_t i = 0; i < sb->nmounts; i++) {
        check_str(&sb->mounts[i].source);
        check_str(&sb->mounts[i].target);
    }
    CHECK(sb->nrlimits <= SB_MAX_RLIMITS);
    CHECK(sb->nlandlock <= SB_MAX_LANDLOCK);
    for (size_t i = 0; i < sb->nlandlock; i++)
        check_str(&sb->landlock_rules[i].path);
    CHECK(sb->nseccomp <= SB_MAX_SECCOMP);
    for (size_t i = 0; i < sb->nseccomp; i++) {
        CHECK(sb->seccomp[i] >= data && sb->seccomp_len[i] <= size);
        CHECK((size_t)(sb->seccomp[i] - data) <= size - sb->seccomp_len[i]);
    }
    CHECK(sb->ncwd_try <= SB_MAX_CWD_TRY);
    for (size_t i = 0; i < sb->ncwd_try; i++)
        check_str(&sb->cwd_try[i]);
    CHECK(sb->nlock_files <= SB_MAX_LOCK_FILES);
    CHECK(sb->npass_fds <= SB_MAX_PASS_FDS);
    CHECK(sb->cg.nfiles <= SB_MAX_CG_FILES);
    check_str(&sb->hostname);
    check_str(&sb->cwd);
    for (int i = 0; i < 3; i++)
        CHECK(sb->stdio[i] <= SB_STDIO_INHERIT);
    CHECK(sb->userns_fd >= -1 && sb->pidns_fd >= -1 && sb->userns2_fd >= -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct alcove_sandbox sb;
    const char *why = NULL;
    int rv = alcove_sandbox_decode(&sb, data, size, &why);
    CHECK(rv == 0 || rv == -EINVAL || rv == -ENOMEM);
    if (rv == -EINVAL)
        CHECK(why != NULL && why[0] != '\0');
    if (rv != 0)
        return 0;
    check_decoded(&sb, data, size);
    if (alcove_sandbox_env(&sb) == 0) {
        /* None made when the records are the whole environment (SB_ENV_CLEAR). */
        char **env = sb.exec_env != NULL ? sb.exec_env : sb.envp;
        CHECK(env != NULL || (sb.env_clear && sb.envc == 0));
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            CHECK(strchr(env[i], '=') != NULL);
    }
    alcove_sandbox_free(&sb);
    return 0;
}
