// Satterthwaite's denominator degrees of freedom for t and F tests of the fixed effects, as lmerTest 3.1-3
// computes them (Kuznetsova, Brockhoff & Christensen 2017, J. Stat. Softw. 82(13)):
//   summary(fit)$coefficients   → satterthwaite(m)
//   contest(fit, L)             → contest(m, L)   (a vector: t test; a matrix: F test)
//   anova(fit, type = 3)        → anovaType3(m)
//
// The variance parameters are varpar = (θ, σ). For a contrast l the variance of l'β̂ is
// v(varpar) = l' Cov(β̂)(varpar) l with Cov(β̂) = σ² (R_X'R_X)⁻¹(θ); Satterthwaite's df is
// 2 v² / (∇v' A ∇v), with A = Cov(varpar̂) = 2 H⁻¹ from the Hessian H of the deviance in varpar.
// lmerTest takes both derivatives numerically (numDeriv's Richardson extrapolation). Here they are exact
// where the model has at most MAX_Q random effects (src/varpar-derivatives.ts: one q × q Cholesky instead
// of ~8 factorisations per θ and pair of θs), which differs from numDeriv by its own error (≤ 2e-5 of
// the Hessian's scale, largest at θ = 0); beyond, numDeriv's method and defaults are reproduced.

import { dqrdc2, qrQy, type LinpackQR } from "./contrasts.js";
import { ptTwoTailed, pfUpper } from "./distributions.js";
import { deparse } from "./formula.js";
import type { Expr, ParsedFormula } from "./formula-types.js";
import type { LinearMixedModel } from "./linearmixedmodel.js";
import { modelFrame } from "./modelframe.js";
import { varparDerivatives } from "./varpar-derivatives.js";

export interface SattTest {
  estimate: number;
  se: number;
  df: number;
  t: number;
  p: number;
}

export interface SattFTest {
  F: number;
  NumDF: number;
  DenDF: number;
  p: number;
}

export interface AnovaRow extends SattFTest {
  term: string;
}

type Matrix = number[][];

// ---------------------------------------------------------------------------------------------------
// Public API

/** Satterthwaite t tests of every fixed effect (lmerTest's summary table), keyed by column name. */
export function satterthwaite(m: LinearMixedModel): { df: Record<string, number>; t: Record<string, number>; p: Record<string, number> } {
  const out = { df: {} as Record<string, number>, t: {} as Record<string, number>, p: {} as Record<string, number> };
  m.frame.xNames.forEach((name, i) => {
    const r = contrast1D(m, unitVector(m.p, i));
    out.df[name] = r.df;
    out.t[name] = r.t;
    out.p[name] = r.p;
  });
  return out;
}

/**
 * lmerTest's contest: a vector L is a t test of L'β = 0 (estimate, se, df, t, p); a matrix (one row
 * per hypothesis) is an F test of Lβ = 0 with Satterthwaite's denominator df.
 */
export function contest(m: LinearMixedModel, L: number[] | number[][]): SattTest | SattFTest {
  if (L.length > 0 && L.every((row) => Array.isArray(row))) {
    const rows = L as number[][];
    rows.forEach((row, i) => checkContrast(m, row, `contrast row ${i + 1}`));
    if (rows.every((row) => row.every((v) => v === 0))) throw new Error("the contrast matrix is all zeros: there is no hypothesis to test");
    const r = contrastMD(m, rows);
    if (!r) throw new Error(`the contrast matrix has rank 0 (L Cov(β̂) L' is zero): there is no hypothesis to test`);
    return r;
  }
  if (L.some((v) => Array.isArray(v))) throw new Error("contrast: give a vector of numbers or a matrix (an array of rows), not a mixture");
  if (L.length === 0) throw new Error(`contrast is empty: give ${m.p} coefficients (${m.frame.xNames.join(", ")})`);
  checkContrast(m, L as number[], "contrast");
  if ((L as number[]).every((v) => v === 0)) throw new Error("the contrast is all zeros: there is no hypothesis to test");
  return contrast1D(m, L as number[]);
}

/** Type III F tests of every fixed term with Satterthwaite's df (lmerTest's anova(fit, type = 3)). */
export function anovaType3(m: LinearMixedModel): AnovaRow[] {
  const hypotheses = type3Contrasts(m);
  const tested: AnovaRow[] = [];
  const untestable: AnovaRow[] = [];
  for (const { term, L } of hypotheses) {
    const r = L.length ? contrastMD(m, L) : null;
    // As lmerTest's single_anova: terms with nothing left to test are listed last, with NA.
    if (r) tested.push({ term, ...r });
    else untestable.push({ term, F: NaN, NumDF: NaN, DenDF: NaN, p: NaN });
  }
  return [...tested, ...untestable];
}

/** lmerTest's warnings about the Hessian of the deviance in (θ, σ) (negative or near-zero eigenvalues). */
export function satterthwaiteWarnings(m: LinearMixedModel): string[] {
  return [...varparCovariance(m).warnings];
}

function checkContrast(m: LinearMixedModel, l: number[], what: string): void {
  const names = m.frame.xNames;
  if (l.length !== m.p) {
    throw new Error(`${what} has ${l.length} element${l.length === 1 ? "" : "s"} but the model has ${m.p} fixed effect${m.p === 1 ? "" : "s"} (${names.join(", ")})`);
  }
  l.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${what}: element ${i + 1} (${names[i]}) is ${String(v)}, not a finite number`);
  });
}

// ---------------------------------------------------------------------------------------------------
// The t test (lmerTest's contest1D) and the F test (contestMD)

function contrast1D(m: LinearMixedModel, l: number[]): SattTest {
  const vc = varparCovariance(m);
  const estimate = dot(l, vc.beta);
  const variance = qform(l, vc.vcovBeta);
  const se = Math.sqrt(variance);
  const df = satterthwaiteDf(l, variance, vc);
  const t = estimate / se;
  return { estimate, se, df, t, p: ptTwoTailed(t, df) };
}

/** ν = 2 v² / (∇v' A ∇v), ∇v_k = l' (∂Cov(β̂)/∂varpar_k) l. */
function satterthwaiteDf(l: number[], variance: number, vc: VarparCovariance): number {
  const grad = vc.jacobian.map((J) => qform(l, J));
  return (2 * variance * variance) / qform(grad, vc.A);
}

/**
 * The F test of Lβ = 0 as lmerTest's contestMD: L Cov(β̂) L' = P D P' is split into q independent
 * 1-df contrasts P'L (those with an eigenvalue above √ε times the largest); F is the mean of their
 * t², and the denominator df combines their Satterthwaite dfs (get_Fstat_ddf). Null when q = 0.
 */
function contrastMD(m: LinearMixedModel, L: Matrix): SattFTest | null {
  if (L.length === 1) {
    const r = contrast1D(m, L[0]);
    return { F: r.t * r.t, NumDF: 1, DenDF: r.df, p: pfUpper(r.t * r.t, 1, r.df) };
  }
  const vc = varparCovariance(m);
  const VL = L.map((li) => L.map((lj) => bilinear(li, vc.vcovBeta, lj)));
  const { values: d, vectors: P } = symmetricEigen(VL);
  const tol = Math.max(Math.sqrt(Number.EPSILON) * d[0], 0);
  const q = d.filter((v) => v > tol).length;
  if (q === 0) return null;
  // Rows of P'L: the eigenvectors are the columns of P.
  const PtL = Array.from({ length: q }, (_, k) => L[0].map((_, c) => L.reduce((s, row, r) => s + P[r][k] * row[c], 0)));
  if (q === 1) {
    const r = contrast1D(m, PtL[0]);
    return { F: r.t * r.t, NumDF: 1, DenDF: r.df, p: pfUpper(r.t * r.t, 1, r.df) };
  }
  const F = PtL.reduce((s, l, k) => s + dot(l, vc.beta) ** 2 / d[k], 0) / q;
  const nu = PtL.map((l, k) => satterthwaiteDf(l, d[k], vc));
  const DenDF = fStatDdf(nu);
  return { F, NumDF: q, DenDF, p: pfUpper(F, q, DenDF) };
}

/**
 * lmerTest's get_Fstat_ddf: F·q is a sum of q independent t²_ν; matching the mean of F with that of
 * an F(q, ν) gives ν = 2E/(E − q), E = Σ ν_m/(ν_m − 2) (and 2 if any ν_m ≤ 2, where the mean is infinite).
 */
function fStatDdf(nu: number[], tol = 1e-8): number {
  if (nu.length === 1) return nu[0];
  if (nu.every((v, i) => i === 0 || Math.abs(v - nu[i - 1]) < tol)) return nu.reduce((a, b) => a + b, 0) / nu.length;
  if (nu.some((v) => v <= 2)) return 2;
  const E = nu.reduce((s, v) => s + v / (v - 2), 0);
  return (2 * E) / (E - nu.length);
}

// ---------------------------------------------------------------------------------------------------
// Cov(varpar) and ∂Cov(β̂)/∂varpar: lmerTest's as_lmerModLT, computed once per model and θ

interface VarparCovariance {
  /** θ and σ the derivatives were taken at (the cache is stale once setTheta moves the model). */
  theta: number[];
  sigma: number;
  beta: number[];
  vcovBeta: Matrix;
  /** Cov(varpar̂) = 2 H⁻¹ (H's eigenvalues ≤ 1e-8 left out, as lmerTest). */
  A: Matrix;
  /** ∂Cov(β̂)/∂varpar_k, one p × p matrix per variance parameter. */
  jacobian: Matrix[];
  warnings: string[];
}

const cache = new WeakMap<LinearMixedModel, VarparCovariance>();

function varparCovariance(m: LinearMixedModel): VarparCovariance {
  const theta = m.theta;
  const sigma = m.sigma;
  const hit = cache.get(m);
  if (hit && hit.sigma === sigma && hit.theta.every((t, i) => t === theta[i])) return hit;
  const exact = varparDerivatives(m.blockedSystem, theta, sigma, m.REML);
  let H: Matrix, jacobian: Matrix[];
  if (exact) ({ hessian: H, jacobian } = exact);
  else {
    const devcomp = memoizedDevcomp(m);
    const varpar = [...theta, sigma];
    H = hessian((vp) => devianceVarpar(m, devcomp, vp), varpar);
    jacobian = covBetaJacobian(m, devcomp, varpar);
  }
  const { A, warnings } = twiceInverseHessian(H);
  const fixef = m.fixef();
  const beta = m.frame.xNames.map((nm) => fixef[nm]);
  const vc: VarparCovariance = { theta, sigma, beta, vcovBeta: m.vcov(), A, jacobian, warnings };
  cache.set(m, vc);
  return vc;
}

type Devcomp = NonNullable<ReturnType<LinearMixedModel["devcomp"]>>;

/**
 * m.devcomp(θ), remembered per θ: the derivatives perturb σ alone at many points where θ is
 * unchanged, and the factorisation is the expensive part.
 */
function memoizedDevcomp(m: LinearMixedModel): (theta: number[]) => Devcomp | null {
  const seen = new Map<string, Devcomp | null>();
  return (theta) => {
    const key = theta.join(",");
    if (!seen.has(key)) seen.set(key, m.devcomp(theta));
    return seen.get(key)!;
  };
}

/**
 * lmerTest's devfun_vp: −2 log L as a function of (θ, σ) with β at its conditional estimate,
 * ML:   ldL2 + pwrss/σ² + n log(2πσ²);  REML: that + ldRX2 − p log(2πσ²).
 */
function devianceVarpar(m: LinearMixedModel, devcomp: (theta: number[]) => Devcomp | null, varpar: number[]): number {
  const sigma2 = varpar[varpar.length - 1] ** 2;
  const dc = devcomp(varpar.slice(0, -1));
  if (!dc) return NaN;
  const dev = dc.ldL2 + dc.pwrss / sigma2 + m.n * Math.log(2 * Math.PI * sigma2);
  return m.REML ? dev + dc.ldRX2 - m.p * Math.log(2 * Math.PI * sigma2) : dev;
}

/** ∂(σ² (R_X'R_X)⁻¹(θ))/∂varpar_k (lmerTest's get_covbeta through numDeriv::jacobian). */
function covBetaJacobian(m: LinearMixedModel, devcomp: (theta: number[]) => Devcomp | null, varpar: number[]): Matrix[] {
  const p = m.p;
  const covBeta = (vp: number[]): number[] => {
    const s2 = vp[vp.length - 1] ** 2;
    const dc = devcomp(vp.slice(0, -1));
    if (!dc) return new Array<number>(p * p).fill(NaN);
    return dc.covBetaUnscaled.flat().map((v) => s2 * v);
  };
  const J = jacobian(covBeta, varpar); // (p²) × k
  return varpar.map((_, k) => Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => J[i * p + j][k])));
}

/**
 * 2 H⁻¹ through H's eigen-decomposition, inverting only eigenvalues above 1e-8 (lmerTest): at a
 * boundary fit (θ = 0) the deviance can be flat in a direction. Warns as lmerTest does.
 */
function twiceInverseHessian(H: Matrix, tol = 1e-8): { A: Matrix; warnings: string[] } {
  const { values, vectors } = symmetricEigen(H);
  const warnings: string[] = [];
  const neg = values.filter((v) => v < -tol);
  const zero = values.filter((v) => v > -tol && v < tol);
  const plural = (k: number) => (k > 1 ? "eigenvalues" : "eigenvalue");
  if (neg.length) warnings.push(`Model failed to converge with ${neg.length} negative ${plural(neg.length)}: ${neg.map(rExp).join(" ")}`);
  if (zero.length) warnings.push(`Model may not have converged with ${zero.length} ${plural(zero.length)} close to zero: ${zero.map(rExp).join(" ")}`);
  const k = H.length;
  const A = Array.from({ length: k }, (_, i) =>
    Array.from({ length: k }, (_, j) => values.reduce((s, v, e) => (v > tol ? s + (2 * vectors[i][e] * vectors[j][e]) / v : s), 0)),
  );
  return { A, warnings };
}

/** R's sprintf("%1.1e", x): "-1.2e-03". */
function rExp(x: number): string {
  const [mant, exp] = x.toExponential(1).split("e");
  const e = Number(exp);
  return `${mant}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

// ---------------------------------------------------------------------------------------------------
// numDeriv's Richardson extrapolation (numDeriv 2016.8: genD for hessian, jacobian), same defaults

/** numDeriv's zero.tol: coordinates smaller than this get the absolute step eps instead of d·|x|. */
const ZERO_TOL = Math.sqrt(Number.EPSILON / 7e-7);

/** Richardson extrapolation over steps h, h/2, h/4, ...: each pass cancels the next even power of h. */
function richardson(a: number[], r: number): number {
  for (let m = 1; m < r; m++) for (let k = 0; k < r - m; k++) a[k] = (a[k + 1] * 4 ** m - a[k]) / (4 ** m - 1);
  return a[0];
}

function steps(x: number[], d: number, eps: number): number[] {
  return x.map((v) => Math.abs(d * v) + (Math.abs(v) < ZERO_TOL ? eps : 0));
}

function shifted(x: number[], i: number, hi: number, j = -1, hj = 0): number[] {
  return x.map((v, k) => v + (k === i ? hi : 0) + (k === j ? hj : 0));
}

/**
 * numDeriv::hessian (method "Richardson": genD with eps 1e-4, d 0.1, r 4, v 2): central second
 * differences, the mixed ones corrected by the diagonal, each extrapolated over h, h/2, h/4, h/8.
 */
export function hessian(f: (x: number[]) => number, x: number[], opts = { eps: 1e-4, d: 0.1, r: 4 }): Matrix {
  const { eps, d, r } = opts;
  const v = 2; // numDeriv supports only v = 2 (the 4^m of the extrapolation)
  const n = x.length;
  const f0 = f(x);
  const h0 = steps(x, d, eps);
  const diag = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const a: number[] = [];
    let h = h0.slice();
    for (let k = 0; k < r; k++) {
      const f1 = f(shifted(x, i, h[i]));
      const f2 = f(shifted(x, i, -h[i]));
      a.push((f1 - 2 * f0 + f2) / h[i] ** 2);
      h = h.map((hh) => hh / v);
    }
    diag[i] = richardson(a, r);
  }
  const H: Matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    H[i][i] = diag[i];
    for (let j = 0; j < i; j++) {
      const a: number[] = [];
      let h = h0.slice();
      for (let k = 0; k < r; k++) {
        const f1 = f(shifted(x, i, h[i], j, h[j]));
        const f2 = f(shifted(x, i, -h[i], j, -h[j]));
        a.push((f1 - 2 * f0 + f2 - diag[i] * h[i] ** 2 - diag[j] * h[j] ** 2) / (2 * h[i] * h[j]));
        h = h.map((hh) => hh / v);
      }
      H[i][j] = H[j][i] = richardson(a, r);
    }
  }
  return H;
}

/** numDeriv::jacobian (method "Richardson": eps 1e-4, d 1e-4, r 4, v 2); rows = outputs, columns = x. */
export function jacobian(f: (x: number[]) => number[], x: number[], opts = { eps: 1e-4, d: 1e-4, r: 4 }): Matrix {
  const { eps, d, r } = opts;
  const v = 2;
  const n = x.length;
  const fx = f(x);
  const a = Array.from({ length: n }, () => Array.from({ length: fx.length }, () => new Array<number>(r)));
  let h = steps(x, d, eps);
  for (let k = 0; k < r; k++) {
    for (let i = 0; i < n; i++) {
      const f1 = f(shifted(x, i, h[i]));
      const f2 = f(shifted(x, i, -h[i]));
      for (let o = 0; o < fx.length; o++) a[i][o][k] = (f1[o] - f2[o]) / (2 * h[i]);
    }
    h = h.map((hh) => hh / v);
  }
  return fx.map((_, o) => x.map((_, i) => richardson(a[i][o], r)));
}

// ---------------------------------------------------------------------------------------------------
// Type III hypotheses (lmerTest's get_contrasts_type3 and extract_contrasts_type3)

interface Hypothesis {
  term: string;
  L: Matrix;
}

/** A model matrix with R's column names and assign attribute; X is n × p column-major. */
interface Design {
  X: Float64Array;
  n: number;
  names: string[];
  assign: number[];
}

/**
 * lmerTest's get_contrasts_type3. With one term (or one column) the type I contrasts are the answer.
 * With treatment contrasts throughout, the hypotheses come from the model's own X; otherwise they are
 * built on the treatment-coded X and mapped to the model's coefficients by ginv(X_trt) X.
 */
export function type3Contrasts(m: LinearMixedModel): Hypothesis[] {
  const terms = m.frame.termLabels;
  const orig = modelDesign(m);
  if (orig.names.length <= 1 || terms.length <= 1) return type1Contrasts(m, orig);
  const codings = Object.values(m.frame.contrasts ?? {}).map((c) => c.type);
  if (codings.length > 0 && codings.every((c) => c === "contr.treatment")) return extractType3(m, orig);
  const trt = treatmentDesign(m);
  const hyps = extractType3(m, trt);
  const map = zapsmall(leastSquares(trt, orig.X, orig.names.length));
  return hyps.map(({ term, L }) => ({ term, L: matMul(L, map) }));
}

/**
 * lmerTest's get_contrasts_type1: the rows of the term's columns in t(L), X'X = L U by Doolittle's
 * method (sequential, each term adjusted for the terms before it).
 */
function type1Contrasts(m: LinearMixedModel, X: Design): Hypothesis[] {
  const p = X.names.length;
  if (p === 0 || (p === 1 && m.formula.fixed.intercept)) return [];
  const L = p === 1 ? [[1]] : transpose(doolittleL(crossprod(X)));
  const cols = termColumns(m.frame.termLabels, X.assign, m.formula.fixed.intercept);
  return m.frame.termLabels.map((term) => ({ term, L: cols.get(term)!.map((c) => L[c]) }));
}

/** lmerTest's doolittle(x)$L: the unit lower factor of x = L U, entries below 1e-6 set to 0. */
function doolittleL(x: Matrix, eps = 1e-6): Matrix {
  const n = x.length;
  const L: Matrix = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  const U = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      U[i][j] = x[i][j];
      for (let k = 0; k < i; k++) U[i][j] -= L[i][k] * U[k][j];
    }
    for (let j = i + 1; j < n; j++) {
      L[j][i] = x[j][i];
      for (let k = 0; k < i; k++) L[j][i] -= L[j][k] * U[k][i];
      L[j][i] = Math.abs(U[i][i]) < eps ? 0 : L[j][i] / U[i][i];
    }
  }
  return L.map((row) => row.map((v) => (Math.abs(v) < eps ? 0 : v)));
}

/**
 * lmerTest's extract_contrasts_type3 on the design X. Each cell column of the terms' indicator coding
 * (rdX: ~ 0 + term per term) is expressed in X's coefficients, L = ginv(X) rdX; from the highest
 * order down, a term's columns of L are made orthogonal to those of the terms containing it, so its
 * hypothesis does not involve their parameters. The hypothesis of a term is then read off the rows of
 * L named like X's columns.
 */
function extractType3(m: LinearMixedModel, X: Design): Hypothesis[] {
  const terms = m.frame.termLabels;
  const rd = cellDesign(m);
  const p = X.names.length;
  // L: rows = rdX columns, columns = X columns.
  const L = transpose(zapsmall(leastSquares(X, rd.X, rd.names.length)));
  const cols = termColumns(terms, X.assign, m.formula.fixed.intercept);
  const contained = containment(m);
  const order = m.formula.fixed.terms.map((t) => t.factors.length);
  const byOrder = terms.map((t, i) => ({ t, o: order[i], i })).sort((a, b) => b.o - a.o || a.i - b.i);
  for (const { t } of byOrder) {
    const containing = contained.get(t)!;
    const target = cols.get(t)!;
    if (containing.length === 0 || target.length === 0) continue;
    const basis = containing.flatMap((c) => cols.get(c)!);
    const resid = zapsmall(lmResiduals(L.map((row) => basis.map((c) => row[c])), L.map((row) => target.map((c) => row[c]))));
    L.forEach((row, r) => target.forEach((c, k) => (row[c] = resid[r][k])));
  }
  const rowOf = new Map<string, number>();
  rd.names.forEach((nm, r) => {
    if (!rowOf.has(nm)) rowOf.set(nm, r); // R's `[` by name takes the first match
  });
  const selected = X.names.map((nm) => {
    const r = rowOf.get(nm);
    if (r === undefined) throw new Error(`type III contrasts: column '${nm}' of the fixed effects is not a cell of the terms' indicator coding`);
    return L[r];
  });
  return terms.map((term) => ({
    term,
    L: cols
      .get(term)!
      .map((c) => Array.from({ length: p }, (_, i) => selected[i][c]))
      .filter((row) => row.reduce((s, v) => s + Math.abs(v), 0) > 1e-8),
  }));
}

/** lmerTest's term2colX: X's columns per term, from the assign attribute. */
function termColumns(terms: string[], assign: number[], intercept: boolean): Map<string, number[]> {
  const map = new Map<string, number[]>();
  if (intercept) map.set("(Intercept)", []);
  terms.forEach((t) => map.set(t, []));
  assign.forEach((a, c) => {
    const name = a === 0 ? "(Intercept)" : terms[a - 1];
    map.get(name)?.push(c);
  });
  return map;
}

/**
 * lmerTest's containment: term F1 is contained in F2 when F2 has all of F1's variables and more, and
 * the same numeric variables (so x is contained in A:x, but A is not: the slope of x within levels of A
 * says nothing about A's marginal means). A term's variables are those of its column of R's
 * attr(terms, "factors") that are 1 (coded by contrasts), not 2.
 */
function containment(m: LinearMixedModel): Map<string, string[]> {
  const terms = m.formula.fixed.terms;
  const factorLabels = new Set(Object.keys(m.frame.contrasts ?? {}));
  const labels = terms.map((t) => t.factors.map((e) => deparse(e)));
  const vars = terms.map((t, j) => labels[j].filter((v) => factorCode(labels, j, v) === 1));
  const numeric = new Set(terms.flatMap((t) => t.factors.filter((e) => isNumericClass(e, factorLabels)).map((e) => deparse(e))));
  const numerics = vars.map((vs) => vs.filter((v) => numeric.has(v)));
  const setEqual = (a: string[], b: string[]) => a.every((v) => b.includes(v)) && b.every((v) => a.includes(v));
  const contains = (i: number, j: number) =>
    vars[i].every((v) => vars[j].includes(v)) && vars[j].some((v) => !vars[i].includes(v)) && setEqual(numerics[i], numerics[j]);
  return new Map(terms.map((t, i) => [t.label, terms.filter((_, j) => contains(i, j)).map((u) => u.label)]));
}

/**
 * R's TermCode (the entries of attr(terms, "factors")): variable v of term j is coded by contrasts (1)
 * when the term without v is empty or part of an earlier term, else by indicators (2).
 */
function factorCode(labels: string[][], j: number, v: string): 1 | 2 {
  const rest = labels[j].filter((u) => u !== v);
  if (rest.length === 0) return 1;
  return labels.slice(0, j).some((earlier) => rest.every((u) => earlier.includes(u))) ? 1 : 2;
}

/**
 * R's dataClasses "numeric": not a factor (nor logical, which the frame codes as a factor) and not a
 * matrix: scale(x) returns a one-column matrix ("nmatrix.1"), which lmerTest does not count as numeric.
 */
function isNumericClass(e: Expr, factorLabels: Set<string>): boolean {
  if (factorLabels.has(deparse(e))) return false;
  let inner = e;
  while (inner.kind === "paren") inner = inner.expr;
  return !(inner.kind === "call" && inner.fn === "scale");
}

/** The model's own X (columns kept after lme4's rank check), column-major. */
function modelDesign(m: LinearMixedModel): Design {
  const { X, n, xNames, assign } = m.frame;
  return { X: colMajor(X, n, xNames.length), n, names: [...xNames], assign: [...assign] };
}

/** lmerTest's remade X: every factor coded by contr.treatment, then ensure_full_rank (R's pivoted QR). */
function treatmentDesign(m: LinearMixedModel): Design {
  const { data, options } = m;
  const contrasts = { ...(options.contrasts ?? {}) };
  for (const name of Object.keys(m.frame.contrasts ?? {})) contrasts[name] = "contr.treatment";
  const fr = modelFrame(m.formula, data, { levels: options.levels, contrasts });
  if (fr.n !== m.n) throw new Error("internal: the treatment-coded model frame has other rows than the model's");
  return { X: colMajor(fr.X, fr.n, fr.xNames.length), n: fr.n, names: fr.xNames, assign: fr.assign };
}

/**
 * lmerTest's get_rdX: the intercept, then each term's columns of model.matrix(~ 0 + term): every
 * factor by indicators of all its levels, so the columns are the term's cells (times its numerics).
 */
function cellDesign(m: LinearMixedModel): { X: Float64Array; names: string[] } {
  const { data, options } = m;
  const n = m.n;
  const columns: Float64Array[] = [];
  const names: string[] = [];
  if (m.formula.fixed.intercept) {
    columns.push(new Float64Array(n).fill(1));
    names.push("(Intercept)");
  }
  // Model rows as positions in the input, to pick them out of each term's own frame (whose na.omit
  // looks only at that term's variables and may keep more rows).
  const position = new Map<number, number>();
  m.frame.rows.forEach((row, i) => position.set(row, i));
  for (const term of m.formula.fixed.terms) {
    const formula: ParsedFormula = { ...m.formula, fixed: { intercept: false, terms: [term] } };
    const fr = modelFrame(formula, data, { levels: options.levels });
    const k = fr.xNames.length;
    const block = fr.xNames.map(() => new Float64Array(n));
    fr.rows.forEach((row, r) => {
      const i = position.get(row);
      if (i !== undefined) for (let c = 0; c < k; c++) block[c][i] = fr.X[r * k + c];
    });
    columns.push(...block);
    names.push(...fr.xNames);
  }
  const X = new Float64Array(n * columns.length);
  columns.forEach((col, j) => X.set(col, j * n));
  return { X, names };
}

// ---------------------------------------------------------------------------------------------------
// Dense linear algebra for the small matrices here

function unitVector(p: number, i: number): number[] {
  return Array.from({ length: p }, (_, j) => (j === i ? 1 : 0));
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** x' M x. */
function qform(x: number[], M: Matrix): number {
  return bilinear(x, M, x);
}

/** x' M y. */
function bilinear(x: number[], M: Matrix, y: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === 0) continue;
    s += x[i] * dot(M[i], y);
  }
  return s;
}

function transpose(A: Matrix): Matrix {
  if (A.length === 0) return [];
  return A[0].map((_, j) => A.map((row) => row[j]));
}

function matMul(A: Matrix, B: Matrix): Matrix {
  return A.map((row) => B[0].map((_, j) => row.reduce((s, v, k) => s + v * B[k][j], 0)));
}

function colMajor(rowMajor: Float64Array, n: number, p: number): Float64Array {
  const out = new Float64Array(n * p);
  for (let r = 0; r < n; r++) for (let c = 0; c < p; c++) out[c * n + r] = rowMajor[r * p + c];
  return out;
}

/** X'X of a column-major design. */
function crossprod(D: Design): Matrix {
  const p = D.names.length, n = D.n;
  const out = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += D.X[i * n + r] * D.X[j * n + r];
      out[i][j] = out[j][i] = s;
    }
  }
  return out;
}

/** Q'y for a LinpackQR (R's qr.qty); y is n × m column-major. */
function qrQty(qr: LinpackQR, y: Float64Array, m: number): Float64Array {
  const { n, qr: a, qraux } = qr;
  const out = Float64Array.from(y);
  const ju = Math.min(qr.rank, n - 1);
  for (let c = 0; c < m; c++) {
    const off = c * n;
    for (let j = 0; j < ju; j++) {
      if (qraux[j] === 0) continue;
      const jj = j + j * n;
      const diag = qraux[j];
      let s = diag * out[off + j];
      for (let i = 1; i < n - j; i++) s += a[jj + i] * out[off + j + i];
      const t = -s / diag;
      out[off + j] += t * diag;
      for (let i = 1; i < n - j; i++) out[off + j + i] += t * a[jj + i];
    }
  }
  return out;
}

/**
 * ginv(X) Y for a full-rank X (its least-squares coefficients, through R's pivoted QR): p × k.
 * Columns of a rank-deficient X get coefficient 0.
 */
function leastSquares(D: Design, Y: Float64Array, k: number): Matrix {
  const n = D.n, p = D.names.length;
  const qr = dqrdc2(D.X, n, p, 1e-7);
  const qty = qrQty(qr, Y, k);
  const out = Array.from({ length: p }, () => new Array<number>(k).fill(0));
  for (let c = 0; c < k; c++) {
    const b = new Array<number>(qr.rank).fill(0);
    for (let i = qr.rank - 1; i >= 0; i--) {
      let s = qty[c * n + i];
      for (let j = i + 1; j < qr.rank; j++) s -= qr.qr[i + j * n] * b[j];
      b[i] = s / qr.qr[i + i * n];
    }
    for (let i = 0; i < qr.rank; i++) out[qr.pivot[i]][c] = b[i];
  }
  return out;
}

/** resid(lm.fit(x, y)): y minus its projection on the columns of x (R's QR with tolerance 1e-7). */
function lmResiduals(x: Matrix, y: Matrix): Matrix {
  const n = x.length, p = x[0]?.length ?? 0, k = y[0]?.length ?? 0;
  if (p === 0) return y.map((row) => row.slice());
  const xc = new Float64Array(n * p);
  for (let r = 0; r < n; r++) for (let c = 0; c < p; c++) xc[c * n + r] = x[r][c];
  const yc = new Float64Array(n * k);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) yc[c * n + r] = y[r][c];
  const qr = dqrdc2(xc, n, p, 1e-7);
  const qty = qrQty(qr, yc, k);
  for (let c = 0; c < k; c++) for (let i = 0; i < qr.rank; i++) qty[c * n + i] = 0;
  const res = qrQy(qr, qty, k);
  return Array.from({ length: n }, (_, r) => Array.from({ length: k }, (_, c) => res[c * n + r]));
}

/**
 * R's zapsmall(x) (digits 7) as in R 4.2 (the version of the reference fits): round(x, 7 − log10(max|x|)),
 * where round() takes the nearest whole number of digits. The rounding noise of ginv and of the
 * projections becomes exact zeros and short decimals. (R ≥ 4.4 takes the ceiling of log10 instead,
 * which changes lmerTest's type III contrasts in the 7th digit.)
 */
function zapsmall(A: Matrix, digits = 7): Matrix {
  const mx = A.reduce((s, row) => row.reduce((t, v) => Math.max(t, Math.abs(v)), s), 0);
  const d = Math.floor((mx > 0 ? Math.max(0, digits - Math.log10(mx)) : digits) + 0.5);
  const scale = 10 ** d;
  return A.map((row) => row.map((v) => (Math.sign(v) * Math.round(Math.abs(v) * scale)) / scale));
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations (accurate to rounding for the
 * small matrices here); eigenvalues decreasing as R's eigen(), eigenvectors in the columns.
 */
function symmetricEigen(S: Matrix): { values: number[]; vectors: Matrix } {
  const n = S.length;
  const a = S.map((row, i) => row.map((v, j) => (v + S[j][i]) / 2));
  const V: Matrix = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  const norm2 = a.reduce((s, row) => row.reduce((t, v) => t + v * v, s), 0);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i][j] ** 2;
    if (off <= 1e-36 * norm2) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (a[p][q] === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k][p], vkq = V[k][q];
          V[k][p] = c * vkp - s * vkq;
          V[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = a.map((row, i) => ({ v: row[i], i })).sort((x, y) => y.v - x.v);
  return { values: order.map((o) => o.v), vectors: V.map((row) => order.map((o) => row[o.i])) };
}
