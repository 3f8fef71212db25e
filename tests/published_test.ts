/**
 * The module as JSR or a web server publishes it: `deno publish --dry-run` lists exactly
 * what a user needs, and a program importing mod.ts from a URL (a local HTTP server
 * serving that list, a fresh DENO_DIR and HOME) gets the prebuilt native files into its
 * cache, checked against their recorded SHA-256, and runs a command.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { NATIVE_FILES, platformDir, sha256Hex } from "../ffi/_native.ts";
import { runtime } from "../ffi/_runtime.ts";
import { denoOnly } from "./_helpers.ts";

const root = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** The files `deno publish --dry-run` would publish, relative to the root. */
async function publishedFiles(): Promise<{ files: string[]; output: string }> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const output = decoder.decode(stdout) + decoder.decode(stderr);
  assert(success, output);
  const files = [...output.matchAll(/file:\/\/(\S+)/g)].map((m) => m[1].slice(root.length)).sort();
  return { files, output };
}

Deno.test(denoOnly("deno publish --dry-run lists what a user needs and nothing else"), async () => {
  const { files, output } = await publishedFiles();
  assert(!/warning/i.test(output), output);
  const want = ["mod.ts", "deno.json", "README.md", "LICENSE", "native/hashes.json"];
  for (const f of want) assert(files.includes(f), `${f} is not published`);
  for (const arch of ["x86_64", "aarch64"]) {
    for (const f of NATIVE_FILES) {
      assert(files.includes(`native/${platformDir(arch)}/${f}`), `${arch} ${f} is not published`);
    }
  }
  for (const f of files) {
    assert(
      /^(mod\.ts|deno\.json|README\.md|LICENSE|ffi\/.*\.ts|ffi\/_bundle\/[\w-]+\.js|native\/.*)$/
        .test(f),
      `${f} should not be published`,
    );
  }
  // Every module of the library is there, and every file of its bundle, which mod.ts serves.
  for await (const e of Deno.readDir(root + "ffi")) {
    if (e.isFile && e.name.endsWith(".ts")) assert(files.includes(`ffi/${e.name}`), e.name);
  }
  for await (const e of Deno.readDir(root + "ffi/_bundle")) {
    assert(files.includes(`ffi/_bundle/${e.name}`), e.name);
  }
});

/** Serves `files` (relative to the root) over HTTP, with `override` bytes for some. */
function serve(files: string[], override: Record<string, Uint8Array<ArrayBuffer>> = {}) {
  const set = new Set(files);
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname.slice(1));
    if (!set.has(path)) return new Response("not found", { status: 404 });
    const body = override[path] ?? Deno.readFileSync(root + path);
    const type = path.endsWith(".ts")
      ? "application/typescript"
      : path.endsWith(".js")
      ? "application/javascript"
      : "application/octet-stream";
    return new Response(body, { headers: { "content-type": type } });
  });
}

const SCRIPT = (url: string) => `
import { Alcove } from "${url}mod.ts";
const drv = await Alcove.start();
const pid = await drv.fork([]);
await drv.execvp([pid], "/bin/echo", ["echo", "ran from a URL"]);
console.log(new TextDecoder().decode((await drv.stdout([pid], { timeout: 5000 })) ?? undefined).trim());
await drv.stop();
`;

/** Runs SCRIPT importing from `url` with a fresh DENO_DIR and the given HOME. */
async function runFromUrl(url: string, home: string): Promise<string> {
  const file = `${home}/main.ts`;
  await Deno.writeTextFile(file, SCRIPT(url));
  const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", "--no-check", file],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: home, DENO_DIR: `${home}/deno` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = decoder.decode(stdout).trim();
  return out || decoder.decode(stderr);
}

Deno.test(
  denoOnly("a program importing mod.ts from a URL caches the checked native files and runs"),
  async () => {
    const { files } = await publishedFiles();
    const home = await Deno.makeTempDir({ prefix: "alcove-home-" });
    const server = serve(files);
    try {
      const url = `http://127.0.0.1:${server.addr.port}/`;
      assertEquals(await runFromUrl(url, home), "ran from a URL");
      const hashes = JSON.parse(Deno.readTextFileSync(root + "native/hashes.json"));
      const platform = platformDir(runtime.arch());
      const cache = `${home}/.cache/alcove/${
        JSON.parse(Deno.readTextFileSync(root + "deno.json")).version
      }/${platform}`;
      for (const f of NATIVE_FILES) {
        const bytes = Deno.readFileSync(`${cache}/${f}`);
        assertEquals(await sha256Hex(bytes), hashes[`native/${platform}/${f}`]);
        assertEquals(Deno.statSync(`${cache}/${f}`).mode! & 0o777, 0o755);
      }
      // A damaged cached copy is fetched again.
      Deno.writeFileSync(`${cache}/alcove`, new Uint8Array([0x7f, 0x45]));
      assertEquals(await runFromUrl(url, home), "ran from a URL");
      assertEquals(
        await sha256Hex(Deno.readFileSync(`${cache}/alcove`)),
        hashes[`native/${platform}/alcove`],
      );
    } finally {
      await server.shutdown();
    }
    // A server handing out a different executable is refused, naming the hash.
    const evil = serve(files, {
      [`native/${platformDir(runtime.arch())}/alcove`]: new Uint8Array(8),
    });
    try {
      await Deno.remove(`${home}/.cache`, { recursive: true });
      const out = await runFromUrl(`http://127.0.0.1:${evil.addr.port}/`, home);
      assertStringIncludes(out, "its SHA-256 is");
    } finally {
      await evil.shutdown();
      await Deno.remove(home, { recursive: true });
    }
  },
);

Deno.test(
  denoOnly("the command line run from a URL finds the published native files as its sources do"),
  async () => {
    // cli.ts and its bundle (ffi/cli/_bundle/), served beside what is published.
    const dir = "ffi/cli/_bundle/";
    const bundle = [...Deno.readDirSync(root + dir)].map((e) => dir + e.name);
    const { files } = await publishedFiles();
    const server = serve([...files, "cli.ts", ...bundle]);
    try {
      for (const entry of ["cli.ts", "ffi/cli/main.ts"]) {
        const home = await Deno.makeTempDir({ prefix: "alcove-home-" });
        try {
          const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "--no-lock",
              `http://127.0.0.1:${server.addr.port}/${entry}`,
              "--ro-bind",
              "/",
              "/",
              "echo",
              "ran from a URL",
            ],
            clearEnv: true,
            env: {
              PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
              HOME: home,
              DENO_DIR: `${home}/deno`,
            },
            stdout: "piped",
            stderr: "piped",
          }).output();
          assertEquals(
            decoder.decode(stdout),
            "ran from a URL\n",
            `${entry}: ${decoder.decode(stderr)}`,
          );
          assertEquals(code, 0);
          const cache = `${home}/.cache/alcove/${
            JSON.parse(Deno.readTextFileSync(root + "deno.json")).version
          }/${platformDir(runtime.arch())}`;
          for (const f of NATIVE_FILES) {
            assert(Deno.statSync(`${cache}/${f}`).isFile, `${entry}: ${f}`);
          }
        } finally {
          await Deno.remove(home, { recursive: true });
        }
      }
    } finally {
      await server.shutdown();
    }
  },
);
