#!/usr/bin/env -S deno run -A
/**
 * The `alcove` command: `alcove [OPTIONS...] [--] COMMAND [ARGS...]`, bubblewrap's options
 * plus limits, profiles and a JSON status (see the README's "Command line" section and
 * `alcove --help`). Under Deno this process becomes the sandbox's supervisor once the
 * command line is parsed, as bubblewrap is (see `runCommandLine`). A command line of the
 * common bubblewrap options only (ffi/cli/_fast.ts lists them) is not even parsed here:
 * this process execs the control process executable at once, which parses it itself
 * (csrc/cli_parse.c, tested to give the TypeScript parser's request, messages and statuses)
 * and supervises the command; any other goes to the TypeScript command line.
 *
 * @example
 * ```sh
 * deno run -A cli.ts --unshare-all --ro-bind / / --proc /proc --dev /dev -- id
 * ```
 * @module
 */
// The fast path (ffi/cli/_fast_path.ts and the modules it imports) as one generated file
// (scripts/gen_bundles.ts): Deno loads one module at start sooner than three.
// @deno-types="./ffi/cli/_fast_path.ts"
import { execParsedInC } from "./ffi/cli/_bundle/fast.js";

// The package's folder as a path (undefined for a module from a URL): a URL object here would
// cost more than the rest of the fast path's work.
await execParsedInC(Deno.args, import.meta.dirname);
// The bundle of ffi/cli/main.ts (scripts/gen_bundles.ts): the same program, loaded faster.
// Its URL is computed: Deno reads and analyzes at start every module that a literal specifier
// reaches, dynamic imports included, and the fast path above needs none of them.
await import(new URL("./ffi/cli/_bundle/main.js", import.meta.url).href);
