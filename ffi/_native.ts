/**
 * Where the native files are (libalcove.so and the control process executable),
 * and loading libalcove.so with its ABI and version checked. Internal: everything
 * else goes through the driver or `local`.
 *
 * @module
 */
import { runtime } from "./_runtime.ts";
import type { NativeLibrary } from "./_runtime_types.ts";
import { ConstantTable } from "./constants.ts";
import { ABI } from "./_abi.ts";
import { libPathDir, platformDir } from "./_native_paths.ts";

export { ABI };

/** The version of this module; the native files must report the same. */
export const VERSION = "0.1.0";

/** The native files of one architecture, by name. */
export const NATIVE_FILES = ["alcove", "libalcove.so"] as const;

/** The SHA-256 of bytes, in hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The native files: the shared library and the control process executable. */
export interface NativePaths {
  /** Folder holding both. */
  dir: string;
  /** libalcove.so. */
  library: string;
  /** The root control process executable. */
  helper: string;
}

export { platformDir };

/** The folder that holds ffi/, csrc/, build/ and native/: this module's parent. The bundles
 * (scripts/gen_bundles.ts) rewrite this one expression for their own folders. */
const PACKAGE_ROOT = new URL("../", import.meta.url);

/** A folder of the package, when the package is local files. */
function inPackage(relative: string): string | undefined {
  const url = new URL(relative, PACKAGE_ROOT);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
}

/** The command that builds the native files from the shipped sources into `out`. */
export function buildCommand(out: string): string {
  const csrc = inPackage("csrc/");
  return csrc === undefined ? `deno task build` : `sh ${csrc}build.sh ${out}`;
}

async function fetchBytes(url: URL): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot fetch ${url}: ${res.status} ${res.statusText}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * For a module imported from a URL (JSR, a web server): this version's prebuilt native
 * files for this architecture, published beside the module, copied on first use into
 * the user's cache ($XDG_CACHE_HOME/alcove/<version>/linux-<arch>/, ~/.cache by default)
 * and checked against the SHA-256 recorded when they were built (native/hashes.json),
 * at every load. Undefined for a local module, or when ALCOVE_LIB_PATH says where they are.
 */
async function remoteNative(): Promise<string | undefined> {
  const base = PACKAGE_ROOT;
  if (base.protocol !== "http:" && base.protocol !== "https:") return undefined;
  if (runtime.env("ALCOVE_LIB_PATH")) return undefined;
  const platform = platformDir(runtime.arch());
  const cache = runtime.env("XDG_CACHE_HOME") || `${runtime.env("HOME") ?? "/tmp"}/.cache`;
  const dir = `${cache}/alcove/${VERSION}/${platform}/`;
  const hashes: Record<string, string> = JSON.parse(
    new TextDecoder().decode(await fetchBytes(new URL("native/hashes.json", base))),
  );
  for (const file of NATIVE_FILES) {
    const key = `native/${platform}/${file}`;
    const want = hashes[key];
    if (want === undefined) {
      throw new Error(
        `Cannot run on ${platform}: no prebuilt native files for it were published with ${base}; ` +
          `build them from a clone with "deno task build" and point ALCOVE_LIB_PATH at build/`,
      );
    }
    const cached = runtime.readFile(dir + file);
    if (cached !== null && (await sha256Hex(cached)) === want) continue;
    const bytes = await fetchBytes(new URL(key, base));
    const got = await sha256Hex(bytes);
    if (got !== want) {
      throw new Error(`Cannot use ${new URL(key, base)}: its SHA-256 is ${got}, not ${want}`);
    }
    runtime.writeExecutable(dir + file, bytes);
  }
  return dir;
}

/** Where a module imported from a URL keeps its native files (see remoteNative). */
const remoteDir: string | undefined = await remoteNative();

/** The native files found last, and the ALCOVE_LIB_PATH they were found for: each start
 * looked again (about 70 µs between starts). {@linkcode forgetNative} drops them. */
let found: { env: string | undefined; paths: NativePaths } | undefined;

/** Makes the next {@linkcode findNative} look again: a start that could not run the files
 * found calls it, so that the next one says what is missing. */
export function forgetNative(): void {
  found = undefined;
}

/**
 * Finds the native files: the folder (or the .so inside it) named by
 * ALCOVE_LIB_PATH, then this checkout's build folder, then the prebuilt files of
 * this architecture shipped with the package (or, imported from a URL, published
 * beside it and copied into the cache). Throws naming what was tried and
 * the command that builds them. A missing permission throws the runtime's own error.
 * What was found is kept while ALCOVE_LIB_PATH stays the same.
 */
export function findNative(): NativePaths {
  const env = runtime.env("ALCOVE_LIB_PATH");
  if (found !== undefined && found.env === env) return found.paths;
  const candidates: string[] = [];
  if (env) candidates.push(libPathDir(env));
  const build = inPackage("build/");
  if (build) candidates.push(build);
  const arch = runtime.arch();
  const prebuilt = inPackage(`native/${platformDir(arch)}/`);
  if (prebuilt) candidates.push(prebuilt);
  if (remoteDir) candidates.push(remoteDir);
  for (const dir of candidates) {
    const library = dir + "libalcove.so";
    const helper = dir + "alcove";
    if (runtime.isFile(library) && runtime.isFile(helper)) {
      found = { env, paths: { dir, library, helper } };
      return found.paths;
    }
  }
  const out = inPackage("build/") ?? "build/";
  throw new Error(
    `Cannot find libalcove.so and the alcove executable for ${platformDir(arch)} (tried ${
      candidates.join(", ")
    }): build them with "${buildCommand(out)}", or point ALCOVE_LIB_PATH at their folder`,
  );
}

/** ELF machine numbers (e_machine) by the kernel's name of the architecture (uname -m, as
 * `runtime.arch()` gives it), for the messages below; an architecture not here is not
 * checked. */
const MACHINES: Record<string, number> = {
  x86_64: 62,
  aarch64: 183,
  i386: 3,
  i686: 3,
  armv7l: 40,
  riscv64: 243,
  ppc64le: 21,
  s390x: 22,
  loongarch64: 258,
};

/**
 * What keeps a native file from running on this machine, read from its ELF header: not an
 * ELF file (empty, cut short, or a text that is no script), another architecture or word
 * size, or cut short of its section table. Undefined when none of that shows (or the file cannot be read: the
 * runtime's own error then speaks). Read where a file failed to load or run, never on the
 * way of a start that works.
 */
export function nativeFileProblem(path: string): string | undefined {
  let b: Uint8Array | null;
  try {
    b = runtime.readFile(path);
  } catch {
    return undefined;
  }
  if (b === null) return undefined;
  if (b.length === 0) return "it is empty";
  if (b[0] === 0x23 && b[1] === 0x21) return undefined; // a script ("#!"): its own errors speak
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) {
    return "it is not an ELF file (cut short, or another kind of file)";
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const little = b[5] === 1;
  const machine = v.getUint16(18, little);
  const here = runtime.arch();
  const name = (m: number) =>
    Object.entries(MACHINES).find(([, n]) => n === m)?.[0] ?? `ELF machine ${m}`;
  const wanted = MACHINES[here];
  if (wanted !== undefined && (machine !== wanted || b[4] !== 2 || !little)) {
    const kind = b[4] !== 2 ? " (32-bit)" : !little ? " (big-endian)" : "";
    return `it is built for ${name(machine)}${kind}, this machine is ${here}`;
  }
  if (b[4] !== 2) return undefined; // a 32-bit machine's own: its loader speaks
  const sections = Number(v.getBigUint64(0x28, little)) +
    v.getUint16(0x3a, little) * v.getUint16(0x3c, little);
  if (sections > b.length) return `it is cut short (${b.length} of at least ${sections} bytes)`;
  return undefined;
}

/** The error for a native file that failed to load or run, naming its problem and the build
 * command when its header shows one; undefined when it does not. */
export function nativeFileError(what: string, path: string, cause: unknown): Error | undefined {
  const problem = nativeFileProblem(path);
  if (problem === undefined) return undefined;
  return new Error(
    `${what}: cannot use ${path}: ${problem} (${
      (cause as Error)?.message ?? String(cause)
    }); build it for this machine with "${
      buildCommand(path.slice(0, path.lastIndexOf("/") + 1))
    }", or point ALCOVE_LIB_PATH at a folder of files built for it`,
    { cause },
  );
}

/** Opens libalcove.so and checks its ABI and version. Each call returns a handle of its
 * own (the library itself is loaded once by the system): the caller closes it. */
export function openLibrary(): NativeLibrary {
  const { library } = findNative();
  let lib: NativeLibrary;
  try {
    lib = runtime.openLibrary(library);
  } catch (e) {
    throw nativeFileError("Cannot load libalcove.so", library, e) ?? e;
  }
  const abi = lib.abi();
  const version = abi === ABI ? lib.version() : "";
  if (abi !== ABI || version !== VERSION) {
    lib.close();
    throw new Error(
      `Cannot use ${library}: it is ABI ${abi}${
        version ? ` version ${version}` : ""
      }, this module needs ABI ${ABI} version ${VERSION}; rebuild it with "${
        buildCommand(library.slice(0, library.lastIndexOf("/")))
      }"`,
    );
  }
  return lib;
}

/** The constant tables libalcove.so was built with (`alcove_constants_text`). */
export function libraryConstants(lib: NativeLibrary): ConstantTable {
  const text = new Uint8Array(lib.constantsText(null));
  lib.constantsText(text);
  return ConstantTable.parse(new TextDecoder().decode(text));
}

/** The handle a start's check of its socket's peers uses, once loaded: kept for the
 * process's life (see {@linkcode strangerCheck}). */
let checkLibrary: NativeLibrary | undefined;

/**
 * The check a start behind an exec prefix makes of who connected to its socket
 * (libalcove.so's `alcove_refuse_strangers`, given to the runtime's `spawnHelper`), loading
 * the library on first use.
 *
 * Behind a prefix the socket lets every user connect (the root may run as another user):
 * their connections are shut down by their peer's credentials before anything is read from
 * them. Without a prefix the check is not made: only this user and root may connect (mode
 * 0600), and both already hold this process (root wholly; this user through its signals,
 * files and, where ptrace is allowed, its memory and the token in it), so it would add
 * nothing there, at a cost: loading libalcove.so takes a cold start a few milliseconds
 * (Deno.dlopen builds a call stub per symbol), and even once loaded, each check scans
 * /proc/self/fd, about 50 µs with the two dozen descriptors of a Deno process: not nothing
 * beside a warm start of a few milliseconds (scripts/bench, "start").
 */
export function strangerCheck(): (path: string, root: number) => number {
  checkLibrary ??= openLibrary();
  const lib = checkLibrary;
  return (path, root) => lib.refuseStrangers(path, root);
}
