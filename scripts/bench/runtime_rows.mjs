/**
 * The control-plane rows measured under the runtime that runs this file (Deno, Node.js or
 * Bun), with that runtime's own way to run a program as the peer (also the peer of a
 * driver's start: start, getpid and stop, not the first start in the process). Plain JavaScript so that
 * all three run the same file: the module under test is imported from the path given
 * (the sources under Deno, the npm build under Node.js and Bun). Prints one JSON line per
 * repetition; scripts/bench/runtimes.ts runs it under each runtime and prints the table.
 *
 * @example
 * ```sh
 * node scripts/bench/runtime_rows.mjs "$PWD/npm/mod.js" 5 quick
 * deno run -A scripts/bench/runtime_rows.mjs "$PWD/mod.ts" 5
 * ```
 * @module
 */
import { spawn as nodeSpawn } from "node:child_process";
import { socket, socketRoundTrip } from "./socket_rtt.mjs";

const args = globalThis.Deno ? globalThis.Deno.args : globalThis.process.argv.slice(2);
const [modulePath, repsText, mode] = args;
const reps = Number(repsText ?? 5);
const quick = mode === "quick";
const RTT_CALLS = quick ? 500 : 2000;
const BURST_MS = quick ? 250 : 700;
const SPAWNS = quick ? 40 : 200;
const STARTS = quick ? 10 : 30;
const BYTES = (quick ? 32 : 256) * 1024 * 1024;
const INFLIGHT = 1000;

const { Alcove } = await import(modulePath);
const now = () => performance.now();

/** The runtime's own way to run a program to its exit, stdout and stderr on pipes. */
const peer = globalThis.Deno
  ? {
    name: "Deno.Command",
    async runTrue() {
      const out = await new globalThis.Deno.Command("/bin/true").output();
      if (!out.success) throw new Error(`Deno.Command /bin/true exited with ${out.code}`);
    },
    async read(argv) {
      const child = new globalThis.Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped" })
        .spawn();
      let got = 0;
      for await (const chunk of child.stdout) got += chunk.length;
      await child.status;
      return got;
    },
  }
  : globalThis.Bun
  ? {
    name: "Bun.spawn",
    async runTrue() {
      const child = globalThis.Bun.spawn(["/bin/true"], { stdout: "pipe", stderr: "pipe" });
      await new Response(child.stdout).arrayBuffer();
      if (await child.exited !== 0) throw new Error("Bun.spawn /bin/true failed");
    },
    async read(argv) {
      const child = globalThis.Bun.spawn(argv, { stdout: "pipe" });
      let got = 0;
      for await (const chunk of child.stdout) got += chunk.length;
      await child.exited;
      return got;
    },
  }
  : {
    name: "child_process.spawn",
    runTrue: () => nodeTrue(),
    async read(argv) {
      const child = nodeSpawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
      let got = 0;
      for await (const chunk of child.stdout) got += chunk.length;
      await new Promise((resolve) => child.once("close", resolve));
      return got;
    },
  };

/** child_process.spawn of /bin/true with stdout and stderr on pipes, to its close. */
function nodeTrue() {
  return new Promise((resolve, reject) => {
    const child = nodeSpawn("/bin/true", [], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.resume();
    child.stderr.resume();
    child.once("error", reject);
    child.once("close", (code) => code === 0 ? resolve() : reject(new Error(`exit ${code}`)));
  });
}

/** The C echo of scripts/bench/c (built there by runtimes.ts). */
const ECHO = new URL("../../build/bench/echo", import.meta.url).pathname;

async function rtt(drv) {
  for (let k = 0; k < RTT_CALLS / 10; k++) await drv.getpid([]);
  const t = now();
  for (let k = 0; k < RTT_CALLS; k++) await drv.getpid([]);
  return (now() - t) * 1000 / RTT_CALLS;
}

async function burst(drv) {
  const once = () => Promise.all(Array.from({ length: INFLIGHT }, () => drv.getpid([])));
  await once();
  let calls = 0;
  const t = now();
  while (now() - t < BURST_MS) {
    await once();
    calls += INFLIGHT;
  }
  return calls / ((now() - t) / 1000);
}

async function perProgram(run) {
  await run();
  const t = now();
  for (let k = 0; k < SPAWNS; k++) await run();
  return (now() - t) * 1000 / SPAWNS;
}

/** A driver started, asked its root's pid and stopped, after a first one: µs each. */
async function startGetpidStop() {
  const once = async () => {
    const d = await Alcove.start();
    await d.getpid([]);
    await d.stop();
  };
  await once();
  const t = now();
  for (let k = 0; k < STARTS; k++) await once();
  return (now() - t) * 1000 / STARTS;
}

async function spawnTrue(drv) {
  const p = await drv.spawn(["/bin/true"]);
  const status = await p.status;
  if (!status.success) throw new Error(`spawn /bin/true: ${JSON.stringify(status)}`);
}

const HEAD = ["head", "-c", String(BYTES), "/dev/zero"];

async function driverStdout(drv) {
  const t = now();
  const pid = await drv.fork([]);
  await drv.execvp([pid], "head", HEAD);
  let got = 0;
  for (;;) {
    const chunk = await drv.stdout([pid]);
    if (chunk === null) break;
    got += chunk.length;
  }
  await drv.event([pid]);
  if (got !== BYTES) throw new Error(`stdout through the driver: ${got} bytes`);
  return BYTES / 1000 / (now() - t);
}

async function peerStdout() {
  const t = now();
  const got = await peer.read(HEAD);
  if (got !== BYTES) throw new Error(`stdout through ${peer.name}: ${got} bytes`);
  return BYTES / 1000 / (now() - t);
}

const drv = await Alcove.start();
try {
  for (let rep = 0; rep < reps; rep++) {
    const row = {
      peer: peer.name,
      rtt: await rtt(drv),
      socket: socket.name,
      socketRtt: await socketRoundTrip(ECHO, RTT_CALLS),
      burst: await burst(drv),
      spawn: await perProgram(() => spawnTrue(drv)),
      peerSpawn: await perProgram(() => peer.runTrue()),
      childProcessSpawn: await perProgram(nodeTrue),
      start: await startGetpidStop(),
      stdout: await driverStdout(drv),
      peerStdout: await peerStdout(),
    };
    console.log(JSON.stringify(row));
  }
} finally {
  await drv.stop();
}
