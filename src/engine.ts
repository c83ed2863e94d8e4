// Loads the kernels: the threads build (SIMD kernels on shared memory, with helper threads for the
// large dense steps; threads.ts) where the runtime allows it, else the SIMD WebAssembly build where
// supported, else the scalar build, else (or on request) the plain TypeScript kernels.
import { TsKernels, type EngineName, type Kernels } from "./kernels.js";
import { startThreadsEngine, threadsSupported } from "./threads.js";

/** wasm-feature-detect's SIMD probe: a function returning a v128 built with i8x16.popcnt. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** The module's exports: the kernels (pointers are byte offsets into `memory`) and the arena. */
type WasmExports = Omit<Kernels, "name" | "buffer"> & { memory: WebAssembly.Memory };

/** Wraps an instantiated kernel module; pointers are byte offsets into its memory. */
function wasmKernels(name: EngineName, x: WasmExports): Kernels {
  return {
    ...x,
    name,
    buffer: () => x.memory.buffer,
    alloc: (bytes) => {
      // The stub runtime traps ("unreachable") when memory cannot grow: say what was asked for.
      try {
        return x.alloc(bytes);
      } catch {
        const have = (x.memory.buffer.byteLength / 2 ** 20).toFixed(0);
        throw new Error(`WebAssembly memory could not grow by ${(bytes / 2 ** 20).toFixed(1)} MiB (it holds ${have} MiB; the limit is 4 GiB)`);
      }
    },
  };
}

/** Instantiates one build from its bytes (used directly by bench/ and tests that read build/*.wasm). */
export async function instantiateKernels(name: "wasm-simd" | "wasm-scalar", bytes: Uint8Array<ArrayBuffer>): Promise<Kernels> {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return wasmKernels(name, instance.exports as unknown as WasmExports);
}

/**
 * Instantiates the threads build from its bytes with its helper threads (a spawner must be registered:
 * src/node.ts does in Node). Used by loadKernels, and directly by bench/ and tests.
 */
export async function instantiateThreadsKernels(bytes: Uint8Array<ArrayBuffer>, helpers?: number, eager?: boolean): Promise<Kernels> {
  const engine = await startThreadsEngine(bytes, (x) => wasmKernels("wasm-threads", x as unknown as WasmExports), helpers, eager);
  return engine.kernels;
}

export type EngineChoice = "auto" | EngineName;

const loaded = new Map<EngineName, Promise<Kernels>>();

/** The best single-thread build: SIMD if supported, then scalar WebAssembly, then TypeScript. */
function singleThreadBuild(): EngineName {
  if (typeof WebAssembly !== "object") return "ts";
  return simdSupported() ? "wasm-simd" : "wasm-scalar";
}

/**
 * The kernels for `choice`. "auto": the threads build where shared memory, blocking waits and a
 * helper thread are available (Node, a cross-origin isolated page's workers), else the best
 * single-thread build; `threads: false` skips the threads build (fitMany's lanes are its threads).
 * Each build is instantiated once and its memory reused by every later fit.
 */
export function loadKernels(choice: EngineChoice = "auto", opts: { threads?: boolean } = {}): Promise<Kernels> {
  if (choice === "auto") {
    if (opts.threads !== false && simdSupported() && threadsSupported()) {
      return load("wasm-threads").catch(() => load(singleThreadBuild()));
    }
    return load(singleThreadBuild());
  }
  return load(choice);
}

function load(name: EngineName): Promise<Kernels> {
  let k = loaded.get(name);
  if (!k) {
    k = makeKernels(name);
    loaded.set(name, k);
  }
  return k;
}

async function makeKernels(name: EngineName): Promise<Kernels> {
  if (name === "ts") return new TsKernels();
  const { wasmBytes } = await import("./wasm-bytes.js");
  if (name !== "wasm-scalar" && !simdSupported()) throw new Error("this runtime does not support WebAssembly SIMD");
  if (name === "wasm-threads") {
    if (!threadsSupported()) throw new Error("this runtime cannot run the threads build (it needs SharedArrayBuffer, a registered helper-thread spawner, and blocking waits: Node, or a worker of a cross-origin isolated page)");
    return instantiateThreadsKernels(wasmBytes.threads);
  }
  return instantiateKernels(name, name === "wasm-simd" ? wasmBytes.simd : wasmBytes.scalar);
}

/** The WebAssembly module bytes of a single-thread build, for starting the same build in workers. */
export async function engineBytes(name: "wasm-simd" | "wasm-scalar"): Promise<Uint8Array> {
  const { wasmBytes } = await import("./wasm-bytes.js");
  return name === "wasm-simd" ? wasmBytes.simd : wasmBytes.scalar;
}
