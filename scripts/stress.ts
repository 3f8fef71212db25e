/**
 * Stress: the control processes and the driver under load and abuse, each run asserting that
 * descriptors and memory of the control processes and the host stay bounded and that nothing
 * is left behind. `deno task stress` runs the full sizes; tests/stress_test.ts runs the short
 * form of each in the test suite.
 *
 * @example
 * ```sh
 * deno run -A scripts/stress.ts            # full sizes (1M calls, 1000 children, ...)
 * deno run -A scripts/stress.ts --short    # the test suite's sizes
 * ```
 * @module
 */
import { Alcove } from "../mod.ts";

/** How big each scenario is. */
export interface StressSizes {
  /** Calls in total, and how many in flight at once. */
  calls: number;
  inFlight: number;
  /** Children alive at once. */
  liveChildren: number;
  /** fork + exec + exit cycles. */
  cycles: number;
  /** Children of a host that is killed with SIGKILL. */
  hostChildren: number;
  /** Control processes started under a tight RLIMIT_AS, one after another. */
  tightMemory: number;
}

/** The full sizes. */
export const FULL: StressSizes = {
  calls: 1_000_000,
  inFlight: 1000,
  liveChildren: 1000,
  cycles: 5000,
  hostChildren: 100,
  tightMemory: 8,
};

/** The sizes of the test suite's short form. */
export const SHORT: StressSizes = {
  calls: 20_000,
  inFlight: 200,
  liveChildren: 100,
  cycles: 200,
  hostChildren: 20,
  // Enough rounds that their children's descriptors pass a bound that does not scale with them.
  tightMemory: 6,
};

function fail(message: string): never {
  throw new Error(message);
}

function check(ok: boolean, message: string): void {
  if (!ok) fail(message);
}

/** Descriptors held by a process. */
export function fdCount(pid: number | "self"): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

/** Resident memory of a process, in KiB. */
export function rssKiB(pid: number | "self"): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]);
}

/** Every live descendant of `pid`. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e.name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function gone(pids: number[], what: string): Promise<void> {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    if (!pids.some(alive)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(`${what}: left behind ${pids.filter(alive).join(", ")}`);
}

/** What one scenario measured. */
export interface StressResult {
  name: string;
  ms: number;
  /** Highest descriptors and RSS (KiB) seen in the root control process and the host. */
  rootFds: number;
  rootRssKiB: number;
  hostRssKiB: number;
}

/**
 * Runs `body` on a fresh driver, sampling the root control process and the host, then stops the
 * driver and checks that no process of the tree is left. Bounds: descriptors of the root, RSS of
 * the root and growth of the host's RSS.
 */
async function scenario(
  name: string,
  bounds: { rootFds: number; rootRssKiB: number; hostGrowthKiB: number },
  body: (drv: Alcove, root: number) => Promise<void>,
): Promise<StressResult> {
  const started = performance.now();
  const hostBefore = rssKiB("self");
  const drv = await Alcove.start();
  const root = await drv.getpid([]);
  const result = { name, ms: 0, rootFds: 0, rootRssKiB: 0, hostRssKiB: 0 };
  const sample = () => {
    try {
      result.rootFds = Math.max(result.rootFds, fdCount(root));
      result.rootRssKiB = Math.max(result.rootRssKiB, rssKiB(root));
    } catch {
      // the root is gone (a scenario may end it)
    }
    result.hostRssKiB = Math.max(result.hostRssKiB, rssKiB("self"));
  };
  const timer = setInterval(sample, 50);
  let tree: number[] = [];
  try {
    await body(drv, root);
    sample();
    tree = [root, ...descendants(root)];
  } finally {
    clearInterval(timer);
    await drv.stop();
  }
  await gone(tree, name);
  result.ms = Math.round(performance.now() - started);
  check(result.rootFds <= bounds.rootFds, `${name}: root held ${result.rootFds} descriptors`);
  check(result.rootRssKiB <= bounds.rootRssKiB, `${name}: root RSS ${result.rootRssKiB} KiB`);
  const growth = result.hostRssKiB - hostBefore;
  check(growth <= bounds.hostGrowthKiB, `${name}: host RSS grew by ${growth} KiB`);
  return result;
}

/** Runs every scenario at the given sizes; throws at the first bound broken. */
export async function stress(
  sizes: StressSizes,
  log: (r: StressResult) => void = () => {},
): Promise<StressResult[]> {
  const results: StressResult[] = [];
  const run = async (r: Promise<StressResult>) => {
    const done = await r;
    log(done);
    results.push(done);
  };

  await run(scenario(
    `${sizes.calls} calls, ${sizes.inFlight} in flight`,
    { rootFds: 16, rootRssKiB: 32 * 1024, hostGrowthKiB: 256 * 1024 },
    async (drv) => {
      const p = await drv.fork([]);
      let next = 0;
      const worker = async () => {
        while (next < sizes.calls) {
          next++;
          const pid = await drv.getpid([p]);
          if (pid !== p) fail(`getpid answered ${pid}, not ${p}`);
        }
      };
      await Promise.all(Array.from({ length: sizes.inFlight }, worker));
    },
  ));

  await run(scenario(
    `${sizes.liveChildren} live children`,
    { rootFds: 16 + 5 * sizes.liveChildren, rootRssKiB: 64 * 1024, hostGrowthKiB: 256 * 1024 },
    async (drv) => {
      await drv.setopt([], "maxchild", sizes.liveChildren);
      const kids: number[] = [];
      for (let i = 0; i < sizes.liveChildren; i += 50) {
        const n = Math.min(50, sizes.liveChildren - i);
        kids.push(...await Promise.all(Array.from({ length: n }, () => drv.fork([]))));
      }
      const pids = await Promise.all(kids.map((k) => drv.getpid([k])));
      check(pids.every((p, i) => p === kids[i]), "a child answered for another");
      check((await drv.cpid([])).length === sizes.liveChildren, "cpid lost children");
    },
  ));

  await run(scenario(
    `${sizes.cycles} fork + exec + exit cycles`,
    { rootFds: 16 + 5 * 8 + 10, rootRssKiB: 32 * 1024, hostGrowthKiB: 256 * 1024 },
    async (drv) => {
      let next = 0;
      const worker = async () => {
        while (next < sizes.cycles) {
          next++;
          const p = await drv.fork([]);
          await drv.execvp([p], "/bin/true", ["true"]);
          const ev = await drv.event([p], { timeout: 10000 });
          if (ev?.type !== "exit") fail(`cycle ended with ${JSON.stringify(ev)}`);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      check((await drv.cpid([])).length === 0, "children left in cpid");
    },
  ));

  await run(scenario(
    "kill -9 of the middle of a 3-deep pipeline with calls in flight",
    { rootFds: 32, rootRssKiB: 32 * 1024, hostGrowthKiB: 128 * 1024 },
    async (drv) => {
      const a = await drv.fork([]);
      const b = await drv.fork([a]);
      const c = await drv.fork([a, b]);
      const calls = Array.from(
        { length: 500 },
        (_, i) =>
          (i % 2 ? drv.getpid([a, b, c]) : drv.getcwd([a, b])).then(() => "done", (e) => e.name),
      );
      await drv.kill([], b, "SIGKILL");
      const results = await Promise.all(calls);
      check(
        results.every((r) => ["done", "ProcessExitedError", "PipelineError"].includes(r)),
        `unexpected results: ${[...new Set(results)]}`,
      );
      await gone([b, c], "the killed middle and its child");
      check((await drv.getpid([a])) === a, "the first process stopped answering");
    },
  ));

  await run(scenario(
    "SIGSTOP with timeouts, then SIGCONT",
    { rootFds: 32, rootRssKiB: 96 * 1024, hostGrowthKiB: 512 * 1024 },
    async (drv) => {
      const p = await drv.fork([]);
      const fd = await drv.open([p], "/dev/null", "O_WRONLY", 0);
      Deno.kill(p, "SIGSTOP");
      const data = new Uint8Array(1 << 20);
      const results = await Promise.all(Array.from(
        { length: 128 },
        () => drv.write([p], fd, data, { timeout: 200 }).then(() => "done", (e) => e.name),
      ));
      check(results.every((r) => r !== "done"), "a call to a stopped process completed");
      Deno.kill(p, "SIGCONT");
      // Calls to it are refused (ENOBUFS) until it has taken some of its queue again.
      let answer: unknown;
      for (let i = 0; i < 100; i++) {
        answer = await drv.getpid([p], { timeout: 10000 }).catch((e) => e.code ?? e.name);
        if (answer !== "ENOBUFS") break;
        await new Promise((r) => setTimeout(r, 100));
      }
      check(answer === p, `no answer after SIGCONT: ${answer}`);
    },
  ));

  await run(scenario(
    "a fork bomb under RLIMIT_NPROC",
    { rootFds: 32, rootRssKiB: 32 * 1024, hostGrowthKiB: 128 * 1024 },
    async (drv) => {
      const p = await drv.fork([]);
      await drv.setrlimit([p], "RLIMIT_NPROC", { cur: 16, max: 16 });
      await drv.setgid([p], 65534);
      await drv.setuid([p], 65534);
      await drv.execvp([p], "/bin/sh", ["sh", "-c", "b() { b | b & }; b; sleep 1"]);
      await new Promise((r) => setTimeout(r, 300));
      // RLIMIT_NPROC counts every process of uid 65534, those of tests running beside this
      // one too: with the budget taken, the shell cannot fork and ends at once (ESRCH here).
      await drv.kill([], p, "SIGKILL").catch((e) => {
        if (e.code !== "ESRCH") throw e;
      });
      await drv.event([p], { timeout: 10000 });
    },
  ));

  await run(scenario(
    "control processes under a tight RLIMIT_AS",
    // Each round's child stays: the root holds its five descriptors (control pipes, stdio).
    { rootFds: 16 + 5 * sizes.tightMemory, rootRssKiB: 96 * 1024, hostGrowthKiB: 256 * 1024 },
    async (drv) => {
      for (let i = 0; i < sizes.tightMemory; i++) {
        const p = await drv.fork([]);
        const fd = await drv.open([p], "/dev/null", "O_WRONLY", 0);
        // 8 MiB above what it has mapped (a sanitizer build maps far more than a plain one).
        const status = Deno.readTextFileSync(`/proc/${p}/status`);
        const limit = Number(/VmSize:\s+(\d+)/.exec(status)![1]) * 1024 + (8 << 20);
        await drv.setrlimit([p], "RLIMIT_AS", { cur: limit, max: limit });
        const big = await drv.write([p], fd, new Uint8Array(16 << 20)).then(
          () => "done",
          (e) => e.code ?? e.name,
        );
        check(big === "ENOMEM" || big === "done", `a large write failed with ${big}`);
        const kids = await Promise.all(
          Array.from({ length: 8 }, () => drv.fork([p]).then(() => "ok", (e) => e.code)),
        );
        check(kids.every((k) => k === "ok" || k === "ENOMEM" || k === "EAGAIN"), `${kids}`);
        check((await drv.getpid([p])) === p, "a control process under RLIMIT_AS stopped answering");
      }
    },
  ));

  // The host itself killed with SIGKILL: a program that starts a driver and forks children.
  {
    const started = performance.now();
    const script = `
      import { Alcove } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
      const drv = await Alcove.start();
      await drv.setopt([], "maxchild", ${sizes.hostChildren});
      const kids = await Promise.all(Array.from({ length: ${sizes.hostChildren} }, () => drv.fork([])));
      for (const k of kids.slice(0, 10)) await drv.execvp([k], "sleep", ["sleep", "100"]);
      console.log(await drv.getpid([]));
      await new Promise(() => {});
    `;
    const host = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
    }).spawn();
    const reader = host.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) fail("the host program ended early");
      text += new TextDecoder().decode(value);
    }
    const root = Number(text.trim());
    const tree = [root, ...descendants(root)];
    check(tree.length > sizes.hostChildren, `only ${tree.length} processes in the tree`);
    host.kill("SIGKILL");
    await host.status;
    reader.releaseLock();
    await gone(tree, "host SIGKILL");
    const done = {
      name: `host SIGKILL with ${sizes.hostChildren} children`,
      ms: Math.round(performance.now() - started),
      rootFds: 0,
      rootRssKiB: 0,
      hostRssKiB: 0,
    };
    log(done);
    results.push(done);
  }
  return results;
}

if (import.meta.main) {
  const sizes = Deno.args.includes("--short") ? SHORT : FULL;
  console.log("scenario | ms | root fds | root RSS KiB | host RSS KiB");
  await stress(sizes, (r) => {
    console.log(`${r.name} | ${r.ms} | ${r.rootFds} | ${r.rootRssKiB} | ${r.hostRssKiB}`);
  });
  console.log("stress: every bound held, nothing left behind");
}
