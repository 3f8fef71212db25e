/**
 * Test helpers: drivers that always stop, and skips that say why (and fail when
 * ALCOVE_MUST_WORK=1, as in CI).
 *
 * @module
 */
import { assertEquals, assertGreater, assertStringIncludes } from "@std/assert";
import { Alcove, type StartOptions } from "../mod.ts";
import { runtimeName } from "../ffi/_runtime.ts";

/** True when a skip must fail instead (CI sets ALCOVE_MUST_WORK=1). */
export const MUST_WORK = Deno.env.get("ALCOVE_MUST_WORK") === "1";

/** True when running as root. */
export const IS_ROOT = Deno.uid() === 0;

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

/** Live (not zombie) processes whose command line holds `marker`: what a sandbox left behind. */
export function withMarker(marker: string): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      const state = /^State:\s*(\S)/m.exec(Deno.readTextFileSync(`/proc/${e.name}/status`))?.[1];
      if (cmd.includes(marker) && state !== "Z") found.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Runs a shell command, returning its exit code and output. */
export async function sh(cmd: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "inherit" }).output();
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
