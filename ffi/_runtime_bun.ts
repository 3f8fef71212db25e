/**
 * The Bun backend of the runtime seam (see `_runtime.ts`): Bun.spawn, Unix sockets
 * from Bun.listen, and bun:ffi for libalcove.so; node:fs and node:process as Node.js. Bun has no types here: the little
 * this backend uses of it is declared below. Internal.
 *
 * @module
 */
import { chmodSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import type { Backend, HelperOptions, HelperProcess, NativeLibrary } from "./_runtime_types.ts";
import { nodeLike, temporaryFolder } from "./_runtime_nodelike.ts";
import {
  CHANNEL_VARIABLE,
  cString,
  elapsed,
  type ExecLibc,
  execWithRequestThrough,
  lineInEnvironment,
  notConnected,
  pipesForced,
  randomHex,
  socketLine,
  socketMode,
  socketPathIn,
  SYMBOLS,
} from "./_runtime_shared.ts";
import { concat } from "./_wire.ts";

interface BunSubprocess {
  readonly pid: number;
  /** Absent unless spawned with stdin "pipe". */
  readonly stdin: { write(data: Uint8Array): number; flush(): unknown; end(): unknown } | undefined;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  readonly signalCode: string | null;
  kill(signal: string): void;
  ref(): void;
  unref(): void;
}

interface BunSocket {
  write(data: Uint8Array): number;
  flush(): void;
  /** shutdown(2): SHUT_WR (a FIN; data keeps arriving) without an argument, SHUT_RD
   * (what arrives is dropped, and the socket closes) with `true`. */
  shutdown(shutdownRead?: boolean): void;
  end(): void;
  pause(): void;
  resume(): void;
  ref(): void;
  unref(): void;
}

interface SocketHandlers {
  open(s: BunSocket): void;
  data(s: BunSocket, data: Uint8Array): void;
  drain(s: BunSocket): void;
  end(s: BunSocket): void;
  close(s: BunSocket): void;
  error(s: BunSocket, e: Error): void;
}

interface BunApi {
  spawn(cmd: string[], options: Record<string, unknown>): BunSubprocess;
  listen(options: { unix: string; socket: SocketHandlers }): { stop(force?: boolean): void };
}

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown>; close(): void };
  ptr(buf: Uint8Array): number;
  CString: new (ptr: number) => { toString(): string };
}

const bun = (globalThis as unknown as { Bun: BunApi }).Bun;

type Exit = { code: number; signal: string | null };

function exitOf(child: BunSubprocess): Promise<Exit> {
  return child.exited.then(() => ({ code: child.exitCode ?? 128, signal: child.signalCode }));
}

function kill(child: BunSubprocess, signal: "SIGKILL" | "SIGTERM"): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/** A connection's bytes as pull-style reads, the socket paused while nobody reads. */
class Channel implements SocketHandlers {
  socket: BunSocket | null = null;
  connected: Promise<BunSocket>;
  #onOpen!: (s: BunSocket) => void;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #waiter: ((v: Uint8Array | null) => void) | null = null;
  #drained: (() => void) | null = null;

  /** Connections not yet proven, with the bytes each has sent so far. */
  #strangers = new Map<BunSocket, Uint8Array>();
  #token: Uint8Array;
  #refuse: (() => void) | undefined;

  /** `token`: what the root control process sends first; any other peer is closed.
   * `refuse`, when given, runs after each accept and before the read: a connection it shut
   * down reads as EOF. */
  constructor(token: string, refuse?: () => void) {
    this.#token = new TextEncoder().encode(token);
    this.#refuse = refuse;
    this.connected = new Promise((resolve) => (this.#onOpen = resolve));
  }

  open(s: BunSocket): void {
    if (this.socket !== null) return s.end(); // the root is connected: nobody else
    this.#strangers.set(s, new Uint8Array(0));
    this.#refuse?.();
  }

  /** Closes every connection that has not proven itself (the start is over). */
  closeStrangers(): void {
    for (const s of this.#strangers.keys()) s.end();
    this.#strangers.clear();
  }

  /**
   * A stranger's bytes are read for the token's length only: a match makes it the root's
   * connection (what follows the token is its first data), anything else closes it.
   */
  #prove(s: BunSocket, data: Uint8Array): void {
    const got = concat([this.#strangers.get(s)!, data]);
    const want = this.#token;
    const n = Math.min(got.length, want.length);
    for (let i = 0; i < n; i++) {
      if (got[i] !== want[i]) {
        this.#strangers.delete(s);
        return s.end();
      }
    }
    if (got.length < want.length) return void this.#strangers.set(s, got);
    this.#strangers.delete(s);
    if (this.socket !== null) return s.end();
    this.socket = s;
    this.#onOpen(s);
    if (got.length > want.length) this.data(s, got.subarray(want.length));
  }

  data(s: BunSocket, data: Uint8Array): void {
    if (this.#strangers.has(s)) return this.#prove(s, data);
    if (s !== this.socket) return;
    // Bun hands each read over in a Buffer of its own, never reused: a plain view of it
    // (callers get Uint8Array, not Buffer) costs no copy.
    const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w(chunk);
    } else {
      this.#chunks.push(chunk);
      s.pause();
    }
  }

  drain(): void {
    const d = this.#drained;
    this.#drained = null;
    d?.();
  }

  end(s: BunSocket): void {
    this.#strangers.delete(s);
    if (s === this.socket) this.#end();
  }

  close(s: BunSocket): void {
    this.#strangers.delete(s);
    if (s === this.socket) this.#end();
  }

  error(s: BunSocket): void {
    this.#strangers.delete(s);
    if (s === this.socket) this.#end();
  }

  #end(): void {
    this.#ended = true;
    this.drain();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w(null);
    }
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#chunks.shift();
    if (chunk) return Promise.resolve(chunk);
    if (this.#ended) return Promise.resolve(null);
    this.socket!.resume();
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) {
      if (this.#ended) throw new Error("Cannot write to the control process: its socket closed");
      const n = this.socket!.write(data.subarray(off));
      if (n > 0) off += n;
      if (off < data.length) await new Promise<void>((resolve) => (this.#drained = resolve));
    }
  }
}

async function spawnHelper(
  argv: readonly string[],
  timeout: number,
  options: HelperOptions = {},
): Promise<HelperProcess> {
  if (pipesForced(backend)) return spawnWithPipes(argv, options.constants);
  // Bun listens on a path too long for the root's sockaddr_un (which the others refuse).
  const path = socketPathIn(temporaryFolder(), false);
  if (path === undefined) return spawnWithPipes(argv, options.constants);
  let server: { stop(force?: boolean): void } | undefined;
  const token = randomHex(16);
  const check = options.refuseStrangers;
  // Before the spawn returns, no connection can be the root's: pid 0 refuses all.
  let rootPid = 0;
  const channel = new Channel(token, check && (() => check(path, rootPid)));
  try {
    // Bun calls the handlers unbound, and reads only an object's own properties.
    server = bun.listen({
      unix: path,
      socket: {
        open: (s) => channel.open(s),
        data: (s, d) => channel.data(s, d),
        drain: () => channel.drain(),
        end: (s) => channel.end(s),
        close: (s) => channel.close(s),
        error: (s) => channel.error(s),
      },
    });
    chmodSync(path, socketMode(argv.length > 1));
  } catch {
    server?.stop(true);
    if (server) rmSync(path, { force: true });
    return spawnWithPipes(argv, options.constants);
  }
  const line = socketLine(path, token, { constants: options.constants });
  const inEnv = lineInEnvironment(argv, false);
  // Inside the try: a spawn Bun refuses at once (a missing executable) stops the server
  // too, which would otherwise hold the program open and leave its file behind.
  let wait: ReturnType<typeof elapsed> | undefined;
  try {
    const child = inEnv
      ? bun.spawn([...argv], {
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
        env: { ...process.env, [CHANNEL_VARIABLE]: new TextDecoder().decode(line).trimEnd() },
      })
      : bun.spawn([...argv], { stdin: "pipe", stdout: "inherit", stderr: "inherit" });
    rootPid = child.pid;
    const exited = exitOf(child);
    wait = elapsed(timeout);
    if (child.stdin) {
      try {
        child.stdin.write(line);
        await child.stdin.end();
      } catch {
        // A prefix that closed its stdin (a sudo that refuses): how it ends says why.
      }
    }
    const conn = await Promise.race([
      channel.connected,
      exited.then(() => "exited" as const),
      wait.promise.then(() => "timeout" as const),
    ]);
    if (typeof conn === "string") {
      kill(child, "SIGKILL");
      throw new Error(notConnected(timeout, await exited, conn === "timeout"));
    }
    let inputClosed = false;
    return {
      pid: child.pid,
      token,
      write: (data) => channel.write(data),
      read: () => channel.read(),
      closeInput() {
        if (!inputClosed) {
          inputClosed = true;
          // The write side only: the root ends its processes and reports their exits.
          conn.shutdown();
        }
        return Promise.resolve();
      },
      kill: (signal) => kill(child, signal),
      // The connection closes at its end, once everything the root sent has been read (its
      // exit may be learnt first): the root's end is held by no other process.
      exited,
      unref() {
        child.unref();
        conn.unref();
      },
      ref() {
        child.ref();
        conn.ref();
      },
    };
  } finally {
    wait?.cancel();
    // The listener only: the accepted connection stays open.
    server.stop(false);
    channel.closeStrangers();
    rmSync(path, { force: true });
  }
}

/** The root on pipes (the fallback channel), through node:child_process: a read of a
 * Bun.spawn child's stdout keeps Bun running whatever unref says, so that a script with an
 * idle, unref'd driver would never end. Loaded here only: it is seldom needed. */
async function spawnWithPipes(argv: readonly string[], constants?: string): Promise<HelperProcess> {
  const { spawnWithPipes: throughNode } = await import("./_runtime_nodechild.ts");
  return await throughNode(argv, constants);
}

/** bun:ffi's names for the symbol table's types. */
const FFI_TYPE: Record<string, string> = {
  i32: "i32",
  u32: "u32",
  i64: "i64",
  usize: "u64",
  buffer: "ptr",
  pointer: "ptr",
};

function openLibrary(path: string): NativeLibrary {
  const ffi = createRequire(import.meta.url)("bun:ffi") as BunFfi;
  const table: Record<string, { args: string[]; returns: string }> = {};
  for (const [name, def] of Object.entries(SYMBOLS)) {
    table[name] = {
      args: (def.parameters as readonly string[]).map((p) => FFI_TYPE[p]),
      returns: FFI_TYPE[def.result],
    };
  }
  const lib = ffi.dlopen(path, table);
  const s = lib.symbols;
  const ptr = (buf: Uint8Array | null) => (buf === null || buf.length === 0 ? null : ffi.ptr(buf));
  return {
    abi: () => s.alcove_abi() as number,
    version() {
      const p = s.alcove_version() as number | null;
      return p ? new ffi.CString(p).toString() : "";
    },
    localCall: (call, payload, out) =>
      Number(s.alcove_local_call(call, ptr(payload), payload.length, ptr(out), out.length)),
    localReply: (out) => Number(s.alcove_local_reply(ptr(out), out.length)),
    constantsText: (out) => Number(s.alcove_constants_text(ptr(out), out?.length ?? 0)),
    // The bytes themselves: bun:ffi keeps an argument alive for the length of the call.
    refuseStrangers: (path, root) => s.alcove_refuse_strangers(cString(path), root) as number,
    address: (buf) => BigInt(ffi.ptr(buf)),
    close: () => lib.close(),
  };
}

/** What the command line needs of the C library to become its supervisor, in bun:ffi's
 * words: memfd_create, write, lseek, close and execv (see `ExecLibc`). */
const LIBC_SYMBOLS = {
  memfd_create: { args: ["ptr", "u32"], returns: "i32" },
  write: { args: ["i32", "ptr", "u64"], returns: "i64" },
  lseek: { args: ["i32", "i64", "i32"], returns: "i64" },
  close: { args: ["i32"], returns: "i32" },
  execv: { args: ["ptr", "ptr"], returns: "i32" },
  // Variadic; its third argument passes as an int would.
  fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
};

/** glibc's functions the command line needs to become its supervisor, loaded by bun:ffi. */
function openExecLibc(): ExecLibc {
  const ffi = createRequire(import.meta.url)("bun:ffi") as BunFfi;
  const libc = ffi.dlopen("libc.so.6", LIBC_SYMBOLS);
  const s = libc.symbols;
  // The bytes themselves: bun:ffi keeps an argument alive for the length of the call.
  return {
    memfdCreate: (name) => s.memfd_create(name, 0) as number,
    write: (fd, bytes) => Number(s.write(fd, bytes, bytes.length)),
    rewind: (fd) => Number(s.lseek(fd, 0, 0)),
    close: (fd) => s.close(fd),
    execv: (file, argv) => s.execv(file, argv),
    address: (buf) => BigInt(ffi.ptr(buf)),
    fcntl: (fd, cmd, arg) => s.fcntl(fd, cmd, arg) as number,
    unload: () => libc.close(),
  };
}

/** The Bun backend: Node's for the environment, the file system and the command line's
 * process, which Bun implements. */
export const backend: Backend = {
  name: "Bun",
  ...nodeLike,
  process: { ...nodeLike.process, execWithRequest: execWithRequestThrough(openExecLibc) },
  // The command line's channel over inherited stdio: Node's, which Bun runs, loaded then only.
  spawnHelper: async (argv, timeout, options) =>
    options?.inheritStdio
      ? (await import("./_runtime_node.ts")).backend.spawnHelper(argv, timeout, options)
      : spawnHelper(argv, timeout, options),
  openLibrary,
};
