// Bundles the library with the WebAssembly inlined (run after `npm run asbuild`):
//   dist/browser/index.js  ESM for browsers and workers (minified)
//   dist/node/index.js     the same plus the Node file helpers (readCSV)
//   dist/node/cli.js       the `lmm` command
//   dist/types/            declarations
import { build } from "esbuild";
import { execFileSync } from "node:child_process";

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
  // In Node the dependencies are installed next to the package: import them rather than bundle them.
  build({ ...common, entryPoints: ["src/node.ts"], outfile: "dist/node/index.js", platform: "node", packages: "external" }),
  build({ ...common, entryPoints: ["src/cli.ts"], outfile: "dist/node/cli.js", platform: "node", packages: "external" }),
  // fitMany's worker_threads entry, next to index.js and cli.js (src/fitmany-node.ts finds it there).
  build({ ...common, entryPoints: ["src/fitmany-worker.ts"], outfile: "dist/node/fitmany-worker.js", platform: "node", packages: "external" }),
]);
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
console.log("built dist/browser/index.js, dist/node/index.js, dist/node/cli.js, dist/types");
