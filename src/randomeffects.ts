// The random-effects results both model classes report, from their terms (θ order), Λ_t and b̂:
// lme4's names of θ, VarCorr (Σ_t = σ² λ_t λ_t'), ranef with conditional sds, coef and ngrps.

import { makeUnique } from "./io/names.js";
import type { ReTermData } from "./modelframe.js";
import type { RanefGroup, VarCorrRow, VarCorrTerm } from "./results-types.js";

/** lme4's names of θ: "Subject.(Intercept)", "Subject.Days.(Intercept)", "Subject.Days". */
export function thetaNames(terms: readonly ReTermData[]): string[] {
  const out: string[] = [];
  for (const t of terms) {
    const k = t.names.length;
    for (let c = 0; c < k; c++) {
      for (let r = c; r < k; r++) out.push(r === c ? `${t.group}.${t.names[r]}` : `${t.group}.${t.names[r]}.${t.names[c]}`);
    }
  }
  return out;
}

/** Σ = s² λ λ' for a term's k × k lower-triangular λ (row-major). */
export function termCovariance(lambda: ArrayLike<number>, k: number, s2: number): Float64Array {
  const S = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += lambda[i * k + c] * lambda[j * k + c];
      S[i * k + j] = s2 * s;
    }
  }
  return S;
}

/**
 * s² λ M_j λ' for every level j of a term: M holds the levels' k × k blocks of (Λ'Z'WZΛ + I)⁻¹ (θ's
 * spherical scale), λ the term's lower-triangular k × k factor; the conditional covariances of b.
 */
export function conditionalCovariances(M: Float64Array, lam: ArrayLike<number>, k: number, s2: number): Float64Array {
  const out = new Float64Array(M.length);
  for (let j = 0; j < M.length / (k * k); j++) {
    const o = j * k * k;
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        let s = 0;
        for (let c = 0; c <= a; c++) for (let d = 0; d <= b; d++) s += lam[a * k + c] * M[o + c * k + d] * lam[b * k + d];
        out[o + a * k + b] = s2 * s;
      }
    }
  }
  return out;
}

/** The terms' keys as lme4 prints them: grouping factors made unique ("Subject", "Subject.1" for `(x || Subject)`). */
export function termKeys(terms: readonly ReTermData[]): string[] {
  return makeUnique(terms.map((t) => t.group));
}

/** VarCorr of the random-effects terms (sd and correlation per term; the residual is the model's). */
export function varCorrTerms(terms: readonly ReTermData[], covariances: Float64Array[]): Record<string, VarCorrTerm> {
  const keys = termKeys(terms);
  const out: Record<string, VarCorrTerm> = {};
  terms.forEach((t, ti) => {
    const S = covariances[ti];
    const k = t.names.length;
    const sd = Array.from({ length: k }, (_, i) => Math.sqrt(S[i * k + i]));
    const corr = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : S[i * k + j] / (sd[i] * sd[j]))));
    out[keys[ti]] = { names: [...t.names], sd, corr };
  });
  return out;
}

/** Rows of as.data.frame(VarCorr(fit)) for the terms: variances, then covariances, per term. */
export function varCorrRows(terms: readonly ReTermData[], covariances: Float64Array[]): VarCorrRow[] {
  const keys = termKeys(terms);
  const rows: VarCorrRow[] = [];
  terms.forEach((t, ti) => {
    const S = covariances[ti];
    const k = t.names.length;
    for (let i = 0; i < k; i++) rows.push({ grp: keys[ti], var1: t.names[i], var2: null, vcov: S[i * k + i], sdcor: Math.sqrt(S[i * k + i]) });
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        const v = S[i * k + j];
        rows.push({ grp: keys[ti], var1: t.names[i], var2: t.names[j], vcov: v, sdcor: v / Math.sqrt(S[i * k + i] * S[j * k + j]) });
      }
    }
  });
  return rows;
}

/**
 * lme4's ranef: per grouping factor the levels and, per level, the modes of every term on it (terms of
 * one factor side by side); with the conditional covariances (m × k × k per term) also their sds.
 */
export function ranefGroups(terms: readonly ReTermData[], b: Float64Array[], condVar: Float64Array[] | null): Record<string, RanefGroup> {
  const out: Record<string, RanefGroup> = {};
  terms.forEach((t, ti) => {
    const k = t.names.length;
    let g = out[t.group];
    if (!g) {
      g = { levels: [...t.levels], terms: [], values: t.levels.map(() => []) };
      if (condVar) g.condsd = t.levels.map(() => []);
      out[t.group] = g;
    }
    g.terms.push(...t.names);
    t.levels.forEach((_, j) => {
      for (let c = 0; c < k; c++) {
        g!.values[j].push(b[ti][j * k + c]);
        g!.condsd?.[j].push(Math.sqrt(condVar![ti][j * k * k + c * k + c]));
      }
    });
  });
  return out;
}

/** lme4's coef: each level's fixed effects plus its random effects (e.g. each patient's intercept and slope). */
export function coefGroups(fixef: Record<string, number>, ranef: Record<string, RanefGroup>): Record<string, RanefGroup> {
  const names = Object.keys(fixef);
  const out: Record<string, RanefGroup> = {};
  for (const [g, r] of Object.entries(ranef)) {
    const missing = r.terms.filter((t) => !(t in fixef));
    if (missing.length) {
      throw new Error(`unable to align random and fixed effects: ${missing.map((m) => `'${m}'`).join(", ")} of '${g}' are not fixed effects`);
    }
    out[g] = {
      levels: r.levels,
      terms: names,
      values: r.values.map((row) => names.map((nm) => fixef[nm] + r.terms.reduce((s, t, c) => (t === nm ? s + row[c] : s), 0))),
    };
  }
  return out;
}

/** Number of levels per grouping factor (lme4's ngrps). */
export function groupCounts(terms: readonly ReTermData[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of terms) out[t.group] = t.levels.length;
  return out;
}

/** Terms in θ order: decreasing number of levels, stable (lme4's and MixedModels.jl's order). */
export function orderTerms(terms: readonly ReTermData[]): ReTermData[] {
  return terms
    .map((t, i) => ({ t, i }))
    .sort((a, b) => b.t.levels.length - a.t.levels.length || a.i - b.i)
    .map(({ t }) => t);
}
