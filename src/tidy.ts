// Tidy data frames of a fit, as broom.mixed's tidy() and glance() for an lmer fit (broom.mixed
// R/lme4_tidiers.R and R/utilities.R), with broom's column names (std.error, p.value, conf.low,
// conf.high, df.residual), and CSV text of such rows. Runtime-neutral (no Node APIs).

import Papa from "papaparse";
import { qt } from "./distributions.js";
import type { LinearMixedModel } from "./linearmixedmodel.js";
import { satterthwaite } from "./satterthwaite.js";

export type TidyEffect = "fixed" | "ran_pars" | "ran_vals";

export interface TidyOptions {
  /** Which rows, as broom.mixed's `effects` (default ["fixed", "ran_pars"]); rows come in the order fixed, ran_pars, ran_vals. */
  effects?: TidyEffect[];
  /** Add conf.low and conf.high (broom.mixed's conf.int; default false). */
  confInt?: boolean;
  /** Confidence level (broom.mixed's conf.level; default 0.95). */
  confLevel?: number;
  /**
   * The intervals of the fixed effects:
   * - "Wald" (default): β̂ ± z_{(1+level)/2} se, lme4's confint(method = "Wald") (m.confint()), which is
   *   what broom.mixed gives for an lme4 fit;
   * - "Satterthwaite": β̂ ± t_{(1+level)/2, df} se with each coefficient's Satterthwaite df, which is
   *   what broom.mixed (≥ 0.2.7) gives for an lmerTest fit (its cifun with ddf.method).
   * Random-effect parameters get NA either way (lme4's Wald intervals cover β only); conditional modes
   * get estimate ± z std.error (broom.mixed's ran_vals intervals).
   */
  confMethod?: "Wald" | "Satterthwaite";
  /**
   * Degrees of freedom of the fixed-effect t tests: "Satterthwaite" (default, lmerTest's summary: df and
   * p.value columns) or "none" (lme4's summary: no df, no p.value, as broom.mixed for an lme4 fit).
   */
  ddf?: "Satterthwaite" | "none";
}

/**
 * One row of broom.mixed's tidy(). Columns are present as in broom.mixed: `group` only with ran_pars
 * or ran_vals, `level` only with ran_vals, `std.error` with fixed or ran_vals, `statistic` with fixed,
 * `df` and `p.value` with fixed and Satterthwaite df, `conf.low`/`conf.high` with confInt; a column
 * that does not apply to a row is null (R's NA).
 */
export interface TidyRow {
  effect: TidyEffect;
  /** The grouping factor ("Subject", "cask:batch", "Subject.1" for a second term on Subject), "Residual", or null for fixed effects. */
  group?: string | null;
  /** The level of the grouping factor (ran_vals). */
  level?: string | null;
  /** Column name (fixed, ran_vals) or broom.mixed's "sd__(Intercept)", "cor__(Intercept).Days", "sd__Observation". */
  term: string;
  estimate: number;
  "std.error"?: number | null;
  statistic?: number | null;
  df?: number | null;
  "p.value"?: number | null;
  "conf.low"?: number | null;
  "conf.high"?: number | null;
}

/** broom.mixed's reorder_cols order (the columns an lmer fit can have). */
const COLUMNS = ["effect", "group", "level", "term", "estimate", "std.error", "statistic", "df", "p.value", "conf.low", "conf.high"] as const;
type Column = (typeof COLUMNS)[number];

const EFFECTS: TidyEffect[] = ["fixed", "ran_pars", "ran_vals"];

/** satterthwaite(m)'s result, which a caller that has it already (toJSON) can pass to tidy(). */
type SattTable = ReturnType<typeof satterthwaite>;

/**
 * broom.mixed's tidy(fit, effects, conf.int, conf.level, conf.method = "Wald") for an lmer fit:
 * - fixed: term = column name, estimate, std.error, statistic = t, and with Satterthwaite df (lmerTest's
 *   summary) df and p.value; group NA;
 * - ran_pars: per grouping term (group as VarCorr names it) the standard deviations and correlations
 *   in the lower-triangle order of as.data.frame(VarCorr(fit), order = "lower.tri"):
 *   "sd__(Intercept)", "cor__(Intercept).Days", "sd__Days"; then group "Residual", "sd__Observation";
 * - ran_vals: as.data.frame(ranef(fit, condVar = TRUE)): per grouping factor, per term, per level the
 *   conditional mode (estimate) and conditional sd (std.error).
 * `precomputed.satterthwaite`: satterthwaite(m) if the caller has it (it is the costly part).
 */
export function tidy(m: LinearMixedModel, opts: TidyOptions = {}, precomputed: { satterthwaite?: SattTable } = {}): TidyRow[] {
  const effects = opts.effects ?? ["fixed", "ran_pars"];
  const unknown = effects.filter((e) => !EFFECTS.includes(e));
  if (unknown.length) throw new Error(`unknown effect type ${unknown.map((e) => `'${e}'`).join(", ")}: use ${EFFECTS.map((e) => `"${e}"`).join(", ")}`);
  if (effects.length === 0) throw new Error(`effects is empty: give one or more of ${EFFECTS.map((e) => `"${e}"`).join(", ")}`);
  const confInt = opts.confInt ?? false;
  const level = opts.confLevel ?? 0.95;
  if (confInt && !(level > 0 && level < 1)) throw new Error(`confLevel must be between 0 and 1, got ${level}`);
  const confMethod = opts.confMethod ?? "Wald";
  if (confMethod !== "Wald" && confMethod !== "Satterthwaite") throw new Error(`confMethod '${String(confMethod)}' is not available: use "Wald" or "Satterthwaite"`);
  const ddf = opts.ddf ?? "Satterthwaite";
  if (ddf !== "Satterthwaite" && ddf !== "none") throw new Error(`ddf '${String(ddf)}' is not available: use "Satterthwaite" or "none"`);
  if (confInt && confMethod === "Satterthwaite" && ddf === "none") throw new Error(`confMethod "Satterthwaite" needs the Satterthwaite df: leave ddf at "Satterthwaite"`);

  const rows: Partial<Record<Column, unknown>>[] = [];
  const has = (e: TidyEffect) => effects.includes(e);

  if (has("fixed")) {
    const fe = m.fixef();
    const se = m.se();
    const satt = ddf === "Satterthwaite" ? (precomputed.satterthwaite ?? satterthwaite(m)) : null;
    const wald = confInt && confMethod === "Wald" ? new Map(m.confint({ level }).map((r) => [r.term, r])) : null;
    for (const term of m.frame.xNames) {
      const est = fe[term], s = se[term];
      const row: Partial<Record<Column, unknown>> = { effect: "fixed", term, estimate: est, "std.error": s, statistic: est / s };
      if (satt) {
        row.df = satt.df[term];
        row["p.value"] = satt.p[term];
      }
      if (confInt) {
        if (wald) {
          const ci = wald.get(term)!;
          row["conf.low"] = ci.lower;
          row["conf.high"] = ci.upper;
        } else {
          const q = qt((1 + level) / 2, satt!.df[term]);
          row["conf.low"] = est - q * s;
          row["conf.high"] = est + q * s;
        }
      }
      rows.push(row);
    }
  }

  if (has("ran_pars")) {
    const vc = m.varcorrRows();
    const groups: string[] = [];
    for (const r of vc) if (r.grp !== "Residual" && !groups.includes(r.grp)) groups.push(r.grp);
    for (const g of groups) {
      const own = vc.filter((r) => r.grp === g);
      const names = own.filter((r) => r.var2 === null).map((r) => r.var1!);
      // as.data.frame(VarCorr, order = "lower.tri"): column by column, the sd then the correlations below it.
      names.forEach((ni, i) => {
        const sd = own.find((r) => r.var2 === null && r.var1 === ni)!;
        rows.push({ effect: "ran_pars", group: g, term: `sd__${ni}`, estimate: sd.sdcor });
        for (let j = i + 1; j < names.length; j++) {
          const cor = own.find((r) => r.var1 === ni && r.var2 === names[j])!;
          rows.push({ effect: "ran_pars", group: g, term: `cor__${ni}.${names[j]}`, estimate: cor.sdcor });
        }
      });
    }
    const res = vc.find((r) => r.grp === "Residual")!;
    rows.push({ effect: "ran_pars", group: "Residual", term: "sd__Observation", estimate: res.sdcor });
  }

  if (has("ran_vals")) {
    const z = confInt ? normalQuantile((1 + level) / 2) : NaN;
    for (const [g, r] of Object.entries(m.ranef({ condVar: true }))) {
      r.terms.forEach((term, c) => {
        r.levels.forEach((lev, j) => {
          const est = r.values[j][c], s = r.condsd![j][c];
          const row: Partial<Record<Column, unknown>> = { effect: "ran_vals", group: g, level: lev, term, estimate: est, "std.error": s };
          if (confInt) {
            row["conf.low"] = est - z * s;
            row["conf.high"] = est + z * s;
          }
          rows.push(row);
        });
      });
    }
  }

  // broom.mixed's bind_rows + reorder_cols: the columns any row has, in the fixed order, NA elsewhere.
  const present = new Set<Column>();
  for (const r of rows) for (const k of Object.keys(r)) present.add(k as Column);
  // (ran_pars get NA intervals: lme4's Wald intervals cover β only)
  if (confInt) ["conf.low", "conf.high"].forEach((c) => present.add(c as Column));
  const cols = COLUMNS.filter((c) => present.has(c));
  return rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null])) as unknown as TidyRow);
}

/**
 * broom.mixed's glance() of an lmer fit: nobs, sigma, logLik, AIC, BIC, the deviance and df.residual.
 * As broom.mixed, a REML fit reports its REML criterion under the name REMLcrit (lme4's deviance() of a
 * REML fit is that criterion, with a deprecation warning, and broom.mixed renames the column); an ML
 * fit reports deviance = −2 log L.
 */
export interface Glance {
  nobs: number;
  sigma: number;
  /** The REML log-likelihood for REML fits (lme4's logLik()). */
  logLik: number;
  AIC: number;
  BIC: number;
  /** REML fits: the REML criterion (−2 × the REML log-likelihood). */
  REMLcrit?: number;
  /** ML fits: the deviance −2 log L. */
  deviance?: number;
  /** nobs − (number of parameters: θ, β, σ), lme4's df.residual(). */
  "df.residual": number;
}

export function glance(m: LinearMixedModel): Glance {
  // lme4's deviance(fit) with REML = NULL: the REML criterion for a REML fit (renamed REMLcrit by
  // broom.mixed), the ML deviance otherwise.
  const dev = m.REML ? { REMLcrit: m.REMLcrit() } : { deviance: m.deviance() };
  return { nobs: m.nobs(), sigma: m.sigma, logLik: m.logLik(), AIC: m.AIC(), BIC: m.BIC(), ...dev, "df.residual": m.dfResidual() };
}

/** A cell as R's write.csv / readr's write_csv write it: NA for missing, Inf/-Inf, numbers at full precision. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return "NA";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NA";
    if (v === Infinity) return "Inf";
    if (v === -Infinity) return "-Inf";
    return String(v); // the shortest decimal that reads back as the same double
  }
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  return String(v);
}

/**
 * CSV text of rows (tidy() or [glance()]): a header of the first row's keys, then one line per row;
 * missing values (null, undefined, NaN) as NA, numbers at full precision (they read back as the same
 * doubles), fields quoted only where needed (as readr's write_csv), lines ending in "\n".
 */
export function toCSV(rows: readonly object[], opts: { delimiter?: string } = {}): string {
  if (rows.length === 0) return "";
  const fields = Object.keys(rows[0]);
  const data = rows.map((r) => fields.map((f) => cell((r as Record<string, unknown>)[f])));
  return Papa.unparse({ fields, data }, { newline: "\n", quotes: false, delimiter: opts.delimiter ?? "," }) + "\n";
}

/**
 * The standard normal quantile for the intervals of the conditional modes (R's qnorm), through the t
 * quantile's normal limit.
 */
function normalQuantile(p: number): number {
  return qt(p, Infinity);
}
