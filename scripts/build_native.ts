/**
 * Builds the prebuilt native files that ship with the module, for linux-x64 and
 * linux-arm64 (cross-compiled with gcc-aarch64-linux-gnu, which
 * scripts/install_deps.sh installs): `native/linux-<arch>/alcove` (a static
 * executable where the C library allows it) and `native/linux-<arch>/libalcove.so`,
 * plus `native/hashes.json`, the SHA-256 of each file, which a module imported from
 * a URL checks before it runs a downloaded copy. `native/` is git-ignored; the npm
 * build copies it, and `deno publish` publishes it beside the module.
 *
 * @example
 * ```sh
 * deno run -A scripts/build_native.ts
 * ```
 * @module
 */
import { PLATFORMS } from "./platforms.ts";
import { NATIVE_FILES, platformDir, sha256Hex } from "../ffi/_native.ts";

const root = new URL("..", import.meta.url).pathname;

/** Each shipped architecture: its folder under build-*, and the make variables. */
const TARGETS: { arch: string; out: string; make: string[] }[] = [
  { arch: "x86_64", out: "build", make: [] },
  { arch: "aarch64", out: "build-npm-aarch64", make: PLATFORMS.aarch64.make },
];

async function make(args: string[]): Promise<void> {
  const { code } = await new Deno.Command("make", {
    args: [`-j${navigator.hardwareConcurrency ?? 2}`, "--no-print-directory", "-s", ...args],
    cwd: root + "csrc",
  }).spawn().status;
  if (code !== 0) throw new Error(`Cannot build the native files: make ${args.join(" ")} failed`);
}

const hashes: Record<string, string> = {};
await Deno.remove(root + "native", { recursive: true }).catch(() => {});
for (const { arch, out, make: vars } of TARGETS) {
  if (Deno.build.arch !== arch || vars.length > 0) {
    // A cross build: both files for that architecture, in a folder of their own.
    await make([`OUT=${root}${out}`, ...vars]);
  } else await make([`OUT=${root}${out}`]);
  const dir = `native/${platformDir(arch)}`;
  Deno.mkdirSync(root + dir, { recursive: true });
  for (const f of NATIVE_FILES) {
    Deno.copyFileSync(`${root}${out}/${f}`, `${root}${dir}/${f}`);
    hashes[`${dir}/${f}`] = await sha256Hex(Deno.readFileSync(`${root}${dir}/${f}`));
  }
}
Deno.writeTextFileSync(root + "native/hashes.json", JSON.stringify(hashes, null, 2) + "\n");
console.log(`native files for ${TARGETS.map((t) => platformDir(t.arch)).join(", ")} in native/`);
