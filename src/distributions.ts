// Tail probabilities and quantiles of the t, F and χ² distributions, as R's pt, pf, pchisq, qt.
//
// The p-values of Satterthwaite t and F tests and of likelihood-ratio tests go down to 1e-17 and
// beyond, so upper tails are computed directly through the regularized incomplete beta / gamma
// functions (stdlib's betainc / gammainc with `upper`), never as 1 − cdf, which would lose every
// digit below 1e-16. The case splits are R's (nmath pt.c, pf.c): they keep the argument of the
// incomplete beta function away from 1, where it would round.
// Runtime-neutral: no Node API (the library is bundled for browsers).

import betainc from "@stdlib/math-base-special-betainc";
import erfcinv from "@stdlib/math-base-special-erfcinv";
import gammainc from "@stdlib/math-base-special-gammainc";
import tQuantile from "@stdlib/stats-base-dists-t-quantile";

/** P(χ²_df > x), R's pchisq(x, df, lower.tail = FALSE): the upper regularized gamma Q(df/2, x/2). */
export function pchisqUpper(x: number, df: number): number {
  if (Number.isNaN(x) || Number.isNaN(df) || !(df >= 0)) return NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  if (df === 0) return 0; // point mass at 0
  return gammainc(x / 2, df / 2, true, true);
}

/** P(|T_df| > |t|) = I_{df/(df+t²)}(df/2, 1/2), both tails of the t distribution. */
function ptTwoSided(t: number, df: number): number {
  const t2 = t * t;
  if (t2 === Infinity) return 0;
  // The normal limit: P(|Z| > |t|) = Q(1/2, t²/2).
  if (df === Infinity) return gammainc(t2 / 2, 0.5, true, true);
  // As R's pt: the smaller of x and 1 − x is passed, so neither rounds to 1.
  if (df > t2) return betainc(t2 / (df + t2), 0.5, df / 2, true, true);
  const nx = 1 + (t / df) * t; // 1 + t²/df without overflowing t²
  return betainc(1 / nx, df / 2, 0.5, true, false);
}

/** P(T_df > t), R's pt(t, df, lower.tail = FALSE); df may be non-integer or Infinity (normal). */
export function ptUpper(t: number, df: number): number {
  if (Number.isNaN(t) || Number.isNaN(df) || !(df > 0)) return NaN;
  if (t === 0) return 0.5;
  const both = ptTwoSided(t, df);
  return t > 0 ? both / 2 : 1 - both / 2;
}

/** The two-sided p-value of a t statistic: 2 P(T_df > |t|). */
export function ptTwoTailed(t: number, df: number): number {
  if (Number.isNaN(t) || Number.isNaN(df) || !(df > 0)) return NaN;
  return ptTwoSided(t, df);
}

/** P(F_{df1,df2} > f), R's pf(f, df1, df2, lower.tail = FALSE); df2 = Infinity gives χ²_df1 / df1. */
export function pfUpper(f: number, df1: number, df2: number): number {
  if (Number.isNaN(f) || Number.isNaN(df1) || Number.isNaN(df2) || !(df1 > 0) || !(df2 > 0)) return NaN;
  if (f <= 0) return 1;
  if (f === Infinity) return 0;
  if (df2 === Infinity) {
    if (df1 === Infinity) return f < 1 ? 1 : f > 1 ? 0 : NaN;
    return pchisqUpper(f * df1, df1);
  }
  if (df1 === Infinity) return 1 - pchisqUpper(df2 / f, df2); // F_{∞,df2} = df2 / χ²_df2: lower χ² tail
  // As R's pf: P(F > f) = I_{df2/(df2+df1 f)}(df2/2, df1/2), through whichever argument is below 1/2.
  if (df1 * f > df2) return betainc(df2 / (df2 + df1 * f), df2 / 2, df1 / 2, true, false);
  return betainc((df1 * f) / (df2 + df1 * f), df1 / 2, df2 / 2, true, true);
}

/** The p-quantile of the t distribution, R's qt(p, df) (e.g. qt(0.975, df) for a 95% interval). */
export function qt(p: number, df: number): number {
  if (Number.isNaN(p) || Number.isNaN(df) || !(df > 0) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  // The normal limit, −√2 erfc⁻¹(2p) (stdlib's t quantile has no df = ∞ case).
  if (df === Infinity) return -Math.SQRT2 * erfcinv(2 * p);
  return tQuantile(p, df);
}

/** R's quantile(x, type = 7) of sorted values. */
export function quantile7(sorted: ArrayLike<number>, prob: number): number {
  const h = (sorted.length - 1) * prob;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** The summary's residual quantiles (Min, 1Q, Median, 3Q, Max) of values, as lme4 prints them. */
export function residualQuantiles(values: Float64Array): { Min: number; "1Q": number; Median: number; "3Q": number; Max: number } {
  const r = Float64Array.from(values).sort();
  return { Min: r[0], "1Q": quantile7(r, 0.25), Median: quantile7(r, 0.5), "3Q": quantile7(r, 0.75), Max: r[r.length - 1] };
}
