// Predictions of a fitted linear mixed model, as lme4's predict(fit, newdata, re.form, allow.new.levels):
// Xβ̂ (+ offset) at the population level, plus Zb̂ conditional on the random effects. New data is coded
// exactly as the fitting data (modelframe.ts, newdataMatrices).

import type { DataInput, Table } from "./data.js";
import type { LinearMixedModel } from "./linearmixedmodel.js";
import { newdataMatrices } from "./modelframe.js";

export interface PredictOptions {
  /**
   * "all" (default): conditional on all random effects (lme4's re.form = NULL); "none": population
   * level, Xβ̂ + offset (re.form = NA or ~0).
   */
  reForm?: "all" | "none";
  /**
   * A level of a grouping factor that the fit did not have: with true its random effects are 0 (the
   * prediction is the population's); otherwise it is an error (lme4's allow.new.levels).
   */
  allowNewLevels?: boolean;
}

/**
 * Predictions of the model. Without newdata: the fitted values (reForm "all") or Xβ̂ + offset
 * (reForm "none") of the rows used by the fit. With newdata (columns, row objects, an Arrow table or
 * a Table; the response is not needed): one value per row, NaN where a variable the model needs is
 * missing (R's na.pass). The new data is never modified.
 */
export function predict(m: LinearMixedModel, newdata?: DataInput | Table, opts: PredictOptions = {}): Float64Array {
  const reForm = opts.reForm ?? "all";
  if (reForm !== "all" && reForm !== "none") throw new Error(`reForm must be "all" or "none", got ${JSON.stringify(reForm)}`);
  const fe = m.fixef();
  const beta = m.frame.xNames.map((nm) => fe[nm]);
  if (newdata === undefined || newdata === null) {
    if (reForm === "all") return m.fitted();
    return linearPredictor(m.frame.X, beta, m.frame.offset, m.frame.n);
  }

  const nd = newdataMatrices(m.formula, m.frame, newdata, { random: reForm === "all" });
  const out = linearPredictor(nd.X, beta, nd.offset, nd.n);
  if (reForm === "all") {
    // Terms in θ order (as fitted() adds them); nd.reTerms follows the frame's (formula) order.
    const terms = m.reTerms.map((t) => {
      const i = m.frame.reTerms.indexOf(t);
      if (i < 0) throw new Error(`internal: random term (${t.label}) is not among the model frame's terms`);
      return nd.reTerms[i];
    });
    if (!opts.allowNewLevels) checkNoNewLevels(terms);
    const b = m.ranefByTerm();
    terms.forEach((t, ti) => {
      const k = m.reTerms[ti].names.length;
      const bt = b[ti];
      for (let r = 0; r < nd.n; r++) {
        const j = t.refs[r];
        if (j < 0) continue; // a new level (random effect 0) or a missing row (NaN already)
        for (let c = 0; c < k; c++) out[r] += t.Z[r * k + c] * bt[j * k + c];
      }
    });
  }
  for (let r = 0; r < nd.n; r++) if (nd.missing[r]) out[r] = NaN;
  return out;
}

/** offset + Xβ, with fitted()'s order of operations. */
function linearPredictor(X: Float64Array, beta: number[], offset: Float64Array | null, n: number): Float64Array {
  const p = beta.length;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = offset ? offset[r] : 0;
    for (let c = 0; c < p; c++) s += X[r * p + c] * beta[c];
    out[r] = s;
  }
  return out;
}

function checkNoNewLevels(terms: { group: string; newLevels: string[] }[]): void {
  const byGroup = new Map<string, Set<string>>();
  for (const t of terms) {
    if (t.newLevels.length === 0) continue;
    const seen = byGroup.get(t.group) ?? new Set<string>();
    for (const l of t.newLevels) seen.add(l);
    byGroup.set(t.group, seen);
  }
  if (byGroup.size === 0) return;
  const list = [...byGroup].map(([g, set]) => {
    const levels = [...set];
    const shown = levels.slice(0, 10).map((l) => `'${l}'`).join(", ") + (levels.length > 10 ? `, ... (${levels.length} in all)` : "");
    return `grouping factor '${g}': ${shown}`;
  });
  throw new Error(
    `new levels detected in newdata: ${list.join("; ")} ` +
      `(use allowNewLevels: true to predict them at the population level, random effects 0)`,
  );
}

