/**
 * The Node.js backend of the runtime seam (see `_runtime.ts`): node:child_process,
 * Unix sockets from node:net, and koffi (an npm package, loaded on first use) for
 * libalcove.so. Internal.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { createRequire } from "node:module";
import process from "node:process";
import type { Backend, HelperOptions, HelperProcess, NativeLibrary } from "./_runtime_types.ts";
import { exitOf, helper, kill, spawned, spawnWithPipes } from "./_runtime_nodechild.ts";
import {
  CHANNEL_VARIABLE,
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
} from "./_runtime_shared.ts";
import { nodeLike, temporaryFolder } from "./_runtime_nodelike.ts";

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true });
    server.once("error", reject);
    server.listen(path, () => resolve(server));
  });
}

async function spawnHelper(
  argv: readonly string[],
  timeout: number,
  options: HelperOptions = {},
): Promise<HelperProcess> {
  const inherit = options.inheritStdio === true;
  if (pipesForced(backend) && !inherit) return await spawnWithPipes(argv, options.constants);
  let server: Server | undefined;
  const path = socketPathIn(temporaryFolder(), inherit);
  if (path === undefined) return await spawnWithPipes(argv, options.constants);
  try {
    server = await listen(path);
    chmodSync(path, socketMode(argv.length > 1));
  } catch (e) {
    server?.close();
    if (server) rmSync(path, { force: true });
    if (inherit) throw e;
    return await spawnWithPipes(argv, options.constants);
  }
  const token = randomHex(16);
  const line = socketLine(path, token, {
    inheritStdio: inherit,
    constants: options.constants,
  });
  const inEnv = lineInEnvironment(argv, inherit);
  // Listening for the root before it runs: it may connect at once.
  const strangers = new Set<Socket>();
  const check = options.refuseStrangers;
  // Before the spawn returns, no connection can be the root's: pid 0 refuses all.
  let rootPid = 0;
  const connected = acceptRoot(server, token, strangers, check && (() => check(path, rootPid)));
  const child = spawn(argv[0], argv.slice(1), {
    stdio: inherit
      ? ["inherit", "inherit", "inherit"]
      : [inEnv ? "ignore" : "pipe", "inherit", "inherit"],
    env: inEnv
      ? { ...process.env, [CHANNEL_VARIABLE]: new TextDecoder().decode(line).trimEnd() }
      : undefined,
  });
  rootPid = child.pid ?? 0;
  const exited = exitOf(child);
  const wait = elapsed(timeout);
  try {
    await spawned(child);
    if (!inEnv) {
      child.stdin!.on("error", () => {});
      child.stdin!.end(line);
    }
    const conn = await Promise.race([
      connected,
      exited.then(() => "exited" as const),
      wait.promise.then(() => "timeout" as const),
    ]);
    if (typeof conn === "string") {
      kill(child, "SIGKILL");
      throw new Error(notConnected(timeout, await exited, conn === "timeout"));
    }
    return helper(child, exited, conn, conn, token, () => conn.end());
  } finally {
    wait.cancel();
    server.close();
    for (const conn of strangers) conn.destroy();
    rmSync(path, { force: true });
  }
}

/**
 * The connection of the root control process: the first that starts with the token. Each
 * connection is read for the token's length only (the rest stays buffered for the reader);
 * the others are closed. Those still unproven stay in `strangers` for the caller to close.
 * `refuse`, when given, runs after each accept and before the read: a connection it shut
 * down reads as EOF.
 */
function acceptRoot(
  server: Server,
  token: string,
  strangers: Set<Socket>,
  refuse?: () => void,
): Promise<Socket> {
  const want = Buffer.from(token);
  return new Promise((resolve) => {
    server.on("connection", (conn: Socket) => {
      strangers.add(conn);
      refuse?.();
      const reject = () => {
        strangers.delete(conn);
        conn.destroy();
      };
      const onReadable = () => {
        const got: Buffer | null = conn.read(want.length);
        if (got === null) return;
        conn.off("readable", onReadable);
        conn.off("end", reject);
        if (!got.equals(want)) return reject();
        strangers.delete(conn);
        resolve(conn);
      };
      conn.on("readable", onReadable);
      conn.on("end", reject);
      conn.on("error", reject);
    });
  });
}

/** What this backend uses of koffi (an npm package with its own prebuilt binaries). */
interface Koffi {
  load(path: string): {
    func(declaration: string): (...args: unknown[]) => unknown;
    unload(): void;
  };
  address(value: unknown): bigint;
  decode(pointer: unknown, type: string): unknown;
}

let koffi: Koffi | undefined;

function loadKoffi(): Koffi {
  if (koffi) return koffi;
  try {
    koffi = createRequire(import.meta.url)("koffi") as Koffi;
  } catch (e) {
    throw new Error(
      `Cannot load libalcove.so under Node.js: the koffi package is missing (npm install koffi): ${
        (e as Error).message
      }`,
      { cause: e },
    );
  }
  return koffi;
}

/** A buffer's address, for koffi: passed as one, a typed array would be copied in and out. */
function addressOf(k: Koffi, buf: Uint8Array | null): bigint {
  return buf === null || buf.length === 0
    ? 0n
    : k.address(new Uint8Array(buf.buffer)) + BigInt(buf.byteOffset);
}

function openLibrary(path: string): NativeLibrary {
  const k = loadKoffi();
  let lib: ReturnType<Koffi["load"]>;
  try {
    lib = k.load(path);
  } catch (e) {
    // koffi's message leaves out the file ("Failed to load shared library: file too short").
    throw new Error(`Cannot load ${path}: ${(e as Error).message}`, { cause: e });
  }
  const abi = lib.func("int alcove_abi(void)");
  const version = lib.func("const char *alcove_version(void)");
  const localCall = lib.func(
    "int64_t alcove_local_call(uint32_t call, uint64_t payload, size_t len, uint64_t out, size_t cap)",
  );
  const localReply = lib.func("int64_t alcove_local_reply(uint64_t out, size_t cap)");
  const constantsText = lib.func("int64_t alcove_constants_text(uint64_t out, size_t cap)");
  const refuseStrangers = lib.func("int alcove_refuse_strangers(const char *path, int root)");
  const address = (buf: Uint8Array | null) => addressOf(k, buf);
  return {
    abi: () => abi() as number,
    version: () => version() as string,
    localCall: (call, payload, out) =>
      Number(localCall(call, address(payload), payload.length, address(out), out.length)),
    localReply: (out) => Number(localReply(address(out), out.length)),
    constantsText: (out) => Number(constantsText(address(out), out?.length ?? 0)),
    refuseStrangers: (path, root) => refuseStrangers(path, root) as number,
    address,
    close: () => lib.unload(),
  };
}

/** glibc's functions the command line needs to become its supervisor, loaded by koffi. */
function openExecLibc(): ExecLibc {
  const k = loadKoffi();
  const libc = k.load("libc.so.6");
  const address = (buf: Uint8Array) => addressOf(k, buf);
  const memfdCreate = libc.func("int memfd_create(uint64_t name, unsigned int flags)");
  const write = libc.func("int64_t write(int fd, uint64_t buf, size_t count)");
  const lseek = libc.func("int64_t lseek(int fd, int64_t offset, int whence)");
  const close = libc.func("int close(int fd)");
  const execv = libc.func("int execv(uint64_t path, uint64_t argv)");
  // fcntl is variadic; its third argument passes as an int would.
  const fcntl = libc.func("int fcntl(int fd, int cmd, int arg)");
  return {
    memfdCreate: (name) => memfdCreate(address(name), 0) as number,
    write: (fd, bytes) => Number(write(fd, address(bytes), bytes.length)),
    rewind: (fd) => Number(lseek(fd, 0, 0)),
    close: (fd) => close(fd),
    execv: (file, argv) => execv(address(file), address(argv)),
    address,
    fcntl: (fd, cmd, arg) => fcntl(fd, cmd, arg) as number,
    unload: () => libc.unload(),
  };
}

/** The Node.js backend. */
export const backend: Backend = {
  name: "Node.js",
  ...nodeLike,
  process: { ...nodeLike.process, execWithRequest: execWithRequestThrough(openExecLibc) },
  spawnHelper,
  openLibrary,
};
