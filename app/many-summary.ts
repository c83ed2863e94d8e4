// What the page shows of a many-response fit, computed from its columns: the top responses per term,
// the volcano plot's points and the p-value histogram's bins. Pure functions (no DOM, no Plot), so the
// tests compute the same things from a fitMany result in Node.

/** The columns of a many-response result these need (ManyResults and the worker's ManyResultData have them). */
export interface ManyColumns {
  responses: readonly string[];
  terms: readonly string[];
  estimate: ArrayLike<number>;
  stdError: ArrayLike<number>;
  df: ArrayLike<number>;
  statistic: ArrayLike<number>;
  pValue: ArrayLike<number>;
  pAdjusted: ArrayLike<number>;
}

/** FDR level of the highlighted points and the "significant" counts. */
export const FDR = 0.05;
/** Bins of the p-value histogram (width 0.05). */
export const P_BINS = 20;
/** Volcano points labelled with their response name. */
export const VOLCANO_LABELS = 5;

/** One row of the results table: a response's test of a term. */
export interface TermRow {
  response: string;
  term: string;
  estimate: number;
  stdError: number;
  df: number;
  statistic: number;
  p: number;
  pAdjusted: number;
}

function termIndex(r: ManyColumns, term: string): number {
  const j = r.terms.indexOf(term);
  if (j < 0) throw new Error(`internal: no term '${term}' in the results (terms: ${r.terms.join(", ")})`);
  return j;
}

function rowOf(r: ManyColumns, i: number, j: number): TermRow {
  const k = i * r.terms.length + j;
  return {
    response: r.responses[i],
    term: r.terms[j],
    estimate: r.estimate[k],
    stdError: r.stdError[k],
    df: r.df[k],
    statistic: r.statistic[k],
    p: r.pValue[k],
    pAdjusted: r.pAdjusted[k],
  };
}

/** Responses in order of the term's p-value, smallest first (ties in the matrix's order; no p last). */
export function rankByP(r: ManyColumns, term: string): number[] {
  const j = termIndex(r, term), J = r.terms.length;
  const p = (i: number) => {
    const v = r.pValue[i * J + j];
    return Number.isNaN(v) ? Infinity : v;
  };
  return Array.from(r.responses, (_, i) => i).sort((a, b) => p(a) - p(b) || a - b);
}

/** The term's `n` responses with the smallest p-values. */
export function topRows(r: ManyColumns, term: string, n: number): TermRow[] {
  const j = termIndex(r, term);
  return rankByP(r, term)
    .slice(0, n)
    .map((i) => rowOf(r, i, j))
    .filter((row) => !Number.isNaN(row.p));
}

/** The terms in the order the page lists them: the model's, the intercept (rarely of interest) last. */
export function displayTerms(terms: readonly string[]): string[] {
  return [...terms.filter((t) => t !== "(Intercept)"), ...terms.filter((t) => t === "(Intercept)")];
}

export interface VolcanoData {
  response: string[];
  estimate: Float64Array;
  /** −log10 p; p = 0 (below the smallest double) is drawn at the largest finite value seen. */
  mlog10p: Float64Array;
  significant: Uint8Array;
  /** Indices (into these arrays) of the labelled points: the smallest p-values. */
  labelled: number[];
  /** −log10 of the largest p-value still significant at the FDR level (the BH cut), or null if none is. */
  cut: number | null;
}

/** The volcano plot of a term: every response with an estimate and a p-value. */
export function volcanoData(r: ManyColumns, term: string, labels = VOLCANO_LABELS): VolcanoData {
  const j = termIndex(r, term), J = r.terms.length;
  const keep: number[] = [];
  r.responses.forEach((_, i) => {
    const k = i * J + j;
    if (Number.isFinite(r.estimate[k]) && !Number.isNaN(r.pValue[k])) keep.push(i);
  });
  const p = keep.map((i) => r.pValue[i * J + j]);
  const finite = p.filter((v) => v > 0).map((v) => -Math.log10(v));
  const top = finite.length ? Math.max(...finite) : 1;
  let cutP = -Infinity;
  const significant = Uint8Array.from(keep, (i, n) => {
    const sig = r.pAdjusted[i * J + j] < FDR;
    if (sig) cutP = Math.max(cutP, p[n]);
    return sig ? 1 : 0;
  });
  const order = keep.map((_, n) => n).sort((a, b) => p[a] - p[b] || a - b);
  return {
    response: keep.map((i) => r.responses[i]),
    estimate: Float64Array.from(keep, (i) => r.estimate[i * J + j]),
    mlog10p: Float64Array.from(p, (v) => (v > 0 ? -Math.log10(v) : top)),
    significant,
    labelled: order.slice(0, labels),
    cut: cutP > 0 ? -Math.log10(cutP) : null,
  };
}

export interface PHistogram {
  x1: Float64Array;
  x2: Float64Array;
  count: Float64Array;
  /** p-values counted (NaN ones are not). */
  n: number;
}

/** Counts of the term's p-values in `bins` equal bins [b/bins, (b+1)/bins) of [0, 1], p = 1 in the last. */
export function pHistogram(r: ManyColumns, term: string, bins = P_BINS): PHistogram {
  const j = termIndex(r, term), J = r.terms.length;
  const count = new Float64Array(bins);
  let n = 0;
  for (let i = 0; i < r.responses.length; i++) {
    const p = r.pValue[i * J + j];
    if (!(p >= 0 && p <= 1)) continue;
    count[Math.min(bins - 1, Math.floor(p * bins))]++;
    n++;
  }
  return {
    x1: Float64Array.from({ length: bins }, (_, b) => b / bins),
    x2: Float64Array.from({ length: bins }, (_, b) => (b + 1) / bins),
    count,
    n,
  };
}
