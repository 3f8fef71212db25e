/**
 * The runtime seam: the backend of this runtime, and Deno's permissions. A
 * program run without a permission it needs gets Deno's own error naming the
 * flag, never "file not found" or a silent change of transport.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { findNative, platformDir } from "../ffi/_native.ts";
import { runtime, runtimeName } from "../ffi/_runtime.ts";
import { denoOnly, fixtureCommand, IS_ROOT, needs, output } from "./_helpers.ts";
import { Alcove } from "../mod.ts";
import { spawn } from "node:child_process";

const mod = new URL("../mod.ts", import.meta.url).href;
const native = findNative();

Deno.test("the backend matches the runtime and names the architecture as the kernel does", () => {
  assert(["deno", "node", "bun"].includes(runtimeName()));
  assertEquals(runtime.arch(), Deno.readTextFileSync("/proc/sys/kernel/arch").trim());
  assertEquals(platformDir("x86_64"), "linux-x64");
  assertEquals(platformDir("aarch64"), "linux-arm64");
});

/** Runs a script that starts a driver and opens the local calls, under `flags`. */
async function withFlags(
  flags: string[],
  env: Record<string, string> = {},
): Promise<{ start: string; local: string }> {
  const script = `
import { Alcove, openLocal } from ${JSON.stringify(mod)};
const say = (e) => \`\${e.name}: \${e.message}\`;
let start = "ok", local = "ok";
try { const d = await Alcove.start(); await d.getpid([]); await d.stop(); } catch (e) { start = say(e); }
try { openLocal().unload(); } catch (e) { local = say(e); }
console.log(JSON.stringify({ start, local }));
`;
  const file = await Deno.makeTempFile({ suffix: ".js" });
  await Deno.writeTextFile(file, script);
  const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, file],
    env: { ALCOVE_LIB_PATH: native.dir, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(file);
  const out = new TextDecoder().decode(stdout).trim();
  assert(out, new TextDecoder().decode(stderr));
  return JSON.parse(out);
}

/** Runs a test fixture with `env` added to its environment; the JSON line it printed. */
async function fixtureJson(name: string, env: Record<string, string>) {
  const r = await output(...fixtureCommand(name), { env });
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

const ENV = "--allow-env=ALCOVE_LIB_PATH,ALCOVE_TRANSPORT";
const READ = `--allow-read=${native.dir},/tmp`;
const RUN = `--allow-run=${native.helper}`;

Deno.test(denoOnly("the README's minimal permissions are enough"), async () => {
  const got = await withFlags([ENV, READ, RUN, "--allow-write=/tmp", "--allow-net", "--allow-ffi"]);
  assertEquals(got, { start: "ok", local: "ok" });
  // With the pipe transport, neither the socket's folder nor the network is needed.
  const pipes = await withFlags([ENV, READ, RUN], { ALCOVE_TRANSPORT: "pipes" });
  assertEquals(pipes.start, "ok");
});

Deno.test(denoOnly("the socket is made in TMPDIR when it may be read, and removed"), async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // Leave to write only there: a socket made anywhere else would be refused.
    const got = await withFlags([
      `${ENV},TMPDIR`,
      `--allow-read=${native.dir},${tmp}`,
      `--allow-write=${tmp}`,
      RUN,
      "--allow-net",
    ], { TMPDIR: tmp });
    assertEquals(got.start, "ok");
    assertEquals([...Deno.readDirSync(tmp)], [], "the start left something behind");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test(
  denoOnly("each missing permission is Deno's own error, naming its flag"),
  async () => {
    const all = [`${ENV},TMPDIR`, READ, RUN, "--allow-write=/tmp", "--allow-net", "--allow-ffi"];
    for (
      const flag of ["--allow-env", "--allow-read", "--allow-run", "--allow-write", "--allow-net"]
    ) {
      // The socket is made in a folder of its own (TMPDIR, where it may be read): a failed
      // start leaves nothing there.
      const tmp = await Deno.makeTempDir();
      try {
        const got = await withFlags(all.filter((f) => !f.startsWith(flag)), { TMPDIR: tmp });
        assertStringIncludes(got.start, `run again with the ${flag} flag`, flag);
        assert(!got.start.includes("Cannot find"), got.start);
        assertEquals([...Deno.readDirSync(tmp)], [], `without ${flag} the start left its socket`);
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    }
    const noFfi = await withFlags(all.filter((f) => f !== "--allow-ffi"));
    assertStringIncludes(noFfi.local, "NotCapable");
    assertStringIncludes(noFfi.local, "--allow-ffi");
  },
);

const SQUATTER = new URL("./fixtures/socket_squatter.py", import.meta.url).pathname;
const CANNOT_SQUAT = !IS_ROOT
  ? "runs a hostile process as uid 65534 (needs root)"
  : ["/usr/bin/python3", "/usr/bin/setpriv"].find((f) => {
    try {
      Deno.statSync(f);
      return false;
    } catch {
      return true;
    }
  });

/** Starts the hostile process of fixtures/socket_squatter.py as uid 65534 with `args`; the
 * function returned ends it. node:child_process, so that the tests run under Node.js and Bun. */
function squat(...args: string[]): () => Promise<unknown> {
  const squatter = spawn("/usr/bin/setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "/usr/bin/python3",
    SQUATTER,
    ...args,
  ], { stdio: "ignore" });
  const gone = new Promise((resolve) => squatter.on("exit", resolve));
  return () => {
    squatter.kill("SIGTERM");
    return gone;
  };
}

Deno.test(
  needs(
    "another local user connecting to the socket first cannot break Alcove.start",
    CANNOT_SQUAT === undefined ? undefined : `${CANNOT_SQUAT} is missing or not root`,
  ),
  async () => {
    // The socket's path shows in /proc/net/unix to everyone: a process of another user
    // connects to each new one at once and sends junk.
    const stop = squat();
    try {
      await new Promise((r) => setTimeout(r, 300));
      // Without a prefix the socket is this user's only; with one (here a harmless `env`) others
      // may connect, and the token the root sends first tells it apart.
      for (const exec of [[], ["env"]]) {
        for (let i = 0; i < 6; i++) {
          const drv = await Alcove.start({ exec });
          try {
            assertEquals(typeof await drv.getpid([]), "number");
          } finally {
            await drv.stop();
          }
        }
      }
    } finally {
      await stop();
    }
  },
);

Deno.test(
  needs(
    "a stranger connecting to a prefixed start's socket is shut out by its credentials at once",
    CANNOT_SQUAT === undefined ? undefined : `${CANNOT_SQUAT} is missing or not root`,
  ),
  async () => {
    // The stranger (uid 65534) connects and sends nothing: the token check alone would hold
    // its connection open until the start ends. The prefix holds the root back until the
    // stranger has seen what became of its connection, so that the start cannot end first,
    // then runs it as its child (not by exec, as sudo does): the root's connection comes from
    // a descendant of the process the driver started, which the check lets through.
    const gate = await Deno.makeTempDir({ prefix: "alcove_gate_" });
    await Deno.chmod(gate, 0o777);
    const stop = squat("silent", gate);
    try {
      const wait = 'while [ ! -e "$0/verdict" ]; do sleep 0.01; done; "$@"; exit $?';
      const drv = await Alcove.start({ exec: ["sh", "-c", wait, gate] });
      try {
        assertEquals(await drv.getpid([]), drv.pid);
        const stat = await Deno.readTextFile(`/proc/${drv.pid}/stat`);
        const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        assert(parent !== Deno.pid, "the root is a child of the prefix, not of this process");
      } finally {
        await drv.stop();
      }
      assertEquals(await Deno.readTextFile(`${gate}/verdict`), "shut");
    } finally {
      await stop();
      await Deno.remove(gate, { recursive: true });
    }
  },
);

Deno.test("the stranger check refuses a path no socket can have, naming it as such", () => {
  const lib = runtime.openLibrary(findNative().library);
  try {
    // EINVAL: no socket has an empty path; ENAMETOOLONG: longer than sun_path (108 bytes).
    assertEquals(lib.refuseStrangers("", Deno.pid), -22);
    assertEquals(lib.refuseStrangers("/tmp/" + "x".repeat(200), Deno.pid), -36);
    assertEquals(lib.refuseStrangers("/tmp/no-such-socket", Deno.pid), 0);
  } finally {
    lib.close();
  }
});

Deno.test("the channel's token is in no argument, and wiped from the root's environment", async () => {
  for (const exec of [[], ["env"]]) {
    const drv = await Alcove.start({ exec });
    try {
      const read = (what: string) => Deno.readFileSync(`/proc/${drv.pid}/${what}`);
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      // Anyone may read a process's arguments: they hold the executable alone.
      assertEquals(text(read("cmdline")), `${native.helper}\0`, `exec ${exec}`);
      // Its environment (only this user's to read) no longer holds the line, and nothing
      // the root starts inherits the variable.
      const environ = text(read("environ"));
      assert(!/ALCOVE_CHANNEL=[^\0]/.test(environ), `exec ${exec}: ${environ}`);
      assert(!environ.includes("socket "), `exec ${exec}`);
      const pid = await drv.fork([]);
      const inherited = await drv.environ([pid]);
      assert(!inherited.some((v) => v.startsWith("ALCOVE_CHANNEL=")), inherited.join(" "));
    } finally {
      await drv.stop();
    }
  }
});

Deno.test(
  denoOnly("only a root started for the command line keeps the descriptors it inherited"),
  async () => {
    // Descriptor 7 is open (not close-on-exec) in the host, as a shell leaves one to bwrap.
    const script = `
import { Alcove } from ${JSON.stringify(mod)};
const out = {};
for (const inheritStdio of [false, true]) {
  const drv = await Alcove.start({ inheritStdio });
  out[inheritStdio] = [...Deno.readDirSync(\`/proc/\${drv.pid}/fd\`)].map((e) => Number(e.name));
  await drv.stop();
}
console.error(JSON.stringify(out));
`;
    const file = await Deno.makeTempFile({ suffix: ".js" });
    try {
      await Deno.writeTextFile(file, script);
      const { stderr, success } = await new Deno.Command("sh", {
        args: [
          "-c",
          'exec 7</dev/null; exec "$0" run -A "$1" </dev/null >/dev/null',
          Deno.execPath(),
          file,
        ],
        env: { ALCOVE_LIB_PATH: native.dir },
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(stderr);
      assert(success, text);
      const fds = JSON.parse(text.trim().split("\n").pop()!);
      assert(!fds.false.includes(7), `a library start kept descriptor 7: ${text}`);
      assert(fds.true.includes(7), `the command line's start lost descriptor 7: ${text}`);
    } finally {
      await Deno.remove(file);
    }
  },
);

Deno.test(
  denoOnly("a root started before its socket exists connects once it does"),
  async () => {
    // The start spawns the root, then makes the socket while the root starts: the root tries
    // its connect again until the socket is there (ENOENT, then ECONNREFUSED until listen).
    const path = `/tmp/alcove-test-${crypto.randomUUID()}`;
    const token = "0123456789abcdef0123456789abcdef";
    const root = new Deno.Command(native.helper, {
      env: { ALCOVE_CHANNEL: `socket ${path} ${token}` },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = root.stderr.pipeTo(new WritableStream()).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    const listener = Deno.listen({ transport: "unix", path });
    try {
      const conn = await Promise.race([
        listener.accept(),
        root.status.then((s) => Promise.reject(new Error(`the root exited: ${s.code}`))),
      ]);
      const buf = new Uint8Array(token.length);
      let got = 0;
      while (got < buf.length) {
        const n = await conn.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      assertEquals(new TextDecoder().decode(buf.subarray(0, got)), token);
      conn.close(); // EOF: the root ends
      assertEquals((await root.status).code, 0);
    } finally {
      listener.close();
      try {
        root.kill("SIGKILL");
      } catch {
        // already gone
      }
      await root.status;
      await stderr;
    }
  },
);

Deno.test(denoOnly("a start, a call and a stop set no timer"), async () => {
  // Deno's first setTimeout loads Node.js's timers: about 10 ms more for a cold start (the
  // wait for the root's token once did it).
  const got = await fixtureJson("start_timers", {});
  assertEquals(got.calls, []);
});

Deno.test('stdout "inherit" is the host\'s stdout; closed there, /dev/null', async () => {
  const [cmd, args] = fixtureCommand("stdio_inherit");
  const report = async (argv: string[]) => {
    const r = await output(argv[0], argv.slice(1));
    const text = new TextDecoder().decode(r.stderr).trim().split("\n").at(-1) ?? "";
    assertEquals(r.code, 0, text);
    return { ...JSON.parse(text), out: new TextDecoder().decode(r.stdout) };
  };
  const piped = await report([cmd, ...args]);
  // A pipe, or under Node.js and Bun a socket pair.
  assert(/^(pipe|socket):\[/.test(piped.host), piped.host);
  assertEquals([piped.child, piped.code, piped.answers], [piped.host, 0, true]);
  assertEquals(piped.out, "from the child\n");
  // A stdout that came closed (the runtimes open /dev/null there themselves, and so does the
  // root) is /dev/null for the program, and no descriptor of the root's (its channel).
  const closed = await report(["sh", "-c", 'exec 1>&-; exec "$@"', "sh", cmd, ...args]);
  assert(["closed", "/dev/null"].includes(closed.host), closed.host);
  assertEquals([closed.child, closed.code, closed.answers], ["/dev/null", 0, true]);
});

Deno.test("a TMPDIR no socket path fits in (too long, a space) starts without the socket", async () => {
  // The root reads the socket's path as one word, into a sockaddr_un of 108 bytes: Bun made
  // a socket there anyway, and every runtime sent a path with a space, which the root
  // refused; the start failed ("exited with status 2 before connecting").
  const tmp = await Deno.makeTempDir();
  try {
    const long = `${tmp}/${"d".repeat(100)}`;
    const spaced = `${tmp}/with space`;
    for (const dir of [long, spaced]) {
      await Deno.mkdir(dir);
      const got = await fixtureJson("odd_tmpdir", { TMPDIR: dir });
      assertEquals(got.out, "hi\n", dir);
      assertEquals([...Deno.readDirSync(dir)], [], `${dir}: left behind`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test('over pipes, a program with stdio "inherit" gets no end of the channel', async () => {
  // The root's stdin and stdout were the channel: the program read the host's calls and
  // wrote into the replies, and the driver lost its framing.
  const got = await fixtureJson("pipes_inherit", { ALCOVE_TRANSPORT: "pipes" });
  assertEquals(got, { reason: "exit", code: 0, err: "done\n", alive: true });
});

Deno.test("a libalcove.so that is no library is named in the error", async () => {
  // Node's koffi said "Failed to load shared library: file too short", without the file.
  const dir = await Deno.makeTempDir({ prefix: "alcove_broken_" });
  try {
    await Deno.writeTextFile(`${dir}/libalcove.so`, "garbage\n");
    await Deno.copyFile(native.helper, `${dir}/alcove`);
    await Deno.chmod(`${dir}/alcove`, 0o755);
    const { e } = await fixtureJson("broken_library", { ALCOVE_LIB_PATH: dir });
    assertStringIncludes(e, `${dir}/libalcove.so`);
    assertStringIncludes(e, "it is not an ELF file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("native files of another architecture, or cut short, say so and how to build them", async () => {
  // The package's prebuilt files of the other architecture, and a copy of this one's cut short.
  const here = Deno.build.arch === "x86_64" ? "x86_64" : "aarch64";
  const there = here === "x86_64" ? "aarch64" : "x86_64";
  const other = new URL(`../native/${platformDir(there)}/`, import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "alcove_arch_" });
  const put = async (name: string, from: string, size?: number) => {
    const bytes = await Deno.readFile(from);
    await Deno.writeFile(`${dir}/${name}`, size === undefined ? bytes : bytes.slice(0, size), {
      mode: 0o755,
    });
  };
  try {
    await put("libalcove.so", native.library);
    await put("alcove", `${other}alcove`);
    let got = await fixtureJson("early_exit", { ALCOVE_LIB_PATH: dir });
    assertStringIncludes(
      got.message,
      `${dir}/alcove: it is built for ${there}, this machine is ${here}`,
    );
    assertStringIncludes(got.message, "build it for this machine with");
    await put("alcove", native.helper, 4096);
    got = await fixtureJson("early_exit", { ALCOVE_LIB_PATH: dir });
    assertStringIncludes(got.message, `${dir}/alcove: it is cut short (4096 of at least`);
    await put("alcove", native.helper);
    await put("libalcove.so", `${other}libalcove.so`);
    const { e } = await fixtureJson("broken_library", { ALCOVE_LIB_PATH: dir });
    assertStringIncludes(
      e,
      `${dir}/libalcove.so: it is built for ${there}, this machine is ${here}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a start whose executable cannot run leaves no socket behind, at once", async () => {
  // The listener of such a start held its socket file (and, under Bun, the program) open.
  const tmp = await Deno.makeTempDir();
  try {
    const got = await fixtureJson("failed_start", { TMPDIR: tmp });
    assertStringIncludes(got.e, "/nonexistent/alcove");
    assertEquals(got.left, [], "the failed start's socket is still there");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("native files gone after a start: the next start names what it ran, the one after looks again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alcove_vanish_" });
  try {
    await Deno.copyFile(native.library, `${dir}/libalcove.so`);
    await Deno.copyFile(native.helper, `${dir}/alcove`);
    await Deno.chmod(`${dir}/alcove`, 0o755);
    const { second, third } = await fixtureJson("native_vanish", { ALCOVE_LIB_PATH: dir });
    assertStringIncludes(second, `Alcove.start: cannot run "${dir}/alcove"`);
    // It looked again: past the folder named, the package's own files (build/ or native/).
    assertEquals(third, "started");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("over the pipe channel, a root that ends before its greeting says how", async () => {
  const got = await fixtureJson("prefix_exit", { ALCOVE_TRANSPORT: "pipes" });
  assertStringIncludes(got.message ?? "", "it exited with status 3 before greeting");
});

Deno.test("a root that exits before connecting is reported at once, with its status", async () => {
  // The real library beside an "alcove" that ends at once: with --allow-ffi, Deno's start
  // spawns it through the library and learns of its exit from SIGCHLD. A status of 0 and a
  // signal are said as such, not as the start's time limit.
  const dir = await Deno.makeTempDir({ prefix: "alcove_early_exit_" });
  try {
    await Deno.symlink(native.library, `${dir}/libalcove.so`);
    for (
      const [body, said] of [
        ["exit 3", "it exited with status 3 before connecting"],
        ["exit 0", "it exited with status 0 before connecting"],
        ["kill -9 $$", "it was killed by SIGKILL before connecting"],
      ]
    ) {
      await Deno.writeTextFile(`${dir}/alcove`, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      const got = await fixtureJson("early_exit", { ALCOVE_LIB_PATH: dir });
      assert(got.message !== null, "the start failed");
      assertStringIncludes(got.message, said);
      assert(got.ms < 30000, "not at the start's time limit");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  denoOnly("the root starts alike with --allow-ffi (through libalcove.so) and without"),
  async () => {
    // What the root has: stdin on /dev/null, this process's stdout and stderr, its
    // environment (without the channel's variable), the signals it blocks and ignores; and
    // once stopped, it was reaped.
    const script = `
import { Alcove } from ${JSON.stringify(mod)};
const drv = await Alcove.start();
const probe = 'readlink /proc/$0/fd/0 /proc/$0/fd/1 /proc/$1/fd/1 /proc/$0/fd/2 /proc/$1/fd/2; grep -E "^Sig(Blk|Ign)" /proc/$0/status';
const sh = new Deno.Command("sh", { args: ["-c", probe, String(drv.pid), String(Deno.pid)] });
const [in0, out1, host1, err2, host2, ...masks] = new TextDecoder().decode(sh.outputSync().stdout).trim().split("\\n");
const env = (await drv.environ([await drv.fork([])])).filter((v) => /^(PROBE|ALCOVE_CHANNEL)=/.test(v));
const out = { stdio: [in0, out1 === host1, err2 === host2], masks, env };
await drv.stop();
let reaped = false;
try { Deno.statSync(\`/proc/\${drv.pid}\`); } catch { reaped = true; }
console.log(JSON.stringify({ ...out, reaped }));
`;
    const file = await Deno.makeTempFile({ suffix: ".js" });
    try {
      await Deno.writeTextFile(file, script);
      const run = async (flags: string[]) => {
        const { stdout, stderr, success } = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-prompt", ...flags, file],
          env: { ALCOVE_LIB_PATH: native.dir, PROBE: "yes" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert(success, new TextDecoder().decode(stderr));
        return JSON.parse(new TextDecoder().decode(stdout));
      };
      const viaLibrary = await run(["-A"]);
      const viaCommand = await run([
        "--allow-read",
        "--allow-env",
        "--allow-run",
        "--allow-write=/tmp",
        "--allow-net",
      ]);
      assertEquals(viaLibrary.env, ["PROBE=yes"]);
      assertEquals(viaLibrary.stdio, ["/dev/null", true, true]);
      assertEquals(viaLibrary.reaped, true);
      assertEquals(viaLibrary, viaCommand);
    } finally {
      await Deno.remove(file);
    }
  },
);

Deno.test("the Node.js and Bun backends find the temporary folder as os.tmpdir() does", async () => {
  const { temporaryFolder } = await import("../ffi/_runtime_nodelike.ts");
  const names = ["TMPDIR", "TMP", "TEMP"];
  // TMPDIR, TMP and TEMP in turn: a trailing slash, an empty one skipped, none set, the root.
  const cases: (string | null)[][] = [
    ["/x/y/"],
    ["/x/y"],
    ["", "/t"],
    [null, null, "/e"],
    ["/"],
    [],
  ];
  // Node.js's os.tmpdir() of each, in a process of its own: the environment of this one is
  // shared by the test files running beside it.
  const script = `const os = require("node:os");
const names = ${JSON.stringify(names)};
console.log(JSON.stringify(${JSON.stringify(cases)}.map((values) => {
  names.forEach((n, i) => values[i] == null ? delete process.env[n] : process.env[n] = values[i]);
  return os.tmpdir();
})));`;
  const r = await output("node", ["-e", script]);
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  const expected: string[] = JSON.parse(new TextDecoder().decode(r.stdout));
  cases.forEach((values, i) => {
    const env = Object.fromEntries(
      names.flatMap((n, j) => values[j] == null ? [] : [[n, values[j]!]]),
    );
    assertEquals(temporaryFolder(env), expected[i], JSON.stringify(values));
  });
});
