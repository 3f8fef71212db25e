/**
 * The control plane under Deno, Node.js and Bun side by side, in one run: the same rows
 * (getpid round trip, 1000 calls in flight, spawn of /bin/true one at a time, 256 MiB of
 * stdout) measured by scripts/bench/runtime_rows.mjs under each runtime, each against the
 * same C floors and against that runtime's own way to run a program (Deno.Command,
 * child_process.spawn, Bun.spawn); targets as in scripts/bench/main.ts. Beside the round
 * trip, the runtime's own: a bare round trip on its Unix sockets with the C echo, which no
 * driver on that runtime can beat. Node.js and Bun run
 * the npm build (built first unless `--no-build`); a runtime that cannot run is reported,
 * not measured. A driver's start (start, getpid, stop; not the first in the process) is
 * measured against the same peers, and whole runs of a script that imports the npm build,
 * starts, calls getpid and stops, against an empty script and one that only runs /bin/true
 * the runtime's own way, under Node.js and Bun (Deno's are in main.ts).
 *
 * @example
 * ```sh
 * deno run -A scripts/bench/runtimes.ts              # 5 repetitions each
 * deno run -A scripts/bench/runtimes.ts --quick      # a short run (32 MiB, fewer calls)
 * ```
 * @module
 */
import {
  bounded,
  buildFloors,
  type ColdRuntime,
  coldStart,
  loadAverage,
  machine,
  printTable,
  rows,
  runFloor,
  Series,
} from "./main.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const quick = Deno.args.includes("--quick");
const repsAt = Deno.args.indexOf("--reps");
const reps = repsAt >= 0 ? Number(Deno.args[repsAt + 1]) : quick ? 3 : 5;
if (!Number.isInteger(reps) || reps < 1) throw new RangeError("--reps takes a positive integer");
const BYTES = (quick ? 32 : 256) * 1024 * 1024;

interface Sample {
  peer: string;
  rtt: number;
  socket: string;
  socketRtt: number;
  burst: number;
  spawn: number;
  peerSpawn: number;
  childProcessSpawn: number;
  start: number;
  stdout: number;
  peerStdout: number;
}

/** The runtimes, the command that runs a script, and the module each one imports. */
const RUNTIMES: [string, string[], string][] = [
  ["Deno", [Deno.execPath(), "run", "-A"], ROOT + "mod.ts"],
  ["Node.js", ["node"], ROOT + "npm/mod.js"],
  ["Bun", ["npx", "--yes", "bun@1.4.4"], ROOT + "npm/mod.js"],
];

async function measure(cmd: string[], module: string): Promise<Sample[] | string> {
  const args = [...cmd.slice(1), ROOT + "scripts/bench/runtime_rows.mjs", module, String(reps)];
  if (quick) args.push("quick");
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd[0], { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    return `cannot run ${cmd[0]}: ${(e as Error).message}`;
  }
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    return `exited with ${out.code}: ${new TextDecoder().decode(out.stderr).trim()}`;
  }
  return text.trim().split("\n").map((l) => JSON.parse(l) as Sample);
}

if (!Deno.args.includes("--no-build")) {
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ROOT + "scripts/build_npm.ts"],
    stdout: "null",
  }).output();
  if (!built.success) throw new Error("Cannot build the npm package (scripts/build_npm.ts)");
}
await buildFloors(ROOT + "build/bench");
console.log(`command: deno run -A scripts/bench/runtimes.ts ${Deno.args.join(" ")}`.trimEnd());
console.log(`machine: ${await machine()}; load average ${await loadAverage()}`);

const floors = {
  rtt: new Series("C ping-pong, unrelayed (floor)", "µs"),
  burst: new Series("C 1000 messages in flight (floor)", "calls/s"),
  spawn: new Series("C posix_spawn, stdio on pipes, read to EOF, waitpid (floor)", "µs"),
  stdout: new Series("C read of the pipe (floor)", "MB/s"),
};
const measured: [string, Sample[] | string][] = [];
for (const [name, cmd, module] of RUNTIMES) {
  measured.push([name, await measure(cmd, module)]);
  for (let rep = 0; rep < reps; rep++) {
    floors.rtt.add(await runFloor("pingpong", ["rtt", 0, quick ? 1000 : 4000, 0]));
    floors.burst.add(await runFloor("pingpong", ["batch", 0, quick ? 100 : 400, 1000, 0]));
    floors.spawn.add(await runFloor("spawn", ["piped", quick ? 40 : 200, 1, "/bin/true"]));
    floors.stdout.add(await runFloor("pipe", [0, BYTES]));
  }
}

for (const [name, samples] of measured) {
  rows.push({ heading: `${name}` });
  if (typeof samples === "string") {
    rows.push({ heading: `  not measured: ${samples}` });
    continue;
  }
  const peer = samples[0].peer;
  const series = (what: string, unit: "µs" | "calls/s" | "MB/s", key: keyof Sample) => {
    const s = new Series(what, unit);
    for (const sample of samples) s.add(sample[key] as number);
    return s;
  };
  const rtt = series("getpid round trip, depth 0", "µs", "rtt");
  const socketRtt = series(
    `${samples[0].socket} Unix socket round trip (C echo)`,
    "µs",
    "socketRtt",
  );
  const burst = series("getpid ×1000 in flight", "calls/s", "burst");
  const spawn = series("spawn /bin/true, one at a time", "µs", "spawn");
  const peerSpawn = series(`${peer} /bin/true, one at a time`, "µs", "peerSpawn");
  const cp = series("child_process.spawn /bin/true, one at a time", "µs", "childProcessSpawn");
  const stdout = series(`stdout of head -c ${BYTES} /dev/zero, depth 1`, "MB/s", "stdout");
  const peerStdout = series(`${peer} stdout stream`, "MB/s", "peerStdout");
  rows.push({
    series: rtt,
    floor: floors.rtt,
    target: bounded("µs", floors.rtt.median * 1.5, "≤1.5x floor", floors.rtt.median),
  });
  rows.push({ series: socketRtt, floor: floors.rtt, note: "the runtime's own floor" });
  rows.push({
    series: burst,
    floor: floors.burst,
    target: bounded("calls/s", 100_000, "≥100k/s", floors.burst.median),
  });
  rows.push({
    series: spawn,
    floor: floors.spawn,
    peer: peerSpawn,
    peerName: peer,
    target: {
      value: Math.min(floors.spawn.median * 1.2, peerSpawn.median),
      text: `≤1.2x floor and < ${peer}`,
    },
  });
  rows.push({ series: peerSpawn, floor: floors.spawn });
  const start = series("Alcove.start + getpid + stop, not the first in the process", "µs", "start");
  rows.push({
    series: start,
    peer: peerSpawn,
    peerName: peer,
    target: { value: peerSpawn.median * 2, text: `≤2x ${peer}` },
  });
  if (peer !== "child_process.spawn") rows.push({ series: cp, floor: floors.spawn });
  rows.push({
    series: stdout,
    floor: floors.stdout,
    peer: peerStdout,
    peerName: peer,
    target: bounded("MB/s", peerStdout.median * 0.8, `≥0.8x ${peer}`, floors.stdout.median),
  });
  rows.push({ series: peerStdout, floor: floors.stdout });
}
rows.push({ heading: "C floors (measured between the runtimes' runs)" });
for (const s of Object.values(floors)) rows.push({ series: s });

/** The executable behind a command (npx runs Bun through a wrapper, too slow to time whole). */
async function executable(cmd: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), ROOT + "scripts/bench/exec_path.mjs"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

// Whole runs of a script that imports the npm build, starts, calls getpid and stops (Deno's
// are in scripts/bench/main.ts, section 0b).
const COLD: [string, string[], Omit<ColdRuntime, "run">][] = [
  ["Node.js", ["node"], {
    name: "node",
    module: new URL(`file://${ROOT}npm/mod.js`).href,
    spawn: `import { spawn } from "node:child_process";
await new Promise((resolve, reject) =>
  spawn("/bin/true", [], { stdio: ["ignore", "pipe", "pipe"] }).once("error", reject).once("close", resolve)
);`,
    spawnName: `child_process.spawn("/bin/true")`,
    floor: `import { createServer } from "node:net";
import { spawn } from "node:child_process";
const server = createServer();
await new Promise((resolve) => server.listen(PATH, resolve));
const echo = spawn(ECHO, [PATH], { stdio: ["ignore", "ignore", "inherit"] });
const exited = new Promise((resolve) => echo.once("exit", resolve));
const conn = await new Promise((resolve) => server.once("connection", resolve));
server.close();
conn.write(new Uint8Array(8));
await new Promise((resolve) => conn.once("data", resolve));
conn.end();
await exited;`,
    floorName: "node:net, child_process.spawn",
  }],
  ["Bun", ["npx", "--yes", "bun@1.4.4"], {
    name: "bun",
    module: new URL(`file://${ROOT}npm/mod.js`).href,
    spawn: `const c = Bun.spawn(["/bin/true"], { stdout: "pipe", stderr: "pipe" });
await new Response(c.stdout).arrayBuffer();
await c.exited;`,
    spawnName: `Bun.spawn(["/bin/true"])`,
    floor: `let answered;
const done = new Promise((resolve) => (answered = resolve));
const server = Bun.listen({
  unix: PATH,
  socket: { open(s) { s.write(new Uint8Array(8)); }, data(s) { s.end(); answered(); } },
});
const echo = Bun.spawn([ECHO, PATH], { stdio: ["ignore", "ignore", "inherit"] });
await done;
server.stop(true);
await echo.exited;`,
    floorName: "Bun.listen, Bun.spawn",
  }],
];
const rounds = quick ? 5 : 15;
const dir = await Deno.makeTempDir({ prefix: "alcove-bench-" });
try {
  for (const [name, cmd, rt] of COLD) {
    rows.push({ heading: `${name}: whole runs of a script (ms; ${rounds} rounds)` });
    const exe = await executable(cmd);
    if (exe === undefined) {
      rows.push({ heading: `  not measured: cannot run ${cmd.join(" ")}` });
      continue;
    }
    await coldStart({ ...rt, run: [exe] }, dir, rounds);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
console.log(`medians of ${reps} repetitions; load average now ${await loadAverage()}\n`);
printTable();
