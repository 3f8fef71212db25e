// Every TypeScript block of the README type-checks and runs as written.
import { assertEquals } from "@std/assert";
import { IS_ROOT, needs } from "./_helpers.ts";

const root = new URL("..", import.meta.url).pathname;
const readme = Deno.readTextFileSync(`${root}README.md`);

/** The ```ts blocks, with their first line number, indentation removed. */
function blocks(): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = readme.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)```ts\s*$/);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) {
      body.push(lines[i].slice(indent));
    }
    out.push({ line: i - body.length, code: body.join("\n") + "\n" });
  }
  return out;
}

Deno.test("README: every TypeScript block type-checks", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--doc-only", "README.md"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
});

// The blocks make namespaces and mounts: as root (the unprivileged runner covers those paths).
Deno.test(
  needs("README: every TypeScript block runs as written", IS_ROOT ? undefined : "needs root"),
  async () => {
    const found = blocks();
    for (const { line, code } of found) {
      const file = `${root}.readme-block-${line}.ts`;
      await Deno.writeTextFile(file, code);
      try {
        const r = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", file],
          cwd: root,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assertEquals(
          r.code,
          0,
          `README.md block at line ${line} failed:\n${new TextDecoder().decode(r.stderr)}`,
        );
      } finally {
        await Deno.remove(file);
      }
    }
    assertEquals(found.length > 5, true);
  },
);
