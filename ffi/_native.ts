/**
 * Where the native files are (libalcove.so and the control process executable),
 * and loading libalcove.so with its ABI and version checked. Internal: everything
 * else goes through the driver or `local`.
 *
 * @module
 */
import { type NativeLibrary, runtime } from "./_runtime.ts";

/** The ABI this TypeScript expects from libalcove.so and the control process. */
export const ABI = 6;

/** The version of this module; the native files must report the same. */
export const VERSION = "0.1.0";

/** The native files: the shared library and the control process executable. */
export interface NativePaths {
  /** Folder holding both. */
  dir: string;
  /** libalcove.so. */
  library: string;
  /** The root control process executable. */
  helper: string;
}

/** The folder name of prebuilt files for an architecture, as npm spells it ("linux-x64"). */
export function platformDir(arch: string): string {
  const npmArch: Record<string, string> = { x86_64: "x64", aarch64: "arm64" };
  return `linux-${npmArch[arch] ?? arch}`;
}

/** A folder next to this module, when the module is a local file. */
function besideModule(relative: string): string | undefined {
  const url = new URL(relative, import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
}

/** The build output folder of this checkout. */
export function localBuildDir(): string {
  return besideModule("../build/") ?? "build/";
}

/** The command that builds the native files from the shipped sources into `out`. */
export function buildCommand(out: string): string {
  const csrc = besideModule("../csrc/");
  return csrc === undefined ? `deno task build` : `sh ${csrc}build.sh ${out}`;
}

/**
 * Finds the native files: the folder (or the .so inside it) named by
 * ALCOVE_LIB_PATH, then this checkout's build folder, then the prebuilt files of
 * this architecture shipped with the package. Throws naming what was tried and
 * the command that builds them. A missing permission throws the runtime's own error.
 */
export function findNative(): NativePaths {
  const candidates: string[] = [];
  const env = runtime.env("ALCOVE_LIB_PATH");
  if (env) {
    const dir = env.endsWith(".so") ? env.slice(0, env.lastIndexOf("/") + 1) || "./" : env;
    candidates.push(dir.endsWith("/") ? dir : dir + "/");
  }
  candidates.push(localBuildDir());
  const arch = runtime.arch();
  const prebuilt = besideModule(`../native/${platformDir(arch)}/`);
  if (prebuilt) candidates.push(prebuilt);
  for (const dir of candidates) {
    const library = dir + "libalcove.so";
    const helper = dir + "alcove";
    if (runtime.isFile(library) && runtime.isFile(helper)) return { dir, library, helper };
  }
  const out = besideModule("../build/") ?? "build/";
  throw new Error(
    `Cannot find libalcove.so and the alcove executable for ${platformDir(arch)} (tried ${
      candidates.join(", ")
    }): build them with "${buildCommand(out)}", or point ALCOVE_LIB_PATH at their folder`,
  );
}

/** Opens libalcove.so and checks its ABI and version. Each call returns a handle of its
 * own (the library itself is loaded once by the system): the caller closes it. */
export function openLibrary(): NativeLibrary {
  const { library } = findNative();
  const lib = runtime.openLibrary(library);
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
