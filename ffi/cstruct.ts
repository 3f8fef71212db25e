/**
 * Struct arguments with pointers ("cstructs", as alcove calls them): an array of
 * segments laid out back to back in the memory of the process that runs the call.
 * A segment is a `Uint8Array` (bytes inline in the struct) or `{ ptr }`: a pointer
 * to `ptr` zeroed bytes, or to a copy of the bytes `ptr` holds (0 or empty is NULL).
 * The caller pads (see {@linkcode padding}); after the call every segment comes back
 * with its contents, pointers as `{ ptr: contentsAfterCall }`.
 *
 * prctl, ioctl, ptrace, seccomp, connect and alloc take cstructs; this module also
 * builds the common structs (`sock_fprog`, `sockaddr_un`, `ifreq`, `rlimit`,
 * `timeval`) and encodes native integers.
 *
 * @example
 * ```ts
 * import { Alcove, bytes } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const { cstruct } = await drv.alloc([], [bytes("some data"), { ptr: 6 }, { ptr: bytes("stuff") }]);
 * console.log(cstruct); // [Uint8Array "some data", { ptr: Uint8Array(6) }, { ptr: Uint8Array "stuff" }]
 * ```
 * @module
 */

/** Bytes of a pointer (and of `long`) on this platform.
 *
 * @example
 * ```ts
 * import { WORD_SIZE } from "@alcove/alcove";
 * console.log(WORD_SIZE); // 8
 * ```
 */
export const WORD_SIZE = 8;

/** Most segments one cstruct may have.
 *
 * @example
 * ```ts
 * import { CSTRUCT_MAX_SEGMENTS } from "@alcove/alcove";
 * console.log(CSTRUCT_MAX_SEGMENTS); // 64
 * ```
 */
export const CSTRUCT_MAX_SEGMENTS = 64;

/** Most bytes one cstruct may take: inline bytes, pointer words and pointed-to bytes.
 *
 * @example
 * ```ts
 * import { CSTRUCT_MAX_BYTES } from "@alcove/alcove";
 * console.log(CSTRUCT_MAX_BYTES); // 16777216
 * ```
 */
export const CSTRUCT_MAX_BYTES = 16 * 1024 * 1024;

/** One segment of a cstruct: inline bytes, or a pointer to `ptr` zeroed bytes or to a
 * copy of the bytes of `ptr` (0 or an empty array is a NULL pointer).
 *
 * @example
 * ```ts
 * import { bytes, type Segment } from "@alcove/alcove";
 * const name: Segment = bytes("eth0");
 * const out: Segment = { ptr: 16 };
 * ```
 */
export type Segment = Uint8Array | { readonly ptr: number | Uint8Array };

/** A struct with pointers: segments laid out back to back, padded by the caller.
 *
 * @example
 * ```ts
 * import { bytes, type Cstruct, u16, padding } from "@alcove/alcove";
 * const header = u16(3);
 * const prog: Cstruct = [header, padding(header.length), { ptr: new Uint8Array(24) }];
 * ```
 */
export type Cstruct = readonly Segment[];

/** A segment after the call: inline bytes, or a pointer with the bytes it points to.
 *
 * @example
 * ```ts
 * import type { ReadSegment } from "@alcove/alcove";
 * const seg: ReadSegment = { ptr: new Uint8Array(6) };
 * ```
 */
export type ReadSegment = Uint8Array | { ptr: Uint8Array };

/** A cstruct after the call: the same segments with their contents.
 *
 * @example
 * ```ts
 * import type { CstructReadBack } from "@alcove/alcove";
 * const back: CstructReadBack = [new Uint8Array(2), { ptr: new Uint8Array(8) }];
 * ```
 */
export type CstructReadBack = ReadSegment[];

/** An argument passed as one machine word (prctl's arg2..arg5, ioctl's arg, ptrace's
 * addr and data, seccomp's args): a number by value, a constant name, bytes (a
 * pointer to a copy), a cstruct (a pointer to the laid-out struct), or null (NULL).
 *
 * @example
 * ```ts
 * import { bytes, type StructArg } from "@alcove/alcove";
 * const args: StructArg[] = [0, "SECCOMP_MODE_FILTER", bytes("name"), [{ ptr: 4 }], null];
 * ```
 */
export type StructArg = number | bigint | string | Uint8Array | Cstruct | null;

/** What a {@linkcode StructArg} is after the call: a number as it was, bytes and
 * cstructs read back, null as null.
 *
 * @example
 * ```ts
 * import type { ReadBack } from "@alcove/alcove";
 * const v: ReadBack = new Uint8Array([120, 0]);
 * ```
 */
export type ReadBack = number | Uint8Array | CstructReadBack | null;

/** A socket address for connect: bytes (e.g. {@linkcode sockaddrUn}), a cstruct, or
 * null (an AF_UNSPEC address: dissolves the association of a connected socket).
 *
 * @example
 * ```ts
 * import { sockaddrUn, type Sockaddr } from "@alcove/alcove";
 * const addr: Sockaddr = sockaddrUn("/run/app.sock");
 * ```
 */
export type Sockaddr = Uint8Array | Cstruct | null;

/** The result of prctl: its return value and arg2..arg5 read back.
 *
 * @example
 * ```ts
 * import type { PrctlResult } from "@alcove/alcove";
 * const r: PrctlResult = { ret: 0, arg2: new Uint8Array(16), arg3: 0, arg4: 0, arg5: 0 };
 * ```
 */
export interface PrctlResult {
  /** prctl's return value. */
  ret: number;
  /** arg2 after the call. */
  arg2: ReadBack;
  /** arg3 after the call. */
  arg3: ReadBack;
  /** arg4 after the call. */
  arg4: ReadBack;
  /** arg5 after the call. */
  arg5: ReadBack;
}

/** The result of ioctl: its return value and the argument read back.
 *
 * @example
 * ```ts
 * import type { IoctlResult } from "@alcove/alcove";
 * const r: IoctlResult = { ret: 0, arg: new Uint8Array(4) };
 * ```
 */
export interface IoctlResult {
  /** ioctl's return value. */
  ret: number;
  /** The argument after the call. */
  arg: ReadBack;
}

/** The result of ptrace: its return value (the word read, for the PEEK requests) and
 * addr and data read back.
 *
 * @example
 * ```ts
 * import type { PtraceResult } from "@alcove/alcove";
 * const r: PtraceResult = { ret: 0, addr: 0, data: 0 };
 * ```
 */
export interface PtraceResult {
  /** ptrace's return value. */
  ret: number;
  /** addr after the call. */
  addr: ReadBack;
  /** data after the call. */
  data: ReadBack;
}

/** The result of alloc: the laid-out struct's memory as the callee saw it (pointer
 * segments hold the addresses of their buffers, in that process) and the read-back.
 *
 * @example
 * ```ts
 * import type { AllocResult } from "@alcove/alcove";
 * function pointerCount(r: AllocResult) { return r.cstruct.filter((s) => "ptr" in s).length; }
 * ```
 */
export interface AllocResult {
  /** The struct's bytes. */
  bytes: Uint8Array;
  /** Every segment's contents. */
  cstruct: CstructReadBack;
}

const encoder = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Bytes from a string (UTF-8, no terminating NUL), an array of byte values, or a copy of
 * a Uint8Array.
 *
 * @example
 * ```ts
 * import { bytes } from "@alcove/alcove";
 * console.log(bytes("foo")); // Uint8Array(3) [102, 111, 111]
 * console.log(bytes([1, 2])); // Uint8Array(2) [1, 2]
 * ```
 */
export function bytes(value: string | readonly number[] | Uint8Array): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof Uint8Array) return value.slice();
  if (!Array.isArray(value)) {
    throw new TypeError("bytes: value must be a string, an array of byte values or a Uint8Array");
  }
  for (const b of value) {
    if (!Number.isInteger(b) || b < 0 || b > 255) {
      throw new RangeError(`bytes: ${String(b)} is not a byte value in [0, 255]`);
    }
  }
  return Uint8Array.from(value);
}

/**
 * A C string: the UTF-8 bytes of `text` and a terminating NUL, zero-padded to `size`
 * bytes when given (like a `char name[size]` field).
 *
 * @example
 * ```ts
 * import { cstring } from "@alcove/alcove";
 * console.log(cstring("tap0", 16).length); // 16
 * ```
 */
export function cstring(text: string | Uint8Array, size?: number): Uint8Array {
  const b = typeof text === "string" ? encoder.encode(text) : text;
  if (b.includes(0)) throw new TypeError("cstring: text contains a NUL byte");
  const n = size ?? b.length + 1;
  if (!Number.isInteger(n) || n < b.length + 1) {
    throw new RangeError(`cstring: ${b.length} bytes and a NUL do not fit in ${n} bytes`);
  }
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

/**
 * The text of a C string field: the bytes up to the first NUL, decoded as UTF-8.
 *
 * @example
 * ```ts
 * import { cstring, readCstring } from "@alcove/alcove";
 * console.log(readCstring(cstring("tap0", 16))); // "tap0"
 * ```
 */
export function readCstring(value: Uint8Array | ReadBack): string {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError("readCstring: value must be a Uint8Array");
  }
  const end = value.indexOf(0);
  return new TextDecoder().decode(end < 0 ? value : value.subarray(0, end));
}

function checkInt(what: string, v: number | bigint, bits: number): bigint {
  const b = typeof v === "bigint" ? v : Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (b === undefined) throw new TypeError(`${what}: ${String(v)} is not an integer`);
  const lo = -(1n << BigInt(bits - 1));
  const hi = (1n << BigInt(bits)) - 1n;
  if (b < lo || b > hi) {
    throw new RangeError(`${what}: ${String(v)} does not fit in ${bits} bits`);
  }
  return b;
}

function native(what: string, size: number, v: number | bigint): Uint8Array {
  const b = checkInt(what, v, size * 8);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  if (size === 8) view.setBigUint64(0, BigInt.asUintN(64, b), LITTLE_ENDIAN);
  else if (size === 4) view.setUint32(0, Number(BigInt.asUintN(32, b)), LITTLE_ENDIAN);
  else if (size === 2) view.setUint16(0, Number(BigInt.asUintN(16, b)), LITTLE_ENDIAN);
  else out[0] = Number(BigInt.asUintN(8, b));
  return out;
}

/** One byte (signed or unsigned).
 *
 * @example
 * ```ts
 * import { u8 } from "@alcove/alcove";
 * console.log(u8(255)); // Uint8Array(1) [255]
 * ```
 */
export function u8(value: number): Uint8Array {
  return native("u8", 1, value);
}

/** A 16-bit integer (signed or unsigned) in native byte order.
 *
 * @example
 * ```ts
 * import { u16 } from "@alcove/alcove";
 * console.log(u16(1)); // Uint8Array(2) [1, 0] on little-endian machines
 * ```
 */
export function u16(value: number): Uint8Array {
  return native("u16", 2, value);
}

/** A 32-bit integer (signed or unsigned) in native byte order: an `int` field.
 *
 * @example
 * ```ts
 * import { u32 } from "@alcove/alcove";
 * console.log(u32(-1)); // Uint8Array(4) [255, 255, 255, 255]
 * ```
 */
export function u32(value: number): Uint8Array {
  return native("u32", 4, value);
}

/** A 64-bit integer (signed or unsigned) in native byte order: a `long` field.
 *
 * @example
 * ```ts
 * import { u64 } from "@alcove/alcove";
 * console.log(u64(2n ** 40n).length); // 8
 * ```
 */
export function u64(value: number | bigint): Uint8Array {
  return native("u64", 8, value);
}

/**
 * Zero bytes that align what follows `size` bytes of struct to `align` bytes (the
 * word size by default): the padding a C compiler would insert before a pointer or a
 * `long`. Empty when `size` is already aligned.
 *
 * @example
 * ```ts
 * import { padding, u16 } from "@alcove/alcove";
 * const count = u16(4);
 * console.log(padding(count.length).length); // 6: the pointer that follows starts at 8
 * ```
 */
export function padding(size: number, align: number = WORD_SIZE): Uint8Array {
  if (!Number.isInteger(size) || size < 0) {
    throw new RangeError(`padding: size must be a non-negative integer, got ${size}`);
  }
  if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
    throw new RangeError(`padding: align must be a power of two, got ${align}`);
  }
  return new Uint8Array((align - size % align) % align);
}

/**
 * The bytes a cstruct takes when laid out: inline segments at their length, pointer
 * segments at the word size.
 *
 * @example
 * ```ts
 * import { bytes, cstructSize } from "@alcove/alcove";
 * console.log(cstructSize([bytes("abc"), { ptr: 100 }])); // 11
 * ```
 */
export function cstructSize(cstruct: Cstruct): number {
  return checkCstruct(cstruct).reduce(
    (n, s) => n + (s instanceof Uint8Array ? s.length : WORD_SIZE),
    0,
  );
}

/**
 * Appends the padding that aligns the end of a cstruct to `align` bytes (the word size
 * by default), returning a new array.
 *
 * @example
 * ```ts
 * import { alignCstruct, cstructSize, u16 } from "@alcove/alcove";
 * console.log(cstructSize(alignCstruct([u16(1)]))); // 8
 * ```
 */
export function alignCstruct(cstruct: Cstruct, align: number = WORD_SIZE): Segment[] {
  const pad = padding(cstructSize(cstruct), align);
  return pad.length === 0 ? [...cstruct] : [...cstruct, pad];
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "a Uint8Array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 40))}`;
  return typeof v === "number" ? `the number ${v}` : `a value of type ${typeof v}`;
}

/**
 * Checks a cstruct before it is sent, with an error naming `where` (e.g. "prctl: arg2")
 * and the segment: an array of 1 to 64 segments, each a `Uint8Array` or `{ ptr }` with
 * `ptr` a size or a `Uint8Array` (no nested pointers), 16 MiB in all at most. Returns
 * the segments.
 *
 * @example
 * ```ts
 * import { bytes, checkCstruct } from "@alcove/alcove";
 * checkCstruct([bytes("ok"), { ptr: 4 }]);
 * try { checkCstruct([{ ptr: -1 }]); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function checkCstruct(value: unknown, where = "cstruct"): Segment[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${where} must be an array of segments, got ${describe(value)}`);
  }
  if (value.length === 0) {
    throw new RangeError(`${where} is a cstruct with no segments: give at least one`);
  }
  if (value.length > CSTRUCT_MAX_SEGMENTS) {
    throw new RangeError(
      `${where} is a cstruct of ${value.length} segments, more than ${CSTRUCT_MAX_SEGMENTS}`,
    );
  }
  let total = 0;
  for (const [i, seg] of value.entries()) {
    if (seg instanceof Uint8Array) {
      total += seg.length;
      continue;
    }
    if (typeof seg !== "object" || seg === null || Array.isArray(seg) || !("ptr" in seg)) {
      throw new TypeError(
        `${where}[${i}] must be a Uint8Array or { ptr: size | Uint8Array }, got ${describe(seg)}`,
      );
    }
    const ptr: unknown = seg.ptr;
    if (ptr instanceof Uint8Array) {
      total += WORD_SIZE + ptr.length;
    } else if (typeof ptr === "number") {
      if (!Number.isInteger(ptr) || ptr < 0) {
        throw new RangeError(
          `${where}[${i}].ptr must be a non-negative integer size, got ${describe(ptr)}`,
        );
      }
      total += WORD_SIZE + Math.min(ptr, CSTRUCT_MAX_BYTES + 1);
    } else if (Array.isArray(ptr) || (typeof ptr === "object" && ptr !== null)) {
      throw new TypeError(
        `${where}[${i}].ptr is ${describe(ptr)}: nested pointers are not supported, ` +
          "a pointer holds a size or bytes",
      );
    } else {
      throw new TypeError(
        `${where}[${i}].ptr must be a size or a Uint8Array, got ${describe(ptr)}`,
      );
    }
    if (total > CSTRUCT_MAX_BYTES) break;
  }
  if (total > CSTRUCT_MAX_BYTES) {
    throw new RangeError(`${where} is a cstruct larger than ${CSTRUCT_MAX_BYTES} bytes (16 MiB)`);
  }
  return value as Segment[];
}

/**
 * A `struct sockaddr_un` for connect: AF_UNIX, then the path and its NUL. With
 * `{ abstract: true }` the name is in the abstract namespace (a leading NUL, no
 * terminating one).
 *
 * @example
 * ```ts
 * import { sockaddrUn } from "@alcove/alcove";
 * const addr = sockaddrUn("/tmp/app.sock");
 * console.log(addr.length); // 2 + 13 + 1
 * ```
 */
export function sockaddrUn(
  path: string | Uint8Array,
  options: { abstract?: boolean } = {},
): Uint8Array {
  const p = typeof path === "string" ? encoder.encode(path) : path;
  if (!options.abstract && p.includes(0)) {
    throw new TypeError("sockaddrUn: path contains a NUL byte");
  }
  // sun_path is 108 bytes: a path and its NUL, or a NUL and an abstract name.
  const max = 107;
  if (p.length === 0 || p.length > max) {
    throw new RangeError(`sockaddrUn: path must be 1 to ${max} bytes, got ${p.length}`);
  }
  const out = new Uint8Array(2 + p.length + 1);
  out.set(u16(1)); // AF_UNIX is 1 on every Linux architecture
  out.set(p, options.abstract ? 3 : 2);
  return out;
}

/** Bytes of `struct ifreq` on Linux: a 16-byte name and a 24-byte union. */
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;

/**
 * A `struct ifreq` as a cstruct of two segments: the interface name (16 bytes,
 * NUL-padded) and the 24-byte union, from `data` (zero-padded; e.g. `u16(flags)` for
 * `ifr_flags`). The read-back's first segment holds the name the kernel chose.
 *
 * @example
 * ```ts
 * import { Alcove, ifreq, readCstring, u16 } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const pid = await drv.clone([], "CLONE_NEWNET");
 * const fd = await drv.open([pid], "/dev/net/tun", "O_RDWR", 0);
 * const IFF_TAP = drv.constants.lookup("ioctl", "IFF_TAP")!;
 * const IFF_NO_PI = drv.constants.lookup("ioctl", "IFF_NO_PI")!;
 * const { arg } = await drv.ioctl([pid], fd, "TUNSETIFF", ifreq("tap0", u16(IFF_TAP | IFF_NO_PI)));
 * console.log(readCstring((arg as Uint8Array[])[0])); // "tap0"
 * ```
 */
export function ifreq(name: string, data: Uint8Array = new Uint8Array(0)): [
  Uint8Array,
  Uint8Array,
] {
  const n = encoder.encode(name);
  if (n.length >= IFNAMSIZ) {
    throw new RangeError(`ifreq: name must be at most ${IFNAMSIZ - 1} bytes, got ${n.length}`);
  }
  if (data.length > IFREQ_SIZE - IFNAMSIZ) {
    throw new RangeError(`ifreq: data must be at most ${IFREQ_SIZE - IFNAMSIZ} bytes`);
  }
  const union = new Uint8Array(IFREQ_SIZE - IFNAMSIZ);
  union.set(data);
  return [cstring(n, IFNAMSIZ), union];
}

const RLIM_INFINITY = (1n << 64n) - 1n;

function rlimField(what: string, v: number | bigint): bigint {
  if (v === Infinity) return RLIM_INFINITY;
  const b = checkInt(what, v, 64);
  if (b < 0n) throw new RangeError(`${what} must not be negative, got ${String(v)}`);
  return b;
}

/**
 * A `struct rlimit` (two 64-bit words, `Infinity` for RLIM_INFINITY), e.g. for
 * prlimit-style calls that take a pointer.
 *
 * @example
 * ```ts
 * import { rlimit } from "@alcove/alcove";
 * console.log(rlimit(64, Infinity).length); // 16
 * ```
 */
export function rlimit(cur: number | bigint, max: number | bigint): Uint8Array {
  const out = new Uint8Array(16);
  out.set(u64(rlimField("rlimit: cur", cur)));
  out.set(u64(rlimField("rlimit: max", max)), 8);
  return out;
}

/**
 * A `struct timeval` (seconds and microseconds, two 64-bit words).
 *
 * @example
 * ```ts
 * import { timeval } from "@alcove/alcove";
 * console.log(timeval(1, 500000).length); // 16
 * ```
 */
export function timeval(sec: number | bigint, usec: number | bigint = 0): Uint8Array {
  const us = checkInt("timeval: usec", usec, 64);
  if (us < 0n || us > 999999n) {
    throw new RangeError(`timeval: usec must be in [0, 999999], got ${String(usec)}`);
  }
  const out = new Uint8Array(16);
  out.set(u64(sec));
  out.set(u64(us), 8);
  return out;
}
