// The blocked engine (WASM SIMD, WASM scalar and TS kernels) against the dense oracle on synthetic
// designs covering every block shape: scalar and vector first terms, crossed and nested trailing terms.
import { describe, expect, it } from "vitest";
import { BlockedSystem, type ReBlock } from "../src/blocked.js";
import { denseObjective } from "../src/dense.js";
import { loadKernels } from "../src/engine.js";
import type { EngineName } from "../src/kernels.js";
import { mulberry32, normal } from "./helpers/random.js";

interface Design { terms: ReBlock[]; X: Float64Array; p: number; y: Float64Array }

function design(seed: number, n: number, shapes: { m: number; k: number; nestIn?: number }[], p: number): Design {
  const rand = mulberry32(seed);
  const rnorm = normal(rand);
  const terms: ReBlock[] = [];
  const groups: Int32Array[] = [];
  for (const s of shapes) {
    const refs = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      // nested: the level is a function of an earlier term's level
      refs[r] = s.nestIn === undefined ? (r < s.m ? r : Math.floor(rand() * s.m)) : groups[s.nestIn][r] % s.m;
    }
    groups.push(refs);
    const Z = new Float64Array(n * s.k);
    for (let r = 0; r < n; r++) {
      Z[r * s.k] = 1;
      for (let c = 1; c < s.k; c++) Z[r * s.k + c] = rnorm();
    }
    terms.push({ m: s.m, k: s.k, refs, Z });
  }
  const X = new Float64Array(n * p);
  for (let r = 0; r < n; r++) {
    X[r * p] = 1;
    for (let c = 1; c < p; c++) X[r * p + c] = rnorm();
  }
  const y = new Float64Array(n);
  for (let r = 0; r < n; r++) y[r] = 3 + rnorm() + terms.reduce((s, t) => s + 0.5 * Math.sin(t.refs[r]), 0);
  return { terms, X, p, y };
}

const cases: [string, number, { m: number; k: number; nestIn?: number }[], number, number[]][] = [
  ["one scalar term", 200, [{ m: 12, k: 1 }], 2, [0.7]],
  ["one vector term k=2", 240, [{ m: 18, k: 2 }], 2, [0.9, 0.1, 0.3]],
  ["vector term k=3", 300, [{ m: 15, k: 3 }], 3, [1.1, -0.2, 0.3, 0.8, 0.05, 0.4]],
  ["crossed scalars", 300, [{ m: 40, k: 1 }, { m: 9, k: 1 }], 2, [0.6, 1.4]],
  ["three crossed scalars", 400, [{ m: 50, k: 1 }, { m: 20, k: 1 }, { m: 6, k: 1 }], 3, [0.3, 0.5, 0.1]],
  ["nested", 300, [{ m: 30, k: 1 }, { m: 10, k: 1, nestIn: 0 }], 1, [2.0, 0.5]],
  ["crossed vector + scalar", 360, [{ m: 60, k: 1 }, { m: 12, k: 2 }], 3, [0.8, 1.2, -0.3, 0.6]],
  ["vector first, vector trailing", 400, [{ m: 40, k: 2 }, { m: 10, k: 2 }], 2, [0.9, 0.2, 0.4, 0.7, -0.1, 0.3]],
  ["singular theta", 200, [{ m: 20, k: 1 }, { m: 5, k: 1 }], 2, [0, 0.9]],
];

const engines: EngineName[] = ["wasm-simd", "wasm-scalar", "ts"];

describe("blocked engine vs dense oracle", () => {
  for (const engine of engines) {
    for (const [name, n, shapes, p, theta] of cases) {
      it(`${engine}: ${name}`, async () => {
        const d = design(name.length * 31 + n, n, shapes, p);
        const kernels = await loadKernels(engine);
        const sys = new BlockedSystem(kernels, d.terms, d.X, d.p, d.y);
        expect(sys.nTheta).toBe(theta.length);
        const got = sys.update(theta)!;
        const want = denseObjective(d.terms, d.X, d.p, d.y, theta)!;
        expect(got).not.toBeNull();
        expect(got.logdetZ).toBeCloseTo(want.logdetZ, 9);
        expect(got.logdetX).toBeCloseTo(want.logdetX, 9);
        expect(Math.abs(got.pwrss / want.pwrss - 1)).toBeLessThan(1e-11);
        const sol = sys.solve();
        for (let i = 0; i < p; i++) expect(sol.beta[i]).toBeCloseTo(want.beta[i], 9);
        const u = Float64Array.from(sol.u.flatMap((x) => Array.from(x)));
        for (let i = 0; i < u.length; i++) expect(u[i]).toBeCloseTo(want.u[i], 9);
      });
    }
  }
});

describe("one arena for many models", () => {
  it("a model used after another model's fit lays itself out again and gives the same objective", async () => {
    const kernels = await loadKernels("wasm-simd");
    const a = design(1, 200, [{ m: 12, k: 2 }], 2);
    const b = design(2, 300, [{ m: 40, k: 1 }, { m: 9, k: 1 }], 2);
    const sa = new BlockedSystem(kernels, a.terms, a.X, a.p, a.y);
    const before = sa.update([0.9, 0.1, 0.3])!;
    const sb = new BlockedSystem(kernels, b.terms, b.X, b.p, b.y);
    sb.update([0.6, 1.4]);
    const after = sa.update([0.9, 0.1, 0.3])!;
    expect(after).toEqual(before);
    const bytes = kernels.buffer().byteLength;
    for (let i = 0; i < 20; i++) {
      new BlockedSystem(kernels, b.terms, b.X, b.p, b.y).update([0.6, 1.4]);
    }
    expect(kernels.buffer().byteLength).toBe(bytes); // memory is reused, not grown per fit
  });
});
