/**
 * Where the native files are looked for: the rules that findNative (ffi/_native.ts) and the
 * command line's fast path (ffi/_runtime_exec.ts, which loads nothing else) share. Pure;
 * internal.
 *
 * @module
 */

/** The folder name of prebuilt files for an architecture, as npm spells it ("linux-x64"). */
export function platformDir(arch: string): string {
  const npmArch: Record<string, string> = { x86_64: "x64", aarch64: "arm64" };
  return `linux-${npmArch[arch] ?? arch}`;
}

/** The folder ALCOVE_LIB_PATH names, ending with "/": the variable's value, or the folder of
 * the .so it names. */
export function libPathDir(value: string): string {
  const dir = value.endsWith(".so") ? value.slice(0, value.lastIndexOf("/") + 1) || "./" : value;
  return dir.endsWith("/") ? dir : dir + "/";
}
