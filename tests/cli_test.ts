/**
 * The command line (cli.ts): each bubblewrap option against the same command line of the real
 * bwrap (same exit status, same output from inside), our own options, bad command lines, the
 * interactive case in a terminal (tmux), and the unprivileged path.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import {
  CONTROL_EXECUTABLE,
  exists,
  IS_ROOT,
  needs,
  output,
  running,
  startGraph,
  withMarker,
} from "./_helpers.ts";
import { parseCommandLine } from "../mod.ts";
import { ABI } from "../ffi/_native.ts";
import { assertParsedAlike } from "./_cli_parse.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const decoder = new TextDecoder();
/** Files of this run: two suites in parallel (other checkouts) must not share them. */
const SCRATCH = `/tmp/alcove-cli-${Deno.pid}-`;

function missing(cmd: string): string | undefined {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin"]) {
    try {
      Deno.statSync(`${dir}/${cmd}`);
      return undefined;
    } catch {
      // next
    }
  }
  return `${cmd} is not installed (scripts/install_deps.sh installs it)`;
}

const NO_BWRAP = missing("bwrap");
const NO_TMUX = missing("tmux");
const NOT_ROOT = IS_ROOT ? undefined : "joining a pid namespace needs root";

interface Result {
  code: number;
  out: string;
  err: string;
}

/** The command line that runs a tool: bwrap, or cli.ts under this Deno. */
function toolArgv(tool: "bwrap" | "alcove"): string[] {
  return tool === "bwrap" ? ["bwrap"] : [Deno.execPath(), "run", "-A", CLI];
}

/** Runs a tool with `args`; `shell` wraps it in sh -c for descriptors (`3<file`). */
async function run(
  tool: "bwrap" | "alcove",
  args: string[],
  redirects = "",
  stdin: "null" | "piped" = "null",
): Promise<Result> {
  const argv = [...toolArgv(tool), ...args];
  // What cli.ts hands to the control process executable's parser, that parser must read as
  // TypeScript does.
  if (tool === "alcove") await assertParsedAlike(args, { cwd: "/tmp" });
  const child = new Deno.Command("sh", {
    args: ["-c", `exec "$@" ${redirects}`, "sh", ...argv],
    stdin,
    stdout: "piped",
    stderr: "piped",
    cwd: "/tmp",
  }).spawn();
  const r = await child.output();
  return { code: r.code, out: decoder.decode(r.stdout), err: decoder.decode(r.stderr) };
}

/** Runs both with the same command line and compares what they print and their status. */
async function same(args: string[], redirects = ""): Promise<Result> {
  const [b, a] = await Promise.all([run("bwrap", args, redirects), run("alcove", args, redirects)]);
  assertEquals(
    { code: a.code, out: a.out, err: a.err.replaceAll("alcove: ", "bwrap: ") },
    { code: b.code, out: b.out, err: b.err },
    `alcove ${args.join(" ")}`,
  );
  return a;
}

const ROOT = ["--ro-bind", "/", "/"];
const SYS = [...ROOT, "--proc", "/proc", "--dev", "/dev"];
/** The status on 3 (bwrap's lines), the information on 4. */
const STATUS_FDS = ["--json-status-fd", "3", "--info-fd", "4"];

Deno.test(needs("cli: the view from inside matches bwrap's", NO_BWRAP), async (t) => {
  // A lock file in the sandbox: the scratch data file, bound on /mnt/lock.
  const LOCKED = [
    ...[...ROOT, "--tmpfs", "/mnt", "--bind", `${SCRATCH}data`, "/mnt/lock"],
    ...["--lock-file", "/mnt/lock"],
  ];
  const cases: [string, string[], string?][] = [
    ["mountinfo", [
      ...SYS,
      "--tmpfs",
      "/tmp",
      "sh",
      "-c",
      // But for /proc/sys, which alcove makes read-only and bwrap 0.8 leaves writable.
      "awk '$5 != \"/proc/sys\" {print $5, $6, $9, $11}' /proc/self/mountinfo",
    ]],
    ["exit status", [...ROOT, "sh", "-c", "exit 3"]],
    ["signal", [...ROOT, "sh", "-c", "kill -9 $$"]],
    ["ids", [...ROOT, "--unshare-user", "--uid", "1000", "--gid", "1000", "id"]],
    ["pid namespace: the command is pid 2", [
      ...SYS,
      "--unshare-pid",
      "sh",
      "-c",
      // The shell's builtins only: a pipeline's processes, forked one after the other, would
      // be counted or not as they happen to start.
      "echo $$; echo /proc/[0-9]*",
    ]],
    ["--as-pid-1", [...SYS, "--unshare-pid", "--as-pid-1", "sh", "-c", "echo $$"]],
    // Without a pid namespace of its own, --proc is the host's proc, bound: also in a user
    // namespace, which may not mount the proc of a pid namespace it does not own.
    ["--proc in a user namespace", [
      ...ROOT,
      "--proc",
      "/proc",
      "--unshare-user",
      "sh",
      "-c",
      "cat /proc/1/comm; awk '$5 ~ /^\\/proc/ && $5 != \"/proc/sys\" {print $5, $6, $9}' /proc/self/mountinfo",
    ]],
    // What the setup makes belongs to the sandbox's ids: a directory made for the command is
    // its to write in.
    ["made for the command's ids", [
      ...["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--dev", "/dev"],
      ...["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"],
      "--unshare-user",
      "--uid",
      "7",
      "--gid",
      "8",
      "--dir",
      "/home/u",
      "--file",
      "5",
      "/f",
      "--symlink",
      "/x",
      "/l",
      "sh",
      "-c",
      "stat -c '%n %u %g' / /home /home/u /f /dev /dev/fd /l; touch /home/u/x && echo wrote",
    ], "5</dev/null"],
    ["hostname", [...ROOT, "--unshare-uts", "--hostname", "box", "hostname"]],
    ["environment", [
      ...ROOT,
      "--setenv",
      "A",
      "1",
      "--unsetenv",
      "HOME",
      "--setenv",
      "B",
      "2",
      "sh",
      "-c",
      "env | grep -E '^(A|B|HOME|PWD)=' | sort",
    ]],
    ["clearenv", [
      ...ROOT,
      "--setenv",
      "A",
      "1",
      "--clearenv",
      "--setenv",
      "B",
      "2",
      "/usr/bin/env",
    ]],
    ["chdir", [...ROOT, "--chdir", "/usr", "sh", "-c", "pwd; echo $PWD"]],
    ["default working directory", [...ROOT, "sh", "-c", "pwd; echo $PWD"]],
    ["working directory missing inside", [
      "--ro-bind",
      "/usr",
      "/usr",
      "--symlink",
      "usr/bin",
      "/bin",
      "--symlink",
      "usr/lib",
      "/lib",
      "--symlink",
      "usr/lib64",
      "/lib64",
      "sh",
      "-c",
      "pwd; echo $PWD",
    ]],
    ["capabilities", [...SYS, "sh", "-c", "grep -E 'Cap(Prm|Eff|Bnd)' /proc/self/status"]],
    ["--cap-drop", [
      ...SYS,
      "--cap-drop",
      "ALL",
      "--cap-add",
      "CAP_CHOWN",
      "sh",
      "-c",
      // The bounding set differs: bwrap keeps it whole, alcove drops what is not kept.
      "grep -E 'Cap(Prm|Eff)' /proc/self/status",
    ]],
    ["no_new_privs", [...SYS, "grep", "NoNewPrivs", "/proc/self/status"]],
    ["tmpfs --size --perms", [
      ...ROOT,
      "--perms",
      "0700",
      "--size",
      "1048576",
      "--tmpfs",
      "/mnt",
      "sh",
      "-c",
      "stat -c %a /mnt; df -k /mnt | tail -1 | awk '{print $2}'",
    ]],
    ["dir, symlink, chmod", [
      ...ROOT,
      "--tmpfs",
      "/mnt",
      "--perms",
      "0750",
      "--dir",
      "/mnt/a/b",
      "--symlink",
      "a/b",
      "/mnt/l",
      "--chmod",
      "0711",
      "/mnt/a",
      "sh",
      "-c",
      "stat -c '%a %F' /mnt/a /mnt/a/b /mnt/l; readlink /mnt/l",
    ]],
    ["remount-ro", [
      ...ROOT,
      "--tmpfs",
      "/mnt",
      "--remount-ro",
      "/mnt",
      "sh",
      "-c",
      "touch /mnt/x 2>/dev/null || echo refused",
    ]],
    ["bind and ro-bind", [
      ...ROOT,
      "--tmpfs",
      "/mnt",
      "--bind",
      "/tmp",
      "/mnt/rw",
      "--ro-bind",
      "/tmp",
      "/mnt/ro",
      "sh",
      "-c",
      "grep ' /mnt/r[ow] ' /proc/self/mountinfo | awk '{print $5, $6}'",
    ]],
    ["-try forms", [
      ...ROOT,
      "--tmpfs",
      "/mnt",
      "--bind-try",
      "/nope",
      "/mnt/x",
      "--ro-bind-try",
      "/nope",
      "/mnt/y",
      "--dev-bind-try",
      "/nope",
      "/mnt/z",
      "ls",
      "/mnt",
    ]],
    ["dev", [...ROOT, "--dev", "/dev", "ls", "-A", "/dev"]],
    ["mqueue", [
      ...ROOT,
      "--unshare-ipc",
      "--tmpfs",
      "/run",
      "--mqueue",
      "/run/mqueue",
      "sh",
      "-c",
      "grep mqueue /proc/self/mountinfo | awk '{print $5, $9}'",
    ]],
    ["network namespace", [...SYS, "--unshare-net", "ls", "/sys/class/net"]],
    ["--unshare-all --share-net", [
      ...SYS,
      "--unshare-all",
      "--share-net",
      "sh",
      "-c",
      "ls /sys/class/net | wc -l",
    ]],
    // bubblewrap's "try" user namespace comes wherever the system makes one, as root too.
    ["--unshare-user-try", [...ROOT, "--unshare-user-try", "cat", "/proc/self/uid_map"]],
    ["--unshare-all: a user namespace", [...SYS, "--unshare-all", "cat", "/proc/self/uid_map"]],
    ["--unshare-all --uid", [...ROOT, "--unshare-all", "--uid", "1234", "id", "-u"]],
    // A relative --chdir is from /; PWD is as given.
    ["--chdir relative", [...ROOT, "--chdir", "tmp", "sh", "-c", "pwd; env | grep ^PWD="]],
    ["--chdir with ..", [...ROOT, "--chdir", "/tmp/../etc", "sh", "-c", "pwd; env | grep ^PWD="]],
    // The ids it runs with need no user namespace.
    ["--uid and --gid of its own", [
      ...ROOT,
      "--uid",
      String(Deno.uid()),
      "--gid",
      String(Deno.gid()),
      "id",
    ]],
    ["--args", [...ROOT, "--args", "3", "sh", "-c", "echo $X"], `3<${SCRATCH}args`],
    // Its words are options: a command there, and what follows it, are dropped.
    [
      "--args: a command in it",
      [...ROOT, "--args", "3", "sh", "-c", "echo $X $Y"],
      `3<${SCRATCH}args-cmd`,
    ],
    [
      "--args: a word in it",
      [...ROOT, "--args", "3", "sh", "-c", "echo $X $Y"],
      `3<${SCRATCH}args-word`,
    ],
    [
      "--args: an option cut short",
      [...ROOT, "--args", "3", "--setenv", "Y", "y", "true"],
      `3<${SCRATCH}args-short`,
    ],
    [
      "--args: --args in it",
      [...ROOT, "--args", "3", "true"],
      `3<${SCRATCH}args-args 4<${SCRATCH}args`,
    ],
    ["--file", [
      ...ROOT,
      "--tmpfs",
      "/mnt",
      "--file",
      "3",
      "/mnt/f",
      "sh",
      "-c",
      "cat /mnt/f; stat -c %a /mnt/f",
    ], `3<${SCRATCH}data`],
    ["--ro-bind-data", [
      ...ROOT,
      "--ro-bind-data",
      "3",
      "/etc/motd",
      "sh",
      "-c",
      "cat /etc/motd; grep ' /etc/motd ' /proc/self/mountinfo | awk '{print $6}'",
    ], `3<${SCRATCH}data`],
    ["--bind-data --perms", [
      ...ROOT,
      "--perms",
      "0640",
      "--bind-data",
      "3",
      "/etc/motd",
      "stat",
      "-c",
      "%a",
      "/etc/motd",
    ], `3<${SCRATCH}data`],
    ["--lock-file", [
      ...LOCKED,
      "sh",
      "-c",
      // Both tools run at once on the same file: each sees a lock, perhaps both.
      'grep -q ":$(stat -c %i /mnt/lock) " /proc/locks && echo locked',
    ]],
    ["--lock-file is held by the init of a pid namespace, not by the command", [
      "--unshare-pid",
      ...LOCKED,
      "sh",
      "-c",
      'echo "lock descriptors: $(ls -l /proc/self/fd | grep -c /mnt/lock)"',
    ]],
  ];
  const words = (...w: string[]) => w.join("\0") + "\0";
  await Deno.writeTextFile(`${SCRATCH}args`, words("--setenv", "X", "from args"));
  await Deno.writeTextFile(`${SCRATCH}args-cmd`, words("--setenv", "X", "x", "--", "echo", "no"));
  await Deno.writeTextFile(
    `${SCRATCH}args-word`,
    words("--setenv", "X", "x", "oops", "--setenv", "Y", "y"),
  );
  await Deno.writeTextFile(`${SCRATCH}args-short`, words("--setenv", "X"));
  await Deno.writeTextFile(`${SCRATCH}args-args`, words("--args", "4"));
  await Deno.writeTextFile(`${SCRATCH}data`, "some data\n");
  try {
    for (const [name, args, redirects] of cases) {
      await t.step(name, async () => {
        await same(args, redirects);
      });
    }
  } finally {
    for (const f of ["args", "args-cmd", "args-word", "args-short", "args-args", "data"]) {
      await Deno.remove(`${SCRATCH}${f}`);
    }
  }
});

Deno.test(
  needs("cli: a --perms or --size left at the end is dropped, as bwrap does", NO_BWRAP),
  async () => {
    for (const last of [["--perms", "0700"], ["--size", "4096"]]) {
      const r = await same([...ROOT, ...last, "--", "sh", "-c", "echo ran"]);
      assertEquals([r.code, r.out], [0, "ran\n"]);
    }
  },
);

Deno.test(
  needs("cli: --cap-add ALL gives what bwrap's gives, in a user namespace too", NO_BWRAP),
  async () => {
    const caps = ["sh", "-c", "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status"];
    for (
      const given of [
        ["--cap-add", "ALL"],
        ["--unshare-user", "--cap-add", "ALL"],
        ["--unshare-user"],
        ["--unshare-user", "--cap-add", "ALL", "--cap-drop", "ALL"],
        ["--unshare-user", "--uid", "5", "--cap-add", "ALL"],
      ]
    ) {
      const r = await same([...given, ...ROOT, ...caps]);
      assertEquals(r.code, 0, r.err);
    }
  },
);

Deno.test(needs("cli: bad command lines give bwrap's message and status", NO_BWRAP), async (t) => {
  const cases: string[][] = [
    ["--foo", "true"],
    ["--bind"],
    ["--bind", "/"],
    ["--setenv", "A"],
    ["--info-fd"],
    ["--uid"],
    ["--tmpfs"],
    ["--chdir"],
    ["--remount-ro"],
    ["--hostname", "x", "true"],
    ["--unshare-user", "--uid", "x", "true"],
    ["--unshare-user", "--uid", "2147483648", "true"],
    ["--unshare-user", "--gid", "4294967294", "true"],
    ["--uid", "5", "--gid", "5", "true"],
    ["--gid", "5", "true"],
    ["--size", "10", "--dir", "/x", "true"],
    ["--perms", "0755", "--proc", "/p", "true"],
    ["--size", "abc", "--tmpfs", "/x", "true"],
    ["--size", "0", "--tmpfs", "/x", "true"],
    ["--perms", "999", "--tmpfs", "/x", "true"],
    ["--as-pid-1", "true"],
    ["--cap-add", "CAP_FOO", "true"],
    ["--exec-label", "x", "true"],
    ["--args", "99", "true"],
    ["--seccomp", "99", "true"],
    [],
  ];
  for (const args of cases) {
    await t.step(args.join(" ") || "(no command)", async () => {
      if (args.length === 0) {
        // The usage goes to stderr: ours lists more options.
        const [b, a] = await Promise.all([run("bwrap", args), run("alcove", args)]);
        assertEquals([a.code, b.code], [1, 1]);
        assertStringIncludes(a.err, "usage: alcove [OPTIONS...] [--] COMMAND [ARGS...]");
        return;
      }
      const r = await same(args);
      assertEquals(r.code, 1);
    });
  }
  await t.step("seccomp data that is not whole instructions", async () => {
    for (const option of ["--seccomp", "--add-seccomp-fd"]) {
      const r = await same([option, "5", ...ROOT, "true"], "5<<EOF\nabc\nEOF");
      assertEquals(r.err, "alcove: Invalid seccomp data, must be multiple of 8\n");
    }
  });
});

Deno.test(
  needs("cli: a program that cannot start: bwrap's message, and what is missing", NO_BWRAP),
  async (t) => {
    // /usr without /lib64: the program is there, its dynamic loader is not.
    const sh = Deno.realPathSync("/bin/sh");
    const name = sh.split("/").pop()!;
    const box = ["--ro-bind", "/usr", "/usr", "--setenv", "PATH", "/usr/bin"];
    // --output-limit (ours): the same through the driver.
    const paths: [string, string[]][] = [["executable", []], ["driver", ["--output-limit", "9"]]];
    for (const [label, more] of paths) {
      await t.step(label, async () => {
        for (const [argv0, found] of [[sh, "it"], [name, sh]]) {
          const [b, a] = await Promise.all([
            run("bwrap", [...box, argv0]),
            run("alcove", [...box, ...more, argv0]),
          ]);
          assertEquals([b.code, a.code], [1, 127], a.err);
          const bwrap = b.err.trimEnd().replace(/^bwrap: /, "alcove: ");
          assertEquals(bwrap, `alcove: execvp ${argv0}: No such file or directory`);
          const hint = a.err.slice(bwrap.length);
          assert(a.err.startsWith(bwrap), a.err);
          const loader = hint.match(/^ \((\S+) is there, its interpreter (\/\S+) is not\)\n$/);
          assert(loader, a.err);
          assertEquals(loader[1], found);
          assert(Deno.statSync(loader[2]).isFile, loader[2]);
        }
        // Not there at all, in a root of the mounts given alone.
        const [b, a] = await Promise.all([
          run("bwrap", ["--tmpfs", "/tmp", "true"]),
          run("alcove", ["--tmpfs", "/tmp", ...more, "true"]),
        ]);
        assertEquals(
          a.err,
          b.err.trimEnd().replace(/^bwrap: /, "alcove: ") +
            " (the new root holds only the mounts given)\n",
        );
      });
    }
  },
);

Deno.test("cli: --dev binds the terminal on /dev/console when stdout is one, as bwrap", async () => {
  const probe = "test -c /dev/console && tty || echo none";
  // On a terminal (script(1) makes one): the command's tty is /dev/console.
  const line = [Deno.execPath(), "run", "-A", CLI, ...ROOT, "--dev", "/dev", "sh", "-c", probe]
    .map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(" ");
  const onTty = await new Deno.Command("script", {
    args: ["-qec", line, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(decoder.decode(onTty.stdout).replaceAll("\r", "").trim(), "/dev/console");
  // Off one: no console.
  const off = await runPath([...ROOT, "--dev", "/dev", "sh", "-c", probe]);
  assertEquals(off.out, "none\n", off.err);
});

Deno.test(
  needs("cli: --perms with --dir sets the mode of a directory it makes alone, as bwrap", NO_BWRAP),
  async () => {
    // One that is there keeps its mode, read-only or not; a new one gets exactly the one given.
    await same([...SYS, "--perms", "0700", "--dir", "/usr", "stat", "-c", "%a", "/usr"]);
    await same([
      ...ROOT,
      "--tmpfs",
      "/tmp",
      "--perms",
      "0700",
      "--dir",
      "/tmp",
      "stat",
      "-c",
      "%a",
      "/tmp",
    ]);
    // Setuid and setgid go, as mkdir(2) drops them (07777 makes 1777).
    for (const mode of ["0700", "0777", "1777", "07777", "02755"]) {
      await same([
        ...ROOT,
        "--tmpfs",
        "/tmp",
        "--perms",
        mode,
        "--dir",
        "/tmp/a/b",
        "stat",
        "-c",
        "%a",
        "/tmp/a",
        "/tmp/a/b",
      ]);
    }
  },
);

Deno.test(
  needs(
    "cli: a descriptor read for its data is used up, as with bwrap: a second use fails",
    NO_BWRAP,
  ),
  async () => {
    const data = `${SCRATCH}once-data`;
    const args = `${SCRATCH}once-args`;
    await Deno.writeTextFile(data, "hello\n");
    await Deno.writeTextFile(args, "--setenv\0X\0x\0");
    try {
      const cases: [string[], string, string][] = [
        [["--tmpfs", "/tmp", "--file", "3", "/tmp/f", "--file", "3", "/tmp/g"], data, "--file"],
        [
          ["--tmpfs", "/tmp", "--bind-data", "3", "/tmp/f", "--file", "3", "/tmp/g"],
          data,
          "--file",
        ],
        [["--args", "3", "--args", "3"], args, "--args"],
      ];
      for (const [opts, file, what] of cases) {
        const all = [...ROOT, ...opts, "sh", "-c", "echo ran"];
        const [b, a] = await Promise.all([
          run("bwrap", all, `3<${file}`),
          run("alcove", all, `3<${file}`),
        ]);
        assertEquals([b.code, b.out], [1, ""], b.err);
        assertEquals(a, {
          code: 1,
          out: "",
          err: `alcove: Can't read ${what} data: Bad file descriptor\n`,
        });
      }
    } finally {
      await Deno.remove(data);
      await Deno.remove(args);
    }
  },
);

Deno.test(
  needs("cli: bytes that are not UTF-8 go as given, or the command line is refused", NO_BWRAP),
  async (t) => {
    // The shell makes the bytes: a runtime passes only strings on.
    const script = [
      'X="$(printf "a\\377b")"; V="$(printf "\\376")"; export V',
      '"$@" --ro-bind / / --setenv S "$X" sh -c \'printf "%s|%s|%s" "$1" "$S" "$V"\' sh "$X"',
    ].join("; ");
    const bytes = async (tool: string[], env: Record<string, string> = {}) => {
      const r = await new Deno.Command("sh", {
        args: ["-c", script, "sh", ...tool],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: r.code, out: [...r.stdout], err: decoder.decode(r.stderr) };
    };
    const expected = [0x61, 0xff, 0x62, 0x7c, 0x61, 0xff, 0x62, 0x7c, 0xfe];
    await t.step("bwrap", async () => {
      assertEquals(await bytes(["bwrap"]), { code: 0, out: expected, err: "" });
    });
    await t.step("parsed by the control process executable: as given", async () => {
      assertEquals(await bytes(toolArgv("alcove")), { code: 0, out: expected, err: "" });
    });
    await t.step("parsed by TypeScript: refused, not changed", async () => {
      for (
        const [extra, env] of [[["--seccomp-profile", "none"], {}], [[], {
          ALCOVE_CLI_DRIVER: "1",
        }]] as const
      ) {
        const r = await bytes([...toolArgv("alcove"), ...extra], env);
        assertEquals(r.code, 1, r.err);
        assertEquals(r.out, []);
        assertMatch(r.err, /^alcove: argument \d+ \("a\uFFFDb"\) is not UTF-8/);
      }
    });
  },
);

Deno.test(
  needs("cli: --size in bwrap's hexadecimal and octal, and in bytes", NO_BWRAP),
  async () => {
    for (const size of ["010000", "0x100000", "0X2000", "1048576"]) {
      await same([...ROOT, "--size", size, "--tmpfs", "/tmp", "stat", "-f", "-c", "%b %S", "/tmp"]);
    }
    // Not octal: refused by both.
    for (const size of ["08", "09"]) {
      const [b, a] = await Promise.all([
        run("bwrap", [...ROOT, "--size", size, "--tmpfs", "/tmp", "true"]),
        run("alcove", [...ROOT, "--size", size, "--tmpfs", "/tmp", "true"]),
      ]);
      assertEquals([a.code, b.code], [1, 1], `${size}: ${a.err}`);
    }
  },
);

Deno.test("cli: killed with SIGKILL, alcove takes the sandbox with it, run as another uid too", async (t) => {
  // A change of uid clears the parent-death signal: the sandbox outlived alcove, and its
  // time limit with it.
  const ways: [string, string[], boolean][] = [
    [
      "parsed by the control process executable",
      ["--unshare-user", "--uid", "65534", ...ROOT],
      false,
    ],
    ["with a pid namespace and a shell", [
      "--unshare-user",
      "--uid",
      "65534",
      "--unshare-pid",
      ...ROOT,
    ], true],
    ["the untrusted preset", ["--preset", "untrusted", "--time", "60s"], true],
  ];
  // The sleep itself (alcove's own command line holds its words too).
  const sleeping = (seconds: string) =>
    withMarker(seconds).filter((pid) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/cmdline`) === `sleep\0${seconds}\0`;
      } catch {
        return false;
      }
    });
  for (const [name, options, shell] of ways) {
    await t.step(name, async () => {
      const seconds = `${600 + Math.floor(Math.random() * 1000)}.${Deno.pid}`;
      const command = shell ? ["sh", "-c", `sleep ${seconds}; true`] : ["sleep", seconds];
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, ...options, "--", ...command],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        for (let i = 0; i < 200 && sleeping(seconds).length === 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert(sleeping(seconds).length > 0, "the command did not start");
        child.kill("SIGKILL");
        await child.status;
        let left = sleeping(seconds);
        for (let i = 0; i < 40 && left.length > 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          left = sleeping(seconds);
        }
        assertEquals(left, [], "left running");
      } finally {
        for (const pid of withMarker(seconds)) Deno.kill(pid, "SIGKILL");
        await child.status.catch(() => {});
      }
    });
  }
});

Deno.test(
  needs(
    "cli: relative paths as bwrap has them: a source from here, a destination from /",
    NO_BWRAP,
  ),
  async (t) => {
    // run() starts both in /tmp.
    const dir = `${SCRATCH}relative`;
    const name = dir.slice("/tmp/".length);
    await Deno.mkdir(`${dir}/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/sub/f`, "data\n");
    try {
      const cases: [string, string[]][] = [
        ["a source", ["--bind", `${name}/sub`, "/mnt", "cat", "/mnt/f"]],
        ["a source with ..", ["--ro-bind", `${name}/sub/../sub`, "/mnt", "cat", "/mnt/f"]],
        ["an absolute source with ..", [
          "--ro-bind",
          `${dir}/../${name}/sub`,
          "/mnt",
          "ls",
          "/mnt",
        ]],
        ["a -try source", ["--ro-bind-try", `${name}/nope`, "/mnt", "ls", "/mnt"]],
        ["destinations", [
          "--tmpfs",
          "tmp",
          "--dir",
          "tmp/d",
          "--symlink",
          "d",
          "tmp/l",
          "--chmod",
          "0700",
          "tmp/d",
          "--ro-bind",
          `${name}/sub`,
          "tmp/d",
          "--remount-ro",
          "tmp",
          "sh",
          "-c",
          "stat -c '%a %F %N' /tmp /tmp/d /tmp/l; cat /tmp/l/f",
        ]],
        ["proc and dev", ["--proc", "proc", "--dev", "dev", "sh", "-c", "ls -d /proc/1 /dev/null"]],
      ];
      for (const [what, args] of cases) {
        await t.step(what, async () => {
          await same([...ROOT, ...args]);
        });
      }
      await t.step("an empty source is none, not the current directory", async () => {
        const args = [...ROOT, "--bind", "", "/mnt", "ls", "/mnt"];
        const [b, a] = await Promise.all([run("bwrap", args), run("alcove", args)]);
        assertEquals([b.code, b.out, a.code, a.out], [1, "", 1, ""], a.err);
      });
      await t.step("parsed by TypeScript, and through a driver", async () => {
        const args = [...ROOT, "--bind", `${name}/sub`, "tmp", "cat", "/tmp/f"];
        const ts = await run("alcove", ["--seccomp-profile", "none", ...args]);
        assertEquals([ts.code, ts.out], [0, "data\n"], ts.err);
        const d = await runPath(args, { driver: true, env: { PWD: "/tmp" } });
        assertEquals([d.code, d.out], [0, "data\n"], d.err);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  needs("cli: --setenv and --unsetenv refuse the names setenv(3) refuses, as bwrap does", NO_BWRAP),
  async (t) => {
    const cases: [string, string[]][] = [
      ["--setenv", ["A=B", "x"]],
      ["--setenv", ["", "x"]],
      ["--unsetenv", ["A=B"]],
      ["--unsetenv", [""]],
    ];
    for (const [option, words] of cases) {
      const args = [...ROOT, option, ...words, "sh", "-c", "echo ran"];
      await t.step(`${option} ${JSON.stringify(words[0])}`, async () => {
        const b = await run("bwrap", args);
        assertEquals({ code: b.code, out: b.out }, { code: 1, out: "" }, b.err);
        const err = `alcove: ${option}: "${
          words[0]
        }" is not a variable name: it must be non-empty, without '='\n`;
        // Parsed by the control process executable, by TypeScript, and through a driver.
        assertEquals(await run("alcove", args), { code: 1, out: "", err });
        assertEquals(await run("alcove", ["--seccomp-profile", "none", ...args]), {
          code: 1,
          out: "",
          err,
        });
        const d = await runPath(args, { driver: true });
        assertEquals({ code: d.code, out: d.out, err: d.err }, { code: 1, out: "", err });
      });
    }
  },
);

Deno.test(
  needs('cli: --chdir "" fails, as with bwrap, instead of running the command in /', NO_BWRAP),
  async (t) => {
    const args = [...ROOT, "--chdir", "", "sh", "-c", "echo ran in $(pwd)"];
    const b = await run("bwrap", args);
    assertEquals({ code: b.code, out: b.out }, { code: 1, out: "" }, b.err);
    const expected = {
      code: 1,
      out: "",
      err: `alcove: Can't chdir to an empty path (--chdir "")\n`,
    };
    await t.step("parsed by the control process executable", async () => {
      const a = await run("alcove", args);
      assertEquals(a, expected);
    });
    await t.step("parsed by TypeScript", async () => {
      const a = await run("alcove", ["--seccomp-profile", "none", ...args]);
      assertEquals(a, expected);
    });
    await t.step("through a driver", async () => {
      const { code, out, err } = await runPath(args, { driver: true });
      assertEquals({ code, out, err }, expected);
    });
    await t.step("the last --chdir counts", async () => {
      assertEquals(await run("alcove", [...ROOT, "--chdir", "", "--chdir", "/tmp", "pwd"]), {
        code: 0,
        out: "/tmp\n",
        err: "alcove: Only the last --chdir option will take effect\n",
      });
    });
  },
);

Deno.test(needs("cli: --file, --bind-data and --args as bwrap has them", NO_BWRAP), async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "alcove-cli-file-" });
  const stat = (path: string) =>
    run("alcove", [...ROOT, "stat", "-c", "%a %u %g %s", path]).then((r) => r.out);
  try {
    await t.step(
      "--file over a file that is there gives it contents, not a mode or owner",
      async () => {
        await Deno.writeTextFile(`${dir}/data`, "new\n");
        for (const tool of ["bwrap", "alcove"] as const) {
          await Deno.writeTextFile(`${dir}/secret`, "old contents\n", { mode: 0o600 });
          await Deno.chmod(`${dir}/secret`, 0o600);
          await Deno.chown(`${dir}/secret`, 0, 0);
          const args = [...ROOT, "--unshare-user", "--uid", "0", "--bind", dir, "/mnt"];
          const r = await run(
            tool,
            [...args, "--file", "3", "/mnt/secret", "true"],
            `3<${dir}/data`,
          );
          assertEquals(r.code, 0, `${tool}: ${r.err}`);
          assertEquals(await stat(`${dir}/secret`), "600 0 0 4\n", tool);
        }
      },
    );
    await t.step(
      "a bind's source through an absolute symbolic link is the host's file",
      async () => {
        // /etc/resolv.conf -> /run/...: from the sandbox's scratch root, the link's target was
        // looked up there, and the bind failed (or a -try one was skipped).
        await Deno.symlink(`${dir}/data`, `${dir}/link`);
        for (const op of ["--ro-bind", "--bind-try"]) {
          await same([...ROOT, "--tmpfs", "/mnt", op, `${dir}/link`, "/mnt/x", "cat", "/mnt/x"]);
        }
        // A magic link: the caller's working directory, not the setup's.
        const cwd = [...ROOT, "--tmpfs", "/mnt", "--ro-bind", "/proc/self/cwd", "/mnt/x"];
        await same([...cwd, "stat", "-c", "%i", "/mnt/x"]);
        // One to a file opened before the sandbox's namespace was made, or to a pipe (no
        // path: no source, which a -try form skips).
        for (const op of ["--ro-bind", "--ro-bind-try"]) {
          const stdin = [...ROOT, "--tmpfs", "/mnt", op, "/dev/stdin", "/mnt/i", "sh", "-c"];
          await same([...stdin, "cat /mnt/i 2>/dev/null; echo ran"], `<${dir}/data`);
          const [b, a] = await Promise.all(
            (["bwrap", "alcove"] as const).map((tool) =>
              run(tool, [...stdin, "echo ran"], "", "piped")
            ),
          );
          assertEquals([a.code === 0, a.out], [b.code === 0, b.out], a.err);
        }
      },
    );
    await t.step("--bind-data's parents are 0700, as its own 0600 asks", async () => {
      const args = [...ROOT, "--tmpfs", "/tmp", "--ro-bind-data", "3", "/tmp/d/e/f", "stat"];
      await same([...args, "-c", "%a", "/tmp/d", "/tmp/d/e", "/tmp/d/e/f"], `3<${dir}/data`);
    });
    await t.step("--args data that is not UTF-8 is refused, not passed on changed", async () => {
      await Deno.writeFile(
        `${dir}/args`,
        new Uint8Array([...new TextEncoder().encode("--setenv\0X\0"), 0xff, 0xfe, 0]),
      );
      const r = await run("alcove", [...ROOT, "--args", "3", "true"], `3<${dir}/args`);
      assertEquals(r, {
        code: 1,
        out: "",
        err:
          "alcove: --args 3: the data is not UTF-8: this command line cannot pass it on as given\n",
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  needs("cli: setup failures name the path, with our reserved status", NO_BWRAP),
  async (t) => {
    const cases: [string[], number][] = [
      [["--bind", "/nope", "/x", "true"], 125],
      [[...ROOT, "--chdir", "/nope", "true"], 125],
      [[...ROOT, "--tmpfs", "/nonexist/x", "true"], 125],
      // A file where a directory is asked for.
      [[...ROOT, "--dir", "/etc/hostname", "true"], 125],
      [[...ROOT, "--tmpfs", "/etc/hostname", "true"], 125],
      [[
        ...ROOT,
        "--tmpfs",
        "/tmp",
        "--symlink",
        "../etc/hostname",
        "/tmp/l",
        "--dir",
        "/tmp/l",
        "true",
      ], 125],
      [[...ROOT, "nope"], 127],
      [[...ROOT, "/etc/passwd"], 126],
      // The -try forms skip a missing source only.
      [[...ROOT, "--ro-bind-try", "/etc/hostname/x", "/mnt", "true"], 125],
      [[...ROOT, "--bind-try", `${SCRATCH}loop`, "/mnt", "true"], 125],
    ];
    await Deno.symlink(`${SCRATCH}loop`, `${SCRATCH}loop`).catch(() => {});
    for (const [args, code] of cases) {
      await t.step(args.join(" "), async () => {
        const [b, a] = await Promise.all([run("bwrap", args), run("alcove", args)]);
        assertEquals(b.code, 1);
        assertEquals(a.code, code, a.err);
        // The same facts: the path and the system's reason.
        const reason = b.err.split(": ").at(-1)!;
        assertStringIncludes(a.err, reason.trim());
        assertMatch(a.err, /^alcove: /);
      });
    }
    await t.step("a symbolic link that leads nowhere from there will do for --dir", async () => {
      for (const to of ["/nonexist", "/usr", "../etc"]) {
        await same([
          ...ROOT,
          "--tmpfs",
          "/tmp",
          "--symlink",
          to,
          "/tmp/l",
          "--dir",
          "/tmp/l",
          "true",
        ]);
      }
    });
    await Deno.remove(`${SCRATCH}loop`);
    // Nothing is left behind: no process of ours survives a failed setup.
    const ps = decoder.decode(
      (await new Deno.Command("ps", { args: ["-eo", "args"] }).output()).stdout,
    );
    assert(!ps.includes(`${CLI} --bind /nope`), ps);
  },
);

Deno.test(
  "cli: a descriptor it was not given is closed, also one the runtime opened",
  async (t) => {
    // Only stdio is given here: the runtime the command line runs in has its own descriptors
    // at those numbers (its event loop's, its caches', a wake-up pipe), which bubblewrap, a
    // process of its own, does not. Named by an option, they are closed, as bwrap finds them
    // (with its messages; bwrap itself then leaves its child blocked, so it is not run here):
    // nothing is read from them, written to them or closed.
    const box = ["--ro-bind", "/", "/", "--tmpfs", "/tmp"];
    // (sh takes descriptors up to 9 in a redirection.)
    const closed = Array.from({ length: 7 }, (_, i) => `${i + 3}>&-`).join(" ");
    for (const more of [[], ["--output-limit", "9"]]) {
      await t.step(more.length === 0 ? "executable" : "driver", async () => {
        for (let fd = 3; fd < 10; fd++) {
          const data = await run("alcove", [
            ...box,
            ...more,
            "--file",
            String(fd),
            "/tmp/f",
            "true",
          ]);
          assertEquals(
            [data.code, data.err],
            [1, "alcove: Can't read --file data: Bad file descriptor\n"],
          );
          const info = await run(
            "alcove",
            [...box, ...more, "--info-fd", String(fd), "true"],
            closed,
          );
          assertEquals([info.code, info.err], [
            1,
            "alcove: Write to info_fd: Bad file descriptor\n",
          ]);
          // bubblewrap goes on when a --block-fd cannot be read.
          const block = await run(
            "alcove",
            [...box, ...more, "--block-fd", String(fd), "true"],
            closed,
          );
          assertEquals([block.code, block.err], [0, ""]);
        }
      });
    }
  },
);

Deno.test(needs("cli: descriptors reach the command as bwrap passes them", NO_BWRAP), async () => {
  await Deno.writeTextFile(`${SCRATCH}args`, "--setenv\0FROM_ARGS\0yes\0");
  try {
    const fds = "ls /proc/self/fd | sort -n | tr '\\n' ' '";
    // 3 is passed on; those the command line reads or writes are not (sh takes one digit).
    const r = await same(
      [
        ...ROOT,
        "--proc",
        "/proc",
        "--tmpfs",
        "/mnt",
        "--args",
        "4",
        "--file",
        "5",
        "/mnt/copy",
        "--info-fd",
        "6",
        "--json-status-fd",
        "7",
        "--block-fd",
        "8",
        "--bind-fd",
        "9",
        "/srv",
        "sh",
        "-c",
        `cat <&3; echo $FROM_ARGS; cat /mnt/copy; ls /srv | grep -c bin; ${fds}`,
      ],
      `3</etc/hostname 4<${SCRATCH}args 5</etc/hostname 6>/dev/null 7>/dev/null ` +
        `8</etc/hostname 9</usr`,
    );
    assertStringIncludes(r.out, "yes\n");
    const open = r.out.trim().split("\n").at(-1)!.split(" ");
    assert(open.includes("3") && !["5", "6", "7", "8", "9"].some((fd) => open.includes(fd)), r.out);
    // --sync-fd is the command line's, but with --as-pid-1 bwrap leaves it to the command.
    for (const extra of [[], ["--unshare-pid", "--as-pid-1"]]) {
      await same([...ROOT, ...extra, "--sync-fd", "4", "sh", "-c", fds], "4</dev/null");
    }
  } finally {
    await Deno.remove(`${SCRATCH}args`);
  }
});

/** Processes holding namespaces: `outer` in a user and pid namespace of its own (pid 1 there),
 * `inner` in a user namespace nested in outer's. */
async function namespaceHolders(): Promise<
  { outer: number; inner: number; [Symbol.asyncDispose](): Promise<void> }
> {
  const child = new Deno.Command("unshare", {
    args: [
      "-U",
      "--map-root-user",
      "--pid",
      "--fork",
      "sh",
      "-c",
      "unshare -U sleep 1000 & exec sleep 1000",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const kids = (pid: number) =>
    Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean)
      .map(Number);
  const deadline = Date.now() + 5000;
  let outer = 0, inner = 0;
  while ((outer === 0 || inner === 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    outer = kids(child.pid)[0] ?? 0;
    inner = outer ? kids(outer)[0] ?? 0 : 0;
    if (inner && !Deno.readLinkSync(`/proc/${inner}/exe`).endsWith("sleep")) inner = 0;
  }
  assert(inner !== 0, "the namespace holders did not start");
  return {
    outer,
    inner,
    async [Symbol.asyncDispose]() {
      // Outer is the init of the pid namespace: its end ends everything in there (inner, and
      // what a test ran in it). Killing unshare alone left it (and bwrap's zombies, whose
      // parent it became) for the whole sleep.
      Deno.kill(outer, "SIGKILL");
      child.kill("SIGKILL");
      await child.status;
      const alive = () => [outer, inner].filter((p) => exists(`/proc/${p}`));
      for (let i = 0; i < 250 && alive().length > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assertEquals(alive(), [], "the namespace holders outlived their test");
    },
  };
}

Deno.test(
  needs(
    "cli: --userns, --userns2, --pidns, --disable-userns, --assert-userns-disabled as bwrap's",
    NO_BWRAP ?? missing("unshare") ?? (IS_ROOT ? undefined : "needs root to join namespaces"),
  ),
  async (t) => {
    await using h = await namespaceHolders();
    const fds = `5</proc/${h.outer}/ns/user 6</proc/${h.outer}/ns/pid 7</proc/${h.inner}/ns/user`;
    const levels = "awk '/^NSpid/ {print NF - 1}' /proc/self/status";
    const cases: [string, string[]][] = [
      ["--userns", [
        "--userns",
        "5",
        ...ROOT,
        "--unshare-net",
        "sh",
        "-c",
        "readlink /proc/self/ns/user; id -u; cat /proc/self/uid_map; ls /proc/self/fd | sort -n",
      ]],
      ["--userns --pidns", [
        "--userns",
        "5",
        "--pidns",
        "6",
        ...SYS,
        "sh",
        "-c",
        `readlink /proc/self/ns/pid; ${levels}; ps -o comm= -p 1`,
      ]],
      ["--pidns with --unshare-pid: a new one below", [
        "--userns",
        "5",
        "--pidns",
        "6",
        "--unshare-pid",
        ...SYS,
        "sh",
        "-c",
        `echo $$; ${levels}; kill -TERM $$`,
      ]],
      ["--userns2", ["--userns", "5", "--userns2", "7", ...ROOT, "readlink", "/proc/self/ns/user"]],
      ["--disable-userns", [
        "--unshare-user",
        "--disable-userns",
        ...ROOT,
        "sh",
        "-c",
        "id; cat /proc/self/uid_map /proc/sys/user/max_user_namespaces; unshare -U true; echo $?",
      ]],
      ["--disable-userns --uid", [
        "--unshare-user",
        "--uid",
        "1000",
        "--gid",
        "1000",
        "--disable-userns",
        "--assert-userns-disabled",
        ...ROOT,
        "sh",
        "-c",
        "id; cat /proc/self/uid_map /proc/self/gid_map; unshare -U true; echo $?",
      ]],
      ["bad: --userns with --unshare-user", ["--userns", "5", "--unshare-user", "true"]],
      ["bad: --disable-userns alone", ["--disable-userns", ...ROOT, "true"]],
    ];
    for (const [name, args] of cases) {
      await t.step(name, async () => {
        await same(args, fds);
      });
    }
    await t.step("the pid namespace made is below the one given", async () => {
      const r = await run(
        "alcove",
        // The host's /proc: its NSpid line has every level.
        ["--userns", "5", "--pidns", "6", "--unshare-pid", ...ROOT, "sh", "-c", levels],
        fds,
      );
      assertEquals(r.out, "3\n", r.err);
    });
    await t.step("failures: bwrap's message, our reserved status", async () => {
      for (
        const args of [
          ["--unshare-user", "--assert-userns-disabled", ...ROOT, "true"],
          ["--userns", "5", ...ROOT, "true"],
        ]
      ) {
        const redirect = args[0] === "--userns" ? "5</proc/self/ns/user" : "";
        const [b, a] = await Promise.all([
          run("bwrap", args, redirect),
          run("alcove", args, redirect),
        ]);
        assertEquals([b.code, a.code], [1, 125]);
        assertEquals(a.err.replace("alcove: ", "bwrap: "), b.err);
      }
    });
  },
);

Deno.test(
  needs("cli: --seccomp and --add-seccomp-fd read BPF as bwrap does", NO_BWRAP),
  async () => {
    const { assemble, compilePolicy, seccompArchLocal, Alcove } = await import("../mod.ts");
    const drv = await Alcove.start();
    const arch = seccompArchLocal({ constants: drv.constants });
    await drv.stop();
    const deny = assemble(compilePolicy({
      defaultAction: "allow",
      rules: [{ names: ["mkdir", "mkdirat"], action: { errno: 1 } }],
    }, { arches: [arch] }));
    await Deno.writeFile(`${SCRATCH}bpf`, deny);
    try {
      const script = "mkdir /tmp/x && echo made || echo refused";
      const r = await same(
        [...ROOT, "--tmpfs", "/tmp", "--seccomp", "3", "sh", "-c", script],
        `3<${SCRATCH}bpf`,
      );
      assertEquals(r.out, "refused\n");
      await same([
        ...ROOT,
        "--tmpfs",
        "/tmp",
        "--add-seccomp-fd",
        "3",
        "--add-seccomp-fd",
        "4",
        "sh",
        "-c",
        script,
      ], `3<${SCRATCH}bpf 4<${SCRATCH}bpf`);
      await Deno.writeFile(`${SCRATCH}bpf`, new Uint8Array([1, 2, 3]));
      const bad = await run("alcove", [...ROOT, "--seccomp", "3", "true"], `3<${SCRATCH}bpf`);
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.err, "alcove: ");
    } finally {
      await Deno.remove(`${SCRATCH}bpf`);
    }
  },
);

Deno.test(
  needs("cli: --json-status-fd and --info-fd say what bwrap says, and more", NO_BWRAP),
  async () => {
    const args = [
      ...SYS,
      "--unshare-all",
      ...STATUS_FDS,
      "sh",
      "-c",
      "sleep 0.3; exit 7",
    ];
    const out: Record<string, { json: string[]; info: string }> = {};
    for (const tool of ["bwrap", "alcove"] as const) {
      const r = await run(tool, args, `3>${SCRATCH}json 4>${SCRATCH}info`);
      assertEquals(r.code, 7, r.err);
      out[tool] = {
        json: (await Deno.readTextFile(`${SCRATCH}json`)).trim().split("\n"),
        info: await Deno.readTextFile(`${SCRATCH}info`),
      };
    }
    await Deno.remove(`${SCRATCH}json`);
    await Deno.remove(`${SCRATCH}info`);
    // bwrap's keys, and the user namespace --unshare-all makes, which bwrap leaves out (it
    // reads the namespaces before it has made that one).
    const keys = (line: string) => Object.keys(JSON.parse(line)).sort();
    const userns = Deno.readLinkSync("/proc/self/ns/user");
    const inside =
      (await run("alcove", [...ROOT, "--unshare-all", "readlink", "/proc/self/ns/user"]))
        .out.trim();
    const more = inside !== userns ? ["user-namespace"] : [];
    assertEquals(keys(out.alcove.json[0]), [...keys(out.bwrap.json[0]), ...more].sort());
    assertEquals(keys(out.alcove.info), [...keys(out.bwrap.info), ...more].sort());
    const first = JSON.parse(out.alcove.json[0]);
    assertEquals(JSON.parse(out.alcove.info), first);
    assertEquals(JSON.parse(out.bwrap.json[1]), { "exit-code": 7 });
    const last = JSON.parse(out.alcove.json[1]);
    assertEquals(last["exit-code"], 7);
    assertEquals(last.reason, "exit");
    assert(last.usage.wallMs > 0);
    // The same layout as bwrap's lines.
    assertMatch(out.alcove.json[0], /^\{ "child-pid": \d+, "cgroup-namespace": \d+/);
  },
);

Deno.test("cli: our limits and options", async (t) => {
  await t.step("--time kills at the limit: 124", async () => {
    const r = await run("alcove", ["--time", "300ms", ...ROOT, "sleep", "5"]);
    assertEquals(r.code, 124, r.err);
    assertStringIncludes(r.err, "wall-clock limit");
  });
  await t.step("--output-limit: 123, and exactly that much passes", async () => {
    const r = await run("alcove", ["--output-limit", "1K", ...ROOT, "yes"]);
    assertEquals(r.code, 123, r.err);
    assertEquals(r.out.length, 1024);
    // The limit itself is within it; a byte more is not, even from a command that ends first.
    for (const [bytes, code] of [[1024, 0], [1025, 123]]) {
      const e = await run("alcove", [
        "--output-limit",
        "1K",
        ...ROOT,
        "sh",
        "-c",
        `yes | head -c ${bytes}`,
      ]);
      assertEquals([e.code, e.out.length], [code, 1024], e.err);
    }
  });
  await t.step("--rlimit", async () => {
    const r = await run("alcove", [
      "--rlimit",
      "NOFILE=10:20",
      "--rlimit",
      "fsize=1M",
      ...ROOT,
      "sh",
      "-c",
      "ulimit -Sn; ulimit -Hn; ulimit -f",
    ]);
    assertEquals(r.out, "10\n20\n2048\n", r.err);
  });
  await t.step("--seccomp-profile default refuses what the default profile refuses", async () => {
    const r = await run("alcove", [
      "--seccomp-profile",
      "default",
      ...SYS,
      "--unshare-user",
      "--unshare-pid",
      "sh",
      "-c",
      "unshare -U true 2>/dev/null && echo made || echo refused",
    ]);
    assertEquals(r.out, "refused\n", r.err);
  });
  await t.step("--landlock-ro and --landlock-rw", async () => {
    const r = await run("alcove", [
      "--landlock-ro",
      "/",
      "--landlock-rw",
      "/tmp",
      ...ROOT,
      "--tmpfs",
      "/tmp",
      "sh",
      "-c",
      "touch /tmp/ok && echo tmp-ok; touch /etc/x 2>/dev/null || echo etc-refused",
    ]);
    assertEquals(r.out, "tmp-ok\netc-refused\n", r.err);
  });
  await t.step("--profile with command-line options on top", async () => {
    const profile = {
      namespaces: ["uts"],
      hostname: "profiled",
      mounts: [{ type: "ro-bind", source: "/", target: "/" }],
      env: { PATH: "/usr/bin:/bin", FROM: "profile" },
      rlimits: { nofile: 100, RLIMIT_CORE: 0 },
    };
    await Deno.writeTextFile(`${SCRATCH}profile.json`, JSON.stringify(profile));
    try {
      const r = await run("alcove", [
        "--profile",
        `${SCRATCH}profile.json`,
        "--setenv",
        "MORE",
        "x",
        "--tmpfs",
        "/mnt",
        // The profile's, named otherwise: the command line's applies on top.
        "--rlimit",
        "NOFILE=50",
        "sh",
        "-c",
        "hostname; echo $FROM $MORE; grep -c ' /mnt ' /proc/self/mountinfo; ulimit -n; ulimit -c",
      ]);
      assertEquals(r.out, "profiled\nprofile x\n1\n50\n0\n", r.err);
      const bad = await run("alcove", ["--profile", `${SCRATCH}nope.json`, "true"]);
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.err, `alcove: --profile: Can't read ${SCRATCH}nope.json`);
    } finally {
      await Deno.remove(`${SCRATCH}profile.json`);
    }
  });
  await t.step("--preset untrusted", async () => {
    const r = await run("alcove", [
      "--preset",
      "untrusted",
      "--",
      "sh",
      "-c",
      "id -u; id -g; ls /sys/class/net 2>&1 | head -1; grep CapEff /proc/self/status; touch /usr/x 2>/dev/null || echo ro; ps -o sid= -p $$ | tr -d ' '; echo $$",
    ]);
    const lines = r.out.trim().split("\n");
    assertEquals(
      lines.slice(0, 5),
      ["65534", "65534", lines[2], "CapEff:\t0000000000000000", "ro"],
      r.err,
    );
    assert(!lines[2].includes("eth"), "no host network");
    // A session of its own, led by the pid namespace's init; the command is pid 2.
    assertEquals(lines.slice(5), ["1", "2"]);
    // An environment of its own: no secret of the caller's reaches it; --setenv still does.
    const env = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "--preset", "untrusted", "--setenv", "A", "b", "--", "env"],
      env: { SECRET_TOKEN: "x", TERM: "xterm", LC_ALL: "C" },
      stdout: "piped",
    }).output();
    const vars = decoder.decode(env.stdout).trim().split("\n").sort();
    // The command line's edits apply to the preset's environment, in their order.
    const edited = async (...options: string[]) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, ...options, "--", "env"],
        env: { TERM: "xterm", PATH: "/opt/x:/usr/bin" },
        stdout: "piped",
      }).output();
      return decoder.decode(r.stdout).trim().split("\n").filter((v) => !v.startsWith("PWD="))
        .sort();
    };
    assertEquals(
      (await edited("--preset", "untrusted", "--unsetenv", "TERM")).filter((v) =>
        v.startsWith("TERM=")
      ),
      [],
    );
    assertEquals(await edited("--preset", "untrusted", "--clearenv", "--setenv", "A", "1"), [
      "A=1",
    ]);
    assertEquals(
      (await edited("--preset", "untrusted", "--setenv", "PATH", "/opt/x:/usr/bin")).filter((v) =>
        v.startsWith("PATH=")
      ),
      ["PATH=/opt/x:/usr/bin"],
    );
    assertEquals(vars.filter((v) => !v.startsWith("LANG=") && !v.startsWith("PWD=")), [
      "A=b",
      "HOME=/tmp",
      "LC_ALL=C",
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "TERM=xterm",
    ]);
  });
  await t.step("--memory and --pids: a cgroup of its own; OOM is 122", async () => {
    const bad = await run("alcove", ["--memory", "lots", "true"]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.err, "alcove: --memory takes a non-zero size");
    const r = await run(
      "alcove",
      ["--memory", "32M", "--pids", "16", "--json-status-fd", "3", ...ROOT, "--tmpfs", "/tmp"]
        .concat(["/usr/bin/python3", "-c", "x = bytearray(200 << 20)"]),
      `3>${SCRATCH}oom`,
    );
    const last = JSON.parse((await Deno.readTextFile(`${SCRATCH}oom`)).trim().split("\n")[1]);
    await Deno.remove(`${SCRATCH}oom`);
    assertEquals(r.code, 122, r.err);
    assertStringIncludes(r.err, "alcove: out of memory");
    assertEquals(last.reason, "oom");
    assert(last.usage.cgroup.oomKills >= 1);
    // A shell whose command the OOM killer ended: the shell fails, and so did the run.
    const shell = await run("alcove", [
      "--memory",
      "32M",
      ...ROOT,
      "--tmpfs",
      "/tmp",
      "/bin/sh",
      "-c",
      "/usr/bin/python3 -c 'x = bytearray(200 << 20)'; exit $?",
    ]);
    assertEquals(shell.code, 122, shell.err);
    assertStringIncludes(shell.err, "alcove: out of memory: a process of the command was killed");
    // The same through the driver (--output-limit takes that way).
    const driven = await run("alcove", [
      "--output-limit",
      "1M",
      "--memory",
      "32M",
      ...ROOT,
      "--tmpfs",
      "/tmp",
      "/bin/sh",
      "-c",
      "/usr/bin/python3 -c 'x = bytearray(200 << 20)'; exit $?",
    ]);
    assertEquals(driven.code, 122, driven.err);
    assertStringIncludes(driven.err, "alcove: out of memory: a process of the command was killed");
    const pids = await run("alcove", [
      "--pids",
      "3",
      ...ROOT,
      "sh",
      "-c",
      "sleep 1 & sleep 1 & sleep 1 & wait",
    ]);
    assertStringIncludes(pids.err, "fork");
  });
  await t.step("--cap-add for another uid keeps what was added, not every capability", async () => {
    // bwrap 0.8, as root, starts from every capability once --cap-add is given.
    const r = await run("alcove", [
      "--unshare-user",
      "--uid",
      "1000",
      "--cap-add",
      "CAP_NET_RAW",
      ...ROOT,
      "grep",
      "CapEff",
      "/proc/self/status",
    ]);
    assertEquals(r.out, "CapEff:\t0000000000002000\n", r.err);
  });
  await t.step("bad durations and rlimits", async () => {
    for (
      const args of [["--time", "soon"], ["--rlimit", "NOFILE"], ["--rlimit", "NOPE=1"], [
        "--output-limit",
        "-1",
      ]]
    ) {
      const r = await run("alcove", [...args, ...ROOT, "true"]);
      assertEquals(r.code, 1, args.join(" "));
      assertMatch(r.err, /^alcove: /);
    }
  });
  await t.step("our options' bad values are said of the option, by both paths", async () => {
    const cases: [string[], string][] = [
      [["--rlimit", "NOPE=1"], "--rlimit: unknown resource NOPE"],
      [["--rlimit", "rlimit_nlimits=1"], "--rlimit: unknown resource NLIMITS"],
      [
        ["--rlimit", "NOFILE=9", "--rlimit", "OFILE=8"],
        "--rlimit: NOFILE and OFILE are the same resource",
      ],
      [
        ["--rlimit", "AS=8192T"],
        "--rlimit: a limit is at most 9007199254740991 or unlimited: AS=8192T",
      ],
      [["--cpu", "5000"], "--cpu 5000: must be from 0.01 to 1024 CPUs, got 5000"],
      [["--pids", "5000000"], "--pids 5000000: must be from 1 to 4194304, got 5000000"],
      [["--memory", "1K"], "--memory 1K: must be at least 4096 bytes, got 1024"],
      [["--memory-high", "100"], "--memory-high 100: must be at least 4096 bytes, got 100"],
      [["--landlock-ro", "usr"], "--landlock-ro takes an absolute path: usr"],
      [["--landlock-rw", "./tmp"], "--landlock-rw takes an absolute path: ./tmp"],
      [
        ["--tmpfs", "/tmp", "--dir", "/tmp/a/../b"],
        '--dir: the destination must not contain ".." components',
      ],
      [["--symlink", "", "/tmp/x"], "--symlink: the source must not be empty"],
    ];
    for (const [args, message] of cases) {
      for (const driver of [false, true]) {
        const r = await runPath([...args, ...ROOT, "true"], { driver });
        assertEquals({ code: r.code, err: r.err }, { code: 1, err: `alcove: ${message}\n` });
      }
    }
  });
  await t.step("--help, --version", async () => {
    const h = await run("alcove", ["--help"]);
    assertEquals(h.code, 0);
    assertStringIncludes(h.out, "usage: alcove [OPTIONS...] [--] COMMAND [ARGS...]");
    assertStringIncludes(h.out, "--json-status-fd FD");
    const v = await run("alcove", ["--version"]);
    assertMatch(v.out, /^alcove \d+\.\d+\.\d+\n$/);
  });
  await t.step("signals to the command line reach the command", async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CLI,
        ...ROOT,
        "sh",
        "-c",
        "trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.05; done",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = await reader.read();
    assertEquals(decoder.decode(first.value), "ready\n");
    child.kill("SIGTERM");
    let rest = "";
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      rest += decoder.decode(r.value);
    }
    const status = await child.status;
    await child.stderr.cancel();
    assertEquals(rest, "got TERM\n");
    assertEquals(status.code, 9);
  });
});

Deno.test("cli: parsing is pure and keeps bubblewrap's order", () => {
  const io = {
    readFd: () => new TextEncoder().encode("--dir\0/b\0"),
    readFile: () => new Uint8Array(0),
    env: { HOME: "/root", PATH: "/bin" },
    cwd: "/work",
    isTerminal: false,
    uid: 0,
  };
  const plan = parseCommandLine([
    "--tmpfs",
    "/a",
    "--args",
    "3",
    "--symlink",
    "b",
    "/c",
    "--",
    "ls",
    "--foo",
  ], io);
  assertEquals(plan.argv, ["ls", "--foo"]);
  assertEquals(plan.options.mounts, [
    { type: "tmpfs", target: "/a" },
    { type: "dir", target: "/b" },
    { type: "symlink", source: "b", target: "/c" },
  ]);
  assertEquals(plan.options.cwd, ["/work", "/root"]);
  assertEquals(plan.options.env, { HOME: "/root", PATH: "/bin" });
});

/** A tmux server and session of its own running `command` in a terminal of 91x31: keys to
 * send, and a wait for text on the screen. (A server of its own: with the default one, the
 * next test's session could reach a server still exiting after the last one's.) */
async function terminal(command: string) {
  const session = `alcove-cli-${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const run = (args: string[]) =>
    new Deno.Command("tmux", { args: ["-L", session, ...args], stdout: "piped", stderr: "piped" })
      .output();
  const tmux = async (...args: string[]) => decoder.decode((await run(args)).stdout);
  const screen = () => tmux("capture-pane", "-p", "-t", session);
  const made = await run([
    "new-session",
    "-d",
    "-s",
    session,
    "-x",
    "91",
    "-y",
    "31",
    "sh",
    "-c",
    command,
  ]);
  if (!made.success) throw new Error(`tmux new-session failed: ${decoder.decode(made.stderr)}`);
  return {
    screen,
    send: (...keys: string[]) => tmux("send-keys", "-t", session, ...keys),
    async waitFor(text: string): Promise<string> {
      for (let i = 0; i < 200; i++) {
        const s = await screen();
        if (s.includes(text)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the terminal never showed ${JSON.stringify(text)}:\n${await screen()}`);
    },
    async [Symbol.asyncDispose]() {
      await tmux("kill-server");
    },
  };
}

Deno.test(needs("cli: a terminal stays the command's (tmux)", NO_TMUX ?? NO_BWRAP), async () => {
  await using term = await terminal(
    `${Deno.execPath()} run -A ${CLI} --preset untrusted -- bash --norc --noprofile -i; echo "exited $?"; sleep 30`,
  );
  await term.waitFor("$");
  // The terminal itself: a tty, its size, job control, and Ctrl-C to the foreground job only.
  await term.send(
    "tty >/dev/null && echo is-a-tty; stty size; [[ $- == *m* ]] && echo job-control-on",
    "Enter",
  );
  await term.waitFor("job-control-on");
  const s = await term.screen();
  assertStringIncludes(s, "is-a-tty");
  assertStringIncludes(s, "31 91");
  await term.send("sleep 100", "Enter");
  await new Promise((r) => setTimeout(r, 300));
  await term.send("C-c", "");
  await term.send("echo still-$((6 * 7))", "Enter");
  await term.waitFor("still-42");
  await term.send("exit 5", "Enter");
  await term.waitFor("exited 5");
});

Deno.test(
  needs("cli: Ctrl-Z stops the command line with its command, fg goes on (tmux)", NO_TMUX),
  async () => {
    // The command line is a job of an interactive shell; the command shares its process
    // group, as bwrap's does without --new-session.
    await using term = await terminal("bash --norc --noprofile -i");
    await term.waitFor("#");
    await term.send(
      `${Deno.execPath()} run -A ${CLI} ${ROOT.join(" ")} sh -c 'echo run-$((6 * 7)); sleep 100'`,
      "Enter",
    );
    await term.waitFor("run-42");
    await term.send("C-z", "");
    await term.waitFor("Stopped");
    await term.send("echo shell-$((6 * 7)); fg", "Enter");
    await term.waitFor("shell-42");
    await new Promise((r) => setTimeout(r, 300));
    await term.send("C-c", "");
    await term.send("echo status-$?", "Enter");
    await term.waitFor("status-130");
  },
);

Deno.test(
  needs("cli: --preset untrusted on a terminal cannot type into it (tmux)", NO_TMUX),
  async () => {
    // The preset keeps the terminal's session (for job control), so the default seccomp
    // profile is what stops TIOCSTI: typed input would run in the shell once the command ends.
    const inject = `${SCRATCH}inject.pl`;
    await Deno.writeTextFile(
      inject,
      'open(my $t, "+<", "/dev/tty") or die "no terminal: $!\\n";\n' +
        "for my $c (split //, 'echo escaped-$((6 * 7))' . \"\\n\") {\n" +
        '  ioctl($t, 0x5412, $c) or die "refused: $!\\n";\n}\n',
    );
    try {
      await using term = await terminal("bash --norc --noprofile -i");
      await term.waitFor("#");
      // Without seccomp the same command line types into the shell: the check can fail.
      const profiles = [["--seccomp-profile", "none"], []];
      for (const [i, profile] of profiles.entries()) {
        await term.send(
          `${Deno.execPath()} run -A ${CLI} --preset untrusted ${profile.join(" ")} -- ` +
            `/usr/bin/perl -e "$(cat ${inject})"; echo round${i}-$((6 * 7))`,
          "Enter",
        );
        await term.waitFor(i === 0 ? "escaped-42" : `round${i}-42`);
      }
      await term.send("echo done-$((6 * 7))", "Enter");
      const s = await term.waitFor("done-42");
      assertStringIncludes(s, "refused: Operation not permitted");
      assertEquals(s.split("escaped-42").length - 1, 1, s); // the first round's only
    } finally {
      await Deno.remove(inject);
    }
  },
);

Deno.test("cli: without its native files, one line and the setup status", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alcove-cli-bare-" });
  try {
    const src = new URL("..", import.meta.url).pathname;
    const cp = await new Deno.Command("cp", {
      args: ["-r", `${src}cli.ts`, `${src}ffi`, `${src}deno.json`, dir],
    }).output();
    assert(cp.success, decoder.decode(cp.stderr));
    // Nothing may point it at native files elsewhere (the sanitizer run sets ALCOVE_LIB_PATH).
    const env = Deno.env.toObject();
    delete env.ALCOVE_LIB_PATH;
    const alcove = async (entry: string, extra: Record<string, string> = {}) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${dir}/${entry}`, ...ROOT, "true"],
        clearEnv: true,
        env: { ...env, ...extra },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = decoder.decode(r.stderr);
      assertEquals(r.code, 125, err);
      assertMatch(err, /^alcove: Cannot find libalcove\.so[^\n]*\n$/);
      return err;
    };
    await alcove("cli.ts");
    // The bundle (cli.ts) looks where the sources look: ALCOVE_LIB_PATH, the checkout's
    // build/, then the prebuilt files shipped beside the modules.
    const lib = { ALCOVE_LIB_PATH: `${dir}/nowhere` };
    const bundled = await alcove("cli.ts", lib);
    const platform = `linux-${Deno.build.arch === "x86_64" ? "x64" : "arm64"}`;
    assertStringIncludes(
      bundled,
      `(tried ${dir}/nowhere/, ${dir}/build/, ${dir}/native/${platform}/)`,
    );
    assertEquals(bundled, await alcove("ffi/cli/main.ts", lib));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: cli.ts runs the generated bundle, which loads the lazy parts only when needed", async () => {
  // What the command line loads at start: cli.ts and its fast path, nothing more (not even a
  // dynamic import of the bundle: Deno would read and analyze it at start too); then, unless
  // the fast path exec'd, the bundle and its statically imported files (the bundle's lazy
  // chunks are imported by computed URLs too).
  const root = new URL("../", import.meta.url).href;
  const fast = ["cli.ts", "ffi/cli/_bundle/fast.js"];
  assertEquals((await startGraph(CLI)).map((s) => s.slice(root.length)).sort(), fast);
  // Those files alone, and a bundle that says it ran: cli.ts runs the bundle beside it.
  const dir = await Deno.makeTempDir({ prefix: "alcove-cli-entry-" });
  try {
    await Deno.mkdir(`${dir}/ffi/cli/_bundle`, { recursive: true });
    for (const file of fast) await Deno.copyFile(new URL(file, root), `${dir}/${file}`);
    await Deno.writeTextFile(`${dir}/ffi/cli/_bundle/main.js`, 'console.log("bundle", Deno.args);');
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${dir}/cli.ts`, "--version"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(decoder.decode(r.stdout), 'bundle [ "--version" ]\n', decoder.decode(r.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const bundle = new URL("../ffi/cli/_bundle/", import.meta.url).href;
  const names = (await startGraph(`${bundle}main.js`)).map((s) =>
    s.startsWith(bundle) ? s.slice(bundle.length) : s
  ).sort();
  assert(names.includes("main.js"), names.join(" "));
  for (const name of names) assert(name.endsWith(".js"), `${name} is loaded`);
  // Each bundled source starts with its path: the lazy ones are in no file loaded at start.
  const started = names.filter((n) => n.endsWith(".js"))
    .map((n) => Deno.readTextFileSync(new URL(n, bundle))).join("\n");
  assertStringIncludes(started, "\n// ffi/cli/parse.ts\n");
  for (const lazy of ["cli/_driver_run", "seccomp/install", "_runtime_node", "_runtime_bun"]) {
    assert(!started.includes(`\n// ffi/${lazy}.ts\n`), `${lazy} is loaded at start`);
    const all = [...Deno.readDirSync(new URL(bundle))]
      .map((e) => Deno.readTextFileSync(new URL(e.name, bundle))).join("\n");
    assertStringIncludes(all, `\n// ffi/${lazy}.ts\n`);
  }
});

Deno.test(
  needs(
    "cli: unprivileged, as uid 65534",
    IS_ROOT ? missing("setpriv") : "needs root to become uid 65534",
  ),
  async () => {
    // A copy of deno and of the checkout's native files that uid 65534 can reach.
    const dir = await Deno.makeTempDir({ prefix: "alcove-cli-unpriv-" });
    try {
      await Deno.chmod(dir, 0o755);
      await Deno.copyFile(Deno.execPath(), `${dir}/deno`);
      await Deno.chmod(`${dir}/deno`, 0o755);
      const src = new URL("..", import.meta.url).pathname;
      const cp = await new Deno.Command("cp", {
        args: [
          "-r",
          `${src}cli.ts`,
          `${src}mod.ts`,
          `${src}ffi`,
          `${src}build`,
          `${src}deno.json`,
          dir,
        ],
      }).output();
      assert(cp.success, decoder.decode(cp.stderr));
      await new Deno.Command("chmod", { args: ["-R", "a+rX", dir] }).output();
      const as65534 = (argv: string[]) =>
        new Deno.Command("setpriv", {
          args: ["--reuid=65534", "--regid=65534", "--clear-groups", ...argv],
          env: { HOME: "/", DENO_DIR: `${dir}/cache` },
          cwd: "/",
          stdout: "piped",
          stderr: "piped",
        }).output();
      const alcove = [`${dir}/deno`, "run", "-A", `${dir}/cli.ts`];
      const r = await as65534([
        ...alcove,
        "--unshare-all",
        ...SYS,
        "--uid",
        "0",
        "sh",
        "-c",
        "id -u; echo $$; grep CapEff /proc/self/status",
      ]);
      assertEquals(
        decoder.decode(r.stdout),
        "0\n2\nCapEff:\t0000000000000000\n",
        decoder.decode(r.stderr),
      );
      if (NO_BWRAP === undefined) {
        // Unprivileged, the first user namespace maps the caller: the nested one still works.
        const args = ["--unshare-user", "--uid", "5", "--disable-userns", ...ROOT, "sh", "-c"];
        const script = "id -u; cat /proc/self/uid_map; unshare -U true 2>/dev/null; echo $?";
        const [a, b] = await Promise.all([
          as65534([...alcove, ...args, script]),
          as65534(["bwrap", ...args, script]),
        ]);
        assertEquals(decoder.decode(a.stdout), decoder.decode(b.stdout), decoder.decode(a.stderr));
        assertStringIncludes(decoder.decode(a.stdout), "5\n");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** Runs the command line as `sh -c 'exec deno run cli.ts ARGS REDIRECTS'`, through the driver
 * instead of the supervisor with `driver`; the pid is the command line's. */
async function runPath(
  args: string[],
  { driver = false, redirects = "", env = {} }: {
    driver?: boolean;
    redirects?: string;
    env?: Record<string, string>;
  } = {},
): Promise<Result & { pid: number }> {
  if (driver) env = { ...env, ALCOVE_CLI_DRIVER: "1" };
  else await assertParsedAlike(args, { cwd: "/tmp", env: { ...Deno.env.toObject(), ...env } });
  const child = new Deno.Command("sh", {
    args: ["-c", `exec "$@" ${redirects}`, "sh", Deno.execPath(), "run", "-A", CLI, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd: "/tmp",
  }).spawn();
  const r = await child.output();
  return {
    code: r.code,
    out: decoder.decode(r.stdout),
    err: decoder.decode(r.stderr),
    pid: child.pid,
  };
}

Deno.test("cli: signals the command line inherited ignored (nohup) stay ignored, as with bwrap", async () => {
  // Under `nohup` (SIGHUP ignored), a hang-up neither ends alcove nor its command, which
  // starts with it ignored too. (The driver's way: its control process catches the signal,
  // and the command starts with every signal at its default.)
  const command = "grep SigIgn /proc/self/status; kill -HUP $PPID; sleep 0.3; echo finished";
  const run = await new Deno.Command("sh", {
    args: [
      "-c",
      `trap '' HUP; exec "$@"`,
      "sh",
      Deno.execPath(),
      "run",
      "-A",
      CLI,
      ...ROOT,
      "sh",
      "-c",
      command,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = decoder.decode(run.stdout);
  assertEquals(run.code, 0, decoder.decode(run.stderr));
  // SIGHUP (1) only: not SIGPIPE (13), which the runtime that ran cli.ts ignores for itself.
  assertEquals(BigInt("0x" + /SigIgn:\s*([0-9a-f]+)/.exec(out)![1]), 1n, out);
  assertStringIncludes(out, "finished\n");
});

Deno.test("cli: an ignored SIGHUP does not end a --block-fd wait", async () => {
  // nohup'd: the hang-up comes while alcove waits on --block-fd; the wait goes on, and the
  // command runs once the descriptor gives a byte.
  const dir = await Deno.makeTempDir({ prefix: "alcove-cli-nohup-" });
  try {
    await new Deno.Command("mkfifo", { args: [`${dir}/f`] }).output();
    const script = `trap '' HUP; (sleep 1; kill -HUP $$; sleep 0.3; echo go > ${dir}/f) & ` +
      `exec "$@" 5<>${dir}/f`;
    const r = await new Deno.Command("sh", {
      args: [
        "-c",
        script,
        "sh",
        Deno.execPath(),
        "run",
        "-A",
        CLI,
        "--block-fd",
        "5",
        ...ROOT,
        "echo",
        "ran",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals([r.code, decoder.decode(r.stdout)], [0, "ran\n"], decoder.decode(r.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: the command line becomes the supervisor, the command its child", async (t) => {
  const ppid = [...ROOT, "sh", "-c", "echo $PPID; ps -o comm= -p $PPID"];
  await t.step("the command's parent is the command line's own process", async () => {
    const r = await runPath(ppid);
    assertEquals(r.out, `${r.pid}\nalcove\n`, r.err);
  });
  await t.step("ALCOVE_CLI_DRIVER=1 and --output-limit take the driver", async () => {
    for (const args of [[], ["--output-limit", "1M"]]) {
      const r = await runPath([...args, ...ppid], { driver: args.length === 0 });
      const [parent, name] = r.out.trim().split("\n");
      assert(Number(parent) !== r.pid, r.out);
      assertEquals(name, "alcove", r.err);
    }
  });
  await t.step("the driver's reader gone: the command gets SIGPIPE, no runtime error", async () => {
    // Output for as long as it can be written, then the command goes on: an error
    // of the copy that nothing handled used to end the runtime with an uncaught BrokenPipe.
    const script = "yes; echo status=$? >&2; sleep 0.3; exit 4";
    const args = [
      Deno.execPath(),
      "run",
      "-A",
      CLI,
      "--output-limit",
      "1G",
      "--time",
      "20s",
      ...ROOT,
    ];
    const line = [...args, "sh", "-c", script].map((w) => `'${w}'`).join(" ");
    await new Deno.Command("sh", {
      args: ["-c", `{ ${line} 2>${SCRATCH}err; echo $? >${SCRATCH}rc; } | head -c 10 >/dev/null`],
    }).output();
    const [err, rc] = await Promise.all(
      ["err", "rc"].map((f) => Deno.readTextFile(`${SCRATCH}${f}`)),
    );
    assertEquals({ err, rc }, { err: "status=141\n", rc: "4\n" });
  });
  await t.step("the driver's output not written: said, status 1", async () => {
    const r = await runPath(["--output-limit", "1M", ...ROOT, "sh", "-c", "printf hello"], {
      redirects: ">/dev/full",
    });
    assertEquals(r.code, 1, r.err);
    assertMatch(r.err, /^alcove: Cannot write the command's stdout: No space left on device/);
  });
  await t.step("the driver's control process killed: one line, status 1", async () => {
    const r = await runPath([...ROOT, "sh", "-c", "kill -KILL $PPID; exec sleep 5"], {
      driver: true,
    });
    assertEquals(r.code, 1, r.err);
    assertMatch(r.err, /^alcove: .*root control process exited \(signal SIGKILL\)/);
    assertEquals(r.err.trim().split("\n").length, 1, r.err);
  });
  await t.step("a bad supervisor command line or build says so", async () => {
    const helper = CONTROL_EXECUTABLE;
    const bad = async (args: string[]) => {
      const r = await new Deno.Command(helper, { args, stdout: "null", stderr: "piped" }).output();
      return { code: r.code, err: decoder.decode(r.stderr) };
    };
    const abi = await bad(["--cli", "--abi", "1", "--request", "0"]);
    assertEquals(abi.code, 125);
    assertMatch(abi.err, /^alcove: the control process executable is ABI \d+, .* ABI 1/);
    const none = await bad(["--cli", "--abi", String(ABI), "--info-fd"]);
    assertEquals(none, { code: 125, err: "alcove: --cli: --info-fd takes a descriptor number\n" });
  });
  await t.step("a supervisor that cannot be run: the driver's way says why", async () => {
    // execv fails (EACCES): the command line carries on as a driver, whose start says so.
    const dir = await Deno.makeTempDir({ prefix: "alcove-cli-noexec-" });
    try {
      const built = CONTROL_EXECUTABLE.slice(0, CONTROL_EXECUTABLE.lastIndexOf("/") + 1);
      await Deno.copyFile(`${built}libalcove.so`, `${dir}/libalcove.so`);
      await Deno.copyFile(CONTROL_EXECUTABLE, `${dir}/alcove`);
      await Deno.chmod(`${dir}/alcove`, 0o644);
      const r = await runPath([...ROOT, "true"], { env: { ALCOVE_LIB_PATH: dir } });
      assertEquals(r.code, 125, r.err);
      assertMatch(r.err, /^alcove: Alcove\.start: cannot run "[^"]+\/alcove": .*Permission denied/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test('cli: a SIGSYS is "seccomp" with a seccomp filter only, by both paths', async () => {
  for (const [profile, reason] of [[[], "signal"], [["--seccomp-profile", "default"], "seccomp"]]) {
    for (const driver of [false, true]) {
      const args = [...profile, ...ROOT, "--json-status-fd", "3", "sh", "-c", "kill -SYS $$"];
      const r = await runPath(args, { driver, redirects: `3>${SCRATCH}json` });
      const last = JSON.parse((await Deno.readTextFile(`${SCRATCH}json`)).split("\n")[1]);
      assertEquals([r.code, last.signal, last.reason], [159, "SIGSYS", reason], args.join(" "));
    }
  }
});

Deno.test("cli: the supervisor and the driver say and exit the same", async (t) => {
  const cases: [string, string[], string?][] = [
    ["exit status", [...ROOT, "sh", "-c", "echo out; echo err >&2; exit 3"]],
    ["signal", [...ROOT, "sh", "-c", "kill -9 $$"]],
    ["seccomp", ["--seccomp-profile", "default", ...ROOT, "sh", "-c", "kill -SYS $$"]],
    ["setup failure", ["--bind", "/nope", "/x", "true"]],
    ["not found", [...ROOT, "nope"]],
    ["not executable", [...ROOT, "/etc/passwd"]],
    ["a whole message", ["--unshare-user", "--assert-userns-disabled", ...ROOT, "true"]],
    ["wall clock", ["--time", "200ms", ...ROOT, "sleep", "5"]],
    ["bad option value", ["--rlimit", "NOFILE=x", ...ROOT, "true"]],
    [
      "json status and info",
      [
        "--unshare-all",
        ...ROOT,
        ...STATUS_FDS,
        "sh",
        "-c",
        "sleep 0.3; exit 5",
      ],
      `3>${SCRATCH}json 4>${SCRATCH}info`,
    ],
  ];
  // Pids, inodes and times differ from run to run; their shape does not.
  const shape = (text: string) =>
    text.replace(/\d+(\.\d+)?/g, "N").replace(/"usage": \{.*\}/, '"usage": USAGE');
  for (const [name, args, redirects] of cases) {
    await t.step(name, async () => {
      const seen = [];
      for (const driver of [false, true]) {
        const r = await runPath(args, { driver, redirects });
        let files = "";
        if (redirects) {
          files = (await Deno.readTextFile(`${SCRATCH}json`)) +
            (await Deno.readTextFile(`${SCRATCH}info`));
          const last = JSON.parse(files.split("\n")[1]);
          assertEquals(
            Object.keys(last.usage).sort(),
            ["maxRssKb", "systemMs", "userMs", "wallMs"],
          );
          assert(last.usage.wallMs > 0, files);
        }
        seen.push({ code: r.code, out: r.out, err: r.err, files: shape(files) });
      }
      assertEquals(seen[0], seen[1]);
    });
  }
  await Deno.remove(`${SCRATCH}json`).catch(() => {});
  await Deno.remove(`${SCRATCH}info`).catch(() => {});
});

Deno.test("cli: the command gets the descriptors the command line inherited, no others", async () => {
  // 7 is inherited; 4 (--args), 5 (--info-fd) and 6 (--sync-fd) are the command line's own.
  // Neither the runtime's descriptors nor the request's reach the command: it sees what a
  // shell started the same way sees.
  const list = "cd /proc/self/fd && echo *";
  const plain = await new Deno.Command("sh", {
    args: ["-c", `exec sh -c '${list}' 7</dev/null`],
    stdin: "null",
    cwd: "/tmp",
  }).output();
  const expected = decoder.decode(plain.stdout);
  assertStringIncludes(expected, " 7");
  await Deno.writeTextFile(`${SCRATCH}args`, "--setenv\0FROM_ARGS\0yes\0");
  try {
    const args = [...ROOT, "--args", "4", "--info-fd", "5", "--sync-fd", "6"];
    const redirects = `4<${SCRATCH}args 5>/dev/null 6</dev/null 7</dev/null`;
    const r = await runPath([...args, "sh", "-c", `echo $FROM_ARGS; ${list}`], { redirects });
    assertEquals(r.out, `yes\n${expected}`, r.err);
    // The same from the control process executable's own parser (no descriptor read).
    const fast = await runPath([...ROOT, "sh", "-c", list], { redirects: "7</dev/null" });
    assertEquals(fast.out, expected, fast.err);
  } finally {
    await Deno.remove(`${SCRATCH}args`);
  }
});

Deno.test("cli: a request larger than a pipe holds", async () => {
  // About 200 KiB of environment and 300 mounts: the request goes through a memory file
  // (--seccomp-profile none, which asks for what the command line does anyway, keeps it in
  // TypeScript, which makes one), or is made by the control process executable's parser.
  const env: string[] = [];
  for (let i = 0; i < 2000; i++) env.push("--setenv", `BIG_${i}`, "x".repeat(100));
  const dirs: string[] = [];
  for (let i = 0; i < 300; i++) dirs.push("--dir", `/tmp/d${i}`);
  for (const typescript of [["--seccomp-profile", "none"], []]) {
    const r = await runPath([
      ...typescript,
      ...env,
      ...ROOT,
      "--tmpfs",
      "/tmp",
      ...dirs,
      "sh",
      "-c",
      "env | grep -c '^BIG_'; ls /tmp | wc -l; echo $PPID",
    ]);
    assertEquals(r.out, `2000\n300\n${r.pid}\n`, r.err);
  }
});

Deno.test("cli: the supervisor forwards signals as the driver did", async (t) => {
  /** Starts a command that reports the signals it gets, waits until it runs. */
  async function start(args: string[]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CLI,
        ...args,
        ...ROOT,
        "sh",
        "-c",
        'for s in HUP INT QUIT TERM; do trap "echo got $s" $s; done; echo ready; ' +
        "while :; do sleep 0.05; done",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    assertEquals(decoder.decode((await reader.read()).value), "ready\n");
    // A signal that never arrives fails the step instead of holding the suite.
    const next = async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no line within 10 s")), 10000);
      });
      try {
        return decoder.decode((await Promise.race([reader.read(), late])).value);
      } finally {
        clearTimeout(timer);
      }
    };
    return { child, reader, next };
  }
  // In a new pid namespace the command is pid 2, below an init that passes on what it gets
  // alone, once: as pid 1 it would get nothing it has no handler for.
  for (const pidns of [[], ["--unshare-pid"]]) {
    await t.step(`SIGHUP and SIGTERM always, SIGINT with --new-session ${pidns}`, async () => {
      const { child, reader, next } = await start(["--new-session", ...pidns]);
      for (const sig of ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM"] as const) {
        child.kill(sig);
        assertEquals(await next(), `got ${sig.slice(3)}\n`);
      }
      child.kill("SIGKILL"); // the command dies with its supervisor
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel();
      await child.stderr.cancel();
    });
    await t.step(`without --new-session SIGINT is the terminal's to deliver ${pidns}`, async () => {
      const { child, reader, next } = await start(pidns);
      child.kill("SIGINT"); // ignored: the command's process group got its own
      child.kill("SIGTERM");
      assertEquals(await next(), "got TERM\n");
      child.kill("SIGHUP");
      assertEquals(await next(), "got HUP\n");
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel();
      await child.stderr.cancel();
    });
  }
});

/** A program that exits at its first instruction (no loader, no C library): built for this
 * machine's architecture into `dir`. */
async function instantExit(dir: string): Promise<string> {
  const source = `${dir}/exit0.c`;
  await Deno.writeTextFile(
    source,
    `void _start(void) {
#if defined(__x86_64__)
  __asm__ volatile("mov $60, %eax\\n xor %edi, %edi\\n syscall");
#elif defined(__aarch64__)
  __asm__ volatile("mov x8, #93\\n mov x0, #0\\n svc #0");
#else
#error "an architecture this test does not know"
#endif
}
`,
  );
  const out = `${dir}/exit0`;
  const cc = await new Deno.Command("cc", {
    args: ["-static", "-nostdlib", "-O2", "-o", out, source],
    stderr: "piped",
  }).output();
  assert(cc.success, decoder.decode(cc.stderr));
  return out;
}

Deno.test("cli: --info-fd reports the namespaces of a command that ends at once", async () => {
  // The report is made as the command's process is made, before it goes on (read once it
  // ran, a quarter of these lacked their namespaces: the command had ended; 24 runs).
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "alcove-cli-" });
  try {
    const exit0 = await instantExit(dir);
    for (let round = 0; round < 3; round++) {
      const runs = [...Array(8).keys()].map((i) =>
        run(
          "alcove",
          ["--unshare-all", ...ROOT, "--info-fd", "3", exit0],
          `3>${dir}/info-${i}`,
        )
      );
      for (const [i, r] of (await Promise.all(runs)).entries()) {
        assertEquals(r.code, 0, r.err);
        const info = JSON.parse(await Deno.readTextFile(`${dir}/info-${i}`));
        for (const ns of ["cgroup", "ipc", "mnt", "net", "pid", "uts"]) {
          assert(Number.isInteger(info[`${ns}-namespace`]), JSON.stringify(info));
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  needs("cli: --info-fd names the pid namespace the command is in, past a joined one", NOT_ROOT),
  async () => {
    // A pid namespace to join: the one of a process that `unshare` started in a new one.
    const holder = new Deno.Command("unshare", {
      args: ["--pid", "--fork", "sleep", "30"],
      stdin: "null",
    }).spawn();
    try {
      let inner = 0;
      for (let i = 0; i < 100 && inner === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const children = Deno.readTextFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`);
        inner = Number(children.trim().split(" ")[0] || 0);
      }
      assert(inner > 0, "unshare started no process");
      const args = [...ROOT, "--pidns", "6", "--unshare-pid", "--info-fd", "3"];
      // It outlives the report: the driver's way reads the namespaces once spawn has answered,
      // when a command that ended at once has taken its namespace with it (the supervisor
      // holds the command until it has written the report).
      const command = ["sh", "-c", "readlink /proc/self/ns/pid; sleep 0.5"];
      const redirects = `3>${SCRATCH}info 6</proc/${inner}/ns/pid`;
      for (const driver of [false, true]) {
        const r = await runPath([...args, ...command], { driver, redirects });
        assertEquals(r.code, 0, r.err);
        const info = JSON.parse(await Deno.readTextFile(`${SCRATCH}info`));
        assertEquals(`pid:[${info["pid-namespace"]}]`, r.out.trim(), `driver: ${driver}`);
      }
      await Deno.remove(`${SCRATCH}info`);
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
    }
  },
);

Deno.test("cli: a report that cannot be written stops the command before it runs", async () => {
  // bwrap prints the same and exits 1, but leaves its child blocked for good (holding the
  // caller's pipes), so the two are not run side by side here.
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "alcove-cli-" });
  try {
    for (const ns of [[], ["--unshare-all"]]) {
      for (const report of ["--info-fd", "--json-status-fd"]) {
        for (let round = 0; round < 3; round++) {
          const marker = `${dir}/ran`;
          const args = [...ns, ...ROOT, "--bind", dir, dir, report, "9"];
          const r = await run(
            "alcove",
            [...args, "sh", "-c", `echo ran > ${marker}`],
            "9>/dev/full",
          );
          const what = `alcove ${args.join(" ")}`;
          assertEquals(
            { code: r.code, err: r.err },
            { code: 1, err: "alcove: Write to info_fd: No space left on device\n" },
            what,
          );
          const ran = await Deno.stat(marker).then(() => true, () => false);
          assertEquals(ran, false, `${what}: the command ran`);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * bubblewrap's protocol for --info-fd with --userns-block-fd and --block-fd: the caller reads
 * the report from a pipe while the sandbox's process waits, acts on it (writes its id maps,
 * as newuidmap would), then lets it go on. Returns what the command printed.
 */
async function blockedProtocol(tool: "bwrap" | "alcove", args: string[]): Promise<Result> {
  const dir = await Deno.makeTempDir({ prefix: "alcove-cli-fifo-" });
  try {
    const info = `${dir}/info`, block = `${dir}/block`, userns = `${dir}/userns`;
    for (const path of [info, block, userns]) {
      const mk = await new Deno.Command("mkfifo", { args: [path] }).output();
      assert(mk.success);
    }
    const argv = toolArgv(tool);
    const child = new Deno.Command("sh", {
      args: ["-c", `exec "$@" 3>${info} 4<${block} 5<${userns}`, "sh", ...argv, ...args],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      // Each open waits for the shell to open the other end, which it does in turn.
      const [reader, blocker, usernsBlocker] = await Promise.all([
        Deno.open(info, { read: true }),
        Deno.open(block, { write: true }),
        Deno.open(userns, { write: true }),
      ]);
      const report = decoder.decode(await new Response(reader.readable).arrayBuffer());
      const pid = JSON.parse(report)["child-pid"];
      assert(Number.isInteger(pid), report);
      if (args.includes("--userns-block-fd")) {
        // Every id, which neither tool would write itself.
        await Deno.writeTextFile(`/proc/${pid}/uid_map`, "0 0 4294967295\n");
        await Deno.writeTextFile(`/proc/${pid}/gid_map`, "0 0 4294967295\n");
        await usernsBlocker.write(new Uint8Array([1]));
      }
      usernsBlocker.close();
      await blocker.write(new Uint8Array([1]));
      blocker.close();
      const r = await output;
      return { code: r.code, out: decoder.decode(r.stdout), err: decoder.decode(r.stderr) };
    } finally {
      clearTimeout(timer);
      await output.catch(() => undefined);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  needs(
    "cli: --info-fd comes before --userns-block-fd and --block-fd, as bwrap's",
    IS_ROOT ? undefined : "needs root (writes another process's id maps)",
  ),
  async (t) => {
    const cases: [string, string[]][] = [
      ["--block-fd", [
        ...ROOT,
        "--unshare-net",
        "--info-fd",
        "3",
        "--block-fd",
        "4",
        "echo",
        "ran",
      ]],
      ["--userns-block-fd: the maps are the caller's", [
        ...ROOT,
        "--unshare-user",
        "--info-fd",
        "3",
        "--userns-block-fd",
        "5",
        "--block-fd",
        "4",
        "cat",
        "/proc/self/uid_map",
      ]],
    ];
    for (const [name, args] of cases) {
      await t.step(name, async () => {
        const a = await blockedProtocol("alcove", args);
        assertEquals(a.code, 0, a.err);
        assertMatch(
          a.out,
          args.includes("--unshare-user") ? /^\s*0\s+0\s+4294967295\n$/ : /^ran\n$/,
        );
        if (NO_BWRAP === undefined) {
          const b = await blockedProtocol("bwrap", args);
          assertEquals(a, b);
        }
      });
    }
  },
);

Deno.test("cli: --die-with-parent ends alcove and the command when alcove's parent dies, as bwrap", async (t) => {
  const dir = `${SCRATCH}parent`;
  Deno.mkdirSync(dir, { recursive: true });
  // The command writes its pid; its parent's parent, a shell, is then killed.
  const outlives = async (
    tool: "bwrap" | "alcove",
    args: string[],
    env: Record<string, string>,
  ) => {
    const marker = `${dir}/${crypto.randomUUID()}`;
    const argv = toolArgv(tool);
    if (tool === "alcove") await assertParsedAlike([...args, "true"], { cwd: "/tmp" });
    const shell = new Deno.Command("sh", {
      args: [
        "-c",
        '"$@" & wait',
        "sh",
        ...argv,
        ...args,
        "--bind",
        dir,
        dir,
        "--",
        "sh",
        "-c",
        `echo $$ > ${marker}.tmp && mv ${marker}.tmp ${marker} && exec sleep 60`,
      ],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let pid = 0;
    for (let i = 0; i < 300 && pid === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      pid = exists(marker) ? Number(Deno.readTextFileSync(marker)) : 0;
    }
    assert(pid > 0, `${tool} ${args.join(" ")}: the command did not start`);
    shell.kill("SIGKILL");
    await shell.status;
    let lives = true;
    for (let i = 0; i < 30 && lives; i++) {
      await new Promise((r) => setTimeout(r, 50));
      lives = running(pid);
    }
    if (lives) Deno.kill(pid, "SIGKILL");
    return lives;
  };
  const ways: [string, string[], Record<string, string>][] = [
    ["parsed by the control process executable", [], {}],
    ["parsed by TypeScript", ["--seccomp-profile", "none"], {}],
    ["through a driver", [], { ALCOVE_CLI_DRIVER: "1" }],
  ];
  try {
    for (const [name, extra, env] of ways) {
      await t.step(name, async () => {
        const [given, notGiven] = await Promise.all([
          outlives("alcove", [...ROOT, ...extra, "--die-with-parent"], env),
          outlives("alcove", [...ROOT, ...extra], env),
        ]);
        assertEquals({ given, notGiven }, { given: false, notGiven: true }, "outlives its parent");
      });
    }
    if (NO_BWRAP === undefined) {
      await t.step("bwrap does the same", async () => {
        const [given, notGiven] = await Promise.all([
          outlives("bwrap", [...ROOT, "--die-with-parent"], {}),
          outlives("bwrap", ROOT, {}),
        ]);
        assertEquals({ given, notGiven }, { given: false, notGiven: true }, "outlives its parent");
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  needs("cli: a repeated option of one value: the last, with bwrap's warning", NO_BWRAP),
  async (t) => {
    const id = String(Deno.uid());
    // The last two are parsed by TypeScript (--args, --exec-label), the others in C.
    const cases: [string[], string?][] = [
      [[...ROOT, "--chdir", "/", "--chdir", "/tmp", "pwd"]],
      [["--unshare-uts", "--hostname", "a", "--hostname", "b", ...ROOT, "hostname"]],
      [[...ROOT, "--uid", id, "--uid", id, "--chdir", "/", "--chdir", "/", "id", "-u"]],
      // Warned before the error, as bubblewrap does.
      [[...ROOT, "--chdir", "/", "--chdir", "/", "--hostname", "x", "true"]],
      [[...ROOT, "--args", "5", "--chdir", "/", "--chdir", "/tmp", "pwd"], "5</dev/null"],
      [[...ROOT, "--chdir", "/", "--chdir", "/", "--exec-label", "x", "true"]],
    ];
    for (const [args, redirects] of cases) {
      await t.step(args.join(" "), async () => {
        const r = await same(args, redirects);
        assertStringIncludes(r.err, "option will take effect");
      });
    }
    await t.step("--block-fd: only the last is waited on", async () => {
      // Descriptor 5 never has anything to read: it is a FIFO whose writer is the reader.
      const fifo = `${SCRATCH}fifo`;
      assertEquals((await output("mkfifo", [fifo])).code, 0);
      try {
        for (const tool of ["bwrap", "alcove"] as const) {
          const argv = toolArgv(tool);
          const r = await new Deno.Command("sh", {
            args: [
              "-c",
              `exec "$@" 5<>${fifo} 6</dev/null`,
              "sh",
              ...argv,
              ...ROOT,
              "--block-fd",
              "5",
              "--block-fd",
              "6",
              "echo",
              "ran",
            ],
            stdout: "piped",
            stderr: "piped",
            signal: AbortSignal.timeout(20_000),
          }).output();
          assertEquals([r.code, decoder.decode(r.stdout)], [0, "ran\n"], tool);
        }
      } finally {
        await Deno.remove(fifo);
      }
    });
  },
);

Deno.test("cli: a signal while --block-fd waits ends alcove, and the command never runs", async (t) => {
  const dir = `${SCRATCH}blocked`;
  Deno.mkdirSync(dir, { recursive: true });
  // Descriptor 5 never has anything to read (a FIFO whose writer is the reader); the command's
  // process (reported on 6, where the way reports before the wait) waits on it.
  const fifo = `${dir}/fifo`;
  assertEquals((await output("mkfifo", [fifo])).code, 0);
  const interrupted = async (
    tool: "bwrap" | "alcove",
    args: string[],
    env: Record<string, string>,
    signal: Deno.Signal,
  ) => {
    const marker = `${dir}/${crypto.randomUUID()}`, info = `${marker}.info`;
    const argv = toolArgv(tool);
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        `exec "$@" 5<>${fifo} 6>${info}`,
        "sh",
        ...argv,
        ...args,
        "--bind",
        dir,
        dir,
        "--block-fd",
        "5",
        "sh",
        "-c",
        `echo ran > ${marker}`,
      ],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Read apart from the status: bwrap's waiting process, left behind, holds the pipe.
    const err = new Response(child.stderr).text();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // it has ended
      }
    }, 20_000);
    try {
      let pid = 0;
      // A driver reports once the command runs: it waits before making its process.
      const reports = args.includes("--info-fd");
      for (let i = 0; i < 400 && pid === 0 && reports; i++) {
        await new Promise((r) => setTimeout(r, 25));
        const m = exists(info) ? /"child-pid": (\d+)/.exec(Deno.readTextFileSync(info)) : null;
        pid = m ? Number(m[1]) : 0;
      }
      if (!reports) await new Promise((r) => setTimeout(r, 1500));
      else assert(pid > 0, `${tool} ${args.join(" ")}: no report`);
      child.kill(signal);
      const r = await child.status;
      // Its process goes once it sees that its parent went (bwrap's stays behind).
      let left = pid > 0 && running(pid);
      for (let i = 0; i < 40 && left; i++) {
        await new Promise((r) => setTimeout(r, 50));
        left = running(pid);
      }
      if (left) Deno.kill(pid, "SIGKILL");
      return {
        signal: r.signal,
        err: await err,
        ran: exists(marker),
        left: tool === "bwrap" ? undefined : left,
      };
    } finally {
      clearTimeout(timer);
      await err.catch(() => undefined);
    }
  };
  const ways: [string, string[], Record<string, string>][] = [
    ["parsed by the control process executable", ["--info-fd", "6"], {}],
    ["parsed by TypeScript", ["--info-fd", "6", "--seccomp-profile", "none"], {}],
    ["with a new session", ["--info-fd", "6", "--new-session"], {}],
    ["through a driver", [], { ALCOVE_CLI_DRIVER: "1" }],
  ];
  const expected = { err: "", ran: false, left: false };
  try {
    for (const [name, extra, env] of ways) {
      await t.step(name, async () => {
        for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
          const got = await interrupted("alcove", [...ROOT, ...extra], env, signal);
          assertEquals(got, { signal, ...expected }, `${name}, ${signal}`);
        }
      });
    }
    if (NO_BWRAP === undefined) {
      await t.step("bwrap ends the same way", async () => {
        const got = await interrupted("bwrap", [...ROOT, "--info-fd", "6"], {}, "SIGTERM");
        assertEquals(got, { signal: "SIGTERM", err: "", ran: false, left: undefined });
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
