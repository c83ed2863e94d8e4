// Adaptive Gauss-Hermite quadrature of the GLMM likelihood for one scalar random-effects term
// (lme4's glmerAGQ; Pinheiro & Bates 1995, "Approximations to the log-likelihood function in the
// nonlinear mixed-effects model", JCGS 4(1)). With a single scalar term the integral over u factors
// into one-dimensional integrals, one per level j of the grouping factor. Each is centred at the
// conditional mode ũ_j and scaled by the conditional sd 1/L_jj (L_jj the diagonal of the factor at
// the mode), so the k-point rule is exact for the Laplace approximation's Gaussian and k = 1 is the
// Laplace approximation itself:
//   −2 log L ≈ Σ_j c_j(ũ_j) + log|L|² − 2 Σ_j log Σ_i w_i exp(−(c_j(ũ_j + z_i/L_jj) − c_j(ũ_j))/2 + z_i²/2)
// with c_j(u) = u² + Σ_{rows of j} d(y, μ(u)) (deviance residuals, lme4's devcCol) and (z_i, w_i) the
// Gauss-Hermite rule for the standard normal density (Σ w_i = 1).

import type { Pirls, PirlsState } from "./pirls.js";

/** A Gauss-Hermite rule for ∫ f(z) φ(z) dz: nodes z and weights w (Σ w = 1), increasing z. */
export interface GHRule {
  z: Float64Array;
  w: Float64Array;
}

const rules = new Map<number, GHRule>();

/**
 * lme4's GHrule(k): the k-point Gauss-Hermite rule for the standard normal density. The nodes are the
 * zeros of the Hermite polynomial, found by Newton's method from the usual asymptotic starting values
 * (Numerical Recipes' gauher, orthonormal recurrence), the weights from the derivative there; the
 * physicists' rule (weight e^{−x²}) is then rescaled to φ: z = √2 x, w = w_x / √π.
 */
export function ghRule(k: number): GHRule {
  if (!(Number.isInteger(k) && k >= 1 && k <= 100)) throw new Error(`the number of quadrature points must be an integer from 1 to 100, got ${k}`);
  const cached = rules.get(k);
  if (cached) return cached;
  if (k === 1) {
    const one: GHRule = { z: Float64Array.of(0), w: Float64Array.of(1) }; // exactly, as lme4's table
    rules.set(1, one);
    return one;
  }
  const x = new Float64Array(k);
  const wx = new Float64Array(k);
  const PIM4 = 0.7511255444649425; // π^(−1/4)
  const m = Math.floor((k + 1) / 2);
  let z = 0;
  for (let i = 0; i < m; i++) {
    if (i === 0) z = Math.sqrt(2 * k + 1) - 1.85575 * Math.pow(2 * k + 1, -0.16667);
    else if (i === 1) z -= (1.14 * Math.pow(k, 0.426)) / z;
    else if (i === 2) z = 1.86 * z - 0.86 * x[0];
    else if (i === 3) z = 1.91 * z - 0.91 * x[1];
    else z = 2 * z - x[i - 2];
    let pp = 0;
    for (let its = 0; its < 100; its++) {
      let p1 = PIM4, p2 = 0;
      for (let j = 1; j <= k; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = z * Math.sqrt(2 / j) * p2 - Math.sqrt((j - 1) / j) * p3;
      }
      pp = Math.sqrt(2 * k) * p2;
      const z1 = z;
      z = z1 - p1 / pp;
      if (Math.abs(z - z1) <= 1e-15 * Math.max(1, Math.abs(z))) break;
    }
    x[i] = z;
    x[k - 1 - i] = -z;
    wx[i] = 2 / (pp * pp);
    wx[k - 1 - i] = wx[i];
  }
  if (k % 2 === 1) x[m - 1] = 0; // the middle node is exactly 0 (lme4 treats it apart)
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const rule: GHRule = {
    z: Float64Array.from(order, (i) => Math.SQRT2 * x[i]),
    w: Float64Array.from(order, (i) => wx[i] / Math.sqrt(Math.PI)),
  };
  rules.set(k, rule);
  return rule;
}

const LOG_SQRT_2PI = 0.918938533204672741780329736406;

/**
 * The adaptive Gauss-Hermite approximation to −2 log L at the PIRLS state s (u-only PIRLS at θ and
 * fixed β, one scalar term). L_jj come from the blocked factor's first-term blocks.
 */
export function agqDeviance(pirls: Pirls, theta: ArrayLike<number>, s: PirlsState, rule: GHRule): number {
  const term = pirls.data.terms[0];
  if (pirls.data.terms.length !== 1 || term.k !== 1) {
    throw new Error("adaptive Gauss-Hermite quadrature (nAGQ > 1) is only available for a single scalar random-effects term");
  }
  const q = term.m;
  const refs = term.refs;
  const u0 = s.u[0];
  const Ldiag = pirls.system.firstTermFactor();
  const devc0 = devianceByLevel(pirls, s.mu, refs, u0);
  const mult = new Float64Array(q);
  const uk = [new Float64Array(q)];
  const base = pirls.fixedPart(s.beta);
  for (let i = 0; i < rule.z.length; i++) {
    const zi = rule.z[i];
    if (zi === 0) {
      for (let j = 0; j < q; j++) mult[j] += rule.w[i];
      continue;
    }
    for (let j = 0; j < q; j++) uk[0][j] = u0[j] + zi / Ldiag[j];
    const mu = pirls.mean(pirls.linearPredictor(theta, base, uk));
    const devc = devianceByLevel(pirls, mu, refs, uk[0]);
    // lme4: exp(−(c − c₀)/2 − log φ(z)) w / √(2π) = exp(−(c − c₀)/2 + z²/2) w.
    const ldnorm = -0.5 * zi * zi - LOG_SQRT_2PI;
    for (let j = 0; j < q; j++) mult[j] += (Math.exp(-0.5 * (devc[j] - devc0[j]) - ldnorm) * rule.w[i]) / Math.sqrt(2 * Math.PI);
  }
  let sum = 0;
  for (let j = 0; j < q; j++) sum += devc0[j] - 2 * Math.log(mult[j]);
  return sum + s.ldL2;
}

/** c_j(u) = u_j² + Σ_{rows of level j} d(y, μ) (lme4's devcCol). */
function devianceByLevel(pirls: Pirls, mu: Float64Array, refs: Int32Array, u: Float64Array): Float64Array {
  const { y, wt } = pirls.data;
  const d = pirls.family.devResid;
  const out = Float64Array.from(u, (v) => v * v);
  for (let i = 0; i < mu.length; i++) out[refs[i]] += d(y[i], mu[i], wt[i]);
  return out;
}
