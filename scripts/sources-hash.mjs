// The hash of the files a bundle was built from, recorded next to dist/node/fitmany-worker.js so that
// fitMany run from the TypeScript sources can tell whether that bundle is theirs
// (src/fitmany-worker-built.ts computes the same hash; test/fitmany-worker-built.test.ts checks they agree).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

/** sha256 over each file's relative path and bytes, in the order given. */
export function sourcesHash(root, files) {
  const h = createHash("sha256");
  for (const f of files) {
    h.update(f);
    h.update("\0");
    h.update(readFileSync(path.join(root, f)));
    h.update("\0");
  }
  return h.digest("hex");
}

/**
 * What a bundle depends on, from esbuild's metafile: the project files it bundled (not node_modules:
 * the installed packages are pinned by package-lock.json, which is listed instead), and the build
 * script with its options. Sorted, so the hash does not depend on the bundler's order.
 */
export function bundleInputs(metafile) {
  const own = Object.keys(metafile.inputs).filter((f) => !f.startsWith("node_modules/") && !f.includes(":"));
  return [...new Set([...own, "package-lock.json", "scripts/build.mjs"])].sort();
}
