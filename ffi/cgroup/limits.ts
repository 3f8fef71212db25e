/**
 * cgroup limits of a sandbox (`SpawnOptions.cgroup`) and their checking: sizes as numbers of
 * bytes or strings with units, each value in range, the field named on any problem.
 *
 * The control process maps each limit to the file of the cgroup version that holds the
 * controller on the machine: v2 `memory.max`, `memory.high`, `memory.swap.max`, `pids.max`,
 * `cpu.max`, `cpu.weight`; v1 `memory.limit_in_bytes`, `memory.soft_limit_in_bytes`,
 * `memory.memsw.limit_in_bytes` (memory plus swap), `pids.max`,
 * `cpu.cfs_quota_us`/`cpu.cfs_period_us`, `cpu.shares`.
 *
 * @example
 * ```ts
 * import { type CgroupLimits, parseSize } from "@alcove/alcove";
 * const limits: CgroupLimits = { memoryMax: "64M", pidsMax: 32, cpuMax: 0.5 };
 * console.log(parseSize("64M")); // 67108864
 * ```
 * @module
 */

/** A size in bytes: a number, or a string with a binary unit ("512K", "64M", "1.5G", "2GiB").
 *
 * @example
 * ```ts
 * import type { Size } from "@alcove/alcove";
 * const s: Size = "256M";
 * ```
 */
export type Size = number | string;

/** The cgroup of a sandbox: its limits (every field optional; `{}` gives a cgroup without
 * limits, for its usage figures and to kill everything the program started).
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const p = await drv.spawn(["true"], { cgroup: { memoryMax: "64M", pidsMax: 16 } });
 * console.log((await p.status).usage.cgroup !== undefined);
 * ```
 */
export interface CgroupLimits {
  /** Memory (bytes) above which the kernel's OOM killer acts in the cgroup (v2 memory.max,
   * v1 memory.limit_in_bytes); `Infinity` or "max": no limit. */
  memoryMax?: Size;
  /** Memory above which the cgroup's processes are throttled and reclaimed (v2 memory.high;
   * v1 has no such limit and gets memory.soft_limit_in_bytes, a reclaim target). */
  memoryHigh?: Size;
  /** Swap the cgroup may use (v2 memory.swap.max; v1 memory.memsw.limit_in_bytes is set to
   * memoryMax plus this, so v1 needs memoryMax too). 0 forbids swap. A later `Cgroup.set` of
   * memoryMax alone keeps the swap allowed so, on v1 as on v2. */
  memorySwapMax?: Size;
  /** Processes and threads at once (pids.max): a fork beyond it fails with EAGAIN. */
  pidsMax?: number;
  /** CPUs of time per period (0.5: half of one CPU; 2: two CPUs), from 0.01 to 1024 (v2
   * cpu.max, v1 cpu.cfs_quota_us over a period of 100 ms). */
  cpuMax?: number;
  /** Share of CPU under contention, 1 to 10000, 100 by default (v2 cpu.weight; v1
   * cpu.shares = weight * 1024 / 100). */
  cpuWeight?: number;
  /** Raw files of the cgroup written after the limits, by name (`{ "memory.oom.group":
   * "1" }`): the controller named before the first dot decides the hierarchy; "cgroup.*"
   * files are v2's. */
  files?: Readonly<Record<string, string | number>>;
}

/** The keys of the spawn request (csrc/cgroup.h). */
export const CG_KEY = {
  memoryMax: 1,
  memoryHigh: 2,
  memorySwapMax: 3,
  pidsMax: 4,
  cpuMax: 5,
  cpuWeight: 6,
} as const;

const UNITS: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
const MAX_BYTES = 2 ** 62;

function fail(field: string, what: string, Kind: typeof TypeError = TypeError): never {
  throw new Kind(`${field}: ${what}`);
}

/**
 * Parses a size: a whole number of bytes, or a number with a binary unit K, M, G or T
 * (optionally followed by "iB" or "B"; "64M" is 64 MiB). A TypeError or RangeError names
 * `field` when it is not one.
 *
 * @param value The size.
 * @param field What to call it in an error.
 * @returns The bytes.
 *
 * @example
 * ```ts
 * import { parseSize } from "@alcove/alcove";
 * console.log(parseSize("1.5K"), parseSize(4096)); // 1536 4096
 * ```
 */
export function parseSize(value: Size, field = "size"): number {
  let n: number;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) fail(field, `must be a whole number of bytes, got ${value}`);
    n = value;
  } else if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(value);
    if (m === null) {
      fail(
        field,
        `must be a size such as 4096, "512K", "64M" or "1G", got ${JSON.stringify(value)}`,
      );
    }
    n = Math.round(Number(m[1]) * UNITS[m[2].toUpperCase()]);
  } else {
    fail(field, `must be a number of bytes or a string with a unit, got ${typeof value}`);
  }
  if (n < 0 || n > MAX_BYTES) fail(field, `must be from 0 to 2^62 bytes, got ${n}`, RangeError);
  return n;
}

function whole(field: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(field, "must be an integer");
  if (v < lo || v > hi) fail(field, `must be from ${lo} to ${hi}, got ${v}`, RangeError);
  return v;
}

/** A checked `CgroupLimits`: the limits by key and the raw files. Internal to spawn. */
export interface CheckedLimits {
  /** [key (CG_KEY), value] pairs. */
  set: [number, bigint][];
  /** [file, value] pairs. */
  files: [string, string][];
}

const KNOWN = new Set([...Object.keys(CG_KEY), "files"]);

/**
 * The files a sandbox may not write, and why: they move processes into the cgroup or kill
 * them, so any process of the machine could be taken in and killed with the program's tree
 * (v1's `tasks`, `release_agent` and `notify_on_release` have no dot and are refused by
 * name already; the control process refuses them all too).
 */
const REFUSED_FILES: Readonly<Record<string, string>> = {
  "cgroup.procs":
    "moves processes into the cgroup, which holds the program and its descendants alone",
  "cgroup.threads":
    "moves threads into the cgroup, which holds the program and its descendants alone",
  "cgroup.kill": "kills the cgroup's processes: kill the program (its tree ends with it)",
};

/**
 * Checks a `CgroupLimits` (what `spawn` does with `options.cgroup`); every problem is a
 * TypeError or RangeError naming the field under `prefix`.
 *
 * @param limits The limits.
 * @param prefix The name of the limits in errors.
 * @returns The limits in the form of the spawn request.
 *
 * @example
 * ```ts
 * import { checkCgroupLimits } from "@alcove/alcove";
 * console.log(checkCgroupLimits({ memoryMax: "1M" }).set); // [[1, 1048576n]]
 * ```
 */
export function checkCgroupLimits(limits: unknown, prefix = "cgroup"): CheckedLimits {
  const proto = typeof limits === "object" && limits !== null
    ? Object.getPrototypeOf(limits)
    : undefined;
  // A plain object: a Map or a Date would read as one with no limit at all.
  if (proto !== Object.prototype && proto !== null) {
    fail(prefix, "must be a plain object of cgroup limits");
  }
  // Its own fields alone, those the check below sees.
  const o: Record<string, unknown> = { ...(limits as Record<string, unknown>) };
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) fail(`${prefix}.${k}`, "unknown cgroup limit");
  }
  const out: CheckedLimits = { set: [], files: [] };
  for (const key of ["memoryMax", "memoryHigh", "memorySwapMax"] as const) {
    const v = o[key];
    if (v === undefined || v === Infinity || v === "max") continue;
    const n = parseSize(v as Size, `${prefix}.${key}`);
    const min = key === "memorySwapMax" ? 0 : 4096;
    if (n < min) fail(`${prefix}.${key}`, `must be at least ${min} bytes, got ${n}`, RangeError);
    out.set.push([CG_KEY[key], BigInt(n)]);
  }
  if (o.pidsMax !== undefined && o.pidsMax !== Infinity) {
    out.set.push([CG_KEY.pidsMax, BigInt(whole(`${prefix}.pidsMax`, o.pidsMax, 1, 4194304))]);
  }
  if (o.cpuMax !== undefined && o.cpuMax !== Infinity) {
    const v = o.cpuMax;
    if (typeof v !== "number" || Number.isNaN(v)) {
      fail(`${prefix}.cpuMax`, "must be a number of CPUs");
    }
    if (v < 0.01 || v > 1024) {
      fail(`${prefix}.cpuMax`, `must be from 0.01 to 1024 CPUs, got ${v}`, RangeError);
    }
    out.set.push([CG_KEY.cpuMax, BigInt(Math.round(v * 1e6))]);
  }
  if (o.cpuWeight !== undefined) {
    out.set.push([CG_KEY.cpuWeight, BigInt(whole(`${prefix}.cpuWeight`, o.cpuWeight, 1, 10000))]);
  }
  if (o.files !== undefined) {
    if (typeof o.files !== "object" || o.files === null || Array.isArray(o.files)) {
      fail(`${prefix}.files`, "must be an object of file names and values");
    }
    const entries = Object.entries(o.files);
    if (entries.length > 64) fail(`${prefix}.files`, "must have at most 64 files", RangeError);
    for (const [name, value] of entries) {
      const f = `${prefix}.files["${name}"]`;
      if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(name) || name.length > 255) {
        fail(f, "must name a file of the cgroup, such as memory.oom.group");
      }
      const refused = REFUSED_FILES[name];
      if (refused !== undefined) fail(f, refused);
      if (typeof value !== "string" && typeof value !== "number") {
        fail(f, "must be a string or a number");
      }
      const text = String(value);
      if (text.includes("\0") || text.length > 4096) {
        fail(f, "must be at most 4096 characters without NUL bytes", RangeError);
      }
      out.files.push([name, text]);
    }
  }
  return out;
}
