/**
 * C strings for native code that another thread reads through raw addresses, whatever the
 * runtime: an argument vector laid out in one buffer, and a way to keep memory reachable
 * until such a call has returned. Internal.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Memory that native code on another thread reads through raw addresses, kept reachable
 * from the module until that call ends. */
const pinned = new Set<unknown>();

/** `call`'s result, with `memory` kept reachable until it comes: for the buffers of a
 * nonblocking call, which native code on another thread reads. */
export async function holding<T>(memory: unknown, call: T | Promise<T>): Promise<T> {
  pinned.add(memory);
  try {
    return await call;
  } finally {
    pinned.delete(memory);
  }
}

/** execv(2)'s arguments: `path` then the strings of `argv` (UTF-8, or bytes as given), each
 * ended by a NUL, one after
 * the other in `bytes` (so `bytes` is the path), and `pointers`, argv's addresses in `bytes`
 * ending with NULL. One buffer, so that one address is asked of the runtime (`address`), not
 * one a string: each of those calls costs the command line's start. Pointers are 64 bits:
 * the architectures built are x64 and arm64. */
export function cArgv(
  path: string,
  argv: readonly (string | Uint8Array)[],
  address: (bytes: Uint8Array<ArrayBuffer>) => bigint,
): { bytes: Uint8Array<ArrayBuffer>; pointers: BigUint64Array<ArrayBuffer> } {
  const strings = [path, ...argv];
  let size = 0;
  for (const s of strings) size += (typeof s === "string" ? s.length * 3 : s.length) + 1;
  const bytes = new Uint8Array(size);
  const offsets: number[] = [];
  let at = 0;
  for (const s of strings) {
    offsets.push(at);
    if (typeof s === "string") at += encoder.encodeInto(s, bytes.subarray(at)).written + 1;
    else {
      bytes.set(s, at);
      at += s.length + 1;
    }
  }
  // Asked once the bytes are written: Bun may move a buffer's storage while it is filled
  // through a view after its address was taken.
  const base = address(bytes);
  const pointers = new BigUint64Array(strings.length); // its last stays 0: NULL
  for (let i = 1; i < strings.length; i++) pointers[i - 1] = base + BigInt(offsets[i]);
  return { bytes, pointers };
}

/** The last `count` NUL-separated words of a /proc/PID/cmdline (a program's own arguments
 * are the last ones), as views of it; all of them when there are fewer. */
export function lastWords(cmdline: Uint8Array, count: number): Uint8Array[] {
  const words: Uint8Array[] = [];
  for (let at = 0; at < cmdline.length;) {
    const end = cmdline.indexOf(0, at);
    words.push(cmdline.subarray(at, end < 0 ? cmdline.length : end));
    at = end < 0 ? cmdline.length : end + 1;
  }
  return words.slice(Math.max(0, words.length - count));
}
