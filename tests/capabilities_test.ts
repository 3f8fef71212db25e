/**
 * keepCapabilities: a child keeps exactly the capabilities it is given, across setuid
 * to an unprivileged user and execve, as /proc/self/status of the exec'd program shows.
 */
import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import {
  type Alcove,
  AlcoveError,
  CAPABILITY_NAMES,
  capabilityNames,
  capabilityNumber,
  ConstantTable,
  keepCapabilities,
  procCapabilities,
} from "../mod.ts";
import { IS_ROOT, needs, readAll, withDriver } from "./_helpers.ts";

const NOBODY = 65534;
const CAP_NET_BIND_SERVICE = 1n << 10n;

/** A test that drops capabilities, so needs root, with a fresh driver. */
function rootTest(name: string, fn: (drv: Alcove) => Promise<void>): void {
  Deno.test(
    needs(name, IS_ROOT ? undefined : "needs root (capabilities to drop)"),
    () => withDriver(fn),
  );
}

/** Every capability set of a process (as `procCapabilities` gives them) equal to `caps`. */
function everySet(caps: bigint) {
  return { inheritable: caps, permitted: caps, effective: caps, bounding: caps, ambient: caps };
}

/** Execs `cat /proc/self/status` in a child and returns what it printed. */
async function statusAfterExec(drv: Alcove, pid: number): Promise<string> {
  await drv.execvp([pid], "cat", ["cat", "/proc/self/status"]);
  return await readAll(drv, [pid]);
}

Deno.test("procCapabilities reads the Cap lines of /proc/PID/status", () => {
  const caps = procCapabilities(
    "Name:\tcat\nCapInh:\t0000000000000400\nCapPrm:\t0000000000000400\n" +
      "CapEff:\t0000000000000400\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n",
  );
  assertEquals(caps, {
    inheritable: 0x400n,
    permitted: 0x400n,
    effective: 0x400n,
    bounding: 0x1ffffffffffn,
    ambient: 0n,
  });
  assertThrows(() => procCapabilities("Name:\tx\n"), SyntaxError, "no CapInh line");
});

Deno.test("capability names and numbers come from the prctl constants", () => {
  const table = ConstantTable.parse(
    "prctl\tCAP_CHOWN\t0\nprctl\tCAP_NET_BIND_SERVICE\t10\nprctl\tCAP_LAST_CAP\t40\n",
  );
  assertEquals(capabilityNumber(table, "cap_net_bind_service"), 10);
  assertEquals(capabilityNumber(table, 12), 12);
  assertThrows(
    () => capabilityNumber(table, "CAP_NOPE" as never),
    RangeError,
    "unknown on this platform",
  );
  assertThrows(() => capabilityNumber(table, "CAP_LAST_CAP" as never), RangeError);
  assertThrows(() => capabilityNumber(table, 64), RangeError);
  assertThrows(() => capabilityNumber(table, "PR_SET_NAME" as never), TypeError);
  assertEquals(capabilityNames(table, 0x401n), ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]);
  assertEquals(capabilityNames(table, 1n << 20n), ["CAP_20"]);
});

Deno.test("CAPABILITY_NAMES matches the constant list and the numbers of this machine", async () => {
  const list = await Deno.readTextFile(
    new URL("../scripts/constants/prctl.txt", import.meta.url),
  );
  const names = list.split("\n").map((l) => l.trim()).filter((l) =>
    /^CAP_\w+$/.test(l) && l !== "CAP_LAST_CAP"
  );
  assertEquals([...CAPABILITY_NAMES], names);
  await withDriver((drv) => {
    const last = drv.constants.lookup("prctl", "CAP_LAST_CAP")!;
    for (const [i, name] of CAPABILITY_NAMES.entries()) {
      if (i <= last) assertEquals(drv.constants.lookup("prctl", name), i, name);
    }
    return Promise.resolve();
  });
});

rootTest(
  "a child keeps only CAP_NET_BIND_SERVICE after setuid, and its exec'd program has it",
  async (drv) => {
    const pid = await drv.fork([]);
    await drv.prctl([pid], "PR_SET_KEEPCAPS", 1, 0, 0, 0);
    await drv.setgroups([pid], []);
    await drv.setgid([pid], NOBODY);
    await drv.setuid([pid], NOBODY);
    await keepCapabilities(drv, [pid], ["CAP_NET_BIND_SERVICE"]);
    const caps = await drv.capget([pid]);
    assertEquals(caps, {
      effective: CAP_NET_BIND_SERVICE,
      permitted: CAP_NET_BIND_SERVICE,
      inheritable: CAP_NET_BIND_SERVICE,
    });

    const status = await statusAfterExec(drv, pid);
    assertStringIncludes(status, `Uid:\t${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`);
    assertEquals(procCapabilities(status), everySet(CAP_NET_BIND_SERVICE));
    assertEquals(await drv.event([pid]), { type: "exit", status: 0 });
  },
);

rootTest(
  "keeping nothing empties every set; ambient: false keeps capabilities only until exec",
  async (drv) => {
    const none = await drv.fork([]);
    await keepCapabilities(drv, [none], []);
    assertEquals(procCapabilities(await statusAfterExec(drv, none)), everySet(0n));

    const pid = await drv.fork([]);
    await drv.prctl([pid], "PR_SET_KEEPCAPS", 1, 0, 0, 0);
    await drv.setuid([pid], NOBODY);
    await keepCapabilities(drv, [pid], ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"], {
      ambient: false,
    });
    const both = (1n << 13n) | CAP_NET_BIND_SERVICE;
    assertEquals((await drv.capget([pid])).permitted, both);
    const after = procCapabilities(await statusAfterExec(drv, pid));
    assertEquals(after.bounding, both);
    assertEquals(after.ambient, 0n);
    assertEquals(after.permitted, 0n); // an unprivileged exec without ambient capabilities
  },
);

rootTest(
  "keepCapabilities refuses what the process does not hold, and unknown names",
  async (drv) => {
    const pid = await drv.fork([]);
    await keepCapabilities(drv, [pid], ["CAP_NET_BIND_SERVICE"]);
    const e = await assertRejects(
      () => keepCapabilities(drv, [pid], ["CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]),
      AlcoveError,
    );
    assertStringIncludes(e.message, "Cannot keep CAP_SYS_ADMIN: not in the permitted set");
    await assertRejects(
      () => keepCapabilities(drv, [pid], ["CAP_NOT_A_CAP" as never]),
      RangeError,
      'keepCapabilities: Capability "CAP_NOT_A_CAP" is unknown',
    );
    await assertRejects(
      () => keepCapabilities(drv, [pid], "CAP_NET_RAW" as never),
      TypeError,
      "keep must be an array",
    );
    // Nothing changed, and it still answers.
    assertEquals((await drv.capget([pid])).permitted, CAP_NET_BIND_SERVICE);
  },
);
