/**
 * Runs the C tests of the constant tables (tests/c/constants_test.c), built with the warning
 * flags the library is held to, plain and under AddressSanitizer and UBSan, and checks that
 * csrc/constants_table.c is what scripts/gen_constants.ts makes of the name lists.
 *
 * @module
 */
import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import {
  generateConstants,
  parseDomainEnum,
  parseNameList,
  renderConstantsTable,
} from "../../scripts/gen_constants.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");

const WARNINGS = [
  "-std=c11",
  "-D_GNU_SOURCE",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-Wshadow",
  "-Wconversion",
  "-Wformat=2",
  "-Wstrict-prototypes",
  "-Wmissing-prototypes",
  "-Wcast-qual",
  "-Wpointer-arith",
  "-Wvla",
  "-fPIC",
];

const SOURCES = ["csrc/constants.c", "csrc/constants_table.c", "tests/c/constants_test.c"];

async function haveGcc(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("gcc", { args: ["--version"], stdout: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

const gcc = await haveGcc();

async function buildAndRun(extraFlags: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "alcove-constants-" });
  try {
    const binary = `${dir}/constants_test`;
    const build = await new Deno.Command("gcc", {
      args: [...WARNINGS, ...extraFlags, "-Icsrc", ...SOURCES, "-o", binary],
      cwd: ROOT,
    }).output();
    const decoder = new TextDecoder();
    assert(build.success, `gcc failed:\n${decoder.decode(build.stderr)}`);
    const run = await new Deno.Command(binary, { cwd: ROOT }).output();
    const stdout = decoder.decode(run.stdout);
    assert(run.success, `constants_test failed:\n${stdout}${decoder.decode(run.stderr)}`);
    return stdout;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("constants_table.c matches the name lists", async () => {
  const files = await generateConstants(ROOT);
  for (const [path, contents] of files) {
    const onDisk = await Deno.readTextFile(`${ROOT}/${path}`);
    assert(onDisk === contents, `${path} is stale: run deno run -A scripts/gen_constants.ts`);
  }
});

Deno.test({
  name: "constants C tests pass with strict warnings",
  ignore: !gcc,
  fn: async () => {
    assertMatch(await buildAndRun(["-O2"]), /^\d+ passed, 0 failed\n$/);
  },
});

Deno.test({
  name: "constants C tests pass under ASan and UBSan",
  ignore: !gcc,
  fn: async () => {
    const flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"];
    assertMatch(await buildAndRun(flags), /^\d+ passed, 0 failed\n$/);
  },
});

Deno.test("name lists parse fallbacks and glibc enum versions", () => {
  const entries = parseNameList(
    "# comment\n\nSIGHUP\nPTRACE_PEEKUSER PTRACE_PEEKUSR # kernel spelling\nP_PIDFD @glibc 2.36\n",
    "t.txt",
  );
  assertEquals(entries, [
    { name: "SIGHUP", fallbacks: [] },
    { name: "PTRACE_PEEKUSER", fallbacks: ["PTRACE_PEEKUSR"] },
    { name: "P_PIDFD", fallbacks: [], glibcEnum: [2, 36] },
  ]);
});

Deno.test("name lists reject malformed lines", () => {
  assertThrows(() => parseNameList("SIGHUP\nsighup\n", "t.txt"), Error, "t.txt:2");
  assertThrows(() => parseNameList("1BAD\n", "t.txt"), Error, "not a C name");
  assertThrows(() => parseNameList("P_ALL @glibc two\n", "t.txt"), Error, "@glibc");
  assertThrows(() => parseNameList("A b-c\n", "t.txt"), Error, "unexpected");
  assertThrows(() => parseNameList(`${"X".repeat(65)}\n`, "t.txt"), Error, "longer than 64");
});

Deno.test("the domain enum is read in order", () => {
  const header = "enum alcove_constant_domain {\n  ALCOVE_CONST_A = 0, /* a */\n" +
    "  ALCOVE_CONST_B,\n  ALCOVE_CONST_DOMAINS\n};";
  assertEquals(parseDomainEnum(header), ["ALCOVE_CONST_A", "ALCOVE_CONST_B"]);
  assertThrows(() => parseDomainEnum("enum alcove_constant_domain { ALCOVE_CONST_A };"));
});

Deno.test("entries are guarded by the preprocessor", () => {
  const source = renderConstantsTable([{
    name: "ptrace",
    member: "ALCOVE_CONST_PTRACE",
    entries: [
      { name: "PTRACE_PEEKUSER", fallbacks: ["PTRACE_PEEKUSR"] },
      { name: "P_PIDFD", fallbacks: [], glibcEnum: [2, 36] },
    ],
  }]);
  assert(source.includes(
    [
      "static const char ptrace_names[] =",
      "#ifdef PTRACE_PEEKUSER",
      '    "PTRACE_PEEKUSER\\0"',
      "#elif defined(PTRACE_PEEKUSR)",
      '    "PTRACE_PEEKUSER\\0"',
      "#endif",
      "#if defined(P_PIDFD) || ALCOVE_GLIBC_AT_LEAST(2, 36)",
      '    "P_PIDFD\\0"',
      "#endif",
      '    "";',
      "static const long long ptrace_values[] = {",
      "#ifdef PTRACE_PEEKUSER",
      "    (long long)(PTRACE_PEEKUSER),",
      "#elif defined(PTRACE_PEEKUSR)",
      "    (long long)(PTRACE_PEEKUSR),",
      "#endif",
      "#if defined(P_PIDFD) || ALCOVE_GLIBC_AT_LEAST(2, 36)",
      "    (long long)(P_PIDFD),",
      "#endif",
      "    0,",
    ].join("\n"),
  ));
  assert(source.includes('    [ALCOVE_CONST_PTRACE] = "ptrace",'));
});
