/**
 * The control-plane benchmarks: the driver side by side with a C floor (the same
 * work done with raw system calls) and with what users use instead
 * (`Deno.Command`), in one run, printed as one table of medians with ratios and
 * whether each target is met.
 *
 * 0. Starting a driver: `Alcove.start()` + getpid + `stop()` in a process that started one
 *    before, against `Deno.Command("/bin/true").output()` (and `Alcove.run(["/bin/true"])`);
 *    then whole `deno run`s of a script that imports mod.ts, starts, calls getpid and stops,
 *    against an empty script, one that only runs `Deno.Command("/bin/true")`, and
 *    bubblewrap's whole run of a namespaced `true`, and the same script without --allow-ffi
 *    (where Deno.Command, not libalcove.so, starts the root). The cold target is what the
 *    script adds to the runtime's own start (each run's script minus the empty one of the
 *    same round).
 * 1. getpid round trip, one call at a time, at pipeline depth 0, 1 and 4, against
 *    a socketpair ping-pong relayed through as many processes.
 * 2. getpid with 1000 calls in flight (calls per second), depth 0 and 1.
 * 3. fork + execvp /bin/true + exit event, one at a time and 8 in flight, against
 *    `Deno.Command("/bin/true").output()` and posix_spawn with the program's stdio on
 *    pipes read to EOF, then waitpid (bare posix_spawn and fork are shown too).
 *    The same with spawn (one request: fork, set up, exec, answered once), and the CPU
 *    time the root control process and the host spend per spawn.
 * 3b. A full sandbox running /bin/true (user, pid, net, mount, uts, ipc namespaces; a new
 *    root with /usr and /etc read-only, /bin, /lib* symlinks, proc, dev, tmpfs /tmp; an
 *    rlimit; no capabilities; the default seccomp profile) through spawn, against
 *    bubblewrap with the same options and a C program doing the same setup.
 * 3c. What a cgroup with memory, pids and cpu limits adds to spawning /bin/true, one at a
 *    time (spawn with the `cgroup` option minus spawn without), against a C program doing
 *    what spawn does: mkdir in the same hierarchies, the limit writes, the placement (clone3
 *    into v2, cgroup.procs for v1), the reads of the figures spawn reports, and rmdir.
 * 4. 256 MiB of stdout from a program at depth 1 and 16, against `Deno.Command`
 *    reading the same program and a C program reading its pipe.
 * 5. Memory (VmRSS) of control processes and the host's growth.
 *
 * The C floors are compiled with `gcc -O2` into build/bench/ (git-ignored).
 *
 * @example
 * ```sh
 * deno task bench                                  # builds, then runs everything
 * deno run -A scripts/bench/main.ts --quick        # a short run that checks the bench works
 * deno run -A scripts/bench/main.ts --reps 11 --only getpid,spawn
 * ```
 * @module
 */
import {
  Alcove,
  assemble,
  Cgroup,
  compilePolicy,
  DEFAULT_PROFILE,
  type Mount,
  nativeArch,
  type SpawnOptions,
} from "../../mod.ts";
import { findNative } from "../../ffi/_native.ts";
import { socketRoundTrip } from "./socket_rtt.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECTIONS = [
  "start",
  "getpid",
  "calls",
  "spawn",
  "sandbox",
  "cgroup",
  "stdout",
  "rss",
] as const;
type Section = typeof SECTIONS[number];

const USAGE = `usage: deno run -A scripts/bench/main.ts [options]

  --quick           a short run (fewer repetitions, 32 MiB instead of 256 MiB)
  --reps N          repetitions per measurement; medians are printed (default 9, quick 3)
  --only A,B        only these sections: ${SECTIONS.join(", ")}
  --cbuild DIR      where the C floors are compiled (default build/bench)
  --help            this text`;

interface Config {
  quick: boolean;
  reps: number;
  only: Set<Section>;
  cbuild: string;
  /** Calls per repetition of the sequential getpid round trip. */
  rttCalls: number;
  /** Milliseconds per repetition of the 1000-in-flight getpid run. */
  burstMs: number;
  /** Programs run per repetition: one at a time, and 8 in flight. */
  spawnSeq: number;
  spawnConc: number;
  /** Bytes of stdout per repetition. */
  bytes: number;
}

function parseArgs(args: string[]): Config {
  let quick = false;
  let reps: number | undefined;
  let only: Set<Section> = new Set(SECTIONS);
  let cbuild = ROOT + "build/bench";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") quick = true;
    else if (a === "--reps") {
      reps = Number(value());
      if (!Number.isInteger(reps) || reps < 1) fail("--reps must be a positive integer");
    } else if (a === "--only") {
      const names = value().split(",");
      for (const n of names) {
        if (!(SECTIONS as readonly string[]).includes(n)) {
          fail(`--only: unknown section ${JSON.stringify(n)} (known: ${SECTIONS.join(", ")})`);
        }
      }
      only = new Set(names as Section[]);
    } else if (a === "--cbuild") cbuild = new URL(value(), `file://${Deno.cwd()}/`).pathname;
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else fail(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return {
    quick,
    reps: reps ?? (quick ? 3 : 9),
    only,
    cbuild,
    rttCalls: quick ? 500 : 2000,
    burstMs: quick ? 250 : 700,
    spawnSeq: quick ? 40 : 200,
    spawnConc: quick ? 80 : 400,
    bytes: quick ? 32 * 1024 * 1024 : 256 * 1024 * 1024,
  };
}

function fail(why: string): never {
  console.error(`bench: ${why}`);
  Deno.exit(2);
}

// ---------------------------------------------------------------------------
// The C floors

/** The C floors, each a program of scripts/bench/c/. */
const FLOORS = ["pingpong", "echo", "spawn", "pipe", "sandbox", "cgroup"] as const;
type Floor = typeof FLOORS[number];

async function mtime(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch {
    return -1;
  }
}

/** Compiles each floor unless its binary is newer than its source and floor.h. */
export async function buildFloors(dir: string): Promise<void> {
  cbuild = dir;
  await Deno.mkdir(dir, { recursive: true });
  const headerTime = await mtime(ROOT + "scripts/bench/c/floor.h");
  for (const name of FLOORS) {
    const src = ROOT + `scripts/bench/c/${name}.c`;
    const bin = `${dir}/${name}`;
    if (await mtime(bin) >= Math.max(await mtime(src), headerTime)) continue;
    // Another run may be compiling too: build aside, then rename into place.
    const tmp = `${bin}.${Deno.pid}.tmp`;
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("gcc", {
        args: ["-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-o", tmp, src],
        stdout: "inherit",
        stderr: "inherit",
      }).output();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        fail("cannot build the C floors: gcc is not installed");
      }
      throw e;
    }
    if (!out.success) fail(`cannot build the C floor ${src} (see the compiler output above)`);
    await Deno.rename(tmp, bin);
  }
}

let cbuild = "";

/** Runs a floor; it prints one number. */
export async function runFloor(name: Floor, args: (string | number)[]): Promise<number> {
  const out = await new Deno.Command(`${cbuild}/${name}`, {
    args: args.map(String),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const n = Number(text);
  if (!out.success || !Number.isFinite(n)) {
    throw new Error(
      `The C floor ${name} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return n;
}

// ---------------------------------------------------------------------------
// Results and the table

export type Unit = "ms" | "µs" | "calls/s" | "MB/s" | "kB";
/** Lower is better for times and sizes, higher for rates. */
const HIGHER_IS_BETTER: Record<Unit, boolean> = {
  "ms": false,
  "µs": false,
  "calls/s": true,
  "MB/s": true,
  "kB": false,
};

export class Series {
  readonly samples: number[] = [];
  constructor(readonly what: string, readonly unit: Unit) {}
  add(v: number): void {
    this.samples.push(v);
  }
  get median(): number {
    const s = [...this.samples].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }
  get min(): number {
    return Math.min(...this.samples);
  }
  get max(): number {
    return Math.max(...this.samples);
  }
}

/** A target relative to a peer (or absolute), never better than the floor allows. */
export interface Target {
  /** The required median, in the row's unit. */
  value: number;
  /** How it reads in the table. */
  text: string;
}

/**
 * The target from a peer ratio (or an absolute number), bounded by the floor: a
 * target that would beat the floor becomes 1.2x the floor (in time; a rate of
 * floor / 1.2).
 */
export function bounded(unit: Unit, wanted: number, text: string, floor: number): Target {
  const higher = HIGHER_IS_BETTER[unit];
  const beyondFloor = higher ? wanted > floor : wanted < floor;
  if (!beyondFloor) return { value: wanted, text };
  return { value: higher ? floor / 1.2 : floor * 1.2, text: `${text} → 1.2x floor` };
}

export interface Row {
  heading?: string;
  series?: Series;
  floor?: Series;
  peer?: Series;
  peerName?: string;
  target?: Target;
  note?: string;
}

export const rows: Row[] = [];

function fmt(v: number, unit: Unit): string {
  if (unit === "ms") return v.toFixed(2);
  if (unit === "µs") return v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return Math.round(v).toLocaleString("en-US");
}

function ratio(a: Series, b: Series): string {
  return `${(a.median / b.median).toFixed(2)}x`;
}

function met(r: Row): string {
  if (!r.series || !r.target) return "";
  const m = r.series.median;
  const ok = HIGHER_IS_BETTER[r.series.unit] ? m >= r.target.value : m <= r.target.value;
  return ok ? "✓" : "✗";
}

/** Prints the table of `rows`, then how many of their targets are met. */
export function printTable(): void {
  const header = [
    "measurement",
    "median",
    "unit",
    "min..max",
    "vs C floor",
    "vs peer",
    "target",
    "",
  ];
  const lines: string[][] = [];
  for (const r of rows) {
    if (r.heading !== undefined) {
      lines.push([r.heading]);
      continue;
    }
    const s = r.series!;
    const peer = r.peer ? `${ratio(s, r.peer)} ${r.peerName ?? ""}`.trim() : "";
    lines.push([
      "  " + s.what,
      fmt(s.median, s.unit),
      s.unit,
      `${fmt(s.min, s.unit)}..${fmt(s.max, s.unit)}`,
      r.floor ? ratio(s, r.floor) : "",
      peer,
      r.target ? `${r.target.text} (${fmt(r.target.value, s.unit)})` : (r.note ?? ""),
      met(r),
    ]);
  }
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.filter((l) => l.length > 1).map((l) => l[i].length))
  );
  const right = new Set([1, 3, 4]);
  const render = (cells: string[]) =>
    cells.map((c, i) => right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])).join("  ")
      .trimEnd();
  console.log(render(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(l.length === 1 ? l[0] : render(l));
  console.log(
    "\nratios are median / median in the row's unit: for ms, µs and kB lower is better, for calls/s" +
      " and MB/s higher is better; a target that would beat the C floor is 1.2x the floor instead",
  );
  const verdicts = rows.filter((r) => r.target).map(met);
  const missed = verdicts.filter((v) => v === "✗").length;
  console.log(`\ntargets met: ${verdicts.length - missed} of ${verdicts.length}`);
}

export async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

// ---------------------------------------------------------------------------
// Helpers

function ms(): number {
  return performance.now();
}

async function chain(drv: Alcove, depth: number): Promise<number[]> {
  const pipeline: number[] = [];
  for (let d = 0; d < depth; d++) pipeline.push(await drv.fork(pipeline));
  return pipeline;
}

/** Runs `total` tasks with at most `inflight` at a time. */
async function inFlight(total: number, inflight: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, total) }, worker));
}

async function vmRSS(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = status.match(/^VmRSS:\s+(\d+) kB/m);
  if (!m) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** A bare runtime pipe: Deno.Command with the C echo, 32-byte messages. */
async function denoPipeRoundTrip(calls: number): Promise<number> {
  const child = new Deno.Command(`${cbuild}/echo`, { stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  const msg = new Uint8Array(32).fill(120);
  const once = async () => {
    await writer.write(msg);
    let got = 0;
    while (got < msg.length) {
      const r = await reader.read();
      if (r.done) throw new Error("The echo program ended early");
      got += r.value.length;
    }
  };
  for (let i = 0; i < calls / 10; i++) await once();
  const t = ms();
  for (let i = 0; i < calls; i++) await once();
  const us = (ms() - t) * 1000 / calls;
  await writer.close();
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
  return us;
}

// ---------------------------------------------------------------------------
// 0. starting a driver

async function startGetpidStop(): Promise<void> {
  const drv = await Alcove.start();
  await drv.getpid([]);
  await drv.stop();
}

async function runTrue(): Promise<void> {
  const { status } = await Alcove.run(["/bin/true"]);
  if (!status.success) throw new Error(`Alcove.run /bin/true ended with ${JSON.stringify(status)}`);
}

/** Milliseconds of a whole command, from spawn to exit. */
export async function wholeRun(
  argv: readonly string[],
  env?: Record<string, string>,
): Promise<number> {
  const t = ms();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "piped",
    env,
  }).output();
  const took = ms() - t;
  if (!out.success) {
    throw new Error(
      `${argv.join(" ")} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return took;
}

/** A namespaced `true`, as bubblewrap's and our command line's options. */
export const NAMESPACED_TRUE: readonly string[] = [
  "--unshare-all",
  "--ro-bind",
  "/",
  "/",
  "--proc",
  "/proc",
  "--dev",
  "/dev",
  "true",
];

/** bubblewrap's whole run of a namespaced `true` (as scripts/bench/cli.ts runs it). */
const BWRAP_TRUE = ["bwrap", ...NAMESPACED_TRUE];

async function benchStart(cfg: Config): Promise<void> {
  const perRep = cfg.quick ? 10 : 30;
  const warm = new Series("Alcove.start + getpid + stop, not the first in the process", "ms");
  const command = new Series(`Deno.Command("/bin/true").output()`, "ms");
  const run = new Series(`Alcove.run(["/bin/true"])`, "ms");
  await startGetpidStop();
  await commandTrue();
  await runTrue();
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (
      const [series, task] of [[warm, startGetpidStop], [command, commandTrue], [
        run,
        runTrue,
      ]] as const
    ) {
      const t = ms();
      for (let k = 0; k < perRep; k++) await task();
      series.add((ms() - t) / perRep);
    }
  }

  rows.push({
    heading: `0. starting a driver (ms; ${perRep} in a row × ${cfg.reps} reps)`,
  });
  rows.push({
    series: warm,
    peer: command,
    peerName: "Deno.Command",
    target: { value: command.median * 2, text: "≤2x Deno.Command" },
  });
  rows.push({ series: command, note: "the peer" });
  rows.push({ series: run, peer: command, peerName: "Deno.Command", note: "reference" });

  const dir = await Deno.makeTempDir({ prefix: "alcove-bench-" });
  try {
    let bwrap = true;
    try {
      await wholeRun(BWRAP_TRUE);
    } catch (e) {
      bwrap = false;
      console.log(`bwrap: not measured (${(e as Error).message.split("\n")[0]})`);
    }
    const rounds = cfg.quick ? 5 : 3 * cfg.reps;
    const bwrapWhole = new Series(`bwrap ${BWRAP_TRUE.slice(1).join(" ")}, whole run`, "ms");
    // The same start script without --allow-ffi: Deno.Command starts the root instead of
    // libalcove.so (coldStart names the script's file after the runtime).
    const noFfi = new Series(
      "deno run, import + start + getpid + stop, without --allow-ffi (Deno.Command starts the root)",
      "ms",
    );
    const noFfiArgv = [
      Deno.execPath(),
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-run",
      "--allow-write",
      "--allow-net",
      `${dir}/${DENO_COLD.name.replace(/\W+/g, "-")}-start.mjs`,
    ];
    rows.push({ heading: `0b. whole runs of a script (ms; ${rounds} rounds)` });
    const start = await coldStart(DENO_COLD, dir, rounds, [
      [noFfi, noFfiArgv],
      ...(bwrap ? [[bwrapWhole, BWRAP_TRUE] as [Series, string[]]] : []),
    ]);
    rows.push({ series: noFfi, peer: start.series, peerName: "with -A", note: "reference" });
    if (bwrap) rows.push({ series: bwrapWhole, note: "reference" });
    // What the first run after a change costs: every module transpiled again.
    const fresh = new Series("deno run, import + start + getpid + stop, empty DENO_DIR", "ms");
    for (let i = 0; i < (cfg.quick ? 1 : 3); i++) {
      const cache = `${dir}/deno-dir-${i}`;
      fresh.add(await wholeRun(start.argv, { DENO_DIR: cache }));
      await Deno.remove(cache, { recursive: true });
    }
    rows.push({ series: fresh, peer: start.series, peerName: "cached", note: "reference" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A runtime whose whole start is measured by {@linkcode coldStart}. */
export interface ColdRuntime {
  /** How it reads in the table. */
  name: string;
  /** The command that runs a script file. */
  run: readonly string[];
  /** The module to import, as a file URL (mod.ts, or the npm build's mod.js). */
  module: string;
  /** A script that runs /bin/true to its exit the runtime's own way, and its name. */
  spawn: string;
  spawnName: string;
  /**
   * A script that does a start's whole job with the runtime's own calls and nothing else:
   * listen on a Unix socket, spawn the C echo (`ECHO`, connecting to `PATH`), accept it, one
   * round trip of 8 bytes, then the echo's exit; and its name. The floor of a cold start.
   */
  floor: string;
  floorName: string;
}

const DENO_COLD: ColdRuntime = {
  name: "deno run",
  run: [Deno.execPath(), "run", "-A"],
  module: new URL("../../mod.ts", import.meta.url).href,
  spawn: `await new Deno.Command("/bin/true").output();`,
  spawnName: `Deno.Command("/bin/true")`,
  floor: `const listener = Deno.listen({ transport: "unix", path: PATH });
const echo = new Deno.Command(ECHO, { args: [PATH], stdout: "null" }).spawn();
const conn = await listener.accept();
listener.close();
await conn.write(new Uint8Array(8));
await conn.read(new Uint8Array(64));
conn.close();
await echo.status;`,
  floorName: "Deno.listen, Deno.Command",
};

/**
 * Whole runs, in rounds, of an empty script, one that imports the module, one that also
 * starts a driver, calls getpid and stops, one that only runs /bin/true the runtime's own
 * way, and one that does a start's job with the runtime's own calls (a socket, the C echo,
 * one round trip; and of `alongside`, once a round), after a warm-up of each (the runtime's
 * caches, the page cache), in turn so that a drift of the machine's speed touches all alike.
 * Adds the rows: the start script above the empty one of the same round (the target, ≤10
 * ms, but never below the runtime's own first spawn above the empty script), beside the
 * same job's, then each script.
 */
export async function coldStart(
  rt: ColdRuntime,
  dir: string,
  rounds: number,
  alongside: [Series, readonly string[]][] = [],
): Promise<{ argv: string[]; series: Series }> {
  const scripts = {
    empty: "",
    import: `import ${JSON.stringify(rt.module)};\n`,
    start: `import { Alcove } from ${JSON.stringify(rt.module)};
const drv = await Alcove.start();
await drv.getpid([]);
await drv.stop();
`,
    spawn: `${rt.spawn}\n`,
    floor: `const ECHO = ${JSON.stringify(`${cbuild}/echo`)};
const PATH = ${JSON.stringify(`${dir}/floor-`)} + (globalThis.Deno ? Deno.pid : process.pid);
${rt.floor}
`,
  };
  const argv: Record<string, string[]> = {};
  for (const [name, text] of Object.entries(scripts)) {
    const file = `${dir}/${rt.name.replace(/\W+/g, "-")}-${name}.mjs`;
    await Deno.writeTextFile(file, text);
    argv[name] = [...rt.run, file];
  }
  const whole: Record<string, Series> = {
    empty: new Series(`${rt.name}, empty script`, "ms"),
    import: new Series(`${rt.name}, import the module only`, "ms"),
    start: new Series(`${rt.name}, import + start + getpid + stop`, "ms"),
    spawn: new Series(`${rt.name}, ${rt.spawnName} only`, "ms"),
    floor: new Series(`${rt.name}, the same job with ${rt.floorName} only`, "ms"),
  };
  const above = new Series(
    `${rt.name}: import + start + getpid + stop, above the empty script`,
    "ms",
  );
  const spawnAbove = new Series(
    `${rt.name}: ${rt.spawnName} above the empty script (the runtime's own first spawn)`,
    "ms",
  );
  const floorAbove = new Series(
    `${rt.name}: the same job with ${rt.floorName} (a socket, the C echo, one round trip) above the empty script`,
    "ms",
  );
  for (const a of Object.values(argv)) await wholeRun(a);
  for (let round = 0; round < rounds; round++) {
    const got: Record<string, number> = {};
    for (const [name, a] of Object.entries(argv)) got[name] = await wholeRun(a);
    for (const [name, series] of Object.entries(whole)) series.add(got[name]);
    above.add(got.start - got.empty);
    spawnAbove.add(got.spawn - got.empty);
    floorAbove.add(got.floor - got.empty);
    for (const [series, a] of alongside) series.add(await wholeRun(a));
  }
  rows.push({
    series: above,
    peer: floorAbove,
    peerName: "the same job",
    target: bounded("ms", 10, "≤10 ms", spawnAbove.median),
  });
  rows.push({ series: spawnAbove, note: "the runtime's own floor" });
  rows.push({ series: floorAbove, note: "reference" });
  for (const series of Object.values(whole)) {
    rows.push({ series, peer: whole.empty, peerName: "empty script", note: "reference" });
  }
  return { argv: argv.start, series: whole.start };
}

// ---------------------------------------------------------------------------
// 1. getpid round trip, one at a time

async function benchGetpid(cfg: Config, drv: Alcove): Promise<void> {
  const depths = [0, 1, 4];
  const deepest = await chain(drv, 4);
  const driver = depths.map((d) => new Series(`driver getpid, depth ${d}`, "µs"));
  const floor = depths.map((d) =>
    new Series(
      d === 0
        ? "C ping-pong, unrelayed (floor, depth 0)"
        : `C ping-pong relayed by ${d} process${d > 1 ? "es" : ""} (floor)`,
      "µs",
    )
  );
  const pinned = depths.map((d) => new Series(`C ping-pong, depth ${d}, all on one CPU`, "µs"));
  const apart = depths.map((d) =>
    new Series(`C ping-pong, depth ${d}, every hop across CPUs`, "µs")
  );
  const denoPipe = new Series("Deno pipe round trip (Deno.Command + C echo)", "µs");
  const denoSocket = new Series(
    "Deno Unix socket round trip (Deno.listen, conn.write + conn.read, C echo)",
    "µs",
  );
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const [i, d] of depths.entries()) {
      const p = deepest.slice(0, d);
      for (let k = 0; k < cfg.rttCalls / 10; k++) await drv.getpid(p);
      const t = ms();
      for (let k = 0; k < cfg.rttCalls; k++) await drv.getpid(p);
      driver[i].add((ms() - t) * 1000 / cfg.rttCalls);
      floor[i].add(await runFloor("pingpong", ["rtt", d, cfg.rttCalls * 2, 0]));
      pinned[i].add(await runFloor("pingpong", ["rtt", d, cfg.rttCalls * 2, 1]));
      apart[i].add(await runFloor("pingpong", ["rtt", d, cfg.rttCalls * 2, 2]));
    }
    denoPipe.add(await denoPipeRoundTrip(cfg.rttCalls));
    denoSocket.add(await socketRoundTrip(`${cbuild}/echo`, cfg.rttCalls));
  }
  rows.push({
    heading:
      `1. getpid round trip, one call at a time (µs per call; ${cfg.rttCalls} calls × ${cfg.reps} reps)`,
  });
  for (const i of depths.keys()) {
    const target = bounded("µs", floor[i].median * 1.5, "≤1.5x floor", floor[i].median);
    rows.push({
      series: driver[i],
      floor: floor[i],
      peer: denoPipe,
      peerName: "Deno pipe",
      target,
    });
    rows.push({ series: floor[i] });
    rows.push({ series: pinned[i], floor: floor[i], note: "reference" });
    rows.push({ series: apart[i], floor: floor[i], note: "reference" });
  }
  rows.push({ series: denoPipe, floor: floor[0], note: "the runtime's own floor" });
  rows.push({ series: denoSocket, floor: floor[0], note: "the runtime's own floor" });
  await drv.kill([], deepest[0], "SIGKILL");
  await drv.event([deepest[0]]);
}

// ---------------------------------------------------------------------------
// 2. getpid with 1000 in flight

async function benchCalls(cfg: Config, drv: Alcove): Promise<void> {
  const depths = [0, 1];
  const inflight = 1000;
  const deepest = await chain(drv, 1);
  const driver = depths.map((d) =>
    new Series(`driver getpid ×${inflight} in flight, depth ${d}`, "calls/s")
  );
  const floor = depths.map((d) =>
    new Series(`C ${inflight} messages in flight, depth ${d} (floor)`, "calls/s")
  );
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const [i, d] of depths.entries()) {
      const p = deepest.slice(0, d);
      const burst = () => Promise.all(Array.from({ length: inflight }, () => drv.getpid(p)));
      await burst();
      let calls = 0;
      const t = ms();
      while (ms() - t < cfg.burstMs) {
        await burst();
        calls += inflight;
      }
      driver[i].add(calls / ((ms() - t) / 1000));
      floor[i].add(await runFloor("pingpong", ["batch", d, cfg.quick ? 100 : 400, inflight, 0]));
    }
  }
  rows.push({
    heading:
      `2. getpid, ${inflight} calls in flight on one process (calls/s; ${cfg.burstMs} ms × ${cfg.reps} reps)`,
  });
  for (const i of depths.keys()) {
    rows.push({
      series: driver[i],
      floor: floor[i],
      target: bounded("calls/s", 100_000, "≥100k/s", floor[i].median),
    });
    rows.push({ series: floor[i] });
  }
  await drv.kill([], deepest[0], "SIGKILL");
  await drv.event([deepest[0]]);
}

// ---------------------------------------------------------------------------
// 3. fork + execvp /bin/true + exit

async function driverTrue(drv: Alcove): Promise<void> {
  const pid = await drv.fork([]);
  await drv.execvp([pid], "/bin/true", ["/bin/true"]);
  const ev = await drv.event([pid]);
  if (ev?.type !== "exit" || ev.status !== 0) {
    throw new Error(`/bin/true through the driver ended with ${JSON.stringify(ev)}`);
  }
}

async function spawnTrue(drv: Alcove, options?: SpawnOptions): Promise<void> {
  const p = await drv.spawn(["/bin/true"], options);
  const status = await p.status;
  if (!status.success) {
    throw new Error(`/bin/true through spawn ended with ${JSON.stringify(status)}`);
  }
}

async function commandTrue(): Promise<void> {
  const out = await new Deno.Command("/bin/true").output();
  if (!out.success) throw new Error(`Deno.Command /bin/true exited with ${out.code}`);
}

/** CPU time (user + system) a process has used so far, in µs, from /proc (10 ms ticks). */
function cpuMicros(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // After the command's name (which may hold ") "), from field 3 on: utime and stime are
  // fields 14 and 15 of proc(5), in clock ticks of 10 ms.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function benchSpawn(cfg: Config, drv: Alcove): Promise<void> {
  const root = await drv.getpid([]);
  const modes = [
    { name: "one at a time", inflight: 1, count: cfg.spawnSeq },
    { name: "8 in flight", inflight: 8, count: cfg.spawnConc },
  ];
  const driver = modes.map((m) => new Series(`driver fork+execvp+exit, ${m.name}`, "µs"));
  const spawned = modes.map((m) => new Series(`driver spawn, ${m.name}`, "µs"));
  // What the speed costs in CPU: the root control process polls for a while (its spin
  // option) after sending something up, instead of sleeping at once.
  const rootCpu = modes.map((m) =>
    new Series(`root control process CPU per spawn, ${m.name}`, "µs")
  );
  const hostCpu = modes.map((m) => new Series(`host (Deno) CPU per spawn, ${m.name}`, "µs"));
  const command = modes.map((m) =>
    new Series(`Deno.Command("/bin/true").output(), ${m.name}`, "µs")
  );
  // The floor does the driver's job with raw system calls: the program's stdin, stdout
  // and stderr on pipes, its output read to EOF, its exit reaped. The bare spawns,
  // with the program sharing the floor's own stdio, are shown for reference.
  const floor = modes.map((m) =>
    new Series(`C posix_spawn, stdio on pipes, read to EOF, waitpid, ${m.name} (floor)`, "µs")
  );
  const bare = modes.map((m) => new Series(`C posix_spawn+waitpid, no pipes, ${m.name}`, "µs"));
  const forked = modes.map((m) => new Series(`C fork+execve+waitpid, no pipes, ${m.name}`, "µs"));
  // What spawn does by default besides: every capability set cleared (the bounding set
  // one capability at a time, about 40 system calls) and no_new_privs, from vfork.
  const confined = modes.map((m) =>
    new Series(`C vfork, the floor's pipes, capabilities cleared as spawn's, ${m.name}`, "µs")
  );
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const [i, m] of modes.entries()) {
      await inFlight(m.inflight, m.inflight, () => driverTrue(drv));
      let t = ms();
      await inFlight(m.count, m.inflight, () => driverTrue(drv));
      driver[i].add((ms() - t) * 1000 / m.count);
      await inFlight(m.inflight, m.inflight, () => spawnTrue(drv));
      const [root0, host0] = [cpuMicros(root), cpuMicros("self")];
      t = ms();
      await inFlight(m.count, m.inflight, () => spawnTrue(drv));
      spawned[i].add((ms() - t) * 1000 / m.count);
      rootCpu[i].add((cpuMicros(root) - root0) / m.count);
      hostCpu[i].add((cpuMicros("self") - host0) / m.count);
      await inFlight(m.inflight, m.inflight, commandTrue);
      t = ms();
      await inFlight(m.count, m.inflight, commandTrue);
      command[i].add((ms() - t) * 1000 / m.count);
      floor[i].add(await runFloor("spawn", ["piped", m.count, m.inflight, "/bin/true"]));
      bare[i].add(await runFloor("spawn", ["posix_spawn", m.count, m.inflight, "/bin/true"]));
      forked[i].add(await runFloor("spawn", ["fork", m.count, m.inflight, "/bin/true"]));
      confined[i].add(await runFloor("spawn", ["confined", m.count, m.inflight, "/bin/true"]));
    }
  }
  rows.push({
    heading:
      `3. run /bin/true to its exit (µs per program; ${cfg.spawnSeq} one at a time, ${cfg.spawnConc} 8 in flight, × ${cfg.reps} reps)`,
  });
  for (const i of modes.keys()) {
    // One request: the design's 1.2x floor, and faster than Deno.Command.
    const wanted = Math.min(floor[i].median * 1.2, command[i].median);
    rows.push({
      series: spawned[i],
      floor: floor[i],
      peer: command[i],
      peerName: "Deno.Command",
      target: { value: wanted, text: "≤1.2x floor and < Deno.Command" },
    });
    const target = bounded("µs", command[i].median * 0.6, "≤0.6x Deno.Command", floor[i].median);
    rows.push({
      series: driver[i],
      floor: floor[i],
      peer: command[i],
      peerName: "Deno.Command",
      target,
    });
    rows.push({ series: command[i], floor: floor[i] });
    rows.push({ series: floor[i] });
    rows.push({ series: bare[i], floor: floor[i], note: "reference" });
    rows.push({ series: forked[i], floor: floor[i], note: "reference" });
    rows.push({
      series: confined[i],
      floor: floor[i],
      peer: spawned[i],
      peerName: "spawn",
      note: "reference",
    });
    rows.push({ series: rootCpu[i], note: "reference (10 ms ticks over each batch)" });
    rows.push({ series: hostCpu[i], note: "reference (10 ms ticks over each batch)" });
  }
}

// ---------------------------------------------------------------------------
// 3b. a full sandbox

const SANDBOX_MOUNTS: Mount[] = [
  { type: "ro-bind", source: "/usr", target: "/usr" },
  { type: "ro-bind", source: "/etc", target: "/etc" },
  { type: "symlink", source: "usr/bin", target: "/bin" },
  { type: "symlink", source: "usr/lib", target: "/lib" },
  { type: "symlink", source: "usr/lib64", target: "/lib64" },
  { type: "symlink", source: "usr/sbin", target: "/sbin" },
  { type: "proc", target: "/proc" },
  { type: "dev", target: "/dev" },
  { type: "tmpfs", target: "/tmp" },
];

const SANDBOX: SpawnOptions = {
  namespaces: ["user", "pid", "net", "mount", "uts", "ipc"],
  mounts: SANDBOX_MOUNTS,
  rlimits: { NOFILE: 64 },
  seccomp: "default",
  env: { PATH: "/usr/bin:/bin" },
  newSession: true,
};

/** bubblewrap with the same options; the seccomp program comes on its stdin (--seccomp 0). */
function bwrapArgs(): string[] {
  const args = ["--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-uts"];
  args.push("--unshare-ipc", "--new-session", "--cap-drop", "ALL", "--clearenv");
  args.push("--setenv", "PATH", "/usr/bin:/bin", "--seccomp", "0");
  for (const m of SANDBOX_MOUNTS) {
    if (m.type === "ro-bind" || m.type === "symlink") args.push(`--${m.type}`, m.source, m.target);
    else args.push(`--${m.type}`, m.target);
  }
  return [...args, "/bin/true"];
}

async function bwrapTrue(bpf: Uint8Array): Promise<void> {
  const child = new Deno.Command("bwrap", {
    args: bwrapArgs(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(bpf);
  await w.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`bwrap /bin/true failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function benchSandbox(cfg: Config, drv: Alcove): Promise<void> {
  const arch = nativeArch();
  if (arch === undefined) fail("no seccomp table for this architecture");
  const bpf = assemble(compilePolicy(DEFAULT_PROFILE, { arches: [arch] }));
  const bpfFile = `${cbuild}/default_profile.bpf`;
  await Deno.writeFile(bpfFile, bpf);
  let bwrap = true;
  try {
    await bwrapTrue(bpf);
  } catch (e) {
    bwrap = false;
    console.log(
      `bwrap: not measured (${(e as Error).message.split("\n")[0]}; apt-get install bubblewrap)`,
    );
  }
  const modes = [
    { name: "one at a time", inflight: 1, count: cfg.quick ? 20 : 100 },
    { name: "8 in flight", inflight: 8, count: cfg.quick ? 40 : 200 },
  ];
  const driver = modes.map((m) => new Series(`driver spawn, full sandbox, ${m.name}`, "µs"));
  const peer = modes.map((m) => new Series(`bwrap, same options, ${m.name}`, "µs"));
  const floor = modes.map((m) => new Series(`C, same setup, ${m.name} (floor)`, "µs"));
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const [i, m] of modes.entries()) {
      await inFlight(m.inflight, m.inflight, () => spawnTrue(drv, SANDBOX));
      let t = ms();
      await inFlight(m.count, m.inflight, () => spawnTrue(drv, SANDBOX));
      driver[i].add((ms() - t) * 1000 / m.count);
      if (bwrap) {
        await inFlight(m.inflight, m.inflight, () => bwrapTrue(bpf));
        t = ms();
        await inFlight(m.count, m.inflight, () => bwrapTrue(bpf));
        peer[i].add((ms() - t) * 1000 / m.count);
      }
      floor[i].add(await runFloor("sandbox", [m.count, m.inflight, bpfFile, "/bin/true"]));
    }
  }
  rows.push({
    heading: `3b. /bin/true in a full sandbox (µs per program; × ${cfg.reps} reps)`,
  });
  for (const i of modes.keys()) {
    const target = bwrap
      ? bounded("µs", peer[i].median * 0.6, "≤0.6x bwrap", floor[i].median)
      : undefined;
    rows.push({
      series: driver[i],
      floor: floor[i],
      peer: bwrap ? peer[i] : undefined,
      peerName: "bwrap",
      target,
    });
    rows.push({
      series: driver[i],
      floor: floor[i],
      target: { value: floor[i].median * 1.2, text: "≤1.2x floor" },
    });
    if (bwrap) rows.push({ series: peer[i], floor: floor[i] });
    rows.push({ series: floor[i] });
  }
}

// ---------------------------------------------------------------------------
// 3c. a cgroup with limits

const CGROUP_LIMITS: SpawnOptions = { cgroup: { memoryMax: "64M", pidsMax: 32, cpuMax: 0.5 } };

async function benchCgroup(cfg: Config, drv: Alcove): Promise<void> {
  const layout = await Cgroup.layout(drv.root);
  const where: string[] = [];
  if (layout.v2 !== undefined) where.push(`v2=${layout.v2.dir}`);
  // The hierarchies spawn makes its cgroup in: those of the limits, and for the figures and
  // the kill at the end v2, or without v2 v1's cpuacct and freezer (each hierarchy once).
  const v1 = ["memory", "pids", "cpu", ...(layout.v2 === undefined ? ["cpuacct", "freezer"] : [])];
  const dirs = new Set<string>();
  for (const c of v1) {
    const dir = layout.v1[c];
    if (dir === undefined || dirs.has(dir)) continue;
    dirs.add(dir);
    where.push(`${c}=${dir}`);
  }
  if (
    Deno.uid() !== 0 || ["memory", "pids", "cpu"].some((c) => {
      try {
        Cgroup.locate(layout, c);
        return false;
      } catch {
        return true;
      }
    })
  ) {
    console.log("cgroup: not measured (needs root and the memory, pids and cpu controllers)");
    return;
  }
  const count = cfg.quick ? 20 : 100;
  const driver = new Series("driver spawn, added by a cgroup with 3 limits", "µs");
  const floor = new Series(
    "C, mkdir + limits + placement + usage read + rmdir (floor)",
    "µs",
  );
  for (let rep = 0; rep < cfg.reps; rep++) {
    await inFlight(5, 1, () => spawnTrue(drv, CGROUP_LIMITS));
    // Alternately without and with, so that a drift of the machine's load falls on both.
    let added = 0;
    for (let i = 0; i < count; i++) {
      const t0 = ms();
      await spawnTrue(drv);
      const t1 = ms();
      await spawnTrue(drv, CGROUP_LIMITS);
      added += (ms() - t1) - (t1 - t0);
    }
    driver.add(added * 1000 / count);
    floor.add(await runFloor("cgroup", [count, "/bin/true", ...where]));
  }
  rows.push({
    heading:
      `3c. /bin/true with a cgroup, one at a time (µs added per program; × ${cfg.reps} reps)`,
  });
  rows.push({
    series: driver,
    floor,
    target: { value: floor.median * 1.2, text: "≤1.2x floor" },
  });
  rows.push({ series: floor });
}

// ---------------------------------------------------------------------------
// 4. stdout throughput

function headArgs(bytes: number): string[] {
  return ["head", "-c", String(bytes), "/dev/zero"];
}

async function driverStdout(drv: Alcove, above: number[], bytes: number): Promise<number> {
  const t = ms();
  const pid = await drv.fork(above);
  const p = [...above, pid];
  await drv.execvp(p, "head", headArgs(bytes));
  let got = 0;
  for (;;) {
    const chunk = await drv.stdout(p);
    if (chunk === null) break;
    got += chunk.length;
  }
  const ev = await drv.event(p);
  const elapsed = ms() - t;
  if (got !== bytes || ev?.type !== "exit" || ev.status !== 0) {
    throw new Error(
      `stdout through the driver: read ${got} bytes, ended with ${JSON.stringify(ev)}`,
    );
  }
  return bytes / 1000 / elapsed;
}

async function commandStdout(bytes: number): Promise<number> {
  const t = ms();
  const [cmd, ...args] = headArgs(bytes);
  const child = new Deno.Command(cmd, { args, stdout: "piped" }).spawn();
  let got = 0;
  for await (const chunk of child.stdout) got += chunk.length;
  const status = await child.status;
  const elapsed = ms() - t;
  if (got !== bytes || !status.success) {
    throw new Error(`stdout through Deno.Command: read ${got} bytes, exit code ${status.code}`);
  }
  return bytes / 1000 / elapsed;
}

async function benchStdout(cfg: Config, drv: Alcove): Promise<void> {
  const depths = [1, 16];
  const mib = cfg.bytes / 1024 / 1024;
  // The control processes above the program: the program is forked below them each time.
  const above = await chain(drv, 15);
  const driver = depths.map((d) => new Series(`driver stdout, depth ${d}`, "MB/s"));
  const relayed = depths.map((d) =>
    new Series(`C pipe relayed by ${d} process${d > 1 ? "es" : ""} (reference)`, "MB/s")
  );
  const command = new Series("Deno.Command stdout stream", "MB/s");
  const floor = new Series("C read of the pipe (floor)", "MB/s");
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const [i, d] of depths.entries()) {
      driver[i].add(await driverStdout(drv, above.slice(0, d - 1), cfg.bytes));
      relayed[i].add(await runFloor("pipe", [d, cfg.bytes]));
    }
    command.add(await commandStdout(cfg.bytes));
    floor.add(await runFloor("pipe", [0, cfg.bytes]));
  }
  rows.push({
    heading:
      `4. ${mib} MiB of stdout from \`head -c ${cfg.bytes} /dev/zero\` (MB/s; × ${cfg.reps} reps)`,
  });
  const wanted = [0.8, 0.5];
  for (const [i, d] of depths.entries()) {
    const target = bounded(
      "MB/s",
      command.median * wanted[i],
      `≥${wanted[i]}x Deno.Command`,
      floor.median,
    );
    rows.push({ series: driver[i], floor, peer: command, peerName: "Deno.Command", target });
    rows.push({ series: relayed[i], floor, note: `the same ${d}-hop chain in C` });
  }
  rows.push({ series: command, floor });
  rows.push({ series: floor });
  await drv.kill([], above[0], "SIGKILL");
  await drv.event([above[0]]);
}

// ---------------------------------------------------------------------------
// 5. memory

// Runs in a fresh Deno: RSS and live JS heap (after a full GC) before and after.
const HOST_PROBE = `
const usage = () => { globalThis.gc(); const m = Deno.memoryUsage(); return [m.rss, m.heapUsed]; };
const diff = (a, b) => ({ rss: b[0] - a[0], heap: b[1] - a[1] });
const mode = Deno.args[0];
const before = usage();
if (mode === "driver") {
  const { Alcove } = await import(Deno.args[1]);
  const loaded = usage();
  const drv = await Alcove.start();
  for (let i = 0; i < 1000; i++) await drv.getpid([]);
  await Promise.all(Array.from({ length: 1000 }, () => drv.getpid([])));
  const after = usage();
  await drv.stop();
  console.log(JSON.stringify({ module: diff(before, loaded), use: diff(loaded, after) }));
} else if (mode === "processes") {
  const { Alcove } = await import(Deno.args[1]);
  const drv = await Alcove.start();
  await (await drv.spawn(["true"])).status;
  const base = usage();
  const procs = [];
  for (let i = 0; i < 500; i++) procs.push(await drv.spawn(["sleep", "60"], { stdin: "null" }));
  const many = usage();
  await Promise.all(procs.map((p) => p.kill("SIGKILL")));
  await Promise.all(procs.map((p) => p.status));
  await drv.stop();
  const base2 = usage();
  const kids = [];
  for (let i = 0; i < 500; i++) {
    kids.push(new Deno.Command("sleep", { args: ["60"], stdin: "null", stdout: "piped", stderr: "piped" }).spawn());
  }
  const many2 = usage();
  for (const k of kids) k.kill("SIGKILL");
  await Promise.all(kids.map((k) => k.status));
  console.log(JSON.stringify({ spawn: diff(base, many), command: diff(base2, many2) }));
} else {
  const child = new Deno.Command(Deno.args[1], { stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  const r = child.stdout.getReader();
  for (let i = 0; i < 1000; i++) { await w.write(new Uint8Array(32)); await r.read(); }
  const after = usage();
  await w.close(); r.releaseLock(); await child.stdout.cancel(); await child.status;
  console.log(JSON.stringify({ use: diff(before, after) }));
}
`;

interface Growth {
  rss: number;
  heap: number;
}

async function hostProbe(
  mode: "driver" | "command" | "processes",
): Promise<Record<string, Growth>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--v8-flags=--expose-gc",
      HOST_PROBE,
      mode,
      mode === "command" ? `${cbuild}/echo` : new URL("../../mod.ts", import.meta.url).href,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`The host memory probe (${mode}) failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function benchRss(cfg: Config, burstRoot: number | undefined): Promise<void> {
  const root = new Series("root control process, idle after start", "kB");
  const child = new Series("forked control process, idle", "kB");
  const busy = new Series("root after the 1000-in-flight runs above", "kB");
  const echo = new Series("C program blocked in read (floor)", "kB");
  const moduleRss = new Series("host RSS: importing the module", "kB");
  const moduleHeap = new Series("host JS heap: importing the module", "kB");
  const hostRss = new Series("host RSS: driver start + 2000 getpid", "kB");
  const hostHeap = new Series("host JS heap: driver start + 2000 getpid", "kB");
  const commandRss = new Series("host RSS: Deno.Command + 1000 pipe round trips", "kB");
  const commandHeap = new Series("host JS heap: Deno.Command + 1000 pipe round trips", "kB");
  const procHeap = new Series("host JS heap per live Process (500 alive)", "kB");
  const procRss = new Series("host RSS per live Process (500 alive)", "kB");
  const childHeap = new Series("host JS heap per live Deno.Command child (500 alive)", "kB");
  const childRss = new Series("host RSS per live Deno.Command child (500 alive)", "kB");
  const reps = cfg.quick ? 1 : 3;
  for (let rep = 0; rep < reps; rep++) {
    {
      await using drv = await Alcove.start();
      await drv.getpid([]);
      root.add(await vmRSS(drv.pid));
      const pid = await drv.fork([]);
      await drv.getpid([pid]);
      child.add(await vmRSS(pid));
    }
    const e = new Deno.Command(`${cbuild}/echo`, { stdin: "piped", stdout: "null" }).spawn();
    await new Promise((r) => setTimeout(r, 20));
    echo.add(await vmRSS(e.pid));
    await e.stdin.close();
    await e.status;
    const d = await hostProbe("driver");
    moduleRss.add(d.module.rss / 1024);
    moduleHeap.add(d.module.heap / 1024);
    hostRss.add(d.use.rss / 1024);
    hostHeap.add(d.use.heap / 1024);
    const c = await hostProbe("command");
    commandRss.add(c.use.rss / 1024);
    commandHeap.add(c.use.heap / 1024);
    const p = await hostProbe("processes");
    procHeap.add(p.spawn.heap / 1024 / 500);
    procRss.add(p.spawn.rss / 1024 / 500);
    childHeap.add(p.command.heap / 1024 / 500);
    childRss.add(p.command.rss / 1024 / 500);
  }
  if (burstRoot !== undefined) busy.add(burstRoot);
  rows.push({ heading: `5. memory (VmRSS / RSS growth, kB; × ${reps} reps)` });
  rows.push({ series: root, floor: echo, note: "reference" });
  rows.push({ series: child, floor: echo, note: "reference" });
  if (busy.samples.length > 0) rows.push({ series: busy, floor: echo, note: "reference" });
  rows.push({ series: echo });
  rows.push({ series: moduleRss, note: "reference" });
  rows.push({ series: moduleHeap, note: "reference" });
  rows.push({ series: hostRss, peer: commandRss, peerName: "Deno.Command", note: "reference" });
  rows.push({ series: hostHeap, peer: commandHeap, peerName: "Deno.Command", note: "reference" });
  rows.push({ series: commandRss, note: "reference" });
  rows.push({ series: commandHeap, note: "reference" });
  rows.push({ series: procHeap, peer: childHeap, peerName: "Deno.Command", note: "reference" });
  rows.push({ series: procRss, peer: childRss, peerName: "Deno.Command", note: "reference" });
  rows.push({ series: childHeap, note: "reference" });
  rows.push({ series: childRss, note: "reference" });
}

// ---------------------------------------------------------------------------

export async function machine(): Promise<string> {
  let cpu = "unknown CPU";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = info.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? cpu;
  } catch {
    // not Linux-like: keep the placeholder
  }
  return `${cpu}, ${navigator.hardwareConcurrency} CPUs, Linux ${Deno.osRelease()}, Deno ${Deno.version.deno}`;
}

async function main(): Promise<void> {
  const cfg = parseArgs(Deno.args);
  cbuild = cfg.cbuild;
  await buildFloors(cbuild);
  const native = findNative();
  const env = Deno.env.get("ALCOVE_LIB_PATH");
  console.log(
    `command: ${env ? `ALCOVE_LIB_PATH=${env} ` : ""}deno run -A scripts/bench/main.ts${
      Deno.args.length ? " " + Deno.args.join(" ") : ""
    }`,
  );
  console.log(`machine: ${await machine()}; load average ${await loadAverage()}`);
  console.log(`control process: ${native.helper}; C floors: gcc -O2 in ${cbuild}`);
  const started = ms();
  let burstRoot: number | undefined;
  // Before the other sections' driver runs: a start is measured on a quiet process.
  if (cfg.only.has("start")) await benchStart(cfg);
  {
    await using drv = await Alcove.start();
    if (cfg.only.has("getpid")) await benchGetpid(cfg, drv);
    if (cfg.only.has("calls")) {
      await benchCalls(cfg, drv);
      burstRoot = await vmRSS(drv.pid);
    }
    if (cfg.only.has("spawn")) await benchSpawn(cfg, drv);
    if (cfg.only.has("sandbox")) await benchSandbox(cfg, drv);
    if (cfg.only.has("cgroup")) await benchCgroup(cfg, drv);
    if (cfg.only.has("stdout")) await benchStdout(cfg, drv);
  }
  if (cfg.only.has("rss")) await benchRss(cfg, burstRoot);
  console.log(
    `medians of ${cfg.reps} repetitions, ${((ms() - started) / 1000).toFixed(1)} s;` +
      ` load average now ${await loadAverage()}\n`,
  );
  printTable();
}

if (import.meta.main) await main();
