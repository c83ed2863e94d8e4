import { defineConfig } from "vitest/config";
import { readFile } from "node:fs/promises";

export default defineConfig({
  plugins: [
    {
      // Inline .wasm imports as bytes, the same result as esbuild's --loader:.wasm=binary.
      name: "wasm-binary",
      enforce: "pre",
      async load(id) {
        if (!id.endsWith(".wasm")) return null;
        const b64 = (await readFile(id)).toString("base64");
        return `export default Uint8Array.from(atob(${JSON.stringify(b64)}), (c) => c.charCodeAt(0));`;
      },
    },
  ],
  test: { include: ["test/**/*.test.ts"], testTimeout: 60000 },
});
