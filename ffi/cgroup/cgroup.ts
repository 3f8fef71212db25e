/**
 * cgroups for direct use, on v1, v2 and hybrid machines, the way alcove's alcove_cgroup module
 * offered v1 helpers: find the layout, create a cgroup under a control process's own, set
 * limits, add processes, read the figures, kill everything in it, remove it. Every file
 * operation is a call run by a control process (a `Task`: `drv.root` or one forked below it),
 * so it acts with that process's privileges and sees its mounts. The parsers of the cgroup
 * files are pure functions.
 *
 * @example
 * ```ts
 * import { Alcove, Cgroup } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const layout = await Cgroup.layout(drv.root);
 * console.log(layout.v2 !== undefined, Object.keys(layout.v1));
 * ```
 * @module
 */
import type { TaskCalls } from "../_calls.ts";
import { SystemCallError } from "../errors.ts";
import type { CgroupUsage } from "../types.ts";
import { CG_KEY, type CgroupLimits, checkCgroupLimits } from "./limits.ts";

/** Where a process is in each cgroup hierarchy that is mounted where it can see it.
 *
 * @example
 * ```ts
 * import type { CgroupLayout } from "@alcove/alcove";
 * const l: CgroupLayout = { v1: { memory: "/sys/fs/cgroup/memory" }, hidden: [] };
 * ```
 */
export interface CgroupLayout {
  /** Its v2 cgroup directory, with the controllers v2 offers it and enables below it. */
  v2?: { dir: string; controllers: string[]; subtreeControl: string[] };
  /** Its v1 cgroup directory by controller (controllers mounted together share one). */
  v1: Record<string, string>;
  /** v1 controllers that are mounted, but with the process's cgroup outside the mount. */
  hidden: string[];
}

/** A hierarchy of the layout: "v2", or a v1 controller's name.
 *
 * @example
 * ```ts
 * import type { CgroupHierarchy } from "@alcove/alcove";
 * const h: CgroupHierarchy = "memory";
 * ```
 */
export type CgroupHierarchy = string;

/**
 * Parses "key value" lines (v2 memory.events, cpu.stat, memory.stat, pids.events; v1
 * memory.oom_control, memory.stat, cpu.stat): each value as a number ("max" is Infinity).
 *
 * @param text The file's contents.
 * @returns The values by key.
 *
 * @example
 * ```ts
 * import { parseKeyedFile } from "@alcove/alcove";
 * console.log(parseKeyedFile("low 0\nhigh 2\nmax 5\noom 1\noom_kill 1\n").oom_kill); // 1
 * ```
 */
export function parseKeyedFile(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+(\S+)$/.exec(line.trim());
    if (m === null) continue;
    const v = m[2] === "max" ? Infinity : Number(m[2]);
    if (!Number.isNaN(v)) out[m[1]] = v;
  }
  return out;
}

/**
 * Parses a file of one value (memory.peak, memory.max, pids.max, pids.peak,
 * memory.max_usage_in_bytes, cpuacct.usage): a number, "max" as Infinity.
 *
 * @param text The file's contents.
 * @returns The value.
 *
 * @example
 * ```ts
 * import { parseValueFile } from "@alcove/alcove";
 * console.log(parseValueFile("max\n"), parseValueFile("4194304\n")); // Infinity 4194304
 * ```
 */
export function parseValueFile(text: string): number {
  const t = text.trim();
  if (t === "max") return Infinity;
  if (!/^-?\d+$/.test(t)) throw new TypeError(`Cannot parse a cgroup value: ${JSON.stringify(t)}`);
  return Number(t);
}

/**
 * Parses a list of controllers (v2 cgroup.controllers, cgroup.subtree_control).
 *
 * @param text The file's contents.
 * @returns The controller names.
 *
 * @example
 * ```ts
 * import { parseControllers } from "@alcove/alcove";
 * console.log(parseControllers("cpuset cpu io memory pids\n")); // ["cpuset", "cpu", ...]
 * ```
 */
export function parseControllers(text: string): string[] {
  return text.split(/\s+/).filter((c) => c !== "");
}

/**
 * Finds a process's cgroup directories from its /proc/self/mountinfo and /proc/self/cgroup:
 * the v2 one (the "0::" line, under the first cgroup2 mount) and the v1 ones by controller
 * (under the first cgroup mount with that controller, when the mount's root holds the path).
 *
 * @param mountinfo The text of /proc/PID/mountinfo.
 * @param procCgroup The text of /proc/PID/cgroup.
 * @returns The layout, without v2's controller lists (empty).
 *
 * @example
 * ```ts
 * import { parseCgroupLayout } from "@alcove/alcove";
 * const l = parseCgroupLayout(
 *   "40 30 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
 *   "0::/user.slice\n",
 * );
 * console.log(l.v2?.dir); // "/sys/fs/cgroup/user.slice"
 * ```
 */
export function parseCgroupLayout(mountinfo: string, procCgroup: string): CgroupLayout {
  const mounts = new Map<string, { mount: string; root: string }>();
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const f = line.slice(0, sep).split(" ");
    const [type, , superOptions = ""] = line.slice(sep + 3).split(" ");
    const at = { mount: unescapeMount(f[4] ?? ""), root: unescapeMount(f[3] ?? "") };
    if (type === "cgroup2" && !mounts.has("")) mounts.set("", at);
    if (type !== "cgroup") continue;
    for (const c of superOptions.split(",")) if (!mounts.has(c)) mounts.set(c, at);
  }
  const layout: CgroupLayout = { v1: {}, hidden: [] };
  for (const line of procCgroup.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m === null) continue;
    const names = m[1] === "0" && m[2] === "" ? [""] : m[2].split(",");
    for (const c of names) {
      const at = mounts.get(c);
      if (at === undefined) continue;
      const path = m[3];
      let rest: string | null = null;
      if (at.root === "/") rest = path;
      else if (path === at.root || path.startsWith(`${at.root}/`)) {
        rest = path.slice(at.root.length);
      }
      if (rest === null) {
        if (c !== "") layout.hidden.push(c);
        continue;
      }
      const dir = `${at.mount}${rest === "/" ? "" : rest}`;
      if (c === "") layout.v2 = { dir, controllers: [], subtreeControl: [] };
      else layout.v1[c] = dir;
    }
  }
  return layout;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

async function readText(task: TaskCalls, path: string): Promise<string> {
  const fd = await task.open(path, ["O_RDONLY", "O_CLOEXEC"], 0);
  try {
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const chunk = await task.read(fd, 65536);
      if (chunk.length === 0) return text + decoder.decode();
      text += decoder.decode(chunk, { stream: true });
    }
  } finally {
    await task.close(fd);
  }
}

async function writeText(task: TaskCalls, path: string, text: string): Promise<void> {
  const fd = await task.open(path, ["O_WRONLY", "O_CLOEXEC"], 0);
  try {
    await task.write(fd, text);
  } finally {
    await task.close(fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A control process's Task (drv.root, or one from fork or clone): the driver itself, which
 * takes a pipeline first in every call, is not one. */
function checkTask(call: string, task: unknown): void {
  const t = task as { mkdir?: unknown; pipeline?: unknown } | null;
  if (typeof t?.mkdir !== "function" || !Array.isArray(t.pipeline)) {
    throw new TypeError(
      `${call}: task must be a control process's Task (drv.root or a Task), not ${
        t !== null && typeof t === "object" && "spawn" in t && !("pipeline" in t)
          ? "the driver"
          : typeof task
      }`,
    );
  }
}

/**
 * A cgroup made by `Cgroup.create`: one directory in each hierarchy it was asked in, nested
 * under the control process's own cgroup there. `set` maps limits to the files of the version
 * holding each controller, as spawn's `cgroup` option does.
 *
 * @example
 * ```ts
 * import { Alcove, Cgroup } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * await using cg = await Cgroup.create(drv.root, "example", { controllers: ["pids"] });
 * await cg.set({ pidsMax: 8 });
 * console.log(await cg.read("pids.max")); // "8\n"
 * ```
 */
export class Cgroup {
  /** The control process whose calls do the file work. */
  readonly task: TaskCalls;
  /** The directory of this cgroup in each hierarchy ("v2" or a v1 controller). */
  readonly dirs: Readonly<Record<CgroupHierarchy, string>>;
  /** The layout it was made in. */
  readonly layout: CgroupLayout;
  #removed = false;

  private constructor(task: TaskCalls, layout: CgroupLayout, dirs: Record<string, string>) {
    this.task = task;
    this.layout = layout;
    this.dirs = dirs;
  }

  /**
   * Finds where a control process is in each hierarchy, and which controllers v2 offers it
   * and enables for its children.
   *
   * @param task The control process (`drv.root`, or a Task forked below it).
   * @returns Its layout.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * console.log((await Cgroup.layout(drv.root)).hidden); // []
   * ```
   */
  static async layout(task: TaskCalls): Promise<CgroupLayout> {
    checkTask("Cgroup.layout", task);
    const layout = parseCgroupLayout(
      await readText(task, "/proc/self/mountinfo"),
      await readText(task, "/proc/self/cgroup"),
    );
    if (layout.v2 !== undefined) {
      const read = (f: string) =>
        readText(task, `${layout.v2!.dir}/${f}`).then(parseControllers, () => []);
      layout.v2.controllers = await read("cgroup.controllers");
      layout.v2.subtreeControl = await read("cgroup.subtree_control");
    }
    return layout;
  }

  /**
   * Where a controller's files are for a process with this layout: "v2", its v1 controller
   * name, or a TypeError saying why it cannot be used.
   *
   * @param layout A layout (`Cgroup.layout`).
   * @param controller A controller name ("memory", "pids", "cpu", ...).
   * @returns The hierarchy.
   *
   * @example
   * ```ts
   * import { Cgroup } from "@alcove/alcove";
   * const h = Cgroup.locate({ v1: { memory: "/sys/fs/cgroup/memory" }, hidden: [] }, "memory");
   * console.log(h); // "memory"
   * ```
   */
  static locate(layout: CgroupLayout, controller: string): CgroupHierarchy {
    if (layout.v1[controller] !== undefined) return controller;
    const v2 = layout.v2;
    let why: string;
    if (layout.hidden.includes(controller)) {
      why = "it is mounted for cgroup v1, but this process's cgroup is outside that mount";
    } else if (v2?.subtreeControl.includes(controller)) {
      return "v2";
    } else if (v2?.controllers.includes(controller)) {
      why = `it is not delegated: not enabled in ${v2.dir}/cgroup.subtree_control`;
    } else if (v2 !== undefined) {
      why = `it is neither mounted for cgroup v1 nor available to ${v2.dir} in cgroup v2`;
    } else {
      why = "it is not mounted";
    }
    throw new TypeError(`Cannot use the ${controller} controller: ${why}`);
  }

  /**
   * Creates a cgroup named `name` under the control process's own cgroup in v2 (where
   * mounted) and in the v1 hierarchy of each controller asked for (default: memory, pids and
   * cpu where they are on v1). An existing directory of that name is an error (EEXIST).
   *
   * @param task The control process that does the file work.
   * @param name The directory name (no "/").
   * @param options `controllers`: the controllers whose limits will be set.
   * @returns The cgroup.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-create");
   * console.log(Object.keys(cg.dirs).length > 0);
   * ```
   */
  static async create(
    task: TaskCalls,
    name: string,
    options: { controllers?: readonly string[] } = {},
  ): Promise<Cgroup> {
    if (typeof name !== "string" || !/^[^/\0]+$/.test(name) || name === "." || name === "..") {
      throw new TypeError(
        `Cgroup.create: name must be a directory name, got ${JSON.stringify(name)}`,
      );
    }
    // The names of spawn's own cgroups: a control process that starts removes those of
    // control processes gone, killing what is in them.
    if (/^alcove-\d+-\d+-\d+$/.test(name)) {
      throw new TypeError(
        `Cgroup.create: ${JSON.stringify(name)} has the form of spawn's own cgroups (alcove-N-N-N)`,
      );
    }
    checkTask("Cgroup.create", task);
    const given = options.controllers;
    if (
      given !== undefined && (!Array.isArray(given) || given.some((c) => typeof c !== "string"))
    ) {
      throw new TypeError(
        "Cgroup.create: options.controllers must be an array of controller names",
      );
    }
    const layout = await Cgroup.layout(task);
    const wanted = options.controllers ??
      ["memory", "pids", "cpu"].filter((c) => layout.v1[c] !== undefined);
    const parents: Record<string, string> = {};
    if (layout.v2 !== undefined) parents.v2 = layout.v2.dir;
    for (const c of wanted) {
      const h = Cgroup.locate(layout, c);
      if (h !== "v2") parents[h] = layout.v1[h];
    }
    if (Object.keys(parents).length === 0) {
      throw new TypeError("Cgroup.create: no cgroup hierarchy is mounted here");
    }
    const dirs: Record<string, string> = {};
    const made = new Set<string>();
    try {
      for (const [h, parent] of Object.entries(parents)) {
        const dir = `${parent}/${name}`;
        if (!made.has(dir)) {
          await task.mkdir(dir, 0o755);
          made.add(dir);
        }
        dirs[h] = dir;
      }
    } catch (e) {
      for (const dir of made) await task.rmdir(dir).catch(() => {});
      throw e;
    }
    return new Cgroup(task, layout, dirs);
  }

  /** The directory holding a file of this cgroup (by the controller before its first dot). */
  #dirOf(file: string): string {
    if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(file)) {
      throw new TypeError(`Cgroup: ${JSON.stringify(file)} is not a cgroup file name`);
    }
    const controller = file.slice(0, file.indexOf("."));
    let h: CgroupHierarchy;
    try {
      h = controller === "cgroup"
        ? (this.dirs.v2 !== undefined ? "v2" : Object.keys(this.dirs)[0])
        : Cgroup.locate(this.layout, controller);
    } catch (e) {
      throw new TypeError(`Cgroup: cannot reach ${JSON.stringify(file)}: ${(e as Error).message}`);
    }
    const dir = this.dirs[h];
    if (dir === undefined) {
      throw new TypeError(`Cgroup: this cgroup was not created in the ${h} hierarchy`);
    }
    return dir;
  }

  /**
   * Reads a file of the cgroup ("memory.events", "pids.max", ...).
   *
   * @param file The file name.
   * @returns Its text.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-read");
   * console.log(await cg.read("cgroup.procs")); // ""
   * ```
   */
  async read(file: string): Promise<string> {
    return await readText(this.task, `${this.#dirOf(file)}/${file}`);
  }

  /**
   * Writes a file of the cgroup (the raw way to any setting).
   *
   * @param file The file name.
   * @param value What to write.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-write", { controllers: ["pids"] });
   * await cg.write("pids.max", "16");
   * ```
   */
  async write(file: string, value: string | number): Promise<void> {
    await this.#write("Cgroup.write", file, value);
  }

  /** Writes a file, a failure saying the call, the value and the file (not "write fd 6"). */
  async #write(call: string, file: string, value: string | number): Promise<void> {
    const path = `${this.#dirOf(file)}/${file}`;
    try {
      await writeText(this.task, path, String(value));
    } catch (e) {
      if (!(e instanceof SystemCallError)) throw e;
      throw new SystemCallError(call, e.pipeline, e.code, e.errno, {
        argument: `${JSON.stringify(String(value))} to ${path}`,
        text: e.text,
      });
    }
  }

  /**
   * Sets limits, mapped as spawn's `cgroup` option maps them (v2 memory.max, v1
   * memory.limit_in_bytes, ...), then the raw `files`.
   *
   * @param limits The limits.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-set", { controllers: ["pids"] });
   * await cg.set({ pidsMax: 32 });
   * ```
   */
  async set(limits: CgroupLimits): Promise<void> {
    const checked = checkCgroupLimits(limits, "Cgroup.set");
    const value = new Map(checked.set.map(([k, v]) => [k, Number(v)]));
    // No limit (Infinity, "max"): the file's own word for none, over what was set before.
    const given = limits as Record<string, unknown>;
    const none = (key: keyof typeof CG_KEY) => given[key] === Infinity || given[key] === "max";
    const v2 = (c: string) => Cgroup.locate(this.layout, c) === "v2";
    const write = (file: string, v: string | number) => this.#write("Cgroup.set", file, v);
    // Refused before anything is written.
    if (value.has(CG_KEY.memorySwapMax) && !value.has(CG_KEY.memoryMax) && !v2("memory")) {
      throw new TypeError(
        "Cgroup.set: memorySwapMax needs memoryMax (a size) on cgroup v1 (memory.memsw.limit_in_bytes)",
      );
    }
    if (none("memoryMax") || none("memorySwapMax")) {
      if (v2("memory")) {
        if (none("memoryMax")) await write("memory.max", "max");
        if (none("memorySwapMax")) await write("memory.swap.max", "max");
      } else {
        // memsw is at least the memory limit: lifted first.
        await write("memory.memsw.limit_in_bytes", -1).catch(() => {});
        if (none("memoryMax")) await write("memory.limit_in_bytes", -1);
      }
    }
    if (none("memoryHigh")) {
      await write(
        v2("memory") ? "memory.high" : "memory.soft_limit_in_bytes",
        v2("memory") ? "max" : -1,
      );
    }
    if (none("pidsMax")) await write("pids.max", "max");
    if (none("cpuMax")) {
      if (v2("cpu")) await write("cpu.max", "max 100000");
      else await write("cpu.cfs_quota_us", -1);
    }
    for (const [key, v] of value) {
      switch (key) {
        case CG_KEY.memoryMax:
          if (v2("memory")) await write("memory.max", v);
          else await this.#v1Memory(value);
          break;
        case CG_KEY.memoryHigh:
          await write(v2("memory") ? "memory.high" : "memory.soft_limit_in_bytes", v);
          break;
        case CG_KEY.memorySwapMax: {
          if (v2("memory")) {
            await write("memory.swap.max", v);
            break;
          }
          break; // with memoryMax (checked above)
        }
        case CG_KEY.pidsMax:
          await write("pids.max", v);
          break;
        case CG_KEY.cpuMax: {
          const quota = Math.max(1000, Math.floor(v / 10));
          if (v2("cpu")) await write("cpu.max", `${quota} 100000`);
          else {
            await write("cpu.cfs_period_us", 100000);
            await write("cpu.cfs_quota_us", quota);
          }
          break;
        }
        case CG_KEY.cpuWeight:
          if (v2("cpu")) await write("cpu.weight", v);
          else await write("cpu.shares", Math.max(2, Math.floor(v * 1024 / 100)));
          break;
      }
    }
    for (const [file, text] of checked.files) await write(file, text);
  }

  /** cgroup v1's memory limit and, with memorySwapMax, memory + swap, which must stay at least
   * the memory limit: in the order that keeps it so, whether they rise or fall. */
  async #v1Memory(value: Map<number, number>): Promise<void> {
    const max = value.get(CG_KEY.memoryMax)!;
    const swap = value.get(CG_KEY.memorySwapMax);
    const write = (file: string, v: number) => this.#write("Cgroup.set", file, v);
    if (swap === undefined) {
      // A memory + swap limit set before (with memorySwapMax): the swap it allows is kept,
      // rising or falling with the memory limit (memory.memsw first when they rise).
      const figure = (file: string) => this.read(file).then(Number, () => NaN);
      const memsw = await figure("memory.memsw.limit_in_bytes");
      const memory = await figure("memory.limit_in_bytes");
      // No such limit: the file is missing (no swap accounting) or says "none" (2^63 - 4096).
      if (!(memsw < 2 ** 62 && memory <= memsw)) return await write("memory.limit_in_bytes", max);
      const allowed = memsw - memory;
      if (max >= memory) {
        await write("memory.memsw.limit_in_bytes", max + allowed);
        return await write("memory.limit_in_bytes", max);
      }
      await write("memory.limit_in_bytes", max);
      return await write("memory.memsw.limit_in_bytes", max + allowed);
    }
    try {
      await write("memory.limit_in_bytes", max);
    } catch (e) {
      // Above the memory + swap limit set before: that one goes first.
      if ((e as { code?: string }).code !== "EINVAL") throw e;
      await write("memory.memsw.limit_in_bytes", max + swap);
      return await write("memory.limit_in_bytes", max);
    }
    await write("memory.memsw.limit_in_bytes", max + swap);
  }

  /**
   * Moves a process into the cgroup, in every hierarchy it was created in.
   *
   * @param pid The process (as the control process sees pids).
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-add");
   * const p = await drv.spawn(["sleep", "10"]);
   * await cg.add(p.pid);
   * console.log(await cg.procs()); // [p.pid]
   * await p.kill();
   * ```
   */
  async add(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new RangeError(
        `Cgroup.add: pid must be a positive integer, got ${JSON.stringify(pid)}`,
      );
    }
    for (const dir of new Set(Object.values(this.dirs))) {
      try {
        await writeText(this.task, `${dir}/cgroup.procs`, String(pid));
      } catch (e) {
        // The same errno, saying which pid and where (not "write fd 6").
        if (!(e instanceof SystemCallError)) throw e;
        throw new SystemCallError("Cgroup.add", e.pipeline, e.code, e.errno, {
          argument: `pid ${pid} into ${dir}/cgroup.procs`,
          text: e.text,
        });
      }
    }
  }

  /**
   * The processes in the cgroup (cgroup.procs of every hierarchy, without repeats).
   *
   * @returns Their pids.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-procs");
   * console.log(await cg.procs()); // []
   * ```
   */
  async procs(): Promise<number[]> {
    const all = new Set<number>();
    for (const dir of new Set(Object.values(this.dirs))) {
      // A directory that is gone (removed by someone else) holds nothing.
      const text = await readText(this.task, `${dir}/cgroup.procs`).catch((e) => {
        if ((e as { code?: string }).code === "ENOENT") return "";
        throw e;
      });
      for (const p of text.split("\n")) if (p !== "") all.add(Number(p));
    }
    return [...all];
  }

  /**
   * The cgroup's figures: peak memory, CPU time, peak pids, OOM kills (undefined where the
   * machine's cgroups do not keep one).
   *
   * @returns The figures.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-stats");
   * console.log(await cg.stats());
   * ```
   */
  async stats(): Promise<CgroupUsage> {
    const at = async <T>(dir: string | undefined, file: string, f: (t: string) => T) => {
      if (dir === undefined) return undefined;
      try {
        return f(await readText(this.task, `${dir}/${file}`));
      } catch {
        return undefined;
      }
    };
    const { v2, memory, pids, cpuacct } = this.dirs;
    const u: CgroupUsage = {};
    if (memory !== undefined) {
      u.memoryPeak = await at(memory, "memory.max_usage_in_bytes", parseValueFile);
      u.oomKills = await at(memory, "memory.oom_control", (t) => parseKeyedFile(t).oom_kill);
    } else {
      u.memoryPeak = await at(v2, "memory.peak", parseValueFile);
      u.oomKills = await at(v2, "memory.events", (t) => parseKeyedFile(t).oom_kill);
    }
    u.pidsPeak = await at(pids ?? v2, "pids.peak", parseValueFile);
    u.cpuMs = v2 !== undefined
      ? await at(v2, "cpu.stat", (t) => parseKeyedFile(t).usage_usec / 1000)
      : await at(cpuacct, "cpuacct.usage", (t) => parseValueFile(t) / 1e6);
    for (const k of Object.keys(u) as (keyof CgroupUsage)[]) {
      if (u[k] === undefined || Number.isNaN(u[k])) delete u[k];
    }
    return u;
  }

  /**
   * Kills everything in the cgroup with SIGKILL and waits until it is empty: cgroup.kill on
   * v2, else rounds of killing what cgroup.procs lists, frozen by v1's freezer when this
   * cgroup is in it.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-kill");
   * await cg.kill();
   * ```
   */
  async kill(): Promise<void> {
    let v2Killed = false;
    for (let round = 0; round < 2000; round++) {
      if (this.dirs.v2 !== undefined && !v2Killed) {
        v2Killed = await writeText(this.task, `${this.dirs.v2}/cgroup.kill`, "1").then(
          () => true,
          () => false,
        );
      }
      // A freezer directory removed by someone else has nothing left to freeze.
      const freeze = async (state: string) => {
        if (this.dirs.freezer === undefined) return;
        await writeText(this.task, `${this.dirs.freezer}/freezer.state`, state).catch((e) => {
          if ((e as { code?: string }).code !== "ENOENT") throw e;
        });
      };
      await freeze("FROZEN");
      const left = await this.procs();
      for (const pid of left) await this.task.kill(pid, "SIGKILL").catch(() => {});
      await freeze("THAWED");
      if (left.length === 0) return;
      await sleep(1);
    }
    throw new Error("Cgroup.kill: processes are still in the cgroup after 2000 rounds");
  }

  /**
   * Kills what is in the cgroup and removes its directories. Idempotent.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * const cg = await Cgroup.create(drv.root, "example-remove");
   * await cg.remove();
   * ```
   */
  async remove(): Promise<void> {
    if (this.#removed) return;
    await this.kill();
    for (const dir of new Set(Object.values(this.dirs))) {
      for (let i = 0;; i++) {
        try {
          await this.task.rmdir(dir);
          break;
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === "ENOENT") break;
          if (code !== "EBUSY" || i >= 200) throw e;
          await sleep(1);
        }
      }
    }
    this.#removed = true;
  }

  /** `remove()`, for `await using`.
   *
   * @example
   * ```ts
   * import { Alcove, Cgroup } from "@alcove/alcove";
   * await using drv = await Alcove.start();
   * await using cg = await Cgroup.create(drv.root, "example-dispose");
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.remove();
  }
}
