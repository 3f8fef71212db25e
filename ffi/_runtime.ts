/**
 * The runtime seam: starting the root control process and moving bytes to and
 * from it. This is the Deno backend; the npm build swaps in Node's. Internal.
 *
 * @module
 */

/** A started root control process. */
export interface HelperProcess {
  /** Its pid (of the prefix command, when there is one). */
  readonly pid: number;
  /** Writes bytes to its stdin. */
  write(data: Uint8Array): Promise<void>;
  /** The next chunk from its stdout, or null at EOF. */
  read(): Promise<Uint8Array | null>;
  /** Closes its stdin: it ends its subtree and exits. */
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

/** Spawns `argv` with piped stdin and stdout; stderr goes to the host's. */
export function spawnHelper(argv: readonly string[]): HelperProcess {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    clearEnv: false,
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  let inputClosed = false;
  return {
    pid: child.pid,
    write: (data) => writer.write(data),
    async read() {
      const r = await reader.read();
      return r.done ? null : r.value;
    },
    async closeInput() {
      if (inputClosed) return;
      inputClosed = true;
      await writer.close().catch(() => {});
    },
    kill(signal) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
    exited: child.status.then((s) => ({ code: s.code, signal: s.signal })),
    unref: () => child.unref(),
    ref: () => child.ref(),
  };
}
