/**
 * The wire format (csrc/wire.h is the reference): frames with a 12-byte header and
 * a pipeline, and tagged values. Internal.
 *
 * @module
 */

/** Bytes of the fixed frame header. */
export const HEADER = 12;

/** Frame types towards the target. */
export const DOWN = { CALL: 1, STDIN: 2, EOF: 3, CALL_BY: 4, CLOSE_OUTPUT: 5 } as const;
/** The code of an EOF frame that drops the stdin not yet written instead of waiting for it. */
export const EOF_DISCARD = 1;
/** Frame types towards the host. */
export const UP = { REPLY: 1, STDOUT: 2, STDERR: 3, EVENT: 4, HELLO: 5 } as const;
/** Reply statuses. */
export const STATUS = {
  OK: 0,
  ERRNO: 1,
  BADARG: 2,
  UNSUPPORTED: 3,
  NOTCHILD: 4,
  NOTCONTROL: 5,
  DIED: 6,
  FILTERED: 7,
  SETUP: 8,
} as const;
/** Event kinds. */
export const EVENT = {
  EXIT: 1,
  TERMSIG: 2,
  SIGNAL: 3,
  STDIN_CLOSED: 4,
  STDOUT_CLOSED: 5,
  STDERR_CLOSED: 6,
  USAGE: 7,
} as const;
/** Value tags. PTR (an address in the host process) is only for calls run there. */
export const VAL = { INT: 1, BYTES: 2, LIST: 3, NULL: 4, CSTRUCT: 5, PTR: 6 } as const;
/** Kinds of cstruct segments: inline bytes, a pointer to zeroed bytes, a pointer to bytes. */
export const SEG = { INLINE: 0, ZEROED: 1, PTR: 2 } as const;

/** A cstruct read back after a call, told apart from a list. */
export class CstructValue {
  /** Inline segments as bytes, pointer segments as `{ ptr: contents }`. */
  constructor(readonly segments: (Uint8Array | { ptr: Uint8Array })[]) {}
}

/** A decoded value. */
export type Value = number | Uint8Array | null | CstructValue | Value[];

const encoder = new TextEncoder();

/** The parts joined into one new array (`total`: their summed length, when known). */
export function concat(
  parts: readonly Uint8Array[],
  total: number = parts.reduce((n, p) => n + p.length, 0),
): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Appends frames and values to one growing buffer. */
export class Writer {
  buf: Uint8Array;
  view: DataView;
  len = 0;

  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }

  /** Begins a frame; returns its offset for {@linkcode Writer.end}. */
  begin(type: number, code: number, id: number, pids: readonly number[]): number {
    const start = this.len;
    this.ensure(HEADER + 4 * pids.length);
    const v = this.view;
    v.setUint32(start, 0, true);
    this.buf[start + 4] = type;
    this.buf[start + 5] = pids.length;
    v.setUint16(start + 6, code, true);
    v.setUint32(start + 8, id, true);
    let p = start + HEADER;
    for (const pid of pids) {
      v.setUint32(p, pid, true);
      p += 4;
    }
    this.len = p;
    return start;
  }

  end(start: number): void {
    this.view.setUint32(start, this.len - start - 4, true);
  }

  int(v: number | bigint): void {
    this.ensure(9);
    this.buf[this.len] = VAL.INT;
    if (typeof v === "bigint") {
      this.view.setBigInt64(this.len + 1, v, true);
    } else {
      const hi = Math.floor(v / 4294967296);
      this.view.setUint32(this.len + 1, v - hi * 4294967296, true);
      this.view.setInt32(this.len + 5, hi, true);
    }
    this.len += 9;
  }

  bytes(v: Uint8Array | string): void {
    if (typeof v === "string") {
      // Worst case three bytes per UTF-16 unit.
      this.ensure(6 + v.length * 3);
      const r = encoder.encodeInto(v, this.buf.subarray(this.len + 5));
      this.buf[this.len] = VAL.BYTES;
      this.view.setUint32(this.len + 1, r.written, true);
      this.buf[this.len + 5 + r.written] = 0;
      this.len += 6 + r.written;
      return;
    }
    this.ensure(6 + v.length);
    this.buf[this.len] = VAL.BYTES;
    this.view.setUint32(this.len + 1, v.length, true);
    this.buf.set(v, this.len + 5);
    this.buf[this.len + 5 + v.length] = 0;
    this.len += 6 + v.length;
  }

  list(count: number): void {
    this.ensure(5);
    this.buf[this.len] = VAL.LIST;
    this.view.setUint32(this.len + 1, count, true);
    this.len += 5;
  }

  null(): void {
    this.u8(VAL.NULL);
  }

  /** A cstruct whose segments were checked (ffi/cstruct.ts checkCstruct). */
  cstruct(segments: readonly (Uint8Array | { readonly ptr: number | Uint8Array })[]): void {
    this.ensure(5);
    this.buf[this.len] = VAL.CSTRUCT;
    this.view.setUint32(this.len + 1, segments.length, true);
    this.len += 5;
    for (const seg of segments) {
      const data = seg instanceof Uint8Array ? seg : seg.ptr instanceof Uint8Array ? seg.ptr : null;
      const kind = seg instanceof Uint8Array ? SEG.INLINE : data ? SEG.PTR : SEG.ZEROED;
      const n = data ? data.length : (seg as { ptr: number }).ptr;
      this.ensure(5 + (data?.length ?? 0));
      this.buf[this.len] = kind;
      this.view.setUint32(this.len + 1, n, true);
      this.len += 5;
      if (data) {
        this.buf.set(data, this.len);
        this.len += data.length;
      }
    }
  }

  /** An address in the host process and the bytes there (calls run in the host only). */
  ptr(address: bigint, size: number): void {
    this.ensure(17);
    this.buf[this.len] = VAL.PTR;
    this.view.setBigUint64(this.len + 1, address, true);
    this.view.setBigUint64(this.len + 9, BigInt(size), true);
    this.len += 17;
  }

  /** The bytes written so far, copied. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }
}

/** Reads tagged values from a byte range. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly view: DataView,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** The next value, which must be a list: its length, its items left to read. */
  listLength(): number {
    if (this.pos + 5 > this.end || this.buf[this.pos] !== VAL.LIST) {
      throw new Error("Expected a list");
    }
    const n = this.view.getUint32(this.pos + 1, true);
    this.pos += 5;
    return n;
  }

  /** The next value, which must be bytes, as a view of the frame (not a copy). */
  bytesView(): Uint8Array {
    if (this.pos + 5 > this.end || this.buf[this.pos] !== VAL.BYTES) {
      throw new Error("Expected bytes");
    }
    const n = this.view.getUint32(this.pos + 1, true);
    const start = this.pos + 5;
    this.pos = start + n + 1;
    if (this.pos > this.end) throw new Error("Truncated bytes");
    return this.buf.subarray(start, start + n);
  }

  value(): Value {
    if (this.pos >= this.end) throw new Error("Truncated value");
    const tag = this.buf[this.pos++];
    switch (tag) {
      case VAL.INT: {
        const lo = this.view.getUint32(this.pos, true);
        const hi = this.view.getInt32(this.pos + 4, true);
        this.pos += 8;
        return hi * 4294967296 + lo;
      }
      case VAL.BYTES: {
        const n = this.view.getUint32(this.pos, true);
        const start = this.pos + 4;
        this.pos = start + n + 1;
        if (this.pos > this.end) throw new Error("Truncated bytes");
        return this.buf.slice(start, start + n);
      }
      case VAL.LIST: {
        const n = this.view.getUint32(this.pos, true);
        this.pos += 4;
        const out: Value[] = [];
        for (let i = 0; i < n; i++) out.push(this.value());
        return out;
      }
      case VAL.NULL:
        return null;
      case VAL.CSTRUCT: {
        const n = this.view.getUint32(this.pos, true);
        this.pos += 4;
        const segments: (Uint8Array | { ptr: Uint8Array })[] = [];
        for (let i = 0; i < n; i++) {
          if (this.pos + 5 > this.end) throw new Error("Truncated cstruct");
          const kind = this.buf[this.pos];
          const len = this.view.getUint32(this.pos + 1, true);
          this.pos += 5;
          if (kind === SEG.ZEROED) {
            segments.push({ ptr: new Uint8Array(len) });
            continue;
          }
          if (this.pos + len > this.end) throw new Error("Truncated cstruct");
          const data = this.buf.slice(this.pos, this.pos + len);
          this.pos += len;
          segments.push(kind === SEG.INLINE ? data : { ptr: data });
        }
        return new CstructValue(segments);
      }
      default:
        throw new Error(`Unknown value tag ${tag}`);
    }
  }

  get done(): boolean {
    return this.pos >= this.end;
  }
}
