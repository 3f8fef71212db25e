/**
 * Mounts, roots and namespaces: tmpfs and bind mounts, a private root with
 * pivot_root, unshare, setns, and user namespace id maps, against the real kernel.
 *
 * @module
 */
import { assert, assertEquals, assertNotEquals, assertRejects } from "@std/assert";
import { Alcove, type Alcove as Driver, SystemCallError } from "../mod.ts";
import { findNative } from "../ffi/_native.ts";
import { IS_ROOT, needs, sh, withDriver } from "./_helpers.ts";

const ROOT_REASON = IS_ROOT ? undefined : "needs root (run as root or in CI)";
const decoder = new TextDecoder();

async function assertErrno(p: Promise<unknown>, code: string): Promise<void> {
  const e = await assertRejects(() => p, SystemCallError);
  assertEquals(e.code, code);
}

async function stillAnswers(drv: Driver, pipeline: number[]): Promise<void> {
  assertEquals(await drv.getpid(pipeline), pipeline.length === 0 ? drv.pid : pipeline.at(-1));
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "alcove-mount-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A child in a new mount namespace whose mounts do not propagate back. */
async function privateMounts(drv: Driver): Promise<number> {
  const pid = await drv.clone([], "CLONE_NEWNS");
  await drv.mount([pid], "none", "/", "", ["MS_REC", "MS_PRIVATE"], "", "");
  return pid;
}

/** Writes a whole file from a control process with open/write/close. */
async function writeFile(drv: Driver, pipeline: number[], path: string, text: string) {
  const fd = await drv.open(pipeline, path, "O_WRONLY", 0);
  try {
    assertEquals(await drv.write(pipeline, fd, text), new TextEncoder().encode(text).length);
  } finally {
    await drv.close(pipeline, fd);
  }
}

/** Why user namespaces cannot be made here, or undefined. */
async function userNamespaceReason(): Promise<string | undefined> {
  const r = await sh("unshare --user true 2>/dev/null && echo yes");
  return r.out.trim() === "yes" ? undefined : "user namespaces are not available";
}

const USERNS_REASON = ROOT_REASON ?? await userNamespaceReason();

Deno.test(
  needs("tmpfs and bind mounts in a mount namespace", ROOT_REASON),
  () =>
    withTempDir((dir) =>
      withDriver(async (drv) => {
        await Deno.mkdir(`${dir}/tmpfs`);
        await Deno.mkdir(`${dir}/bind`);
        const pid = await privateMounts(drv);
        await drv.mount(
          [pid],
          "tmpfs",
          `${dir}/tmpfs`,
          "tmpfs",
          ["nosuid", "MS_NODEV"],
          "size=1m",
          "",
        );
        const fd = await drv.open([pid], `${dir}/tmpfs/file`, ["O_WRONLY", "O_CREAT"], 0o644);
        await drv.write([pid], fd, "on tmpfs");
        await drv.close([pid], fd);
        // Only the child's namespace sees the mount.
        assertEquals(await Deno.readDir(`${dir}/tmpfs`)[Symbol.asyncIterator]().next(), {
          done: true,
          value: undefined,
        });
        const mounts = await Deno.readTextFile(`/proc/${pid}/mounts`);
        const line = mounts.split("\n").find((l) => l.includes(`${dir}/tmpfs `)) ?? "";
        assert(line?.startsWith("tmpfs "), mounts);
        assert(line.includes("nosuid") && line.includes("nodev"), line);

        await drv.mount([pid], `${dir}/tmpfs`, `${dir}/bind`, "", "MS_BIND", "", "");
        assertEquals((await drv.readdir([pid], `${dir}/bind`)).sort(), [".", "..", "file"]);
        // alcove's portable "rdonly": a read-only bind remount.
        await drv.mount([pid], "", `${dir}/bind`, "", ["MS_REMOUNT", "MS_BIND", "rdonly"], "", "");
        await assertErrno(
          drv.open([pid], `${dir}/bind/other`, ["O_WRONLY", "O_CREAT"], 0o644),
          "EROFS",
        );
        const rfd = await drv.open([pid], `${dir}/bind/file`, "O_RDONLY", 0);
        assertEquals(decoder.decode(await drv.read([pid], rfd, 100)), "on tmpfs");
        await drv.close([pid], rfd);
        await assertErrno(drv.umount([pid], `${dir}/tmpfs/nothing`), "ENOENT");
        await drv.umount([pid], `${dir}/bind`);
        assertEquals(await drv.readdir([pid], `${dir}/bind`), [".", ".."].sort());
        await drv.umount2([pid], `${dir}/tmpfs`, 0);
        await assertErrno(drv.umount2([pid], `${dir}/tmpfs`, 0), "EINVAL");
        await assertErrno(
          drv.mount([pid], "none", `${dir}/tmpfs`, "nosuchfs", 0, "", ""),
          "ENODEV",
        );
      })
    ),
);

Deno.test("mount and umount2 check their arguments", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    await assertRejects(
      () => drv.mount([pid], "none", "/mnt", "tmpfs", ["MS_NOPE"], "", ""),
      RangeError,
      "MS_NOPE",
    );
    await assertRejects(
      () => drv.mount([pid], "none", "/mnt", "tmpfs", ["readonly"], "", ""),
      RangeError,
      "flags",
    );
    await assertRejects(
      () => drv.mount([pid], "none", 1 as never, "", 0, "", ""),
      TypeError,
      "target",
    );
    await assertRejects(
      () => drv.mount([pid], "none", "/mnt", "", 0, "", null as never),
      TypeError,
      "mountOptions",
    );
    await assertRejects(() => drv.umount2([pid], "/mnt", "MNT_NOPE"), RangeError, "MNT_NOPE");
    await assertRejects(() => drv.mount([pid], "", "/mnt", "", -1, "", ""), RangeError, "flags");
    await assertRejects(() => drv.mount([pid], "", "/mnt", "", 2 ** 32, "", ""), RangeError);
    await assertRejects(() => drv.umount([pid], "/m\0nt"), TypeError, "NUL");
    await assertErrno(drv.umount2([pid], "/" + "p".repeat(5000), "MNT_DETACH"), "ENAMETOOLONG");
    await assertErrno(drv.umount2([pid], "/", 0x7fffffff), "EINVAL");
    await stillAnswers(drv, [pid]);
  }));

Deno.test(
  needs("pivot_root into a private root (alcove's recipe)", ROOT_REASON),
  () =>
    withTempDir((dir) =>
      withDriver(async (drv) => {
        const root = `${dir}/root`;
        await Deno.mkdir(root);
        const pid = await privateMounts(drv);
        await drv.mount(
          [pid],
          "tmpfs",
          root,
          "tmpfs",
          ["nosuid", "noexec"],
          "size=1m,mode=755",
          "",
        );
        await drv.mkdir([pid], `${root}/etc`, 0o755);
        await drv.mkdir([pid], `${root}/tmp`, 0o1777);
        const fd = await drv.open([pid], `${root}/etc/hostname`, ["O_WRONLY", "O_CREAT"], 0o644);
        await drv.write([pid], fd, "private\n");
        await drv.close([pid], fd);
        await drv.mount([pid], root, root, "", ["MS_BIND", "MS_REC"], "", "");
        await drv.chdir([pid], root);
        await drv.pivotRoot([pid], ".", ".");
        await drv.umount2([pid], ".", "MNT_DETACH");
        await drv.chdir([pid], "/");
        assertEquals((await drv.readdir([pid], "/")).sort(), [".", "..", "etc", "tmp"]);
        const hfd = await drv.open([pid], "/etc/hostname", "O_RDONLY", 0);
        assertEquals(decoder.decode(await drv.read([pid], hfd, 100)), "private\n");
        await assertErrno(drv.open([pid], "/proc/self/status", "O_RDONLY", 0), "ENOENT");
        // The process keeps answering in its new root, and so do its children.
        const child = await drv.fork([pid]);
        assertEquals((await drv.readdir([pid, child], "/")).sort(), [".", "..", "etc", "tmp"]);
        // The host's root is untouched.
        assert((await drv.readdir([], "/")).includes("proc"));
        await assertErrno(drv.pivotRoot([pid], "/nonexistent", "/"), "ENOENT");
      })
    ),
);

Deno.test(
  needs("unshare CLONE_NEWUTS gives a process its own host name", ROOT_REASON),
  () =>
    withDriver(async (drv) => {
      const host = await drv.gethostname([]);
      const pid = await drv.fork([]);
      const before = await Deno.readLink(`/proc/${pid}/ns/uts`);
      await drv.unshare([pid], ["CLONE_NEWUTS"]);
      assertNotEquals(await Deno.readLink(`/proc/${pid}/ns/uts`), before);
      await drv.sethostname([pid], "alcove-unshare");
      assertEquals(await drv.gethostname([pid]), "alcove-unshare");
      assertEquals(await drv.gethostname([]), host);
      // Children forked afterwards share the new namespace.
      const child = await drv.fork([pid]);
      assertEquals(await drv.gethostname([pid, child]), "alcove-unshare");
      await assertRejects(() => drv.unshare([pid], "CLONE_NOPE"), RangeError, "CLONE_NOPE");
      await assertErrno(drv.unshare([pid], 0x1), "EINVAL");
      await stillAnswers(drv, [pid]);
    }),
);

Deno.test(
  needs("setns into another process's UTS namespace", ROOT_REASON),
  () =>
    withDriver(async (drv) => {
      const box = await drv.clone([], "CLONE_NEWUTS");
      await drv.sethostname([box], "alcove-setns");
      const pid = await drv.fork([]);
      assertNotEquals(await drv.gethostname([pid]), "alcove-setns");
      const fd = await drv.open([pid], `/proc/${box}/ns/uts`, "O_RDONLY", 0);
      // The type must match when one is given.
      await assertErrno(drv.setns([pid], fd, "CLONE_NEWNET"), "EINVAL");
      await drv.setns([pid], fd, "CLONE_NEWUTS");
      assertEquals(await drv.gethostname([pid]), "alcove-setns");
      await drv.close([pid], fd);
      // nstype 0 accepts any type.
      const other = await drv.fork([]);
      const fd2 = await drv.open([other], `/proc/${box}/ns/uts`, "O_RDONLY", 0);
      await drv.setns([other], fd2, 0);
      assertEquals(await drv.gethostname([other]), "alcove-setns");
      await assertErrno(drv.setns([other], 9999, 0), "EBADF");
      const notNs = await drv.open([other], "/etc/hostname", "O_RDONLY", 0);
      await assertErrno(drv.setns([other], notNs, 0), "EINVAL");
      await assertRejects(() => drv.setns([other], fd2, "CLONE_NOPE"), RangeError, "nstype");
      await stillAnswers(drv, [other]);
    }),
);

Deno.test(
  needs("uid/gid maps written by the root control process make the child uid 0", USERNS_REASON),
  async () => {
    await withDriver(async (drv) => {
      const pid = await drv.clone([], "CLONE_NEWUSER");
      // Unmapped ids read as the overflow id.
      assertEquals(await drv.getuid([pid]), 65534);
      await writeFile(drv, [], `/proc/${pid}/setgroups`, "deny");
      await writeFile(drv, [], `/proc/${pid}/uid_map`, "0 0 1\n");
      await writeFile(drv, [], `/proc/${pid}/gid_map`, "0 0 1\n");
      assertEquals(await drv.getuid([pid]), 0);
      assertEquals(await drv.getgid([pid]), 0);
      assertEquals(await drv.getresuid([pid]), { ruid: 0, euid: 0, suid: 0 });
      // Inside, the child holds every capability over its namespace.
      assertEquals((await drv.capget([pid])).effective & (1n << 21n), 1n << 21n);
      // A map can be written only once.
      await assertErrno(writeFile(drv, [], `/proc/${pid}/uid_map`, "0 0 1\n"), "EPERM");
      // setgroups is denied in the namespace.
      const child = await drv.fork([pid]);
      await assertErrno(drv.setgroups([pid, child], []), "EPERM");

      // Root inside mapped to an unprivileged range outside: the child's ids (global 0)
      // are unmapped until it switches to one that is mapped.
      const ranged = await drv.clone([], "CLONE_NEWUSER");
      await writeFile(drv, [], `/proc/${ranged}/setgroups`, "deny");
      await writeFile(drv, [], `/proc/${ranged}/uid_map`, "0 100000 1000\n");
      await writeFile(drv, [], `/proc/${ranged}/gid_map`, "0 100000 1000\n");
      assertEquals(await drv.getuid([ranged]), 65534);
      await drv.setresgid([ranged], 0, 0, 0);
      await drv.setresuid([ranged], 0, 0, 0);
      assertEquals(await drv.getresuid([ranged]), { ruid: 0, euid: 0, suid: 0 });
      assertEquals(await drv.getresgid([ranged]), { rgid: 0, egid: 0, sgid: 0 });
      const status = await Deno.readTextFile(`/proc/${ranged}/status`);
      assert(/^Uid:\s+100000\s+100000\s+100000\s+100000$/m.test(status), status);
      await assertErrno(drv.setresuid([ranged], 5000, 5000, 5000), "EINVAL");
    });
  },
);

Deno.test(
  needs("an unprivileged parent maps its own ids into a child's user namespace", USERNS_REASON),
  async () => {
    // The root control process itself runs as uid/gid 65534: the unprivileged path. A copy
    // of the helper in a world-readable folder, whatever the permissions of the build's.
    const dir = await Deno.makeTempDir({ prefix: "alcove-helper-" });
    await Deno.chmod(dir, 0o755);
    const helper = `${dir}/alcove`;
    await Deno.copyFile(findNative().helper, helper);
    await Deno.chmod(helper, 0o755);
    const drv = await Alcove.start({
      exec: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
      helper,
    }).finally(() => Deno.remove(dir, { recursive: true }));
    try {
      assertEquals(await drv.getuid([]), 65534);
      assertEquals(await drv.getgroups([]), []);
      const pid = await drv.clone([], ["CLONE_NEWUSER", "CLONE_NEWUTS"]);
      await writeFile(drv, [], `/proc/${pid}/setgroups`, "deny");
      // Without "deny" first, an unprivileged gid_map write is refused; with it, one line
      // mapping the writer's own id is allowed.
      await writeFile(drv, [], `/proc/${pid}/uid_map`, "0 65534 1");
      await writeFile(drv, [], `/proc/${pid}/gid_map`, "0 65534 1");
      assertEquals(await drv.getuid([pid]), 0);
      assertEquals(await drv.getgid([pid]), 0);
      await drv.sethostname([pid], "unprivileged");
      assertEquals(await drv.gethostname([pid]), "unprivileged");
      // Ids that are not the writer's own are refused.
      const other = await drv.clone([], "CLONE_NEWUSER");
      await assertErrno(writeFile(drv, [], `/proc/${other}/uid_map`, "0 0 1"), "EPERM");
      await assertErrno(drv.sethostname([], "nope"), "EPERM");
    } finally {
      await drv.stop();
    }
  },
);
