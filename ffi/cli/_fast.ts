/**
 * Which command lines the control process executable parses itself (csrc/cli_parse.c):
 * `cli.ts` execs it straight away with the raw arguments for these, without loading the
 * TypeScript parser (ffi/cli/parse.ts, the reference, which every other command line
 * goes to). Pure; internal.
 *
 * @module
 */

/** The options the C parser handles, with the number of arguments each takes: the same
 * as parse.ts's (tests/cli_parse_test.ts checks this table against parse.ts's and
 * cli_parse.c's). */
export const FAST_OPTIONS: Readonly<Record<string, number>> = {
  "--unshare-all": 0,
  "--share-net": 0,
  "--unshare-user": 0,
  "--unshare-user-try": 0,
  "--unshare-ipc": 0,
  "--unshare-pid": 0,
  "--unshare-net": 0,
  "--unshare-uts": 0,
  "--unshare-cgroup": 0,
  "--unshare-cgroup-try": 0,
  "--clearenv": 0,
  "--new-session": 0,
  "--die-with-parent": 0,
  "--as-pid-1": 0,
  "--uid": 1,
  "--gid": 1,
  "--hostname": 1,
  "--chdir": 1,
  "--unsetenv": 1,
  "--lock-file": 1,
  "--remount-ro": 1,
  "--proc": 1,
  "--dev": 1,
  "--tmpfs": 1,
  "--mqueue": 1,
  "--dir": 1,
  "--perms": 1,
  "--info-fd": 1,
  "--json-status-fd": 1,
  "--block-fd": 1,
  "--userns-block-fd": 1,
  "--sync-fd": 1,
  "--size": 1,
  "--time": 1,
  "--rlimit": 1,
  "--cap-add": 1,
  "--cap-drop": 1,
  "--setenv": 2,
  "--bind": 2,
  "--bind-try": 2,
  "--dev-bind": 2,
  "--dev-bind-try": 2,
  "--ro-bind": 2,
  "--ro-bind-try": 2,
  "--symlink": 2,
  "--chmod": 2,
};

/** The options whose argument the C parser takes in ASCII only: parse.ts capitalizes it as
 * JavaScript does, which some other letters become ASCII ones by ("ſ" is "S"). */
const ASCII_ARGUMENT = new Set(["--cap-add", "--cap-drop"]);

/** Whether the C parser takes this command line: every option is one of FAST_OPTIONS with
 * all its arguments, a command follows, and nothing is a string the runtime may have
 * changed (an argument not UTF-8 reaches JavaScript with U+FFFD in it), unless the `bytes`
 * of the arguments go, or one an object treats apart (`--setenv __proto__ ...`). */
export function parsedInC(args: readonly string[], bytes = false): boolean {
  for (const a of args) if ((!bytes && a.includes("\uFFFD")) || a === "__proto__") return false;
  let i = 0;
  while (i < args.length) {
    const arg = args[i];
    if (arg === "--") return i + 1 < args.length;
    if (!arg.startsWith("-")) return true;
    const takes = Object.hasOwn(FAST_OPTIONS, arg) ? FAST_OPTIONS[arg] : undefined;
    if (takes === undefined || i + 1 + takes > args.length) return false;
    if (ASCII_ARGUMENT.has(arg) && /[\u0080-\uffff]/.test(args[i + 1])) return false;
    i += 1 + takes;
  }
  return false;
}
