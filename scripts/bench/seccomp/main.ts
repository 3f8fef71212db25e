/**
 * Seccomp filter benchmark: the per-system-call cost of a 300-rule allowlist compiled by
 * alcove's `compilePolicy`, against libseccomp's binary tree and default filters for the same
 * policy, a plain linear chain of tests, and no filter at all.
 *
 * ```sh
 * deno run -A scripts/bench/seccomp/main.ts [--iterations N] [--rounds N] [--policy profile|spread]
 * ```
 *
 * Needs gcc and libseccomp-dev (scripts/install_deps.sh) on x86_64 Linux. The timed calls are
 * getppid (the first rule) and getuid (the last rule), cheap calls that make the filter's share
 * of the time visible. Times are medians over the rounds; "filter" is the time above the
 * unfiltered call; the ratios compare with libseccomp's binary tree.
 *
 * Each filter is timed as installed and with the kernel's action cache defeated (see bench.c):
 * since Linux 5.11 the kernel answers calls a filter allows for any arguments from a bitmap
 * without running the filter, so only the second table shows what the programs cost.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  assemble,
  AUDIT_ARCH_X86_64,
  BPF_JEQ,
  BPF_JGE,
  BPF_JMP,
  BPF_K,
  compilePolicy,
  decode,
  type Instruction,
  jump,
  loadSyscallNr,
  retAllow,
  retErrno,
  retKillProcess,
  type SeccompPolicy,
  simulate,
  syscallNames,
  syscallNumber,
  validateArch,
  X32_SYSCALL_BIT,
} from "../../../ffi/seccomp/mod.ts";
import { DEFAULT_PROFILE_DENIED } from "../../../ffi/seccomp/profile.ts";
import { instructionsRun } from "./instructions_run.ts";

const EPERM = 1;
const RULES = 300;
const EARLY = "getppid";
const LATE = "getuid";

const CONFIGS = [
  ["none", "no filter"],
  ["ours", "alcove compilePolicy"],
  ["libseccomp_tree", "libseccomp, binary tree"],
  ["libseccomp_default", "libseccomp, default"],
  ["linear", "linear jeq chain"],
] as const;
type Config = typeof CONFIGS[number][0];

/** Calls the benchmark child itself makes, which every allowlist keeps. */
const NEEDED = ["read", "write", "exit_group", "clock_gettime"];

/**
 * The allowlist: EARLY first, LATE last, and calls in number order between them. "profile"
 * leaves out the calls the default profile denies (gaps where real profiles have them);
 * "spread" leaves out calls evenly across the table, the most gaps 300 rules can have.
 */
function allowlist(kind: "profile" | "spread"): string[] {
  const all = syscallNames("x86_64").filter((name) => name !== EARLY && name !== LATE);
  let middle: string[];
  if (kind === "profile") {
    const denied = new Set(DEFAULT_PROFILE_DENIED);
    middle = all.filter((name) => !denied.has(name));
  } else {
    const every = all.length / (all.length - (RULES - 2));
    middle = all.filter((name, index) =>
      NEEDED.includes(name) || Math.floor(index / every) === Math.floor((index + 1) / every)
    );
  }
  if (middle.length < RULES - 2) {
    throw new Error(`Cannot build policy: only ${middle.length} calls`);
  }
  return [EARLY, ...middle.slice(0, RULES - 2), LATE];
}

/** The same policy as one equality test per rule, in rule order. */
function linearProgram(numbers: readonly number[]): Instruction[] {
  return [
    ...validateArch(AUDIT_ARCH_X86_64),
    loadSyscallNr(),
    jump(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
    retKillProcess(),
    ...numbers.flatMap((nr) => [jump(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), retAllow()]),
    retErrno(EPERM),
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`Cannot run ${command}: exit ${output.code}: ${stderr}`);
  }
  return new TextDecoder().decode(output.stdout);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      iterations: { type: "string", default: "300000" },
      rounds: { type: "string", default: "11" },
      policy: { type: "string", default: "profile" },
    },
  });
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error(
      `Cannot run the seccomp benchmark on ${Deno.build.os}/${Deno.build.arch}: it needs x86_64 Linux`,
    );
  }
  if (values.policy !== "profile" && values.policy !== "spread") {
    throw new Error(`Unknown --policy "${values.policy}": expected profile or spread`);
  }
  const names = allowlist(values.policy);
  const numbers = names.map((name) => syscallNumber(name, "x86_64")!);
  const policy: SeccompPolicy = {
    defaultAction: { errno: EPERM },
    rules: [{ names, action: "allow" }],
  };
  const ours = compilePolicy(policy, { arches: ["x86_64"] });
  const linear = linearProgram(numbers);
  // Both programs must decide every call the same way before they are timed.
  for (let nr = 0; nr < 600; nr++) {
    const a = simulate(ours, { nr, arch: AUDIT_ARCH_X86_64 }).value;
    const b = simulate(linear, { nr, arch: AUDIT_ARCH_X86_64 }).value;
    if (a !== b && nr <= Math.max(...numbers)) {
      throw new Error(`Cannot benchmark: programs differ on ${nr}`);
    }
  }

  const dir = await Deno.makeTempDir({ prefix: "alcove_bench_seccomp_" });
  try {
    const binary = `${dir}/bench`;
    const source = new URL("./bench.c", import.meta.url).pathname;
    await run("gcc", ["-Wall", "-Wextra", "-Werror", "-O2", "-o", binary, source, "-lseccomp"]);
    await Deno.writeTextFile(`${dir}/policy.txt`, numbers.join("\n") + "\n");
    await Deno.writeFile(`${dir}/ours.bpf`, assemble(ours));
    await Deno.writeFile(`${dir}/linear.bpf`, assemble(linear));
    const early = syscallNumber(EARLY, "x86_64")!;
    const late = syscallNumber(LATE, "x86_64")!;
    const text = await run(binary, [
      dir,
      values.iterations!,
      values.rounds!,
      String(early),
      String(late),
    ]);

    const samples = new Map<string, number[]>();
    const sizes = new Map<string, number>();
    for (const line of text.trim().split("\n")) {
      const parts = line.split(" ");
      if (parts[0] === "result") {
        const key = parts.slice(1, 4).join(" ");
        samples.set(key, [...(samples.get(key) ?? []), Number(parts[4])]);
      } else if (parts[0] === "filter") {
        sizes.set(parts[1], Number(parts[2]));
      }
    }
    const programs = new Map<Config, readonly Instruction[]>([
      ["ours", ours],
      ["linear", linear],
      ["libseccomp_tree", decode(await Deno.readFile(`${dir}/libseccomp_tree.bpf`))],
      ["libseccomp_default", decode(await Deno.readFile(`${dir}/libseccomp_default.bpf`))],
    ]);

    console.log(
      `seccomp filter cost on ${Deno.build.arch}: ${RULES}-rule allowlist (${values.policy}), ` +
        `median of ${values.rounds} rounds of ${values.iterations} calls`,
    );
    console.log(
      `early = ${EARLY} (first rule, nr ${early}), late = ${LATE} (last rule, nr ${late})`,
    );
    console.log(`kernel ${Deno.osRelease()}, BPF JIT ${await jitState()}`);
    const worst: number[] = [];
    for (const mode of ["run", "cached"] as const) {
      const time = (config: Config, which: "early" | "late") =>
        median(samples.get(`${config} ${config === "none" ? "cached" : mode} ${which}`)!);
      console.log("");
      console.log(
        mode === "run"
          ? "Filter run on every call (a leading instruction_pointer load defeats the kernel's cache):"
          : "Filters as installed (the kernel's action cache answers unconditional allows):",
      );
      const header = [
        "filter".padEnd(24),
        "insns".padStart(5),
        "run e/l".padStart(8),
        "early ns".padStart(9),
        "+filter".padStart(8),
        "late ns".padStart(8),
        "+filter".padStart(8),
        "time/tree e/l".padStart(14),
        "+filter/tree e/l".padStart(17),
      ].join(" ");
      console.log(header);
      console.log("-".repeat(header.length));
      const baseEarly = time("none", "early");
      const baseLate = time("none", "late");
      const treeEarly = time("libseccomp_tree", "early");
      const treeLate = time("libseccomp_tree", "late");
      const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "-");
      const extra = mode === "run" ? 1 : 0;
      for (const [config, label] of CONFIGS) {
        const program = programs.get(config);
        const steps = program && [early, late]
          .map((nr) => instructionsRun(program, { nr, arch: AUDIT_ARCH_X86_64 }) + extra)
          .join("/");
        const e = time(config, "early");
        const l = time(config, "late");
        const filtered = config !== "none";
        const row = [
          label.padEnd(24),
          String(filtered ? sizes.get(config)! + extra : "-").padStart(5),
          (steps ?? "-").padStart(8),
          e.toFixed(1).padStart(9),
          (filtered ? (e - baseEarly).toFixed(1) : "-").padStart(8),
          l.toFixed(1).padStart(8),
          (filtered ? (l - baseLate).toFixed(1) : "-").padStart(8),
          `${ratio(e, treeEarly)}/${ratio(l, treeLate)}`.padStart(14),
          (filtered
            ? `${ratio(e - baseEarly, treeEarly - baseEarly)}/${
              ratio(l - baseLate, treeLate - baseLate)
            }`
            : "-").padStart(17),
        ];
        console.log(row.join(" "));
      }
      if (mode === "run") {
        worst.push(time("ours", "early") / treeEarly, time("ours", "late") / treeLate);
      }
    }
    console.log("");
    console.log(
      "insns: program length; run e/l: instructions run for the early/late call; ns: per call;\n" +
        "+filter: ns above no filter; /tree: ratio to libseccomp's binary tree",
    );
    const max = Math.max(...worst);
    console.log(
      `alcove / libseccomp tree per-call time with the filter run: ${max.toFixed(3)} at worst ` +
        `(target <= 1.10: ${max <= 1.1 ? "met" : "missed"})`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function jitState(): Promise<string> {
  const value = await Deno.readTextFile("/proc/sys/net/core/bpf_jit_enable").catch(() => "");
  return value.trim() === "" ? "unknown" : value.trim() === "0" ? "off" : "on";
}

if (import.meta.main) {
  await main();
}
