// Constant tables: decoded a domain at a time, on first use, from text or from a control
// process's greeting, with the same answers as libalcove's.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { Alcove, CONSTANT_DOMAINS, ConstantTable, openLocal } from "../mod.ts";
import { Reader, UP } from "../ffi/_wire.ts";
import { hexOf } from "../ffi/_runtime_shared.ts";
import { le, RawControl } from "./_helpers.ts";

Deno.test("a table answers from any domain, whatever the order of its lines", () => {
  // Domains split in two runs, an alias after its canonical name, a line without a value,
  // an empty line, and no newline at the end.
  const t = ConstantTable.parse(
    "errno\tEAGAIN\t11\nsignal\tSIGKILL\t9\nerrno\tEWOULDBLOCK\t11\nbroken\n\n" +
      "signal\tSIGTERM\t15\nprio\tPRIO_USER\t2\nsignal\tNOVALUE\nerrno\tEPERM\t1",
  );
  assertEquals(t.lookup("errno", "ewouldblock"), 11);
  assertEquals(t.name("errno", 11), "EAGAIN");
  assertEquals(t.names("errno"), ["EAGAIN", "EPERM"]);
  assertEquals(t.names("signal"), ["SIGKILL", "SIGTERM"]);
  assertEquals(t.lookup("signal", "NOVALUE"), undefined);
  assertEquals(t.lookup("prio", "PRIO_USER"), 2);
  assertEquals(t.lookup("rlimit", "RLIMIT_NOFILE"), undefined);
  assertEquals(new ConstantTable().names("errno"), []);
});

Deno.test("a control process's tables agree with libalcove's in every domain, start after start", async () => {
  const local = openLocal();
  try {
    const drv = await Alcove.start();
    const again = await Alcove.start();
    try {
      // The second root, of the same build, sent none: the first one's serve both.
      assert(again.constants === drv.constants, "a second table for the same build");
      for (const domain of CONSTANT_DOMAINS) {
        const names = local.constants.names(domain);
        assert(names.length > 0, domain);
        for (const d of [drv, again]) {
          assertEquals(d.constants.names(domain), names, domain);
          for (const name of names) {
            const value = local.constants.lookup(domain, name);
            assertEquals(d.constants.lookup(domain, name), value, name);
            assertEquals(d.constants.lookup(domain, name.toLowerCase()), value, name);
            assertEquals(d.constants.name(domain, value!), local.constants.name(domain, value!));
          }
        }
      }
    } finally {
      await drv.stop();
      await again.stop();
    }
  } finally {
    local.unload();
  }
});

Deno.test("a table from a greeting's domains: names back to back, 64-bit little-endian values", () => {
  const values = new Uint8Array(24);
  const view = new DataView(values.buffer);
  view.setBigInt64(0, 11n, true);
  view.setBigInt64(8, 11n, true);
  view.setBigInt64(16, -1n, true);
  const t = ConstantTable.fromDomains(
    new Map([
      ["errno", {
        names: new TextEncoder().encode("EAGAIN\0EWOULDBLOCK\0EMINUS\0"),
        values,
      }],
      ["prio", { names: new Uint8Array(0), values: new Uint8Array(0) }],
    ]),
  );
  assertEquals(t.lookup("errno", "ewouldblock"), 11);
  assertEquals(t.name("errno", 11), "EAGAIN");
  assertEquals(t.lookup("errno", "EMINUS"), -1);
  assertEquals(t.names("errno"), ["EAGAIN", "EMINUS"]);
  assertEquals(t.names("prio"), []);
  assertEquals(t.lookup("signal", "SIGKILL"), undefined);
});

Deno.test("a root whose build's tables the host holds leaves them out of its greeting", async () => {
  // The greeting: ABI, version, pid, build ID, then the domains (none when the first line
  // named this build), token, word size.
  const greeting = async (firstLine?: string) => {
    await using ctl = new RawControl(firstLine);
    const f = await ctl.frame();
    assertEquals(f.type, UP.HELLO);
    const r = new Reader(f.payload, le(f.payload), 0, f.payload.length);
    r.value();
    r.value();
    r.value();
    const build = r.value() as Uint8Array;
    return { build: hexOf(build), domains: r.listLength() };
  };
  const first = await greeting();
  assertEquals(first.build.length, 40, "a SHA-1 build ID");
  assertEquals(first.domains, CONSTANT_DOMAINS.length);
  assertEquals(await greeting(`pipes constants=${first.build}\n`), { ...first, domains: 0 });
  const other = "0".repeat(40);
  assertEquals(await greeting(`pipes constants=${other}\n`), first);
  // A word it does not know, or an ID longer than any build's, is a malformed line.
  for (const line of [`pipes constants=${"a".repeat(200)}\n`, "pipes constant\n"]) {
    await assertRejects(() => greeting(line), Error, "closed its output");
  }
});
