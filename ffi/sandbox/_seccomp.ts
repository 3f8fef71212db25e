/**
 * spawn's seccomp compiler: the seccomp modules, loaded by the first spawn that asks for a
 * filter to be compiled ("default" or a policy), so that a program that never does (the
 * command line without a filter) does not load them. The package entry (mod.ts), which
 * loads them anyway, provides them at once: `encodeSpawnRequest` compiles synchronously
 * for its users. Internal.
 *
 * @module
 */
import type { assemble } from "../seccomp/bpf.ts";
import type { compilePolicy } from "../seccomp/policy.ts";
import type { DEFAULT_PROFILE } from "../seccomp/profile.ts";
import type { seccompArchLocal } from "../seccomp/install.ts";

/** What spawn's encoder takes from the seccomp modules. */
export interface SeccompCompiler {
  assemble: typeof assemble;
  compilePolicy: typeof compilePolicy;
  defaultProfile: typeof DEFAULT_PROFILE;
  seccompArchLocal: typeof seccompArchLocal;
}

let compiler: SeccompCompiler | undefined;

/** Makes the seccomp modules, already loaded by the caller, spawn's compiler. */
export function provideSeccompCompiler(c: SeccompCompiler): void {
  compiler ??= c;
}

/** The compiler, if loaded or provided. */
export function seccompCompiler(): SeccompCompiler | undefined {
  return compiler;
}

/** Loads the seccomp modules, once. */
export async function loadSeccompCompiler(): Promise<SeccompCompiler> {
  if (compiler) return compiler;
  const [bpf, policy, profile, install] = await Promise.all([
    import("../seccomp/bpf.ts"),
    import("../seccomp/policy.ts"),
    import("../seccomp/profile.ts"),
    import("../seccomp/install.ts"),
  ]);
  provideSeccompCompiler({
    assemble: bpf.assemble,
    compilePolicy: policy.compilePolicy,
    defaultProfile: profile.DEFAULT_PROFILE,
    seccompArchLocal: install.seccompArchLocal,
  });
  return compiler!;
}

/** Whether `options` ask for a seccomp filter to be compiled ("default" or a policy). */
export function compilesSeccomp(options: unknown): boolean {
  const v = (options as { seccomp?: unknown } | null)?.seccomp;
  const one = (f: unknown) =>
    f === "default" || (typeof f === "object" && f !== null && !(f instanceof Uint8Array));
  return Array.isArray(v) ? v.some(one) : one(v);
}
