/**
 * A spawned program: its streams (Web Streams with backpressure both ways), its status, and
 * the means to end its whole tree. Shapes follow `Deno.Command`'s child process.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * await using p = await drv.spawn(["sh", "-c", "echo hi; exit 3"]);
 * const { status, stdout } = await p.output();
 * console.log(status.code, new TextDecoder().decode(stdout)); // 3 "hi\n"
 * ```
 * @module
 */
import { concat } from "../_wire.ts";
import {
  AlcoveError,
  DriverClosedError,
  PipelineError,
  ProcessExitedError,
  SystemCallError,
} from "../errors.ts";
import type { Pipeline, ResourceUsage, UsageLimit } from "../types.ts";
import {
  ABANDON,
  CLOSE_OUTPUT,
  CLOSED_WHY,
  DISCARD_STDIN,
  GONE,
  type Host,
  PIN,
  RUN_CALL,
} from "./_host.ts";
import type { SpawnRequest, StdioMode } from "./options.ts";
import { CALLS } from "../_calls.ts";

/** Why a process ended.
 *
 * @example
 * ```ts
 * import type { ExitReason } from "@alcove/alcove";
 * const r: ExitReason = "timeout";
 * ```
 */
export type ExitReason = "exit" | "signal" | "timeout" | "output-limit" | "oom" | "seccomp";

/** How a process ended.
 *
 * @example
 * ```ts
 * import type { ProcessStatus } from "@alcove/alcove";
 * function describe(s: ProcessStatus) {
 *   return s.success ? "ok" : `${s.reason} (code ${s.code}, signal ${s.signal})`;
 * }
 * ```
 */
export interface ProcessStatus {
  /** True when it exited with status 0. */
  success: boolean;
  /** Its exit status, or 128 + the signal number when a signal ended it. */
  code: number;
  /** The signal that ended it, or null. */
  signal: string | null;
  /** Why it ended: "timeout" and "output-limit" are the limits of spawn's options, "oom" the
   * memory controller of its cgroup (spawn's `cgroup.memoryMax`): it killed the program, or
   * killed another process of the cgroup and the program then failed (a shell whose command
   * was killed); "seccomp" a SIGSYS under a seccomp filter (spawn's, or one its control
   * process had), where without one a SIGSYS is "signal". */
  reason: ExitReason;
  /** Resource usage. */
  usage: ResourceUsage;
}

/** The error for a stream of a process spawned without a pipe there. */
function notPiped(which: "stdin" | "stdout" | "stderr", mode: string): TypeError {
  return new TypeError(
    `${which}: it is not piped (spawned with ${which}: "${mode}"; ${which}: "pipe" gives a stream)`,
  );
}

/** What `output()` resolves to.
 *
 * @example
 * ```ts
 * import type { ProcessOutput } from "@alcove/alcove";
 * const show = (o: ProcessOutput) => new TextDecoder().decode(o.stdout);
 * ```
 */
export interface ProcessOutput {
  /** How it ended. */
  status: ProcessStatus;
  /** Everything it wrote to stdout (empty unless stdout was "pipe"). */
  stdout: Uint8Array;
  /** Everything it wrote to stderr (empty unless stderr was "pipe"). */
  stderr: Uint8Array;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGSYS: 31,
};

/**
 * Processes whose handle was collected: their output and status can no longer be read, so the
 * driver drops them instead of keeping them for the life of the driver. (Reading a stream or
 * waiting for the status keeps the handle alive.)
 */
const abandoned = new FinalizationRegistry<
  { host: Host; pipeline: Pipeline; piped: ("stdin" | "stdout" | "stderr")[] }
>(({ host, pipeline, piped }) => host[ABANDON](pipeline, piped));

/**
 * A program started by `spawn`. `await using` kills its tree and waits for it.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * await using p = await drv.spawn(["cat"]);
 * const w = p.stdin.getWriter();
 * await w.write(new TextEncoder().encode("hello\n"));
 * await w.close();
 * for await (const chunk of p.stdout) console.log(new TextDecoder().decode(chunk));
 * console.log((await p.status).success); // true
 * ```
 */
export class Process implements AsyncDisposable {
  /** Its pid, as its control process sees it. */
  readonly pid: number;
  /** Its pipeline: the pids from the root control process down to it. */
  readonly pipeline: Pipeline;
  #host: Host;
  #stdio: readonly [StdioMode, StdioMode, StdioMode];
  #stdin?: WritableStream<Uint8Array>;
  #stdout?: ReadableStream<Uint8Array>;
  #stderr?: ReadableStream<Uint8Array>;
  #status?: Promise<ProcessStatus>;
  #output?: Promise<ProcessOutput>;
  #ended = false;
  #stdinTouched = false;

  /** Made by `spawn`; not constructed directly.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const p = await drv.spawn(["true"]);
   * console.log(p.pipeline); // [pid]
   * ```
   */
  constructor(host: Host, pipeline: Pipeline, request: SpawnRequest) {
    this.#host = host;
    this.pipeline = [...pipeline];
    // The process `pipeline` names: a Task's Process is that Task's.
    host[PIN](this.pipeline, pipeline);
    this.pid = pipeline[pipeline.length - 1];
    this.#stdio = request.stdio;
    const piped = (["stdin", "stdout", "stderr"] as const).filter((_, i) =>
      request.stdio[i] === "pipe"
    );
    abandoned.register(this, { host, pipeline: this.pipeline, piped });
    const signal = request.signal;
    if (signal?.aborted) {
      // Aborted while the spawn was on its way: the abort event has been and gone.
      this.#killTree();
    } else if (signal) {
      const onAbort = () => this.#killTree();
      signal.addEventListener("abort", onAbort, { once: true });
      this.status.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => {});
    }
  }

  /** Its standard input (when stdin was "pipe"): closing it sends EOF. Once the program
   * has ended or closed its stdin, a write rejects with a SystemCallError EPIPE (nobody
   * reads it) and a close resolves.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using p = await drv.spawn(["wc", "-c"]);
   * const w = p.stdin.getWriter();
   * await w.write(new Uint8Array(10));
   * await w.close();
   * ```
   */
  get stdin(): WritableStream<Uint8Array> {
    if (this.#stdio[0] !== "pipe") throw notPiped("stdin", this.#stdio[0]);
    this.#stdinTouched = true;
    this.#stdin ??= new WritableStream<Uint8Array>({
      // A failed write errors the stream for good: nothing can be written after it, so the
      // program gets its EOF (else a reader of its output would wait for ever). An abort
      // during a write that waits on a program not reading drops the rest of it (the
      // stream's abort would otherwise wait for that write to end first).
      write: (chunk, controller) => {
        const discard = () => void this.#host[DISCARD_STDIN](this.pipeline);
        controller.signal.addEventListener("abort", discard, { once: true });
        return this.#host.stdin(this.pipeline, chunk).catch((e) => {
          this.#host.eof(this.pipeline).catch(() => {});
          throw this.#brokenPipe(e);
        }).finally(() => controller.signal.removeEventListener("abort", discard));
      },
      // Closing the input of a program that has ended is done: nothing is lost.
      close: () => this.#host.eof(this.pipeline).catch((e) => this.#unlessGone(e)),
      abort: () => this.#host.eof(this.pipeline).catch(() => {}),
    }, { highWaterMark: 1 });
    return this.#stdin;
  }

  /** Whether `e` says that this process has ended. */
  #gone(e: unknown): boolean {
    const gone = (e instanceof PipelineError && e.reason === "not_child") ||
      e instanceof ProcessExitedError;
    return gone && e.pid === this.pid;
  }

  /** Rethrows `e` unless it says that this process has ended. */
  #unlessGone(e: unknown): void {
    if (!this.#gone(e)) throw e;
  }

  /** A write to a program that has ended fails as one to a closed pipe does, whether the
   * program had closed its stdin or ended when the write came (as Deno.Command's). */
  #brokenPipe(e: unknown): unknown {
    if (!this.#gone(e)) return e;
    return new SystemCallError("stdin", this.pipeline, "EPIPE", 32, { text: "Broken pipe" });
  }

  /** Its standard output (when stdout was "pipe"), read as it comes. Cancelling it drops
   * the rest and closes the pipe: the program's next write to it fails (SIGPIPE, EPIPE).
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using p = await drv.spawn(["echo", "hi"]);
   * for await (const chunk of p.stdout) console.log(chunk.length);
   * ```
   */
  get stdout(): ReadableStream<Uint8Array> {
    if (this.#stdio[1] !== "pipe") throw notPiped("stdout", this.#stdio[1]);
    this.#stdout ??= this.#readable("stdout");
    return this.#stdout;
  }

  /** Its standard error (when stderr was "pipe"), read as it comes. Cancelling it drops
   * the rest and closes the pipe, as for stdout.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using p = await drv.spawn(["sh", "-c", "echo oops >&2"]);
   * for await (const chunk of p.stderr) console.log(chunk.length);
   * ```
   */
  get stderr(): ReadableStream<Uint8Array> {
    if (this.#stdio[2] !== "pipe") throw notPiped("stderr", this.#stdio[2]);
    this.#stderr ??= this.#readable("stderr");
    return this.#stderr;
  }

  #readable(which: "stdout" | "stderr"): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.#host[which](this.pipeline);
        if (chunk !== null) return controller.enqueue(chunk);
        // Its end, unless the driver closed first: then it is cut short where the status
        // says so (the root control process lost), not ended as if all had come.
        const lost = this.#host.closed
          ? await this.status.then(() => undefined, (e: unknown) => e)
          : undefined;
        if (!(lost instanceof DriverClosedError)) return controller.close();
        const why = this.#host[CLOSED_WHY] ?? "the driver closed before the process ended";
        controller.error(new DriverClosedError(which, this.pipeline, why));
      },
      // Nobody reads it any more: the program's next write fails, as on a pipe whose
      // reader went away, instead of waiting for room forever.
      cancel: () => this.#host[CLOSE_OUTPUT](this.pipeline, which),
    }, { highWaterMark: 0 });
  }

  /** How it ended; resolves once it has been reaped, after all its output (a stop of the
   * driver ends it, and its status says so). Rejects with DriverClosedError, saying how the
   * root control process ended, when that process is lost first; with an AlcoveError when the
   * driver is open but the exit cannot come here (`drv.event` took it, or the control process
   * above it ended first). A piped output that nobody reads holds the program once
   * `maxBuffered` bytes of it wait in the host (as a full pipe would): await `output()`, which
   * reads both, or spawn with "null" or "inherit" for what is not wanted.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const p = await drv.spawn(["false"], { stdout: "null", stderr: "null" });
   * console.log((await p.status).code); // 1
   * ```
   */
  get status(): Promise<ProcessStatus> {
    this.#status ??= this.#wait();
    return this.#status;
  }

  async #wait(): Promise<ProcessStatus> {
    let limit: UsageLimit = null;
    let counted = false;
    let usage: ResourceUsage = { wallMs: 0, userMs: 0, systemMs: 0, maxRssKb: 0 };
    for (;;) {
      const ev = await this.#host.event(this.pipeline);
      if (ev === null) {
        this.#ended = true;
        if (!this.#host.closed) {
          // The driver is open: the end came, but not to this reader.
          throw new AlcoveError(
            "status",
            this.pipeline,
            `Cannot finish status in [${this.pipeline.join(", ")}]: its exit did not reach ` +
              "this Process: another reader took it (drv.event), or the control process " +
              "above it ended first",
          );
        }
        // How the driver closed: stopped, or its root control process lost.
        throw new DriverClosedError(
          "status",
          this.pipeline,
          this.#host[CLOSED_WHY] ?? "the driver closed before the process ended",
        );
      }
      if (ev.type === "usage") {
        counted = true;
        limit = ev.limit;
        usage = ev.usage;
        continue;
      }
      if (ev.type !== "exit" && ev.type !== "termsig") continue;
      this.#ended = true;
      const signal = ev.type === "termsig" ? ev.signal : null;
      const code = ev.type === "exit" ? ev.status : 128 + (SIGNALS[ev.signal] ?? 0);
      // Without a usage event (the exec of a Task that did not ask for one), any SIGSYS is
      // taken for a filter's.
      const why: ExitReason = limit !== null
        ? limit
        : signal === "SIGSYS" && !counted
        ? "seccomp"
        : signal !== null
        ? "signal"
        : "exit";
      // A program that wrote past maxOutput and ended before it could be killed exited,
      // but its output was cut: no success.
      const success = limit === null && code === 0 && signal === null;
      return { success, code, signal, reason: why, usage };
    }
  }

  /**
   * Reads stdout and stderr to their end (both at once, so neither can fill up and block
   * the program) and waits for the status. An untouched piped stdin is closed first. What
   * was read from a stream before is not in it; a second call gives the same result. A
   * stream locked by a reader is a TypeError, before anything is read. The
   * streams end with the program: what a background process of it writes after it exited is
   * not collected (unlike `Deno.Command`, which waits for every holder of the pipes).
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const p = await drv.spawn(["python3", "-c", "print(6 * 7)"]);
   * const { status, stdout } = await p.output();
   * console.log(status.success, new TextDecoder().decode(stdout)); // true "42\n"
   * ```
   */
  output(): Promise<ProcessOutput> {
    if (this.#output === undefined) {
      // Checked before anything is read: a reader that is released later may call again.
      const locked = (["stdout", "stderr"] as const).find((which, i) =>
        this.#stdio[i + 1] === "pipe" && this[which].locked
      );
      if (locked) {
        return Promise.reject(
          new TypeError(
            `output: ${locked} is locked by a reader: read the rest there, or release its lock first`,
          ),
        );
      }
    }
    if (this.#output === undefined) {
      // The streams are taken now, so that no reader can come between.
      const [out, err] = (["stdout", "stderr"] as const).map((which, i) =>
        this.#stdio[i + 1] === "pipe" ? this[which].getReader() : undefined
      );
      this.#output = this.#collect(out, err);
    }
    return this.#output;
  }

  async #collect(
    out: ReadableStreamDefaultReader<Uint8Array> | undefined,
    err: ReadableStreamDefaultReader<Uint8Array> | undefined,
  ): Promise<ProcessOutput> {
    if (this.#stdio[0] === "pipe" && !this.#stdinTouched) {
      this.#stdinTouched = true;
      await this.#host.eof(this.pipeline).catch(() => {});
    }
    const drain = async (reader: ReadableStreamDefaultReader<Uint8Array> | undefined) => {
      if (reader === undefined) return new Uint8Array(0);
      const parts: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
      }
      return concat(parts);
    };
    const [stdout, stderr, status] = await Promise.all([drain(out), drain(err), this.status]);
    return { status, stdout, stderr };
  }

  /**
   * Sends a signal to its process group (which also reaches what it started in that group;
   * as pid 1 of a pid namespace, SIGKILL ends the whole namespace). Pid 1 of a pid
   * namespace gets no signal it has no handler for but SIGKILL, as the kernel has it: with
   * the "pid" namespace, a program that should end on SIGTERM wants `init: true` (it is then
   * pid 2, below a reaper that passes on what it is sent alone).
   *
   * @param signal A signal name or number (default SIGTERM).
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const p = await drv.spawn(["sleep", "10"]);
   * await p.kill("SIGKILL");
   * console.log((await p.status).signal); // "SIGKILL"
   * ```
   */
  async kill(signal: string | number = "SIGTERM"): Promise<void> {
    if (typeof signal === "number" && !(Number.isInteger(signal) && signal >= 0 && signal <= 64)) {
      throw new RangeError(`kill: a signal number must be an integer from 0 to 64, got ${signal}`);
    }
    // Once it has ended its pid may be another process's: a signal would reach that one.
    if (this.#ended || this.#host[GONE](this.pipeline)) return;
    const parent = this.pipeline.slice(0, -1);
    const kill = CALLS.kill;
    try {
      await this.#host[RUN_CALL](kill, parent, [-this.pid, signal]);
    } catch (e) {
      // The group may be gone while the process is not yet reaped.
      if ((e as { code?: string }).code !== "ESRCH") throw e;
      await this.#host[RUN_CALL](kill, parent, [this.pid, signal]).catch(() => {});
    }
  }

  /** SIGKILL to its process group and to everything below it, daemons that left the group
   * included (its control process walks the tree, as at a limit), or at least to the group.
   * Resolves with the error when neither could be sent (both refused by its parent's call
   * filter, say): then no end is coming. */
  #killTree(): Promise<Error | undefined> {
    if (this.#ended || this.#host.closed || this.#host[GONE](this.pipeline)) {
      return Promise.resolve(undefined);
    }
    const sigkill = this.#host.constants.lookup("signal", "SIGKILL");
    const args = [this.pid, "kill_tree", sigkill];
    return this.#host[RUN_CALL](CALLS.setcpid, this.pipeline.slice(0, -1), args)
      .then(() => undefined, () => this.kill("SIGKILL"))
      .then(() => undefined, (e: Error) => e);
  }

  /** Kills the tree (SIGKILL to its process group and to every process below it) unless it
   * has ended, and waits for it.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * {
   *   await using p = await drv.spawn(["sleep", "10"]);
   * } // killed and reaped here
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#host.closed) return;
    const refused = await this.#killTree();
    if (refused !== undefined && !this.#ended) {
      throw new AlcoveError(
        "kill",
        this.pipeline,
        `Cannot end [${this.pipeline.join(", ")}]: its parent takes neither setcpid's kill_tree ` +
          `nor kill (${refused.message})`,
        { cause: refused },
      );
    }
    const drain = (which: "stdout" | "stderr", i: number) => {
      if (this.#stdio[i] !== "pipe" || (which === "stdout" ? this.#stdout : this.#stderr)) return;
      // Nobody reads it: drop what is left so the host holds nothing for it.
      (async () => {
        while ((await this.#host[which](this.pipeline)) !== null);
      })().catch(() => {});
    };
    drain("stdout", 1);
    drain("stderr", 2);
    await this.status.catch(() => {});
  }
}
