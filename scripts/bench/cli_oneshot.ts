/**
 * A probe of the one-shot command line: what `alcove` would cost if it parsed and encoded its
 * request here and then exec'd a C program that does everything else (no control process to
 * start and greet, no driver, no socket). bubblewrap stands in for that C program: the probe
 * parses the arguments, encodes the spawn request, then execs `bwrap` with the same arguments
 * through libc, so its time is the TypeScript part of the design plus bubblewrap's whole run.
 * Run by scripts/bench/cli.ts; not a command line of its own.
 *
 * @example
 * ```sh
 * deno run -A scripts/bench/cli_oneshot.ts --unshare-all --ro-bind / / --proc /proc --dev /dev true
 * ```
 * @module
 */
import { parseCommandLine } from "../../ffi/cli/parse.ts";
import { encodeSpawnRequest } from "../../ffi/sandbox/options.ts";
import { ConstantTable } from "../../ffi/constants.ts";

const args = Deno.args;
const plan = parseCommandLine(args, {
  readFd: () => new Uint8Array(),
  readFile: (path) => Deno.readFileSync(path),
  env: Deno.env.toObject(),
  cwd: Deno.cwd(),
  isTerminal: false,
  uid: Deno.uid() ?? 0,
});
if (plan.action === "run") encodeSpawnRequest(plan.argv, plan.options, new ConstantTable());
const libc = Deno.dlopen("libc.so.6", {
  execvp: { parameters: ["buffer", "buffer"], result: "i32" },
});
const strings = ["bwrap", ...args].map((s) => new TextEncoder().encode(s + "\0"));
const argv = new BigUint64Array(strings.length + 1);
strings.forEach((s, i) => argv[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s))));
libc.symbols.execvp(strings[0], argv);
console.error("cli_oneshot: cannot exec bwrap");
Deno.exit(127);
