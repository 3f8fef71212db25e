/**
 * The demo: runs an untrusted-looking command in a sandbox made by one `spawn` request and
 * shows what the program sees. Every namespace (a user namespace makes it work without root,
 * where the system allows user namespaces), uid 65534, a new root with the host's programs
 * read-only, fresh /proc, /dev and /tmp, rlimits, no capabilities, the default seccomp
 * profile, a 5 s wall-clock limit. The output streams as it comes.
 *
 * @example
 * ```sh
 * deno task demo
 * ```
 * @module
 */
import { Alcove, type Mount, SetupError } from "../mod.ts";

const SCRIPT = [
  "id",
  "hostname",
  "echo pid $$",
  "echo rlimit nofile $(ulimit -n)",
  "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status",
  "ls /",
  "echo hi > /tmp/ok && echo /tmp is writable",
  "(echo x > /usr/x) 2>&1 | sed 's/^/writing \\/usr: /'",
  "unshare -U true 2>&1 | sed 's/^/unshare: /'",
].join("; ");

const system: Mount[] = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc"].map((p) => ({
  type: "ro-bind-try",
  source: p,
  target: p,
}));

function step(what: string): void {
  console.log(`\x1b[2m# ${what}\x1b[0m`);
}

await using drv = await Alcove.start();
step(`root control process: pid ${drv.pid}`);
let p;
try {
  p = await drv.spawn(["sh", "-c", SCRIPT], {
    namespaces: "all",
    uid: 65534,
    gid: 65534,
    hostname: "alcove-demo",
    mounts: [
      ...system,
      { type: "proc", target: "/proc" },
      { type: "dev", target: "/dev" },
      { type: "tmpfs", target: "/tmp", size: 16 << 20 },
    ],
    env: { PATH: "/usr/bin:/bin", HOME: "/tmp" },
    rlimits: { NOFILE: 64, NPROC: 64, FSIZE: 1 << 20 },
    seccomp: "default",
    timeout: 5000,
    maxOutput: 1 << 20,
  });
} catch (e) {
  if (e instanceof SetupError) {
    console.error(`The sandbox could not be made: ${e.message}`);
    Deno.exit(1);
  }
  throw e;
}
step(
  `spawn(["sh", "-c", ...], { namespaces: "all", uid: 65534, mounts, seccomp, ... }) -> pid ${p.pid}`,
);
const decoder = new TextDecoder();
const show = async (stream: ReadableStream<Uint8Array>, tag: string) => {
  for await (const chunk of stream) {
    for (const line of decoder.decode(chunk).split("\n")) if (line) console.log(`${tag} | ${line}`);
  }
};
await Promise.all([show(p.stdout, "out"), show(p.stderr, "err")]);
const status = await p.status;
step(
  `${status.reason === "exit" ? `exited with status ${status.code}` : status.reason}` +
    ` in ${status.usage.wallMs.toFixed(1)} ms (user ${status.usage.userMs.toFixed(1)} ms, ` +
    `system ${status.usage.systemMs.toFixed(1)} ms, peak RSS ${status.usage.maxRssKb} KiB)`,
);
