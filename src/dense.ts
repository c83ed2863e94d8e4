// The same profiled objective computed the obvious way, with dense matrices: Z (n × q), Λ (q × q) and
// one Cholesky factor of the whole (q + p + 1)² system. Slow (O((q+p)³) per θ) but short enough to
// check by eye; the kernel tests use it as the oracle for the blocked engine.
import type { ReBlock } from "./blocked.js";

export interface DenseResult {
  logdetZ: number;
  logdetX: number;
  pwrss: number;
  beta: Float64Array;
  /** Spherical random effects, all terms concatenated. */
  u: Float64Array;
}

/** Lower Cholesky factor of a dense symmetric matrix (row-major), or null if not positive definite. */
export function denseCholesky(a: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  return L;
}

/** θ → the lower-triangular λ of each term, column-major lower triangle per term (lme4's order). */
export function lambdas(terms: ReBlock[], theta: ArrayLike<number>): Float64Array[] {
  let s = 0;
  return terms.map(({ k }) => {
    const lam = new Float64Array(k * k);
    for (let c = 0; c < k; c++) for (let r = c; r < k; r++) lam[r * k + c] = theta[s++];
    return lam;
  });
}

/** Profiled-objective pieces at θ, by the dense formulas of JSS section 3. */
export function denseObjective(
  terms: ReBlock[], X: Float64Array, p: number, y: Float64Array, theta: ArrayLike<number>,
): DenseResult | null {
  const n = y.length;
  const q = terms.reduce((s, t) => s + t.m * t.k, 0);
  const lams = lambdas(terms, theta);
  // W = [ZΛ X y], n × (q + p + 1)
  const w = q + p + 1;
  const W = new Float64Array(n * w);
  let off = 0;
  terms.forEach((t, ti) => {
    const lam = lams[ti];
    for (let r = 0; r < n; r++) {
      const base = off + t.refs[r] * t.k;
      for (let c = 0; c < t.k; c++) {
        let s = 0;
        for (let a = c; a < t.k; a++) s += t.Z[r * t.k + a] * lam[a * t.k + c];
        W[r * w + base + c] = s;
      }
    }
    off += t.m * t.k;
  });
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < p; c++) W[r * w + q + c] = X[r * p + c];
    W[r * w + q + p] = y[r];
  }
  const M = new Float64Array(w * w);
  for (let r = 0; r < n; r++) {
    for (let a = 0; a < w; a++) {
      const va = W[r * w + a];
      if (va === 0) continue;
      for (let b = 0; b < w; b++) M[a * w + b] += va * W[r * w + b];
    }
  }
  for (let i = 0; i < q; i++) M[i * w + i] += 1;
  const L = denseCholesky(M, w);
  if (!L) return null;
  let logdetZ = 0, logdetX = 0;
  for (let i = 0; i < q; i++) logdetZ += 2 * Math.log(L[i * w + i]);
  for (let i = q; i < q + p; i++) logdetX += 2 * Math.log(L[i * w + i]);
  const r = L[w * w - 1];
  // L' [u; β] = last row of L
  const x = new Float64Array(w - 1);
  for (let i = w - 2; i >= 0; i--) {
    let s = L[(w - 1) * w + i];
    for (let k = i + 1; k < w - 1; k++) s -= L[k * w + i] * x[k];
    x[i] = s / L[i * w + i];
  }
  return { logdetZ, logdetX, pwrss: r * r, beta: x.slice(q), u: x.slice(0, q) };
}
