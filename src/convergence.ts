// lme4's convergence checks after the optimizer stops (lme4's deriv12 and checkConv / checkHess):
// a singular fit is reported and ends the checks; otherwise the gradient scaled by the Cholesky factor
// of the Hessian, and the Hessian's eigenvalues, of the objective in θ at the optimum.

import { denseCholesky } from "./dense.js";

/** lme4's isSingular tolerance (check.conv.singular) on the diagonal elements of θ. */
export const SINGULAR_TOL = 1e-4;
/** check.conv.grad tolerance on min(|scaled gradient|, |gradient|). */
export const GRAD_TOL = 2e-3;
/** check.conv.hess tolerance on the eigenvalues. */
export const HESS_TOL = 1e-6;
export const SINGULAR_MESSAGE = "boundary (singular) fit: see help('isSingular')";

/** Central differences with step δ = 1e-4, as lme4's deriv12: gradient and Hessian of f at x. */
export function deriv12(f: (x: Float64Array) => number, x: ArrayLike<number>, fx: number, delta = 1e-4): { gradient: Float64Array; hessian: Float64Array } {
  const k = x.length;
  const at = (steps: [number, number][]) => {
    const y = Float64Array.from(x);
    for (const [i, d] of steps) y[i] += d;
    return f(y);
  };
  const g = new Float64Array(k);
  const H = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    const fadd = at([[j, delta]]), fsub = at([[j, -delta]]);
    H[j * k + j] = (fadd - 2 * fx + fsub) / (delta * delta);
    g[j] = (fadd - fsub) / (2 * delta);
    for (let i = 0; i < j; i++) {
      const v =
        (at([[i, delta], [j, delta]]) - at([[i, delta], [j, -delta]]) - at([[i, -delta], [j, delta]]) + at([[i, -delta], [j, -delta]])) /
        (4 * delta * delta);
      H[i * k + j] = v;
      H[j * k + i] = v;
    }
  }
  return { gradient: g, hessian: H };
}

/** Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations. */
export function symmetricEigenvalues(A: Float64Array, k: number): number[] {
  const a = Float64Array.from(A);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += a[p * k + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q];
        if (apq === 0) continue;
        const tau = (a[q * k + q] - a[p * k + p]) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t), s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = a[r * k + p], arq = a[r * k + q];
          a[r * k + p] = c * arp - s * arq;
          a[r * k + q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p * k + r], aqr = a[q * k + r];
          a[p * k + r] = c * apr - s * aqr;
          a[q * k + r] = s * apr + c * aqr;
        }
      }
    }
  }
  return Array.from({ length: k }, (_, i) => a[i * k + i]);
}

/** lme4's checkHess messages for the Hessian H (k×k). */
function checkHess(H: Float64Array, k: number): string[] {
  if (H.some((v) => !Number.isFinite(v))) return ["Problem with Hessian check (infinite or missing values?)"];
  const ev = symmetricEigenvalues(H, k);
  const negative = ev.filter((v) => v < -HESS_TOL).length;
  if (negative > 0) return [`Model failed to converge: degenerate  Hessian with ${negative} negative eigenvalues`];
  if (ev.some((v) => Math.abs(v) < HESS_TOL) || !denseCholesky(H, k)) {
    return [" Hessian is numerically singular: parameters are not uniquely determined"];
  }
  const max = Math.max(...ev), min = Math.min(...ev);
  const out: string[] = [];
  if (max * HESS_TOL > 1) out.push("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?");
  if (min / max < HESS_TOL) out.push("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?");
  return out;
}

/**
 * lme4's checkConv for an LMM at the optimum θ̂ (objective value fx): returns its messages.
 * The scaled gradient is R⁻¹g with H = R'R, as lme4's solve(chol(Hessian), gradient).
 */
export function checkConvergence(f: (x: Float64Array) => number, theta: Float64Array, fx: number, lower: number[]): string[] {
  if (theta.some((v, i) => lower[i] === 0 && v < SINGULAR_TOL)) return [SINGULAR_MESSAGE];
  const k = theta.length;
  const { gradient: g, hessian: H } = deriv12(f, theta, fx);
  if (g.some(Number.isNaN)) return ["Gradient contains NAs"];
  const messages: string[] = [];
  const L = denseCholesky(H, k);
  if (!L) messages.push("unable to evaluate scaled gradient");
  else {
    // R = L', so R⁻¹g solves L' x = g (back substitution).
    const sg = new Float64Array(k);
    for (let i = k - 1; i >= 0; i--) {
      let s = g[i];
      for (let c = i + 1; c < k; c++) s -= L[c * k + i] * sg[c];
      sg[i] = s / L[i * k + i];
    }
    let max = -Infinity, which = 0;
    for (let i = 0; i < k; i++) {
      const v = Math.min(Math.abs(sg[i]), Math.abs(g[i]));
      if (v > max) [max, which] = [v, i];
    }
    if (max > GRAD_TOL) {
      messages.push(`Model failed to converge with max|grad| = ${formatG(max)} (tol = ${GRAD_TOL}, component ${which + 1})`);
    }
  }
  return [...messages, ...checkHess(H, k)];
}

/** C's %g (6 significant digits, trailing zeros dropped), as R's gettextf("%g"). */
function formatG(x: number): string {
  const e = Math.floor(Math.log10(Math.abs(x)));
  if (e < -4 || e >= 6) return x.toExponential(5).replace(/\.?0+e/, "e").replace(/e([+-])(\d)$/, "e$10$2");
  return String(Number(x.toPrecision(6)));
}
