// The parametric bootstrap of a linear mixed model: lme4's bootMer() and confint(method = "boot").
//
// Each replicate simulates a response from the fitted model (m.simulate: new random effects and
// residuals, lme4's default re.form = NA), refits the model to it (m.refitResponse: only A's y column is
// recomputed and the optimizer starts at θ̂, as lme4's refit(x, newresp)) and evaluates a statistic on
// the refit. Percentile intervals follow boot::boot.ci(type = "perc"), i.e. boot's norm.inter: order
// statistics at (R + 1)α, interpolated on the normal quantile scale between neighbours.
//
// bootMer runs the replicates one after another on the calling thread (in a browser, call it from a
// worker); bootMerAsync (bootstrap-parallel.ts) fits them on fitMany's workers with the same results.
// The random stream is one xoshiro256** sequence: replicate i uses draws i·(q + n) .. (i + 1)·(q + n) − 1
// (q random effects, n residuals; one 64-bit draw per normal deviate), so the responses of replicates
// [a, b) can also be drawn after `rng.skip(a · (q + n))`.
// Runtime-neutral: no Node API.

import { BootTally, checkNsim } from "./bootstrap-tally.js";
import type { LinearMixedModel } from "./linearmixedmodel.js";
import { qnorm, randomSeed, Rng } from "./random.js";

export interface BootMerOptions {
  /** Number of simulations (lme4's nsim). */
  nsim: number;
  /** Seed of the random stream (any safe integer); default a random one, reported in the result. */
  seed?: number;
  /**
   * The statistic of a fitted model (lme4's FUN); default bootParameters(): the sd and correlation
   * parameters of each term, sigma, then the fixed effects, named as confint's rows.
   */
  statistic?: (m: LinearMixedModel) => ArrayLike<number>;
  /** Names of a custom statistic's values (default "t1", "t2", ...). */
  names?: string[];
  /** Simulate conditional on the fitted random effects b̂ (lme4's use.u = TRUE); default false. */
  useREForm?: boolean;
  /** Called after every replicate with (replicates done, nsim). */
  onProgress?: (done: number, total: number) => void;
}

export interface BootMerResult {
  /** The statistic on the original fit. */
  t0: number[];
  /** One row per simulation (views into one buffer); NaN for a replicate whose refit failed. */
  t: Float64Array[];
  names: string[];
  /** Number of replicates whose refit or statistic threw (their rows are NaN), as lme4's bootFail. */
  failures: number;
  /** The failures' error messages with their counts. */
  failureMessages: Record<string, number>;
  /** Warnings of the refits (convergence, singular fits) with their counts, as lme4's bootWarnings. */
  warnings: Record<string, number>;
  nsim: number;
  /** The seed used (the given one, or the random one drawn). */
  seed: number;
}

export interface ConfintRow {
  term: string;
  lower: number;
  upper: number;
}

/**
 * lme4's bootMer(x, FUN, nsim, seed): the statistic on nsim parametric bootstrap refits of m. m itself
 * is not changed and stays usable (its results are kept outside the kernels' arena).
 */
export function bootMer(m: LinearMixedModel, opts: BootMerOptions): BootMerResult {
  const { nsim } = opts;
  checkNsim(nsim);
  const seed = opts.seed ?? randomSeed();
  const rng = new Rng(seed);
  const statistic = opts.statistic ?? bootParameters;
  const t0 = Array.from(statistic(m));
  const names = opts.statistic ? (opts.names ?? t0.map((_, i) => `t${i + 1}`)) : bootParameterNames(m);
  if (names.length !== t0.length) throw new Error(`names has ${names.length} entries but the statistic returns ${t0.length} values`);
  const tally = new BootTally(nsim, t0.length, new Set(m.frame.warnings));
  for (let i = 0; i < nsim; i++) {
    const [ystar] = m.simulate(1, { rng, useREForm: opts.useREForm });
    let value: ArrayLike<number> | null = null;
    try {
      const fit = m.refitResponse(ystar);
      value = statistic(fit);
      tally.warn(fit.warnings);
    } catch (e) {
      tally.fail(i, e instanceof Error ? e.message : String(e));
    }
    if (value !== null) tally.value(i, value);
    opts.onProgress?.(i + 1, nsim);
  }
  return tally.result(t0, names, seed);
}

/**
 * lme4's default bootstrap statistic (confint.merMod's bootFun): per random-effects term (θ order)
 * the standard deviations and correlations of σ²ΛΛ' (lower triangle column by column: sd on the
 * diagonal, cor off it), then sigma, then the fixed effects. Names: bootParameterNames().
 */
export function bootParameters(m: LinearMixedModel): number[] {
  return bootParametersOf(m.reTerms, m.theta, m.sigma, Object.values(m.fixef()));
}

/**
 * bootParameters() from a fit's numbers alone: θ (lme4's order, over `terms`, the model's reTerms),
 * σ and β (fixef()'s order). A fit done in a worker returns just these (bootstrap-parallel.ts).
 */
export function bootParametersOf(terms: readonly { names: readonly string[] }[], theta: ArrayLike<number>, sigma: number, beta: ArrayLike<number>): number[] {
  const out: number[] = [];
  let ti = 0;
  for (const term of terms) {
    const k = term.names.length;
    const lam = new Float64Array(k * k); // lower triangular, row-major
    for (let c = 0; c < k; c++) for (let r = c; r < k; r++) lam[r * k + c] = theta[ti++];
    const cov = (a: number, b: number) => {
      let s = 0;
      for (let c = 0; c <= Math.min(a, b); c++) s += lam[a * k + c] * lam[b * k + c];
      return s;
    };
    for (let c = 0; c < k; c++) {
      for (let r = c; r < k; r++) {
        out.push(r === c ? sigma * Math.sqrt(cov(r, r)) : cov(r, c) / Math.sqrt(cov(r, r) * cov(c, c)));
      }
    }
  }
  out.push(sigma);
  for (let j = 0; j < beta.length; j++) out.push(beta[j]);
  return out;
}

/** The names of bootParameters(), as lme4's confint rows: "sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", ..., "sigma", fixed effects. */
export function bootParameterNames(m: LinearMixedModel): string[] {
  const out: string[] = [];
  for (const term of m.reTerms) {
    const nm = term.names;
    for (let c = 0; c < nm.length; c++) {
      for (let r = c; r < nm.length; r++) out.push(r === c ? `sd_${nm[r]}|${term.group}` : `cor_${nm[r]}.${nm[c]}|${term.group}`);
    }
  }
  out.push("sigma");
  out.push(...Object.keys(m.fixef()));
  return out;
}

/**
 * The percentile interval of bootstrap values at confidence `level`, as boot::boot.ci(type = "perc")
 * (boot's norm.inter): non-finite values (failed replicates) are dropped; with R values sorted and
 * α = (1 ∓ level)/2, the endpoint is the order statistic k = (R + 1)α when that is an integer, else
 * t(k) + (Φ⁻¹(α) − Φ⁻¹(k/(R+1))) / (Φ⁻¹((k+1)/(R+1)) − Φ⁻¹(k/(R+1))) · (t(k+1) − t(k)) with k = ⌊(R + 1)α⌋,
 * and the extreme values when k = 0 or k = R. NaN when no value is finite.
 */
export function percentileInterval(values: ArrayLike<number>, level = 0.95): { lower: number; upper: number } {
  if (!(level > 0 && level < 1)) throw new Error(`level must be between 0 and 1, got ${level}`);
  let R = 0;
  const t = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) t[R++] = values[i];
  const s = t.subarray(0, R).sort();
  const at = (alpha: number): number => {
    if (R === 0) return NaN;
    const rk = (R + 1) * alpha;
    const k = Math.trunc(rk);
    if (k === 0) return s[0];
    if (k >= R) return s[R - 1];
    if (k === rk) return s[k - 1];
    const q = qnorm(alpha), qk = qnorm(k / (R + 1)), qk1 = qnorm((k + 1) / (R + 1));
    return s[k - 1] + ((q - qk) / (qk1 - qk)) * (s[k] - s[k - 1]);
  };
  return { lower: at((1 - level) / 2), upper: at((1 + level) / 2) };
}

/** lme4's confint(<bootMer>, level, type = "perc"): a percentile interval per statistic. */
export function confintBootMer(b: BootMerResult, opts: { level?: number; type?: "perc" } = {}): ConfintRow[] {
  const level = opts.level ?? 0.95;
  checkBootType(opts.type);
  const col = new Float64Array(b.t.length);
  return b.names.map((term, j) => {
    for (let i = 0; i < b.t.length; i++) col[i] = b.t[i][j];
    return { term, ...percentileInterval(col, level) };
  });
}

/**
 * lme4's confint(m, method = "boot", boot.type = "perc", nsim, seed): parametric bootstrap percentile
 * intervals of the sd/cor parameters, sigma and the fixed effects (rows named as confint's).
 */
export function confintBoot(
  m: LinearMixedModel,
  opts: { nsim?: number; seed?: number; level?: number; type?: "perc"; onProgress?: (done: number, total: number) => void } = {},
): ConfintRow[] {
  checkBootType(opts.type);
  const b = bootMer(m, { nsim: opts.nsim ?? 500, seed: opts.seed, onProgress: opts.onProgress });
  return bootIntervals(b, { level: opts.level, type: opts.type });
}

/** confint's rows from bootMer's replicates; every replicate failed is an error, as in lme4. */
export function bootIntervals(b: BootMerResult, opts: { level?: number; type?: "perc" } = {}): ConfintRow[] {
  if (b.failures === b.nsim) throw new Error(`*all* bootstrap runs failed: ${Object.keys(b.failureMessages).join("; ")}`);
  return confintBootMer(b, opts);
}

/** The interval types available (boot.ci's "perc" only, so far). */
export function checkBootType(type: string | undefined): void {
  if (type !== undefined && type !== "perc") throw new Error(`bootstrap interval type '${type}' is not available yet: use "perc"`);
}
