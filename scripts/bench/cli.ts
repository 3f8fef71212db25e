/**
 * The command line against bubblewrap, as whole commands: `alcove --unshare-all --ro-bind / /
 * --proc /proc --dev /dev true` and the same `bwrap` command line, run in turn many times
 * (min and median of the wall time from start to exit), with the runtime's own start-up
 * (deno running an empty script) measured the same way. The target: what alcove adds above
 * the runtime's start-up is at most bubblewrap's whole time. For this command line cli.ts
 * takes its fast path: it execs the control process executable at once, which parses the
 * command line itself (csrc/cli_parse.c) and supervises the sandbox; that executable alone
 * (`alcove --cli-parse`, no runtime) is measured too. For comparison, in the same turns: the
 * same command through the TypeScript parser (`--seccomp-profile none`, which asks for what
 * the command line does anyway, keeps it there: parse and encode, then exec the C
 * supervisor), from the unbundled sources (`ffi/cli/main.ts`; cli.ts runs their generated
 * bundle, ffi/cli/_bundle/), the loading of the TypeScript command line alone (`cli.ts
 * --version`), and the driver's way (ALCOVE_CLI_DRIVER=1: start a driver, spawn over its
 * socket, stop it), which --output-limit and the other runtimes take.
 *
 * @example
 * ```sh
 * deno run -A scripts/bench/cli.ts             # 21 runs of each
 * deno run -A scripts/bench/cli.ts --runs 5    # a quick look
 * ```
 * @module
 */
import { NAMESPACED_TRUE as SANDBOX } from "./main.ts";
import { ABI, findNative } from "../../ffi/_native.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(Deno.args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} takes a positive integer`);
  return n;
}

interface Run {
  argv: string[];
  env?: Record<string, string>;
}

async function once({ argv, env }: Run): Promise<number> {
  const start = performance.now();
  const r = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  const ms = performance.now() - start;
  if (!r.success) {
    throw new Error(`${argv.join(" ")} failed (${r.code}): ${new TextDecoder().decode(r.stderr)}`);
  }
  return ms;
}

function stats(xs: number[]): { min: number; median: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
}

const runs = option("--runs", 21);
const empty = await Deno.makeTempFile({ suffix: ".ts" });
const deno = Deno.execPath();
const commands: Record<string, Run> = {
  "alcove (cli.ts)": { argv: [deno, "run", "-A", `${ROOT}cli.ts`, ...SANDBOX] },
  // The control process executable's parser and supervisor alone, without a runtime.
  "alcove --cli-parse": {
    argv: [findNative().helper, "--cli-parse", "--abi", String(ABI), "--", ...SANDBOX],
  },
  // The TypeScript parser and encoder, then the same supervisor.
  "alcove (cli.ts, TS parser)": {
    argv: [deno, "run", "-A", `${ROOT}cli.ts`, "--seccomp-profile", "none", ...SANDBOX],
  },
  // The same from its TypeScript sources, unbundled (cli.ts runs ffi/cli/_bundle/).
  "alcove (ffi/cli/main.ts)": { argv: [deno, "run", "-A", `${ROOT}ffi/cli/main.ts`, ...SANDBOX] },
  "bwrap": { argv: ["bwrap", ...SANDBOX] },
  "deno, empty script": { argv: [deno, "run", "-A", empty] },
  // Loading the TypeScript command line without starting anything.
  "alcove --version": { argv: [deno, "run", "-A", `${ROOT}cli.ts`, "--version"] },
  // The driver's way: a root control process, its socket and greeting, the spawn, the stop.
  "alcove, driver's way": {
    argv: [deno, "run", "-A", `${ROOT}cli.ts`, ...SANDBOX],
    env: { ALCOVE_CLI_DRIVER: "1" },
  },
};
const times: Record<string, number[]> = {};
try {
  // A warm-up of each (caches, page cache), then the commands in turn, so that a drift of the
  // machine's speed touches all of them alike.
  for (const run of Object.values(commands)) await once(run);
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of Object.entries(commands)) {
      (times[name] ??= []).push(await once(run));
    }
  }
} finally {
  await Deno.remove(empty);
}
const s = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));
const fmt = (n: number) => n.toFixed(1).padStart(8);
console.log(`whole commands, ${runs} runs each: ${SANDBOX.join(" ")}`);
console.log(`${"".padEnd(28)}${"min ms".padStart(8)}${"median".padStart(8)}`);
for (const [name, v] of Object.entries(s)) {
  console.log(`${name.padEnd(28)}${fmt(v.min)}${fmt(v.median)}`);
}
const deno0 = s["deno, empty script"].median;
const ours = s["alcove (cli.ts)"].median - deno0;
const typescript = s["alcove (cli.ts, TS parser)"].median - deno0;
const sources = s["alcove (ffi/cli/main.ts)"].median - deno0;
const bwrap = s["bwrap"].median;
const load = s["alcove --version"].median - deno0;
const alone = s["alcove --cli-parse"].median;
console.log(`${"alcove above deno's start".padEnd(28)}${"".padStart(8)}${fmt(ours)}`);
console.log(
  `${"  of which the executable".padEnd(28)}${"".padStart(8)}${fmt(alone)}  (${
    (alone / bwrap).toFixed(2)
  }x bwrap: its parse, the sandbox, the wait)`,
);
console.log(`${"TS parser above deno".padEnd(28)}${"".padStart(8)}${fmt(typescript)}`);
console.log(`${"  of which loading it".padEnd(28)}${"".padStart(8)}${fmt(load)}`);
console.log(`${"unbundled (main.ts) above".padEnd(28)}${"".padStart(8)}${fmt(sources)}`);
const driver = s["alcove, driver's way"].median - deno0;
console.log(
  `${"driver's way above deno".padEnd(28)}${"".padStart(8)}${fmt(driver)}  (${
    (driver / bwrap).toFixed(2)
  }x bwrap: --output-limit, Node.js, Bun, ALCOVE_CLI_DRIVER=1)`,
);
console.log(
  `target: alcove above deno's start <= bwrap's whole time: ${fmt(ours).trim()} ms vs ${
    fmt(bwrap).trim()
  } ms (${(ours / bwrap).toFixed(2)}x): ${ours <= bwrap ? "met" : "NOT met"}`,
);
