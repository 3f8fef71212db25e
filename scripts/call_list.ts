/**
 * The single list of calls: every call a control process (and, where allowed, the
 * host process) runs. `scripts/gen.ts` turns it into the C dispatch table
 * (csrc/calls_table.c), the C prototypes (csrc/calls.h) and the TypeScript call
 * methods (ffi/_calls.ts). Call numbers are positions in this list: append, never
 * reorder (the ABI version in csrc/alcove.h guards mismatches).
 *
 * @example
 * ```ts
 * import { CALL_LIST } from "./call_list.ts";
 * console.log(CALL_LIST.map((c) => c.name));
 * ```
 * @module
 */
import { ARGV, ENV } from "./calls/_common.ts";
import { SYSTEM_CALLS } from "./calls/system.ts";
import { STRUCT_CALLS } from "./calls/struct.ts";

export type { ArgSpec, ArgType, CallSpec, ResultType } from "./calls/_types.ts";
import type { ArgSpec, CallSpec } from "./calls/_types.ts";

const pid: ArgSpec = { name: "pid", type: "i32", doc: "A process id" };

function constantCall(name: string, domain: string, what: string, sample: string): CallSpec {
  return {
    name,
    args: [{ name: "name", type: "constname", doc: `The ${what} name, case-insensitive` }],
    result: "constant",
    ts: "number | undefined",
    platforms: "all",
    doc: `Looks up the value of a ${what} (${domain} table) in the process that runs the call; ` +
      "`undefined` when the name is unknown on this platform.",
    example: `const value = await drv.${
      name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
    }([], "${sample}");`,
  };
}

/** The calls of the control plane (process creation, exec, options, environment). */
const CONTROL_CALLS: readonly CallSpec[] = [
  {
    name: "fork",
    args: [],
    result: "int",
    ts: "number",
    platforms: "all",
    noLocal: true,
    man: "fork(2)",
    doc: "Creates a child control process of the pipeline's last process and returns its pid. " +
      "Fails with EAGAIN at maxforkdepth or maxchild.",
    example: "const pid = await drv.fork([]);\nconsole.log(await drv.getpid([pid]));",
  },
  {
    name: "clone",
    args: [{
      name: "flags",
      type: "flags:clone",
      doc: "CLONE_NEW* flags: names, a list, or a number",
    }],
    result: "int",
    ts: "number",
    platforms: "linux",
    noLocal: true,
    man: "clone(2)",
    doc: "Creates a child control process in new namespaces and returns its pid (as seen by the " +
      "caller).",
    example: 'const pid = await drv.clone([], ["CLONE_NEWPID", "CLONE_NEWUTS"]);\n' +
      "console.log(await drv.getpid([pid])); // 1",
  },
  {
    name: "execve",
    args: [
      { name: "path", type: "string", doc: "Program to run" },
      ARGV,
      ENV,
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    noLocal: true,
    exec: true,
    man: "execve(2)",
    doc: "Replaces the control process with a program. On success the process stops taking " +
      "calls; its stdout and stderr become data. On failure it stays a control process.",
    example: "const pid = await drv.fork([]);\n" +
      'await drv.execve([pid], "/bin/echo", ["echo", "hi"], ["PATH=/bin"]);',
  },
  {
    name: "execvp",
    args: [
      { name: "file", type: "string", doc: "Program, searched in PATH when it has no slash" },
      ARGV,
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    noLocal: true,
    exec: true,
    man: "execvp(3)",
    doc: "Like execve, with a PATH search and the control process's environment.",
    example: 'const pid = await drv.fork([]);\nawait drv.execvp([pid], "cat", ["cat"]);',
  },
  {
    name: "exit",
    args: [{ name: "status", type: "i32", doc: "Exit status" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    noLocal: true,
    man: "exit(3)",
    doc: "Ends the control process with a status; its parent reports an exit event.",
    example: "const pid = await drv.fork([]);\nawait drv.exit([pid], 3);\n" +
      'console.log(await drv.event([pid])); // { type: "exit", status: 3 }',
  },
  {
    name: "kill",
    args: [pid, { name: "signal", type: "const:signal", doc: "Signal name or number" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "kill(2)",
    doc: "Sends a signal to a process (or process group, with a negative pid).",
    example: 'const pid = await drv.fork([]);\nawait drv.kill([], pid, "SIGKILL");',
  },
  {
    name: "getpid",
    args: [],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "getpid(2)",
    doc: "Returns the process id of the control process.",
    example: "console.log(await drv.getpid([]));",
  },
  {
    name: "getppid",
    args: [],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "getppid(2)",
    doc: "Returns the parent's process id.",
    example: "const pid = await drv.fork([]);\nconsole.log(await drv.getppid([pid]));",
  },
  {
    name: "version",
    args: [],
    result: "string",
    ts: "string",
    platforms: "all",
    doc: "Returns the version of the control process executable.",
    example: "console.log(await drv.version([]));",
  },
  {
    name: "getopt",
    args: [{ name: "option", type: "option", doc: "Option name (see {@linkcode AlcoveOption})" }],
    result: "int",
    ts: "number",
    platforms: "all",
    noLocal: true,
    doc: "Returns a setting of the control process: maxchild, maxforkdepth, exit_status, " +
      "termsig, flowcontrol, signaloneof, stdin_closed, stdout_closed, stderr_closed or spin " +
      "(microseconds a control process keeps polling after it sends something up, for the " +
      "next call, output or a program's end, default 500, 0 never).",
    example: 'console.log(await drv.getopt([], "maxchild"));',
  },
  {
    name: "setopt",
    args: [
      { name: "option", type: "option", doc: "Option name (see {@linkcode AlcoveOption})" },
      { name: "value", type: "optvalue", doc: "New value (booleans are 1 and 0)" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    noLocal: true,
    doc: "Changes a setting of the control process; children forked later inherit it.",
    example: 'await drv.setopt([], "maxforkdepth", 4);',
  },
  {
    name: "cpid",
    args: [],
    result: "cpid",
    ts: "ChildInfo[]",
    platforms: "all",
    noLocal: true,
    doc: "Lists the children of the control process with their settings and descriptors.",
    example: "await drv.fork([]);\nconsole.log(await drv.cpid([]));",
  },
  {
    name: "setcpid",
    args: [
      pid,
      {
        name: "option",
        type: "cpidoption",
        doc: '"flowcontrol", "signaloneof", "stdout_flowcontrol", "stderr_flowcontrol", ' +
          '"kill_tree" or "usage"',
      },
      { name: "value", type: "i64", doc: "New value" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    noLocal: true,
    doc: "Changes a per-child setting: flowcontrol (-1 unlimited, 0 stop reading its output, " +
      "N read N more chunks), signaloneof (signal sent when the parent's input closes), or " +
      "ours, stdout_flowcontrol and stderr_flowcontrol (0 stops reading that stream alone, " +
      "-1 reads it again). kill_tree, ours too, is an action, not a setting: the signal numbered " +
      "by the value goes to the child's process group and to every process below it (each " +
      "stopped first, so that none forks past it), daemons that left the group included. " +
      "usage, ours, 1 sends the child's resource usage (a usage event: wait4's times and " +
      "peak RSS, and its wall time from its exec) just before its exit event, as spawn " +
      "always does; 0 turns it off.",
    example: 'const pid = await drv.fork([]);\nawait drv.setcpid([], pid, "flowcontrol", 0);',
  },
  {
    name: "getcwd",
    args: [],
    result: "string",
    ts: "string",
    platforms: "all",
    man: "getcwd(3)",
    doc: "Returns the current directory.",
    example: "console.log(await drv.getcwd([]));",
  },
  {
    name: "chdir",
    args: [{ name: "path", type: "string", doc: "New current directory" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "chdir(2)",
    doc: "Changes the current directory.",
    example: 'await drv.chdir([], "/tmp");',
  },
  {
    name: "environ",
    args: [],
    result: "strings",
    ts: "string[]",
    platforms: "all",
    man: "environ(7)",
    doc: 'Returns the environment as "NAME=value" strings.',
    example: "console.log(await drv.environ([]));",
  },
  {
    name: "getenv",
    args: [{ name: "name", type: "string", doc: "Variable name" }],
    result: "string?",
    ts: "string | null",
    platforms: "all",
    man: "getenv(3)",
    doc: "Returns a variable of the environment, or null when it is not set.",
    example: 'console.log(await drv.getenv([], "PATH"));',
  },
  {
    name: "setenv",
    args: [
      { name: "name", type: "string", doc: "Variable name" },
      { name: "value", type: "string", doc: "Value" },
      { name: "overwrite", type: "i32", doc: "0 keeps an existing value" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setenv(3)",
    doc: "Sets a variable of the environment.",
    example: 'await drv.setenv([], "LANG", "C", 1);',
  },
  {
    name: "unsetenv",
    args: [{ name: "name", type: "string", doc: "Variable name" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "unsetenv(3)",
    doc: "Removes a variable from the environment.",
    example: 'await drv.unsetenv([], "LANG");',
  },
  {
    name: "clearenv",
    args: [],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "clearenv(3)",
    doc: "Empties the environment.",
    example: "const pid = await drv.fork([]);\nawait drv.clearenv([pid]);",
  },
  {
    name: "sigaction",
    args: [
      { name: "signal", type: "const:signal", doc: "Signal name or number" },
      {
        name: "handler",
        type: "handler",
        doc: '"sig_dfl", "sig_ign", "sig_info" (catch and report as events), or null to query',
      },
    ],
    result: "handler",
    ts: "SignalHandler",
    platforms: "all",
    noLocal: true,
    man: "sigaction(2)",
    doc: "Sets how the control process handles a signal and returns the previous handler. By " +
      'default every signal is caught and reported ("sig_info"); for SIGCHLD "sig_dfl" means ' +
      'automatic reaping with exit events, and "sig_info" hands reaping over to waitpid.',
    example: 'const old = await drv.sigaction([], "SIGUSR1", "sig_ign");',
  },
  {
    name: "waitpid",
    args: [
      pid,
      { name: "flags", type: "flags:wait", doc: "WNOHANG, WUNTRACED, WCONTINUED (0 for none)" },
    ],
    result: "waitpid",
    ts: "WaitResult",
    platforms: "all",
    noLocal: true,
    man: "waitpid(2)",
    doc: "Waits for a child to change state. Children are reaped automatically unless " +
      'sigaction(SIGCHLD, "sig_info") handed reaping over.',
    example: 'await drv.sigaction([], "SIGCHLD", "sig_info");\nconst pid = await drv.fork([]);\n' +
      "await drv.exit([pid], 0).catch(() => {});\nconsole.log(await drv.waitpid([], pid, 0));",
  },
  {
    name: "errno_id",
    args: [{ name: "errno", type: "i32", doc: "An errno number" }],
    result: "errnoname",
    ts: "string",
    platforms: "all",
    man: "errno(3)",
    doc: 'Returns the name of an errno value ("EPERM"), or "unknown".',
    example: "console.log(await drv.errnoId([], 1)); // EPERM",
  },
  constantCall("clone_constant", "clone", "clone flag", "CLONE_NEWNS"),
  constantCall("fcntl_constant", "fcntl", "fcntl command or flag", "F_GETFD"),
  constantCall("file_constant", "file", "file flag", "O_RDONLY"),
  constantCall("ioctl_constant", "ioctl", "ioctl request", "FIONREAD"),
  constantCall("mount_constant", "mount", "mount flag", "MS_BIND"),
  constantCall("prctl_constant", "prctl", "prctl option", "PR_SET_NAME"),
  constantCall("ptrace_constant", "ptrace", "ptrace request", "PTRACE_TRACEME"),
  constantCall("rlimit_constant", "rlimit", "resource limit", "RLIMIT_NOFILE"),
  constantCall("seccomp_constant", "seccomp", "seccomp constant", "SECCOMP_SET_MODE_FILTER"),
  constantCall("signal_constant", "signal", "signal", "SIGTERM"),
  constantCall("syscall_constant", "syscall", "syscall or audit architecture", "SYS_getpid"),
  {
    name: "getrlimit",
    args: [{ name: "resource", type: "const:rlimit", doc: "RLIMIT_* name or number" }],
    result: "rlimit",
    ts: "Rlimit",
    platforms: "all",
    man: "getrlimit(2)",
    doc: "Returns a resource limit; RLIM_INFINITY is `Infinity`.",
    example: 'console.log(await drv.getrlimit([], "RLIMIT_NOFILE"));',
  },
  {
    name: "setrlimit",
    args: [
      { name: "resource", type: "const:rlimit", doc: "RLIMIT_* name or number" },
      { name: "limit", type: "rlimit", doc: "`{ cur, max }`; `Infinity` is RLIM_INFINITY" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setrlimit(2)",
    doc: "Sets a resource limit. Lowering RLIMIT_NOFILE also lowers maxchild.",
    example: "const pid = await drv.fork([]);\n" +
      'await drv.setrlimit([pid], "RLIMIT_NOFILE", { cur: 64, max: 64 });',
  },
  {
    name: "sethostname",
    args: [{ name: "name", type: "string", doc: "New host name" }],
    result: "ok",
    ts: "void",
    platforms: "linux",
    man: "sethostname(2)",
    doc: "Sets the host name of the process's UTS namespace.",
    example: 'const pid = await drv.clone([], "CLONE_NEWUTS");\n' +
      'await drv.sethostname([pid], "sandbox");',
  },
  {
    name: "gethostname",
    args: [],
    result: "string",
    ts: "string",
    platforms: "all",
    man: "gethostname(2)",
    doc: "Returns the host name.",
    example: "console.log(await drv.gethostname([]));",
  },
  {
    name: "getuid",
    args: [],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "getuid(2)",
    doc: "Returns the real user id.",
    example: "console.log(await drv.getuid([]));",
  },
  {
    name: "getgid",
    args: [],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "getgid(2)",
    doc: "Returns the real group id.",
    example: "console.log(await drv.getgid([]));",
  },
  {
    name: "setuid",
    args: [{ name: "uid", type: "u32", doc: "User id" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setuid(2)",
    doc: "Sets the user ids of the process.",
    example: "const pid = await drv.fork([]);\nawait drv.setuid([pid], 65534);",
  },
  {
    name: "setgid",
    args: [{ name: "gid", type: "u32", doc: "Group id" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setgid(2)",
    doc: "Sets the group ids of the process.",
    example: "const pid = await drv.fork([]);\nawait drv.setgid([pid], 65534);",
  },
  {
    name: "setgroups",
    args: [{ name: "groups", type: "gids", doc: "Supplementary group ids" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setgroups(2)",
    doc: "Sets the supplementary groups (an empty list drops them all).",
    example: "const pid = await drv.fork([]);\nawait drv.setgroups([pid], []);",
  },
  {
    name: "getgroups",
    args: [],
    result: "ints",
    ts: "number[]",
    platforms: "all",
    man: "getgroups(2)",
    doc: "Returns the supplementary groups.",
    example: "console.log(await drv.getgroups([]));",
  },
];

/** Calls of ours that the library wraps in an API of its own. */
const LIBRARY_CALLS: readonly CallSpec[] = [
  {
    name: "spawn",
    args: [{ name: "request", type: "bytes", doc: "The encoded spawn request" }],
    result: "int",
    ts: "number",
    platforms: "linux",
    noLocal: true,
    internal: true,
    doc: "Forks, confines and execs a program in one request; answers its pid once it has " +
      "exec'd, or the setup step that failed. Used through `Alcove.spawn` and `Task.spawn`.",
    example: 'await using p = await drv.spawn(["true"]);',
  },
];

/** Every call, in call-number order: groups are appended, never reordered. */
export const CALL_LIST: readonly CallSpec[] = [
  ...CONTROL_CALLS,
  ...SYSTEM_CALLS,
  ...STRUCT_CALLS,
  ...LIBRARY_CALLS,
];
