/**
 * The command line's driver path: starts a driver whose root control process has this
 * process's own stdio (so the command gets the terminal itself), spawns the command, reports
 * on --info-fd and --json-status-fd, and returns the exit status. Taken where this process
 * cannot become the supervisor (see run.ts): --output-limit, which pipes and counts the
 * output, and runtimes without a clean exec. Internal.
 *
 * @module
 */
import { runtime } from "../_runtime.ts";
import { Alcove } from "../driver.ts";
import { DriverClosedError, SetupError } from "../errors.ts";
import { type Local, openLocal } from "../local.ts";
import type { Process, ProcessStatus } from "../sandbox/process.ts";
import { type CommandLinePlan, EXIT_STATUS } from "./parse.ts";
import { commandLineMessage, commandOptions, fdError, reportedNamespaces } from "./_common.ts";

const encoder = new TextEncoder();

/** Writes `text` to `fd`, one of those this process was given (`given`): another is closed
 * as far as the command line is concerned (see givenFds). */
function writeFd(local: Local, given: Set<number>, fd: number, text: string): void {
  if (!given.has(fd)) throw fdError({ code: "EBADF" });
  const data = encoder.encode(text);
  try {
    for (let off = 0; off < data.length;) off += local.write(fd, data.subarray(off));
  } catch (e) {
    throw fdError(e);
  }
}

/** One JSON document on one line, laid out as bubblewrap's: `{ "key": value, ... }`. */
function jsonLine(o: Record<string, unknown>): string {
  const parts = Object.entries(o).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{ ${parts.join(", ")} }\n`;
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
  // After bubblewrap's "execvp PATH: TEXT", what the report adds to "Cannot run PATH".
  const ran = `Cannot run ${e.path}`;
  const hint = e.step === "exec" && e.what.startsWith(ran) ? e.what.slice(ran.length) : "";
  const what = e.step === "exec" ? `execvp ${e.path}` : e.what;
  // These messages are whole, as bubblewrap's: no system error to add.
  const whole = e.step === "assert-userns" || e.step === "userns-join";
  console.error(whole ? `alcove: ${what}` : `alcove: ${what}: ${e.text}${hint}`);
  if (e.step === "exec") {
    return e.code === "ENOENT" ? EXIT_STATUS.NOT_FOUND : EXIT_STATUS.NOT_EXECUTABLE;
  }
  return EXIT_STATUS.SETUP;
}

/** The inode of /proc/PID/ns/NAME, undefined when it cannot be read. */
function nsInode(pid: number, name: string): number | undefined {
  const link = runtime.process.readLink(`/proc/${pid}/ns/${name}`);
  const m = link ? /\[(\d+)\]/.exec(link) : null;
  return m ? Number(m[1]) : undefined;
}

/** The process whose children's pid namespace is the command's: past the relays a joined
 * pid namespace makes (--pidns, --userns; csrc/cli.c's pid_namespace_holder says how). */
function pidNamespaceHolder(pid: number): number {
  for (let depth = 0; depth < 3; depth++) {
    if (nsInode(pid, "pid") === nsInode(pid, "pid_for_children")) break;
    let children: string;
    try {
      children = new TextDecoder().decode(
        runtime.process.readFile(`/proc/${pid}/task/${pid}/children`),
      );
    } catch {
      break;
    }
    const m = /^(\d+) $/.exec(children);
    if (!m) break; // not exactly one child
    pid = Number(m[1]);
  }
  return pid;
}

function info(plan: CommandLinePlan, uid: number, p: Process): Record<string, number> {
  const out: Record<string, number> = { "child-pid": p.pid };
  for (const file of reportedNamespaces(plan, uid)) {
    const inode = file === "pid"
      ? nsInode(pidNamespaceHolder(p.pid), "pid_for_children")
      : nsInode(p.pid, file);
    if (inode !== undefined) out[`${file}-namespace`] = inode;
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
 * Runs the parsed command line through a driver and returns the exit status.
 *
 * @param plan The parsed command line.
 * @param uid This process's uid.
 * @param given The descriptors this process was given (see givenFds), found before the
 *   driver opened its own.
 * @param opened libalcove.so's calls, if the parse already opened them.
 * @returns The exit status.
 */
export async function runWithDriver(
  plan: CommandLinePlan,
  uid: number,
  given: Set<number>,
  opened?: Local,
): Promise<number> {
  let local = opened;
  const host = () => local ??= openLocal();
  // The command dies with this process (its control processes see to that); with
  // --die-with-parent, this process dies with the one that started it, as bubblewrap does.
  if (plan.dieWithParent) {
    const kill = host().constants.lookup("signal", "SIGKILL")!;
    host().prctl("PR_SET_PDEATHSIG", kill, 0, 0, 0);
  }
  // Before the spawn: the driver has no moment between the sandbox's process and its setup
  // (the supervisor waits there, after reporting, as bubblewrap does).
  const blocks = plan.usernsBlockFd === undefined
    ? plan.blockFds
    : [plan.usernsBlockFd, ...plan.blockFds];
  for (const fd of blocks) {
    if (!given.has(fd)) continue; // bubblewrap goes on when it cannot be read
    try {
      host().read(fd, 1);
    } catch {
      // bubblewrap goes on when the descriptor cannot be read
    }
  }
  // The command gets the descriptors this process inherited (the root control process keeps
  // them), but for those read or written here.
  for (const fd of plan.ownFds) {
    if (!given.has(fd)) continue;
    try {
      host().fcntl(fd, "F_SETFD", "FD_CLOEXEC");
    } catch {
      // not open: nothing to keep from the command
    }
  }
  const o = commandOptions(plan);
  const piped = o.stdout === "pipe";
  let started: Alcove;
  try {
    started = await Alcove.start({ inheritStdio: true });
  } catch (e) {
    // No control process (native files missing or of another build): said in one line.
    console.error(`alcove: ${(e as Error).message}`);
    return EXIT_STATUS.SETUP;
  }
  await using drv = started;
  const signals = forwardSignals(o.newSession === true);
  let p: Process;
  try {
    p = await drv.spawn(plan.argv, o);
  } catch (e) {
    if (e instanceof SetupError) return setupFailure(e);
    // Bad options, or the control process lost (killed) before the answer: one line.
    if (e instanceof TypeError || e instanceof RangeError || e instanceof DriverClosedError) {
      console.error(`alcove: ${commandLineMessage(plan, e.message)}`);
      return EXIT_STATUS.USAGE;
    }
    throw e;
  }
  signals.start(p);
  const facts = info(plan, uid, p);
  try {
    if (plan.infoFd !== undefined) {
      writeFd(host(), given, plan.infoFd, JSON.stringify(facts, null, 4) + "\n");
      host().close(plan.infoFd);
    }
    if (plan.jsonStatusFd !== undefined) {
      writeFd(host(), given, plan.jsonStatusFd, jsonLine(facts));
    }
  } catch (e) {
    await p.kill("SIGKILL").catch(() => {});
    await p.status.catch(() => {});
    console.error(`alcove: Write to info_fd: ${(e as Error).message}`);
    return EXIT_STATUS.USAGE;
  }
  const proc = runtime.process;
  // A failed write cancels the copy, which closes the command's pipe: its next write gets
  // SIGPIPE, as it would writing there itself. A reader that went away (`| head -c 10`) is
  // said no more than it would be then; another failure (a full disk) lost output, which
  // the status says.
  const lost: string[] = [];
  const copy = (which: "stdout" | "stderr") =>
    p[which].pipeTo(proc.output(which), { preventClose: true }).catch((e) => {
      if ((e as { code?: string }).code === "EPIPE") return;
      lost.push(`alcove: Cannot write the command's ${which}: ${(e as Error).message}`);
    });
  const copies = piped ? [copy("stdout"), copy("stderr")] : [];
  let status: ProcessStatus;
  try {
    status = await p.status;
  } catch (e) {
    // The control process was lost (killed): the command went with it (it dies with its parent).
    await Promise.allSettled(copies);
    console.error(`alcove: ${(e as Error).message}`);
    return EXIT_STATUS.USAGE;
  }
  await Promise.allSettled(copies);
  let code = exitStatus(status);
  for (const line of lost) console.error(line);
  if (lost.length > 0) code = EXIT_STATUS.USAGE;
  if (status.reason === "timeout") console.error(`alcove: wall-clock limit reached: killed`);
  if (status.reason === "output-limit") {
    // A command that ended before it could be killed still had its output cut.
    const what = status.signal ? "killed" : "the rest of the output was dropped";
    console.error(`alcove: output limit reached: ${what}`);
  }
  if (status.reason === "oom") {
    // Or a process of its cgroup was, and the command then failed (a shell's).
    const what = status.signal ? "killed" : "a process of the command was killed";
    console.error(`alcove: out of memory: ${what}`);
  }
  if (plan.jsonStatusFd !== undefined) {
    const last = {
      "exit-code": status.code,
      "exit-status": code,
      reason: status.reason,
      signal: status.signal,
      usage: status.usage,
    };
    try {
      writeFd(host(), given, plan.jsonStatusFd, jsonLine(last));
    } catch {
      // the reader went away
    }
  }
  return code;
}
