// The results of a many-response fit (fitMany) as one columnar table: per response and fixed-effect
// term the estimate and its Satterthwaite test (a GLMM's: its Wald z test, df Infinity), per response
// θ, σ, the objective, variance fractions (none for GLMMs), the negative binomial θ (family "nb") and
// flags; Benjamini-Hochberg adjusted p-values across responses.

/** One response's fit, as a worker returns it (plain data, structured-clone friendly). */
export interface ResponseFit {
  /**
   * Per term of ManyResults.terms (NaN where this response's fit lacks the term). For GLMMs `statistic`
   * is the Wald z, `pValue` 2Φ(−|z|) and `df` Infinity (the normal reference distribution).
   */
  estimate: number[];
  stdError: number[];
  df: number[];
  statistic: number[];
  pValue: number[];
  theta: number[];
  sigma: number;
  objective: number;
  nobs: number;
  singular: boolean;
  converged: boolean;
  evaluations: number;
  /** Fraction of variance per component (variancePartition's calcVarPart), by component name. */
  fractions: Record<string, number>;
  /** Convergence and frame warnings, as the single fit reports them. */
  messages: string[];
  /** Why the response could not be fitted (then every number is NaN). */
  error: string | null;
  /** Negative binomial fits (family "nb"): the response's estimated θ (glmer.nb's theta). */
  nbTheta?: number;
}

/**
 * Benjamini-Hochberg adjusted p-values (R's p.adjust(p, "BH")): p_(i) · m / i, made monotone from the
 * largest down and capped at 1. NaN entries are left out (m counts the others) and stay NaN, as R's NA.
 */
export function pAdjustBH(p: ArrayLike<number>): Float64Array {
  const out = new Float64Array(p.length).fill(NaN);
  const idx: number[] = [];
  for (let i = 0; i < p.length; i++) if (!Number.isNaN(p[i])) idx.push(i);
  idx.sort((a, b) => p[b] - p[a] || b - a);
  const m = idx.length;
  let running = Infinity;
  idx.forEach((i, k) => {
    const rank = m - k; // rank of p[i] among the m, 1 = smallest
    running = Math.min(running, (p[i] * m) / rank);
    out[i] = Math.min(1, running);
  });
  return out;
}

/** A row of the tidy results table (the CLI's results.csv), one per response and term. */
export interface ManyRow {
  response: string;
  term: string;
  estimate: number;
  std_error: number;
  df: number;
  statistic: number;
  p_value: number;
  p_adjusted: number;
  sigma: number;
  singular: boolean;
}

export class ManyResults {
  /** nResponses × nTerms, response-major: element (r, j) at r·nTerms + j. */
  readonly estimate: Float64Array;
  readonly stdError: Float64Array;
  readonly df: Float64Array;
  readonly statistic: Float64Array;
  readonly pValue: Float64Array;
  /** Benjamini-Hochberg over responses, per term. */
  readonly pAdjusted: Float64Array;
  readonly sigma: Float64Array;
  readonly objective: Float64Array;
  readonly nobs: Int32Array;
  readonly evaluations: Int32Array;
  readonly singular: Uint8Array;
  readonly converged: Uint8Array;
  /** nResponses × thetaNames.length. */
  readonly theta: Float64Array;
  /** Variance components (random-effect terms, fixed-effect terms, "Residuals"), nResponses × components.length. */
  readonly components: string[];
  readonly varFractions: Float64Array;
  readonly messages: string[][];
  readonly errors: (string | null)[];
  /** Per response, the negative binomial θ of family "nb" fits (NaN otherwise). */
  readonly nbTheta: Float64Array;

  constructor(
    readonly responses: string[],
    readonly terms: string[],
    readonly thetaNames: string[],
    fits: ResponseFit[],
    /** threads: lanes used; workerChunks: chunks fitted by workers rather than the calling thread. */
    /** family, link, nAGQ: GLMM fits only (fitMany's family option); a linear model's info has none. */
    readonly info: {
      formula: string; REML: boolean; engine: string; threads: number; workerChunks: number; timeS: number; nObs: number;
      family?: string; link?: string; nAGQ?: number;
    },
  ) {
    const R = responses.length, J = terms.length, T = thetaNames.length;
    if (fits.length !== R) throw new Error(`internal: ${fits.length} fits for ${R} responses`);
    const mat = (pick: (f: ResponseFit) => number[]) => {
      const a = new Float64Array(R * J);
      fits.forEach((f, r) => a.set(pick(f), r * J));
      return a;
    };
    this.estimate = mat((f) => f.estimate);
    this.stdError = mat((f) => f.stdError);
    this.df = mat((f) => f.df);
    this.statistic = mat((f) => f.statistic);
    this.pValue = mat((f) => f.pValue);
    this.pAdjusted = new Float64Array(R * J);
    const pj = new Float64Array(R);
    for (let j = 0; j < J; j++) {
      for (let r = 0; r < R; r++) pj[r] = this.pValue[r * J + j];
      const adj = pAdjustBH(pj);
      for (let r = 0; r < R; r++) this.pAdjusted[r * J + j] = adj[r];
    }
    this.sigma = Float64Array.from(fits, (f) => f.sigma);
    this.objective = Float64Array.from(fits, (f) => f.objective);
    this.nobs = Int32Array.from(fits, (f) => f.nobs);
    this.evaluations = Int32Array.from(fits, (f) => f.evaluations);
    this.singular = Uint8Array.from(fits, (f) => (f.singular ? 1 : 0));
    this.converged = Uint8Array.from(fits, (f) => (f.converged ? 1 : 0));
    this.theta = new Float64Array(R * T).fill(NaN);
    fits.forEach((f, r) => {
      if (f.theta.length === T) this.theta.set(f.theta, r * T);
    });
    const comps: string[] = [];
    const seen = new Set<string>();
    for (const f of fits) {
      for (const k of Object.keys(f.fractions)) {
        if (!seen.has(k)) {
          seen.add(k);
          comps.push(k);
        }
      }
    }
    this.components = comps;
    const C = comps.length;
    this.varFractions = new Float64Array(R * C).fill(NaN);
    for (let r = 0; r < R; r++) {
      const fr = fits[r].fractions;
      for (let j = 0; j < C; j++) this.varFractions[r * C + j] = fr[comps[j]] ?? NaN;
    }
    this.messages = fits.map((f) => f.messages);
    this.errors = fits.map((f) => f.error);
    this.nbTheta = Float64Array.from(fits, (f) => f.nbTheta ?? NaN);
  }

  get nResponses(): number {
    return this.responses.length;
  }

  /** The tidy table: one row per response and fixed-effect term. */
  rows(): ManyRow[] {
    const J = this.terms.length;
    const out: ManyRow[] = [];
    this.responses.forEach((response, r) => {
      this.terms.forEach((term, j) => {
        const k = r * J + j;
        out.push({
          response,
          term,
          estimate: this.estimate[k],
          std_error: this.stdError[k],
          df: this.df[k],
          statistic: this.statistic[k],
          p_value: this.pValue[k],
          p_adjusted: this.pAdjusted[k],
          sigma: this.sigma[r],
          singular: this.singular[r] === 1,
        });
      });
    });
    return out;
  }

  /**
   * Per response: σ, objective, flags, evaluations, θ (columns theta_<lme4 name>), variance fractions
   * (columns varfrac_<component>; none for GLMMs), the negative binomial θ (nb_theta, family "nb"
   * only), the fit's warnings (joined by "; ") and the error if the response could not be fitted.
   */
  responseRows(): Record<string, string | number | boolean>[] {
    const T = this.thetaNames.length, C = this.components.length;
    return this.responses.map((response, r) => {
      const row: Record<string, string | number | boolean> = {
        response,
        nobs: this.nobs[r],
        sigma: this.sigma[r],
        objective: this.objective[r],
        singular: this.singular[r] === 1,
        converged: this.converged[r] === 1,
        evaluations: this.evaluations[r],
      };
      this.thetaNames.forEach((name, t) => (row[`theta_${name}`] = this.theta[r * T + t]));
      this.components.forEach((name, c) => (row[`varfrac_${name}`] = this.varFractions[r * C + c]));
      if (this.info.family === "nb") row.nb_theta = this.nbTheta[r];
      row.warnings = this.messages[r].join("; ");
      row.error = this.errors[r] ?? "";
      return row;
    });
  }

  /** How many responses, fitted, failed, singular, not converged, and significant at FDR `alpha` per term. */
  counts(alpha = 0.05): { responses: number; fitted: number; failed: number; singular: number; notConverged: number; significant: Record<string, number> } {
    const J = this.terms.length;
    const significant: Record<string, number> = {};
    this.terms.forEach((t, j) => {
      let c = 0;
      for (let r = 0; r < this.nResponses; r++) if (this.pAdjusted[r * J + j] < alpha) c++;
      significant[t] = c;
    });
    const failed = this.errors.filter((e) => e !== null).length;
    let singular = 0, notConverged = 0;
    for (let r = 0; r < this.nResponses; r++) {
      if (this.errors[r] !== null) continue;
      singular += this.singular[r];
      notConverged += 1 - this.converged[r];
    }
    return { responses: this.nResponses, fitted: this.nResponses - failed, failed, singular, notConverged, significant };
  }

  /** Plain JSON: the info, the tidy rows and the per-response rows (NaN as null). */
  toJSON(): { info: ManyResults["info"]; terms: string[]; thetaNames: string[]; components: string[]; results: ManyRow[]; responses: Record<string, unknown>[] } {
    return {
      info: this.info,
      terms: this.terms,
      thetaNames: this.thetaNames,
      components: this.components,
      results: this.rows(),
      responses: this.responseRows(),
    };
  }
}
