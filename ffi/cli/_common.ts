/**
 * What the command line's two ways to run a command share: the spawn options it asks for, the
 * namespaces it reports, and reading and writing descriptors through libalcove.so. Internal.
 *
 * @module
 */
import { concat } from "../_wire.ts";
import { lastWords } from "../_c_strings.ts";
import type { Local } from "../local.ts";
import type { Namespace, SpawnOptions } from "../sandbox/options.ts";
import type { CommandLinePlan } from "./parse.ts";
import type { ProcessSeam } from "../_runtime_types.ts";

/** The /proc/PID/ns names bubblewrap reports, by namespace, in its order. */
export const NS_KEYS: [Namespace, string][] = [
  ["cgroup", "cgroup"],
  ["ipc", "ipc"],
  ["mount", "mnt"],
  ["net", "net"],
  ["pid", "pid"],
  ["uts", "uts"],
  ["user", "user"],
];

/** The /proc/PID/ns names of the namespaces --info-fd reports: those asked for, and the user
 * namespace spawn adds to them when not root. */
export function reportedNamespaces(plan: CommandLinePlan, uid: number): string[] {
  const ns = new Set(plan.options.namespaces as Namespace[]);
  if (uid !== 0 && ns.size > 0) ns.add("user");
  return NS_KEYS.filter(([name]) => ns.has(name)).map(([, file]) => file);
}

/** spawn's options for the command: the plan's, with this process's stdio and descriptors. */
export function commandOptions(plan: CommandLinePlan): SpawnOptions {
  const piped = plan.options.maxOutput !== undefined;
  return {
    ...plan.options,
    inheritFds: "all",
    stdin: "inherit",
    stdout: piped ? "pipe" : "inherit",
    stderr: piped ? "pipe" : "inherit",
    ...(plan.options.newSession === true ? {} : { ownProcessGroup: false }),
  };
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

/** What a mount's field is, said to a command-line user. */
const MOUNT_FIELD: Record<string, string> = {
  target: "the destination",
  source: "the source",
  size: "the size",
};

/**
 * spawn's message for a refused mount that an option made, said of that option
 * (`--dir: the destination must not contain ".." components`, where spawn names
 * `options.mounts[2].target`); any other message as it is. csrc/cli_parse.c says the same.
 */
export function commandLineMessage(plan: CommandLinePlan, message: string): string {
  const m = /^spawn: options\.mounts\[(\d+)\]\.(\w+): (.*)$/s.exec(message);
  const option = m ? plan.mountOptions[Number(m[1])] : undefined;
  if (!m || option === undefined || !Object.hasOwn(MOUNT_FIELD, m[2])) return message;
  return `${option}: ${MOUNT_FIELD[m[2]]} ${m[3]}`;
}

/**
 * The descriptors this process was given, among those open: not those the runtime opened
 * for itself, which a command line in a process of its own (bubblewrap) would find closed,
 * and which must not be read, written or closed for an option that names their number:
 * its event loop's epoll and eventfd descriptors, a pipe with both ends here (a wake-up
 * pipe), and under Deno, which leaves the descriptors it inherited as they were and opens
 * its own close-on-exec, any close-on-exec one (Node.js and Bun make the inherited ones
 * close-on-exec too).
 */
export function givenFds(proc: ProcessSeam, runtimeName: string): Set<number> {
  const fds = proc.openFds();
  const link = new Map(fds.map((fd) => [fd, proc.readLink(`/proc/self/fd/${fd}`)]));
  // Each descriptor's open flags (fdinfo), read once, when a rule needs them.
  const known = new Map<number, number>();
  const flags = (fd: number): number => {
    let f = known.get(fd);
    if (f === undefined) {
      try {
        const info = new TextDecoder().decode(proc.readFile(`/proc/self/fdinfo/${fd}`));
        f = parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? "0", 8);
      } catch {
        f = 0;
      }
      known.set(fd, f);
    }
    return f;
  };
  const CLOSE_ON_EXEC = 0o2000000;
  const given = new Set<number>();
  for (const fd of fds) {
    const target = link.get(fd);
    if (target === undefined || target.startsWith("anon_inode:")) continue;
    if (runtimeName === "Deno" && (flags(fd) & CLOSE_ON_EXEC) !== 0) continue;
    if (target.startsWith("pipe:")) {
      const mode = flags(fd) & 3;
      const twin = fds.some((o) => o !== fd && link.get(o) === target && (flags(o) & 3) !== mode);
      if (twin) continue;
    }
    given.add(fd);
  }
  return given;
}

/** An error of a descriptor read or write, with the C library's words. */
export function fdError(e: unknown): Error {
  const code = (e as { code?: string }).code;
  return code === undefined ? e as Error : new Error(STRERROR[code] ?? code);
}

/** Everything readable from `fd`, to its end. */
export function readFd(local: Local, fd: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (;;) {
    let chunk: Uint8Array;
    try {
      chunk = local.read(fd, 65536);
    } catch (e) {
      throw fdError(e);
    }
    if (chunk.length === 0) break;
    parts.push(chunk);
  }
  return concat(parts);
}

/**
 * The first of `args` that is not UTF-8 in the process's command line (/proc/self/cmdline),
 * which the runtime gave with U+FFFD in its place: its index, or -1 when there is none (or
 * the command line cannot be read).
 */
export function notUtf8(process: ProcessSeam, args: readonly string[]): number {
  if (!args.some((a) => a.includes("\uFFFD"))) return -1;
  let all: Uint8Array;
  try {
    all = process.readFile("/proc/self/cmdline");
  } catch {
    return -1;
  }
  const mine = lastWords(all, args.length);
  const strict = new TextDecoder("utf-8", { fatal: true });
  return mine.findIndex((w) => {
    try {
      strict.decode(w);
      return false;
    } catch {
      return true;
    }
  });
}
