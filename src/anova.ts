// Likelihood-ratio tests between nested linear mixed models, as lme4's anova(m1, m2, ...)
// (anova.merMod / anovaLmer, lme4 1.1-31): REML fits refitted by ML, models sorted by their number of
// parameters, χ² = 2 Δ log L against the previous row on Δ npar degrees of freedom; and R's printed
// layout of the table (print.anova → printCoefmat). No Node-only APIs: this runs in browsers too.

import { pchisqUpper } from "./distributions.js";
import { formatNum, formatPval, formatSignifStars, printStringMatrix, R_WIDTH, roundR, signifLegend, zapsmall } from "./format.js";
import { LinearMixedModel } from "./linearmixedmodel.js";

export interface AnovaOptions {
  /** One name per model, in argument order (lme4's model.names); default: each model's formula text. */
  names?: string[];
  /** Name of the data set for the printed "Data:" line (left out when not given). */
  dataName?: string;
}

/** The table's columns, one entry per model in the table's order: the fields of the reference anova JSON. */
export interface AnovaJSON {
  /** The names given, or the formula text of each model. */
  models: string[];
  npar: number[];
  AIC: number[];
  BIC: number[];
  logLik: number[];
  /** −2 log L of the ML fit. */
  deviance: number[];
  /** 2 (log L − log L of the previous row), at least 0; null in the first row (R's NA). */
  Chisq: (number | null)[];
  /** npar − npar of the previous row; null in the first row. */
  Df: (number | null)[];
  /** P(χ²_Df > Chisq); null in the first row and where Df is 0 (as lme4). */
  p: (number | null)[];
}

/** lme4's anova table. JSON.stringify gives exactly the reference fields (AnovaJSON). */
export interface AnovaTable extends AnovaJSON {
  /** Each model's formula, as written. */
  formulas: string[];
  /** Row labels of the printed table: the names given, else lme4's generic MODEL1, MODEL2, ... (argument order). */
  labels: string[];
  dataName: string | null;
  /** Which models were REML fits, refitted by ML for the comparison. */
  refitted: boolean[];
  toJSON(): AnovaJSON;
}

const quote = (s: string) => `'${s}'`;
const plural = (n: number, word: string, suffix = "s") => (n === 1 ? word : word + suffix);
const list = (xs: string[]) => xs.map(quote).join(", ");

/**
 * Likelihood-ratio tests between nested models, as lme4's `anova(m1, m2, ...)`:
 * `anova(m1, m2)` or `anova({ names: ["m1", "m2"], dataName: "sleepstudy" }, m1, m2)`.
 * REML fits are refitted by maximum likelihood (the caller's models are not changed); rows are sorted by
 * number of parameters (stably, as R's order()); each row is tested against the previous one.
 * Throws when fewer than two models are given, when they were fitted to different data (number of
 * observations or response values), or when a model is not nested in the next larger one (its fixed-effects
 * columns, or a random-effects term's grouping factor and columns, are missing from it).
 */
export function anova(...models: LinearMixedModel[]): AnovaTable;
export function anova(options: AnovaOptions, ...models: LinearMixedModel[]): AnovaTable;
export function anova(...args: (AnovaOptions | LinearMixedModel)[]): AnovaTable {
  const options: AnovaOptions = args.length > 0 && !(args[0] instanceof LinearMixedModel) ? (args.shift() as AnovaOptions) : {};
  args.forEach((m, i) => {
    if (!(m instanceof LinearMixedModel)) throw new TypeError(`anova: argument ${i + 1} is not a fitted model (LinearMixedModel)`);
  });
  const models = args as LinearMixedModel[];
  if (models.length < 2) {
    throw new Error(`anova needs at least two models to compare by likelihood-ratio tests (got ${models.length})`);
  }
  const formulas = models.map((m) => m.formula.source);
  const names = checkNames(options.names, models.length) ?? formulas;
  const labels = options.names ? [...options.names] : models.map((_, i) => `MODEL${i + 1}`);

  checkSameData(models, names);
  // R's order(npar): stable
  const order = models.map((_, i) => i).sort((a, b) => models[a].npar() - models[b].npar() || a - b);
  for (let k = 1; k < order.length; k++) checkNested(models, names, order[k - 1], order[k]);

  const refitted = order.map((i) => models[i].REML);
  const fits = order.map((i) => (models[i].REML ? models[i].refit({ REML: false }) : models[i]));
  const npar = fits.map((m) => m.npar());
  const logLik = fits.map((m) => m.logLik());
  const Chisq = logLik.map((l, k) => (k === 0 ? null : 2 * Math.max(0, l - logLik[k - 1])));
  const Df = npar.map((n, k) => (k === 0 ? null : n - npar[k - 1]));
  const json: AnovaJSON = {
    models: order.map((i) => names[i]),
    npar,
    AIC: fits.map((m) => m.AIC()),
    BIC: fits.map((m) => m.BIC()),
    logLik,
    deviance: logLik.map((l) => -2 * l),
    Chisq,
    Df,
    p: Df.map((df, k) => (df === null || df === 0 ? null : pchisqUpper(Chisq[k]!, df))),
  };
  return {
    ...json,
    formulas: order.map((i) => formulas[i]),
    labels: order.map((i) => labels[i]),
    dataName: options.dataName ?? models.find((m) => m.dataName)?.dataName ?? null,
    refitted,
    toJSON(): AnovaJSON {
      return {
        models: this.models,
        npar: this.npar,
        AIC: this.AIC,
        BIC: this.BIC,
        logLik: this.logLik,
        deviance: this.deviance,
        Chisq: this.Chisq,
        Df: this.Df,
        p: this.p,
      };
    },
  };
}

function checkNames(names: string[] | undefined, n: number): string[] | null {
  if (names === undefined) return null;
  if (!Array.isArray(names) || names.some((s) => typeof s !== "string")) throw new TypeError("anova: names must be an array of strings");
  if (names.length !== n) {
    throw new Error(`anova: ${names.length} ${plural(names.length, "name")} given for ${n} models: give one name per model`);
  }
  const empty = names.findIndex((s) => s.trim() === "");
  if (empty >= 0) throw new Error(`anova: name ${empty + 1} is empty`);
  const dup = names.filter((s, i) => names.indexOf(s) !== i);
  if (dup.length) throw new Error(`anova: names must be distinct (${list([...new Set(dup)])} repeated)`);
  return [...names];
}

/** lme4's check of the number of observations, and the same response values (what "the same data" means here). */
function checkSameData(models: LinearMixedModel[], names: string[]): void {
  const n0 = models[0].nobs();
  if (models.some((m) => m.nobs() !== n0)) {
    throw new Error(
      `models were not all fitted to the same size of dataset (observations: ${models.map((m, i) => `${quote(names[i])} ${m.nobs()}`).join(", ")})`,
    );
  }
  const y0 = models[0].frame.y;
  for (let i = 1; i < models.length; i++) {
    const y = models[i].frame.y;
    const k = y0.findIndex((v, r) => !Object.is(v, y[r]));
    if (k >= 0) {
      throw new Error(
        `models were not all fitted to the same data: the responses of ${quote(names[0])} (${models[0].frame.responseName}) ` +
          `and ${quote(names[i])} (${models[i].frame.responseName}) differ at observation ${k + 1} (${y0[k]} vs ${y[k]})`,
      );
    }
  }
}

/** Why `small` is not nested in `large` (by column and grouping-factor names), or null if it is. */
function nestingProblem(small: LinearMixedModel, large: LinearMixedModel, a: string, b: string): string | null {
  const missing = small.frame.xNames.filter((nm) => !large.frame.xNames.includes(nm));
  if (missing.length) {
    return `the fixed-effects ${plural(missing.length, "column")} ${list(missing)} of ${quote(a)} ${missing.length === 1 ? "is" : "are"} not in ${quote(b)}`;
  }
  for (const t of small.reTerms) {
    const within = large.reTerms.some((u) => u.group === t.group && t.names.every((nm) => u.names.includes(nm)));
    if (within) continue;
    const same = large.reTerms.filter((u) => u.group === t.group);
    const where = same.length
      ? ` (its ${plural(same.length, "term")} on '${t.group}': ${same.map((u) => `(${u.label})`).join(", ")})`
      : `, which has no term on grouping factor '${t.group}'`;
    return (
      `the random-effects term (${t.label}) of ${quote(a)} (grouping factor '${t.group}', ${plural(t.names.length, "column")} ${list(t.names)}) ` +
      `is not within any term of ${quote(b)}${where}`
    );
  }
  return null;
}

/** The smaller model (by npar) must be nested in the larger; with equal npar either way round will do. */
function checkNested(models: LinearMixedModel[], names: string[], i: number, j: number): void {
  const problem = nestingProblem(models[i], models[j], names[i], names[j]);
  if (problem === null) return;
  if (models[i].npar() === models[j].npar() && nestingProblem(models[j], models[i], names[j], names[i]) === null) return;
  throw new Error(
    `models are not nested: ${problem}. A likelihood-ratio test compares a model with a special case of it ` +
      `(${quote(names[i])} has ${models[i].npar()} parameters, ${quote(names[j])} ${models[j].npar()})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Printing: R's print.anova (digits = 5) → printCoefmat(cs.ind = NULL, zap.ind = npar..deviance,
// tst.ind = Chisq, na.print = "", P.values with significance stars)

// format.pval, the stars and their legend are format.ts's (shared with the summary's coefficient table);
// formatPval is re-exported here for code that imported it from this module.
export { formatPval };

/**
 * The table as R prints it (print.anova): the heading (`Data:`, `Models:`, one `label: formula` line per
 * model), the columns npar AIC BIC logLik deviance Chisq Df Pr(>Chisq) with R's digits, significance stars
 * and their legend when some p < 0.1. Ends with a newline, as R's output.
 */
export function formatAnova(table: AnovaTable, opts: { digits?: number; signifStars?: boolean; width?: number } = {}): string {
  const digits = opts.digits ?? 5; // max(getOption("digits") - 2, 3)
  const digTst = Math.max(1, Math.min(5, digits - 1));
  const width = opts.width ?? R_WIDTH;
  const nr = table.models.length;
  const labels = table.labels ?? table.models;
  const formulas = table.formulas ?? table.models;

  let out = "";
  if (table.dataName) out += `Data: ${table.dataName}\n`;
  out += "Models:\n";
  for (let i = 0; i < nr; i++) out += `${labels[i]}: ${formulas[i]}\n`;

  const cols: (number | null)[][] = [table.npar, table.AIC, table.BIC, table.logLik, table.deviance, table.Chisq, table.Df];
  const colNames = ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"];
  const ZAP = [0, 1, 2, 3, 4];
  const TST = 5;
  const isNA = (v: number | null): v is null => v === null || Number.isNaN(v);
  // xm: the numbers after zapsmall of the zap columns
  const xm = cols.map((c, j) => {
    if (!ZAP.includes(j)) return c.slice();
    const ok = c.filter((v): v is number => !isNA(v));
    if (!ok.length) return c.slice();
    const z = zapsmall(ok, digits);
    let k = 0;
    return c.map((v) => (isNA(v) ? v : z[k++]));
  });
  const cells: string[][] = xm.map((c, j) =>
    j === TST ? formatNum(c.map((v) => (isNA(v) ? null : roundR(v, digTst))), { digits }) : formatNum(c, { digits }),
  );
  // cells showing 0 for a non-zero value, or the reverse, get digits − 1 (all of them formatted together)
  const fix: [number, number][] = [];
  xm.forEach((c, j) => {
    if (j === TST) return;
    c.forEach((v, i) => {
      if (isNA(v)) return;
      const shown = Number(cells[j][i]);
      if (!Number.isNaN(shown) && (v === 0) !== (shown === 0)) fix.push([j, i]);
    });
  });
  if (fix.length) {
    const f = formatNum(
      fix.map(([j, i]) => xm[j][i]),
      { digits: Math.max(1, digits - 1) },
    );
    fix.forEach(([j, i], k) => (cells[j][i] = f[k]));
  }
  xm.forEach((c, j) =>
    c.forEach((v, i) => {
      if (v === null) cells[j][i] = ""; // na.print = ""
      else if (Number.isNaN(v)) cells[j][i] = "NaN";
    }),
  );

  // the p-values
  const p = table.p;
  const okP = p.map((v) => !isNA(v));
  const pCells = p.map(() => "");
  let showStars = false;
  if (okP.some(Boolean)) {
    const idx = p.map((_, i) => i).filter((i) => okP[i]);
    const f = formatPval(idx.map((i) => p[i]!), digTst);
    idx.forEach((i, k) => (pCells[i] = f[k]));
    showStars = (opts.signifStars ?? true) && idx.some((i) => p[i]! < 0.1);
  }
  cells.push(pCells);
  const names = [...colNames];
  if (showStars) {
    cells.push(formatSignifStars(p));
    names.push("");
  }
  const rows = Array.from({ length: nr }, (_, i) => cells.map((c) => c[i]));
  out += printStringMatrix(rows, labels, names, { right: true, width });
  if (showStars) out += signifLegend();
  return out;
}
