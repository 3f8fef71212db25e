/**
 * The root control process as a child of node:child_process, which both the Node.js backend
 * and, for the pipe channel, the Bun one use (Bun's own spawn keeps the program running
 * while a read of the child's stdout waits, whatever unref says). Internal.
 *
 * @module
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import type { HelperProcess } from "./_runtime_types.ts";
import { pipesLine } from "./_runtime_shared.ts";

/** How a child ended. */
export type Exit = { code: number; signal: string | null };

/** How `child` ends. */
export function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode ?? 128, signal: child.signalCode });
      return;
    }
    // "error" alone (spawn failed) is followed by no "exit": settle on either.
    child.once("error", () => resolve({ code: 127, signal: null }));
    child.once("exit", (code, signal) => resolve({ code: code ?? 128, signal: signal ?? null }));
  });
}

/** Resolves once spawned, rejects with the spawn error (ENOENT, EACCES) otherwise. */
export function spawned(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
}

/** Pull-style reads over a stream: one chunk at a time, the stream paused while
 * nobody reads (backpressure reaches the root). */
export function reader(stream: Readable): () => Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let waiter: ((v: Uint8Array | null) => void) | null = null;
  stream.on("data", (buffer: Uint8Array) => {
    // A plain Uint8Array: a Buffer's slice() is a view, and the driver slices to copy.
    const chunk = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
    if (waiter) {
      const w = waiter;
      waiter = null;
      w(chunk);
    } else {
      chunks.push(chunk);
      stream.pause();
    }
  });
  const end = () => {
    ended = true;
    // What came is in `chunks`: the stream (half open, or a socket whose peer has gone)
    // holds the program no longer.
    stream.destroy();
    if (waiter) {
      const w = waiter;
      waiter = null;
      w(null);
    }
  };
  stream.on("end", end);
  stream.on("close", end);
  stream.on("error", end);
  return () => {
    const chunk = chunks.shift();
    if (chunk) return Promise.resolve(chunk);
    if (ended) return Promise.resolve(null);
    stream.resume();
    return new Promise((resolve) => (waiter = resolve));
  };
}

/** Writes that resolve once the stream has taken the data. */
export function writer(stream: Writable): (data: Uint8Array) => Promise<void> {
  return (data) =>
    new Promise((resolve, reject) => {
      stream.write(data, (err) => (err ? reject(err) : resolve()));
    });
}

/** A signal to `child`, if it is still there. */
export function kill(child: ChildProcess, signal: "SIGKILL" | "SIGTERM"): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/** The root control process on pipes (the fallback channel): its stdin and stdout. */
export async function spawnWithPipes(
  argv: readonly string[],
  constants?: string,
): Promise<HelperProcess> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const exited = exitOf(child);
  await spawned(child);
  const stdin = child.stdin!;
  stdin.on("error", () => {});
  stdin.write(pipesLine(constants));
  return helper(child, exited, child.stdout!, stdin, "", () => stdin.end());
}

/** The channel to a root control process spawned with node:child_process, over `input`
 * and `output` (its pipes, or its socket). */
export function helper(
  child: ChildProcess,
  exited: Promise<Exit>,
  input: Readable,
  output: Writable,
  token: string,
  end: () => void,
): HelperProcess {
  let inputClosed = false;
  const handles = [child, input as Partial<Socket>];
  return {
    pid: child.pid!,
    token,
    write: writer(output),
    read: reader(input),
    closeInput() {
      if (!inputClosed) {
        inputClosed = true;
        end();
      }
      return Promise.resolve();
    },
    kill: (signal) => kill(child, signal),
    // The input is closed at its end, once everything the root sent has been read: its
    // exit may be learnt first.
    exited,
    unref: () => handles.forEach((h) => h.unref?.()),
    ref: () => handles.forEach((h) => h.ref?.()),
  };
}
