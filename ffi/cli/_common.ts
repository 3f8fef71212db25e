/**
 * What the command line's two ways to run a command share: the spawn options it asks for, the
 * namespaces it reports, and reading and writing descriptors through libalcove.so. Internal.
 *
 * @module
 */
import { concat } from "../_wire.ts";
import type { Local } from "../local.ts";
import type { Namespace, SpawnOptions } from "../sandbox/options.ts";
import type { CommandLinePlan } from "./parse.ts";

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
