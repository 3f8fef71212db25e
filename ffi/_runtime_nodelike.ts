/**
 * What the Node.js and Bun backends share: the environment, files, the architecture and the
 * command line's process, through node:fs and node:process only. Bun takes these without
 * loading node:child_process, node:net and node:stream, which only the Node.js backend's
 * start needs (about 20 ms of Bun's cold start), nor node:os and node:tty (another 19 ms).
 * Internal.
 *
 * @module
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import type { Backend, ProcessSeam } from "./_runtime_types.ts";
import { randomHex } from "./_runtime_shared.ts";

/** The temporary folder as Node's os.tmpdir() finds it on Linux: TMPDIR, TMP or TEMP of
 * `env` (this process's environment), else /tmp, without a trailing slash. */
export function temporaryFolder(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const dir = env.TMPDIR || env.TMP || env.TEMP || "/tmp";
  return dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
}

/** Node's spelling of architectures, in the kernel's. */
const ARCH: Record<string, string> = { x64: "x86_64", arm64: "aarch64", ia32: "x86" };

/** stdout or stderr as a web stream: each write resolves once the runtime has taken it. */
function output(which: "stdout" | "stderr"): WritableStream<Uint8Array> {
  const stream = which === "stdout" ? process.stdout : process.stderr;
  // A failed write (EPIPE: the reader went away) rejects that write; the stream's "error"
  // event, unheard, would end the process.
  if (stream.listenerCount("error") === 0) stream.on("error", () => {});
  return new WritableStream({
    write: (chunk) =>
      new Promise<void>((resolve, reject) =>
        void stream.write(chunk, (e) => (e ? reject(e) : resolve()))
      ),
  });
}

/** The command line's process. */
const processSeam: ProcessSeam = {
  args: () => process.argv.slice(2),
  environment: () =>
    Object.fromEntries(
      Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
    ),
  cwd: () => process.cwd(),
  uid: () => process.geteuid?.() ?? -1,
  gid: () => process.getegid?.() ?? -1,
  // Not process.stdin.isTTY: making that stream turns a terminal's O_NONBLOCK on, which a
  // command the command line then becomes the supervisor of would inherit. node:tty is
  // loaded here, not with this module: it adds about 17 ms to Bun's start.
  stdinIsTerminal: () =>
    (createRequire(import.meta.url)("node:tty") as typeof import("node:tty")).isatty(0),
  readFile: (path) => new Uint8Array(readFileSync(path)),
  readLink(path) {
    try {
      return readlinkSync(path);
    } catch {
      return undefined;
    }
  },
  openFds: () => readdirSync("/proc/self/fd").map(Number),
  output,
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
};

/** The parts of a backend that Node.js and Bun share. */
export const nodeLike: Pick<
  Backend,
  "env" | "setEnv" | "isFile" | "readFile" | "writeExecutable" | "arch" | "process"
> = {
  // The environment is an object: a name its prototype has (toString) is no variable, and
  // __proto__ is one (assigned, it would be taken as the prototype; Bun's object takes no
  // such variable at all, which local.setenv says).
  env: (name) => Object.hasOwn(process.env, name) ? process.env[name] : undefined,
  setEnv(name, value) {
    if (value === undefined) delete process.env[name];
    else if (name !== "__proto__") process.env[name] = value;
    else {
      Object.defineProperty(process.env, name, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
  },
  isFile(path) {
    try {
      return statSync(path).isFile();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOENT" || code === "ENOTDIR") return false;
      throw e;
    }
  },
  readFile(path) {
    try {
      const b = readFileSync(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw e;
    }
  },
  writeExecutable(path, data) {
    mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const temp = `${path}.${randomHex(8)}`;
    writeFileSync(temp, data, { mode: 0o755 });
    renameSync(temp, path);
  },
  arch: () => ARCH[process.arch] ?? process.arch,
  process: processSeam,
};
