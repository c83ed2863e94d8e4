// The threads build (src/threads.ts): the team's Cholesky and Schur downdate give the single-thread
// SIMD build's bits, fits through it equal the SIMD fits exactly, and "auto" picks it in Node.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import "../src/node.js"; // registers the worker_threads spawner
import { instantiateKernels, instantiateThreadsKernels, loadKernels } from "../src/engine.js";
import type { Kernels } from "../src/kernels.js";
import { LinearMixedModel, lmer } from "../src/linearmixedmodel.js";
import { teamTasks, threadsSupported } from "../src/threads.js";
import { Rng } from "../src/random.js";

const build = (f: string) => new Uint8Array(fs.readFileSync(new URL(`../build/${f}`, import.meta.url)));

/** A seeded SPD matrix B B' + I of order n (rank-40 B: a fill like a crossed design's). */
function spd(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const k = 40;
  const B = Float64Array.from({ length: n * k }, () => rng.normal());
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let v = 0;
      for (let c = 0; c < k; c++) v += B[i * k + c] * B[j * k + c];
      M[i * n + j] = v + (i === j ? 1 : 0);
    }
  }
  return M;
}

function factor(K: Kernels, M: Float64Array, n: number): { info: number; L: Float64Array } {
  K.reset();
  const p = K.alloc(n * n * 8);
  new Float64Array(K.buffer(), p, n * n).set(M);
  const info = K.choleskyStrided(p, n, n);
  return { info, L: new Float64Array(K.buffer(), p, n * n).slice() };
}

/** A crossed subject × item design large enough for the team (trailing block > 256, many entries). */
function crossed(): Record<string, ArrayLike<number | string>> {
  const rng = new Rng(7);
  const nS = 600, nI = 320, perS = 60;
  const subj: string[] = [], item: string[] = [], x: number[] = [], y: number[] = [];
  const bs = Array.from({ length: nS }, () => rng.normal() * 0.8);
  const bi = Array.from({ length: nI }, () => rng.normal() * 0.5);
  for (let a = 0; a < nS; a++) {
    for (let r = 0; r < perS; r++) {
      const b = Math.floor(rng.uniform() * nI);
      const xv = rng.normal();
      subj.push(`s${a}`);
      item.push(`i${b}`);
      x.push(xv);
      y.push(1 + 0.3 * xv + bs[a] + bi[b] + rng.normal());
    }
  }
  return { y, x, subj, item };
}

describe("threads build", () => {
  it("is offered in Node once the worker_threads spawner is registered", () => {
    expect(threadsSupported()).toBe(true);
  });

  it("factors with the team bit for bit as the single-thread SIMD build, and finds the same failing pivot", async () => {
    const KT = await instantiateThreadsKernels(build("threads.wasm"), 1, true);
    const KS = await instantiateKernels("wasm-simd", build("simd.wasm"));
    for (const n of [643, 1030]) {
      const M = spd(n, n);
      const a = factor(KS, M, n);
        const before = teamTasks.update;
      const b = factor(KT, M, n);
      expect(teamTasks.update).toBeGreaterThan(before);
      expect(a.info).toBe(0);
      expect(b.info).toBe(0);
      expect(Buffer.from(b.L.buffer).equals(Buffer.from(a.L.buffer))).toBe(true);
      // not positive definite at row r (past the first column block): the same 1-based pivot from both
      const r = Math.floor(0.6 * n);
      const bad = M.slice();
      bad[r * n + r] = -1;
      expect(factor(KT, bad, n).info).toBe(r + 1);
      expect(factor(KS, bad, n).info).toBe(r + 1);
    }
  });

  it("fits a crossed design (parallel downdate and factor) exactly as the SIMD build", async () => {
    const KT = await instantiateThreadsKernels(build("threads.wasm"), 1, true);
    const KS = await instantiateKernels("wasm-simd", build("simd.wasm"));
    const data = crossed();
    const F = "y ~ 1 + x + (1|subj) + (1|item)";
    const a = LinearMixedModel.fit(KS, F, data, { REML: false });
    const before = { ...teamTasks };
    const b = LinearMixedModel.fit(KT, F, data, { REML: false });
    // every evaluation ran the team's solve, update and downdate
    for (const k of ["solve", "update", "downdate"] as const) expect(teamTasks[k] - before[k]).toBeGreaterThanOrEqual(b.feval);
    expect(b.engine).toBe("wasm-threads");
    expect(b.feval).toBe(a.feval);
    expect(Array.from(b.theta)).toEqual(Array.from(a.theta));
    expect(b.objectiveAtOptimum).toBe(a.objectiveAtOptimum);
    expect(b.fixef()).toEqual(a.fixef());
    expect(b.sigma).toBe(a.sigma);
  }, 60000);

  it("is what lmer's engine 'auto' runs in Node, and reports it", async () => {
    const K = await loadKernels("auto");
    expect(K.name).toBe("wasm-threads");
    const m = await lmer("y ~ 1 + x + (1|subj)", crossed());
    expect(m.engine).toBe("wasm-threads");
    expect(m.toJSON().engine).toBe("wasm-threads");
  }, 60000);
});
