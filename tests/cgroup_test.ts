// cgroups of spawned programs, on the machine's real cgroupfs (v1, v2 or hybrid): limits,
// usage, OOM, whole-tree kill, cleanup (also of a driver that was SIGKILLed), bad input.
import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertLessOrEqual,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  Alcove,
  Cgroup,
  checkCgroupLimits,
  parseCgroupLayout,
  parseControllers,
  parseKeyedFile,
  parseSize,
  parseValueFile,
  SetupError,
  type SpawnOptions,
  SystemCallError,
} from "../mod.ts";
import { IS_ROOT, needs, withDriver, withMarker } from "./_helpers.ts";

const decoder = new TextDecoder();

/** This process's cgroup directory in each hierarchy ("" for v2), as the control process
 * finds its own (it is a child of this one, in the same cgroups). */
function ownCgroups(): Map<string, string> {
  const mounts = new Map<string, { mount: string; root: string }>();
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const [left, right] = line.split(" - ");
    if (right === undefined) continue;
    const f = left.split(" ");
    const [type, , superOptions] = right.split(" ");
    if (type === "cgroup2" && !mounts.has("")) mounts.set("", { mount: f[4], root: f[3] });
    if (type !== "cgroup") continue;
    for (const c of superOptions.split(",")) {
      if (!mounts.has(c)) mounts.set(c, { mount: f[4], root: f[3] });
    }
  }
  const dirs = new Map<string, string>();
  for (const line of Deno.readTextFileSync("/proc/self/cgroup").trim().split("\n")) {
    const [id, list, path] = line.split(":");
    for (const c of id === "0" && list === "" ? [""] : list.split(",")) {
      const m = mounts.get(c);
      if (m === undefined) continue;
      const rel = m.root === "/"
        ? path
        : path.startsWith(m.root)
        ? path.slice(m.root.length)
        : null;
      if (rel !== null) dirs.set(c, `${m.mount}${rel === "/" ? "" : rel}`);
    }
  }
  return dirs;
}

const CGROUPS = ownCgroups();
const V1 = (c: string) => CGROUPS.has(c) && c !== "";
const v2Has = (c: string) => {
  const v2 = CGROUPS.get("");
  if (v2 === undefined) return false;
  try {
    return Deno.readTextFileSync(`${v2}/cgroup.subtree_control`).split(/\s+/).includes(c);
  } catch {
    return false;
  }
};
const holds = (c: string) => V1(c) || v2Has(c);
const lacks = (c: string) =>
  holds(c) ? undefined : `the ${c} controller is neither on cgroup v1 nor delegated on v2 here`;
const NOT_ROOT = IS_ROOT ? undefined : "creating cgroups needs root or a delegated subtree";
const NO_V2 = CGROUPS.has("") ? undefined : "no cgroup v2 hierarchy is mounted";

/** The cgroups of a control process still present, in every hierarchy. */
function leftBy(pid: number): string[] {
  const found: string[] = [];
  for (const dir of new Set(CGROUPS.values())) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isDirectory && e.name.startsWith(`alcove-${pid}-`)) found.push(`${dir}/${e.name}`);
      }
    } catch {
      // not readable
    }
  }
  return found;
}

/** Runs fn with a driver and checks that its control process left no cgroup, once every
 * program ended and again once the driver stopped (also when fn failed). */
async function withCgroupDriver(fn: (drv: Alcove, pid: number) => Promise<void>): Promise<void> {
  let pid = 0;
  await withDriver(async (drv) => {
    pid = await drv.getpid([]);
    await fn(drv, pid);
    assertEquals(leftBy(pid), [], "cgroups left behind by ended programs");
  });
  assertEquals(leftBy(pid), [], "cgroups left behind by a stopped driver");
}

async function run(drv: Alcove, argv: string[], options: SpawnOptions) {
  const p = await drv.spawn(argv, options);
  const o = await p.output();
  return { ...o, out: decoder.decode(o.stdout), err: decoder.decode(o.stderr) };
}

async function until(ok: () => boolean, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !ok();) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${ok}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until no live process holds the marker: a process killed in its cgroup leaves the
 * cgroup's list just before it turns into a zombie. */
const gone = (m: string) => until(() => withMarker(m).length === 0);

const marker = () => `1000.${Math.floor(Math.random() * 1e9)}`;

Deno.test(
  needs("cgroup: the program runs in its own cgroups, removed when it ends", NOT_ROOT),
  async () => {
    await withCgroupDriver(async (drv, pid) => {
      const o = await run(drv, ["cat", "/proc/self/cgroup"], { cgroup: {} });
      assertEquals(o.status.reason, "exit");
      const lines = o.out.trim().split("\n");
      // Nested under the control process's own cgroup in each hierarchy it was placed in.
      for (const c of ["memory", "pids", ""]) {
        if (!CGROUPS.has(c)) continue;
        const line = lines.find((l) =>
          c === "" ? l.startsWith("0::") : l.split(":")[1].split(",").includes(c)
        );
        assert(line !== undefined, `no ${c || "v2"} line in ${o.out}`);
        assertMatch(line, new RegExp(`/alcove-${pid}-\\d+-\\d+$`));
      }
      const u = o.status.usage.cgroup!;
      assert(u !== undefined, "no cgroup usage");
      if (holds("memory")) assertGreater(u.memoryPeak!, 0);
      assertGreater(u.cpuMs!, 0);
      // Without a cgroup, none is made and no figures come.
      const plain = await run(drv, ["cat", "/proc/self/cgroup"], {});
      assertEquals(plain.status.usage.cgroup, undefined);
      assert(!plain.out.includes("alcove-"), plain.out);
    });
  },
);

Deno.test(
  needs(
    "cgroup: memoryMax: past it the OOM killer ends it, reason oom, peak recorded",
    NOT_ROOT ?? lacks("memory"),
  ),
  async () => {
    await withCgroupDriver(async (drv) => {
      const limit = 24 << 20;
      const o = await run(drv, ["python3", "-c", "x = b'\\1' * (200 << 20); print('survived')"], {
        cgroup: { memoryMax: "24M", memorySwapMax: 0 },
      });
      assertEquals(o.out, "");
      assertEquals([o.status.reason, o.status.signal], ["oom", "SIGKILL"]);
      const u = o.status.usage.cgroup!;
      assertGreater(u.oomKills!, 0);
      assertLessOrEqual(u.memoryPeak!, limit);
      assertGreater(u.memoryPeak!, limit / 2);
      // Under the limit it runs to its end.
      const ok = await run(drv, ["python3", "-c", "x = b'\\1' * (4 << 20); print('ok')"], {
        cgroup: { memoryMax: "64M" },
      });
      assertEquals([ok.out, ok.status.reason, ok.status.usage.cgroup!.oomKills], [
        "ok\n",
        "exit",
        0,
      ]);
      // The program is a shell and the OOM killer ends its command: the shell exits 137,
      // and the run failed for want of memory all the same.
      const big = "python3 -c \"x = b'\\1' * (200 << 20)\"";
      const wrapped = await run(drv, ["sh", "-c", `${big}; exit $?`], {
        cgroup: { memoryMax: "24M", memorySwapMax: 0 },
      });
      assertEquals(
        [wrapped.status.reason, wrapped.status.code, wrapped.status.signal],
        ["oom", 137, null],
      );
      assertEquals(wrapped.status.success, false);
      // A shell that survives its command's OOM kill and succeeds anyway is a success, and
      // the kill is still counted.
      const survived = await run(drv, ["sh", "-c", `${big}; echo went on`], {
        cgroup: { memoryMax: "24M", memorySwapMax: 0 },
      });
      assertEquals([survived.out, survived.status.reason, survived.status.success], [
        "went on\n",
        "exit",
        true,
      ]);
      assertGreater(survived.status.usage.cgroup!.oomKills!, 0);
    });
  },
);

Deno.test(
  needs(
    "cgroup: pidsMax: a fork loop stops at the limit, the control plane survives",
    NOT_ROOT ?? lacks("pids"),
  ),
  async () => {
    await withCgroupDriver(async (drv) => {
      const m = marker();
      const o = await run(drv, [
        "sh",
        "-c",
        `i=0; while [ $i -lt 200 ]; do sleep ${m} & i=$((i+1)); done; echo done`,
      ], { cgroup: { pidsMax: 12 } });
      assertStringIncludes(o.err.toLowerCase(), "fork");
      const u = o.status.usage.cgroup!;
      if (u.pidsPeak !== undefined) {
        assertLessOrEqual(u.pidsPeak, 12);
        assertGreater(u.pidsPeak, 5);
      }
      // The sleeps it did start were killed with it.
      await gone(m);
      assertEquals(await drv.getpid([]) > 0, true);
      const again = await run(drv, ["echo", "alive"], { cgroup: { pidsMax: 4 } });
      assertEquals(again.out, "alive\n");
    });
  },
);

Deno.test(
  needs("cgroup: cpuMax: a busy loop gets about its quota", NOT_ROOT ?? lacks("cpu")),
  async () => {
    await withCgroupDriver(async (drv) => {
      const o = await run(drv, ["sh", "-c", "while :; do :; done"], {
        cgroup: { cpuMax: 0.2, cpuWeight: 50 },
        timeout: 1000,
      });
      assertEquals(o.status.reason, "timeout");
      const share = o.status.usage.cgroup!.cpuMs! / o.status.usage.wallMs;
      // Quota 20 % of one CPU; a loaded machine gives less, never much more.
      assert(share > 0.03 && share < 0.4, `CPU share ${share}`);
    });
  },
);

Deno.test(
  needs("cgroup: a setsid daemon outside the tree is killed with the program", NOT_ROOT),
  async () => {
    await withCgroupDriver(async (drv) => {
      // The daemon says when it has left the session (a file named after it): only then has it
      // escaped the process group, however slowly it was scheduled.
      const script = (m: string) =>
        `(setsid sh -c ': > "$0"; exec sleep ${m}' /tmp/alcove-daemon.${m} &); ` +
        `until [ -e /tmp/alcove-daemon.${m} ]; do sleep 0.01; done; ` +
        `rm /tmp/alcove-daemon.${m}; echo started`;
      // Without a cgroup the daemon escapes the process group and the tree.
      const loose = marker();
      const o1 = await run(drv, ["sh", "-c", script(loose)], {});
      assertEquals(o1.out, "started\n");
      assertEquals(withMarker(loose).length, 1, "the daemon should have escaped without a cgroup");
      for (const pid of withMarker(loose)) Deno.kill(pid, "SIGKILL");
      // With one, it goes when the program exits, and on timeout.
      const m = marker();
      const o2 = await run(drv, ["sh", "-c", script(m)], { cgroup: {} });
      assertEquals([o2.out, o2.status.reason], ["started\n", "exit"]);
      await gone(m);
      const m3 = marker();
      const o3 = await run(drv, ["sh", "-c", `${script(m3)}; sleep ${m3}`], {
        cgroup: {},
        timeout: 400,
      });
      assertEquals(o3.status.reason, "timeout");
      await gone(m3);
    });
  },
);

Deno.test(
  needs("cgroup: await using and kill() end everything in the cgroup", NOT_ROOT),
  async () => {
    await withCgroupDriver(async (drv) => {
      const m = marker();
      {
        await using p = await drv.spawn(
          ["sh", "-c", `(setsid sleep ${m} &); echo up; sleep ${m}`],
          {
            cgroup: {},
          },
        );
        const reader = p.stdout.getReader();
        await reader.read();
        reader.releaseLock();
        await until(() => withMarker(m).length === 3); // sh, its sleep and the daemon
      }
      await gone(m);
    });
  },
);

Deno.test(
  needs("cgroup: a failed setup step leaves no cgroup; a missing controller says why", NOT_ROOT),
  async () => {
    await withCgroupDriver(async (drv) => {
      await assertRejects(
        () => drv.spawn(["/nonexistent/program"], { cgroup: { pidsMax: 8 } }),
        SetupError,
        "Cannot run",
      );
      // memory.oom.group is a v2 file: where memory is on v1, the error says so.
      if (V1("memory")) {
        const e = await assertRejects(
          () => drv.spawn(["true"], { cgroup: { files: { "memory.oom.group": "1" } } }),
          SetupError,
        );
        assertEquals((e as SetupError).step, "cgroup");
        assertStringIncludes(e.message, "bound to cgroup v1");
      }
      // A memory limit too small to start in: the failure says the limit, not only ENOMEM or
      // E2BIG (an exec that cannot map what it copies); a little more is the OOM.
      if (holds("memory")) {
        for (const memoryMax of ["4K", "16K", "32K", "64K"]) {
          const got = await drv.spawn(["true"], { cgroup: { memoryMax } })
            .then((p) => p.status.then((s) => s.reason), (e) => (e as Error).message);
          assert(got === "oom" || got.includes("within the cgroup's memoryMax of"), got);
        }
      }
      // A v1 hierarchy spawn does not write to (cpuset here): said so, not "not mounted".
      if (CGROUPS.has("cpuset") && !v2Has("cpuset")) {
        const e = await assertRejects(
          () => drv.spawn(["true"], { cgroup: { files: { "cpuset.cpus": "0" } } }),
          SetupError,
        );
        assertStringIncludes(e.message, "spawn writes only cgroup v2 files and those of the v1");
      }
      // A controller v2 offers but that is not enabled for children of this cgroup.
      const v2 = CGROUPS.get("");
      if (v2 !== undefined) {
        const offered = Deno.readTextFileSync(`${v2}/cgroup.controllers`).trim().split(/\s+/)
          .filter((c) => c !== "" && !v2Has(c) && !V1(c));
        if (offered.length > 0) {
          const e = await assertRejects(
            () => drv.spawn(["true"], { cgroup: { files: { [`${offered[0]}.max`]: "1" } } }),
            SetupError,
          );
          assertStringIncludes(e.message, `the ${offered[0]} controller is not delegated`);
        }
      }
      // A step that fails for want of memory in the sandbox's own cgroup still reports it
      // (the report used to need memory too: it was lost, and the spawn looked like a
      // program that exited 127). The kernel may also choose to OOM-kill it: never a plain
      // exit.
      if (V1("memory") || v2Has("memory")) {
        for (let i = 0; i < 5; i++) {
          try {
            const p = await drv.spawn(["true"], { cgroup: { memoryMax: 4096 } });
            assertEquals((await p.status).reason, "oom");
          } catch (e) {
            assertInstanceOf(e, SetupError);
            assertEquals(e.code, "ENOMEM", e.message);
          }
        }
      }
      // Raw files are written after the limits.
      if (V1("pids")) {
        const pid = await drv.getpid([]);
        const p = await drv.spawn(["cat"], { cgroup: { pidsMax: 9, files: { "pids.max": 7 } } });
        const dir = leftBy(pid).find((d) => d.startsWith(CGROUPS.get("pids")!))!;
        assertEquals(Deno.readTextFileSync(`${dir}/pids.max`).trim(), "7");
        await p.stdin.close();
        assertEquals((await p.status).reason, "exit");
      }
    });
  },
);

Deno.test(
  needs("cgroup: without write access to the cgroup tree, a clear error", NOT_ROOT),
  async () => {
    await withCgroupDriver(async (drv) => {
      const t = await drv.root.fork();
      await t.setresgid(65534, 65534, 65534);
      await t.setresuid(65534, 65534, 65534);
      const e = await assertRejects(
        () => t.spawn(["true"], { cgroup: { pidsMax: 4 } }),
        SetupError,
      );
      assertEquals((e as SetupError).step, "cgroup");
      assertStringIncludes(e.message, "not delegated to this user");
      await t.exit(0).catch(() => {});
    });
  },
);

Deno.test(
  needs("cgroup: v2: placed by clone3, cgroup.kill, populated, removed", NOT_ROOT ?? NO_V2),
  async () => {
    await withCgroupDriver(async (drv, pid) => {
      const m = marker();
      const p = await drv.spawn(["sh", "-c", `(setsid sleep ${m} &); echo up; sleep ${m}`], {
        cgroup: {},
      });
      const reader = p.stdout.getReader();
      await reader.read();
      reader.releaseLock();
      const v2 = CGROUPS.get("")!;
      const mine = [...Deno.readDirSync(v2)].filter((e) => e.name.startsWith(`alcove-${pid}-`));
      assertEquals(mine.length, 1);
      const dir = `${v2}/${mine[0].name}`;
      await until(() => withMarker(m).length === 3);
      assertStringIncludes(Deno.readTextFileSync(`${dir}/cgroup.events`), "populated 1");
      const procs = Deno.readTextFileSync(`${dir}/cgroup.procs`).trim().split("\n").map(Number);
      assert(procs.includes(p.pid), `${p.pid} not in ${procs}`);
      assertEquals(procs.length, 3); // sh, its sleep and the daemon
      await p.kill();
      await p.status;
      await gone(m);
      // Born in its cgroup (clone3 CLONE_INTO_CGROUP): a new cgroup namespace made by the
      // same clone has it as its root, where moving it after the clone would not.
      const o = await run(drv, ["cat", "/proc/self/cgroup"], {
        cgroup: {},
        namespaces: ["cgroup"],
      });
      assertStringIncludes(o.out, "\n0::/\n");
    });
  },
);

Deno.test(
  needs(
    "cgroup: v2: the cgroup a spawn holds open belongs to the control process",
    NOT_ROOT ?? NO_V2,
  ),
  async () => {
    await withCgroupDriver(async (drv, pid) => {
      // Closed behind its back, the number would be another's (a later program's pipe) when
      // the control process closes it again at the program's end.
      await using p = await drv.spawn(["sleep", "60"], { cgroup: {}, stdout: "null" });
      const v2 = CGROUPS.get("")!;
      const held: number[] = [];
      for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
        const to = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
        if (to.startsWith(`${v2}/alcove-${pid}-`)) held.push(Number(e.name));
      }
      assertEquals(held.length, 1);
      for (const call of ["close", "fcntl"] as const) {
        await assertRejects(
          () => call === "close" ? drv.close([], held[0]) : drv.fcntl([], held[0], "F_SETFD", 0),
          RangeError,
          "belongs to the control process",
        );
      }
      await p.kill();
      assertEquals((await p.status).signal, "SIGTERM");
    });
  },
);

Deno.test(
  needs("cgroup: a new driver removes the cgroups of one that was SIGKILLed", NOT_ROOT),
  async () => {
    const m = marker();
    const drv = await Alcove.start();
    const pid = await drv.getpid([]);
    try {
      // A program that does not die with its control process, in a cgroup.
      await drv.spawn(["sleep", m], {
        cgroup: { pidsMax: 4 },
        dieWithParent: false,
        stdout: "null",
      });
      assertGreater(leftBy(pid).length, 0);
      Deno.kill(pid, "SIGKILL");
      await drv.stop().catch(() => {});
      for (let i = 0; i < 100 && withMarker(m).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      // Any driver that starts now (another test running at the same time) may already have
      // removed them: then the program and its cgroups are gone together.
      if (withMarker(m).length === 1) {
        assertGreater(leftBy(pid).length, 0, "its cgroups should still be there");
      } else {
        // That driver kills what is in them first, then removes them.
        await until(() => leftBy(pid).length === 0, 10000).catch(() => {});
        assertEquals(leftBy(pid), [], "the program died with its control process");
      }
      // The next start removes them, and what was in them; a live driver's stay.
      await withCgroupDriver(async (live, livePid) => {
        const kept = marker();
        await using p = await live.spawn(["sleep", kept], { cgroup: {}, stdout: "null" });
        // Its control process changes meanwhile (memory, threads of work) but stays itself.
        await Promise.all(Array.from({ length: 20 }, () => run(live, ["true"], { cgroup: {} })));
        await withDriver(async (next) => {
          // Answered: it swept before it read its first call.
          assertEquals(await next.getpid([]) > 0, true);
          assertEquals(leftBy(pid), []);
          await gone(m);
          assertEquals(withMarker(kept).length, 1, "a live driver's program was killed");
          assertGreater(leftBy(livePid).length, 0);
        });
        await p.kill();
      });
    } finally {
      for (const p of withMarker(m)) Deno.kill(p, "SIGKILL");
    }
  },
);

Deno.test(
  needs(
    "cgroup: a program cannot make cgroups below its own; those made anyway end with it",
    NOT_ROOT,
  ),
  async () => {
    // For each hierarchy ("" for v2) the directory of the control process's cgroup, beside
    // which the program's own is made; a v1 hierarchy of several controllers once.
    const bases = [...new Map([...CGROUPS].map(([c, dir]) => [dir, c])).entries()]
      .map(([dir, c]) => `${c}=${dir}`).join(" ");
    // The program's own cgroup in a hierarchy, from /proc/self/cgroup ("" when it is not
    // placed in one there).
    const own = `ctl=\${pair%%=*}; base=\${pair#*=}; ` +
      `if [ -z "$ctl" ]; then re='^0::'; else re="^[0-9]*:([^:]*,)?$ctl(,[^:]*)?:"; fi; ` +
      `name=$(grep -E "$re" /proc/self/cgroup | sed 's|.*/||'); ` +
      `case $name in alcove-*) own=$base/$name;; *) own=;; esac`;
    const env = { PATH: "/usr/bin:/bin", BASES: bases };
    await withCgroupDriver(async (drv) => {
      // As root without capabilities (the default) it owns the cgroups' files, but cannot
      // make a cgroup below its own.
      const refused = await run(drv, [
        "sh",
        "-c",
        `for pair in $BASES; do ${own}; [ -n "$own" ] && mkdir $own/below; done; true`,
      ], { cgroup: {}, env });
      assertStringIncludes(refused.err, "Permission denied");
      assert(!refused.err.includes("No such file"), refused.err);
      // At another uid it can write none of their files, its limits included.
      const other = await run(drv, [
        "sh",
        "-c",
        `for pair in $BASES; do ${own}; [ -n "$own" ] && ls $own | wc -l && find $own -writable; ` +
        `done`,
      ], { cgroup: {}, env, uid: 65534, gid: 65534 });
      assertMatch(other.out, /^([1-9][0-9]*\n)+$/, other.out + other.err);
      // With CAP_DAC_OVERRIDE it can: a daemon it moves there, in every hierarchy, is killed
      // when it ends, and every cgroup is removed (withCgroupDriver checks).
      const m = marker();
      const made = await run(drv, [
        "sh",
        "-c",
        `sleep ${m} & for pair in $BASES; do ${own}; [ -z "$own" ] && continue; ` +
        `d=$own/below/deeper; mkdir -p $d && echo $! > $d/cgroup.procs && echo moved; done`,
      ], { cgroup: {}, env, capabilities: ["CAP_DAC_OVERRIDE"] });
      assertMatch(made.out, /^(moved\n)+$/, made.err);
      assertEquals(made.status.code, 0, made.err);
      await gone(m);
    });
  },
);

Deno.test(
  needs("cgroup: a Task's end takes the cgroups of what it spawned with it", NOT_ROOT),
  async () => {
    await withCgroupDriver(async (drv) => {
      // A Task ends by a SIGKILL (its parent's kill_tree): it cannot remove them itself.
      const t = await drv.root.fork();
      const p = await t.spawn(["sleep", "60"], { cgroup: { pidsMax: 8 }, stdin: "null" });
      assertNotEquals(leftBy(t.pid), []);
      await t[Symbol.asyncDispose]();
      await until(() => leftBy(t.pid).length === 0);
      await p.status.catch(() => {});
    });
  },
);

Deno.test("cgroup: sizes and limits are checked, naming the field", async () => {
  assertEquals(parseSize("64M"), 64 << 20);
  assertEquals(parseSize("1.5K"), 1536);
  assertEquals(parseSize("2GiB"), 2 * 2 ** 30);
  assertEquals(parseSize(" 10 kb "), 10240);
  assertEquals(parseSize(4096), 4096);
  // A field a prototype lends was taken unchecked: such an object is no plain one.
  assertThrows(() => checkCgroupLimits(Object.create({ memoryMax: 5 })), TypeError, "plain object");
  assertEquals(checkCgroupLimits({ cpuMax: 0.5, cpuWeight: 200, memoryMax: "max" }).set, [
    [5, 500000n],
    [6, 200n],
  ]);
  await withDriver(async (drv) => {
    const bad: [unknown, typeof TypeError, string][] = [
      [5, TypeError, "options.cgroup: must be a plain object"],
      // Objects that are no plain ones read as no limit at all.
      [new Map([["memoryMax", "1M"]]), TypeError, "options.cgroup: must be a plain object"],
      [new Date(), TypeError, "options.cgroup: must be a plain object"],
      [{ memoryLimit: 1 }, TypeError, "options.cgroup.memoryLimit: unknown cgroup limit"],
      [{ memoryMax: 1 }, RangeError, "options.cgroup.memoryMax: must be at least 4096 bytes"],
      [{ memoryMax: -5 }, RangeError, "options.cgroup.memoryMax: must be from 0 to 2^62"],
      [{ memoryMax: "64 apples" }, TypeError, "options.cgroup.memoryMax: must be a size such as"],
      [{ memoryMax: 1.5 }, TypeError, "options.cgroup.memoryMax: must be a whole number"],
      [{ memoryMax: "9999999T" }, RangeError, "options.cgroup.memoryMax: must be from 0 to 2^62"],
      [{ memoryHigh: true }, TypeError, "options.cgroup.memoryHigh: must be a number of bytes"],
      [{ memorySwapMax: "-1M" }, TypeError, "options.cgroup.memorySwapMax: must be a size"],
      [{ pidsMax: 0 }, RangeError, "options.cgroup.pidsMax: must be from 1 to 4194304"],
      [{ pidsMax: 2.5 }, TypeError, "options.cgroup.pidsMax: must be an integer"],
      [{ pidsMax: 1e9 }, RangeError, "options.cgroup.pidsMax"],
      [{ cpuMax: 0 }, RangeError, "options.cgroup.cpuMax: must be from 0.01 to 1024 CPUs"],
      [{ cpuMax: 5000 }, RangeError, "options.cgroup.cpuMax"],
      [{ cpuMax: "half" }, TypeError, "options.cgroup.cpuMax: must be a number of CPUs"],
      [{ cpuMax: NaN }, TypeError, "options.cgroup.cpuMax"],
      [{ cpuWeight: 0 }, RangeError, "options.cgroup.cpuWeight: must be from 1 to 10000"],
      [{ cpuWeight: 10001 }, RangeError, "options.cgroup.cpuWeight"],
      [{ files: [] }, TypeError, "options.cgroup.files: must be an object"],
      [{ files: { "../etc/passwd": "x" } }, TypeError, 'options.cgroup.files["../etc/passwd"]'],
      [{ files: { "memory": "1" } }, TypeError, "must name a file of the cgroup"],
      [{ files: { "pids.max": {} } }, TypeError, "must be a string or a number"],
      [{ files: { "pids.max": "1\0" } }, RangeError, "without NUL bytes"],
      // Files that would take in any process of the machine, then kill it with the program.
      [
        { files: { "cgroup.procs": "4194305" } }, // no such pid, should it be written
        TypeError,
        'options.cgroup.files["cgroup.procs"]: moves processes into the cgroup',
      ],
      [{ files: { "cgroup.threads": 4194305 } }, TypeError, "moves threads into the cgroup"],
      [{ files: { "cgroup.kill": "1" } }, TypeError, "kills the cgroup's processes"],
      [{ files: { "tasks": "1" } }, TypeError, "must name a file of the cgroup"],
      [{ files: { "release_agent": "/x" } }, TypeError, "must name a file of the cgroup"],
    ];
    for (const [cgroup, type, message] of bad) {
      await assertRejects(
        () => drv.spawn(["true"], { cgroup } as unknown as SpawnOptions),
        type,
        message,
      );
    }
    assertEquals(await drv.cpid([]), []);
  });
});

Deno.test("Cgroup: the file formats of v1 and v2 parse as pure functions", () => {
  assertEquals(
    parseKeyedFile("low 0\nhigh 12\nmax 30\noom 2\noom_kill 1\noom_group_kill 0\n"),
    { low: 0, high: 12, max: 30, oom: 2, oom_kill: 1, oom_group_kill: 0 },
  );
  const cpu = parseKeyedFile(
    "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\nnr_periods 10\n" +
      "nr_throttled 3\nthrottled_usec 9000\nnr_bursts 0\nburst_usec 0\n",
  );
  assertEquals([cpu.usage_usec, cpu.nr_throttled], [1234567, 3]);
  assertEquals(parseKeyedFile("oom_kill_disable 0\nunder_oom 0\noom_kill 4\n").oom_kill, 4);
  assertEquals(parseValueFile("33554432\n"), 33554432);
  assertEquals(parseValueFile("max\n"), Infinity);
  assertThrows(() => parseValueFile("12 34"), TypeError, "Cannot parse a cgroup value");
  assertEquals(parseControllers("cpuset cpu io memory hugetlb pids rdma misc\n"), [
    "cpuset",
    "cpu",
    "io",
    "memory",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
  ]);
  assertEquals(parseControllers("\n"), []);
  // A hybrid machine: v1 controllers (cpu and cpuacct mounted together), v2 beside them.
  const hybrid = parseCgroupLayout(
    [
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "35 30 0:32 /inner /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
    ].join("\n"),
    "4:memory:/box/a\n3:pids:/elsewhere\n1:cpu,cpuacct:/\n0::/box\n",
  );
  assertEquals(hybrid.v1, {
    memory: "/sys/fs/cgroup/memory/box/a",
    cpu: "/sys/fs/cgroup/cpu,cpuacct",
    cpuacct: "/sys/fs/cgroup/cpu,cpuacct",
  });
  assertEquals(hybrid.hidden, ["pids"]);
  assertEquals(hybrid.v2?.dir, "/sys/fs/cgroup/unified/box");
  // v2 only, inside a container whose cgroup namespace root is a mount of a subtree.
  const v2 = parseCgroupLayout(
    "25 20 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
    "0::/kubepods/pod1/c\n",
  );
  assertEquals(v2, {
    v1: {},
    hidden: [],
    v2: { dir: "/sys/fs/cgroup/c", controllers: [], subtreeControl: [] },
  });
  const layout = {
    ...v2,
    v2: { ...v2.v2!, controllers: ["memory", "pids"], subtreeControl: ["pids"] },
  };
  assertEquals(Cgroup.locate(layout, "pids"), "v2");
  assertThrows(() => Cgroup.locate(layout, "memory"), TypeError, "it is not delegated");
  assertThrows(() => Cgroup.locate(layout, "cpu"), TypeError, "neither mounted for cgroup v1");
  assertThrows(() => Cgroup.locate(hybrid, "pids"), TypeError, "outside that mount");
  assertThrows(() => Cgroup.locate({ v1: {}, hidden: [] }, "memory"), TypeError, "not mounted");
});

Deno.test(needs("Cgroup: create, set, add, procs, stats, kill, remove", NOT_ROOT), async () => {
  await withCgroupDriver(async (drv) => {
    // The driver is not a Task: said so, not as a failed call inside.
    for (
      const call of [() => Cgroup.create(drv as never, "x"), () => Cgroup.layout(drv as never)]
    ) {
      await assertRejects(call, TypeError, "task must be a control process's Task");
      await assertRejects(call, TypeError, "not the driver");
    }
    const layout = await Cgroup.layout(drv.root);
    assertEquals(layout.v1.memory, CGROUPS.get("memory"));
    assertEquals(layout.v2?.dir, CGROUPS.get(""));
    const name = `alcove-test-${Deno.pid}-${Math.floor(Math.random() * 1e9)}`;
    const cg = await Cgroup.create(drv.root, name);
    try {
      for (const dir of Object.values(cg.dirs)) assertEquals(Deno.statSync(dir).isDirectory, true);
      if (holds("pids")) {
        await cg.set({ pidsMax: 9 });
        assertEquals((await cg.read("pids.max")).trim(), "9");
      }
      if (V1("memory")) {
        await cg.set({ memoryMax: "32M", memorySwapMax: "16M" });
        assertEquals(parseValueFile(await cg.read("memory.limit_in_bytes")), 32 << 20);
        assertEquals(parseValueFile(await cg.read("memory.memsw.limit_in_bytes")), 48 << 20);
      }
      if (V1("cpu")) {
        await cg.set({ cpuMax: 0.5, cpuWeight: 200 });
        assertEquals((await cg.read("cpu.cfs_quota_us")).trim(), "50000");
        assertEquals((await cg.read("cpu.shares")).trim(), "2048");
      }
      await assertRejects(() => cg.set({ pidsMax: 0 }), RangeError, "Cgroup.set.pidsMax");
      await assertRejects(() => cg.read("../x"), TypeError, "is not a cgroup file name");
      // A promise that rejects, not a throw at the call.
      const bad = cg.read("../x");
      assertInstanceOf(bad, Promise);
      await assertRejects(() => bad, TypeError);
      // A file of no controller here names the file, then why.
      await assertRejects(
        () => cg.read("nope.file"),
        TypeError,
        'Cgroup: cannot reach "nope.file": Cannot use the nope controller',
      );
      // A pid that cannot be moved in: which pid, into which cgroup.procs.
      const moved = await assertRejects(() => cg.add(0x3ffffff0), SystemCallError);
      assertEquals(moved.code, "ESRCH");
      const procs = `${Object.values(cg.dirs)[0]}/cgroup.procs`;
      assertEquals(
        moved.message,
        `Cgroup.add pid ${0x3ffffff0} into ${procs}: ESRCH (No such process)`,
      );
      const m = marker();
      // It forks once it is in the cgroup: its children are born there.
      const p = await drv.spawn(["sh", "-c", `read go; (setsid sleep ${m} &); sleep ${m}`]);
      await cg.add(p.pid);
      assertEquals(await cg.procs(), [p.pid]);
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await until(() => withMarker(m).length === 3);
      assertEquals((await cg.procs()).length, 3);
      const stats = await cg.stats();
      if (holds("memory")) assertGreater(stats.memoryPeak!, 0);
      await cg.kill();
      assertEquals(await cg.procs(), []);
      assertEquals((await p.status).signal, "SIGKILL");
      await gone(m);
    } finally {
      await cg.remove();
    }
    for (const dir of Object.values(cg.dirs)) {
      assertThrows(() => Deno.statSync(dir), Deno.errors.NotFound);
    }
    await cg.remove(); // idempotent
  });
});

Deno.test(
  needs("Cgroup: set lifts and raises limits; bad input and gone directories", NOT_ROOT),
  async () => {
    await withCgroupDriver(async (drv) => {
      const name = `alcove-test-${Deno.pid}-${Math.floor(Math.random() * 1e9)}`;
      const cg = await Cgroup.create(drv.root, name);
      try {
        // Infinity and "max" were skipped: the limit set before stayed.
        if (holds("pids")) {
          await cg.set({ pidsMax: 9 });
          await cg.set({ pidsMax: Infinity });
          assertEquals((await cg.read("pids.max")).trim(), "max");
        }
        if (V1("memory")) {
          // Raised with memory + swap limited: memory.memsw first (the other order is EINVAL).
          await cg.set({ memoryMax: "32M", memorySwapMax: 0 });
          await cg.set({ memoryMax: "64M", memorySwapMax: 0 });
          assertEquals(parseValueFile(await cg.read("memory.limit_in_bytes")), 64 << 20);
          assertEquals(parseValueFile(await cg.read("memory.memsw.limit_in_bytes")), 64 << 20);
          await cg.set({ memoryMax: "16M", memorySwapMax: "16M" });
          assertEquals(parseValueFile(await cg.read("memory.limit_in_bytes")), 16 << 20);
          // memoryMax alone raised above the memory + swap limit set before: the swap that
          // limit allowed is kept (memory.memsw first), not a bare EINVAL.
          await cg.set({ memoryMax: "48M" });
          assertEquals(parseValueFile(await cg.read("memory.limit_in_bytes")), 48 << 20);
          assertEquals(parseValueFile(await cg.read("memory.memsw.limit_in_bytes")), 64 << 20);
          // Lowered alone too: the same 16M of swap, not the old memory + swap limit.
          await cg.set({ memoryMax: "24M" });
          assertEquals(parseValueFile(await cg.read("memory.limit_in_bytes")), 24 << 20);
          assertEquals(parseValueFile(await cg.read("memory.memsw.limit_in_bytes")), 40 << 20);
          await cg.set({ memoryMax: "16M", memorySwapMax: "16M" });
          // Refused before anything is written: the limits stay.
          await assertRejects(
            () => cg.set({ memoryMax: "max", memorySwapMax: "8M" }),
            TypeError,
            "memorySwapMax needs memoryMax",
          );
          assertEquals(parseValueFile(await cg.read("memory.limit_in_bytes")), 16 << 20);
          await cg.set({ memoryMax: "max" });
          assertGreater(parseValueFile(await cg.read("memory.limit_in_bytes")), 2 ** 60);
        }
        if (holds("pids")) {
          const e = await assertRejects(() => cg.write("pids.max", "abc"), SystemCallError);
          assertStringIncludes(e.message, 'Cgroup.write "abc" to ');
          assertStringIncludes(e.message, "/pids.max: EINVAL");
        }
      } finally {
        await cg.remove();
      }
      // Wrong shapes, and the names of spawn's own cgroups (another start would sweep it).
      await assertRejects(
        () => Cgroup.create(drv.root, "x", { controllers: "memory" as never }),
        TypeError,
        "Cgroup.create: options.controllers must be an array",
      );
      await assertRejects(
        () => Cgroup.create(null as never, "x"),
        TypeError,
        "Cgroup.create: task",
      );
      await assertRejects(
        () => Cgroup.create(drv.root, "alcove-1-2-3"),
        TypeError,
        "has the form of spawn's own cgroups",
      );
      // Removed by someone else: its removal is done.
      const other = await Cgroup.create(drv.root, `${name}-gone`);
      for (const dir of new Set(Object.values(other.dirs))) Deno.removeSync(dir);
      await other.remove();
    });
  },
);

Deno.test(
  needs(
    "cgroup: a control process in a pid namespace names its cgroups by its pid outside",
    NOT_ROOT,
  ),
  async () => {
    await withCgroupDriver(async (drv) => {
      const t = await drv.root.clone(["CLONE_NEWPID"]);
      const inner = await t.fork();
      assertEquals(await inner.getpid(), 2); // its pid inside the namespace
      const m = marker();
      const p = await inner.spawn(["sleep", m], { cgroup: {}, stdout: "null" });
      await until(() => withMarker(m).length === 1);
      const [own] = [...CGROUPS.values()];
      const names = [...Deno.readDirSync(own)].map((e) => e.name).filter((n) =>
        n.startsWith("alcove-")
      );
      assert(!names.some((n) => n.startsWith("alcove-2-")), `named by its inner pid: ${names}`);
      // A driver starting meanwhile leaves it alone.
      await withDriver(async (next) => {
        assertGreater(await next.getpid([]), 0);
      });
      assertEquals(withMarker(m).length, 1, "a live sandbox was killed by another driver's start");
      await p.kill();
      await p.status;
    });
  },
);
