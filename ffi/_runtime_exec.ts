/**
 * Replacing this Deno process with another program (execv(3) through the C library), for
 * the command line: it becomes the sandbox's supervisor (execWithRequest in
 * _runtime_deno.ts), or, on its fast path (ffi/cli/_fast_path.ts), hands its arguments
 * straight to the control process executable's own parser (`alcove --cli-parse`). The fast
 * path loads this module before anything else, so it imports only small pure modules.
 * Deno-only; internal.
 *
 * @module
 */
import { ABI } from "./_abi.ts";
import { cArgv, holding, lastWords } from "./_c_strings.ts";
import { libPathDir, platformDir } from "./_native_paths.ts";

/** What the command line needs of the C library. Deno's own is glibc's, so it is found by
 * that name. Every symbol is nonblocking: Deno compiles a fast call for the first
 * synchronous symbol, which costs the command line's start more than the thread hop of an
 * asynchronous call; execv from the thread that runs it replaces the whole process all the
 * same (the kernel makes that thread the process's leader). */
export const LIBC_SYMBOLS = {
  // int memfd_create(const char *name, unsigned flags);
  memfd_create: { parameters: ["buffer", "u32"], result: "i32", nonblocking: true },
  // ssize_t write(int fd, const void *buf, size_t count);
  write: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
  // off_t lseek(int fd, off_t offset, int whence);
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64", nonblocking: true },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32", nonblocking: true },
  // int execv(const char *path, char *const argv[]);
  execv: { parameters: ["buffer", "buffer"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

/** The C library, or undefined where it cannot be opened by that name. */
export function openLibc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | undefined {
  try {
    return Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  } catch {
    return undefined;
  }
}

/** Runs `path` with arguments `argv` (argv[0] included) in place of this process; returns
 * only when that failed (nothing changed then). */
export async function execv(
  libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>,
  path: string,
  argv: readonly (string | Uint8Array)[],
): Promise<void> {
  const { bytes, pointers } = cArgv(
    path,
    argv,
    (b) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b))),
  );
  // pointers holds only addresses in bytes: it stays referenced until execv has copied
  // them (or failed).
  await holding([bytes, pointers], libc.symbols.execv(bytes, pointers));
}

/**
 * The bytes of the process's last `args.length` arguments (/proc/self/cmdline), those that
 * `args` holds as the runtime decoded them; undefined when they cannot be read or do not
 * decode to `args`.
 */
export function rawArgs(args: readonly string[]): Uint8Array[] | undefined {
  let all: Uint8Array;
  try {
    all = Deno.readFileSync("/proc/self/cmdline");
  } catch {
    return undefined;
  }
  const mine = lastWords(all, args.length);
  if (mine.length < args.length) return undefined;
  const decoder = new TextDecoder();
  return mine.every((w, i) => decoder.decode(w) === args[i]) ? mine : undefined;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The folders findNative (ffi/_native.ts) looks in, in its order (ALCOVE_LIB_PATH, the
 * package's build/, its prebuilt native/ files), for a package in the local folder `root`
 * (a module's `import.meta.dirname`); undefined for a package from elsewhere (a URL: no
 * `root`), where findNative looks further. */
export function nativeDirs(root: string | undefined): string[] | undefined {
  if (root === undefined) return undefined;
  const dirs: string[] = [];
  const env = Deno.env.get("ALCOVE_LIB_PATH");
  if (env) dirs.push(libPathDir(env));
  const base = root.endsWith("/") ? root : root + "/";
  dirs.push(`${base}build/`, `${base}native/${platformDir(Deno.build.arch)}/`);
  return dirs;
}

/** Whether findNative takes `dir`: it holds both native files. */
export function holdsNative(dir: string): boolean {
  return isFile(`${dir}libalcove.so`) && isFile(`${dir}alcove`);
}

/** The command line's fast path, for `args` that the control process executable parses
 * itself (the caller asks ffi/cli/_fast.ts): this process becomes the executable of the
 * package in `root` (see nativeDirs) as `alcove --cli-parse --abi N -- ARGS...` and never
 * returns; it returns when ALCOVE_CLI_DRIVER=1 asks for the TypeScript command line, and when
 * that exec fails, and the TypeScript command line runs (and says why it cannot run the
 * executable, or that there is none).
 *
 * The executable is looked for where findNative looks, without a stat first (the first stat
 * of a process costs it a millisecond or more): execv of each folder's `alcove` in turn,
 * until one runs. After a failure, a folder that findNative takes (see holdsNative) ends the
 * search; any other is passed over. The one difference from findNative: an executable whose
 * libalcove.so is missing beside it runs all the same (it does not use the library). */
export async function execCliParser(
  args: readonly string[],
  root: string | undefined,
): Promise<void> {
  if (Deno.env.get("ALCOVE_CLI_DRIVER") === "1") return;
  // An argument that is not UTF-8 reached JavaScript changed: its bytes go as they came.
  const given = args.some((a) => a.includes("\uFFFD")) ? rawArgs(args) : args;
  if (given === undefined) return;
  try {
    if (Deno.cwd().includes("\uFFFD")) return;
  } catch {
    return;
  }
  const dirs = nativeDirs(root);
  const libc = dirs === undefined ? undefined : openLibc();
  if (dirs === undefined || libc === undefined) return;
  try {
    for (const dir of dirs) {
      const helper = `${dir}alcove`;
      await execv(libc, helper, [helper, "--cli-parse", "--abi", String(ABI), "--", ...given]);
      if (holdsNative(dir)) return;
    }
  } finally {
    libc.close();
  }
}
