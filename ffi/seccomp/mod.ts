/**
 * Seccomp BPF without a driver: build filters by hand (`stmt`, `jump`, `validateArch`,
 * `allowSyscall`, `retErrno`, ...), compile a policy of rules by syscall name into an optimized
 * program (`compilePolicy`), look up syscall numbers per architecture (`syscallNumber`), and
 * check, run and print programs without a kernel (`checkProgram`, `simulate`, `disassemble`).
 * All of that is pure. Installing is `installFilter` / `installPolicy` in a control process and
 * `installFilterLocal` / `installPolicyLocal` over every thread of the host process (see
 * `install.ts`); `sigsysInfo` names the call a trap-mode filter caught.
 *
 * The default profile for untrusted programs is in `profile.ts`.
 *
 * @example
 * ```ts
 * import { assemble, AUDIT_ARCH_X86_64, compilePolicy, simulate } from "./mod.ts";
 *
 * const EPERM = 1;
 * const program = compilePolicy({
 *   defaultAction: "allow",
 *   rules: [{ names: ["mount", "umount2"], action: { errno: EPERM } }],
 * }, { arches: ["x86_64"] });
 * const mount = simulate(program, { nr: 165, arch: AUDIT_ARCH_X86_64 });
 * console.log(mount.actionName, mount.data); // "ERRNO" 1
 * const bytes = assemble(program);
 * ```
 *
 * @module
 */

export * from "./bpf.ts";
export * from "./arch.ts";
export * from "./policy.ts";
export * from "./sim.ts";
export * from "./install.ts";
