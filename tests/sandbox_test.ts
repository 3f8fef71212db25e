// spawn and its sandbox, checked from inside the sandbox against the real kernel.
import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertLess,
  assertLessOrEqual,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  AbortedError,
  Alcove,
  AlcoveError,
  DriverClosedError,
  installPolicy,
  type Mount,
  PipelineError,
  SetupError,
  type SpawnOptions,
  SystemCallError,
} from "../mod.ts";
import { fixtureCommand, IS_ROOT, needs, output, withDriver, withMarker } from "./_helpers.ts";

const decoder = new TextDecoder();
const text = (b: Uint8Array) => decoder.decode(b);

/** A read-only view of the host's programs: enough to run sh and coreutils. */
const SYSTEM: Mount[] = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc"].map((p) => ({
  type: "ro-bind-try" as const,
  source: p,
  target: p,
}));

const BOX: SpawnOptions = {
  namespaces: "all",
  mounts: [
    ...SYSTEM,
    { type: "proc", target: "/proc" },
    { type: "dev", target: "/dev" },
    { type: "tmpfs", target: "/tmp" },
  ],
};

async function sh(drv: Alcove, script: string, options: SpawnOptions = {}) {
  const p = await drv.spawn(["sh", "-c", script], options);
  const out = await p.output();
  return { ...out, out: text(out.stdout), err: text(out.stderr) };
}

function statusField(status: string, name: string): string {
  return status.match(new RegExp(`^${name}:\\s*(.*)$`, "m"))?.[1] ?? "";
}

const NOT_ROOT = IS_ROOT ? undefined : "needs root (the unprivileged runner covers the rest)";

Deno.test('spawn: a SIGSYS is "seccomp" under a filter only, spawn\'s or one the control process has', async () => {
  await withDriver(async (drv) => {
    const sigsys = async (spawner: { spawn: Alcove["spawn"] }, options: SpawnOptions) => {
      const p = await spawner.spawn(["sh", "-c", "kill -SYS $$"], options);
      const s = await p.status;
      return [s.signal, s.reason, s.success];
    };
    assertEquals(await sigsys(drv, { seccomp: null }), ["SIGSYS", "signal", false]);
    assertEquals(await sigsys(drv, { seccomp: "default" }), ["SIGSYS", "seccomp", false]);
    // A filter the spawning control process installed, inherited by what it spawns.
    const t = await drv.root.fork();
    assertEquals(await sigsys(t, { seccomp: null }), ["SIGSYS", "signal", false]);
    await installPolicy(drv, t.pipeline, { defaultAction: "allow", rules: [] });
    assertEquals(await sigsys(t, { seccomp: null }), ["SIGSYS", "seccomp", false]);
    // Its own exit, and that of its children, stay what they were.
    const p = await t.spawn(["sh", "-c", "exit 7"], { seccomp: null });
    assertEquals([(await p.status).reason, (await p.status).code], ["exit", 7]);
  });
});

Deno.test("spawn: what a program left in its process group ends with it", async () => {
  await withDriver(async (drv) => {
    // A background job that keeps none of the program's pipes: it outlived the program, its
    // timeout and its disposal, holding its uid's processes until the driver stopped.
    const left = async (options: SpawnOptions) => {
      const p = await drv.spawn(["sh", "-c", "sleep 31 >/dev/null 2>&1 & echo $!"], {
        timeout: 5000,
        ...options,
      });
      const { status, stdout } = await p.output();
      assertEquals(status.reason, "exit");
      return Number(text(stdout));
    };
    const gone = async (pid: number) => {
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
      return !alive(pid);
    };
    const alive = (pid: number) => {
      try {
        return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
      } catch {
        return false;
      }
    };
    assert(await gone(await left({})), "the job of the program's group");
    assert(await gone(await left({ newSession: true })), "the job of the program's session");
    // A program that shares its control process's group leaves its job be: that group is
    // not the program's.
    const kept = await left({ ownProcessGroup: false });
    assert(alive(kept), "a job in the control process's group");
    Deno.kill(kept, "SIGKILL");
  });
});

Deno.test(
  needs("spawn: many binds under a low RLIMIT_NOFILE of the control process", NOT_ROOT),
  async () => {
    await withDriver(async (drv) => {
      // The sources are held open while the host's root is the setup's: no more of them
      // than the limit leaves room for.
      const t = await drv.root.fork();
      await t.setrlimit("RLIMIT_NOFILE", { cur: 64, max: 64 });
      const mounts: Mount[] = Array.from({ length: 80 }, (_, i) => ({
        type: "ro-bind",
        source: "/usr",
        target: `/mnt/u${i}`,
      }));
      const p = await t.spawn(["/usr/bin/sh", "-c", "ls /mnt | wc -l"], {
        mounts: [...SYSTEM, { type: "tmpfs", target: "/mnt" }, ...mounts],
      });
      const o = await p.output();
      assertEquals([text(o.stdout).trim(), o.status.code], ["80", 0], text(o.stderr));
    });
  },
);

Deno.test("spawn: output, exit status, stderr and usage", async () => {
  await withDriver(async (drv) => {
    const r = await sh(drv, "echo out; echo err >&2; exit 3");
    assertEquals(r.out, "out\n");
    assertEquals(r.err, "err\n");
    assertEquals(r.status.code, 3);
    assertEquals(r.status.success, false);
    assertEquals(r.status.reason, "exit");
    assertEquals(r.status.signal, null);
    assertGreater(r.status.usage.wallMs, 0);
    assertGreater(r.status.usage.maxRssKb, 0);
    // Nothing is left in the control process.
    assertEquals(await drv.cpid([]), []);
    // Asked again, output() gives the same answer, not what is left after the first.
    const p = await drv.spawn(["echo", "hi"]);
    const first = await p.output();
    assertEquals(await p.output(), first);
    assertEquals(text(first.stdout), "hi\n");
    // A stream a reader holds: a TypeError that says so, before anything is read; once the
    // reader is released, output() has the rest.
    const held = await drv.spawn(["sh", "-c", "echo one; echo two >&2"]);
    const reader = held.stderr.getReader();
    const locked = await assertRejects(() => held.output(), TypeError);
    assertEquals(
      locked.message,
      "output: stderr is locked by a reader: read the rest there, or release its lock first",
    );
    reader.releaseLock();
    const rest = await held.output();
    assertEquals([text(rest.stdout), text(rest.stderr)], ["one\n", "two\n"]);
    // The output ends with the program, not with a background process that holds its pipes.
    const started = Date.now();
    const bg = await (await drv.spawn(["sh", "-c", "(sleep 2; echo late) & echo early"])).output();
    assertEquals(text(bg.stdout), "early\n");
    assert(Date.now() - started < 1500, "output() waited for the background process");
  });
});

Deno.test("spawn: the peak memory of a program is its own, not the control process's", async () => {
  // A child lives on the control process's memory until it execs, and the kernel gives it
  // that memory's peak as its own: a large request (a 48 MiB file to write) showed in the
  // figure of every program after it.
  await withDriver(async (drv) => {
    const peak = async () => (await (await drv.spawn(["true"])).status).usage.maxRssKb;
    const before = await peak();
    const big = await drv.spawn(["true"], {
      namespaces: ["user", "mount"],
      mounts: [
        { type: "ro-bind", source: "/", target: "/" },
        { type: "tmpfs", target: "/tmp" },
        { type: "file", target: "/tmp/big", data: new Uint8Array(48 << 20) },
      ],
    });
    assertEquals((await big.status).code, 0);
    const after = await peak();
    assert(after < before + 8192, `${before} kB before, ${after} kB after`);
  });
});

/** Compiles a C program into `dir` as `name`; its path. */
async function compileC(dir: string, name: string, source: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/${name}.c`, source);
  const cc = await output("cc", ["-O2", "-o", `${dir}/${name}`, `${dir}/${name}.c`]);
  assertEquals(cc.code, 0, new TextDecoder().decode(cc.stderr));
  return `${dir}/${name}`;
}

/** Opens /proc/PID/mem of every process above its own pid, for argv[2] seconds, and prints
 * the first whose memory maps argv[1] (the control process's executable). */
const GRAB_MEMORY = `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  time_t end = time(NULL) + atoi(argv[2]);
  pid_t self = getpid();
  static char maps[1 << 16];
  while (time(NULL) < end) {
    for (pid_t p = self + 1; p < self + 3000; p++) {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/mem", p);
      int fd = open(path, O_RDWR);
      if (fd < 0) continue;
      snprintf(path, sizeof path, "/proc/%d/maps", p);
      int m = open(path, O_RDONLY);
      ssize_t n = m < 0 ? 0 : read(m, maps, sizeof maps - 1);
      maps[n > 0 ? n : 0] = 0;
      if (strstr(maps, argv[1]) != NULL) { printf("opened %d\\n", p); return 0; }
      close(fd);
      if (m >= 0) close(m);
    }
  }
  return 0;
}
`;

Deno.test(
  needs("spawn: no program reaches the control process's memory through another's setup", NOT_ROOT),
  async () => {
    // A child runs on the control process's memory until its exec (or on a copy of it), and
    // has dropped its capabilities by then: a program of the same uid without capabilities
    // could open that child's /proc/PID/mem, and so write into the control process.
    const dir = await Deno.makeTempDir();
    try {
      await compileC(dir, "grab", GRAB_MEMORY);
      await withDriver(async (drv) => {
        const exe = Deno.readLinkSync(`/proc/${drv.pid}/exe`);
        const grab = await drv.spawn([`${dir}/grab`, exe, "4"]);
        let done = false;
        const out = grab.output().finally(() => done = true);
        // Siblings in their setup, from both kinds of spawn (on this memory, and on a copy),
        // and in a user namespace of their own, which a program of uid 0 owns.
        const kinds: SpawnOptions[] = [{}, { namespaces: ["uts"] }, { namespaces: ["user"] }];
        for (let i = 0; i < 1500 && !done; i++) {
          const options = kinds[i % kinds.length];
          await (await drv.spawn(["true"], options)).status;
        }
        assertEquals(text((await out).stdout), "");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("spawn: many quick programs, each with all its output", async () => {
  await withDriver(async (drv) => {
    const runs = await Promise.all(
      Array.from({ length: 100 }, (_, i) => sh(drv, `echo ${i}`)),
    );
    runs.forEach((r, i) => assertEquals([r.out, r.status.code], [`${i}\n`, 0]));
  });
});

Deno.test("spawn: the program starts with no signal caught or blocked", async () => {
  await withDriver(async (drv) => {
    // The control process catches every signal; one it is told to ignore would stay
    // ignored across exec unless the child resets it.
    await drv.sigaction([], "SIGUSR1", "sig_ign");
    await drv.sigaction([], "SIGHUP", "sig_dfl");
    // Sharing the control process's memory until exec, and copying it (namespaces).
    const ways: SpawnOptions[] = [{}, { ownProcessGroup: false }];
    if (IS_ROOT) ways.push({ namespaces: ["uts"] });
    for (const options of ways) {
      const p = await drv.spawn(["cat", "/proc/self/status"], options);
      const status = text((await p.output()).stdout);
      const mask = (field: string) => BigInt(`0x${statusField(status, field)}`);
      const how = JSON.stringify(options);
      assertEquals(mask("SigBlk"), 0n, `SigBlk with ${how}`);
      assertEquals(mask("SigCgt"), 0n, `SigCgt with ${how}`);
      assertEquals(mask("SigIgn") & (1n << 9n), 0n, `SIGUSR1 ignored with ${how}`);
    }
    // The control process still reports what it catches.
    assertEquals(await drv.sigaction([], "SIGUSR1", "sig_info"), "sig_ign");
  });
});
Deno.test("spawn: env replaces the environment, inheritEnv adds to it", async () => {
  await withDriver(async (drv) => {
    const only = await drv.spawn(["/usr/bin/env"], { env: { A: "1", PATH: "/usr/bin" } });
    assertEquals(text((await only.output()).stdout).split("\n").sort(), [
      "",
      "A=1",
      "PATH=/usr/bin",
    ]);
    const added = await sh(drv, "echo $B $HOME", { env: { B: "2" }, inheritEnv: true });
    assertEquals(added.out, `2 ${Deno.env.get("HOME") ?? ""}\n`);
    // argv[0] is searched in the PATH of the program's own environment.
    const searched = await drv.spawn(["env"], { env: { PATH: "/nonexistent:/usr/bin" } });
    assertEquals(text((await searched.output()).stdout), "PATH=/nonexistent:/usr/bin\n");
    const e = await assertRejects(
      () => drv.spawn(["env"], { env: { PATH: "/nonexistent" } }),
      SetupError,
    );
    assertEquals([e.step, e.code], ["exec", "ENOENT"]);
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/prog`, "#!/bin/sh\necho no\n", { mode: 0o644 });
    const denied = await assertRejects(
      () => drv.spawn(["prog"], { env: { PATH: dir } }),
      SetupError,
    );
    assertEquals(denied.code, "EACCES");
    await Deno.remove(dir, { recursive: true });
    const empty = await drv.spawn(["/usr/bin/env"], { env: {} });
    assertEquals(text((await empty.output()).stdout), "");
  });
});

Deno.test(
  needs("spawn: the PATH search goes past a folder only its capabilities search", NOT_ROOT),
  async () => {
    // Searched with CAP_DAC_OVERRIDE, /dir/sub/sh is not there (ENOENT); access(2), which takes
    // the real ids without it, is refused in /dir: that must not end the search.
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dir}/sub`);
      await Deno.chmod(dir, 0o700);
      await withDriver(async (drv) => {
        const p = await drv.spawn(["sh", "-c", "echo found"], {
          namespaces: ["user"],
          uid: 5,
          capabilities: ["CAP_DAC_OVERRIDE"],
          env: { PATH: `${dir}/sub:/usr/bin:/bin` },
        });
        const o = await p.output();
        assertEquals([text(o.stdout), o.status.code], ["found\n", 0]);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  needs(
    "spawn: what the mounts make has its modes whatever the umask, which the program gets",
    NOT_ROOT,
  ),
  async () => {
    // The control process gets the umask from a shell that starts it.
    const exec = ["sh", "-c", 'umask 077; exec "$@"', "sh"];
    await withDriver(async (drv) => {
      const p = await drv.spawn([
        "sh",
        "-c",
        "umask; stat -c '%a %n' /tmp/a /tmp/a/b /tmp/f /tmp/f/g /tmp/c /tmp/c/d",
      ], {
        mounts: [
          { type: "ro-bind", source: "/", target: "/" },
          { type: "tmpfs", target: "/tmp" },
          { type: "dir", target: "/tmp/a/b", mode: 0o700 },
          { type: "file", target: "/tmp/f/g", data: "x", mode: 0o640 },
          { type: "dir", target: "/tmp/c/d" },
        ],
      });
      const o = await p.output();
      // bubblewrap's modes: a parent's is 0755 less what the mode asked denies the group, the
      // others.
      assertEquals(text(o.stdout).split("\n"), [
        "0077",
        "700 /tmp/a",
        "700 /tmp/a/b",
        "750 /tmp/f",
        "640 /tmp/f/g",
        "755 /tmp/c",
        "755 /tmp/c/d",
        "",
      ], text(o.stderr));
    }, { exec });
  },
);

Deno.test("spawn: cwd, rlimits and stdio modes", async () => {
  await withDriver(async (drv) => {
    const r = await sh(drv, "pwd; ulimit -n; ulimit -Hn; ulimit -v", {
      cwd: "/usr",
      rlimits: { NOFILE: { cur: 40, max: 50 }, RLIMIT_AS: 512 << 20 },
    });
    assertEquals(r.out, `/usr\n40\n50\n${512 * 1024}\n`);
    // ".." is allowed in a working directory: it is entered once the new root is made.
    const up = await sh(drv, "pwd", {
      cwd: "/usr/../etc",
      mounts: [{ type: "ro-bind", source: "/", target: "/" }],
    });
    assertEquals(up.out, "/etc\n");
    // The program gets the limit the driver was started with, not the root's raised one.
    const own = await sh(drv, "ulimit -n");
    assertEquals(own.out.trim(), String(Deno.build.os === "linux" ? await hostNofile() : ""));
    const quiet = await drv.spawn(["sh", "-c", "echo lost; echo gone >&2"], {
      stdout: "null",
      stderr: "null",
    });
    const o = await quiet.output();
    assertEquals([o.stdout.length, o.stderr.length, o.status.code], [0, 0, 0]);
    assertThrows(
      () => quiet.stdout,
      TypeError,
      'stdout: it is not piped (spawned with stdout: "null"; stdout: "pipe" gives a stream)',
    );
  });
});

async function hostNofile(): Promise<string> {
  const r = await output("sh", ["-c", "ulimit -n"]);
  return text(r.stdout).trim();
}

Deno.test(
  needs("spawn: namespaces, id maps, host name and pid 1 seen from inside", NOT_ROOT),
  async () => {
    await withDriver(async (drv) => {
      const r = await sh(
        drv,
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; hostname; echo $$; " +
          "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '",
        { ...BOX, uid: 65534, gid: 65534, hostname: "box" },
      );
      assertEquals(r.status.code, 0, r.err);
      const lines = r.out.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
      assertEquals(lines, [
        "65534",
        "65534",
        "0 0 1",
        "65534 65534 1",
        "0 0 1",
        "65534 65534 1",
        "box",
        "1",
        "lo",
      ]);
      // The host's names are unchanged.
      assert(Deno.hostname() !== "box");
    });
  },
);

Deno.test(
  needs(
    "spawn: no capabilities by default, no_new_privs and the default seccomp profile",
    NOT_ROOT,
  ),
  async () => {
    await withDriver(async (drv) => {
      const plain = await sh(drv, "cat /proc/self/status");
      for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
        assertEquals(statusField(plain.out, set), "0000000000000000", set);
      }
      assertEquals(statusField(plain.out, "NoNewPrivs"), "1");
      assertEquals(statusField(plain.out, "Seccomp"), "0");
      const boxed = await sh(drv, "cat /proc/self/status; unshare -U true", {
        ...BOX,
        seccomp: "default",
      });
      assertEquals(statusField(boxed.out, "Seccomp"), "2");
      assertStringIncludes(boxed.err, "Operation not permitted");
      // Kept ones survive the change to uid 65534 and exec, in the ambient set.
      const kept = await sh(drv, "cat /proc/self/status", {
        uid: 65534,
        gid: 65534,
        capabilities: ["CAP_NET_BIND_SERVICE"],
      });
      for (const set of ["CapPrm", "CapEff", "CapBnd", "CapAmb", "CapInh"]) {
        assertEquals(statusField(kept.out, set), "0000000000000400", set);
      }
      const privs = await sh(drv, "cat /proc/self/status", { noNewPrivileges: false });
      assertEquals(statusField(privs.out, "NoNewPrivs"), "0");
    });
  },
);

Deno.test("spawn: the default seccomp profile refuses typing into the terminal it shares", async () => {
  await withDriver(async (drv) => {
    // A control process leads a session whose controlling terminal is a new pseudo-terminal;
    // a program spawned from it without newSession shares that terminal, as a command run
    // from an interactive shell does.
    const t = await drv.root.fork();
    await t.setpgid(0, await drv.root.getpgrp()); // a group leader cannot start a session
    await t.setsid();
    const master = await t.open("/dev/ptmx", ["O_RDWR", "O_NOCTTY"], 0);
    await t.ioctl(master, "TIOCSPTLCK", new Uint8Array(4));
    const { arg } = await t.ioctl(master, "TIOCGPTN", new Uint8Array(4));
    const n = new DataView((arg as Uint8Array).buffer).getUint32(0, true);
    const terminal = await t.open(`/dev/pts/${n}`, "O_RDWR", 0); // becomes the session's
    const typed = async () => {
      const { arg } = await t.ioctl(terminal, "FIONREAD", new Uint8Array(4));
      return new DataView((arg as Uint8Array).buffer).getUint32(0, true);
    };
    // TIOCSTI, one character at a time: what a shell would read once the sandbox ended.
    const inject = 'open(my $t, "+<", "/dev/tty") or die "no terminal: $!\\n"; ' +
      'for my $c (split //, "id\\n") { ioctl($t, 0x5412, $c) or die "refused: $!\\n" } ' +
      'print "typed\\n"';
    const open = await t.spawn(["perl", "-e", inject], { seccomp: null });
    const shown = await open.output();
    assertEquals(text(shown.stdout), "typed\n", text(shown.stderr)); // the terminal is shared
    assertEquals(await typed(), 3);
    const boxed = await t.spawn(["perl", "-e", inject], { seccomp: "default" });
    const refused = await boxed.output();
    assertEquals(text(refused.stderr), "refused: Operation not permitted\n");
    assertEquals(refused.status.code, 1);
    assertEquals(await typed(), 3);
  });
});

Deno.test(needs("spawn: every mount operation, as bubblewrap does it", NOT_ROOT), async () => {
  const host = await Deno.makeTempDir({ prefix: "alcove-mounts-" });
  try {
    await Deno.writeTextFile(`${host}/seen`, "from the host\n");
    await Deno.mkdir(`${host}/rw`);
    await withDriver(async (drv) => {
      const r = await sh(
        drv,
        [
          "cat /ro/seen",
          "(echo x > /ro/new) 2>/dev/null || echo ro-refused",
          "echo written > /rw/file",
          "test -e /missing && echo bad || echo try-skipped",
          "(echo x > /remounted/y) 2>/dev/null || echo remount-refused",
          "stat -c '%a' /small; df -k /small | tail -1 | awk '{print $2}'",
          "test -r /proc/self/status && echo proc",
          "ls /dev | sort | tr '\\n' ' '; echo",
          "echo zero > /dev/null && head -c 4 /dev/zero | wc -c",
          "grep -c ' /mq .* - mqueue ' /proc/self/mountinfo",
          "stat -c '%a' /made/deep",
          "readlink /link",
          "cat /etc2/motd; stat -c '%a' /etc2/motd",
          "stat -c '%a' /chmodded",
        ].join("; "),
        {
          namespaces: ["user", "pid", "mount", "ipc"],
          mounts: [
            ...SYSTEM,
            { type: "ro-bind", source: host, target: "/ro" },
            { type: "bind", source: `${host}/rw`, target: "/rw" },
            { type: "bind-try", source: "/nonexistent-source", target: "/missing" },
            { type: "tmpfs", target: "/remounted" },
            { type: "remount-ro", target: "/remounted" },
            { type: "tmpfs", target: "/small", size: 1 << 20, mode: 0o700 },
            { type: "proc", target: "/proc" },
            { type: "dev", target: "/dev" },
            { type: "mqueue", target: "/mq" },
            { type: "dir", target: "/made/deep", mode: 0o750 },
            { type: "symlink", source: "usr/bin", target: "/link" },
            { type: "file", target: "/etc2/motd", data: "hello\n", mode: 0o640 },
            { type: "dir", target: "/chmodded" },
            { type: "chmod", target: "/chmodded", mode: 0o711 },
          ],
        },
      );
      assertEquals(r.err, "");
      assertEquals(r.out.split("\n"), [
        "from the host",
        "ro-refused",
        "try-skipped",
        "remount-refused",
        "700",
        "1024",
        "proc",
        "core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ",
        "4",
        "1",
        "750",
        "usr/bin",
        "hello",
        "640",
        "711",
        "",
      ]);
      assertEquals(await Deno.readTextFile(`${host}/rw/file`), "written\n");
    });
  } finally {
    await Deno.remove(host, { recursive: true });
  }
});

const LANDLOCK = (() => {
  try {
    return Deno.readTextFileSync("/sys/kernel/security/lsm").includes("landlock")
      ? undefined
      : "Landlock is not enabled in this kernel";
  } catch {
    return undefined; // securityfs not mounted: the spawn itself will tell
  }
})();

Deno.test(
  needs("spawn: Landlock allows what the sets say and denies the rest", LANDLOCK),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "alcove-landlock-" });
    try {
      await Deno.mkdir(`${dir}/rw`);
      await Deno.mkdir(`${dir}/ro`);
      await Deno.writeTextFile(`${dir}/ro/f`, "readable\n");
      await Deno.writeTextFile(`${dir}/secret`, "hidden\n");
      await withDriver(async (drv) => {
        const r = await sh(
          drv,
          `cat ${dir}/ro/f; echo ok > ${dir}/rw/f && echo wrote; ` +
            `echo no > ${dir}/ro/g 2>/dev/null || echo ro-denied; ` +
            `cat ${dir}/secret 2>/dev/null || echo secret-denied`,
          {
            landlock: {
              read: ["/usr", "/etc", "/lib", "/lib64", "/bin", `${dir}/ro`],
              write: [`${dir}/rw`, "/dev"],
            },
          },
        );
        assertEquals(r.out, "readable\nwrote\nro-denied\nsecret-denied\n", r.err);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  needs("spawn: Landlock's execute set runs programs, and neither lists nor changes", LANDLOCK),
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "alcove-landlock-" });
    try {
      await Deno.mkdir(`${dir}/x`);
      await Deno.copyFile(Deno.realPathSync("/bin/true"), `${dir}/x/true`);
      await Deno.chmod(`${dir}/x/true`, 0o755);
      const libs = ["/usr", "/etc", "/lib", "/lib64", "/bin"];
      await withDriver(async (drv) => {
        // Beneath a folder, and the program's own file: the kernel opens a program for
        // reading to run it, so the set must let it do that much.
        for (const execute of [[`${dir}/x`], [`${dir}/x/true`]]) {
          const r = await sh(
            drv,
            `${dir}/x/true && echo ran; ls ${dir}/x >/dev/null 2>&1 || echo list-denied; ` +
              `echo > ${dir}/x/new 2>/dev/null || echo write-denied`,
            { landlock: { read: libs, write: ["/dev"], execute } },
          );
          assertEquals(r.out, "ran\nlist-denied\nwrite-denied\n", `${execute}: ${r.err}`);
        }
        // The program itself, under execute alone.
        const alone = await drv.spawn([`${dir}/x/true`], {
          landlock: { read: libs, execute: [`${dir}/x`] },
        });
        assertEquals((await alone.status).code, 0);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("spawn: with user.max_user_namespaces at 0, the error says how to raise it", async () => {
  // In a user namespace of its own (unshare -U -r), whose limit its root may set.
  const [cmd, args] = fixtureCommand("no_user_namespaces");
  const r = await output("unshare", [
    "--user",
    "--map-root-user",
    "sh",
    "-c",
    'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"',
    "sh",
    cmd,
    ...args,
  ]);
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  assertEquals(
    JSON.parse(new TextDecoder().decode(r.stdout)).message,
    "spawn: Cannot create a user namespace: user.max_user_namespaces is 0 (raise it as root: " +
      "sysctl -w user.max_user_namespaces=N): ENOSPC (No space left on device)",
  );
});

Deno.test("spawn: a program that is there but whose interpreter is not says which", async () => {
  // A root with /usr but neither /lib nor /lib64: the programs are there, their dynamic
  // loader is not, and execve says ENOENT as if the program itself were missing.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/script`, "#!/nonexistent/sh -e\necho hi\n", { mode: 0o755 });
    const sh = Deno.realPathSync("/bin/sh");
    const root: SpawnOptions = {
      namespaces: ["user", "mount"],
      mounts: [
        { type: "ro-bind", source: "/usr", target: "/usr" },
        { type: "ro-bind", source: dir, target: "/box" },
      ],
      env: { PATH: "/nonexistent:/box:/usr/bin" },
    };
    await withDriver(async (drv) => {
      const elf = await assertRejects(() => drv.spawn([sh], root), SetupError);
      assertEquals([elf.step, elf.path, elf.code], ["exec", sh, "ENOENT"]);
      const named = elf.message.match(
        /^spawn: Cannot run \S+ \(it is there, its interpreter (\/\S+) is not\): ENOENT \(No such file or directory\)$/,
      );
      assert(named, elf.message);
      // The loader it names is the host's real one.
      assert(Deno.statSync(named[1]).isFile, named[1]);
      // Found through PATH: the message names the file found.
      const searched = await assertRejects(
        () => drv.spawn([sh.split("/").pop()!], root),
        SetupError,
      );
      assertStringIncludes(
        searched.message,
        `(${sh} is there, its interpreter ${named[1]} is not)`,
      );
      const script = await assertRejects(() => drv.spawn(["script"], root), SetupError);
      assertEquals(
        script.message,
        "spawn: Cannot run script (/box/script is there, its interpreter /nonexistent/sh is not): " +
          "ENOENT (No such file or directory)",
      );
      // A program that is not there: the new root holds only the mounts given, unless one
      // covers it whole.
      const missing = await assertRejects(() => drv.spawn(["/box/nope"], root), SetupError);
      assertEquals(
        missing.message,
        "spawn: Cannot run /box/nope (the new root holds only the mounts given): " +
          "ENOENT (No such file or directory)",
      );
      const whole: SpawnOptions = {
        ...root,
        mounts: [{ type: "ro-bind", source: "/", target: "/" }],
      };
      const absent = await assertRejects(() => drv.spawn(["/box/nope"], whole), SetupError);
      assertEquals(
        absent.message,
        "spawn: Cannot run /box/nope: ENOENT (No such file or directory)",
      );
      assertEquals(await drv.cpid([]), []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spawn: what the mounts make belongs to the sandbox's uid and gid", async () => {
  await withDriver(async (drv) => {
    const p = await drv.spawn([
      "sh",
      "-c",
      "stat -c '%n %u %g' / /home /home/u /etc/motd /l; touch /home/u/x && echo wrote",
    ], {
      namespaces: ["user", "mount"],
      uid: 65534,
      gid: 65534,
      mounts: [
        ...SYSTEM.filter((m) => m.target !== "/etc"),
        { type: "dir", target: "/home/u" },
        { type: "file", target: "/etc/motd", data: "hi\n" },
        { type: "symlink", source: "/x", target: "/l" },
      ],
    });
    const o = await p.output();
    assertEquals(
      text(o.stdout),
      "/ 65534 65534\n/home 65534 65534\n/home/u 65534 65534\n/etc/motd 65534 65534\n" +
        "/l 65534 65534\nwrote\n",
      text(o.stderr),
    );
  });
});

/** The sanitizer's build: its runtime makes system calls of its own, which a policy that
 * refuses nearly everything refuses too (it then spins in AsanDie, unable to exit). */
const SANITIZER = (Deno.env.get("ALCOVE_LIB_PATH") ?? "").endsWith("build-sanitize")
  ? "the sanitizer's runtime cannot run under a policy that refuses its own system calls"
  : undefined;

Deno.test(
  needs(
    "spawn: an exec its own seccomp policy refuses is a SetupError, even with write and exit refused too",
    SANITIZER,
  ),
  async () => {
    await withDriver(async (drv) => {
      // The failed exec's report cannot be written, nor can the child exit: it dies of a fault,
      // and the record it left in a page shared with its control process says what happened.
      const seccomp = {
        defaultAction: { errno: 1 },
        rules: [{ names: ["getpid"], action: "allow" as const }],
      };
      // On the control process's memory, and on a copy of it (the init of a pid namespace).
      for (const more of [{}, { namespaces: ["pid"], init: true }] as SpawnOptions[]) {
        const e = await assertRejects(
          () => drv.spawn(["/bin/true"], { seccomp, ...more }),
          SetupError,
        );
        assertEquals([e.step, e.code], ["exec", "EPERM"], e.message);
        assertEquals(await drv.cpid([]), [], "a process was left");
      }
    });
  },
);

Deno.test("spawn: a long path comes whole in a SetupError, a longer one cut at a character", async () => {
  await withDriver(async (drv) => {
    const long = "/nonexistent/" + "d".repeat(1500);
    const e = await assertRejects(() => drv.spawn(["true"], { cwd: long }), SetupError);
    assertEquals([e.step, e.path, e.code], ["cwd", long, "ENOENT"]);
    // Past what the failure record holds: cut before a whole character, and marked.
    const longer = "/nonexistent/" + "é".repeat(1500);
    const f = await assertRejects(() => drv.spawn(["true"], { cwd: longer }), SetupError);
    assert(f.path.endsWith("…"), f.path.slice(-10));
    assert(!f.path.includes("\uFFFD"), "a character was cut in two");
    assert(longer.startsWith(f.path.slice(0, -1)));
    assert(f.message.includes(f.path.slice(0, 100)), f.message.slice(0, 200));
  });
});

Deno.test("spawn: a failed step is a SetupError with step and path, and leaves no process", async () => {
  await withDriver(async (drv) => {
    const cases: [SpawnOptions, string[], string, string, string][] = [
      [{}, ["/nonexistent/prog"], "exec", "/nonexistent/prog", "ENOENT"],
      [{ cwd: "/nonexistent" }, ["true"], "cwd", "/nonexistent", "ENOENT"],
      [
        { mounts: [{ type: "ro-bind", source: "/nonexistent", target: "/x" }] },
        ["true"],
        "mount",
        "/nonexistent",
        "ENOENT",
      ],
      [{ landlock: { read: ["/nonexistent"] } }, ["true"], "landlock", "/nonexistent", "ENOENT"],
      // A symbolic link onto a directory: EEXIST, as bwrap says, not the errno of a readlink.
      [
        { mounts: [...SYSTEM, { type: "symlink", source: "/a", target: "/etc" }] },
        ["true"],
        "mount",
        "/etc",
        "EEXIST",
      ],
      [
        { rlimits: { NOFILE: { cur: 1, max: 2 ** 40 } } },
        ["true"],
        "rlimit",
        "",
        "EPERM",
      ],
    ];
    for (const [options, argv, step, path, code] of cases) {
      const e = await assertRejects(() => drv.spawn(argv, options), SetupError);
      assertEquals([e.step, e.path, e.code], [step, path, code], e.message);
      assertMatch(e.message, /^spawn: .+: E[A-Z]+ \(.+\)$/);
      assertEquals(await drv.cpid([]), [], `a process was left after ${step}`);
    }
    // The resource by name, and the limits asked for.
    const named = await assertRejects(
      () => drv.spawn(["true"], { rlimits: { NOFILE: { cur: 1, max: Infinity } } }),
      SetupError,
    );
    assertStringIncludes(named.message, "Cannot set RLIMIT_NOFILE to 1 (hard unlimited): EPERM");
    // The mode a chmod was to give.
    const chmod = await assertRejects(
      () =>
        drv.spawn(["true"], {
          namespaces: ["user", "mount"],
          mounts: [...SYSTEM, { type: "chmod", target: "/usr", mode: 0o700 }],
        }),
      SetupError,
    );
    assertEquals(
      chmod.message,
      "spawn: Cannot chmod /usr to 0700: EROFS (Read-only file system)",
    );
    const e = await assertRejects(() => drv.spawn(["/nonexistent/prog"]), SetupError);
    assertEquals(
      e.message,
      "spawn: Cannot run /nonexistent/prog: ENOENT (No such file or directory)",
    );
    if (IS_ROOT) {
      const mount = await assertRejects(
        () => drv.spawn(["true"], { mounts: [{ type: "ro-bind", source: "/nope", target: "/x" }] }),
        SetupError,
      );
      assertEquals(
        mount.message,
        "spawn: Can't find source path /nope: ENOENT (No such file or directory)",
      );
    }
  });
});

Deno.test(
  needs(
    "spawn: sandboxes set up together, some failing a step, are each answered as alone",
    NOT_ROOT,
  ),
  async () => {
    // With calls waiting behind it or other children in their steps, a control process copies
    // its memory for a sandbox's child instead of lending it (and holding everything else
    // until that child's exec): both ways run here, side by side.
    await withDriver(async (drv) => {
      for (let round = 0; round < 3; round++) {
        const runs = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
          const failing = i % 3 === 2;
          const options: SpawnOptions = {
            ...BOX,
            hostname: `box-${i}`,
            mounts: [
              ...BOX.mounts!,
              ...(failing
                ? [{ type: "ro-bind" as const, source: `/nonexistent-${i}`, target: "/x" }]
                : []),
            ],
          };
          try {
            return { i, out: await sh(drv, "echo $(hostname) $$", options) };
          } catch (e) {
            return { i, error: e };
          }
        }));
        for (const r of runs) {
          if (r.i % 3 === 2) {
            assertInstanceOf(r.error, SetupError);
            assertEquals([r.error.step, r.error.path], ["mount", `/nonexistent-${r.i}`]);
          } else {
            assertEquals(r.error, undefined, String(r.error));
            assertEquals(r.out?.out, `box-${r.i} 1\n`);
            assertEquals(r.out?.status.success, true);
          }
        }
        assertEquals(await drv.cpid([]), [], "a process was left");
      }
    });
  },
);

// Without a pid namespace the tree is the process group and whatever is still below the
// program (a daemon that left the group and the session included: it is found before its
// parent dies, which would hand it to the control process); in a pid namespace, everything
// in it.
Deno.test("spawn: timeout kills a tree that ignores SIGTERM and leaves daemons", async () => {
  await withDriver(async (drv) => {
    for (const namespaces of [undefined, ["pid" as const]]) {
      const marker = `1000.${Math.floor(Math.random() * 1e9)}`;
      const daemons = namespaces
        ? `(setsid sleep ${marker} &); (sleep ${marker} &);`
        : `(sleep ${marker} &); sh -c 'trap "" TERM; sleep ${marker}' & setsid sleep ${marker} &`;
      const script = `trap '' TERM; ${daemons} ` +
        `sleep ${marker} & sleep 0.2; echo started; while :; do sleep 1; done`;
      const p = await drv.spawn(["sh", "-c", script], {
        timeout: 3000,
        namespaces,
      });
      const o = await p.output();
      assertEquals(text(o.stdout), "started\n");
      assertEquals([o.status.reason, o.status.signal, o.status.code], ["timeout", "SIGKILL", 137]);
      assertGreater(o.status.usage.wallMs, 2900);
      // Killed processes may take a moment to be reaped by whoever adopted them (up to 5 s
      // on a loaded machine; a process left behind stays, and fails the test all the same).
      for (let i = 0; i < 250 && withMarker(marker).length > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assertEquals(withMarker(marker), [], `left behind (namespaces ${namespaces})`);
    }
  });
});

Deno.test(
  needs(
    "spawn: only a program of the control process's own uid outside a pid namespace can stop it",
    NOT_ROOT,
  ),
  async () => {
    // kill(2) lets a process signal those of its own user: a program left at the control
    // process's uid can stop it (and the driver with it). Another uid, or a pid namespace in
    // which the control process has no pid, protects it.
    const cases: [SpawnOptions, string, boolean][] = [
      [{}, "stopped", true],
      [{ uid: 65534, gid: 65534 }, "refused", false],
      [{ namespaces: ["user"], uid: 65534, gid: 65534 }, "refused", false],
      [{ namespaces: ["pid"] }, "refused", false],
    ];
    for (const [options, said, stops] of cases) {
      await withDriver(async (drv) => {
        const root = await drv.getpid([]);
        const state = () => Deno.readTextFileSync(`/proc/${root}/stat`).split(") ")[1][0];
        // Nothing can come from a stopped control process, not even spawn's answer (the
        // program may stop it first): whenever it is found stopped, that is noted and it is
        // continued, from before the spawn until the output has come.
        let stopped = false;
        const watch = setInterval(() => {
          if (state() !== "T") return;
          stopped = true;
          Deno.kill(root, "SIGCONT");
        }, 5);
        let o;
        try {
          // In a pid namespace, the parent outside has no pid there: $PPID is 0.
          const p = await drv.spawn([
            "sh",
            "-c",
            '[ "$PPID" -gt 0 ] && kill -STOP "$PPID" 2>/dev/null && echo stopped || echo refused',
          ], options);
          o = await p.output();
        } finally {
          clearInterval(watch);
        }
        assertEquals([text(o.stdout), stopped], [`${said}\n`, stops], JSON.stringify(options));
        assertEquals(await drv.getpid([], { timeout: 2000 }), root);
      });
    }
  },
);

Deno.test("spawn: timeout kills what the tree forks while the kill walks it", async () => {
  // A process in a session of its own forks without pause, each child in a session of its
  // own too: neither the process group nor the parent's death reaches them, only the walk
  // of the tree. A fork under way when the walk stopped its parent and listed its children
  // used to finish after that, and its child lived on, adopted by the control process.
  // (perl: Debian's perl-base is essential; its fork is quick enough to race.)
  const forker = "use POSIX; POSIX::setsid(); " +
    "while (1) { if (fork() == 0) { POSIX::setsid(); sleep 100; exit 0 } }";
  await withDriver(async (drv) => {
    for (let i = 0; i < 15; i++) {
      const marker = `forker.${Math.floor(Math.random() * 1e9)}`;
      // Below the program: the program leads its process group, and could not leave it.
      const four = `for i in 1 2 3 4; do perl -e '${forker}' ${marker} & done; wait`;
      const p = await drv.spawn(["sh", "-c", four], {
        timeout: 150,
      });
      const o = await p.output();
      assertEquals(o.status.reason, "timeout");
      for (let j = 0; j < 250 && withMarker(marker).length > 0; j++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const left = withMarker(marker);
      for (const pid of left) Deno.kill(pid, "SIGKILL");
      assertEquals(left, [], `run ${i}: left behind`);
    }
  });
});

/** argv[1] children, each in a session of its own, all waiting. */
const WIDE = `#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  for (int i = atoi(argv[1]); i > 0; i--) {
    pid_t p = fork();
    if (p == 0) { setsid(); for (;;) pause(); }
    if (p < 0) return 1;
  }
  for (;;) pause();
}
`;

/** A forker in a process group of its own whose children each leave for a session of their
 * own, beside a vfork parent that sleeps uninterruptibly until its child (which waits) execs. */
const FORKER_AND_VFORK = `#include <signal.h>
#include <unistd.h>
int main(void) {
  signal(SIGCHLD, SIG_IGN);
  if (fork() == 0) {
    setpgid(0, 0);
    pid_t me = getpid();
    for (;;) {
      if (fork() == 0) {
        setsid();
        usleep(20000);
        if (getppid() == me) _exit(0);
        for (;;) pause();
      }
    }
  }
  usleep(300000);
  if (vfork() == 0) for (;;) pause();
  return 0;
}
`;

Deno.test(
  needs("spawn: timeout kills a tree of thousands, and one that keeps the kill waiting", NOT_ROOT),
  async () => {
    // The kill's walk held 4096 processes at most (the rest lived on), and gave all its
    // stops 100 ms together: a vfork parent, which does not stop until its child execs, used
    // them up, and a fork under way was then missed.
    const dir = await Deno.makeTempDir();
    try {
      const wide = await compileC(dir, "wide", WIDE);
      const forker = await compileC(dir, "forker", FORKER_AND_VFORK);
      await withDriver(async (drv) => {
        const runs: [string[], number][] = [[[wide, "4300"], 6000]];
        for (let i = 0; i < 6; i++) runs.push([[forker], 1000]);
        for (const [[program, ...args], timeout] of runs) {
          const marker = `${Math.floor(Math.random() * 1e9)}`;
          const p = await drv.spawn([program, ...args, marker], { timeout });
          assertEquals((await p.status).reason, "timeout");
          for (let j = 0; j < 250 && withMarker(marker).length > 0; j++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          const left = withMarker(marker);
          for (const pid of left) Deno.kill(pid, "SIGKILL");
          assertEquals(left.length, 0, `${program}: left behind`);
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("spawn: timeout also ends a setup step that blocks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alcove-fifo-" });
  try {
    assertEquals((await output("mkfifo", [`${dir}/fifo`])).code, 0, "mkfifo");
    await withDriver(async (drv) => {
      // Writing the file onto the FIFO waits for a reader that never comes.
      const p = await drv.spawn(["true"], {
        mounts: [
          { type: "bind", source: dir, target: "/d" },
          { type: "file", target: "/d/fifo", data: "x" },
        ],
        timeout: 300,
      });
      const s = await p.status;
      assertEquals([s.reason, s.signal], ["timeout", "SIGKILL"]);
      // The control process goes on.
      const r = await sh(drv, "echo ok");
      assertEquals(r.out, "ok\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spawn: maxOutput passes exactly that many bytes, then kills the tree", async () => {
  await withDriver(async (drv) => {
    const p = await drv.spawn(["yes", "0123456789abcdef"], { maxOutput: 100_000 });
    const o = await p.output();
    assertEquals(o.stdout.length, 100_000);
    assertEquals([o.status.reason, o.status.signal], ["output-limit", "SIGKILL"]);
    const both = await drv.spawn(["sh", "-c", "yes err >&2 & yes out"], { maxOutput: 50_000 });
    const b = await both.output();
    assertEquals(b.stdout.length + b.stderr.length, 50_000);
    assertEquals(b.status.reason, "output-limit");
    // Exactly the limit is within it; one byte more is not, even from a program that ends
    // before it can be killed; 0 allows no byte.
    const runs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const [bytes, limit] = [[3, 3], [4, 3], [3, 0]][i % 3];
        const o = await (await drv.spawn(["head", "-c", `${bytes}`, "/dev/zero"], {
          maxOutput: limit,
        })).output();
        return `${bytes}/${limit}: ${o.stdout.length} ${o.status.reason} ${o.status.success}`;
      }),
    );
    for (const run of runs) {
      const want = {
        "3/3": "3 exit true",
        "4/3": "3 output-limit false",
        "3/0": "0 output-limit false",
      }[run.split(":")[0]];
      assertEquals(run, `${run.split(":")[0]}: ${want}`);
    }
  });
});

Deno.test("spawn: a Process nobody holds closes its pipes, so its program is not left waiting", async () => {
  await withDriver(async (drv) => {
    // Only the pids are kept: the handles become garbage at once. Without them nobody can
    // write to these programs or read them, so they must not wait for that forever (yes
    // blocks on a full pipe, sh on a read) nor be kept by the driver for its whole life.
    const start = async (argv: string[]) => (await drv.spawn(argv, { stderr: "null" })).pid;
    const pids = [await start(["yes"]), await start(["sh", "-c", "read x; echo done"])];
    const alive = () =>
      pids.filter((pid) => {
        try {
          return Deno.statSync(`/proc/${pid}`).isDirectory;
        } catch {
          return false;
        }
      });
    // Garbage, to have the handles collected (the runtime decides when). Handles that lived
    // long enough to be moved to the old generation go only in a full collection: the garbage
    // is kept a few rounds, so that it fills the old generation too.
    const kept: object[][] = [];
    for (let round = 0; round < 2000 && alive().length > 0; round++) {
      const junk: object[] = [];
      for (let i = 0; i < 100_000; i++) junk.push({ i });
      kept.push(junk);
      if (kept.length > 4) kept.shift();
      await new Promise((r) => setTimeout(r, 5));
    }
    assertEquals(alive(), [], "still waiting for a reader or a writer");
  });
});

Deno.test("spawn: timeout 0 is a limit already reached: the program never starts", async () => {
  const marker = await Deno.makeTempFile();
  await withDriver(async (drv) => {
    const o = await (await drv.spawn(["sleep", "5"], { timeout: 0 })).output();
    assertEquals([o.status.reason, o.status.signal, o.status.success], [
      "timeout",
      "SIGKILL",
      false,
    ]);
    assert(o.status.usage.wallMs < 2000, `ran ${o.status.usage.wallMs} ms`);
    // It ran, wrote and printed before its kill, now and then (a borrowed-memory child is
    // past its exec before the control process can look at the clock).
    const ways: [string, SpawnOptions][] = [
      ["borrowing the memory", {}],
      ["with namespaces", IS_ROOT ? { namespaces: ["uts", "ipc"] } : {}],
      ["with its own user namespace", { namespaces: ["user"] }],
    ];
    for (const [name, options] of ways) {
      for (let i = 0; i < 20; i++) {
        await Deno.remove(marker).catch(() => {});
        const p = await drv.spawn(["sh", "-c", `echo ran; : > ${marker}`], {
          ...options,
          timeout: 0,
        });
        const out = await p.output();
        assertEquals(
          [out.status.reason, out.status.signal, text(out.stdout), text(out.stderr)],
          ["timeout", "SIGKILL", "", ""],
          name,
        );
        const ran = await Deno.stat(marker).then(() => true, () => false);
        assertEquals(ran, false, `${name}: it ran`);
      }
    }
  });
  await Deno.remove(marker).catch(() => {});
});

Deno.test("spawn: a burst of spawns holds neither the replies nor the time limits", async () => {
  await withDriver(async (drv) => {
    const t0 = performance.now();
    const limited = await drv.spawn(["sleep", "10"], { timeout: 200 });
    const limitedAt = limited.status.then((s) => ({ at: performance.now() - t0, s }));
    // Read by the control process at once, they run one after the other.
    const burst = Array.from({ length: 300 }, () => drv.spawn(["true"], { stdin: "null" }));
    const firstAt = Promise.race(burst).then(() => performance.now() - t0);
    const statuses = await Promise.all(burst.map((p) => p.then((q) => q.status)));
    const allAt = performance.now() - t0;
    assert(statuses.every((s) => s.success));
    const { at, s } = await limitedAt;
    assertEquals(s.reason, "timeout");
    // They ran in turns with the rest: the first answered, and the limit was kept, long
    // before the last (both came with the last one before).
    assertLess(await firstAt, allAt / 2);
    assertLess(at, allAt / 2);
  });
});

Deno.test("spawn: 500 at once from one driver", async () => {
  await withDriver(async (drv) => {
    const procs = await Promise.all(
      Array.from({ length: 500 }, () => drv.spawn(["sleep", "1000"], { stdin: "null" })),
    );
    assertEquals((await drv.cpid([])).length, 500);
    // Past maxchild, the error says which limit and how to raise it.
    await drv.setopt([], "maxchild", 500);
    const full = await assertRejects(() => drv.spawn(["true"]), SystemCallError);
    assertEquals([full.code, full.limit], ["EAGAIN", "maxchild"]);
    assertStringIncludes(
      full.message,
      'maxchild reached, raise it with setopt(pipeline, "maxchild", n)',
    );
    await Promise.all(procs.map((p) => p.kill("SIGKILL")));
    const statuses = await Promise.all(procs.map((p) => p.status));
    assert(statuses.every((s) => s.signal === "SIGKILL"));
    assertEquals(await drv.cpid([]), []);
  });
});

Deno.test("spawn: 64 MiB through stdin and stdout at once, in order, memory bounded", async () => {
  await withDriver(async (drv) => {
    const size = 64 << 20;
    const block = new Uint8Array(1 << 20);
    for (let i = 0; i < block.length; i++) block[i] = (i * 7 + (i >> 12)) & 0xff;
    // The writes reuse two buffers (a write resolves once its bytes are in the pipe), so
    // the garbage measured is the host's own: every copy it makes shows as memory here.
    const pool = [block.slice(), block.slice()];
    // A large live heap, as a long-running host has, makes the collector lazier: a copy the
    // host makes of every byte then shows as memory (Bun reached 4x the bytes streamed).
    const ballast = new Uint8Array(192 << 20).fill(1);
    await using p = await drv.spawn(["cat"]);
    const rss0 = Deno.memoryUsage().rss;
    const writing = (async () => {
      const w = p.stdin.getWriter();
      for (let sent = 0; sent < size; sent += block.length) {
        const chunk = pool[(sent >> 20) & 1];
        chunk[0] = (sent >> 20) & 0xff; // each MiB is told apart
        await w.write(chunk);
      }
      await w.close();
    })();
    let got = 0;
    let peak = 0;
    let mismatch = -1;
    for await (const chunk of p.stdout) {
      for (let i = 0; i < chunk.length && mismatch < 0; i += 4093) {
        const pos = got + i;
        const want = pos % block.length === 0 ? (pos >> 20) & 0xff : block[pos % block.length];
        if (chunk[i] !== want) mismatch = pos;
      }
      got += chunk.length;
      peak = Math.max(peak, Deno.memoryUsage().rss - rss0);
    }
    await writing;
    assertEquals(mismatch, -1);
    assertEquals(got, size);
    assertEquals((await p.status).code, 0);
    assertEquals(ballast[ballast.length - 1], 1);
    assert(peak < size * 1.5, `host memory grew by ${peak} bytes for 64 MiB streamed`);
  });
});

Deno.test("spawn: await using kills and reaps the tree; abort kills it too", async () => {
  // Whatever is below the program goes too: a daemon that left its process group and
  // session (setsid) as well.
  const marker = `1000.${Math.floor(Math.random() * 1e9)}`;
  const tree = `setsid sleep ${marker} & sleep ${marker} & echo started; sleep ${marker}`;
  const gone = async (what: string) => {
    for (let i = 0; i < 250 && withMarker(marker).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(withMarker(marker), [], `${what}: left behind`);
  };
  await withDriver(async (drv) => {
    let pid: number;
    {
      await using p = await drv.spawn(["sh", "-c", tree]);
      pid = p.pid;
      const first = await p.stdout.getReader().read();
      assertEquals(text(first.value!), "started\n");
    }
    assertEquals(await drv.cpid([]), []);
    let alive = true;
    try {
      Deno.kill(pid, "SIGCONT");
    } catch {
      alive = false;
    }
    assertEquals(alive, false);
    await gone("await using");
    const ac = new AbortController();
    const p = await drv.spawn(["sh", "-c", tree], { signal: ac.signal });
    assertEquals(text((await p.stdout.getReader().read()).value!), "started\n");
    ac.abort();
    assertEquals((await p.status).signal, "SIGKILL");
    await gone("abort");
    // Aborted while the spawn is on its way: the Process comes back, and is killed at once.
    const late = new AbortController();
    const sent = drv.spawn(["sleep", "100"], { signal: late.signal });
    queueMicrotask(() => late.abort());
    const q = await sent;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      q.status,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the abort was lost: still running")), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assertEquals(status.signal, "SIGKILL");
    // Aborted before: nothing is started.
    await assertRejects(() => drv.spawn(["sleep", "100"], { signal: late.signal }), AbortedError);
    assertEquals(await drv.cpid([]), []);
  });
});

Deno.test("spawn: a status lost with the root says how the root ended; a stop, how it ended it", async () => {
  await withDriver(async (drv) => {
    // Without a pid namespace the program may signal its parent, the root control process:
    // once it has started (its stdin says when), so that the spawn's answer came first.
    const p = await drv.spawn(["sh", "-c", "read go; kill -KILL $PPID; sleep 1"], {
      stdout: "null",
    });
    const status = p.status;
    status.catch(() => {}); // checked below, but it may reject while the write is pending
    // The root may be killed before it answers the write that sets this off: the write may
    // fail with the driver closed, and the status is what is checked.
    await drv.stdin(p.pipeline, "go\n").catch((e) => assertInstanceOf(e, DriverClosedError));
    const e = await assertRejects(() => status, DriverClosedError);
    assertStringIncludes(e.message, "the root control process exited (signal SIGKILL)");
    assert(drv.closed);
  });
  // A stop ends the program (SIGTERM, its parent's signaloneof): its status says so,
  // whether it was asked for before the stop or after.
  for (const before of [true, false]) {
    await withDriver(async (drv) => {
      const p = await drv.spawn(["sleep", "100"]);
      const status = before ? p.status : undefined;
      await drv.stop();
      const st = await (status ?? p.status);
      assertEquals([st.signal, st.reason], ["SIGTERM", "signal"], `asked before: ${before}`);
    });
  }
  // With the driver open, a status that cannot come does not blame the driver: its exit was
  // read by drv.event, or the control process above it (which reaps it) was killed.
  await withDriver(async (drv) => {
    const p = await drv.spawn(["true"], { stdout: "null", stderr: "null" });
    while ((await drv.event(p.pipeline, { timeout: 5000 })) !== null);
    const t = await drv.root.fork();
    const q = await t.spawn(["sleep", "100"]);
    await drv.root.kill(t.pid, "SIGKILL");
    for (const lost of [p, q]) {
      const e = await assertRejects(() => lost.status, AlcoveError, "did not reach this Process");
      assert(!(e instanceof DriverClosedError), e.message);
    }
    assert(!drv.closed);
  });
});

/** A program that prints a line for each signal 40 it gets (a real-time signal, queued: it
 * comes as often as it is sent, where a shell's trap may run once for two) and exits 3 on
 * SIGTERM: built with cc into `dir`. */
async function signalCounter(drv: Alcove, dir: string): Promise<string> {
  await Deno.writeTextFile(
    `${dir}/count.c`,
    `#include <signal.h>
#include <stdio.h>
int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, 40);
  sigaddset(&s, SIGTERM);
  sigprocmask(SIG_BLOCK, &s, 0);
  puts("ready");
  for (;;) {
    fflush(stdout);
    int sig = sigwaitinfo(&s, 0);
    if (sig == SIGTERM) {
      puts("TERM");
      return 3;
    }
    if (sig == 40) puts("RT");
  }
}
`,
  );
  const cc = await (await drv.spawn(["cc", "-O2", "-o", `${dir}/count`, `${dir}/count.c`]))
    .output();
  assert(cc.status.success, text(cc.stderr));
  return `${dir}/count`;
}

Deno.test("spawn: kill reaches the program once, below an init or a relay too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alcove-signals-" });
  try {
    await withDriver(async (drv) => {
      const count = await signalCounter(drv, dir);
      const cases: SpawnOptions[] = [
        {},
        { namespaces: ["pid"], init: true },
        { namespaces: ["pid"], init: true, ownProcessGroup: false },
      ];
      // A pid namespace to join (bubblewrap's --pidns; joined with CAP_SYS_ADMIN over it):
      // a relay outside it waits for the program inside.
      const holder = IS_ROOT ? await drv.spawn(["sleep", "100"], { namespaces: ["pid"] }) : null;
      if (holder !== null) {
        const pidns = await drv.open([], `/proc/${holder.pid}/ns/pid`, ["O_RDONLY"], 0);
        cases.push({ pidns: pidns as number }, { pidns: pidns as number, ownProcessGroup: false });
      }
      for (const options of cases) {
        const what = JSON.stringify(options);
        // A signal lost would leave it running: the timeout ends it, and the check fails.
        const p = await drv.spawn([count], { ...options, timeout: 10000 });
        const lines = p.stdout.pipeThrough(new TextDecoderStream()).getReader();
        assertEquals((await lines.read()).value, "ready\n", what);
        await p.kill(40);
        await new Promise((resolve) => setTimeout(resolve, 200)); // time for a second one
        await p.kill("SIGTERM");
        let got = "";
        for (let r = await lines.read(); !r.done; r = await lines.read()) got += r.value;
        assertEquals([got, (await p.status).code], ["RT\nTERM\n", 3], what);
      }
      await holder?.kill("SIGKILL");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spawn: a cancelled stdout or stderr fails the program's next write", async () => {
  await withDriver(async (drv) => {
    // As when the reader of a pipe goes away (yes | head -c 1): SIGPIPE, not a program
    // that waits for room forever (the timeout would end it, and the check fail).
    const p = await drv.spawn(["yes"], { timeout: 10000 });
    const reader = p.stdout.getReader();
    assert(!(await reader.read()).done);
    await reader.cancel();
    const st = await p.status;
    assertEquals([st.reason, st.signal], ["signal", "SIGPIPE"]);
    // The other stream goes on: sh reports its child's SIGPIPE on stdout.
    const q = await drv.spawn(["sh", "-c", "yes >&2; echo $?"], { timeout: 10000 });
    const errors = q.stderr.getReader();
    assert(!(await errors.read()).done);
    await errors.cancel();
    assertEquals(
      text(await new Response(q.stdout).arrayBuffer().then((b) => new Uint8Array(b))),
      "141\n",
    );
    assertEquals((await q.status).code, 0);
  });
});

Deno.test("spawn: a stop delivers every exit the root reports as it ends", async () => {
  // What the root sends just before it exits is read to the end: its exit may be learnt
  // first, and closing the channel then would drop those last frames. The host is kept
  // busy for a while after asking (0 to 9 ms), so that both are there when it looks.
  const lost: string[] = [];
  for (let round = 0; round < 100; round++) {
    await withDriver(async (drv) => {
      const ps = await Promise.all(Array.from({ length: 8 }, () => drv.spawn(["sleep", "100"])));
      const statuses = ps.map((p) => p.status.catch((e: Error) => e.message));
      const stopping = drv.stop();
      for (const t = performance.now(); performance.now() - t < round % 10;);
      await stopping;
      for (const st of await Promise.all(statuses)) {
        if (typeof st === "string") lost.push(st);
        else assertEquals(st.signal, "SIGTERM");
      }
    });
  }
  assertEquals(lost, []);
});

Deno.test("spawn: bad options name the field, before anything is sent", async () => {
  await withDriver(async (drv) => {
    const bad: [unknown, unknown, typeof TypeError, string][] = [
      [[], {}, TypeError, "spawn: argv must be a non-empty array"],
      // A hole in argv is named as any other wrong entry; an array is no options object.
      // deno-lint-ignore no-sparse-arrays
      [["sh", , "x"], {}, TypeError, "spawn: argv[1] must be a string"],
      [["true"], [], TypeError, "spawn: options must be an object"],
      [["a\0b"], {}, TypeError, "spawn: argv[0] must be a string without NUL"],
      [["true"], { nope: 1 }, TypeError, "spawn: options.nope: unknown option"],
      [["true"], { namespaces: ["pidd"] }, RangeError, "options.namespaces[0]: must be one of"],
      [["true"], { namespaces: "most" }, TypeError, "options.namespaces: must be an array"],
      [["true"], { uid: -1 }, RangeError, "options.uid: must be an integer"],
      [["true"], { gid: 1.5 }, RangeError, "options.gid: must be an integer"],
      [["true"], { hostname: "x" }, TypeError, 'options.hostname: needs the "uts" namespace'],
      [["true"], { namespaces: ["uts"], hostname: "x".repeat(65) }, RangeError, "at most 64"],
      [["true"], { mounts: {} }, TypeError, "options.mounts: must be an array"],
      [["true"], { mounts: [{ type: "bond", target: "/" }] }, RangeError, "options.mounts[0].type"],
      [
        ["true"],
        { mounts: [{ type: "proc", target: "proc" }] },
        TypeError,
        "options.mounts[0].target: must be an absolute path",
      ],
      [
        ["true"],
        { mounts: [SYSTEM[0], { type: "tmpfs", target: "/a/../b" }] },
        TypeError,
        'options.mounts[1].target: must not contain ".."',
      ],
      [
        ["true"],
        { mounts: [{ type: "bind", target: "/x" }] },
        TypeError,
        "options.mounts[0].source: must be a string",
      ],
      [
        ["true"],
        { mounts: [{ type: "tmpfs", target: "/x", size: -1 }] },
        RangeError,
        "options.mounts[0].size",
      ],
      [
        ["true"],
        { mounts: [{ type: "proc", target: "/x", mode: 0o755 }] },
        TypeError,
        "options.mounts[0].mode: not for proc",
      ],
      // A misspelt or misplaced field is refused, not dropped (a tmpfs of no size limit).
      [
        ["true"],
        { mounts: [{ type: "tmpfs", target: "/tmp", sise: 1 << 20 }] },
        TypeError,
        "options.mounts[0].sise: unknown option (tmpfs takes type, target, size, mode)",
      ],
      [
        ["true"],
        { mounts: [{ type: "proc", target: "/proc", source: "/x" }] },
        TypeError,
        "options.mounts[0].source: not for proc",
      ],
      [
        ["true"],
        { mounts: [{ type: "ro-bind", source: "/", target: "/", readonly: true }] },
        TypeError,
        "options.mounts[0].readonly: unknown option (ro-bind takes type, source, target)",
      ],
      [
        ["true"],
        { mounts: [{ type: "chmod", target: "/x", mode: 0o10000 }] },
        RangeError,
        "options.mounts[0].mode",
      ],
      [
        ["true"],
        { mounts: [{ type: "file", target: "/x", data: 5 }] },
        TypeError,
        "options.mounts[0].data",
      ],
      [["true"], { cwd: "tmp" }, TypeError, "options.cwd: must be an absolute path"],
      [
        ["true"],
        { mounts: [{ type: "tmpfs", target: "/" + "é".repeat(2048) }] },
        RangeError,
        "options.mounts[0].target: must be shorter than 4096 bytes (PATH_MAX), got 4097",
      ],
      [["true"], { env: { "A=B": "1" } }, TypeError, "options.env.A=B"],
      [["true"], { env: { A: 1 } }, TypeError, "options.env.A: must be a string"],
      [["true"], { rlimits: { NOPE: 1 } }, RangeError, "options.rlimits.NOPE: unknown resource"],
      [
        ["true"],
        { rlimits: { NOFILE: { cur: 9, max: 8 } } },
        RangeError,
        "options.rlimits.NOFILE: cur must not be above max",
      ],
      [["true"], { capabilities: ["CAP_NOPE"] }, RangeError, "options.capabilities[0]"],
      [
        ["true"],
        { noNewPrivileges: "yes" },
        TypeError,
        "options.noNewPrivileges: must be a boolean",
      ],
      [["true"], { seccomp: "strict" }, TypeError, "options.seccomp"],
      [
        ["true"],
        { noNewPrivileges: false, seccomp: "default" },
        TypeError,
        "options.noNewPrivileges: must stay true with seccomp, unless capabilities keep " +
        "CAP_SYS_ADMIN",
      ],
      [
        ["true"],
        { noNewPrivileges: false, landlock: { read: ["/"] } },
        TypeError,
        "options.noNewPrivileges: must stay true with landlock",
      ],
      [
        ["true"],
        { landlock: { read: ["rel"] } },
        TypeError,
        "options.landlock.read[0]: must be an absolute path",
      ],
      [["true"], { landlock: { exec: [] } }, TypeError, "options.landlock.exec: unknown option"],
      // An array is no set of paths: it made a ruleset that allowed nothing.
      [["true"], { landlock: [] }, TypeError, "options.landlock: must be an object of path sets"],
      [
        ["true"],
        { landlock: { read: Array(200).fill("/usr"), write: Array(57).fill("/tmp") } },
        RangeError,
        "options.landlock.write: makes more than 256 paths in all",
      ],
      // RLIMIT_NLIMITS counts the resources; two names of one resource set it twice.
      [["true"], { rlimits: { NLIMITS: 5 } }, RangeError, "options.rlimits.NLIMITS: unknown"],
      [
        ["true"],
        { rlimits: { NOFILE: 64, rlimit_nofile: 128 } },
        TypeError,
        "options.rlimits.rlimit_nofile: names the resource of rlimits.NOFILE again",
      ],
      [["true"], { rlimits: [5] }, TypeError, "options.rlimits: must be an object"],
      [["true"], { timeout: -5 }, RangeError, "options.timeout"],
      [["true"], { maxOutput: 1.5 }, RangeError, "options.maxOutput"],
      [["true"], { stdout: "file" }, RangeError, "options.stdout"],
      // Names every object has, which are no namespace, mount or stdio mode.
      [["true"], { namespaces: ["constructor"] }, RangeError, "options.namespaces[0]: must be"],
      [["true"], { namespaces: ["__proto__"] }, RangeError, "options.namespaces[0]: must be"],
      [
        ["true"],
        { mounts: [{ type: "toString", target: "/tmp" }] },
        RangeError,
        "options.mounts[0].type: must be one of",
      ],
      [["true"], { stdout: "constructor" }, RangeError, "options.stdout: must be"],
      [["true"], { stdin: "hasOwnProperty" }, RangeError, "options.stdin: must be"],
      [["true"], { signal: {} }, TypeError, "options.signal: must be an AbortSignal"],
      [["true"], { cgroup: { memoryMax: 1 } }, RangeError, "options.cgroup.memoryMax"],
    ];
    for (const [argv, options, type, message] of bad) {
      await assertRejects(
        () => drv.spawn(argv as string[], options as SpawnOptions),
        type,
        message,
      );
    }
    assertEquals(await drv.cpid([]), []);
    // Requests left half written by the errors above leave nothing behind in the next one,
    // and text that is not ASCII goes as UTF-8.
    const u = await drv.spawn(["sh", "-c", 'printf "%s|%s" "$1" "$V"', "sh", "naïve → ✓"], {
      env: { V: "日本語", PATH: "/usr/bin:/bin" },
    });
    const o = await u.output();
    assertEquals([text(o.stdout), o.status.code], ["naïve → ✓|日本語", 0]);
    // A Process's kill checks its signal before sending it.
    await using s = await drv.spawn(["sleep", "10"]);
    for (const signal of [-1, 65, 1.5, NaN]) {
      await assertRejects(() => s.kill(signal), RangeError, "kill: a signal number must be");
    }
    await assertRejects(() => s.kill("SIGNOPE"), RangeError, "SIGNOPE");
  });
});

Deno.test("programs start with no signal ignored, the C library's own included", async () => {
  await withDriver(async (drv) => {
    // A root started through libalcove.so has 32 and 33 ignored, as posix_spawn leaves them;
    // a program has them at their default, as bubblewrap's and a shell's have.
    const spawned = await (await drv.spawn(["grep", "SigIgn", "/proc/self/status"])).output();
    assertEquals(text(spawned.stdout), "SigIgn:\t0000000000000000\n");
    const t = await drv.root.fork();
    await t.execvp("grep", ["grep", "SigIgn", "/proc/self/status"]);
    const execd = await t.process().output();
    assertEquals(text(execd.stdout), "SigIgn:\t0000000000000000\n");
  });
});

Deno.test("Task: calls without the pipeline, fork, clone, spawn inside, process view", async () => {
  await withDriver(async (drv) => {
    assertEquals(await drv.root.getpid(), drv.pid);
    const t = await drv.root.fork();
    assertEquals(t.pipeline, [t.pid]);
    await t.setrlimit("RLIMIT_NOFILE", { cur: 64, max: 64 });
    assertEquals(await t.getrlimit("RLIMIT_NOFILE"), { cur: 64, max: 64 });
    const child = await t.fork();
    assertEquals(child.pipeline, [t.pid, child.pid]);
    // A program spawned from a task inherits what the task set up.
    const r = await (await child.spawn(["sh", "-c", "ulimit -n"])).output();
    assertEquals(text(r.stdout), "64\n");
    await child.execvp("sh", ["sh", "-c", "echo from-exec; exit 4"]);
    const o = await child.process().output();
    assertEquals([text(o.stdout), o.status.code], ["from-exec\n", 4]);
    // One view per task: asked again, it is the same Process, with the same answer.
    assertStrictEquals(child.process(), child.process());
    assertEquals((await child.process().status).code, 4);
  });
});

Deno.test("Task: a forked program's status has its usage, its wall time from its exec", async () => {
  await withDriver(async (drv) => {
    const busy = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; sleep 0.3";
    // Exec'd as the Task's method: the Task asks for the usage with the exec.
    const t = await drv.root.fork();
    await new Promise((r) => setTimeout(r, 1500)); // before the exec: not in the wall time
    const sent = performance.now();
    await t.execvp("sh", ["sh", "-c", busy]);
    const { status } = await t.process().output();
    const since = performance.now() - sent;
    assertEquals(status.code, 0);
    assertGreater(status.usage.wallMs, 250);
    // Within what passed here from the exec's request: the 1.5 s before it are not in it.
    assertLessOrEqual(status.usage.wallMs, since + 5);
    assertGreater(status.usage.userMs + status.usage.systemMs, 0);
    assertGreater(status.usage.maxRssKb, 0);
    // Exec'd through the driver's method: the view asked for while it runs has it too.
    const u = await drv.root.fork();
    await drv.execvp(u.pipeline, "sh", ["sh", "-c", busy]);
    const other = (await u.process().output()).status;
    assertGreater(other.usage.wallMs, 250);
    assertGreater(other.usage.maxRssKb, 0);
    // The low-level way: setcpid's "usage", then a usage event just before the exit.
    const pid = await drv.fork([]);
    await drv.setcpid([], pid, "usage", 1);
    await drv.execvp([pid], "true", ["true"]);
    const first = await drv.event([pid], { timeout: 5000 });
    assertEquals(first?.type, "usage");
    assertEquals(await drv.event([pid], { timeout: 5000 }), { type: "exit", status: 0 });
    const q = await drv.fork([]);
    await assertRejects(
      () => drv.setcpid([], q, "usage", 2),
      RangeError,
      "setcpid: usage must be 0 or 1",
    );
    await drv.exit([q], 0);
  });
});

Deno.test("Task: await using ends the control process and those below it", async () => {
  await withDriver(async (drv) => {
    let below = 0;
    {
      await using t = await drv.root.fork();
      const c = await t.fork();
      below = c.pid;
      // One that ignores SIGTERM and the end of its input ends all the same.
      await c.sigaction("SIGTERM", "sig_ign");
      await c.setopt("signaloneof", 0);
    }
    assertEquals(await drv.cpid([]), []);
    // Those below it end on the end of their channel, soon after.
    const lives = () => drv.root.kill(below, 0).then(() => true, () => false);
    for (const end = Date.now() + 5000; await lives();) {
      assert(Date.now() < end, `${below} lives`);
      await new Promise((r) => setTimeout(r, 10));
    }
    {
      await using t = await drv.root.fork();
      await t.execvp("sleep", ["sleep", "100"]);
    }
    assertEquals(await drv.cpid([]), []);
    {
      await using t = await drv.root.fork();
      await t.exit(3);
    }
    // The root is the driver's.
    {
      await using root = drv.root;
      assertEquals(root.pipeline, []);
    }
    assertEquals(await drv.root.getpid(), drv.pid);
  });
});

Deno.test(needs("Task: clone into namespaces, then spawn there", NOT_ROOT), async () => {
  await withDriver(async (drv) => {
    const box = await drv.root.clone(["CLONE_NEWUTS", "CLONE_NEWPID"]);
    assertEquals(await box.getpid(), 1);
    await box.sethostname("cloned");
    const o = await (await box.spawn(["sh", "-c", "hostname; echo $$"])).output();
    assertEquals(text(o.stdout), "cloned\n2\n");
  });
});

Deno.test(
  needs(
    "Task in a pid namespace of its own: a program's tree is its own, by /proc's numbers",
    NOT_ROOT,
  ),
  async () => {
    await withDriver(async (drv) => {
      // The Task's /proc is the host's: its pid 2 is the host's pid 2, whose children are
      // not this program's. Ending one program ends its tree and nothing else.
      const box = await drv.root.clone(["CLONE_NEWPID"]);
      const quiet = { stdin: "null", stderr: "null" } as const;
      const first = await box.spawn(["sleep", "60"], quiet);
      const siblings = [
        await box.spawn(["sleep", "60"], quiet),
        await box.spawn(["sleep", "60"], quiet),
      ];
      assertEquals(first.pid, 2);
      await first[Symbol.asyncDispose]();
      const ended = await Promise.race([
        Promise.race(siblings.map((p) => p.status)),
        new Promise((r) => setTimeout(() => r("running"), 500)),
      ]);
      assertEquals(ended, "running");
      // A timeout reaches a child that left the program's group and session.
      const daemon = await box.spawn(
        ["sh", "-c", "setsid sh -c 'echo $$; exec sleep 60' & wait"],
        { stdin: "null", timeout: 300 },
      );
      const reader = daemon.stdout.getReader();
      const inside = Number(text((await reader.read()).value!));
      reader.releaseLock();
      assertEquals((await daemon.output()).status.reason, "timeout");
      // Gone (once reaped: the Task adopted it), within a second or two.
      let left = "alive";
      for (let i = 0; i < 100 && left === "alive"; i++) {
        left = await box.kill(inside, 0).then(() => "alive", (e) => e.code);
        if (left === "alive") await new Promise((r) => setTimeout(r, 20));
      }
      assertEquals(left, "ESRCH");
      // The id maps of a user namespace go to this program's /proc files.
      const r = await (await box.spawn(["id", "-u"], { namespaces: ["user"], uid: 65534 }))
        .output();
      assertEquals([text(r.stdout), r.status.success], ["65534\n", true]);
      for (const p of siblings) await p[Symbol.asyncDispose]();
    });
  },
);

Deno.test(needs("handles keep their own process when its pid is another's", NOT_ROOT), async () => {
  await withDriver(async (drv) => {
    // A pid namespace of its own, whose next pid can be set: a pid's reuse, made at will.
    const box = await drv.root.clone(["CLONE_NEWPID"]);
    const reuse = async (pid: number) => {
      const fd = await box.open("/proc/sys/kernel/ns_last_pid", ["O_WRONLY"], 0);
      await box.write(fd, String(pid - 1));
      await box.close(fd);
    };
    const quiet = { stdin: "null", stdout: "null", stderr: "null" } as const;
    // A Process that ended, its status not read: neither kill() nor `await using` reaches the
    // program that has its pid now.
    const first = await box.spawn(["sh", "-c", "echo first; exit 5"], { stdin: "null" });
    await new Promise((r) => setTimeout(r, 300));
    await reuse(first.pid);
    const second = await box.spawn(["sh", "-c", "echo second; sleep 0.5; exit 9"], {
      stdin: "null",
    });
    assertEquals(second.pid, first.pid);
    await first.kill("SIGKILL");
    // Each has its own output and status.
    const [a, b] = [await first.output(), await second.output()];
    await first[Symbol.asyncDispose]();
    assertEquals([text(a.stdout), a.status.code], ["first\n", 5]);
    assertEquals([text(b.stdout), b.status.code], ["second\n", 9]);
    // A Task that exited: its calls and its disposal do not reach the new one.
    const old = await box.fork();
    await old.exit(0);
    await new Promise((r) => setTimeout(r, 200));
    await reuse(old.pid);
    const now = await box.spawn(["sleep", "30"], quiet);
    assertEquals(now.pid, old.pid);
    const e = await assertRejects(() => old.getpid(), PipelineError);
    assertEquals(e.reason, "not_child");
    assertEquals(
      e.message,
      `Cannot run getpid in [${old.pipeline.join(", ")}]: ${old.pid} has exited`,
    );
    await old[Symbol.asyncDispose]();
    const alive = await Promise.race([
      now.status.then(() => "ended"),
      new Promise((r) => setTimeout(() => r("alive"), 300)),
    ]);
    assertEquals(alive, "alive");
    // A plain pipeline names the process that has the pid now.
    assertEquals((await drv.event(now.pipeline, { timeout: 0 })) ?? null, null);
    await now.kill("SIGKILL");
    assertEquals((await now.status).signal, "SIGKILL");
    // Read to its end (and so forgotten by the driver) before its pid is another's: still
    // nothing written to it reaches the new one.
    const read = await box.spawn(["sh", "-c", "exit 3"]);
    assertEquals((await read.output()).status.code, 3);
    await reuse(read.pid);
    const cat = await box.spawn(["cat"]);
    assertEquals(cat.pid, read.pid);
    await assertRejects(() => drv.stdin(read.pipeline, "intruder\n"), PipelineError);
    await assertRejects(() => read.stdin.getWriter().write(new TextEncoder().encode("x")));
    await drv.stdin(cat.pipeline, "own\n");
    await drv.eof(cat.pipeline);
    assertEquals(text((await cat.output()).stdout), "own\n");
  });
});

Deno.test("spawn: an empty write to stdin, through the stream or drv.stdin, is done", async () => {
  await withDriver(async (drv) => {
    const p = await drv.spawn(["cat"]);
    await drv.stdin(p.pipeline, "");
    await drv.stdin(p.pipeline, new Uint8Array(0));
    const w = p.stdin.getWriter();
    await w.write(new Uint8Array(0));
    await w.write(new TextEncoder().encode("after\n"));
    await w.close();
    const out = await p.output();
    assertEquals([text(out.stdout), out.status.code], ["after\n", 0]);
    // Nothing written: still refused once the program has ended.
    await assertRejects(() => drv.stdin(p.pipeline, ""));
    assertEquals(await drv.getpid([]), drv.pid);
  });
});

Deno.test("spawn: a failed write to stdin ends its input, so output() does not wait for ever", async () => {
  await withDriver(async (drv) => {
    const p = await drv.spawn(["cat"]);
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode("abc\n"));
    await assertRejects(() => w.write(42 as unknown as Uint8Array), TypeError, "stdin: data");
    const out = await p.output();
    assertEquals([text(out.stdout), out.status.code], ["abc\n", 0]);
  });
});

Deno.test("spawn: aborting stdin during a write the program does not read drops the rest", async () => {
  await withDriver(async (drv) => {
    // The program reads nothing for a while: the write waits on a full pipe.
    const p = await drv.spawn(["sh", "-c", "sleep 2; wc -c"]);
    const w = p.stdin.getWriter();
    const big = new Uint8Array(16 << 20);
    const written = w.write(big).then(() => "written", (e) => e);
    await new Promise((r) => setTimeout(r, 100));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<string>((r) => timer = setTimeout(() => r("hung"), 1500));
    const aborted = await Promise.race([w.abort(new Error("enough")).then(() => "aborted"), hung]);
    clearTimeout(timer);
    assertEquals(aborted, "aborted");
    const e = await written;
    assertInstanceOf(e, SystemCallError);
    assertEquals(e.code, "ECANCELED");
    // The program read what was in its pipe, then EOF; the rest never reached it.
    const out = await p.output();
    assertEquals(out.status.code, 0);
    const n = Number(text(out.stdout).trim());
    assert(n < big.length, `the program read ${n} bytes`);
  });
});

Deno.test("spawn: output() takes both streams at once; a later reader is refused", async () => {
  await withDriver(async (drv) => {
    const p = await drv.spawn(["sh", "-c", "echo one; sleep 0.2; echo two; echo err >&2"]);
    const all = p.output();
    assertThrows(() => p.stdout.getReader(), TypeError);
    assertThrows(() => p.stderr.getReader(), TypeError);
    const out = await all;
    assertEquals([text(out.stdout), text(out.stderr)], ["one\ntwo\n", "err\n"]);
    assertStrictEquals(await p.output(), out);
    // A lock taken first is refused, and not for good: once released, output() reads on.
    const q = await drv.spawn(["sh", "-c", "echo one; sleep 0.2; echo two"]);
    const reader = q.stdout.getReader();
    assertEquals(text((await reader.read()).value!), "one\n");
    await assertRejects(() => q.output(), TypeError, "output: stdout is locked by a reader");
    reader.releaseLock();
    assertEquals(text((await q.output()).stdout), "two\n");
  });
});

Deno.test("spawn: a stream cut short by the loss of the root errors, not ends", async () => {
  const drv = await Alcove.start();
  try {
    const p = await drv.spawn(["yes"]);
    const reader = p.stdout.getReader();
    assert(((await reader.read()).value?.length ?? 0) > 0);
    Deno.kill(drv.pid, "SIGKILL");
    const e = await (async () => {
      for (;;) if ((await reader.read()).done) return undefined;
    })().catch((e) => e);
    assertInstanceOf(e, DriverClosedError);
    assertStringIncludes(e.message, "stdout");
    await assertRejects(() => p.status, DriverClosedError);
    // A driver that was stopped ends its streams: nothing was lost there.
  } finally {
    await drv.stop();
  }
  await withDriver(async (d) => {
    const p = await d.spawn(["sh", "-c", "echo hi; exec sleep 30"]);
    const reader = p.stdout.getReader();
    assertEquals(text((await reader.read()).value!), "hi\n");
    await d.stop();
    assertEquals((await reader.read()).done, true);
  });
});

Deno.test("spawn, Alcove.start and Alcove.run take options objects of known own fields", async () => {
  await assertRejects(() => Alcove.start({ bogus: 1 } as never), TypeError, "options.bogus");
  await assertRejects(() => Alcove.start([] as never), TypeError, "options must be an object");
  await assertRejects(() => Alcove.run(["true"], null as never), TypeError, "Alcove.run: options");
  await assertRejects(
    () => Alcove.run(["true"], { start: { bogus: 1 } as never }),
    TypeError,
    "Alcove.start: options.bogus: unknown option",
  );
  await withDriver(async (drv) => {
    // A field it inherits is not its own: not checked, so not taken either.
    const p = await drv.spawn(["true"], Object.create({ timeout: 0, nope: 1 }));
    assertEquals((await p.status).reason, "exit");
  });
});

Deno.test("spawn: proc is nosuid and nodev, and its own noexec, as bubblewrap mounts them", async () => {
  const root: Mount[] = [{ type: "ro-bind", source: "/", target: "/" }, {
    type: "proc",
    target: "/proc",
  }];
  const script = "grep ' /proc ' /proc/self/mountinfo | tail -n 1 | cut -d' ' -f6";
  await withDriver(async (drv) => {
    // The host's, bound (no pid namespace), and one of its own.
    for (const namespaces of [["mount"], ["mount", "pid"]] as const) {
      const out = await (await drv.spawn(["sh", "-c", script], { namespaces, mounts: root }))
        .output();
      const flags = text(out.stdout).trim().split(",");
      const own = namespaces.length === 2;
      for (const f of ["nosuid", "nodev", ...(own ? ["noexec"] : [])]) {
        assert(flags.includes(f), `${namespaces}: ${text(out.stdout)}${text(out.stderr)}`);
      }
      assertEquals(flags.includes("noexec"), own, text(out.stdout));
    }
  });
});

Deno.test(
  needs(
    "spawn: proc's sys, irq and bus are read-only, /proc/sys too for root",
    !IS_ROOT ? "needs root" : undefined,
  ),
  async () => {
    // /proc/sys refuses W_OK on itself while its files take root's writes: a test of whether
    // it is writable left it writable, and root inside could set the host's core_pattern.
    const script =
      "grep -E ' /proc/(sys|irq|bus) ' /proc/self/mountinfo | cut -d' ' -f5,6 | cut -d, -f1; " +
      "cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern 2>/dev/null && echo wrote";
    const root: Mount[] = [{ type: "ro-bind", source: "/", target: "/" }, {
      type: "proc",
      target: "/proc",
    }];
    const ways: SpawnOptions[] = [
      { mounts: root },
      { namespaces: ["pid"], mounts: root },
      { namespaces: ["user", "pid"], uid: 0, gid: 0, mounts: root },
    ];
    await withDriver(async (drv) => {
      for (const options of ways) {
        const out = await (await drv.spawn(["sh", "-c", script], options)).output();
        assertEquals(
          text(out.stdout),
          "/proc/sys ro\n/proc/irq ro\n/proc/bus ro\n",
          JSON.stringify(options),
        );
      }
      // With a network namespace of its own, its own net sysctls stay its to set.
      const forward = "/proc/sys/net/ipv4/ip_forward";
      const host = Deno.readTextFileSync(forward);
      const flip = `echo ${host.trim() === "1" ? 0 : 1} > ${forward} && echo set`;
      const own = await (await drv.spawn(["sh", "-c", flip], {
        namespaces: ["net", "pid"],
        mounts: root,
        capabilities: ["CAP_NET_ADMIN"],
      })).output();
      assertEquals([text(own.stdout), text(own.stderr)], ["set\n", ""]);
      assertEquals(Deno.readTextFileSync(forward), host, "the host's changed");
    });
  },
);

Deno.test("spawn: a program run as another uid dies with its control process", async () => {
  // A change of uid cleared the parent-death signal: it outlived a root killed with SIGKILL.
  const drv = await Alcove.start();
  try {
    const seconds = `${700 + Math.floor(Math.random() * 1000)}.${Deno.pid}`;
    const p = await drv.spawn(["sleep", seconds], { namespaces: ["user"], uid: 65534, gid: 65534 });
    assert(withMarker(seconds).includes(p.pid));
    Deno.kill(drv.pid, "SIGKILL");
    let left = withMarker(seconds);
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = withMarker(seconds);
    }
    for (const pid of left) Deno.kill(pid, "SIGKILL");
    assertEquals(left, [], "left running");
  } finally {
    await drv.stop();
  }
});

Deno.test("Alcove.run: a one-off with its own driver", async () => {
  const { status, stdout } = await Alcove.run(["sh", "-c", "echo $((6 * 7))"]);
  assertEquals([status.success, text(stdout)], [true, "42\n"]);
});

Deno.test("Alcove.run: input goes to stdin while the output is read, then stdin closes", async () => {
  const piped = await Alcove.run(["sh", "-c", "tr a-z A-Z; echo done >&2"], { input: "hello\n" });
  assertEquals([text(piped.stdout), text(piped.stderr), piped.status.code], [
    "HELLO\n",
    "done\n",
    0,
  ]);
  // More than any pipe holds, both ways at once: nothing waits on the other.
  const big = new Uint8Array(8 << 20).map((_, i) => i % 251);
  const echoed = await Alcove.run(["cat"], { input: big });
  assertEquals(echoed.stdout.length, big.length);
  assert(echoed.stdout.every((b, i) => b === big[i]), "the bytes came back in order");
  // A program that does not read its input: the write's failure is not the run's.
  const ignored = await Alcove.run(["true"], { input: new Uint8Array(1 << 20) });
  assertEquals(ignored.status.success, true);
  // Empty input: an empty stdin, then its end (a zero-length write failed, and the run waited
  // for ever on a cat that never got EOF).
  for (const input of ["", new Uint8Array(0)]) {
    const empty = await Alcove.run(["cat"], { input });
    assertEquals([empty.stdout.length, empty.status.code], [0, 0]);
  }
  // Input needs a pipe.
  await assertRejects(
    () => Alcove.run(["cat"], { input: "x", stdin: "null" }),
    TypeError,
    'Alcove.run: input needs stdin "pipe", got "null"',
  );
});
