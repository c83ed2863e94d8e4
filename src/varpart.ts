// Variance decomposition of a fitted linear mixed model: the variance components behind Nakagawa's R²
// and the ICC (insight::get_variance, performance::r2_nakagawa, performance::icc, MuMIn::r.squaredGLMM)
// and variancePartition's fractions of variance per term (calcVarPart).
//
// The pieces, for an LMM y = Xβ + Σ_t Z_t b_t + ε with b_t,j ~ N(0, Σ_t) per level j and ε ~ N(0, σ²):
//   σ²_f       the variance of the fixed-effect predictions Xβ̂ (R's var: n − 1 denominator; no offset)
//              (Nakagawa & Schielzeth 2013, eq. 26; Nakagawa, Johnson & Schielzeth 2017, Suppl. 2);
//   σ²_t       the variance contributed by random-effects term t: the mean over observations of
//              z_ti' Σ_t z_ti, z_ti = row i of the term's model matrix (Johnson 2014). For an
//              intercept-only term it is the variance component σ²_g itself; with random slopes it
//              depends on the covariates' scale and location, as it should;
//   σ²_random  Σ_t σ²_t;
//   σ²         the residual variance σ̂².
// Runtime-neutral (no Node APIs).

import type { LinearMixedModel } from "./linearmixedmodel.js";
import type { ReTermData } from "./modelframe.js";
import { termCovariance, termKeys } from "./randomeffects.js";

/** The variance components of a fit, as insight::get_variance() names them. */
export interface VarianceComponents {
  /** σ²_f = var(Xβ̂) with R's n − 1 denominator (insight's var.fixed). */
  fixed: number;
  /** σ²_random = Σ over random-effects terms of mean_i z_i' Σ z_i (insight's var.random, Johnson 2014). */
  random: number;
  /** σ̂² (insight's var.residual for a Gaussian model). */
  residual: number;
  /** σ²_t per random-effects term, keyed as m.VarCorr() ("Subject", "cask:batch", "g.1" for `(x || g)`). */
  randomByTerm: Record<string, number>;
  /**
   * The random-intercept variance τ00 of each term whose first column is "(Intercept)" (insight's
   * var.intercept); terms without an intercept (`(0 + x | g)`, the slope part of `(x || g)`) are absent.
   */
  intercept: Record<string, number>;
  /** Whether some term has columns other than the intercept (random slopes). */
  randomSlopes: boolean;
  /** lme4's isSingular(): the random-effect variances are (partly) zero, see the notes of icc(). */
  singular: boolean;
}

/**
 * Σ_t = σ̂² λ_t λ_t' of every term (θ order) as k × k row-major: the covariances m.VarCorr() and
 * m.varcorrRows() report (exactly symmetric: λ_t's products are summed in the same order either way).
 */
function termCovariances(m: LinearMixedModel): Float64Array[] {
  const theta = m.theta, s2 = m.sigma ** 2, system = m.blockedSystem;
  return m.reTerms.map((t, ti) => termCovariance(system.lambdaOf(theta, ti), t.names.length, s2));
}

/** What the components need of the terms, by term (θ order): VarCorr's keys and which have intercepts or slopes. */
interface TermInfo {
  keys: string[];
  hasIntercept: boolean[];
  randomSlopes: boolean;
}

// Per design (fitMany's response models share the terms and the frame's arrays), computed once.
const termInfos = new WeakMap<readonly ReTermData[], TermInfo>();

function termInfo(terms: readonly ReTermData[]): TermInfo {
  let hit = termInfos.get(terms);
  if (!hit) {
    hit = {
      keys: termKeys(terms),
      hasIntercept: terms.map((t) => t.names[0] === "(Intercept)"),
      randomSlopes: terms.some((t) => t.names.some((nm) => nm !== "(Intercept)")),
    };
    termInfos.set(terms, hit);
  }
  return hit;
}

// The components are quadratic forms in the design's second moments, computed once per design and
// cached (fitMany reuses one design for thousands of responses): per fit the cost is O(p² + Σ k²),
// not O(n).
const xCovariances = new WeakMap<Float64Array, Float64Array>();
const zMoments = new WeakMap<Float64Array, Float64Array>();

/** The columns' covariance matrix of X (n × p row-major), R's cov(X): centred, n − 1 denominator. */
function columnCovariance(X: Float64Array, n: number, p: number): Float64Array {
  const hit = xCovariances.get(X);
  if (hit && hit.length === p * p) return hit;
  const mean = new Float64Array(p);
  for (let r = 0; r < n; r++) for (let c = 0; c < p; c++) mean[c] += X[r * p + c];
  for (let c = 0; c < p; c++) mean[c] /= n;
  const C = new Float64Array(p * p);
  const d = new Float64Array(p);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < p; c++) d[c] = X[r * p + c] - mean[c];
    for (let a = 0; a < p; a++) for (let b = 0; b <= a; b++) C[a * p + b] += d[a] * d[b];
  }
  for (let a = 0; a < p; a++) {
    for (let b = 0; b <= a; b++) {
      C[a * p + b] /= n - 1;
      C[b * p + a] = C[a * p + b];
    }
  }
  xCovariances.set(X, C);
  return C;
}

/** M = (1/n) Σ_i z_i z_i' over the rows z_i of a term's model matrix Z (n × k). */
function secondMoments(Z: Float64Array, n: number, k: number): Float64Array {
  const hit = zMoments.get(Z);
  if (hit && hit.length === k * k) return hit;
  const M = new Float64Array(k * k);
  for (let r = 0; r < n; r++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) M[a * k + b] += Z[r * k + a] * Z[r * k + b];
  for (let i = 0; i < k * k; i++) M[i] /= n;
  zMoments.set(Z, M);
  return M;
}

/** var(Σ_{c ∈ cols} X_c β_c) with the n − 1 denominator: β_cols' C β_cols (≥ 0; rounding can dip below). */
function predictionVariance(C: Float64Array, p: number, beta: number[], cols: number[]): number {
  let v = 0;
  for (const a of cols) for (const b of cols) v += beta[a] * C[a * p + b] * beta[b];
  return Math.max(0, v);
}

function fixedBeta(m: LinearMixedModel): number[] {
  const fe = m.fixef();
  return m.frame.xNames.map((nm) => fe[nm]);
}

/**
 * The variance components of the fit (insight::get_variance for a Gaussian LMM):
 * σ²_f = var(Xβ̂), σ²_random = Σ_t mean_i z_ti' Σ_t z_ti, σ² = σ̂², and τ00 per term with an intercept.
 *
 * insight and MuMIn take z_ti from the columns of the fixed-effect X named like the random effects
 * (insight drops a random slope that is not a fixed-effect column, with a warning; MuMIn stops); here
 * z_ti is the row of the term's own model matrix, which is the same whenever the random slopes are
 * also fixed effects, as both packages recommend.
 */
export function varianceComponents(m: LinearMixedModel): VarianceComponents {
  const n = m.n, p = m.p;
  const all = Array.from({ length: p }, (_, c) => c);
  return {
    fixed: predictionVariance(columnCovariance(m.frame.X, n, p), p, fixedBeta(m), all),
    ...randomComponents(m),
    residual: m.sigma ** 2,
    singular: m.isSingular(),
  };
}

/** The random-effects part of varianceComponents(): σ²_t per term, their sum, the τ00. */
function randomComponents(m: LinearMixedModel): Pick<VarianceComponents, "random" | "randomByTerm" | "intercept" | "randomSlopes"> {
  const info = termInfo(m.reTerms);
  const covs = termCovariances(m);
  const n = m.n;
  const randomByTerm: Record<string, number> = {};
  const intercept: Record<string, number> = {};
  let random = 0;
  m.reTerms.forEach((t, ti) => {
    const k = t.names.length, S = covs[ti], key = info.keys[ti];
    // mean_i z_i' Σ z_i = Σ_ab Σ_ab M_ab
    const M = secondMoments(t.Z, n, k);
    let s = 0;
    for (let i = 0; i < k * k; i++) s += S[i] * M[i];
    randomByTerm[key] = s;
    random += s;
    if (info.hasIntercept[ti]) intercept[key] = S[0];
  });
  return { random, randomByTerm, intercept, randomSlopes: info.randomSlopes };
}

export interface ICC {
  /** performance::icc's ICC_adjusted: σ²_random / (σ²_random + σ²). */
  adjusted: number;
  /** performance::icc's ICC_unadjusted (ICC_conditional): σ²_random / (σ²_f + σ²_random + σ²). */
  unadjusted: number;
  /**
   * performance::icc(by_group = TRUE): per term with a random intercept, τ00 / (σ²_random + σ²),
   * keyed as m.VarCorr(). For a model with intercept-only terms these are σ²_g / (Σ σ²_random + σ²)
   * and sum to `adjusted`.
   */
  byGroup: Record<string, number>;
  /** The model has random slopes: byGroup then uses the intercept variances only (see icc()). */
  randomSlopes: boolean;
  /** The fit is singular (some variance components zero). */
  singular: boolean;
}

/**
 * The intraclass correlation of the fit, as performance::icc (Nakagawa, Johnson & Schielzeth 2017):
 * adjusted σ²_random / (σ²_random + σ²), unadjusted σ²_random / (σ²_f + σ²_random + σ²), and per
 * grouping term (by_group = TRUE) the random-intercept variance τ00 over σ²_random + σ².
 *
 * Random slopes: σ²_random includes them as the mean of z'Σz over the observations (Johnson 2014),
 * so the overall ICCs account for them; the per-term values use the random-intercept variances τ00
 * alone (performance's definition, which warns "Cannot compute accurate ICCs by group factors" for
 * such models): with a slope the intercept variance is the variance where the covariate is 0, so
 * byGroup then depends on where the covariate's zero is. Terms with no intercept have no byGroup entry.
 *
 * Singular fits: performance returns NA here (it refuses variance components that are zero within
 * its tolerance); the numbers below are computed anyway (a zero variance adds 0), and `singular`
 * says so.
 */
export function icc(m: LinearMixedModel): ICC {
  const v = varianceComponents(m);
  const denom = v.random + v.residual;
  const byGroup: Record<string, number> = {};
  for (const [g, tau] of Object.entries(v.intercept)) byGroup[g] = tau / denom;
  return {
    adjusted: v.random / denom,
    unadjusted: v.random / (v.fixed + v.random + v.residual),
    byGroup,
    randomSlopes: v.randomSlopes,
    singular: v.singular,
  };
}

export interface R2Nakagawa {
  /** σ²_f / (σ²_f + σ²_random + σ²): the variance explained by the fixed effects. */
  marginal: number;
  /** (σ²_f + σ²_random) / (σ²_f + σ²_random + σ²): by the fixed and random effects. */
  conditional: number;
  /** The fit is singular; performance then reports the conditional R² as NA (see icc()). */
  singular: boolean;
}

/**
 * Marginal and conditional R² (Nakagawa & Schielzeth 2013; random slopes by Johnson 2014;
 * Nakagawa, Johnson & Schielzeth 2017), as performance::r2_nakagawa and MuMIn::r.squaredGLMM give
 * them for a linear mixed model: σ²_f = var(Xβ̂) (n − 1 denominator), σ²_random the mean over
 * observations of Σ_t z_ti' Σ_t z_ti, and σ² the residual variance.
 */
export function r2Nakagawa(m: LinearMixedModel): R2Nakagawa {
  const v = varianceComponents(m);
  const total = v.fixed + v.random + v.residual;
  return { marginal: v.fixed / total, conditional: (v.fixed + v.random) / total, singular: v.singular };
}

export interface VarPart {
  /**
   * The variance attributed to each component, in the order: random-effects terms (keyed as
   * m.VarCorr(): "Subject", "cask:batch", ...), fixed-effect terms (keyed by term label: "Days",
   * "treatment", "dose_level:x"), then "Residuals".
   */
  variances: Record<string, number>;
  /** variances / their total: each component's fraction of the variance (they sum to 1). */
  fractions: Record<string, number>;
  /** The total variance (the denominator of the fractions). */
  total: number;
}

/**
 * The fraction of variance explained by each term, as variancePartition's calcVarPart() for an lmer
 * fit (its getVarianceComponents; Hoffman & Schadt 2016):
 * - each random-effects term: its variance component (for an intercept-only term σ²_g, VarCorr's
 *   variance);
 * - each fixed-effect term (not the intercept): the variance of its fitted component X_t β̂_t with
 *   denominator N (var · (N − 1)/N), these then rescaled so that they add up to the variance of the
 *   whole fixed-effect prediction (so correlated covariates share their joint variance);
 * - "Residuals": σ̂²;
 * fractions = each / the sum.
 *
 * Where this extends variancePartition (which refuses some models): variancePartition works per
 * column of X and stops on categorical fixed effects; here a fixed term's columns are taken together
 * (the same for a numeric covariate, one column per term). For a term with random slopes
 * variancePartition lists each diagonal variance of Σ_t separately ("Subject", "Subject.Days"), which
 * ignores the covariance and the covariate's scale; here the term gets one component, the mean over
 * observations of z'Σ_t z (Johnson 2014), the same quantity r2Nakagawa() and icc() use. Keys keep
 * the fit's order rather than variancePartition's alphabetical order of the random terms.
 */
export function varPart(m: LinearMixedModel): VarPart {
  const variances: Record<string, number> = { ...randomComponents(m).randomByTerm };
  const n = m.n, p = m.p;
  const assign = m.frame.assign;
  if (assign.length !== p) throw new Error(`internal: ${assign.length} assign entries for ${p} fixed-effect columns`);
  const C = columnCovariance(m.frame.X, n, p);
  const beta = fixedBeta(m);
  const toN = (n - 1) / n; // variancePartition's denominator N
  const { terms, fixedCols } = fixedTerms(assign, m.frame.termLabels);
  if (terms.length > 0) {
    const each = terms.map((t) => predictionVariance(C, p, beta, t.cols) * toN);
    const totalFixed = predictionVariance(C, p, beta, fixedCols) * toN;
    const sumEach = each.reduce((a, b) => a + b, 0);
    terms.forEach((t, i) => {
      if (t.label in variances) throw new Error(`varPart: the fixed-effect term '${t.label}' has the name of a random-effects term`);
      variances[t.label] = sumEach > 0 ? (each[i] / sumEach) * totalFixed : 0;
    });
  }
  if ("Residuals" in variances) throw new Error(`varPart: a term is named 'Residuals', the name of the residual component`);
  variances.Residuals = m.sigma ** 2;
  const keys = Object.keys(variances);
  let total = 0;
  for (const k of keys) total += variances[k];
  const fractions: Record<string, number> = {};
  for (const k of keys) fractions[k] = variances[k] / total;
  return { variances, fractions, total };
}

interface FixedTerms {
  /** The fixed-effect terms with columns in X, in term order, and their columns. */
  terms: { label: string; cols: number[] }[];
  /** Every term's columns, term after term (the intercept's not among them). */
  fixedCols: number[];
}

// Per design: the frame's assign array is shared by every response model of fitMany.
const fixedTermsOf = new WeakMap<number[], { labels: string[]; value: FixedTerms }>();

/** X_t's columns per term (term order); columns dropped as rank deficient are not in X. */
function fixedTerms(assign: number[], labels: string[]): FixedTerms {
  const hit = fixedTermsOf.get(assign);
  if (hit && hit.labels === labels) return hit.value;
  const terms: { label: string; cols: number[] }[] = [];
  labels.forEach((label, ti) => {
    const cols = assign.map((a, c) => (a === ti + 1 ? c : -1)).filter((c) => c >= 0);
    if (cols.length > 0) terms.push({ label, cols });
  });
  const value = { terms, fixedCols: terms.flatMap((t) => t.cols) };
  fixedTermsOf.set(assign, { labels, value });
  return value;
}
