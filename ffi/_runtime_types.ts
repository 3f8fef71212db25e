/**
 * The runtime seam's shapes: what a backend (`_runtime_deno.ts`, `_runtime_node.ts`,
 * `_runtime_bun.ts`) provides, and what it hands back (a started root control process,
 * libalcove.so's calls). Types only: the backends and the modules that use a backend
 * (through `_runtime.ts`, which picks one) both import them from here. Internal.
 *
 * @module
 */

/** A started root control process. */
export interface HelperProcess {
  /** Its pid (of the prefix command, when there is one). */
  readonly pid: number;
  /** The token the root must send in its greeting, or "" when none is expected. */
  readonly token: string;
  /** Writes bytes to it; resolves once they are handed to the kernel. */
  write(data: Uint8Array): Promise<void>;
  /** The next chunk from it, or null at EOF. */
  read(): Promise<Uint8Array | null>;
  /** Ends its input: it ends its subtree and exits. */
  closeInput(): Promise<void>;
  /** Sends a signal. */
  kill(signal: "SIGKILL" | "SIGTERM"): void;
  /** Resolves when it has exited. */
  readonly exited: Promise<{ code: number; signal: string | null }>;
  /** Lets the host exit while this process runs. */
  unref(): void;
  /** Undoes unref. */
  ref(): void;
}

/** libalcove.so, loaded: its exported functions, with buffers in and out. */
export interface NativeLibrary {
  /** `int alcove_abi(void)` */
  abi(): number;
  /** `const char *alcove_version(void)`, decoded. */
  version(): string;
  /** `long long alcove_local_call(unsigned call, const unsigned char *payload, size_t len,
   * unsigned char *out, size_t cap)`: the reply's length, or minus its length when it does
   * not fit in `out`. */
  localCall(call: number, payload: Uint8Array, out: Uint8Array): number;
  /** `long long alcove_local_reply(unsigned char *out, size_t cap)` */
  localReply(out: Uint8Array): number;
  /** `long long alcove_constants_text(char *out, size_t cap)`; null asks for the length. */
  constantsText(out: Uint8Array | null): number;
  /** `int alcove_refuse_strangers(const char *path, int root)`: shuts down the connections
   * this process accepted on the Unix socket at `path` whose peer is neither `root` nor a
   * descendant of it; returns how many, or -errno. */
  refuseStrangers(path: string, root: number): number;
  /** The address of a buffer's first byte (its own ArrayBuffer, which the engine never moves). */
  address(buf: Uint8Array<ArrayBuffer>): bigint;
  /** Releases the handle. */
  close(): void;
}

/** What a runtime backend provides. */
export interface Backend {
  /** The runtime's name, for messages. */
  readonly name: string;
  /** An environment variable, or undefined when unset. A missing permission throws. */
  env(name: string): string | undefined;
  /** Sets an environment variable, or unsets it (undefined), under the runtime's own lock:
   * its other threads read the environment too. A missing permission throws. */
  setEnv(name: string, value: string | undefined): void;
  /** Whether `path` is a regular file; false only when nothing is there. Other
   * failures (a missing permission) throw. */
  isFile(path: string): boolean;
  /** A file's bytes, or null when nothing is there. Other failures throw. */
  readFile(path: string): Uint8Array | null;
  /** Writes an executable file whole: to a fresh name in the folder (made when missing),
   * then renamed over `path`, so no one runs a half-written file. */
  writeExecutable(path: string, data: Uint8Array): void;
  /** The machine architecture, in the kernel's spelling ("x86_64", "aarch64", ...). */
  arch(): string;
  /** Spawns `argv`; the control channel is a Unix socket, or its stdin and stdout. */
  spawnHelper(
    argv: readonly string[],
    timeout: number,
    options?: HelperOptions,
  ): Promise<HelperProcess>;
  /** Loads libalcove.so from `path`. */
  openLibrary(path: string): NativeLibrary;
  /** What a command-line program needs of its process (cli.ts). */
  readonly process: ProcessSeam;
}

/** The running process, as the command line sees it. */
export interface ProcessSeam {
  /** The arguments after the script's name. */
  args(): string[];
  /** The whole environment. */
  environment(): Record<string, string>;
  /** The working directory. */
  cwd(): string;
  /** The effective user id. */
  uid(): number;
  /** The effective group id. */
  gid(): number;
  /** Whether stdin is a terminal. */
  stdinIsTerminal(): boolean;
  /** A whole file. */
  readFile(path: string): Uint8Array;
  /** A symbolic link's target, or undefined when it cannot be read. */
  readLink(path: string): string | undefined;
  /** The descriptors open in this process (/proc/self/fd). */
  openFds(): number[];
  /** stdout or stderr as a stream (for output the command line copies). */
  output(which: "stdout" | "stderr"): WritableStream<Uint8Array>;
  /** Runs `handler` on a signal, instead of its default action. */
  onSignal(signal: "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT", handler: () => void): void;
  /** Ends the process. */
  exit(code: number): never;
  /** Replaces this process (execv) with the executable `path`, its arguments `words` then
   * `--request FD`, FD a memory file holding `request` that it inherits: the command line
   * becoming its supervisor (csrc/cli.h). The descriptors `keep` (stdin, stdout, stderr and
   * those the options name) stay open across the exec, also under a runtime that made the
   * descriptors it inherited close-on-exec. Returns only when that failed (nothing changed
   * then). Absent where the runtime cannot replace its process. */
  execWithRequest?(
    path: string,
    words: readonly string[],
    request: Uint8Array,
    keep: readonly number[],
  ): Promise<void>;
}

/** How the root control process is started. */
export interface HelperOptions {
  /** It gets this process's stdin and stdout; the channel must be a socket. */
  inheritStdio?: boolean;
  /**
   * The check of who connected (see {@linkcode NativeLibrary.refuseStrangers}): called with
   * the socket's path and the spawned process's pid after each connection is accepted and
   * before anything is read from it; a connection it shuts down reads as EOF and is closed
   * as a stranger. Absent: the token alone tells the root's connection apart.
   */
  refuseStrangers?: (path: string, root: number) => number;
  /**
   * libalcove.so, built with the executable, and the ABI it must report: where the runtime
   * may call it (Deno with --allow-ffi), a start without a prefix spawns the root through it
   * (`alcove_spawn_root`), which costs a cold start less than the runtime's own first spawn.
   */
  library?: { path: string; abi: number };
  /** The build ID (hex) of a control process whose constant tables this process holds:
   * a root of that build leaves them out of its greeting (`constants=` on its first line). */
  constants?: string;
}
