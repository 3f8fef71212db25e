/**
 * Static checks: formatting, lint, type check (code and documentation
 * examples), `deno doc --lint`, and generated files up to date.
 *
 * @example
 * ```sh
 * deno run -A scripts/check.ts
 * ```
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const deno = Deno.execPath();

const steps: [string, string[]][] = [
  ["format", ["fmt", "--check"]],
  ["lint", ["lint"]],
  ["type check", ["check", "--doc", "mod.ts", "ffi/", "scripts/", "tests/"]],
  ["doc lint", ["doc", "--lint", "mod.ts"]],
  ["generated files", ["run", "-A", "scripts/gen.ts", "--check"]],
];

let failed = 0;
for (const [name, args] of steps) {
  const { code } = await new Deno.Command(deno, { args, cwd: root }).spawn().status;
  console.log(`${code === 0 ? "ok  " : "FAIL"} ${name}`);
  if (code !== 0) failed++;
}
if (failed > 0) {
  console.error(`${failed} check(s) failed`);
  Deno.exit(1);
}
