/**
 * The `alcove` command line, parsed: bubblewrap's options with bubblewrap's meaning and
 * messages, plus ours (limits, profiles, Landlock, seccomp profiles), turned into a plan that
 * `spawn` runs. Pure except for `io`, through which descriptors and files are read (bubblewrap
 * reads `--args`, `--file`, `--bind-data` and `--seccomp` descriptors while it parses, too).
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "@alcove/alcove";
 * const plan = parseCommandLine(["--unshare-net", "--ro-bind", "/", "/", "true"], {
 *   readFd: () => new Uint8Array(0),
 *   readFile: () => new Uint8Array(0),
 *   env: { PATH: "/usr/bin:/bin" },
 *   cwd: "/",
 *   isTerminal: false,
 *   uid: 0,
 * });
 * console.log(plan.argv, plan.options.namespaces); // ["true"] ["net"]
 * ```
 * @module
 */
import type {
  Mount,
  Namespace,
  RlimitValue,
  SeccompFilter,
  SpawnOptions,
} from "../sandbox/options.ts";
import type { SeccompPolicy } from "../seccomp/policy.ts";
import { checkCgroupLimits, parseSize } from "../cgroup/limits.ts";

/** A command line that cannot run: the message is printed after "alcove: " and the exit
 * status is 1, as bubblewrap's.
 *
 * @example
 * ```ts
 * import { CommandLineError } from "@alcove/alcove";
 * console.log(new CommandLineError("Unknown option --foo").message);
 * ```
 */
export class CommandLineError extends Error {
  /** Makes the error.
   *
   * @param message What is wrong, in bubblewrap's words where bubblewrap has them.
   *
   * @example
   * ```ts
   * import { CommandLineError } from "@alcove/alcove";
   * throw new CommandLineError("--bind takes two arguments");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "CommandLineError";
  }

  /** bubblewrap's warnings about the command line up to the error, printed before it. */
  warnings: string[] = [];
}

/** What parsing needs from the outside world.
 *
 * @example
 * ```ts
 * import type { CommandLineIo } from "@alcove/alcove";
 * const io: CommandLineIo = {
 *   readFd: () => new Uint8Array(0),
 *   readFile: () => new Uint8Array(0),
 *   env: {},
 *   cwd: "/",
 *   isTerminal: false,
 *   uid: 0,
 * };
 * ```
 */
export interface CommandLineIo {
  /** Everything readable from a descriptor, to its end. */
  readFd(fd: number): Uint8Array;
  /** A whole file. */
  readFile(path: string): Uint8Array;
  /** The environment the command line runs in. */
  env: Readonly<Record<string, string>>;
  /** The working directory it runs in. */
  cwd: string;
  /** Whether its stdin is a terminal. */
  isTerminal: boolean;
  /** Its effective user id. */
  uid: number;
  /** Its effective group id: --gid may name it without a user namespace, as --uid may name
   * `uid` (taken as unknown when absent). */
  gid?: number;
  /** Whether this system makes user namespaces (see {@linkcode userNamespacesAvailable}):
   * `--unshare-user-try` and `--unshare-all` make one when it does, as root too. Asked only
   * for those options; taken as false when absent. */
  usernsAvailable?: () => boolean;
}

/**
 * Whether this system makes user namespaces, judged as bubblewrap judges it for
 * `--unshare-user-try`: not when `user.max_user_namespaces` is 0, nor where the
 * user_namespace module is disabled (its `enable` parameter "N").
 *
 * @param read Reads a whole file as text, or gives undefined when it cannot.
 * @returns Whether `--unshare-user-try` makes a user namespace.
 *
 * @example
 * ```ts
 * import { userNamespacesAvailable } from "@alcove/alcove";
 * console.log(userNamespacesAvailable((path) => path.endsWith("max_user_namespaces") ? "0\n" : undefined)); // false
 * ```
 */
export function userNamespacesAvailable(read: (path: string) => string | undefined): boolean {
  if (read("/sys/module/user_namespace/parameters/enable")?.startsWith("N")) return false;
  return read("/proc/sys/user/max_user_namespaces")?.trim() !== "0";
}

/** cgroup limits asked for on the command line (--memory, --memory-high, --pids, --cpu): they
 * go into spawn's `cgroup` option, over a profile's.
 *
 * @example
 * ```ts
 * import type { CgroupRequest } from "@alcove/alcove";
 * const c: CgroupRequest = { memoryMax: 256 << 20 };
 * ```
 */
export interface CgroupRequest {
  /** Bytes (--memory). */
  memoryMax?: number;
  /** Bytes (--memory-high). */
  memoryHigh?: number;
  /** Processes (--pids). */
  pidsMax?: number;
  /** CPUs (--cpu). */
  cpuMax?: number;
}

/** `name` when setenv(3) and unsetenv(3) take it (bubblewrap's "setenv failed" otherwise). */
function envName(option: string, name: string): string {
  if (name === "" || name.includes("=")) {
    throw new CommandLineError(
      `${option}: "${name}" is not a variable name: it must be non-empty, without '='`,
    );
  }
  return name;
}

/** bubblewrap's relative destination: from the new root. */
function inside(path: string): string {
  return path.startsWith("/") ? path : `/${path}`;
}

/** What `--chdir ""` fails with, in both parsers (csrc/cli_parse.c). */
const EMPTY_CHDIR = `Can't chdir to an empty path (--chdir "")`;

/** A parsed command line: what to run, how, and what to report where.
 *
 * @example
 * ```ts
 * import type { CommandLinePlan } from "@alcove/alcove";
 * const show = (p: CommandLinePlan) => p.argv.join(" ");
 * ```
 */
export interface CommandLinePlan {
  /** "run", or "help"/"version" (printed, exit 0), or "usage" (no command: exit 1). */
  action: "run" | "help" | "version" | "usage";
  /** The command and its arguments. */
  argv: string[];
  /** spawn's options (stdio is left to the caller). */
  options: SpawnOptions;
  /** The cgroup limits asked for. */
  cgroup: CgroupRequest;
  /** The resources named by --rlimit (capitals, without `RLIMIT_`), which the platform's
   * constants decide. */
  rlimitNames: string[];
  /** The option that made each of `options.mounts` (undefined for a profile's or preset's),
   * to say a refused mount of the option. */
  mountOptions: (string | undefined)[];
  /** Capabilities added (--cap-add) and dropped (--cap-drop), in order; "ALL" for all. */
  capOps: { add: boolean; cap: string }[];
  /** --json-status-fd. */
  jsonStatusFd?: number;
  /** --info-fd. */
  infoFd?: number;
  /** --block-fd (the last one, as with bubblewrap): read once the sandbox's process exists and
   * is reported, before it goes on. */
  blockFds: number[];
  /** --userns-block-fd: read first, the same way; the sandbox's id maps are then left to
   * whoever writes to it (with newuidmap and newgidmap, say). */
  usernsBlockFd?: number;
  /** --sync-fd: kept open by the command line while the sandbox runs. */
  syncFd?: number;
  /** Descriptors the command line reads or writes itself (--args, --file, --info-fd, ...):
   * unlike the others it inherited, the command does not get them (as with bubblewrap). */
  ownFds: number[];
  /** --assert-userns-disabled. */
  assertUsernsDisabled: boolean;
  /** --disable-userns. */
  disableUserns: boolean;
  /** Whether a user namespace was asked for explicitly (--unshare-user). */
  userNamespace: boolean;
  /** Whether --uid was given (the capabilities default depends on it). */
  uidGiven: boolean;
  /** --die-with-parent: the command line itself ends (and so the command) when the process
   * that started it does, as bubblewrap does. The command always dies with the command line. */
  dieWithParent: boolean;
  /** bubblewrap's warnings ("Only the last --chdir option will take effect"), for stderr. */
  warnings: string[];
}

/** bubblewrap's usage text, with our options after its own. */
export const CLI_USAGE = `usage: alcove [OPTIONS...] [--] COMMAND [ARGS...]

    --help                       Print this help
    --version                    Print version
    --args FD                    Parse NUL-separated args from FD
    --unshare-all                Unshare every namespace we support by default
    --share-net                  Retain the network namespace (can only combine with --unshare-all)
    --unshare-user               Create new user namespace (may be automatically implied if not root)
    --unshare-user-try           Create new user namespace if possible else continue by skipping it
    --unshare-ipc                Create new ipc namespace
    --unshare-pid                Create new pid namespace
    --unshare-net                Create new network namespace
    --unshare-uts                Create new uts namespace
    --unshare-cgroup             Create new cgroup namespace
    --unshare-cgroup-try         Create new cgroup namespace if possible else continue by skipping it
    --userns FD                  Use this user namespace (cannot combine with --unshare-user)
    --userns2 FD                 After setup switch to this user namespace, only useful with --userns
    --disable-userns             Disable further use of user namespaces inside sandbox
    --assert-userns-disabled     Fail unless further use of user namespace inside sandbox is disabled
    --pidns FD                   Use this pid namespace (as parent namespace if using --unshare-pid)
    --uid UID                    Custom uid in the sandbox (requires --unshare-user or --userns)
    --gid GID                    Custom gid in the sandbox (requires --unshare-user or --userns)
    --hostname NAME              Custom hostname in the sandbox (requires --unshare-uts)
    --chdir DIR                  Change directory to DIR
    --clearenv                   Unset all environment variables
    --setenv VAR VALUE           Set an environment variable
    --unsetenv VAR               Unset an environment variable
    --lock-file DEST             Take a lock on DEST while sandbox is running
    --sync-fd FD                 Keep this fd open while sandbox is running
    --bind SRC DEST              Bind mount the host path SRC on DEST
    --bind-try SRC DEST          Equal to --bind but ignores non-existent SRC
    --dev-bind SRC DEST          Bind mount the host path SRC on DEST, allowing device access
    --dev-bind-try SRC DEST      Equal to --dev-bind but ignores non-existent SRC
    --ro-bind SRC DEST           Bind mount the host path SRC readonly on DEST
    --ro-bind-try SRC DEST       Equal to --ro-bind but ignores non-existent SRC
    --bind-fd FD DEST            Bind open directory or path fd on DEST
    --ro-bind-fd FD DEST         Bind open directory or path fd read-only on DEST
    --remount-ro DEST            Remount DEST as readonly; does not recursively remount
    --exec-label LABEL           Exec label for the sandbox (SELinux: not supported here)
    --file-label LABEL           File label for temporary sandbox content (not supported here)
    --proc DEST                  Mount new procfs on DEST
    --dev DEST                   Mount new dev on DEST
    --tmpfs DEST                 Mount new tmpfs on DEST
    --mqueue DEST                Mount new mqueue on DEST
    --dir DEST                   Create dir at DEST
    --file FD DEST               Copy from FD to destination DEST
    --bind-data FD DEST          Copy from FD to file which is bind-mounted on DEST
    --ro-bind-data FD DEST       Copy from FD to file which is readonly bind-mounted on DEST
    --symlink SRC DEST           Create symlink at DEST with target SRC
    --seccomp FD                 Load and use seccomp rules from FD (not repeatable)
    --add-seccomp-fd FD          Load and use seccomp rules from FD (repeatable)
    --block-fd FD                Block on FD until some data to read is available
    --userns-block-fd FD         Block on FD until the user namespace is ready
    --info-fd FD                 Write information about the running container to FD
    --json-status-fd FD          Write container status to FD as multiple JSON documents
    --new-session                Create a new terminal session
    --die-with-parent            Kills with SIGKILL child process (COMMAND) when alcove or alcove's parent dies
    --as-pid-1                   Do not install a reaper process with PID=1
    --cap-add CAP                Add cap CAP when running as privileged user
    --cap-drop CAP               Drop cap CAP when running as privileged user
    --perms OCTAL                Set permissions of next argument (--bind-data, --file, etc.)
    --size BYTES                 Set size of next argument (only for --tmpfs)
    --chmod OCTAL PATH           Change permissions of PATH (must already exist)

  alcove's own:
    --memory SIZE                Memory limit (cgroup memory.max), e.g. 256M
    --memory-high SIZE           Memory throttling threshold (cgroup memory.high)
    --pids N                     Limit on processes (cgroup pids.max)
    --cpu CPUS                   CPU limit in CPUs, e.g. 0.5 (cgroup cpu.max)
    --time DURATION              Wall-clock limit, e.g. 2s, 500ms, 1m: the tree is killed
    --rlimit NAME=SOFT[:HARD]    Resource limit, e.g. NOFILE=64 or AS=1G (repeatable)
    --output-limit SIZE          Limit on stdout and stderr together (piped through alcove)
    --seccomp-profile PROFILE    default, none, or FILE.json (a SeccompPolicy)
    --landlock-ro PATH           Landlock: allow reading and running beneath PATH
    --landlock-rw PATH           Landlock: allow every access beneath PATH
    --profile FILE.json          spawn's options as JSON; options after it apply on top
    --preset untrusted           A safe default (see the README)

Exit status: the command's; 128+N when killed by signal N; 1 for a bad command line;
124 wall-clock limit; 125 setup failure; 126 command not executable; 127 command not found;
123 output limit; 122 out of memory (the OOM killer ended it or one of its processes).
`;

/** Reserved exit statuses.
 *
 * @example
 * ```ts
 * import { EXIT_STATUS } from "@alcove/alcove";
 * console.log(EXIT_STATUS.TIMEOUT); // 124
 * ```
 */
export const EXIT_STATUS = {
  USAGE: 1,
  OOM: 122,
  OUTPUT_LIMIT: 123,
  TIMEOUT: 124,
  SETUP: 125,
  NOT_EXECUTABLE: 126,
  NOT_FOUND: 127,
} as const;

/** A size in bytes (see the cgroup module's parseSize: K, M, G, T are binary units), or
 * undefined when it is not one. */
function sizeOf(text: string): number | undefined {
  try {
    return parseSize(text);
  } catch {
    return undefined;
  }
}

/** A resource of --rlimit as the command line keys it: capitals, without `RLIMIT_` (however
 * many times it was written: the C parser reads it the same way). */
function rlimitName(name: string): string {
  return name.toUpperCase().replace(/^(RLIMIT_)+/, "");
}

/** A cgroup limit of the command line, checked as spawn checks it but said of the option
 * (`--memory 1K: must be at least 4096 bytes, got 1024`). */
function cgroupLimit<T extends number>(
  option: string,
  key: "memoryMax" | "memoryHigh" | "pidsMax" | "cpuMax",
  value: T,
  text: string,
): T {
  try {
    checkCgroupLimits({ [key]: value }, "");
  } catch (e) {
    const why = (e as Error).message.replace(/^\.\w+: /, "");
    throw new CommandLineError(`${option} ${text}: ${why}`);
  }
  return value;
}

/** bubblewrap's forms of a --size that a size with a unit reads otherwise: hexadecimal
 * (0x1000) and, with a leading 0, octal (010000 is 4096); NaN for a leading 0 that is not
 * octal, undefined for anything else (csrc/cli_parse.c has the same). */
function radixSize(text: string): number | undefined {
  let big: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) big = BigInt(text);
  else if (/^0[0-7]+$/.test(text)) big = BigInt(`0o${text.slice(1)}`);
  else return /^0\d+$/.test(text) ? NaN : undefined;
  // Beyond 2^53 a number is not exact: refused, as sizes past 2^62 are.
  return big > 2n ** 53n ? NaN : Number(big);
}

/** A mode of --chmod or --perms: octal, at most 07777 (strtoul(3)'s forms, as for integer()). */
function octal(text: string): number | undefined {
  const digits = digitsOf(text, /^[0-7]+$/);
  return digits === undefined || parseInt(digits, 8) > 0o7777 ? undefined : parseInt(digits, 8);
}

/** A duration in milliseconds: a number with ms, s, m or h (seconds without a unit).
 *
 * @example
 * ```ts
 * import { parseDuration } from "@alcove/alcove";
 * console.log(parseDuration("1.5s")); // 1500
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|)$/.exec(text.trim());
  if (!m) return undefined;
  const scale = { ms: 1, s: 1000, "": 1000, m: 60_000, h: 3_600_000 }[m[2]] ?? 1;
  const n = Math.round(Number(m[1]) * scale);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const TAKES: Record<string, number> = {
  "--args": 1,
  "--userns": 1,
  "--userns2": 1,
  "--pidns": 1,
  "--uid": 1,
  "--gid": 1,
  "--hostname": 1,
  "--chdir": 1,
  "--setenv": 2,
  "--unsetenv": 1,
  "--lock-file": 1,
  "--sync-fd": 1,
  "--bind": 2,
  "--bind-try": 2,
  "--dev-bind": 2,
  "--dev-bind-try": 2,
  "--ro-bind": 2,
  "--ro-bind-try": 2,
  "--bind-fd": 2,
  "--ro-bind-fd": 2,
  "--remount-ro": 1,
  "--exec-label": 1,
  "--file-label": 1,
  "--proc": 1,
  "--dev": 1,
  "--tmpfs": 1,
  "--mqueue": 1,
  "--dir": 1,
  "--file": 2,
  "--bind-data": 2,
  "--ro-bind-data": 2,
  "--symlink": 2,
  "--seccomp": 1,
  "--add-seccomp-fd": 1,
  "--block-fd": 1,
  "--userns-block-fd": 1,
  "--info-fd": 1,
  "--json-status-fd": 1,
  "--cap-add": 1,
  "--cap-drop": 1,
  "--perms": 1,
  "--size": 1,
  "--chmod": 2,
  "--memory": 1,
  "--memory-high": 1,
  "--pids": 1,
  "--cpu": 1,
  "--time": 1,
  "--rlimit": 1,
  "--output-limit": 1,
  "--seccomp-profile": 1,
  "--landlock-ro": 1,
  "--landlock-rw": 1,
  "--profile": 1,
  "--preset": 1,
};

const FLAGS = new Set([
  "--help",
  "--version",
  "--unshare-all",
  "--share-net",
  "--unshare-user",
  "--unshare-user-try",
  "--unshare-ipc",
  "--unshare-pid",
  "--unshare-net",
  "--unshare-uts",
  "--unshare-cgroup",
  "--unshare-cgroup-try",
  "--disable-userns",
  "--assert-userns-disabled",
  "--clearenv",
  "--new-session",
  "--die-with-parent",
  "--as-pid-1",
]);

/** How bubblewrap says what a missing value was: "an argument", but "one argument" for
 * --chdir and --remount-ro. */
function argumentWords(option: string, n: number): string {
  if (n === 2) return "two arguments";
  return option === "--chdir" || option === "--remount-ro" ? "one argument" : "an argument";
}

/** The options --perms may precede. */
const CREATES_FILE = ["--bind-data", "--ro-bind-data", "--file", "--tmpfs", "--dir"];

/** The untrusted preset: every namespace, a read-only host /usr, /etc, /bin, /lib*, fresh
 * proc, dev and tmpfs, no capabilities, the default seccomp profile, uid and gid 65534, a new
 * session (kept when stdin is a terminal, for job control), death with the parent, and an
 * environment of its own: PATH, HOME (/tmp), and of `environment` (the caller's) only TERM,
 * LANG, LC_* and TZ, so that no secret of the caller's environment reaches the program.
 *
 * @param isTerminal Whether stdin is a terminal.
 * @param environment The environment the terminal and locale variables come from.
 *
 * @example
 * ```ts
 * import { untrustedPreset } from "@alcove/alcove";
 * console.log(untrustedPreset(false).uid); // 65534
 * console.log(untrustedPreset(false, { TERM: "xterm", AWS_SECRET: "x" }).env);
 * // { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp", TERM: "xterm" }
 * ```
 */
export function untrustedPreset(
  isTerminal: boolean,
  environment: Readonly<Record<string, string>> = {},
): SpawnOptions {
  const ro = (p: string): Mount => ({ type: "ro-bind-try", source: p, target: p });
  const env: Record<string, string> = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp" };
  for (const [k, v] of Object.entries(environment)) {
    if (k === "TERM" || k === "LANG" || k === "TZ" || k.startsWith("LC_")) env[k] = v;
  }
  return {
    env,
    namespaces: "all",
    uid: 65534,
    gid: 65534,
    mounts: [
      ro("/usr"),
      ro("/etc"),
      ro("/bin"),
      ro("/sbin"),
      ro("/lib"),
      ro("/lib32"),
      ro("/lib64"),
      ro("/libx32"),
      { type: "proc", target: "/proc" },
      { type: "dev", target: "/dev" },
      { type: "tmpfs", target: "/tmp" },
    ],
    capabilities: [],
    seccomp: "default",
    newSession: !isTerminal,
    dieWithParent: true,
  };
}

/** Where the words of an --args descriptor end in the queue (no argument holds a NUL). */
const ARGS_END = "\0";

/** The words of an --args descriptor, as bubblewrap takes them: options only, up to the
 * first word that is not one ("--" or a command), the rest being dropped; then ARGS_END,
 * so that an option at the end cannot take its arguments from what follows --args. */
function decodeArgs(bytes: Uint8Array, fd: string): string[] {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // Read otherwise, its words would reach the command changed (U+FFFD for each byte).
    throw new CommandLineError(
      `--args ${fd}: the data is not UTF-8: this command line cannot pass it on as given`,
    );
  }
  const parts = text.split("\0");
  if (parts[parts.length - 1] === "") parts.pop();
  let end = 0;
  while (end < parts.length && parts[end] !== "--" && parts[end].startsWith("-")) {
    end += 1 + (TAKES[parts[end]] ?? 0);
  }
  return [...parts.slice(0, end), ARGS_END];
}

/** The digits of a number as bubblewrap reads it (strtol(3)): after blanks and one sign, "-"
 * only before a zero (a negative number is refused); undefined for anything else. */
function digitsOf(text: string, digits: RegExp): string | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(.*)$/s.exec(text)!;
  if (!digits.test(m[2]) || (m[1] === "-" && /[1-9]/.test(m[2]))) return undefined;
  return m[2];
}

function integer(text: string, what: string, max = 0x7fffffff): number {
  const digits = digitsOf(text, /^\d+$/);
  if (digits === undefined || Number(digits) > max) {
    throw new CommandLineError(`Invalid ${what}: ${text}`);
  }
  return Number(digits);
}

function json(io: CommandLineIo, path: string, option: string): unknown {
  let text: string;
  try {
    text = new TextDecoder().decode(io.readFile(path));
  } catch (e) {
    throw new CommandLineError(`${option}: Can't read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CommandLineError(`${option}: ${path} is not JSON: ${(e as Error).message}`);
  }
}

/**
 * Parses a command line. Throws a {@linkcode CommandLineError} with bubblewrap's message for a
 * command line bubblewrap would refuse.
 *
 * @param args The arguments after the program name.
 * @param io Descriptors, files and the environment.
 * @returns The plan.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "@alcove/alcove";
 * const io = {
 *   readFd: () => new Uint8Array(0),
 *   readFile: () => new Uint8Array(0),
 *   env: {},
 *   cwd: "/",
 *   isTerminal: false,
 *   uid: 0,
 * };
 * console.log(parseCommandLine(["--tmpfs", "/tmp", "sh"], io).options.mounts);
 * ```
 */
export function parseCommandLine(args: readonly string[], io: CommandLineIo): CommandLinePlan {
  const warnings: string[] = [];
  try {
    return parse(args, io, warnings);
  } catch (e) {
    if (e instanceof CommandLineError) e.warnings = warnings;
    throw e;
  }
}

/** Options of one value that bubblewrap lets the last of take effect, with a warning. */
const ONLY_LAST = new Set([
  "--chdir",
  "--hostname",
  "--uid",
  "--gid",
  "--info-fd",
  "--json-status-fd",
  "--sync-fd",
  "--block-fd",
  "--userns-block-fd",
  "--userns",
  "--userns2",
  "--pidns",
]);

function parse(args: readonly string[], io: CommandLineIo, warnings: string[]): CommandLinePlan {
  const queue = [...args];
  const mounts: Mount[] = [];
  const mountOptions: string[] = []; // the option that made each of mounts
  const ns = new Set<Namespace>();
  // The environment edits, in order: applied at the end to what the command starts from (the
  // caller's environment, or that of a profile or preset).
  const envEdits: ((env: Record<string, string>) => void)[] = [];
  const o: SpawnOptions & Record<string, unknown> = {};
  const plan: CommandLinePlan = {
    action: "run",
    argv: [],
    options: o,
    cgroup: {},
    rlimitNames: [],
    mountOptions: [],
    capOps: [],
    blockFds: [],
    ownFds: [],
    assertUsernsDisabled: false,
    disableUserns: false,
    userNamespace: false,
    uidGiven: false,
    dieWithParent: false,
    warnings,
  };
  let base: SpawnOptions = {};
  let shareNet = false;
  let userTry = false;
  let usernsBlock = false;
  let asPid1 = false;
  let nextPerms: number | undefined;
  let nextSize: number | undefined;
  let seccompFd: Uint8Array | undefined;
  const addSeccomp: Uint8Array[] = [];
  let seccompProfile: SeccompFilter | null | undefined;
  const landlockRead: string[] = [];
  const landlockWrite: string[] = [];
  const rlimits: Record<string, RlimitValue> = {};
  const lockFiles: string[] = [];
  let cwd: string | undefined;

  const own = (fd: string): number => {
    const n = integer(fd, "fd");
    plan.ownFds.push(n);
    return n;
  };
  // A descriptor read for its data is closed after it, as bubblewrap has it: a second use of
  // it fails (it read as empty).
  const consumed = new Set<number>();
  const readFd = (fd: string, what: string): Uint8Array => {
    const n = own(fd);
    if (consumed.has(n)) throw new CommandLineError(`Can't read ${what}: Bad file descriptor`);
    consumed.add(n);
    try {
      return io.readFd(n);
    } catch (e) {
      throw new CommandLineError(`Can't read ${what}: ${(e as Error).message}`);
    }
  };
  // A compiled BPF program: instructions of 8 bytes (bubblewrap's check and message), at
  // most the kernel's 4096 of them, and at least one.
  const readBpf = (fd: string): Uint8Array => {
    const bpf = readFd(fd, "seccomp data");
    if (bpf.length % 8 !== 0) {
      throw new CommandLineError("Invalid seccomp data, must be multiple of 8");
    }
    if (bpf.length === 0 || bpf.length > 4096 * 8) {
      throw new CommandLineError(
        `Invalid seccomp data, must be 1 to 4096 instructions (got ${bpf.length / 8})`,
      );
    }
    return bpf;
  };

  let inArgs = false; // reading the words of an --args descriptor
  const seen = new Set<string>(); // of ONLY_LAST
  while (queue.length > 0) {
    const arg = queue[0];
    if (arg === ARGS_END) {
      queue.shift();
      inArgs = false;
      continue;
    }
    if (arg === "--") {
      queue.shift();
      break;
    }
    if (!arg.startsWith("-")) break;
    queue.shift();
    if (!FLAGS.has(arg) && !Object.hasOwn(TAKES, arg)) {
      throw new CommandLineError(`Unknown option ${arg}`);
    }
    const n = TAKES[arg] ?? 0;
    if (queue.length < n || queue.slice(0, n).includes(ARGS_END)) {
      throw new CommandLineError(`${arg} takes ${argumentWords(arg, n)}`);
    }
    const [a, b] = queue.splice(0, n);
    if (ONLY_LAST.has(arg)) {
      if (seen.has(arg)) warnings.push(`Only the last ${arg} option will take effect`);
      seen.add(arg);
    }
    // --perms and --size modify the next option that is not one of them.
    const modifier = arg === "--perms" || arg === "--size";
    const perms = nextPerms;
    const size = nextSize;
    if (!modifier) {
      nextPerms = undefined;
      nextSize = undefined;
      if (perms !== undefined && !CREATES_FILE.includes(arg)) {
        throw new CommandLineError("--perms must be followed by an option that creates a file");
      }
      if (size !== undefined && arg !== "--tmpfs") {
        throw new CommandLineError("--size must be followed by --tmpfs");
      }
    }
    // bubblewrap's relative source: from where the command line was started.
    // (An empty one stays empty, and is refused: bubblewrap cannot find it.)
    const onHost = (path: string) =>
      path.startsWith("/") || path === ""
        ? path
        : `${io.cwd}${io.cwd.endsWith("/") ? "" : "/"}${path}`;
    const withMode = <T extends Mount>(
      m: T,
    ): T => (perms === undefined ? m : { ...m, mode: perms });
    const addMount = (m: Mount) => {
      mounts.push(m);
      mountOptions.push(arg);
    };
    switch (arg) {
      case "--help":
        plan.action = "help";
        return plan;
      case "--version":
        plan.action = "version";
        return plan;
      case "--args":
        if (inArgs) throw new CommandLineError("--args not supported in arguments file");
        queue.unshift(...decodeArgs(readFd(a, "--args data"), a));
        inArgs = true;
        break;
      case "--unshare-all":
        // The user namespace is bubblewrap's "try" form (see below).
        for (const n of ["ipc", "pid", "net", "uts", "cgroup"] as const) ns.add(n);
        userTry = true;
        break;
      case "--share-net":
        shareNet = true;
        break;
      case "--unshare-user":
        plan.userNamespace = true;
        ns.add("user");
        break;
      case "--unshare-user-try":
        userTry = true;
        break;
      case "--unshare-ipc":
      case "--unshare-pid":
      case "--unshare-net":
      case "--unshare-uts":
      case "--unshare-cgroup":
        ns.add(arg.slice("--unshare-".length) as Namespace);
        break;
      case "--unshare-cgroup-try":
        ns.add("cgroup");
        break;
      case "--userns":
      case "--userns2":
      case "--pidns":
        o[arg.slice(2)] = integer(a, "fd");
        break;
      case "--disable-userns":
        plan.disableUserns = true;
        break;
      case "--assert-userns-disabled":
        plan.assertUsernsDisabled = true;
        break;
      case "--uid":
        o.uid = integer(a, "uid");
        plan.uidGiven = true;
        break;
      case "--gid":
        o.gid = integer(a, "gid");
        break;
      case "--hostname":
        o.hostname = a;
        break;
      case "--chdir":
        cwd = a;
        break;
      case "--clearenv":
        envEdits.push((env) => {
          for (const k of Object.keys(env)) delete env[k];
        });
        break;
      case "--setenv": {
        const name = envName(arg, a);
        envEdits.push((env) => (env[name] = b));
        break;
      }
      case "--unsetenv": {
        const name = envName(arg, a);
        envEdits.push((env) => delete env[name]);
        break;
      }
      case "--lock-file":
        lockFiles.push(a);
        break;
      case "--sync-fd":
        plan.syncFd = integer(a, "fd");
        break;
      case "--bind":
      case "--bind-try":
      case "--dev-bind":
      case "--dev-bind-try":
      case "--ro-bind":
      case "--ro-bind-try":
        addMount({ type: arg.slice(2) as "bind", source: onHost(a), target: inside(b) });
        break;
      case "--bind-fd":
      case "--ro-bind-fd": {
        const fd = integer(a, "fd");
        addMount({
          type: arg === "--bind-fd" ? "bind" : "ro-bind",
          source: `/proc/self/fd/${fd}`,
          target: inside(b),
        });
        break;
      }
      case "--remount-ro":
        addMount({ type: "remount-ro", target: inside(a) });
        break;
      case "--exec-label":
      case "--file-label":
        throw new CommandLineError("labeling not supported on this system");
      case "--proc":
      case "--dev":
      case "--mqueue":
        addMount({ type: arg.slice(2) as "proc", target: inside(a) });
        break;
      case "--tmpfs":
        addMount(
          withMode({ type: "tmpfs", target: inside(a), ...(size === undefined ? {} : { size }) }),
        );
        break;
      case "--dir":
        addMount(withMode({ type: "dir", target: inside(a) }));
        break;
      case "--file":
        addMount(
          withMode({ type: "file", target: inside(b), data: readFd(a, "--file data") }),
        );
        break;
      case "--bind-data":
      case "--ro-bind-data":
        addMount(
          withMode({
            type: arg.slice(2) as "bind-data",
            target: inside(b),
            data: readFd(a, `${arg} data`),
          }),
        );
        break;
      case "--symlink":
        addMount({ type: "symlink", source: a, target: inside(b) });
        break;
      case "--chmod": {
        const mode = octal(a);
        if (mode === undefined) {
          throw new CommandLineError("--chmod takes an octal argument <= 07777");
        }
        addMount({ type: "chmod", target: inside(b), mode });
        break;
      }
      case "--seccomp":
        if (seccompFd !== undefined) throw new CommandLineError("--seccomp cannot be repeated");
        if (addSeccomp.length > 0) {
          throw new CommandLineError("--seccomp cannot be combined with --add-seccomp-fd");
        }
        seccompFd = readBpf(a);
        break;
      case "--add-seccomp-fd":
        if (seccompFd !== undefined) {
          throw new CommandLineError("--add-seccomp-fd cannot be combined with --seccomp");
        }
        addSeccomp.push(readBpf(a));
        break;
      case "--block-fd":
        plan.blockFds = [own(a)];
        break;
      case "--userns-block-fd":
        plan.usernsBlockFd = own(a);
        usernsBlock = true;
        break;
      case "--info-fd":
        plan.infoFd = own(a);
        break;
      case "--json-status-fd":
        plan.jsonStatusFd = own(a);
        break;
      case "--new-session":
        o.newSession = true;
        break;
      case "--die-with-parent":
        o.dieWithParent = true;
        plan.dieWithParent = true;
        break;
      case "--as-pid-1":
        asPid1 = true;
        break;
      case "--cap-add":
      case "--cap-drop":
        plan.capOps.push({ add: arg === "--cap-add", cap: a.toUpperCase() });
        break;
      case "--perms":
        if (perms !== undefined) {
          throw new CommandLineError("--perms given twice for the same action");
        }
        nextPerms = octal(a);
        if (nextPerms === undefined) {
          throw new CommandLineError("--perms takes an octal argument <= 07777");
        }
        break;
      case "--size": {
        if (size !== undefined) {
          throw new CommandLineError("--size given twice for the same action");
        }
        const v = radixSize(a) ?? sizeOf(a);
        if (v === undefined || !(v > 0)) {
          throw new CommandLineError("--size takes a non-zero number of bytes");
        }
        nextSize = v;
        break;
      }
      case "--memory":
      case "--memory-high":
      case "--output-limit": {
        const v = sizeOf(a);
        if (v === undefined || v === 0) {
          throw new CommandLineError(`${arg} takes a non-zero size in bytes, e.g. 256M: ${a}`);
        }
        if (arg === "--memory") plan.cgroup.memoryMax = cgroupLimit(arg, "memoryMax", v, a);
        else if (arg === "--memory-high") {
          plan.cgroup.memoryHigh = cgroupLimit(arg, "memoryHigh", v, a);
        } else o.maxOutput = v;
        break;
      }
      case "--pids":
        if (!/^\d+$/.test(a) || Number(a) === 0) {
          throw new CommandLineError(`--pids takes a positive number of processes: ${a}`);
        }
        plan.cgroup.pidsMax = cgroupLimit(arg, "pidsMax", Number(a), a);
        break;
      case "--cpu":
        if (!/^\d+(\.\d+)?$/.test(a) || Number(a) <= 0) {
          throw new CommandLineError(`--cpu takes a positive number of CPUs, e.g. 0.5: ${a}`);
        }
        plan.cgroup.cpuMax = cgroupLimit(arg, "cpuMax", Number(a), a);
        break;
      case "--time": {
        const v = parseDuration(a);
        if (v === undefined) {
          throw new CommandLineError(
            `--time takes a positive duration, e.g. 2s, 500ms or 1m: ${a}`,
          );
        }
        o.timeout = v;
        break;
      }
      case "--rlimit": {
        const m = /^([A-Za-z_]+)=([^:]+)(?::(.+))?$/.exec(a);
        const value = (t: string) => /^(unlimited|infinity)$/i.test(t) ? Infinity : sizeOf(t);
        const soft = m ? value(m[2]) : undefined;
        const hard = m ? (m[3] === undefined ? soft : value(m[3])) : undefined;
        if (!m || soft === undefined || hard === undefined) {
          throw new CommandLineError(`--rlimit takes NAME=SOFT[:HARD], e.g. NOFILE=64: ${a}`);
        }
        if ([soft, hard].some((v) => v > Number.MAX_SAFE_INTEGER && v !== Infinity)) {
          throw new CommandLineError(
            `--rlimit: a limit is at most 9007199254740991 or unlimited: ${a}`,
          );
        }
        if (soft > hard) {
          throw new CommandLineError(`--rlimit: the soft limit is above the hard one: ${a}`);
        }
        const name = rlimitName(m[1]);
        if (!Object.hasOwn(rlimits, name)) plan.rlimitNames.push(name);
        rlimits[name] = { cur: soft, max: hard };
        break;
      }
      case "--seccomp-profile":
        if (a === "default") seccompProfile = "default";
        else if (a === "none") seccompProfile = null;
        else seccompProfile = json(io, a, arg) as SeccompPolicy;
        break;
      case "--landlock-ro":
      case "--landlock-rw":
        // Landlock's rules are made in the sandbox, where a relative path would mean
        // another directory than here.
        if (!a.startsWith("/")) throw new CommandLineError(`${arg} takes an absolute path: ${a}`);
        (arg === "--landlock-ro" ? landlockRead : landlockWrite).push(a);
        break;
      case "--profile": {
        const p = json(io, a, arg);
        if (typeof p !== "object" || p === null || Array.isArray(p)) {
          throw new CommandLineError(`--profile: ${a} must hold an object of spawn options`);
        }
        base = { ...base, ...(p as SpawnOptions) };
        break;
      }
      case "--preset":
        if (a !== "untrusted") {
          throw new CommandLineError(`--preset: unknown preset ${a} (known: untrusted)`);
        }
        base = { ...base, ...untrustedPreset(io.isTerminal, io.env) };
        break;
    }
  }
  // A --perms or --size left at the end is dropped, as bubblewrap does (it checks them only
  // against the option that comes next).
  if (queue.length === 0) {
    plan.action = "usage";
    return plan;
  }
  plan.argv = queue;

  // bubblewrap's checks, in its order.
  const joins = o.userns !== undefined;
  if (usernsBlock && !ns.has("user")) {
    throw new CommandLineError("--userns-block-fd requires --unshare-user");
  }
  if (usernsBlock && plan.infoFd === undefined) {
    throw new CommandLineError("--userns-block-fd requires --info-fd");
  }
  if (joins && ns.has("user")) throw new CommandLineError("--userns not compatible --unshare-user");
  if (joins && userTry) throw new CommandLineError("--userns not compatible --unshare-user-try");
  if (plan.disableUserns && !ns.has("user")) {
    throw new CommandLineError("--disable-userns requires --unshare-user");
  }
  if (plan.disableUserns && usernsBlock) {
    throw new CommandLineError("--disable-userns is not compatible with  --userns-block-fd");
  }
  // The "try" form, after the checks above as bubblewrap has it: a user namespace wherever
  // the system makes them, as root too (unprivileged, spawn adds one in any case).
  if (userTry && io.usernsAvailable?.() === true) ns.add("user");
  // Unprivileged, a user namespace always comes (spawn adds it) unless one is joined, as
  // bubblewrap's does.
  const userns = ns.has("user") || (io.uid !== 0 && !joins) || joins;
  // Without a user namespace, the ids it runs with already (bubblewrap's rule).
  if (o.uid !== undefined && !userns && o.uid !== io.uid) {
    throw new CommandLineError("Specifying --uid requires --unshare-user or --userns");
  }
  if (o.gid !== undefined && !userns && o.gid !== io.gid) {
    throw new CommandLineError("Specifying --gid requires --unshare-user or --userns");
  }
  if (o.hostname !== undefined && !ns.has("uts")) {
    throw new CommandLineError("Specifying --hostname requires --unshare-uts");
  }
  if (asPid1 && !ns.has("pid")) {
    throw new CommandLineError("Specifying --as-pid-1 requires --unshare-pid");
  }
  if (asPid1 && lockFiles.length > 0) {
    throw new CommandLineError("Specifying --as-pid-1 and --lock-file is not permitted");
  }
  if (plan.syncFd !== undefined && !asPid1) plan.ownFds.push(plan.syncFd);
  if (plan.disableUserns) o.disableUserns = true;
  if (plan.assertUsernsDisabled) o.assertUsernsDisabled = true;

  // The profile or preset first; the command line on top of it.
  const merged: SpawnOptions & Record<string, unknown> = { ...base };
  const baseNs = base.namespaces === "all"
    ? ["user", "pid", "net", "mount", "uts", "ipc", "cgroup"] as Namespace[]
    : [...(base.namespaces ?? [])];
  const allNs = new Set<Namespace>([...baseNs, ...ns, "mount"]);
  if (shareNet) allNs.delete("net");
  merged.namespaces = [...allNs];
  merged.mounts = [...(base.mounts ?? []), ...mounts];
  plan.mountOptions = [...(base.mounts ?? []).map(() => undefined), ...mountOptions];
  for (const [k, v] of Object.entries(o)) if (v !== undefined) merged[k] = v;
  if (Object.keys(rlimits).length > 0) {
    // The command line's apply on top of the profile's, however the profile spells the
    // name; the profile's others stay as written.
    const kept = Object.entries(base.rlimits ?? {}).filter(([k]) =>
      !Object.hasOwn(rlimits, rlimitName(k))
    );
    merged.rlimits = { ...Object.fromEntries(kept), ...rlimits };
  }
  if (lockFiles.length > 0) merged.lockFiles = [...(base.lockFiles ?? []), ...lockFiles];
  const filters: SeccompFilter[] = [];
  if (seccompProfile !== undefined) {
    if (seccompProfile !== null) filters.push(seccompProfile);
  } else if (base.seccomp !== undefined && base.seccomp !== null) {
    filters.push(...(Array.isArray(base.seccomp) ? base.seccomp : [base.seccomp as SeccompFilter]));
  }
  if (seccompFd !== undefined) filters.push(seccompFd);
  filters.push(...addSeccomp);
  merged.seccomp = filters.length === 0 ? null : filters;
  if (landlockRead.length + landlockWrite.length > 0) {
    merged.landlock = {
      ...(base.landlock ?? {}),
      read: [...(base.landlock?.read ?? []), ...landlockRead],
      write: [...(base.landlock?.write ?? []), ...landlockWrite],
    };
  }
  if (allNs.has("pid") && !asPid1 && merged.init === undefined) merged.init = true;
  // bubblewrap's working directory: --chdir (a relative one from /, where bubblewrap stands
  // when it goes there), else where it was started if that exists inside, else $HOME,
  // else /; PWD says which, as given.
  if (cwd !== undefined) {
    // bubblewrap fails on it (chdir("") is ENOENT); going to / instead would run a script's
    // `--chdir "$UNSET"` somewhere it did not mean.
    if (cwd === "") throw new CommandLineError(EMPTY_CHDIR);
    merged.cwd = cwd.startsWith("/") ? cwd : `/${cwd}`;
    envEdits.push((env) => (env.PWD = cwd));
  } else if (base.cwd === undefined) {
    merged.cwd = io.env.HOME ? [io.cwd, io.env.HOME] : [io.cwd];
  }
  // A profile's or preset's env replaces the caller's (or adds to it, with inheritEnv); the
  // command line's edits apply to that, in their order.
  const env: Record<string, string> = base.env === undefined
    ? { ...io.env }
    : base.inheritEnv === true
    ? { ...io.env, ...base.env }
    : { ...base.env };
  for (const edit of envEdits) edit(env);
  merged.env = env;
  merged.inheritEnv = false;
  if (merged.dieWithParent === undefined) merged.dieWithParent = true;
  plan.options = merged;
  return plan;
}
