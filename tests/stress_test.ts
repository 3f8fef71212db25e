/**
 * The short form of the stress runs (scripts/stress.ts; `deno task stress` runs the full
 * sizes): many calls in flight, many live children, fork + exec + exit cycles, a pipeline cut
 * in the middle, a stopped process, a fork bomb, tight memory limits and a host killed with
 * SIGKILL, each bounded in descriptors and memory and leaving nothing behind.
 */
import { IS_ROOT, needs } from "./_helpers.ts";
import { SHORT, stress } from "../scripts/stress.ts";

Deno.test(
  needs(
    "stress, short form: bounded and nothing left behind",
    IS_ROOT ? undefined : "the fork bomb runs as uid 65534 (needs root)",
  ),
  async () => {
    await stress(SHORT);
  },
);
