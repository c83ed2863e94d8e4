// The closed-form derivatives for Satterthwaite's df (src/varpar-derivatives.ts) against numDeriv's
// Richardson extrapolation of the same functions (lmerTest's method, src/satterthwaite.ts's hessian
// and jacobian): the Hessian of the deviance in (θ, σ) and the Jacobian of Cov(β̂), on every reference
// LMM, at the optimum and away from it, REML and ML, with scalar, vector, crossed and nested terms.
import { describe, expect, it } from "vitest";
import { loadKernels } from "../src/engine.js";
import { LinearMixedModel } from "../src/linearmixedmodel.js";
import { hessian, jacobian, satterthwaite } from "../src/satterthwaite.js";
import { MAX_Q, varparDerivatives } from "../src/varpar-derivatives.js";
import { extraDir, referenceFits, referenceTable } from "./helpers/reference.js";

const fits = [...referenceFits("lmer"), ...referenceFits("lmer", extraDir)].filter(({ fit }) => fit.dataset !== "InstEval");

/** lmerTest's devfun_vp from m.devcomp: ML ldL2 + r²/σ² + n log(2πσ²); REML adds ldRX2 − p log(2πσ²). */
function numericDerivatives(m: LinearMixedModel, theta: number[], sigma: number) {
  const dev = (vp: number[]) => {
    const s2 = vp[vp.length - 1] ** 2;
    const dc = m.devcomp(vp.slice(0, -1))!;
    const d = dc.ldL2 + dc.pwrss / s2 + m.n * Math.log(2 * Math.PI * s2);
    return m.REML ? d + dc.ldRX2 - m.p * Math.log(2 * Math.PI * s2) : d;
  };
  const cov = (vp: number[]) => {
    const s2 = vp[vp.length - 1] ** 2;
    return m.devcomp(vp.slice(0, -1))!.covBetaUnscaled.flat().map((v) => s2 * v);
  };
  const varpar = [...theta, sigma];
  const H = hessian(dev, varpar);
  const J = jacobian(cov, varpar);
  const p = m.p;
  return { H, jacobian: varpar.map((_, k) => Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => J[i * p + j][k]))) };
}

/**
 * Entry-wise agreement relative to the largest entry of `want` or of `scaleOf` (numDeriv's error is
 * absolute-ish: a derivative that is 0 comes out as ±1e-7 noise).
 */
function expectClose(got: number[][], want: number[][], rel: number, what: string, scaleOf: number[][] = want): void {
  const scale = Math.max(...scaleOf.flat().map(Math.abs), Number.MIN_VALUE);
  got.forEach((row, i) =>
    row.forEach((v, j) => {
      const err = Math.abs(v - want[i][j]) / scale;
      expect(err, `${what}[${i}][${j}]: closed form ${v}, numDeriv ${want[i][j]}`).toBeLessThan(rel);
    }),
  );
}

describe("closed-form derivatives in (θ, σ) against numDeriv", () => {
  for (const { file, fit, dir } of fits) {
    it(`${file}`, async () => {
      const K = await loadKernels("auto");
      const m = LinearMixedModel.fit(K, fit.formula_original ?? fit.formula, referenceTable(fit.data, fit.dataset, dir), { REML: fit.REML });
      const points: [number[], number][] = [
        [m.theta, m.sigma],
        // away from the optimum (the first derivatives are not zero there) and off any boundary
        [m.theta.map((t, i) => t * 1.3 + (i % 2 ? -0.05 : 0.07)), m.sigma * 1.2],
      ];
      for (const [theta, sigma] of points) {
        const exact = varparDerivatives(m.blockedSystem, theta, sigma, m.REML);
        expect(exact, "applies (q ≤ MAX_Q, no weights)").not.toBeNull();
        const num = numericDerivatives(m, theta, sigma);
        // numDeriv's own error (roundoff amplified by the extrapolation; largest at θ = 0, where its
        // step is 1e-4) reaches ~2e-5 of the largest entry; the test below checks exactness
        expectClose(exact!.hessian, num.H, 5e-5, `H at θ = ${theta.map((t) => t.toPrecision(4))}`);
        const all = num.jacobian.flat();
        exact!.jacobian.forEach((J, k) => expectClose(J, num.jacobian[k], 5e-5, `J_${k}`, all));
      }
    });
  }

  // Balanced one-way layout (Dyestuff: m = 6 batches × J = 5): with u = 1 + Jθ², log|V| = m log u,
  // r² = SSW + SSB/u and X'V⁻¹X = mJ/u, so every derivative has a closed form by hand.
  it("is exact on the balanced one-way layout (derivatives by hand)", async () => {
    const K = await loadKernels("auto");
    const { fit, dir } = fits.find(({ file }) => file === "dyestuff-reml.json")!;
    const data = referenceTable(fit.data, fit.dataset, dir);
    const yCol = data.columns.get("Yield")!, bCol = data.columns.get("Batch")!;
    if (yCol.type !== "numeric" || bCol.type !== "factor") throw new Error("Dyestuff: Yield numeric, Batch a factor");
    const y = yCol.values;
    const codes = Array.from(bCol.codes);
    const groups = [...new Set(codes)];
    const m = groups.length, J = y.length / m, n = y.length;
    const ybar = Array.from(y).reduce((a, b) => a + b, 0) / n;
    const gmean = groups.map((g) => codes.reduce((s, c, i) => (c === g ? s + y[i] : s), 0) / J);
    const SSB = J * gmean.reduce((s, v) => s + (v - ybar) ** 2, 0);
    const SSW = Array.from(y).reduce((s, v, i) => s + (v - gmean[groups.indexOf(codes[i])]) ** 2, 0);
    for (const REML of [true, false]) {
      const model = LinearMixedModel.fit(K, "Yield ~ 1 + (1 | Batch)", data, { REML });
      for (const [th, sigma] of [[model.theta[0], model.sigma], [0.3, 40], [0, 55]]) {
        const u = 1 + J * th * th;
        const a2 = m * (2 * J / u - (4 * J * J * th * th) / (u * u));
        const b = SSW + SSB / u, b1 = (-SSB * 2 * J * th) / (u * u), b2 = -SSB * (2 * J / (u * u) - (8 * J * J * th * th) / u ** 3);
        const c2 = -(2 * J / u - (4 * J * J * th * th) / (u * u));
        const N = REML ? n - 1 : n, s2 = sigma * sigma;
        const want = [
          [a2 + b2 / s2 + (REML ? c2 : 0), (-2 * b1) / (s2 * sigma)],
          [(-2 * b1) / (s2 * sigma), (6 * b) / (s2 * s2) - (2 * N) / s2],
        ];
        const got = varparDerivatives(model.blockedSystem, [th], sigma, REML)!;
        expectClose(got.hessian, want, 1e-11, `H (REML ${REML}, θ ${th}, σ ${sigma})`);
        expectClose(got.jacobian[0], [[(2 * s2 * th) / m]], 1e-11, "∂Cov(β̂)/∂θ", [[(2 * sigma * u) / (m * J)]]);
        expectClose(got.jacobian[1], [[(2 * sigma * u) / (m * J)]], 1e-11, "∂Cov(β̂)/∂σ");
      }
    }
  });

  it("declines beyond MAX_Q random effects, where satterthwaite() takes numDeriv's derivatives (same df)", async () => {
    const K = await loadKernels("auto");
    const n = 1200, g = Array.from({ length: n }, (_, i) => `g${i % (MAX_Q + 1)}`);
    const y = Array.from({ length: n }, (_, i) => Math.sin(i) + (i % 7) + 0.5 * Math.cos(i % (MAX_Q + 1)));
    const m = LinearMixedModel.fit(K, "y ~ 1 + (1 | g)", { y, g });
    expect(varparDerivatives(m.blockedSystem, m.theta, m.sigma, true)).toBeNull();
    // ν = 2 v² / (∇v' A ∇v), A = 2 H⁻¹, from the closed form computed anyway (maxQ raised)
    const { hessian: H, jacobian: J } = varparDerivatives(m.blockedSystem, m.theta, m.sigma, true, Infinity)!;
    const v = m.vcov()[0][0], grad = [J[0][0][0], J[1][0][0]];
    const det = H[0][0] * H[1][1] - H[0][1] * H[1][0];
    const A = [[(2 * H[1][1]) / det, (-2 * H[0][1]) / det], [(-2 * H[1][0]) / det, (2 * H[0][0]) / det]];
    const quad = grad[0] * (A[0][0] * grad[0] + A[0][1] * grad[1]) + grad[1] * (A[1][0] * grad[0] + A[1][1] * grad[1]);
    const df = satterthwaite(m).df["(Intercept)"];
    expect(Math.abs(df - (2 * v * v) / quad) / df).toBeLessThan(1e-6);
  });
});
