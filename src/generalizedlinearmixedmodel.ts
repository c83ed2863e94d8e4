// The generalized linear mixed model: lme4's glmer (Bates et al. 2015, JSS 67(1); lme4's
// mkGlmerDevfun / optimizeGlmer) and MixedModels.jl's GeneralizedLinearMixedModel.
//
// Given θ and β, PIRLS (pirls.ts) finds the conditional modes ũ, and the Laplace approximation
// (nAGQ = 1) or adaptive Gauss-Hermite quadrature (nAGQ > 1, one scalar term; aghq.ts) gives
// −2 log L(θ, β). The fit is lme4's two stages:
//   1. θ only, with β estimated by PIRLS together with u (lme4's nAGQ = 0 objective), minimised by
//      BOBYQA with minqa's settings (rhobeg = 0.2·max|θ₀| capped at 0.95, rhoend = 10⁻⁶ rhobeg);
//   2. θ and β together on the Laplace/AGQ deviance, by lme4's Nelder-Mead from stage 1's estimates
//      (initial steps 0.02 for θ and 0.2·min(se(β), 10) for β, lme4's optwrap adjustment).
// Every evaluation starts PIRLS from the same linear predictor (the previous stage's), so the
// objective is a deterministic function of its arguments. `fast` (MixedModels.jl) or nAGQ = 0 stop
// after stage 1. The covariance of β̂ is lme4's: twice the β block of the inverse of the
// finite-difference Hessian of the deviance in (θ, β) (deriv12), or (R_X'R_X)⁻¹ when that fails.

import { BlockedSystem, type ReBlock } from "./blocked.js";
import type { DataInput, Table } from "./data.js";
import { checkConvergence, deriv12, SINGULAR_MESSAGE, SINGULAR_TOL, symmetricEigenvalues } from "./convergence.js";
import { loadKernels, type EngineChoice } from "./engine.js";
import { makeFamily, type Family, type FamilyName, type LinkName } from "./family.js";
import { parseFormula } from "./formula.js";
import type { ParsedFormula } from "./formula-types.js";
import { glmResponse, type GlmResponse } from "./glmresponse.js";
import type { Kernels } from "./kernels.js";
import { modelFrame, newdataMatrices, type FrameOptions, type ModelFrame, type ReTermData } from "./modelframe.js";
import { bobyqa, nelderMead, type OptimOptions, type OptimResult } from "./optim/index.js";
import { Pirls, PirlsError, type PirlsState } from "./pirls.js";
import { agqDeviance, ghRule } from "./aghq.js";
import { qnorm } from "./random.js";
import { pnorm } from "./rmath.js";
import type { GlmmFitJSON, RanefGroup, VarCorrRow, VarCorrTerm } from "./results-types.js";
import { formatGlmerSummary } from "./summary.js";
import { residualQuantiles } from "./distributions.js";
import { coefGroups, conditionalCovariances, groupCounts, orderTerms, ranefGroups, termCovariance, thetaNames, varCorrRows, varCorrTerms } from "./randomeffects.js";

export interface GlmerOptions extends FrameOptions {
  /** "binomial", "poisson" (or a Family from family.ts, e.g. negativeBinomial(θ)). */
  family: FamilyName | Family;
  /** Link: binomial "logit" (default), "probit", "cloglog"; Poisson and negative binomial "log". */
  link?: LinkName;
  /**
   * Points of adaptive Gauss-Hermite quadrature: 1 (default) the Laplace approximation; 2 to 25 for a
   * single scalar random-effects term; 0 is lme4's nAGQ = 0 (β by PIRLS, only θ optimised).
   */
  nAGQ?: number;
  /** MixedModels.jl's fast: optimise θ only, β from PIRLS (the same fit as nAGQ = 0). */
  fast?: boolean;
  /** Prior weights: a column of the data or one value per data row (binomial: trials of a proportion). */
  weights?: string | ArrayLike<number>;
  /** Starting values: θ (lme4's order) for stage 1 and, for stage 2, the fixed effects. */
  start?: { theta?: number[]; fixef?: number[] };
  /** Stage 2's optimizer: "neldermead" (lme4's default Nelder_Mead) or "bobyqa". */
  optimizer?: "neldermead" | "bobyqa";
  /**
   * Settings of stage 2's optimizer (as lme4's optCtrl). For Nelder-Mead the search runs in coordinates
   * scaled by lme4's initial steps (θ: 0.02, β: 0.2·min(se, 10)), so rhobeg = 1 and xtolAbs = 5e-4 there
   * are lme4's xst and xt.
   */
  optCtrl?: OptimOptions;
  /** Maximum number of objective evaluations per stage. */
  maxfun?: number;
  /** PIRLS convergence tolerance on the relative change of the penalised deviance (lme4's tolPwrss, 1e-7). */
  tolPwrss?: number;
  /** Accept non-integer counts / numbers of successes (R fits them with a warning). */
  allowNonInteger?: boolean;
  /**
   * What a detected complete separation (fitted means numerically at the boundary, driven by diverging
   * fixed effects) does: "error" (default) or "warning" (the fit is returned, with a warning).
   */
  separation?: "error" | "warning";
  engine?: EngineChoice;
  /** Name of the data set for the summary's "Data:" line. */
  dataName?: string;
}

/** lme4's glmerControl: tolPwrss and check.conv boundary.tol. */
const TOL_PWRSS = 1e-7;
const BOUNDARY_TOL = 1e-5;
/** Fitted means this close to the boundary of their range are "numerically 0 or 1" (separation). */
const SEPARATION_EPS = 1e-8;

/** Where a model's frame and response come from: data, data without a response (design()), or a shared design and a response. */
type ModelSource =
  | { kind: "data"; data: DataInput | Table }
  | { kind: "design"; data: DataInput | Table }
  | { kind: "response"; shared: SharedDesign; y: Float64Array };

/**
 * What the responses fitted on one design share (fitResponse): nothing in it depends on a response.
 * The systems are templates that are never reweighted themselves: each response's system takes their
 * layout over (BlockedSystem.withResponse), so the panel structure is computed once per design.
 */
interface SharedDesign {
  frame: ModelFrame;
  reTerms: ReTermData[];
  blocks: ReBlock[];
  offset: Float64Array;
  /** [Z X y]: PIRLS over (u, β), stage 1 and R_X. */
  system: BlockedSystem;
  /** [Z y]: PIRLS over u alone (stage 2), made when a response first reaches stage 2. */
  uSystem: BlockedSystem | null;
}

/**
 * A design's response before any is given: zeros (never fitted), prior weights as the frame has them,
 * checked here as glmResponse checks them, so that bad weights fail the design rather than every response.
 */
function placeholderResponse(frame: ModelFrame): GlmResponse {
  const ones = new Float64Array(frame.n).fill(1);
  const wt = frame.weights ? Float64Array.from(frame.weights) : Float64Array.from(ones);
  for (let i = 0; i < wt.length; i++) {
    if (!(wt[i] >= 0)) throw new Error(`weights must be non-negative: row ${frame.rows[i] + 1} has weight ${wt[i]}`);
  }
  return { y: new Float64Array(frame.n), n: ones, wt };
}

/** Fits a generalized linear mixed model as lme4's `glmer(formula, data, family, nAGQ)` does. */
export async function glmer(formula: string | ParsedFormula, data: DataInput | Table, options: GlmerOptions): Promise<GeneralizedLinearMixedModel> {
  const kernels = await loadKernels(options?.engine ?? "auto");
  return GeneralizedLinearMixedModel.fit(kernels, formula, data, options);
}

/** lme4's glmer checks of the random-effects structure (check.nlev.gtr.1, check.nobs.vs.nlev, check.nobs.vs.nRE). */
function checkIdentifiable(frame: ModelFrame): void {
  const n = frame.n;
  for (const t of frame.reTerms) {
    if (t.levels.length < 2) throw new Error(`grouping factor '${t.group}' must have > 1 sampled level (it has ${t.levels.length}) in (${t.label})`);
    if (t.levels.length >= n) {
      throw new Error(`number of levels of grouping factor '${t.group}' (${t.levels.length}) must be < number of observations (${n})`);
    }
    const q = t.levels.length * t.names.length;
    if (q > n) throw new Error(`number of observations (${n}) < number of random effects (${q}) for term (${t.label}): the model is unidentifiable`);
  }
}

/** The inverse of a small dense matrix by Gauss-Jordan elimination with partial pivoting, or null if singular. */
function invert(A: Float64Array, k: number): Float64Array | null {
  const a = Float64Array.from(A);
  const inv = new Float64Array(k * k);
  for (let i = 0; i < k; i++) inv[i * k + i] = 1;
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r * k + c]) > Math.abs(a[piv * k + c])) piv = r;
    const d = a[piv * k + c];
    if (!(Math.abs(d) > 0) || !Number.isFinite(d)) return null;
    if (piv !== c) {
      for (let j = 0; j < k; j++) {
        [a[c * k + j], a[piv * k + j]] = [a[piv * k + j], a[c * k + j]];
        [inv[c * k + j], inv[piv * k + j]] = [inv[piv * k + j], inv[c * k + j]];
      }
    }
    for (let j = 0; j < k; j++) {
      a[c * k + j] /= d;
      inv[c * k + j] /= d;
    }
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = a[r * k + c];
      if (f === 0) continue;
      for (let j = 0; j < k; j++) {
        a[r * k + j] -= f * a[c * k + j];
        inv[r * k + j] -= f * inv[c * k + j];
      }
    }
  }
  return inv;
}

/** A number with 4 significant digits, for messages. */
function signif4(x: number): string {
  return String(Number(x.toPrecision(4)));
}

export class GeneralizedLinearMixedModel {
  readonly formula: ParsedFormula;
  readonly frame: ModelFrame;
  readonly family: Family;
  readonly nAGQ: number;
  readonly options: GlmerOptions;
  readonly kernels: Kernels;
  readonly engine: string;
  /** Terms in θ order (decreasing number of levels). */
  readonly reTerms: ReTermData[];
  /** The response as glmer holds it (proportions and trials, counts). */
  readonly response: GlmResponse;
  /** The blocked system of [Z X y] (β with u: lme4's nAGQ = 0 stage, and R_X for Cov(β̂)). */
  private readonly system: BlockedSystem;
  private readonly pirls: Pirls;
  /**
   * PIRLS for u alone (stage 2, β in the offset) on the system of [Z y] only: the fixed effects'
   * columns would be re-accumulated every iteration for nothing. Made when stage 2 starts.
   */
  private pirlsU: Pirls | null = null;
  private readonly tolPwrss: number;
  private readonly blocks: ReBlock[];
  private readonly lower: number[];
  /** Made by design(): a frame, Z, X and layouts with no response; never fitted itself. */
  private readonly designOnly: boolean;
  /** Made by fitResponse(): its systems take their layouts from `shared`'s templates. */
  private readonly onSharedDesign: boolean;
  /** The design fitResponse() shares (design() makes it; a fitted model at its first fitResponse). */
  private shared: SharedDesign | null = null;

  // Set by the fit:
  private thetaHat!: Float64Array;
  private betaHat!: Float64Array;
  private state!: PirlsState;
  private objectiveValue = NaN;
  private vcovMatrix!: Float64Array;
  private covUnscaled!: Float64Array;
  /** The linear predictor each evaluation of the current stage starts PIRLS from (lme4's lp0). */
  private lp0!: Float64Array;
  private fevals1 = 0;
  private fevals2 = 0;
  private optimizerLabel = "Nelder_Mead";
  private optCode = 0;
  private optMessage = "";
  private convMessages: string[] = [];
  /** The optimizer's non-zero return codes (as lme4's optinfo warnings). */
  private optWarnings: string[] = [];
  private fitWarnings: string[] = [];
  private timeS = 0;
  /** The negative binomial θ estimated by glmerNB (undefined for other fits). */
  private nbTheta?: number;

  private constructor(kernels: Kernels, formula: string | ParsedFormula, options: GlmerOptions, source: ModelSource) {
    if (!options || options.family === undefined) {
      throw new Error('glmer needs a family: { family: "binomial" } or { family: "poisson" } (for a Gaussian response use lmer)');
    }
    this.options = options;
    this.kernels = kernels;
    this.engine = kernels.name;
    this.formula = typeof formula === "string" ? parseFormula(formula) : formula;
    if (this.formula.random.length === 0) {
      throw new Error(`no random effects terms specified in formula '${this.formula.source}': use a GLM, or add a term like (1 | group)`);
    }
    if (this.formula.response === null) throw new Error(`the formula '${this.formula.source}' has no response (left of ~)`);
    this.family = typeof options.family === "string" ? makeFamily(options.family, options.link) : options.family;
    if (typeof options.family !== "string" && options.link !== undefined && options.link !== this.family.link.name) {
      throw new Error(`the family object has link '${this.family.link.name}' but link '${options.link}' was asked for`);
    }
    this.nAGQ = options.fast ? 0 : options.nAGQ ?? 1;
    if (!(Number.isInteger(this.nAGQ) && this.nAGQ >= 0 && this.nAGQ <= 25)) {
      throw new Error(`nAGQ must be an integer from 0 to 25, got ${options.nAGQ}`);
    }
    if (options.fast && options.nAGQ !== undefined && options.nAGQ !== 0) {
      throw new Error(`fast: true optimises θ only (nAGQ = 0); it cannot be combined with nAGQ = ${options.nAGQ}`);
    }
    const shared = source.kind === "response" ? source.shared : null;
    if (source.kind === "response") {
      // The design's frame with this response: a plain numeric response (counts, 0/1 or proportions).
      this.frame = { ...source.shared.frame, y: source.y, yFailures: undefined, responseLevels: undefined };
      this.reTerms = source.shared.reTerms;
      this.blocks = source.shared.blocks;
    } else {
      this.frame = modelFrame(this.formula, source.data, options, { weights: options.weights });
      checkIdentifiable(this.frame);
      this.reTerms = orderTerms(this.frame.reTerms);
      this.blocks = this.reTerms.map((t) => ({ m: t.levels.length, k: t.names.length, refs: t.refs, Z: t.Z }));
    }
    if (this.nAGQ > 1 && (this.reTerms.length !== 1 || this.reTerms[0].names.length !== 1)) {
      throw new Error(
        `nAGQ > 1 is only available for models with a single, scalar random-effects term ` +
          `(this model has ${this.reTerms.map((t) => `(${t.label})`).join(" + ")}); use nAGQ = 1 (the Laplace approximation)`,
      );
    }
    this.designOnly = source.kind === "design";
    this.response = this.designOnly ? placeholderResponse(this.frame) : glmResponse(this.frame, this.family, { allowNonInteger: options.allowNonInteger });
    const p = this.frame.xNames.length;
    // A response on a shared design takes the design's layout over (no new panel structure); the
    // system's A is accumulated with this response's working weights at the first PIRLS step.
    this.system = shared ? shared.system.withResponse(this.response.y) : new BlockedSystem(kernels, this.blocks, this.frame.X, p, this.response.y);
    const offset = shared ? shared.offset : this.frame.offset ? Float64Array.from(this.frame.offset) : new Float64Array(this.frame.n);
    this.pirls = new Pirls(this.system, this.family, { ...this.response, offset, X: this.frame.X, p, terms: this.blocks });
    this.tolPwrss = options.tolPwrss ?? TOL_PWRSS;
    this.lower = this.system.thetaLowerBounds();
    this.onSharedDesign = shared !== null;
    if (shared) this.shared = shared;
    else if (this.designOnly) {
      this.shared = { frame: this.frame, reTerms: this.reTerms, blocks: this.blocks, offset, system: this.system, uSystem: null };
    }
  }

  /** Builds the model and fits it (synchronously, with kernels already loaded). */
  static fit(kernels: Kernels, formula: string | ParsedFormula, data: DataInput | Table, options: GlmerOptions): GeneralizedLinearMixedModel {
    const t0 = performance.now();
    const m = new GeneralizedLinearMixedModel(kernels, formula, options, { kind: "data", data });
    m.optimize();
    m.timeS = (performance.now() - t0) / 1000;
    return m;
  }

  /**
   * The model's design without a fit, for fitting many responses with fitResponse (fitMany): the model
   * frame, Z, X, the prior weights, the offset and the blocked layouts, built once. The data's response
   * column is only a placeholder (it is not checked); the design's own results are not available.
   */
  static design(kernels: Kernels, formula: string | ParsedFormula, data: DataInput | Table, options: GlmerOptions): GeneralizedLinearMixedModel {
    return new GeneralizedLinearMixedModel(kernels, formula, options, { kind: "design", data });
  }

  /**
   * The model's design fitted to the response y, one value per row of this model's frame: counts for
   * Poisson and negative binomial, 0/1 or proportions (with the weights as trials) for the binomial.
   * It is the fit glmer() makes of the same data with y as the response column: the same checks of y,
   * the same starting values (or `start`), the same two stages. What does not depend on y (frame, Z,
   * X, weights, offset, the layout of the blocked system) is shared, not rebuilt. `family` replaces
   * the design's family (glmerNB fits negative binomial families of several θ on one design). This
   * model is not changed.
   */
  fitResponse(y: ArrayLike<number>, opts: { family?: FamilyName | Family; start?: GlmerOptions["start"]; name?: string } = {}): GeneralizedLinearMixedModel {
    const t0 = performance.now();
    const what = opts.name ?? "the response";
    if (this.frame.yFailures) {
      throw new Error(`the design's response is cbind(successes, failures): fitResponse takes one value per row (proportions, with the trials as weights)`);
    }
    if (y.length !== this.n) throw new Error(`${what} has ${y.length} values but the model has ${this.n} observations`);
    const yy = Float64Array.from(y);
    for (let i = 0; i < yy.length; i++) {
      if (!Number.isFinite(yy[i])) throw new Error(`${what}[${i}] is ${yy[i]}: the response must be finite at every row of the fit`);
    }
    const options: GlmerOptions = { ...this.options, family: opts.family ?? this.options.family, start: opts.start };
    const m = new GeneralizedLinearMixedModel(this.kernels, this.formula, options, { kind: "response", shared: this.sharedDesign(), y: yy });
    m.optimize();
    m.timeS = (performance.now() - t0) / 1000;
    return m;
  }

  /** What fitResponse's models share; for a fitted model (not made by design()), its systems are made anew. */
  private sharedDesign(): SharedDesign {
    // A fitted model's own systems hold its working weights: the template must be one never reweighted.
    this.shared ??= {
      frame: this.frame,
      reTerms: this.reTerms,
      blocks: this.blocks,
      offset: this.pirls.data.offset,
      system: new BlockedSystem(this.kernels, this.blocks, this.frame.X, this.p, this.response.y),
      uSystem: null,
    };
    return this.shared;
  }

  get n(): number {
    return this.frame.n;
  }

  get p(): number {
    return this.frame.xNames.length;
  }

  get nTheta(): number {
    return this.lower.length;
  }

  // ---------------------------------------------------------------------------------------------
  // Objectives

  /** lme4's nAGQ = 0 objective at θ: PIRLS over (u, β) from lp0, then the Laplace approximation. */
  private objectiveTheta(theta: ArrayLike<number>): number {
    try {
      this.state = this.pirls.run(theta, this.lp0, null, this.tolPwrss);
    } catch (e) {
      if (e instanceof PirlsError) return Infinity;
      throw e;
    }
    return this.pirls.laplace(this.state);
  }

  /** The nAGQ ≥ 1 objective at (θ, β): PIRLS over u from lp0, then Laplace or adaptive Gauss-Hermite. */
  private objectiveThetaBeta(par: ArrayLike<number>): number {
    const k = this.nTheta;
    const theta = Array.prototype.slice.call(par, 0, k) as number[];
    const beta = Float64Array.from(Array.prototype.slice.call(par, k) as number[]);
    const pirls = this.uPirls();
    try {
      this.state = pirls.run(theta, this.lp0, beta, this.tolPwrss);
    } catch (e) {
      if (e instanceof PirlsError) return Infinity;
      throw e;
    }
    if (this.nAGQ > 1) return agqDeviance(pirls, theta, this.state, ghRule(this.nAGQ));
    return pirls.laplace(this.state);
  }

  /** PIRLS for u alone on the system without the fixed effects' columns. */
  private uPirls(): Pirls {
    if (!this.pirlsU) {
      let system: BlockedSystem;
      if (this.onSharedDesign) {
        // The design's [Z y] template (made once, never reweighted) lends its layout to each response.
        const shared = this.shared!;
        shared.uSystem ??= new BlockedSystem(this.kernels, this.blocks, new Float64Array(0), 0, this.response.y);
        system = shared.uSystem.withResponse(this.response.y);
      } else {
        system = new BlockedSystem(this.kernels, this.blocks, new Float64Array(0), 0, this.response.y);
      }
      this.pirlsU = new Pirls(system, this.family, this.pirls.data);
    }
    return this.pirlsU;
  }

  /** The PIRLS of the fitted objective (its system holds the factor of the last evaluation). */
  private get fitPirls(): Pirls {
    return this.nAGQ === 0 ? this.pirls : this.uPirls();
  }

  // ---------------------------------------------------------------------------------------------
  // The two stages

  private optimize(): void {
    if (this.designOnly) throw new Error("internal: a design (GeneralizedLinearMixedModel.design) is not fitted itself; use fitResponse(y)");
    const k = this.nTheta;
    const opts = this.options;
    const theta0 = opts.start?.theta ?? this.system.thetaStart();
    if (theta0.length !== k) throw new Error(`start.theta has ${theta0.length} values but θ has ${k} (${this.thetaNames().join(", ")})`);
    theta0.forEach((v, i) => {
      if (!(v >= this.lower[i])) throw new Error(`start.theta[${i}] (${this.thetaNames()[i]}) = ${v} is below its lower bound ${this.lower[i]}`);
    });
    // lme4's mkGlmerDevfun: PIRLS over (u, β) at the starting θ from the family's starting means.
    const { y, wt } = this.response;
    const link = this.family.link;
    const eta0 = Float64Array.from(y, (v, i) => link.linkfun(this.family.mustart(v, wt[i])));
    try {
      this.state = this.pirls.run(theta0, eta0, null, this.tolPwrss);
    } catch (e) {
      if (e instanceof PirlsError) throw new Error(`the initial PIRLS step at the starting θ failed: ${e.message}`);
      throw e;
    }
    this.lp0 = this.state.eta;

    // Stage 1: θ only (minqa's bobyqa defaults, as lme4's optimizer[1]).
    const start1 = Float64Array.from(theta0);
    if (start1.every((v) => v === 0)) start1.fill(0.001); // lme4's optwrap for bobyqa
    const rhobeg = Math.min(0.95, 0.2 * Math.max(...Array.from(start1, Math.abs)));
    const npt = Math.max(k + 2, Math.min(Math.min(k + 2, 2 * k), ((k + 1) * (k + 2)) / 2));
    const upper1 = this.lower.map(() => Infinity);
    const r1 = bobyqa((th) => this.objectiveTheta(th), start1, this.lower, upper1, {
      rhobeg,
      rhoend: 1e-6 * rhobeg,
      npt,
      maxfun: opts.maxfun ?? 10000,
    });
    this.fevals1 = r1.feval;
    if (!Number.isFinite(r1.f)) throw new Error("glmer: the optimizer found no θ with a finite deviance (PIRLS failed everywhere)");
    if (this.nAGQ === 0) {
      this.finishThetaOnly(r1);
      return;
    }
    // lme4's hand-over: the fixed effects and linear predictor of PIRLS at θ̂₁ start stage 2.
    this.objectiveTheta(r1.x);
    this.lp0 = this.state.eta;
    const beta1 = this.state.beta;
    const unsc1 = this.system.solve().covBetaUnscaled;
    const betaStart = opts.start?.fixef ?? Array.from(beta1);
    if (betaStart.length !== this.p) throw new Error(`start.fixef has ${betaStart.length} values but there are ${this.p} fixed effects (${this.frame.xNames.join(", ")})`);
    const par0 = Float64Array.from([...r1.x, ...betaStart]);
    const lower2 = [...this.lower, ...betaStart.map(() => -Infinity)];
    const f2 = (par: Float64Array) => this.objectiveThetaBeta(par);
    const r2 = this.stage2(f2, par0, lower2, unsc1);
    this.fevals2 = r2.feval;
    if (!Number.isFinite(r2.f)) throw new Error("glmer: the optimizer found no (θ, β) with a finite deviance");
    this.optCode = r2.code < 0 || r2.code === 5 ? r2.code : 0;
    this.optMessage = r2.message;
    if (this.optCode !== 0) this.optWarnings.push(`convergence code ${this.optCode} from ${this.optimizerLabel}: ${r2.message}`);
    this.finishThetaBeta(f2, Float64Array.from(r2.x), r2.f, lower2);
  }

  /**
   * Stage 2's optimizer over (θ, β). Nelder-Mead as lme4's (optwrap with adj = TRUE): initial steps
   * xst = 0.2·(0.1 for θ, min(se(β̂₁), 10) for β) and tolerances 5·10⁻⁴ xst; lme4 gives each
   * coordinate its own step, so the search runs in coordinates scaled by xst (step 1, tolerance 5·10⁻⁴).
   * BOBYQA as lme4's optwrap adjusts it: rhobeg = 2·10⁻⁴, rhoend = 2·10⁻⁷.
   */
  private stage2(f: (par: Float64Array) => number, par0: Float64Array, lower: number[], unsc: Float64Array): OptimResult {
    const k = this.nTheta, p = this.p;
    const upper = lower.map(() => Infinity);
    const maxfun = this.options.maxfun ?? 10000;
    if (this.options.optimizer === "bobyqa") {
      this.optimizerLabel = "bobyqa";
      const npt = Math.max(par0.length + 2, Math.min(Math.min(par0.length + 2, 2 * par0.length), ((par0.length + 1) * (par0.length + 2)) / 2));
      return bobyqa(f, par0, lower, upper, { rhobeg: 2e-4, rhoend: 2e-7, npt, maxfun, ...this.options.optCtrl });
    }
    if (this.options.optimizer !== undefined && this.options.optimizer !== "neldermead") {
      throw new Error(`unknown optimizer '${this.options.optimizer}': use "neldermead" (lme4's default) or "bobyqa"`);
    }
    this.optimizerLabel = "Nelder_Mead";
    const xst = Float64Array.from({ length: k + p }, (_, i) => (i < k ? 0.2 * 0.1 : 0.2 * Math.min(Math.sqrt(unsc[(i - k) * p + (i - k)]), 10)));
    const scaled = (y: Float64Array) => f(y.map((v, i) => v * xst[i]));
    const r = nelderMead(scaled, par0.map((v, i) => v / xst[i]), lower.map((l, i) => l / xst[i]), upper, {
      rhobeg: 1,
      xtolAbs: 5e-4,
      maxfun,
      ...this.options.optCtrl,
    });
    return { ...r, x: r.x.map((v, i) => v * xst[i]) };
  }

  /** lme4's check.boundary: θ diagonal entries within boundary.tol of 0 are tried at 0 and kept there if not worse. */
  private checkBoundary(par: Float64Array, fval: number, f: (x: Float64Array) => number): { par: Float64Array; fval: number } {
    let changed = false;
    const pp = Float64Array.from(par);
    for (let i = 0; i < this.nTheta; i++) {
      const d = par[i] - this.lower[i];
      if (d > 0 && d < BOUNDARY_TOL) {
        const tmp = Float64Array.from(pp);
        tmp[i] = this.lower[i];
        if (f(tmp) < fval) pp[i] = tmp[i];
        changed = true;
      }
    }
    if (!changed) return { par, fval };
    return { par: pp, fval: f(pp) };
  }

  /** nAGQ = 0: the result of stage 1 (β from PIRLS, Cov(β̂) = (R_X'R_X)⁻¹). */
  private finishThetaOnly(r: OptimResult): void {
    this.optimizerLabel = "bobyqa";
    this.optCode = r.code < 0 || r.code === 5 ? r.code : 0;
    this.optMessage = r.message;
    if (this.optCode !== 0) this.optWarnings.push(`convergence code ${this.optCode} from bobyqa: ${r.message}`);
    const f = (th: Float64Array) => this.objectiveTheta(th);
    const { par, fval } = this.checkBoundary(Float64Array.from(r.x), r.f, f);
    this.objectiveValue = fval;
    this.setFinal(par, null);
    this.vcovMatrix = this.covUnscaled;
    if (this.isSingular()) this.convMessages.push(SINGULAR_MESSAGE);
    this.checkSeparation();
  }

  /** nAGQ ≥ 1: derivatives, boundary check, convergence checks and Cov(β̂) from the Hessian (lme4's optwrap, vcov.merMod). */
  private finishThetaBeta(f: (par: Float64Array) => number, par: Float64Array, fval: number, lower: number[]): void {
    // Every point deriv12 visits is evaluated once; checkConvergence repeats the same points.
    const cache = new Map<string, number>();
    const fc = (x: Float64Array) => {
      const key = Array.from(x).join(",");
      let v = cache.get(key);
      if (v === undefined) {
        v = f(x);
        cache.set(key, v);
      }
      return v;
    };
    const derivs = deriv12(fc, par, fval);
    this.convMessages.push(...checkConvergence(fc, par, fval, lower));
    const b = this.checkBoundary(par, fval, f);
    this.objectiveValue = b.fval;
    this.setFinal(b.par.subarray(0, this.nTheta), b.par.subarray(this.nTheta));
    this.vcovMatrix = this.hessianVcov(derivs.hessian) ?? this.covUnscaled;
    this.checkSeparation();
  }

  /** lme4's vcov from the Hessian H of the deviance in (θ, β): (H⁻¹ + H⁻¹')_ββ, or null if not positive definite. */
  private hessianVcov(H: Float64Array): Float64Array | null {
    const k = this.nTheta, p = this.p, K = k + p;
    const Hi = invert(H, K);
    let V: Float64Array | null = null;
    if (Hi) {
      V = new Float64Array(p * p);
      for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) V[i * p + j] = Hi[(k + i) * K + k + j] + Hi[(k + j) * K + k + i];
      if (V.some((v) => !Number.isFinite(v)) || Math.min(...symmetricEigenvalues(V, p)) <= 0) V = null;
    }
    if (!V) {
      this.fitWarnings.push(
        "variance-covariance matrix computed from finite-difference Hessian is not positive definite or contains NA values: " +
          "falling back to var-cov estimated from RX",
      );
    }
    return V;
  }

  /**
   * Evaluates the objective at the final estimates so that the PIRLS state is theirs, and (R_X'R_X)⁻¹
   * at them (for stage 2 from u-only PIRLS on the system with X, lme4's RX at the end).
   */
  private setFinal(theta: ArrayLike<number>, beta: ArrayLike<number> | null): void {
    this.thetaHat = Float64Array.from(theta);
    if (beta) {
      this.betaHat = Float64Array.from(beta);
      this.pirls.run(this.thetaHat, this.lp0, this.betaHat, this.tolPwrss);
      this.covUnscaled = this.system.solve().covBetaUnscaled;
      this.objectiveThetaBeta([...this.thetaHat, ...this.betaHat]);
    } else {
      this.objectiveTheta(this.thetaHat);
      this.betaHat = Float64Array.from(this.state.beta);
      this.covUnscaled = this.system.solve().covBetaUnscaled;
    }
  }

  /**
   * Complete (or quasi-complete) separation of a binomial response: fitted probabilities numerically 0
   * or 1 (|η| beyond about 18 on the logit scale, which no finite well-determined fit reaches) where the
   * response is 0 or 1 too, with diverging fixed effects. lme4 returns such fits silently (estimates of
   * 20-40 on the link scale with enormous standard errors). Counts are not checked: tiny exposures
   * give legitimately tiny Poisson means.
   */
  private checkSeparation(): void {
    if (this.family.name !== "binomial") return;
    const { y } = this.response;
    const mu = this.state.mu;
    let rows = 0;
    for (let i = 0; i < mu.length; i++) {
      if ((mu[i] < SEPARATION_EPS && y[i] === 0) || (mu[i] > 1 - SEPARATION_EPS && y[i] === 1)) rows++;
    }
    if (rows === 0) return;
    const se = this.se();
    const diverging = this.frame.xNames.filter((nm, j) => {
      let xmax = 0;
      for (let r = 0; r < this.n; r++) xmax = Math.max(xmax, Math.abs(this.frame.X[r * this.p + j]));
      return Math.abs(this.betaHat[j]) * xmax > 10;
    });
    if (diverging.length === 0) return;
    const what = diverging.map((nm) => `'${nm}' (estimate ${signif4(this.fixef()[nm])}, standard error ${signif4(se[nm])})`).join(", ");
    const msg =
      `complete separation: ${rows} of ${this.n} rows have fitted probabilities numerically 0 or 1 that their ` +
      `responses attain, and the fixed effect${diverging.length > 1 ? "s" : ""} ${what} ` +
      `diverge${diverging.length > 1 ? "" : "s"}: the maximum-likelihood estimate does not exist (lme4 would report these numbers silently). ` +
      `Remove or merge the predictor's levels that perfectly predict the outcome, or use a penalised fit`;
    if ((this.options.separation ?? "error") === "error") throw new Error(msg + ` (separation: "warning" keeps the fit)`);
    this.fitWarnings.push(msg);
  }

  // ---------------------------------------------------------------------------------------------
  // Results, named as in lme4

  /** θ̂ in lme4's order. */
  get theta(): number[] {
    return Array.from(this.thetaHat);
  }

  /** lme4's names of θ: "herd.(Intercept)", ... */
  thetaNames(): string[] {
    return thetaNames(this.reTerms);
  }

  /** 1: these families have no scale parameter (lme4's sigma() of a binomial/Poisson fit). */
  get sigma(): number {
    return 1;
  }

  fixef(): Record<string, number> {
    return Object.fromEntries(this.frame.xNames.map((nm, i) => [nm, this.betaHat[i]]));
  }

  /** Cov(β̂) (lme4's vcov: from the Hessian of the deviance, see above). */
  vcov(): number[][] {
    const p = this.p;
    return Array.from({ length: p }, (_, i) => Array.from(this.vcovMatrix.subarray(i * p, (i + 1) * p)));
  }

  se(): Record<string, number> {
    const p = this.p;
    return Object.fromEntries(this.frame.xNames.map((nm, i) => [nm, Math.sqrt(this.vcovMatrix[i * p + i])]));
  }

  /** Wald z statistics β̂/se. */
  zValues(): Record<string, number> {
    const se = this.se();
    return Object.fromEntries(Object.entries(this.fixef()).map(([k, b]) => [k, b / se[k]]));
  }

  /** Two-sided p-values of the Wald z tests, 2Φ(−|z|). */
  pValues(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.zValues()).map(([k, z]) => [k, 2 * pnorm(-Math.abs(z))]));
  }

  /** Wald intervals β̂ ± z_{(1+level)/2} se (lme4's confint(method = "Wald")). */
  confint(opts: { level?: number } = {}): { term: string; lower: number; upper: number }[] {
    const level = opts.level ?? 0.95;
    if (!(level > 0 && level < 1)) throw new Error(`level must be between 0 and 1, got ${level}`);
    const z = qnorm((1 + level) / 2);
    const se = this.se();
    return Object.entries(this.fixef()).map(([term, b]) => ({ term, lower: b - z * se[term], upper: b + z * se[term] }));
  }

  /** b̂ = Λũ per term in θ order (levels × k). */
  ranefByTerm(): Float64Array[] {
    return this.reTerms.map((_, t) => this.fitPirls.ranefOf(this.thetaHat, t, this.state.u[t]));
  }

  /**
   * Conditional covariance of b per level of every term: Λ (Λ'Z'WZΛ + I)⁻¹ Λ' blocks at the final
   * weights (lme4's condVar for a GLMM, σ = 1).
   */
  condVar(): Float64Array[] {
    this.refreshFactor();
    const blocks = this.fitPirls.system.condVarBlocks();
    return blocks.map((M, t) => conditionalCovariances(M, this.system.lambdaOf(this.thetaHat, t), this.reTerms[t].names.length, 1));
  }

  /**
   * The fitted objective at other parameters (lme4's devfun): −2 log L at θ and β by the fit's
   * approximation, PIRLS starting where the fit's last stage started it. For nAGQ = 0 only θ is
   * given (β comes from PIRLS). The fit's results do not change.
   */
  devianceAt(theta: ArrayLike<number>, beta?: ArrayLike<number>): number {
    if (theta.length !== this.nTheta) throw new Error(`θ has ${this.nTheta} elements (${this.thetaNames().join(", ")}), got ${theta.length}`);
    if (this.nAGQ > 0 && beta?.length !== this.p) throw new Error(`β has ${this.p} elements (${this.frame.xNames.join(", ")}), got ${beta?.length}`);
    const kept = this.state;
    try {
      return this.nAGQ === 0 ? this.objectiveTheta(theta) : this.objectiveThetaBeta([...Array.from(theta), ...Array.from(beta!)]);
    } finally {
      this.state = kept;
    }
  }

  /** The factor in the arena is the final evaluation's again (another fit or probe may have used it). */
  private refreshFactor(): void {
    if (this.nAGQ === 0) this.objectiveTheta(this.thetaHat);
    else this.objectiveThetaBeta([...this.thetaHat, ...this.betaHat]);
  }

  /** Conditional modes per grouping factor, with their conditional sds when asked (lme4's ranef(condVar = TRUE)). */
  ranef(opts: { condVar?: boolean } = {}): Record<string, RanefGroup> {
    return ranefGroups(this.reTerms, this.ranefByTerm(), opts.condVar ? this.condVar() : null);
  }

  /** Each level's own coefficients: fixed effects plus that level's random effects (lme4's coef()). */
  coef(): Record<string, RanefGroup> {
    return coefGroups(this.fixef(), this.ranef());
  }

  /** Σ_t = λ_t λ_t' per term (σ = 1), as sd and correlation. */
  VarCorr(): Record<string, VarCorrTerm> {
    return varCorrTerms(this.reTerms, this.reTerms.map((_, t) => this.covarianceOf(t)));
  }

  private covarianceOf(t: number): Float64Array {
    return termCovariance(this.system.lambdaOf(this.thetaHat, t), this.reTerms[t].names.length, 1);
  }

  /** Rows of as.data.frame(VarCorr(fit)): variances, then covariances per term. */
  varcorrRows(): VarCorrRow[] {
    return varCorrRows(this.reTerms, this.reTerms.map((_, t) => this.covarianceOf(t)));
  }

  /** Fitted values on the rows of the fit: the conditional means μ (default) or the linear predictor η. */
  fitted(opts: { type?: "response" | "link" } = {}): Float64Array {
    const type = opts.type ?? "response";
    if (type === "response") return Float64Array.from(this.state.mu);
    if (type === "link") return Float64Array.from(this.state.eta);
    throw new Error(`type must be "response" or "link", got ${JSON.stringify(type)}`);
  }

  /**
   * Residuals (lme4's residuals.glmerMod): "deviance" (default, sign(y − μ)·√d), "pearson"
   * ((y − μ)√(wt/V(μ))), "working" ((y − μ)/μ'(η)) or "response" (y − μ); y is the proportion for a
   * binomial response.
   */
  residuals(opts: { type?: "deviance" | "pearson" | "working" | "response" } = {}): Float64Array {
    const { y, wt } = this.response;
    const { mu, eta } = this.state;
    const fam = this.family;
    const type = opts.type ?? "deviance";
    switch (type) {
      case "deviance":
        return mu.map((m, i) => {
          const d = Math.sqrt(Math.max(0, fam.devResid(y[i], m, wt[i])));
          return y[i] > m ? d : -d;
        });
      case "pearson":
        return mu.map((m, i) => (y[i] - m) * Math.sqrt(wt[i] / fam.variance(m)));
      case "working":
        return mu.map((m, i) => (y[i] - m) / fam.link.muEta(eta[i]));
      case "response":
        return mu.map((m, i) => y[i] - m);
      default:
        throw new Error(`residual type must be "deviance", "pearson", "working" or "response", got ${JSON.stringify(type)}`);
    }
  }

  /**
   * Predictions (lme4's predict.merMod): on the link scale (default, as lme4) or the response scale,
   * conditional on the random effects ("all") or at the population level ("none"); for newdata coded
   * as the fit's data (new levels: an error, or the population's prediction with allowNewLevels).
   */
  predict(
    newdata?: DataInput | Table,
    opts: { type?: "link" | "response"; reForm?: "all" | "none"; allowNewLevels?: boolean } = {},
  ): Float64Array {
    const type = opts.type ?? "link";
    if (type !== "link" && type !== "response") throw new Error(`type must be "link" or "response", got ${JSON.stringify(type)}`);
    const reForm = opts.reForm ?? "all";
    if (reForm !== "all" && reForm !== "none") throw new Error(`reForm must be "all" or "none", got ${JSON.stringify(reForm)}`);
    let eta: Float64Array;
    if (newdata === undefined || newdata === null) {
      eta = reForm === "all" ? Float64Array.from(this.state.eta) : this.pirls.fixedPart(this.betaHat);
    } else {
      const nd = newdataMatrices(this.formula, this.frame, newdata, { random: reForm === "all" });
      const p = this.p;
      eta = new Float64Array(nd.n);
      for (let r = 0; r < nd.n; r++) {
        let s = nd.offset ? nd.offset[r] : 0;
        for (let c = 0; c < p; c++) s += nd.X[r * p + c] * this.betaHat[c];
        eta[r] = s;
      }
      if (reForm === "all") {
        const bs = this.ranefByTerm();
        const newLevels: string[] = [];
        this.reTerms.forEach((t, ti) => {
          const nt = nd.reTerms[this.frame.reTerms.indexOf(t)];
          if (nt.newLevels.length) newLevels.push(`grouping factor '${t.group}': ${nt.newLevels.slice(0, 10).map((l) => `'${l}'`).join(", ")}`);
          const k = t.names.length;
          for (let r = 0; r < nd.n; r++) {
            const j = nt.refs[r];
            if (j < 0) continue;
            for (let c = 0; c < k; c++) eta[r] += nt.Z[r * k + c] * bs[ti][j * k + c];
          }
        });
        if (newLevels.length && !opts.allowNewLevels) {
          throw new Error(`new levels detected in newdata: ${newLevels.join("; ")} (use allowNewLevels: true to predict them at the population level)`);
        }
      }
      for (let r = 0; r < nd.n; r++) if (nd.missing[r]) eta[r] = NaN;
    }
    return type === "link" ? eta : eta.map((v) => (Number.isNaN(v) ? NaN : this.family.link.linkinv(v)));
  }

  nobs(): number {
    return this.n;
  }

  ngrps(): Record<string, number> {
    return groupCounts(this.reTerms);
  }

  /** θ and β (no scale parameter), and the shape of a negative binomial family (lme4's npar.merMod). */
  npar(): number {
    return this.nTheta + this.p + (this.family.name === "negative.binomial" ? 1 : 0);
  }

  dfResidual(): number {
    return this.n - this.npar();
  }

  isSingular(): boolean {
    return this.thetaHat.some((v, i) => this.lower[i] === 0 && v < SINGULAR_TOL);
  }

  /** The value minimised: −2 log L by Laplace or adaptive Gauss-Hermite (lme4's devcomp$cmp["dev"]). */
  get objectiveAtOptimum(): number {
    return this.objectiveValue;
  }

  /** lme4's deviance() of a GLMM: the sum of the squared deviance residuals at the conditional means (not −2 log L). */
  deviance(): number {
    return this.pirls.residualDeviance(this.state.mu);
  }

  logLik(): number {
    return -this.objectiveValue / 2;
  }

  AIC(): number {
    return this.objectiveValue + 2 * this.npar();
  }

  BIC(): number {
    return this.objectiveValue + this.npar() * Math.log(this.n);
  }

  /**
   * Marks this fit as glmerNB's result (negativebinomial.ts): its family's θ was estimated, and the
   * fit's time is that of the whole search.
   */
  markEstimatedTheta(seconds: number): void {
    if (this.family.theta === undefined) throw new Error("only a negative binomial fit has an estimated θ");
    this.nbTheta = this.family.theta;
    this.timeS = seconds;
  }

  /** The negative binomial θ estimated by glmerNB (lme4's getME(fit, "glmer.nb.theta")), or undefined. */
  get glmerNBTheta(): number | undefined {
    return this.nbTheta;
  }

  /** Evaluations of the last stage's optimizer (lme4's optinfo$feval). */
  get feval(): number {
    return this.nAGQ === 0 ? this.fevals1 : this.fevals2;
  }

  /** The optimizer's and lme4's convergence checks' messages (the singular-fit message among them). */
  get convergenceWarnings(): string[] {
    return [...this.optWarnings, ...this.convMessages];
  }

  get warnings(): string[] {
    const w = [...this.frame.warnings, ...this.optWarnings, ...this.fitWarnings, ...this.convMessages];
    if (this.frame.nDropped > 0) w.push(`${this.frame.nDropped} row${this.frame.nDropped === 1 ? "" : "s"} with missing values dropped (na.omit)`);
    return w;
  }

  private pearsonQuantiles(): GlmmFitJSON["scaled_residuals"] {
    return residualQuantiles(this.residuals({ type: "pearson" }));
  }

  /** The structured result with the field names of the lme4 glmer reference fits. */
  toJSON(): GlmmFitJSON {
    return this.resultJSON(true);
  }

  private resultJSON(condVar: boolean): GlmmFitJSON {
    const obj = this.objectiveValue;
    return {
      call: "glmer",
      formula: this.formula.source,
      family: this.family.label,
      link: this.family.link.name,
      REML: false,
      nAGQ: this.nAGQ,
      nobs: this.n,
      n: this.n,
      n_dropped: this.frame.nDropped,
      ngrps: this.ngrps(),
      fixef: this.fixef(),
      se: this.se(),
      vcov: this.vcov(),
      z: this.zValues(),
      p: this.pValues(),
      confint_wald: this.confint(),
      dropped_columns: [...this.frame.droppedColumns],
      theta: this.theta,
      theta_names: this.thetaNames(),
      sigma: this.sigma,
      varcorr: this.varcorrRows(),
      VarCorr: this.VarCorr(),
      contrasts: this.frame.contrasts,
      objective: obj,
      REMLcrit: null,
      deviance_ML: null,
      deviance: this.deviance(),
      minus2logLik: obj,
      logLik: this.logLik(),
      npar: this.npar(),
      AIC: this.AIC(),
      BIC: this.BIC(),
      df_residual: this.dfResidual(),
      ranef: this.ranef({ condVar }),
      fitted_head: Array.from(this.state.mu.subarray(0, 20)),
      scaled_residuals: this.pearsonQuantiles(),
      singular: this.isSingular(),
      optimizer: this.optimizerLabel,
      feval: this.feval,
      feval_stage1: this.fevals1,
      optimizer_code: this.optCode,
      optimizer_message: this.optMessage,
      conv_messages: [...this.convMessages],
      warnings: this.warnings,
      ...(this.nbTheta !== undefined ? { glmer_nb_theta: this.nbTheta } : {}),
      engine: this.engine,
      time_s: this.timeS,
    };
  }

  /** The printed summary in lme4's layout for glmer fits. */
  summary(opts: { dataName?: string; weightsName?: string; correlation?: boolean } = {}): string {
    const w = this.options.weights;
    return formatGlmerSummary(this.resultJSON(false), {
      dataName: opts.dataName ?? this.options.dataName,
      weightsName: opts.weightsName ?? (typeof w === "string" ? w : undefined),
      correlation: opts.correlation,
    });
  }
}
