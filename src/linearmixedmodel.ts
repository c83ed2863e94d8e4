// The linear mixed model: from a formula and data to the fitted model and its lme4-named results
// (Bates et al. 2015, JSS 67(1); lme4's lmer and MixedModels.jl's LinearMixedModel).

import { BlockedSystem, type Objectives, type ReBlock } from "./blocked.js";
import type { DataInput, Table } from "./data.js";
import { checkConvergence, SINGULAR_TOL } from "./convergence.js";
import { loadKernels, type EngineChoice } from "./engine.js";
import { parseFormula } from "./formula.js";
import type { ParsedFormula } from "./formula-types.js";
import type { Kernels } from "./kernels.js";
import { modelFrame, type FrameOptions, type ModelFrame, type ReTermData } from "./modelframe.js";
import { minimize, NLOPTWRAP_DEFAULTS, type OptimizerName } from "./optim/index.js";
import type { OptimOptions } from "./optim/bobyqa.js";
import type { FitJSON, RanefGroup, VarCorrRow, VarCorrTerm } from "./results-types.js";
import { formatSummary } from "./summary.js";
import { residualQuantiles } from "./distributions.js";
import { coefGroups, conditionalCovariances, groupCounts, orderTerms, ranefGroups, termCovariance, thetaNames, varCorrRows, varCorrTerms } from "./randomeffects.js";
import { predict, type PredictOptions } from "./predict.js";
import { confintProfile } from "./profile.js";
import { confintBoot } from "./bootstrap.js";
import { confintBootAsync } from "./bootstrap-parallel.js";
import { anovaType3, satterthwaite } from "./satterthwaite.js";
import { qnorm, Rng, randomSeed } from "./random.js";
import { glance, tidy, type Glance, type TidyOptions, type TidyRow } from "./tidy.js";
import { icc, r2Nakagawa, varPart, type ICC, type R2Nakagawa, type VarPart } from "./varpart.js";

export interface LmerOptions extends FrameOptions {
  /** REML (default) or maximum likelihood. */
  REML?: boolean;
  /** "bobyqa" (default, as lme4's nloptwrap) or "neldermead" (lme4's Nelder_Mead). */
  optimizer?: OptimizerName;
  /**
   * Kernel build: "auto" (the threads build where available, see engine.ts; else SIMD WebAssembly if
   * supported), "wasm-threads", "wasm-simd", "wasm-scalar" or "ts".
   */
  engine?: EngineChoice;
  /** Starting θ (lme4's order); default 1 on diagonals, 0 off them. */
  start?: number[];
  /** Maximum number of objective evaluations. */
  maxfun?: number;
  /** Optimizer settings (as lme4's optCtrl): rhobeg, rhoend, ftolAbs, ftolRel, xtolAbs, maxfun. */
  optCtrl?: OptimOptions;
  /** Name of the data set for the summary's "Data:" line. */
  dataName?: string;
  /**
   * Called after every objective evaluation of the optimizer with the count so far and the value
   * (for progress displays; a Web Worker can post it to the page). Throwing from it aborts the fit.
   */
  progress?: (info: { evaluations: number; objective: number }) => void;
}


/** Fits a linear mixed model as lme4's `lmer(formula, data, REML = TRUE)` does. */
export async function lmer(
  formula: string | ParsedFormula,
  data: DataInput | Table,
  options: LmerOptions = {},
): Promise<LinearMixedModel> {
  const kernels = await loadKernels(options.engine ?? "auto");
  return LinearMixedModel.fit(kernels, formula, data, options);
}

/** lme4's checks of the random-effects structure against the data (mkReTrms, checkNlevels, checkZdims). */
function checkIdentifiable(frame: ModelFrame, p: number): void {
  const n = frame.n;
  for (const t of frame.reTerms) {
    if (t.levels.length < 2) {
      throw new Error(`grouping factor '${t.group}' must have > 1 sampled level (it has ${t.levels.length}) in (${t.label})`);
    }
    if (t.levels.length >= n) {
      throw new Error(
        `number of levels of grouping factor '${t.group}' (${t.levels.length}) must be < number of observations (${n}): ` +
          `with a level per observation the random effect and the residual cannot be told apart`,
      );
    }
    const q = t.levels.length * t.names.length;
    if (t.names.length > 1 && q >= n) {
      throw new Error(
        `number of observations (${n}) <= number of random effects (${q}) for term (${t.label}); ` +
          `the random-effects parameters and the residual variance are probably unidentifiable`,
      );
    }
  }
  if (n <= p) {
    throw new Error(`fewer observations (${n}) than fixed effects (${p}): the model cannot be estimated`);
  }
}

/** The profiled criterion from the factor's pieces: ML deviance, or with REML the REML criterion. */
function criterion(o: Objectives, n: number, p: number, REML: boolean): number {
  if (REML) {
    const nr = n - p;
    return o.logdetZ + o.logdetX + nr * (1 + Math.log((2 * Math.PI * o.pwrss) / nr));
  }
  return o.logdetZ + n * (1 + Math.log((2 * Math.PI * o.pwrss) / n));
}

export class LinearMixedModel {
  readonly formula: ParsedFormula;
  readonly frame: ModelFrame;
  readonly REML: boolean;
  readonly optimizerName: OptimizerName;
  readonly engine: string;
  /** Terms in θ order (decreasing number of levels). */
  readonly reTerms: ReTermData[];
  private readonly system: BlockedSystem;
  /** The options of the fit (refit() and inference rebuild designs from them). */
  readonly options: LmerOptions;
  /** The kernels of this fit (profiles and refits build their systems on them). */
  readonly kernels: Kernels;
  /** The caller's data (never modified), kept for refit() and the type III hypotheses. */
  readonly data: DataInput | Table;

  // Set by fit():
  private thetaHat!: Float64Array;
  private fevals = 0;
  private objectiveValue = NaN;
  private betaHat!: Float64Array;
  private uHat!: Float64Array[];
  private covUnscaled!: Float64Array;
  private pwrss = NaN;
  private logdets!: Objectives;
  private convMessages: string[] = [];
  private optWarnings: string[] = [];
  private optCode = 0;
  private optMessage = "";
  private timeS = 0;
  /** Set by fitResponse(): the response and options refit() fits again after refitting the data. */
  private refitResponseOf: { y: Float64Array; opts: { start?: number[]; name?: string } } | null = null;

  /**
   * The model of `formula` on `data`, not fitted; with `response` (fitResponse), the model of another
   * response on the same design: the design's parts shared, the response's frame and system given.
   */
  private constructor(
    kernels: Kernels,
    formula: string | ParsedFormula,
    data: DataInput | Table,
    options: LmerOptions,
    response?: { design: LinearMixedModel; frame: ModelFrame; system: BlockedSystem },
  ) {
    this.options = options;
    this.kernels = kernels;
    this.data = data;
    if (response) {
      const d = response.design;
      this.formula = d.formula;
      this.frame = response.frame;
      this.REML = d.REML;
      this.optimizerName = d.optimizerName;
      this.reTerms = d.reTerms;
      this.system = response.system;
      this.engine = d.engine;
      return;
    }
    this.formula = typeof formula === "string" ? parseFormula(formula) : formula;
    if (this.formula.random.length === 0) {
      throw new Error(`no random effects terms specified in formula '${this.formula.source}': use a linear model, or add a term like (1 | group)`);
    }
    if (this.formula.response === null) throw new Error(`the formula '${this.formula.source}' has no response (left of ~)`);
    this.frame = modelFrame(this.formula, data, options);
    this.REML = options.REML ?? true;
    this.optimizerName = options.optimizer ?? "bobyqa";
    checkIdentifiable(this.frame, this.frame.xNames.length);
    this.reTerms = orderTerms(this.frame.reTerms);
    const blocks: ReBlock[] = this.reTerms.map((t) => ({ m: t.levels.length, k: t.names.length, refs: t.refs, Z: t.Z }));
    const y = this.frame.offset ? this.frame.y.map((v, i) => v - this.frame.offset![i]) : this.frame.y;
    this.system = new BlockedSystem(kernels, blocks, this.frame.X, this.frame.xNames.length, y);
    this.engine = kernels.name;
  }

  /** Builds the model and fits it (synchronously, with kernels already loaded). */
  static fit(kernels: Kernels, formula: string | ParsedFormula, data: DataInput | Table, options: LmerOptions = {}): LinearMixedModel {
    const t0 = performance.now();
    const m = new LinearMixedModel(kernels, formula, data, options);
    m.optimize();
    m.timeS = (performance.now() - t0) / 1000;
    return m;
  }

  /**
   * The same model fitted again with some options changed, as lme4's update() / refitML():
   * `m.refit({ REML: false })`.
   */
  refit(changes: Partial<LmerOptions> = {}): LinearMixedModel {
    const fresh = LinearMixedModel.fit(this.kernels, this.formula, this.data, { ...this.options, ...changes });
    // A fitResponse model: the original data's fit with the changes, then refitted to its response.
    const r = this.refitResponseOf;
    return r ? fresh.fitResponse(r.y, r.opts) : fresh;
  }

  /**
   * lme4's simulate(fit, nsim, seed): nsim responses drawn from the fitted model, each of length n
   * (the rows of the fit), on the response's scale (offset included).
   * Default (lme4's re.form = NA, use.u = FALSE): new random effects as well as new residuals,
   *   y* = Xβ̂ + offset + σ̂ (Z Λ(θ̂) u* + ε*),  u* ~ N(0, I_q), ε* ~ N(0, I_n),
   * i.e. b* ~ N(0, σ̂² Λ Λ'). With useREForm (lme4's re.form = NULL, use.u = TRUE) the random effects
   * are the fitted b̂: y* = fitted() + σ̂ ε*.
   * Random numbers: xoshiro256** seeded by `seed` (src/random.ts; none: a random seed), or the stream
   * `rng` continues (it overrides seed; bootMer draws one simulation at a time this way). Per simulation,
   * u* is drawn term by term in θ order, level by level (k values each), then ε* row by row, so
   * simulate(nsim, { seed }) gives the same responses as nsim calls simulate(1, { rng: new Rng(seed) }).
   */
  simulate(nsim = 1, opts: { seed?: number; useREForm?: boolean; rng?: Rng } = {}): Float64Array[] {
    if (!(Number.isInteger(nsim) && nsim >= 0)) throw new Error(`nsim must be a non-negative integer, got ${nsim}`);
    const rng = opts.rng ?? new Rng(opts.seed ?? randomSeed());
    const { n, p } = this;
    const sigma = this.sigma;
    let eta: Float64Array;
    if (opts.useREForm) {
      eta = this.fitted();
    } else {
      const X = this.frame.X, off = this.frame.offset;
      eta = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        let s = off ? off[r] : 0;
        for (let c = 0; c < p; c++) s += X[r * p + c] * this.betaHat[c];
        eta[r] = s;
      }
    }
    const lams = this.reTerms.map((_, t) => this.system.lambdaOf(this.thetaHat, t));
    const bs = opts.useREForm ? [] : this.reTerms.map((t) => new Float64Array(t.levels.length * t.names.length));
    const u = new Float64Array(Math.max(...this.reTerms.map((t) => t.names.length)));
    const out: Float64Array[] = [];
    for (let s = 0; s < nsim; s++) {
      const y = new Float64Array(n); // Z Λ u*, then the response
      bs.forEach((b, t) => {
        const term = this.reTerms[t];
        const k = term.names.length, m = term.levels.length, lam = lams[t], Z = term.Z, refs = term.refs;
        for (let j = 0; j < m; j++) {
          rng.fillNormal(u, 0, k);
          for (let a = 0; a < k; a++) {
            let v = 0;
            for (let c = 0; c <= a; c++) v += lam[a * k + c] * u[c];
            b[j * k + a] = v;
          }
        }
        for (let r = 0; r < n; r++) {
          const o = refs[r] * k;
          let v = 0;
          for (let c = 0; c < k; c++) v += Z[r * k + c] * b[o + c];
          y[r] += v;
        }
      });
      for (let r = 0; r < n; r++) y[r] = eta[r] + sigma * (y[r] + rng.normal());
      out.push(y);
    }
    return out;
  }

  /**
   * lme4's refit(fit, newresp): the model fitted again to the response y (one value per row of the fit,
   * on the response's scale with any offset included, as simulate() returns it), with the same design
   * and options. Only what depends on y is computed anew (A's y column in the blocked system, see
   * BlockedSystem.withResponse; the model frame, Z, X and the layout are shared), and the optimizer
   * starts at this fit's θ̂, as lme4's refit does. This model is not changed and stays usable.
   * The new model's frame.y is y; its `data` is still the original data (its response column is not y),
   * so its refit(changes) fits the original data with the changes and then refits that to y.
   */
  refitResponse(y: ArrayLike<number>): LinearMixedModel {
    return this.fitResponse(y, { start: Array.from(this.thetaHat), name: "newresp" });
  }

  /**
   * The model's design fitted to the response y (one value per row of this model's frame, on the
   * response's scale, offset included): only A's y column is computed anew (BlockedSystem.withResponse),
   * the optimizer starts at `start` (default: lme4's start, as a fresh lmer() fit of y would).
   * This model is not changed; it need not be fitted itself (see LinearMixedModel.design).
   * Many-response fits (fitMany) call this once per response.
   */
  fitResponse(y: ArrayLike<number>, opts: { start?: number[]; name?: string } = {}): LinearMixedModel {
    const time0 = performance.now();
    const what = opts.name ?? "the response";
    if (y.length !== this.n) throw new Error(`${what} has ${y.length} values but the model has ${this.n} observations`);
    const yy = y instanceof Float64Array ? y.slice() : Float64Array.from(y);
    for (let i = 0; i < yy.length; i++) {
      if (!Number.isFinite(yy[i])) throw new Error(`${what}[${i}] is ${yy[i]}: the response must be finite at every row of the fit`);
    }
    return this.fitResponseAs(yy, opts, time0);
  }

  /** fitResponse() with y checked and the model's own (fitSharedResponse: fitMany's, not copied). */
  private fitResponseAs(yy: Float64Array, opts: { start?: number[]; name?: string }, time0: number): LinearMixedModel {
    const off = this.frame.offset;
    const yAdj = off ? yy.map((v, i) => v - off[i]) : yy;
    // A new model sharing the design, with the response's own frame and system; optimize() and
    // setEstimates() set every fit result. It optimises from opts.start, then keeps this one's options.
    const m = new LinearMixedModel(this.kernels, this.formula, this.data, { ...this.options, start: opts.start }, {
      design: this,
      frame: { ...this.frame, y: yy },
      system: this.system.withResponse(yAdj),
    });
    try {
      m.optimize();
    } finally {
      (m as unknown as { options: LmerOptions }).options = this.options;
    }
    m.timeS = (performance.now() - time0) / 1000;
    m.refitResponseOf = { y: yy, opts };
    return m;
  }

  /**
   * The model's design (frame, Z, X, the blocked layout and A's design part) without a fit, for
   * fitting many responses with fitResponse. Its own results are not available (it has not been fitted).
   */
  static design(kernels: Kernels, formula: string | ParsedFormula, data: DataInput | Table, options: LmerOptions = {}): LinearMixedModel {
    return new LinearMixedModel(kernels, formula, data, options);
  }

  /** The blocked system of the current fit (for inference code that works on A's parts). */
  get blockedSystem(): BlockedSystem {
    return this.system;
  }

  get n(): number {
    return this.frame.n;
  }

  /** The data set's name for printed output (the dataName option), if given. */
  get dataName(): string | undefined {
    return this.options.dataName;
  }

  get p(): number {
    return this.frame.xNames.length;
  }

  /**
   * The profiled deviance (ML, JSS eq. 34) or REML criterion (eq. 41) at θ:
   *   ML:   log|L_Z|² + n (1 + log(2π r² / n))
   *   REML: log|L_Z|² + log|L_X|² + (n − p)(1 + log(2π r² / (n − p)))
   */
  objective(theta: ArrayLike<number>, REML = this.REML): number {
    const o = this.system.update(theta);
    if (!o) return Infinity;
    return criterion(o, this.n, this.p, REML);
  }

  private optimize(): void {
    const lower = this.system.thetaLowerBounds();
    const upper = lower.map(() => Infinity);
    const start = this.options.start ?? this.system.thetaStart();
    if (start.length !== lower.length) {
      throw new Error(`start has ${start.length} values but θ has ${lower.length} (${this.thetaNames().join(", ")})`);
    }
    for (let i = 0; i < start.length; i++) {
      if (!(start[i] >= lower[i])) throw new Error(`start[${i}] (${this.thetaNames()[i]}) = ${start[i]} is below its lower bound ${lower[i]}`);
    }
    const evals = new ObjectiveEvaluations(this.system, this.n, this.p, this.REML, start);
    const progress = this.options.progress;
    let evaluations = 0;
    const f = progress
      ? (th: Float64Array) => {
          const v = evals.at(th);
          progress({ evaluations: ++evaluations, objective: v });
          return v;
        }
      : (th: Float64Array) => evals.at(th);
    // A response the fixed effects fit exactly (a constant, an all-zero gene) leaves no residual
    // variance: lme4 then "fits" σ̂ ≈ 1e-16 with huge t statistics; an error is the honest answer.
    // Exactly: r² = 0; in rounding: r² comes from y'y minus the fitted part's square (the Cholesky
    // downdate of A's y row), so below ~1000 rounding units of y'y it is zero to working precision.
    const o0 = evals.first;
    const f0 = progress ? f(Float64Array.from(start)) : evals.firstValue; // the progress display counts it
    if (!Number.isFinite(f0) || (o0 !== null && o0.pwrss <= 1000 * Number.EPSILON * this.system.responseSumOfSquares())) {
      throw new Error(
        `the response '${this.frame.responseName}' is fitted exactly by the fixed effects (residual sum of squares 0): ` +
          `there is no residual variance to estimate`,
      );
    }
    const defaults = this.optimizerName === "bobyqa" ? NLOPTWRAP_DEFAULTS : {};
    const res = minimize(this.optimizerName, f, start, lower, upper, { ...defaults, maxfun: this.options.maxfun, ...this.options.optCtrl });
    let theta = Float64Array.from(res.x);
    let fmin = res.f;
    this.fevals = res.feval;
    // As MixedModels.jl: diagonal elements that ended just above their bound of 0 are tried at 0.
    const zeroed = theta.map((v, i) => (lower[i] === 0 && v > 0 && v < 1e-3 ? 0 : v));
    if (zeroed.some((v, i) => v !== theta[i])) {
      const fz = f(zeroed);
      this.fevals++;
      if (fz <= fmin + 1e-5) {
        theta = zeroed;
        fmin = fz;
      }
    }
    if (!Number.isFinite(fmin)) {
      throw new Error("the optimizer found no θ with a finite objective: check the data for constant or perfectly fitted responses");
    }
    // lme4's optwrap: NLopt codes < 0 and 5 (maxeval) are failures, reported as a warning.
    this.optCode = res.code < 0 || res.code === 5 ? res.code : 0;
    this.optMessage = res.message;
    if (this.optCode !== 0) this.optWarnings.push(`convergence code ${this.optCode} from ${this.optimizerName}: ${res.message}`);
    this.thetaHat = theta;
    this.objectiveValue = fmin;
    this.convMessages.push(...checkConvergence(f, theta, fmin, lower));
    // The derivative probes may have moved L away from θ̂: factored anew unless the last evaluation was at θ̂.
    this.setEstimates(theta, evals.lastAt(theta));
  }

  /**
   * Moves the model to θ (no optimisation): every result (β̂, σ̂, b̂, the objective, ...) is then the
   * one at θ, as MixedModels.jl's setθ! + updateL!. Used for comparisons and profiles.
   */
  setTheta(theta: ArrayLike<number>): this {
    const lower = this.system.thetaLowerBounds();
    if (theta.length !== lower.length) throw new Error(`θ has ${lower.length} elements (${this.thetaNames().join(", ")}), got ${theta.length}`);
    for (let i = 0; i < lower.length; i++) {
      if (!(theta[i] >= lower[i])) throw new Error(`θ[${i}] (${this.thetaNames()[i]}) = ${theta[i]} is below its lower bound ${lower[i]}`);
    }
    this.thetaHat = Float64Array.from(theta);
    this.setEstimates(theta);
    return this;
  }

  /**
   * The pieces of the deviance at θ with lme4's names (lme4's devcomp$cmp): ldL2 = log|L_Z|²,
   * ldRX2 = log|R_X|², pwrss = r², and (R_X'R_X)⁻¹ (Cov(β̂) = σ² times it). The fit's results are
   * unchanged (they are kept apart from the factor, which is scratch space).
   * Inference on the variance parameters (lmerTest's deviance in (θ, σ)) builds on these.
   */
  devcomp(theta: ArrayLike<number>): { ldL2: number; ldRX2: number; pwrss: number; covBetaUnscaled: number[][] } | null {
    const o = this.system.update(theta);
    if (!o) return null;
    const V = this.system.covBetaUnscaled();
    const p = this.p;
    const rows: number[][] = [];
    for (let i = 0; i < p; i++) {
      const row = new Array<number>(p);
      for (let j = 0; j < p; j++) row[j] = V[i * p + j];
      rows.push(row);
    }
    return { ldL2: o.logdetZ, ldRX2: o.logdetX, pwrss: o.pwrss, covBetaUnscaled: rows };
  }

  /**
   * Updates L at θ and extracts β̂, u, r² and (L_X L_X')⁻¹ from it; `current` is the update's result
   * when L is at θ already (the optimizer's last evaluation was there).
   */
  private setEstimates(theta: ArrayLike<number>, current: Objectives | null = null): void {
    const o = current ?? this.system.update(theta);
    if (!o) throw new Error("internal: the factor at the optimum is not positive definite");
    this.logdets = o;
    this.pwrss = o.pwrss;
    const s = this.system.solve();
    this.betaHat = s.beta;
    this.uHat = s.u;
    this.covUnscaled = s.covBetaUnscaled;
    this.objectiveValue = criterion(o, this.n, this.p, this.REML);
  }

  // ---------------------------------------------------------------------------------------------
  // Results, named as in lme4
  // ---------------------------------------------------------------------------------------------

  /** θ̂ in lme4's order. */
  get theta(): number[] {
    const t = this.thetaHat;
    const out = new Array<number>(t.length);
    for (let i = 0; i < t.length; i++) out[i] = t[i];
    return out;
  }

  /** lme4's names of θ: "Subject.(Intercept)", "Subject.Days.(Intercept)", "Subject.Days". */
  thetaNames(): string[] {
    return thetaNames(this.reTerms);
  }

  /** σ̂: sqrt(r²/n) for ML, sqrt(r²/(n − p)) for REML. */
  get sigma(): number {
    return Math.sqrt(this.pwrss / (this.REML ? this.n - this.p : this.n));
  }

  fixef(): Record<string, number> {
    const names = this.frame.xNames;
    const out: Record<string, number> = {};
    for (let i = 0; i < names.length; i++) out[names[i]] = this.betaHat[i];
    return out;
  }

  /** Cov(β̂) = σ̂² (L_X L_X')⁻¹. */
  vcov(): number[][] {
    const p = this.p, s2 = this.sigma ** 2;
    const out: number[][] = [];
    for (let i = 0; i < p; i++) {
      const row = new Array<number>(p);
      for (let j = 0; j < p; j++) row[j] = s2 * this.covUnscaled[i * p + j];
      out.push(row);
    }
    return out;
  }

  /** Standard errors of the fixed effects: the square roots of vcov()'s diagonal. */
  se(): Record<string, number> {
    const names = this.frame.xNames, p = this.p, s2 = this.sigma ** 2;
    const out: Record<string, number> = {};
    for (let i = 0; i < p; i++) out[names[i]] = Math.sqrt(s2 * this.covUnscaled[i * p + i]);
    return out;
  }

  /** Random effects b = Λ u of term t (in θ order): levels × k, row-major. */
  private bOf(t: number): Float64Array {
    const lam = this.system.lambdaOf(this.thetaHat, t);
    const k = this.reTerms[t].names.length, m = this.reTerms[t].levels.length;
    const u = this.uHat[t];
    const b = new Float64Array(m * k);
    for (let j = 0; j < m; j++) {
      for (let r = 0; r < k; r++) {
        let s = 0;
        for (let c = 0; c <= r; c++) s += lam[r * k + c] * u[j * k + c];
        b[j * k + r] = s;
      }
    }
    return b;
  }

  /**
   * Conditional modes per grouping factor (terms on the same factor side by side), as lme4's ranef();
   * with condVar, also their conditional standard deviations (lme4's ranef(condVar = TRUE)).
   */
  ranef(opts: { condVar?: boolean } = {}): Record<string, RanefGroup> {
    return ranefGroups(this.reTerms, this.ranefByTerm(), opts.condVar ? this.condVar() : null);
  }

  /**
   * Conditional covariance of b for every level of every term (θ order): σ² λ (Λ'Z'ZΛ + I)⁻¹_jj λ',
   * an m × k × k array per term, as lme4's condVar (β̂ taken as known).
   */
  condVar(): Float64Array[] {
    this.system.update(this.thetaHat);
    const blocks = this.system.condVarBlocks();
    const s2 = this.sigma ** 2;
    return blocks.map((M, t) => conditionalCovariances(M, this.system.lambdaOf(this.thetaHat, t), this.reTerms[t].names.length, s2));
  }

  /**
   * Each level's own coefficients: the fixed effects plus that level's random effects (lme4's coef()),
   * e.g. each patient's intercept and slope.
   */
  coef(): Record<string, RanefGroup> {
    return coefGroups(this.fixef(), this.ranef());
  }

  /**
   * Confidence intervals (lme4's confint): "Wald" (default here; β̂ ± z_{(1+level)/2} se, fixed effects
   * only), "profile" (likelihood profile of every parameter, profile.ts) or "boot" (parametric
   * bootstrap percentile intervals, bootstrap.ts; nsim default 500, seed for reproducibility).
   */
  confint(
    opts: { level?: number; method?: "Wald" | "profile" | "boot"; nsim?: number; seed?: number; onProgress?: (done: number, total: number) => void } = {},
  ): { term: string; lower: number; upper: number }[] {
    const level = opts.level ?? 0.95;
    if (!(level > 0 && level < 1)) throw new Error(`level must be between 0 and 1, got ${level}`);
    if (opts.method === "profile") return confintProfile(this, { level });
    if (opts.method === "boot") return confintBoot(this, { level, nsim: opts.nsim, seed: opts.seed, onProgress: opts.onProgress });
    if (opts.method !== undefined && opts.method !== "Wald") {
      throw new Error(`confint method '${opts.method}' is not available: use "Wald", "profile" or "boot"`);
    }
    const z = qnorm((1 + level) / 2);
    const se = this.se();
    return Object.entries(this.fixef()).map(([term, b]) => ({ term, lower: b - z * se[term], upper: b + z * se[term] }));
  }

  /**
   * confint() with the bootstrap's refits on fitMany's workers (bootstrap-parallel.ts): for method
   * "boot" the intervals of confint({ method: "boot" }) with the same seed, for any `threads` (default
   * all cores; 1: this thread); the other methods as confint().
   */
  async confintAsync(
    opts: Parameters<LinearMixedModel["confint"]>[0] & { threads?: number } = {},
  ): Promise<{ term: string; lower: number; upper: number }[]> {
    if (opts.method !== "boot") return this.confint(opts);
    const level = opts.level ?? 0.95;
    if (!(level > 0 && level < 1)) throw new Error(`level must be between 0 and 1, got ${level}`);
    return confintBootAsync(this, { level, nsim: opts.nsim, seed: opts.seed, onProgress: opts.onProgress, threads: opts.threads });
  }

  /** b̂ per random-effects term in θ order (this.reTerms): levels × k, row-major. */
  ranefByTerm(): Float64Array[] {
    return this.reTerms.map((_, t) => this.bOf(t));
  }

  /** Predictions for newdata (or the training rows), lme4's predict(): see predict.ts. */
  predict(newdata?: DataInput | Table, opts?: PredictOptions): Float64Array {
    return predict(this, newdata, opts);
  }

  /** broom.mixed's tidy table (see tidy.ts). */
  tidy(opts?: TidyOptions): TidyRow[] {
    return tidy(this, opts);
  }

  /** broom.mixed's one-row model summary. */
  glance(): Glance {
    return glance(this);
  }

  /** Intraclass correlations (performance::icc). */
  icc(): ICC {
    return icc(this);
  }

  /** Nakagawa's marginal and conditional R². */
  r2(): R2Nakagawa {
    return r2Nakagawa(this);
  }

  /** Fractions of variance per random term, fixed-effect term and residual (variancePartition). */
  varPart(): VarPart {
    return varPart(this);
  }

  /** Σ_t = σ² λ_t λ_t' per term, as sd and correlation. */
  VarCorr(): Record<string, VarCorrTerm> {
    const out = varCorrTerms(this.reTerms, this.reTerms.map((_, t) => this.covarianceOf(t)));
    out.Residual = { names: ["(residual)"], sd: [this.sigma], corr: null };
    return out;
  }

  private covarianceOf(t: number): Float64Array {
    return termCovariance(this.system.lambdaOf(this.thetaHat, t), this.reTerms[t].names.length, this.sigma ** 2);
  }

  /** Rows of as.data.frame(VarCorr(fit)): variances, then covariances per term, then the residual. */
  varcorrRows(): VarCorrRow[] {
    const rows = varCorrRows(this.reTerms, this.reTerms.map((_, t) => this.covarianceOf(t)));
    rows.push({ grp: "Residual", var1: null, var2: null, vcov: this.sigma ** 2, sdcor: this.sigma });
    return rows;
  }

  /** Xβ̂ + Zb̂ (+ offset) on the rows used by the fit. */
  fitted(): Float64Array {
    const { n, p } = this;
    const X = this.frame.X;
    const out = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let s = this.frame.offset ? this.frame.offset[r] : 0;
      for (let c = 0; c < p; c++) s += X[r * p + c] * this.betaHat[c];
      out[r] = s;
    }
    this.reTerms.forEach((t, ti) => {
      const b = this.bOf(ti);
      const k = t.names.length;
      for (let r = 0; r < n; r++) {
        const j = t.refs[r];
        for (let c = 0; c < k; c++) out[r] += t.Z[r * k + c] * b[j * k + c];
      }
    });
    return out;
  }

  residuals(): Float64Array {
    const f = this.fitted();
    return this.frame.y.map((v, i) => v - f[i]);
  }

  nobs(): number {
    return this.n;
  }

  /** Levels per grouping factor. */
  ngrps(): Record<string, number> {
    return groupCounts(this.reTerms);
  }

  /** Number of parameters: θ, β and σ. */
  npar(): number {
    return this.theta.length + this.p + 1;
  }

  dfResidual(): number {
    return this.n - this.npar();
  }

  isSingular(): boolean {
    const lower = this.system.thetaLowerBounds();
    return this.thetaHat.some((v, i) => lower[i] === 0 && v < SINGULAR_TOL);
  }

  /** The value the fit minimised: the REML criterion or the ML deviance. */
  get objectiveAtOptimum(): number {
    return this.objectiveValue;
  }

  /** lme4's REMLcrit(): the REML criterion at θ̂, whichever criterion was fitted. */
  REMLcrit(): number {
    return criterion(this.logdets, this.n, this.p, true);
  }

  /** lme4's deviance(fit, REML = FALSE): −2 log L_ML at θ̂ (σ profiled at r²/n). */
  deviance(): number {
    return criterion(this.logdets, this.n, this.p, false);
  }

  /** log L (the REML log-likelihood for REML fits, as lme4's logLik()). */
  logLik(): number {
    return -this.objectiveValue / 2;
  }

  AIC(): number {
    return this.objectiveValue + 2 * this.npar();
  }

  BIC(): number {
    return this.objectiveValue + this.npar() * Math.log(this.n);
  }

  get feval(): number {
    return this.fevals;
  }

  /** Everything the user must know about the fit: convergence, singularity, dropped rows and columns. */
  /** The optimizer's and lme4's checkConv messages only (the singular-fit message among them). */
  get convergenceWarnings(): string[] {
    return [...this.optWarnings, ...this.convMessages];
  }

  get warnings(): string[] {
    const w = [...this.frame.warnings, ...this.optWarnings, ...this.convMessages];
    if (this.frame.nDropped > 0) {
      w.push(`${this.frame.nDropped} row${this.frame.nDropped === 1 ? "" : "s"} with missing values dropped (na.omit)`);
    }
    return w;
  }

  private scaledResidualQuantiles(): FitJSON["scaled_residuals"] {
    const s = this.sigma;
    return residualQuantiles(this.residuals().map((v) => v / s));
  }

  /** The structured result, with the field names of the lme4 reference fits. */
  /** The structured result, with the field names of the lme4 reference fits, plus inference extensions. */
  toJSON(): FitJSON {
    const satt = satterthwaite(this);
    const r2 = r2Nakagawa(this);
    const iccs = icc(this);
    return {
      ...this.coreJSON({ condVar: true, ddf: "Satterthwaite" }),
      satterthwaite: satt,
      anova_type3: anovaType3(this),
      tidy: tidy(this, { effects: ["fixed", "ran_pars"], confInt: true }, { satterthwaite: satt }),
      glance: glance(this),
      r2_nakagawa: { marginal: r2.marginal, conditional: r2.conditional },
      icc: { adjusted: iccs.adjusted, unadjusted: iccs.unadjusted, by_group: iccs.byGroup },
      varpart: varPart(this).fractions,
    };
  }

  /**
   * The fields every consumer needs; conditional variances (an O(q³) inverse for large crossed
   * designs) and the Satterthwaite tests (dozens of factorisations) only when asked for.
   */
  private coreJSON(opts: { condVar: boolean; ddf: "Satterthwaite" | "none" }): FitJSON {
    const obj = this.objectiveValue;
    const fitted = this.fitted();
    return {
      call: "lmer",
      formula: this.formula.source,
      family: "gaussian",
      link: "identity",
      REML: this.REML,
      nobs: this.n,
      n: this.n,
      n_dropped: this.frame.nDropped,
      ngrps: this.ngrps(),
      fixef: this.fixef(),
      se: this.se(),
      vcov: this.vcov(),
      dropped_columns: [...this.frame.droppedColumns],
      theta: this.theta,
      theta_names: this.thetaNames(),
      sigma: this.sigma,
      varcorr: this.varcorrRows(),
      VarCorr: this.VarCorr(),
      contrasts: this.frame.contrasts,
      objective: obj,
      REMLcrit: this.REMLcrit(),
      deviance_ML: this.deviance(),
      deviance: this.deviance(),
      minus2logLik: obj,
      logLik: this.logLik(),
      npar: this.npar(),
      AIC: this.AIC(),
      BIC: this.BIC(),
      df_residual: this.dfResidual(),
      ranef: this.ranef({ condVar: opts.condVar }),
      fitted_head: Array.from(fitted.subarray(0, 20)),
      scaled_residuals: this.scaledResidualQuantiles(),
      singular: this.isSingular(),
      optimizer: this.optimizerName,
      feval: this.fevals,
      optimizer_code: this.optCode,
      optimizer_message: this.optMessage,
      conv_messages: [...this.convMessages],
      warnings: this.warnings,
      ...(opts.ddf === "Satterthwaite" ? { satterthwaite: satterthwaite(this) } : {}),
      engine: this.engine,
      time_s: this.timeS,
    };
  }

  /**
   * The printed summary: lmerTest's summary(lmer(...)) layout, with Satterthwaite df and p-values, or
   * with ddf "none" lme4's own.
   */
  summary(opts: { dataName?: string; correlation?: boolean; ddf?: "Satterthwaite" | "none" } = {}): string {
    const ddf = opts.ddf ?? "Satterthwaite";
    const fit = this.coreJSON({ condVar: false, ddf });
    return formatSummary(fit, { dataName: opts.dataName ?? this.options.dataName, correlation: opts.correlation, ddf });
  }
}

/**
 * The objective evaluations of one optimisation: update(θ) and the criterion, and what lets the fit
 * skip a factorisation without changing any number (L is a function of A and θ only): the start's
 * update, made first (the exact-fit check needs its r²), answers the optimizer's first evaluation
 * when that is at the start; the last evaluation's update answers setEstimates() when it was at θ̂.
 */
class ObjectiveEvaluations {
  /** The update at the start (null: not positive definite). */
  readonly first: Objectives | null;
  readonly firstValue: number;
  private startUnused = true;
  private readonly last: Float64Array;
  private lastObjectives: Objectives | null = null;

  constructor(
    private readonly system: BlockedSystem,
    private readonly n: number,
    private readonly p: number,
    private readonly REML: boolean,
    private readonly start: ArrayLike<number>,
  ) {
    this.first = system.update(start);
    this.firstValue = this.first ? criterion(this.first, n, p, REML) : Infinity;
    this.last = Float64Array.from(start);
    this.lastObjectives = this.first;
  }

  /** The objective at θ (Infinity where L(θ) is not positive definite), as LinearMixedModel.objective(θ). */
  at(theta: ArrayLike<number>): number {
    if (this.startUnused && sameTheta(theta, this.start)) {
      this.startUnused = false;
      if (sameTheta(this.last, this.start)) return this.firstValue; // L is still at the start
    }
    const o = this.system.update(theta);
    this.last.set(theta);
    this.lastObjectives = o;
    return o ? criterion(o, this.n, this.p, this.REML) : Infinity;
  }

  /** The update at θ when L is there now (the last evaluation was at θ), else null. */
  lastAt(theta: ArrayLike<number>): Objectives | null {
    return this.lastObjectives !== null && sameTheta(this.last, theta) ? this.lastObjectives : null;
  }
}

function sameTheta(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return a.length === b.length;
}

/**
 * fitMany's fitResponse (not part of the public API): y becomes the model's response as it is,
 * neither copied nor checked, as the caller has checked every value finite and leaves y unchanged
 * while it uses the model. Its result is fitResponse(y, { start })'s.
 */
export function fitSharedResponse(design: LinearMixedModel, y: Float64Array, start: number[] | undefined): LinearMixedModel {
  const time0 = performance.now();
  if (y.length !== design.n) throw new Error(`the response has ${y.length} values but the model has ${design.n} observations`);
  return (design as unknown as { fitResponseAs: (y: Float64Array, opts: { start?: number[] }, time0: number) => LinearMixedModel }).fitResponseAs(y, { start }, time0);
}
