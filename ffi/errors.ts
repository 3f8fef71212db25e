/**
 * The errors a call rejects with. Invalid arguments are a `TypeError` or a
 * `RangeError` thrown before anything is sent; everything else is an
 * {@linkcode AlcoveError} naming the call and the pipeline.
 *
 * @example
 * ```ts
 * import { Alcove, SystemCallError } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * try {
 *   await drv.chdir([], "/nonexistent");
 * } catch (e) {
 *   if (e instanceof SystemCallError) console.log(e.code); // ENOENT
 * }
 * ```
 * @module
 */
import type { AlcoveEvent, Pipeline } from "./types.ts";

function where(call: string, pipeline: Pipeline): string {
  return pipeline.length === 0 ? call : `${call} in [${pipeline.join(", ")}]`;
}

/** A call's argument as a message shows it: one of more than 256 characters (a hostile
 * path, say) by its first 128 and its length. */
function shown(argument: string): string {
  if (argument.length <= 256) return argument;
  return `${argument.slice(0, 128)}... (${argument.length} characters)`;
}

/** Base class of the errors of a call that was sent.
 *
 * @example
 * ```ts
 * import { AlcoveError } from "@alcove/alcove";
 * const e = new AlcoveError("fork", [], "Cannot fork");
 * console.log(e.call);
 * ```
 */
export class AlcoveError extends Error {
  /** The call's alcove name. */
  readonly call: string;
  /** The process that was to run it. */
  readonly pipeline: number[];
  /** Makes an error for a call in a pipeline.
   *
   * @example
   * ```ts
   * import { AlcoveError } from "@alcove/alcove";
   * throw new AlcoveError("getpid", [12], "Something failed");
   * ```
   */
  constructor(call: string, pipeline: Pipeline, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AlcoveError";
    this.call = call;
    this.pipeline = [...pipeline];
  }
}

/** What a failure was about, for its message.
 *
 * @example
 * ```ts
 * import type { SystemCallErrorDetail } from "@alcove/alcove";
 * const d: SystemCallErrorDetail = { argument: "/bin/nope", text: "No such file or directory" };
 * ```
 */
export interface SystemCallErrorDetail {
  /** The path or name the call was about. */
  argument?: string;
  /** The C library's text for the errno (strerror). */
  text?: string;
  /** The option of the control process whose limit caused the errno. */
  limit?: string;
}

/** The system call failed: `code` is the errno name, `errno` its number; the message names
 * the path or name the call was about and says what the errno means, as in
 * `execvp /bin/nope: ENOENT (No such file or directory)`.
 *
 * @example
 * ```ts
 * import { SystemCallError } from "@alcove/alcove";
 * const e = new SystemCallError("setuid", [], "EPERM", 1, { text: "Operation not permitted" });
 * console.log(e.message); // "setuid: EPERM (Operation not permitted)"
 * ```
 */
export class SystemCallError extends AlcoveError {
  /** errno name, e.g. "EPERM". */
  readonly code: string;
  /** errno number. */
  readonly errno: number;
  /** The C library's text for the errno ("Operation not permitted"), when it came. */
  readonly text?: string;
  /** The option of the control process whose limit caused the errno ("maxchild" or
   * "maxforkdepth" for EAGAIN from fork or clone), "RLIMIT_NOFILE" when maxchild is as high
   * as that limit's descriptors allow, or "pipeline" for a process that would be deeper than a
   * pipeline's 255 pids, if one did. */
  readonly limit?: string;
  /** Makes the error for an errno.
   *
   * @example
   * ```ts
   * import { SystemCallError } from "@alcove/alcove";
   * throw new SystemCallError("chdir", [42], "ENOENT", 2);
   * ```
   */
  constructor(
    call: string,
    pipeline: Pipeline,
    code: string,
    errno: number,
    detail: SystemCallErrorDetail = {},
  ) {
    const about = detail.argument === undefined ? "" : ` ${shown(detail.argument)}`;
    const text = detail.text === undefined ? "" : ` (${detail.text})`;
    const place = pipeline.length === 0 ? "" : ` in [${pipeline.join(", ")}]`;
    const limit = detail.limit === undefined
      ? ""
      : detail.limit === "pipeline"
      ? ": a pipeline holds at most 255 pids, and this process is at depth 255"
      : detail.limit === "RLIMIT_NOFILE"
      ? ": maxchild reached, as many children as RLIMIT_NOFILE leaves room for (5 descriptors " +
        "each): raise RLIMIT_NOFILE, then maxchild"
      : `: ${detail.limit} reached, raise it with setopt(pipeline, "${detail.limit}", n), n up to 65535`;
    super(call, pipeline, `${call}${about}${place}: ${code}${text}${limit}`);
    this.name = "SystemCallError";
    this.code = code;
    this.errno = errno;
    this.text = detail.text;
    this.limit = detail.limit;
  }
}

/** A pid in the pipeline is not a child of its predecessor, or has run execve and
 * takes no more calls. Only this call fails; the driver stays usable.
 *
 * @example
 * ```ts
 * import { PipelineError } from "@alcove/alcove";
 * const e = new PipelineError("getpid", [999999], 999999, "not_child");
 * console.log(e.reason);
 * ```
 */
export class PipelineError extends AlcoveError {
  /** The pid that broke the pipeline. */
  readonly pid: number;
  /** Why: not a child, or no longer a control process. */
  readonly reason: "not_child" | "not_control";
  /** Makes the error; `detail.exited` says a pid that is no longer a child has exited (its
   * end was seen), which the message then says instead.
   *
   * @example
   * ```ts
   * import { PipelineError } from "@alcove/alcove";
   * throw new PipelineError("getpid", [1, 2], 2, "not_control");
   * ```
   */
  constructor(
    call: string,
    pipeline: Pipeline,
    pid: number,
    reason: "not_child" | "not_control",
    detail: { exited?: boolean } = {},
  ) {
    super(
      call,
      pipeline,
      reason === "not_control"
        ? `Cannot run ${where(call, pipeline)}: ${pid} has run execve and takes no calls`
        : detail.exited
        ? `Cannot run ${where(call, pipeline)}: ${pid} has exited`
        : `Cannot run ${call}: ${pid} is not a child of its predecessor in [${
          pipeline.join(", ")
        }]`,
    );
    this.name = "PipelineError";
    this.pid = pid;
    this.reason = reason;
  }
}

/** The process running the call (or one on its pipeline) died before it answered.
 *
 * @example
 * ```ts
 * import { ProcessExitedError } from "@alcove/alcove";
 * const e = new ProcessExitedError("getpid", [5], 5, { type: "termsig", signal: "SIGKILL" });
 * console.log(e.event);
 * ```
 */
export class ProcessExitedError extends AlcoveError {
  /** The pid that died. */
  readonly pid: number;
  /** How it ended. */
  readonly event: AlcoveEvent;
  /** Makes the error.
   *
   * @example
   * ```ts
   * import { ProcessExitedError } from "@alcove/alcove";
   * throw new ProcessExitedError("getpid", [5], 5, { type: "exit", status: 1 });
   * ```
   */
  constructor(call: string, pipeline: Pipeline, pid: number, event: AlcoveEvent) {
    const how = event.type === "exit" ? `exited with status ${event.status}` : event.type ===
        "termsig"
      ? `was killed by ${event.signal}`
      : event.type;
    super(call, pipeline, `Cannot finish ${where(call, pipeline)}: process ${pid} ${how}`);
    this.name = "ProcessExitedError";
    this.pid = pid;
    this.event = event;
  }
}

/** The call did not answer within its timeout. A late reply is dropped.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@alcove/alcove";
 * const e = new TimeoutError("getpid", [], 10);
 * console.log(e.timeout);
 * ```
 */
export class TimeoutError extends AlcoveError {
  /** The timeout in milliseconds. */
  readonly timeout: number;
  /** Makes the error.
   *
   * @example
   * ```ts
   * import { TimeoutError } from "@alcove/alcove";
   * throw new TimeoutError("getpid", [], 10);
   * ```
   */
  constructor(call: string, pipeline: Pipeline, timeout: number) {
    super(call, pipeline, `${where(call, pipeline)} timed out after ${timeout} ms`);
    this.name = "TimeoutError";
    this.timeout = timeout;
  }
}

/** The call's AbortSignal fired. A late reply is dropped.
 *
 * @example
 * ```ts
 * import { AbortedError } from "@alcove/alcove";
 * const e = new AbortedError("getpid", [], "user cancelled");
 * console.log(e.cause);
 * ```
 */
export class AbortedError extends AlcoveError {
  /** Makes the error; `reason` is the signal's reason.
   *
   * @example
   * ```ts
   * import { AbortedError } from "@alcove/alcove";
   * throw new AbortedError("getpid", [], undefined);
   * ```
   */
  constructor(call: string, pipeline: Pipeline, reason: unknown) {
    super(call, pipeline, `${where(call, pipeline)} was aborted`, { cause: reason });
    this.name = "AbortedError";
  }
}

/** The call does not exist on this platform, or cannot run where it was sent.
 *
 * @example
 * ```ts
 * import { UnsupportedError } from "@alcove/alcove";
 * const e = new UnsupportedError("jail", [], "Not supported on this platform");
 * console.log(e.message);
 * ```
 */
export class UnsupportedError extends AlcoveError {
  /** Makes the error.
   *
   * @example
   * ```ts
   * import { UnsupportedError } from "@alcove/alcove";
   * throw new UnsupportedError("pledge", [], "Not supported on this platform");
   * ```
   */
  constructor(call: string, pipeline: Pipeline, message: string) {
    super(call, pipeline, `Cannot run ${where(call, pipeline)}: ${message}`);
    this.name = "UnsupportedError";
  }
}

/** The call filter of the process refuses the call (see `filter`).
 *
 * @example
 * ```ts
 * import { FilteredError } from "@alcove/alcove";
 * const e = new FilteredError("fork", [12]);
 * console.log(e instanceof Error);
 * ```
 */
export class FilteredError extends UnsupportedError {
  /** Makes the error.
   *
   * @example
   * ```ts
   * import { FilteredError } from "@alcove/alcove";
   * throw new FilteredError("fork", []);
   * ```
   */
  constructor(call: string, pipeline: Pipeline) {
    super(call, pipeline, "refused by the call filter");
    this.name = "FilteredError";
  }
}

/** The driver was stopped, or its root control process ended, before the call answered
 * ("Cannot finish ..."), or before it was made ("Cannot run ...").
 *
 * @example
 * ```ts
 * import { DriverClosedError } from "@alcove/alcove";
 * const e = new DriverClosedError("getpid", [], "the driver was stopped");
 * console.log(e.message);
 * ```
 */
export class DriverClosedError extends AlcoveError {
  /** Makes the error; `detail.made: false` says the call was made after the driver closed.
   *
   * @example
   * ```ts
   * import { DriverClosedError } from "@alcove/alcove";
   * throw new DriverClosedError("getpid", [], "the driver was stopped");
   * ```
   */
  constructor(call: string, pipeline: Pipeline, why: string, detail: { made?: boolean } = {}) {
    const verb = detail.made === false ? "run" : "finish";
    super(call, pipeline, `Cannot ${verb} ${where(call, pipeline)}: ${why}`);
    this.name = "DriverClosedError";
  }
}

/** A setup step of `spawn` failed before the program ran: `step` names it ("mount",
 * "uid_map", "setuid", "landlock", "exec", ...), `path` the path it was about, and the
 * message says what failed and why, e.g. "spawn: Cannot mount proc on /proc: EPERM
 * (Operation not permitted)". No process is left behind.
 *
 * @example
 * ```ts
 * import { Alcove, SetupError } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * try {
 *   await drv.spawn(["/nonexistent"]);
 * } catch (e) {
 *   if (e instanceof SetupError) console.log(e.step, e.path, e.code); // exec /nonexistent ENOENT
 * }
 * ```
 */
export class SetupError extends SystemCallError {
  /** The step that failed. */
  readonly step: string;
  /** The path the step was about ("" when none). */
  readonly path: string;
  /** What failed, without the error ("Cannot mount proc on /proc"). */
  readonly what: string;
  /** The error's text ("Operation not permitted"). */
  override readonly text: string;
  /** Makes the error from the parts the control process reports.
   *
   * @example
   * ```ts
   * import { SetupError } from "@alcove/alcove";
   * const e = new SetupError("spawn", [], "mount", "/proc", "Cannot mount proc on /proc",
   *   "EPERM", 1, "Operation not permitted");
   * console.log(e.message); // "spawn: Cannot mount proc on /proc: EPERM (Operation not permitted)"
   * ```
   */
  constructor(
    call: string,
    pipeline: Pipeline,
    step: string,
    path: string,
    what: string,
    code: string,
    errno: number,
    text: string,
  ) {
    super(call, pipeline, code, errno);
    this.name = "SetupError";
    this.message = `${where(call, pipeline)}: ${what}: ${code} (${text})`;
    this.step = step;
    this.path = path;
    this.what = what;
    this.text = text;
  }
}
