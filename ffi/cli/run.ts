/**
 * The `alcove` command line, run: parses the arguments, starts a driver whose root control
 * process has this process's own stdio (so the command gets the terminal itself), spawns the
 * command, reports on --info-fd and --json-status-fd, and returns the exit status.
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
import { VERSION } from "../_native.ts";
import { concat } from "../_wire.ts";
import { Alcove } from "../driver.ts";
import { SetupError } from "../errors.ts";
import { type Local, openLocal } from "../local.ts";
import { type Capability, CAPABILITY_NAMES } from "../capabilities.ts";
import type { Namespace } from "../sandbox/options.ts";
import type { Process, ProcessStatus } from "../sandbox/process.ts";
import {
  CLI_USAGE,
  CommandLineError,
  type CommandLinePlan,
  EXIT_STATUS,
  parseCommandLine,
} from "./parse.ts";

const encoder = new TextEncoder();

/** The /proc/PID/ns names bubblewrap reports, by namespace. */
const NS_KEYS: [Namespace, string, string][] = [
  ["cgroup", "cgroup", "cgroup-namespace"],
  ["ipc", "ipc", "ipc-namespace"],
  ["mount", "mnt", "mnt-namespace"],
  ["net", "net", "net-namespace"],
  ["pid", "pid", "pid-namespace"],
  ["uts", "uts", "uts-namespace"],
  ["user", "user", "user-namespace"],
];

let local: Local | undefined;
function host(): Local {
  local ??= openLocal();
  return local;
}

/** The C library's words for the errors a descriptor read or write meets, as bubblewrap
 * prints them. */
const STRERROR: Record<string, string> = {
  EBADF: "Bad file descriptor",
  EINVAL: "Invalid argument",
  EISDIR: "Is a directory",
  EAGAIN: "Resource temporarily unavailable",
  EPIPE: "Broken pipe",
  EIO: "Input/output error",
};

function fdError(e: unknown): Error {
  const code = (e as { code?: string }).code;
  return code === undefined ? e as Error : new Error(STRERROR[code] ?? code);
}

function readFd(fd: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (;;) {
    let chunk: Uint8Array;
    try {
      chunk = host().read(fd, 65536);
    } catch (e) {
      throw fdError(e);
    }
    if (chunk.length === 0) break;
    parts.push(chunk);
  }
  return concat(parts);
}

function writeFd(fd: number, text: string): void {
  const data = encoder.encode(text);
  try {
    for (let off = 0; off < data.length;) off += host().write(fd, data.subarray(off));
  } catch (e) {
    throw fdError(e);
  }
}

/** One JSON document on one line, laid out as bubblewrap's: `{ "key": value, ... }`. */
function jsonLine(o: Record<string, unknown>): string {
  const parts = Object.entries(o).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{ ${parts.join(", ")} }\n`;
}

/** The capabilities of this process's bounding set, by number. */
function boundingSet(): number[] {
  const status = new TextDecoder().decode(runtime.process.readFile("/proc/self/status"));
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  const mask = m ? BigInt(`0x${m[1]}`) : 0n;
  const out: number[] = [];
  for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(i);
  return out;
}

/** bubblewrap's capabilities: every one of ours when root runs the command as uid 0, none
 * otherwise; then --cap-add and --cap-drop in order. */
function capabilities(plan: CommandLinePlan, uid: number): Capability[] | undefined {
  const all = boundingSet();
  const named = (c: string) => {
    const i = CAPABILITY_NAMES.indexOf(c as typeof CAPABILITY_NAMES[number]);
    if (i < 0) throw new CommandLineError(`unknown cap: ${c}`);
    return i;
  };
  for (const op of plan.capOps) if (op.cap !== "ALL") named(op.cap);
  if (plan.options.capabilities !== undefined && plan.capOps.length === 0) return undefined;
  const inside = plan.options.uid ?? uid;
  const keep = new Set<number>(uid === 0 && inside === 0 ? all : []);
  for (const op of plan.capOps) {
    const caps = op.cap === "ALL" ? all : [named(op.cap)];
    for (const c of caps) op.add ? keep.add(c) : keep.delete(c);
  }
  return [...keep].sort((a, b) => a - b);
}

function exitStatus(status: ProcessStatus): number {
  switch (status.reason) {
    case "timeout":
      return EXIT_STATUS.TIMEOUT;
    case "output-limit":
      return EXIT_STATUS.OUTPUT_LIMIT;
    case "oom":
      return EXIT_STATUS.OOM;
    default:
      return status.code;
  }
}

function setupFailure(e: SetupError): number {
  const what = e.step === "exec" ? `execvp ${e.path}` : e.what;
  // These messages are whole, as bubblewrap's: no system error to add.
  const whole = e.step === "assert-userns" || e.step === "userns-join";
  console.error(whole ? `alcove: ${what}` : `alcove: ${what}: ${e.text}`);
  if (e.step === "exec") {
    return e.code === "ENOENT" ? EXIT_STATUS.NOT_FOUND : EXIT_STATUS.NOT_EXECUTABLE;
  }
  return EXIT_STATUS.SETUP;
}

function info(plan: CommandLinePlan, p: Process): Record<string, number> {
  const out: Record<string, number> = { "child-pid": p.pid };
  const ns = new Set(plan.options.namespaces as Namespace[]);
  if (runtime.process.uid() !== 0 && ns.size > 0) ns.add("user");
  for (const [name, file, key] of NS_KEYS) {
    if (!ns.has(name)) continue;
    const link = runtime.process.readLink(`/proc/${p.pid}/ns/${file}`);
    const m = link ? /\[(\d+)\]/.exec(link) : null;
    if (m) out[key] = Number(m[1]);
  }
  return out;
}

type ForwardedSignal = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT";

/** Forwards the signals that reach this process and not the command: SIGTERM and SIGHUP
 * always, SIGINT and SIGQUIT when the command has a session of its own (otherwise the
 * terminal sent them to the command too). Installed before the command starts: one that
 * comes meanwhile waits for it (`start` gives the command once it runs). */
function forwardSignals(ownSession: boolean): { start(p: Process): void } {
  let target: Process | undefined;
  const waiting: ForwardedSignal[] = [];
  const forward = (sig: ForwardedSignal) => () => {
    if (target === undefined) waiting.push(sig);
    else target.kill(sig).catch(() => {});
  };
  runtime.process.onSignal("SIGTERM", forward("SIGTERM"));
  runtime.process.onSignal("SIGHUP", forward("SIGHUP"));
  runtime.process.onSignal("SIGINT", ownSession ? forward("SIGINT") : () => {});
  runtime.process.onSignal("SIGQUIT", ownSession ? forward("SIGQUIT") : () => {});
  return {
    start(p: Process) {
      target = p;
      for (const sig of waiting.splice(0)) p.kill(sig).catch(() => {});
    },
  };
}

/**
 * Runs the command line `args` (without the program name) and returns the exit status:
 * the command's, 128 + N after signal N, or a reserved one (see {@linkcode EXIT_STATUS}).
 * Messages go to stderr, prefixed "alcove: ".
 *
 * @param args The arguments.
 * @returns The exit status.
 *
 * @example
 * ```ts
 * import { runCommandLine } from "@alcove/alcove";
 * console.log(await runCommandLine(["--version"])); // 0
 * ```
 */
export async function runCommandLine(args: readonly string[]): Promise<number> {
  const proc = runtime.process;
  const uid = proc.uid();
  let plan: CommandLinePlan;
  try {
    plan = parseCommandLine(args, {
      readFd,
      readFile: (path) => proc.readFile(path),
      env: proc.environment(),
      cwd: proc.cwd(),
      isTerminal: proc.stdinIsTerminal(),
      uid,
    });
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
    const asked = Object.entries(plan.cgroup).filter(([, v]) => v !== undefined);
    if (asked.length > 0) {
      plan.options.cgroup = { ...(plan.options.cgroup ?? {}), ...Object.fromEntries(asked) };
    }
    const caps = capabilities(plan, uid);
    if (caps !== undefined) plan.options.capabilities = caps;
  } catch (e) {
    if (!(e instanceof CommandLineError)) throw e;
    console.error(`alcove: ${e.message}`);
    return EXIT_STATUS.USAGE;
  }
  for (const fd of plan.blockFds) {
    try {
      host().read(fd, 1);
    } catch {
      // bubblewrap goes on when the descriptor cannot be read
    }
  }
  // The command gets the descriptors this process inherited (the root control process keeps
  // them), but for those read or written here.
  for (const fd of plan.ownFds) {
    try {
      host().fcntl(fd, "F_SETFD", "FD_CLOEXEC");
    } catch {
      // not open: nothing to keep from the command
    }
  }
  const o = plan.options;
  const piped = o.maxOutput !== undefined;
  const ownSession = o.newSession === true;
  let started: Alcove;
  try {
    started = await Alcove.start({ inheritStdio: true });
  } catch (e) {
    // No control process (native files missing or of another build): said in one line.
    console.error(`alcove: ${(e as Error).message}`);
    return EXIT_STATUS.SETUP;
  }
  await using drv = started;
  const signals = forwardSignals(ownSession);
  let p: Process;
  try {
    p = await drv.spawn(plan.argv, {
      ...o,
      inheritFds: "all",
      stdin: "inherit",
      stdout: piped ? "pipe" : "inherit",
      stderr: piped ? "pipe" : "inherit",
      ...(ownSession ? {} : { ownProcessGroup: false }),
    });
  } catch (e) {
    if (e instanceof SetupError) return setupFailure(e);
    if (e instanceof TypeError || e instanceof RangeError) {
      console.error(`alcove: ${e.message}`);
      return EXIT_STATUS.USAGE;
    }
    throw e;
  }
  signals.start(p);
  const facts = info(plan, p);
  try {
    if (plan.infoFd !== undefined) {
      writeFd(plan.infoFd, JSON.stringify(facts, null, 4) + "\n");
      host().close(plan.infoFd);
    }
    if (plan.jsonStatusFd !== undefined) writeFd(plan.jsonStatusFd, jsonLine(facts));
  } catch (e) {
    await p.kill("SIGKILL").catch(() => {});
    await p.status.catch(() => {});
    console.error(`alcove: Write to info_fd: ${(e as Error).message}`);
    return EXIT_STATUS.USAGE;
  }
  const copies = piped
    ? [
      p.stdout.pipeTo(proc.output("stdout"), { preventClose: true }),
      p.stderr.pipeTo(proc.output("stderr"), { preventClose: true }),
    ]
    : [];
  const status = await p.status;
  await Promise.allSettled(copies);
  const code = exitStatus(status);
  if (status.reason === "timeout") console.error(`alcove: wall-clock limit reached: killed`);
  if (status.reason === "output-limit") console.error(`alcove: output limit reached: killed`);
  if (status.reason === "oom") console.error(`alcove: out of memory: killed`);
  if (plan.jsonStatusFd !== undefined) {
    const last = {
      "exit-code": status.code,
      "exit-status": code,
      reason: status.reason,
      signal: status.signal,
      usage: status.usage,
    };
    try {
      writeFd(plan.jsonStatusFd, jsonLine(last));
    } catch {
      // the reader went away
    }
  }
  return code;
}
