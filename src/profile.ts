// Likelihood profiles and profile confidence intervals, as lme4's profile.merMod and confint.thpr
// (lme4 1.1-31, R/profile.R; Bates et al. 2015, JSS 67(1), section 5.1).
//
// What lme4 does, and this file does the same way so the numbers agree:
//  - A REML fit is first refitted by maximum likelihood (devfun2 calls refitML, with minqa's bobyqa
//    started at the REML θ̂): every profile is one of the ML deviance, and ζ is measured from the ML
//    optimum. The intervals of a REML fit are therefore those of its ML refit.
//  - Variance parameters are profiled on the standard-deviation scale ("sdcor"): the parameters are
//    each term's standard deviations and correlations (sd_ / cor_, θ's order) and σ. With one held
//    fixed the others are re-optimised (bounds sd ≥ 0, −1 ≤ cor ≤ 1, σ ≥ 0) with the fit's optimizer
//    and control, the fixed effects profiled out:
//        d(sd, cor, σ) = log|L_Z|² + r²(θ)/σ² + n log(2πσ²),   θ = chol(Σ/σ²) (lme4's Sv_to_Cv).
//  - A fixed effect β_j is profiled by holding it at a value b and minimising the ML deviance over θ
//    (lme4 refits with the column dropped and X_j b as offset). Here it is computed from the full
//    system: with u and the other β's profiled out, the penalised residual sum of squares at β_j = b is
//        r²(θ, b) = r²(θ) + (b − β̂_j(θ))² / V_jj(θ),   V = (R_X'R_X)⁻¹,
//    (the minimum over β_{−j} of the quadratic r²(θ) + (β − β̂)'R_X'R_X(β − β̂)), so the deviance is
//    log|L_Z|² + n(1 + log(2π r²(θ, b)/n)): exactly the dropped-column fit's, without refitting a new
//    design per grid point.
//  - ζ = sign(x − x̂) √(d(x) − d(x̂)). The grid starts at x̂·1.01 (0.001 when x̂ = 0; β̂ + δ·se for a
//    fixed effect) and steps so that ζ moves by about δ = cutoff/8 per step (lme4's nextpar, steps
//    capped at 10× the previous one), in each direction until |ζ| > cutoff = √χ²_{0.99}(#parameters)
//    or the parameter's bound is reached (an sd at 0, a correlation at ±1).
//  - The interval ends are the back-spline (splines::backSpline of the natural interpolating spline
//    splines::interpSpline of ζ against the parameter) at ζ = ±z_{(1+level)/2}. Where the profile does
//    not reach that ζ the end is the parameter's bound (0 for an sd, ±1 for a correlation: lme4's
//    confint.thpr), or NaN (lme4's NA) for an unbounded parameter.

import { BlockedSystem, type ReBlock } from "./blocked.js";
import { pchisqUpper, qt } from "./distributions.js";
import type { LinearMixedModel } from "./linearmixedmodel.js";
import { minimize, NLOPTWRAP_DEFAULTS, type OptimizerName } from "./optim/index.js";
import type { OptimOptions } from "./optim/bobyqa.js";

/** One parameter's profile: lme4's thpr data frame rows for that parameter (its .par). */
export interface ProfileTrace {
  /** lme4's name of the profiled parameter: "sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", "sigma", "Days". */
  par: string;
  /** "variance" for sd_, cor_ and sigma, "fixed" for a fixed effect. */
  kind: "variance" | "fixed";
  /** Names of all parameters, in lme4's order: sd_/cor_ per term (θ's order), sigma, the fixed effects. */
  names: string[];
  /** The profiled parameter's value at each grid point, increasing (lme4's .focal). */
  focal: number[];
  /** ζ at each grid point: sign(x − x̂) √(ML deviance at x − at x̂) (lme4's .zeta); NaN where the optimizer failed. */
  zeta: number[];
  /** All parameters at each grid point (in `names` order): the profiled one and the others re-optimised. */
  values: number[][];
  /** The ML estimate of the parameter (ζ = 0). */
  estimate: number;
  /** The parameter's domain: [0, ∞) for sd and sigma, [−1, 1] for cor, (−∞, ∞) for a fixed effect. */
  lower: number;
  upper: number;
  /** lme4's warnings for this profile (failed optimisations, lower deviance found, non-monotonic ζ). */
  warnings: string[];
}

export interface ProfileOptions {
  /**
   * Parameters to profile, by lme4's names (see ProfileTrace.par), or "theta_" (every variance
   * parameter and sigma) or "beta_" (every fixed effect). Default: all, in lme4's order.
   */
  which?: string[];
  /**
   * Profile at least as far as this confidence level needs (|ζ| up to z_{(1+level)/2}). lme4's range,
   * |ζ| ≤ √χ²_{0.99}(#parameters), already covers level 0.99, so this only matters above it.
   */
  level?: number;
  /** Maximum number of grid points on each side of the estimate (lme4's maxpts). Default 100. */
  maxSteps?: number;
}

export interface ConfintRow {
  term: string;
  /** Lower end; NaN (lme4's NA) when an unbounded parameter's profile does not reach it. */
  lower: number;
  upper: number;
}

/** lme4's profile.merMod defaults. */
const ALPHAMAX = 0.01;
const DELTA_CUTOFF = 1 / 8;
const MAXMULT = 10;
const MINSTEP = 1e-6;
const DEVTOL = 1e-9;
/** confint.thpr's non.mono.tol. */
const NON_MONO_TOL = 0.01;

/** The standard normal quantile (R's qnorm). */
function qnorm(p: number): number {
  return qt(p, Infinity);
}

/** R's qchisq(p, df), by bisection on the upper tail (to full double precision). */
function qchisq(p: number, df: number): number {
  const target = 1 - p;
  let lo = 0, hi = Math.max(1, df);
  while (pchisqUpper(hi, df) > target) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (pchisqUpper(mid, df) > target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------------------------------------
// θ ↔ (sd, cor, σ): lme4's Cv_to_Sv and Sv_to_Cv (with its safe_chol), term by term.
// ---------------------------------------------------------------------------------------------

/** Per term: its size k and where its entries start in θ (lower triangle column by column). */
interface TermShape {
  k: number;
  start: number;
}

/** θ → [sd/cor per term (θ's layout: sd on diagonals, cor off them), σ] (lme4's Cv_to_Sv with s = σ). */
function cvToSv(theta: ArrayLike<number>, shapes: TermShape[], sigma: number): number[] {
  const out: number[] = [];
  for (const { k, start } of shapes) {
    const lam = new Float64Array(k * k);
    let s = start;
    for (let c = 0; c < k; c++) for (let r = c; r < k; r++) lam[r * k + c] = theta[s++];
    const S = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let v = 0;
        for (let c = 0; c < k; c++) v += lam[i * k + c] * lam[j * k + c];
        S[i * k + j] = v * sigma * sigma;
      }
    }
    const sd = Array.from({ length: k }, (_, i) => Math.sqrt(S[i * k + i]));
    for (let c = 0; c < k; c++) for (let r = c; r < k; r++) out.push(r === c ? sd[r] : S[r * k + c] / (sd[r] * sd[c]));
  }
  out.push(sigma);
  return out;
}

/**
 * lme4's safe_chol of a k×k symmetric matrix (row-major), returned as λ = t(R) (k×k row-major, only
 * its lower triangle is used, as lme4's mlist2vec): zero → zero, 1×1 → √, diagonal → √diag, else
 * chol(), and where that fails (a pivot ≤ 0) R's chol(pivot = TRUE), i.e. LAPACK's dpstf2, with
 * the columns put back in order (cc[, order(pivot)]).
 */
function safeCholLambda(A: Float64Array, k: number): Float64Array {
  const lam = new Float64Array(k * k);
  if (A.some(Number.isNaN)) return lam.fill(NaN);
  if (A.every((v) => v === 0)) return lam;
  if (k === 1) {
    lam[0] = Math.sqrt(A[0]);
    return lam;
  }
  let diagonal = true;
  for (let i = 0; i < k && diagonal; i++) for (let j = 0; j < k; j++) if (i !== j && A[i * k + j] !== 0) diagonal = false;
  if (diagonal) {
    for (let i = 0; i < k; i++) lam[i * k + i] = Math.sqrt(A[i * k + i]);
    return lam;
  }
  // chol(): R'R = A with R upper triangular (LAPACK dpotrf, which fails on a pivot ≤ 0).
  const R = new Float64Array(k * k);
  let ok = true;
  for (let j = 0; j < k && ok; j++) {
    let d = A[j * k + j];
    for (let r = 0; r < j; r++) d -= R[r * k + j] * R[r * k + j];
    if (!(d > 0)) {
      ok = false;
      break;
    }
    const rjj = Math.sqrt(d);
    R[j * k + j] = rjj;
    for (let c = j + 1; c < k; c++) {
      let v = A[j * k + c];
      for (let r = 0; r < j; r++) v -= R[r * k + j] * R[r * k + c];
      R[j * k + c] = v / rjj;
    }
  }
  if (ok) {
    for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) lam[i * k + j] = R[j * k + i];
    return lam;
  }
  // chol(pivot = TRUE): dpstf2 on the upper triangle, default tolerance; R zeroes the lower triangle.
  const a = Float64Array.from(A);
  const piv = Array.from({ length: k }, (_, i) => i);
  const work = new Float64Array(2 * k);
  let pvt = 0;
  for (let i = 1; i < k; i++) if (a[i * k + i] > a[pvt * k + pvt]) pvt = i;
  let ajj = a[pvt * k + pvt];
  if (ajj > 0 && !Number.isNaN(ajj)) {
    const dstop = k * 2 ** -53 * ajj;
    for (let j = 0; j < k; j++) {
      for (let i = j; i < k; i++) {
        if (j > 0) work[i] += a[(j - 1) * k + i] ** 2;
        work[k + i] = a[i * k + i] - work[i];
      }
      if (j > 0) {
        pvt = j;
        for (let i = j + 1; i < k; i++) if (work[k + i] > work[k + pvt]) pvt = i;
        ajj = work[k + pvt];
        if (ajj <= dstop || Number.isNaN(ajj)) {
          a[j * k + j] = ajj;
          break;
        }
      }
      if (j !== pvt) {
        a[pvt * k + pvt] = a[j * k + j];
        for (let r = 0; r < j; r++) [a[r * k + j], a[r * k + pvt]] = [a[r * k + pvt], a[r * k + j]];
        for (let c = pvt + 1; c < k; c++) [a[j * k + c], a[pvt * k + c]] = [a[pvt * k + c], a[j * k + c]];
        for (let i = j + 1; i < pvt; i++) [a[j * k + i], a[i * k + pvt]] = [a[i * k + pvt], a[j * k + i]];
        [work[j], work[pvt]] = [work[pvt], work[j]];
        [piv[j], piv[pvt]] = [piv[pvt], piv[j]];
      }
      ajj = Math.sqrt(ajj);
      a[j * k + j] = ajj;
      for (let c = j + 1; c < k; c++) {
        let v = a[j * k + c];
        for (let r = 0; r < j; r++) v -= a[r * k + j] * a[r * k + c];
        a[j * k + c] = v / ajj;
      }
    }
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) a[i * k + j] = 0;
  const oo = new Array<number>(k);
  piv.forEach((c, pos) => (oo[c] = pos));
  // λ = t(R[, oo]): λ[r][c] = R[c][oo[r]].
  for (let r = 0; r < k; r++) for (let c = 0; c <= r; c++) lam[r * k + c] = a[c * k + oo[r]];
  return lam;
}

/** [sd/cor per term, σ] → θ (lme4's Sv_to_Cv with s = σ), written into `theta`. */
function svToCv(pars: ArrayLike<number>, shapes: TermShape[], sigma: number, theta: Float64Array): void {
  for (const { k, start } of shapes) {
    const sd = new Float64Array(k);
    const S = new Float64Array(k * k);
    let s = start;
    for (let c = 0; c < k; c++) {
      for (let r = c; r < k; r++) {
        if (r === c) sd[r] = pars[s];
        s++;
      }
    }
    s = start;
    for (let c = 0; c < k; c++) {
      for (let r = c; r < k; r++) {
        const v = r === c ? sd[r] * sd[r] : pars[s] * sd[r] * sd[c];
        S[r * k + c] = S[c * k + r] = v / (sigma * sigma);
        s++;
      }
    }
    const lam = safeCholLambda(S, k);
    s = start;
    for (let c = 0; c < k; c++) for (let r = c; r < k; r++) theta[s++] = lam[r * k + c];
  }
}

// ---------------------------------------------------------------------------------------------
// Splines: R's splines::interpSpline (natural cubic interpolating spline) and backSpline.
// ---------------------------------------------------------------------------------------------

/** A piecewise cubic in polySpline form: on (knots[i], knots[i+1]], y = Σ_c coef[i][c] (x − knots[i])^c. */
interface PolySpline {
  knots: number[];
  coef: number[][];
}

/**
 * interpSpline(y ~ x): the natural cubic spline through the points (x increasing, distinct, ≥ 4).
 * Only what backSpline reads is returned: the values and first derivatives at the knots.
 */
function interpSplineSlopes(x: number[], y: number[]): number[] {
  const n = x.length;
  const h = Array.from({ length: n - 1 }, (_, i) => x[i + 1] - x[i]);
  // Second derivatives M with M_0 = M_{n−1} = 0: tridiagonal system (Thomas algorithm).
  const M = new Array<number>(n).fill(0);
  const m = n - 2;
  if (m > 0) {
    const diag = new Array<number>(m), rhs = new Array<number>(m), sub = new Array<number>(m);
    for (let i = 1; i <= m; i++) {
      diag[i - 1] = 2 * (h[i - 1] + h[i]);
      sub[i - 1] = h[i - 1];
      rhs[i - 1] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1]);
    }
    for (let i = 1; i < m; i++) {
      const w = sub[i] / diag[i - 1];
      diag[i] -= w * h[i];
      rhs[i] -= w * rhs[i - 1];
    }
    M[m] = rhs[m - 1] / diag[m - 1];
    for (let i = m - 1; i >= 1; i--) M[i] = (rhs[i - 1] - h[i] * M[i + 1]) / diag[i - 1];
  }
  const slope = new Array<number>(n);
  for (let i = 0; i < n - 1; i++) slope[i] = (y[i + 1] - y[i]) / h[i] - (h[i] * (2 * M[i] + M[i + 1])) / 6;
  slope[n - 1] = (y[n - 1] - y[n - 2]) / h[n - 2] + (h[n - 2] * (M[n - 2] + 2 * M[n - 1])) / 6;
  return slope;
}

/**
 * splines::backSpline of the interpolating spline of y on x (x increasing): the inverse x(y) as a
 * piecewise cubic on the knots y, matching x and dx/dy = 1/y'(x) at the knots, with lme4's (R's)
 * treatment of the end intervals. Throws, as R does, when y is not monotone.
 */
function backSpline(x: number[], y: number[], slope: number[]): PolySpline {
  const nk = x.length;
  const kdiff = x.slice(1).map((v, i) => v - x[i]);
  if (kdiff.some((d) => !(d > 0))) throw new Error("knot positions must be strictly increasing");
  const adiff = y.slice(1).map((v, i) => v - y[i]);
  let rev: boolean;
  if (adiff.every((d) => d < 0)) rev = true;
  else if (adiff.every((d) => d > 0)) rev = false;
  else throw new Error("spline must be monotone");
  const b = Array.from({ length: nk }, (_, i) => [x[i], 1 / slope[i], 0, 0]);
  for (let i = 0; i < nk - 1; i++) {
    // Solve [[a², a³], [2a, 3a²]] [c; d] = [kdiff − a b_i; b_{i+1} − b_i].
    const a = adiff[i];
    const r1 = kdiff[i] - a * b[i][1], r2 = b[i + 1][1] - b[i][1];
    const det = a * a * 3 * a * a - a * a * a * 2 * a;
    b[i][2] = (r1 * 3 * a * a - a * a * a * r2) / det;
    b[i][3] = (a * a * r2 - 2 * a * r1) / det;
  }
  b[nk - 1][1] = b[nk - 1][2] = b[nk - 1][3] = NaN;
  const last = nk - 2;
  if (nk > 2) {
    b[0][3] = 0;
    b[last][3] = 0;
    // [[a, a²], [1, 2a]] [b; c] = [kdiff_1; 1/slope_2]
    const a = adiff[0];
    const r1 = kdiff[0], r2 = 1 / slope[1];
    const det = a * 2 * a - a * a;
    b[0][1] = (r1 * 2 * a - a * a * r2) / det;
    b[0][2] = (a * r2 - r1) / det;
    b[last][2] = (kdiff[last] - adiff[last] * b[last][1]) / adiff[last] ** 2;
  }
  if (b[0][2] > 0) {
    b[0][2] = 0;
    b[0][1] = kdiff[0] / adiff[0];
  }
  if (b[last][2] < 0) {
    b[last][2] = 0;
    b[last][1] = kdiff[last] / adiff[last];
  }
  return rev ? { knots: [...y].reverse(), coef: [...b].reverse() } : { knots: y, coef: b };
}

/** predict.polySpline at z: NA (NaN) outside [knots[0], knots[last]], intervals closed on the right. */
function predictPoly(sp: PolySpline, z: number): number {
  const { knots, coef } = sp;
  const nk = knots.length;
  if (!(z >= knots[0] && z <= knots[nk - 1])) return NaN;
  let i = 0;
  if (z !== knots[0]) {
    while (i < nk - 2 && !(z <= knots[i + 1])) i++;
  }
  const c = coef[i], d = z - knots[i];
  return ((c[3] * d + c[2]) * d + c[1]) * d + c[0];
}

/** R's approxfun(x, y)(v) (linear, ties averaged, NA outside the range). */
function approxLinear(x: number[], y: number[], v: number): number {
  const pts = x.map((xi, i) => [xi, y[i]] as const).filter(([a, b]) => !Number.isNaN(a) && !Number.isNaN(b));
  pts.sort((p, q) => p[0] - q[0]);
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < pts.length; ) {
    let j = i, s = 0;
    while (j < pts.length && pts[j][0] === pts[i][0]) s += pts[j++][1];
    xs.push(pts[i][0]);
    ys.push(s / (j - i));
    i = j;
  }
  if (xs.length === 0 || !(v >= xs[0] && v <= xs[xs.length - 1])) return NaN;
  if (xs.length === 1) return ys[0];
  let i = 0;
  while (i < xs.length - 2 && v > xs[i + 1]) i++;
  return ys[i] + ((v - xs[i]) / (xs[i + 1] - xs[i])) * (ys[i + 1] - ys[i]);
}

// ---------------------------------------------------------------------------------------------
// The ML deviance of the model in (sd, cor, σ) and, for a fixed effect held at b, in θ.
// ---------------------------------------------------------------------------------------------

interface MLFit {
  sys: BlockedSystem;
  n: number;
  p: number;
  shapes: TermShape[];
  thetaLower: number[];
  thetaHat: Float64Array;
  base: number;
  sigmaHat: number;
  betaHat: Float64Array;
  se: Float64Array;
}

/**
 * The model's ML fit on a system of our own (the model's results and its kernels' arena are left
 * alone): for an ML fit its θ̂; for a REML fit lme4's refitML (minqa's bobyqa from the REML θ̂,
 * rhobeg = min(0.95, 0.2 max|θ|), rhoend = 1e-6 rhobeg).
 */
function mlFit(m: LinearMixedModel): MLFit {
  const kernels = m.kernels;
  const blocks: ReBlock[] = m.reTerms.map((t) => ({ m: t.levels.length, k: t.names.length, refs: t.refs, Z: t.Z }));
  const off = m.frame.offset;
  const y = off ? m.frame.y.map((v, i) => v - off[i]) : Float64Array.from(m.frame.y);
  const p = m.p, n = m.n;
  const sys = new BlockedSystem(kernels, blocks, m.frame.X, p, y);
  const shapes: TermShape[] = [];
  let start = 0;
  for (const t of m.reTerms) {
    const k = t.names.length;
    shapes.push({ k, start });
    start += (k * (k + 1)) / 2;
  }
  const thetaLower = sys.thetaLowerBounds();
  const devML = (th: ArrayLike<number>): number => {
    const o = sys.update(th);
    return o ? o.logdetZ + n * (1 + Math.log((2 * Math.PI * o.pwrss) / n)) : Infinity;
  };
  let thetaHat = Float64Array.from(m.theta);
  if (m.REML) {
    const x0 = thetaHat.every((v) => v === 0) ? thetaHat.map(() => 0.001) : thetaHat;
    const rhobeg = Math.min(0.95, 0.2 * Math.max(...Array.from(x0, Math.abs)));
    const res = minimize("bobyqa", devML, x0, thetaLower, thetaLower.map(() => Infinity), { rhobeg, rhoend: 1e-6 * rhobeg });
    thetaHat = Float64Array.from(res.x);
    // minqa's bobyqa lands exactly on a bound of 0 where the optimum is there; this port can stop a
    // rounding error above it (θ ≈ 1e-8, deviance lower by 1e-14). Such diagonal elements are put at
    // 0 when that costs at most lme4's devtol, so a singular fit profiles from sd = 0 as lme4's does.
    const zeroed = thetaHat.map((v, i) => (thetaLower[i] === 0 && v > 0 && v < 1e-3 ? 0 : v));
    if (zeroed.some((v, i) => v !== thetaHat[i]) && devML(zeroed) <= devML(thetaHat) + DEVTOL) thetaHat = zeroed;
  }
  const o = sys.update(thetaHat);
  if (!o) throw new Error("internal: the factor at the ML estimate is not positive definite");
  const base = o.logdetZ + n * (1 + Math.log((2 * Math.PI * o.pwrss) / n));
  const sigmaHat = Math.sqrt(o.pwrss / n);
  const s = sys.solve();
  const se = Float64Array.from({ length: p }, (_, j) => sigmaHat * Math.sqrt(s.covBetaUnscaled[j * p + j]));
  return { sys, n, p, shapes, thetaLower, thetaHat, base, sigmaHat, betaHat: Float64Array.from(s.beta), se };
}

/** lme4's names of the variance parameters (tnames(old = FALSE, prefix = c("sd", "cor")) and "sigma"). */
function varianceNames(m: LinearMixedModel): string[] {
  const out: string[] = [];
  for (const t of m.reTerms) {
    const k = t.names.length;
    for (let c = 0; c < k; c++) {
      for (let r = c; r < k; r++) out.push(r === c ? `sd_${t.names[r]}|${t.group}` : `cor_${t.names[r]}.${t.names[c]}|${t.group}`);
    }
  }
  out.push("sigma");
  return out;
}

/** lme4's get.which on names: indices (0-based, increasing) of the selected parameters. */
function selectParameters(which: string[] | undefined, names: string[], nvp: number): number[] {
  if (which === undefined) return names.map((_, i) => i);
  const sel = new Set<number>();
  for (const w of which) {
    if (w === "theta_") for (let i = 0; i < nvp; i++) sel.add(i);
    else if (w === "beta_") for (let i = nvp; i < names.length; i++) sel.add(i);
    else {
      const i = names.indexOf(w);
      if (i < 0) throw new Error(`unknown parameter '${w}' in which: the model's parameters are ${names.map((s) => `'${s}'`).join(", ")} (or "theta_", "beta_")`);
      sel.add(i);
    }
  }
  return [...sel].sort((a, b) => a - b);
}

/**
 * Likelihood profiles of the parameters (lme4's profile(fit, signames = FALSE)): for each, a grid of
 * its values with ζ and the other parameters re-optimised. For a REML fit they are the profiles of
 * its ML refit, as lme4's.
 */
export function profile(m: LinearMixedModel, opts: ProfileOptions = {}): ProfileTrace[] {
  const maxpts = opts.maxSteps ?? 100;
  if (!(Number.isInteger(maxpts) && maxpts >= 3)) throw new Error(`maxSteps must be an integer ≥ 3, got ${maxpts}`);
  if (opts.level !== undefined && !(opts.level > 0 && opts.level < 1)) throw new Error(`level must be between 0 and 1, got ${opts.level}`);
  const vnames = varianceNames(m);
  const nvp = vnames.length;
  const names = [...vnames, ...m.frame.xNames];
  const nptot = names.length;
  const which = selectParameters(opts.which, names, nvp);
  const fit = mlFit(m);
  const { sys, n, p, shapes, thetaLower, base } = fit;
  const nth = nvp - 1;

  const opt = [...cvToSv(fit.thetaHat, shapes, fit.sigmaHat), ...fit.betaHat];
  // Bounds on the sdcor scale (lme4: pmax(fitted@lower, −1); upper Inf for sd, 1 for cor), σ ≥ 0.
  const lower = [...thetaLower.map((l) => Math.max(l, -1)), 0, ...new Array<number>(p).fill(-Infinity)];
  const upper = [...thetaLower.map((l) => (l === 0 ? Infinity : 1)), Infinity, ...new Array<number>(p).fill(Infinity)];

  const lmeCutoff = Math.sqrt(qchisq(1 - ALPHAMAX, nptot));
  const cutoff = opts.level === undefined ? lmeCutoff : Math.max(lmeCutoff, qnorm((1 + opts.level) / 2));
  const delta = lmeCutoff * DELTA_CUTOFF;

  const optName: OptimizerName = m.optimizerName;
  const defaults = optName === "bobyqa" ? NLOPTWRAP_DEFAULTS : {};
  // The variance profiles use the fit's control (lme4: fitted@optinfo$control); the fixed-effect ones the defaults.
  const varControl: OptimOptions = { ...defaults, maxfun: m.options.maxfun, ...m.options.optCtrl };
  const feControl: OptimOptions = { ...defaults };

  const theta = new Float64Array(nth);
  const devVar = (pars: ArrayLike<number>): number => {
    const sigma = pars[nth];
    svToCv(pars, shapes, sigma, theta);
    const o = sys.update(theta);
    if (!o) return Infinity;
    const s2 = sigma * sigma;
    return o.logdetZ + o.pwrss / s2 + n * Math.log(2 * Math.PI * s2);
  };
  const betaAt = (th: ArrayLike<number>): number[] => (sys.update(th) ? Array.from(sys.solve().beta) : new Array<number>(p).fill(NaN));

  // A correlation of a term with an sd of 0 is undefined (NaN, as lme4's); the optimisations start it at 0.
  const startOf = (row: number[], w: number) => row.slice(0, nvp).map((v) => (Number.isNaN(v) ? 0 : v)).filter((_, a) => a !== w);

  const traces: ProfileTrace[] = [];
  for (const w of which) {
    const warnings: string[] = [];
    if (Number.isNaN(opt[w])) {
      traces.push({
        par: names[w], kind: "variance", names, focal: [], zeta: [], values: [], estimate: NaN, lower: lower[w], upper: upper[w],
        warnings: ["the correlation is undefined at the estimate (a standard deviation of its term is 0): not profiled"],
      });
      continue;
    }
    const warn = (msg: string) => {
      if (!warnings.includes(msg)) warnings.push(msg);
    };
    // The largest decrease of the deviance below the ML fit's seen while profiling (ζ is then 0 there).
    let lowest = 0;
    let zetaFun: (x: number, start: number[]) => number[];
    let first: number;
    if (w < nvp) {
      // A variance parameter: the others (sd/cor/σ) re-optimised, β profiled out.
      const free = Array.from({ length: nvp }, (_, i) => i).filter((i) => i !== w);
      const lo = free.map((i) => lower[i]), up = free.map((i) => upper[i]);
      const full = new Float64Array(nvp);
      zetaFun = (x, start) => {
        const f = (v: Float64Array) => {
          full[w] = x;
          free.forEach((i, a) => (full[i] = v[a]));
          return devVar(full);
        };
        const res = minimize(optName, f, start, lo, up, varControl);
        const pars = new Array<number>(nvp);
        pars[w] = x;
        let devdiff = res.f - base;
        if (!Number.isFinite(devdiff)) {
          devdiff = NaN;
          free.forEach((i) => (pars[i] = NaN));
          warn("NAs detected in profiling");
        } else {
          free.forEach((i, a) => (pars[i] = res.x[a]));
          if (devdiff < 0) lowest = Math.min(lowest, devdiff);
        }
        const zz = Math.sign(x - opt[w]) * Math.sqrt(Math.max(0, devdiff));
        let beta: number[];
        if (Number.isNaN(devdiff)) beta = new Array<number>(p).fill(NaN);
        else {
          svToCv(pars, shapes, pars[nth], theta);
          beta = betaAt(theta);
        }
        return [zz, ...pars, ...beta];
      };
      first = opt[w] === 0 ? 0.001 : opt[w] * 1.01;
    } else {
      // A fixed effect β_j held at b: the ML deviance over θ with the other β's profiled out.
      const j = w - nvp;
      const est = opt[w];
      const upperTheta = thetaLower.map(() => Infinity);
      zetaFun = (b) => {
        const f = (th: Float64Array) => {
          const o = sys.update(th);
          if (!o) return Infinity;
          const s = sys.solve();
          const r2 = o.pwrss + (b - s.beta[j]) ** 2 / s.covBetaUnscaled[j * p + j];
          return o.logdetZ + n * (1 + Math.log((2 * Math.PI * r2) / n));
        };
        const res = minimize(optName, f, fit.thetaHat, thetaLower, upperTheta, feControl);
        const o = sys.update(res.x);
        if (!o || !Number.isFinite(res.f)) {
          warn("NAs detected in profiling");
          const row = new Array<number>(1 + nptot).fill(NaN);
          row[1 + w] = b;
          return row;
        }
        const s = sys.solve();
        const vjj = s.covBetaUnscaled[j * p + j];
        const r2 = o.pwrss + (b - s.beta[j]) ** 2 / vjj;
        const sig = Math.sqrt(r2 / n);
        // The other β's at β_j = b: β̂ + V_{·j} (b − β̂_j) / V_jj.
        const beta = Array.from(s.beta, (bk, k) => (k === j ? b : bk + (s.covBetaUnscaled[k * p + j] * (b - s.beta[j])) / vjj));
        const devdiff = res.f - base;
        if (devdiff < 0) lowest = Math.min(lowest, devdiff);
        return [Math.sign(b - est) * Math.sqrt(Math.max(0, devdiff)), ...cvToSv(res.x, shapes, sig), ...beta];
      };
      first = est + delta * fit.se[j];
    }
    const cc = 1 + w;
    const lowcut = lower[w], upcut = upper[w];

    // lme4's nextpar: the step that moves ζ by about δ, capped at maxmult times the last step.
    const nextpar = (mat: number[][], r: number): number => {
      const p0 = mat[r - 1][cc], p1 = mat[r][cc];
      const num = p1 - p0;
      const denom = mat[r][0] - mat[r - 1][0];
      let step: number;
      if (Number.isNaN(denom) || denom === 0) {
        warn("Last two rows have identical or NA .zeta values: using minstep");
        step = MINSTEP;
      } else {
        step = (delta * num) / denom;
        if (step < 0) {
          warn("unexpected decrease in profile: using minstep");
          step = MINSTEP;
        } else if (Math.abs(step) > MAXMULT * Math.abs(num)) step = MAXMULT * Math.abs(num);
      }
      return Math.min(upcut, Math.max(lowcut, p1 + Math.sign(num) * step));
    };
    // lme4's fillmat, with startmethod "prev": each optimisation starts at the previous point.
    const fillmat = (mat: number[][]): number[][] => {
      let i = 1;
      while (i < maxpts - 1 && mat[i][cc] > lowcut && mat[i][cc] < upcut && (Number.isNaN(mat[i][0]) || Math.abs(mat[i][0]) <= cutoff)) {
        const np = nextpar(mat, i);
        mat[i + 1] = zetaFun(np, startOf(mat[i].slice(1), w));
        i++;
      }
      return mat;
    };
    const baseRow = [0, ...opt];
    const pres = Array.from({ length: maxpts }, () => [...baseRow]);
    const nres = Array.from({ length: maxpts }, () => [...baseRow]);
    const firstRow = zetaFun(first, startOf(opt, w));
    nres[0] = [...firstRow];
    pres[1] = [...firstRow];
    const upperf = fillmat(pres);
    const lowerf = w >= nvp || opt[w] > lowcut ? fillmat(nres) : nres;
    if (lowest < -DEVTOL) {
      // lme4 stops here ("profiling detected new, lower deviance"); the profile is returned with the warning.
      warn(`profiling detected new, lower deviance (by up to ${lowest.toPrecision(3).replace("-", "")}): the ML fit is not at its optimum, so this profile is not reliable`);
    } else if (lowest < 0) warn(`slightly lower deviances (diff=${lowest.toPrecision(3)}) detected`);
    // unique(rbind(upperf, lowerf)), ordered by the parameter.
    const seen = new Set<string>();
    const rows: number[][] = [];
    for (const r of [...upperf, ...lowerf]) {
      const key = r.join(",");
      if (!seen.has(key)) {
        seen.add(key);
        rows.push(r);
      }
    }
    rows.sort((a, b) => (Number.isNaN(a[cc]) ? 1 : Number.isNaN(b[cc]) ? -1 : a[cc] - b[cc]));
    traces.push({
      par: names[w],
      kind: w < nvp ? "variance" : "fixed",
      names,
      focal: rows.map((r) => r[cc]),
      zeta: rows.map((r) => r[0]),
      values: rows.map((r) => r.slice(1)),
      estimate: opt[w],
      lower: lowcut,
      upper: upcut,
      warnings,
    });
  }
  return traces;
}

/**
 * The back-spline of a profile (ζ → parameter), or null with the reason when lme4's would fail
 * (fewer than 4 points, repeated values, ζ not monotone).
 */
function backSplineOf(tr: ProfileTrace, isVariance: boolean): PolySpline | string {
  let x = tr.focal, y = tr.zeta;
  const bad = x.some((v, i) => Number.isNaN(v) || Number.isNaN(y[i]));
  if (bad) {
    if (!isVariance) return "NA values in the profile"; // lme4's interpSpline(na.action = na.fail)
    const keep = x.map((v, i) => !Number.isNaN(v) && !Number.isNaN(y[i]));
    x = x.filter((_, i) => keep[i]);
    y = y.filter((_, i) => keep[i]);
  }
  if (x.length < 4) return "must have at least 'ord'=4 points";
  for (let i = 1; i < x.length; i++) if (x[i] === x[i - 1]) return "values of 'x' must be distinct";
  try {
    return backSpline(x, y, interpSplineSlopes(x, y));
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Profile intervals from profiles already computed (lme4's confint(profile(fit), level)): one
 * profile serves any level its range covers.
 */
export function confintFromProfile(traces: ProfileTrace[], opts: { level?: number } = {}): ConfintRow[] {
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`level must be between 0 and 1, got ${level}`);
  const a = (1 - level) / 2;
  const zeta = [qnorm(a), qnorm(1 - a)];
  return traces.map((tr) => {
    const isVariance = tr.kind === "variance";
    const sp = backSplineOf(tr, isVariance);
    let ends: number[];
    if (typeof sp !== "string") ends = zeta.map((z) => predictPoly(sp, z));
    else {
      // confint.thpr's fallbacks: a bad profile gives NA, otherwise linear interpolation.
      const z = tr.zeta;
      const d = z.slice(1).map((v, i) => v - z[i]).filter((v) => !Number.isNaN(v));
      if (z.every(Number.isNaN)) return { term: tr.par, lower: NaN, upper: NaN };
      if (d.length > 0 && d.every((v) => v < -NON_MONO_TOL)) return { term: tr.par, lower: NaN, upper: NaN };
      ends = zeta.map((zz) => approxLinear(z, tr.focal, zz));
    }
    // Not reached: the parameter's bound for a variance parameter (lme4's lower/upper), else NA.
    const lower = Number.isNaN(ends[0]) && isVariance ? tr.lower : ends[0];
    const upper = Number.isNaN(ends[1]) && isVariance ? tr.upper : ends[1];
    return { term: tr.par, lower, upper };
  });
}

/**
 * Profile-likelihood confidence intervals (lme4's confint(fit, method = "profile", oldNames = FALSE)),
 * one row per parameter in lme4's order: sd_/cor_ per term, sigma, the fixed effects. For a REML
 * fit they are those of its ML refit, as lme4's.
 */
export function confintProfile(m: LinearMixedModel, opts: { level?: number; which?: string[] } = {}): ConfintRow[] {
  const level = opts.level ?? 0.95;
  return confintFromProfile(profile(m, { which: opts.which, level }), { level });
}
