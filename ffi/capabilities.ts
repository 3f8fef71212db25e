/**
 * Keeping exactly the capabilities a process needs: every other capability leaves
 * its bounding set (prctl PR_CAPBSET_DROP), its effective, permitted and inheritable
 * sets (capset), and the kept ones are raised into its ambient set (prctl
 * PR_CAP_AMBIENT) so that they survive execve of an ordinary program, even after
 * setuid to an unprivileged user (with PR_SET_KEEPCAPS set first).
 *
 * @example
 * ```ts
 * import { Alcove, keepCapabilities } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const pid = await drv.fork([]);
 * await drv.prctl([pid], "PR_SET_KEEPCAPS", 1, 0, 0, 0);
 * await drv.setgid([pid], 65534);
 * await drv.setuid([pid], 65534);
 * await keepCapabilities(drv, [pid], ["CAP_NET_BIND_SERVICE"]);
 * await drv.execvp([pid], "cat", ["cat", "/proc/self/status"]); // CapAmb: 0000000000000400
 * ```
 * @module
 */
import type { AlcoveCallMethods } from "./_call_methods.ts";
import type { ConstantTable } from "./constants.ts";
import { AlcoveError, SystemCallError } from "./errors.ts";
import type { Pipeline } from "./types.ts";

/** The capability names of Linux (capabilities(7)), in the order of their numbers. The
 * numbers themselves come from the constant table of the process that uses them (a name
 * unknown to its kernel headers is refused there); tests/capabilities_test.ts checks this
 * list against the prctl constant list.
 *
 * @example
 * ```ts
 * import { CAPABILITY_NAMES } from "@alcove/alcove";
 * console.log(CAPABILITY_NAMES.includes("CAP_NET_BIND_SERVICE")); // true
 * ```
 */
export const CAPABILITY_NAMES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/** One of {@linkcode CAPABILITY_NAMES}.
 *
 * @example
 * ```ts
 * import type { CapabilityName } from "@alcove/alcove";
 * const name: CapabilityName = "CAP_SYS_ADMIN";
 * ```
 */
export type CapabilityName = typeof CAPABILITY_NAMES[number];

/** A capability: its name (case-insensitive) or its number.
 *
 * @example
 * ```ts
 * import type { Capability } from "@alcove/alcove";
 * const caps: Capability[] = ["CAP_NET_BIND_SERVICE", "cap_net_raw", 12];
 * ```
 */
export type Capability = CapabilityName | Lowercase<CapabilityName> | number;

/** Options of {@linkcode keepCapabilities}.
 *
 * @example
 * ```ts
 * import type { KeepCapabilitiesOptions } from "@alcove/alcove";
 * const noAmbient: KeepCapabilitiesOptions = { ambient: false };
 * ```
 */
export interface KeepCapabilitiesOptions {
  /** Raise the kept capabilities into the ambient set (and the inheritable set, which
   * ambient capabilities need), so that a program exec'd next has them. Default true;
   * false clears the ambient set and keeps them only until execve. */
  ambient?: boolean;
}

/** The capability sets of /proc/PID/status, as 64-bit masks.
 *
 * @example
 * ```ts
 * import type { ProcCapabilities } from "@alcove/alcove";
 * const none: ProcCapabilities = {
 *   inheritable: 0n, permitted: 0n, effective: 0n, bounding: 0n, ambient: 0n,
 * };
 * ```
 */
export interface ProcCapabilities {
  /** CapInh. */
  inheritable: bigint;
  /** CapPrm. */
  permitted: bigint;
  /** CapEff. */
  effective: bigint;
  /** CapBnd. */
  bounding: bigint;
  /** CapAmb. */
  ambient: bigint;
}

/**
 * Reads the Cap* lines of a /proc/PID/status text.
 *
 * @example
 * ```ts
 * import { procCapabilities } from "@alcove/alcove";
 * const status = Deno.readTextFileSync("/proc/self/status");
 * console.log(procCapabilities(status).bounding.toString(16));
 * ```
 */
export function procCapabilities(status: string): ProcCapabilities {
  const field = (name: string): bigint => {
    const m = status.match(new RegExp(`^${name}:\\s*([0-9a-fA-F]+)\\s*$`, "m"));
    if (!m) throw new SyntaxError(`procCapabilities: the text has no ${name} line`);
    return BigInt(`0x${m[1]}`);
  };
  return {
    inheritable: field("CapInh"),
    permitted: field("CapPrm"),
    effective: field("CapEff"),
    bounding: field("CapBnd"),
    ambient: field("CapAmb"),
  };
}

/**
 * The number of a capability: a name looked up in the "prctl" constants of `table`
 * (those of the process that will use it), or a number in [0, 63].
 *
 * @example
 * ```ts
 * import { Alcove, capabilityNumber } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * console.log(capabilityNumber(drv.constants, "CAP_NET_BIND_SERVICE")); // 10
 * ```
 */
export function capabilityNumber(table: ConstantTable, cap: Capability): number {
  if (typeof cap === "number") {
    if (!Number.isInteger(cap) || cap < 0 || cap > 63) {
      throw new RangeError(`Capability must be a number in [0, 63], got ${cap}`);
    }
    return cap;
  }
  if (typeof cap !== "string" || !/^cap_/i.test(cap)) {
    throw new TypeError(`Capability must be a CAP_* name or a number, got ${String(cap)}`);
  }
  const known = CAPABILITY_NAMES.some((n) => n === cap.toUpperCase());
  const n = known ? table.lookup("prctl", cap) : undefined;
  if (n === undefined) {
    throw new RangeError(`Capability ${JSON.stringify(cap)} is unknown on this platform`);
  }
  return n;
}

/**
 * The names of the capabilities of a mask (numbers without a name as `"CAP_<n>"`).
 *
 * @example
 * ```ts
 * import { Alcove, capabilityNames } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * console.log(capabilityNames(drv.constants, 0x400n)); // ["CAP_NET_BIND_SERVICE"]
 * ```
 */
export function capabilityNames(table: ConstantTable, mask: bigint): string[] {
  const names: string[] = [];
  for (let c = 0; c < 64; c++) {
    if ((mask >> BigInt(c) & 1n) === 0n) continue;
    names.push(CAPABILITY_NAMES.find((n) => table.lookup("prctl", n) === c) ?? `CAP_${c}`);
  }
  return names;
}

/**
 * What `keepCapabilities` needs of a driver: its capget, capset and prctl calls and its
 * constant tables. An {@linkcode Alcove} driver is one.
 *
 * @example
 * ```ts
 * import { Alcove, type CapabilityDriver } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const target: CapabilityDriver = drv;
 * ```
 */
export type CapabilityDriver =
  & Pick<AlcoveCallMethods, "capget" | "capset" | "prctl">
  & { readonly constants: ConstantTable };

/** The highest capability the kernel of the process knows (PR_CAPBSET_READ fails past it). */
async function lastCapability(drv: CapabilityDriver, pipeline: Pipeline): Promise<number> {
  for (let c = 0; c < 64; c++) {
    try {
      await drv.prctl(pipeline, "PR_CAPBSET_READ", c, 0, 0, 0);
    } catch (e) {
      if (e instanceof SystemCallError && e.code === "EINVAL") return c - 1;
      throw e;
    }
  }
  return 63;
}

/**
 * Keeps exactly the capabilities `keep` in the process at `pipeline` (a control
 * process): drops every other one from its bounding set, sets its effective and
 * permitted sets to `keep`, and (by default) its inheritable and ambient sets too, so
 * that the next execve hands them to the program. Every kept capability must be in
 * the process's permitted set; dropping from the bounding set needs CAP_SETPCAP, which
 * the process may drop itself (it does, unless kept).
 *
 * To keep capabilities across a change to an unprivileged uid, set PR_SET_KEEPCAPS
 * before setuid and call this after it (setuid clears the effective and ambient sets).
 *
 * @param drv The driver (see {@linkcode CapabilityDriver}).
 * @param pipeline The control process.
 * @param keep The capabilities it keeps.
 * @param options Whether they become ambient too.
 *
 * @example
 * ```ts
 * import { Alcove, keepCapabilities } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const pid = await drv.fork([]);
 * await keepCapabilities(drv, [pid], ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
 * console.log(await drv.capget([pid])); // effective === permitted === 0x2400n
 * ```
 */
export async function keepCapabilities(
  drv: CapabilityDriver,
  pipeline: Pipeline,
  keep: readonly Capability[],
  options: KeepCapabilitiesOptions = {},
): Promise<void> {
  if (!Array.isArray(keep)) {
    throw new TypeError("keepCapabilities: keep must be an array of capabilities");
  }
  const table = drv.constants;
  const kept = new Set<number>();
  for (const cap of keep) {
    try {
      kept.add(capabilityNumber(table, cap));
    } catch (e) {
      const E = e instanceof RangeError ? RangeError : TypeError;
      throw new E(`keepCapabilities: ${(e as Error).message}`);
    }
  }
  const ambient = options.ambient ?? true;
  let mask = 0n;
  for (const c of kept) mask |= 1n << BigInt(c);

  const before = await drv.capget(pipeline);
  const missing = mask & ~before.permitted;
  if (missing !== 0n) {
    throw new AlcoveError(
      "keepCapabilities",
      pipeline,
      `Cannot keep ${
        capabilityNames(table, missing).join(", ")
      }: not in the permitted set of the process`,
    );
  }
  // What is permitted becomes effective: setuid with PR_SET_KEEPCAPS left the effective
  // set empty, and dropping from the bounding set needs CAP_SETPCAP in it.
  if (before.effective !== before.permitted) {
    await drv.capset(pipeline, before.permitted, before.permitted, before.inheritable);
  }
  const last = await lastCapability(drv, pipeline);
  for (let c = 0; c <= last; c++) {
    if (kept.has(c)) continue;
    const { ret } = await drv.prctl(pipeline, "PR_CAPBSET_READ", c, 0, 0, 0);
    if (ret === 1) await drv.prctl(pipeline, "PR_CAPBSET_DROP", c, 0, 0, 0);
  }
  await drv.capset(pipeline, mask, mask, ambient ? mask : before.inheritable & mask);
  await drv.prctl(pipeline, "PR_CAP_AMBIENT", "PR_CAP_AMBIENT_CLEAR_ALL", 0, 0, 0);
  if (ambient) {
    for (const c of kept) {
      await drv.prctl(pipeline, "PR_CAP_AMBIENT", "PR_CAP_AMBIENT_RAISE", c, 0, 0);
    }
  }
}
