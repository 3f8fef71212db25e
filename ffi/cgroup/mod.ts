/**
 * cgroups: the limits a sandbox can get (`SpawnOptions.cgroup`) and their checking, and the
 * `Cgroup` class for direct use (create, set, add a pid, stats, kill, remove) on v1 and v2.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const p = await drv.spawn(["true"], { cgroup: { memoryMax: "64M", pidsMax: 16 } });
 * console.log((await p.status).reason); // "exit"
 * ```
 * @module
 */
export * from "./limits.ts";
export * from "./cgroup.ts";
