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
 *
 * @example
 * ```sh
 * deno run -A scripts/fuzz.ts                 # 60 s per harness (what `deno task fuzz` runs)
 * deno run -A scripts/fuzz.ts --seconds 3600  # longer
 * deno run -A scripts/fuzz.ts --seconds 5 call
 * ```
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const HARNESSES = ["call", "stream"];
const secondsArg = Deno.args.indexOf("--seconds");
const seconds = secondsArg >= 0 ? Number(Deno.args[secondsArg + 1]) : 60;
if (!Number.isInteger(seconds) || seconds <= 0) {
  console.error("Cannot fuzz: --seconds must be a positive integer");
  Deno.exit(1);
}
const picked = Deno.args.filter((a, i) =>
  !a.startsWith("--") && (secondsArg < 0 || i !== secondsArg + 1)
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
  const r = await new Deno.Command(`${out}/fuzz-${name}`, {
    args: [
      `-max_total_time=${seconds}`,
      "-print_final_stats=1",
      "-max_len=65536",
      `-artifact_prefix=${out}/${name}-`,
      corpus,
      `${root}tests/fuzz/corpus/${name}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(r.stderr);
  const done = [
    ...log.matchAll(/#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+) ft: (\d+)/g),
  ]
    .at(-1);
  const runs = log.match(/stat::number_of_executed_units: (\d+)/)?.[1] ?? done?.[1] ?? "?";
  console.log(
    `${name}: ${runs} executions in ${seconds} s, coverage ${done?.[2] ?? "?"} edges, ${
      done?.[3] ?? "?"
    } features, ${r.success ? "no finding" : "FINDING"}`,
  );
  if (!r.success) {
    failed = true;
    console.log(log.split("\n").filter((l) => !l.startsWith("#")).slice(-40).join("\n"));
  }
}
Deno.exit(failed ? 1 : 0);
