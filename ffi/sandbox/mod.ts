/**
 * The friendlier layer: `spawn` with a declarative sandbox, Process and Task handles.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * const { status, stdout } = await Alcove.run(["echo", "hi"]);
 * console.log(status.success, new TextDecoder().decode(stdout));
 * ```
 * @module
 */
export * from "./options.ts";
export * from "./process.ts";
export * from "./task.ts";
