// Pseudobulk: the analysis the pseudoreplication literature recommends checking a cell-level mixed
// model against (Squair et al. 2021; Zimmerman et al. 2021). Counts are summed per level of the
// grouping factor (donor), optionally log-normalised, and the fixed-effects part of the formula is
// fitted to the sums by ordinary least squares, one response at a time, with t tests on n_groups − p
// degrees of freedom.

import type { Column, LevelsOption, Table } from "./data.js";
import { toColumns } from "./data.js";
import { denseCholesky } from "./dense.js";
import { ptTwoTailed } from "./distributions.js";
import { parseFormula } from "./formula.js";
import type { Expr, ParsedFormula } from "./formula-types.js";
import { ManyResults, type ResponseFit } from "./manyresults.js";
import { modelFrame } from "./modelframe.js";
import { checkResponseMatrix, responseVector, type DenseResponses, type ResponseMatrix } from "./responses.js";
import type { ResponseSource } from "./response-source.js";

const RESPONSE = ". response";

/** Variable names used by an expression (x in log(x), a and b in a:b). */
function namesIn(e: Expr, out: Set<string>): Set<string> {
  if (e.kind === "name") out.add(e.name);
  else if (e.kind === "call") e.args.forEach((a) => namesIn(a, out));
  else if (e.kind === "binary" || e.kind === "bar") {
    namesIn(e.left, out);
    namesIn(e.right, out);
  } else if (e.kind === "unary") namesIn(e.arg, out);
  else if (e.kind === "paren") namesIn(e.expr, out);
  return out;
}

function fixedVariables(f: ParsedFormula): Set<string> {
  const out = new Set<string>();
  for (const t of f.fixed.terms) t.factors.forEach((e) => namesIn(e, out));
  return out;
}

/**
 * Sums of Y per level of `group` (a design column): a responses × groups dense matrix named by the
 * levels, and a design table with one row per group. Design columns constant within every group are
 * kept (their value per group); the fixed-effect variables of `formula` must be among them (a
 * cell-level covariate has no pseudobulk value: error naming it and a group where it varies).
 * With normalize, the sums are log-normalised (log1p of counts per million of each group's total).
 */
export function pseudobulk(
  Y: ResponseMatrix,
  design: Table,
  group: string,
  opts: { normalize?: boolean; formula?: string } = {},
): { Y: DenseResponses; design: Table } {
  checkResponseMatrix(Y);
  const g = groupingOf(design, group, Y.nObs, opts.formula);
  const sums = new Float64Array(Y.nResponses * g.G);
  const y = new Float64Array(Y.nObs);
  for (let r = 0; r < Y.nResponses; r++) addGroupSums(responseVector(Y, r, y), 0, g, sums, r);
  return pseudobulkOf(sums, Y.nResponses, g, Y.responseNames, !!opts.normalize);
}

/**
 * pseudobulk of the responses of a source, read `blockSize` at a time: only the sums (responses ×
 * groups) are held. The same sums, added in the same order, as pseudobulk of the matrix.
 */
export async function pseudobulkSource(
  source: ResponseSource,
  design: Table,
  group: string,
  opts: { normalize?: boolean; formula?: string; blockSize?: number } = {},
): Promise<{ Y: DenseResponses; design: Table }> {
  const n = source.nObs;
  const g = groupingOf(design, group, n, opts.formula);
  let sums: Float64Array = new Float64Array(256 * g.G);
  const names: string[] = [];
  let named = true;
  for await (const chunk of source.chunks(opts.blockSize ?? 32)) {
    const k = n === 0 ? chunk.names?.length ?? 0 : chunk.values.length / n;
    if ((names.length + k) * g.G > sums.length) sums = grown(sums, (names.length + k) * g.G);
    for (let r = 0; r < k; r++) {
      addGroupSums(chunk.values, r * n, g, sums, names.length);
      names.push(chunk.names?.[r] ?? "");
      named &&= chunk.names !== undefined;
    }
  }
  return pseudobulkOf(sums.slice(0, names.length * g.G), names.length, g, named ? names : undefined, !!opts.normalize);
}

function grown(a: Float64Array, min: number): Float64Array {
  const b = new Float64Array(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}

/** The groups of the observations and the group-level design (one row per group present). */
interface Grouping {
  /** Per observation, its level's code in the design column (−1: missing). */
  codes: Int32Array;
  /** Per level code, its group's position among the groups present (−1: none). */
  slot: Int32Array;
  G: number;
  /** The groups' level names. */
  names: string[];
  design: Table;
}

function groupingOf(design: Table, group: string, nObs: number, formula?: string): Grouping {
  const g = design.columns.get(group);
  if (!g) throw new Error(`pseudobulk: no grouping column '${group}' in the design (columns: ${design.names.join(", ")})`);
  if (g.type === "numeric") throw new Error(`pseudobulk: grouping column '${group}' must be a factor (text), it is numeric`);
  if (design.nrow !== nObs) throw new Error(`pseudobulk: the design has ${design.nrow} rows for ${nObs} observations`);
  const used = Array.from(new Set(Array.from(g.codes).filter((c) => c >= 0))).sort((a, b) => a - b);
  const slot = new Int32Array(g.levels.length).fill(-1);
  used.forEach((c, k) => (slot[c] = k));
  const G = used.length;
  const first = new Int32Array(G).fill(-1);
  g.codes.forEach((c, i) => {
    if (c >= 0 && first[slot[c]] < 0) first[slot[c]] = i;
  });
  // group-level design: columns constant within each group
  const needed = formula ? fixedVariables(parseFormula(formula)) : new Set<string>();
  const columns = new Map<string, Column>();
  const names: string[] = [];
  for (const name of design.names) {
    const col = design.columns.get(name)!;
    const varying = varyingGroup(col, g.codes, slot, first);
    if (varying !== null) {
      if (needed.has(name)) {
        throw new Error(`pseudobulk: '${name}' varies within ${group} '${g.levels[used[varying]]}', so it has no value per ${group}: the pseudobulk model can only use ${group}-level variables`);
      }
      continue;
    }
    names.push(name);
    columns.set(name, col.type === "numeric" ? { type: "numeric", values: Float64Array.from(first, (i) => col.values[i]) } : ({ ...col, codes: Int32Array.from(first, (i) => col.codes[i]) } as Column));
  }
  return { codes: g.codes, slot, G, names: used.map((c) => g.levels[c]), design: { names, nrow: G, columns } };
}

/** Adds response `r`'s values (y[offset], ..., one per observation) to its row of the sums. */
function addGroupSums(y: ArrayLike<number>, offset: number, g: Grouping, sums: Float64Array, r: number): void {
  for (let i = 0; i < g.codes.length; i++) {
    const c = g.codes[i];
    if (c >= 0) sums[r * g.G + g.slot[c]] += y[offset + i];
  }
}

function pseudobulkOf(sums: Float64Array, R: number, g: Grouping, responseNames: string[] | undefined, normalize: boolean): { Y: DenseResponses; design: Table } {
  if (normalize) logCPM(sums, R, g.G, g.names);
  return {
    Y: { kind: "dense", layout: "responses-by-obs", nResponses: R, nObs: g.G, values: sums, responseNames, obsIds: g.names },
    design: g.design,
  };
}

/** The first group (slot) in which the column's value is not constant, or null. */
function varyingGroup(col: Column, codes: Int32Array, slot: Int32Array, first: Int32Array): number | null {
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] < 0) continue;
    const k = slot[codes[i]], f = first[k];
    const same = col.type === "numeric" ? Object.is(col.values[i], col.values[f]) : col.codes[i] === col.codes[f];
    if (!same) return k;
  }
  return null;
}

/** log1p(sum / group total × 1e6) in place, per group (column) of a responses × groups matrix. */
function logCPM(sums: Float64Array, R: number, G: number, names: string[]): void {
  for (let k = 0; k < G; k++) {
    let lib = 0;
    for (let r = 0; r < R; r++) lib += sums[r * G + k];
    if (!(lib > 0)) throw new Error(`pseudobulk: group '${names[k]}' has no counts (library size ${lib}), it cannot be normalised`);
    for (let r = 0; r < R; r++) sums[r * G + k] = Math.log1p((sums[r * G + k] / lib) * 1e6);
  }
}

/**
 * The fixed-effects part of `formula` fitted by least squares to every response of Y (observations =
 * design rows, in order): β̂ = (X'X)⁻¹X'y, σ̂² = RSS / (n − p), t tests on n − p df. Random terms of
 * the formula are ignored (that is the point of the comparison). Results in ManyResults' columns
 * (θ empty; variance fractions: the fixed terms' share and the residual's).
 */
export function fitFixedMany(formula: string, design: Table | Record<string, ArrayLike<unknown>>, Y: ResponseMatrix, opts: { levels?: LevelsOption } = {}): ManyResults {
  const t0 = performance.now();
  checkResponseMatrix(Y);
  const parsed = parseFormula(formula);
  const table = toColumns(design, { levels: opts.levels });
  if (table.nrow !== Y.nObs) throw new Error(`the design has ${table.nrow} rows but the response matrix has ${Y.nObs} observations`);
  const placeholder: Expr = { kind: "name", name: RESPONSE, pos: 0, end: 0 };
  const columns = new Map(table.columns);
  columns.set(RESPONSE, { type: "numeric", values: new Float64Array(table.nrow) });
  const frame = modelFrame({ ...parsed, response: placeholder, random: [] }, { names: [...table.names, RESPONSE], nrow: table.nrow, columns });
  const { X, n, rows } = frame;
  const p = frame.xNames.length;
  if (n <= p) throw new Error(`the fixed-effects model has ${p} coefficients for ${n} observations: no residual degrees of freedom`);
  const XtXinv = inverseCrossprod(X, n, p, frame.xNames);
  const fits: ResponseFit[] = [];
  const y = new Float64Array(Y.nObs);
  for (let r = 0; r < Y.nResponses; r++) {
    responseVector(Y, r, y);
    fits.push(olsFit(X, n, p, rows, y, XtXinv));
  }
  const names = Y.responseNames ?? Array.from({ length: Y.nResponses }, (_, r) => String(r + 1));
  return new ManyResults(names, frame.xNames, [], fits, { formula, REML: false, engine: "ols", threads: 1, workerChunks: 0, timeS: (performance.now() - t0) / 1000, nObs: n });
}

/** (X'X)⁻¹ by Cholesky (X has full column rank: the model frame dropped aliased columns). */
function inverseCrossprod(X: Float64Array, n: number, p: number, names: string[]): Float64Array {
  const A = new Float64Array(p * p);
  for (let r = 0; r < n; r++) for (let a = 0; a < p; a++) for (let b = 0; b <= a; b++) A[a * p + b] += X[r * p + a] * X[r * p + b];
  const L = denseCholesky(A, p);
  if (!L) throw new Error(`the fixed-effects design (${names.join(", ")}) is singular`);
  // (L L')⁻¹ column by column: solve L z = e_c, then L' x = z
  const inv = new Float64Array(p * p);
  const z = new Float64Array(p);
  for (let c = 0; c < p; c++) {
    for (let i = 0; i < p; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i * p + k] * z[k];
      z[i] = s / L[i * p + i];
    }
    for (let i = p - 1; i >= 0; i--) {
      let s = z[i];
      for (let k = i + 1; k < p; k++) s -= L[k * p + i] * inv[k * p + c];
      inv[i * p + c] = s / L[i * p + i];
    }
  }
  return inv;
}

function olsFit(X: Float64Array, n: number, p: number, rows: Int32Array, yAll: Float64Array, XtXinv: Float64Array): ResponseFit {
  const nan = () => new Array<number>(p).fill(NaN);
  const fit: ResponseFit = {
    estimate: nan(), stdError: nan(), df: nan(), statistic: nan(), pValue: nan(),
    theta: [], sigma: NaN, objective: NaN, nobs: n, singular: false, converged: true, evaluations: 0,
    fractions: {}, messages: [], error: null,
  };
  const Xty = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const v = yAll[rows[i]];
    if (!Number.isFinite(v)) return { ...fit, converged: false, error: `missing value at observation ${rows[i] + 1}` };
    for (let a = 0; a < p; a++) Xty[a] += X[i * p + a] * v;
  }
  const beta = new Float64Array(p);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) beta[a] += XtXinv[a * p + b] * Xty[b];
  let rss = 0, tss = 0, mean = 0;
  for (let i = 0; i < n; i++) mean += yAll[rows[i]] / n;
  for (let i = 0; i < n; i++) {
    let eta = 0;
    for (let a = 0; a < p; a++) eta += X[i * p + a] * beta[a];
    rss += (yAll[rows[i]] - eta) ** 2;
    tss += (yAll[rows[i]] - mean) ** 2;
  }
  const df = n - p;
  if (!(rss > 1000 * Number.EPSILON * tss)) return { ...fit, converged: false, error: "the response is fitted exactly by the fixed effects: there is no residual variance to estimate" };
  const s2 = rss / df;
  for (let a = 0; a < p; a++) {
    const se = Math.sqrt(XtXinv[a * p + a] * s2);
    fit.estimate[a] = beta[a];
    fit.stdError[a] = se;
    fit.df[a] = df;
    fit.statistic[a] = beta[a] / se;
    fit.pValue[a] = ptTwoTailed(beta[a] / se, df);
  }
  fit.sigma = Math.sqrt(s2);
  fit.objective = n * (1 + Math.log((2 * Math.PI * rss) / n)); // −2 log L at the ML estimate
  fit.fractions = tss > 0 ? { fixed: 1 - rss / tss, Residuals: rss / tss } : {};
  return fit;
}
