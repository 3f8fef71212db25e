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

/** The text parsed last: libalcove.so gives the same text each time. */
let lastParsed: ConstantTable | undefined;

/** Name -> value tables, with reverse look-up for signal and errno names. A domain is
 * decoded (from a control process's greeting, or from text) when it is first asked for: a
 * program that looks up a few names never pays for the other tables.
 *
 * @example
 * ```ts
 * import { ConstantTable } from "@alcove/alcove";
 * const t = ConstantTable.parse("signal\tSIGKILL\t9\n");
 * console.log(t.name("signal", 9)); // "SIGKILL"
 * ```
 */
export class ConstantTable {
  #text: string;
  /** Where each domain's lines are in #text: [start, end) pairs, in order. */
  #ranges: Map<string, number[]> | null = null;
  /** Or the domains as a control process sends them (see fromDomains). */
  #binary: ReadonlyMap<string, ConstantDomainBytes> | null = null;
  #byName = new Map<string, Map<string, number>>();
  #byValue = new Map<string, Map<number, string>>();

  /** An empty table; see {@linkcode ConstantTable.parse}. */
  constructor() {
    this.#text = "";
  }

  /** Parses "domain\tNAME\tvalue" lines (what the control process sends when it starts).
   * The same text (a control process of the same build) gives the same table, so later
   * drivers reuse what earlier ones parsed.
   *
   * @example
   * ```ts
   * import { ConstantTable } from "@alcove/alcove";
   * const t = ConstantTable.parse("errno\tEPERM\t1\n");
   * console.log(t.lookup("errno", "eperm")); // 1
   * ```
   */
  static parse(text: string): ConstantTable {
    if (lastParsed !== undefined && lastParsed.#text === text) return lastParsed;
    const t = new ConstantTable();
    t.#text = text;
    lastParsed = t;
    return t;
  }

  /** Makes a table from the domains as a control process sends them when it starts: for
   * each, its names back to back, each followed by a NUL, and its values as 64-bit
   * little-endian integers, in the same order. Nothing is decoded until a domain is
   * first asked for.
   *
   * @example
   * ```ts
   * import { ConstantTable } from "@alcove/alcove";
   * const values = new Uint8Array(16);
   * new DataView(values.buffer).setBigInt64(0, 9n, true);
   * new DataView(values.buffer).setBigInt64(8, 15n, true);
   * const names = new TextEncoder().encode("SIGKILL\0SIGTERM\0");
   * const t = ConstantTable.fromDomains(new Map([["signal", { names, values }]]));
   * console.log(t.lookup("signal", "sigterm")); // 15
   * ```
   */
  static fromDomains(domains: ReadonlyMap<string, ConstantDomainBytes>): ConstantTable {
    // Drivers share a table by their control process's build ID (ffi/driver.ts): a root
    // of a build already seen sends none.
    const t = new ConstantTable();
    t.#binary = domains;
    return t;
  }

  /** A domain's maps, made on first use. */
  #domain(domain: string): [Map<string, number>, Map<number, string>] | undefined {
    const names = this.#byName.get(domain);
    if (names) return [names, this.#byValue.get(domain)!];
    const parsed = this.#binary ? decodeDomain(this.#binary.get(domain)) : this.#parse(domain);
    if (!parsed) return undefined;
    this.#byName.set(domain, parsed[0]);
    this.#byValue.set(domain, parsed[1]);
    return parsed;
  }

  /** The lines of a domain in the text. */
  #parse(domain: string): [Map<string, number>, Map<number, string>] | undefined {
    const ranges = (this.#ranges ??= this.#index()).get(domain);
    if (!ranges) return undefined;
    const byName = new Map<string, number>();
    const byValue = new Map<number, string>();
    const text = this.#text;
    for (let i = 0; i < ranges.length; i += 2) {
      for (let pos = ranges[i]; pos < ranges[i + 1];) {
        let eol = text.indexOf("\n", pos);
        if (eol < 0) eol = text.length;
        const tab1 = text.indexOf("\t", pos);
        const tab2 = text.indexOf("\t", tab1 + 1);
        if (tab1 >= 0 && tab2 >= 0 && tab2 < eol) {
          const name = text.slice(tab1 + 1, tab2);
          const n = Number(text.slice(tab2 + 1, eol));
          byName.set(name.toLowerCase(), n);
          if (!byValue.has(n)) byValue.set(n, name);
        }
        pos = eol + 1;
      }
    }
    return [byName, byValue];
  }

  /** One pass over the text: where each domain's lines are (runs of lines of one domain). */
  #index(): Map<string, number[]> {
    const ranges = new Map<string, number[]>();
    const text = this.#text;
    let run: number[] | undefined;
    let runDomain = "";
    for (let pos = 0; pos < text.length;) {
      let eol = text.indexOf("\n", pos);
      if (eol < 0) eol = text.length;
      const tab = text.indexOf("\t", pos);
      if (tab > pos && tab < eol) {
        // Most lines continue the run of the line before: compare in place.
        if (!(run && tab - pos === runDomain.length && text.startsWith(runDomain, pos))) {
          runDomain = text.slice(pos, tab);
          run = ranges.get(runDomain);
          if (!run) ranges.set(runDomain, run = []);
          if (run.length > 0 && run[run.length - 1] === pos) run.pop();
          else run.push(pos);
          run.push(eol + 1);
        } else run[run.length - 1] = eol + 1;
      }
      pos = eol + 1;
    }
    return ranges;
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
    return this.#domain(domain)?.[0].get(name.toLowerCase());
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
    return this.#domain(domain)?.[1].get(value);
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
    return [...(this.#domain(domain)?.[1].values() ?? [])];
  }
}

/** One domain of constants as a control process sends it (see
 * {@linkcode ConstantTable.fromDomains}).
 *
 * @example
 * ```ts
 * import type { ConstantDomainBytes } from "@alcove/alcove";
 * const empty: ConstantDomainBytes = { names: new Uint8Array(0), values: new Uint8Array(0) };
 * ```
 */
export interface ConstantDomainBytes {
  /** The names back to back, each followed by a NUL. */
  readonly names: Uint8Array;
  /** The values as 64-bit little-endian integers, in the order of the names. */
  readonly values: Uint8Array;
}

/** A domain's name and value maps from its bytes. */
function decodeDomain(
  d: ConstantDomainBytes | undefined,
): [Map<string, number>, Map<number, string>] | undefined {
  if (!d) return undefined;
  const byName = new Map<string, number>();
  const byValue = new Map<number, string>();
  const names = new TextDecoder().decode(d.names).split("\0");
  const view = new DataView(d.values.buffer, d.values.byteOffset, d.values.byteLength);
  const count = Math.min(names.length - 1, d.values.byteLength >> 3);
  for (let i = 0; i < count; i++) {
    const n = view.getInt32(8 * i + 4, true) * 4294967296 + view.getUint32(8 * i, true);
    byName.set(names[i].toLowerCase(), n);
    if (!byValue.has(n)) byValue.set(n, names[i]);
  }
  return [byName, byValue];
}
