/**
 * A Task is a handle on one control process (prx's task): every alcove call as a method
 * without the pipeline, `fork`/`clone` that return Tasks, and `spawn` from that process (so
 * inside the namespaces it was cloned into).
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const box = await drv.root.clone(["CLONE_NEWUTS"]);
 * await box.sethostname("box");
 * const p = await box.spawn(["hostname"]);
 * console.log(new TextDecoder().decode((await p.output()).stdout)); // "box\n"
 * ```
 * @module
 */
import { type CallDef, CALLS, TaskCalls } from "../_calls.ts";
import type { CallOptions, Flags, Pipeline } from "../types.ts";
import { type Host, PIN, RUN_CALL } from "./_host.ts";
import type { SpawnOptions, SpawnRequest } from "./options.ts";
import { Process } from "./process.ts";
import { spawnProcess } from "./_spawn.ts";

/**
 * A control process: `drv.root` is the root, `fork()` and `clone()` make children.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const t = await drv.root.fork();
 * await t.setrlimit("RLIMIT_NOFILE", { cur: 64, max: 64 });
 * console.log(await t.getrlimit("RLIMIT_NOFILE")); // { cur: 64, max: 64 }
 * ```
 */
export class Task extends TaskCalls {
  /** Its pipeline: the pids from the root down ([] for the root). */
  readonly pipeline: Pipeline;
  #host: Host;
  #process: Process | undefined;
  #usageAsked = false;

  /** Made by the driver (`drv.root`) and by `fork`/`clone`.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * console.log(drv.root.pipeline); // []
   * ```
   */
  constructor(host: Host, pipeline: Pipeline) {
    super();
    this.#host = host;
    this.pipeline = [...pipeline];
    host[PIN](this.pipeline);
  }

  /** Its pid as its parent sees it (0 for the root: ask `getpid()`).
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const t = await drv.root.fork();
   * console.log(t.pid === t.pipeline[0]); // true
   * ```
   */
  get pid(): number {
    return this.pipeline[this.pipeline.length - 1] ?? 0;
  }

  /** Runs a call in this process. Before an exec, its parent is asked for the program's
   * usage at its exit (the two are written together: the parent takes the first before it
   * passes the exec down). */
  protected call(def: CallDef, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const opts: unknown = options;
    if (
      opts !== undefined && (typeof opts !== "object" || opts === null || Array.isArray(opts)) &&
      (Array.isArray(args[0]) || (args.length === 0 && Array.isArray(opts)))
    ) {
      // The driver's form, a pipeline first: every argument slid one place on.
      const form = [...def.args.map((a) => a.name), "options?"].join(", ");
      return Promise.reject(
        new TypeError(
          `${def.name}: a Task's calls take no pipeline (the Task is the process): ${def.name}(${form})`,
        ),
      );
    }
    if (def.exec) this.#askUsage();
    return this.#host[RUN_CALL](def, this.pipeline, args, options);
  }

  /** Has its parent send this process's usage before its exit (setcpid's "usage"), for its
   * Process view's status. Once; a process already gone has none to send. */
  #askUsage(): void {
    if (this.#usageAsked || this.pipeline.length === 0) return;
    this.#usageAsked = true;
    this.#host[RUN_CALL](CALLS.setcpid, this.pipeline.slice(0, -1), [this.pid, "usage", 1])
      .catch(() => {});
  }

  /** Creates a child control process. Wraps fork(2).
   *
   * @param options Timeout and abort signal for this call.
   * @returns The child.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const child = await drv.root.fork();
   * console.log((await child.getpid()) === child.pid); // true
   * ```
   */
  async fork(options?: CallOptions): Promise<Task> {
    const pid = await this.call(CALLS.fork, [], options) as number;
    return new Task(this.#host, [...this.pipeline, pid]);
  }

  /** Creates a child control process in new namespaces. Wraps clone(2).
   *
   * @param flags CLONE_NEW* flags: names, a list, or a number.
   * @param options Timeout and abort signal for this call.
   * @returns The child.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const child = await drv.root.clone(["CLONE_NEWPID"]);
   * console.log(await child.getpid()); // 1
   * ```
   */
  async clone(flags: Flags, options?: CallOptions): Promise<Task> {
    const pid = await this.call(CALLS.clone, [flags], options) as number;
    return new Task(this.#host, [...this.pipeline, pid]);
  }

  /** Spawns a program from this process: see `Alcove.spawn`.
   *
   * @param argv The program and its arguments (argv[0] is searched in PATH).
   * @param options The sandbox.
   * @returns The process, once it has exec'd.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const t = await drv.root.fork();
   * const { status } = await (await t.spawn(["true"])).output();
   * console.log(status.success); // true
   * ```
   */
  spawn(argv: readonly string[], options?: SpawnOptions): Promise<Process> {
    return spawnProcess(this.#host, this.pipeline, argv, options);
  }

  /**
   * The Process view of this task once it has run `execve`/`execvp`: its streams and status
   * (stdio is piped, as for every forked process). One view per task: asked again, it is the
   * same Process (a second view would wait for an exit and output the first one took). Its
   * status's `usage` has wait4's figures and the wall time from the exec when the program
   * ran `execve`/`execvp`/`fexecve` as this Task's method, or was still alive when this view
   * was first asked for; else (it exec'd through the driver's methods and ended first)
   * zeros.
   *
   * @returns The process.
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const t = await drv.root.fork();
   * await t.execvp("echo", ["echo", "hi"]);
   * const { stdout } = await t.process().output();
   * console.log(new TextDecoder().decode(stdout)); // "hi\n"
   * ```
   */
  process(): Process {
    if (this.pipeline.length === 0) {
      throw new TypeError("process: the root control process is not a program");
    }
    this.#askUsage(); // exec'd with the driver's own methods
    return this.#view();
  }

  /** The Process view (stdio piped, as for every forked process), made once, without asking
   * for usage. */
  #view(): Process {
    const request: SpawnRequest = {
      bytes: new Uint8Array(0),
      stdio: ["pipe", "pipe", "pipe"],
      pidNamespace: false,
    };
    this.#process ??= new Process(this.#host, this.pipeline, request);
    return this.#process;
  }

  /**
   * Ends this control process and every process below it (SIGKILL, through its parent's
   * walk of the tree: setcpid's kill_tree) and waits until its parent has reaped it:
   * `await using t = await drv.root.fork()`. A program it exec'd ends the same way. The root
   * is the driver's: for it, nothing happens here (`drv.stop()` ends it).
   *
   * @example
   * ```ts
   * import { Alcove } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * {
   *   await using t = await drv.root.fork();
   *   await t.setrlimit("RLIMIT_NOFILE", { cur: 64, max: 64 });
   * } // ended here
   * console.log(await drv.cpid([])); // []
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.pipeline.length === 0) return;
    await this.#view()[Symbol.asyncDispose]();
  }
}
