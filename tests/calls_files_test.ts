/**
 * Files and descriptors: mkdir, chmod, chown, open, read, write, lseek, fcntl,
 * select, readdir, links, fifos and chroot, against the real kernel.
 *
 * @module
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { type Alcove, SystemCallError } from "../mod.ts";
import { IS_ROOT, needs, withDriver } from "./_helpers.ts";

const ROOT_REASON = IS_ROOT ? undefined : "needs root (run as root or in CI)";
const decoder = new TextDecoder();

async function assertErrno(p: Promise<unknown>, code: string): Promise<void> {
  const e = await assertRejects(() => p, SystemCallError);
  assertEquals(e.code, code);
}

async function stillAnswers(drv: Alcove, pipeline: number[]): Promise<void> {
  assertEquals(await drv.getpid(pipeline), pipeline.length === 0 ? drv.pid : pipeline.at(-1));
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "alcove-files-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A child that dropped to uid/gid 65534 with no supplementary groups. */
async function nobody(drv: Alcove): Promise<number> {
  const pid = await drv.fork([]);
  await drv.setgroups([pid], []);
  assertEquals(await drv.getgroups([pid]), []);
  await drv.setgid([pid], 65534);
  await drv.setuid([pid], 65534);
  return pid;
}

Deno.test("mkdir, chmod, rmdir and readdir", () =>
  withTempDir((dir) =>
    withDriver(async (drv) => {
      const pid = await drv.fork([]);
      await drv.mkdir([pid], `${dir}/a`, 0o700);
      assertEquals((await Deno.stat(`${dir}/a`)).mode! & 0o7777, 0o700);
      await drv.chmod([pid], `${dir}/a`, ["S_IRWXU", "S_IRGRP", "S_IXGRP"]);
      assertEquals((await Deno.stat(`${dir}/a`)).mode! & 0o7777, 0o750);
      await drv.chmod([pid], `${dir}/a`, 0o1755);
      assertEquals((await Deno.stat(`${dir}/a`)).mode! & 0o7777, 0o1755);
      await assertErrno(drv.mkdir([pid], `${dir}/a`, 0o700), "EEXIST");
      await Deno.writeTextFile(`${dir}/a/f`, "x");
      assertEquals((await drv.readdir([pid], `${dir}/a`)).sort(), [".", "..", "f"]);
      await assertErrno(drv.rmdir([pid], `${dir}/a`), "ENOTEMPTY");
      await drv.unlink([pid], `${dir}/a/f`);
      await drv.rmdir([pid], `${dir}/a`);
      assertEquals((await drv.readdir([pid], dir)).sort(), [".", ".."]);
      await assertErrno(drv.readdir([pid], `${dir}/a`), "ENOENT");
      await assertErrno(drv.chmod([pid], `${dir}/a`, 0o700), "ENOENT");
    })
  ));

Deno.test("readdir returns a 6000-entry directory whole", () =>
  withTempDir(async (dir) => {
    const names = Array.from({ length: 6000 }, (_, i) => `entry-with-a-long-name-${i}`);
    await Promise.all(names.map((n) => Deno.writeFile(`${dir}/${n}`, new Uint8Array())));
    await withDriver(async (drv) => {
      const got = await drv.readdir([], dir);
      assertEquals(got.length, 6002);
      assertEquals(got.sort(), [".", "..", ...names].sort());
      const pid = await drv.fork([]);
      assertEquals((await drv.readdir([pid], dir)).length, 6002);
    });
  }));

Deno.test("open, write, lseek, read and close", () =>
  withTempDir((dir) =>
    withDriver(async (drv) => {
      const pid = await drv.fork([]);
      const file = `${dir}/data`;
      const fd = await drv.open([pid], file, ["O_RDWR", "O_CREAT", "O_EXCL"], 0o640);
      assert(fd > 2);
      assertEquals((await Deno.stat(file)).mode! & 0o777, 0o640);
      assertEquals(await drv.write([pid], fd, "hello "), 6);
      assertEquals(await drv.write([pid], fd, new Uint8Array([0, 119, 111, 114, 108, 100])), 6);
      assertEquals(await drv.lseek([pid], fd, 0, "SEEK_CUR"), 12);
      assertEquals(await drv.lseek([pid], fd, 0, "SEEK_SET"), 0);
      assertEquals(await drv.read([pid], fd, 5), new TextEncoder().encode("hello"));
      assertEquals(
        await drv.read([pid], fd, 100),
        new Uint8Array([32, 0, 119, 111, 114, 108, 100]),
      );
      assertEquals(await drv.read([pid], fd, 100), new Uint8Array(), "end of file");
      assertEquals(await drv.lseek([pid], fd, -3, "seek_end"), 9);
      assertEquals(decoder.decode(await drv.read([pid], fd, 0)), "");
      assertEquals(decoder.decode(await drv.read([pid], fd, 3)), "rld");
      await drv.close([pid], fd);
      await assertErrno(drv.close([pid], fd), "EBADF");
      await assertErrno(drv.read([pid], fd, 1), "EBADF");
      await assertErrno(drv.write([pid], fd, "x"), "EBADF");
      await assertErrno(drv.lseek([pid], fd, 0, "SEEK_SET"), "EBADF");
      await assertErrno(drv.open([pid], file, ["O_RDWR", "O_CREAT", "O_EXCL"], 0o600), "EEXIST");
      // A number for the flags, and a large read of a large file.
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
      await Deno.writeFile(`${dir}/big`, big);
      const O_RDONLY = drv.constants.lookup("file", "O_RDONLY")!;
      const fd2 = await drv.open([pid], `${dir}/big`, O_RDONLY, 0);
      assertEquals(await drv.read([pid], fd2, 16 * 1024 * 1024), big);
      await drv.close([pid], fd2);
    })
  ));

Deno.test("read, write, open and close check their arguments", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    await assertRejects(() => drv.read([pid], 0, 16 * 1024 * 1024 + 1), RangeError, "count");
    await assertRejects(() => drv.read([pid], 0, -1), RangeError, "count");
    await assertRejects(() => drv.read([pid], "0" as never, 1), TypeError, "fd");
    await assertRejects(() => drv.read([pid], 2 ** 31, 1), RangeError, "fd");
    await assertRejects(() => drv.write([pid], 1, 5 as never), TypeError, "data");
    await assertRejects(() => drv.open([pid], "/etc/hostname", "O_NOPE", 0), RangeError, "O_NOPE");
    await assertRejects(() => drv.open([pid], "/etc/hostname", 0, 0o10000), RangeError, "mode");
    await assertRejects(() => drv.open([pid], "/etc/hostname", 0, -1), RangeError, "mode");
    await assertRejects(() => drv.open([pid], "/etc\0/hostname", 0, 0), TypeError, "NUL");
    await assertRejects(() => drv.open([pid], null as never, 0, 0), TypeError, "path");
    await assertRejects(() => drv.close([pid], 1.5), TypeError, "fd");
    await assertErrno(drv.close([pid], -1), "EBADF");
    await assertErrno(drv.close([pid], 2147483647), "EBADF");
    // Paths longer than PATH_MAX, and a component longer than NAME_MAX.
    await assertErrno(drv.open([pid], "/" + "a/".repeat(3000), 0, 0), "ENAMETOOLONG");
    await assertErrno(drv.mkdir([pid], "/tmp/" + "x".repeat(300), 0o700), "ENAMETOOLONG");
    await assertErrno(drv.readdir([pid], "/" + "b".repeat(100000)), "ENAMETOOLONG");
    await stillAnswers(drv, [pid]);
  }));

Deno.test("a control process refuses to read, write, change or close its own channels", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const [child] = await drv.cpid([]);
    for (const fd of [child.fdctl, child.stdin, child.stdout]) {
      await assertRejects(() => drv.close([], fd), RangeError, "belongs to the control process");
      await assertRejects(() => drv.read([], fd, 1), RangeError, "belongs to the control process");
      await assertRejects(() => drv.write([], fd, "x"), RangeError, "control process");
      await assertRejects(() => drv.fcntl([], fd, "F_SETFL", 0), RangeError, "control process");
    }
    // Every descriptor of a fresh child but its stdio is its own: its channel to its
    // parent and its signal pipe.
    await drv.getpid([pid]); // answered: it has closed what it inherited from its parent
    const fds: number[] = [];
    for await (const e of Deno.readDir(`/proc/${pid}/fd`)) fds.push(Number(e.name));
    const own = fds.filter((fd) => fd > 2);
    assert(own.length >= 2, `descriptors of ${pid}: ${fds}`);
    for (const fd of own) {
      await assertRejects(() => drv.close([pid], fd), RangeError, "belongs to the control process");
      await assertRejects(() => drv.read([pid], fd, 1), RangeError, "control process");
    }
    // After a spawn, the descriptor the root keeps to reset its peak memory (a close of it,
    // then an open that took its number, would have had "5" written into that file).
    await (await drv.spawn(["true"])).status;
    const root = await drv.getpid([]);
    const kept = [...Deno.readDirSync(`/proc/${root}/fd`)].map((e) => Number(e.name))
      .filter((fd) => Deno.readLinkSync(`/proc/${root}/fd/${fd}`).endsWith("/clear_refs"));
    // None in the sanitizer's build, which copies memory wherever a child would borrow it.
    const copies = (Deno.env.get("ALCOVE_LIB_PATH") ?? "").endsWith("build-sanitize");
    assertEquals(kept.length, copies ? 0 : 1, `descriptors of ${root}`);
    for (const fd of kept) {
      await assertRejects(() => drv.close([], fd), RangeError, "belongs to the control process");
    }
    await stillAnswers(drv, []);
    await stillAnswers(drv, [pid]);
  }));

Deno.test("every call taking a descriptor refuses the control process's own", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    await drv.getpid([pid]);
    const fds: number[] = [];
    for await (const e of Deno.readDir(`/proc/${pid}/fd`)) fds.push(Number(e.name));
    const own = fds.filter((fd) => fd > 2);
    const mine = "belongs to the control process";
    for (const fd of own) {
      // FIONBIO would make the signal pipe blocking, FIONCLEX leak it into a program.
      for (const req of ["FIONBIO", "FIONCLEX"] as const) {
        await assertRejects(() => drv.ioctl([pid], fd, req, new Uint8Array(4)), RangeError, mine);
      }
      await assertRejects(() => drv.lseek([pid], fd, 0, 0), RangeError, mine);
      await assertRejects(() => drv.connect([pid], fd, null), RangeError, mine);
      await assertRejects(() => drv.setns([pid], fd, 0), RangeError, mine);
      await assertRejects(() => drv.fexecve([pid], fd, ["x"], []), RangeError, mine);
    }
    await stillAnswers(drv, [pid]);
    assertEquals(await drv.kill([pid], 0, "SIGUSR1"), undefined);
    assertEquals((await drv.event([pid], { timeout: 5000 }))?.type, "signal");
  }));

Deno.test("fcntl: FD_CLOEXEC with F_GETFD/F_SETFD, O_NONBLOCK with F_GETFL/F_SETFL", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const fd = await drv.open([pid], "/etc/hostname", "O_RDONLY", 0);
    assertEquals(await drv.fcntl([pid], fd, "F_GETFD", 0), 0);
    await drv.fcntl([pid], fd, "F_SETFD", "FD_CLOEXEC");
    assertEquals(await drv.fcntl([pid], fd, "F_GETFD", 0), 1);
    await drv.fcntl([pid], fd, "f_setfd", 0);
    assertEquals(await drv.fcntl([pid], fd, "F_GETFD", 0), 0);
    const O_NONBLOCK = drv.constants.lookup("file", "O_NONBLOCK")!;
    assertEquals((await drv.fcntl([pid], fd, "F_GETFL", 0)) & O_NONBLOCK, 0);
    await drv.fcntl([pid], fd, "F_SETFL", ["O_NONBLOCK"]);
    assertEquals((await drv.fcntl([pid], fd, "F_GETFL", 0)) & O_NONBLOCK, O_NONBLOCK);
    const dup = await drv.fcntl([pid], fd, "F_DUPFD_CLOEXEC", 100);
    assert(dup >= 100);
    assertEquals(await drv.fcntl([pid], dup, "F_GETFD", 0), 1);
    const cloexec = await drv.open([pid], "/etc/hostname", ["O_RDONLY", "O_CLOEXEC"], 0);
    assertEquals(await drv.fcntl([pid], cloexec, "F_GETFD", 0), 1);
    // Commands whose argument is a pointer are refused, not run with an address.
    await assertRejects(() => drv.fcntl([pid], fd, "F_GETLK", 4096), RangeError, "pointer");
    await assertRejects(() => drv.fcntl([pid], fd, "F_OFD_SETLK", 0), RangeError, "pointer");
    await assertRejects(() => drv.fcntl([pid], fd, "F_NOPE", 0), RangeError, "F_NOPE");
    await assertRejects(
      () => drv.fcntl([pid], fd, "F_SETFD", "O_NOPE"),
      RangeError,
      "fcntl or file",
    );
    await assertErrno(drv.fcntl([pid], 9999, "F_GETFD", 0), "EBADF");
    await assertErrno(drv.fcntl([pid], fd, 999999, 0), "EINVAL");
    await stillAnswers(drv, [pid]);
  }));

Deno.test("link, symlink and unlink", () =>
  withTempDir((dir) =>
    withDriver(async (drv) => {
      await Deno.writeTextFile(`${dir}/file`, "contents");
      await drv.link([], `${dir}/file`, `${dir}/hard`);
      assertEquals((await Deno.stat(`${dir}/hard`)).ino, (await Deno.stat(`${dir}/file`)).ino);
      assertEquals((await Deno.stat(`${dir}/file`)).nlink, 2);
      await drv.symlink([], "file", `${dir}/soft`);
      assertEquals(await Deno.readLink(`${dir}/soft`), "file");
      assertEquals(await Deno.readTextFile(`${dir}/soft`), "contents");
      await assertErrno(drv.symlink([], "file", `${dir}/soft`), "EEXIST");
      await assertErrno(drv.link([], `${dir}/missing`, `${dir}/x`), "ENOENT");
      await drv.unlink([], `${dir}/file`);
      assertEquals(await Deno.readTextFile(`${dir}/hard`), "contents");
      await assertErrno(drv.unlink([], `${dir}/file`), "ENOENT");
      await drv.symlink([], "/nonexistent/target", `${dir}/dangling`);
      await drv.unlink([], `${dir}/dangling`);
      assertEquals((await drv.readdir([], dir)).sort(), [".", "..", "hard", "soft"]);
      await assertRejects(() => drv.link([], `${dir}/hard`, "a\0b"), TypeError, "newpath");
    })
  ));

Deno.test("mkfifo across two processes: one writes, one reads", () =>
  withTempDir((dir) =>
    withDriver(async (drv) => {
      const fifo = `${dir}/fifo`;
      await drv.mkfifo([], fifo, 0o600);
      assert((await Deno.stat(fifo)).isFifo);
      const reader = await drv.fork([]);
      const writer = await drv.fork([]);
      // Each open waits for the other end: they run at once in two processes.
      const [rfd, wfd] = await Promise.all([
        drv.open([reader], fifo, "O_RDONLY", 0),
        drv.open([writer], fifo, "O_WRONLY", 0),
      ]);
      assertEquals(await drv.write([writer], wfd, "through the fifo"), 16);
      assertEquals(decoder.decode(await drv.read([reader], rfd, 100)), "through the fifo");
      await drv.close([writer], wfd);
      assertEquals(await drv.read([reader], rfd, 100), new Uint8Array(), "end of file");
      await assertErrno(drv.mkfifo([], fifo, 0o600), "EEXIST");
      await assertRejects(() => drv.mkfifo([], `${dir}/f2`, 0o20000), RangeError, "mode");
    })
  ));

Deno.test("select on a fifo", () =>
  withTempDir((dir) =>
    withDriver(async (drv) => {
      const pid = await drv.fork([]);
      const fifo = `${dir}/fifo`;
      await drv.mkfifo([pid], fifo, 0o600);
      // O_RDWR on a fifo does not wait for a peer (Linux).
      const fd = await drv.open([pid], fifo, "O_RDWR", 0);
      const none = { readfds: [], writefds: [], exceptfds: [] };
      assertEquals(await drv.select([pid], [fd], [], [], { sec: 0, usec: 0 }), none);
      assertEquals(await drv.select([pid], [fd], [], [fd], { sec: 0, usec: 20000 }), none);
      assertEquals(await drv.select([pid], [fd], [fd], [], { sec: 0 }), {
        readfds: [],
        writefds: [fd],
        exceptfds: [],
      });
      await drv.write([pid], fd, "x");
      // Ready now: a null timeout does not wait.
      assertEquals(await drv.select([pid], [fd, 0], [fd], [], null), {
        readfds: [fd],
        writefds: [fd],
        exceptfds: [],
      });
      assertEquals(decoder.decode(await drv.read([pid], fd, 10)), "x");
      assertEquals(await drv.select([], [], [], [], { sec: 0, usec: 1000 }), none);
      // A signal during the wait (SIGCHLD from a dying child) does not end it early.
      const child = await drv.fork([pid]);
      const started = Date.now();
      const waiting = drv.select([pid], [fd], [], [], { sec: 0, usec: 300000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await drv.kill([], child, "SIGKILL");
      assertEquals(await waiting, none);
      assert(Date.now() - started >= 290, `select returned after ${Date.now() - started} ms`);
      assertEquals(await drv.event([pid, child], { timeout: 5000 }), {
        type: "termsig",
        signal: "SIGKILL",
      });
      const closed = await drv.open([pid], "/etc/hostname", "O_RDONLY", 0);
      await drv.close([pid], closed);
      await assertErrno(drv.select([pid], [closed], [], [], { sec: 0, usec: 0 }), "EBADF");
      await assertRejects(() => drv.select([pid], [1024], [], [], null), RangeError, "readfds[0]");
      await assertRejects(() => drv.select([pid], [], [-1], [], null), RangeError, "writefds[0]");
      await assertRejects(
        () => drv.select([pid], [], [], 3 as never, null),
        TypeError,
        "exceptfds",
      );
      await assertRejects(
        () => drv.select([pid], [fd], [], [], { sec: 0, usec: 1000000 }),
        RangeError,
        "timeout.usec",
      );
      await assertRejects(() => drv.select([pid], [fd], [], [], { sec: -1 }), RangeError, "sec");
      await assertRejects(() => drv.select([pid], [fd], [], [], 5 as never), TypeError, "timeout");
      await stillAnswers(drv, [pid]);
    })
  ));

Deno.test(
  needs("chown, and chmod/chown as an unprivileged child", ROOT_REASON),
  () =>
    withTempDir((dir) =>
      withDriver(async (drv) => {
        await Deno.chmod(dir, 0o755);
        await Deno.writeTextFile(`${dir}/root-owned`, "x");
        await Deno.writeTextFile(`${dir}/mine`, "x");
        await drv.chown([], `${dir}/mine`, 65534, 65534);
        let st = await Deno.stat(`${dir}/mine`);
        assertEquals([st.uid, st.gid], [65534, 65534]);
        await drv.chown([], `${dir}/mine`, -1, 0);
        st = await Deno.stat(`${dir}/mine`);
        assertEquals([st.uid, st.gid], [65534, 0]);
        await drv.chown([], `${dir}/mine`, -1, 65534);

        const pid = await nobody(drv);
        assertEquals(await drv.getresuid([pid]), { ruid: 65534, euid: 65534, suid: 65534 });
        await assertErrno(drv.chown([pid], `${dir}/root-owned`, 65534, 65534), "EPERM");
        await assertErrno(drv.chmod([pid], `${dir}/root-owned`, 0o777), "EPERM");
        await assertErrno(drv.chown([pid], `${dir}/mine`, 0, -1), "EPERM");
        await drv.chmod([pid], `${dir}/mine`, 0o600);
        assertEquals((await Deno.stat(`${dir}/mine`)).mode! & 0o777, 0o600);
        await assertErrno(drv.open([pid], `${dir}/new`, ["O_WRONLY", "O_CREAT"], 0o600), "EACCES");
        await assertErrno(drv.mkdir([pid], `${dir}/d`, 0o700), "EACCES");
        await assertRejects(() => drv.chown([pid], `${dir}/mine`, -2, 0), RangeError, "uid");
        await assertRejects(() => drv.chown([pid], `${dir}/mine`, 0, 2 ** 32), RangeError, "gid");
        await stillAnswers(drv, [pid]);
      })
    ),
);

Deno.test(
  needs("chroot confines a child to a directory", ROOT_REASON),
  () =>
    withTempDir((dir) =>
      withDriver(async (drv) => {
        await Deno.chmod(dir, 0o755);
        await Deno.mkdir(`${dir}/inside`);
        const pid = await drv.fork([]);
        await drv.chroot([pid], dir);
        await drv.chdir([pid], "/");
        assertEquals((await drv.readdir([pid], "/")).sort(), [".", "..", "inside"]);
        assertEquals(await drv.getcwd([pid]), "/");
        await assertErrno(drv.chroot([pid], "/nonexistent"), "ENOENT");
        const nb = await nobody(drv);
        await assertErrno(drv.chroot([nb], dir), "EPERM");
      })
    ),
);
