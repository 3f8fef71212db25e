/**
 * Calls of the call list (see scripts/call_list.ts): calls whose arguments may be structs with pointers (cstructs): prctl, ioctl, ptrace, connect, alloc and friends.
 * Append new calls at the end: positions are call numbers.
 *
 * @module
 */
import type { CallSpec } from "../call_list.ts";

/** The calls of this group, in call-number order. */
export const STRUCT_CALLS: readonly CallSpec[] = [];
