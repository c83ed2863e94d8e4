// fitMany from the TypeScript sources runs its workers on the built bundle only when the bundle was
// built from those very sources: the hashes the build records (scripts/sources-hash.mjs) and the ones
// checked at run time (src/fitmany-worker-built.ts) agree, and any edit since the build is noticed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { builtWorkerIn, sourcesHash } from "../src/fitmany-worker-built.js";
// @ts-expect-error: a plain JavaScript module of the build
import { bundleInputs, sourcesHash as buildHash } from "../scripts/sources-hash.mjs";

/** A project folder with two sources, a bundle and the manifest the build writes. */
function project(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "worker-built-"));
  fs.mkdirSync(path.join(root, "src"));
  fs.mkdirSync(path.join(root, "dist/node"), { recursive: true });
  fs.writeFileSync(path.join(root, "src/a.ts"), "export const a = 1;\n");
  fs.writeFileSync(path.join(root, "src/b.ts"), "export const b = 2;\n");
  fs.writeFileSync(path.join(root, "package-lock.json"), "{}\n");
  fs.writeFileSync(path.join(root, "dist/node/fitmany-worker.js"), "// bundle\n");
  const files = bundleInputs({ inputs: { "src/b.ts": {}, "src/a.ts": {}, "node_modules/x/index.js": {} } }).filter((f: string) => f !== "scripts/build.mjs");
  const manifest = { sha256: buildHash(root, files), files, bundle: buildHash(root, ["dist/node/fitmany-worker.js"]) };
  fs.writeFileSync(path.join(root, "dist/node/fitmany-worker.inputs.json"), JSON.stringify(manifest));
  return root;
}

describe("the built worker", () => {
  it("lists the project's files of the bundle, the lock file and the build script, sorted", () => {
    expect(bundleInputs({ inputs: { "src/z.ts": {}, "build/simd.wasm": {}, "node_modules/@stdlib/x/lib/index.js": {}, "src/a.ts": {} } })).toEqual([
      "build/simd.wasm",
      "package-lock.json",
      "scripts/build.mjs",
      "src/a.ts",
      "src/z.ts",
    ]);
  });

  it("hashes as the build does", () => {
    const root = project();
    const files = ["src/a.ts", "src/b.ts", "package-lock.json"];
    expect(sourcesHash(root, files)).toBe(buildHash(root, files));
    expect(sourcesHash(root, files)).not.toBe(sourcesHash(root, files.slice().reverse()));
  });

  it("is used when the sources and the bundle are those of the build, and not after any edit", () => {
    const root = project();
    expect(builtWorkerIn(root)?.href).toBe(new URL(`file://${path.join(root, "dist/node/fitmany-worker.js")}`).href);
    fs.appendFileSync(path.join(root, "src/a.ts"), "// edited\n");
    expect(builtWorkerIn(root)).toBeNull();
    const other = project();
    fs.appendFileSync(path.join(other, "dist/node/fitmany-worker.js"), "// rebuilt from other sources\n");
    expect(builtWorkerIn(other)).toBeNull();
    const gone = project();
    fs.rmSync(path.join(gone, "src/b.ts"));
    expect(builtWorkerIn(gone)).toBeNull();
    expect(builtWorkerIn(fs.mkdtempSync(path.join(os.tmpdir(), "worker-unbuilt-")))).toBeNull();
  });
});
