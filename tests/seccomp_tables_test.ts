// Checks the generated syscall tables (ffi/seccomp/_syscall_tables.ts) against libseccomp's
// scmp_sys_resolver for every architecture, against this machine's kernel headers for x86_64,
// and checks that the generator would write the same file. Without scmp_sys_resolver the tests
// are skipped with the reason, unless ALCOVE_MUST_WORK=1, which turns the skip into a failure.

import { assert, assertEquals, assertGreaterOrEqual } from "@std/assert";
import { SYSCALL_TABLES } from "../ffi/seccomp/_syscall_tables.ts";
import {
  auditArch,
  SECCOMP_ARCHES,
  type SeccompArch,
  syscallName,
  syscallNames,
  syscallNumber,
  X32_SYSCALL_BIT,
} from "../ffi/seccomp/arch.ts";
import { type Output, output, RUNTIME, withDriver } from "./_helpers.ts";

const MUST_WORK = Deno.env.get("ALCOVE_MUST_WORK") === "1";
const SAMPLE_SIZE = 60;
const CONCURRENCY = 16;

/** The program's output, or undefined when it is not installed. */
async function outputOf(command: string, args: string[]): Promise<Output | undefined> {
  try {
    return await output(command, args);
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return undefined;
    throw error;
  }
}

const RESOLVER_SKIP = (await outputOf("scmp_sys_resolver", ["-a", "x86_64", "read"])) === undefined
  ? "scmp_sys_resolver is not installed (scripts/install_deps.sh installs it)"
  : undefined;

function resolverTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: RESOLVER_SKIP === undefined ? name : `${name} (skipped: ${RESOLVER_SKIP})`,
    ignore: RESOLVER_SKIP !== undefined && !MUST_WORK,
    fn: async () => {
      if (RESOLVER_SKIP !== undefined) {
        throw new Error(`Cannot check tables with ALCOVE_MUST_WORK=1: ${RESOLVER_SKIP}`);
      }
      await fn();
    },
  });
}

async function resolve(arch: SeccompArch, what: string | number): Promise<string> {
  const result = await outputOf("scmp_sys_resolver", ["-a", arch, String(what)]);
  assert(result !== undefined && result.success, `scmp_sys_resolver -a ${arch} ${what} failed`);
  return new TextDecoder().decode(result.stdout).trim();
}

async function mapLimited<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results;
}

/** Every name of the table for x86_64; an evenly spread sample of the others. */
function namesToCheck(arch: SeccompArch): string[] {
  const names = syscallNames(arch);
  if (arch === "x86_64") return names;
  const step = Math.max(1, Math.floor(names.length / SAMPLE_SIZE));
  const sample = names.filter((_, index) => index % step === 0);
  // Names libseccomp resolves in a special way are always in the sample.
  for (
    const special of ["socket", "connect", "shmget", "semop", "read", "rt_sigaction", "set_tls"]
  ) {
    if (syscallNumber(special, arch) !== undefined && !sample.includes(special)) {
      sample.push(special);
    }
  }
  return sample;
}

for (const arch of SECCOMP_ARCHES) {
  resolverTest(`${arch} syscall numbers match scmp_sys_resolver`, async () => {
    const names = namesToCheck(arch);
    assertGreaterOrEqual(names.length, 50);
    const resolved = await mapLimited(names, (name) => resolve(arch, name));
    const mismatches: string[] = [];
    await Promise.all(names.map(async (name, index) => {
      const ours = syscallNumber(name, arch)!;
      const theirs = Number(resolved[index]);
      if (theirs === ours) return;
      // libseccomp answers a pseudo number for the x86 socket and IPC calls it multiplexes
      // through socketcall and ipc; the real number must still resolve back to the name.
      if (theirs < 0 && (await resolve(arch, ours)) === name) return;
      mismatches.push(`${name}: ours ${ours}, scmp_sys_resolver ${resolved[index]}`);
    }));
    assertEquals(mismatches, [], `${arch}: ${mismatches.length} mismatches`);
    assertEquals(auditArch(arch), SYSCALL_TABLES[arch].auditArch);
  });
}

resolverTest("x86_64 table has every call libseccomp knows", async () => {
  const header = await Deno.readTextFile("/usr/include/seccomp-syscalls.h").catch(() => undefined);
  if (header === undefined) {
    if (MUST_WORK) throw new Error("Cannot read /usr/include/seccomp-syscalls.h");
    console.warn("skipped part: /usr/include/seccomp-syscalls.h is missing (libseccomp-dev)");
    return;
  }
  const universe = [...new Set([...header.matchAll(/^#define __SNR_(\w+)\s/gm)].map((m) => m[1]))];
  const resolved = await mapLimited(universe, (name) => resolve("x86_64", name));
  const missing = universe.filter((name, index) =>
    Number(resolved[index]) >= 0 && syscallNumber(name, "x86_64") !== Number(resolved[index])
  );
  assertEquals(missing, []);
});

Deno.test("x32 numbers carry the x32 bit and x86 has the direct socket calls", () => {
  for (const name of syscallNames("x32")) {
    assert(syscallNumber(name, "x32")! >= X32_SYSCALL_BIT, name);
  }
  assertEquals(syscallNumber("read", "x32"), X32_SYSCALL_BIT);
  assertEquals(syscallNumber("socket", "x86"), 359);
  assertEquals(syscallName(102, "x86"), "socketcall");
});

const HEADER_CANDIDATES = [
  "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
  "/usr/include/asm/unistd_64.h",
];

async function readKernelHeader(): Promise<string | undefined> {
  for (const path of HEADER_CANDIDATES) {
    const text = await Deno.readTextFile(path).catch(() => undefined);
    if (text !== undefined) return text;
  }
  return undefined;
}

const KERNEL_HEADER = await readKernelHeader();
const HEADER_SKIP = KERNEL_HEADER === undefined
  ? `no x86_64 kernel header (${HEADER_CANDIDATES.join(" or ")}; apt-get install linux-libc-dev)`
  : undefined;

Deno.test({
  name: HEADER_SKIP === undefined
    ? "x86_64 numbers match this machine's kernel headers"
    : `x86_64 numbers match this machine's kernel headers (skipped: ${HEADER_SKIP})`,
  ignore: HEADER_SKIP !== undefined && !MUST_WORK,
  fn: () => {
    if (KERNEL_HEADER === undefined) {
      throw new Error(`Cannot check with ALCOVE_MUST_WORK=1: ${HEADER_SKIP}`);
    }
    const defined = [...KERNEL_HEADER.matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)];
    assertGreaterOrEqual(defined.length, 300);
    const mismatches: string[] = [];
    let compared = 0;
    for (const [, name, value] of defined) {
      const ours = syscallNumber(name, "x86_64");
      // A header newer than libseccomp may list calls the table does not have yet.
      if (ours === undefined) continue;
      compared++;
      if (ours !== Number(value)) mismatches.push(`${name}: ours ${ours}, header ${value}`);
    }
    assertEquals(mismatches, []);
    assertGreaterOrEqual(compared, 300);
  },
});

// The generator is a Deno script: the npm build's runs leave this one to Deno's.
if (RUNTIME === "deno") {
  resolverTest(
    "scripts/gen_syscalls.ts --check finds the checked-in tables up to date",
    async () => {
      const script = new URL("../scripts/gen_syscalls.ts", import.meta.url).pathname;
      const result = await output(Deno.execPath(), ["run", "-A", script, "--check"]);
      const stderr = new TextDecoder().decode(result.stderr);
      assert(result.success, `gen_syscalls --check failed: ${stderr}`);
    },
  );
}

Deno.test("the x86_64 table and audit arches match the control process's syscallConstant", async () => {
  if (Deno.build.arch !== "x86_64") return;
  await withDriver(async (drv) => {
    const names = syscallNames("x86_64");
    const known = await Promise.all(names.map((n) => drv.syscallConstant([], `SYS_${n}`)));
    let compared = 0;
    names.forEach((name, i) => {
      // A name the headers of this machine do not define is undefined there, never a guess.
      if (known[i] === undefined) return;
      assertEquals(syscallNumber(name, "x86_64"), known[i], `SYS_${name}`);
      compared++;
    });
    assertGreaterOrEqual(compared, 300);
    for (const arch of SECCOMP_ARCHES) {
      const name = `AUDIT_ARCH_${arch === "x86" ? "I386" : arch.toUpperCase()}`;
      const value = await drv.syscallConstant([], name);
      if (value !== undefined) assertEquals(auditArch(arch), value, name);
    }
  });
});
