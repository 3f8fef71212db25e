/**
 * The command line's two parsers side by side: the control process executable's own
 * (csrc/cli_parse.c, `alcove --cli-parse --dump`) against the TypeScript reference
 * (planCommandLine and supervisorRequest of ffi/cli/run.ts), for one command line in one
 * environment: the same supervisor words and spawn request, or the same message and status.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import { CONTROL_EXECUTABLE } from "./_helpers.ts";
import { ABI } from "../ffi/_native.ts";
import { parsedInC } from "../ffi/cli/_fast.ts";
import { planCommandLine, supervisorRequest } from "../ffi/cli/run.ts";
import { CommandLineError, type CommandLineIo, userNamespacesAvailable } from "../ffi/cli/parse.ts";

const decoder = new TextDecoder();

/** Where and as whom both parse. */
export interface ParseContext {
  /** The whole environment (default: this process's). */
  env?: Record<string, string>;
  /** The working directory (default: this process's). */
  cwd?: string;
  /** Parse as this user (default: this process's), through setpriv. */
  uid?: number;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** The request with its environment records (tag 2) in one order: the runtime reads the
 * environment into an object in no fixed order, so only the set of them is the meaning. */
function canonical(request: Uint8Array): string {
  const view = new DataView(request.buffer, request.byteOffset, request.byteLength);
  const records: Uint8Array[] = [];
  for (let at = 0; at < request.length;) {
    const end = at + 5 + view.getUint32(at + 1, true);
    records.push(request.subarray(at, end));
    at = end;
  }
  const env = records.filter((r) => r[0] === 2).map(hex).sort();
  const out: string[] = [];
  for (const r of records) {
    if (r[0] !== 2) out.push(hex(r));
    else if (env.length > 0) out.push(...env.splice(0));
  }
  return out.join("");
}

/** What the TypeScript command line makes of `args`: words and request, or what it prints
 * and its status (runCommandLine prints CommandLineError and the encoder's errors as
 * "alcove: MESSAGE" with status 1). */
export async function referenceParse(args: string[], context: ParseContext = {}) {
  const io: CommandLineIo = {
    readFd() {
      throw new Error("no descriptor is read on the C parser's command lines");
    },
    readFile: (path) => Deno.readFileSync(path),
    env: context.env ?? Deno.env.toObject(),
    cwd: context.cwd ?? Deno.cwd(),
    isTerminal: false,
    uid: context.uid ?? Deno.uid()!,
    gid: context.uid ?? Deno.gid()!, // setpriv makes the gid the uid
    usernsAvailable: () =>
      userNamespacesAvailable((path) => {
        try {
          return Deno.readTextFileSync(path);
        } catch {
          return undefined;
        }
      }),
  };
  try {
    const plan = planCommandLine(args, io);
    assertEquals(plan.action, "run", `${args.join(" ")}: not a command line to run`);
    const r = await supervisorRequest(plan, io.uid);
    if (r === undefined) throw new Error(`${args.join(" ")}: the driver's way`);
    const warned = plan.warnings.map((w) => `alcove: ${w}\n`).join("");
    if ("message" in r) return { code: 1, out: "", err: `${warned}alcove: ${r.message}\n` };
    return { code: 0, out: `${r.words.join(" ")}\n${canonical(r.request)}\n`, err: warned };
  } catch (e) {
    if (!(e instanceof CommandLineError)) throw e;
    const warned = e.warnings.map((w) => `alcove: ${w}\n`).join("");
    return { code: 1, out: "", err: `${warned}alcove: ${e.message}\n` };
  }
}

/** What csrc/cli_parse.c makes of `args`, in the same form. */
export async function cParse(args: string[], context: ParseContext = {}) {
  const words = ["--cli-parse", "--dump", "--abi", String(ABI), "--", ...args];
  const as = context.uid === undefined || context.uid === Deno.uid()
    ? [CONTROL_EXECUTABLE, ...words]
    : [
      "setpriv",
      `--reuid=${context.uid}`,
      `--regid=${context.uid}`,
      "--clear-groups",
      "--",
      CONTROL_EXECUTABLE,
      ...words,
    ];
  const r = await new Deno.Command(as[0], {
    args: as.slice(1),
    env: context.env,
    clearEnv: context.env !== undefined,
    cwd: context.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  let out = decoder.decode(r.stdout);
  if (r.code === 0) {
    const [w, h] = out.split("\n");
    const bytes = new Uint8Array(h.match(/../g)!.map((x) => parseInt(x, 16)));
    out = `${w}\n${canonical(bytes)}\n`;
  }
  return { code: r.code, out, err: decoder.decode(r.stderr) };
}

/** Asserts that both parsers make the same of `args`, when cli.ts gives it to the C one;
 * returns whether it does. */
export async function assertParsedAlike(args: string[], context: ParseContext = {}) {
  if (!parsedInC(args)) return false;
  const [c, ts] = await Promise.all([cParse(args, context), referenceParse(args, context)]);
  assertEquals(c, ts, `the C parser on ${JSON.stringify(args)}`);
  return true;
}
