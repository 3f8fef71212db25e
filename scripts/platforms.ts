/**
 * The targets the control process is built and tested for besides this machine's
 * default (`scripts/build.ts --platform NAME`, `scripts/test.ts --platform NAME`).
 *
 * @example
 * ```ts
 * import { PLATFORMS } from "./platforms.ts";
 * console.log(PLATFORMS.musl.make); // ["CC=musl-gcc", "KERNEL_HEADERS=1"]
 * ```
 * @module
 */

/** How one target is built and run. */
export interface Platform {
  /** What it is, for messages. */
  description: string;
  /** Variables for csrc/Makefile. */
  make: string[];
  /** An emulator that runs its control process where the kernel cannot (qemu-user): always
   * for another architecture, only when needed for 32-bit x86 (a kernel without IA32
   * emulation). */
  emulator: string[];
  /** The test files `--platform NAME` takes by default (the whole suite when absent). */
  core?: string[];
  /** The short run the whole suite ends with. */
  ci: string[];
}

/** What a run under qemu-user takes: calls, stdio, cstructs, bad input, files, platform
 * differences. (qemu-user cannot create namespaces, install seccomp filters, trace, or be a
 * subreaper, which most other files need.) */
const CORE = [
  "tests/bad_input_test.ts",
  "tests/calls_files_test.ts",
  "tests/calls_system_test.ts",
  "tests/cstruct_test.ts",
  "tests/driver_test.ts",
  "tests/platform_test.ts",
  "tests/stdio_test.ts",
];

/** The short run of every target in the whole suite: calls and stdio, cstructs and the word
 * size, the platform's differences. */
const CI = ["tests/cstruct_test.ts", "tests/driver_test.ts", "tests/platform_test.ts"];

/** Every target by name. */
export const PLATFORMS: Record<string, Platform> = {
  aarch64: {
    description: "arm64 (gcc-aarch64-linux-gnu)",
    make: ["CC=aarch64-linux-gnu-gcc"],
    emulator: ["qemu-aarch64-static"],
    core: CORE,
    ci: CI,
  },
  m32: {
    description: "32-bit x86 (gcc -m32)",
    make: ["ARCH_FLAGS=-m32", "KERNEL_HEADERS=1"],
    emulator: ["qemu-i386-static"],
    core: CORE,
    ci: CI,
  },
  musl: {
    description: "musl (musl-gcc)",
    make: ["CC=musl-gcc", "KERNEL_HEADERS=1"],
    emulator: [],
    ci: CI,
  },
  portable: {
    description: "the portable fallbacks other Unixes use, built on Linux",
    make: ["PORTABLE=1"],
    emulator: [],
    ci: CI,
  },
};
