/**
 * Constant tables: the C macro names of the machine that built the control
 * process, looked up case-insensitively. A name unknown on this platform is
 * `undefined`, never a guess.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * console.log(drv.constants.lookup("signal", "sigterm")); // 15
 * ```
 * @module
 */

/** The domains of the tables (the prefixes of the `*Constant` calls).
 *
 * @example
 * ```ts
 * import { CONSTANT_DOMAINS } from "@alcove/alcove";
 * console.log(CONSTANT_DOMAINS.length);
 * ```
 */
export const CONSTANT_DOMAINS = [
  "clone",
  "fcntl",
  "file",
  "ioctl",
  "mount",
  "prctl",
  "ptrace",
  "rlimit",
  "seccomp",
  "signal",
  "syscall",
  "errno",
  "wait",
  "prio",
  "socket",
] as const;

/** One of {@linkcode CONSTANT_DOMAINS}.
 *
 * @example
 * ```ts
 * import type { ConstantDomain } from "@alcove/alcove";
 * const d: ConstantDomain = "rlimit";
 * ```
 */
export type ConstantDomain = typeof CONSTANT_DOMAINS[number];

/** Name -> value tables, with reverse look-up for signal and errno names.
 *
 * @example
 * ```ts
 * import { ConstantTable } from "@alcove/alcove";
 * const t = ConstantTable.parse("signal\tSIGKILL\t9\n");
 * console.log(t.name("signal", 9)); // "SIGKILL"
 * ```
 */
export class ConstantTable {
  #byName = new Map<string, Map<string, number>>();
  #byValue = new Map<string, Map<number, string>>();

  /** Parses "domain\tNAME\tvalue" lines (what the control process sends when it starts).
   *
   * @example
   * ```ts
   * import { ConstantTable } from "@alcove/alcove";
   * const t = ConstantTable.parse("errno\tEPERM\t1\n");
   * console.log(t.lookup("errno", "eperm")); // 1
   * ```
   */
  static parse(text: string): ConstantTable {
    const t = new ConstantTable();
    for (const line of text.split("\n")) {
      if (!line) continue;
      const [domain, name, value] = line.split("\t");
      let names = t.#byName.get(domain);
      let values = t.#byValue.get(domain);
      if (!names || !values) {
        names = new Map();
        values = new Map();
        t.#byName.set(domain, names);
        t.#byValue.set(domain, values);
      }
      const n = Number(value);
      names.set(name.toLowerCase(), n);
      if (!values.has(n)) values.set(n, name);
    }
    return t;
  }

  /** The value of a name in a domain, or `undefined`.
   *
   * @example
   * ```ts
   * import { ConstantTable } from "@alcove/alcove";
   * console.log(ConstantTable.parse("rlimit\tRLIMIT_NOFILE\t7\n").lookup("rlimit", "RLIMIT_NOFILE"));
   * ```
   */
  lookup(domain: ConstantDomain, name: string): number | undefined {
    return this.#byName.get(domain)?.get(name.toLowerCase());
  }

  /** The first name of a value in a domain, or `undefined`.
   *
   * @example
   * ```ts
   * import { ConstantTable } from "@alcove/alcove";
   * console.log(ConstantTable.parse("errno\tENOENT\t2\n").name("errno", 2)); // "ENOENT"
   * ```
   */
  name(domain: ConstantDomain, value: number): string | undefined {
    return this.#byValue.get(domain)?.get(value);
  }

  /** Every name of a domain.
   *
   * @example
   * ```ts
   * import { ConstantTable } from "@alcove/alcove";
   * console.log(ConstantTable.parse("prio\tPRIO_USER\t2\n").names("prio"));
   * ```
   */
  names(domain: ConstantDomain): string[] {
    return [...(this.#byValue.get(domain)?.values() ?? [])];
  }
}
