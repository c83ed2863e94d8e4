// Many responses, one design: the same mixed model fitted to every row of a response matrix (genes of
// a single-cell study, time points × channels of an EEG study). What does not depend on y (the model
// frame, Z, X, the blocked layout and A's design part) is built once; per response only A's y column
// (Z'y, X'y, y'y) is written and θ optimised (LinearMixedModel.fitResponse). With a GLMM family
// (binomial, Poisson, negative binomial) the frame, Z, X, weights, offset and the blocked layout are
// shared the same way, and per response glmer's PIRLS and two optimisation stages run as a single
// glmer() / glmerNB() fit of it would (GeneralizedLinearMixedModel.fitResponse, fitNBResponse): PIRLS
// re-accumulates A with the working weights every iteration, so for GLMMs the per-response work
// dominates and sharing the design saves only its construction. Responses are fitted in
// chunks of fixed size, in this thread or in workers; a response's result depends only on its own
// values (and, with warmStart, on the responses before it in its chunk), so it is the same for any
// number of threads.

import { toColumns, type DataInput, type Table } from "./data.js";
import { columnIds, matchObservations, subsetTable } from "./io/match.js";
import { SINGULAR_MESSAGE } from "./convergence.js";
import { engineBytes, instantiateKernels, loadKernels, type EngineChoice } from "./engine.js";
import { deparse, parseFormula } from "./formula.js";
import type { Kernels } from "./kernels.js";
import type { LinkName } from "./family.js";
import { GeneralizedLinearMixedModel, type GlmerOptions } from "./generalizedlinearmixedmodel.js";
import { fitSharedResponse, LinearMixedModel, type LmerOptions } from "./linearmixedmodel.js";
import { fitNBResponse } from "./negativebinomial.js";
import { ManyResults, type ResponseFit } from "./manyresults.js";
import { checkResponseMatrix, type ResponseMatrix } from "./responses.js";
import { fittingChunks, isResponseSource, matrixSource, type ResponseSource } from "./response-source.js";
import { fitOnLanes } from "./fitmany-lanes.js";
import { satterthwaite } from "./satterthwaite.js";
import { TsKernels } from "./kernels.js";
import { varPart } from "./varpart.js";

export interface FitManyOptions extends Omit<LmerOptions, "progress" | "engine"> {
  /** Kernel build, as lmer's engine option; every worker uses the same one. */
  engine?: EngineChoice;
  /**
   * θ every response's optimisation starts at (lme4's order; default lme4's start, as lmer's). With
   * warmStart, the start of each chunk's first response. The parametric bootstrap starts at θ̂.
   */
  start?: number[];
  /** Worker threads (default: all cores where workers are available; 1: in this thread). */
  threads?: number;
  /** Responses per task handed to a worker (default 32). Bounds the memory of responses in flight. */
  chunkSize?: number;
  /**
   * Start each response's optimisation at the previous response's θ̂ within its chunk (faster when
   * responses are alike). Default false: every response starts where a single lmer() fit would, so
   * each result equals that fit's.
   */
  warmStart?: boolean;
  /** "Satterthwaite" (default, lmerTest's df and p) or "none" (t statistics only, as lme4). */
  ddf?: "Satterthwaite" | "none";
  /**
   * The design column holding the observation ids that Y.obsIds name (default: the design's first
   * column). When Y has no obsIds, design rows are taken in Y's observation order.
   */
  idColumn?: string;
  /**
   * Whether the calling thread fits chunks too (default true: with threads = 2 it is one lane and one
   * worker the other). false leaves it free (a page's UI thread) and uses `threads` workers.
   */
  mainThread?: boolean;
  /**
   * The model of every response: "gaussian" (default) lmer's linear mixed model; "binomial" or
   * "poisson" glmer's GLMM; "nb" glmerNB's negative binomial GLMM (its θ estimated per response). For
   * a GLMM the tests are Wald z tests: `statistic` is z, `p_value` 2Φ(−|z|), and `df` is Infinity (the
   * normal is t with infinite df; NaN marks a term without a result, as for lmer); no variance
   * fractions; `sigma` is 1 (lme4's sigma() of these families). REML and ddf are refused with a family;
   * `optimizer`, `optCtrl` and `maxfun` are glmer's (its second stage's optimizer).
   */
  family?: ManyFamily;
  /** GLMMs: the link (binomial "logit" default, "probit", "cloglog"; Poisson and NB "log"). */
  link?: LinkName;
  /** GLMMs: glmer's nAGQ (1 Laplace, default; 0; up to 25 for one scalar random term). */
  nAGQ?: number;
  /** GLMMs: a design column of prior weights (binomial proportions: the number of trials). */
  weights?: string;
  /** GLMMs: accept non-integer counts (glmer's continuous extension of the likelihood). */
  allowNonInteger?: boolean;
  /** Binomial GLMMs: a complete separation is the response's error (default) or a warning on its fit. */
  separation?: "error" | "warning";
  /**
   * Called as chunks complete: responses done, total, seconds elapsed, estimated seconds left (total and
   * the estimate are NaN for a ResponseSource that does not announce its nResponses).
   */
  onProgress?: (p: { done: number; total: number; elapsedS: number; etaS: number }) => void;
}

/** What a worker needs to rebuild the fitter: plain, structured-clone-friendly data. */
export interface ManySpec {
  formula: string;
  design: Table;
  options: Omit<FitManyOptions, "onProgress" | "threads" | "engine">;
  engineName: Kernels["name"];
}

/** Placeholder response column name: the design's own columns never start with a dot and a space. */
const RESPONSE = ". response";

/**
 * The formula with the placeholder response: `~ condition + (1|donor)` (or `expr ~ ...`, whose left side
 * only names the responses) becomes `` `. response` ~ condition + (1|donor) ``.
 */
function withPlaceholderResponse(formula: string): string {
  const parsed = parseFormula(formula);
  const tilde = formula.indexOf("~");
  if (parsed.response !== null) {
    const lhs = deparse(parsed.response);
    if (!/^[A-Za-z.][A-Za-z0-9._]*$/.test(lhs)) {
      throw new Error(`fitMany: the left side of '${formula}' must be a plain name (or empty: '~ terms'); the responses are the matrix's rows, got '${lhs}'`);
    }
  }
  return "`" + RESPONSE + "` " + formula.slice(tilde);
}

/**
 * The design table in Y's observation order: row i describes observation i. With Y.obsIds, they are
 * looked up in the id column (io/match.ts: ids missing from the design, or repeated, are errors that
 * name them; design rows for no observation are left out).
 */
export function alignDesign(design: Table, Y: Pick<ResponseMatrix, "obsIds" | "nObs">, idColumn?: string): Table {
  if (!Y.obsIds) {
    if (design.nrow !== Y.nObs) {
      throw new Error(`the design has ${design.nrow} rows but the response matrix has ${Y.nObs} observations (and no observation ids to match them by)`);
    }
    return design;
  }
  const { rows } = matchObservations(Y.obsIds, columnIds(design, idColumn ?? design.names[0]));
  const identity = rows.length === design.nrow && rows.every((v, i) => v === i);
  return identity ? design : subsetTable(design, rows);
}

/**
 * One design and a family's fit of a response on it: the response's values on the design's rows in,
 * the response's ResponseFit out (its numbers for `terms`, the fitter's terms, by name).
 */
interface DesignFit {
  /** Observations (design rows) the design uses, after dropping rows with missing covariates. */
  readonly rows: Int32Array;
  readonly terms: string[];
  readonly thetaNames: string[];
  fit(y: Float64Array, start: number[] | undefined, terms: string[]): ResponseFit;
}

/** The linear mixed model (lmer): REML or ML, Satterthwaite t tests, variance fractions. */
class LmmDesign implements DesignFit {
  constructor(
    private readonly model: LinearMixedModel,
    private readonly ddf: "Satterthwaite" | "none",
  ) {}

  get rows(): Int32Array {
    return this.model.frame.rows;
  }

  get terms(): string[] {
    return this.model.frame.xNames.slice();
  }

  get thetaNames(): string[] {
    return this.model.thetaNames();
  }

  fit(y: Float64Array, start: number[] | undefined, terms: string[]): ResponseFit {
    const m = fitSharedResponse(this.model, y, start); // y: checked finite, unchanged while m is used
    const out = fitOf(m, terms.length, varPart(m).fractions);
    const beta = m.fixef(), se = m.se();
    const satt = this.ddf === "Satterthwaite" ? satterthwaite(m) : null;
    for (let j = 0; j < terms.length; j++) {
      const name = terms[j];
      if (!(name in beta)) continue;
      out.estimate[j] = beta[name];
      out.stdError[j] = se[name];
      out.statistic[j] = beta[name] / se[name];
      if (satt) {
        out.df[j] = satt.df[name];
        out.pValue[j] = satt.p[name];
      }
    }
    return out;
  }
}

/**
 * A generalized linear mixed model (glmer, or glmerNB with family "nb"): Wald z tests, so the df
 * column is Infinity (the normal is the t distribution with infinite df); no variance fractions
 * (they have no agreed definition on the link scale); σ = 1 as lme4 reports it.
 */
class GlmmDesign implements DesignFit {
  constructor(
    private readonly model: GeneralizedLinearMixedModel,
    private readonly nb: boolean,
  ) {}

  get rows(): Int32Array {
    return this.model.frame.rows;
  }

  get terms(): string[] {
    return this.model.frame.xNames.slice();
  }

  get thetaNames(): string[] {
    return this.model.thetaNames();
  }

  fit(y: Float64Array, start: number[] | undefined, terms: string[]): ResponseFit {
    const theta = start ? { theta: start } : undefined;
    const m = this.nb ? fitNBResponse(this.model, y, { start: theta }) : this.model.fitResponse(y, { start: theta });
    const out: ResponseFit = { ...fitOf(m, terms.length, {}), ...(this.nb ? { nbTheta: m.glmerNBTheta } : {}) };
    const beta = m.fixef(), se = m.se(), z = m.zValues(), p = m.pValues();
    terms.forEach((name, j) => {
      if (!(name in beta)) return;
      out.estimate[j] = beta[name];
      out.stdError[j] = se[name];
      out.df[j] = Infinity;
      out.statistic[j] = z[name];
      out.pValue[j] = p[name];
    });
    return out;
  }
}

/** What every fit reports besides its tests (the test columns start as NaN, filled per term). */
function fitOf(m: LinearMixedModel | GeneralizedLinearMixedModel, J: number, fractions: Record<string, number>): ResponseFit {
  const tests = noTests(J);
  return {
    estimate: tests.estimate,
    stdError: tests.stdError,
    df: tests.df,
    statistic: tests.statistic,
    pValue: tests.pValue,
    theta: m.theta,
    sigma: m.sigma,
    objective: m.objectiveAtOptimum,
    nobs: m.n,
    singular: m.isSingular(),
    converged: m.convergenceWarnings.every((w) => w === SINGULAR_MESSAGE),
    evaluations: m.feval,
    fractions,
    messages: m.warnings,
    error: null,
  };
}

function noTests(J: number): Pick<ResponseFit, "estimate" | "stdError" | "df" | "statistic" | "pValue"> {
  return { estimate: nans(J), stdError: nans(J), df: nans(J), statistic: nans(J), pValue: nans(J) };
}

function nans(J: number): number[] {
  const a = new Array<number>(J);
  for (let j = 0; j < J; j++) a[j] = NaN;
  return a;
}

/** fitMany's family option: "gaussian" (lmer, the default) or a glmer family ("nb": glmerNB). */
export type ManyFamily = "gaussian" | "binomial" | "poisson" | "nb";

const FAMILIES: ManyFamily[] = ["gaussian", "binomial", "poisson", "nb"];
const LINKS: Record<Exclude<ManyFamily, "gaussian">, LinkName[]> = { binomial: ["logit", "probit", "cloglog"], poisson: ["log"], nb: ["log"] };

/** glmer's options from fitMany's, the ones that only make sense for linear models refused by name. */
function glmerOptionsOf(options: ManySpec["options"]): { glmer: GlmerOptions; nb: boolean } {
  const { chunkSize: _c, warmStart: _w, idColumn: _i, family, link, nAGQ, weights, allowNonInteger, separation, REML, ddf, ...rest } = options;
  const fam = family as Exclude<ManyFamily, "gaussian">;
  if (REML) throw new Error(`REML is for linear mixed models: the ${fam} family is fitted by maximum likelihood (Laplace or adaptive Gauss-Hermite)`);
  if (ddf !== undefined) throw new Error(`ddf is for linear mixed models: the ${fam} family's tests are Wald z tests (df = Infinity)`);
  if (link !== undefined && !LINKS[fam].includes(link)) throw new Error(`link '${link}' is not available for the ${fam} family: use ${LINKS[fam].join(", ")}`);
  const { levels, contrasts, optimizer, optCtrl, maxfun, dataName } = rest;
  const glmer: GlmerOptions = {
    family: fam === "nb" ? "poisson" : fam,
    link,
    nAGQ,
    weights,
    allowNonInteger,
    separation,
    levels,
    contrasts,
    optimizer,
    optCtrl,
    maxfun,
    dataName,
  };
  return { glmer, nb: fam === "nb" };
}

/** Checks the family and link options before any design is built. */
function checkFamily(options: FitManyOptions): void {
  const f = options.family ?? "gaussian";
  if (!FAMILIES.includes(f)) throw new Error(`unknown family '${String(f)}' for fitMany: use ${FAMILIES.map((x) => `"${x}"`).join(", ")}`);
  if (f === "gaussian") {
    for (const k of ["link", "nAGQ", "weights", "allowNonInteger", "separation"] as const) {
      if (options[k] !== undefined) throw new Error(`${k} is for generalized models: give family "binomial", "poisson" or "nb"`);
    }
  }
}

/**
 * Fits one response after another on a shared design. Complete responses reuse the design model;
 * a response with missing values is fitted on its own rows (a single fit on that subset), the design
 * of each missing-value pattern built once and kept for the next responses with the same pattern.
 * The family in the spec's options chooses lmer (default) or glmer / glmerNB.
 */
export class ResponseFitter {
  readonly terms: string[];
  readonly thetaNames: string[];
  private readonly base: DesignFit;
  private readonly makeDesign: (table: Table) => DesignFit;
  private readonly subsets = new Map<string, DesignFit>();
  private readonly y: Float64Array;
  /** The design model uses every observation, in order (its rows are 0, 1, ..., nObs − 1). */
  private readonly allRows: boolean;

  constructor(
    kernels: Kernels,
    private readonly spec: ManySpec,
  ) {
    const formula = parseFormula(withPlaceholderResponse(spec.formula));
    const family = spec.options.family ?? "gaussian";
    if (family === "gaussian") {
      const { chunkSize: _c, warmStart: _w, ddf, idColumn: _i, family: _f, ...lmerOptions } = spec.options;
      const dd = ddf ?? "Satterthwaite";
      this.makeDesign = (table) => new LmmDesign(LinearMixedModel.design(kernels, formula, table, lmerOptions), dd);
    } else {
      const { glmer, nb } = glmerOptionsOf(spec.options);
      this.makeDesign = (table) => new GlmmDesign(GeneralizedLinearMixedModel.design(kernels, formula, table, glmer), nb);
    }
    this.base = this.makeDesign(withResponseColumn(spec.design, new Float64Array(spec.design.nrow)));
    this.terms = this.base.terms;
    this.thetaNames = this.base.thetaNames;
    this.y = new Float64Array(this.base.rows.length);
    const rows = this.base.rows;
    this.allRows = rows.length === spec.design.nrow && rows.every((r, i) => r === i);
  }

  /** Observations (design rows) the model uses, after dropping rows with missing covariates. */
  get rows(): Int32Array {
    return this.base.rows;
  }

  /** Fits one response given over all observations (NaN = missing); errors become the result's error. */
  fit(yAll: Float64Array, start?: number[]): ResponseFit {
    try {
      const rows = this.base.rows;
      // Every observation a design row (no covariate missing) and every value finite: y is yAll itself.
      if (this.allRows && yAll.length === rows.length && allFinite(yAll)) return this.base.fit(yAll, start, this.terms);
      const missing: number[] = [];
      for (let i = 0; i < rows.length; i++) {
        const v = yAll[rows[i]];
        if (Number.isFinite(v)) this.y[i] = v;
        else missing.push(i);
      }
      if (missing.length === 0) return this.base.fit(this.y, start, this.terms);
      const design = this.subsetDesign(missing);
      // The subset table holds the kept rows in order; its frame's rows index into them.
      const miss = new Set(missing);
      const kept = Array.from(rows).filter((_, i) => !miss.has(i));
      const y = Float64Array.from(design.rows, (k) => yAll[kept[k]]);
      return design.fit(y, start, this.terms);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // The placeholder's name means nothing to the caller (glmer's checks quote it deparsed, in backticks).
      return this.failed(msg.replaceAll(`'${RESPONSE}' `, "").replaceAll(`'\`${RESPONSE}\`' `, ""));
    }
  }

  private subsetDesign(missing: number[]): DesignFit {
    const key = missing.join(",");
    const hit = this.subsets.get(key);
    if (hit) return hit;
    if (this.subsets.size >= 16) this.subsets.delete(this.subsets.keys().next().value as string);
    const miss = new Set(missing);
    const kept = Array.from(this.base.rows).filter((_, i) => !miss.has(i));
    const d = this.makeDesign(withResponseColumn(subsetTable(this.spec.design, kept), new Float64Array(kept.length)));
    this.subsets.set(key, d);
    return d;
  }

  private failed(error: string): ResponseFit {
    return {
      ...noTests(this.terms.length),
      theta: new Array<number>(this.thetaNames.length).fill(NaN),
      sigma: NaN, objective: NaN, nobs: 0, singular: false, converged: false, evaluations: 0,
      fractions: {}, messages: [], error,
      ...(this.spec.options.family === "nb" ? { nbTheta: NaN } : {}),
    };
  }

  /**
   * A chunk of responses, `values` holding `count` responses of nObs values each (response-major).
   * Each response starts at the spec's start; with warmStart at the previous successful one's θ̂ in
   * this chunk.
   */
  fitChunk(values: Float64Array, count: number, nObs: number, warmStart: boolean): ResponseFit[] {
    const out: ResponseFit[] = [];
    let start = this.spec.options.start;
    for (let r = 0; r < count; r++) {
      const f = this.fit(values.subarray(r * nObs, (r + 1) * nObs), start);
      if (f.error === null && warmStart) start = f.theta;
      out.push(f);
    }
    return out;
  }
}

function allFinite(y: Float64Array): boolean {
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i])) return false;
  return true;
}

function withResponseColumn(design: Table, y: Float64Array): Table {
  const columns = new Map(design.columns);
  columns.set(RESPONSE, { type: "numeric", values: y });
  return { names: [...design.names, RESPONSE], nrow: design.nrow, columns };
}

/** A pool of workers that fit chunks (Node's worker_threads or the browser's Web Workers). */
export interface ManyWorkerPool {
  readonly size: number;
  /** A worker failed: the pool is not reused. */
  readonly failed: boolean;
  /** Kept for the next call: idle workers must not keep the process alive. */
  park(): void;
  /** Starts the workers with the spec; rejects with the first worker's construction error. */
  init(spec: ManySpec, engineBytes: Uint8Array | null): Promise<void>;
  /** Fits a chunk on some idle worker. */
  fitChunk(values: Float64Array, count: number, nObs: number, warmStart: boolean): Promise<ResponseFit[]>;
  close(): Promise<void>;
  /** Chunks each worker is sent at once (default 1): more keep it busy while this thread fits. */
  readonly depth?: number;
  /** Starts the workers' threads before init, so they load their code while the design is built. */
  prestart?(): void;
}

export interface ManyWorkerPlatform {
  /** Number of cores (the default thread count). */
  cores(): number;
  create(threads: number): ManyWorkerPool;
}

let platform: ManyWorkerPlatform | null = null;
/** The workers of the last call, kept warm for the next one (see ManyPool). */
let parked: ManyWorkerPool | null = null;

function acquirePool(size: number): ManyWorkerPool {
  if (parked && parked.size === size) {
    const p = parked;
    parked = null;
    return p;
  }
  return platform!.create(size);
}

function parkPool(pool: ManyWorkerPool): void {
  if (pool.failed) {
    void pool.close();
    return;
  }
  if (parked) void parked.close();
  pool.park();
  parked = pool;
}

/** Terminates the workers fitMany keeps between calls (they do not keep Node running in any case). */
export async function closeManyWorkers(): Promise<void> {
  const p = parked;
  parked = null;
  await p?.close();
}

/** Registers the platform's workers (src/node.ts does for Node's worker_threads). */
export function registerManyWorkers(p: ManyWorkerPlatform | null): void {
  if (p !== platform) void closeManyWorkers();
  platform = p;
}

/** The fitter in a worker: kernels of the named build, from the bytes the main thread sent. */
export async function fitterFromSpec(spec: ManySpec, bytes: Uint8Array | null): Promise<ResponseFitter> {
  const kernels = spec.engineName === "ts" ? new TsKernels() : await instantiateKernels(spec.engineName as "wasm-simd" | "wasm-scalar", bytes as Uint8Array<ArrayBuffer>);
  return new ResponseFitter(kernels, spec);
}

/**
 * fitMany(formula, design, Y): the mixed model `formula` (one-sided, `~ condition + (1|donor)`, or with
 * a plain name on the left) fitted to every response (row) of Y, with the design table's rows
 * describing Y's observations. Per response and fixed-effect term: estimate, SE, Satterthwaite df,
 * t and p, with Benjamini-Hochberg adjusted p across responses; per response θ, σ, the objective,
 * variance fractions and singular / convergence flags. With `family` (binomial, poisson, nb) every
 * response is a glmer / glmerNB fit instead: Wald z tests (df Infinity), the objective −2 log L,
 * no variance fractions, and for "nb" each response's θ (ManyResults.nbTheta). See FitManyOptions.
 * Y is a matrix in memory or a ResponseSource read a block at a time (a file larger than memory):
 * blocks are read only as lanes free up, and the results are the same as for the matrix.
 */
export async function fitMany(
  formula: string,
  design: DataInput | Table,
  Y: ResponseMatrix | ResponseSource,
  options: FitManyOptions = {},
): Promise<ManyResults> {
  const t0 = performance.now();
  const source = isResponseSource(Y) ? Y : checkedMatrixSource(Y);
  checkFamily(options);
  const { threads: threadsOpt, onProgress, engine = "auto", mainThread: _m, ...rest } = options;
  const chunkSize = rest.chunkSize ?? 32;
  if (!(Number.isInteger(chunkSize) && chunkSize > 0)) throw new Error(`chunkSize must be a positive integer, got ${rest.chunkSize}`);
  if (threadsOpt !== undefined && !(Number.isInteger(threadsOpt) && threadsOpt > 0)) {
    throw new Error(`threads must be a positive integer, got ${threadsOpt}`);
  }
  const R = source.nResponses, n = source.nObs;
  const threads = platform ? Math.min(threadsOpt ?? platform.cores(), R === undefined ? Infinity : Math.max(1, Math.ceil(R / chunkSize))) : 1;
  const mainThread = options.mainThread ?? true;
  const nWorkers = platform ? (mainThread ? threads - 1 : threads) : 0;
  const pool = nWorkers > 0 ? acquirePool(nWorkers) : null;
  pool?.prestart?.(); // the workers load their code while this thread builds the design
  try {
    const table = alignDesign(toColumns(design, { levels: options.levels }), { obsIds: source.observationIds, nObs: n }, options.idColumn);
    // One fit per lane at a time: the lanes are the threads, so the threads build is not used here.
    const kernels = await loadKernels(engine === "wasm-threads" ? "wasm-simd" : engine, { threads: false });
    const spec: ManySpec = { formula, design: table, options: rest, engineName: kernels.name };
    const fitter = new ResponseFitter(kernels, spec); // validates the formula and design here, before any worker is given it
    const ready = pool ? pool.init(spec, kernels.name === "ts" ? null : await engineBytes(kernels.name as "wasm-simd" | "wasm-scalar")) : Promise.resolve();
    ready.catch(() => {}); // awaited by the worker lanes; here only so an early failure is not unhandled
    const fits: ResponseFit[] = [], names: string[] = [];
    let done = 0, workerChunks = 0;
    // Chunks are taken in order by lanes: this thread is one lane (it starts at once, while the
    // workers load), each worker another. Which lane fits a chunk does not change its results.
    const lanes = { fitter, mainThread, pool, ready, nObs: n, warmStart: rest.warmStart ?? false, yieldBetween: !!(pool || onProgress) };
    await fitOnLanes(fittingChunks(source, chunkSize), lanes, (b, res, byWorker) => {
      res.forEach((f, i) => ((fits[b.from + i] = f), (names[b.from + i] = b.names[i])));
      if (byWorker) workerChunks++;
      done += b.count;
      if (!onProgress) return;
      const elapsedS = (performance.now() - t0) / 1000, total = R ?? NaN;
      onProgress({ done, total, elapsedS, etaS: done > 0 ? (elapsedS / done) * (total - done) : NaN });
    });
    const family = options.family ?? "gaussian";
    // A GLMM's info names its family, link and nAGQ; a linear model's info is as it always was.
    const glmm = family === "gaussian" ? {} : { family, link: options.link ?? LINKS[family][0], nAGQ: options.nAGQ ?? 1 };
    return new ManyResults(names, fitter.terms, fitter.thetaNames, fits, {
      formula,
      REML: family === "gaussian" ? options.REML ?? true : false,
      engine: kernels.name,
      // the lanes these responses could use, also when the source did not announce how many it has
      threads: Math.max(1, Math.min(threads, Math.ceil(fits.length / chunkSize))),
      workerChunks,
      timeS: (performance.now() - t0) / 1000,
      nObs: n,
      ...glmm,
    });
  } finally {
    if (pool) parkPool(pool);
  }
}

/** A matrix checked and read as a source (the names it lacks are numbered as before: "1", "2", ...). */
function checkedMatrixSource(Y: ResponseMatrix): ResponseSource {
  checkResponseMatrix(Y);
  return matrixSource(Y);
}
