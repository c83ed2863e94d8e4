// The three WebAssembly builds, inlined as bytes by the bundler (esbuild --loader:.wasm=binary, or the
// vitest plugin in vitest.config.ts), so the library needs no file access in any runtime.
import scalar from "../build/release.wasm";
import simd from "../build/simd.wasm";
import threads from "../build/threads.wasm";

export const wasmBytes = { scalar, simd, threads };
