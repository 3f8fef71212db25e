/**
 * Builds the npm package into `npm/` (git-ignored), the way dnt would: ESM
 * JavaScript and .d.ts compiled with npm:typescript from the same sources (the
 * `.ts` import specifiers rewritten to `.js`), package.json, README, LICENSE, the
 * prebuilt native files of linux-x64 and linux-arm64 under `native/linux-<arch>/`,
 * and `csrc/` with `build.sh`, the build from source that needs only `cc`. With
 * `--tests` it also compiles the test files into `npm/tests/` (not packed), each
 * given the Deno namespace of npm's @deno/shim-deno, and installs the package's
 * dependencies there, so `node npm/tests/_run.js` runs them.
 *
 * @example
 * ```sh
 * deno run -A scripts/build_npm.ts            # what `deno task npm` runs
 * deno run -A scripts/build_npm.ts --tests    # and the tests, ready to run under Node and Bun
 * cd npm && npm pack                          # alcove-alcove-<version>.tgz
 * ```
 * @module
 */
import ts from "typescript";
import { generateLibraryBundle, LIBRARY_BUNDLE_DIR, LIBRARY_BUNDLE_ENTRY } from "./gen_bundles.ts";

const root = new URL("..", import.meta.url).pathname;
const out = root + "npm/";
const withTests = Deno.args.includes("--tests");
const config = JSON.parse(Deno.readTextFileSync(root + "deno.json"));
const version: string = config.version;

/** Versions of what the package and its tests use from npm. */
export const NPM_DEPENDENCIES = { koffi: "3.3.4" } as const;
const DEV_DEPENDENCIES = {
  "@deno/shim-deno": "0.19.2",
  "@types/node": "20.19.43",
  typescript: "5.9.3",
} as const;

async function run(cmd: string, args: string[], cwd = root): Promise<void> {
  const { code } = await new Deno.Command(cmd, { args, cwd, stdout: "inherit" }).spawn().status;
  if (code !== 0) throw new Error(`Cannot build the npm package: ${cmd} ${args.join(" ")} failed`);
}

function walk(dir: string, keep: (path: string) => boolean): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) found.push(...walk(path, keep));
    else if (keep(path)) found.push(path);
  }
  return found.sort();
}

function copy(from: string, to: string): void {
  Deno.mkdirSync(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  Deno.copyFileSync(from, to);
}

/** Compiles `files` (paths under `src`) into `out`; declarations and type checks when `check`. */
function compile(src: string, files: string[], check: boolean): void {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    // Node.js 20: ES2023 plus what it has of later years (Symbol.dispose, ArrayBuffer
    // transfer), so a newer built-in fails the build instead of a user's program; the
    // web APIs (streams, fetch, crypto) as @types/node declares them.
    lib: [
      "lib.es2023.d.ts",
      "lib.esnext.disposable.d.ts",
      "lib.es2024.arraybuffer.d.ts",
      "lib.dom.d.ts",
    ],
    types: ["node"],
    typeRoots: [out + "node_modules/@types"],
    strict: true,
    skipLibCheck: true,
    declaration: check,
    noCheck: !check,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    rootDir: src,
    outDir: out,
    removeComments: false,
    newLine: ts.NewLineKind.LineFeed,
  };
  const program = ts.createProgram(files, options);
  const emitted = program.emit();
  const diagnostics = [...(check ? ts.getPreEmitDiagnostics(program) : []), ...emitted.diagnostics];
  if (diagnostics.length > 0) {
    console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => src,
      getNewLine: () => "\n",
    }));
    throw new Error(
      `Cannot build the npm package: TypeScript reported ${diagnostics.length} problem(s)`,
    );
  }
}

// 1. A clean folder with the package's manifest, so npm installs what the build needs.
await Deno.remove(out, { recursive: true }).catch(() => {});
Deno.mkdirSync(out, { recursive: true });
const hasCli = (() => {
  try {
    return Deno.statSync(root + "cli.ts").isFile;
  } catch {
    return false;
  }
})();
const pkg = {
  name: config.name,
  version,
  description: "Fork, confine and control Linux processes: namespaces, seccomp, cgroups, " +
    "rlimits, credentials, exec (a re-creation of the Erlang library alcove)",
  license: config.license,
  type: "module",
  main: "./mod.js",
  types: "./mod.d.ts",
  exports: { ".": { types: "./mod.d.ts", default: "./mod.js" } },
  ...(hasCli ? { bin: { alcove: "./cli.js" } } : {}),
  engines: { node: ">=20" },
  os: ["linux"],
  cpu: ["x64", "arm64"],
  files: [
    "mod.js",
    "mod.d.ts",
    "ffi/",
    ...(hasCli ? ["cli.js", "cli.d.ts"] : []),
    "native/",
    "csrc/",
  ],
  dependencies: NPM_DEPENDENCIES,
  devDependencies: DEV_DEPENDENCIES,
  keywords: ["sandbox", "namespaces", "seccomp", "cgroups", "container", "alcove"],
};
Deno.writeTextFileSync(out + "package.json", JSON.stringify(pkg, null, 2) + "\n");
await run("npm", ["install", "--no-audit", "--no-fund", "--silent"], out);

// 2. The sources, staged with the npm build's own Deno backend: under Deno, the npm
// package goes through Node's APIs as Node code does (JSR and URL imports use the Deno one).
const stage = out + ".stage/";
const sources = [
  "mod.ts",
  ...(hasCli ? ["cli.ts"] : []),
  ...walk(root + "ffi", (p) => p.endsWith(".ts"))
    .map((p) => p.slice(root.length))
    // Deno's way to replace the process (the command line's supervisor and fast path).
    .filter((p) => p !== "ffi/_runtime_exec.ts" && p !== "ffi/cli/_fast_path.ts"),
];
for (const file of sources) copy(root + file, stage + file);
if (hasCli) {
  // The bin is built from the sources: cli.ts tries the fast path of Deno (an exec of the
  // control process executable's own parser), then runs the Deno bundle of ffi/cli/main.ts
  // (ffi/cli/_bundle/), which the package leaves out: the bin runs main.ts.
  const entry = Deno.readTextFileSync(stage + "cli.ts");
  const code = entry.indexOf("// The fast path");
  if (code < 0) throw new Error("Cannot find the fast path's import in cli.ts");
  Deno.writeTextFileSync(stage + "cli.ts", entry.slice(0, code) + 'import "./ffi/cli/main.ts";\n');
}
// mod.ts serves Deno the bundle of ffi/_exports.ts (ffi/_bundle/): the package makes its own
// of the compiled modules (below), and mod.d.ts types it by the sources' entry.
const modEntry = Deno.readTextFileSync(stage + "mod.ts");
const served = modEntry.indexOf("// The package as one generated bundle");
if (served < 0) throw new Error("Cannot find the bundle's export in mod.ts");
Deno.writeTextFileSync(
  stage + "mod.ts",
  modEntry.slice(0, served) + 'export * from "./ffi/_exports.ts";\n',
);
Deno.writeTextFileSync(
  stage + "ffi/_runtime_deno.ts",
  "/** The npm build's backend under Deno: Node's APIs. @module */\n" +
    'export { backend } from "./_runtime_node.ts";\n',
);
Deno.writeTextFileSync(stage + "package.json", JSON.stringify({ type: "module" }));
// Node.js 20 and Bun iterate web streams with for await, which @types/node 20 leaves out.
Deno.writeTextFileSync(
  stage + "globals.d.ts",
  "interface ReadableStream<R> { [Symbol.asyncIterator](): AsyncIterableIterator<R>; }\n",
);
compile(stage, [...sources.map((f) => stage + f), stage + "globals.d.ts"], true);
// The types name Disposable, AsyncDisposable and Symbol.asyncDispose: a consumer whose target
// comes before them (ES2022, where many configurations stand) takes them from here.
Deno.writeTextFileSync(
  out + "mod.d.ts",
  '/// <reference lib="esnext.disposable" />\n' + Deno.readTextFileSync(out + "mod.d.ts"),
);
if (hasCli) {
  // The bin runs under the runtime that installed it: `npx alcove` with Node.js, `bunx` with Bun.
  const cli = Deno.readTextFileSync(out + "cli.js").replace(/^#!.*\n/, "");
  Deno.writeTextFileSync(out + "cli.js", "#!/usr/bin/env node\n" + cli, { mode: 0o755 });
}

// 3. Tests, with the Deno namespace of @deno/shim-deno and the assertions module by path.
if (withTests) {
  const tests = walk(root + "tests", (p) => p.endsWith(".ts") && !p.includes("/c/"))
    .map((p) => p.slice(root.length));
  for (const file of tests) {
    let text = Deno.readTextFileSync(root + file);
    const depth = file.split("/").length - 2;
    text = text.replaceAll('"@std/assert"', `"${depth ? "../".repeat(depth) : "./"}_assert.ts"`);
    if (/\bDeno\b/.test(text)) text = 'import { Deno } from "@deno/shim-deno";\n' + text;
    Deno.mkdirSync(stage + file.slice(0, file.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(stage + file, text);
  }
  copy(root + "scripts/npm_test_runner.ts", stage + "tests/_run.ts");
  compile(stage, [...tests, "tests/_run.ts"].map((f) => stage + f), false);
  // Fixtures the tests run as programs of their own (not TypeScript) go as they are, and the
  // constant lists that tests compare with.
  const data = [
    ...walk(root + "tests/fixtures", (p) => !p.endsWith(".ts")),
    ...walk(root + "scripts/constants", (p) => p.endsWith(".txt")),
  ];
  for (const f of data) {
    copy(f, out + f.slice(root.length));
  }
}
// Node.js resolves and loads each module on its own, about a millisecond apiece: as under
// Deno, mod.js exports a bundle of the library (ffi/_bundle/, its lazy parts in chunks of their
// own), which Node.js imports in about 40 ms where the fifty-odd modules took about 70. Last:
// compiling the tests emits the modules they import, mod.js among them, again.
for (const [path, text] of await generateLibraryBundle(out, "ffi/_exports.js", "build_npm.ts")) {
  Deno.mkdirSync(out + LIBRARY_BUNDLE_DIR, { recursive: true });
  Deno.writeTextFileSync(out + path, text);
}
const modJs = Deno.readTextFileSync(out + "mod.js");
Deno.writeTextFileSync(
  out + "mod.js",
  modJs.replace('export * from "./ffi/_exports.js";', `export * from "./${LIBRARY_BUNDLE_ENTRY}";`),
);
if (!Deno.readTextFileSync(out + "mod.js").includes(LIBRARY_BUNDLE_ENTRY)) {
  throw new Error("Cannot find the export of ffi/_exports.js in mod.js");
}
await Deno.remove(stage, { recursive: true });

// 4. The prebuilt native files of both architectures (scripts/build_native.ts), the C
// sources and the build that needs only cc, README and LICENSE.
await run(Deno.execPath(), ["run", "-A", "scripts/build_native.ts"]);
for (const f of walk(root + "native", () => true)) copy(f, out + f.slice(root.length));
for (const f of walk(root + "csrc", (p) => /\.(c|h|mk|sh)$|Makefile$/.test(p))) {
  copy(f, out + f.slice(root.length));
}
copy(root + "README.md", out + "README.md");
copy(root + "LICENSE", out + "LICENSE");
console.log(`npm package ${pkg.name}@${version} in ${out}${withTests ? " (with tests)" : ""}`);
