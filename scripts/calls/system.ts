/**
 * Calls of the call list (see scripts/call_list.ts): credentials, files, mounts, namespaces, process and platform calls that take plain values.
 * Append new calls at the end: positions are call numbers.
 *
 * @module
 */
import type { ArgSpec, CallSpec } from "./_types.ts";
import { ARGV, ENV } from "./_common.ts";

const path: ArgSpec = { name: "path", type: "string", doc: "A path" };
const fd: ArgSpec = { name: "fd", type: "i32", doc: "A file descriptor of the process" };
const mode: ArgSpec = {
  name: "mode",
  type: "mode",
  doc: "Permission bits: a number such as 0o755, or S_I* names",
};

function unsupported(
  name: string,
  args: ArgSpec[],
  platform: "freebsd" | "openbsd",
  result: CallSpec["result"],
  ts: string,
  doc: string,
  example: string,
): CallSpec {
  const where = platform === "freebsd" ? "FreeBSD" : "OpenBSD";
  return {
    name,
    args,
    result,
    ts,
    platforms: platform,
    man: `${name}(2)`,
    doc: `${doc} A ${where} call: on other platforms it rejects with UnsupportedError.`,
    example,
  };
}

/** The calls of this group, in call-number order. */
export const SYSTEM_CALLS: readonly CallSpec[] = [
  // Credentials.
  {
    name: "getresuid",
    args: [],
    result: "record:ruid,euid,suid",
    ts: "ResUid",
    platforms: "all",
    man: "getresuid(2)",
    doc: "Returns the real, effective and saved user ids.",
    example: "const { ruid, euid, suid } = await drv.getresuid([]);",
  },
  {
    name: "getresgid",
    args: [],
    result: "record:rgid,egid,sgid",
    ts: "ResGid",
    platforms: "all",
    man: "getresgid(2)",
    doc: "Returns the real, effective and saved group ids.",
    example: "const { rgid, egid, sgid } = await drv.getresgid([]);",
  },
  {
    name: "setresuid",
    args: [
      { name: "ruid", type: "id", doc: "Real user id, -1 to keep it" },
      { name: "euid", type: "id", doc: "Effective user id, -1 to keep it" },
      { name: "suid", type: "id", doc: "Saved set-user-id, -1 to keep it" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setresuid(2)",
    doc: "Sets the real, effective and saved user ids.",
    example: "const pid = await drv.fork([]);\nawait drv.setresuid([pid], 65534, 65534, 65534);",
  },
  {
    name: "setresgid",
    args: [
      { name: "rgid", type: "id", doc: "Real group id, -1 to keep it" },
      { name: "egid", type: "id", doc: "Effective group id, -1 to keep it" },
      { name: "sgid", type: "id", doc: "Saved set-group-id, -1 to keep it" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setresgid(2)",
    doc: "Sets the real, effective and saved group ids.",
    example: "const pid = await drv.fork([]);\nawait drv.setresgid([pid], 65534, 65534, 65534);",
  },
  // Files and descriptors.
  {
    name: "chmod",
    args: [path, mode],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "chmod(2)",
    doc: "Changes the permission bits of a file.",
    example: 'await drv.chmod([], "/tmp", 0o1777);',
  },
  {
    name: "chown",
    args: [
      path,
      { name: "uid", type: "id", doc: "New owner, -1 to keep it" },
      { name: "gid", type: "id", doc: "New group, -1 to keep it" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "chown(2)",
    doc: "Changes the owner and group of a file, following symbolic links.",
    example: 'await drv.chown([], "/tmp", 0, 0);',
  },
  {
    name: "chroot",
    args: [{ name: "path", type: "string", doc: "The new root directory" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "chroot(2)",
    doc: "Changes the root directory of the process; chdir into it afterwards.",
    example: 'const pid = await drv.fork([]);\nawait drv.chroot([pid], "/var/empty");\n' +
      'await drv.chdir([pid], "/");',
  },
  {
    name: "mkdir",
    args: [path, mode],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "mkdir(2)",
    doc: "Creates a directory (the umask applies to the mode).",
    example: 'await drv.mkdir([], "/tmp/alcove-example", 0o755);\n' +
      'await drv.rmdir([], "/tmp/alcove-example");',
  },
  {
    name: "mkfifo",
    args: [path, mode],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "mkfifo(3)",
    doc: "Creates a named pipe (the umask applies to the mode).",
    example: 'await drv.mkfifo([], "/tmp/alcove-fifo", 0o600);\n' +
      'await drv.unlink([], "/tmp/alcove-fifo");',
  },
  {
    name: "rmdir",
    args: [path],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "rmdir(2)",
    doc: "Removes an empty directory.",
    example: 'await drv.mkdir([], "/tmp/alcove-example", 0o755);\n' +
      'await drv.rmdir([], "/tmp/alcove-example");',
  },
  {
    name: "unlink",
    args: [path],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "unlink(2)",
    doc: "Removes a name from the file system.",
    example: 'await drv.symlink([], "/etc/hostname", "/tmp/alcove-link");\n' +
      'await drv.unlink([], "/tmp/alcove-link");',
  },
  {
    name: "link",
    args: [
      { name: "oldpath", type: "string", doc: "An existing file" },
      { name: "newpath", type: "string", doc: "The new name" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "link(2)",
    doc: "Makes a new name (a hard link) for an existing file.",
    example: 'const fd = await drv.open([], "/tmp/alcove-a", ["O_WRONLY", "O_CREAT"], 0o600);\n' +
      "await drv.close([], fd);\n" +
      'await drv.link([], "/tmp/alcove-a", "/tmp/alcove-b");',
  },
  {
    name: "symlink",
    args: [
      { name: "target", type: "string", doc: "What the link points to" },
      { name: "linkpath", type: "string", doc: "The link's name" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "symlink(2)",
    doc: "Makes a symbolic link.",
    example: 'await drv.symlink([], "/etc/hostname", "/tmp/alcove-link");',
  },
  {
    name: "readdir",
    args: [{ name: "path", type: "string", doc: "A directory" }],
    result: "strings",
    ts: "string[]",
    platforms: "all",
    man: "readdir(3)",
    doc: 'Returns the names in a directory, "." and ".." included, in the order the file ' +
      "system gives them. Directories of any size arrive whole.",
    example: 'console.log(await drv.readdir([], "/"));',
  },
  {
    name: "open",
    args: [
      path,
      { name: "flags", type: "flags:file", doc: "O_* names, a list of them, or a number" },
      { name: "mode", type: "mode", doc: "Permission bits of a created file (0 otherwise)" },
    ],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "open(2)",
    doc: "Opens a file in the process and returns the descriptor.",
    example: 'const fd = await drv.open([], "/etc/hostname", "O_RDONLY", 0);\n' +
      "console.log(await drv.read([], fd, 256));\nawait drv.close([], fd);",
  },
  {
    name: "close",
    args: [fd],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "close(2)",
    doc: "Closes a descriptor. The control process's own descriptors (its channels to its " +
      "parent and children) are refused with a RangeError.",
    example: 'const fd = await drv.open([], "/etc/hostname", "O_RDONLY", 0);\n' +
      "await drv.close([], fd);",
  },
  {
    name: "read",
    args: [fd, {
      name: "count",
      type: "readcount",
      doc: "Most bytes to read, at most 16 MiB (16777216)",
    }],
    result: "bytes",
    ts: "Uint8Array",
    platforms: "all",
    man: "read(2)",
    doc: "Reads up to `count` bytes; an empty result is the end of the file. Blocks the " +
      "control process while the descriptor has nothing to read.",
    example: 'const fd = await drv.open([], "/etc/hostname", "O_RDONLY", 0);\n' +
      "console.log(new TextDecoder().decode(await drv.read([], fd, 256)));\n" +
      "await drv.close([], fd);",
  },
  {
    name: "write",
    args: [fd, { name: "data", type: "bytes", doc: "Bytes (a string is written as UTF-8)" }],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "write(2)",
    doc: "Writes bytes and returns how many were written.",
    example: 'const fd = await drv.open([], "/tmp/alcove-out", ["O_WRONLY", "O_CREAT", ' +
      '"O_TRUNC"], 0o600);\nconsole.log(await drv.write([], fd, "hello\\n"));\n' +
      "await drv.close([], fd);",
  },
  {
    name: "lseek",
    args: [
      fd,
      { name: "offset", type: "i64", doc: "Offset in bytes" },
      { name: "whence", type: "const:file", doc: "SEEK_SET, SEEK_CUR or SEEK_END (or a number)" },
    ],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "lseek(2)",
    doc: "Moves the file offset of a descriptor and returns the new offset.",
    example: 'const fd = await drv.open([], "/etc/hostname", "O_RDONLY", 0);\n' +
      'console.log(await drv.lseek([], fd, 0, "SEEK_END")); // the file size\n' +
      "await drv.close([], fd);",
  },
  {
    name: "fcntl",
    args: [
      fd,
      { name: "cmd", type: "const:fcntl", doc: "F_* command name or number" },
      {
        name: "arg",
        type: "flags:fcntl|file",
        doc: "Integer argument: a number, or FD_CLOEXEC / O_* names (0 when unused)",
      },
    ],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "fcntl(2)",
    doc: "Runs a descriptor command with an integer argument (F_GETFD, F_SETFD, F_GETFL, " +
      "F_SETFL, F_DUPFD, F_GETPIPE_SZ, F_SETPIPE_SZ, ...) and returns its result. Commands " +
      "whose argument is a pointer (record locks, F_GETOWN_EX, ...) are refused.",
    example: 'const fd = await drv.open([], "/etc/hostname", "O_RDONLY", 0);\n' +
      'await drv.fcntl([], fd, "F_SETFD", "FD_CLOEXEC");\n' +
      'console.log(await drv.fcntl([], fd, "F_GETFD", 0)); // 1\nawait drv.close([], fd);',
  },
  {
    name: "select",
    args: [
      { name: "readfds", type: "fds", doc: "Descriptors to watch for reading" },
      { name: "writefds", type: "fds", doc: "Descriptors to watch for writing" },
      { name: "exceptfds", type: "fds", doc: "Descriptors to watch for exceptional conditions" },
      {
        name: "timeout",
        type: "timeval?",
        doc: "`{ sec, usec }`, or null to wait until one is ready",
      },
    ],
    result: "fdsets",
    ts: "FdSets",
    platforms: "all",
    man: "select(2)",
    doc: "Waits until a descriptor is ready (blocking the control process) and returns the " +
      "ready ones. Descriptors must be below FD_SETSIZE (1024).",
    example: 'const fd = await drv.open([], "/etc/hostname", "O_RDONLY", 0);\n' +
      "console.log(await drv.select([], [fd], [], [], { sec: 1, usec: 0 }));\n" +
      "await drv.close([], fd);",
  },
  // Mounts and roots.
  {
    name: "mount",
    args: [
      { name: "source", type: "string", doc: 'Device or source directory ("" for none)' },
      { name: "target", type: "string", doc: "Mount point" },
      { name: "fstype", type: "string", doc: 'File system type ("" for none)' },
      {
        name: "flags",
        type: "mountflags",
        doc: 'MS_* names, alcove\'s "rdonly", "nosuid", "noexec", "noatime", or a number',
      },
      { name: "data", type: "bytes", doc: 'File system options such as "size=1m" ("" for none)' },
      {
        name: "mountOptions",
        type: "bytes",
        doc: "alcove's extra mount options for other platforms; ignored on Linux",
      },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "mount(2)",
    doc: "Mounts a file system, or binds, moves or changes the propagation of a mount.",
    example: 'const pid = await drv.clone([], "CLONE_NEWNS");\n' +
      'await drv.mount([pid], "none", "/", "", ["MS_REC", "MS_PRIVATE"], "", "");\n' +
      'await drv.mount([pid], "tmpfs", "/mnt", "tmpfs", ["nosuid", "noexec"], "size=1m", "");',
  },
  {
    name: "umount",
    args: [{ name: "path", type: "string", doc: "Mount point" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "umount(2)",
    doc: "Unmounts a file system.",
    example: 'const pid = await drv.clone([], "CLONE_NEWNS");\n' +
      'await drv.mount([pid], "none", "/", "", ["MS_REC", "MS_PRIVATE"], "", "");\n' +
      'await drv.mount([pid], "tmpfs", "/mnt", "tmpfs", 0, "", "");\n' +
      'await drv.umount([pid], "/mnt");',
  },
  {
    name: "umount2",
    args: [
      { name: "path", type: "string", doc: "Mount point" },
      {
        name: "flags",
        type: "flags:mount",
        doc: "MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW (0 for none)",
      },
    ],
    result: "ok",
    ts: "void",
    platforms: "linux",
    man: "umount2(2)",
    doc: "Unmounts a file system with flags; MNT_DETACH detaches it at once and cleans up " +
      "when it is no longer busy.",
    example: 'const pid = await drv.clone([], "CLONE_NEWNS");\n' +
      'await drv.mount([pid], "none", "/", "", ["MS_REC", "MS_PRIVATE"], "", "");\n' +
      'await drv.mount([pid], "tmpfs", "/mnt", "tmpfs", 0, "", "");\n' +
      'await drv.umount2([pid], "/mnt", "MNT_DETACH");',
  },
  {
    name: "pivot_root",
    args: [
      { name: "newRoot", type: "string", doc: "The new root: a mount point" },
      { name: "putOld", type: "string", doc: "Where the old root goes, under the new root" },
    ],
    result: "ok",
    ts: "void",
    platforms: "linux",
    man: "pivot_root(2)",
    doc: "Swaps the root mount of the mount namespace. The recipe for a private root: mount " +
      '"none" on "/" with MS_REC|MS_PRIVATE, bind the new root onto itself, chdir into it, ' +
      'pivot_root(".", "."), then umount2(".", MNT_DETACH).',
    example: 'const pid = await drv.clone([], "CLONE_NEWNS");\n' +
      'await drv.mount([pid], "none", "/", "", ["MS_REC", "MS_PRIVATE"], "", "");\n' +
      'await drv.mount([pid], "tmpfs", "/mnt", "tmpfs", 0, "size=1m", "");\n' +
      'await drv.chdir([pid], "/mnt");\n' +
      'await drv.pivotRoot([pid], ".", ".");\n' +
      'await drv.umount2([pid], ".", "MNT_DETACH");\n' +
      'console.log(await drv.readdir([pid], "/")); // [".", ".."]',
  },
  // Namespaces.
  {
    name: "unshare",
    args: [{ name: "flags", type: "flags:clone", doc: "CLONE_NEW* names, a list, or a number" }],
    result: "ok",
    ts: "void",
    platforms: "linux",
    man: "unshare(2)",
    doc: "Moves the process into new namespaces (CLONE_NEWPID and CLONE_NEWTIME apply to " +
      "children forked afterwards).",
    example: 'const pid = await drv.fork([]);\nawait drv.unshare([pid], ["CLONE_NEWUTS"]);\n' +
      'await drv.sethostname([pid], "sandbox");',
  },
  {
    name: "setns",
    args: [
      { name: "fd", type: "i32", doc: "A descriptor of /proc/PID/ns/NAME (or a pidfd)" },
      {
        name: "nstype",
        type: "flags:clone",
        doc: "The CLONE_NEW* type the descriptor must be, or 0 for any",
      },
    ],
    result: "ok",
    ts: "void",
    platforms: "linux",
    man: "setns(2)",
    doc: "Moves the process into the namespace of a descriptor.",
    example: 'const box = await drv.clone([], "CLONE_NEWUTS");\n' +
      'await drv.sethostname([box], "sandbox");\n' +
      "const pid = await drv.fork([]);\n" +
      'const fd = await drv.open([pid], `/proc/${box}/ns/uts`, "O_RDONLY", 0);\n' +
      'await drv.setns([pid], fd, "CLONE_NEWUTS");\n' +
      "console.log(await drv.gethostname([pid])); // sandbox",
  },
  // Process.
  {
    name: "getpgrp",
    args: [],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "getpgrp(2)",
    doc: "Returns the process group of the process.",
    example: "console.log(await drv.getpgrp([]));",
  },
  {
    name: "setpgid",
    args: [
      { name: "pid", type: "i32", doc: "A process (0 for the caller)" },
      { name: "pgid", type: "i32", doc: "Its new process group (0 for its own pid)" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setpgid(2)",
    doc: "Moves a process into a process group. Every control process starts as the leader " +
      "of its own group.",
    example: "const pid = await drv.fork([]);\nconst child = await drv.fork([pid]);\n" +
      "await drv.setpgid([pid, child], 0, pid);",
  },
  {
    name: "getsid",
    args: [{ name: "pid", type: "i32", doc: "A process (0 for the caller)" }],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "getsid(2)",
    doc: "Returns the session id of a process.",
    example: "console.log(await drv.getsid([], 0));",
  },
  {
    name: "setsid",
    args: [],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "setsid(2)",
    doc: "Starts a new session and returns its id. A process group leader (every control " +
      "process, until setpgid moves it) gets EPERM.",
    example: "const pid = await drv.fork([]);\nconst child = await drv.fork([pid]);\n" +
      "await drv.setpgid([pid, child], 0, pid);\n" +
      "console.log(await drv.setsid([pid, child])); // child",
  },
  {
    name: "getpriority",
    args: [
      { name: "which", type: "const:prio", doc: "PRIO_PROCESS, PRIO_PGRP or PRIO_USER" },
      { name: "who", type: "u32", doc: "Process, group or user id (0 for the caller's)" },
    ],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "getpriority(2)",
    doc: "Returns the nice value (-20 to 19) of a process, process group or user.",
    example: 'console.log(await drv.getpriority([], "PRIO_PROCESS", 0));',
  },
  {
    name: "setpriority",
    args: [
      { name: "which", type: "const:prio", doc: "PRIO_PROCESS, PRIO_PGRP or PRIO_USER" },
      { name: "who", type: "u32", doc: "Process, group or user id (0 for the caller's)" },
      { name: "prio", type: "i32", doc: "Nice value, -20 to 19 (the kernel clamps others)" },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "setpriority(2)",
    doc: "Sets the nice value of a process, process group or user.",
    example:
      'const pid = await drv.fork([]);\nawait drv.setpriority([pid], "PRIO_PROCESS", 0, 10);',
  },
  {
    name: "fexecve",
    args: [
      { name: "fd", type: "i32", doc: "A descriptor of the program, open for reading" },
      ARGV,
      ENV,
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    noLocal: true,
    exec: true,
    man: "fexecve(3)",
    doc: "Like execve, running the program a descriptor refers to. On success the process " +
      "stops taking calls; on failure it stays a control process. Open the program with " +
      "O_CLOEXEC so that it does not inherit the descriptor (a script needs it open: leave " +
      "O_CLOEXEC off for one).",
    example: "const pid = await drv.fork([]);\n" +
      'const fd = await drv.open([pid], "/bin/echo", ["O_RDONLY", "O_CLOEXEC"], 0);\n' +
      'await drv.fexecve([pid], fd, ["echo", "hi"], []);',
  },
  {
    name: "setproctitle",
    args: [{ name: "name", type: "string", doc: "The process name (the kernel keeps 15 bytes)" }],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "prctl(2) PR_SET_NAME",
    doc: "Names the process, as ps, top and /proc/PID/comm show it. Linux has no " +
      "setproctitle(3): this sets the name with prctl(PR_SET_NAME) and leaves the argument " +
      "vector (/proc/PID/cmdline) as it is.",
    example: 'const pid = await drv.fork([]);\nawait drv.setproctitle([pid], "sandbox");',
  },
  {
    name: "capget",
    args: [],
    result: "caps",
    ts: "Capabilities",
    platforms: "linux",
    man: "capget(2)",
    doc: "Returns the capability sets of the process as 64-bit masks (bigint): bit N is " +
      "capability N, as in the CapEff/CapPrm/CapInh lines of /proc/PID/status.",
    example: "const caps = await drv.capget([]);\n" +
      "console.log((caps.effective >> 21n & 1n) === 1n); // holds CAP_SYS_ADMIN",
  },
  {
    name: "capset",
    args: [
      { name: "effective", type: "capmask", doc: "The effective set" },
      { name: "permitted", type: "capmask", doc: "The permitted set" },
      { name: "inheritable", type: "capmask", doc: "The inheritable set" },
    ],
    result: "ok",
    ts: "void",
    platforms: "linux",
    man: "capset(2)",
    doc: "Sets the capability sets of the process. Each set is a 64-bit mask (a bigint, or a " +
      "number below 2^53) or a list of capability numbers.",
    example: "const pid = await drv.fork([]);\n" +
      "await drv.capset([pid], [10], [10], []); // keep only CAP_NET_BIND_SERVICE",
  },
  // The call filter.
  {
    name: "filter",
    args: [
      {
        name: "calls",
        type: "callnames",
        doc: 'Calls this process refuses from now on ("fork" or "errnoId" / "errno_id")',
      },
      {
        name: "childCalls",
        type: "callnames",
        doc: "Calls that children forked from now on refuse, and pass on to theirs",
      },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    doc: "Adds calls to the call filter: a refused call rejects with FilteredError. The sets " +
      "only grow. A child starts with its parent's second set as both of its own.",
    example: "const pid = await drv.fork([]);\n" +
      'await drv.filter([pid], ["fork", "execve", "execvp"], ["fork"]);',
  },
  // Calls of other platforms.
  unsupported(
    "cap_enter",
    [],
    "freebsd",
    "ok",
    "void",
    "Enters Capsicum capability mode.",
    "await drv.capEnter([]).catch((e) => console.log(e.name)); // UnsupportedError on Linux",
  ),
  unsupported(
    "cap_getmode",
    [],
    "freebsd",
    "int",
    "number",
    "Returns 1 in Capsicum capability mode, else 0.",
    "await drv.capGetmode([]).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "cap_rights_limit",
    [fd, { name: "rights", type: "ints", doc: "Capsicum rights (CAP_* values)" }],
    "freebsd",
    "ok",
    "void",
    "Limits the rights of a descriptor.",
    "await drv.capRightsLimit([], 0, []).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "cap_fcntls_limit",
    [fd, { name: "fcntlrights", type: "i64", doc: "CAP_FCNTL_* mask" }],
    "freebsd",
    "ok",
    "void",
    "Limits the fcntl commands allowed on a descriptor.",
    "await drv.capFcntlsLimit([], 0, 0).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "cap_fcntls_get",
    [fd],
    "freebsd",
    "int",
    "number",
    "Returns the fcntl commands allowed on a descriptor.",
    "await drv.capFcntlsGet([], 0).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "cap_ioctls_limit",
    [fd, { name: "ioctls", type: "ints", doc: "Allowed ioctl requests" }],
    "freebsd",
    "ok",
    "void",
    "Limits the ioctl requests allowed on a descriptor.",
    "await drv.capIoctlsLimit([], 0, []).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "jail",
    [{ name: "jail", type: "bytes", doc: "A struct jail" }],
    "freebsd",
    "int",
    "number",
    "Creates a jail, puts the process in it and returns its id.",
    "await drv.jail([], new Uint8Array(0)).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "jail_attach",
    [{ name: "jid", type: "i32", doc: "A jail id" }],
    "freebsd",
    "ok",
    "void",
    "Moves the process into a jail.",
    "await drv.jailAttach([], 1).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "jail_remove",
    [{ name: "jid", type: "i32", doc: "A jail id" }],
    "freebsd",
    "ok",
    "void",
    "Removes a jail and kills its processes.",
    "await drv.jailRemove([], 1).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "procctl",
    [
      { name: "idtype", type: "i32", doc: "P_PID, P_PGID, ..." },
      { name: "id", type: "i64", doc: "The process or group id" },
      { name: "cmd", type: "i32", doc: "PROC_* command" },
      { name: "data", type: "bytes", doc: "The command's argument, read back after the call" },
    ],
    "freebsd",
    "bytes",
    "Uint8Array",
    "Controls a process (PROC_REAP_ACQUIRE, PROC_TRACE_CTL, ...) and returns the argument " +
      "as the call left it.",
    "await drv.procctl([], 0, 0, 0, new Uint8Array(4)).catch((e) => console.log(e.name));",
  ),
  unsupported(
    "pledge",
    [
      { name: "promises", type: "string?", doc: "Promises, or null to keep them" },
      { name: "execpromises", type: "string?", doc: "Promises after execve, or null" },
    ],
    "openbsd",
    "ok",
    "void",
    "Restricts the process to the system calls of a set of promises.",
    'await drv.pledge([], "stdio", null).catch((e) => console.log(e.name));',
  ),
  unsupported(
    "unveil",
    [
      { name: "path", type: "string?", doc: "A path to make visible, or null to lock" },
      { name: "permissions", type: "string?", doc: 'Any of "rwxc", or null to lock' },
    ],
    "openbsd",
    "ok",
    "void",
    "Limits the file system view of the process.",
    'await drv.unveil([], "/tmp", "rw").catch((e) => console.log(e.name));',
  ),
];
