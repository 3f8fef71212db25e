/**
 * Generates `csrc/constants_table.c`, the C constant tables behind `csrc/constants.h`, from the
 * name lists in `scripts/constants/<domain>.txt`.
 *
 * The lists are plain data checked into the repository, so every platform compiles the same
 * names; each entry of the generated table is guarded by the preprocessor, so a name the
 * building machine's headers do not define is left out rather than guessed. The domains and
 * their order are read from the `enum alcove_constant_domain` of `csrc/constants.h`.
 *
 * A list holds one entry a line; `#` starts a comment. An entry is a C name, optionally
 * followed by:
 *
 * - other names the headers may spell the same constant with (`PTRACE_PEEKUSER PTRACE_PEEKUSR`,
 *   `SYS_cachestat __NR_cachestat`): the first one defined gives the value when the name
 *   itself is not defined;
 * - `@glibc X.Y`: glibc X.Y and later declare the name as an enum constant without a
 *   same-named macro, which `#ifdef` cannot see.
 *
 * Within a domain, a name whose value another name shares comes after the canonical one,
 * since a look-up by value returns the first match.
 *
 * ```sh
 * deno run -A scripts/gen_constants.ts          # rewrite csrc/constants_table.c
 * deno run -A scripts/gen_constants.ts --check  # exit 1, naming stale files, if out of date
 * ```
 *
 * @module
 */

/** The generated file, relative to the repository root. */
const TABLE_PATH = "csrc/constants_table.c";
const HEADER_PATH = "csrc/constants.h";
const LISTS_DIR = "scripts/constants";

/** The look-up in `csrc/constants.c` refuses longer names. */
const MAX_NAME_LENGTH = 64;
/** ALCOVE_CONST_DOMAIN_NAME_CAP of csrc/constants.h: room for a domain name and its NUL. */
const DOMAIN_NAME_CAP = 16;

/**
 * Headers the tables are compiled against. glibc headers come first: `<linux/if.h>` checks
 * (through `<linux/libc-compat.h>`) which definitions `<net/if.h>` made and skips its own.
 * `<asm/unistd.h>` gives the kernel's own system call numbers (`__NR_*`): glibc's
 * `<sys/syscall.h>` includes it, musl's has a list of its own that lacks the newer calls.
 * Left out on purpose:
 * - `<sys/ptrace.h>` declares the ptrace options and events as enum constants without macros
 *   and clashes with `<linux/ptrace.h>`, whose names are all macros;
 * - `<linux/fcntl.h>`, `<linux/signal.h>` and `<linux/wait.h>` redefine glibc's structures
 *   or macros;
 * - `<linux/mount.h>` and `<linux/fs.h>` clash with `<sys/mount.h>` before glibc 2.36, and
 *   glibc 2.36 includes `<linux/mount.h>` itself when it exists.
 */
const INCLUDES: readonly string[] = [
  "errno.h",
  "fcntl.h",
  "sched.h",
  "signal.h",
  "stdio.h",
  "sys/ioctl.h",
  "sys/mount.h",
  "sys/prctl.h",
  "sys/resource.h",
  "sys/socket.h",
  "sys/stat.h",
  "sys/syscall.h",
  "asm/unistd.h",
  "sys/wait.h",
  "netinet/in.h",
  "netinet/tcp.h",
  "netinet/udp.h",
  "net/if.h",
  "linux/audit.h",
  "linux/capability.h",
  "linux/filter.h",
  "linux/if.h",
  "linux/if_tun.h",
  "linux/loop.h",
  "linux/ptrace.h",
  "linux/sched.h",
  "linux/seccomp.h",
  "linux/securebits.h",
  "linux/sockios.h",
];

/** Kernel headers younger than the oldest kernels built on, included only when present. */
const OPTIONAL_INCLUDES: readonly string[] = [
  "linux/nsfs.h",
  "linux/openat2.h",
];

/** One line of a name list. */
export interface ConstantEntry {
  /** The name the table exposes. */
  readonly name: string;
  /** Other macros giving the same value, tried in order when `name` is not defined. */
  readonly fallbacks: readonly string[];
  /** The glibc version declaring `name` as an enum constant without a macro, if any. */
  readonly glibcEnum?: readonly [number, number];
}

/** A domain of the header's enum with the entries of its list. */
export interface ConstantDomain {
  /** The domain name: the enum member without `ALCOVE_CONST_`, lower case. */
  readonly name: string;
  /** The enum member, such as `ALCOVE_CONST_CLONE`. */
  readonly member: string;
  readonly entries: readonly ConstantEntry[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GLIBC_VERSION = /^(\d+)\.(\d+)$/;

/**
 * Parses a name list. Throws, naming `file` and the line, on a malformed line or a name
 * listed twice (ignoring case, as look-ups do).
 *
 * @example
 * ```ts
 * import { parseNameList } from "./gen_constants.ts";
 * const entries = parseNameList("SIGHUP\nP_PIDFD @glibc 2.36 # enum\n", "x.txt");
 * // entries[1] is { name: "P_PIDFD", fallbacks: [], glibcEnum: [2, 36] }
 * ```
 */
export function parseNameList(text: string, file: string): ConstantEntry[] {
  const entries: ConstantEntry[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const where = `${file}:${index + 1}`;
    const hash = raw.indexOf("#");
    const words = (hash >= 0 ? raw.slice(0, hash) : raw).trim().split(/\s+/).filter((w) =>
      w !== ""
    );
    if (words.length === 0) return;
    const [name, ...rest] = words;
    if (!IDENTIFIER.test(name)) throw new Error(`${where}: not a C name: ${name}`);
    if (name.length > MAX_NAME_LENGTH) {
      throw new Error(`${where}: ${name} is longer than ${MAX_NAME_LENGTH} bytes`);
    }
    // Look-ups ignore case, so a name differing from an earlier one only in case is unreachable.
    const key = name.toUpperCase();
    if (seen.has(key)) throw new Error(`${where}: ${name} is listed twice (ignoring case)`);
    seen.add(key);
    const fallbacks: string[] = [];
    let glibcEnum: [number, number] | undefined;
    for (let i = 0; i < rest.length; i++) {
      const word = rest[i];
      if (word === "@glibc") {
        const version = GLIBC_VERSION.exec(rest[i + 1] ?? "");
        if (version === null) throw new Error(`${where}: @glibc needs a version such as 2.36`);
        glibcEnum = [Number(version[1]), Number(version[2])];
        i++;
      } else if (IDENTIFIER.test(word) && word !== name && !fallbacks.includes(word)) {
        fallbacks.push(word);
      } else {
        throw new Error(`${where}: unexpected ${word}`);
      }
    }
    entries.push(glibcEnum ? { name, fallbacks, glibcEnum } : { name, fallbacks });
  });
  return entries;
}

/**
 * Reads the members of `enum alcove_constant_domain` from the text of `csrc/constants.h`, in
 * order, without the closing `ALCOVE_CONST_DOMAINS`.
 *
 * @example
 * ```ts
 * import { parseDomainEnum } from "./gen_constants.ts";
 * const members = parseDomainEnum(
 *   "enum alcove_constant_domain { ALCOVE_CONST_CLONE = 0, ALCOVE_CONST_FCNTL, ALCOVE_CONST_DOMAINS };",
 * );
 * // members is ["ALCOVE_CONST_CLONE", "ALCOVE_CONST_FCNTL"]
 * ```
 */
export function parseDomainEnum(header: string): string[] {
  const body = /enum\s+alcove_constant_domain\s*\{([^}]*)\}/.exec(header);
  if (body === null) throw new Error(`${HEADER_PATH}: no enum alcove_constant_domain`);
  const withoutComments = body[1].replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const members = withoutComments.split(",").map((m) => m.split("=")[0].trim()).filter((m) =>
    m !== ""
  );
  const last = members.pop();
  if (last !== "ALCOVE_CONST_DOMAINS") {
    throw new Error(`${HEADER_PATH}: the domain enum must end with ALCOVE_CONST_DOMAINS`);
  }
  for (const member of members) {
    if (!/^ALCOVE_CONST_[A-Z0-9_]+$/.test(member)) {
      throw new Error(`${HEADER_PATH}: unexpected domain ${member}`);
    }
  }
  return members;
}

function cString(text: string): string {
  // Names are C identifiers (checked on parsing), so nothing needs escaping.
  return `"${text}"`;
}

/** The entry's preprocessor guard around `row(macro)` for the macro that gives its value. */
function renderEntry(entry: ConstantEntry, row: (macro: string) => string): string[] {
  const lines: string[] = [];
  if (entry.glibcEnum) {
    const [major, minor] = entry.glibcEnum;
    lines.push(`#if defined(${entry.name}) || ALCOVE_GLIBC_AT_LEAST(${major}, ${minor})`);
  } else {
    lines.push(`#ifdef ${entry.name}`);
  }
  lines.push(row(entry.name));
  for (const fallback of entry.fallbacks) {
    lines.push(`#elif defined(${fallback})`, row(fallback));
  }
  lines.push("#endif");
  return lines;
}

/**
 * Renders the C source of the constant tables for `domains`, in the given order.
 *
 * @example
 * ```ts
 * import { renderConstantsTable } from "./gen_constants.ts";
 * const source = renderConstantsTable([{
 *   name: "signal",
 *   member: "ALCOVE_CONST_SIGNAL",
 *   entries: [{ name: "SIGKILL", fallbacks: [] }],
 * }]);
 * // source holds `"SIGKILL\\0"` among signal_names and `(long long)(SIGKILL),` among
 * // signal_values, each guarded by `#ifdef SIGKILL`
 * ```
 */
export function renderConstantsTable(domains: readonly ConstantDomain[]): string {
  const out: string[] = [
    `/* Generated by scripts/gen_constants.ts from the name lists in ${LISTS_DIR}/, do not edit. */`,
    "",
    "/* Some flags (O_TMPFILE, F_OFD_*, MSG_*, ...) are only declared for _GNU_SOURCE. */",
    "#ifndef _GNU_SOURCE",
    "#define _GNU_SOURCE",
    "#endif",
    "",
    ...INCLUDES.map((header) => `#include <${header}>`),
    "",
    "#if defined(__has_include)",
    ...OPTIONAL_INCLUDES.flatMap((header) => [
      `#if __has_include(<${header}>)`,
      `#include <${header}>`,
      "#endif",
    ]),
    "#endif",
    "",
    '#include "constants.h"',
    "",
    "/* glibc declares a few constants only as enum members, which #ifdef cannot see; they are",
    " * listed with the glibc release that declares them. */",
    "#if defined(__GLIBC__) && defined(__GLIBC_MINOR__)",
    "#define ALCOVE_GLIBC_AT_LEAST(major, minor) \\",
    "    (__GLIBC__ > (major) || (__GLIBC__ == (major) && __GLIBC_MINOR__ >= (minor)))",
    "#else",
    "#define ALCOVE_GLIBC_AT_LEAST(major, minor) 0",
    "#endif",
    "",
    "/* Each domain's names are one string, NUL after each, and its values an array in the",
    " * same order: no pointer per entry, so nothing to relocate when a position-independent",
    " * executable or library is loaded (every control process start). The values end with a",
    " * 0 that the count leaves out: it keeps a table whose names are all undefined here from",
    " * being an empty array. */",
  ];
  for (const domain of domains) {
    out.push(
      "",
      `/* ${LISTS_DIR}/${domain.name}.txt */`,
      `static const char ${domain.name}_names[] =`,
    );
    for (const entry of domain.entries) {
      out.push(...renderEntry(entry, () => `    ${cString(entry.name + "\\0")}`));
    }
    out.push('    "";', `static const long long ${domain.name}_values[] = {`);
    for (const entry of domain.entries) {
      out.push(...renderEntry(entry, (macro) => `    (long long)(${macro}),`));
    }
    out.push("    0,", "};");
  }
  out.push(
    "",
    "#define ALCOVE_TABLE(name) {name##_names, name##_values, sizeof(name##_values) / sizeof(name##_values[0]) - 1, sizeof(name##_names) - 1}",
    "",
    "const struct alcove_constant_table alcove_constant_tables[ALCOVE_CONST_DOMAINS] = {",
    ...domains.map((d) => `    [${d.member}] = ALCOVE_TABLE(${d.name}),`),
    "};",
    "",
    "const char alcove_constant_domain_names[ALCOVE_CONST_DOMAINS][ALCOVE_CONST_DOMAIN_NAME_CAP] = {",
    ...domains.map((d) => `    [${d.member}] = ${cString(d.name)},`),
    "};",
  );
  return out.join("\n") + "\n";
}

/**
 * Reads `csrc/constants.h` and the name lists under `root` and returns the generated files:
 * path relative to `root` -> contents. Throws when a domain has no list, a list has no domain,
 * or a list is malformed.
 *
 * @example
 * ```ts
 * import { generateConstants } from "./gen_constants.ts";
 * const files = await generateConstants(".");
 * const table = files.get("csrc/constants_table.c");
 * ```
 */
export async function generateConstants(root: string): Promise<Map<string, string>> {
  const header = await Deno.readTextFile(`${root}/${HEADER_PATH}`);
  const members = parseDomainEnum(header);
  const names = members.map((m) => m.slice("ALCOVE_CONST_".length).toLowerCase());
  const long = names.find((n) => n.length >= DOMAIN_NAME_CAP);
  if (long !== undefined) {
    throw new Error(
      `${HEADER_PATH}: the domain name ${long} is longer than ${DOMAIN_NAME_CAP - 1} bytes`,
    );
  }
  const lists = new Set<string>();
  for await (const item of Deno.readDir(`${root}/${LISTS_DIR}`)) {
    if (item.isFile && item.name.endsWith(".txt")) lists.add(item.name.slice(0, -4));
  }
  const missing = names.filter((n) => !lists.has(n));
  if (missing.length > 0) {
    throw new Error(`no name list for ${missing.map((n) => `${LISTS_DIR}/${n}.txt`).join(", ")}`);
  }
  const extra = [...lists].filter((n) => !names.includes(n)).sort();
  if (extra.length > 0) {
    throw new Error(`${extra.map((n) => `${LISTS_DIR}/${n}.txt`).join(", ")}: not a domain`);
  }
  const domains: ConstantDomain[] = [];
  for (const [i, name] of names.entries()) {
    const file = `${LISTS_DIR}/${name}.txt`;
    const entries = parseNameList(await Deno.readTextFile(`${root}/${file}`), file);
    domains.push({ name, member: members[i], entries });
  }
  return new Map([[TABLE_PATH, renderConstantsTable(domains)]]);
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function main(args: string[]): Promise<number> {
  const root = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
  const files = await generateConstants(root);
  if (args.includes("--check")) {
    const stale: string[] = [];
    for (const [path, contents] of files) {
      if (await readOrNull(`${root}/${path}`) !== contents) stale.push(path);
    }
    if (stale.length > 0) {
      console.error(
        `stale: ${stale.join(", ")}; run deno run -A scripts/gen_constants.ts to regenerate`,
      );
      return 1;
    }
    return 0;
  }
  for (const [path, contents] of files) {
    if (await readOrNull(`${root}/${path}`) === contents) continue;
    await Deno.writeTextFile(`${root}/${path}`, contents);
    console.log(`wrote ${path}`);
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    // A malformed list is a message for whoever edited it, not a stack trace.
    console.error(`gen_constants: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
