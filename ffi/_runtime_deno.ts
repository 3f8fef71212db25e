/**
 * The Deno backend of the runtime seam (see `_runtime.ts`): Deno.Command, Unix
 * sockets from Deno.listen, and Deno.dlopen. Internal.
 *
 * @module
 */
import type { Backend, HelperOptions, HelperProcess, NativeLibrary } from "./_runtime.ts";
import {
  CHANNEL_VARIABLE,
  cString,
  elapsed,
  lineInEnvironment,
  notConnected,
  PIPES_LINE,
  pipesForced,
  randomHex,
  socketLine,
  socketMode,
  SYMBOLS,
} from "./_runtime_shared.ts";
import { execv, holding, openLibc } from "./_runtime_exec.ts";

const READ_SIZE = 256 * 1024;

function kill(child: Deno.ChildProcess, signal: "SIGKILL" | "SIGTERM"): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/** A missing permission flag: the caller must see Deno's own error. */
function isPermissionError(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable;
}

async function spawnHelper(
  argv: readonly string[],
  timeout: number,
  options: HelperOptions = {},
): Promise<HelperProcess> {
  let dir: string | undefined;
  let listener: Deno.UnixListener | undefined;
  const inherit = options.inheritStdio === true;
  if (pipesForced(backend) && !inherit) return spawnWithPipes(argv);
  // Synchronous file system calls: each is a system call or two, where an asynchronous
  // one would wait for a thread of the runtime's pool.
  try {
    dir = Deno.makeTempDirSync({ prefix: "alcove-" });
    // Others may pass through (a root started as another user must reach the
    // socket) but not list it.
    Deno.chmodSync(dir, 0o711);
    const path = `${dir}/${randomHex(16)}`;
    listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, socketMode(argv.length > 1));
  } catch (e) {
    listener?.close();
    if (dir) removeQuietly(dir);
    if (isPermissionError(e) || inherit) throw e;
    return spawnWithPipes(argv);
  }
  const token = randomHex(16);
  const line = socketLine(listener.addr.path, token, inherit);
  const inEnv = lineInEnvironment(argv, inherit);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: inherit ? "inherit" : inEnv ? "null" : "piped",
    stdout: inherit ? "inherit" : "null",
    stderr: "inherit",
    env: inEnv ? { [CHANNEL_VARIABLE]: new TextDecoder().decode(line).trimEnd() } : undefined,
  }).spawn();
  const strangers = new Set<Deno.UnixConn>();
  const wait = elapsed(timeout);
  try {
    if (!inEnv) {
      const writer = child.stdin.getWriter();
      writer.write(line).catch(() => {});
      writer.close().catch(() => {});
    }
    const check = options.refuseStrangers;
    const path = listener.addr.path;
    const conn = await Promise.race([
      acceptRoot(listener, token, strangers, check && (() => check(path, child.pid))),
      child.status.then(() => null),
      wait.promise.then(() => null),
    ]);
    if (conn === null) {
      kill(child, "SIGKILL");
      throw new Error(notConnected(timeout, await child.status));
    }
    return socketHelper(child, conn, token);
  } finally {
    wait.cancel();
    listener.close();
    for (const conn of strangers) closeQuietly(conn);
    removeQuietly(dir);
  }
}

function removeQuietly(dir: string): void {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // already gone
  }
}

function closeQuietly(conn: Deno.UnixConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/**
 * The connection of the root control process: the first that starts with the token. Every
 * connection is read concurrently (one that sends nothing holds up no other) for the token's
 * length only; the others are closed. Those still unproven stay in `strangers` for the caller
 * to close. `refuse`, when given, runs after each accept and before the read: a connection it
 * shut down reads as EOF.
 */
function acceptRoot(
  listener: Deno.UnixListener,
  token: string,
  strangers: Set<Deno.UnixConn>,
  refuse?: () => void,
): Promise<Deno.UnixConn> {
  const want = new TextEncoder().encode(token);
  const { promise, resolve } = Promise.withResolvers<Deno.UnixConn>();
  const prove = async (conn: Deno.UnixConn) => {
    const got = new Uint8Array(want.length);
    for (let off = 0; off < got.length;) {
      const n = await conn.read(got.subarray(off)).catch(() => null);
      if (n === null) break;
      off += n;
      if (off === got.length && got.every((b, i) => b === want[i])) {
        strangers.delete(conn);
        return resolve(conn);
      }
    }
    strangers.delete(conn);
    closeQuietly(conn);
  };
  (async () => {
    for await (const conn of listener) {
      strangers.add(conn);
      refuse?.();
      prove(conn);
    }
  })().catch(() => {}); // ends when the caller closes the listener
  return promise;
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
  writer.write(PIPES_LINE).catch(() => {});
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

const DENO_SYMBOLS = SYMBOLS satisfies Deno.ForeignLibraryInterface;

async function execWithRequest(
  path: string,
  words: readonly string[],
  request: Uint8Array,
): Promise<void> {
  const libc = openLibc();
  if (libc === undefined) return;
  const s = libc.symbols;
  // Not close-on-exec: the supervisor reads it, then closes it.
  const name = cString("alcove-request");
  const fd = await holding(name, s.memfd_create(name, 0));
  try {
    if (fd < 0) return;
    for (let off = 0; off < request.length;) {
      const rest = request.subarray(off) as Uint8Array<ArrayBuffer>;
      const n = Number(await holding(rest, s.write(fd, rest, BigInt(rest.length))));
      if (n <= 0) return;
      off += n;
    }
    if (await s.lseek(fd, 0n, 0) !== 0n) return;
    await execv(libc, path, [path, ...words, "--request", String(fd)]);
  } finally {
    if (fd >= 0) await s.close(fd);
    libc.close();
  }
}

function openLibrary(path: string): NativeLibrary {
  const lib = Deno.dlopen(path, DENO_SYMBOLS);
  const s = lib.symbols;
  return {
    abi: () => s.alcove_abi(),
    version() {
      const p = s.alcove_version();
      return p === null ? "" : Deno.UnsafePointerView.getCString(p);
    },
    localCall: (call, payload, out) =>
      Number(
        s.alcove_local_call(
          call,
          payload as Uint8Array<ArrayBuffer>,
          BigInt(payload.length),
          out as Uint8Array<ArrayBuffer>,
          BigInt(out.length),
        ),
      ),
    localReply: (out) =>
      Number(s.alcove_local_reply(out as Uint8Array<ArrayBuffer>, BigInt(out.length))),
    constantsText: (out) =>
      Number(
        s.alcove_constants_text(out as Uint8Array<ArrayBuffer> | null, BigInt(out?.length ?? 0)),
      ),
    refuseStrangers: (path, root) => s.alcove_refuse_strangers(cString(path), root),
    address: (buf) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))),
    close: () => lib.close(),
  };
}

/** The Deno backend. */
export const backend: Backend = {
  name: "Deno",
  env: (name) => Deno.env.get(name),
  isFile(path) {
    try {
      return Deno.statSync(path).isFile;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  },
  readFile(path) {
    try {
      return Deno.readFileSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  },
  writeExecutable(path, data) {
    const dir = path.slice(0, path.lastIndexOf("/"));
    Deno.mkdirSync(dir, { recursive: true });
    const temp = `${path}.${randomHex(8)}`;
    Deno.writeFileSync(temp, data, { mode: 0o755 });
    Deno.renameSync(temp, path);
  },
  arch: () => Deno.build.arch,
  spawnHelper,
  openLibrary,
  process: {
    args: () => [...Deno.args],
    environment: () => Deno.env.toObject(),
    cwd: () => Deno.cwd(),
    uid: () => Deno.uid() ?? -1,
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    readFile: (path) => Deno.readFileSync(path),
    readLink(path) {
      try {
        return Deno.readLinkSync(path);
      } catch {
        return undefined;
      }
    },
    output: (which) => (which === "stdout" ? Deno.stdout : Deno.stderr).writable,
    onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
    exit: (code) => Deno.exit(code),
    execWithRequest,
  },
};
