/**
 * What the runtime backends share: the first line the root control process reads,
 * tokens, and messages. Internal.
 *
 * @module
 */
import type { Backend } from "./_runtime_types.ts";
import { cArgv, holding } from "./_c_strings.ts";

/** Random bytes as hex: socket names and tokens. */
export function randomHex(bytes: number): string {
  return hexOf(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Bytes as hex digits. */
export function hexOf(bytes: Uint8Array): string {
  let hex = "";
  for (const b of bytes) hex += HEX[b];
  return hex;
}

/** Each byte's two hex digits. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * A wait of `ms` milliseconds, for the time limits of a start and a stop: `promise` resolves
 * when it is over, unless `cancel` came first. It rests on `AbortSignal.timeout`, which Deno
 * serves without loading the Node.js timers that its first `setTimeout` loads (about 10 ms of
 * a cold start). Deno holds the process open while the wait has a listener: cancel it once
 * the wait it bounds is over.
 */
export function elapsed(ms: number): { promise: Promise<void>; cancel(): void } {
  let done = () => {};
  const promise = new Promise<void>((resolve) => (done = () => resolve()));
  const cancel = inSteps(ms, () => done(), (step, fn) => {
    const signal = AbortSignal.timeout(step);
    signal.addEventListener("abort", fn, { once: true });
    return () => signal.removeEventListener("abort", fn);
  });
  return { promise, cancel };
}

/** The longest wait a timer takes: 2^31 - 1 ms (about 24.8 days). A longer one given to
 * `setTimeout` or `AbortSignal.timeout` fires at once (with a warning under Node.js). */
export const MAX_TIMER_MS = 0x7fffffff;

/** Runs `fn` after `ms` milliseconds, however many (in steps past {@linkcode MAX_TIMER_MS}).
 * Returns what cancels it. */
export function after(ms: number, fn: () => void): () => void {
  return inSteps(ms, fn, (step, next) => {
    const timer = setTimeout(next, step);
    return () => clearTimeout(timer);
  });
}

/** `fn` after `ms` milliseconds, by `wait` (a timer of at most MAX_TIMER_MS that gives back
 * its canceller) as many times as that takes. Returns what cancels the wait under way. */
function inSteps(
  ms: number,
  fn: () => void,
  wait: (step: number, next: () => void) => () => void,
): () => void {
  let cancel = () => {};
  const arm = (left: number) => {
    const next = left > MAX_TIMER_MS ? () => arm(left - MAX_TIMER_MS) : fn;
    cancel = wait(Math.min(left, MAX_TIMER_MS), next);
  };
  arm(ms);
  return () => cancel();
}

/**
 * A fresh path for the socket the root connects to, directly in the temporary folder `tmp`:
 * no folder of its own to make and remove at every start (about a quarter of a millisecond
 * on an ext4 /tmp). Nothing is followed or replaced there: bind(2) creates the socket and
 * fails if anything has the name, the name is unguessable (though /proc/net/unix shows it
 * to every user once it exists), the sticky /tmp keeps others from removing it, and who may
 * connect is the socket's mode ({@linkcode socketMode}), set at once, then the token the
 * root must send first. The runtime removes it when its listener closes.
 */
export function socketPathIn(tmp: string, required: boolean): string | undefined {
  const path = `${tmp.replace(/\/+$/, "")}/alcove-${randomHex(16)}`;
  // The root takes the path as one word of its first line (words end at a space), into
  // the 108 bytes of a sockaddr_un, NUL included: elsewhere, no socket, and the pipes
  // instead unless the socket is `required` (the root's stdio is not the driver's).
  if (!/[ \n\0]/.test(path) && new TextEncoder().encode(path).length < 108) return path;
  if (!required) return undefined;
  throw new Error(
    `Cannot make the control process's socket in ${JSON.stringify(tmp)}: its path must ` +
      "take under 108 bytes with no space (set TMPDIR to a folder that gives one)",
  );
}

/** The first line the root reads: where to connect and what to say; with `inheritStdio`,
 * that the descriptors it inherited stay open for its programs (the command line's case);
 * with `constants`, the build ID (hex) of the control process whose constant tables this
 * process holds, which a root of that build then leaves out of its greeting. */
export function socketLine(
  path: string,
  token: string,
  options: { inheritStdio?: boolean; constants?: string } = {},
): Uint8Array {
  const words = [`socket ${path} ${token}`];
  if (options.inheritStdio) words.push("inherit");
  return firstLine(words, options.constants);
}

/** A first line of `words`, then the `constants=` word when given. */
function firstLine(words: string[], constants?: string): Uint8Array {
  if (constants) words.push(`constants=${constants}`);
  return new TextEncoder().encode(`${words.join(" ")}\n`);
}

/** The environment variable that carries the first line when stdin is not the host's. */
export const CHANNEL_VARIABLE = "ALCOVE_CHANNEL";

/**
 * Whether the first line goes in the environment variable {@linkcode CHANNEL_VARIABLE}
 * rather than on the root's stdin. Without a command prefix the root runs as this user, and
 * no other user can read its environment (/proc/PID/environ), so the token is as private
 * there as in a pipe, and the root connects as soon as it runs instead of waiting for this
 * process to write to it (the root removes the variable before anything can inherit it). A
 * prefix may run it as another user, whose other processes could read the token there, or
 * clear the environment (sudo): the line goes on stdin. With inherited stdio, stdin is not
 * ours to write: always the environment.
 */
export function lineInEnvironment(argv: readonly string[], inheritStdio: boolean): boolean {
  return inheritStdio || argv.length === 1;
}

/** The first line that tells the root to use its stdin and stdout (`constants` as for
 * {@linkcode socketLine}). */
export function pipesLine(constants?: string): Uint8Array {
  return firstLine(["pipes"], constants);
}

/** The message of a root that never connected: the wait ran out (`timedOut`, and then it
 * was killed), or it ended by itself first. */
export function notConnected(
  timeout: number,
  status: { code: number; signal: string | null },
  timedOut: boolean,
): string {
  if (timedOut) return `it did not connect within ${timeout} ms`;
  return `it ${howEnded(status)} before connecting`;
}

/**
 * How a process ended, said after "it": "exited with status 3", "was killed by SIGKILL".
 *
 * @example
 * ```ts ignore
 * `it ${howEnded({ code: 3, signal: null })} before greeting`;
 * ```
 */
export function howEnded(status: { code: number; signal: string | null }): string {
  return status.signal !== null
    ? `was killed by ${status.signal}`
    : `exited with status ${status.code}`;
}

/** Whether ALCOVE_TRANSPORT asks for the pipe channel (to compare, or where sockets are barred). */
export function pipesForced(backend: Pick<Backend, "env">): boolean {
  return backend.env("ALCOVE_TRANSPORT") === "pipes";
}

/** libalcove.so's exported symbols, as their C declarations; each backend maps the
 * types to its own FFI ("buffer" is a pointer to bytes the caller owns). */
export const SYMBOLS = {
  // int alcove_abi(void);
  alcove_abi: { parameters: [], result: "i32" },
  // const char *alcove_version(void);
  alcove_version: { parameters: [], result: "pointer" },
  // long long alcove_local_call(unsigned call, const unsigned char *payload, size_t len,
  //                             unsigned char *out, size_t cap);
  alcove_local_call: {
    parameters: ["u32", "buffer", "usize", "buffer", "usize"],
    result: "i64",
  },
  // long long alcove_local_reply(unsigned char *out, size_t cap);
  alcove_local_reply: { parameters: ["buffer", "usize"], result: "i64" },
  // long long alcove_constants_text(char *out, size_t cap);
  alcove_constants_text: { parameters: ["buffer", "usize"], result: "i64" },
  // int alcove_refuse_strangers(const char *path, int root);
  alcove_refuse_strangers: { parameters: ["buffer", "i32"], result: "i32" },
} as const;

/** A NUL-terminated copy of a string, as C takes it. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${s}\0`);
}

/** fcntl's commands and the flag used here: the same numbers on every Linux architecture
 * built (asm-generic's). */
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

/** What the command line needs of the C library to become its supervisor, through a
 * runtime's FFI: each function returns what the C function of its name returns, or a
 * promise of it (a call run on another thread: Deno compiles a fast call for its first
 * synchronous symbol, which costs a start about 3 ms). */
export interface ExecLibc {
  /** `int memfd_create(const char *name, unsigned flags)`, with flags 0. */
  memfdCreate(name: Uint8Array): number | Promise<number>;
  /** `ssize_t write(int fd, const void *buf, size_t count)`, of all of `bytes`. */
  write(fd: number, bytes: Uint8Array): number | Promise<number>;
  /** `lseek(fd, 0, SEEK_SET)`. */
  rewind(fd: number): number | Promise<number>;
  /** `int close(int fd)`. */
  close(fd: number): unknown;
  /** `int execv(const char *path, char *const argv[])`; `argv` holds the addresses. From
   * another thread it replaces the whole process all the same. */
  execv(path: Uint8Array, argv: Uint8Array): unknown;
  /** The address of a buffer's first byte. */
  address(buf: Uint8Array): bigint;
  /** `int fcntl(int fd, int cmd, int arg)`: for a runtime that changes the descriptors it
   * inherited (Node.js and Bun make them close-on-exec when they start, Node.js turns
   * O_NONBLOCK on for a pipe once its stream exists); absent where none does (Deno). */
  fcntl?(fd: number, cmd: number, arg: number): number;
  /** Unloads the library. */
  unload(): void;
}

/**
 * A runtime's `ProcessSeam.execWithRequest` over its C library, which `open` loads (throwing
 * when it cannot: the command line then takes the driver's way). It replaces this process
 * with the executable `path`, its arguments `words` then `--request FD`, FD a memory file
 * holding `request` (not close-on-exec: the supervisor reads it, then closes it), the
 * descriptors `keep` open across the exec and stdin, stdout and stderr in blocking mode, as
 * a runtime's own spawn leaves a child's. It returns only when that failed, with nothing
 * changed but a descriptor opened and closed (and those flags). Pointers are 64 bits: the
 * architectures built are x64 and arm64.
 */
export function execWithRequestThrough(
  open: () => ExecLibc,
): (
  path: string,
  words: readonly string[],
  request: Uint8Array,
  keep: readonly number[],
) => Promise<void> {
  return async (path, words, request, keep) => {
    let libc: ExecLibc;
    try {
      libc = open();
    } catch {
      return;
    }
    try {
      await replaceProcess(libc, path, words, request, keep);
    } finally {
      libc.unload();
    }
  };
}

async function replaceProcess(
  libc: ExecLibc,
  path: string,
  words: readonly string[],
  request: Uint8Array,
  keep: readonly number[],
): Promise<void> {
  const fd = await libc.memfdCreate(cString("alcove-request"));
  if (fd < 0) return;
  try {
    const fcntl = libc.fcntl;
    if (fcntl !== undefined) {
      for (const k of keep) fcntl(k, F_SETFD, 0);
      for (const std of [0, 1, 2]) {
        const flags = fcntl(std, F_GETFL, 0);
        if (flags >= 0 && (flags & O_NONBLOCK) !== 0) fcntl(std, F_SETFL, flags & ~O_NONBLOCK);
      }
    }
    for (let off = 0; off < request.length;) {
      const n = await libc.write(fd, request.subarray(off));
      if (n <= 0) return;
      off += n;
    }
    if (await libc.rewind(fd) !== 0) return;
    const { bytes, pointers } = cArgv(
      path,
      [path, ...words, "--request", String(fd)],
      (b) => libc.address(b),
    );
    const argv = new Uint8Array(pointers.buffer);
    // argv holds only addresses in bytes: both stay referenced until execv (maybe on another
    // thread) has copied them, or failed.
    await holding([bytes, argv], libc.execv(bytes, argv));
  } finally {
    await libc.close(fd);
  }
}

/**
 * The mode of the socket the root control process connects to. Connecting takes write
 * permission: started as this user, only this user needs it; with an exec prefix (sudo,
 * setpriv) the root may run as any user, so others get write permission: their connections
 * are shut down by their peer's credentials as soon as they are accepted (`refuseStrangers`
 * in `HelperOptions`), and the token the root must send first (checked before anything else
 * is read from a connection) keeps out any that pass.
 */
export function socketMode(prefixed: boolean): number {
  return prefixed ? 0o622 : 0o600;
}
