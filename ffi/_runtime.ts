/**
 * The runtime seam: starting the root control process and moving bytes to and
 * from it. This is the Deno backend; the npm build swaps in Node's. Internal.
 *
 * The control channel is a Unix socket the host listens on, in a fresh directory
 * with an unguessable name; the root learns the name and a token from the first
 * line of its stdin (which passes through any command prefix, unlike the
 * environment under sudo), connects, and sends the token back in its greeting.
 * A socket round trip costs about half of one through the runtime's pipe
 * streams. Where a socket cannot be made, the root's stdin and stdout serve
 * instead, after a first line that says so.
 *
 * @module
 */

/** A started root control process. */
export interface HelperProcess {
  /** Its pid (of the prefix command, when there is one). */
  readonly pid: number;
  /** The token the root must send in its greeting, or "" when none is expected. */
  readonly token: string;
  /** Writes bytes to it. */
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

const READ_SIZE = 256 * 1024;
const encoder = new TextEncoder();

function kill(child: Deno.ChildProcess, signal: "SIGKILL" | "SIGTERM"): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Spawns `argv`; the control channel is a Unix socket, or its stdin and stdout. */
export async function spawnHelper(
  argv: readonly string[],
  timeout: number,
): Promise<HelperProcess> {
  let dir: string | undefined;
  let listener: Deno.UnixListener | undefined;
  // ALCOVE_TRANSPORT=pipes forces the fallback (to compare, or where sockets are barred).
  if (Deno.env.get("ALCOVE_TRANSPORT") === "pipes") return spawnWithPipes(argv);
  try {
    dir = await Deno.makeTempDir({ prefix: "alcove-" });
    // Others may pass through (a root started as another user must reach the
    // socket) but not list it: the socket's name is the secret.
    await Deno.chmod(dir, 0o711);
    const path = `${dir}/${randomHex(16)}`;
    listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, 0o666);
  } catch {
    listener?.close();
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    return spawnWithPipes(argv);
  }
  const token = randomHex(16);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(`socket ${listener.addr.path} ${token}\n`)).catch(() => {});
    await writer.close().catch(() => {});
    const conn = await Promise.race([
      listener.accept(),
      child.status.then(() => null),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeout))),
    ]);
    if (conn === null) {
      kill(child, "SIGKILL");
      const status = await child.status;
      throw new Error(
        status.success || status.signal === "SIGKILL"
          ? `it did not connect within ${timeout} ms`
          : `it exited with status ${status.code} before connecting`,
      );
    }
    return socketHelper(child, conn, token);
  } finally {
    clearTimeout(timer);
    listener.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function socketHelper(child: Deno.ChildProcess, conn: Deno.UnixConn, token: string): HelperProcess {
  let buf = new Uint8Array(READ_SIZE);
  let inputClosed = false;
  let reffed = true;
  return {
    pid: child.pid,
    token,
    async write(data) {
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
    },
    async read() {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return null;
      // Hand over a small read as a copy and keep the buffer; a large one as is.
      if (n < 16384) return buf.slice(0, n);
      const chunk = buf.subarray(0, n);
      buf = new Uint8Array(READ_SIZE);
      return chunk;
    },
    async closeInput() {
      if (inputClosed) return;
      inputClosed = true;
      await conn.closeWrite().catch(() => {});
    },
    kill: (signal) => kill(child, signal),
    exited: child.status.then((s) => {
      try {
        conn.close();
      } catch {
        // closed by the read loop
      }
      return { code: s.code, signal: s.signal };
    }),
    unref() {
      if (!reffed) return;
      reffed = false;
      child.unref();
      conn.unref();
    },
    ref() {
      if (reffed) return;
      reffed = true;
      child.ref();
      conn.ref();
    },
  };
}

function spawnWithPipes(argv: readonly string[]): HelperProcess {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  writer.write(encoder.encode("pipes\n")).catch(() => {});
  let inputClosed = false;
  return {
    pid: child.pid,
    token: "",
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
    kill: (signal) => kill(child, signal),
    exited: child.status.then((s) => ({ code: s.code, signal: s.signal })),
    unref: () => child.unref(),
    ref: () => child.ref(),
  };
}
