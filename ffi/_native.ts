/**
 * Where the native files are, and the Deno.dlopen symbol table of libalcove.so.
 * Internal: everything else goes through the driver or `local`.
 *
 * @module
 */

/** The ABI this TypeScript expects from libalcove.so and the control process. */
export const ABI = 2;

/** libalcove.so's exported symbols, as their C declarations. */
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
} as const satisfies Deno.ForeignLibraryInterface;

/** The build output folder of this checkout. */
export function localBuildDir(): string {
  return new URL("../build/", import.meta.url).pathname;
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

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Finds the native files: the folder (or the .so inside it) named by
 * ALCOVE_LIB_PATH, then this checkout's build folder. Throws naming what was
 * tried and the command that builds them.
 */
export function findNative(): NativePaths {
  const tried: string[] = [];
  const candidates: string[] = [];
  let env: string | undefined;
  try {
    env = Deno.env.get("ALCOVE_LIB_PATH");
  } catch {
    env = undefined;
  }
  if (env) {
    const dir = env.endsWith(".so") ? env.slice(0, env.lastIndexOf("/") + 1) || "./" : env;
    candidates.push(dir.endsWith("/") ? dir : dir + "/");
  }
  candidates.push(localBuildDir());
  for (const dir of candidates) {
    const library = dir + "libalcove.so";
    const helper = dir + "alcove";
    if (exists(library) && exists(helper)) return { dir, library, helper };
    tried.push(dir);
  }
  throw new Error(
    `Cannot find libalcove.so and the alcove executable (tried ${
      tried.join(", ")
    }): build them with "deno task build", or point ALCOVE_LIB_PATH at their folder`,
  );
}

/** Opens libalcove.so and checks its ABI. Each call returns a handle of its own (the
 * library itself is loaded once by the system): the caller closes it. */
export function openLibrary(): Deno.DynamicLibrary<typeof SYMBOLS> {
  const { library } = findNative();
  const lib = Deno.dlopen(library, SYMBOLS);
  const abi = lib.symbols.alcove_abi();
  if (abi !== ABI) {
    lib.close();
    throw new Error(
      `Cannot use ${library}: its ABI is ${abi}, this module needs ${ABI}; rebuild with "deno task build"`,
    );
  }
  return lib;
}
