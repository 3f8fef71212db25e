/**
 * Calls of the call list (see scripts/call_list.ts): calls whose arguments may be structs with pointers (cstructs): prctl, ioctl, ptrace, connect, alloc and friends.
 * Append new calls at the end: positions are call numbers.
 *
 * @module
 */
import type { CallSpec } from "./_types.ts";

/** The calls of this group, in call-number order. */
export const STRUCT_CALLS: readonly CallSpec[] = [
  {
    name: "prctl",
    args: [
      { name: "option", type: "const:prctl", doc: "PR_* name or number" },
      {
        name: "arg2",
        type: "any:prctl",
        doc: "A number or prctl constant name (by value), bytes or a cstruct (by pointer, " +
          "read back), or null",
      },
      { name: "arg3", type: "any:prctl", doc: "Like arg2" },
      { name: "arg4", type: "any:prctl", doc: "Like arg2" },
      { name: "arg5", type: "any:prctl", doc: "Like arg2" },
    ],
    result: "fields:ret,arg2,arg3,arg4,arg5",
    ts: "PrctlResult",
    platforms: "linux",
    man: "prctl(2)",
    doc: "Operates on the process: names, securebits, capabilities, no_new_privs, seccomp, " +
      "death signal, ... Returns prctl's value and arg2..arg5 after the call: numbers as " +
      "passed, bytes and cstructs with what the kernel wrote.",
    example: 'await drv.prctl([], "PR_SET_NAME", new TextEncoder().encode("worker"), 0, 0, 0);\n' +
      'const { arg2 } = await drv.prctl([], "PR_GET_NAME", new Uint8Array(16), 0, 0, 0);\n' +
      "console.log(arg2); // the name, NUL-padded to 16 bytes",
    localExample: 'local.prctl("PR_SET_NAME", new TextEncoder().encode("worker"), 0, 0, 0);\n' +
      'const { arg2 } = local.prctl("PR_GET_NAME", new Uint8Array(16), 0, 0, 0);\n' +
      "console.log(arg2); // this process's name, NUL-padded to 16 bytes",
  },
  {
    name: "ioctl",
    args: [
      { name: "fd", type: "i32", doc: "A file descriptor of the process" },
      {
        name: "request",
        type: "const:ioctl",
        doc: "Request name (FIONREAD, TUNSETIFF, ...) or number",
      },
      {
        name: "arg",
        type: "any:ioctl",
        doc: "A number (by value), bytes or a cstruct (by pointer, read back), or null",
      },
    ],
    result: "fields:ret,arg",
    ts: "IoctlResult",
    platforms: "all",
    man: "ioctl(2)",
    doc: "Controls a device. Returns ioctl's value and the argument after the call.",
    example: "// FIONREAD: bytes waiting to be read on stdin\n" +
      'const { arg } = await drv.ioctl([], 0, "FIONREAD", new Uint8Array(4));',
    localExample: "// FIONREAD: bytes waiting to be read on this process's stdin\n" +
      'const { arg } = local.ioctl(0, "FIONREAD", new Uint8Array(4));',
  },
  {
    name: "ptrace",
    args: [
      { name: "request", type: "const:ptrace", doc: "PTRACE_* name or number" },
      { name: "pid", type: "i32", doc: "The traced process (0 for PTRACE_TRACEME)" },
      {
        name: "addr",
        type: "any:ptrace",
        doc: "A number (by value), bytes or a cstruct (by pointer, read back), or null",
      },
      { name: "data", type: "any:ptrace", doc: "Like addr" },
    ],
    result: "fields:ret,addr,data",
    ts: "PtraceResult",
    platforms: "linux",
    man: "ptrace(2)",
    doc: "Traces a process. Returns ptrace's value (the word read, for the PEEK requests) and " +
      "addr and data after the call.",
    example: "const pid = await drv.fork([]);\n" +
      'await drv.ptrace([pid], "PTRACE_TRACEME", 0, 0, 0);',
  },
  {
    name: "socket",
    args: [
      { name: "domain", type: "const:socket", doc: "AF_* name or number" },
      {
        name: "type",
        type: "flags:socket",
        doc: "SOCK_* type, optionally with SOCK_CLOEXEC or SOCK_NONBLOCK (names or a number)",
      },
      {
        name: "protocol",
        type: "const:socket",
        doc: "Protocol (IPPROTO_* name or number; 0 default)",
      },
    ],
    result: "int",
    ts: "number",
    platforms: "all",
    man: "socket(2)",
    doc: "Creates a socket and returns its descriptor.",
    example: 'const fd = await drv.socket([], "AF_UNIX", ["SOCK_STREAM", "SOCK_CLOEXEC"], 0);',
    localExample: 'const fd = local.socket("AF_UNIX", ["SOCK_STREAM", "SOCK_CLOEXEC"], 0);\n' +
      "local.close(fd);",
  },
  {
    name: "connect",
    args: [
      { name: "fd", type: "i32", doc: "A socket of the process" },
      {
        name: "address",
        type: "sockaddr",
        doc: "The address: bytes (e.g. `sockaddrUn(path)`) or a cstruct; null for an " +
          "AF_UNSPEC address, which dissolves a connected socket's association",
      },
    ],
    result: "ok",
    ts: "void",
    platforms: "all",
    man: "connect(2)",
    doc: "Connects a socket to an address.",
    example: "// sockaddr_un for /run/app.sock: AF_UNIX (1) in native order, the path, a NUL\n" +
      'const path = new TextEncoder().encode("/run/app.sock");\n' +
      "const address = new Uint8Array([1, 0, ...path, 0]);\n" +
      'const fd = await drv.socket([], "AF_UNIX", "SOCK_STREAM", 0);\n' +
      "await drv.connect([], fd, address).catch((e) => console.log(e.code)); // ENOENT",
  },
  {
    name: "alloc",
    args: [
      { name: "cstruct", type: "cstruct", doc: "The segments to lay out" },
    ],
    result: "fields:bytes,cstruct",
    ts: "AllocResult",
    platforms: "all",
    doc: "Lays a cstruct out in the process's memory as a call would, and returns the " +
      "struct's bytes (pointer segments hold addresses of that process) and the read-back. " +
      "Makes no system call: it shows what a call would receive.",
    example: 'const text = new TextEncoder().encode("stuff");\n' +
      "const { bytes, cstruct } = await drv.alloc([], [{ ptr: 6 }, { ptr: text }]);\n" +
      "console.log(bytes.length, cstruct); // 16 [{ ptr: Uint8Array(6) }, { ptr: <stuff> }]",
    localExample: 'const text = new TextEncoder().encode("stuff");\n' +
      "const { bytes, cstruct } = local.alloc([{ ptr: 6 }, { ptr: text }]);\n" +
      "console.log(bytes.length, cstruct); // 16 [{ ptr: Uint8Array(6) }, { ptr: <stuff> }]",
  },
  {
    name: "seccomp",
    args: [
      {
        name: "operation",
        type: "const:seccomp",
        doc: "SECCOMP_SET_MODE_FILTER, SECCOMP_SET_MODE_STRICT, SECCOMP_GET_ACTION_AVAIL, ...",
      },
      {
        name: "flags",
        type: "flags:seccomp",
        doc: "SECCOMP_FILTER_FLAG_* names (TSYNC, LOG, ...), a list, or a number",
      },
      {
        name: "prog",
        type: "any:seccomp",
        doc: "The operation's argument: the filter as a `sockFprog(program)` cstruct, bytes, " +
          "a number, or null",
      },
    ],
    result: "int",
    ts: "number",
    platforms: "linux",
    man: "seccomp(2)",
    doc: "Sets the seccomp mode of the process (after prctl PR_SET_NO_NEW_PRIVS, or with " +
      "CAP_SYS_ADMIN). Returns the system call's value: 0, a listener descriptor, or with " +
      "SECCOMP_FILTER_FLAG_TSYNC the id of a thread that could not be synchronized.",
    example: "// One instruction: BPF_RET|BPF_K SECCOMP_RET_ALLOW (allow everything)\n" +
      "const ret = new Uint8Array(8);\n" +
      "new DataView(ret.buffer).setUint16(0, 0x06, true);\n" +
      "new DataView(ret.buffer).setUint32(4, 0x7fff0000, true);\n" +
      "const header = new Uint8Array(8);\n" +
      "new DataView(header.buffer).setUint16(0, 1, true);\n" +
      "const pid = await drv.fork([]);\n" +
      'await drv.prctl([pid], "PR_SET_NO_NEW_PRIVS", 1, 0, 0, 0);\n' +
      'await drv.seccomp([pid], "SECCOMP_SET_MODE_FILTER", 0, [header, { ptr: ret }]);',
  },
];
