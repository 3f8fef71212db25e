/**
 * The command line's fast path: cli.ts hands the common bubblewrap options straight to the
 * control process executable, whose parser (csrc/cli_parse.c) must make of them exactly what
 * the TypeScript one (ffi/cli/parse.ts and the spawn request encoder) makes: the same
 * supervisor words and request bytes, or the same message and status. Every other command
 * line goes to TypeScript before anything is exec'd.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { CONTROL_EXECUTABLE, IS_ROOT, needs } from "./_helpers.ts";
import { assertParsedAlike, cParse, type ParseContext, referenceParse } from "./_cli_parse.ts";
import { FAST_OPTIONS, parsedInC } from "../ffi/cli/_fast.ts";
import { givenFds } from "../ffi/cli/_common.ts";
import type { ProcessSeam } from "../ffi/_runtime_types.ts";
import { ABI, findNative } from "../ffi/_native.ts";
import {
  CLI_USAGE,
  CommandLineError,
  parseCommandLine,
  userNamespacesAvailable,
} from "../ffi/cli/parse.ts";
import { CAPABILITY_NAMES } from "../ffi/capabilities.ts";

const ROOT = ["--ro-bind", "/", "/"];
const SYS = [...ROOT, "--proc", "/proc", "--dev", "/dev"];
const decoder = new TextDecoder();

/** Command lines both parsers run: each option of the C parser, alone and together. */
const ACCEPTED: string[][] = [
  [...SYS, "--unshare-all", "true"],
  ["--unshare-all", ...SYS, "--", "sh", "-c", "echo $$"],
  ["--unshare-all", "--share-net", ...ROOT, "true"],
  ["--share-net", "--unshare-net", ...ROOT, "true"],
  ["--unshare-user", "--uid", "0", "--gid", "0", ...ROOT, "id"],
  // bubblewrap checks --perms and --size against the next option alone: at the end, dropped.
  ["--perms", "700", "true"],
  [...ROOT, "--size", "4096", "--", "true"],
  // Numbers as bubblewrap reads them (strtol): blanks and a sign before the digits.
  ["--unshare-user", "--uid", " 5", "--gid", "+7", ...ROOT, "id"],
  ["--unshare-user", "--uid", "\t-0", "--gid", "007", ...ROOT, "id"],
  [...ROOT, "--perms", " +0700", "--dir", "/x", "--chmod", "\n644", "/x", "true"],
  [
    "--cap-drop",
    "ALL",
    "--cap-add",
    "12",
    "--cap-add",
    "0x15",
    "--cap-add",
    "010",
    ...ROOT,
    "true",
  ],
  ["--unshare-user-try", ...ROOT, "true"],
  ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", ...ROOT, "true"],
  ["--unshare-cgroup", "--unshare-cgroup-try", ...ROOT, "true"],
  ["--unshare-uts", "--hostname", "box", ...ROOT, "hostname"],
  ["--unshare-pid", "--as-pid-1", ...ROOT, "true"],
  [...ROOT, "--chdir", "/tmp", "pwd"],
  [...ROOT, "--chdir", "tmp", "pwd"],
  // bubblewrap's relative paths: a destination from /, a bind's source from here.
  [...ROOT, "--tmpfs", "tmp", "true"],
  [...ROOT, "--bind", "relative", "/x", "true"],
  [...ROOT, "--ro-bind", "/a/..", "/x", "--ro-bind", ".", "mnt", "true"],
  [...ROOT, "--chdir", "/tmp/../etc", "pwd"],
  [...ROOT, "--clearenv", "--setenv", "A", "1", "env"],
  [...ROOT, "--setenv", "A", "1", "--setenv", "B", "2", "--setenv", "A", "3", "env"],
  [...ROOT, "--setenv", "HOME", "/nowhere", "--unsetenv", "PATH", "--unsetenv", "NONE", "env"],
  [...ROOT, "--setenv", "10", "a", "--setenv", "2", "b", "--setenv", "x", "", "env"],
  [...ROOT, "--setenv", "A", "é ✓ 😀", "env"],
  [...ROOT, "--lock-file", "/tmp/a", "--lock-file", "/tmp/b", "true"],
  ["--bind", "/tmp", "/tmp", "--bind-try", "/nope", "/nope", ...ROOT, "true"],
  ["--dev-bind", "/dev", "/dev", "--dev-bind-try", "/nope", "/x", "true"],
  ["--ro-bind-try", "/nope", "/nope", ...ROOT, "--remount-ro", "/", "true"],
  [
    ...ROOT,
    "--tmpfs",
    "/tmp",
    "--perms",
    "0700",
    "--tmpfs",
    "/run",
    "--mqueue",
    "/dev/mqueue",
    "true",
  ],
  [...ROOT, "--tmpfs", "/tmp", "--perms", "755", "--dir", "/tmp/a", "--dir", "/tmp/b", "true"],
  [...ROOT, "--tmpfs", "/tmp", "--symlink", "usr/lib", "/tmp/l", "--chmod", "1777", "/tmp", "true"],
  ["--new-session", "--die-with-parent", ...ROOT, "true"],
  ["--", "true"],
  ["--uid", "00000000000000000000001", "--unshare-user", ...ROOT, "true"],
  ["true", "--not-an-option"],
  [...ROOT, "--chdir", "/", "--setenv", "PWD", "/else", "env"],
  [...ROOT, "--info-fd", "5", "--json-status-fd", "6", "true"],
  [...ROOT, "--info-fd", "5", "--json-status-fd", "5", "--block-fd", "5", "true"],
  [...ROOT, "--block-fd", "7", "--block-fd", "8", "--block-fd", "7", "--sync-fd", "9", "true"],
  ["--unshare-pid", "--as-pid-1", ...ROOT, "--sync-fd", "9", "--info-fd", "9", "true"],
  [...ROOT, "--sync-fd", "9", "--block-fd", "9", "true"],
  ["--unshare-user", "--userns-block-fd", "4", "--info-fd", "5", ...ROOT, "true"],
  [
    ...ROOT,
    "--size",
    "1M",
    "--tmpfs",
    "/tmp",
    "--size",
    "1.5k",
    "--perms",
    "700",
    "--tmpfs",
    "/a",
    "true",
  ],
  [...ROOT, "--size", " 2 GiB ", "--tmpfs", "/tmp", "--size", "3tb", "--tmpfs", "/b", "true"],
  // bubblewrap's hexadecimal and octal sizes, and numbers they are not.
  [...ROOT, "--size", "010000", "--tmpfs", "/a", "--size", "0x1000", "--tmpfs", "/b", "true"],
  [
    ...ROOT,
    "--size",
    "0X1FFFFFFFFFFFFF",
    "--tmpfs",
    "/a",
    "--size",
    "01M",
    "--tmpfs",
    "/b",
    "true",
  ],
  [...ROOT, "--size", "0.5M", "--tmpfs", "/a", "--size", " 010", "--tmpfs", "/b", "true"],
  [
    ...ROOT,
    "--size",
    "0.0005K",
    "--tmpfs",
    "/tmp",
    "--size",
    "\u00a07\u2003B\ufeff",
    "--tmpfs",
    "/c",
    "true",
  ],
  [...ROOT, "--time", "2s", "true"],
  [...ROOT, "--time", " 1.5 ", "--time", "0.0015m", "true"],
  [...ROOT, "--time", "500ms", "true"],
  [...ROOT, "--time", "1h", "true"],
  [...ROOT, "--time", "0.5ms", "true"],
  [...ROOT, "--time", "\u3000 3 ms\u2028", "true"],
  [...ROOT, "--rlimit", "NOFILE=64", "--rlimit", "as=1G:2G", "--rlimit", "nofile=32", "true"],
  [...ROOT, "--rlimit", "RLIMIT_CORE=0", "--rlimit", "rlimit_rlimit_stack=unlimited", "true"],
  [...ROOT, "--rlimit", "NPROC=10:Infinity", "--rlimit", "CPU=UNLIMITED", "true"],
  [...ROOT, "--rlimit", "FSIZE=1\n:2\u2000K", "true"],
  // Sizes, not bubblewrap's --size forms; one resource however often RLIMIT_ is written.
  [...ROOT, "--rlimit", "NOFILE=010", "--rlimit", "CORE=09", "true"],
  [...ROOT, "--rlimit", "NOFILE=50", "--rlimit", "RLIMIT_RLIMIT_NOFILE=60", "true"],
  [...ROOT, "--cap-drop", "ALL", "--cap-add", "cap_net_raw", "--cap-add", "CAP_SYS_ADMIN", "true"],
  [...ROOT, "--cap-add", "all", "--cap-drop", "Cap_Chown", "--unshare-user", "--uid", "5", "true"],
  [...ROOT, "--unshare-user", "--uid", "5", "--cap-add", "CAP_KILL", "true"],
];

/** Command lines both refuse, with bubblewrap's message or the encoder's. */
const REFUSED: string[][] = [
  // bubblewrap checks this before --unshare-all's "try" user namespace counts.
  ["--unshare-all", "--userns-block-fd", "3", "--info-fd", "4", ...ROOT, "true"],
  ["--uid", "x", ...ROOT, "true"],
  ["--uid", "-5", "--unshare-user", ...ROOT, "true"],
  ["--uid", "5 ", "--unshare-user", ...ROOT, "true"],
  ["--uid", "+-5", "--unshare-user", ...ROOT, "true"],
  ["--uid", " ", "--unshare-user", ...ROOT, "true"],
  ["--perms", "-700", "--dir", "/x", ...ROOT, "true"],
  ["--cap-add", "41", ...ROOT, "true"],
  ["--cap-add", "12x", ...ROOT, "true"],
  ["--cap-add", "0x", ...ROOT, "true"],
  ["--cap-add", "08", ...ROOT, "true"],
  ["--uid", "4294967295", "--unshare-user", ...ROOT, "true"],
  // bubblewrap takes ids as a C int: 2^31 and above are refused, though the kernel has them.
  ["--uid", "2147483648", "--unshare-user", ...ROOT, "true"],
  ["--gid", "4294967294", "--unshare-user", ...ROOT, "true"],
  ["--gid", "-1", "--unshare-user", ...ROOT, "true"],
  ["--uid", "99999999999999999999999999", "--unshare-user", ...ROOT, "true"],
  ["--hostname", "box", ...ROOT, "true"],
  ["--as-pid-1", ...ROOT, "true"],
  ["--unshare-pid", "--as-pid-1", "--lock-file", "/x", ...ROOT, "true"],
  ["--perms", "700", ...ROOT, "true"],
  ["--perms", "800", "--tmpfs", "/tmp", "true"],
  ["--size", "08", "--tmpfs", "/tmp", "true"],
  // An empty source is no path (bubblewrap cannot find it), not the current directory.
  [...ROOT, "--bind", "", "/x", "true"],
  ["--size", "0x20000000000001", "--tmpfs", "/tmp", "true"],
  ["--size", "0x1g", "--tmpfs", "/tmp", "true"],
  ["--size", "0x", "--tmpfs", "/tmp", "true"],
  ["--size", "00", "--tmpfs", "/tmp", "true"],
  ["--perms", "17777", "--tmpfs", "/tmp", "true"],
  ["--perms", "700", "--perms", "700", "--tmpfs", "/tmp", "true"],
  ["--chmod", "9", "/tmp", "true"],
  ["--chmod", "", "/tmp", "true"],
  [...ROOT, "--tmpfs", "/tmp/../etc", "true"],
  ["--symlink", "", "/x", "true"],
  ["--unshare-uts", "--hostname", "h".repeat(65), ...ROOT, "true"],
  [...ROOT, "--lock-file", "x", "true"],
  [...ROOT, ...Array.from({ length: 17 }, (_, i) => ["--lock-file", `/l${i}`]).flat(), "true"],
  [...Array.from({ length: 1025 }, () => ["--dir", "/d"]).flat(), "true"],
  [...ROOT, "--setenv", "A=B", "c", "true"],
  [...ROOT, "--setenv", "", "c", "true"],
  [...ROOT, "--setenv", "", "c", "--setenv", "D=E", "f", "true"],
  [...ROOT, ""],
  [...ROOT, "--info-fd", "x", "true"],
  [...ROOT, "--sync-fd", "2147483648", "true"],
  ["--userns-block-fd", "4", "--info-fd", "5", ...ROOT, "true"],
  ["--unshare-user", "--userns-block-fd", "4", ...ROOT, "true"],
  [...ROOT, "--size", "1M", "--dir", "/tmp", "true"],
  [...ROOT, "--size", "1M", "--size", "2M", "--tmpfs", "/tmp", "true"],
  [...ROOT, "--size", "0", "--tmpfs", "/tmp", "true"],
  [...ROOT, "--size", "0.4", "--tmpfs", "/tmp", "true"],
  [...ROOT, "--size", "1X", "--tmpfs", "/tmp", "true"],
  [...ROOT, "--size", "1.M", "--tmpfs", "/tmp", "true"],
  [...ROOT, "--size", "4194305T", "--tmpfs", "/tmp", "true"],
  [...ROOT, "--size", "8192T", "--tmpfs", "/tmp", "true"],
  [...ROOT, "--size", "-1", "--tmpfs", "/tmp", "true"],
  [...ROOT, "--perms", "700", "--size", "1M", "--dir", "/d", "true"],
  [...ROOT, "--time", "0", "true"],
  [...ROOT, "--time", "0.4ms", "true"],
  [...ROOT, "--time", "2 s s", "true"],
  [...ROOT, "--time", "2S", "true"],
  [...ROOT, "--time", "2d", "true"],
  [...ROOT, "--time", "1e3", "true"],
  [...ROOT, "--time", "11574h", "true"],
  [...ROOT, "--time", "9".repeat(400), "true"],
  [...ROOT, "--rlimit", "NOFILE", "true"],
  [...ROOT, "--rlimit", "NOFILE=", "true"],
  [...ROOT, "--rlimit", "NOFILE=1:", "true"],
  [...ROOT, "--rlimit", "NOFILE=2:1", "true"],
  [...ROOT, "--rlimit", "NOFILE=unlimited:1", "true"],
  [...ROOT, "--rlimit", "NO FILE=1", "true"],
  [...ROOT, "--rlimit", "NOFILE=1:2\n", "true"],
  [...ROOT, "--rlimit", "NOFILE=1:2\u2028", "true"],
  [...ROOT, "--rlimit", "NOFILE=x", "true"],
  [...ROOT, "--rlimit", "5=1", "true"],
  [...ROOT, "--rlimit", "=1", "true"],
  [...ROOT, "--rlimit", "DATA=1:2:3", "true"],
  [...ROOT, "--cap-add", "CAP_NOPE", "--cap-add", "nope2", "true"],
  [...ROOT, "--cap-add", "CAP_LAST_CAP", "true"],
  [...ROOT, "--cap-drop", "chown", "true"],
  [...ROOT, "--cap-drop", "", "true"],
  [...ROOT, "--cap-add", "PR_SET_NAME", "true"],
  [...ROOT, "--cap-add", "CAP_CHOWN", "--uid", "x", "true"],
  [...ROOT, "--rlimit", "NOPE=1", "true"],
  [...ROOT, "--rlimit", `${"X".repeat(300)}=1`, "true"],
  [...ROOT, "--rlimit", "AS=8192T", "true"],
  [...ROOT, "--rlimit", "AS=1:8192T", "true"],
  [...ROOT, "--rlimit", "NLIMITS=1", "--rlimit", "RLIMIT_INFINITY=1", "true"],
  // The resource's name is checked before the rest of the request, after the command line.
  ["--bind", "", "/x", "--rlimit", "NOPE=1", "true"],
  [...ROOT, "--chdir", "", "--rlimit", "NOPE=1", "true"],
  ["--bind", "", "/x", "--chdir", "", "true"],
  [...ROOT, "--rlimit", "NOFILE=0x10", "true"],
  [...ROOT, "--rlimit", "RLIMIT_=1", "true"],
  // Two names of one resource, either order.
  [...ROOT, "--rlimit", "NOFILE=200", "--rlimit", "OFILE=100", "true"],
  [...ROOT, "--rlimit", "ofile=100", "--rlimit", "RLIMIT_NOFILE=200", "true"],
];

Deno.test("cli parse: --unshare-user-try and --unshare-all make a user namespace where the system makes them, as root too", async () => {
  const io = (uid: number, usernsAvailable?: boolean) => ({
    readFd: () => new Uint8Array(0),
    readFile: () => new Uint8Array(0),
    env: {},
    cwd: "/",
    isTerminal: false,
    uid,
    usernsAvailable: usernsAvailable === undefined ? undefined : () => usernsAvailable,
  });
  const nsOf = (args: string[], uid: number, available?: boolean) =>
    parseCommandLine([...args, ...ROOT, "true"], io(uid, available)).options.namespaces;
  for (const args of [["--unshare-all"], ["--unshare-user-try"]]) {
    assert((nsOf(args, 0, true) as string[]).includes("user"), args.join(" "));
    assert(!(nsOf(args, 0, false) as string[]).includes("user"), args.join(" "));
    assert(!(nsOf(args, 0) as string[]).includes("user"), args.join(" "));
  }
  // The system is asked only for those options.
  const never = {
    ...io(0),
    usernsAvailable: (): boolean => {
      throw new Error("asked without --unshare-user-try or --unshare-all");
    },
  };
  parseCommandLine(["--unshare-pid", ...ROOT, "true"], never);
  // So --uid needs no --unshare-user with them, where the namespace comes.
  const withUid = parseCommandLine(
    ["--unshare-all", "--uid", "1234", ...ROOT, "id"],
    io(0, true),
  );
  assertEquals(withUid.options.uid, 1234);
  assertThrows(
    () => parseCommandLine(["--unshare-all", "--uid", "1234", ...ROOT, "id"], io(0, false)),
    CommandLineError,
    "Specifying --uid requires --unshare-user or --userns",
  );
  // As bubblewrap: the checks of the explicit flag come first.
  assertThrows(
    () => parseCommandLine(["--unshare-all", "--disable-userns", ...ROOT, "true"], io(0, true)),
    CommandLineError,
    "--disable-userns requires --unshare-user",
  );
  assertThrows(
    () => parseCommandLine(["--unshare-all", "--userns", "3", ...ROOT, "true"], io(0, true)),
    CommandLineError,
    "--userns not compatible --unshare-user-try",
  );
  // What the system says, as bubblewrap reads it.
  const files = (max?: string, enable?: string) => (path: string) =>
    path.endsWith("max_user_namespaces") ? max : path.endsWith("enable") ? enable : undefined;
  assertEquals(userNamespacesAvailable(files("63704\n")), true);
  assertEquals(userNamespacesAvailable(files("0\n")), false);
  assertEquals(userNamespacesAvailable(files("63704\n", "N\n")), false);
  assertEquals(userNamespacesAvailable(files("63704\n", "Y\n")), true);
  assertEquals(userNamespacesAvailable(files()), true);
  // The C parser reads the same files: as root here, where user namespaces are made, the
  // same request as TypeScript's, with the namespace.
  const read = (path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  };
  if (IS_ROOT && userNamespacesAvailable(read)) {
    const args = ["--unshare-all", "--uid", "1234", "--gid", "4321", ...ROOT, "id"];
    assert(await assertParsedAlike(args), JSON.stringify(args));
    assertEquals((await cParse(args)).code, 0);
  }
});

Deno.test("cli parse: the C parser's options are parse.ts's, with the same arguments", async () => {
  const io = {
    readFd: () => new Uint8Array(0),
    readFile: () => new Uint8Array(0),
    env: {},
    cwd: "/",
    isTerminal: false,
    uid: 0,
  };
  // bubblewrap's words: "one argument" for --chdir and --remount-ro alone.
  const words = (option: string, takes: number) =>
    takes === 2
      ? "two arguments"
      : ["--chdir", "--remount-ro"].includes(option)
      ? "one argument"
      : "an argument";
  for (const [option, takes] of Object.entries(FAST_OPTIONS)) {
    assertStringIncludes(CLI_USAGE, `    ${option} `);
    if (takes === 0) {
      assertEquals(parseCommandLine([option], io).action, "usage", option);
      // Without a command the C parser has nothing to run either (cli.ts never sends it).
      assertEquals((await cParse([option])).err, "alcove: --cli-parse: no command\n");
    } else {
      const message = `${option} takes ${words(option, takes)}`;
      let thrown = "";
      try {
        parseCommandLine([option, ...Array(takes - 1).fill("/x")], io);
      } catch (e) {
        thrown = (e as Error).message;
      }
      assertEquals(thrown, message);
      const c = await cParse([option, ...Array(takes - 1).fill("/x")]);
      assertEquals({ code: c.code, err: c.err }, { code: 1, err: `alcove: ${message}\n` });
      // With its arguments, the option is one of the C parser's.
      const given = await cParse([option, ...Array(takes).fill("/x")]);
      assert(!given.err.includes("not parsed here"), `${option}: ${given.err}`);
    }
  }
  // Every other option of the usage text is not, and cli.ts keeps it for TypeScript.
  const others = [...CLI_USAGE.matchAll(/^ {4}(--[a-z0-9-]+)/gm)].map((m) => m[1])
    .filter((o) => !(o in FAST_OPTIONS));
  assert(others.length > 20, others.join(" "));
  for (const option of others) {
    const r = await cParse([option, "/x", "/x", "true"]);
    assertEquals(r.err, `alcove: --cli-parse: ${option} is not parsed here\n`);
    assertEquals(r.code, 125);
    assert(!parsedInC([option, "/x", "/x", "true"]), option);
  }
});

Deno.test("cli parse: cli.ts gives the C parser only what it parses", () => {
  const fast: string[][] = [[...SYS, "true"], ["--", "--bind"], ["true"], [
    "--setenv",
    "A",
    "--",
    "x",
  ]];
  for (const args of fast) assert(parsedInC(args), JSON.stringify(args));
  const slow: string[][] = [
    [], // the usage text
    ["--"],
    [...ROOT], // no command
    ["--bind", "/"], // an argument missing
    ["--help"],
    ["--version"],
    ["--seccomp-profile", "none", "true"],
    ["--args", "3", "true"],
    [...ROOT, "--preset", "untrusted", "true"],
    ["-x", "true"],
    ["--ro-bind", "/", "/", "a\uFFFDb"], // not UTF-8 before the runtime read it
    ["--setenv", "__proto__", "x", "true"],
    ["--toString", "true"],
  ];
  for (const args of slow) assert(!parsedInC(args), JSON.stringify(args));
});

Deno.test("cli parse: the same request, words, messages and statuses", async (t) => {
  await t.step("accepted command lines", async () => {
    for (const args of ACCEPTED) {
      assert(await assertParsedAlike(args), JSON.stringify(args));
      assertEquals((await cParse(args)).code, 0, JSON.stringify(args));
    }
  });
  await t.step("refused command lines", async () => {
    for (const args of REFUSED) {
      assert(await assertParsedAlike(args), JSON.stringify(args));
      assertEquals((await cParse(args)).code, 1, JSON.stringify(args));
    }
  });
  await t.step("other environments and working directories", async () => {
    const contexts: ParseContext[] = [
      { env: {}, cwd: "/" },
      { env: { HOME: "/root", PATH: "/bin" }, cwd: "/tmp" },
      { env: { HOME: "" }, cwd: "/tmp" },
      { env: { HOME: "relative" } },
      { env: { HOME: "/a/../b" } },
      { env: { "5": "x", "12": "y", "0": "z", "007": "w", "4294967295": "v", A: "1" } },
      { env: { A: "é", "B_✓": "😀" } },
    ];
    for (const context of contexts) {
      for (const args of [...ACCEPTED.slice(0, 16), ...REFUSED.slice(-4)]) {
        assert(await assertParsedAlike(args, context), JSON.stringify([args, context]));
      }
    }
  });
});

Deno.test("cli parse: every capability name, as TypeScript knows them", async () => {
  for (const name of [...CAPABILITY_NAMES, "CAP_LAST_CAP", "CAP_64"]) {
    for (const op of ["--cap-add", "--cap-drop"]) {
      const args = ["--cap-drop", "ALL", ...ROOT, op, name.toLowerCase(), "true"];
      assert(await assertParsedAlike(args), JSON.stringify(args));
    }
  }
  assert(!parsedInC([...ROOT, "--cap-add", "cap_\u017fys_admin", "true"]));
});

Deno.test(
  needs("cli parse: unprivileged, the same as TypeScript", IS_ROOT ? undefined : "needs root"),
  async () => {
    // setpriv makes the C parser run as 65534: the user namespace is implied, the
    // capabilities none.
    const reachable = await new Deno.Command("setpriv", {
      args: ["--reuid=65534", "--regid=65534", "--clear-groups", "--", CONTROL_EXECUTABLE],
      stdout: "null",
      stderr: "null",
    }).output();
    if (reachable.code !== 2) return; // the build folder is not reachable as 65534
    for (const args of [...ACCEPTED, ...REFUSED]) {
      assert(await assertParsedAlike(args, { uid: 65534, cwd: "/" }), JSON.stringify(args));
    }
  },
);

Deno.test("cli parse: the fast path looks where findNative looks, in its order", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const dir = findNative().dir;
  // Each ALCOVE_LIB_PATH in a process of its own: the environment of this one is shared by
  // the test files running beside it.
  const script = `import { holdsNative, nativeDirs } from ${
    JSON.stringify(new URL("../ffi/_runtime_exec.ts", import.meta.url).href)
  };
import { findNative } from ${JSON.stringify(new URL("../ffi/_native.ts", import.meta.url).href)};
const root = ${JSON.stringify(root)};
console.log(JSON.stringify({
  found: \`\${nativeDirs(root)?.find(holdsNative)}alcove\`,
  helper: findNative().helper,
  same: JSON.stringify(nativeDirs(root.slice(0, -1))) === JSON.stringify(nativeDirs(root)),
  none: nativeDirs(undefined) === undefined,
}));`;
  for (const value of [undefined, dir, `${dir}libalcove.so`, "/nowhere"]) {
    const env = { ...Deno.env.toObject() };
    if (value === undefined) delete env.ALCOVE_LIB_PATH;
    else env.ALCOVE_LIB_PATH = value;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      env,
      clearEnv: true,
    }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const got = JSON.parse(new TextDecoder().decode(r.stdout));
    assertEquals(got.found, got.helper, String(value));
    assert(got.same && got.none, String(value));
  }
});

Deno.test("cli parse: the fast path runs the first executable of findNative's folders", async () => {
  // A package of cli.ts and its fast path alone, with its build/ folder: the fast path never
  // returns here (there is no TypeScript command line to return to).
  const dir = await Deno.makeTempDir({ prefix: "alcove-cli-fast-" });
  try {
    const root = new URL("../", import.meta.url);
    await Deno.mkdir(`${dir}/pkg/ffi/cli/_bundle`, { recursive: true });
    for (const file of ["cli.ts", "ffi/cli/_bundle/fast.js"]) {
      await Deno.copyFile(new URL(file, root), `${dir}/pkg/${file}`);
    }
    const built = CONTROL_EXECUTABLE.slice(0, CONTROL_EXECUTABLE.lastIndexOf("/") + 1);
    const place = async (to: string, files: string[]) => {
      await Deno.mkdir(to, { recursive: true });
      for (const f of files) await Deno.copyFile(`${built}${f}`, `${to}/${f}`);
    };
    await place(`${dir}/pkg/build`, ["alcove", "libalcove.so"]);
    await place(`${dir}/library-only`, ["libalcove.so"]);
    await place(`${dir}/executable-only`, ["alcove"]);
    const base = Deno.env.toObject();
    delete base.ALCOVE_LIB_PATH;
    const cmdline = "tr '\\0' ' ' </proc/$PPID/cmdline";
    const parent = async (env: Record<string, string>) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${dir}/pkg/cli.ts`, ...SYS, "sh", "-c", cmdline, "ünï", "", "."],
        clearEnv: true,
        env: { ...base, ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(r.code, 0, decoder.decode(r.stderr));
      return decoder.decode(r.stdout);
    };
    const build = `${dir}/pkg/build/alcove --cli-parse --abi `;
    // Each argument as it was given, the empty one too.
    assertEquals(
      await parent({}),
      `${build}${ABI} -- ${SYS.join(" ")} sh -c ${cmdline} ünï  . `,
    );
    // Folders without the executable are passed over, ALCOVE_LIB_PATH's first.
    for (const path of ["/nowhere", `${dir}/library-only`, `${dir}/library-only/libalcove.so`]) {
      const out = await parent({ ALCOVE_LIB_PATH: path });
      assert(out.startsWith(build), `${path}: ${out}`);
    }
    // An executable runs without its library beside it: it needs none.
    const out = await parent({ ALCOVE_LIB_PATH: `${dir}/executable-only` });
    assert(out.startsWith(`${dir}/executable-only/alcove --cli-parse --abi `), out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli parse: cli.ts execs the C parser, or TypeScript's supervisor", async () => {
  const CLI = new URL("../cli.ts", import.meta.url).pathname;
  const parent = async (args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...args, "sh", "-c", "tr '\\0' ' ' </proc/$PPID/cmdline"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 0, decoder.decode(r.stderr));
    return decoder.decode(r.stdout);
  };
  assertStringIncludes(await parent([...SYS]), ` --cli-parse --abi `);
  const slow = await parent(["--seccomp-profile", "none", ...SYS]);
  assert(!slow.includes("--cli-parse"), slow);
  assertStringIncludes(slow, " --cli --abi ");
  // A message from either way reads the same: the TypeScript entry against cli.ts.
  const MAIN = new URL("../ffi/cli/main.ts", import.meta.url).pathname;
  for (const args of [REFUSED[0], REFUSED[5], REFUSED[15], REFUSED[25]]) {
    const [a, b] = await Promise.all([CLI, MAIN].map(async (entry) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", entry, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: r.code, out: decoder.decode(r.stdout), err: decoder.decode(r.stderr) };
    }));
    assertEquals(a, b, JSON.stringify(args));
    const reference = await referenceParse(args);
    assertEquals(a, { ...reference, out: "" });
  }
});

Deno.test("cli: the descriptors a command line was given are told from the runtime's own", () => {
  // A process's table: number -> [link, fdinfo flags (octal)].
  const table: Record<number, [string, string]> = {
    0: ["/dev/null", "0100000"],
    3: ["anon_inode:[eventpoll]", "02000002"],
    4: ["anon_inode:[eventfd]", "02004002"],
    5: ["pipe:[10]", "02000000"], // a wake-up pipe: both ends here
    6: ["pipe:[10]", "02000001"],
    7: ["pipe:[11]", "02000000"], // a pipe's read end, given (made close-on-exec by Node.js)
    8: ["/tmp/data", "02100000"], // a file given, made close-on-exec by Node.js
    9: ["/tmp/data", "0100000"], // a file given, as Deno leaves it
    10: ["socket:[12]", "02004002"],
  };
  const proc = {
    openFds: () => Object.keys(table).map(Number),
    readLink: (path: string) => table[Number(path.split("/").pop())]?.[0],
    readFile: (path: string) =>
      new TextEncoder().encode(`pos:\t0\nflags:\t${table[Number(path.split("/").pop())][1]}\n`),
  } as unknown as ProcessSeam;
  assertEquals([...givenFds(proc, "Node.js")].sort((a, b) => a - b), [0, 7, 8, 9, 10]);
  // Deno opens its own close-on-exec and leaves inherited ones as they were.
  assertEquals([...givenFds(proc, "Deno")].sort((a, b) => a - b), [0, 9]);
});
