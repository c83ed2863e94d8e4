// Bound-constrained Nelder-Mead as in lme4 (src/optimizer.cpp, class Nelder_Mead: "NLopt's
// Nelder-Mead optimizer, modified to use Eigen"), itself a port of nldrmd.c from NLopt 2.2.4
// (S. G. Johnson). Bounds are handled by projecting every trial point onto the box
// (Richardson & Kuester's "pinning"). lme4 drives its class by reverse communication (one
// evaluation per call of newf); here the same stages run in a plain loop.
//
// lme4's defaults (R function Nelder_Mead): initial step xst = 0.02 for every coordinate,
// simplex tolerance xt = 5e-4 * xst, XtolRel = 1e-7, maxfun = 10000. FtolAbs = 1e-5 and
// FtolRel = 1e-15 are set by lme4 but never tested by its C++ code, so by default there is no
// test on f here either; ftolAbs/ftolRel, when given, add NLopt's test on the simplex's values.
//
// Deliberate differences from lme4, none of which changes the sequence of simplices for a
// deterministic f:
//  - At most maxfun evaluations (lme4 allows maxfun + 1).
//  - After a shrink lme4 re-evaluates all n+1 vertices; the best vertex did not move, so its
//    known value is kept.
//  - The coincidence test of a shrink compares with the vertex shrunk towards, as NLopt's
//    reflectpt does (lme4 compares with the stale centroid).
//  - A start outside the box is clamped into it (lme4 stops); NaN/±Inf values of f are
//    replaced by a penalty (see Evaluator in bobyqa.ts).

import {
  runGuarded,
  setUpProblem,
  solveFixed,
  type BoxProblem,
  type Objective,
  type OptimOptions,
  type OptimResult,
  type Termination,
} from "./bobyqa.js";

/** lme4's default initial simplex step (control$xst). */
const DEFAULT_STEP = 0.02;
/** lme4's default simplex tolerance relative to the step (control$xt = xst * 5e-4). */
const XT_PER_STEP = 5e-4;
/** lme4's nl_stop xtol_rel. */
const XTOL_REL = 1e-7;
// lme4's (and NLopt's) strategy constants: reflection, contraction, expansion, shrinkage.
const ALPHA = 1;
const BETA = 0.5;
const GAMMA = 2;
const DELTA = 0.5;

const XCVG: Termination = { code: 4, converged: true, message: "Nelder-Mead converged: the simplex is smaller than xtolAbs" };
const COINCIDENT: Termination = {
  code: 4,
  converged: true,
  message: "Nelder-Mead converged: a new point coincides with the simplex (x convergence)",
};
const FCVG: Termination = { code: 3, converged: true, message: "Nelder-Mead converged: the spread of f over the simplex is below ftolAbs/ftolRel" };
const MAXFUN: Termination = { code: 5, converged: false, message: "Nelder-Mead stopped: maxfun evaluations of f reached" };

/**
 * Minimise f over the box [lower, upper] with lme4's Nelder-Mead. opts.rhobeg is the initial
 * simplex step (default 0.02), opts.xtolAbs the simplex size tolerance (default 5e-4 * step).
 */
export function nelderMead(
  f: Objective,
  x0: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  opts: OptimOptions = {},
): OptimResult {
  const p = setUpProblem(f, x0, lower, upper, opts.onEval);
  if (p.n === 0) return solveFixed(p);
  const nm = new NelderMead(p, opts);
  return runGuarded(p.evaluator, () => nm.run());
}

/** lme4's close(): equal up to a relative 1e-13. */
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-13 * (Math.abs(a) + Math.abs(b));

/** NLopt's relstop, as in lme4's nl_stop. */
function relstop(vold: number, vnew: number, reltol: number, abstol: number): boolean {
  if (Math.abs(vold) === Infinity) return false;
  const diff = Math.abs(vnew - vold);
  return diff < abstol || diff < reltol * (Math.abs(vnew) + Math.abs(vold)) * 0.5 || (reltol > 0 && vnew === vold);
}

class NelderMead {
  private readonly n: number;
  private readonly lb: Float64Array;
  private readonly ub: Float64Array;
  private readonly x0: Float64Array;
  private readonly step: Float64Array;
  private readonly xtol: Float64Array;
  private readonly maxfun: number;
  private readonly ftolAbs: number;
  private readonly ftolRel: number;
  private readonly ftolOn: boolean;
  private readonly problem: BoxProblem;
  /** The n+1 vertices and their values. */
  private readonly pts: Float64Array[];
  private readonly vals: Float64Array;
  /** Centroid of the vertices other than the worst. */
  private readonly c: Float64Array;
  private readonly xcur: Float64Array;
  private readonly xeval: Float64Array;

  constructor(p: BoxProblem, opts: OptimOptions) {
    const n = p.n;
    this.n = n;
    this.problem = p;
    this.lb = p.lower;
    this.ub = p.upper;
    this.x0 = p.x0;
    const step = opts.rhobeg ?? DEFAULT_STEP;
    if (!(step > 0 && step < Infinity)) throw new RangeError(`rhobeg = ${opts.rhobeg} must be positive and finite`);
    this.step = new Float64Array(n).fill(step);
    this.xtol = new Float64Array(n).fill(opts.xtolAbs ?? step * XT_PER_STEP);
    this.maxfun = opts.maxfun ?? 10000;
    this.ftolOn = opts.ftolAbs !== undefined || opts.ftolRel !== undefined;
    this.ftolAbs = opts.ftolAbs ?? 0;
    this.ftolRel = opts.ftolRel ?? 0;
    this.pts = Array.from({ length: n + 1 }, () => Float64Array.from(p.x0));
    this.vals = new Float64Array(n + 1);
    this.c = new Float64Array(n);
    this.xcur = new Float64Array(n);
    this.xeval = new Float64Array(n);
    this.initialSimplex();
  }

  /**
   * Vertex i+1 is x0 moved by step[i] along coordinate i; near a bound the move goes to the
   * bound or the other way, as in lme4's constructor, so the simplex is feasible and not flat.
   */
  private initialSimplex(): void {
    const { n, lb, ub, x0, step } = this;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(step[i]);
      let v = x0[i] + step[i];
      if (v > ub[i]) v = ub[i] - x0[i] > a * 0.1 ? ub[i] : x0[i] - a;
      if (v < lb[i]) {
        if (x0[i] - lb[i] > a * 0.1) v = lb[i];
        else {
          v = x0[i] + a;
          // Go towards the farther of the two bounds.
          if (v > ub[i]) v = 0.5 * ((ub[i] - x0[i] > x0[i] - lb[i] ? ub[i] : lb[i]) + x0[i]);
        }
      }
      if (close(v, x0[i])) throw new RangeError(`Nelder-Mead cannot generate a feasible simplex (coordinate ${i})`);
      this.pts[i + 1][i] = v;
    }
  }

  /** f at x, or null when maxfun evaluations have been made already. */
  private value(x: Float64Array): number | null {
    const ev = this.problem.evaluator;
    return ev.feval >= this.maxfun ? null : ev.evaluate(x);
  }

  /** Evaluates every vertex except `skip`; false if maxfun intervened. */
  private evaluateVertices(skip: number): boolean {
    for (let i = 0; i <= this.n; i++) {
      if (i === skip) continue;
      const v = this.value(this.pts[i]);
      if (v === null) return false;
      this.vals[i] = v;
    }
    return true;
  }

  run(): Termination {
    if (!this.evaluateVertices(-1)) return MAXFUN;
    for (;;) {
      const t = this.iterate();
      if (t) return t;
    }
  }

  /**
   * One Nelder-Mead iteration (lme4's restart and the post-reflect/expand/contract stages):
   * reflect the worst vertex through the centroid of the others; expand if that gives a new
   * best; accept it if better than the worst; otherwise contract inside, and if even that fails
   * shrink the simplex towards the best vertex. Returns a termination or null to go on.
   */
  private iterate(): Termination | null {
    const { pts, vals } = this;
    const { il, ih } = this.extremes();
    const fl = vals[il];
    const fh = vals[ih];
    this.centroidWithout(ih);
    if (this.ftolOn && relstop(fl, fh, this.ftolRel, this.ftolAbs)) return FCVG;
    if (this.simplexConverged()) return XCVG;

    if (!this.reflect(this.xcur, this.c, ALPHA, pts[ih])) return COINCIDENT;
    const fr = this.value(this.xcur);
    if (fr === null) return MAXFUN;

    if (fr < fl) {
      // New best point: try to go further.
      if (!this.reflect(this.xeval, this.c, GAMMA, pts[ih])) return COINCIDENT;
      const fe = this.value(this.xeval);
      if (fe === null) return MAXFUN;
      // As lme4: the expansion is kept if better than the worst vertex (NLopt: better than the
      // reflection).
      if (fe < vals[ih]) this.replace(ih, this.xeval, fe);
      else this.replace(ih, this.xcur, fr);
      return null;
    }
    if (fr < fh) {
      this.replace(ih, this.xcur, fr);
      return null;
    }
    // The reflection is no better than the worst vertex: contract inside (lme4's test
    // fh <= fr always holds here, so the outside contraction of NLopt never happens).
    if (!this.reflect(this.xcur, this.c, fh <= fr ? -BETA : BETA, pts[ih])) return COINCIDENT;
    const fc = this.value(this.xcur);
    if (fc === null) return MAXFUN;
    if (fc < fr && fc < fh) {
      this.replace(ih, this.xcur, fc);
      return null;
    }
    return this.shrink(il);
  }

  /** Indices of the lowest and highest values, first occurrence of each (Eigen's minCoeff/maxCoeff). */
  private extremes(): { il: number; ih: number } {
    const v = this.vals;
    let il = 0;
    let ih = 0;
    for (let i = 1; i < v.length; i++) {
      if (v[i] < v[il]) il = i;
      if (v[i] > v[ih]) ih = i;
    }
    return { il, ih };
  }

  /** As lme4 (same rounding): (sum of all vertices - worst vertex) / n. */
  private centroidWithout(ih: number): void {
    const { n, pts, c } = this;
    c.set(pts[0]);
    for (let j = 1; j <= n; j++) for (let i = 0; i < n; i++) c[i] += pts[j][i];
    for (let i = 0; i < n; i++) c[i] = (c[i] - pts[ih][i]) / n;
  }

  /**
   * lme4's x-convergence test: in every coordinate, the largest deviation of a vertex from the
   * centroid is below xtol (relstop against 0, so XtolRel only matters for a zero deviation).
   */
  private simplexConverged(): boolean {
    const { n, pts, c } = this;
    for (let i = 0; i < n; i++) {
      let dev = 0;
      for (let j = 0; j <= n; j++) dev = Math.max(dev, Math.abs(pts[j][i] - c[i]));
      if (!relstop(dev, 0, XTOL_REL, this.xtol[i])) return false;
    }
    return true;
  }

  private replace(k: number, x: Float64Array, f: number): void {
    this.pts[k].set(x);
    this.vals[k] = f;
  }

  /** Moves every vertex halfway towards the best one and evaluates them. */
  private shrink(il: number): Termination | null {
    const { n, pts } = this;
    for (let i = 0; i <= n; i++) {
      if (i === il) continue;
      if (!this.reflect(this.xeval, pts[il], -DELTA, pts[i])) return COINCIDENT;
      pts[i].set(this.xeval);
    }
    return this.evaluateVertices(il) ? null : MAXFUN;
  }

  /**
   * xnew = c + scale * (c - xold), projected onto the box. False if the result coincides with c
   * or with xold (the simplex has collapsed in every coordinate).
   */
  private reflect(xnew: Float64Array, c: Float64Array, scale: number, xold: Float64Array): boolean {
    let equalc = true;
    let equalold = true;
    for (let i = 0; i < this.n; i++) {
      const v = Math.min(Math.max(c[i] + scale * (c[i] - xold[i]), this.lb[i]), this.ub[i]);
      equalc = equalc && close(v, c[i]);
      equalold = equalold && close(v, xold[i]);
      xnew[i] = v;
    }
    return !(equalc || equalold);
  }
}
