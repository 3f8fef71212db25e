/**
 * cstructs: the pure helpers, the argument checks, the layout and read-back through
 * alloc in a control process, and the C side's own checks (raw frames sent straight
 * to a control process, bypassing the TypeScript checks).
 */
import {
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertNotEquals,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  alignCstruct,
  bytes,
  checkCstruct,
  cstring,
  CSTRUCT_MAX_BYTES,
  CSTRUCT_MAX_SEGMENTS,
  cstructSize,
  ifreq,
  padding,
  readCstring,
  rlimit,
  sockaddrUn,
  sockFprog,
  timeval,
  u16,
  u32,
  u64,
  u8,
  WORD_SIZE,
} from "../mod.ts";
import { sockFprog as seccompSockFprog } from "../ffi/seccomp/bpf.ts";
import { sockFprog as exportedSockFprog } from "../ffi/_exports.ts";
import { assemble, retAllow } from "../ffi/seccomp/mod.ts";
import { CALLS } from "../ffi/_calls.ts";
import { concat, DOWN, Reader, SEG, STATUS, UP, VAL, Writer } from "../ffi/_wire.ts";
import { CONTROL_EXECUTABLE, le, RawControl, withDriver } from "./_helpers.ts";

const te = new TextEncoder();

Deno.test("bytes encodes strings, byte arrays and copies", () => {
  assertEquals(bytes("foo"), new Uint8Array([102, 111, 111]));
  assertEquals(bytes([0, 255]), new Uint8Array([0, 255]));
  const src = new Uint8Array([1, 2]);
  const copy = bytes(src);
  copy[0] = 9;
  assertEquals(src[0], 1);
  assertThrows(() => bytes([256]), RangeError, "not a byte value");
  assertThrows(() => bytes(5 as unknown as string), TypeError);
});

Deno.test("native integers, C strings and padding", () => {
  assertEquals(u8(255), new Uint8Array([255]));
  assertEquals(le(u16(0x1234)).getUint16(0, true), 0x1234);
  assertEquals(u32(-1), new Uint8Array([255, 255, 255, 255]));
  assertEquals(le(u64(2n ** 40n)).getBigUint64(0, true), 2n ** 40n);
  assertThrows(() => u16(65536), RangeError, "does not fit in 16 bits");
  assertThrows(() => u32(1.5), TypeError);
  assertEquals(cstring("ab"), new Uint8Array([97, 98, 0]));
  assertEquals(cstring("tap0", 16).length, 16);
  assertThrows(() => cstring("0123456789abcdef", 16), RangeError);
  assertThrows(() => cstring("a\0b"), TypeError, "NUL");
  assertEquals(readCstring(cstring("tap0", 16)), "tap0");
  assertEquals(readCstring(bytes("no nul")), "no nul");
  assertEquals(WORD_SIZE, 8);
  assertEquals(padding(2).length, 6);
  assertEquals(padding(8).length, 0);
  assertEquals(padding(5, 4).length, 3);
  assertThrows(() => padding(-1), RangeError);
  assertThrows(() => padding(1, 3), RangeError, "power of two");
  assertEquals(cstructSize([bytes("abc"), { ptr: 100 }, { ptr: bytes("x") }]), 19);
  assertEquals(cstructSize(alignCstruct([u16(1)])), 8);
  assertEquals(alignCstruct([u64(1)]).length, 1);
});

Deno.test("struct builders lay out sockaddr_un, ifreq, rlimit, timeval and sock_fprog", () => {
  const un = sockaddrUn("/tmp/x.sock");
  assertEquals(un.length, 2 + 11 + 1);
  assertEquals(le(un).getUint16(0, true), 1); // AF_UNIX
  assertEquals(readCstring(un.subarray(2)), "/tmp/x.sock");
  const abs = sockaddrUn("name", { abstract: true });
  assertEquals([...abs], [1, 0, 0, ...te.encode("name")]);
  assertThrows(() => sockaddrUn("x".repeat(108)), RangeError);
  assertThrows(() => sockaddrUn(""), RangeError);

  const [name, union] = ifreq("tap0", u16(0x1002));
  assertEquals(name.length, 16);
  assertEquals(union.length, 24);
  assertEquals(le(union).getUint16(0, true), 0x1002);
  assertThrows(() => ifreq("x".repeat(16)), RangeError);

  const rl = rlimit(64, Infinity);
  assertEquals(le(rl).getBigUint64(0, true), 64n);
  assertEquals(le(rl).getBigUint64(8, true), 2n ** 64n - 1n);
  assertThrows(() => rlimit(-1, 1), RangeError);
  const tv = timeval(3, 500000);
  assertEquals(le(tv).getBigInt64(0, true), 3n);
  assertEquals(le(tv).getBigInt64(8, true), 500000n);
  assertThrows(() => timeval(1, 1000000), RangeError);

  // One definition shared with the seccomp builder (in the sources: mod.ts serves their bundle).
  assertStrictEquals(exportedSockFprog, seccompSockFprog);
  const prog = assemble([retAllow()]);
  const [header, filter] = sockFprog(prog);
  assertEquals(header.length, 8); // u16 count padded to the word size
  assertEquals(le(header).getUint16(0, true), 1);
  assertEquals(filter, { ptr: prog });
  checkCstruct([header, filter]);
  assertEquals(sockFprog(prog, 4)[0], new Uint8Array([1, 0, 0, 0]));
  assertThrows(() => sockFprog(prog, 2 as 4), RangeError, "wordSize must be 4 or 8");
});

Deno.test("a sock_fprog laid out for the control process's word size is a struct sock_fprog there", async () => {
  await withDriver(async (drv) => {
    // The word size comes from the control process, not from this one.
    const elf = await Deno.readFile(await Deno.realPath(CONTROL_EXECUTABLE));
    assertEquals(drv.wordSize, elf[4] === 2 ? 8 : 4); // EI_CLASS: 1 is 32-bit, 2 is 64-bit
    const prog = assemble([retAllow(), retAllow()]);
    const r = await drv.alloc([], sockFprog(prog, drv.wordSize));
    // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the pointer
    // follows the count at the next word, and points at a copy of the program.
    assertEquals(r.bytes.length, 2 * drv.wordSize);
    assertEquals(le(r.bytes).getUint16(0, true), 2);
    const at = drv.wordSize === 8
      ? le(r.bytes).getBigUint64(8, true)
      : BigInt(le(r.bytes).getUint32(4, true));
    assertNotEquals(at, 0n);
    assertEquals(r.cstruct[1], { ptr: prog });
  });
});

Deno.test("checkCstruct refuses malformed cstructs with a clear error", () => {
  assertThrows(() => checkCstruct("x", "t: a"), TypeError, "t: a must be an array of segments");
  assertThrows(() => checkCstruct([], "t: a"), RangeError, "no segments");
  const many = Array.from({ length: CSTRUCT_MAX_SEGMENTS + 1 }, () => u8(0));
  assertThrows(() => checkCstruct(many), RangeError, "65 segments, more than 64");
  checkCstruct(many.slice(1));
  assertThrows(() => checkCstruct([{ ptr: { ptr: 4 } }]), TypeError, "nested pointers");
  assertThrows(() => checkCstruct([{ ptr: [u8(1)] }]), TypeError, "nested pointers");
  assertThrows(() => checkCstruct([{ ptr: -1 }]), RangeError, "non-negative integer size");
  assertThrows(() => checkCstruct([{ ptr: 1.5 }]), RangeError);
  assertThrows(() => checkCstruct([{ ptr: "4" }]), TypeError, "must be a size or a Uint8Array");
  assertThrows(() => checkCstruct([{ size: 4 }]), TypeError, "[0] must be a Uint8Array or");
  assertThrows(() => checkCstruct([u8(1), "x"]), TypeError, "[1] must be");
  assertThrows(() => checkCstruct([{ ptr: CSTRUCT_MAX_BYTES }]), RangeError, "16 MiB");
  assertThrows(
    () =>
      checkCstruct([
        new Uint8Array(CSTRUCT_MAX_BYTES / 2),
        new Uint8Array(CSTRUCT_MAX_BYTES / 2 + 1),
      ]),
    RangeError,
    "16 MiB",
  );
  checkCstruct([{ ptr: CSTRUCT_MAX_BYTES - WORD_SIZE }]);
});

Deno.test("alloc lays out a cstruct in a control process and reads it back", async () => {
  await withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const cstruct = [bytes("some data"), { ptr: 6 }, { ptr: bytes("stuff") }, bytes("foo")];
    const r = await drv.alloc([pid], cstruct);
    assertEquals(r.cstruct, [
      bytes("some data"),
      { ptr: new Uint8Array(6) },
      { ptr: bytes("stuff") },
      bytes("foo"),
    ]);
    // Back to back: 9 inline bytes, two pointer words of the control process, 3 inline bytes.
    const word = drv.wordSize;
    assertEquals(r.bytes.length, 9 + 2 * word + 3);
    assertEquals(r.bytes.subarray(0, 9), bytes("some data"));
    assertEquals(r.bytes.subarray(9 + 2 * word), bytes("foo"));
    const pointer = (at: number) =>
      word === 8 ? le(r.bytes).getBigUint64(at, true) : BigInt(le(r.bytes).getUint32(at, true));
    const p1 = pointer(9);
    const p2 = pointer(9 + word);
    assertNotEquals(p1, 0n);
    assertNotEquals(p2, 0n);
    assertNotEquals(p1, p2);

    // 0 and an empty array are NULL; they come back as empty pointers.
    const n = await drv.alloc([pid], [{ ptr: 0 }, { ptr: new Uint8Array(0) }, new Uint8Array(0)]);
    assertEquals(n.bytes, new Uint8Array(2 * word));
    assertEquals(n.cstruct, [{ ptr: new Uint8Array(0) }, { ptr: new Uint8Array(0) }, bytes("")]);

    // The limits are reachable: 64 segments, and a 16 MiB struct in all.
    const most = await drv.alloc([pid], Array.from({ length: 64 }, (_, i) => u8(i)));
    assertEquals(most.bytes, Uint8Array.from({ length: 64 }, (_, i) => i));
    const big = await drv.alloc([pid], [{ ptr: CSTRUCT_MAX_BYTES - WORD_SIZE }]);
    assertEquals((big.cstruct[0] as { ptr: Uint8Array }).ptr.length, CSTRUCT_MAX_BYTES - 8);
  });
});

Deno.test("alloc refuses bad cstructs before sending; the control process still answers", async () => {
  await withDriver(async (drv) => {
    const bad: [unknown, ErrorConstructor | RangeErrorConstructor, string][] = [
      [[], RangeError, "alloc: cstruct is a cstruct with no segments"],
      [Array.from({ length: 65 }, () => u8(0)), RangeError, "more than 64"],
      [[{ ptr: { ptr: 4 } }], TypeError, "nested pointers are not supported"],
      [[{ ptr: -4 }], RangeError, "alloc: cstruct[0].ptr must be a non-negative integer size"],
      [[{ ptr: CSTRUCT_MAX_BYTES }], RangeError, "larger than"],
      [bytes("flat"), TypeError, "alloc: cstruct must be an array of segments"],
      [null, TypeError, "must be an array"],
    ];
    for (const [value, type, message] of bad) {
      const e = await drv.alloc([], value as never).then(() => null, (e) => e);
      assertInstanceOf(e, type);
      assertStringIncludes((e as Error).message, message);
    }
    assertEquals(await drv.getpid([]), drv.pid);
  });
});

// ---------------------------------------------------------------------------------------
// Raw frames: what a control process does with requests the TypeScript checks never send.

/** A control process on pipes, sent hand-made calls. */
class RawCalls extends RawControl {
  /** Sends a call with a hand-made payload and returns the reply's status and value. */
  async call(call: number, payload: Uint8Array, id = 7): Promise<{ status: number; text: string }> {
    const w = new Writer();
    const start = w.begin(DOWN.CALL, call, id, []);
    w.ensure(payload.length);
    w.buf.set(payload, w.len);
    w.len += payload.length;
    w.end(start);
    await this.send(w.take());
    for (;;) {
      const f = await this.frame();
      if (f.type !== UP.REPLY || f.id !== id) continue;
      const r = new Reader(f.payload, le(f.payload), 0, f.payload.length);
      const v = r.done ? null : r.value();
      return {
        status: f.code,
        text: v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v),
      };
    }
  }
}

/** A CSTRUCT value with raw segment headers: [kind, n, data?]. */
function rawCstruct(segments: [number, number, Uint8Array?][], count = segments.length) {
  const w = new Writer();
  w.u8(VAL.CSTRUCT);
  w.u32(count);
  for (const [kind, n, data] of segments) {
    w.u8(kind);
    w.u32(n);
    if (data) {
      w.ensure(data.length);
      w.buf.set(data, w.len);
      w.len += data.length;
    }
  }
  return w.take();
}

function intValue(v: number): Uint8Array {
  const w = new Writer();
  w.int(v);
  return w.take();
}

Deno.test(
  "a control process checks cstructs itself and refuses raw pointers",
  async () => {
    await using ctl = new RawCalls();
    const hello = await ctl.frame();
    assertEquals(hello.type, UP.HELLO);
    const alloc = CALLS.alloc.id;

    const ok = await ctl.call(alloc, rawCstruct([[SEG.INLINE, 2, bytes("hi")], [SEG.ZEROED, 3]]));
    assertEquals(ok.status, STATUS.OK);

    const cases: [Uint8Array, string][] = [
      [rawCstruct([]), "alloc: argument 1 is a cstruct with no segments"],
      [
        rawCstruct(Array.from({ length: 65 }, (): [number, number] => [SEG.ZEROED, 1])),
        "alloc: argument 1 is a cstruct of more than 64 segments",
      ],
      [
        rawCstruct([[SEG.ZEROED, CSTRUCT_MAX_BYTES]]),
        "alloc: argument 1 is a cstruct larger than 16 MiB",
      ],
      [
        rawCstruct([[SEG.ZEROED, 0xffffffff], [SEG.ZEROED, 0xffffffff]]),
        "larger than 16 MiB",
      ],
      [rawCstruct([[SEG.INLINE, 100, bytes("short")]]), "alloc: argument 1 is malformed"],
      [rawCstruct([[9, 1, bytes("x")]]), "alloc: argument 1 is malformed"],
      [rawCstruct([[SEG.ZEROED, 1]], 2), "alloc: argument 1 is malformed"],
      [intValue(5), "alloc: argument 1 must be a cstruct"],
    ];
    for (const [payload, message] of cases) {
      const r = await ctl.call(alloc, payload);
      assertEquals(r.status, STATUS.BADARG, message);
      assertStringIncludes(r.text, message);
    }

    // A raw pointer means nothing in another address space.
    const ptr = new Writer();
    ptr.ptr(0x1000n, 16);
    const prctl = await ctl.call(
      CALLS.prctl.id,
      concat([intValue(15), ptr.take(), intValue(0), intValue(0), intValue(0)]),
    );
    assertEquals(prctl.status, STATUS.BADARG);
    assertStringIncludes(prctl.text, "prctl: argument 2 is a raw pointer");

    // The calls that take a pointer argument check its cstruct the same way.
    const emptyArg = await ctl.call(
      CALLS.prctl.id,
      concat([intValue(15), rawCstruct([]), intValue(0), intValue(0), intValue(0)]),
    );
    assertEquals(emptyArg.status, STATUS.BADARG);
    assertStringIncludes(emptyArg.text, "prctl: arg2 is a cstruct with no segments");

    // ... and it still answers.
    const pid = await ctl.call(CALLS.getpid.id, new Uint8Array(0));
    assertEquals(pid.status, STATUS.OK);
    assertGreater(Number(pid.text), 0);
  },
);
