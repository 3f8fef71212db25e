/**
 * Argument specifications shared by several groups of the call list.
 *
 * @module
 */
import type { ArgSpec } from "./_types.ts";

/** The argument vector of the exec calls. */
export const ARGV: ArgSpec = {
  name: "argv",
  type: "strings",
  doc: "Its argument vector, argv[0] included",
};

/** The environment of the exec calls. */
export const ENV: ArgSpec = {
  name: "env",
  type: "strings",
  doc: 'Its environment as "NAME=value" strings',
};
