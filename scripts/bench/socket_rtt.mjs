/**
 * A bare Unix socket round trip in the runtime that runs this file (Deno, Node.js or Bun),
 * with that runtime's own sockets (the driver's transport) and the C echo connected to it:
 * the floor below which no driver on that runtime can answer a call. Plain JavaScript, so
 * that scripts/bench/main.ts and scripts/bench/runtime_rows.mjs share it.
 *
 * @example
 * ```js
 * import { socketRoundTrip } from "./socket_rtt.mjs";
 * console.log(await socketRoundTrip("build/bench/echo", 2000), "µs");
 * ```
 * @module
 */
import { spawn as nodeSpawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

/**
 * The runtime's own Unix socket, the driver's transport, to the C echo connected to it:
 * `listen(echo, path)` starts the echo program at `echo` and resolves to
 * `{ roundTrip(msg), close() }`, where `roundTrip` writes a message and resolves once as
 * many bytes came back.
 */
export const socket = globalThis.Deno
  ? {
    name: "Deno.listen",
    async listen(echo, path) {
      const Deno = globalThis.Deno;
      const listener = Deno.listen({ transport: "unix", path });
      const child = new Deno.Command(echo, { args: [path] }).spawn();
      const conn = await listener.accept();
      const buf = new Uint8Array(65536);
      return {
        async roundTrip(msg) {
          await conn.write(msg);
          for (let got = 0; got < msg.length;) {
            const n = await conn.read(buf);
            if (n === null) throw new Error("The echo program ended early");
            got += n;
          }
        },
        async close() {
          conn.close();
          listener.close();
          await child.status;
        },
      };
    },
  }
  : globalThis.Bun
  ? {
    name: "Bun.listen",
    async listen(echo, path) {
      const echoed = counter();
      let opened;
      const open = new Promise((resolve) => (opened = resolve));
      const server = globalThis.Bun.listen({
        unix: path,
        socket: { open: (s) => opened(s), data: (_s, d) => echoed.add(d.length) },
      });
      const child = globalThis.Bun.spawn([echo, path], { stdout: "inherit", stderr: "inherit" });
      const conn = await open;
      return {
        roundTrip: (msg) => echoed.expect(msg.length, () => conn.write(msg)),
        async close() {
          conn.end();
          server.stop(true);
          await child.exited;
        },
      };
    },
  }
  : {
    name: "node:net",
    async listen(echo, path) {
      const { createServer } = await import("node:net");
      const echoed = counter();
      let connected;
      const connection = new Promise((resolve) => (connected = resolve));
      const server = createServer(connected);
      await new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, resolve);
      });
      const child = nodeSpawn(echo, [path], { stdio: "inherit" });
      const conn = await connection;
      conn.on("data", (d) => echoed.add(d.length));
      return {
        roundTrip: (msg) => echoed.expect(msg.length, () => conn.write(msg)),
        async close() {
          conn.end();
          server.close();
          await new Promise((resolve) => child.once("close", resolve));
        },
      };
    },
  };

/** Bytes that came back, and a wait for `n` of them after `send` (one message at a time). */
function counter() {
  let got = 0;
  let want = 0;
  let done = null;
  return {
    add(n) {
      got += n;
      if (done && got >= want) {
        const d = done;
        done = null;
        got -= want;
        d();
      }
    },
    expect(n, send) {
      return new Promise((resolve) => {
        want = n;
        done = resolve;
        send();
      });
    },
  };
}

/**
 * The runtime's own Unix socket round trip with the C echo at `echo` (scripts/bench/c/echo.c),
 * 32-byte messages, `calls` of them after a tenth as many to warm up: µs each.
 */
export async function socketRoundTrip(echo, calls) {
  const dir = mkdtempSync(`${tmpdir()}/alcove-echo-`);
  const conn = await socket.listen(echo, `${dir}/echo.sock`);
  const msg = new Uint8Array(32).fill(120);
  try {
    for (let k = 0; k < calls / 10; k++) await conn.roundTrip(msg);
    const t = performance.now();
    for (let k = 0; k < calls; k++) await conn.roundTrip(msg);
    return (performance.now() - t) * 1000 / calls;
  } finally {
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
