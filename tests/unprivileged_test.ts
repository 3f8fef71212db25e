import { assertEquals, assertRejects } from "@std/assert";
import { SetupError, SystemCallError } from "../mod.ts";
import { findNative } from "../ffi/_native.ts";
import { IS_ROOT, needs, readAll, withDriver } from "./_helpers.ts";

const SETPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

function setprivMissing(): string | undefined {
  if (!IS_ROOT) return "needs root to start a control process as uid 65534 with setpriv";
  try {
    Deno.statSync("/usr/bin/setpriv");
  } catch {
    return "setpriv (util-linux) is not installed";
  }
  return undefined;
}

/** A copy of the control process that uid 65534 can run wherever the checkout is. */
async function publicHelper(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "alcove-unpriv-" });
  await Deno.chmod(dir, 0o755);
  const path = `${dir}/alcove`;
  await Deno.copyFile(findNative().helper, path);
  await Deno.chmod(path, 0o755);
  return { path, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test(
  needs(
    "an unprivileged root control process still creates user and pid namespaces",
    setprivMissing(),
  ),
  async () => {
    await using helper = await publicHelper();
    await withDriver(async (drv) => {
      assertEquals(await drv.getuid([]), 65534);
      assertEquals(await drv.getgroups([]), []);
      // Without privilege a pid namespace alone is refused...
      const e = await assertRejects(() => drv.clone([], ["CLONE_NEWPID"]), SystemCallError);
      assertEquals(e.code, "EPERM");
      // ...but with a new user namespace it is allowed.
      const p = await drv.clone([], ["CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWUTS"]);
      assertEquals(await drv.getpid([p]), 1);
      await drv.sethostname([p], "unprivileged");
      assertEquals(await drv.gethostname([p]), "unprivileged");
      await drv.execvp([p], "/bin/sh", ["sh", "-c", "echo $$; hostname"]);
      assertEquals(await readAll(drv, [p]), "1\nunprivileged\n");
      assertEquals(await drv.event([p]), { type: "exit", status: 0 });
    }, { exec: SETPRIV, helper: helper.path });
  },
);

Deno.test(
  needs("a control process dropped to uid 65534 cannot regain root", setprivMissing()),
  async () => {
    await withDriver(async (drv) => {
      const p = await drv.fork([]);
      await drv.setgroups([p], []);
      await drv.setgid([p], 65534);
      await drv.setuid([p], 65534);
      assertEquals(await drv.getuid([p]), 65534);
      const e = await assertRejects(() => drv.setuid([p], 0), SystemCallError);
      assertEquals(e.code, "EPERM");
      await assertRejects(() => drv.sethostname([p], "x"), SystemCallError, "EPERM");
    });
  },
);

Deno.test(
  needs(
    "spawn without privilege: a user namespace is added and ids map as bubblewrap's",
    setprivMissing(),
  ),
  async () => {
    await using helper = await publicHelper();
    await withDriver(async (drv) => {
      const p = await drv.spawn(
        ["sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map; hostname; echo $$; ls /"],
        {
          namespaces: ["pid", "uts", "net", "mount", "ipc"],
          hostname: "unpriv",
          mounts: [
            ...["/usr", "/bin", "/lib", "/lib64"].map((p) => ({
              type: "ro-bind-try" as const,
              source: p,
              target: p,
            })),
            { type: "proc", target: "/proc" },
            { type: "dev", target: "/dev" },
            { type: "tmpfs", target: "/tmp" },
          ],
        },
      );
      const o = await p.output();
      const out = new TextDecoder().decode(o.stdout).split("\n").map((l) =>
        l.trim().replace(/\s+/g, " ")
      );
      assertEquals(out, [
        "65534",
        "65534 65534 1",
        "65534 65534 1",
        "unpriv",
        "1",
        "bin",
        "dev",
        "lib",
        "lib64",
        "proc",
        "tmp",
        "usr",
        "",
      ]);
      // Another uid inside maps to the caller's outside.
      const other = await drv.spawn(["sh", "-c", "id -u; cat /proc/self/uid_map"], {
        namespaces: ["user"],
        uid: 1000,
      });
      const text = new TextDecoder().decode((await other.output()).stdout);
      assertEquals(text.split("\n").map((l) => l.trim().replace(/\s+/g, " ")), [
        "1000",
        "1000 65534 1",
        "",
      ]);
      // Without a user namespace, changing ids is refused: a SetupError says which step.
      const e = await assertRejects(() => drv.spawn(["true"], { uid: 0 }), SetupError);
      assertEquals([e.step, e.code], ["setuid", "EPERM"]);
      assertEquals(
        e.message,
        'spawn: Cannot change to uid 0 (without root, ask for the "user" namespace): EPERM ' +
          "(Operation not permitted)",
      );
      // Capabilities it does not hold: the same hint; with "user", it holds them there.
      const caps = await assertRejects(
        () => drv.spawn(["true"], { capabilities: ["CAP_NET_ADMIN"] }),
        SetupError,
      );
      assertEquals(
        caps.message,
        "spawn: Cannot set the capabilities kept (this process does not hold them: without " +
          'root, ask for the "user" namespace): EPERM (Operation not permitted)',
      );
      const held = await drv.spawn(["true"], {
        namespaces: ["user", "net"],
        capabilities: ["CAP_NET_ADMIN"],
      });
      assertEquals((await held.status).code, 0);
      assertEquals(await drv.cpid([]), []);
      // A user namespace may mount only the proc of a pid namespace it owns: without one of
      // its own, proc is the host's, bound (as bubblewrap does), with the same processes.
      const proc = await drv.spawn(["sh", "-c", "cat /proc/1/comm; grep -c . /proc/self/uid_map"], {
        namespaces: ["mount"],
        mounts: [{ type: "ro-bind", source: "/", target: "/" }, { type: "proc", target: "/proc" }],
      });
      const seen = await proc.output();
      assertEquals(seen.status.code, 0, new TextDecoder().decode(seen.stderr));
      assertEquals(
        new TextDecoder().decode(seen.stdout),
        Deno.readTextFileSync("/proc/1/comm") + "1\n",
      );
      assertEquals(await drv.cpid([]), []);
    }, { exec: SETPRIV, helper: helper.path });
  },
);
