// The response of a generalized linear mixed model as R's family initialize expressions and lme4's
// mkRespMod make it, with the checks glmer applies (and a few it only warns about, here errors):
// binomial proportions y with the trials as weights (cbind(successes, failures), a 0/1, logical or
// two-level factor response, or proportions with weights), Poisson and negative binomial counts.

import type { Family } from "./family.js";
import type { ModelFrame } from "./modelframe.js";

export interface GlmResponse {
  /** Proportion (binomial) or count. */
  y: Float64Array;
  /** Binomial trials of a cbind response, else 1 (R's n, used by the binomial's log-likelihood). */
  n: Float64Array;
  /** Prior weights as glmer holds them: for cbind the trials times the weights. */
  wt: Float64Array;
}

export interface ResponseOptions {
  /** Accept non-integer counts (Poisson, negative binomial) and non-integer numbers of successes (binomial). */
  allowNonInteger?: boolean;
}

/** R's test for a non-integer count: more than 0.001 from the nearest integer. */
const nonInteger = (v: number) => Math.abs(v - Math.round(v)) > 1e-3;

/** Row of the caller's data (1-based) for row i of the frame. */
const dataRow = (frame: ModelFrame, i: number) => frame.rows[i] + 1;

/** The response of the frame for the family, checked against the family's support. */
export function glmResponse(frame: ModelFrame, family: Family, opts: ResponseOptions = {}): GlmResponse {
  const nobs = frame.n;
  const prior = frame.weights ?? new Float64Array(nobs).fill(1);
  for (let i = 0; i < nobs; i++) {
    if (!(prior[i] >= 0)) throw new Error(`weights must be non-negative: row ${dataRow(frame, i)} has weight ${prior[i]}`);
  }
  const name = frame.responseName;
  let out: GlmResponse;
  if (family.name === "binomial") out = binomialResponse(frame, prior, opts);
  else {
    if (frame.yFailures) throw new Error(`a two-column cbind() response is for the binomial family, not ${family.label}`);
    if (frame.responseLevels) {
      throw new Error(`response '${name}' is a factor (levels ${frame.responseLevels.join(", ")}): the ${family.label} family needs counts`);
    }
    const y = frame.y;
    for (let i = 0; i < nobs; i++) {
      if (y[i] < 0) throw new Error(`negative values are not allowed for the ${family.label} family: '${name}' is ${y[i]} in row ${dataRow(frame, i)}`);
      if (!opts.allowNonInteger && nonInteger(y[i])) {
        throw new Error(
          `the ${family.label} family needs integer counts: '${name}' is ${y[i]} in row ${dataRow(frame, i)} ` +
            `(allowNonInteger: true fits non-integer responses with the continuous extension of the likelihood)`,
        );
      }
    }
    out = { y: Float64Array.from(y), n: new Float64Array(nobs).fill(1), wt: Float64Array.from(prior) };
  }
  checkNotConstant(out.y, name);
  return out;
}

function binomialResponse(frame: ModelFrame, prior: Float64Array, opts: ResponseOptions): GlmResponse {
  const nobs = frame.n;
  const name = frame.responseName;
  const y = new Float64Array(nobs);
  const n = new Float64Array(nobs).fill(1);
  const wt = Float64Array.from(prior);
  if (frame.yFailures) {
    // cbind(successes, failures): y = successes / trials, weights × trials (binomial()$initialize).
    const s = frame.y, f = frame.yFailures;
    for (let i = 0; i < nobs; i++) {
      if (s[i] < 0 || f[i] < 0) {
        throw new Error(`${name}: counts must be non-negative, row ${dataRow(frame, i)} has ${s[i]} successes and ${f[i]} failures`);
      }
      if (!opts.allowNonInteger && (nonInteger(s[i]) || nonInteger(f[i]))) {
        throw new Error(`${name}: counts must be integers, row ${dataRow(frame, i)} has ${s[i]} successes and ${f[i]} failures`);
      }
      n[i] = s[i] + f[i];
      y[i] = n[i] === 0 ? 0 : s[i] / n[i];
      wt[i] = prior[i] * n[i];
    }
    return { y, n, wt };
  }
  if (frame.responseLevels && frame.responseLevels.length > 2) {
    throw new Error(
      `response '${name}' is a factor with ${frame.responseLevels.length} levels (${frame.responseLevels.join(", ")}): ` +
        `a binomial response needs two (the first is failure)`,
    );
  }
  for (let i = 0; i < nobs; i++) {
    const v = prior[i] === 0 ? 0 : frame.y[i];
    if (!(v >= 0 && v <= 1)) {
      throw new Error(
        `binomial response '${name}' must be 0/1 or a proportion in [0, 1]: it is ${frame.y[i]} in row ${dataRow(frame, i)} ` +
          `(for counts use cbind(successes, failures), or proportions with the number of trials as weights)`,
      );
    }
    if (!opts.allowNonInteger && nonInteger(v * prior[i])) {
      throw new Error(
        `binomial response '${name}': ${v} × weight ${prior[i]} in row ${dataRow(frame, i)} is not a whole number of successes ` +
          `(give proportions with the number of trials as weights, or use cbind(successes, failures))`,
      );
    }
    y[i] = v;
  }
  return { y, n, wt };
}

/** lme4's check.response.not.const. */
function checkNotConstant(y: Float64Array, name: string): void {
  for (let i = 1; i < y.length; i++) if (y[i] !== y[0]) return;
  throw new Error(`the response '${name}' is constant (${y[0]} in every row): there is nothing to model`);
}
