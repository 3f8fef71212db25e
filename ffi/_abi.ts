/**
 * The ABI this TypeScript expects from libalcove.so and the control process executable
 * (ALCOVE_ABI in csrc/alcove.h), on its own so that the command line's fast path
 * (ffi/cli/_fast_path.ts) has it without loading anything else. Internal.
 *
 * @module
 */

/** The ABI this TypeScript expects from libalcove.so and the control process. */
export const ABI = 17;
