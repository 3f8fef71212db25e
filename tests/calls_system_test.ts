/**
 * Credentials, process groups and sessions, priorities, process names, capabilities,
 * fexecve and the calls of other platforms, against the real kernel.
 *
 * @module
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { type Alcove, PipelineError, SystemCallError, UnsupportedError } from "../mod.ts";
import { IS_ROOT, needs, readAll, unlessOn, withDriver } from "./_helpers.ts";

const ROOT_REASON = IS_ROOT ? undefined : "needs root (run as root or in CI)";

/** Rejects with a SystemCallError carrying `code`. */
async function assertErrno(p: Promise<unknown>, code: string): Promise<void> {
  const e = await assertRejects(() => p, SystemCallError);
  assertEquals(e.code, code);
}

/** The control process still answers after bad input. */
async function stillAnswers(drv: Alcove, pipeline: number[]): Promise<void> {
  const pid = await drv.getpid(pipeline);
  assertEquals(pid, pipeline.length === 0 ? drv.pid : pipeline.at(-1));
}

/** A child that dropped to uid/gid 65534 with no supplementary groups. */
async function nobody(drv: Alcove): Promise<number> {
  const pid = await drv.fork([]);
  await drv.setgroups([pid], []);
  await drv.setgid([pid], 65534);
  await drv.setuid([pid], 65534);
  return pid;
}

/** The capability masks of /proc/PID/status. */
async function procCaps(pid: number): Promise<Record<string, bigint>> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const caps: Record<string, bigint> = {};
  for (const m of status.matchAll(/^Cap(Inh|Prm|Eff):\s+([0-9a-f]+)$/gm)) {
    caps[m[1]] = BigInt(`0x${m[2]}`);
  }
  return caps;
}

Deno.test(
  needs("getresuid/getresgid report the ids, setresuid/setresgid change them", ROOT_REASON),
  () =>
    withDriver(async (drv) => {
      assertEquals(await drv.getresuid([]), { ruid: 0, euid: 0, suid: 0 });
      assertEquals(await drv.getresgid([]), { rgid: 0, egid: 0, sgid: 0 });
      const pid = await drv.fork([]);
      await drv.setresgid([pid], 65534, 65534, -1);
      assertEquals(await drv.getresgid([pid]), { rgid: 65534, egid: 65534, sgid: 0 });
      await drv.setresuid([pid], 65534, -1, 65534);
      assertEquals(await drv.getresuid([pid]), { ruid: 65534, euid: 0, suid: 65534 });
      await drv.setresuid([pid], -1, 65534, -1);
      assertEquals(await drv.getresuid([pid]), { ruid: 65534, euid: 65534, suid: 65534 });
      // All three are 65534 now: there is no way back to 0, and the capabilities are gone.
      await assertErrno(drv.setresuid([pid], 0, 0, 0), "EPERM");
      assertEquals((await drv.capget([pid])).effective, 0n);
      // An unprivileged process may only pick among its current group ids (the saved one is 0).
      await assertErrno(drv.setresgid([pid], 1, -1, -1), "EPERM");
      await drv.setresgid([pid], 0, -1, -1);
      assertEquals(await drv.getresgid([pid]), { rgid: 0, egid: 65534, sgid: 0 });
      assertEquals(await drv.getresuid([]), { ruid: 0, euid: 0, suid: 0 });
    }),
);

Deno.test("setresuid and setresgid check their arguments before sending", () =>
  withDriver(async (drv) => {
    await assertRejects(() => drv.setresuid([], -2, 0, 0), RangeError, "ruid");
    await assertRejects(() => drv.setresuid([], 0, 2 ** 32, 0), RangeError, "euid");
    await assertRejects(() => drv.setresgid([], 0, 0, 1.5), TypeError, "sgid");
    await assertRejects(() => drv.setresgid([], "0" as never, 0, 0), TypeError, "rgid");
    await stillAnswers(drv, []);
  }));

Deno.test("getpgrp, setpgid, getsid and setsid", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    // Every control process leads its own group, so it cannot start a session.
    assertEquals(await drv.getpgrp([pid]), pid);
    await assertErrno(drv.setsid([pid]), "EPERM");
    assertEquals(await drv.getsid([pid], 0), await drv.getsid([], 0));
    const child = await drv.fork([pid]);
    assertEquals(await drv.getpgrp([pid, child]), child);
    await drv.setpgid([pid, child], 0, pid);
    assertEquals(await drv.getpgrp([pid, child]), pid);
    assertEquals(await drv.setsid([pid, child]), child);
    assertEquals(await drv.getsid([pid, child], 0), child);
    assertEquals(await drv.getsid([pid], child), child);
    assertEquals(await drv.getpgrp([pid, child]), child);
    await assertErrno(drv.setpgid([pid], 0, 999999999), "EPERM");
    await assertErrno(drv.getsid([], 2147483647), "ESRCH");
    await assertRejects(() => drv.getsid([], 2 ** 31), RangeError, "pid");
    // The new session leader still answers and ends with its parent's driver.
    assertEquals(await drv.getpid([pid, child]), child);
  }));

Deno.test("getpriority and setpriority", () =>
  withDriver(async (drv) => {
    const rootPrio = await drv.getpriority([], "PRIO_PROCESS", 0);
    const pid = await drv.fork([]);
    assertEquals(await drv.getpriority([pid], "PRIO_PROCESS", 0), rootPrio);
    await drv.setpriority([pid], "PRIO_PROCESS", 0, 10);
    assertEquals(await drv.getpriority([pid], "prio_process", 0), 10);
    assertEquals(await drv.getpriority([], "PRIO_PROCESS", pid), 10);
    assertEquals(await drv.getpriority([], "PRIO_PROCESS", 0), rootPrio);
    // The process group of the child is the child itself.
    await drv.setpriority([], "PRIO_PGRP", pid, 12);
    assertEquals(await drv.getpriority([pid], "PRIO_PROCESS", 0), 12);
    // The kernel clamps values outside -20..19.
    await drv.setpriority([pid], "PRIO_PROCESS", 0, 1000);
    assertEquals(await drv.getpriority([pid], "PRIO_PROCESS", 0), 19);
    await assertErrno(drv.getpriority([], "PRIO_PROCESS", 2147483647), "ESRCH");
    await assertRejects(() => drv.getpriority([], "PRIO_NOPE", 0), RangeError, "unknown prio");
    await assertRejects(() => drv.setpriority([], "PRIO_PROCESS", -1, 0), RangeError, "who");
    await assertRejects(() => drv.setpriority([], "PRIO_PROCESS", 0, 2 ** 31), RangeError);
    await stillAnswers(drv, [pid]);
  }));

Deno.test(
  needs("an unprivileged process cannot lower its nice value", ROOT_REASON),
  () =>
    withDriver(async (drv) => {
      const pid = await nobody(drv);
      // From whatever nice value the suite runs at (`nice -n 19` included): up, then one
      // step back down, which needs privilege.
      const base = await drv.getpriority([pid], "PRIO_PROCESS", 0);
      const raised = Math.min(base + 5, 19);
      await drv.setpriority([pid], "PRIO_PROCESS", 0, raised);
      await assertErrno(drv.setpriority([pid], "PRIO_PROCESS", 0, raised - 1), "EACCES");
      assertEquals(await drv.getpriority([pid], "PRIO_PROCESS", 0), raised);
    }),
);

Deno.test("setproctitle names the process", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    await drv.setproctitle([pid], "alcove-title-test");
    // The kernel keeps 15 bytes.
    assertEquals(await Deno.readTextFile(`/proc/${pid}/comm`), "alcove-title-te\n");
    await assertRejects(() => drv.setproctitle([pid], "a\0b"), TypeError, "NUL");
    await assertRejects(() => drv.setproctitle([pid], 42 as never), TypeError, "name");
    await stillAnswers(drv, [pid]);
  }));

Deno.test(
  needs("capget reports the sets of /proc/PID/status; capset drops them", ROOT_REASON),
  () =>
    withDriver(async (drv) => {
      const pid = await drv.fork([]);
      const caps = await drv.capget([pid]);
      const proc = await procCaps(pid);
      assertEquals(caps, { effective: proc.Eff, permitted: proc.Prm, inheritable: proc.Inh });
      const CAP_SYS_ADMIN = 21n;
      assertEquals(caps.effective >> CAP_SYS_ADMIN & 1n, 1n);
      // Keep CAP_NET_BIND_SERVICE (10) only, given as a list and as a mask.
      await drv.capset([pid], [10], 1n << 10n, 0);
      assertEquals(await drv.capget([pid]), {
        effective: 1n << 10n,
        permitted: 1n << 10n,
        inheritable: 0n,
      });
      assertEquals((await procCaps(pid)).Eff, 1n << 10n);
      // Without CAP_SETUID and CAP_CHOWN.
      await assertErrno(drv.setuid([pid], 65534), "EPERM");
      // A dropped capability cannot come back.
      await assertErrno(drv.capset([pid], caps.effective, caps.permitted, 0n), "EPERM");
      // The effective set must be within the permitted set.
      await assertErrno(drv.capset([pid], [10, 21], [10], []), "EPERM");
      await drv.capset([pid], 0, 0, 0);
      assertEquals((await drv.capget([pid])).permitted, 0n);
    }),
);

Deno.test("capset checks its masks before sending", () =>
  withDriver(async (drv) => {
    await assertRejects(() => drv.capset([], -1n, 0, 0), RangeError, "effective");
    await assertRejects(() => drv.capset([], 0, 1n << 64n, 0), RangeError, "permitted");
    await assertRejects(() => drv.capset([], 0, 0, [64]), RangeError, "inheritable[0]");
    await assertRejects(() => drv.capset([], 0, 0, -1), RangeError, "inheritable");
    await assertRejects(() => drv.capset([], "all" as never, 0, 0), TypeError, "effective");
    await assertRejects(() => drv.capset([], [1.5] as never, 0, 0), TypeError, "effective[0]");
    const before = await drv.capget([]);
    await stillAnswers(drv, []);
    assertEquals(await drv.capget([]), before);
  }));

Deno.test(
  unlessOn("fexecve runs the program a descriptor refers to", {
    emulated: "qemu-user answers fexecve of a descriptor that is not open with ENOENT, not EBADF",
  }),
  () =>
    withDriver(async (drv) => {
      const pid = await drv.fork([]);
      const echo = await Deno.realPath("/bin/echo");
      const fd = await drv.open([pid], echo, ["O_RDONLY", "O_CLOEXEC"], 0);
      // A descriptor that is not open: the process stays a control process.
      await assertErrno(drv.fexecve([pid], 9999, ["echo"], []), "EBADF");
      await assertErrno(drv.fexecve([pid], -1, ["echo"], []), "EBADF");
      await assertRejects(() => drv.fexecve([pid], fd, ["echo", "a\0"], []), TypeError, "argv[1]");
      await stillAnswers(drv, [pid]);
      await drv.fexecve([pid], fd, ["echo", "from", "fexecve"], ["A=1"]);
      assertEquals(await readAll(drv, [pid]), "from fexecve\n");
      assertEquals(await drv.event([pid], { timeout: 5000 }), { type: "exit", status: 0 });
      await assertRejects(() => drv.getpid([pid]), PipelineError);
    }),
);

Deno.test("the FreeBSD and OpenBSD calls reject with UnsupportedError on Linux", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const calls: [string, () => Promise<unknown>][] = [
      ["cap_enter", () => drv.capEnter([pid])],
      ["cap_getmode", () => drv.capGetmode([pid])],
      ["cap_rights_limit", () => drv.capRightsLimit([pid], 0, [1, 2])],
      ["cap_fcntls_limit", () => drv.capFcntlsLimit([pid], 0, 0)],
      ["cap_fcntls_get", () => drv.capFcntlsGet([pid], 0)],
      ["cap_ioctls_limit", () => drv.capIoctlsLimit([pid], 0, [])],
      ["jail", () => drv.jail([pid], new Uint8Array(8))],
      ["jail_attach", () => drv.jailAttach([pid], 1)],
      ["jail_remove", () => drv.jailRemove([pid], 1)],
      ["procctl", () => drv.procctl([pid], 0, 0, 0, new Uint8Array(4))],
      ["pledge", () => drv.pledge([pid], "stdio", null)],
      ["unveil", () => drv.unveil([pid], null, null)],
    ];
    for (const [name, call] of calls) {
      const e = await assertRejects(call, UnsupportedError);
      // Errors name the method (alcove's name in camelCase).
      assertEquals(e.call, name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
      assert(e.message.includes("not supported on this platform"), e.message);
    }
    // Arguments are still checked first.
    await assertRejects(() => drv.pledge([pid], 1 as never, null), TypeError, "promises");
    await assertRejects(() => drv.capRightsLimit([pid], 0, [0.5]), TypeError, "rights[0]");
    await stillAnswers(drv, [pid]);
  }));
