// Which script fitMany's Node workers run when fitMany itself runs from the TypeScript sources (tests,
// tsx). A worker loading the sources through tsx compiles every module first, 1.5 to 2.5 s before it
// can fit anything; the bundle (dist/node/fitmany-worker.js) loads in about 0.2 s. The bundle is used
// only when it was built from these very sources: the build records a hash of every file it was made
// of and one of the bundle itself (dist/node/fitmany-worker.inputs.json, by scripts/sources-hash.mjs),
// and both must equal the hashes of the files as they are now. Anything else (no build, a file edited
// since, a build from other sources under way) falls back to tsx.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** sha256 over each file's relative path and bytes, in the order given (scripts/sources-hash.mjs's). */
export function sourcesHash(root: string, files: string[]): string {
  const h = createHash("sha256");
  for (const f of files) {
    h.update(f);
    h.update("\0");
    h.update(readFileSync(path.join(root, f)));
    h.update("\0");
  }
  return h.digest("hex");
}

/** The bundle in `root`'s dist/node when it was built from `root`'s current files, else null. */
export function builtWorkerIn(root: string): URL | null {
  const bundle = path.join(root, "dist/node/fitmany-worker.js");
  try {
    const built = JSON.parse(readFileSync(path.join(root, "dist/node/fitmany-worker.inputs.json"), "utf8")) as { sha256: string; files: string[]; bundle: string };
    if (!existsSync(bundle) || sourcesHash(root, built.files) !== built.sha256 || sourcesHash(root, ["dist/node/fitmany-worker.js"]) !== built.bundle) return null;
  } catch {
    return null; // not built, or a file gone: the sources it is
  }
  return pathToFileURL(bundle);
}

/**
 * builtWorkerIn for the project these sources are in. Checked for every worker started (a few ms;
 * pools are kept between calls), so a build made meanwhile from other sources is never picked up.
 */
export function builtWorker(): URL | null {
  return builtWorkerIn(fileURLToPath(new URL("..", import.meta.url)));
}
