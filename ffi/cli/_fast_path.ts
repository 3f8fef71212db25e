/**
 * The command line's fast path, which `cli.ts` takes before it loads anything else (this
 * module and those it imports, as the one generated file ffi/cli/_bundle/fast.js): a command
 * line of only the options that the control process executable parses itself (./_fast.ts)
 * goes to that executable at once (`execCliParser` in ffi/_runtime_exec.ts). Deno-only;
 * internal.
 *
 * @module
 */
import { execCliParser } from "../_runtime_exec.ts";
import { parsedInC } from "./_fast.ts";

/** When the control process executable parses `args` itself, this process becomes that
 * executable (of the package in `root`, a folder; undefined for a package from a URL) and
 * never returns; otherwise, and when that exec fails, it returns and the TypeScript command
 * line runs. */
export async function execParsedInC(
  args: readonly string[],
  root: string | undefined,
): Promise<void> {
  // With U+FFFD in an argument, its bytes go (execCliParser reads them), if they can.
  if (parsedInC(args, true)) await execCliParser(args, root);
}
