// Bundles the library with the WebAssembly inlined (run after `npm run asbuild`):
//   dist/browser/index.js  ESM for browsers and workers (minified)
//   dist/node/index.js     the same plus the Node file helpers (readCSV)
//   dist/node/cli.js       the `lmm` command
//   dist/types/            declarations
//   dist/app/              the browser app (app/, served by `lmm serve`)
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";

const common = {
  bundle: true,
  format: "esm",
  // Without a target esbuild emits Uint8Array.fromBase64, which Node 20 lacks.
  target: "es2022",
  loader: { ".wasm": "binary" },
  sourcemap: true,
  logLevel: "warning",
};
await Promise.all([
  // "browser" resolution picks the packages' browser builds (papaparse, @stdlib without native addons).
  build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/browser/index.js", platform: "browser", minify: true }),
  // fitMany's Web Worker, next to the library (src/fitmany-browser.ts finds it there).
  build({ ...common, entryPoints: ["src/fitmany-webworker.ts"], outfile: "dist/browser/fitmany-webworker.js", platform: "browser", minify: true }),
  // In Node the dependencies are installed next to the package: import them rather than bundle them.
  build({ ...common, entryPoints: ["src/node.ts"], outfile: "dist/node/index.js", platform: "node", packages: "external" }),
  build({ ...common, entryPoints: ["src/cli.ts"], outfile: "dist/node/cli.js", platform: "node", packages: "external" }),
  // fitMany's worker_threads entry, next to index.js and cli.js (src/fitmany-node.ts finds it there).
  build({ ...common, entryPoints: ["src/fitmany-worker.ts"], outfile: "dist/node/fitmany-worker.js", platform: "node", packages: "external" }),
]);
await buildApp();
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
console.log("built dist/browser/index.js, dist/node/index.js, dist/node/cli.js, dist/types");

/**
 * dist/app/: the page and its fit worker bundled with the library and Observable Plot, the CSS,
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
    build({ ...common, entryPoints: { app: "app/main.ts", worker: "app/worker.ts" }, outdir: "dist/app", platform: "browser", minify: true }),
    build({ ...common, entryPoints: ["app/style.css"], outdir: "dist/app", minify: true, sourcemap: false }),
  ]);
  mkdirSync("dist/app/examples", { recursive: true });
  copyFileSync("app/index.html", "dist/app/index.html");
  for (const f of examples) copyFileSync(f, path.join("dist/app/examples", path.basename(f)));
  console.log("built dist/app (index.html, app.js, worker.js, style.css, examples/)");
}
