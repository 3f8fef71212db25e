/**
 * The demo: runs a real confined command and shows what happened. From the
 * root control process it forks a child, clones that child's own child into
 * new pid, uts, ipc, net and mount namespaces, sets rlimits, a host name, drops
 * to uid/gid 65534 and execs a shell that reports what it sees, streaming its
 * output as it comes.
 *
 * @example
 * ```sh
 * deno task demo
 * ```
 * @module
 */
import { Alcove, SystemCallError } from "../mod.ts";

const SCRIPT = "id; hostname; echo pid $$; ulimit -n; ls /proc/self/fd";
const decoder = new TextDecoder();

function step(what: string): void {
  console.log(`\x1b[2m# ${what}\x1b[0m`);
}

async function pump(drv: Alcove, pipeline: number[], stream: "stdout" | "stderr") {
  for (;;) {
    const chunk = await drv[stream](pipeline);
    if (chunk === null) return;
    for (const line of decoder.decode(chunk).split("\n")) {
      if (line) console.log(`${stream === "stdout" ? "out" : "err"} | ${line}`);
    }
  }
}

await using drv = await Alcove.start();
step(`root control process: pid ${drv.pid}`);

const parent = await drv.fork([]);
step(`fork([]) -> ${parent}`);

let child: number;
try {
  child = await drv.clone([parent], [
    "CLONE_NEWPID",
    "CLONE_NEWUTS",
    "CLONE_NEWIPC",
    "CLONE_NEWNET",
    "CLONE_NEWNS",
  ]);
} catch (e) {
  if (e instanceof SystemCallError && e.code === "EPERM") {
    console.error(
      "Cannot create namespaces: clone(CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET|" +
        "CLONE_NEWNS) needs CAP_SYS_ADMIN. Run the demo as root (e.g. sudo -E npx --yes " +
        "deno@2.9.6 task demo).",
    );
    Deno.exit(1);
  }
  throw e;
}
const pipeline = [parent, child];
step(`clone([${parent}], NEWPID|NEWUTS|NEWIPC|NEWNET|NEWNS) -> ${child}`);
step(`inside, getpid() -> ${await drv.getpid(pipeline)}`);

await drv.setrlimit(pipeline, "RLIMIT_NOFILE", { cur: 64, max: 64 });
await drv.setrlimit(pipeline, "RLIMIT_NPROC", { cur: 16, max: 16 });
await drv.setrlimit(pipeline, "RLIMIT_FSIZE", { cur: 1 << 20, max: 1 << 20 });
step("setrlimit NOFILE=64 NPROC=16 FSIZE=1MiB");
await drv.sethostname(pipeline, "alcove-demo");
step('sethostname("alcove-demo")');
await drv.setgroups(pipeline, []);
await drv.setgid(pipeline, 65534);
await drv.setuid(pipeline, 65534);
step("setgroups([]), setgid(65534), setuid(65534)");

await drv.execvp(pipeline, "/bin/sh", ["/bin/sh", "-c", SCRIPT]);
step(`execvp("/bin/sh", ["-c", ${JSON.stringify(SCRIPT)}])`);

await Promise.all([pump(drv, pipeline, "stdout"), pump(drv, pipeline, "stderr")]);
const event = await drv.event(pipeline);
step(
  event?.type === "exit"
    ? `exited with status ${event.status}`
    : event?.type === "termsig"
    ? `killed by ${event.signal}`
    : `ended: ${JSON.stringify(event)}`,
);
