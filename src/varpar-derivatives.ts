// Exact derivatives for Satterthwaite's df: the Hessian of the deviance in varpar = (θ, σ) and the
// Jacobian of Cov(β̂) = σ² (X'V⁻¹X)⁻¹, in closed form on the q × q cross-products of the design.
// lmerTest takes both numerically (numDeriv's Richardson extrapolation: 8 factorisations per θ and per
// pair of θs); for models with few random effects (q ≤ MAX_Q) the closed form is one q × q Cholesky
// and gives the same values to numDeriv's own error (≈1e-8 relative), far inside the df tolerances.
//
// With V(θ) = I + Z T Z', T = ΛΛ' (σ² V = Cov(y)), the deviance pieces are (JSS 67(1), section 3.4)
//   log|L_Z|² = log|V|,   r² = y'Py,   log|R_X|² = log|W|,   W = X'V⁻¹X,
//   P = V⁻¹ − V⁻¹X W⁻¹ X'V⁻¹,
// and with V_i = Z T_i Z', V_ij = Z T_ij Z' (T_i = Λ_iΛ' + ΛΛ_i', T_ij = Λ_iΛ_j' + Λ_jΛ_i', Λ linear in θ):
//   ∂_i log|V|   = tr(K T_i),                ∂_ij log|V| = tr(K T_ij) − tr(K T_i K T_j)
//   ∂_i r²       = −e'T_i e,                 ∂_ij r²     = 2 e'T_i K_P T_j e − e'T_ij e
//   ∂_i W        = −F'T_i F,                 ∂_ij W      = F'T_i K T_j F + F'T_j K T_i F − F'T_ij F
// where K = Z'V⁻¹Z, F = Z'V⁻¹X, e = Z'Py, K_P = Z'PZ = K − F W⁻¹F'. Every U'V⁻¹Q is U'Q − G_U'G_Q with
// G_U = L⁻¹Λ'Z'U and M = Λ'Z'ZΛ + I = LL' (Woodbury), so only Z'Z, Z'X, X'X (per design) and Z'y,
// X'y, y'y (per response) are needed.

import type { BlockedSystem, ReBlock } from "./blocked.js";
import { denseCholesky, lambdas } from "./dense.js";

type Matrix = number[][];

/** Largest q for the closed form: its cost grows as q³, the numerical derivatives' far more slowly. */
export const MAX_Q = 256;

export interface VarparDerivatives {
  /** ∂²D/∂varpar², D = −2 log L in (θ, σ) with β at β̂(θ) (lmerTest's devfun_vp). */
  hessian: Matrix;
  /** ∂Cov(β̂)/∂varpar_k, one p × p matrix per variance parameter. */
  jacobian: Matrix[];
}

/** Z'Z, Z'X, X'X (dense) of a design, computed once and shared by all its responses. */
interface DesignCross {
  q: number;
  offsets: number[];
  ZtZ: Float64Array;
  ZtX: Float64Array;
  XtX: Float64Array;
  /** [Z'Z | Z'X], q × (q + p) row-major: the rows Λ' combines. */
  ZtZX: Float64Array;
}

const designCache = new WeakMap<ReBlock[], DesignCross>();

/**
 * The exact Hessian and Jacobian at (θ, σ), or null where the closed form does not apply: weighted
 * fits (A is not made of Z, X, y themselves) and q > maxQ.
 */
export function varparDerivatives(sys: BlockedSystem, theta: ArrayLike<number>, sigma: number, REML: boolean, maxQ = MAX_Q): VarparDerivatives | null {
  const { terms, X, p, n, weighted } = sys.designData();
  if (weighted) return null;
  const q = terms.reduce((s, t) => s + t.m * t.k, 0);
  if (q > maxQ) return null;
  let dc = designCache.get(terms);
  if (!dc || dc.ZtX.length !== q * p) {
    dc = designCrossProducts(terms, X, p, n);
    designCache.set(terms, dc);
  }
  const lams = lambdas(terms, theta);
  const s = woodbury(dc, sys.responseCrossProducts(), terms, lams, p);
  const params = thetaParameters(terms, lams);
  return assemble(s, params, terms, dc.offsets, p, REML ? n - p : n, sigma, REML);
}

// ---------------------------------------------------------------------------------------------------
// Cross-products

function designCrossProducts(terms: ReBlock[], X: Float64Array, p: number, n: number): DesignCross {
  const offsets: number[] = [];
  let q = 0;
  for (const t of terms) {
    offsets.push(q);
    q += t.m * t.k;
  }
  const ZtZ = new Float64Array(q * q), ZtX = new Float64Array(q * p), XtX = new Float64Array(p * p);
  const nnz = terms.reduce((s, t) => s + t.k, 0);
  const col = new Int32Array(nnz), val = new Float64Array(nnz);
  for (let r = 0; r < n; r++) {
    rowOfZ(terms, offsets, r, col, val);
    for (let a = 0; a < nnz; a++) {
      const ca = col[a] * q, va = val[a];
      for (let b = 0; b < nnz; b++) ZtZ[ca + col[b]] += va * val[b];
      for (let c = 0; c < p; c++) ZtX[col[a] * p + c] += va * X[r * p + c];
    }
    for (let c = 0; c < p; c++) for (let d = 0; d < p; d++) XtX[c * p + d] += X[r * p + c] * X[r * p + d];
  }
  const ZtZX = new Float64Array(q * (q + p));
  for (let a = 0; a < q; a++) {
    ZtZX.set(ZtZ.subarray(a * q, (a + 1) * q), a * (q + p));
    ZtZX.set(ZtX.subarray(a * p, (a + 1) * p), a * (q + p) + q);
  }
  return { q, offsets, ZtZ, ZtX, XtX, ZtZX };
}

/** The non-zeros of row r of Z: their columns (term offset + level·k + a) and values. */
function rowOfZ(terms: ReBlock[], offsets: number[], r: number, col: Int32Array, val: Float64Array): void {
  let e = 0;
  terms.forEach((t, i) => {
    const base = offsets[i] + t.refs[r] * t.k;
    for (let a = 0; a < t.k; a++, e++) {
      col[e] = base + a;
      val[e] = t.Z[r * t.k + a];
    }
  });
}

/** A's response column: Z'y (all terms, in the order of Z's columns), X'y and y'y. */
interface ResponseCross {
  Zty: Float64Array;
  Xty: Float64Array;
  yty: number;
}

// ---------------------------------------------------------------------------------------------------
// Λ(θ) and the V⁻¹-weighted cross-products

/** K = Z'V⁻¹Z, F = Z'V⁻¹X, W⁻¹ = (X'V⁻¹X)⁻¹, e = Z'Py, K_P = Z'PZ and r² = y'Py. */
interface Weighted {
  q: number;
  pwrss: number;
  K: Float64Array;
  F: Float64Array;
  Winv: Float64Array;
  e: Float64Array;
  KP: Float64Array;
}

function woodbury(dc: DesignCross, rc: ResponseCross, terms: ReBlock[], lams: Float64Array[], p: number): Weighted {
  const { q, offsets, ZtZ, ZtX, XtX } = dc;
  // U = Λ'[Z'Z | Z'X | Z'y] (q × w, row-major), then M = Λ'Z'ZΛ + I = U_Z Λ + I
  const w = q + p + 1;
  const U = new Float64Array(q * w);
  const wd = q + p, ZtZX = dc.ZtZX;
  terms.forEach((t, i) => {
    const lam = lams[i], k = t.k;
    for (let j = 0; j < t.m; j++) {
      const b0 = offsets[i] + j * k;
      for (let c = 0; c < k; c++) {
        const out = (b0 + c) * w;
        for (let a = c; a < k; a++) {
          const l = lam[a * k + c];
          if (l === 0) continue;
          const src = (b0 + a) * wd;
          for (let col = 0; col < wd; col++) U[out + col] += l * ZtZX[src + col];
          U[out + wd] += l * rc.Zty[b0 + a];
        }
      }
    }
  });
  const M = new Float64Array(q * q);
  for (let r = 0; r < q; r++) for (let c = 0; c < q; c++) M[r * q + c] = (r === c ? 1 : 0);
  terms.forEach((t, i) => {
    const lam = lams[i], k = t.k;
    for (let j = 0; j < t.m; j++) {
      const b0 = offsets[i] + j * k;
      for (let c = 0; c < k; c++) {
        for (let a = c; a < k; a++) {
          const l = lam[a * k + c];
          if (l === 0) continue;
          // column b0 + c of U_Z Λ gets l times column b0 + a of U_Z
          for (let r = 0; r < q; r++) M[r * q + b0 + c] += l * U[r * w + b0 + a];
        }
      }
    }
  });
  const L = denseCholesky(M, q);
  if (!L) throw new Error("internal: Λ'Z'ZΛ + I is not positive definite");
  forwardSolve(L, q, U, w); // U ← G = L⁻¹U
  // P'V⁻¹Q = P'Q − G_P'G_Q, from the columns of G laid out as rows (contiguous dot products)
  const GT = new Float64Array(w * q);
  for (let r = 0; r < q; r++) for (let c = 0; c < w; c++) GT[c * q + r] = U[r * w + c];
  const gg = (a: number, b: number) => dotRows(GT, q, a, b);
  const K = new Float64Array(q * q), F = new Float64Array(q * p), W = new Float64Array(p * p);
  const g = new Float64Array(q), h = new Float64Array(p);
  for (let a = 0; a < q; a++) {
    for (let b = 0; b <= a; b++) K[a * q + b] = K[b * q + a] = ZtZ[a * q + b] - gg(a, b);
    for (let c = 0; c < p; c++) F[a * p + c] = ZtX[a * p + c] - gg(a, q + c);
    g[a] = rc.Zty[a] - gg(a, q + p);
  }
  for (let c = 0; c < p; c++) {
    for (let d = 0; d <= c; d++) W[c * p + d] = W[d * p + c] = XtX[c * p + d] - gg(q + c, q + d);
    h[c] = rc.Xty[c] - gg(q + c, q + p);
  }
  const Winv = inverseSPD(W, p);
  const beta = new Float64Array(p);
  for (let c = 0; c < p; c++) for (let d = 0; d < p; d++) beta[c] += Winv[c * p + d] * h[d];
  let pwrss = rc.yty - gg(q + p, q + p);
  for (let c = 0; c < p; c++) pwrss -= h[c] * beta[c];
  const e = new Float64Array(q);
  for (let a = 0; a < q; a++) {
    let s = g[a];
    for (let c = 0; c < p; c++) s -= F[a * p + c] * beta[c];
    e[a] = s;
  }
  // K_P = K − F W⁻¹ F'
  const FW = new Float64Array(q * p);
  for (let a = 0; a < q; a++) for (let c = 0; c < p; c++) {
    let s = 0;
    for (let d = 0; d < p; d++) s += F[a * p + d] * Winv[d * p + c];
    FW[a * p + c] = s;
  }
  const KP = new Float64Array(q * q);
  for (let a = 0; a < q; a++) for (let b = 0; b <= a; b++) {
    let s = K[a * q + b];
    for (let c = 0; c < p; c++) s -= FW[a * p + c] * F[b * p + c];
    KP[a * q + b] = KP[b * q + a] = s;
  }
  return { q, pwrss, K, F, Winv, e, KP };
}

/** Σ_r GT[a][r] GT[b][r]: rows a and b (length q) of GT. */
function dotRows(GT: Float64Array, q: number, a: number, b: number): number {
  const oa = a * q, ob = b * q;
  let s = 0;
  for (let r = 0; r < q; r++) s += GT[oa + r] * GT[ob + r];
  return s;
}

// ---------------------------------------------------------------------------------------------------
// The derivative pieces per θ

/** θ_i's term, its position (r, c) in λ, and D_i: T_i = I_m ⊗ D_i on the term's diagonal blocks. */
interface ThetaParameter {
  term: number;
  r: number;
  c: number;
  D: Float64Array;
}

function thetaParameters(terms: ReBlock[], lams: Float64Array[]): ThetaParameter[] {
  const out: ThetaParameter[] = [];
  terms.forEach((t, i) => {
    const k = t.k, lam = lams[i];
    for (let c = 0; c < k; c++) {
      for (let r = c; r < k; r++) {
        // D = E_rc λ' + λ E_rc':  D[a][b] = δ_ar λ[b][c] + λ[a][c] δ_br
        const D = new Float64Array(k * k);
        for (let b = 0; b < k; b++) D[r * k + b] += lam[b * k + c];
        for (let a = 0; a < k; a++) D[a * k + r] += lam[a * k + c];
        out.push({ term: i, r, c, D });
      }
    }
  });
  return out;
}

/** T v for T = I_m ⊗ D on term t's rows (zero elsewhere). */
function applyBlocks(D: Float64Array, t: ReBlock, off: number, v: Float64Array): Float64Array {
  const out = new Float64Array(v.length);
  const k = t.k;
  for (let j = 0; j < t.m; j++) {
    const b0 = off + j * k;
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let b = 0; b < k; b++) s += D[a * k + b] * v[b0 + b];
      out[b0 + a] = s;
    }
  }
  return out;
}

/** T X for a q × p matrix X (row-major). */
function applyBlocksMat(D: Float64Array, t: ReBlock, off: number, Xm: Float64Array, p: number): Float64Array {
  const out = new Float64Array(Xm.length);
  const k = t.k;
  for (let j = 0; j < t.m; j++) {
    const b0 = off + j * k;
    for (let a = 0; a < k; a++) {
      for (let c = 0; c < p; c++) {
        let s = 0;
        for (let b = 0; b < k; b++) s += D[a * k + b] * Xm[(b0 + b) * p + c];
        out[(b0 + a) * p + c] = s;
      }
    }
  }
  return out;
}

/** tr(K T) for T = I_m ⊗ D on term t. */
function traceKT(K: Float64Array, q: number, D: Float64Array, t: ReBlock, off: number): number {
  const k = t.k;
  let s = 0;
  for (let j = 0; j < t.m; j++) {
    const b0 = off + j * k;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) s += K[(b0 + b) * q + b0 + a] * D[a * k + b];
  }
  return s;
}

/** The columns of K T_i that can be non-zero (term t's): q × (m_t k_t), row-major. */
function kTimesT(K: Float64Array, q: number, D: Float64Array, t: ReBlock, off: number): Float64Array {
  const k = t.k, qt = t.m * k;
  const out = new Float64Array(q * qt);
  for (let x = 0; x < q; x++) {
    for (let j = 0; j < t.m; j++) {
      const b0 = off + j * k;
      for (let b = 0; b < k; b++) {
        let s = 0;
        for (let a = 0; a < k; a++) s += K[x * q + b0 + a] * D[a * k + b];
        out[x * qt + j * k + b] = s;
      }
    }
  }
  return out;
}

/** What the second derivatives share: per θ_i, T_i e, T_i F, the non-zero columns of K T_i, F'T_iF, K T_iF. */
interface Pieces {
  s: Weighted;
  params: ThetaParameter[];
  terms: ReBlock[];
  offsets: number[];
  p: number;
  Te: Float64Array[];
  TF: Float64Array[];
  KT: Float64Array[];
  Fi: Float64Array[];
  KTF: Float64Array[];
}

function assemble(s: Weighted, params: ThetaParameter[], terms: ReBlock[], offsets: number[], p: number, N: number, sigma: number, REML: boolean): VarparDerivatives {
  const { q, K, F, Winv, e, pwrss } = s;
  const nt = params.length;
  const s2 = sigma * sigma;
  const at = (pr: ThetaParameter) => [terms[pr.term], offsets[pr.term]] as const;
  const TF = params.map((pr) => applyBlocksMat(pr.D, ...at(pr), F, p));
  const pc: Pieces = {
    s, params, terms, offsets, p, TF,
    Te: params.map((pr) => applyBlocks(pr.D, ...at(pr), e)),
    KT: params.map((pr) => kTimesT(K, q, pr.D, ...at(pr))),
    Fi: TF.map((tf) => crossMat(F, tf, q, p)),
    KTF: REML ? TF.map((tf) => symTimes(K, tf, q, p)) : [],
  };
  // D = log|V| + r²/σ² + N log(2πσ²) [+ log|W| for REML]
  const H: Matrix = Array.from({ length: nt + 1 }, () => new Array<number>(nt + 1).fill(0));
  for (let i = 0; i < nt; i++) {
    for (let j = 0; j <= i; j++) {
      const Dij = pairBlockOf(params[i], params[j], terms);
      let h = logdetVSecond(pc, i, j, Dij) + pwrssSecond(pc, i, j, Dij) / s2;
      if (REML) h += logdetWSecond(pc, i, j, Dij);
      H[i][j] = H[j][i] = h;
    }
    const bi = -dotv(e, pc.Te[i]); // ∂_i r²
    H[i][nt] = H[nt][i] = (-2 * bi) / (s2 * sigma);
  }
  H[nt][nt] = (6 * pwrss) / (s2 * s2) - (2 * N) / s2;
  // ∂Cov(β̂)/∂θ_i = σ² W⁻¹ F'T_iF W⁻¹, ∂Cov(β̂)/∂σ = 2σ W⁻¹
  const jacobian = pc.Fi.map((Fi) => toRows(matMul(matMul(Winv, Fi, p), Winv, p), p, s2));
  jacobian.push(toRows(Winv, p, 2 * sigma));
  return { hessian: H, jacobian };
}

/** ∂_ij log|V| = tr(K T_ij) − tr(K T_i K T_j). */
function logdetVSecond(pc: Pieces, i: number, j: number, Dij: Float64Array | null): number {
  const { s, params, terms, offsets } = pc;
  const ti = params[i].term, tj = params[j].term;
  let v = -traceKTKT(pc.KT[i], pc.KT[j], terms, offsets, ti, tj);
  if (Dij) v += traceKT(s.K, s.q, Dij, terms[ti], offsets[ti]);
  return v;
}

/** ∂_ij r² = 2 e'T_i K_P T_j e − e'T_ij e. */
function pwrssSecond(pc: Pieces, i: number, j: number, Dij: Float64Array | null): number {
  const { s, params, terms, offsets } = pc;
  let v = 2 * bilinearSym(pc.Te[i], s.KP, pc.Te[j], s.q);
  if (Dij) v -= dotv(s.e, applyBlocks(Dij, terms[params[i].term], offsets[params[i].term], s.e));
  return v;
}

/** ∂_ij log|W| = tr(W⁻¹W_ij) − tr(W⁻¹W_i W⁻¹W_j), W_i = −F'T_iF, W_ij = F'T_iKT_jF + F'T_jKT_iF − F'T_ijF. */
function logdetWSecond(pc: Pieces, i: number, j: number, Dij: Float64Array | null): number {
  const { s, params, terms, offsets, p } = pc;
  const Wij = new Float64Array(p * p);
  const a1 = crossMat(pc.TF[i], pc.KTF[j], s.q, p);
  for (let c = 0; c < p; c++) for (let d = 0; d < p; d++) Wij[c * p + d] = a1[c * p + d] + a1[d * p + c];
  if (Dij) {
    const t = params[i].term;
    const fDf = crossMat(s.F, applyBlocksMat(Dij, terms[t], offsets[t], s.F, p), s.q, p);
    for (let c = 0; c < p * p; c++) Wij[c] -= fDf[c];
  }
  return traceProd(s.Winv, Wij, p) - traceProd(matMul(s.Winv, pc.Fi[i], p), matMul(s.Winv, pc.Fi[j], p), p);
}

/** D_ij when T_ij ≠ 0 (θ_i, θ_j in one term and one column c of λ), else null. */
function pairBlockOf(pi: ThetaParameter, pj: ThetaParameter, terms: ReBlock[]): Float64Array | null {
  return pi.term === pj.term && pi.c === pj.c ? pairBlock(terms[pi.term].k, pi.r, pj.r) : null;
}

/** D_ij (i, j in one term with the same column c of λ): E_{r_i c}E_{r_j c}' + E_{r_j c}E_{r_i c}'. */
function pairBlock(k: number, ri: number, rj: number): Float64Array {
  const D = new Float64Array(k * k);
  D[ri * k + rj] += 1;
  D[rj * k + ri] += 1;
  return D;
}

/**
 * tr(K T_i K T_j) from the non-zero columns of K T_i (term ti's) and K T_j (term tj's):
 * Σ_{x ∈ tj, y ∈ ti} (K T_i)[x][y] (K T_j)[y][x].
 */
function traceKTKT(KTi: Float64Array, KTj: Float64Array, terms: ReBlock[], offsets: number[], ti: number, tj: number): number {
  const qi = terms[ti].m * terms[ti].k, qj = terms[tj].m * terms[tj].k;
  const oi = offsets[ti], oj = offsets[tj];
  let s = 0;
  for (let x = 0; x < qj; x++) for (let y = 0; y < qi; y++) s += KTi[(oj + x) * qi + y] * KTj[(oi + y) * qj + x];
  return s;
}

function dotv(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** u'S v for a symmetric q × q S. */
function bilinearSym(u: Float64Array, S: Float64Array, v: Float64Array, q: number): number {
  let s = 0;
  for (let a = 0; a < q; a++) {
    if (u[a] === 0) continue;
    let r = 0;
    for (let b = 0; b < q; b++) r += S[a * q + b] * v[b];
    s += u[a] * r;
  }
  return s;
}

/** S B for a q × q S and q × p B: q × p. */
function symTimes(S: Float64Array, B: Float64Array, q: number, p: number): Float64Array {
  const out = new Float64Array(q * p);
  for (let a = 0; a < q; a++) {
    for (let b = 0; b < q; b++) {
      const sab = S[a * q + b];
      if (sab === 0) continue;
      for (let c = 0; c < p; c++) out[a * p + c] += sab * B[b * p + c];
    }
  }
  return out;
}

/** A'B for q × p A, B: p × p. */
function crossMat(A: Float64Array, B: Float64Array, q: number, p: number): Float64Array {
  const out = new Float64Array(p * p);
  for (let a = 0; a < q; a++) for (let c = 0; c < p; c++) {
    const v = A[a * p + c];
    if (v === 0) continue;
    for (let d = 0; d < p; d++) out[c * p + d] += v * B[a * p + d];
  }
  return out;
}

function matMul(A: Float64Array, B: Float64Array, p: number): Float64Array {
  const out = new Float64Array(p * p);
  for (let i = 0; i < p; i++) for (let k = 0; k < p; k++) {
    const v = A[i * p + k];
    for (let j = 0; j < p; j++) out[i * p + j] += v * B[k * p + j];
  }
  return out;
}

/** tr(A B) for p × p A, B. */
function traceProd(A: Float64Array, B: Float64Array, p: number): number {
  let s = 0;
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) s += A[i * p + j] * B[j * p + i];
  return s;
}

function toRows(A: Float64Array, p: number, scale: number): Matrix {
  return Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => scale * A[i * p + j]));
}

/** G ← L⁻¹G for lower-triangular L (q × q) and G (q × w), both row-major. */
function forwardSolve(L: Float64Array, q: number, G: Float64Array, w: number): void {
  for (let r = 0; r < q; r++) {
    const row = r * w;
    for (let k = 0; k < r; k++) {
      const l = L[r * q + k];
      if (l === 0) continue;
      const src = k * w;
      for (let c = 0; c < w; c++) G[row + c] -= l * G[src + c];
    }
    const d = L[r * q + r];
    for (let c = 0; c < w; c++) G[row + c] /= d;
  }
}

/** The inverse of a small symmetric positive definite matrix through its Cholesky factor. */
function inverseSPD(A: Float64Array, p: number): Float64Array {
  const L = denseCholesky(A, p);
  if (!L) throw new Error("internal: X'V⁻¹X is not positive definite");
  const inv = new Float64Array(p * p);
  for (let c = 0; c < p; c++) inv[c * p + c] = 1;
  forwardSolve(L, p, inv, p); // L⁻¹
  // (L L')⁻¹ = L⁻ᵀ L⁻¹
  const out = new Float64Array(p * p);
  for (let i = 0; i < p; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let k = i; k < p; k++) s += inv[k * p + i] * inv[k * p + j];
    out[i * p + j] = out[j * p + i] = s;
  }
  return out;
}
