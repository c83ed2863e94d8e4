// The WebAssembly kernels (SIMD and scalar builds) against the plain TypeScript kernels on random
// positive-definite systems up to n = 500, and the per-θ work's independence of the number of rows.
import { describe, expect, it } from "vitest";
import { BlockedSystem, type ReBlock } from "../src/blocked.js";
import { loadKernels } from "../src/engine.js";
import type { EngineName, Kernels } from "../src/kernels.js";
import { mulberry32, normal } from "./helpers/random.js";

/** A random SPD matrix B B' + n I (row-major). */
function randomSPD(n: number, seed: number): Float64Array {
  const rnorm = normal(mulberry32(seed));
  const B = Float64Array.from({ length: n * n }, rnorm);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
      A[i * n + j] = s;
      A[j * n + i] = s;
    }
  }
  return A;
}

function factor(K: Kernels, A: Float64Array, n: number): { info: number; L: Float64Array; logdet: number } {
  K.reset();
  const p = K.alloc(n * n * 8);
  new Float64Array(K.buffer(), p, n * n).set(A);
  const info = K.cholesky(p, n);
  const logdet = K.sumLogDiag(p, n, n + 1);
  return { info, L: new Float64Array(K.buffer(), p, n * n).slice(), logdet };
}

describe("WASM kernels vs the TypeScript kernels", () => {
  const sizes = [1, 2, 3, 4, 5, 7, 8, 17, 64, 131, 500];
  for (const engine of ["wasm-simd", "wasm-scalar"] as EngineName[]) {
    it(`${engine}: Cholesky of random SPD matrices, n = ${sizes.join(", ")}`, async () => {
      const wasm = await loadKernels(engine);
      const ts = await loadKernels("ts");
      for (const n of sizes) {
        const A = randomSPD(n, n * 7 + 1);
        const a = factor(wasm, A, n), b = factor(ts, A, n);
        expect(a.info).toBe(0);
        expect(b.info).toBe(0);
        let maxDiff = 0, maxL = 0;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j <= i; j++) {
            maxDiff = Math.max(maxDiff, Math.abs(a.L[i * n + j] - b.L[i * n + j]));
            maxL = Math.max(maxL, Math.abs(b.L[i * n + j]));
          }
        }
        expect(maxDiff / maxL, `n = ${n}`).toBeLessThan(1e-12);
        expect(Math.abs(a.logdet - b.logdet) / Math.abs(b.logdet)).toBeLessThan(1e-13);
        // L L' reproduces A
        let resid = 0;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let k = 0; k <= j; k++) s += a.L[i * n + k] * a.L[j * n + k];
            resid = Math.max(resid, Math.abs(s - A[i * n + j]) / A[i * n + i]);
          }
        }
        expect(resid, `n = ${n}`).toBeLessThan(1e-12);
      }
    });

    it(`${engine}: reports the failing pivot of an indefinite matrix`, async () => {
      const wasm = await loadKernels(engine);
      const n = 9;
      const A = randomSPD(n, 3);
      A[6 * n + 6] = -1;
      expect(factor(wasm, A, n).info).toBe(7);
      expect(factor(await loadKernels("ts"), A, n).info).toBe(7);
    });
  }
});

/** A random intercept + slope design with `m` groups and `n` rows, plus a crossed scalar term. */
function design(n: number, m: number, seed: number): { terms: ReBlock[]; X: Float64Array; y: Float64Array } {
  const rand = mulberry32(seed);
  const rnorm = normal(rand);
  const refs0 = Int32Array.from({ length: n }, (_, r) => r % m);
  const Z0 = new Float64Array(2 * n);
  for (let r = 0; r < n; r++) {
    Z0[2 * r] = 1;
    Z0[2 * r + 1] = rnorm();
  }
  const refs1 = Int32Array.from({ length: n }, (_, r) => (r * 7 + Math.floor(r / m) * 5) % 9);
  const Z1 = new Float64Array(n).fill(1);
  const X = new Float64Array(3 * n);
  for (let r = 0; r < n; r++) {
    X[3 * r] = 1;
    X[3 * r + 1] = Z0[2 * r + 1];
    X[3 * r + 2] = rnorm();
  }
  const y = Float64Array.from({ length: n }, rnorm);
  return { terms: [{ m, k: 2, refs: refs0, Z: Z0 }, { m: 9, k: 1, refs: refs1, Z: Z1 }], X, y };
}

describe("per-θ work does not grow with the rows", () => {
  it("the same groups with 20× the rows give the same blocked system sizes", async () => {
    const K = await loadKernels("ts");
    const shape = (n: number) => {
      const d = design(n, 50, n);
      const s = new BlockedSystem(K, d.terms, d.X, 3, d.y);
      // Everything the per-θ kernels loop over: first-term levels, panel rows, the trailing block.
      return { m1: s.terms[0].m, k1: s.terms[0].k, panelRows: s.nPanelRows, q2: s.q2, nTheta: s.nTheta };
    };
    const small = shape(5000), large = shape(100000);
    expect(large).toEqual(small);
    expect(small.panelRows).toBe(50 * (9 + 3 + 1));
  });
});
