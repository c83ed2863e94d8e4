// simulate(), refitResponse() and the parametric bootstrap (lme4's simulate.merMod, refit(newresp),
// bootMer and confint(method = "boot")), and the seeded random numbers under them.
import { describe, expect, it } from "vitest";
import { BlockedSystem, type ReBlock } from "../src/blocked.js";
import { bootMer, bootParameterNames, confintBoot, confintBootMer, percentileInterval } from "../src/bootstrap.js";
import type { Table } from "../src/data.js";
import { loadKernels } from "../src/engine.js";
import type { EngineName } from "../src/kernels.js";
import { lmer, LinearMixedModel } from "../src/linearmixedmodel.js";
import { log, qnorm, Rng, SplitMix64 } from "../src/random.js";
import { mulberry32, normal } from "./helpers/random.js";
import { referenceDir, referenceTable } from "./helpers/reference.js";
import fs from "node:fs";
import path from "node:path";

const sleep = () => referenceTable("data/sleepstudy.csv", "sleepstudy");
const SLOPE = "Reaction ~ Days + (Days | Subject)";
const INTERCEPT = "Reaction ~ Days + (1 | Subject)";

/** sleepstudy with Reaction replaced by y. */
function withResponse(y: Float64Array, t: Table = sleep()): Table {
  const columns = new Map(t.columns);
  columns.set("Reaction", { type: "numeric", values: y });
  return { ...t, columns };
}

/** The fit's JSON without its timing (which differs between calls). */
function snapshot(m: LinearMixedModel): string {
  return JSON.stringify({ ...m.toJSON(), time_s: 0 });
}

describe("random numbers (xoshiro256** seeded by splitmix64, normals by inversion)", () => {
  const hex = (hi: number, lo: number) => hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");

  it("reproduces the reference C code's outputs", () => {
    // From Vigna's splitmix64.c and xoshiro256starstar.c compiled with gcc (the state from 4 splitmix64 outputs).
    const sm = new SplitMix64(0);
    const smOut = Array.from({ length: 3 }, () => (sm.next(), hex(sm.outHi, sm.outLo)));
    expect(smOut).toEqual(["e220a8397b1dcdaf", "6e789e6aa1b965f4", "06c45d188009454f"]);
    const expected: [number, string[]][] = [
      [0, ["99ec5f36cb75f2b4", "bf6e1f784956452a", "1a5f849d4933e6e0", "6aa594f1262d2d2c", "bba5ad4a1f842e59"]],
      [42, ["15780b2e0c2ec716", "6104d9866d113a7e", "ae17533239e499a1", "ecb8ad4703b360a1", "fde6dc7fe2ec5e64"]],
      [-1, ["8f5520d52a7ead08", "c476a018caa1802d", "81de31c0d260469e", "bf658d7e065f3c2f", "913593fda1bca32a"]],
      [123456789012345, ["9854c4f3279070d9", "3a39855d9628454d", "3d70c7186eac8536", "a6446abb84cdde37", "1e05fbc9ef80ef19"]],
    ];
    for (const [seed, out] of expected) {
      const r = new Rng(seed);
      expect(out.map(() => r.nextHex())).toEqual(out);
    }
    const j = new Rng(42);
    j.jump();
    expect([j.nextHex(), j.nextHex(), j.nextHex()]).toEqual(["50086ef83cbf4f4a", "ba285ec21347d703", "5ea1247b4dc6452a"]);
    expect(() => new Rng(0.5)).toThrow(/seed must be an integer/);
  });

  it("agrees with a BigInt transcription of the reference code on long streams", () => {
    const M = (1n << 64n) - 1n;
    const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (64n - k))) & M;
    for (const seed of [7, 2 ** 40 + 3, -12345]) {
      let x = BigInt.asUintN(64, BigInt(seed));
      const sm = () => {
        x = (x + 0x9e3779b97f4a7c15n) & M;
        let z = x;
        z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
        z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
        return z ^ (z >> 31n);
      };
      const s = [sm(), sm(), sm(), sm()];
      const r = new Rng(seed);
      for (let i = 0; i < 2000; i++) {
        const result = (rotl((s[1] * 5n) & M, 7n) * 9n) & M;
        const t = (s[1] << 17n) & M;
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45n);
        r.next();
        expect((BigInt(r.outHi) << 32n) | BigInt(r.outLo)).toBe(result);
      }
    }
  });

  it("gives fixed uniforms and normal deviates for a seed (normals as R's qnorm of them)", () => {
    const r = new Rng(2024);
    // k = the top 52 bits of the reference outputs; u = (2k + 1)/2^53.
    const ks = [251268834606455, 3522282260047777, 324506601217765, 719296333004330];
    const us = ks.map(() => r.uniformOpen());
    expect(us).toEqual(ks.map((k) => (2 * k + 1) / 2 ** 53));
    // R: qnorm(u), printed with 17 digits.
    const rQnorm = [-1.59110575218907413, 0.77931793161469409, -1.46065596222893523, -0.9956263228589014];
    const z = new Rng(2024);
    const zs = ks.map(() => z.normal());
    zs.forEach((v, i) => expect(Math.abs(v - rQnorm[i])).toBeLessThan(4e-16 * Math.abs(rQnorm[i])));
    // The same bits on every platform: our exact values.
    expect(zs).toEqual([-1.5911057521890741, 0.7793179316146941, -1.4606559622289352, -0.9956263228589014]);
    // Skipping, cloning and filling continue the same stream.
    const a = new Rng(99), b = new Rng(99);
    a.skip(1000);
    for (let i = 0; i < 1000; i++) b.next();
    const c = a.clone();
    expect(a.fillNormal(new Float64Array(5))).toEqual(Float64Array.from({ length: 5 }, () => b.normal()));
    expect(c.normal()).toBe(new Rng(99).fillNormal(new Float64Array(1001))[1000]);
  });

  it("qnorm matches R and the fdlibm log matches Math.log bit for bit", () => {
    const ps = [1e-300, 1e-20, 0.001, 0.02425, 0.3, 0.5, 0.7, 0.975, 1 - 1e-10];
    const rq = [-37.0470962993612005, -9.26234008979840517, -3.09023230616781319, -1.97296105131188448, -0.52440051270804067, 0, 0.52440051270804067, 1.95996398454005361, 6.36134088969742084];
    ps.forEach((p, i) => expect(Math.abs(qnorm(p) - rq[i])).toBeLessThanOrEqual(2e-15 * Math.abs(rq[i])));
    const r = new Rng(5);
    for (let i = 0; i < 10000; i++) {
      const x = i % 2 ? r.uniformOpen() : Math.exp((r.uniform() - 0.5) * 1400);
      expect(log(x)).toBe(Math.log(x));
    }
    expect([log(0), log(-1), log(Infinity), log(1), log(5e-324)]).toEqual([-Infinity, NaN, Infinity, 0, Math.log(5e-324)]);
  });

  it("normal deviates have mean 0, variance 1 and are symmetric", () => {
    const r = new Rng(11);
    const n = 200000;
    let s = 0, s2 = 0, s4 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z; s2 += z * z; s4 += z ** 4;
    }
    expect(Math.abs(s / n)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    expect(Math.abs(s4 / n - 3)).toBeLessThan(4 * Math.sqrt(96 / n));
    expect(qnorm(0.3)).toBe(-qnorm(0.7));
  });
});

describe("simulate (lme4's simulate.merMod, re.form = NA)", () => {
  it("is reproducible and draws one simulation after another from one stream", async () => {
    const m = await lmer(SLOPE, sleep());
    const a = m.simulate(3, { seed: 17 });
    expect(a).toHaveLength(3);
    expect(a[0]).toHaveLength(180);
    expect(m.simulate(3, { seed: 17 })).toEqual(a);
    expect(m.simulate(3, { seed: 18 })[0]).not.toEqual(a[0]);
    const rng = new Rng(17);
    expect([m.simulate(1, { rng })[0], m.simulate(1, { rng })[0], m.simulate(1, { rng })[0]]).toEqual(a);
    // Each simulation uses q + n = 36 + 180 draws.
    const skipped = new Rng(17);
    skipped.skip(2 * (36 + 180));
    expect(m.simulate(1, { rng: skipped })[0]).toEqual(a[2]);
    expect(() => m.simulate(-1)).toThrow(/nsim/);
  });

  it("(1 | Subject): group means have variance σ_b² + σ²/n_g, centred at the fixed-effects prediction", async () => {
    const m = await lmer(INTERCEPT, sleep());
    const nsim = 2000;
    const sims = m.simulate(nsim, { seed: 1 });
    const refs = m.reTerms[0].refs;
    const G = m.reTerms[0].levels.length;
    const ng = new Float64Array(G);
    for (const j of refs) ng[j]++;
    const sb = m.VarCorr().Subject.sd[0], s = m.sigma;
    const target = sb ** 2 + s ** 2 / 10;
    expect([...ng].every((v) => v === 10)).toBe(true);
    // X β̂ averaged within each subject (Days 0..9 for everyone).
    const fe = m.fixef();
    const expectMean = fe["(Intercept)"] + 4.5 * fe.Days;
    let pooled = 0;
    const means = new Float64Array(nsim * G);
    sims.forEach((y, i) => {
      for (let r = 0; r < y.length; r++) means[i * G + refs[r]] += y[r] / 10;
    });
    let maxMeanErr = 0;
    for (let g = 0; g < G; g++) {
      let mu = 0;
      for (let i = 0; i < nsim; i++) mu += means[i * G + g] / nsim;
      let v = 0;
      for (let i = 0; i < nsim; i++) v += (means[i * G + g] - mu) ** 2 / (nsim - 1);
      pooled += v / G;
      expect(Math.abs(v / target - 1)).toBeLessThan(0.12); // one group: sd of the ratio sqrt(2/1999) = 3.2%
      maxMeanErr = Math.max(maxMeanErr, Math.abs(mu - expectMean) / Math.sqrt(target / nsim));
    }
    expect(maxMeanErr).toBeLessThan(4);
    // Pooled over the 18 subjects: sd of the ratio about 0.75%.
    expect(Math.abs(pooled / target - 1)).toBeLessThan(0.03);
    // Two rows of one subject covary by σ_b², rows of different subjects not at all.
    const cov = (r1: number, r2: number) => {
      let a = 0, b = 0, ab = 0;
      for (const y of sims) { a += y[r1]; b += y[r2]; ab += y[r1] * y[r2]; }
      return ab / nsim - (a / nsim) * (b / nsim);
    };
    expect(Math.abs(cov(0, 5) / sb ** 2 - 1)).toBeLessThan(0.15);
    expect(Math.abs(cov(0, 15)) / (sb ** 2 + s ** 2)).toBeLessThan(0.08);
  });

  it("(Days | Subject): Var(y) = σ² (z'ΛΛ'z + 1) for each Days; useREForm: mean fitted(), variance σ²", async () => {
    const m = await lmer(SLOPE, sleep());
    const sims = m.simulate(2000, { seed: 2 });
    const vc = m.VarCorr().Subject;
    const [s0, s1] = vc.sd, rho = vc.corr![0][1];
    const days = (m.frame.X as Float64Array).filter((_, i) => i % 2 === 1);
    let worst = 0;
    for (let d = 0; d <= 9; d++) {
      const rows = [...days.keys()].filter((r) => days[r] === d); // one row per subject
      const target = s0 ** 2 + 2 * d * rho * s0 * s1 + d * d * s1 ** 2 + m.sigma ** 2;
      let v = 0;
      for (const r of rows) {
        let a = 0, a2 = 0;
        for (const y of sims) { a += y[r]; a2 += y[r] ** 2; }
        v += (a2 / sims.length - (a / sims.length) ** 2) / rows.length;
      }
      worst = Math.max(worst, Math.abs(v / target - 1));
    }
    expect(worst).toBeLessThan(0.04);
    const cond = m.simulate(2000, { seed: 3, useREForm: true });
    const fitted = m.fitted();
    let pooledVar = 0, maxZ = 0;
    for (let r = 0; r < 180; r++) {
      let a = 0, a2 = 0;
      for (const y of cond) { a += y[r]; a2 += y[r] ** 2; }
      const mu = a / cond.length;
      pooledVar += (a2 / cond.length - mu * mu) / 180;
      maxZ = Math.max(maxZ, Math.abs(mu - fitted[r]) / (m.sigma / Math.sqrt(cond.length)));
    }
    expect(Math.abs(pooledVar / m.sigma ** 2 - 1)).toBeLessThan(0.02);
    expect(maxZ).toBeLessThan(4.5);
  });

  it("crossed terms (Penicillin): variance and covariances per term; refits of the crossed design", async () => {
    const m = await lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", referenceTable("data/Penicillin.csv", "Penicillin"));
    const sims = m.simulate(3000, { seed: 6 });
    const vc = m.VarCorr();
    const sp = vc.plate.sd[0] ** 2, ss = vc.sample.sd[0] ** 2, s2 = m.sigma ** 2;
    const [plate, sample] = ["plate", "sample"].map((g) => m.reTerms.find((t) => t.group === g)!.refs);
    const n = m.n;
    const mean = new Float64Array(n);
    for (const y of sims) for (let r = 0; r < n; r++) mean[r] += y[r] / sims.length;
    const cov = (a: number, b: number) => sims.reduce((acc, y) => acc + (y[a] - mean[a]) * (y[b] - mean[b]), 0) / sims.length;
    // Pooled over rows: Var(y) = σ_plate² + σ_sample² + σ²; same plate only: σ_plate²; same sample only: σ_sample².
    let v = 0, cp = 0, cs = 0, np = 0, ns = 0;
    for (let r = 0; r < n; r++) v += cov(r, r) / n;
    for (let a = 0; a < n && (np < 40 || ns < 40); a++) {
      for (let b = a + 1; b < n; b++) {
        if (plate[a] === plate[b] && sample[a] !== sample[b] && np < 40) { cp += cov(a, b); np++; }
        if (sample[a] === sample[b] && plate[a] !== plate[b] && ns < 40) { cs += cov(a, b); ns++; }
      }
    }
    expect(Math.abs(v / (sp + ss + s2) - 1)).toBeLessThan(0.03);
    expect(Math.abs(cp / np / sp - 1)).toBeLessThan(0.12);
    expect(Math.abs(cs / ns / ss - 1)).toBeLessThan(0.12);
    const r = m.refitResponse(sims[0]);
    const fresh = await lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", (() => {
      const t = referenceTable("data/Penicillin.csv", "Penicillin");
      const columns = new Map(t.columns);
      columns.set("diameter", { type: "numeric", values: sims[0] });
      return { ...t, columns };
    })(), { start: m.theta });
    expect(r.objectiveAtOptimum).toBe(fresh.objectiveAtOptimum);
    expect(r.theta).toEqual(fresh.theta);
  });

  it("includes the offset, and refitResponse subtracts it", async () => {
    const m = await lmer("Reaction ~ Days + offset(Days) + (1 | Subject)", sleep());
    const sims = m.simulate(500, { seed: 4 });
    const fe = m.fixef();
    let mean = 0;
    for (const y of sims) mean += y[9] / sims.length; // Days = 9
    const sd = Math.sqrt(m.VarCorr().Subject.sd[0] ** 2 + m.sigma ** 2);
    expect(Math.abs(mean - (fe["(Intercept)"] + 9 * fe.Days + 9)) / (sd / Math.sqrt(500))).toBeLessThan(4);
    const r = m.refitResponse(m.frame.y);
    expect(Math.abs(r.objectiveAtOptimum - m.objectiveAtOptimum)).toBeLessThan(1e-10 * Math.abs(m.objectiveAtOptimum));
    const y = sims[0];
    const fresh = await lmer("Reaction ~ Days + offset(Days) + (1 | Subject)", withResponse(y), { start: m.theta });
    expect(m.refitResponse(y).objectiveAtOptimum).toBeCloseTo(fresh.objectiveAtOptimum, 9);
  });
});

/** Synthetic designs for the blocked system: crossed, nested and vector terms. */
function design(seed: number, n: number, shapes: { m: number; k: number; nestIn?: number }[], p: number) {
  const rand = mulberry32(seed);
  const rnorm = normal(rand);
  const terms: ReBlock[] = [];
  for (const s of shapes) {
    const refs = new Int32Array(n);
    for (let r = 0; r < n; r++) refs[r] = s.nestIn === undefined ? (r < s.m ? r : Math.floor(rand() * s.m)) : terms[s.nestIn].refs[r] % s.m;
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
  const y = () => Float64Array.from({ length: n }, (_, r) => 3 + rnorm() + terms.reduce((s, t) => s + 0.5 * Math.sin(3 * t.refs[r]), 0));
  return { terms, X, p, y1: y(), y2: y() };
}

describe("BlockedSystem.withResponse", () => {
  const cases: [string, number, { m: number; k: number; nestIn?: number }[], number, number[]][] = [
    ["vector term k=2", 240, [{ m: 18, k: 2 }], 2, [0.9, 0.1, 0.3]],
    ["crossed vector + scalar", 360, [{ m: 60, k: 1 }, { m: 12, k: 2 }], 3, [0.8, 1.2, -0.3, 0.6]],
    ["vector first, vector trailing", 400, [{ m: 40, k: 2 }, { m: 10, k: 2 }], 2, [0.9, 0.2, 0.4, 0.7, -0.1, 0.3]],
    ["nested", 300, [{ m: 30, k: 1 }, { m: 10, k: 1, nestIn: 0 }], 1, [2.0, 0.5]],
  ];
  for (const engine of ["wasm-simd", "wasm-scalar", "ts"] as EngineName[]) {
    for (const [name, n, shapes, p, theta] of cases) {
      it(`${engine}: ${name}: the same bits as a fresh system, both systems stay usable`, async () => {
        const K = await loadKernels(engine);
        const d = design(name.length * 17 + n, n, shapes, p);
        const fresh2 = new BlockedSystem(K, d.terms, d.X, p, d.y2);
        const o2 = fresh2.update(theta)!;
        const s2 = fresh2.solve();
        const s1 = new BlockedSystem(K, d.terms, d.X, p, d.y1);
        const o1 = s1.update(theta)!;
        const sol1 = s1.solve();
        // The arena holds s1: the new system rewrites only the y column in place.
        const r2 = s1.withResponse(d.y2);
        expect(r2.update(theta)).toEqual(o2);
        expect(r2.solve()).toEqual(s2);
        // Back and forth: each lays itself out again when the other took the arena.
        expect(s1.update(theta)).toEqual(o1);
        expect(s1.solve()).toEqual(sol1);
        expect(r2.update(theta)).toEqual(o2);
        // The arena held by an unrelated system: a full layout.
        new BlockedSystem(K, d.terms, d.X, p, d.y1);
        const other = design(5, 100, [{ m: 7, k: 1 }], 1);
        const o = new BlockedSystem(K, other.terms, other.X, 1, other.y1);
        o.update([1]);
        const r3 = s1.withResponse(d.y2);
        expect(r3.update(theta)).toEqual(o2);
        // Back to the original response through withResponse from a sibling.
        expect(r3.withResponse(d.y1).update(theta)).toEqual(o1);
        expect(() => s1.withResponse(d.y1.subarray(1))).toThrow(/rows/);
      });
    }
  }
});

describe("refitResponse (lme4's refit(object, newresp))", () => {
  it("with the original response reproduces the fit", async () => {
    const m = await lmer(SLOPE, sleep());
    const r = m.refitResponse(m.frame.y);
    const dObj = r.objectiveAtOptimum - m.objectiveAtOptimum;
    console.log(`refit to the original y: objective ${dObj.toExponential(2)} from the fit's (BOBYQA restarted at θ̂), θ ${r.theta.map((v, i) => (v - m.theta[i]).toExponential(1)).join(", ")}`);
    expect(Math.abs(dObj)).toBeLessThanOrEqual(1e-10 * Math.abs(m.objectiveAtOptimum));
    r.theta.forEach((v, i) => expect(Math.abs(v - m.theta[i])).toBeLessThan(1e-4));
    // With tight optimizer tolerances, to 1e-10 absolute.
    const tight = await lmer(SLOPE, sleep(), { optCtrl: { xtolRel: 0, xtolAbs: 1e-10, ftolRel: 0, ftolAbs: 0 } });
    expect(Math.abs(tight.refitResponse(tight.frame.y).objectiveAtOptimum - tight.objectiveAtOptimum)).toBeLessThan(1e-10);
  });

  it("on a simulated response equals a fresh fit to it (tight optimizer tolerances)", async () => {
    // Tight tolerances: the refit starts at θ̂, the fresh fit at lme4's default start.
    const optCtrl = { xtolRel: 0, xtolAbs: 1e-10, ftolRel: 0, ftolAbs: 0 };
    const m = await lmer(SLOPE, sleep(), { optCtrl });
    let dObj = 0, dTheta = 0;
    for (const y of m.simulate(20, { seed: 3 })) {
      const r = m.refitResponse(y);
      const f = await lmer(SLOPE, withResponse(y), { optCtrl });
      dObj = Math.max(dObj, Math.abs(r.objectiveAtOptimum - f.objectiveAtOptimum));
      dTheta = Math.max(dTheta, ...r.theta.map((v, i) => Math.abs(v - f.theta[i])));
      expect(r.frame.y).toEqual(y);
      const fr = r.fixef(), ff = f.fixef();
      for (const k of Object.keys(ff)) expect(Math.abs(fr[k] - ff[k])).toBeLessThan(1e-6 * Math.abs(ff[k]));
    }
    expect(dObj).toBeLessThan(1e-8);
    expect(dTheta).toBeLessThan(1e-5);
  });

  it("takes the steps of a fresh fit started at θ̂ (lme4's defaults), on the design it shares", async () => {
    const m = await lmer(SLOPE, sleep());
    const K = await loadKernels("auto");
    const sims = m.simulate(40, { seed: 5 });
    const tables = sims.map((y) => withResponse(y));
    const refits = sims.map((y) => m.refitResponse(y));
    const fresh = tables.map((d) => LinearMixedModel.fit(K, SLOPE, d, { start: m.theta }));
    refits.forEach((r, i) => {
      expect(r.objectiveAtOptimum).toBe(fresh[i].objectiveAtOptimum);
      expect(r.theta).toEqual(fresh[i].theta);
      expect(r.feval).toBe(fresh[i].feval);
      // No model frame or design rebuilt: the refit reads the original's X and Z (the time saved is
      // reported by bench/bootstrap.bench.ts, not asserted here).
      expect(r.frame.X).toBe(m.frame.X);
      expect(r.frame.reTerms).toBe(m.frame.reTerms);
    });
  });

  it("leaves the original model's results unchanged and both models usable", async () => {
    const m = await lmer(SLOPE, sleep());
    const before = snapshot(m);
    const [y1, y2] = m.simulate(2, { seed: 8 });
    const r1 = m.refitResponse(y1);
    const r1Json = snapshot(r1);
    const r2 = r1.refitResponse(y2); // from the refit: also a sibling of m's design
    expect(snapshot(m)).toBe(before);
    expect(m.objective(m.theta)).toBe(m.objectiveAtOptimum); // m lays itself out again
    expect(snapshot(m)).toBe(before);
    expect(snapshot(r1)).toBe(r1Json);
    expect(r1.objective(r1.theta)).toBe(r1.objectiveAtOptimum);
    expect(r2.objective(r2.theta)).toBe(r2.objectiveAtOptimum);
    expect(m.ranef({ condVar: true })).toEqual(JSON.parse(before).ranef);
    expect(r1.frame.y).toEqual(y1);
    expect(m.frame.y).toEqual((sleep().columns.get("Reaction") as { values: Float64Array }).values);
    expect(r1.options).toBe(m.options);
    // refit(changes) of a refitted model keeps its response.
    const ml = r1.refit({ REML: false });
    const mlFresh = await lmer(SLOPE, withResponse(y1), { REML: false });
    expect(ml.frame.y).toEqual(y1);
    expect(Math.abs(ml.objectiveAtOptimum - mlFresh.objectiveAtOptimum)).toBeLessThan(1e-6);
    expect(ml.REML).toBe(false);
  });

  it("checks the new response", async () => {
    const m = await lmer(SLOPE, sleep());
    const before = snapshot(m);
    expect(() => m.refitResponse(m.frame.y.subarray(1))).toThrow("newresp has 179 values but the model has 180 observations");
    const y = Float64Array.from(m.frame.y);
    y[7] = NaN;
    expect(() => m.refitResponse(y)).toThrow(/newresp\[7\] is NaN/);
    y[7] = Infinity;
    expect(() => m.refitResponse(Array.from(y))).toThrow(/newresp\[7\] is Infinity/);
    expect(snapshot(m)).toBe(before);
  });
});

describe("bootMer and percentile intervals", () => {
  it("percentileInterval follows boot.ci(type = \"perc\") (R values)", () => {
    // R: sprintf("%.17g", boot:::perc.ci(t, conf)[4:5]), the path of boot.ci and so of lme4's confint:
    // α = (1 + c(-conf, conf))/2, so (R + 1)α is 25.000000000000021 for R = 999 (interpolated), 975 exactly.
    const x = [3.1, 0.5, 2.2, 9.7, 4.4, 1.1, 7.3, 5.5, 6.6, 8.8, 0.9, 2.9];
    expect(percentileInterval(x)).toEqual({ lower: 0.5, upper: 9.7 }); // k = 0 and k = R: the extremes
    const y = Array.from({ length: 999 }, (_, i) => Math.sqrt(i + 1));
    const py = percentileInterval(y);
    expect(py).toEqual({ lower: 5.0000000000000009, upper: 31.22498999199199 });
    const z = Array.from({ length: 1000 }, (_, i) => Math.sin(i + 1) * 10 + (i + 1) / 100);
    expect(percentileInterval(z)).toEqual({ lower: -8.1005272293121315, upper: 18.096149854847798 });
    expect(percentileInterval(z, 0.9)).toEqual({ lower: -7.0393000007343582, upper: 17.07118739875316 });
    expect(percentileInterval(z.slice(0, 37))).toEqual({ lower: -9.8899020655070355, upper: 10.329118601072672 });
    expect(percentileInterval(Array.from({ length: 1999 }, (_, i) => Math.sqrt(i + 1)), 0.9)).toEqual({ lower: 10, upper: 43.588989435406738 });
    // Non-finite values (failed replicates) are dropped first.
    expect(percentileInterval([...y, NaN, Infinity])).toEqual(py);
    expect(percentileInterval([NaN])).toEqual({ lower: NaN, upper: NaN });
    expect(() => percentileInterval(y, 1)).toThrow(/level/);
  });

  it("same seed, same replicates and intervals; counts failures", async () => {
    const m = await lmer(SLOPE, sleep());
    const before = snapshot(m);
    const a = bootMer(m, { nsim: 30, seed: 12 });
    const b = bootMer(m, { nsim: 30, seed: 12 });
    expect(a.t).toEqual(b.t);
    expect(a.names).toEqual(["sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", "sd_Days|Subject", "sigma", "(Intercept)", "Days"]);
    expect(bootParameterNames(m)).toEqual(a.names);
    const vc = m.VarCorr().Subject;
    expect(a.t0).toEqual([vc.sd[0], vc.corr![1][0], vc.sd[1], m.sigma, m.fixef()["(Intercept)"], m.fixef().Days].map((v, i) => (i === 1 ? expect.closeTo(v, 14) : v)));
    expect(a.failures).toBe(0);
    expect(a.seed).toBe(12);
    expect(confintBootMer(a)).toEqual(confintBootMer(b));
    expect(bootMer(m, { nsim: 30, seed: 13 }).t).not.toEqual(a.t);
    // The replicates are the responses of m.simulate(nsim, { seed }).
    const ys: Float64Array[] = [];
    let calls = 0;
    const progress: number[] = [];
    const c = bootMer(m, {
      nsim: 6,
      seed: 12,
      statistic: (fit) => {
        if (calls++ > 0) ys.push(Float64Array.from(fit.frame.y));
        if (calls === 4) throw new Error("boom");
        return [fit.sigma];
      },
      names: ["s"],
      onProgress: (done, total) => progress.push(done / total),
    });
    expect(ys).toEqual(m.simulate(6, { seed: 12 }));
    expect(c.failures).toBe(1);
    expect(c.failureMessages).toEqual({ boom: 1 });
    expect(Number.isNaN(c.t[2][0])).toBe(true);
    expect(c.t[0][0]).toBe(a.t[0][3]);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6].map((i) => i / 6));
    expect(snapshot(m)).toBe(before);
    expect(confintBoot(m, { nsim: 30, seed: 12 })).toEqual(confintBootMer(a));
    expect(() => confintBoot(m, { nsim: 5, type: "basic" as "perc" })).toThrow(/not available/);
  });

  describe("sleepstudy REML, 1000 simulations, against lme4's profile and bootstrap intervals", () => {
    type Row = { term: string; lower: number; upper: number };
    const profile: Row[] = JSON.parse(fs.readFileSync(path.join(referenceDir, "fits", "confint-sleepstudy-slope-reml.json"), "utf8")).profile;
    // lme4 1.1.31: bootMer(fm1, <confint's bootFun>, nsim = 1000, seed = s) for s = 3..8, the 6000
    // replicates pooled, boot:::norm.inter(t, c(0.025, 0.975)).
    const lme4Boot: Record<string, [number, number]> = {
      "sd_(Intercept)|Subject": [11.7092910002, 35.956787276],
      "cor_Days.(Intercept)|Subject": [-0.5157433634, 0.92701132],
      "sd_Days|Subject": [3.3840626943, 8.319852136],
      sigma: [22.5362650198, 28.671011817],
      "(Intercept)": [237.7609617203, 264.844568998],
      Days: [7.4355854052, 13.488436841],
    };
    let ours: Promise<{ ci: Row[]; seconds: number }> | null = null;
    const boot = () =>
      (ours ??= (async () => {
        const m = await lmer(SLOPE, sleep());
        const before = snapshot(m);
        const t0 = performance.now();
        const b = bootMer(m, { nsim: 1000, seed: 20240601 });
        const seconds = (performance.now() - t0) / 1000;
        expect(snapshot(m)).toBe(before);
        const ci = confintBootMer(b);
        const lines = profile.map((p) => {
          const o = ci.find((r) => r.term === p.term)!, w = p.upper - p.lower, l = lme4Boot[p.term];
          return `${p.term.padEnd(30)} ours [${o.lower.toFixed(4)}, ${o.upper.toFixed(4)}]  profile [${p.lower.toFixed(4)}, ${p.upper.toFixed(4)}] ` +
            `|Δ|/width ${(Math.abs(o.lower - p.lower) / w).toFixed(3)}, ${(Math.abs(o.upper - p.upper) / w).toFixed(3)}  ` +
            `lme4 boot [${l[0].toFixed(4)}, ${l[1].toFixed(4)}] |Δ|/width ${(Math.abs(o.lower - l[0]) / w).toFixed(3)}, ${(Math.abs(o.upper - l[1]) / w).toFixed(3)}`;
        });
        console.log(`bootMer, 1000 simulations: ${seconds.toFixed(2)} s, ${b.failures} failures, ${Object.values(b.warnings).reduce((a, c) => a + c, 0)} refit warnings\n${lines.join("\n")}`);
        return { ci, seconds };
      })());
    /** The limits of these terms more than 10% of the profile interval's width from lme4's profile limits. */
    const misses = (ci: Row[], terms: string[]) =>
      profile
        .filter((p) => terms.includes(p.term))
        .flatMap((p) => {
          const o = ci.find((r) => r.term === p.term)!, w = p.upper - p.lower;
          return [Math.abs(o.lower - p.lower) > 0.1 * w ? `${p.term} lower` : [], Math.abs(o.upper - p.upper) > 0.1 * w ? `${p.term} upper` : []].flat();
        });

    it("fixed effects and sigma: within 10% of the profile interval's width of lme4's profile limits", async () => {
      const { ci } = await boot();
      expect(misses(ci, ["sigma", "(Intercept)", "Days"])).toEqual([]);
    });

    // The same criterion for the sd and correlation parameters does not hold, for lme4's bootstrap either:
    // pooled over 6000 replicates lme4's sd_(Intercept) lower limit is 0.114 and the correlation's upper
    // limit 0.207 of the width away (about 2% of the refits are singular with correlation 1, right at the
    // 97.5% point), and with 1000 replicates the sd limits miss for about half of lme4's seeds. Kept
    // strict and expected to fail; the numbers are printed above and in the report.
    it.fails("sd and correlation parameters: within 10% of the profile width of the profile limits (they are not)", async () => {
      const { ci } = await boot();
      expect(misses(ci, ["sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", "sd_Days|Subject"])).toEqual([]);
    });

    it("every limit within 10% of the profile width of lme4's own bootstrap limits", async () => {
      const { ci } = await boot();
      for (const p of profile) {
        const o = ci.find((r) => r.term === p.term)!, l = lme4Boot[p.term], w = p.upper - p.lower;
        expect(Math.abs(o.lower - l[0])).toBeLessThan(0.1 * w);
        expect(Math.abs(o.upper - l[1])).toBeLessThan(0.1 * w);
      }
    });
  });
});
