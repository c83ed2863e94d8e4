// The numbers behind the diagnostic plots, computed in the worker from a fitted model. The page only
// draws them, so for a large fit it receives a few thousand values, not every row.
import type { Table } from "../src/data.js";
import type { GeneralizedLinearMixedModel } from "../src/generalizedlinearmixedmodel.js";
import type { LinearMixedModel } from "../src/linearmixedmodel.js";
import type { ParsedFormula } from "../src/formula-types.js";
import type { ModelFrame, ReTermData } from "../src/modelframe.js";
import { qnorm } from "../src/random.js";
import type { GlmmFitJSON, RanefGroup } from "../src/results-types.js";
import type { TidyRow } from "../src/tidy.js";
import type { CaterpillarData, CaterpillarPanel, PlotData, QQData, ResidualBins, ResidualPoints, TrajectoryData } from "./protocol.js";

/** Above this many rows residuals vs fitted is drawn as binned counts: an SVG with 10^5 dots freezes a page. */
export const MAX_POINTS = 10000;
/** Order statistics shown in the QQ plot of a large fit (evenly spaced, the extremes always included). */
export const QQ_POINTS = 2000;
/** Groups drawn in the trajectory plot (one panel each), the first ones in the factor's level order. */
export const MAX_PANELS = 24;
/** Up to this many levels a caterpillar plot names each level; beyond, it draws a band over the sorted levels. */
export const LABELLED_LEVELS = 60;
/** Points of a band (per panel) for a factor with many levels: more than the pixels of its height. */
export const BAND_POINTS = 1000;
/** Rows drawn in the trajectory plot: a few groups with 10^5 rows each would otherwise freeze the page. */
export const MAX_TRAJECTORY_ROWS = 6000;

/** What the plots need of a fitted model, linear (lmer) or generalized (glmer). */
export interface FittedModel {
  readonly frame: ModelFrame;
  readonly formula: ParsedFormula;
  /** Random terms in θ order. */
  readonly reTerms: ReTermData[];
  readonly n: number;
  readonly p: number;
  fixef(): Record<string, number>;
  ranefByTerm(): Float64Array[];
}

export function plotData(m: LinearMixedModel, table: Table): PlotData {
  const fitted = m.fitted();
  const y = m.frame.y;
  const resid = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) resid[i] = y[i] - fitted[i];
  return {
    n: m.n,
    residualLabel: "residual (y − fitted)",
    residuals: residualData(fitted, resid),
    qq: { available: true, ...qqData(resid, m.sigma) },
    trajectories: trajectories(m, table),
  };
}

/**
 * The plots of a glmer fit: Pearson residuals against the fitted means (lme4's plot(fit)), trajectories
 * on the response's scale (a binomial's proportion, a count), no normal QQ plot.
 */
export function glmmPlotData(m: GeneralizedLinearMixedModel, table: Table): PlotData {
  const mu = m.fitted();
  const yResp = m.residuals({ type: "response" });
  const y = mu.map((v, i) => v + yResp[i]);
  return {
    n: m.n,
    residualLabel: "Pearson residual",
    residuals: residualData(mu, m.residuals({ type: "pearson" })),
    qq: { available: false, reason: `the residuals of a ${m.family.label} model are not expected to be normal` },
    trajectories: trajectories(m, table, { y, linkinv: (eta) => m.family.link.linkinv(eta), responseLabel: m.family.name === "binomial" ? `${m.frame.responseName} (proportion)` : undefined }),
  };
}

function residualData(fitted: Float64Array, resid: Float64Array): ResidualPoints | ResidualBins {
  return fitted.length > MAX_POINTS ? binResiduals(fitted, resid) : { kind: "points", fitted, resid };
}

function range(v: Float64Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  // A constant vector still needs a bin of positive width.
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

export function binResiduals(fitted: Float64Array, resid: Float64Array, nx = 60, ny = 40): ResidualBins {
  const [x0, x1] = range(fitted), [y0, y1] = range(resid);
  const dx = (x1 - x0) / nx, dy = (y1 - y0) / ny;
  const counts = new Float64Array(nx * ny);
  for (let i = 0; i < fitted.length; i++) {
    const bx = Math.min(nx - 1, Math.floor((fitted[i] - x0) / dx));
    const by = Math.min(ny - 1, Math.floor((resid[i] - y0) / dy));
    counts[by * nx + bx]++;
  }
  const cells: number[] = [];
  counts.forEach((c, k) => c > 0 && cells.push(k));
  const out: ResidualBins = {
    kind: "bins",
    x1: new Float64Array(cells.length),
    x2: new Float64Array(cells.length),
    y1: new Float64Array(cells.length),
    y2: new Float64Array(cells.length),
    count: new Float64Array(cells.length),
  };
  cells.forEach((k, i) => {
    const bx = k % nx, by = Math.floor(k / nx);
    out.x1[i] = x0 + bx * dx;
    out.x2[i] = x0 + (bx + 1) * dx;
    out.y1[i] = y0 + by * dy;
    out.y2[i] = y0 + (by + 1) * dy;
    out.count[i] = counts[k];
  });
  return out;
}

/** R's qqnorm: sorted residual/sigma against qnorm(ppoints(n)). */
export function qqData(resid: Float64Array, sigma: number, maxPoints = QQ_POINTS): QQData {
  const n = resid.length;
  const sorted = Float64Array.from(resid, (r) => r / sigma).sort();
  const a = n <= 10 ? 3 / 8 : 1 / 2;
  const m = Math.min(n, maxPoints);
  const theoretical = new Float64Array(m), sample = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const i = m === n ? k : Math.round((k * (n - 1)) / (m - 1));
    theoretical[k] = qnorm((i + 1 - a) / (n + 1 - 2 * a));
    sample[k] = sorted[i];
  }
  return { theoretical, sample, n };
}

function numericColumn(table: Table, name: string): Float64Array | null {
  const col = table.columns.get(name);
  return col && col.type === "numeric" ? col.values : null;
}

/**
 * Per-group trajectories: the first grouping factor of the formula against the first numeric covariate
 * of its random slopes (else the first numeric fixed covariate), with the population-level fit
 * (Xβ̂ + offset) and the group-level fit (plus that factor's random effects b̂; other factors' effects
 * are left out so each group's line is its own).
 */
export function trajectories(
  m: FittedModel,
  table: Table,
  opts: { y?: Float64Array; linkinv?: (eta: number) => number; responseLabel?: string } = {},
): TrajectoryData {
  const term = m.frame.reTerms[0];
  const responseName = m.frame.responseName;
  let x = term.names.find((nm) => nm !== "(Intercept)" && nm !== responseName && numericColumn(table, nm));
  if (!x) {
    const t = m.formula.fixed.terms.find(
      (t) => t.factors.length === 1 && t.factors[0].kind === "name" && t.factors[0].name !== responseName && numericColumn(table, t.factors[0].name),
    );
    if (t && t.factors[0].kind === "name") x = t.factors[0].name;
  }
  if (!x) return { available: false, reason: "the model has no numeric covariate (a random slope or a numeric fixed effect) to draw trajectories against" };
  const xcol = numericColumn(table, x)!;
  const rows = m.frame.rows;
  const n = m.n;
  const xs = Float64Array.from(rows, (r) => xcol[r]);
  // A covariate constant within every group (a group-level variable) has no trajectory to show.
  const first = new Map<number, number>();
  let varies = false;
  for (let r = 0; r < n && !varies; r++) {
    const g = term.refs[r];
    const v = first.get(g);
    if (v === undefined) first.set(g, xs[r]);
    else if (v !== xs[r]) varies = true;
  }
  if (!varies) return { available: false, reason: `'${x}' does not vary within the levels of '${term.group}': there are no trajectories to draw` };

  // Linear predictors: population Xβ̂ + offset, and the group's own with its random effects added.
  const fe = m.fixef();
  const beta = m.frame.xNames.map((nm) => fe[nm]);
  const pop = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = m.frame.offset ? m.frame.offset[r] : 0;
    for (let c = 0; c < m.p; c++) s += m.frame.X[r * m.p + c] * beta[c];
    pop[r] = s;
  }
  const own = Float64Array.from(pop);
  const b = m.ranefByTerm();
  m.reTerms.forEach((t, ti) => {
    if (t.group !== term.group) return;
    const k = t.names.length;
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) own[r] += t.Z[r * k + c] * b[ti][t.refs[r] * k + c];
  });
  const linkinv = opts.linkinv;
  if (linkinv) {
    for (let r = 0; r < n; r++) {
      pop[r] = linkinv(pop[r]);
      own[r] = linkinv(own[r]);
    }
  }
  const yValues = opts.y ?? m.frame.y;
  const rowsOf = new Map<number, number[]>();
  for (let r = 0; r < n; r++) {
    const list = rowsOf.get(term.refs[r]);
    if (list) list.push(r);
    else rowsOf.set(term.refs[r], [r]);
  }
  // The first groups in level order while their rows fit the budget (at least one group; a single
  // group with more rows than the budget is thinned evenly).
  const shownCodes: number[] = [];
  let total = 0;
  for (const code of [...rowsOf.keys()].sort((a, c) => a - c)) {
    const size = rowsOf.get(code)!.length;
    if (shownCodes.length >= MAX_PANELS || (shownCodes.length > 0 && total + size > MAX_TRAJECTORY_ROWS)) break;
    shownCodes.push(code);
    total += size;
  }
  const panel = new Map(shownCodes.map((c, i) => [c, i]));
  let picked = shownCodes.flatMap((c) => rowsOf.get(c)!);
  const thinned = picked.length > MAX_TRAJECTORY_ROWS;
  if (thinned) {
    const step = picked.length / MAX_TRAJECTORY_ROWS;
    picked = Array.from({ length: MAX_TRAJECTORY_ROWS }, (_, i) => picked[Math.floor(i * step)]);
  }
  // Fitted values lie on one line per group only where the other columns of the model are constant;
  // rows whose columns not involving x agree share a line (one per condition within a subject, say).
  const involvesX = (label: string) => label.split(":").includes(x!);
  const { X, assign, termLabels } = m.frame;
  const p = m.p;
  const keyColumns = m.frame.xNames.map((_, c) => c).filter((c) => !(assign[c] > 0 && involvesX(termLabels[assign[c] - 1])));
  const zColumns = m.reTerms
    .filter((t) => t.group === term.group)
    .map((t) => ({ t, cols: t.names.map((_, c) => c).filter((c) => !involvesX(t.names[c])) }));
  const lineIds = new Map<string, number>();
  const line = Int32Array.from(picked, (r) => {
    const parts = [String(term.refs[r]), ...keyColumns.map((c) => X[r * p + c])];
    for (const { t, cols } of zColumns) for (const c of cols) parts.push(String(t.Z[r * t.names.length + c]));
    const key = parts.join("|");
    let id = lineIds.get(key);
    if (id === undefined) lineIds.set(key, (id = lineIds.size));
    return id;
  });
  return {
    available: true,
    group: term.group,
    x,
    y: opts.responseLabel ?? responseName,
    shown: shownCodes.map((c) => term.levels[c]),
    totalGroups: term.levels.length,
    thinned,
    g: Int32Array.from(picked, (r) => panel.get(term.refs[r])!),
    line,
    xs: Float64Array.from(picked, (r) => xs[r]),
    ys: Float64Array.from(picked, (r) => yValues[r]),
    fit: Float64Array.from(picked, (r) => own[r]),
    pop: Float64Array.from(picked, (r) => pop[r]),
  };
}

/** lme4's caterpillar plots of ranef(fit, condVar = TRUE), one per grouping factor, ready to draw. */
export function caterpillarData(ranef: Record<string, RanefGroup>): CaterpillarData[] {
  return Object.entries(ranef).map(([group, r]) => {
    const m = r.levels.length;
    const labelled = m <= LABELLED_LEVELS;
    const sortedBy = (c: number) => Array.from({ length: m }, (_, j) => j).sort((a, b) => r.values[a][c] - r.values[b][c]);
    const firstOrder = sortedBy(0);
    const panels = r.terms.map((term, c): CaterpillarPanel => {
      let order = labelled ? firstOrder : sortedBy(c);
      let ranks = order.map((_, i) => i);
      if (!labelled && m > BAND_POINTS) {
        ranks = Array.from({ length: BAND_POINTS }, (_, i) => Math.round((i * (m - 1)) / (BAND_POINTS - 1)));
        order = ranks.map((i) => order[i]);
      }
      const v = Float64Array.from(order, (j) => r.values[j][c]);
      const sd = Float64Array.from(order, (j) => r.condsd?.[j][c] ?? NaN);
      return {
        term,
        v,
        lo: v.map((x, i) => x - 1.96 * sd[i]),
        hi: v.map((x, i) => x + 1.96 * sd[i]),
        rank: Float64Array.from(ranks),
      };
    });
    return { group, nlevels: m, labelled, levels: labelled ? firstOrder.map((j) => r.levels[j]) : [], panels };
  });
}

/**
 * broom.mixed's tidy(fit, effects = c("fixed", "ran_pars"), conf.int = TRUE) for a glmer fit, from its
 * JSON (the library's tidy() covers lmer fits only): Wald z tests and intervals of the fixed effects (no
 * df), then the sd and correlation of each random term in as.data.frame(VarCorr, order = "lower.tri")
 * order; no residual row (the binomial and Poisson have no scale parameter).
 */
export function glmmTidy(json: GlmmFitJSON): TidyRow[] {
  const rows: TidyRow[] = Object.keys(json.fixef).map((term) => {
    const ci = json.confint_wald.find((c) => c.term === term);
    return {
      effect: "fixed",
      group: null,
      term,
      estimate: json.fixef[term],
      "std.error": json.se[term],
      statistic: json.z[term],
      "p.value": json.p[term],
      "conf.low": ci?.lower ?? null,
      "conf.high": ci?.upper ?? null,
    };
  });
  const ranPar = (group: string, term: string, estimate: number): TidyRow => ({
    effect: "ran_pars",
    group,
    term,
    estimate,
    "std.error": null,
    statistic: null,
    "p.value": null,
    "conf.low": null,
    "conf.high": null,
  });
  const groups: string[] = [];
  for (const r of json.varcorr) if (!groups.includes(r.grp)) groups.push(r.grp);
  for (const g of groups) {
    const own = json.varcorr.filter((r) => r.grp === g);
    const names = own.filter((r) => r.var2 === null).map((r) => r.var1!);
    names.forEach((ni, i) => {
      rows.push(ranPar(g, `sd__${ni}`, own.find((r) => r.var2 === null && r.var1 === ni)!.sdcor));
      for (let j = i + 1; j < names.length; j++) rows.push(ranPar(g, `cor__${ni}.${names[j]}`, own.find((r) => r.var1 === ni && r.var2 === names[j])!.sdcor));
    });
  }
  return rows;
}
