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
  /** A command prefix that runs its control process here (an emulator), if one is needed. */
  runner?: string[];
}

/** Every target by name. */
export const PLATFORMS: Record<string, Platform> = {
  aarch64: {
    description: "arm64 (gcc-aarch64-linux-gnu), run under qemu-aarch64-static",
    make: ["CC=aarch64-linux-gnu-gcc"],
    runner: ["qemu-aarch64-static"],
  },
  m32: {
    description: "32-bit x86 (gcc -m32)",
    make: ["ARCH_FLAGS=-m32", "KERNEL_HEADERS=1"],
  },
  musl: {
    description: "musl (musl-gcc)",
    make: ["CC=musl-gcc", "KERNEL_HEADERS=1"],
  },
  portable: {
    description: "the portable fallbacks other Unixes use, built on Linux",
    make: ["PORTABLE=1"],
  },
};
