/**
 * Calls of the call list (see scripts/call_list.ts): credentials, files, mounts, namespaces, process and platform calls that take plain values.
 * Append new calls at the end: positions are call numbers.
 *
 * @module
 */
import type { CallSpec } from "../call_list.ts";

/** The calls of this group, in call-number order. */
export const SYSTEM_CALLS: readonly CallSpec[] = [];
