/**
 * Builds the libFuzzer harnesses of csrc/fuzz/ with clang (ASan+UBSan) into `build-fuzz/` and
 * runs each for a given time, starting from the checked-in seed corpus (tests/fuzz/corpus/NAME),
 * with what earlier runs found kept in `build-fuzz/corpus/NAME`. Prints each harness's
 * executions, coverage (edges) and features; a finding stops the run, names the input file that
 * reproduces it, and the exit status is 1.
 *
 * - `call`: a call request through the argument decoder, dispatch, the cstruct and pointer
 *   argument builders and the reply encoder; calls with effects are checking fakes.
 * - `stream`: the bytes a child control process sends up, in pieces, through the parent's frame
 *   parser and the splice of large frames, against a model of what must come out.
 * - `spawn_request`: a spawn request's sandbox records through their decoder and the program's
 *   environment; what the decoder takes must come out whole.
 *
 * @example
 * ```sh
 * deno run -A scripts/fuzz.ts                 # 60 s per harness (what `deno task fuzz` runs)
 * deno run -A scripts/fuzz.ts --seconds 3600  # longer
 * deno run -A scripts/fuzz.ts --seconds 5 call
 * deno run -A scripts/fuzz.ts --runs 10000000 stream  # until 10M executions, however long
 * ```
 *
 * `--runs N` stops each harness after N executions; with `--seconds` too, whichever comes
 * first ends it, and without `--seconds` no time limit applies. The saved inputs (seeds and
 * earlier findings) all run first, even when there are more than N of them: the line of each
 * harness says how many executions that took.
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const HARNESSES = ["call", "stream", "spawn_request"];
/** The value of a `--name N` option: a positive integer, or `fallback` when it is absent. */
function option(name: string, fallback: number | undefined): number | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(Deno.args[at + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) {
    console.error(`Cannot fuzz: --${name} must be a positive integer`);
    Deno.exit(1);
  }
  return value;
}
for (const arg of Deno.args.filter((a) => a.startsWith("--"))) {
  if (arg !== "--runs" && arg !== "--seconds") {
    console.error(`Cannot fuzz: unknown option ${arg} (the options are --seconds and --runs)`);
    Deno.exit(1);
  }
}
const runs = option("runs", undefined);
const seconds = option("seconds", runs === undefined ? 60 : undefined);
const picked = Deno.args.filter((a, i) =>
  !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--")
);
for (const name of picked) {
  if (!HARNESSES.includes(name)) {
    console.error(`Cannot fuzz ${JSON.stringify(name)}: the harnesses are ${HARNESSES.join(", ")}`);
    Deno.exit(1);
  }
}
const out = `${root}build-fuzz`;

const make = await new Deno.Command("make", {
  args: [`OUT=${out}`, "CC=clang", `-j${navigator.hardwareConcurrency ?? 2}`, "-s", "fuzz"],
  cwd: `${root}csrc`,
}).spawn().status;
if (!make.success) {
  console.error("Cannot build the fuzz harnesses (clang and libclang-rt: scripts/install_deps.sh)");
  Deno.exit(1);
}

let failed = false;
for (const name of picked.length ? picked : HARNESSES) {
  const corpus = `${out}/corpus/${name}`;
  await Deno.mkdir(corpus, { recursive: true });
  const started = performance.now();
  const r = await new Deno.Command(`${out}/fuzz-${name}`, {
    args: [
      ...(seconds === undefined ? [] : [`-max_total_time=${seconds}`]),
      ...(runs === undefined ? [] : [`-runs=${runs}`]),
      "-print_final_stats=1",
      "-max_len=65536",
      `-artifact_prefix=${out}/${name}-`,
      corpus,
      `${root}tests/fuzz/corpus/${name}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const elapsed = Math.round((performance.now() - started) / 1000);
  const log = new TextDecoder().decode(r.stderr);
  const done = [
    ...log.matchAll(/#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+) ft: (\d+)/g),
  ]
    .at(-1);
  const executed = log.match(/stat::number_of_executed_units: (\d+)/)?.[1] ?? done?.[1] ?? "?";
  const rate = log.match(/stat::average_exec_per_sec: +(\d+)/)?.[1] ?? "?";
  const saved = log.match(/#(\d+)\s+INITED/)?.[1] ?? "?";
  console.log(
    `${name}: ${executed} executions in ${elapsed} s (${rate}/s), ${saved} of them the saved ` +
      `inputs, coverage ${done?.[2] ?? "?"} edges, ${done?.[3] ?? "?"} features, ${
        r.success ? "no finding" : "FINDING"
      }`,
  );
  if (!r.success) {
    failed = true;
    console.log(log.split("\n").filter((l) => !l.startsWith("#")).slice(-40).join("\n"));
  }
}
Deno.exit(failed ? 1 : 0);
