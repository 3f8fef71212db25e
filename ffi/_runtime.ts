/**
 * The runtime seam: everything that differs between Deno, Node.js and Bun. A
 * backend per runtime (`_runtime_deno.ts`, `_runtime_node.ts`, `_runtime_bun.ts`)
 * starts the root control process, moves bytes to and from it, reads the
 * environment and the file system, and loads libalcove.so for the calls in the
 * host process; this module picks one when it is first loaded. Nothing else in
 * the library names a runtime. Internal.
 *
 * The control channel is a Unix socket the host listens on, in the temporary folder
 * with an unguessable name (`socketPathIn`); the root learns the name and a token from a first line
 * (see `lineInEnvironment` in `_runtime_shared.ts`: the environment variable
 * ALCOVE_CHANNEL when it runs as this user, else the first line of its stdin, which
 * passes through any command prefix, unlike the environment under sudo), connects,
 * and sends the token back first. A socket round trip costs about half of one
 * through the runtime's pipe streams. Where a socket cannot be made, the root's
 * stdin and stdout serve instead, after a first line that says so. A missing
 * permission is never a reason for that fallback: the runtime's own error goes to
 * the caller.
 *
 * The root gets this process's stdout and stderr (where programs spawned with stdio
 * "inherit" write). With `inheritStdio` (the command line's case) it gets its stdin too,
 * so that such programs get the real terminal; the line then always comes in the
 * environment, and there is no pipe fallback.
 *
 * @module
 */
import type { Backend, HelperOptions, HelperProcess, ProcessSeam } from "./_runtime_types.ts";
/** Thrown when the library runs where no backend fits. */
export class UnsupportedRuntimeError extends Error {
  /** @param what What was attempted. */
  constructor(what: string) {
    super(
      `Cannot ${what}: this runtime is not supported (alcove runs on Deno, Node.js >= 20 and Bun)`,
    );
    this.name = "UnsupportedRuntimeError";
  }
}

/** A backend for a runtime that has none: every use says so. */
function unsupported(): Backend {
  return {
    name: "unknown",
    env: () => {
      throw new UnsupportedRuntimeError("read the environment");
    },
    setEnv: () => {
      throw new UnsupportedRuntimeError("change the environment");
    },
    isFile: () => {
      throw new UnsupportedRuntimeError("look for the native files");
    },
    readFile: () => {
      throw new UnsupportedRuntimeError("read the native files");
    },
    writeExecutable: () => {
      throw new UnsupportedRuntimeError("write the native files");
    },
    arch: () => {
      throw new UnsupportedRuntimeError("tell the architecture");
    },
    spawnHelper: () => Promise.reject(new UnsupportedRuntimeError("start a control process")),
    openLibrary: () => {
      throw new UnsupportedRuntimeError("load libalcove.so");
    },
    process: new Proxy({} as ProcessSeam, {
      get: () => () => {
        throw new UnsupportedRuntimeError("run the command line");
      },
    }),
  };
}

/** Which runtime this is: Bun and Deno each have a global of their own name; Node.js has
 * process.versions.node (which the other two also set, so it is asked last). */
export function runtimeName(): "deno" | "bun" | "node" | "unknown" {
  const g = globalThis as Record<string, unknown> & {
    process?: { versions?: { node?: string } };
  };
  if (typeof g.Bun === "object" && g.Bun !== null) return "bun";
  const deno = g["Deno"] as { version?: { deno?: string } } | undefined;
  if (typeof deno?.version?.deno === "string") return "deno";
  if (typeof g.process?.versions?.node === "string") return "node";
  return "unknown";
}

async function load(): Promise<Backend> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./_runtime_deno.ts")).backend;
    case "bun":
      return (await import("./_runtime_bun.ts")).backend;
    case "node":
      return (await import("./_runtime_node.ts")).backend;
    default:
      return unsupported();
  }
}

/** The backend of the running runtime. */
export const runtime: Backend = await load();

/** Spawns the root control process (see {@linkcode Backend.spawnHelper}). */
export function spawnHelper(
  argv: readonly string[],
  timeout: number,
  options: HelperOptions = {},
): Promise<HelperProcess> {
  return runtime.spawnHelper(argv, timeout, options);
}
