/**
 * What a Process and a Task need of the driver, without importing it: the driver implements
 * this interface, the handles hold it. Internal.
 *
 * @module
 */
import type { CallDef } from "../_calls.ts";
import type { ConstantTable } from "../constants.ts";
import type { AlcoveEvent, CallOptions, Pipeline } from "../types.ts";
import type { SpawnOptions, SpawnRequest } from "./options.ts";

/** The key of the driver's method that runs a call from its definition. */
export const RUN_CALL: unique symbol = Symbol("alcove.runCall");
/** The key of the driver's method that spawns below a pipeline. */
export const SPAWN_AT: unique symbol = Symbol("alcove.spawnAt");
/** The key of the driver's method that closes a process's stdout or stderr. */
export const CLOSE_OUTPUT: unique symbol = Symbol("alcove.closeOutput");
/** The key of the driver's method that drops a process's unwritten stdin and closes it. */
export const DISCARD_STDIN: unique symbol = Symbol("alcove.discardStdin");
/** The key of the driver's method that ties a handle's pipeline to the process it names. */
export const PIN: unique symbol = Symbol("alcove.pin");
/** The key of the driver's method that tells whether a handle's process has ended (its pid
 * may be another's). */
export const GONE: unique symbol = Symbol("alcove.gone");
/** The key of the driver's method that drops what it holds for a process nobody can read. */
export const ABANDON: unique symbol = Symbol("alcove.abandon");
/** The key of the driver's getter for why it closed. */
export const CLOSED_WHY: unique symbol = Symbol("alcove.closedWhy");

/** The driver, as the handles see it. */
export interface Host {
  /** Runs a call in the process at `pipeline`. */
  [RUN_CALL](
    def: CallDef,
    pipeline: Pipeline,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown>;
  /** Sends a spawn request to the control process at `pipeline`: the new pid. */
  [SPAWN_AT](
    pipeline: Pipeline,
    argv: readonly string[],
    options: SpawnOptions,
  ): Promise<{ pid: number; request: SpawnRequest }>;
  /** The next stdout chunk of a process, null at its end. */
  stdout(pipeline: Pipeline, options?: CallOptions): Promise<Uint8Array | null>;
  /** The next stderr chunk of a process, null at its end. */
  stderr(pipeline: Pipeline, options?: CallOptions): Promise<Uint8Array | null>;
  /** The next event of a process, null at its end. */
  event(pipeline: Pipeline, options?: CallOptions): Promise<AlcoveEvent | null>;
  /** Writes to a process's stdin. */
  stdin(pipeline: Pipeline, data: string | Uint8Array, options?: CallOptions): Promise<void>;
  /** Closes a process's stdin. */
  eof(pipeline: Pipeline, options?: CallOptions): Promise<void>;
  /** Drops the stdin a process has not read yet (the writes waiting on it fail) and closes
   * it now, without waiting for the writes before. */
  [DISCARD_STDIN](pipeline: Pipeline): Promise<void>;
  /** Ties `pipeline`, a handle's own array, to the process `from` names now (see the driver). */
  [PIN](pipeline: Pipeline, from?: Pipeline): void;
  /** Whether the process `pipeline` was tied to has ended (a new process may have its pid). */
  [GONE](pipeline: Pipeline): boolean;
  /** Drops a process's stdout or stderr, and closes its parent's end of the pipe: the
   * program's next write to it fails (SIGPIPE, EPIPE). */
  [CLOSE_OUTPUT](pipeline: Pipeline, which: "stdout" | "stderr"): Promise<void>;
  /** The Process of `pipeline` is gone: closes its stdin, drops its output and events, closes
   * its output pipes, and forgets it once it has ended. */
  [ABANDON](pipeline: Pipeline, piped: readonly ("stdin" | "stdout" | "stderr")[]): void;
  /** The root control process's constants. */
  readonly constants: ConstantTable;
  /** Whether the driver has stopped. */
  readonly closed: boolean;
  /** Why it closed ("the driver was stopped", how the root ended, ...), null while open. */
  readonly [CLOSED_WHY]: string | null;
}
