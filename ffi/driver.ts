/**
 * The driver: starts the root control process and runs calls in any process of
 * its tree, many at once, each matched to its reply.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const pid = await drv.fork([]);
 * await drv.execvp([pid], "/bin/echo", ["echo", "hello"]);
 * console.log(new TextDecoder().decode(await drv.stdout([pid]) ?? undefined));
 * console.log(await drv.event([pid])); // { type: "exit", status: 0 }
 * ```
 * @module
 */
import { AlcoveCalls, type CallDef, CALLS } from "./_calls.ts";
import { argumentOf, decodeResult, encodeArgs } from "./_args.ts";
import { type ConstantDomainBytes, ConstantTable } from "./constants.ts";
import {
  AbortedError,
  AlcoveError,
  DriverClosedError,
  FilteredError,
  PipelineError,
  ProcessExitedError,
  SetupError,
  SystemCallError,
  TimeoutError,
  UnsupportedError,
} from "./errors.ts";
import {
  ABI,
  buildCommand,
  findNative,
  forgetNative,
  nativeFileError,
  strangerCheck,
  VERSION,
} from "./_native.ts";
import { after, elapsed, hexOf, howEnded, MAX_TIMER_MS, pipesForced } from "./_runtime_shared.ts";
import { runtime, spawnHelper } from "./_runtime.ts";
import type { HelperProcess } from "./_runtime_types.ts";
import type { AlcoveEvent, CallOptions, Pipeline, ResourceUsage, UsageLimit } from "./types.ts";
import { concat, DOWN, EOF_DISCARD, EVENT, HEADER, Reader, STATUS, UP, Writer } from "./_wire.ts";
import {
  ABANDON,
  CLOSE_OUTPUT,
  CLOSED_WHY,
  DISCARD_STDIN,
  GONE,
  PIN,
  RUN_CALL,
  SPAWN_AT,
} from "./sandbox/_host.ts";
import { encodeSpawnRequest, type SpawnOptions, type SpawnRequest } from "./sandbox/options.ts";
import { compilesSeccomp, loadSeccompCompiler } from "./sandbox/_seccomp.ts";
import type { Process, ProcessOutput } from "./sandbox/process.ts";
import { spawnProcess } from "./sandbox/_spawn.ts";
import { Task } from "./sandbox/task.ts";

/** The fields of StartOptions. */
const START_OPTIONS = ["exec", "helper", "startTimeout", "maxBuffered", "inheritStdio"];

/** Options of {@linkcode Alcove.start}.
 *
 * @example
 * ```ts
 * import type { StartOptions } from "@alcove/alcove";
 * const opts: StartOptions = { exec: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] };
 * ```
 */
export interface StartOptions {
  /** A command prefix for the root control process, e.g. `["sudo", "-n"]`. */
  exec?: readonly string[];
  /** The control process executable (default: found beside libalcove.so). */
  helper?: string;
  /** Milliseconds to wait for the root control process to start (default 10000). */
  startTimeout?: number;
  /**
   * Bytes of unread stdout, and of unread stderr, a process may have waiting in the host
   * before its parent stops reading that stream (setcpid's stdout_flowcontrol or
   * stderr_flowcontrol 0) until half of it was read: a program that floods an output
   * nobody reads then blocks on it instead of filling the host's memory, and its other
   * output still flows. Default 16 MiB; 0 turns it off (alcove's behaviour).
   */
  maxBuffered?: number;
  /**
   * The root control process gets this process's stdin (its stdout and stderr it always
   * gets; its stdin is otherwise /dev/null), so that programs spawned with stdin "inherit"
   * get it too: a terminal stays a terminal.
   * The control channel is then always a Unix socket (its address travels in the
   * ALCOVE_CHANNEL environment variable: a prefix such as sudo must keep it). The root also
   * keeps, close-on-exec, the other descriptors this process let it inherit, for spawn's
   * `inheritFds` (the command line passes them on as bubblewrap does).
   */
  inheritStdio?: boolean;
}

/** Largest request the driver sends (arguments included). */
export const MAX_REQUEST = 64 * 1024 * 1024;
const STDIN_CHUNK = 256 * 1024;
/** A call frame larger than this is queued on its own, so that it can be dropped unsent. */
const LARGE_FRAME = 64 * 1024;
const STDIN_WINDOW = 4;
const STOP_WAIT_MS = 3000;
const FINISHED_KEEP = 65536;
const DEFAULT_MAX_BUFFERED = 16 * 1024 * 1024;

interface Pending {
  def: CallDef;
  pipeline: Pipeline;
  /** The call's arguments, for the message of a failure. */
  args?: readonly unknown[];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** The call's timeout in milliseconds and the wall-clock deadline it carries, if any. */
  timeout?: number;
  deadline?: number;
  timer?: ReturnType<typeof setTimeout>;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface ProcState {
  pipeline: readonly number[];
  /** Bytes waiting in stdout and in stderr. */
  buffered: [number, number];
  /** Its parent was told to stop reading its stdout, its stderr. */
  paused: [boolean, boolean];
  stdout: Uint8Array[];
  stderr: Uint8Array[];
  /** Output the host dropped (1 stdout, 2 stderr): what still comes of it is discarded. */
  dropped: number;
  events: AlcoveEvent[];
  ended: boolean;
  /** Its stdout, its stderr came to their end (an event said so): nothing more comes there. */
  closed: [boolean, boolean];
  waiters: Set<() => void>;
  stdinChain: Promise<void>;
  /** The state of the process above it in the pipeline (none for the root). */
  parent: ProcState | null;
  /** States below it that have not ended: they end with it. */
  children: Set<ProcState>;
  /** Its Process handle was garbage collected: whatever comes of it is dropped. */
  abandoned: boolean;
  /** A new process has its pid: only the handles that hold this state still reach it. */
  replaced: boolean;
}

const STDIN_DEF: CallDef = {
  id: 0,
  name: "stdin",
  alcove: "stdin",
  args: [],
  result: "ok",
  platforms: "all",
  noLocal: true,
  exec: false,
};
const EOF_DEF: CallDef = { ...STDIN_DEF, name: "eof", alcove: "eof" };
const CLOSE_OUTPUT_DEF: CallDef = { ...STDIN_DEF, name: "closeOutput", alcove: "closeOutput" };
const encoder = new TextEncoder();

function checkPipeline(call: string, pipeline: unknown): asserts pipeline is Pipeline {
  if (!Array.isArray(pipeline)) {
    throw new TypeError(`${call}: pipeline must be an array of pids, got ${typeof pipeline}`);
  }
  if (pipeline.length > 255) throw new RangeError(`${call}: pipeline is longer than 255`);
  for (const pid of pipeline) {
    if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) {
      throw new TypeError(`${call}: pipeline must hold positive pids, got ${String(pid)}`);
    }
  }
}

/** The calls whose answer is a new process's pid. */
const MAKES_PROCESS = new Set(["fork", "clone", "spawn"]);

/** A usage event's reason (csrc/sandbox.h's SB_REASON_*) as its `limit`; 3, a kill of the
 * control process's own, is none. */
const USAGE_LIMIT: readonly UsageLimit[] = [
  null,
  "timeout",
  "output-limit",
  null,
  "oom",
  "seccomp",
];

function checkOptions(call: string, options: CallOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${call}: options must be an object`);
  }
  for (const key in options) {
    // A misspelt timeout would otherwise leave the call without one.
    if (key !== "timeout" && key !== "signal") {
      throw new TypeError(`${call}: options.${key}: unknown option (timeout, signal)`);
    }
  }
  const t = options.timeout;
  if (t !== undefined && (typeof t !== "number" || !(t >= 0) || !Number.isFinite(t))) {
    throw new RangeError(`${call}: timeout must be a non-negative number of milliseconds`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`${call}: signal must be an AbortSignal`);
  }
}

/** Takes a process's state out of its parent's live children. */
function detach(st: ProcState): void {
  st.parent?.children.delete(st);
  st.parent = null;
}

function keyOf(pipeline: readonly number[]): string {
  return pipeline.join(",");
}

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

/** Promise.withResolvers, which Node.js 20 lacks. */
function withResolvers<T>(): Resolvers<T> {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A driver: the root control process and everything below it.
 *
 * Every alcove call is a method taking the pipeline first (see the inherited
 * methods); `stdin`, `stdout`, `stderr`, `event` and `eof` move data and
 * events of a process. `stop()` (or `await using`) ends every descendant.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const pid = await drv.fork([]);
 * await drv.execvp([pid], "cat", ["cat"]);
 * await drv.stdin([pid], "hello\n");
 * console.log(await drv.stdout([pid], { timeout: 1000 }));
 * ```
 */
export class Alcove extends AlcoveCalls implements AsyncDisposable {
  #proc: HelperProcess;
  #table = new ConstantTable();
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #out = new Writer(4096);
  /**
   * Frames taken out of #out ahead of it, in order: large calls go in an entry of their own
   * (with the frames before them in another), so that a call that timed out or was aborted
   * before it was written is dropped, and its bytes freed, instead of being sent.
   */
  #queue: { bytes: Uint8Array; id?: number; tail?: Uint8Array }[] = [];
  /**
   * Calls with an AbortSignal whose frames wait, unwritten, among others: in #out (chunk
   * null) or in a chunk of #queue. Each carries a deadline (CALL_BY) at `at`: an abort sets it
   * in the past, and the control process then drops the call instead of running it.
   */
  #unsent = new Map<number, { chunk: Uint8Array | null; at: number }>();
  #flushScheduled = false;
  #writing = false;
  #procs = new Map<string, ProcState>();
  #dataLeft = 0;
  #dataState: ProcState | null = null;
  #dataStdout = true;
  #finished = new Set<string>();
  /** The keys of the processes made by fork, clone or spawn and not yet retired: a pipeline
   * none of these knows names no process of this driver. */
  #born = new Set<string>();
  /** fork, clone and spawn calls given up (timeout, abort) once sent: their late reply still
   * names a process this driver made. */
  #lateBirths = new Map<number, Pipeline>();
  /** The state of each Process's and Task's own pipeline array (see [PIN]). */
  #pinned = new WeakMap<Pipeline, ProcState>();
  #closed: string | null = null;
  /** Nothing more will come from the root: every process's output and events have ended. */
  #drained = false;
  #stopping?: Promise<void>;
  #readDone: Promise<void>;
  #refWanted = true;
  #reffed = true;
  #busy = 0;
  #hello: Resolvers<void> = withResolvers();
  /** The greeting came, or the start failed: #hello is settled. */
  #helloSettled = false;
  #rootPid = 0;
  #root?: Task;
  #wordSize: 4 | 8 = 8;

  #maxBuffered: number;
  /** The root's command line (prefix and executable, NUL-separated): see knownBuild. */
  #command: string;

  private constructor(proc: HelperProcess, maxBuffered: number, command: string) {
    super();
    this.#proc = proc;
    this.#maxBuffered = maxBuffered;
    this.#command = command;
    this.#readDone = this.#readLoop();
  }

  /**
   * Starts a driver: execs the root control process (never a fork of this
   * runtime), optionally behind a command prefix, and waits for its greeting.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * const drv = await Alcove.start();
   * console.log(await drv.getpid([]));
   * await drv.stop();
   * ```
   */
  static async start(options: StartOptions = {}): Promise<Alcove> {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new TypeError("Alcove.start: options must be an object");
    }
    for (const key of Object.keys(options)) {
      if (!START_OPTIONS.includes(key)) {
        throw new TypeError(`Alcove.start: options.${key}: unknown option`);
      }
    }
    options = { ...options };
    const maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    if (typeof maxBuffered !== "number" || !Number.isSafeInteger(maxBuffered) || maxBuffered < 0) {
      throw new RangeError("Alcove.start: maxBuffered must be a non-negative integer of bytes");
    }
    const startTimeout = options.startTimeout ?? 10000;
    if (
      typeof startTimeout !== "number" || !(startTimeout >= 0) || !Number.isFinite(startTimeout)
    ) {
      throw new RangeError(
        "Alcove.start: startTimeout must be a non-negative number of milliseconds",
      );
    }
    const prefix = options.exec ?? [];
    if (!Array.isArray(prefix) || prefix.some((a) => typeof a !== "string" || a.includes("\0"))) {
      throw new TypeError("Alcove.start: exec must be an array of strings without NUL bytes");
    }
    // The native pair: libalcove.so may start the executable beside it (see HelperOptions).
    let helper = options.helper;
    let library: { path: string; abi: number } | undefined;
    if (helper === undefined) {
      const native = findNative();
      helper = native.helper;
      library = { path: native.library, abi: ABI };
    }
    // Behind a prefix other users may connect to the socket: their connections are refused
    // by their credentials (see strangerCheck).
    let refuseStrangers: ((path: string, root: number) => number) | undefined;
    if (prefix.length > 0 && !pipesForced(runtime)) {
      try {
        refuseStrangers = strangerCheck();
      } catch (e) {
        throw new Error(
          `Alcove.start: cannot check who connects to the control process: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    const argv = [...prefix, helper];
    const command = argv.join("\0");
    let proc: HelperProcess;
    try {
      proc = await spawnHelper(argv, startTimeout, {
        inheritStdio: options.inheritStdio === true,
        refuseStrangers,
        library,
        constants: knownBuild(command),
      });
    } catch (e) {
      forgetNative();
      throw nativeFileError("Alcove.start", helper, e) ?? new Error(
        `Alcove.start: cannot run ${JSON.stringify(argv.join(" "))}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const drv = new Alcove(proc, options.maxBuffered ?? DEFAULT_MAX_BUFFERED, command);
    const timeout = elapsed(startTimeout);
    const failed = Symbol("failed");
    const outcome = await Promise.race([
      drv.#hello.promise,
      timeout.promise.then(() => "timeout" as const),
      proc.exited.then(() => failed),
    ]);
    timeout.cancel();
    if (outcome !== undefined) {
      proc.kill("SIGKILL");
      await drv.stop();
      const why = outcome === "timeout"
        ? `it did not start within ${startTimeout} ms`
        : `it ${howEnded(await proc.exited)} before greeting`;
      throw new Error(`Alcove.start: the root control process failed: ${why}`);
    }
    return drv;
  }

  /** The pid of the root control process.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * console.log(drv.pid);
   * ```
   */
  get pid(): number {
    return this.#rootPid;
  }

  /** Bytes of a pointer and of a `long` in the control processes (4 or 8), as the root
   * reported when it started: the layout of the structs their calls take, which may differ
   * from this process's (a 32-bit control process under a 64-bit runtime). Pass it as the
   * `align` of `padding` and `alignCstruct`, and to `sockFprog`.
   *
   * @example
   * ```ts
   * import { Alcove, padding, u16 } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * console.log(padding(u16(1).length, drv.wordSize).length); // 6 where pointers have 8 bytes
   * ```
   */
  get wordSize(): 4 | 8 {
    return this.#wordSize;
  }

  /** The constant tables of the root control process.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * console.log(drv.constants.lookup("clone", "CLONE_NEWPID"));
   * ```
   */
  get constants(): ConstantTable {
    return this.#table;
  }

  /** True once the driver is stopped or its root control process ended.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * const drv = await Alcove.start();
   * await drv.stop();
   * console.log(drv.closed); // true
   * ```
   */
  get closed(): boolean {
    return this.#closed !== null;
  }

  /** The root control process as a Task: every call as a method without the pipeline.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * console.log(await drv.root.getpid() === drv.pid); // true
   * ```
   */
  get root(): Task {
    this.#root ??= new Task(this, []);
    return this.#root;
  }

  /**
   * Starts a program in one request: the root control process forks, sets up the sandbox
   * the options describe in the child (namespaces, id maps, host name, mounts on a new root,
   * rlimits, cwd, ids, capabilities, no_new_privs, Landlock, seccomp last), and execs it.
   * Resolves once it runs; a failed step rejects with a SetupError naming the step and path,
   * and leaves no process. Invalid options are a TypeError or RangeError naming the field,
   * thrown before anything is sent.
   *
   * @param argv The program and its arguments (argv[0] is searched in PATH).
   * @param options The sandbox, limits and stdio (see SpawnOptions).
   * @returns The running process.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using p = await drv.spawn(["sh", "-c", "echo $((6 * 7))"], {
   *   env: { PATH: "/usr/bin:/bin" },
   *   rlimits: { NOFILE: 64 },
   *   timeout: 2000,
   * });
   * const { status, stdout } = await p.output();
   * console.log(status.success, new TextDecoder().decode(stdout)); // true "42\n"
   * ```
   */
  spawn(argv: readonly string[], options: SpawnOptions = {}): Promise<Process> {
    return spawnProcess(this, [], argv, options);
  }

  /**
   * Runs one program and collects its output: starts a driver, spawns, reads everything,
   * stops. For a one-off; keep a driver for many.
   *
   * @param argv The program and its arguments.
   * @param options The sandbox (see SpawnOptions), the driver's start options, and `input`:
   *   bytes or text written to the program's stdin while its output is read, after which
   *   stdin is closed (without it, stdin is closed at once). A program that exits without
   *   reading all of it is not an error.
   * @returns Its status, stdout and stderr.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * const { status, stdout } = await Alcove.run(["tr", "a-z", "A-Z"], { input: "hi\n" });
   * console.log(status.code, new TextDecoder().decode(stdout)); // 0 "HI\n"
   * ```
   */
  static async run(
    argv: readonly string[],
    options: SpawnOptions & { start?: StartOptions; input?: string | Uint8Array } = {},
  ): Promise<ProcessOutput> {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new TypeError("Alcove.run: options must be an object");
    }
    const { start, input, ...spawnOptions } = options;
    let data: Uint8Array | undefined;
    if (input !== undefined) {
      const stdin = spawnOptions.stdin ?? "pipe";
      if (stdin !== "pipe") {
        throw new TypeError(`Alcove.run: input needs stdin "pipe", got ${JSON.stringify(stdin)}`);
      }
      if (typeof input === "string") data = new TextEncoder().encode(input);
      else if (input instanceof Uint8Array) data = input;
      else throw new TypeError("Alcove.run: input must be a string or a Uint8Array");
    }
    const drv = await Alcove.start(start);
    try {
      const p = await drv.spawn(argv, spawnOptions);
      if (data === undefined) return await p.output();
      // Written while the output is read, so that neither side waits on a full pipe.
      const writer = p.stdin.getWriter();
      const writing = (async () => {
        try {
          await writer.write(data);
          await writer.close();
        } catch {
          // The program ended, or closed its stdin, before it had read everything.
        }
      })();
      const [out] = await Promise.all([p.output(), writing]);
      return out;
    } finally {
      await drv.stop();
    }
  }

  /** Ties `pipeline` (a handle's own array) to the process `from` names now: the handle's
   * reads, writes and calls reach that process, or fail once it has gone, even after a new
   * process has its pid (which plain pipelines then name). */
  [PIN](pipeline: Pipeline, from: Pipeline = pipeline): void {
    if (!this.#pinned.has(pipeline)) this.#pinned.set(pipeline, this.#state(from));
  }

  /** Whether the process a handle's pipeline was tied to has ended: nothing sent to its pid
   * reaches it any more (a new process may have that pid, and plain pipelines name it). */
  [GONE](pipeline: Pipeline): boolean {
    return this.#pinned.get(pipeline)?.ended === true;
  }

  /** Drops the stdin a process has not read yet and closes it at once, ahead of the writes
   * waiting on it, which fail (for Processes: an aborted stdin stream). */
  [DISCARD_STDIN](pipeline: Pipeline): Promise<void> {
    if (this.#state(pipeline).ended || this.#closed) return Promise.resolve();
    return this.#sendFrame(DOWN.EOF, EOF_DEF, pipeline, null, undefined, EOF_DISCARD)
      .then(() => {}, () => {}); // an ended process has no stdin left to close
  }

  /** Drops a process's stdout or stderr: what is buffered and what still comes, and its
   * parent's end of the pipe, so that the program's next write fails (for Processes). */
  [CLOSE_OUTPUT](pipeline: Pipeline, which: "stdout" | "stderr"): Promise<void> {
    const st = this.#state(pipeline);
    const bit = which === "stdout" ? 1 : 2;
    if ((st.dropped & bit) !== 0 || st.ended || this.#closed) return Promise.resolve();
    st.dropped |= bit;
    const queue = which === "stdout" ? st.stdout : st.stderr;
    this.#buffer(st, bit - 1, -queue.reduce((n, chunk) => n + chunk.length, 0));
    queue.length = 0;
    this.#wake(st);
    return this.#sendFrame(
      DOWN.CLOSE_OUTPUT,
      CLOSE_OUTPUT_DEF,
      pipeline,
      null,
      undefined,
      bit,
    ).then(() => {}, () => {}); // a process that has ended has no pipe left to close
  }

  /** Why the driver closed, null while it is open (for Processes). */
  get [CLOSED_WHY](): string | null {
    return this.#closed;
  }

  /** Runs a call from its definition (for Tasks and Processes). */
  [RUN_CALL](
    def: CallDef,
    pipeline: Pipeline,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown> {
    return this.call(def, pipeline, args, options);
  }

  /** Sends a spawn request to the control process at `pipeline`. */
  async [SPAWN_AT](
    pipeline: Pipeline,
    argv: readonly string[],
    options: SpawnOptions,
  ): Promise<{ pid: number; request: SpawnRequest }> {
    checkPipeline("spawn", pipeline);
    if (compilesSeccomp(options)) await loadSeccompCompiler();
    const request = encodeSpawnRequest(argv, options, this.#table);
    if (request.signal?.aborted) {
      throw new AbortedError("spawn", pipeline, request.signal.reason);
    }
    const pid = await this.call(CALLS.spawn, pipeline, [request.bytes]) as number;
    return { pid, request };
  }

  /** Runs a call (the generated methods use it). */
  protected call(
    def: CallDef,
    pipeline: Pipeline,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown> {
    const w = this.#out;
    const start = w.len;
    let id: number;
    let deadline: number | undefined;
    try {
      checkPipeline(def.name, pipeline);
      checkOptions(def.name, options);
      if (this.#closed) {
        throw new DriverClosedError(def.name, pipeline, this.#closed, { made: false });
      }
      if (this[GONE](pipeline)) throw this.#goneError(def.name, pipeline);
      if (options?.signal?.aborted) {
        throw new AbortedError(def.name, pipeline, options.signal.reason);
      }
      id = this.#allocId();
      const abortable = options?.signal !== undefined;
      let at = -1;
      if (options?.timeout === undefined && !abortable) w.begin(DOWN.CALL, def.id, id, pipeline);
      else {
        // The deadline travels with the call: if it is still waiting in a queue by then (a
        // stopped process), it is dropped there instead of running after this gave up. An
        // abort before the frame is written moves it to the past (#unsent).
        w.begin(DOWN.CALL_BY, def.id, id, pipeline);
        w.ensure(8);
        // Whole milliseconds, and no further than an int64 of them holds exactly.
        if (options?.timeout !== undefined) {
          deadline = Math.min(Math.ceil(Date.now() + options.timeout), Number.MAX_SAFE_INTEGER);
        }
        at = w.len;
        w.view.setBigInt64(w.len, BigInt(deadline ?? Number.MAX_SAFE_INTEGER), true);
        w.len += 8;
      }
      encodeArgs(w, this.#table, def, args);
      if (w.len - start > MAX_REQUEST) {
        throw new RangeError(
          `${def.name}: request of ${w.len - start} bytes exceeds the ${MAX_REQUEST} byte limit`,
        );
      }
      w.end(start);
      if (w.len - start > LARGE_FRAME) this.#setAside(start, id);
      else if (abortable) this.#unsent.set(id, { chunk: null, at });
    } catch (e) {
      w.len = start;
      return Promise.reject(e);
    }
    return this.#await(id, def, pipeline, options, args, deadline);
  }

  /**
   * Takes the frame that begins at `start` (the last one written) out of #out into an entry
   * of its own in #queue, after one holding the frames before it; `tail` is sent right after
   * it, from where it lies.
   */
  #setAside(start: number, id: number, tail?: Uint8Array): void {
    const w = this.#out;
    const frame = w.buf.slice(start, w.len);
    w.len = start;
    if (start > 0) {
      const bytes = w.take();
      for (const u of this.#unsent.values()) u.chunk ??= bytes;
      this.#queue.push({ bytes });
    }
    this.#queue.push({ bytes: frame, id, tail });
  }

  /** The frames of `bytes` (taken from #out when `fromOut`) are being written: too late to
   * change. */
  #sending(bytes: Uint8Array, fromOut: boolean): void {
    for (const [id, u] of this.#unsent) {
      if (u.chunk === bytes || (fromOut && u.chunk === null)) this.#unsent.delete(id);
    }
  }

  /** An aborted call not yet written: its deadline goes to the past, so it is not run. */
  #unsend(id: number): void {
    const u = this.#unsent.get(id);
    if (u === undefined) return;
    this.#unsent.delete(id);
    const buf = u.chunk ?? this.#out.buf;
    new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setBigInt64(u.at, 0n, true);
  }

  #allocId(): number {
    let id = this.#nextId;
    while (this.#pending.has(id)) id = id >= 0xffffffff ? 1 : id + 1;
    this.#nextId = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }

  #await(
    id: number,
    def: CallDef,
    pipeline: Pipeline,
    options?: CallOptions,
    args?: readonly unknown[],
    deadline?: number,
  ): Promise<unknown> {
    const { promise, resolve, reject } = withResolvers<unknown>();
    const p: Pending = { def, pipeline: [...pipeline], resolve, reject, args, deadline };
    if (options?.timeout !== undefined) {
      const ms = options.timeout;
      p.timeout = ms;
      // A timer counts a monotonic clock and may fire a fraction of a millisecond before
      // the wall clock reads the deadline the call carries: until it does, the target may
      // still run the call, so the timeout waits for it.
      const expire = () => {
        const left = deadline === undefined ? 0 : deadline - Date.now();
        if (left > 0) p.timer = setTimeout(expire, Math.min(left, MAX_TIMER_MS));
        else if (this.#settle(id)) {
          this.#givenUp(id, def, pipeline);
          reject(new TimeoutError(def.name, pipeline, ms));
        }
      };
      p.timer = setTimeout(expire, Math.min(ms, MAX_TIMER_MS));
    }
    if (options?.signal) {
      const signal = options.signal;
      p.signal = signal;
      p.onAbort = () => {
        if (this.#unsent.size > 0) this.#unsend(id);
        if (this.#settle(id)) {
          this.#givenUp(id, def, pipeline);
          reject(new AbortedError(def.name, pipeline, signal.reason));
        }
      };
      signal.addEventListener("abort", p.onAbort, { once: true });
    }
    this.#pending.set(id, p);
    this.#busyAdd(1);
    this.#schedule();
    return promise;
  }

  /** A call given up on before its reply: a fork, clone or spawn may still make a process. */
  #givenUp(id: number, def: CallDef, pipeline: Pipeline): void {
    if (MAKES_PROCESS.has(def.alcove)) this.#lateBirths.set(id, [...pipeline]);
  }

  /** Forgets a pending call; false when it was already settled. */
  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.onAbort) {
      p.signal?.removeEventListener("abort", p.onAbort);
      this.#unsent.delete(id);
    }
    this.#busyAdd(-1);
    return p;
  }

  #busyAdd(n: number): void {
    this.#busy += n;
    this.#updateRef();
  }

  #updateRef(): void {
    const want = this.#refWanted || this.#busy > 0;
    if (want === this.#reffed || this.#closed) return;
    this.#reffed = want;
    if (want) this.#proc.ref();
    else this.#proc.unref();
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    if (this.#writing) return;
    this.#writing = true;
    try {
      for (;;) {
        if (this.#closed !== null) {
          // Stopped or lost: what waits was rejected, and the root's input is (being) closed.
          // A write now would fail, and take the output still to come for a lost root.
          this.#queue.length = 0;
          this.#out.len = 0;
          this.#unsent.clear();
          break;
        }
        let next = this.#queue.shift();
        let fromOut = false;
        if (next === undefined && this.#out.len > 0) {
          next = { bytes: this.#out.take() };
          fromOut = true;
        }
        if (next === undefined) break;
        if (this.#unsent.size > 0) this.#sending(next.bytes, fromOut);
        if (next.id !== undefined && !this.#pending.has(next.id)) continue; // settled unsent
        await this.#proc.write(next.bytes);
        if (next.tail) await this.#proc.write(next.tail);
      }
    } catch (e) {
      // A stop that came while this wrote closed the input: that is no loss of the root. A
      // root that ended makes a write fail (EPIPE) before its end is read: how it ended is
      // the cause to give (the read loop gives it), unless it lives on a second later.
      if (this.#closed === null) {
        let cancel = () => {};
        await Promise.race([
          this.#readDone,
          new Promise<void>((resolve) => cancel = after(1000, resolve)),
        ]);
        cancel();
        if (this.#closed === null) {
          this.#fail(`cannot write to the root control process: ${(e as Error).message}`);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  async #readLoop(): Promise<void> {
    let parts: Uint8Array[] = [];
    let have = 0;
    try {
      for (;;) {
        let chunk = await this.#proc.read();
        if (chunk === null) break;
        if (this.#dataLeft > 0) {
          // The rest of a data frame: output is a byte stream, so hand it over as
          // it comes instead of joining it to the frame's first part.
          const n = Math.min(this.#dataLeft, chunk.length);
          this.#dataLeft -= n;
          this.#pushData(chunk.subarray(0, n));
          if (n === chunk.length) continue;
          chunk = chunk.subarray(n);
        }
        parts.push(chunk);
        have += chunk.length;
        if (have < 6) continue;
        let head = parts[0];
        if (head.length < 6) {
          head = concat(parts, have);
          parts = [head];
        }
        // A data frame is worth parsing once its header is here; anything else
        // once it is whole, so a large reply is joined once.
        const type = head[4];
        // The frame's length, little-endian, read without a DataView made per read.
        const need = type === UP.STDOUT || type === UP.STDERR
          ? HEADER + 4 * head[5]
          : 4 + ((head[0] | head[1] << 8 | head[2] << 16 | head[3] << 24) >>> 0);
        if (have < need) continue;
        const buf = parts.length === 1 ? parts[0] : concat(parts, have);
        const pos = this.#frames(buf);
        parts = pos < buf.length ? [buf.subarray(pos)] : [];
        have = buf.length - pos;
      }
    } catch (e) {
      this.#fail(`lost the root control process: ${(e as Error).message}`);
      return;
    }
    const status = await this.#proc.exited;
    this.#fail(
      this.#closed ??
        `the root control process exited (${
          status.signal ? `signal ${status.signal}` : `status ${status.code}`
        })`,
    );
  }

  #pushData(data: Uint8Array): void {
    if (this.#dataState) this.#deliver(this.#dataState, this.#dataStdout, data);
  }

  /** Queues output for a process: every stdout and stderr byte comes in here. */
  #deliver(st: ProcState, stdout: boolean, data: Uint8Array): void {
    if (data.length === 0 || (st.dropped & (stdout ? 1 : 2)) !== 0) return;
    // Keep a view of a large piece; copy a small one so it does not pin the chunk.
    (stdout ? st.stdout : st.stderr).push(data.length > 16384 ? data : data.slice());
    this.#buffer(st, stdout ? 0 : 1, data.length);
    this.#wake(st);
  }

  #frames(buf: Uint8Array): number {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    while (buf.length - pos >= 6) {
      const end = pos + 4 + view.getUint32(pos, true);
      if (end <= buf.length) {
        this.#frame(buf, view, pos, end);
        pos = end;
        continue;
      }
      const type = buf[pos + 4];
      const depth = buf[pos + 5];
      const hdr = HEADER + 4 * depth;
      if ((type !== UP.STDOUT && type !== UP.STDERR) || buf.length - pos < hdr) break;
      // A data frame cut off by the end of this read: deliver what is here now.
      const pids: number[] = [];
      for (let i = 0; i < depth; i++) pids.push(view.getUint32(pos + HEADER + 4 * i, true));
      this.#dataState = this.#state(pids);
      this.#dataStdout = type === UP.STDOUT;
      this.#dataLeft = end - buf.length;
      this.#pushData(buf.subarray(pos + hdr));
      return buf.length;
    }
    return pos;
  }

  #frame(buf: Uint8Array, view: DataView, off: number, end: number): void {
    const type = buf[off + 4];
    const depth = buf[off + 5];
    const code = view.getUint16(off + 6, true);
    const id = view.getUint32(off + 8, true);
    const pids: number[] = [];
    for (let i = 0; i < depth; i++) pids.push(view.getUint32(off + HEADER + 4 * i, true));
    const payload = off + HEADER + 4 * depth;
    switch (type) {
      case UP.REPLY:
        return this.#reply(id, code, pids, new Reader(buf, view, payload, end));
      case UP.STDOUT:
      case UP.STDERR:
        return this.#deliver(this.#state(pids), type === UP.STDOUT, buf.subarray(payload, end));
      case UP.EVENT:
        return this.#event(code, pids, new Reader(buf, view, payload, end));
      case UP.HELLO: {
        const r = new Reader(buf, view, payload, end);
        const abi = r.value();
        // The rest of a greeting of another ABI may be laid out differently: read no further.
        const version = abi === ABI ? new TextDecoder().decode(r.value() as Uint8Array) : "";
        if (abi !== ABI || version !== VERSION) {
          this.#helloFailed(
            new Error(
              `Alcove.start: the control process is ABI ${abi}${
                version ? ` version ${version}` : ""
              }, this module needs ABI ${ABI} version ${VERSION}; rebuild it with "${
                buildCommand("build/")
              }"`,
            ),
          );
          return;
        }
        this.#rootPid = r.value() as number;
        const build = hexOf(r.value() as Uint8Array);
        const domains = greetingDomains(r);
        const table = domains.size > 0
          ? ConstantTable.fromDomains(domains)
          : tablesByBuild.get(build);
        if (table === undefined) {
          this.#helloFailed(
            new Error(
              `Alcove.start: the control process sent no constants, and none of its build (${
                build || "without a build ID"
              }) are known here`,
            ),
          );
          return;
        }
        const token = new TextDecoder().decode(r.value() as Uint8Array);
        this.#wordSize = r.value() === 4 ? 4 : 8;
        if (token !== this.#proc.token) {
          this.#helloFailed(new Error("Alcove.start: the control process sent the wrong token"));
          return;
        }
        this.#table = table;
        learnBuild(this.#command, build, table);
        this.#helloSettled = true;
        this.#hello.resolve();
        return;
      }
    }
  }

  #reply(id: number, status: number, pids: number[], r: Reader): void {
    const waiting = this.#pending.get(id);
    if (!waiting) {
      // Timed out or aborted: the late reply is dropped, but a process it made is known.
      const at = this.#lateBirths.get(id);
      if (at === undefined) return;
      this.#lateBirths.delete(id);
      const whole = pids.length === at.length && pids.every((pid, i) => pid === at[i]);
      if (status === STATUS.OK && whole && r.pos < r.end) {
        const key = keyOf([...at, r.value() as number]);
        if (!this.#finished.has(key)) this.#born.add(key);
      }
      return;
    }
    // Matched by id and pipeline: the answer comes from the target or a process on the way
    // to it (which says why it could not pass the call on), never from another process.
    if (
      pids.length > waiting.pipeline.length || pids.some((pid, i) => pid !== waiting.pipeline[i])
    ) {
      return;
    }
    const p = this.#settle(id)!;
    const { def, pipeline } = p;
    try {
      switch (status) {
        case STATUS.OK: {
          const result = decodeResult(this.#table, def.result, r.done ? undefined : r.value());
          if (MAKES_PROCESS.has(def.alcove)) {
            // A new process: forget whatever an earlier one with the same pid left.
            const key = keyOf([...pipeline, result as number]);
            const old = this.#procs.get(key);
            if (old) {
              // Its handles keep what is left of it (its exit came before this reply).
              old.replaced = true;
              this.#end(old);
              this.#forget(key, old);
            }
            this.#finished.delete(key);
            this.#born.add(key);
          }
          return p.resolve(result);
        }
        case STATUS.ERRNO: {
          const errno = r.value() as number;
          const code = this.#table.name("errno", errno) ?? `E${errno}`;
          // The target's answer to a call whose deadline had passed before it could run
          // (the reply may come before this side's timer has fired): the timeout.
          if (code === "ETIMEDOUT" && p.deadline !== undefined && Date.now() >= p.deadline) {
            return p.reject(new TimeoutError(def.name, pipeline, p.timeout ?? 0));
          }
          // Then the C library's text, then the option whose limit it was, if any.
          const text = r.pos < r.end
            ? new TextDecoder().decode(r.value() as Uint8Array)
            : undefined;
          const limit = r.pos < r.end
            ? new TextDecoder().decode(r.value() as Uint8Array)
            : undefined;
          return p.reject(
            new SystemCallError(def.name, pipeline, code, errno, {
              argument: argumentOf(def, p.args),
              text,
              limit,
            }),
          );
        }
        case STATUS.BADARG:
          return p.reject(
            new RangeError(new TextDecoder().decode(r.value() as Uint8Array)),
          );
        case STATUS.UNSUPPORTED:
          return p.reject(
            new UnsupportedError(
              def.name,
              pipeline,
              new TextDecoder().decode(r.value() as Uint8Array),
            ),
          );
        case STATUS.NOTCHILD: {
          // No longer a child: one whose end was seen here has exited.
          const gone = keyOf(pipeline.slice(0, pids.length + 1));
          const exited = this.#finished.has(gone) || this.#procs.get(gone)?.ended === true;
          return p.reject(
            new PipelineError(def.name, pipeline, pipeline[pids.length] ?? 0, "not_child", {
              exited,
            }),
          );
        }
        case STATUS.NOTCONTROL:
          return p.reject(new PipelineError(def.name, pipeline, pids.at(-1) ?? 0, "not_control"));
        case STATUS.DIED: {
          const kind = r.value() as number;
          const value = r.value() as number;
          const ev: AlcoveEvent = kind === EVENT.EXIT
            ? { type: "exit", status: value }
            : { type: "termsig", signal: this.#signalName(value) };
          if (def.name === "exit" && pids.length === pipeline.length) return p.resolve(undefined);
          return p.reject(new ProcessExitedError(def.name, pipeline, pids.at(-1) ?? 0, ev));
        }
        case STATUS.FILTERED:
          return p.reject(new FilteredError(def.name, pipeline));
        case STATUS.SETUP:
          return p.reject(this.#setupError(def.name, pipeline, r.value() as Uint8Array));
        default:
          return p.reject(new AlcoveError(def.name, pipeline, `Unknown reply status ${status}`));
      }
    } catch (e) {
      p.reject(new AlcoveError(def.name, pipeline, `Malformed reply: ${(e as Error).message}`));
    }
  }

  /** The record a spawned child reports for a failed step (csrc/sandbox_child.c). */
  #setupError(call: string, pipeline: Pipeline, rec: Uint8Array): SetupError {
    const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    const errno = view.getInt32(0, true);
    const parts: string[] = [];
    let off = 4;
    for (let i = 0; i < 4; i++) {
      const n = view.getUint32(off, true);
      parts.push(new TextDecoder().decode(rec.subarray(off + 4, off + 4 + n)));
      off += 4 + n;
    }
    const [step, what, path, text] = parts;
    const code = this.#table.name("errno", errno) ?? `E${errno}`;
    return new SetupError(call, pipeline, step, path, what, code, errno, text);
  }

  #signalName(n: number): string {
    return this.#table.name("signal", n) ?? `SIG${n}`;
  }

  #event(kind: number, pids: number[], r: Reader): void {
    let ev: AlcoveEvent;
    switch (kind) {
      case EVENT.EXIT:
        ev = { type: "exit", status: r.value() as number };
        break;
      case EVENT.TERMSIG:
        ev = { type: "termsig", signal: this.#signalName(r.value() as number) };
        break;
      case EVENT.SIGNAL: {
        const sig = r.value() as number;
        ev = { type: "signal", signal: this.#signalName(sig), info: r.value() as Uint8Array };
        break;
      }
      case EVENT.STDIN_CLOSED:
        ev = { type: "stdin_closed" };
        break;
      case EVENT.STDOUT_CLOSED:
        ev = { type: "stdout_closed" };
        break;
      case EVENT.STDERR_CLOSED:
        ev = { type: "stderr_closed" };
        break;
      case EVENT.USAGE: {
        const reason = r.value() as number;
        const user = r.value() as number;
        const system = r.value() as number;
        const maxRssKb = r.value() as number;
        const wall = r.value() as number;
        const usage: ResourceUsage = {
          wallMs: wall / 1000,
          userMs: user / 1000,
          systemMs: system / 1000,
          maxRssKb,
        };
        if (r.value() === 1) {
          const known = (n: number, scale = 1) => (n < 0 ? undefined : n / scale);
          usage.cgroup = {
            memoryPeak: known(r.value() as number),
            cpuMs: known(r.value() as number, 1000),
            pidsPeak: known(r.value() as number),
            oomKills: known(r.value() as number),
          };
        }
        ev = {
          type: "usage",
          limit: USAGE_LIMIT[reason] ?? null,
          usage,
        };
        break;
      }
      default:
        return;
    }
    const st = this.#state(pids);
    if (!st.abandoned) st.events.push(ev);
    if (ev.type === "stdout_closed") st.closed[0] = true;
    if (ev.type === "stderr_closed") st.closed[1] = true;
    // Its descendants went with it: nothing more will come from them.
    if (ev.type === "exit" || ev.type === "termsig") this.#end(st);
    if (st.abandoned && st.ended) this.#retire(st);
    this.#wake(st);
  }

  /** Marks a process and everything below it as ended, waking their readers. */
  #end(st: ProcState): void {
    detach(st);
    const stack = [st];
    for (let s = stack.pop(); s !== undefined; s = stack.pop()) {
      s.ended = true;
      for (const child of s.children) {
        child.parent = null;
        stack.push(child);
      }
      s.children.clear();
      if (s !== st) this.#wake(s);
    }
  }

  /** What a call, a write or an EOF to a handle's process gets once it has ended: what the
   * control process answers for a process that has exited (its pid may be another's now). */
  #goneError(call: string, pipeline: Pipeline): PipelineError {
    return new PipelineError(call, pipeline, pipeline[pipeline.length - 1], "not_child", {
      exited: true,
    });
  }

  /** Drops what the host holds for a process. */
  #forget(key: string, st: ProcState): void {
    detach(st);
    this.#procs.delete(key);
  }

  /** The PipelineError for a pipeline that names neither the root nor a process this driver
   * made (alive or ended), nor lies below an ended one (whose reads return null at once);
   * undefined for every other. */
  #unknown(call: string, pipeline: Pipeline): PipelineError | undefined {
    if (pipeline.length === 0 || this.#pinned.has(pipeline) || this.#drained) return undefined;
    const key = keyOf(pipeline);
    if (this.#born.has(key) || this.#procs.has(key) || this.#finished.has(key)) return undefined;
    for (let n = pipeline.length - 1; n > 0; n--) {
      const above = keyOf(pipeline.slice(0, n));
      if (this.#finished.has(above) || this.#procs.get(above)?.ended) return undefined;
    }
    return new PipelineError(call, pipeline, pipeline.at(-1)!, "not_child");
  }

  #state(pipeline: readonly number[]): ProcState {
    const pinned = this.#pinned.get(pipeline);
    if (pinned) return pinned;
    const key = keyOf(pipeline);
    let st = this.#procs.get(key);
    if (!st) {
      // Below an ended process (or once drained, see #shift) nothing more can come.
      const parent = pipeline.length > 0 ? this.#state(pipeline.slice(0, -1)) : null;
      const ended = this.#finished.has(key) || parent?.ended === true;
      st = {
        pipeline: [...pipeline],
        buffered: [0, 0],
        paused: [false, false],
        stdout: [],
        stderr: [],
        dropped: 0,
        events: [],
        ended,
        closed: [false, false],
        waiters: new Set(),
        stdinChain: Promise.resolve(),
        parent: ended ? null : parent,
        children: new Set(),
        abandoned: false,
        replaced: false,
      };
      // An ended one is not kept: nothing will arrive for it.
      if (ended) return st;
      parent?.children.add(st);
      this.#procs.set(key, st);
    }
    return st;
  }

  #wake(st: ProcState): void {
    for (const w of st.waiters) w();
  }

  /**
   * Closes the driver: calls waiting reject. With `drained` (the default), nothing more can
   * come from the root, and the readers of output and events are woken at their end; a stop
   * leaves them to take what the root still sends as it ends its processes (their exits).
   */
  #fail(why: string, drained = true): void {
    if (this.#closed === null) this.#closed = why;
    for (const [id, p] of [...this.#pending]) {
      this.#settle(id);
      p.reject(new DriverClosedError(p.def.name, p.pipeline, why));
    }
    if (drained && !this.#drained) {
      this.#drained = true;
      for (const st of this.#procs.values()) {
        st.ended = true;
        this.#wake(st);
      }
    }
    // Once started, every stop comes here: no error (and its stack) is made for nobody.
    if (!this.#helloSettled) this.#helloFailed(new Error(why));
  }

  #helloFailed(e: Error): void {
    this.#helloSettled = true;
    this.#hello.reject(e);
    this.#hello.promise.catch(() => {});
  }

  /**
   * Writes to the stdin of the pipeline's last process. Resolves once every byte
   * is in its pipe: a full pipe makes this wait (backpressure), nothing is dropped.
   * Rejects with a SystemCallError EPIPE when the process closed its stdin. A large
   * Uint8Array is sent from where it lies, without a copy: leave it unchanged until the
   * promise settles.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const pid = await drv.fork([]);
   * await drv.execvp([pid], "cat", ["cat"]);
   * await drv.stdin([pid], "hello\n");
   * ```
   */
  stdin(pipeline: Pipeline, data: string | Uint8Array, options?: CallOptions): Promise<void> {
    try {
      checkPipeline("stdin", pipeline);
      checkOptions("stdin", options);
      if (pipeline.length === 0) {
        throw new TypeError("stdin: the root control process has no stdin to write to");
      }
      if (typeof data !== "string" && !(data instanceof Uint8Array)) {
        throw new TypeError("stdin: data must be a string or a Uint8Array");
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const unknown = this.#unknown("stdin", pipeline);
    if (unknown) return Promise.reject(unknown);
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const st = this.#state(pipeline);
    // One writer at a time per process, so concurrent writes do not interleave.
    const run = st.stdinChain.then(() => this.#writeStdin(pipeline, bytes, options));
    st.stdinChain = run.catch(() => {});
    return run;
  }

  async #writeStdin(pipeline: Pipeline, bytes: Uint8Array, options?: CallOptions): Promise<void> {
    const inflight = new Set<Promise<unknown>>();
    for (let off = 0; off < bytes.length || off === 0; off += STDIN_CHUNK) {
      const chunk = bytes.subarray(off, off + STDIN_CHUNK);
      const p = this.#sendFrame(DOWN.STDIN, STDIN_DEF, pipeline, chunk, options);
      inflight.add(p);
      p.then(() => inflight.delete(p), () => inflight.delete(p));
      if (inflight.size >= STDIN_WINDOW) await Promise.race(inflight);
      if (bytes.length === 0) break;
    }
    await Promise.all(inflight);
  }

  #sendFrame(
    type: number,
    def: CallDef,
    pipeline: Pipeline,
    payload: Uint8Array | null,
    options?: CallOptions,
    code = 0,
  ): Promise<unknown> {
    if (this.#closed) {
      return Promise.reject(
        new DriverClosedError(def.name, pipeline, this.#closed, { made: false }),
      );
    }
    if (options?.signal?.aborted) {
      return Promise.reject(new AbortedError(def.name, pipeline, options.signal.reason));
    }
    if (this[GONE](pipeline)) return Promise.reject(this.#goneError(def.name, pipeline));
    const w = this.#out;
    const id = this.#allocId();
    const start = w.begin(type, code, id, pipeline);
    if (payload && payload.length > LARGE_FRAME) {
      // Sent from where it lies, after its header: the caller holds it until the reply,
      // so a large write is neither copied into the buffer nor out of it again.
      w.view.setUint32(start, w.len - start - 4 + payload.length, true);
      this.#setAside(start, id, payload);
    } else {
      if (payload) {
        w.ensure(payload.length);
        w.buf.set(payload, w.len);
        w.len += payload.length;
      }
      w.end(start);
    }
    return this.#await(id, def, pipeline, options);
  }

  /**
   * Closes the stdin of the pipeline's last process, after what was written.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const pid = await drv.fork([]);
   * await drv.execvp([pid], "cat", ["cat"]);
   * await drv.eof([pid]);
   * console.log(await drv.event([pid])); // { type: "exit", status: 0 }
   * ```
   */
  eof(pipeline: Pipeline, options?: CallOptions): Promise<void> {
    try {
      checkPipeline("eof", pipeline);
      checkOptions("eof", options);
      if (pipeline.length === 0) throw new TypeError("eof: the root control process has no stdin");
    } catch (e) {
      return Promise.reject(e);
    }
    const unknown = this.#unknown("eof", pipeline);
    if (unknown) return Promise.reject(unknown);
    const st = this.#state(pipeline);
    const run = st.stdinChain.then(() =>
      this.#sendFrame(DOWN.EOF, EOF_DEF, pipeline, null, options) as Promise<void>
    );
    st.stdinChain = run.catch(() => {});
    return run;
  }

  /**
   * The next chunk of the process's stdout: waits until there is one, or until
   * the timeout (then null). Returns null at once when the process has ended and
   * everything it wrote was read, or its stdout came to its end (a `stdout_closed` event:
   * always for a spawned program, for others with the `stdout_closed` option).
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const pid = await drv.fork([]);
   * await drv.execvp([pid], "echo", ["echo", "hi"]);
   * console.log(await drv.stdout([pid], { timeout: 1000 }));
   * ```
   */
  stdout(pipeline: Pipeline, options?: CallOptions): Promise<Uint8Array | null> {
    return this.#take("stdout", pipeline, options, (st) => st.stdout, 0);
  }

  /**
   * The next chunk of the process's stderr, like {@linkcode Alcove.stdout}.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const pid = await drv.fork([]);
   * await drv.execvp([pid], "sh", ["sh", "-c", "echo oops >&2"]);
   * console.log(await drv.stderr([pid], { timeout: 1000 }));
   * ```
   */
  stderr(pipeline: Pipeline, options?: CallOptions): Promise<Uint8Array | null> {
    return this.#take("stderr", pipeline, options, (st) => st.stderr, 1);
  }

  /**
   * The next event of the process (exit, termsig, signal, closed pipes), after
   * all its earlier output; null on timeout, or at once when it has ended and
   * every event was read.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const pid = await drv.fork([]);
   * await drv.kill([], pid, "SIGKILL");
   * console.log(await drv.event([pid])); // { type: "termsig", signal: "SIGKILL" }
   * ```
   */
  event(pipeline: Pipeline, options?: CallOptions): Promise<AlcoveEvent | null> {
    return this.#take("event", pipeline, options, (st) => st.events);
  }

  #take<T>(
    call: string,
    pipeline: Pipeline,
    options: CallOptions | undefined,
    queue: (st: ProcState) => T[],
    stream?: 0 | 1,
  ): Promise<T | null> {
    try {
      checkPipeline(call, pipeline);
      checkOptions(call, options);
    } catch (e) {
      return Promise.reject(e);
    }
    // Nothing would ever come, and the state made for it would be kept.
    const unknown = this.#unknown(call, pipeline);
    if (unknown) return Promise.reject(unknown);
    const st = this.#state(pipeline);
    const q = queue(st);
    if (q.length > 0) return Promise.resolve(this.#shift(st, q));
    const over = () => st.ended || this.#drained || (stream !== undefined && st.closed[stream]);
    if (over()) return Promise.resolve(null);
    if (options?.timeout === 0) return Promise.resolve(null);
    return new Promise<T | null>((resolve, reject) => {
      let cancelTimer: (() => void) | undefined;
      const done = (v: T | null, err?: Error) => {
        st.waiters.delete(check);
        cancelTimer?.();
        options?.signal?.removeEventListener("abort", onAbort);
        this.#busyAdd(-1);
        if (err) reject(err);
        else resolve(v);
      };
      const check = () => {
        if (q.length > 0) done(this.#shift(st, q));
        else if (over()) done(null);
      };
      const onAbort = () => done(null, new AbortedError(call, pipeline, options?.signal?.reason));
      if (options?.signal?.aborted) return onAbort();
      options?.signal?.addEventListener("abort", onAbort, { once: true });
      if (options?.timeout !== undefined) cancelTimer = after(options.timeout, () => done(null));
      st.waiters.add(check);
      this.#busyAdd(1);
    });
  }

  /** Counts output waiting in the host, by stream (0 stdout, 1 stderr); past maxBuffered
   * its parent stops reading that stream, and that stream alone: a reader of the other one
   * still gets what the program writes there. */
  #buffer(st: ProcState, stream: number, n: number): void {
    const buffered = st.buffered[stream] += n;
    const paused = st.paused[stream];
    if (n > 0 && !paused && this.#maxBuffered > 0 && buffered > this.#maxBuffered) {
      this.#flow(st, stream, true);
    } else if (n < 0 && paused && buffered <= this.#maxBuffered / 2) {
      this.#flow(st, stream, false);
    }
  }

  #flow(st: ProcState, stream: number, pause: boolean): void {
    st.paused[stream] = pause;
    const pid = st.pipeline.at(-1);
    if (pid === undefined || st.ended || this.#closed) return;
    const option = stream === 0 ? "stdout_flowcontrol" : "stderr_flowcontrol";
    // The process may be gone by now: nothing to pause or resume then.
    this.setcpid(st.pipeline.slice(0, -1), pid, option, pause ? 0 : -1).catch(() => {});
  }

  #shift<T>(st: ProcState, q: T[]): T {
    const v = q.shift() as T;
    if (v instanceof Uint8Array) this.#buffer(st, q === st.stdout ? 0 : 1, -v.length);
    if (st.ended && st.stdout.length === 0 && st.stderr.length === 0 && st.events.length === 0) {
      this.#retire(st);
    }
    return v;
  }

  /**
   * Forgets an ended, drained process: keeps only its key, so that later reads return null
   * at once, and only the newest FINISHED_KEEP keys, so that a long-lived driver does not
   * grow. Readers still waiting hold the state itself, which has ended.
   */
  #retire(st: ProcState): void {
    if (st.replaced) return; // its key is the new process's
    const key = keyOf(st.pipeline);
    const current = this.#procs.get(key);
    if (current !== undefined && current !== st) return; // another process has its key now
    if (current === st) this.#forget(key, st);
    this.#born.delete(key);
    this.#finished.delete(key);
    this.#finished.add(key);
    if (this.#finished.size > FINISHED_KEEP) {
      this.#finished.delete(this.#finished.values().next().value as string);
    }
  }

  /** Drops what the host holds for a process whose Process handle was collected: nobody
   * can write to it or read its output or its status any more (it reads EOF; a write gets
   * EPIPE, as when a stream is cancelled), and it is forgotten once it ends. */
  [ABANDON](pipeline: Pipeline, piped: readonly ("stdin" | "stdout" | "stderr")[]): void {
    if (this.#closed) return;
    // Made here when nothing came of it yet; an ended one that was retired is not kept.
    const st = this.#state(pipeline);
    st.abandoned = true;
    st.events.length = 0;
    if (!st.ended) {
      // Nobody can write to it any more either: it reads EOF, as when a writer goes away.
      for (const which of piped) {
        if (which === "stdin") void this[DISCARD_STDIN](pipeline);
        else void this[CLOSE_OUTPUT](pipeline, which);
      }
      return;
    }
    this.#buffer(st, 0, -st.buffered[0]);
    this.#buffer(st, 1, -st.buffered[1]);
    st.stdout.length = 0;
    st.stderr.length = 0;
    this.#retire(st);
  }

  /**
   * Lets the program exit while the driver is idle (no call or read waiting).
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * const drv = await Alcove.start();
   * drv.unref(); // the script may now end without stop()
   * ```
   */
  unref(): void {
    this.#refWanted = false;
    this.#updateRef();
  }

  /**
   * Undoes {@linkcode Alcove.unref}: the driver keeps the program alive again.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * drv.unref();
   * drv.ref();
   * ```
   */
  ref(): void {
    this.#refWanted = true;
    this.#updateRef();
  }

  /**
   * Ends the driver: closes the root's input, which ends every descendant
   * (signaloneof to exec'd programs, then SIGKILL after a short grace period),
   * and waits for the root to exit. Calls still waiting reject with
   * DriverClosedError, and those the root had not run yet are dropped (over a socket, the
   * default channel; over pipes it runs them first); output and events still on their way
   * are delivered, so a Process's
   * status says how the stop ended it. Safe to call more than once.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * const drv = await Alcove.start();
   * await drv.stop();
   * await drv.stop(); // no-op
   * ```
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    this.#fail("the driver was stopped", false);
    this.#proc.ref();
    await this.#proc.closeInput();
    const wait = elapsed(STOP_WAIT_MS);
    const exited = await Promise.race([
      this.#proc.exited.then(() => true),
      wait.promise.then(() => false),
    ]);
    wait.cancel();
    if (!exited) this.#proc.kill("SIGKILL");
    await this.#proc.exited;
    await this.#readDone;
  }

  /** Same as {@linkcode Alcove.stop}, for `await using`.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * {
   *   await using drv = await Alcove.start();
   *   await drv.getpid([]);
   * } // stopped here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The constant tables of each control process build seen (by build ID; one build's are
 * always the same), a few at most, and the build each command line started last. */
const tablesByBuild = new Map<string, ConstantTable>();
const buildByCommand = new Map<string, string>();
const BUILDS_KEPT = 4;

/** The build whose tables a root started by `command` may leave out of its greeting: the
 * one it was last time, when its tables are still here. */
function knownBuild(command: string): string | undefined {
  const build = buildByCommand.get(command);
  return build !== undefined && tablesByBuild.has(build) ? build : undefined;
}

function learnBuild(command: string, build: string, table: ConstantTable): void {
  if (build === "") return;
  keepLatest(buildByCommand, command, build, 4 * BUILDS_KEPT);
  if (tablesByBuild.get(build) !== table) keepLatest(tablesByBuild, build, table, BUILDS_KEPT);
}

/** Sets a key as the newest, and forgets the oldest past `most`. */
function keepLatest<V>(map: Map<string, V>, key: string, value: V, most: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > most) map.delete(map.keys().next().value!);
}

/** The constant domains of a greeting: each a list of its name, its names and its values.
 * They are kept in one copy of their part of the frame (one allocation, not one per
 * domain), which does not hold on to the rest of what was read with it. */
function greetingDomains(r: Reader): Map<string, ConstantDomainBytes> {
  const count = r.listLength();
  const start = r.pos;
  const views: Uint8Array[][] = [];
  for (let i = 0; i < count; i++) {
    if (r.listLength() !== 3) throw new Error("A constant domain is not three values");
    views.push([r.bytesView(), r.bytesView(), r.bytesView()]);
  }
  const copy = r.buf.slice(start, r.pos);
  const base = r.buf.byteOffset + start;
  const rebased = (v: Uint8Array) =>
    copy.subarray(v.byteOffset - base, v.byteOffset - base + v.length);
  const domains = new Map<string, ConstantDomainBytes>();
  for (const [name, names, values] of views) {
    domains.set(String.fromCharCode(...name), { names: rebased(names), values: rebased(values) });
  }
  return domains;
}
