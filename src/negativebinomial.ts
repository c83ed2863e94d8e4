// Negative binomial (NB2) generalized linear mixed models as lme4's glmer.nb fits them: a Poisson
// GLMM gives fitted means, MASS's theta.ml gives a first shape θ from them, and the profile
// deviance −2 log L(θ) (each value a GLMM fit with the negative binomial family at that θ) is then
// minimised over log θ by Brent's method (R's optimize) on log θ̂₀ ± 3 with tolerance 5·10⁻⁵. The
// result is the fit at the last θ evaluated, as lme4 returns it.

import type { DataInput, Table } from "./data.js";
import { loadKernels } from "./engine.js";
import { negativeBinomial, thetaML, type Family } from "./family.js";
import type { ParsedFormula } from "./formula-types.js";
import { GeneralizedLinearMixedModel, type GlmerOptions } from "./generalizedlinearmixedmodel.js";
import type { Kernels } from "./kernels.js";

export type GlmerNBOptions = Omit<GlmerOptions, "family" | "link"> & {
  /** Tolerance of the search over log θ (lme4's tol, 5e-5). */
  tol?: number;
  /** A starting θ instead of theta.ml on the Poisson fit (lme4's initCtrl$theta). */
  initTheta?: number;
};

/** Fits a negative binomial GLMM as lme4's `glmer.nb(formula, data)`, θ estimated. */
export async function glmerNB(formula: string | ParsedFormula, data: DataInput | Table, options: GlmerNBOptions = {}): Promise<GeneralizedLinearMixedModel> {
  const kernels = await loadKernels(options.engine ?? "auto");
  return fitNB(kernels, formula, data, options);
}

/** glmerNB with kernels already loaded. */
export function fitNB(kernels: Kernels, formula: string | ParsedFormula, data: DataInput | Table, options: GlmerNBOptions = {}): GeneralizedLinearMixedModel {
  const t0 = performance.now();
  const { tol = 5e-5, initTheta, ...glmerOptions } = options;
  return searchTheta((family) => GeneralizedLinearMixedModel.fit(kernels, formula, data, { ...glmerOptions, family }), tol, initTheta, t0);
}

/**
 * glmerNB of the response y on a shared design (GeneralizedLinearMixedModel.design, any count family):
 * the same search as fitNB, every GLMM fit of it a fitResponse of the design, so the result is glmerNB's
 * on the design's data with y as the response. Many-response fits (fitMany) call this per response.
 */
export function fitNBResponse(
  design: GeneralizedLinearMixedModel,
  y: ArrayLike<number>,
  options: { tol?: number; initTheta?: number; start?: GlmerOptions["start"] } = {},
): GeneralizedLinearMixedModel {
  const t0 = performance.now();
  const { tol = 5e-5, initTheta, start } = options;
  return searchTheta((family) => design.fitResponse(y, { family, start }), tol, initTheta, t0);
}

/**
 * lme4's glmer.nb search: θ₀ from theta.ml on a Poisson fit's means (unless given), then Brent over
 * log θ on log θ₀ ± 3, `fitWith` giving the GLMM of each family. Returns the fit at the last θ tried.
 */
function searchTheta(fitWith: (family: "poisson" | Family) => GeneralizedLinearMixedModel, tol: number, initTheta: number | undefined, t0: number): GeneralizedLinearMixedModel {
  let th0 = initTheta;
  if (th0 === undefined) {
    const pois = fitWith("poisson");
    // lme4's est_theta: theta.ml(y, fitted(g0), weights, limit = 20, eps = 2·tol).
    th0 = thetaML(pois.response.y, pois.fitted(), pois.response.wt, 20, 2 * tol).theta;
  }
  if (!(th0 > 0 && Number.isFinite(th0))) {
    throw new Error(`the initial negative binomial θ (${th0}) is not positive: the counts show no overdispersion beyond the Poisson's`);
  }
  let last: GeneralizedLinearMixedModel | null = null;
  const profile = (logTheta: number) => {
    last = fitWith(negativeBinomial(Math.exp(logTheta)));
    return -2 * last.logLik();
  };
  const lt = Math.log(th0);
  fmin(profile, lt - 3, lt + 3, tol);
  const fit = last as unknown as GeneralizedLinearMixedModel;
  fit.markEstimatedTheta((performance.now() - t0) / 1000);
  return fit;
}

/**
 * Brent's one-dimensional minimiser without derivatives (R's optimize / Brent_fmin, Brent 1973
 * ch. 5): golden-section steps combined with parabolic interpolation on [a, b], to tolerance
 * tol·(1/3) + √ε|x|. Returns the minimiser; f is evaluated in R's order.
 */
export function fmin(f: (x: number) => number, ax: number, bx: number, tol: number): number {
  const c = (3 - Math.sqrt(5)) * 0.5;
  const eps = Math.sqrt(2.220446049250313e-16);
  let a = ax, b = bx;
  let v = a + c * (b - a);
  let w = v, x = v;
  let d = 0, e = 0;
  let fx = f(x);
  let fv = fx, fw = fx;
  const tol3 = tol / 3;
  for (;;) {
    const xm = (a + b) * 0.5;
    const tol1 = eps * Math.abs(x) + tol3;
    const t2 = tol1 * 2;
    if (Math.abs(x - xm) <= t2 - (b - a) * 0.5) break;
    let p = 0, q = 0, r = 0;
    if (Math.abs(e) > tol1) {
      r = (x - w) * (fx - fv);
      q = (x - v) * (fx - fw);
      p = (x - v) * q - (x - w) * r;
      q = (q - r) * 2;
      if (q > 0) p = -p;
      else q = -q;
      r = e;
      e = d;
    }
    let u: number;
    if (Math.abs(p) >= Math.abs(q * 0.5 * r) || p <= q * (a - x) || p >= q * (b - x)) {
      // a golden-section step
      e = x < xm ? b - x : a - x;
      d = c * e;
    } else {
      // a parabolic-interpolation step
      d = p / q;
      u = x + d;
      if (u - a < t2 || b - u < t2) {
        d = tol1;
        if (x >= xm) d = -d;
      }
    }
    if (Math.abs(d) >= tol1) u = x + d;
    else if (d > 0) u = x + tol1;
    else u = x - tol1;
    const fu = f(u);
    if (fu <= fx) {
      if (u < x) b = x;
      else a = x;
      v = w; w = x; x = u;
      fv = fw; fw = fx; fx = fu;
    } else {
      if (u < x) a = u;
      else b = u;
      if (fu <= fw || w === x) {
        v = w; fv = fw;
        w = u; fw = fu;
      } else if (fu <= fv || v === x || v === w) {
        v = u; fv = fu;
      }
    }
  }
  return x;
}
