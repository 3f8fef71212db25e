/**
 * Test helpers: drivers that always stop, and skips that say why (and fail when
 * ALCOVE_MUST_WORK=1, as in CI).
 *
 * @module
 */
import { Alcove, type StartOptions } from "../mod.ts";

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

/** Runs a shell command, returning its exit code and output. */
export async function sh(cmd: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "inherit" }).output();
  return { code: r.code, out: decoder.decode(r.stdout) };
}
