/**
 * The `alcove` command line, run: parses the arguments, then runs the command. The `alcove`
 * command (cli.ts) becomes the sandbox's supervisor, as bubblewrap is: once the request is
 * encoded, this process replaces itself with a small C program (the control process
 * executable's supervisor mode) that spawns the command with this process's stdio, reports,
 * forwards signals, waits and exits with the status, so the command's parent is the
 * `alcove` process itself. Otherwise (a library caller, `--output-limit`, a runtime without
 * a clean exec) a driver runs it (ffi/cli/_driver_run.ts).
 *
 * @example
 * ```ts
 * import { runCommandLine } from "@alcove/alcove";
 * const code = await runCommandLine(["--unshare-net", "--ro-bind", "/", "/", "true"]);
 * console.log(code); // 0
 * ```
 * @module
 */
import { runtime } from "../_runtime.ts";
import { ABI, findNative, libraryConstants, openLibrary, VERSION } from "../_native.ts";
import { type ConstantDomain, ConstantTable } from "../constants.ts";
import type { Local } from "../local.ts";
import { type Capability, CAPABILITY_NAMES } from "../capabilities.ts";
import { encodeSpawnRequest, rlimitResource } from "../sandbox/options.ts";
import { compilesSeccomp, loadSeccompCompiler } from "../sandbox/_seccomp.ts";
import {
  CLI_USAGE,
  CommandLineError,
  type CommandLineIo,
  type CommandLinePlan,
  EXIT_STATUS,
  parseCommandLine,
  userNamespacesAvailable,
} from "./parse.ts";
import {
  commandLineMessage,
  commandOptions,
  fdError,
  givenFds,
  readFd,
  reportedNamespaces,
} from "./_common.ts";

/** The capabilities of this process's bounding set, by number. */
function boundingSet(): number[] {
  const status = new TextDecoder().decode(runtime.process.readFile("/proc/self/status"));
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  const mask = m ? BigInt(`0x${m[1]}`) : 0n;
  const out: number[] = [];
  for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(i);
  return out;
}

/** A capability given as a number, as libcap's cap_from_name reads one (strtoul, base 0). */
function capNumber(c: string): number | undefined {
  if (!/^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.test(c)) return undefined;
  return /^0[0-7]/.test(c) ? parseInt(c, 8) : Number(c);
}

/** Every capability this kernel has (what a user namespace's creator holds in it). */
function everyCapability(): number[] {
  const text = new TextDecoder().decode(runtime.process.readFile("/proc/sys/kernel/cap_last_cap"));
  return [...Array(Number(text.trim()) + 1).keys()];
}

/** bubblewrap's capabilities: every one of ours (this process's bounding set) when root runs
 * the command as uid 0, none otherwise; then --cap-add and --cap-drop in order. --cap-add ALL
 * in a user namespace of its own (made or joined) adds every capability there is, as
 * bubblewrap's does. */
function capabilities(plan: CommandLinePlan, uid: number): Capability[] | undefined {
  const all = boundingSet();
  const ns = new Set(plan.options.namespaces as string[] | undefined ?? []);
  const userns = ns.has("user") || (uid !== 0 && ns.size > 0) ||
    plan.options.userns !== undefined;
  const added = userns && plan.capOps.some((op) => op.cap === "ALL") ? everyCapability() : all;
  const named = (c: string) => {
    const n = capNumber(c);
    const i = n === undefined
      ? CAPABILITY_NAMES.indexOf(c as typeof CAPABILITY_NAMES[number])
      : n < CAPABILITY_NAMES.length
      ? n
      : -1;
    if (i < 0) throw new CommandLineError(`unknown cap: ${c}`);
    return i;
  };
  for (const op of plan.capOps) if (op.cap !== "ALL") named(op.cap);
  if (plan.options.capabilities !== undefined && plan.capOps.length === 0) return undefined;
  const inside = plan.options.uid ?? uid;
  const keep = new Set<number>(uid === 0 && inside === 0 ? all : []);
  for (const op of plan.capOps) {
    const caps = op.cap === "ALL" ? added : [named(op.cap)];
    for (const c of caps) op.add ? keep.add(c) : keep.delete(c);
  }
  return [...keep].sort((a, b) => a - b);
}

/** The supervisor's own command line (csrc/cli.h): the descriptors it reports on, holds,
 * reads or closes, the namespaces it reports, and whether it forwards interrupts. */
function supervisorWords(plan: CommandLinePlan, uid: number): string[] {
  const words = ["--cli", "--abi", String(ABI)];
  const fd = (option: string, n: number | undefined) => {
    if (n !== undefined) words.push(option, String(n));
  };
  fd("--info-fd", plan.infoFd);
  fd("--json-status-fd", plan.jsonStatusFd);
  const own = new Set(plan.ownFds);
  // --sync-fd is the command line's own (held while the sandbox runs) unless --as-pid-1
  // passes it on.
  const held = plan.syncFd !== undefined && own.has(plan.syncFd) ? plan.syncFd : undefined;
  fd("--hold", held);
  const blocks = new Set(plan.blockFds);
  for (const n of blocks) fd("--block", n);
  fd("--userns-block", plan.usernsBlockFd);
  for (const n of own) {
    const mine = n === plan.infoFd || n === plan.jsonStatusFd || n === held ||
      blocks.has(n) || n === plan.usernsBlockFd;
    if (!mine) fd("--close", n);
  }
  const ns = reportedNamespaces(plan, uid);
  if (ns.length > 0) words.push("--report", ns.join(","));
  if (plan.options.newSession === true) words.push("--forward-interrupts");
  if (plan.dieWithParent) words.push("--die-with-parent");
  return words;
}

/** libalcove.so's constant tables, loaded on first use: most command lines need none
 * (rlimits, capabilities by name and seccomp profiles do). */
class LazyConstants extends ConstantTable {
  #table: ConstantTable | undefined;

  #loaded(): ConstantTable {
    if (this.#table === undefined) {
      const lib = openLibrary();
      try {
        this.#table = libraryConstants(lib);
      } finally {
        lib.close();
      }
    }
    return this.#table;
  }

  override lookup(domain: ConstantDomain, name: string): number | undefined {
    return this.#loaded().lookup(domain, name);
  }

  override name(domain: ConstantDomain, value: number): string | undefined {
    return this.#loaded().name(domain, value);
  }

  override names(domain: ConstantDomain): string[] {
    return this.#loaded().names(domain);
  }
}

/** The message for a resource of --rlimit that this platform does not have, or that two
 * names give, if any (the C parser's is the same). */
function unknownRlimit(plan: CommandLinePlan, table: ConstantTable): string | undefined {
  const seen = new Map<number, string>();
  for (const name of plan.rlimitNames) {
    const resource = rlimitResource(table, name);
    if (resource === undefined) return `--rlimit: unknown resource ${name}`;
    // Two names of one resource (OFILE is NOFILE): which limit was meant is not known.
    const before = seen.get(resource);
    if (before !== undefined) return `--rlimit: ${before} and ${name} are the same resource`;
    seen.set(resource, name);
  }
  return undefined;
}

/** The supervisor's words and the spawn request for a plan, or the message of a request
 * the encoder refuses (printed, exit status 1), or undefined when the driver's way should
 * run it instead (and say what is wrong). The reference of the C parser's (csrc/cli_parse.c,
 * tests/cli_parse_test.ts). Internal.
 *
 * @example
 * ```ts ignore
 * const r = await supervisorRequest(planCommandLine(["--ro-bind", "/", "/", "true"], io), 0);
 * ```
 */
export async function supervisorRequest(
  plan: CommandLinePlan,
  uid: number,
): Promise<{ words: string[]; request: Uint8Array } | { message: string } | undefined> {
  const o = commandOptions(plan);
  if (compilesSeccomp(o)) await loadSeccompCompiler();
  const table = new LazyConstants();
  const unknown = unknownRlimit(plan, table);
  if (unknown !== undefined) return { message: unknown };
  try {
    const request = encodeSpawnRequest(plan.argv, o, table).bytes;
    return { words: supervisorWords(plan, uid), request };
  } catch (e) {
    if (!(e instanceof TypeError || e instanceof RangeError)) return undefined;
    return { message: commandLineMessage(plan, e.message) };
  }
}

/** Replaces this process with the supervisor, which runs the command; returns only when it
 * cannot: a status to exit with, or undefined to run the command through a driver instead
 * (which then says what is wrong, or runs the command all the same). */
async function becomeSupervisor(
  plan: CommandLinePlan,
  uid: number,
  given: () => Set<number>,
): Promise<number | undefined> {
  const exec = runtime.process.execWithRequest;
  if (exec === undefined) return undefined;
  let helper: string;
  try {
    helper = findNative().helper;
  } catch {
    return undefined;
  }
  const r = await supervisorRequest(plan, uid);
  if (r === undefined) return undefined;
  if ("message" in r) {
    console.error(`alcove: ${r.message}`);
    return EXIT_STATUS.USAGE;
  }
  // Its stdio and the descriptors the options name cross the exec (not the runtime's own,
  // which close there: the supervisor finds them closed, as bubblewrap would); the others it
  // inherited cross it too, unless the runtime made them close-on-exec (Node.js and Bun do).
  const named = plan.syncFd === undefined ? plan.ownFds : [...plan.ownFds, plan.syncFd];
  const keep = new Set([0, 1, 2, ...named.filter((fd) => given().has(fd))]);
  await exec(helper, r.words, r.request, [...keep]);
  return undefined;
}

/** A parsed command line with what bubblewrap decides after parsing: the cgroup limits in
 * spawn's options, and the capabilities kept. Throws a CommandLineError. Internal (the
 * reference of csrc/cli_parse.c, with {@linkcode supervisorRequest}).
 *
 * @example
 * ```ts ignore
 * const plan = planCommandLine(["--ro-bind", "/", "/", "true"], io);
 * ```
 */
export function planCommandLine(args: readonly string[], io: CommandLineIo): CommandLinePlan {
  const plan = parseCommandLine(args, io);
  if (plan.action !== "run") return plan;
  const asked = Object.entries(plan.cgroup).filter(([, v]) => v !== undefined);
  if (asked.length > 0) {
    plan.options.cgroup = { ...(plan.options.cgroup ?? {}), ...Object.fromEntries(asked) };
  }
  const caps = capabilities(plan, io.uid);
  if (caps !== undefined) plan.options.capabilities = caps;
  return plan;
}

/** Options of {@linkcode runCommandLine}.
 *
 * @example
 * ```ts
 * import type { RunCommandLineOptions } from "@alcove/alcove";
 * const options: RunCommandLineOptions = { becomeSupervisor: true };
 * ```
 */
export interface RunCommandLineOptions {
  /** Replace this process with the sandbox's supervisor, as the `alcove` command does: a
   * small C program that spawns the command with this process's pid, stdio, terminal and
   * session, reports, forwards signals and exits with the status, so the call never
   * returns. Taken under Deno, Node.js (with koffi) and Bun, without `--output-limit` (its
   * output is piped and counted) and unless the environment has `ALCOVE_CLI_DRIVER=1`;
   * otherwise, and by default, a driver runs the command and the status is returned. */
  becomeSupervisor?: boolean;
}

/**
 * Runs the command line `args` (without the program name) and returns the exit status:
 * the command's, 128 + N after signal N, or a reserved one (see {@linkcode EXIT_STATUS}).
 * Messages go to stderr, prefixed "alcove: ".
 *
 * @param args The arguments.
 * @param options Whether to become the sandbox's supervisor.
 * @returns The exit status.
 *
 * @example
 * ```ts
 * import { runCommandLine } from "@alcove/alcove";
 * console.log(await runCommandLine(["--version"])); // 0
 * ```
 */
export async function runCommandLine(
  args: readonly string[],
  options: RunCommandLineOptions = {},
): Promise<number> {
  const proc = runtime.process;
  const uid = proc.uid();
  // libalcove.so's calls are loaded only for a command line that reads descriptors: the
  // first parse stops at the first read, the second one has them.
  let local: Local | undefined;
  let wantsLocal = false;
  // Found before anything of the command line's own is opened.
  let found: Set<number> | undefined;
  const given = () => found ??= givenFds(proc, runtime.name);
  const io = {
    readFd(fd: number): Uint8Array {
      if (!given().has(fd)) throw fdError({ code: "EBADF" });
      if (local !== undefined) return readFd(local, fd);
      wantsLocal = true;
      throw new Error("libalcove.so is not loaded yet");
    },
    readFile: (path: string) => proc.readFile(path),
    env: proc.environment(),
    cwd: proc.cwd(),
    isTerminal: proc.stdinIsTerminal(),
    uid,
    gid: proc.gid(),
    usernsAvailable: () =>
      userNamespacesAvailable((path) => {
        try {
          return new TextDecoder().decode(proc.readFile(path));
        } catch {
          return undefined;
        }
      }),
  };
  let plan: CommandLinePlan;
  try {
    try {
      plan = planCommandLine(args, io);
    } catch (e) {
      if (!wantsLocal) throw e;
      local = (await import("../local.ts")).openLocal();
      plan = planCommandLine(args, io);
    }
    for (const w of plan.warnings) console.error(`alcove: ${w}`);
    if (plan.action === "help") {
      console.log(CLI_USAGE);
      return 0;
    }
    if (plan.action === "version") {
      console.log(`alcove ${VERSION}`);
      return 0;
    }
    if (plan.action === "usage") {
      console.error(CLI_USAGE);
      return EXIT_STATUS.USAGE;
    }
  } catch (e) {
    if (!(e instanceof CommandLineError)) throw e;
    for (const w of e.warnings) console.error(`alcove: ${w}`);
    console.error(`alcove: ${e.message}`);
    return EXIT_STATUS.USAGE;
  }
  if (
    options.becomeSupervisor === true && plan.options.maxOutput === undefined &&
    runtime.env("ALCOVE_CLI_DRIVER") !== "1"
  ) {
    const code = await becomeSupervisor(plan, uid, given);
    if (code !== undefined) return code;
  }
  const unknown = unknownRlimit(plan, new LazyConstants());
  if (unknown !== undefined) {
    console.error(`alcove: ${unknown}`);
    return EXIT_STATUS.USAGE;
  }
  const { runWithDriver } = await import("./_driver_run.ts");
  // Only a command line that names descriptors looks for them.
  const named = plan.ownFds.length > 0 ? given() : new Set<number>();
  return await runWithDriver(plan, uid, named, local);
}
