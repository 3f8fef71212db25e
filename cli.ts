#!/usr/bin/env -S deno run -A
/**
 * The `alcove` command: `alcove [OPTIONS...] [--] COMMAND [ARGS...]`, bubblewrap's options
 * plus limits, profiles and a JSON status (see the README's "Command line" section and
 * `alcove --help`). Under Deno this process becomes the sandbox's supervisor once the
 * command line is parsed, as bubblewrap is (see `runCommandLine`).
 *
 * @example
 * ```sh
 * deno run -A cli.ts --unshare-all --ro-bind / / --proc /proc --dev /dev -- id
 * ```
 * @module
 */
// The bundle of ffi/cli/main.ts (scripts/gen_cli_bundle.ts): the same program, loaded faster.
import "./ffi/cli/_bundle/main.js";
