/**
 * Spawning from any control process: the one path behind `Alcove.spawn` and `Task.spawn`.
 * Internal.
 *
 * @module
 */
import type { Pipeline } from "../types.ts";
import { type Host, SPAWN_AT } from "./_host.ts";
import type { SpawnOptions } from "./options.ts";
import { Process } from "./process.ts";

/** Spawns `argv` from the control process at `pipeline`; resolves once it has exec'd. */
export async function spawnProcess(
  host: Host,
  pipeline: Pipeline,
  argv: readonly string[],
  options: SpawnOptions = {},
): Promise<Process> {
  const { pid, request } = await host[SPAWN_AT](pipeline, argv, options);
  return new Process(host, [...pipeline, pid], request);
}
