// Penalised iteratively reweighted least squares (PIRLS) for a generalized linear mixed model: the
// conditional modes ũ of the spherical random effects (and, in lme4's nAGQ = 0 stage, β̂ with them)
// at given θ, as lme4's pwrssUpdate / internal_glmerWrkIter do it (Bates, "Computational methods
// for mixed models", lme4's PIRLS vignette, section 3; MixedModels.jl's pirls!).
//
// Each iteration is the weighted penalised least-squares problem
//   min ‖W^½ (z − Xβ − ZΛu)‖² + ‖u‖²,   W = diag(wt μ'(η)² / V(μ)),   z = η − o + (y − μ)/μ'(η),
// with weights and working response from the current linear predictor η (o the offset, which in
// lme4's stage 2 includes Xβ). Its normal equations are those of the linear mixed model with rows
// scaled by √w, so the blocked system solves them: A = [Z X z]'W[Z X z] is accumulated again (the
// weights change every iteration), L(θ) is updated and [u; β] back-substituted. Convergence is
// lme4's: the penalised deviance Σ d(y, μ) + ‖u‖² changes by less than tol relative; an increase
// is met by halving the step towards the previous iterate (up to 10 times).
//
// The Laplace approximation to the deviance at the converged ũ (JSS-style, lme4's glmResp::Laplace):
//   −2 log L(θ, β) ≈ log|L_θ|² + ‖ũ‖² − 2 log p(y | ũ)
// with log|L_θ|² of the last iteration's factor, as lme4 evaluates it.

import type { BlockedSystem, ReBlock } from "./blocked.js";
import type { Family } from "./family.js";

/** The response and design of a GLMM as PIRLS sees them (rows of the model frame). */
export interface GlmData {
  /** Proportion (binomial) or count. */
  y: Float64Array;
  /** Binomial trials of a cbind response, else 1 (R's n). */
  n: Float64Array;
  /** Prior weights as glmer holds them (for cbind the trials times any prior weight). */
  wt: Float64Array;
  /** Offset of the linear predictor (0 when the formula has none). */
  offset: Float64Array;
  /** n × p, row-major. */
  X: Float64Array;
  p: number;
  /** Random-effects terms in θ order. */
  terms: ReBlock[];
}

/** The state at the end of a PIRLS run. */
export interface PirlsState {
  /** Linear predictor with the offset, and the conditional mean. */
  eta: Float64Array;
  mu: Float64Array;
  /** Spherical random effects per term (m×k row-major). */
  u: Float64Array[];
  /** Fixed effects: estimated (joint) or the ones held fixed. */
  beta: Float64Array;
  /** log|L_Z|² and log|L_X|² of the last iteration's factor. */
  ldL2: number;
  ldRX2: number;
  /** ‖u‖². */
  sqrL: number;
  /** Σ d(y, μ) + ‖u‖². */
  pdev: number;
  iterations: number;
}

export class PirlsError extends Error {}

/** lme4's maxit for the glmer deviance function and its step-halving limit. */
export const PIRLS_MAXIT = 100;
const MAX_STEP_HALVINGS = 10;

export class Pirls {
  private readonly sqrtw: Float64Array;
  private readonly z: Float64Array;

  constructor(
    readonly system: BlockedSystem,
    readonly family: Family,
    readonly data: GlmData,
  ) {
    this.sqrtw = new Float64Array(data.y.length);
    this.z = new Float64Array(data.y.length);
  }

  get n(): number {
    return this.data.y.length;
  }

  /** o + Xβ. */
  fixedPart(beta: ArrayLike<number>): Float64Array {
    const { X, p, offset } = this.data;
    const out = new Float64Array(this.n);
    for (let r = 0; r < out.length; r++) {
      let s = offset[r];
      for (let c = 0; c < p; c++) s += X[r * p + c] * beta[c];
      out[r] = s;
    }
    return out;
  }

  /** η = base + Σ_t Z_t Λ_t u_t (b = Λu level by level), base = o + Xβ. */
  linearPredictor(theta: ArrayLike<number>, base: Float64Array, u: Float64Array[]): Float64Array {
    const { terms } = this.data;
    const n = this.n;
    const out = Float64Array.from(base);
    terms.forEach((t, ti) => {
      const b = this.ranefOf(theta, ti, u[ti]);
      const k = t.k;
      for (let r = 0; r < n; r++) {
        const o = t.refs[r] * k;
        let s = 0;
        for (let c = 0; c < k; c++) s += t.Z[r * k + c] * b[o + c];
        out[r] += s;
      }
    });
    return out;
  }

  /** b = Λ u of term t (levels × k). */
  ranefOf(theta: ArrayLike<number>, t: number, u: Float64Array): Float64Array {
    const { k } = this.data.terms[t];
    const lam = this.system.lambdaOf(theta, t);
    const b = new Float64Array(u.length);
    for (let j = 0; j < u.length / k; j++) {
      for (let a = 0; a < k; a++) {
        let s = 0;
        for (let c = 0; c <= a; c++) s += lam[a * k + c] * u[j * k + c];
        b[j * k + a] = s;
      }
    }
    return b;
  }

  /** μ = g⁻¹(η). */
  mean(eta: Float64Array, out = new Float64Array(eta.length)): Float64Array {
    const inv = this.family.link.linkinv;
    for (let i = 0; i < eta.length; i++) out[i] = inv(eta[i]);
    return out;
  }

  /** Σ d(y, μ): the GLM deviance at μ. */
  residualDeviance(mu: Float64Array): number {
    const { y, wt } = this.data;
    const d = this.family.devResid;
    let s = 0;
    for (let i = 0; i < mu.length; i++) s += d(y[i], mu[i], wt[i]);
    return s;
  }

  /** −2 log p(y | μ) (lme4's aic()). */
  aic(mu: Float64Array): number {
    const { y, n, wt } = this.data;
    return this.family.aic(y, n, mu, wt);
  }

  /**
   * PIRLS at θ starting from the linear predictor eta0 (offset included). With `fixedBeta` the fixed
   * effects stay there (they enter through the offset, lme4's stage 2 and nAGQ > 0); without, β is
   * estimated with u (lme4's nAGQ = 0). Throws PirlsError when L is not positive definite, the
   * step halvings fail or maxit iterations do not converge (lme4's errors).
   */
  run(theta: ArrayLike<number>, eta0: Float64Array, fixedBeta: Float64Array | null, tol: number, maxit = PIRLS_MAXIT): PirlsState {
    const { data, family, system } = this;
    const { y, wt, p } = data;
    const n = this.n;
    const link = family.link;
    // The offset of the working response: o, plus Xβ when β is held fixed.
    const off = fixedBeta ? this.fixedPart(fixedBeta) : data.offset;
    let eta: Float64Array = Float64Array.from(eta0);
    let mu: Float64Array = this.mean(eta);
    let u: Float64Array<ArrayBufferLike>[] = data.terms.map((t) => new Float64Array(t.m * t.k));
    let beta: Float64Array<ArrayBufferLike> = fixedBeta ? Float64Array.from(fixedBeta) : new Float64Array(p);
    let oldpdev = Number.MAX_VALUE;
    let ldL2 = NaN, ldRX2 = NaN, pdev = NaN;
    for (let it = 0; it < maxit; it++) {
      const oldu = u, oldbeta = beta;
      // Working weights and response from the current η (glmResp::sqrtWrkWt, wrkResp).
      for (let i = 0; i < n; i++) {
        const me = link.muEta(eta[i]);
        this.sqrtw[i] = me * Math.sqrt(wt[i] / family.variance(mu[i]));
        this.z[i] = eta[i] - off[i] + (y[i] - mu[i]) / me;
      }
      system.reweight(this.sqrtw, this.z);
      const o = system.update(theta);
      if (!o) throw new PirlsError("the penalised weighted least-squares system is not positive definite at this θ");
      ldL2 = o.logdetZ;
      ldRX2 = o.logdetX;
      if (fixedBeta) u = system.solveU();
      else {
        const s = system.solve();
        u = s.u;
        beta = s.beta;
      }
      eta = this.linearPredictor(theta, fixedBeta ? off : this.fixedPart(beta), u);
      mu = this.mean(eta);
      pdev = this.residualDeviance(mu) + sumSquares(u);
      if (Math.abs((oldpdev - pdev) / pdev) < tol) {
        return { eta, mu, u, beta, ldL2, ldRX2, sqrL: sumSquares(u), pdev, iterations: it + 1 };
      }
      if (Number.isNaN(pdev) || pdev > oldpdev) {
        // Step halving towards the previous iterate (lme4: delu ← (olddelu + delu)/2, same for β).
        for (let k = 0; k < MAX_STEP_HALVINGS && (Number.isNaN(pdev) || pdev > oldpdev); k++) {
          u = u.map((ut, t) => ut.map((v, i) => (oldu[t][i] + v) / 2));
          if (!fixedBeta) beta = beta.map((v, i) => (oldbeta[i] + v) / 2);
          eta = this.linearPredictor(theta, fixedBeta ? off : this.fixedPart(beta), u);
          mu = this.mean(eta);
          pdev = this.residualDeviance(mu) + sumSquares(u);
        }
        if (Number.isNaN(pdev) || pdev - oldpdev > tol) {
          throw new PirlsError("PIRLS step-halvings failed to reduce the penalised deviance");
        }
      }
      oldpdev = pdev;
    }
    throw new PirlsError(`PIRLS did not converge in ${maxit} iterations`);
  }

  /** The Laplace approximation −2 log L ≈ log|L|² + ‖ũ‖² − 2 log p(y | ũ) (lme4's glmResp::Laplace). */
  laplace(s: PirlsState): number {
    return s.ldL2 + s.sqrL + this.aic(s.mu);
  }
}

function sumSquares(u: Float64Array[]): number {
  let s = 0;
  for (const ut of u) for (const v of ut) s += v * v;
  return s;
}
