// BOBYQA: M. J. D. Powell's derivative-free minimiser subject to bounds (Powell, "The BOBYQA
// algorithm for bound constrained optimization without derivatives", DAMTP 2009/NA06).
//
// A port of the C translation in NLopt (src/algs/bobyqa/bobyqa.c, S. G. Johnson 2009), which
// follows Powell's Fortran statement by statement; lme4 (optimizer "nloptwrap", through nloptr)
// and MixedModels.jl (through NLopt) minimise the profiled deviance with that code. The
// subroutines keep Powell's names and structure (bobyqb, prelim, rescue, altmov, trsbox,
// update) and his GOTO labels are kept as named steps of a small state machine in bobyqb, so
// the port can be checked against the reference line by line. Indices are 0-based; a
// Fortran "0 = none" index is -1 here.
//
// Additions around Powell's algorithm, each documented where it is made:
//  - NLopt's treatment of the start: default per-coordinate initial steps and the rescaling
//    that makes them equal (nlopt_set_default_initial_step, nlopt_compute_rescaling).
//  - Infinite bounds become ±1e300 so every bound difference stays finite.
//  - rhobeg is reduced where a box is narrower than 2*rhobeg (Powell would refuse to start).
//  - Non-finite values of f are replaced by a finite penalty (see Evaluator).
//  - NLopt-style optional stopping on ftolAbs/ftolRel/xtolAbs and on maxfun.

/** Options shared by bobyqa() and nelderMead(). Every field is optional. */
export interface OptimOptions {
  /**
   * BOBYQA: initial trust-region radius, used for every coordinate (no rescaling). Default: NLopt's
   * default initial step per coordinate, with the variables rescaled so those steps are equal
   * (0.75 for a θ starting at 1 with lower bound 0; 1 for a θ starting at 0).
   * Nelder-Mead: initial simplex step for every coordinate (lme4's xst, default 0.02).
   */
  rhobeg?: number;
  /** BOBYQA: final trust-region radius, in the (rescaled) units of rhobeg. Default xtolRel * rhobeg. */
  rhoend?: number;
  /** BOBYQA: NLopt's xtol_rel, which sets rhoend = xtolRel * rhobeg when rhoend is not given. Default 1e-6. */
  xtolRel?: number;
  /** Maximum number of evaluations of f. Default 10000. */
  maxfun?: number;
  /** BOBYQA: number of interpolation points, in [n+2, (n+1)(n+2)/2]. Default 2n+1. */
  npt?: number;
  /** Stop when an improvement of the best value is below ftolAbs (BOBYQA) or the simplex's value spread is (Nelder-Mead). Off by default. */
  ftolAbs?: number;
  /** As ftolAbs, relative to the mean |f| of the two values compared. Off by default. */
  ftolRel?: number;
  /** BOBYQA: rhoend is raised to at least xtolAbs (per coordinate, in the original units). Nelder-Mead: simplex size tolerance (lme4's xt, default 5e-4 * step). */
  xtolAbs?: number;
  /** Called after every evaluation with the point (a reused buffer: copy it to keep it) and the raw value f returned. */
  onEval?: (x: Float64Array, f: number) => void;
}

export interface OptimResult {
  /** The best point evaluated (lowest finite f); always within the bounds. */
  x: Float64Array;
  /** f at x; NaN (or the value returned) when f was not finite at the start. */
  f: number;
  /** Number of evaluations of f. */
  feval: number;
  /** True when a convergence test stopped the run (not maxfun, rounding errors or a non-finite start). */
  converged: boolean;
  /** NLopt's result code (see Termination). */
  code: number;
  message: string;
}

export type Objective = (x: Float64Array) => number;

/** Why a run stopped. */
export interface Termination {
  /** NLopt's result code: 1 success, 3 ftol reached, 4 xtol reached, 5 maxeval reached, -1 failure, -4 roundoff limited. */
  code: number;
  converged: boolean;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Problem set-up shared with neldermead.ts: argument checks, variables fixed by equal bounds,
// evaluation counting, best-point tracking and the non-finite guard.
// ---------------------------------------------------------------------------------------------

/** Raised inside a run when f is not finite at the first point: there is no scale for a penalty yet. */
class NonFiniteStart extends Error {}

/**
 * Wraps the user's f. The optimiser works on the free variables only; this scatters them into
 * the full parameter vector (one reused Float64Array), clamps them into the box so f never sees
 * a point outside it, counts evaluations, reports them to onEval and remembers the best point.
 *
 * A value of f that is NaN or ±Infinity is not passed to the algorithm, whose quadratic models
 * (BOBYQA) or comparisons (Nelder-Mead) it would poison. It is replaced by a penalty above
 * every finite value seen so far, fmax + max(1, |fmax|, fmax - fmin): large enough to make the
 * region look uphill, yet finite and of the scale of the data so the model keeps its precision.
 * Such points are never returned as the best, and the result's message counts them: the jump
 * can stop BOBYQA short of a minimum that lies on the edge of the non-finite region (no
 * penalty size avoids that). If the very first value is not finite the run stops at once with
 * converged = false and f = that value.
 */
export class Evaluator {
  feval = 0;
  /** Evaluations whose value was not finite (replaced by the penalty). */
  nonFinite = 0;
  private bestF = Infinity;
  private readonly bestX: Float64Array;
  private readonly full: Float64Array;
  private fmin = Infinity;
  private fmax = -Infinity;
  private startValue = NaN;

  constructor(
    private readonly f: Objective,
    start: Float64Array,
    private readonly free: Int32Array,
    private readonly lower: Float64Array,
    private readonly upper: Float64Array,
    private readonly onEval?: (x: Float64Array, f: number) => void,
  ) {
    this.full = Float64Array.from(start);
    this.bestX = Float64Array.from(start);
  }

  /** f at the free variables x (in the order of the free list); returns the value the algorithm should use. */
  evaluate(x: Float64Array): number {
    const { free, full } = this;
    for (let i = 0; i < free.length; i++) {
      const j = free[i];
      full[j] = Math.min(Math.max(x[i], this.lower[j]), this.upper[j]);
    }
    const raw = this.f(full);
    this.feval++;
    if (this.onEval) this.onEval(full, raw);
    if (Number.isFinite(raw)) return this.record(raw);
    this.nonFinite++;
    if (this.feval === 1) {
      this.startValue = raw;
      throw new NonFiniteStart(`f is not finite at the starting point (f = ${raw})`);
    }
    return this.fmax + Math.max(1, Math.abs(this.fmax), this.fmax - this.fmin);
  }

  private record(v: number): number {
    if (v < this.bestF) {
      this.bestF = v;
      this.bestX.set(this.full);
    }
    if (v < this.fmin) this.fmin = v;
    if (v > this.fmax) this.fmax = v;
    return v;
  }

  result(t: Termination): OptimResult {
    const found = this.bestF < Infinity;
    // Near a region where f is not finite the penalty's jump can stop the search short of the
    // best point, so the message says that it happened.
    const note =
      found && this.nonFinite > 0
        ? ` (f was not finite at ${this.nonFinite} of ${this.feval} points; they were given a penalty value)`
        : "";
    return {
      x: Float64Array.from(this.bestX),
      f: found ? this.bestF : this.startValue,
      feval: this.feval,
      converged: t.converged && found,
      code: found ? t.code : -1,
      message: t.message + note,
    };
  }
}

/** A box-constrained problem in its free variables. */
export interface BoxProblem {
  n: number;
  x0: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  evaluator: Evaluator;
}

/**
 * Checks the arguments and builds the problem in the free variables. Lengths must agree, no value
 * may be NaN, x0 must be finite and lower <= upper. x0 is clamped into the box. A variable with
 * lower == upper is fixed there and removed, since neither algorithm can move along a zero-width
 * interval (BOBYQA needs upper - lower >= 2*rhobeg, lme4's Nelder-Mead a non-degenerate simplex).
 */
export function setUpProblem(
  f: Objective,
  x0: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  onEval?: (x: Float64Array, f: number) => void,
): BoxProblem {
  const n = x0.length;
  if (lower.length !== n || upper.length !== n) {
    throw new RangeError(`x0, lower and upper must have equal lengths (got ${n}, ${lower.length}, ${upper.length})`);
  }
  const lo = mapF64(lower, (v) => v);
  const up = mapF64(upper, (v) => v);
  const start = new Float64Array(n);
  const free: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x0[i])) throw new RangeError(`x0[${i}] = ${x0[i]} is not finite`);
    if (Number.isNaN(lo[i]) || Number.isNaN(up[i])) throw new RangeError(`bound ${i} is NaN`);
    if (!(lo[i] <= up[i]) || lo[i] === Infinity || up[i] === -Infinity) {
      throw new RangeError(`invalid bounds for variable ${i}: [${lo[i]}, ${up[i]}]`);
    }
    start[i] = Math.min(Math.max(x0[i], lo[i]), up[i]);
    if (lo[i] < up[i]) free.push(i);
  }
  const idx = Int32Array.from(free);
  const pick = (a: Float64Array) => mapF64(idx, (j) => a[j]);
  return {
    n: idx.length,
    x0: pick(start),
    lower: pick(lo),
    upper: pick(up),
    evaluator: new Evaluator(f, start, idx, lo, up, onEval),
  };
}

/** Runs an algorithm and turns a non-finite start into a result instead of an exception. */
export function runGuarded(ev: Evaluator, body: () => Termination): OptimResult {
  let t: Termination;
  try {
    t = body();
  } catch (e) {
    if (!(e instanceof NonFiniteStart)) throw e;
    t = { code: -1, converged: false, message: e.message };
  }
  return ev.result(t);
}

/** With every variable fixed there is nothing to optimise: evaluate the single feasible point. */
export function solveFixed(p: BoxProblem): OptimResult {
  return runGuarded(p.evaluator, () => {
    p.evaluator.evaluate(new Float64Array(0));
    return { code: 1, converged: true, message: "every variable is fixed by its bounds" };
  });
}

// ---------------------------------------------------------------------------------------------
// Driver: NLopt's scaling of the variables and Powell's BOBYQA entry routine.
// ---------------------------------------------------------------------------------------------

/** Stand-in for an infinite bound: finite, so bound differences and shifts never give Inf - Inf. */
const BIG = 1e300;

/**
 * Minimise f over the box [lower, upper] with BOBYQA.
 *
 * Stops (converged) when the trust-region radius reaches rhoend, or when the optional ftolAbs /
 * ftolRel test holds; stops (not converged) at maxfun evaluations or when rounding errors stop
 * Powell's algorithm. The result is the best point evaluated.
 */
export function bobyqa(
  f: Objective,
  x0: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  opts: OptimOptions = {},
): OptimResult {
  const p = setUpProblem(f, x0, lower, upper, opts.onEval);
  if (p.n === 0) return solveFixed(p);
  const config = configure(p, opts);
  return runGuarded(p.evaluator, () => new Bobyqb(config).run());
}

/** NLopt's default initial step for one coordinate (options.c, nlopt_set_default_initial_step). */
export function nloptInitialStep(x: number, lb: number, ub: number): number {
  let step = Infinity;
  const finLb = Number.isFinite(lb);
  const finUb = Number.isFinite(ub);
  if (finLb && finUb && (ub - lb) * 0.25 < step && ub > lb) step = (ub - lb) * 0.25;
  if (finUb && ub - x < step && ub > x) step = (ub - x) * 0.75;
  if (finLb && x - lb < step && x > lb) step = (x - lb) * 0.75;
  if (!Number.isFinite(step)) {
    if (finUb && Math.abs(ub - x) < Math.abs(step)) step = (ub - x) * 1.1;
    if (finLb && Math.abs(x - lb) < Math.abs(step)) step = (x - lb) * 1.1;
  }
  if (!Number.isFinite(step) || Math.abs(step) < 2.2250738585072014e-308) step = x;
  if (!Number.isFinite(step) || step === 0) step = 1;
  // NLopt can return a negative step (x < 0 with no bounds); only its size matters here, and a
  // negative scale factor would swap the bounds.
  return Math.abs(step);
}

interface BobyqbConfig {
  n: number;
  npt: number;
  /** Start, lower and upper bounds in the scaled variables (bounds finite). */
  x: Float64Array;
  xl: Float64Array;
  xu: Float64Array;
  rhobeg: number;
  rhoend: number;
  maxfun: number;
  ftolAbs: number;
  ftolRel: number;
  /** f at a point of the scaled variables. */
  calfun: (y: Float64Array) => number;
}

/**
 * Chooses the initial steps, scales the variables as NLopt does (so that one trust region suits
 * every coordinate), and sets rhobeg, rhoend and the other settings.
 */
function configure(p: BoxProblem, opts: OptimOptions): BobyqbConfig {
  const { n, x0, lower, upper } = p;
  const npt = opts.npt ?? 2 * n + 1;
  if (!Number.isInteger(npt) || npt < n + 2 || npt > ((n + 1) * (n + 2)) / 2) {
    throw new RangeError(`npt = ${npt} must be an integer in [n+2, (n+1)(n+2)/2] = [${n + 2}, ${((n + 1) * (n + 2)) / 2}]`);
  }
  if (opts.rhobeg !== undefined && !(opts.rhobeg > 0 && opts.rhobeg < Infinity)) {
    throw new RangeError(`rhobeg = ${opts.rhobeg} must be positive and finite`);
  }
  // Powell requires upper - lower >= 2*rhobeg: a step is capped at half the width of its box.
  const dx = mapF64(x0, (x, i) =>
    Math.min(opts.rhobeg ?? nloptInitialStep(x, lower[i], upper[i]), (upper[i] - lower[i]) / 2),
  );
  const s = rescaling(dx);
  const scaled = (v: number, i: number) => (Number.isFinite(v) ? v / s[i] : v < 0 ? -BIG : BIG);
  const xl = mapF64(lower, scaled);
  const xu = mapF64(upper, scaled);
  let rhobeg = dx[0];
  for (let i = 0; i < n; i++) rhobeg = Math.min(rhobeg, (xu[i] - xl[i]) / 2);
  let rhoend = opts.rhoend ?? (opts.xtolRel ?? 1e-6) * rhobeg;
  if (opts.xtolAbs !== undefined) for (let i = 0; i < n; i++) rhoend = Math.max(rhoend, opts.xtolAbs / s[i]);
  rhoend = Math.min(rhoend, rhobeg);
  if (!(rhoend > 0)) throw new RangeError(`rhoend = ${rhoend} must be positive`);
  return {
    n,
    npt,
    x: mapF64(x0, (v, i) => Math.min(Math.max(v / s[i], xl[i]), xu[i])),
    xl,
    xu,
    rhobeg,
    rhoend,
    maxfun: opts.maxfun ?? 10000,
    ftolAbs: opts.ftolAbs ?? 0,
    ftolRel: opts.ftolRel ?? 0,
    calfun: unscaler(p, s, xl, xu),
  };
}

/** Float64Array.from(a, fn) as a plain loop: the set-up runs once per fit, thousands of times in fitMany. */
function mapF64(a: ArrayLike<number>, fn: (v: number, i: number) => number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = fn(a[i], i);
  return out;
}

/** NLopt's nlopt_compute_rescaling: divide variable i by dx[i]/dx[0], unless all steps are equal. */
function rescaling(dx: Float64Array): Float64Array {
  const s = new Float64Array(dx.length).fill(1);
  if (dx.every((v) => v === dx[0])) return s;
  for (let i = 1; i < dx.length; i++) s[i] = dx[i] / dx[0];
  return s;
}

/**
 * Maps a point of the scaled variables back to the original ones and evaluates f there. A
 * scaled value on a scaled bound maps to that bound exactly, so rounding in the rescaling can
 * neither leave the box nor move an active bound by an ulp.
 */
function unscaler(p: BoxProblem, s: Float64Array, yl: Float64Array, yu: Float64Array): (y: Float64Array) => number {
  const x = new Float64Array(p.n);
  const { lower, upper, evaluator } = p;
  return (y) => {
    for (let i = 0; i < x.length; i++) {
      if (y[i] <= yl[i]) x[i] = lower[i];
      else if (y[i] >= yu[i]) x[i] = upper[i];
      else x[i] = Math.min(Math.max(y[i] * s[i], lower[i]), upper[i]);
    }
    return evaluator.evaluate(x);
  };
}

// ---------------------------------------------------------------------------------------------
// Powell's algorithm.
// ---------------------------------------------------------------------------------------------

const RHOEND: Termination = { code: 4, converged: true, message: "BOBYQA converged: the trust-region radius reached rhoend" };
const FTOL: Termination = { code: 3, converged: true, message: "BOBYQA converged: the decrease of f was below ftolAbs/ftolRel" };
const MAXFUN: Termination = { code: 5, converged: false, message: "BOBYQA stopped: maxfun evaluations of f reached" };
const CANCELLATION: Termination = {
  code: -4,
  converged: false,
  message: "BOBYQA stopped: much cancellation in a denominator (rounding errors)",
};
const NO_REDUCTION: Termination = {
  code: -4,
  converged: false,
  message: "BOBYQA stopped: a trust-region step failed to reduce the quadratic model (rounding errors)",
};
const SINGULAR: Termination = {
  code: -4,
  converged: false,
  message: "BOBYQA stopped: the interpolation system became singular (rounding errors)",
};

/** Powell's labels in BOBYQB, named after what happens there. */
type Step =
  | "L20_updateGopt" // bring GOPT to the current XOPT
  | "L60_trustRegion" // trust-region step from TRSBOX
  | "L90_shiftBase" // maybe move XBASE to XOPT
  | "L190_rescue" // rebuild the interpolation system
  | "L210_altmov" // alternative step that improves the geometry
  | "L230_denominator" // VLAG, BETA and the choice of KNEW
  | "L360_evaluate" // evaluate f and update the model
  | "L650_farPoint" // find a far interpolation point to move
  | "L680_reduceRho"; // next RHO, or the end

/** Index into the packed upper triangle of HQ (column by column) for i <= j. */
const hqIndex = (i: number, j: number): number => i + (j * (j + 1)) / 2;

/** The state of one BOBYQA run: Powell's BOBYQB arguments and work arrays. */
class Bobyqb {
  private readonly n: number;
  private readonly npt: number;
  private readonly ndim: number;
  private readonly nptm: number;
  private readonly nh: number;
  private readonly xl: Float64Array;
  private readonly xu: Float64Array;
  private readonly rhobeg: number;
  private readonly rhoend: number;
  private readonly maxfun: number;
  private readonly cfg: BobyqbConfig;

  // Powell's arrays. XPT is NPT x N, BMAT NDIM x N, ZMAT NPT x NPTM, all column-major.
  private readonly xbase: Float64Array;
  private readonly xpt: Float64Array;
  private readonly fval: Float64Array;
  private readonly xopt: Float64Array;
  private readonly gopt: Float64Array;
  private readonly hq: Float64Array;
  private readonly pq: Float64Array;
  private readonly bmat: Float64Array;
  private readonly zmat: Float64Array;
  private readonly sl: Float64Array;
  private readonly su: Float64Array;
  private readonly xnew: Float64Array;
  private readonly xalt: Float64Array;
  private readonly d: Float64Array;
  private readonly vlag: Float64Array;
  private readonly w: Float64Array;
  /** TRSBOX's views of W (made once: it runs every iteration). */
  private trsboxViews: ReturnType<Bobyqb["trsboxWorkspace"]> | null = null;
  /** The point handed to calfun, and a row of XPT. */
  private readonly xtry: Float64Array;
  private readonly row: Float64Array;

  private nf = 0;
  private kopt = 0;
  private knew = -1;
  private rho = 0;
  private delta = 0;
  private dsq = 0;
  private xoptsq = 0;
  private crvmin = 0;
  private alpha = 0;
  private cauchy = 0;
  private beta = 0;
  private denom = 0;

  constructor(cfg: BobyqbConfig) {
    const { n, npt } = cfg;
    this.cfg = cfg;
    this.n = n;
    this.npt = npt;
    this.ndim = npt + n;
    this.nptm = npt - n - 1;
    this.nh = (n * (n + 1)) / 2;
    this.xl = cfg.xl;
    this.xu = cfg.xu;
    this.rhobeg = cfg.rhobeg;
    this.rhoend = cfg.rhoend;
    this.maxfun = cfg.maxfun;
    this.xbase = new Float64Array(n);
    this.xpt = new Float64Array(npt * n);
    this.fval = new Float64Array(npt);
    this.xopt = new Float64Array(n);
    this.gopt = new Float64Array(n);
    this.hq = new Float64Array(this.nh);
    this.pq = new Float64Array(npt);
    this.bmat = new Float64Array(this.ndim * n);
    this.zmat = new Float64Array(npt * this.nptm);
    this.sl = new Float64Array(n);
    this.su = new Float64Array(n);
    this.xnew = new Float64Array(n);
    this.xalt = new Float64Array(n);
    this.d = new Float64Array(n);
    this.vlag = new Float64Array(this.ndim);
    this.w = new Float64Array(3 * this.ndim);
    this.xtry = new Float64Array(n);
    this.row = new Float64Array(n);
  }

  /** Powell's BOBYQA entry: SL/SU and the start, then BOBYQB. */
  run(): Termination {
    const x = Float64Array.from(this.cfg.x);
    this.setBoundsAroundStart(x);
    return this.bobyqb(x);
  }

  /**
   * SL and SU are the bounds relative to the start. A start closer than rhobeg to a bound is
   * moved onto the bound or rhobeg away from it, so that PRELIM's first steps of length rhobeg
   * stay feasible, and a coordinate at a bound has SL or SU exactly zero, which PRELIM uses to
   * step inwards. (Infinite bounds are ±1e300 here, so these differences stay finite.)
   */
  private setBoundsAroundStart(x: Float64Array): void {
    const { xl, xu, sl, su, rhobeg } = this;
    for (let j = 0; j < this.n; j++) {
      const width = xu[j] - xl[j];
      sl[j] = xl[j] - x[j];
      su[j] = xu[j] - x[j];
      if (sl[j] >= -rhobeg) {
        if (sl[j] >= 0) {
          x[j] = xl[j];
          sl[j] = 0;
          su[j] = width;
        } else {
          x[j] = xl[j] + rhobeg;
          sl[j] = -rhobeg;
          su[j] = Math.max(xu[j] - x[j], rhobeg);
        }
      } else if (su[j] <= rhobeg) {
        if (su[j] <= 0) {
          x[j] = xu[j];
          sl[j] = -width;
          su[j] = 0;
        } else {
          x[j] = xu[j] - rhobeg;
          sl[j] = Math.min(xl[j] - x[j], -rhobeg);
          su[j] = rhobeg;
        }
      }
    }
  }

  /**
   * f at XBASE + step, with the point clamped into the bounds and set exactly on a bound whenever
   * the step reaches SL or SU (Powell's device to keep active bounds exact).
   */
  private evalStep(step: Float64Array): number {
    const { xl, xu, xbase, sl, su, xtry } = this;
    for (let i = 0; i < this.n; i++) {
      let v = Math.min(Math.max(xl[i], xbase[i] + step[i]), xu[i]);
      if (step[i] === sl[i]) v = xl[i];
      if (step[i] === su[i]) v = xu[i];
      xtry[i] = v;
    }
    this.nf++;
    return this.cfg.calfun(xtry);
  }

  private evalRow(k: number): number {
    for (let i = 0; i < this.n; i++) this.row[i] = this.xpt[k + i * this.npt];
    return this.evalStep(this.row);
  }

  /** XOPT = XPT(KOPT,.) and its squared length. */
  private loadXopt(): void {
    let sq = 0;
    for (let i = 0; i < this.n; i++) {
      const v = this.xpt[this.kopt + i * this.npt];
      this.xopt[i] = v;
      sq += v * v;
    }
    this.xoptsq = sq;
  }

  // ---- BOBYQB ---------------------------------------------------------------------------------

  /**
   * The main iteration. Each trust-region step (TRSBOX) is followed by an evaluation of f and an
   * update of the quadratic model; when the model's geometry is poor an alternative step (ALTMOV)
   * moves a far interpolation point instead; RHO, the lower bound on the trust-region radius,
   * falls from rhobeg to rhoend as the work at each RHO is completed.
   */
  private bobyqb(x: Float64Array): Termination {
    this.xbase.set(x);
    const pre = this.prelim();
    this.loadXopt();
    if (pre) return pre;

    let kbase = 0;
    this.rho = this.rhobeg;
    this.delta = this.rho;
    let nresc = this.nf;
    let ntrits = 0;
    let diffa = 0;
    let diffb = 0;
    let diffc = 0;
    let itest = 0;
    let nfsav = this.nf;
    let ratio = 0;
    let dnorm = 0;
    let distsq = 0;
    let adelt = 0;
    let step: Step = "L20_updateGopt";

    for (;;) {
      switch (step) {
        case "L20_updateGopt":
          // GOPT is the model gradient at XBASE after PRELIM or RESCUE; move it to XOPT.
          if (this.kopt !== kbase) this.gradientAtXopt();
          step = "L60_trustRegion";
          break;

        case "L60_trustRegion": {
          this.trsbox(this.delta);
          dnorm = Math.min(this.delta, Math.sqrt(this.dsq));
          if (dnorm >= 0.5 * this.rho) {
            ntrits++;
            step = "L90_shiftBase";
            break;
          }
          // The step is too short to be worth an evaluation: either improve the geometry (650)
          // or, if the model's recent errors are small compared with what could be gained
          // within HALF*RHO, the work at this RHO is done (680).
          ntrits = -1;
          distsq = (10 * this.rho) ** 2;
          if (this.nf <= nfsav + 2) {
            step = "L650_farPoint";
            break;
          }
          const errbig = Math.max(diffa, diffb, diffc);
          const frhosq = 0.125 * this.rho * this.rho;
          if (this.crvmin > 0 && errbig > frhosq * this.crvmin) step = "L650_farPoint";
          else step = this.boundsMayImprove(errbig / this.rho) ? "L650_farPoint" : "L680_reduceRho";
          break;
        }

        case "L90_shiftBase":
          // Far from XBASE the model suffers cancellation: shift the origin to XOPT.
          if (this.dsq <= 1e-3 * this.xoptsq) this.shiftBase();
          step = ntrits === 0 ? "L210_altmov" : "L230_denominator";
          break;

        case "L190_rescue": {
          // Rounding errors have damaged the denominator of the updating formula: rebuild BMAT and
          // ZMAT from scratch (may move interpolation points and evaluate f there).
          nfsav = this.nf;
          kbase = this.kopt;
          const t = this.rescue();
          this.xoptsq = 0;
          if (this.kopt !== kbase) this.loadXopt();
          if (t) return t;
          nresc = this.nf;
          if (nfsav < this.nf) {
            nfsav = this.nf;
            step = "L20_updateGopt";
          } else step = ntrits > 0 ? "L60_trustRegion" : "L210_altmov";
          break;
        }

        case "L210_altmov":
          // Two candidate positions for the KNEW-th point: on a line through XOPT and another
          // point (XNEW), or a constrained Cauchy step of its Lagrange function (XALT).
          this.altmov(this.knew, adelt);
          for (let i = 0; i < this.n; i++) this.d[i] = this.xnew[i] - this.xopt[i];
          step = "L230_denominator";
          break;

        case "L230_denominator": {
          this.vlagAndBeta();
          if (ntrits === 0) {
            const vk2 = this.vlag[this.knew] ** 2;
            this.denom = vk2 + this.alpha * this.beta;
            if (this.denom < this.cauchy && this.cauchy > 0) {
              // The Cauchy step gives a larger denominator: use XALT instead.
              this.xnew.set(this.xalt);
              for (let i = 0; i < this.n; i++) this.d[i] = this.xnew[i] - this.xopt[i];
              this.cauchy = 0;
              break;
            }
            if (this.denom <= 0.5 * vk2) {
              if (this.nf > nresc) {
                step = "L190_rescue";
                break;
              }
              return CANCELLATION;
            }
          } else if (!this.chooseKnew(this.xopt)) {
            // KNEW is chosen before evaluating f so that RESCUE can run first if needed.
            if (this.nf > nresc) {
              step = "L190_rescue";
              break;
            }
            return CANCELLATION;
          }
          step = "L360_evaluate";
          break;
        }

        case "L360_evaluate": {
          if (this.nf >= this.maxfun) return MAXFUN;
          const f = this.evalStep(this.xnew);
          // The final short step after RHO reached RHOEND: its value only matters if it is the
          // best, which the Evaluator records.
          if (ntrits === -1) return RHOEND;
          const fopt = this.fval[this.kopt];
          const vquad = this.predictedChange();
          const diff = f - fopt - vquad;
          diffc = diffb;
          diffb = diffa;
          diffa = Math.abs(diff);
          if (dnorm > this.rho) nfsav = this.nf;
          if (ntrits > 0) {
            if (vquad >= 0) return NO_REDUCTION;
            ratio = (f - fopt) / vquad;
            this.reviseDelta(ratio, dnorm);
            if (f < fopt) this.rechooseKnew();
          }
          update(this.n, this.npt, this.bmat, this.zmat, this.ndim, this.vlag, this.beta, this.denom, this.knew, this.w);
          if (!this.includeNewPoint(f, diff)) return SINGULAR;
          if (f < fopt) {
            this.moveXopt();
            if (this.ftolReached(f, fopt)) return FTOL;
          }
          if (ntrits > 0) itest = this.maybeFrobeniusModel(itest);
          if (ntrits === 0 || f <= fopt + 0.1 * vquad) {
            step = "L60_trustRegion";
            break;
          }
          distsq = Math.max((2 * this.delta) ** 2, (10 * this.rho) ** 2);
          step = "L650_farPoint";
          break;
        }

        case "L650_farPoint": {
          // Is an interpolation point farther than sqrt(distsq) from XOPT? Then move it (ALTMOV).
          const far = this.farthestPoint(distsq);
          if (far >= 0) {
            this.knew = far;
            distsq = this.distsqToXopt(far);
            const dist = Math.sqrt(distsq);
            if (ntrits === -1) {
              this.delta = Math.min(0.1 * this.delta, 0.5 * dist);
              if (this.delta <= 1.5 * this.rho) this.delta = this.rho;
            }
            ntrits = 0;
            adelt = Math.max(Math.min(0.1 * dist, this.delta), this.rho);
            this.dsq = adelt * adelt;
            step = "L90_shiftBase";
          } else if (ntrits === -1) step = "L680_reduceRho";
          else if (ratio > 0 || Math.max(this.delta, dnorm) > this.rho) step = "L60_trustRegion";
          else step = "L680_reduceRho";
          break;
        }

        case "L680_reduceRho":
          if (this.rho > this.rhoend) {
            this.delta = 0.5 * this.rho;
            ratio = this.rho / this.rhoend;
            if (ratio <= 16) this.rho = this.rhoend;
            else if (ratio <= 250) this.rho = Math.sqrt(ratio) * this.rhoend;
            else this.rho *= 0.1;
            this.delta = Math.max(this.delta, this.rho);
            ntrits = 0;
            nfsav = this.nf;
            step = "L60_trustRegion";
            break;
          }
          // Finish with the last trust-region step if it was too short to have been tried.
          if (ntrits === -1) {
            step = "L360_evaluate";
            break;
          }
          return RHOEND;
      }
    }
  }

  /** Label 20: GOPT += H * XOPT (explicit HQ and implicit PQ parts). */
  private gradientAtXopt(): void {
    const { n, npt, xpt, xopt, gopt, hq, pq } = this;
    let ih = 0;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i <= j; i++) {
        if (i < j) gopt[j] += hq[ih] * xopt[i];
        gopt[i] += hq[ih] * xopt[j];
        ih++;
      }
    }
    // The implicit part is still zero straight after PRELIM.
    if (this.nf > npt) {
      for (let k = 0; k < npt; k++) {
        let temp = 0;
        for (let j = 0; j < n; j++) temp += xpt[k + j * npt] * xopt[j];
        temp *= pq[k];
        for (let i = 0; i < n; i++) gopt[i] += temp * xpt[k + i * npt];
      }
    }
  }

  /**
   * Label 60's test for a short step that ends on bounds: true if the model suggests f could
   * still fall noticeably by moving off a bound (so the geometry is improved rather than RHO
   * reduced). W holds TRSBOX's gradient GNEW at XNEW.
   */
  private boundsMayImprove(bdtol: number): boolean {
    const { n, npt, xpt, pq, hq, xnew, sl, su, w } = this;
    for (let j = 0; j < n; j++) {
      let bdtest = bdtol;
      if (xnew[j] === sl[j]) bdtest = w[j];
      if (xnew[j] === su[j]) bdtest = -w[j];
      if (bdtest < bdtol) {
        let curv = hq[hqIndex(j, j)];
        for (let k = 0; k < npt; k++) curv += pq[k] * xpt[k + j * npt] ** 2;
        bdtest += 0.5 * curv * this.rho;
        if (bdtest < bdtol) return true;
      }
    }
    return false;
  }

  /**
   * Label 90: move XBASE to XOPT, revising BMAT and the second derivatives of the model so that
   * they describe the same functions about the new origin. VLAG and W are scratch here.
   */
  private shiftBase(): void {
    const { n, npt, ndim, nptm, xpt, xopt, bmat, zmat, pq, hq, w, vlag } = this;
    const xoptsq = this.xoptsq;
    const fracsq = 0.25 * xoptsq;
    let sumpq = 0;
    // Revisions of BMAT that do not depend on ZMAT.
    for (let k = 0; k < npt; k++) {
      sumpq += pq[k];
      let sum = -0.5 * xoptsq;
      for (let i = 0; i < n; i++) sum += xpt[k + i * npt] * xopt[i];
      w[npt + k] = sum;
      const temp = fracsq - 0.5 * sum;
      for (let i = 0; i < n; i++) {
        w[i] = bmat[k + i * ndim];
        vlag[i] = sum * xpt[k + i * npt] + temp * xopt[i];
        const ip = npt + i;
        for (let j = 0; j <= i; j++) bmat[ip + j * ndim] = bmat[ip + j * ndim] + w[i] * vlag[j] + vlag[i] * w[j];
      }
    }
    // Revisions that depend on ZMAT.
    for (let jj = 0; jj < nptm; jj++) {
      let sumz = 0;
      let sumw = 0;
      for (let k = 0; k < npt; k++) {
        sumz += zmat[k + jj * npt];
        vlag[k] = w[npt + k] * zmat[k + jj * npt];
        sumw += vlag[k];
      }
      for (let j = 0; j < n; j++) {
        let sum = (fracsq * sumz - 0.5 * sumw) * xopt[j];
        for (let k = 0; k < npt; k++) sum += vlag[k] * xpt[k + j * npt];
        w[j] = sum;
        for (let k = 0; k < npt; k++) bmat[k + j * ndim] += sum * zmat[k + jj * npt];
      }
      for (let i = 0; i < n; i++) {
        const ip = i + npt;
        const temp = w[i];
        for (let j = 0; j <= i; j++) bmat[ip + j * ndim] += temp * w[j];
      }
    }
    // The shift itself, with the change to HQ from the implicit second derivatives.
    let ih = 0;
    for (let j = 0; j < n; j++) {
      w[j] = -0.5 * sumpq * xopt[j];
      for (let k = 0; k < npt; k++) {
        w[j] += pq[k] * xpt[k + j * npt];
        xpt[k + j * npt] -= xopt[j];
      }
      for (let i = 0; i <= j; i++) {
        hq[ih] = hq[ih] + w[i] * xopt[j] + xopt[i] * w[j];
        bmat[npt + i + j * ndim] = bmat[npt + j + i * ndim];
        ih++;
      }
    }
    for (let i = 0; i < n; i++) {
      this.xbase[i] += xopt[i];
      this.xnew[i] -= xopt[i];
      this.sl[i] -= xopt[i];
      this.su[i] -= xopt[i];
      xopt[i] = 0;
    }
    this.xoptsq = 0;
  }

  /**
   * Label 230: VLAG (values of the Lagrange functions at XOPT+D, plus their gradient part) and
   * BETA, the quantities in the denominator of the updating formula. W(NPT+K) keeps the scalar
   * products of D with the interpolation points for the model value VQUAD.
   */
  private vlagAndBeta(): void {
    const { n, npt, ndim, nptm, xpt, xopt, bmat, zmat, d, w, vlag } = this;
    for (let k = 0; k < npt; k++) {
      let suma = 0;
      let sumb = 0;
      let sum = 0;
      for (let j = 0; j < n; j++) {
        suma += xpt[k + j * npt] * d[j];
        sumb += xpt[k + j * npt] * xopt[j];
        sum += bmat[k + j * ndim] * d[j];
      }
      w[k] = suma * (0.5 * suma + sumb);
      vlag[k] = sum;
      w[npt + k] = suma;
    }
    let beta = 0;
    for (let jj = 0; jj < nptm; jj++) {
      let sum = 0;
      for (let k = 0; k < npt; k++) sum += zmat[k + jj * npt] * w[k];
      beta -= sum * sum;
      for (let k = 0; k < npt; k++) vlag[k] += sum * zmat[k + jj * npt];
    }
    let dsq = 0;
    let bsum = 0;
    let dx = 0;
    for (let j = 0; j < n; j++) {
      dsq += d[j] * d[j];
      let sum = 0;
      for (let k = 0; k < npt; k++) sum += w[k] * bmat[k + j * ndim];
      bsum += sum * d[j];
      const jp = npt + j;
      for (let i = 0; i < n; i++) sum += bmat[jp + i * ndim] * d[i];
      vlag[jp] = sum;
      bsum += sum * d[j];
      dx += d[j] * xopt[j];
    }
    this.beta = dx * dx + dsq * (this.xoptsq + dx + dx + 0.5 * dsq) + beta - bsum;
    vlag[this.kopt] += 1;
  }

  /**
   * Picks KNEW, the point to replace by XOPT+D, maximising the denominator weighted by the
   * point's distance from `centre` (XOPT before the evaluation, XNEW after a success). Returns
   * false when every denominator is tiny compared with the Lagrange values (cancellation).
   */
  private chooseKnew(centre: Float64Array, skipKopt = true): boolean {
    const { n, npt, nptm, xpt, zmat, vlag } = this;
    const delsq = this.delta * this.delta;
    let scaden = 0;
    let biglsq = 0;
    this.knew = -1;
    for (let k = 0; k < npt; k++) {
      if (skipKopt && k === this.kopt) continue;
      let hdiag = 0;
      for (let jj = 0; jj < nptm; jj++) hdiag += zmat[k + jj * npt] ** 2;
      const den = this.beta * hdiag + vlag[k] ** 2;
      let distsq = 0;
      for (let j = 0; j < n; j++) distsq += (xpt[k + j * npt] - centre[j]) ** 2;
      const temp = Math.max(1, (distsq / delsq) ** 2);
      if (temp * den > scaden) {
        scaden = temp * den;
        this.knew = k;
        this.denom = den;
      }
      biglsq = Math.max(biglsq, temp * vlag[k] ** 2);
    }
    return scaden > 0.5 * biglsq;
  }

  /** After a reduction of f, KNEW is chosen again relative to XNEW, keeping the old choice if that fails. */
  private rechooseKnew(): void {
    const ksav = this.knew;
    const densav = this.denom;
    if (!this.chooseKnew(this.xnew, false)) {
      this.knew = ksav;
      this.denom = densav;
    }
  }

  /** The change in the quadratic model from XOPT to XOPT+D (uses W(NPT+K) from vlagAndBeta). */
  private predictedChange(): number {
    const { n, npt, d, gopt, hq, pq, w } = this;
    let vquad = 0;
    let ih = 0;
    for (let j = 0; j < n; j++) {
      vquad += d[j] * gopt[j];
      for (let i = 0; i <= j; i++) {
        const temp = d[i] * d[j];
        vquad += hq[ih] * (i === j ? 0.5 * temp : temp);
        ih++;
      }
    }
    for (let k = 0; k < npt; k++) vquad += 0.5 * pq[k] * w[npt + k] ** 2;
    return vquad;
  }

  /** Powell's rule for the next trust-region radius after a step with the given ratio of actual to predicted reduction. */
  private reviseDelta(ratio: number, dnorm: number): void {
    if (ratio <= 0.1) this.delta = Math.min(0.5 * this.delta, dnorm);
    else if (ratio <= 0.7) this.delta = Math.max(0.5 * this.delta, dnorm);
    else this.delta = Math.max(0.5 * this.delta, dnorm + dnorm);
    if (this.delta <= 1.5 * this.rho) this.delta = this.rho;
  }

  /**
   * After UPDATE: the new point replaces XPT(KNEW,.), and the model gains DIFF times the KNEW-th
   * Lagrange function so it interpolates the new value; the old PQ(KNEW) term moves into HQ.
   * Returns false if ZMAT has overflowed (NLopt's guard against a singular system).
   */
  private includeNewPoint(f: number, diff: number): boolean {
    const { n, npt, ndim, nptm, xpt, xopt, xnew, bmat, zmat, pq, hq, gopt, w } = this;
    const knew = this.knew;
    const pqold = pq[knew];
    pq[knew] = 0;
    let ih = 0;
    for (let i = 0; i < n; i++) {
      const temp = pqold * xpt[knew + i * npt];
      for (let j = 0; j <= i; j++) hq[ih++] += temp * xpt[knew + j * npt];
    }
    for (let jj = 0; jj < nptm; jj++) {
      const temp = diff * zmat[knew + jj * npt];
      for (let k = 0; k < npt; k++) pq[k] += temp * zmat[k + jj * npt];
    }
    this.fval[knew] = f;
    for (let i = 0; i < n; i++) {
      xpt[knew + i * npt] = xnew[i];
      w[i] = bmat[knew + i * ndim];
    }
    for (let k = 0; k < npt; k++) {
      let suma = 0;
      for (let jj = 0; jj < nptm; jj++) suma += zmat[knew + jj * npt] * zmat[k + jj * npt];
      if (!Number.isFinite(suma)) return false;
      let sumb = 0;
      for (let j = 0; j < n; j++) sumb += xpt[k + j * npt] * xopt[j];
      const temp = suma * sumb;
      for (let i = 0; i < n; i++) w[i] += temp * xpt[k + i * npt];
    }
    for (let i = 0; i < n; i++) gopt[i] += diff * w[i];
    return true;
  }

  /** A new best point: XOPT = XNEW, and GOPT moves along D by the model's second derivatives. */
  private moveXopt(): void {
    const { n, npt, xpt, xopt, xnew, d, gopt, hq, pq } = this;
    this.kopt = this.knew;
    let xoptsq = 0;
    let ih = 0;
    for (let j = 0; j < n; j++) {
      xopt[j] = xnew[j];
      xoptsq += xopt[j] * xopt[j];
      for (let i = 0; i <= j; i++) {
        if (i < j) gopt[j] += hq[ih] * d[i];
        gopt[i] += hq[ih] * d[j];
        ih++;
      }
    }
    this.xoptsq = xoptsq;
    for (let k = 0; k < npt; k++) {
      let temp = 0;
      for (let j = 0; j < n; j++) temp += xpt[k + j * npt] * d[j];
      temp *= pq[k];
      for (let i = 0; i < n; i++) gopt[i] += temp * xpt[k + i * npt];
    }
  }

  /** NLopt's nlopt_stop_ftol(f, fopt), tested as NLopt does only when f improved. Off unless requested. */
  private ftolReached(f: number, fopt: number): boolean {
    const { ftolAbs, ftolRel } = this.cfg;
    const change = Math.abs(f - fopt);
    return change < ftolAbs || change < ftolRel * (Math.abs(f) + Math.abs(fopt)) * 0.5;
  }

  /**
   * Labels 570-640: if the gradient of the least Frobenius norm interpolant has been much smaller
   * than the model's (projected) gradient for three trust-region steps in a row, the model is
   * replaced by that interpolant, which recovers from a poor history of updates.
   */
  private maybeFrobeniusModel(itest: number): number {
    const { n, npt, ndim, nptm, nh, xpt, xopt, fval, bmat, zmat, gopt, pq, hq, sl, su, w, vlag } = this;
    for (let k = 0; k < npt; k++) {
      vlag[k] = fval[k] - fval[this.kopt];
      w[k] = 0;
    }
    for (let j = 0; j < nptm; j++) {
      let sum = 0;
      for (let k = 0; k < npt; k++) sum += zmat[k + j * npt] * vlag[k];
      for (let k = 0; k < npt; k++) w[k] += sum * zmat[k + j * npt];
    }
    for (let k = 0; k < npt; k++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += xpt[k + j * npt] * xopt[j];
      w[k + npt] = w[k];
      w[k] *= sum;
    }
    let gqsq = 0;
    let gisq = 0;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let k = 0; k < npt; k++) sum = sum + bmat[k + i * ndim] * vlag[k] + xpt[k + i * npt] * w[k];
      // Only components that can move into the box count.
      if (xopt[i] === sl[i]) {
        gqsq += Math.min(0, gopt[i]) ** 2;
        gisq += Math.min(0, sum) ** 2;
      } else if (xopt[i] === su[i]) {
        gqsq += Math.max(0, gopt[i]) ** 2;
        gisq += Math.max(0, sum) ** 2;
      } else {
        gqsq += gopt[i] ** 2;
        gisq += sum * sum;
      }
      vlag[npt + i] = sum;
    }
    itest++;
    if (gqsq < 10 * gisq) itest = 0;
    if (itest >= 3) {
      for (let i = 0; i < Math.max(npt, nh); i++) {
        if (i < n) gopt[i] = vlag[npt + i];
        if (i < npt) pq[i] = w[npt + i];
        if (i < nh) hq[i] = 0;
      }
      itest = 0;
    }
    return itest;
  }

  private distsqToXopt(k: number): number {
    let sum = 0;
    for (let j = 0; j < this.n; j++) sum += (this.xpt[k + j * this.npt] - this.xopt[j]) ** 2;
    return sum;
  }

  /** Label 650: the interpolation point farthest from XOPT if its squared distance exceeds distsq, else -1. */
  private farthestPoint(distsq: number): number {
    let knew = -1;
    for (let k = 0; k < this.npt; k++) {
      const sum = this.distsqToXopt(k);
      if (sum > distsq) {
        knew = k;
        distsq = sum;
      }
    }
    return knew;
  }

  // ---- PRELIM ---------------------------------------------------------------------------------

  /**
   * Evaluates f at the NPT initial points (XBASE, then steps of ±RHOBEG along the coordinates,
   * then pairs of such steps) and sets up the initial quadratic model, BMAT and ZMAT. GOPT is the
   * model gradient at XBASE. Returns a termination if maxfun is reached first.
   */
  private prelim(): Termination | null {
    const { n, npt, xpt, fval, gopt, hq, bmat, zmat, ndim, sl, su } = this;
    const rhobeg = this.rhobeg;
    const rhosq = rhobeg * rhobeg;
    const recip = 1 / rhosq;
    const np = n + 1;
    let fbeg = 0;
    let stepa = 0;
    let stepb = 0;
    let ipt = 0;
    let jpt = 0;
    // nf, nfm, nfx, ipt and jpt keep Powell's 1-based values; array indices subtract 1.
    for (let nf = 1; nf <= npt; nf++) {
      const nfm = nf - 1;
      const nfx = nf - 1 - n;
      if (nfm <= 2 * n) {
        if (nfm >= 1 && nfm <= n) {
          // Step along +e_nfm, or -e_nfm if the start is on its upper bound.
          stepa = su[nfm - 1] === 0 ? -rhobeg : rhobeg;
          xpt[nf - 1 + (nfm - 1) * npt] = stepa;
        } else if (nfm > n) {
          // Second step along e_nfx: opposite to the first, or further inwards at a bound.
          stepa = xpt[nf - n - 1 + (nfx - 1) * npt];
          stepb = -rhobeg;
          if (sl[nfx - 1] === 0) stepb = Math.min(2 * rhobeg, su[nfx - 1]);
          if (su[nfx - 1] === 0) stepb = Math.max(-2 * rhobeg, sl[nfx - 1]);
          xpt[nf - 1 + (nfx - 1) * npt] = stepb;
        }
      } else {
        // Beyond 2N+1 points: sums of two coordinate steps, for off-diagonal curvature.
        let itemp = Math.floor((nfm - np) / n);
        jpt = nfm - itemp * n - n;
        ipt = jpt + itemp;
        if (ipt > n) {
          itemp = jpt;
          jpt = ipt - n;
          ipt = itemp;
        }
        xpt[nf - 1 + (ipt - 1) * npt] = xpt[ipt + (ipt - 1) * npt];
        xpt[nf - 1 + (jpt - 1) * npt] = xpt[jpt + (jpt - 1) * npt];
      }

      if (this.nf >= this.maxfun) return MAXFUN;
      const f = this.evalRow(nf - 1);
      fval[nf - 1] = f;
      if (nf === 1) {
        fbeg = f;
        this.kopt = 0;
      } else if (f < fval[this.kopt]) this.kopt = nf - 1;

      // The initial model: first and diagonal second derivatives from the coordinate steps,
      // off-diagonal ones from the paired steps.
      if (nf <= 2 * n + 1) {
        if (nf >= 2 && nf <= n + 1) {
          gopt[nfm - 1] = (f - fbeg) / stepa;
          if (npt < nf + n) {
            bmat[(nfm - 1) * ndim] = -1 / stepa;
            bmat[nf - 1 + (nfm - 1) * ndim] = 1 / stepa;
            bmat[npt + nfm - 1 + (nfm - 1) * ndim] = -0.5 * rhosq;
          }
        } else if (nf >= n + 2) {
          const c = nfx - 1;
          const ih = hqIndex(c, c);
          const temp = (f - fbeg) / stepb;
          const diff = stepb - stepa;
          hq[ih] = (2 * (temp - gopt[c])) / diff;
          gopt[c] = (gopt[c] * stepb - temp * stepa) / diff;
          // Keep the lower of the two values at the point nearer the middle, so that it
          // contributes to the off-diagonal terms.
          if (stepa * stepb < 0 && f < fval[nf - n - 1]) {
            fval[nf - 1] = fval[nf - n - 1];
            fval[nf - n - 1] = f;
            if (this.kopt === nf - 1) this.kopt = nf - n - 1;
            xpt[nf - n - 1 + c * npt] = stepb;
            xpt[nf - 1 + c * npt] = stepa;
          }
          bmat[c * ndim] = -(stepa + stepb) / (stepa * stepb);
          bmat[nf - 1 + c * ndim] = -0.5 / xpt[nf - n - 1 + c * npt];
          bmat[nf - n - 1 + c * ndim] = -bmat[c * ndim] - bmat[nf - 1 + c * ndim];
          zmat[c * npt] = Math.SQRT2 / (stepa * stepb);
          zmat[nf - 1 + c * npt] = Math.SQRT1_2 / rhosq;
          zmat[nf - n - 1 + c * npt] = -zmat[c * npt] - zmat[nf - 1 + c * npt];
        }
      } else {
        const c = nfx - 1;
        zmat[c * npt] = recip;
        zmat[nf - 1 + c * npt] = recip;
        zmat[ipt + c * npt] = -recip;
        zmat[jpt + c * npt] = -recip;
        const temp = xpt[nf - 1 + (ipt - 1) * npt] * xpt[nf - 1 + (jpt - 1) * npt];
        hq[hqIndex(jpt - 1, ipt - 1)] = (fbeg - fval[ipt] - fval[jpt] + f) / temp;
      }
    }
    return null;
  }

  // ---- RESCUE ---------------------------------------------------------------------------------

  /**
   * Rebuilds BMAT and ZMAT from scratch after rounding errors have damaged them. XBASE moves to
   * XOPT; the points are provisionally replaced by well-placed points along the coordinate
   * directions through XOPT (whose H matrix is known), and then the original points are
   * reinstated one by one, each displacing the provisional point that keeps the updating
   * denominator largest. Provisional points that survive are evaluated and enter the model.
   * Returns a termination if maxfun is reached.
   */
  private rescue(): Termination | null {
    const { n, npt, ndim, nptm, xpt, xopt, pq, zmat, bmat, hq, sl, su, xbase } = this;
    const np = n + 1;
    const sfrac = 0.5 / np;
    const w = this.w.subarray(ndim + n);
    const ptsaux = this.w.subarray(0, 2 * n);
    const ptsid = this.w.subarray(2 * n, 2 * n + npt);

    // Shift the points so that XOPT is the origin; W(NDIM+K) holds squared distances from it.
    let sumpq = 0;
    let winc = 0;
    for (let k = 0; k < npt; k++) {
      let distsq = 0;
      for (let j = 0; j < n; j++) {
        xpt[k + j * npt] -= xopt[j];
        distsq += xpt[k + j * npt] ** 2;
      }
      sumpq += pq[k];
      w[ndim + k] = distsq;
      winc = Math.max(winc, distsq);
      for (let j = 0; j < nptm; j++) zmat[k + j * npt] = 0;
    }
    // HQ so that HQ and PQ give the second derivatives about the new origin.
    let ih = 0;
    for (let j = 0; j < n; j++) {
      w[j] = 0.5 * sumpq * xopt[j];
      for (let k = 0; k < npt; k++) w[j] += pq[k] * xpt[k + j * npt];
      for (let i = 0; i <= j; i++, ih++) hq[ih] = hq[ih] + w[i] * xopt[j] + w[j] * xopt[i];
    }
    // Shift XBASE, SL, SU and XOPT; choose the provisional step lengths PTSAUX within the bounds.
    for (let j = 0; j < n; j++) {
      xbase[j] += xopt[j];
      sl[j] -= xopt[j];
      su[j] -= xopt[j];
      xopt[j] = 0;
      let p1 = Math.min(this.delta, su[j]);
      let p2 = Math.max(-this.delta, sl[j]);
      if (p1 + p2 < 0) [p1, p2] = [p2, p1];
      if (Math.abs(p2) < 0.5 * Math.abs(p1)) p2 = 0.5 * p1;
      ptsaux[2 * j] = p1;
      ptsaux[2 * j + 1] = p2;
      for (let i = 0; i < ndim; i++) bmat[i + j * ndim] = 0;
    }
    const fbase = this.fval[this.kopt];
    this.provisionalSystem(ptsaux, ptsid, sfrac);

    const done = this.reinstatePoints(ptsaux, ptsid, w, winc);
    if (done) return null;
    return this.evaluateProvisional(ptsaux, ptsid, fbase);
  }

  /**
   * The identifiers PTSID of the provisional points (p + q/(N+1) + SFRAC for the step
   * PTSAUX(.,p) e_p + PTSAUX(.,q) e_q) and the nonzero elements of their BMAT and ZMAT.
   */
  private provisionalSystem(ptsaux: Float64Array, ptsid: Float64Array, sfrac: number): void {
    const { n, npt, ndim, bmat, zmat } = this;
    const np = n + 1;
    ptsid[0] = sfrac;
    for (let j = 0; j < n; j++) {
      const jp = j + 1; // 0-based row of the step +PTSAUX(1,j) e_j
      const jpn = jp + n; // 0-based row of the step PTSAUX(2,j) e_j
      const p1 = ptsaux[2 * j];
      const p2 = ptsaux[2 * j + 1];
      ptsid[jp] = j + 1 + sfrac;
      if (jpn < npt) {
        ptsid[jpn] = (j + 1) / np + sfrac;
        const temp = 1 / (p1 - p2);
        bmat[jp + j * ndim] = -temp + 1 / p1;
        bmat[jpn + j * ndim] = temp + 1 / p2;
        bmat[j * ndim] = -bmat[jp + j * ndim] - bmat[jpn + j * ndim];
        zmat[j * npt] = Math.SQRT2 / Math.abs(p1 * p2);
        zmat[jp + j * npt] = zmat[j * npt] * p2 * temp;
        zmat[jpn + j * npt] = -zmat[j * npt] * p1 * temp;
      } else {
        bmat[j * ndim] = -1 / p1;
        bmat[jp + j * ndim] = 1 / p1;
        bmat[j + npt + j * ndim] = -0.5 * p1 * p1;
      }
    }
    if (npt >= 2 * n + 1) {
      for (let k = 2 * np; k <= npt; k++) {
        // k is Powell's 1-based point number.
        const iw = Math.floor((k - np - 0.5) / n);
        const ip = k - np - iw * n;
        let iq = ip + iw;
        if (iq > n) iq -= n;
        ptsid[k - 1] = ip + iq / np + sfrac;
        const temp = 1 / (ptsaux[2 * (ip - 1)] * ptsaux[2 * (iq - 1)]);
        const c = (k - np - 1) * npt;
        zmat[c] = temp;
        zmat[ip + c] = -temp;
        zmat[iq + c] = -temp;
        zmat[k - 1 + c] = temp;
      }
    }
  }

  /** Decodes PTSID into Powell's 1-based coordinates p and q (0 = none). */
  private static decode(id: number, np: number): [number, number] {
    const ip = Math.trunc(id);
    const iq = Math.trunc(np * id - ip * np);
    return [ip, iq];
  }

  /**
   * Labels 80-250 of RESCUE: swap original points back in place of provisional ones, nearest
   * to XOPT first, choosing the provisional point KOLD to drop by the largest denominator.
   * Returns true if every original point was reinstated (nothing left to evaluate).
   */
  private reinstatePoints(ptsaux: Float64Array, ptsid: Float64Array, w: Float64Array, winc: number): boolean {
    const { n, npt, ndim, nptm, bmat, zmat, vlag } = this;
    let nrem = npt;
    let kold = 0;
    let knew = this.kopt;
    for (;;) {
      // Exchange the roles of points KOLD and KNEW (label 80).
      for (let j = 0; j < n; j++) {
        const t = bmat[kold + j * ndim];
        bmat[kold + j * ndim] = bmat[knew + j * ndim];
        bmat[knew + j * ndim] = t;
      }
      for (let j = 0; j < nptm; j++) {
        const t = zmat[kold + j * npt];
        zmat[kold + j * npt] = zmat[knew + j * npt];
        zmat[knew + j * npt] = t;
      }
      ptsid[kold] = ptsid[knew];
      ptsid[knew] = 0;
      w[ndim + knew] = 0;
      nrem--;
      if (knew !== this.kopt) {
        const t = vlag[kold];
        vlag[kold] = vlag[knew];
        vlag[knew] = t;
        // Make the KNEW-th point original instead of provisional.
        update(n, npt, bmat, zmat, ndim, vlag, this.beta, this.denom, knew, w);
        if (nrem === 0) return true;
        for (let k = 0; k < npt; k++) w[ndim + k] = Math.abs(w[ndim + k]);
      }
      // Label 120: pick the next original point to reinstate and the provisional one to drop.
      const pick = this.pickReinstatement(ptsaux, ptsid, w, winc);
      if (pick === null) return false;
      [knew, kold] = pick;
    }
  }

  /**
   * Label 120 onwards: the nearest not-yet-tried original point KNEW and the provisional point
   * KOLD whose replacement gives the largest denominator. A KNEW with a poor denominator is put
   * to the back of the queue (its W entry made negative) and the next one tried. Returns null
   * when no original point is left to try.
   */
  private pickReinstatement(ptsaux: Float64Array, ptsid: Float64Array, w: Float64Array, winc: number): [number, number] | null {
    const { npt, ndim, nptm, zmat, vlag } = this;
    for (;;) {
      let dsqmin = 0;
      let knew = -1;
      for (let k = 0; k < npt; k++) {
        if (w[ndim + k] > 0 && (dsqmin === 0 || w[ndim + k] < dsqmin)) {
          knew = k;
          dsqmin = w[ndim + k];
        }
      }
      if (dsqmin === 0) return null;
      this.reinstatementVlagBeta(knew, ptsaux, ptsid, w);
      let denom = 0;
      let vlmxsq = 0;
      let kold = -1;
      for (let k = 0; k < npt; k++) {
        if (ptsid[k] !== 0) {
          let hdiag = 0;
          for (let j = 0; j < nptm; j++) hdiag += zmat[k + j * npt] ** 2;
          const den = this.beta * hdiag + vlag[k] ** 2;
          if (den > denom) {
            kold = k;
            denom = den;
          }
        }
        vlmxsq = Math.max(vlmxsq, vlag[k] ** 2);
      }
      if (denom <= 0.01 * vlmxsq) {
        w[ndim + knew] = -w[ndim + knew] - winc;
        continue;
      }
      this.denom = denom;
      return [knew, kold];
    }
  }

  /** VLAG and BETA for reinstating original point KNEW (the W vector of its position). */
  private reinstatementVlagBeta(knew: number, ptsaux: Float64Array, ptsid: Float64Array, w: Float64Array): void {
    const { n, npt, ndim, nptm, xpt, bmat, zmat, vlag } = this;
    const np = n + 1;
    for (let j = 0; j < n; j++) w[npt + j] = xpt[knew + j * npt];
    for (let k = 0; k < npt; k++) {
      let sum = 0;
      if (k === this.kopt) {
        // The origin: zero.
      } else if (ptsid[k] === 0) {
        for (let j = 0; j < n; j++) sum += w[npt + j] * xpt[k + j * npt];
      } else {
        const [ip, iq] = Bobyqb.decode(ptsid[k], np);
        if (ip > 0) sum = w[npt + ip - 1] * ptsaux[2 * (ip - 1)];
        if (iq > 0) sum += w[npt + iq - 1] * ptsaux[2 * (iq - 1) + (ip === 0 ? 1 : 0)];
      }
      w[k] = 0.5 * sum * sum;
    }
    for (let k = 0; k < npt; k++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += bmat[k + j * ndim] * w[npt + j];
      vlag[k] = sum;
    }
    let beta = 0;
    for (let j = 0; j < nptm; j++) {
      let sum = 0;
      for (let k = 0; k < npt; k++) sum += zmat[k + j * npt] * w[k];
      beta -= sum * sum;
      for (let k = 0; k < npt; k++) vlag[k] += sum * zmat[k + j * npt];
    }
    let bsum = 0;
    let distsq = 0;
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < npt; k++) sum += bmat[k + j * ndim] * w[k];
      const jp = j + npt;
      bsum += sum * w[jp];
      for (let ip = npt; ip < ndim; ip++) sum += bmat[ip + j * ndim] * w[ip];
      bsum += sum * w[jp];
      vlag[jp] = sum;
      distsq += xpt[knew + j * npt] ** 2;
    }
    this.beta = 0.5 * distsq * distsq + beta - bsum;
    vlag[this.kopt] += 1;
  }

  /**
   * Label 260 of RESCUE: the provisional points still in the set are moved into XPT, f is
   * evaluated there and the model is updated to interpolate it.
   */
  private evaluateProvisional(ptsaux: Float64Array, ptsid: Float64Array, fbase: number): Termination | null {
    const { n, npt, ndim, nptm, xpt, bmat, zmat, pq, hq, gopt, fval } = this;
    const np = n + 1;
    const w = this.row;
    for (let kpt = 0; kpt < npt; kpt++) {
      if (ptsid[kpt] === 0) continue;
      if (this.nf >= this.maxfun) return MAXFUN;
      // Move the implicit second derivative term of the old point into HQ.
      let ih = 0;
      for (let j = 0; j < n; j++) {
        w[j] = xpt[kpt + j * npt];
        xpt[kpt + j * npt] = 0;
        const temp = pq[kpt] * w[j];
        for (let i = 0; i <= j; i++) hq[ih++] += temp * w[i];
      }
      pq[kpt] = 0;
      const [ip, iq] = Bobyqb.decode(ptsid[kpt], np);
      let xp = 0;
      let xq = 0;
      if (ip > 0) {
        xp = ptsaux[2 * (ip - 1)];
        xpt[kpt + (ip - 1) * npt] = xp;
      }
      if (iq > 0) {
        xq = ptsaux[2 * (iq - 1) + (ip === 0 ? 1 : 0)];
        xpt[kpt + (iq - 1) * npt] = xq;
      }
      // The model's value at the new point.
      let vquad = fbase;
      if (ip > 0) vquad += xp * (gopt[ip - 1] + 0.5 * xp * hq[hqIndex(ip - 1, ip - 1)]);
      if (iq > 0) {
        vquad += xq * (gopt[iq - 1] + 0.5 * xq * hq[hqIndex(iq - 1, iq - 1)]);
        if (ip > 0) vquad += xp * xq * hq[hqIndex(Math.min(ip, iq) - 1, Math.max(ip, iq) - 1)];
      }
      for (let k = 0; k < npt; k++) {
        let temp = 0;
        if (ip > 0) temp += xp * xpt[k + (ip - 1) * npt];
        if (iq > 0) temp += xq * xpt[k + (iq - 1) * npt];
        vquad += 0.5 * pq[k] * temp * temp;
      }
      const f = this.evalRow(kpt);
      fval[kpt] = f;
      if (f < fval[this.kopt]) this.kopt = kpt;
      const diff = f - vquad;
      // Add DIFF times the KPT-th Lagrange function; the provisional points' second derivatives
      // are explicit (along their coordinate steps), the original points' implicit.
      for (let i = 0; i < n; i++) gopt[i] += diff * bmat[kpt + i * ndim];
      for (let k = 0; k < npt; k++) {
        let sum = 0;
        for (let j = 0; j < nptm; j++) sum += zmat[k + j * npt] * zmat[kpt + j * npt];
        const temp = diff * sum;
        if (ptsid[k] === 0) {
          pq[k] += temp;
          continue;
        }
        const [kp, kq] = Bobyqb.decode(ptsid[k], np);
        if (kp === 0) {
          hq[hqIndex(kq - 1, kq - 1)] += temp * ptsaux[2 * (kq - 1) + 1] ** 2;
        } else {
          hq[hqIndex(kp - 1, kp - 1)] += temp * ptsaux[2 * (kp - 1)] ** 2;
          if (kq > 0) {
            hq[hqIndex(kq - 1, kq - 1)] += temp * ptsaux[2 * (kq - 1)] ** 2;
            const lo = Math.min(kp, kq) - 1;
            const hi = Math.max(kp, kq) - 1;
            hq[hqIndex(lo, hi)] += temp * ptsaux[2 * (kp - 1)] * ptsaux[2 * (kq - 1)];
          }
        }
      }
      ptsid[kpt] = 0;
    }
    return null;
  }

  // ---- ALTMOV ---------------------------------------------------------------------------------

  /**
   * Two alternative positions for interpolation point KNEW within distance ADELT of XOPT and
   * inside the bounds, each making the KNEW-th Lagrange function large (hence the updating
   * denominator): XNEW on a line through XOPT and another point, and XALT a constrained Cauchy
   * step. Sets ALPHA (the KNEW-th diagonal element of H) and CAUCHY (the squared Lagrange
   * value at XALT, 0 if XALT was not computed).
   */
  private altmov(knew: number, adelt: number): void {
    const { n, npt, nptm, zmat, bmat, ndim, xpt, xopt, w } = this;
    const glag = w.subarray(0, n);
    const hcol = w.subarray(n, n + npt);
    // HCOL: the KNEW-th column of H's leading block; GLAG: the Lagrange gradient at XOPT.
    hcol.fill(0);
    for (let j = 0; j < nptm; j++) {
      const temp = zmat[knew + j * npt];
      for (let k = 0; k < npt; k++) hcol[k] += temp * zmat[k + j * npt];
    }
    this.alpha = hcol[knew];
    for (let i = 0; i < n; i++) glag[i] = bmat[knew + i * ndim];
    for (let k = 0; k < npt; k++) {
      let temp = 0;
      for (let j = 0; j < n; j++) temp += xpt[k + j * npt] * xopt[j];
      temp *= hcol[k];
      for (let i = 0; i < n; i++) glag[i] += temp * xpt[k + i * npt];
    }
    this.altmovLine(knew, adelt, glag);
    this.altmovCauchy(adelt, glag, hcol, w.subarray(ndim, ndim + 2 * n));
  }

  /** ALTMOV's search along the lines through XOPT and each other interpolation point for the largest predicted denominator. */
  private altmovLine(knew: number, adelt: number, glag: Float64Array): void {
    const { n, npt, xpt, xopt, sl, su, xnew } = this;
    const ha = 0.5 * this.alpha;
    let presav = 0;
    // Defaults give XNEW = XOPT if no line predicts a positive denominator (Powell's code
    // would then read an undefined KSAV).
    let ksav = this.kopt;
    let stpsav = 0;
    let ibdsav = 0;
    for (let k = 0; k < npt; k++) {
      if (k === this.kopt) continue;
      let dderiv = 0;
      let distsq = 0;
      for (let i = 0; i < n; i++) {
        const temp = xpt[k + i * npt] - xopt[i];
        dderiv += glag[i] * temp;
        distsq += temp * temp;
      }
      let subd = adelt / Math.sqrt(distsq);
      let slbd = -subd;
      let ilbd = 0; // ±(i+1): bound i limits the step, lower (-) or upper (+)
      let iubd = 0;
      const sumin = Math.min(1, subd);
      for (let i = 0; i < n; i++) {
        const temp = xpt[k + i * npt] - xopt[i];
        if (temp > 0) {
          if (slbd * temp < sl[i] - xopt[i]) {
            slbd = (sl[i] - xopt[i]) / temp;
            ilbd = -(i + 1);
          }
          if (subd * temp > su[i] - xopt[i]) {
            subd = Math.max(sumin, (su[i] - xopt[i]) / temp);
            iubd = i + 1;
          }
        } else if (temp < 0) {
          if (slbd * temp > su[i] - xopt[i]) {
            slbd = (su[i] - xopt[i]) / temp;
            ilbd = i + 1;
          }
          if (subd * temp < sl[i] - xopt[i]) {
            subd = Math.max(sumin, (sl[i] - xopt[i]) / temp);
            iubd = -(i + 1);
          }
        }
      }
      let step: number;
      let vlag: number;
      let isbd: number;
      if (k === knew) {
        // The line through KNEW itself: the Lagrange function is quadratic along it.
        const diff = dderiv - 1;
        step = slbd;
        vlag = slbd * (dderiv - slbd * diff);
        isbd = ilbd;
        let temp = subd * (dderiv - subd * diff);
        if (Math.abs(temp) > Math.abs(vlag)) {
          step = subd;
          vlag = temp;
          isbd = iubd;
        }
        const tempd = 0.5 * dderiv;
        const tempa = tempd - diff * slbd;
        const tempb = tempd - diff * subd;
        if (tempa * tempb < 0) {
          temp = (tempd * tempd) / diff;
          if (Math.abs(temp) > Math.abs(vlag)) {
            step = tempd / diff;
            vlag = temp;
            isbd = 0;
          }
        }
      } else {
        step = slbd;
        vlag = slbd * (1 - slbd);
        isbd = ilbd;
        const temp = subd * (1 - subd);
        if (Math.abs(temp) > Math.abs(vlag)) {
          step = subd;
          vlag = temp;
          isbd = iubd;
        }
        if (subd > 0.5 && Math.abs(vlag) < 0.25) {
          step = 0.5;
          vlag = 0.25;
          isbd = 0;
        }
        vlag *= dderiv;
      }
      const temp = step * (1 - step) * distsq;
      const predsq = vlag * vlag * (vlag * vlag + ha * temp * temp);
      if (predsq > presav) {
        presav = predsq;
        ksav = k;
        stpsav = step;
        ibdsav = isbd;
      }
    }
    // XNEW satisfies the bounds exactly, with the limiting bound (if any) hit exactly.
    for (let i = 0; i < n; i++) {
      const temp = xopt[i] + stpsav * (xpt[ksav + i * npt] - xopt[i]);
      xnew[i] = Math.max(sl[i], Math.min(su[i], temp));
    }
    if (ibdsav < 0) xnew[-ibdsav - 1] = sl[-ibdsav - 1];
    if (ibdsav > 0) xnew[ibdsav - 1] = su[ibdsav - 1];
  }

  /**
   * ALTMOV's constrained Cauchy steps: steepest ascent and descent of the KNEW-th Lagrange
   * function within the trust region and bounds (components that hit a bound are fixed there
   * and the remaining length shared by the free ones); XALT is the one with the larger |value|.
   */
  private altmovCauchy(adelt: number, glag: Float64Array, hcol: Float64Array, ww: Float64Array): void {
    const { n, npt, xpt, xopt, sl, su, xalt } = this;
    const constant = 1 + Math.SQRT2;
    const bigstp = adelt + adelt;
    let csave = 0;
    for (let iflag = 0; iflag < 2; iflag++) {
      let wfixsq = 0;
      let ggfree = 0;
      for (let i = 0; i < n; i++) {
        ww[i] = 0;
        const tempa = Math.min(xopt[i] - sl[i], glag[i]);
        const tempb = Math.max(xopt[i] - su[i], glag[i]);
        if (tempa > 0 || tempb < 0) {
          ww[i] = bigstp;
          ggfree += glag[i] * glag[i];
        }
      }
      if (ggfree === 0) {
        this.cauchy = 0;
        return;
      }
      // Fix the components that reach a bound before the trust-region boundary.
      let step = 0;
      for (;;) {
        const temp = adelt * adelt - wfixsq;
        if (!(temp > 0)) break;
        const wsqsav = wfixsq;
        step = Math.sqrt(temp / ggfree);
        ggfree = 0;
        for (let i = 0; i < n; i++) {
          if (ww[i] !== bigstp) continue;
          const t = xopt[i] - step * glag[i];
          if (t <= sl[i]) {
            ww[i] = sl[i] - xopt[i];
            wfixsq += ww[i] * ww[i];
          } else if (t >= su[i]) {
            ww[i] = su[i] - xopt[i];
            wfixsq += ww[i] * ww[i];
          } else ggfree += glag[i] * glag[i];
        }
        if (!(wfixsq > wsqsav && ggfree > 0)) break;
      }
      let gw = 0;
      for (let i = 0; i < n; i++) {
        if (ww[i] === bigstp) {
          ww[i] = -step * glag[i];
          xalt[i] = Math.max(sl[i], Math.min(su[i], xopt[i] + ww[i]));
        } else if (ww[i] === 0) xalt[i] = xopt[i];
        else if (glag[i] > 0) xalt[i] = sl[i];
        else xalt[i] = su[i];
        gw += glag[i] * ww[i];
      }
      // Curvature of the Lagrange function along W; scale W down if that increases |value|.
      let curv = 0;
      for (let k = 0; k < npt; k++) {
        let temp = 0;
        for (let j = 0; j < n; j++) temp += xpt[k + j * npt] * ww[j];
        curv += hcol[k] * temp * temp;
      }
      if (iflag === 1) curv = -curv;
      if (curv > -gw && curv < -constant * gw) {
        const scale = -gw / curv;
        for (let i = 0; i < n; i++) xalt[i] = Math.max(sl[i], Math.min(su[i], xopt[i] + scale * ww[i]));
        this.cauchy = (0.5 * gw * scale) ** 2;
      } else this.cauchy = (gw + 0.5 * curv) ** 2;
      if (iflag === 0) {
        // Repeat with -GLAG; keep the first XALT in the second half of WW.
        for (let i = 0; i < n; i++) {
          glag[i] = -glag[i];
          ww[n + i] = xalt[i];
        }
        csave = this.cauchy;
      }
    }
    if (csave > this.cauchy) {
      for (let i = 0; i < n; i++) xalt[i] = ww[n + i];
      this.cauchy = csave;
    }
  }

  // ---- TRSBOX ---------------------------------------------------------------------------------

  /** W's parts TRSBOX uses: GNEW, XBDI (-1/+1: fixed at the lower/upper bound), S, HS and HRED. */
  private trsboxWorkspace() {
    const { n, w } = this;
    return {
      gnew: w.subarray(0, n),
      xbdi: w.subarray(n, 2 * n),
      s: w.subarray(2 * n, 3 * n),
      hs: w.subarray(3 * n, 4 * n),
      hred: w.subarray(4 * n, 5 * n),
    };
  }

  /**
   * An approximate minimiser XNEW = XOPT + D of the quadratic model within the trust region of
   * radius DELTA and the bounds: truncated conjugate gradients, restarted with a variable fixed
   * whenever a bound is hit, then (once on the trust-region boundary) further changes in the
   * two-dimensional space of D and the gradient, rotating D around the boundary. Sets DSQ =
   * |D|^2 and CRVMIN (0 if the boundary was reached, otherwise the least curvature seen in
   * unconstrained CG steps, or -1 if there were none). W holds GNEW (the model gradient at
   * XNEW, used by the caller), XBDI, S, HS and HRED.
   */
  private trsbox(delta: number): void {
    const { n, xopt, gopt, sl, su, d } = this;
    const { gnew, xbdi, s, hs, hred } = (this.trsboxViews ??= this.trsboxWorkspace());

    // Variables at a bound with the gradient pointing outwards are fixed from the start.
    let nact = 0;
    for (let i = 0; i < n; i++) {
      xbdi[i] = 0;
      if (xopt[i] <= sl[i]) {
        if (gopt[i] >= 0) xbdi[i] = -1;
      } else if (xopt[i] >= su[i]) {
        if (gopt[i] <= 0) xbdi[i] = 1;
      }
      if (xbdi[i] !== 0) nact++;
      d[i] = 0;
      gnew[i] = gopt[i];
    }
    let iterc = 0;
    let delsq = delta * delta;
    let qred = 0;
    let crvmin = -1;
    let beta = 0;
    let stepsq = 0;
    let gredsq = 0;
    let ggsav = 0;
    let itermax = 0;
    let itcsav = 0;
    let iact = -1;
    let dredsq = 0;
    let dredg = 0;
    let sredg = 0;
    let angbd = 0;
    let xsav = 0;

    type Label = "L20" | "L30" | "L50" | "L90" | "L100" | "L120" | "L150";
    // Label 210 of Powell's code: HS = H*S, then continue where the caller's state says.
    const multiplyThenContinue = (): Label => {
      this.hessianTimes(s, hs);
      if (crvmin !== 0) return "L50";
      if (iterc > itcsav) return "L150";
      hred.set(hs);
      return "L120";
    };

    let label: Label = "L20";
    search: for (;;) {
      switch (label) {
        case "L20": // (re)start CG with steepest descent
          beta = 0;
          label = "L30";
          break;

        case "L30": {
          stepsq = 0;
          for (let i = 0; i < n; i++) {
            if (xbdi[i] !== 0) s[i] = 0;
            else if (beta === 0) s[i] = -gnew[i];
            else s[i] = beta * s[i] - gnew[i];
            stepsq += s[i] * s[i];
          }
          if (stepsq === 0) break search;
          if (beta === 0) {
            gredsq = stepsq;
            itermax = iterc + n - nact;
          }
          if (gredsq * delsq <= 1e-4 * qred * qred) break search;
          label = multiplyThenContinue();
          break;
        }

        case "L50": {
          // Step length along S: to the trust-region boundary (BLEN) or the model minimum,
          // reduced if a bound is hit first (IACT).
          let resid = delsq;
          let ds = 0;
          let shs = 0;
          for (let i = 0; i < n; i++) {
            if (xbdi[i] === 0) {
              resid -= d[i] * d[i];
              ds += s[i] * d[i];
              shs += s[i] * hs[i];
            }
          }
          if (resid <= 0) {
            label = "L90";
            break;
          }
          let temp = Math.sqrt(stepsq * resid + ds * ds);
          const blen = ds < 0 ? (temp - ds) / stepsq : resid / (temp + ds);
          let stplen = blen;
          if (shs > 0) stplen = Math.min(blen, gredsq / shs);
          iact = -1;
          for (let i = 0; i < n; i++) {
            if (s[i] !== 0) {
              const xsum = xopt[i] + d[i];
              temp = s[i] > 0 ? (su[i] - xsum) / s[i] : (sl[i] - xsum) / s[i];
              if (temp < stplen) {
                stplen = temp;
                iact = i;
              }
            }
          }
          let sdec = 0;
          if (stplen > 0) {
            iterc++;
            temp = shs / stepsq;
            if (iact === -1 && temp > 0) {
              crvmin = Math.min(crvmin, temp);
              if (crvmin === -1) crvmin = temp;
            }
            ggsav = gredsq;
            gredsq = 0;
            for (let i = 0; i < n; i++) {
              gnew[i] += stplen * hs[i];
              if (xbdi[i] === 0) gredsq += gnew[i] * gnew[i];
              d[i] += stplen * s[i];
            }
            sdec = Math.max(stplen * (ggsav - 0.5 * stplen * shs), 0);
            qred += sdec;
          }
          if (iact >= 0) {
            // A bound was hit: fix that variable and restart CG.
            nact++;
            xbdi[iact] = s[iact] < 0 ? -1 : 1;
            delsq -= d[iact] * d[iact];
            label = delsq <= 0 ? "L90" : "L20";
            break;
          }
          if (stplen < blen) {
            if (iterc === itermax || sdec <= 0.01 * qred) break search;
            beta = gredsq / ggsav;
            label = "L30";
            break;
          }
          label = "L90";
          break;
        }

        case "L90": // the trust-region boundary has been reached
          crvmin = 0;
          label = "L100";
          break;

        case "L100": {
          if (nact >= n - 1) break search;
          dredsq = 0;
          dredg = 0;
          gredsq = 0;
          for (let i = 0; i < n; i++) {
            if (xbdi[i] === 0) {
              dredsq += d[i] * d[i];
              dredg += d[i] * gnew[i];
              gredsq += gnew[i] * gnew[i];
              s[i] = d[i];
            } else s[i] = 0;
          }
          itcsav = iterc;
          label = multiplyThenContinue();
          break;
        }

        case "L120": {
          // S: the part of the reduced gradient orthogonal to the reduced D, scaled to |D|.
          iterc++;
          let temp = gredsq * dredsq - dredg * dredg;
          if (temp <= 1e-4 * qred * qred) break search;
          temp = Math.sqrt(temp);
          for (let i = 0; i < n; i++) s[i] = xbdi[i] === 0 ? (dredg * d[i] - dredsq * gnew[i]) / temp : 0;
          sredg = -temp;
          // ANGBD: bound on tan(half the rotation angle) from the simple bounds; a free
          // variable already at a bound is fixed and the iteration restarted.
          angbd = 1;
          iact = -1;
          let fixedOne = false;
          for (let i = 0; i < n; i++) {
            if (xbdi[i] !== 0) continue;
            const tempa = xopt[i] + d[i] - sl[i];
            const tempb = su[i] - xopt[i] - d[i];
            if (tempa <= 0 || tempb <= 0) {
              nact++;
              xbdi[i] = tempa <= 0 ? -1 : 1;
              fixedOne = true;
              break;
            }
            const ssq = d[i] * d[i] + s[i] * s[i];
            let t = ssq - (xopt[i] - sl[i]) ** 2;
            if (t > 0) {
              t = Math.sqrt(t) - s[i];
              if (angbd * t > tempa) {
                angbd = tempa / t;
                iact = i;
                xsav = -1;
              }
            }
            t = ssq - (su[i] - xopt[i]) ** 2;
            if (t > 0) {
              t = Math.sqrt(t) + s[i];
              if (angbd * t > tempb) {
                angbd = tempb / t;
                iact = i;
                xsav = 1;
              }
            }
          }
          label = fixedOne ? "L100" : multiplyThenContinue();
          break;
        }

        case "L150": {
          // Seek the greatest reduction of Q over equally spaced angles in [0, ANGBD], refined
          // by a quadratic fit through the best and its neighbours.
          let shs = 0;
          let dhs = 0;
          let dhd = 0;
          for (let i = 0; i < n; i++) {
            if (xbdi[i] === 0) {
              shs += s[i] * hs[i];
              dhs += d[i] * hs[i];
              dhd += d[i] * hred[i];
            }
          }
          let redmax = 0;
          let isav = 0;
          let redsav = 0;
          let rdprev = 0;
          let rdnext = 0;
          const iu = Math.trunc(angbd * 17 + 3.1);
          let angt = 0;
          for (let i = 1; i <= iu; i++) {
            angt = (angbd * i) / iu;
            const sth = (angt + angt) / (1 + angt * angt);
            const temp = shs + angt * (angt * dhd - dhs - dhs);
            const rednew = sth * (angt * dredg - sredg - 0.5 * sth * temp);
            if (rednew > redmax) {
              redmax = rednew;
              isav = i;
              rdprev = redsav;
            } else if (i === isav + 1) rdnext = rednew;
            redsav = rednew;
          }
          if (isav === 0) break search;
          if (isav < iu) {
            const temp = (rdnext - rdprev) / (redmax + redmax - rdprev - rdnext);
            angt = (angbd * (isav + 0.5 * temp)) / iu;
          }
          const cth = (1 - angt * angt) / (1 + angt * angt);
          const sth = (angt + angt) / (1 + angt * angt);
          const temp = shs + angt * (angt * dhd - dhs - dhs);
          const sdec = sth * (angt * dredg - sredg - 0.5 * sth * temp);
          if (sdec <= 0) break search;
          dredg = 0;
          gredsq = 0;
          for (let i = 0; i < n; i++) {
            gnew[i] = gnew[i] + (cth - 1) * hred[i] + sth * hs[i];
            if (xbdi[i] === 0) {
              d[i] = cth * d[i] + sth * s[i];
              dredg += d[i] * gnew[i];
              gredsq += gnew[i] * gnew[i];
            }
            hred[i] = cth * hred[i] + sth * hs[i];
          }
          qred += sdec;
          if (iact >= 0 && isav === iu) {
            nact++;
            xbdi[iact] = xsav;
            label = "L100";
            break;
          }
          if (sdec > 0.01 * qred) {
            label = "L120";
            break;
          }
          break search;
        }
      }
    }

    // Label 190: XNEW = XOPT + D, exactly on the bounds of the fixed variables.
    let dsq = 0;
    for (let i = 0; i < n; i++) {
      let v = Math.max(Math.min(xopt[i] + d[i], su[i]), sl[i]);
      if (xbdi[i] === -1) v = sl[i];
      if (xbdi[i] === 1) v = su[i];
      this.xnew[i] = v;
      d[i] = v - xopt[i];
      dsq += d[i] * d[i];
    }
    this.dsq = dsq;
    this.crvmin = crvmin;
  }

  /** HS = (explicit HQ + implicit sum of PQ(k) x_k x_k^T) * S. */
  private hessianTimes(s: Float64Array, hs: Float64Array): void {
    const { n, npt, hq, pq, xpt } = this;
    let ih = 0;
    for (let j = 0; j < n; j++) {
      hs[j] = 0;
      for (let i = 0; i <= j; i++) {
        if (i < j) hs[j] += hq[ih] * s[i];
        hs[i] += hq[ih] * s[j];
        ih++;
      }
    }
    for (let k = 0; k < npt; k++) {
      if (pq[k] === 0) continue;
      let temp = 0;
      for (let j = 0; j < n; j++) temp += xpt[k + j * npt] * s[j];
      temp *= pq[k];
      for (let i = 0; i < n; i++) hs[i] += temp * xpt[k + i * npt];
    }
  }
}

// ---- UPDATE ---------------------------------------------------------------------------------

/**
 * Powell's UPDATE: revise BMAT and ZMAT (the factored inverse H of the interpolation system) for
 * the move of interpolation point KNEW, given VLAG = H w for the new point (first NPT and last
 * N components), BETA and DENOM = ALPHA*BETA + TAU^2. Givens rotations first put zeros in the
 * KNEW-th row of ZMAT beyond its first column, so only that column changes. W is scratch (NDIM).
 */
function update(
  n: number,
  npt: number,
  bmat: Float64Array,
  zmat: Float64Array,
  ndim: number,
  vlag: Float64Array,
  beta: number,
  denom: number,
  knew: number,
  w: Float64Array,
): void {
  const nptm = npt - n - 1;
  // Elements of ZMAT below ZTEST are treated as zero.
  let ztest = 0;
  for (let k = 0; k < npt; k++) for (let j = 0; j < nptm; j++) ztest = Math.max(ztest, Math.abs(zmat[k + j * npt]));
  ztest *= 1e-20;
  for (let j = 1; j < nptm; j++) {
    if (Math.abs(zmat[knew + j * npt]) > ztest) {
      const a = zmat[knew];
      const b = zmat[knew + j * npt];
      const r = Math.sqrt(a * a + b * b);
      const tempa = a / r;
      const tempb = b / r;
      for (let i = 0; i < npt; i++) {
        const temp = tempa * zmat[i] + tempb * zmat[i + j * npt];
        zmat[i + j * npt] = tempa * zmat[i + j * npt] - tempb * zmat[i];
        zmat[i] = temp;
      }
    }
    zmat[knew + j * npt] = 0;
  }
  // W: the first NPT components of the KNEW-th column of H; then the updating parameters.
  for (let i = 0; i < npt; i++) w[i] = zmat[knew] * zmat[i];
  const alpha = w[knew];
  const tau = vlag[knew];
  vlag[knew] -= 1;
  const sqrtDenom = Math.sqrt(denom);
  const tempb = zmat[knew] / sqrtDenom;
  const tempa = tau / sqrtDenom;
  for (let i = 0; i < npt; i++) zmat[i] = tempa * zmat[i] - tempb * vlag[i];
  for (let j = 0; j < n; j++) {
    const jp = npt + j;
    w[jp] = bmat[knew + j * ndim];
    const ta = (alpha * vlag[jp] - tau * w[jp]) / denom;
    const tb = (-beta * w[jp] - tau * vlag[jp]) / denom;
    for (let i = 0; i <= jp; i++) {
      bmat[i + j * ndim] = bmat[i + j * ndim] + ta * vlag[i] + tb * w[i];
      // The last N rows of BMAT are symmetric.
      if (i >= npt) bmat[jp + (i - npt) * ndim] = bmat[i + j * ndim];
    }
  }
}
