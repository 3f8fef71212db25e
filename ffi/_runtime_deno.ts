/**
 * The Deno backend of the runtime seam (see `_runtime.ts`): Deno.Command, Unix
 * sockets from Deno.listen, and Deno.dlopen. Internal.
 *
 * @module
 */
import type { Backend, HelperOptions, HelperProcess, NativeLibrary } from "./_runtime_types.ts";
import {
  CHANNEL_VARIABLE,
  cString,
  elapsed,
  type ExecLibc,
  execWithRequestThrough,
  lineInEnvironment,
  notConnected,
  pipesForced,
  pipesLine,
  randomHex,
  socketLine,
  socketMode,
  socketPathIn,
  SYMBOLS,
} from "./_runtime_shared.ts";
import { holding } from "./_c_strings.ts";
import { openLibc } from "./_runtime_exec.ts";

/** The read buffer's size at most, and at first: it grows while reads fill it (bulk
 * output), and a driver that only makes calls never zeroes the largest. */
const READ_SIZE = 256 * 1024;
const FIRST_READ_SIZE = 64 * 1024;

/** The root control process, started by Deno.Command or by libalcove.so. */
interface Child {
  readonly pid: number;
  /** Resolves once it has exited, with how. */
  readonly status: Promise<{ code: number; signal: string | null }>;
  /** Sends a signal, unless it has exited. */
  kill(signal: "SIGKILL" | "SIGTERM"): void;
  ref(): void;
  unref(): void;
  /** Its end of the channel closed: it is exiting. */
  closed(): void;
}

function commandChild(child: Deno.ChildProcess): Child {
  return {
    pid: child.pid,
    status: child.status.then((s) => ({ code: s.code, signal: s.signal })),
    kill(signal) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
    ref: () => child.ref(),
    unref: () => child.unref(),
    closed() {},
  };
}

/**
 * Starts the root with Deno.Command (without libalcove.so): its first line goes in the
 * environment when `first` is that line as a string, else on its stdin (behind a prefix).
 */
function commandRoot(argv: readonly string[], inherit: boolean, first: string | Uint8Array): Child {
  const inEnv = typeof first === "string";
  const command = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: inherit ? "inherit" : inEnv ? "null" : "piped",
    stdout: "inherit", // where programs spawned with stdio "inherit" write
    stderr: "inherit",
    env: inEnv ? { [CHANNEL_VARIABLE]: first } : undefined,
  }).spawn();
  if (!inEnv) {
    const writer = command.stdin.getWriter();
    writer.write(first).catch(() => {});
    writer.close().catch(() => {});
  }
  return commandChild(command);
}

/** libalcove.so's start of the root (csrc/lib.c). Every symbol is nonblocking: Deno defines
 * one of those in a fraction of the time a synchronous one takes on its first use. */
const SPAWN_SYMBOLS = {
  // int alcove_abi(void);
  alcove_abi: { parameters: [], result: "i32", nonblocking: true },
  // int alcove_spawn_root(char *path, char *channel);
  alcove_spawn_root: { parameters: ["buffer", "buffer"], result: "i32", nonblocking: true },
  // int alcove_reap(int pid, int wait);
  alcove_reap: { parameters: ["i32", "i32"], result: "i32", nonblocking: true },
  // int alcove_kill(int pid, int sig);
  alcove_kill: { parameters: ["i32", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

type Spawner = Deno.DynamicLibrary<typeof SPAWN_SYMBOLS>["symbols"];

/** The loaded spawners by library path; undefined where one cannot be used. */
const spawners = new Map<string, Promise<Spawner | undefined>>();

/**
 * libalcove.so's spawner, when this process may use it for `helper`: with --allow-ffi and
 * leave to run the helper (a missing --allow-run must still fail with Deno's own error,
 * from Deno.Command), from a library of the expected ABI. Loaded once per path.
 */
function spawnerFor(
  library: { path: string; abi: number },
  helper: string,
): Promise<Spawner | undefined> {
  const granted = (d: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(d).state === "granted";
  if (!granted({ name: "ffi" }) || !granted({ name: "run", command: helper })) {
    return Promise.resolve(undefined);
  }
  let got = spawners.get(library.path);
  if (got === undefined) {
    got = (async () => {
      try {
        const lib = Deno.dlopen(library.path, SPAWN_SYMBOLS);
        if (await lib.symbols.alcove_abi() === library.abi) return lib.symbols;
        lib.close();
      } catch {
        // a library without these symbols: the runtime's own spawn serves
      }
      return undefined;
    })();
    spawners.set(library.path, got);
  }
  return got;
}

const EAGAIN = 11;

/** Linux's signal names by number (the same on every architecture alcove runs on). */
const SIGNAL_NAMES = (
  "0 HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP " +
  "TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS"
).split(" ").map((name) => `SIG${name}`);

/** A wait status as Deno.Command reports it: a death by signal is code 128 + the signal. */
function decodeStatus(status: number): { code: number; signal: string | null } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: 128 + sig, signal: SIGNAL_NAMES[sig] ?? `SIG${sig}` };
}

/** The checks to run on SIGCHLD, by pid: one per root started by a spawner, until reaped. */
const reapers = new Map<number, () => void>();

function onChild(): void {
  for (const check of reapers.values()) check();
}

/** Roots being spawned: with `reapers`, whether SIGCHLD is listened to. */
let spawning = 0;

/** Listens to SIGCHLD while a root is being spawned or not yet reaped. */
function listenForExits(change: () => void): void {
  const before = spawning + reapers.size;
  change();
  const after = spawning + reapers.size;
  if (before === 0 && after > 0) Deno.addSignalListener("SIGCHLD", onChild);
  if (before > 0 && after === 0) Deno.removeSignalListener("SIGCHLD", onChild);
}

/**
 * Starts the root through libalcove.so. Its exit is learnt on SIGCHLD (a signal listener
 * does not keep the program alive, where a waiting call would), then reaped, so that nothing
 * holds the program while the root runs, as an unref'd Deno.Command child would not; once its
 * end of the channel has closed, a wait for its exit holds the program until it is reaped.
 * Undefined when the spawn failed: the runtime's own spawn then tries, and its error says why.
 */
async function spawnerChild(
  spawner: Spawner,
  path: string,
  channel: string,
): Promise<Child | undefined> {
  const { promise, resolve } = Promise.withResolvers<{ code: number; signal: string | null }>();
  let pid = 0;
  let exited = false;
  let checking = false;
  let again = false;
  let wait = 0;
  // One wait at a time: two would race for the status.
  const check = async () => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    do {
      again = false;
      const got = await spawner.alcove_reap(pid, wait);
      if (got !== -EAGAIN) {
        exited = true;
        listenForExits(() => reapers.delete(pid));
        // A status that cannot be read (someone else reaped it) reads as a failure.
        return resolve(got >= 0 ? decodeStatus(got) : { code: 1, signal: null });
      }
    } while (again);
    checking = false;
  };
  // Listening before the spawn: a root that exits at once is not missed.
  listenForExits(() => spawning++);
  // The strings stay reachable until the call on the pool's thread has returned.
  const strings = [cString(path), cString(channel)];
  pid = await holding(strings, spawner.alcove_spawn_root(strings[0], strings[1]));
  listenForExits(() => {
    spawning--;
    if (pid > 0) reapers.set(pid, check);
  });
  if (pid <= 0) return undefined;
  check();
  return {
    pid,
    status: promise,
    kill(signal) {
      // Not once reaped: the pid may be another process's by then.
      if (!exited) spawner.alcove_kill(pid, signal === "SIGKILL" ? 9 : 15);
    },
    ref() {},
    unref() {},
    closed() {
      if (wait === 1) return;
      wait = 1;
      check();
    },
  };
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
  let listener: Deno.UnixListener | undefined;
  const inherit = options.inheritStdio === true;
  if (pipesForced(backend) && !inherit) return spawnWithPipes(argv, options.constants);
  const path = socketPathIn(temporaryFolder(), inherit);
  if (path === undefined) return spawnWithPipes(argv, options.constants);
  const token = randomHex(16);
  const line = socketLine(path, token, {
    inheritStdio: inherit,
    constants: options.constants,
  });
  const inEnv = lineInEnvironment(argv, inherit);
  const channel = new TextDecoder().decode(line).trimEnd();
  const spawner = options.library && inEnv && !inherit
    ? await spawnerFor(options.library, argv[0])
    : undefined;
  // Through libalcove.so the root is started first, on a thread of the pool, and the socket
  // is made while it starts: it tries its connect again until the socket is there (about
  // 0.1 ms less per start than one after the other).
  const early = spawner && spawnerChild(spawner, argv[0], `${CHANNEL_VARIABLE}=${channel}`);
  // Synchronous file system calls: each is a system call or two, where an asynchronous
  // one would wait for a thread of the runtime's pool.
  try {
    listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, socketMode(argv.length > 1));
  } catch (e) {
    listener?.close();
    if (listener) removeQuietly(path);
    const started = await early;
    if (started) {
      started.kill("SIGKILL");
      started.closed();
      await started.status;
    }
    if (isPermissionError(e) || inherit) throw e;
    return spawnWithPipes(argv, options.constants);
  }
  const strangers = new Set<Deno.UnixConn>();
  let wait: ReturnType<typeof elapsed> | undefined;
  try {
    // Inside the try: a spawn refused (no --allow-run, no such file) closes the socket too,
    // which would otherwise stay in the temporary folder while the program runs.
    const child = (await early) ?? commandRoot(argv, inherit, inEnv ? channel : line);
    wait = elapsed(timeout);
    const check = options.refuseStrangers;
    const conn = await Promise.race([
      acceptRoot(listener, token, strangers, check && (() => check(path, child.pid))),
      child.status.then(() => "exited" as const),
      wait.promise.then(() => "timeout" as const),
    ]);
    if (typeof conn === "string") {
      child.kill("SIGKILL");
      throw new Error(notConnected(timeout, await child.status, conn === "timeout"));
    }
    return socketHelper(child, conn, token);
  } finally {
    wait?.cancel();
    // Removed before the close, which removes it too (at once, or once an accept still
    // pending has ended: not after an exit), and would make this removal fail, at the cost
    // of an error.
    removeQuietly(path);
    listener.close();
    for (const conn of strangers) closeQuietly(conn);
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // already gone
  }
}

/** The runtime's temporary folder: TMPDIR when this program may read it, else /tmp. */
function temporaryFolder(): string {
  const tmpdir = { name: "env", variable: "TMPDIR" } as const;
  return (Deno.permissions.querySync(tmpdir).state === "granted" && Deno.env.get("TMPDIR")) ||
    "/tmp";
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
 * connection is read concurrently (one that sends nothing holds up no other for more than
 * PROOF_WAIT_MS) for the token's length only; the others are closed. Those still unproven
 * stay in `strangers` for the caller to close. `refuse`, when given, runs after each accept
 * and before the read: a connection it shut down reads as EOF.
 */
function acceptRoot(
  listener: Deno.UnixListener,
  token: string,
  strangers: Set<Deno.UnixConn>,
  refuse?: () => void,
): Promise<Deno.UnixConn> {
  const want = new TextEncoder().encode(token);
  const { promise, resolve } = Promise.withResolvers<Deno.UnixConn>();
  const prove = async (conn: Deno.UnixConn): Promise<boolean> => {
    const got = new Uint8Array(want.length);
    for (let off = 0; off < got.length;) {
      const n = await conn.read(got.subarray(off)).catch(() => null);
      if (n === null) break;
      off += n;
      if (off === got.length && got.every((b, i) => b === want[i])) {
        strangers.delete(conn);
        resolve(conn);
        return true;
      }
    }
    strangers.delete(conn);
    closeQuietly(conn);
    return false;
  };
  (async () => {
    // The root sends its token as it connects: a connection gets a moment to prove itself
    // before the next accept, so that none is left pending once the root is found (closing
    // the listener would cancel it with an error, and its stack, at every start). One that
    // sends nothing still holds up no other for longer than that moment.
    for (let found = false; !found;) {
      const conn = await listener.accept();
      strangers.add(conn);
      refuse?.();
      const moment = elapsed(PROOF_WAIT_MS);
      found = await Promise.race([prove(conn), moment.promise.then(() => false)]);
      moment.cancel();
    }
  })().catch(() => {}); // ends when the caller closes the listener
  return promise;
}

/** How long a connection has to send the token before the next is accepted too (ms). */
const PROOF_WAIT_MS = 5;

function socketHelper(child: Child, conn: Deno.UnixConn, token: string): HelperProcess {
  let buf = new Uint8Array(FIRST_READ_SIZE);
  let inputClosed = false;
  let reffed = true;
  return {
    pid: child.pid,
    token,
    async write(data) {
      // Not past closeInput (stop()): what is left is for calls that already failed, and the
      // write side closes only once this write is done.
      let off = 0;
      while (off < data.length && !inputClosed) off += await conn.write(data.subarray(off));
    },
    async read() {
      // A failed read ends the channel as EOF does. (try/catch, not .catch(): one promise
      // less on every read, about 1 µs of a 27 µs round trip.)
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) {
        // Closed at its end, once everything the root sent has been read (its exit may be
        // learnt first): the root's end is held by no other process.
        closeQuietly(conn);
        child.closed();
        return null;
      }
      // Hand over a small read as a copy and keep the buffer; a large one as is.
      if (n < 16384) return buf.slice(0, n);
      const chunk = buf.subarray(0, n);
      buf = new Uint8Array(n === buf.length ? Math.min(buf.length * 2, READ_SIZE) : buf.length);
      return chunk;
    },
    async closeInput() {
      if (inputClosed) return;
      inputClosed = true;
      await conn.closeWrite().catch(() => {});
    },
    kill: (signal) => child.kill(signal),
    exited: child.status.then((s) => ({ code: s.code, signal: s.signal })),
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

function spawnWithPipes(argv: readonly string[], constants?: string): HelperProcess {
  const command = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const child = commandChild(command);
  const writer = command.stdin.getWriter();
  const reader = command.stdout.getReader();
  writer.write(pipesLine(constants)).catch(() => {});
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
    kill: (signal) => child.kill(signal),
    exited: child.status,
    unref: () => child.unref(),
    ref: () => child.ref(),
  };
}

const DENO_SYMBOLS = SYMBOLS satisfies Deno.ForeignLibraryInterface;

/** The C library's functions the command line needs to become its supervisor
 * (ffi/_runtime_exec.ts's, nonblocking: the memory they read is held until they return).
 * Deno leaves the descriptors it inherited as they were: no fcntl. */
function openExecLibc(): ExecLibc {
  const libc = openLibc();
  if (libc === undefined) throw new Error("Cannot open the C library as libc.so.6");
  const s = libc.symbols;
  const bytes = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;
  return {
    memfdCreate: (name) => holding(name, s.memfd_create(bytes(name), 0)),
    write: async (fd, b) => Number(await holding(b, s.write(fd, bytes(b), BigInt(b.length)))),
    rewind: async (fd) => Number(await s.lseek(fd, 0n, 0)),
    close: (fd) => s.close(fd),
    // Held by the caller until it returns.
    execv: (file, argv) => s.execv(bytes(file), bytes(argv)),
    address: (b) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes(b)))),
    unload: () => libc.close(),
  };
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
  setEnv: (name, value) => value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value),
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
    gid: () => Deno.gid() ?? -1,
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    readFile: (path) => Deno.readFileSync(path),
    readLink(path) {
      try {
        return Deno.readLinkSync(path);
      } catch {
        return undefined;
      }
    },
    openFds: () => Array.from(Deno.readDirSync("/proc/self/fd"), (e) => Number(e.name)),
    output: (which) => (which === "stdout" ? Deno.stdout : Deno.stderr).writable,
    onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
    exit: (code) => Deno.exit(code),
    execWithRequest: execWithRequestThrough(openExecLibc),
  },
};
