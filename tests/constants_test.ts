// Constant tables: parsed a domain at a time, on first use, with the same answers as a
// whole parse; the same text gives the same table.
import { assert, assertEquals } from "@std/assert";
import { Alcove, ConstantTable, openLocal } from "../mod.ts";

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

Deno.test("a control process's tables agree with libalcove's, and repeat starts share one", async () => {
  const local = openLocal();
  try {
    const drv = await Alcove.start();
    const again = await Alcove.start();
    try {
      assert(drv.constants === again.constants, "two drivers of one build parse the text once");
      for (const domain of ["signal", "errno", "syscall", "clone", "rlimit"] as const) {
        const names = local.constants.names(domain);
        assert(names.length > 0, domain);
        assertEquals(drv.constants.names(domain), names, domain);
        for (const name of names) {
          assertEquals(drv.constants.lookup(domain, name), local.constants.lookup(domain, name));
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
