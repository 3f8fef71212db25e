/**
 * Static checks: formatting, lint, type check (code and documentation
 * examples), `deno doc --lint`, generated files up to date, and no runtime's own API
 * (Deno, Bun, Node's process) named outside the runtime seam's backends.
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

// The library runs on Deno, Node.js and Bun: only the runtime seam's backends may name a
// runtime's own API. A comment or an example may mention one.
const SEAMS = /^ffi\/_runtime(_[a-z]+)?\.ts$/;
const RUNTIME_NAME =
  /\b(Deno|Bun)\s*[.[]|\btypeof\s+(Deno|Bun)\b|\bfrom\s+"(node|bun):|\bprocess\.(versions|env|arch|platform)\b/;
const offenders: string[] = [];
for (const file of ["mod.ts", ...walkTs(root + "ffi").map((f) => f.slice(root.length))]) {
  if (SEAMS.test(file)) continue;
  const lines = Deno.readTextFileSync(root + file).split("\n");
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "");
    if (/^\s*\*/.test(code)) return; // JSDoc
    if (RUNTIME_NAME.test(code)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
  });
}
console.log(`${offenders.length === 0 ? "ok  " : "FAIL"} runtime APIs only in the seams`);
if (offenders.length > 0) {
  console.error(offenders.map((o) => `  ${o}`).join("\n"));
  failed++;
}

function walkTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...walkTs(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}
if (failed > 0) {
  console.error(`${failed} check(s) failed`);
  Deno.exit(1);
}
