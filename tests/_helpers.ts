/**
 * Test helpers: drivers that always stop, and skips that say why (and fail when
 * ALCOVE_MUST_WORK=1, as in CI).
 *
 * @module
 */
import { assert, assertEquals, assertGreater, assertStringIncludes } from "@std/assert";
import { Alcove, type StartOptions } from "../mod.ts";
import { runtimeName } from "../ffi/_runtime.ts";
import { concat, HEADER } from "../ffi/_wire.ts";
import { findNative } from "../ffi/_native.ts";
import process from "node:process";
import { spawn } from "node:child_process";
import { constants } from "node:os";

/** True when a skip must fail instead (CI sets ALCOVE_MUST_WORK=1). */
export const MUST_WORK = Deno.env.get("ALCOVE_MUST_WORK") === "1";

/** True when running as root. */
export const IS_ROOT = Deno.uid() === 0;

/** The target the control process under test was built for, when it is not this machine's
 * default (`scripts/test.ts --platform NAME` sets ALCOVE_PLATFORM): "aarch64", "m32",
 * "musl", "portable", or "". */
export const PLATFORM = Deno.env.get("ALCOVE_PLATFORM") ?? "";

/** The emulator the control process under test runs in (qemu-user), or "". */
export const EMULATOR = Deno.env.get("ALCOVE_EMULATOR") ?? "";

/** The executable of the control process under test (not the script that runs it in its
 * emulator). */
export const CONTROL_EXECUTABLE = Deno.env.get("ALCOVE_CONTROL_EXECUTABLE") ??
  findNative().helper;

/** The seccomp architecture (syscall numbers) of the control process under test. */
export const CONTROL_ARCH: "aarch64" | "x86" | "x86_64" = PLATFORM === "aarch64"
  ? "aarch64"
  : PLATFORM === "m32"
  ? "x86"
  : "x86_64";

/**
 * Options for a test the control process under test cannot pass because of what its platform
 * lacks, such as an emulator that cannot create namespaces: `limits` maps each platform (or
 * "emulated", for any run under qemu-user) to the reason. The test is skipped with that reason,
 * also in CI: it is a known limit of the platform, not a missing privilege of the machine.
 */
export function unlessOn(
  name: string,
  limits: Partial<Record<"emulated" | "aarch64" | "m32" | "musl" | "portable", string>>,
): { name: string; ignore: boolean } {
  const reason = (EMULATOR ? limits.emulated : undefined) ??
    limits[PLATFORM as keyof typeof limits];
  if (reason === undefined) return { name, ignore: false };
  console.warn(`skipped on ${PLATFORM}: ${name}: ${reason}`);
  return { name, ignore: true };
}

/**
 * Why a test cannot run here, or undefined when it can. With ALCOVE_MUST_WORK=1
 * a reason throws instead, so the test fails.
 */
export function cannotRun(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (MUST_WORK) throw new Error(`Required but unavailable (ALCOVE_MUST_WORK=1): ${reason}`);
  console.warn(`skipped: ${reason}`);
  return reason;
}

/** Options for a test that needs a privilege: `ignore` is set (with the reason printed). */
export function needs(
  name: string,
  reason: string | undefined,
): { name: string; ignore: boolean } {
  return { name, ignore: cannotRun(reason) !== undefined };
}

/** The runtime running the tests: the npm build runs a subset under Node.js and Bun. */
export const RUNTIME = runtimeName();

/**
 * Options for a test of Deno itself (its permissions, a Deno subprocess, an API the npm shim
 * lacks): under Node.js and Bun it does not apply and is left out, counted apart from skips.
 */
export function denoOnly(
  name: string,
  ignore = false,
): { name: string; ignore: boolean; denoOnly: boolean } {
  return { name, ignore: ignore || RUNTIME !== "deno", denoOnly: RUNTIME !== "deno" };
}

/** Runs `fn` with a fresh driver and stops it afterwards, whatever happens. */
export async function withDriver<T>(
  fn: (drv: Alcove) => Promise<T>,
  options?: StartOptions,
): Promise<T> {
  const drv = await Alcove.start(options);
  try {
    return await fn(drv);
  } finally {
    await drv.stop();
  }
}

const decoder = new TextDecoder();

/** A view of bytes for reading the integers in them. */
export function le(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads a process's stdout until it ends (or `timeout` ms pass), as text. */
export async function readAll(
  drv: Alcove,
  pipeline: number[],
  stream: "stdout" | "stderr" = "stdout",
  timeout = 10000,
): Promise<string> {
  const deadline = Date.now() + timeout;
  let text = "";
  for (;;) {
    const left = Math.max(0, deadline - Date.now());
    const chunk = await drv[stream](pipeline, { timeout: left });
    if (chunk === null) return text;
    text += decoder.decode(chunk, { stream: true });
  }
}

/** True while a process runs: a zombie whose parent died waits for init, not for us. */
export function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Live (not zombie) processes whose command line holds `marker`: what a sandbox left behind. */
export function withMarker(marker: string): number[] {
  const found: number[] = [];
  for (const name of procEntries()) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${name}/cmdline`);
      const state = /^State:\s*(\S)/m.exec(Deno.readTextFileSync(`/proc/${name}/status`))?.[1];
      if (cmd.includes(marker) && state !== "Z") found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The names in /proc. Under Node.js the shim's readDir lstat's each entry, and one that
 * ended meanwhile throws ENOENT: the listing is then taken again. */
export function procEntries(): string[] {
  for (let tries = 0;; tries++) {
    try {
      return [...Deno.readDirSync("/proc")].map((e) => e.name);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && (e as { code?: string }).code !== "ENOENT") {
        throw e;
      }
      if (tries === 20) throw e;
    }
  }
}

/** What {@linkcode output} gives back. */
export interface Output {
  success: boolean;
  /** The exit code, or 128 + the signal's number when a signal ended it. */
  code: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/**
 * Runs a program to its end with stdout and stderr collected (stderr passed through with
 * `stderr: "inherit"`). node:child_process, so that the same tests run under Node.js and Bun;
 * a program that does not exist throws an error whose `code` is "ENOENT". `env` adds to this
 * process's environment for the program alone: a test never changes its own environment,
 * which the test files running beside it share.
 */
export function output(
  cmd: string,
  args: string[],
  options: { stderr?: "piped" | "inherit"; stdin?: Uint8Array; env?: Record<string, string> } = {},
): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", options.stderr === "inherit" ? "inherit" : "pipe"],
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout!.on("data", (d: Uint8Array) => out.push(d));
    child.stderr?.on("data", (d: Uint8Array) => err.push(d));
    child.stdin!.on("error", () => {});
    child.stdin!.end(options.stdin);
    child.once("error", reject);
    child.once("close", (code: number | null, signal: string | null) => {
      const n = code ??
        128 + (signal ? constants.signals[signal as keyof typeof constants.signals] : 0);
      resolve({ success: n === 0, code: n, stdout: concat(out), stderr: concat(err) });
    });
  });
}

/** Runs a shell command, returning its exit code and output. */
export async function sh(cmd: string): Promise<{ code: number; out: string }> {
  const r = await output("sh", ["-c", cmd], { stderr: "inherit" });
  return { code: r.code, out: decoder.decode(r.stdout) };
}

const MKDIR_WORKER = `
self.onmessage = (e) => {
  try {
    Deno.mkdirSync(e.data);
    self.postMessage("ok");
  } catch (err) {
    self.postMessage(String(err));
  }
};
`;

/** What every program run by {@linkcode runThreadedDeno} reports ("ok" or the error of a mkdir). */
export interface ThreadedReport {
  /** mkdir from the worker thread, before `setup`. */
  workerBefore: string;
  /** The threads of the process after `setup`. */
  threads: number;
  /** How many of them are under a seccomp filter. */
  filtered: number;
  /** mkdir from the main thread, synchronous and asynchronous, and from the worker. */
  mkdirSync: string;
  mkdirAsync: string;
  workerAfter: string;
  /** A file written and read back after `setup`. */
  read: string;
}

/**
 * Runs a Deno program in a subprocess, for what cannot be undone in this one (a filter over a
 * whole process): it starts a worker thread, runs `setup`, tries mkdir from each thread, counts
 * the threads under a seccomp filter, writes and reads a file, runs `after` and prints the report.
 * `setup` and `after` see `dir` (a fresh folder, removed afterwards) and `out` (the report).
 * Fails unless the subprocess exits with 0. Returns the report and the names left in `dir`.
 */
export async function runThreadedDeno<T extends object>(
  program: { imports: string; setup: string; after?: string },
): Promise<{ out: ThreadedReport & T; files: string[] }> {
  const script = `${program.imports}
const dir = Deno.args[0];
const out = {};
// A thread that exists before the setup runs.
const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const fromWorker = (path) => new Promise((resolve) => {
  worker.onmessage = (e) => resolve(e.data);
  worker.postMessage(path);
});
out.workerBefore = await fromWorker(dir + "/worker-before");
${program.setup}
const tasks = [...Deno.readDirSync("/proc/self/task")].map((t) => t.name);
out.threads = tasks.length;
out.filtered = tasks.filter((t) => {
  try {
    return /^Seccomp:\\s+2$/m.test(Deno.readTextFileSync("/proc/self/task/" + t + "/status"));
  } catch { return false; }
}).length;
const attempt = async (f) => { try { await f(); return "ok"; } catch (e) { return String(e); } };
out.mkdirSync = await attempt(() => Deno.mkdirSync(dir + "/sync"));
out.mkdirAsync = await attempt(() => Deno.mkdir(dir + "/async"));
out.workerAfter = await fromWorker(dir + "/worker-after");
worker.terminate();
// Everything else still works.
await Deno.writeTextFile(dir + "/file", "still works");
out.read = await Deno.readTextFile(dir + "/file");
${program.after ?? ""}
console.log(JSON.stringify(out));
`;
  const dir = await Deno.makeTempDir({ prefix: "alcove_threaded_" });
  try {
    await Deno.writeTextFile(`${dir}/worker.ts`, MKDIR_WORKER);
    await Deno.writeTextFile(`${dir}/main.ts`, script);
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", `${dir}/main.ts`, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    assertEquals(r.code, 0, text.decode(r.stderr));
    const files = [...Deno.readDirSync(dir)].map((d) => d.name).sort();
    return { out: JSON.parse(text.decode(r.stdout)), files };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Asserts that a {@linkcode runThreadedDeno} report shows every thread filtered: mkdir worked
 * before `setup` and failed with `error` (such as "os error 1") after it, from every thread,
 * while writing and reading a file still worked.
 */
export function assertEveryThreadDenied(out: ThreadedReport, error: string): void {
  assertEquals(out.workerBefore, "ok");
  assertGreater(out.threads, 1);
  assertEquals(out.filtered, out.threads);
  assertStringIncludes(out.mkdirSync, error);
  assertStringIncludes(out.mkdirAsync, error);
  assertStringIncludes(out.workerAfter, error);
  assertEquals(out.read, "still works");
}

/** A frame read by {@linkcode RawControl}: its header fields and its whole bytes. */
export interface RawFrame {
  type: number;
  code: number;
  id: number;
  /** The pids of the pipeline it came from. */
  depth: number;
  /** The whole frame, length field included. */
  bytes: Uint8Array;
  /** What follows the header and the pipeline. */
  payload: Uint8Array;
}

/**
 * A control process started by hand with its channel on pipes, talked to directly, bypassing
 * every check of the driver (node:child_process, so the same tests run under Node.js and Bun).
 */
export class RawControl implements AsyncDisposable {
  #child = spawn(findNative().helper, [], { stdio: ["pipe", "pipe", "ignore"] });
  #exited = new Promise((resolve) => this.#child.once("close", resolve));
  #buf: Uint8Array = new Uint8Array(0);
  #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  /** `firstLine` tells the control process to use stdin and stdout as its channel. */
  constructor(firstLine = "pipes\n") {
    const stdout = this.#child.stdout!;
    stdout.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      this.#wake?.();
    });
    stdout.on("end", () => {
      this.#ended = true;
      this.#wake?.();
    });
    this.#child.stdin!.on("error", () => {});
    this.#child.stdin!.write(firstLine);
  }

  /** Writes bytes to the control process as they are. */
  send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#child.stdin!.write(bytes, (e) => e ? reject(e) : resolve())
    );
  }

  /** The next frame, whatever its type. */
  async frame(): Promise<RawFrame> {
    for (;;) {
      if (this.#buf.length >= 4) {
        const n = 4 + le(this.#buf).getUint32(0, true);
        if (this.#buf.length >= n) {
          const f = this.#buf.slice(0, n);
          this.#buf = this.#buf.slice(n);
          const view = le(f);
          return {
            type: f[4],
            depth: f[5],
            code: view.getUint16(6, true),
            id: view.getUint32(8, true),
            bytes: f,
            payload: f.slice(HEADER + 4 * f[5]),
          };
        }
      }
      if (this.#chunks.length === 0) {
        if (this.#ended) throw new Error("The control process closed its output");
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = null;
        continue;
      }
      this.#buf = concat([this.#buf, ...this.#chunks.splice(0)]);
    }
  }

  /** Closes its input and waits for it to exit. */
  async close(): Promise<void> {
    this.#child.stdin!.end();
    this.#child.stdout!.destroy();
    await this.#exited;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * The command that runs a script of tests/fixtures under the runtime running the tests (the
 * npm build's fixtures are JavaScript).
 */
export function fixtureCommand(name: string): [string, string[]] {
  const ext = RUNTIME === "deno" ? "ts" : "js";
  const path = new URL(`./fixtures/${name}.${ext}`, import.meta.url).pathname;
  return RUNTIME === "deno" ? [Deno.execPath(), ["run", "-A", path]] : [process.execPath, [path]];
}

/** Resident memory of a process in KiB. */
export function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]);
}

/**
 * The modules Deno reads at the start of `entry` (a path or URL), as `deno info` reports them:
 * those its literal specifiers reach, dynamic imports included (Deno reads those at start
 * too); a module named for its types only, by `@ts-types`, is not read.
 */
export async function startGraph(entry: string): Promise<string[]> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(r.success, decoder.decode(r.stderr));
  const modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[] =
    JSON.parse(decoder.decode(r.stdout)).modules;
  const bySpecifier = new Map(modules.map((m) => [m.specifier, m]));
  const start = new Set<string>();
  const visit = (specifier: string) => {
    if (start.has(specifier)) return;
    start.add(specifier);
    for (const d of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (d.code) visit(d.code.specifier);
    }
  };
  visit(new URL(entry, "file://").href);
  return [...start];
}

/** Whether something is at `path` (a process's /proc entry, a file). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
