/**
 * Calls in the host process itself ("local"): the same C implementations as a
 * control process runs, called synchronously through libalcove.so, with the same
 * argument checks as the driver's calls and no pipeline. Useful for what applies to
 * the host: prctl (name, no_new_privs, dumpable, death signal), rlimits, ioctl, and
 * seccomp filters with SECCOMP_FILTER_FLAG_TSYNC over every thread of the runtime.
 *
 * Calls that would fork (fork, clone), replace (the exec family) or end the runtime
 * (exit), or that manage a control process's own state (sigaction, waitpid, getopt,
 * setopt, cpid, setcpid, ...), are refused with an {@linkcode UnsupportedError}: the
 * runtime is multithreaded, and a forked copy of it may only run async-signal-safe
 * code. Run those in a control process ({@linkcode Alcove}).
 *
 * Cstructs are laid out here in TypeScript, in buffers of this process that stay
 * alive until the call returns; the C side gets only their address and size, and
 * they are read back here. (`alloc` is the exception: it shows what a call would
 * receive, so the C side lays its cstruct out, as in a control process.) Needs the
 * FFI permission (`--allow-ffi`).
 *
 * @example
 * ```ts
 * import { bytes, openLocal, readCstring } from "@alcove/alcove";
 * using local = openLocal();
 * local.prctl("PR_SET_NAME", bytes("worker"), 0, 0, 0);
 * const { arg2 } = local.prctl("PR_GET_NAME", new Uint8Array(16), 0, 0, 0);
 * console.log(readCstring(arg2)); // "worker"
 * ```
 * @module
 */
import { type CallDef, LocalCalls } from "./_calls.ts";
import { argError, argumentOf, decodeResult, encodeArgs, type PointerEncoder } from "./_args.ts";
import type { ConstantTable } from "./constants.ts";
import type { CstructReadBack, Segment } from "./cstruct.ts";
import { WORD_SIZE } from "./cstruct.ts";
import { AlcoveError, FilteredError, SystemCallError, UnsupportedError } from "./errors.ts";
import { libraryConstants, openLibrary } from "./_native.ts";
import { runtime } from "./_runtime.ts";
import type { NativeLibrary } from "./_runtime_types.ts";
import { Reader, STATUS, type Value, Writer } from "./_wire.ts";

const HOST: readonly number[] = [];
const decoder = new TextDecoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A cstruct laid out in this process's memory. */
interface LaidOut {
  /** The argument it was given for. */
  name: string;
  /** The struct, in a buffer of its own (never empty, so it has an address). */
  mem: Uint8Array<ArrayBuffer>;
  /** Its laid-out length. */
  size: number;
  segments: Segment[];
  offsets: number[];
  /** Pointer segments: the buffer pointed to, null for NULL. */
  buffers: (Uint8Array<ArrayBuffer> | null)[];
}

/**
 * Zeroed bytes after every buffer the kernel may write into: a request writes a struct of its
 * own size whatever the caller passed (ioctl encodes sizes of up to 16 KiB - 1; TCGETS and many
 * ptrace requests encode none). The control processes keep the same kind of slack.
 */
const KERNEL_SLACK = 16 * 1024;

/** A fresh buffer of `n` bytes with slack after it, its own ArrayBuffer: V8 never moves it. */
function buffer(n: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(n + KERNEL_SLACK), 0, n);
}

/** The address of a {@linkcode buffer}, also of one of 0 bytes (its slack is there). */
function addressOf(lib: NativeLibrary, b: Uint8Array<ArrayBuffer>): bigint {
  return lib.address(new Uint8Array(b.buffer));
}

function layOut(lib: NativeLibrary, name: string, segments: Segment[]): LaidOut {
  const offsets: number[] = [];
  let size = 0;
  for (const s of segments) {
    offsets.push(size);
    size += s instanceof Uint8Array ? s.length : WORD_SIZE;
  }
  const mem = buffer(size);
  const view = new DataView(mem.buffer);
  const buffers = segments.map((s, i) => {
    if (s instanceof Uint8Array) {
      mem.set(s, offsets[i]);
      return null;
    }
    const n = s.ptr instanceof Uint8Array ? s.ptr.length : s.ptr;
    if (n === 0) return null; // NULL: the word stays zero
    const target = buffer(n);
    if (s.ptr instanceof Uint8Array) target.set(s.ptr);
    view.setBigUint64(offsets[i], addressOf(lib, target), LITTLE_ENDIAN);
    return target;
  });
  return { name, mem, size, segments, offsets, buffers };
}

function readBack(l: LaidOut): CstructReadBack {
  return l.segments.map((s, i) => {
    if (s instanceof Uint8Array) return l.mem.slice(l.offsets[i], l.offsets[i] + s.length);
    const b = l.buffers[i];
    return { ptr: b ? b.slice(0, b.length) : new Uint8Array(0) };
  });
}

function refusal(def: CallDef): string {
  if (def.name === "fork" || def.name === "clone") {
    return "a fork of a multithreaded runtime is unsafe (the child may only run " +
      "async-signal-safe code)";
  }
  if (def.exec) return "it would replace the host process";
  if (def.name === "exit") return "it would end the host process";
  return "it manages a control process's own children, signals or settings";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The environment calls, through the runtime: the C library's setenv reallocates the
 * environment without the lock the runtime takes around it, and the host's other threads
 * (a Worker reading Deno.env, say) then read freed memory. `invalid` is the C library's
 * EINVAL for a name that is empty or holds "=".
 */
type EnvCall = (
  args: readonly unknown[],
  invalid: () => Error,
  text: (v: unknown, arg: string) => string,
) => unknown;

/** A name the C library's environment calls refuse (EINVAL) or never find. */
const badName = (key: string) => key === "" || key.includes("=");

const ENV_CALLS: Record<string, EnvCall> = {
  getenv([name], _, text) {
    const key = text(name, "name");
    return badName(key) ? null : runtime.env(key) ?? null;
  },
  environ: () => Object.entries(runtime.process.environment()).map(([k, v]) => `${k}=${v}`),
  setenv([name, value, overwrite], invalid, text) {
    const key = text(name, "name");
    if (badName(key)) throw invalid();
    if (overwrite === 0 && runtime.env(key) !== undefined) return undefined;
    const v = text(value, "value");
    runtime.setEnv(key, v);
    // Bun's process.env takes no variable named __proto__ (and says nothing).
    if (runtime.env(key) !== v) {
      throw new UnsupportedError(
        "setenv",
        [],
        `this runtime's environment cannot hold a variable named ${JSON.stringify(key)}`,
      );
    }
  },
  unsetenv([name], invalid, text) {
    const key = text(name, "name");
    if (badName(key)) throw invalid();
    runtime.setEnv(key, undefined);
  },
  clearenv() {
    for (const key of Object.keys(runtime.process.environment())) runtime.setEnv(key, undefined);
  },
};

/**
 * The alcove calls run in the host process: synchronous methods with the driver's
 * names and argument checks, without a pipeline. Made by {@linkcode openLocal};
 * `using` (or `unload()`) releases it.
 *
 * @example
 * ```ts
 * import { openLocal } from "@alcove/alcove";
 * using local = openLocal();
 * console.log(local.getrlimit("RLIMIT_NOFILE"));
 * console.log(local.prctl("PR_GET_DUMPABLE", 0, 0, 0, 0).ret); // 1
 * ```
 */
export class Local extends LocalCalls implements Disposable {
  #lib: NativeLibrary | null;
  #table: ConstantTable;
  #out: Uint8Array<ArrayBuffer> = new Uint8Array(64 * 1024);

  private constructor(lib: NativeLibrary) {
    super();
    this.#lib = lib;
    this.#table = libraryConstants(lib);
  }

  /** Opens the library, like {@linkcode openLocal}.
   *
   * @example
   * ```ts
   * import { Local } from "@alcove/alcove";
   * using local = Local.open();
   * console.log(local.getppid());
   * ```
   */
  static open(): Local {
    return new Local(openLibrary());
  }

  /** The constant tables of this machine (what libalcove.so was built with).
   *
   * @example
   * ```ts
   * import { openLocal } from "@alcove/alcove";
   * using local = openLocal();
   * console.log(local.constants.lookup("prctl", "PR_SET_NAME")); // 15
   * ```
   */
  get constants(): ConstantTable {
    return this.#table;
  }

  /** True once unloaded.
   *
   * @example
   * ```ts
   * import { openLocal } from "@alcove/alcove";
   * const local = openLocal();
   * local.unload();
   * console.log(local.unloaded); // true
   * ```
   */
  get unloaded(): boolean {
    return this.#lib === null;
  }

  /** Runs a call in this process (the generated methods use it). */
  protected call(def: CallDef, args: readonly unknown[]): unknown {
    const lib = this.#lib;
    if (lib === null) {
      throw new AlcoveError(
        def.name,
        HOST,
        `Cannot run ${def.name}: the local handle was unloaded`,
      );
    }
    if (def.noLocal) {
      throw new UnsupportedError(
        def.name,
        HOST,
        `not in the host process: ${refusal(def)}; use a control process`,
      );
    }
    const laid: LaidOut[] = [];
    const pointer: PointerEncoder = (w, segments, _call, name) => {
      const l = layOut(lib, name, segments);
      laid.push(l);
      w.ptr(addressOf(lib, l.mem), l.size);
    };
    const w = new Writer(256);
    encodeArgs(w, this.#table, def, args, pointer);
    const env = Object.hasOwn(ENV_CALLS, def.name) ? ENV_CALLS[def.name] : undefined;
    if (env !== undefined) {
      const invalid = () =>
        new SystemCallError(def.name, HOST, "EINVAL", this.#table.lookup("errno", "EINVAL") ?? 22, {
          argument: argumentOf(def, args),
          text: "Invalid argument",
        });
      // The runtime's environment holds text: other bytes are refused, not changed.
      const text = (v: unknown, arg: string) => {
        if (typeof v === "string") return v;
        try {
          return utf8.decode(v as Uint8Array);
        } catch {
          throw argError(
            def.name,
            arg,
            "must be UTF-8 text (the runtime's environment holds text)",
          );
        }
      };
      return env(args, invalid, text);
    }
    const payload = new Uint8Array(w.buf.buffer, 0, w.len);

    let out = this.#out;
    let n = lib.localCall(def.id, payload, out);
    if (n < 0) {
      // The call ran; its reply did not fit and was kept: fetch it whole.
      out = new Uint8Array(-n);
      n = lib.localReply(out);
      if (n < 0) throw new AlcoveError(def.name, HOST, "Cannot fetch the reply of the call");
    }
    const value = this.#reply(def, args, out, n);
    const result = decodeResult(this.#table, def.result, value);
    // Every laid-out buffer stayed referenced (by `laid`) until here: read them back.
    if (laid.length > 0 && typeof result === "object" && result !== null) {
      const fields = result as Record<string, unknown>;
      for (const l of laid) if (l.name in fields) fields[l.name] = readBack(l);
    }
    return result;
  }

  #reply(
    def: CallDef,
    args: readonly unknown[],
    out: Uint8Array<ArrayBuffer>,
    n: number,
  ): Value | undefined {
    const view = new DataView(out.buffer, out.byteOffset, n);
    const status = view.getUint16(0, true);
    const r = new Reader(out, view, 2, n);
    const value = r.done ? undefined : r.value();
    switch (status) {
      case STATUS.OK:
        return value;
      case STATUS.ERRNO: {
        const errno = value as number;
        // Then the C library's text, as a control process's reply has it.
        const text = r.done ? undefined : decoder.decode(r.value() as Uint8Array);
        throw new SystemCallError(
          def.name,
          HOST,
          this.#table.name("errno", errno) ?? `E${errno}`,
          errno,
          { argument: argumentOf(def, args), text },
        );
      }
      case STATUS.BADARG:
        throw new RangeError(decoder.decode(value as Uint8Array));
      case STATUS.UNSUPPORTED:
        throw new UnsupportedError(def.name, HOST, decoder.decode(value as Uint8Array));
      case STATUS.FILTERED:
        throw new FilteredError(def.name, HOST);
      default:
        throw new AlcoveError(def.name, HOST, `Unknown reply status ${status}`);
    }
  }

  /** Releases the library handle; later calls throw. Safe to call more than once.
   * (`close` is the close(2) call, as on the driver.)
   *
   * @example
   * ```ts
   * import { openLocal } from "@alcove/alcove";
   * const local = openLocal();
   * local.unload();
   * local.unload(); // no-op
   * ```
   */
  unload(): void {
    this.#lib?.close();
    this.#lib = null;
  }

  /** Same as {@linkcode Local.unload}, for `using`.
   *
   * @example
   * ```ts
   * import { openLocal } from "@alcove/alcove";
   * {
   *   using local = openLocal();
   *   local.getpid();
   * } // unloaded here
   * ```
   */
  [Symbol.dispose](): void {
    this.unload();
  }
}

/**
 * Opens the calls of the host process: loads libalcove.so (found like the driver finds
 * it: ALCOVE_LIB_PATH, then this checkout's build folder) and checks its ABI.
 *
 * @example
 * ```ts
 * import { openLocal } from "@alcove/alcove";
 * using local = openLocal();
 * local.prctl("PR_SET_PDEATHSIG", local.constants.lookup("signal", "SIGTERM")!, 0, 0, 0);
 * ```
 */
export function openLocal(): Local {
  return Local.open();
}
