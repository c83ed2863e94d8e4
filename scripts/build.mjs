// Bundles the library with the WebAssembly inlined (run after `npm run asbuild`):
//   dist/browser/index.js  ESM for browsers and workers (minified)
//   dist/node/index.js     the same plus the Node file helpers (readCSV)
//   dist/node/cli.js       the `lmm` command
//   dist/types/            declarations
//   dist/app/              the browser app (app/, served by `lmm serve`)
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { bundleInputs, sourcesHash } from "./sources-hash.mjs";

const common = {
  bundle: true,
  format: "esm",
  // Without a target esbuild emits Uint8Array.fromBase64, which Node 20 lacks.
  target: "es2022",
  loader: { ".wasm": "binary" },
  sourcemap: true,
  logLevel: "warning",
};
/**
 * The commands (cli.js, the fitMany worker) keep the packages external too, but bundle @stdlib's:
 * each is hundreds of small CommonJS files that Node loads one by one, 0.3 s of every `lmm` start and
 * of every fitMany worker's start; bundled they load with the rest.
 */
const stdlibBundled = {
  plugins: [
    {
      name: "external-but-stdlib",
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (a) => (a.kind === "entry-point" || a.path.startsWith("@stdlib/") ? undefined : { path: a.path, external: true }));
      },
    },
  ],
  // @stdlib's CommonJS requires a few packages and Node modules (debug, tty) when it runs: a real
  // require for them, resolved from dist/node like the bundle's imports.
  banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
};
/** fitMany's worker, with the hash of the files it was built from (src/fitmany-worker-built.ts reads it). */
async function buildWorker() {
  const { metafile } = await build({ ...common, entryPoints: ["src/fitmany-worker.ts"], outfile: "dist/node/fitmany-worker.js", platform: "node", ...stdlibBundled, metafile: true });
  const files = bundleInputs(metafile);
  const manifest = { sha256: sourcesHash(".", files), files, bundle: sourcesHash(".", ["dist/node/fitmany-worker.js"]) };
  writeFileSync("dist/node/fitmany-worker.inputs.json", JSON.stringify(manifest, null, 1) + "\n");
}
await Promise.all([
  // "browser" resolution picks the packages' browser builds (papaparse, @stdlib without native addons).
  build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/browser/index.js", platform: "browser", minify: true }),
  // fitMany's Web Worker, next to the library (src/fitmany-browser.ts finds it there).
  build({ ...common, entryPoints: ["src/fitmany-webworker.ts"], outfile: "dist/browser/fitmany-webworker.js", platform: "browser", minify: true }),
  // In Node the dependencies are installed next to the package: import them rather than bundle them.
  build({ ...common, entryPoints: ["src/node.ts"], outfile: "dist/node/index.js", platform: "node", packages: "external" }),
  build({ ...common, entryPoints: ["src/cli.ts"], outfile: "dist/node/cli.js", platform: "node", ...stdlibBundled }),
  // fitMany's worker_threads entry, next to index.js and cli.js (src/fitmany-node.ts finds it there).
  buildWorker(),
]);
await buildApp();
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
console.log("built dist/browser/index.js, dist/node/index.js, dist/node/cli.js, dist/types");

/**
 * dist/app/: the page and its workers (one model; many responses, with fitMany's nested worker) bundled
 * with the library and Observable Plot, the CSS,
 * index.html and the example data sets: no CDN, so it runs offline from `lmm serve` or any static server.
 */
async function buildApp() {
  const examples = [
    "examples/sleepstudy.csv",
    "examples/sleepstudy.levels.json",
    "test/fixtures/extra/data/trial.csv",
    "test/fixtures/extra/data/trial.levels.json",
    "test/fixtures/extra/data/eeg.csv",
    "test/fixtures/extra/data/eeg.levels.json",
    "test/fixtures/reference/data/cbpp.csv",
    "test/fixtures/reference/data/cbpp.levels.json",
    "test/fixtures/reference/data/grouseticks.csv",
    "test/fixtures/reference/data/grouseticks.levels.json",
  ];
  rmSync("dist/app", { recursive: true, force: true });
  await Promise.all([
    build({
      ...common,
      // many-worker runs fitMany, whose nested Web Workers load fitmany-webworker.js from next to it.
      entryPoints: { app: "app/main.ts", worker: "app/worker.ts", "many-worker": "app/many-worker.ts", "fitmany-webworker": "src/fitmany-webworker.ts" },
      outdir: "dist/app",
      platform: "browser",
      minify: true,
    }),
    build({ ...common, entryPoints: ["app/style.css"], outdir: "dist/app", minify: true, sourcemap: false }),
  ]);
  mkdirSync("dist/app/examples", { recursive: true });
  copyFileSync("app/index.html", "dist/app/index.html");
  for (const f of examples) copyFileSync(f, path.join("dist/app/examples", path.basename(f)));
  console.log("built dist/app (index.html, app.js, worker.js, many-worker.js, fitmany-webworker.js, style.css, examples/)");
}
