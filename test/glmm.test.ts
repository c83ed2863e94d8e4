// Generalized linear mixed models (glmer): every glmer fit of the shared lme4 references and of
// test/fixtures/extra-glmm is refitted and compared with lme4's numbers; then the printed summary,
// predictions, the families' arithmetic against R, and the errors for bad input.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GeneralizedLinearMixedModel, glmer, type GlmerOptions } from "../src/generalizedlinearmixedmodel.js";
import { fitNB, fmin } from "../src/negativebinomial.js";
import { loadKernels } from "../src/engine.js";
import { binomial, makeFamily, negativeBinomial, poisson, thetaML } from "../src/family.js";
import { ghRule } from "../src/aghq.js";
import { lgamma, logDbinom, logDpois, pnorm, stirlerr } from "../src/rmath.js";
import { formatGlmerSummary } from "../src/summary.js";
import { lmer } from "../src/linearmixedmodel.js";
import type { GlmmFitJSON } from "../src/results-types.js";
import { referenceDir, referenceFits, referenceTable, type ReferenceFit } from "./helpers/reference.js";

const extraDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), "fixtures/extra-glmm");

function relClose(got: number, want: number, rel: number, abs: number, what: string): void {
  const ok = Math.abs(got - want) <= Math.max(rel * Math.abs(want), abs);
  expect(ok, `${what}: got ${got}, lme4 ${want} (rel ${rel}, abs ${abs})`).toBe(true);
}

/** The shared references (their `formula` is what was fitted) and the extra fits (their formula as written). */
const fits = [
  ...referenceFits("glmer").map((f) => ({ ...f, formula: f.fit.formula as string })),
  ...referenceFits("glmer", extraDir).map((f) => ({ ...f, formula: f.fit.formula_original as string })),
];

/** The options that reproduce a reference fit's call. */
function optionsOf(file: string, ref: ReferenceFit): Omit<GlmerOptions, "family"> {
  return {
    nAGQ: ref.nAGQ,
    weights: ref.weights,
    // glmerControl(optimizer = "bobyqa") (the fixture's note says so): stage 2 by BOBYQA.
    optimizer: /optimizer = "bobyqa"/.test(ref.note ?? "") ? "bobyqa" : undefined,
  };
}

async function fitReference(file: string, ref: ReferenceFit, formula: string, dir: string): Promise<GeneralizedLinearMixedModel> {
  const kernels = await loadKernels("auto");
  const data = referenceTable(ref.data, ref.dataset, dir);
  if (ref.glmer_nb_theta !== undefined) return fitNB(kernels, formula, data, optionsOf(file, ref));
  return GeneralizedLinearMixedModel.fit(kernels, formula, data, { ...optionsOf(file, ref), family: ref.family, link: ref.link });
}

describe("lme4 glmer reference fits", () => {
  it("finds the reference and extra glmer fits", () => {
    expect(referenceFits("glmer").map((f) => f.file)).toEqual(["cbpp-agq25.json", "cbpp-laplace.json", "grouseticks-poisson.json", "verbagg-binomial.json"]);
    expect(referenceFits("glmer", extraDir).length).toBeGreaterThanOrEqual(10);
  });

  for (const { file, fit: ref, dir, formula } of fits) {
    it(`${file}: ${formula} (${ref.family}, ${ref.link}, nAGQ ${ref.nAGQ})`, { timeout: 300_000 }, async () => {
      const m = await fitReference(file, ref, formula, dir);
      const got = m.toJSON();
      // The optimum: within 1e-5 relative of lme4's, or lower.
      expect(got.objective, `${file} objective`).toBeLessThanOrEqual(ref.objective + 1e-5 * Math.abs(ref.objective));
      const better = got.objective < ref.objective - 1e-7 * Math.abs(ref.objective);
      if (!better) checkFit(got, ref, file);
      expect(got.singular).toBe(ref.singular);
      expect(got.conv_messages).toEqual(ref.conv_messages);
      expect(got.dropped_columns).toEqual(ref.dropped_columns ?? []);
      expect(got.optimizer).toBe(ref.optimizer);
      if (ref.glmer_nb_theta !== undefined) {
        // glmer.nb: θ of the negative binomial from the same search (tolerance 5e-5 on log θ).
        relClose(got.glmer_nb_theta!, ref.glmer_nb_theta, 1e-4, 0, `${file} negative binomial θ`);
        expect(got.family).toMatch(/^Negative Binomial\(\d+\.\d+\)$/);
      } else {
        // The same search as lme4's: its evaluation count, to rounding-induced detours.
        relClose(got.feval, ref.feval, 0.1, 0, `${file} feval`);
        expect(got.family).toBe(ref.family);
      }
      // The engine alone: at lme4's parameters, lme4's deviance function's value (its objective, except
      // for glmer.nb, whose last refit starts PIRLS elsewhere; the fixture has both).
      const atRef =
        ref.glmer_nb_theta !== undefined
          ? GeneralizedLinearMixedModel.fit(await loadKernels("auto"), formula, referenceTable(ref.data, ref.dataset, dir), {
              family: negativeBinomial(ref.glmer_nb_theta),
            }).devianceAt(ref.theta, Object.values(ref.fixef))
          : m.devianceAt(ref.theta, ref.nAGQ === 0 ? undefined : Object.values(ref.fixef));
      relClose(atRef, ref.devfun_at_estimates ?? ref.objective, 1e-9, 0, `${file} objective at lme4's parameters`);
    });
  }
});

function checkFit(got: GlmmFitJSON, ref: ReferenceFit, file: string): void {
  relClose(got.objective, ref.objective, 1e-5, 0, `${file} objective`);
  for (const k of ["logLik", "AIC", "BIC", "minus2logLik"] as const) relClose(got[k], ref[k], 1e-5, 0, `${file} ${k}`);
  // lme4's deviance(): the deviance residuals at the conditional means.
  relClose(got.deviance, ref.deviance, 1e-4, 0, `${file} deviance()`);
  expect(got.nobs).toBe(ref.nobs);
  expect(got.ngrps).toEqual(ref.ngrps);
  expect(got.npar).toBe(ref.npar);
  expect(got.df_residual).toBe(ref.df_residual);
  expect(got.sigma).toBe(ref.sigma);
  expect(got.link).toBe(ref.link);
  expect(got.nAGQ).toBe(ref.nAGQ);
  expect(Object.keys(got.fixef)).toEqual(Object.keys(ref.fixef));
  for (const k of Object.keys(ref.fixef)) {
    // Estimates to 1e-3 relative (a thousandth of a standard error for estimates near 0).
    relClose(got.fixef[k], ref.fixef[k], 1e-3, 1e-3 * ref.se[k], `${file} fixef ${k}`);
    relClose(got.se[k], ref.se[k], 1e-3, 0, `${file} se ${k}`);
    relClose(got.z[k], ref.z[k], 1e-3, 1e-3, `${file} z ${k}`);
    // p = 2Φ(−|z|): a relative error ε in z moves p by about z²ε relatively.
    relClose(got.p[k], ref.p[k], 2e-3 * Math.max(1, ref.z[k] ** 2), 0, `${file} p ${k}`);
  }
  ref.vcov.forEach((row: number[], i: number) =>
    row.forEach((v, j) => relClose(got.vcov[i][j], v, 1e-3, 1e-3 * Math.sqrt(ref.vcov[i][i] * ref.vcov[j][j]), `${file} vcov[${i}][${j}]`)),
  );
  for (const w of ref.confint_wald) {
    const mine = got.confint_wald.find((c) => c.term === w.term)!;
    const scale = Math.abs(ref.fixef[w.term]) + 1.959963984540054 * ref.se[w.term];
    relClose(mine.lower, w.lower, 0, 1e-3 * scale, `${file} Wald lower ${w.term}`);
    relClose(mine.upper, w.upper, 0, 1e-3 * scale, `${file} Wald upper ${w.term}`);
  }
  expect(got.theta_names).toEqual(ref.theta_names);
  ref.theta.forEach((t: number, i: number) => relClose(got.theta[i], t, 0, 1e-3, `${file} theta[${i}]`));
  for (const [grp, vc] of Object.entries(ref.VarCorr) as [string, { names: string[]; sd: number[] }][]) {
    expect(got.VarCorr[grp].names).toEqual(vc.names);
    vc.sd.forEach((s, i) => relClose(got.VarCorr[grp].sd[i], s, 1e-3, 1e-3, `${file} VarCorr ${grp} sd ${vc.names[i]}`));
  }
  expect(got.VarCorr.Residual).toBeUndefined();
  ref.varcorr.forEach((row: { grp: string; var1: string; var2: string | null; sdcor: number }, i: number) => {
    expect([got.varcorr[i].grp, got.varcorr[i].var1, got.varcorr[i].var2]).toEqual([row.grp, row.var1, row.var2]);
    relClose(got.varcorr[i].sdcor, row.sdcor, 1e-3, 1e-3, `${file} varcorr ${row.grp} ${row.var1} ${row.var2}`);
  });
  ref.fitted_head.forEach((v: number, i: number) => relClose(got.fitted_head[i], v, 1e-3, 1e-6, `${file} fitted[${i}]`));
  for (const [grp, r] of Object.entries(ref.ranef) as [string, { levels: string[]; terms: string[]; values: number[][]; condsd: number[][] }][]) {
    const mine = got.ranef[grp];
    expect(mine.terms).toEqual(r.terms);
    expect([...mine.levels].sort()).toEqual([...r.levels].sort());
    const row = new Map(mine.levels.map((l, i) => [l, mine.values[i]]));
    const sd = new Map(mine.levels.map((l, i) => [l, mine.condsd![i]]));
    r.terms.forEach((term, c) => {
      const scale = Math.max(...r.values.map((v) => Math.abs(v[c])));
      r.levels.forEach((lev, i) => {
        relClose(row.get(lev)![c], r.values[i][c], 1e-3, 1e-3 * scale, `${file} ranef ${grp} ${lev} ${term}`);
        relClose(sd.get(lev)![c], r.condsd[i][c], 1e-3, 0, `${file} condsd ${grp} ${lev} ${term}`);
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Printed summaries

/** R's printed text without the Control: line (lme4 prints the control argument; this API has none). */
function rText(text: string): string {
  return text
    .split("\n")
    .filter((l) => !l.startsWith("Control:"))
    .join("\n")
    .trimEnd();
}

describe("glmer summary", () => {
  const withText = referenceFits("glmer", extraDir).filter(({ fit }) => fit.summary_text);
  it("has R's printed summaries", () => expect(withText.length).toBeGreaterThanOrEqual(10));
  for (const { file, fit: ref } of withText) {
    it(`${file}: lme4's layout, character for character, from lme4's numbers`, () => {
      const text = formatGlmerSummary({ ...ref, warnings: [] } as unknown as GlmmFitJSON, { dataName: "d", weightsName: ref.weights });
      expect(text.trimEnd()).toBe(rText(ref.summary_text));
    });
  }
  // The whole path (fit, then print) against R for the shared references, whose printed numbers agree.
  for (const id of ["cbpp-laplace", "cbpp-agq25", "grouseticks-poisson"]) {
    it(`${id}: our fit prints as lme4's`, async () => {
      const { fit: ref, dir } = referenceFits("glmer").find((f) => f.file === `${id}.json`)!;
      const m = await fitReference(id, ref, ref.formula, dir);
      expect(m.summary({ dataName: "d" }).trimEnd()).toBe(rText(fs.readFileSync(path.join(extraDir, "summaries", `${id}.txt`), "utf8")));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Results: fitted, residuals, predictions, nAGQ 0 and fast

describe("glmer results", () => {
  const cbpp = () => referenceTable("data/cbpp.csv", "cbpp", referenceDir);
  const formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)";

  it("fitted and predict on both scales, with and without newdata", async () => {
    const m = await glmer(formula, cbpp(), { family: "binomial" });
    const eta = m.fitted({ type: "link" });
    const mu = m.fitted();
    mu.forEach((v, i) => expect(v).toBeCloseTo(1 / (1 + Math.exp(-eta[i])), 14));
    expect(Array.from(m.predict())).toEqual(Array.from(eta));
    expect(Array.from(m.predict(undefined, { type: "response" }))).toEqual(Array.from(mu));
    // newdata = the fitting rows: the same predictions.
    const rows = cbpp();
    const p = m.predict(rows, { type: "response" });
    p.forEach((v, i) => expect(v).toBeCloseTo(mu[i], 12));
    // Population level: logit⁻¹(Xβ̂); herd effects left out.
    const fe = m.fixef();
    const pop = m.predict({ period: ["1", "4"], herd: ["1", "1"] }, { reForm: "none", type: "response" });
    expect(pop[0]).toBeCloseTo(1 / (1 + Math.exp(-fe["(Intercept)"])), 14);
    expect(pop[1]).toBeCloseTo(1 / (1 + Math.exp(-(fe["(Intercept)"] + fe.period4))), 14);
    // A new herd: an error, or the population's prediction.
    expect(() => m.predict({ period: ["2"], herd: ["99"] })).toThrow(/new levels detected in newdata: grouping factor 'herd': '99'/);
    const nl = m.predict({ period: ["2"], herd: ["99"] }, { allowNewLevels: true });
    expect(nl[0]).toBeCloseTo(fe["(Intercept)"] + fe.period2, 14);
  });

  it("residuals of every type agree with their definitions", async () => {
    const m = await glmer(formula, cbpp(), { family: "binomial" });
    const { y, wt } = m.response;
    const mu = m.fitted();
    const dev = m.residuals();
    const pear = m.residuals({ type: "pearson" });
    const resp = m.residuals({ type: "response" });
    let sumsq = 0;
    for (let i = 0; i < mu.length; i++) {
      sumsq += dev[i] ** 2;
      expect(Math.sign(dev[i])).toBe(Math.sign(y[i] - mu[i]) || -1);
      expect(pear[i]).toBeCloseTo((y[i] - mu[i]) * Math.sqrt(wt[i] / (mu[i] * (1 - mu[i]))), 12);
      expect(resp[i]).toBeCloseTo(y[i] - mu[i], 14);
    }
    expect(sumsq).toBeCloseTo(m.deviance(), 9);
    expect(() => m.residuals({ type: "partial" as "pearson" })).toThrow(/residual type must be/);
  });

  it("fast: true is lme4's nAGQ = 0 fit", async () => {
    const ref = referenceFits("glmer", extraDir).find((f) => f.file === "clinics-nagq0.json")!.fit;
    const data = referenceTable(ref.data, ref.dataset, extraDir);
    const fast = await glmer(ref.formula_original, data, { family: "binomial", fast: true });
    const zero = await glmer(ref.formula_original, data, { family: "binomial", nAGQ: 0 });
    expect(fast.toJSON().nAGQ).toBe(0);
    expect(fast.objectiveAtOptimum).toBe(zero.objectiveAtOptimum);
    expect(fast.theta).toEqual(zero.theta);
    relClose(fast.objectiveAtOptimum, ref.objective, 1e-9, 0, "fast objective");
    await expect(glmer(ref.formula_original, data, { family: "binomial", fast: true, nAGQ: 1 })).rejects.toThrow(/fast: true optimises θ only/);
  });

  it("the TypeScript kernels give the WebAssembly kernels' fit", async () => {
    const wasm = await glmer(formula, cbpp(), { family: "binomial" });
    const ts = await glmer(formula, cbpp(), { family: "binomial", engine: "ts" });
    expect(ts.engine).toBe("ts");
    relClose(ts.objectiveAtOptimum, wasm.objectiveAtOptimum, 1e-12, 0, "objective");
    ts.theta.forEach((t, i) => relClose(t, wasm.theta[i], 1e-6, 0, `theta[${i}]`));
    for (const [k, b] of Object.entries(wasm.fixef())) relClose(ts.fixef()[k], b, 1e-6, 0, `fixef ${k}`);
  });

  it("does not modify the caller's data", async () => {
    const cols = { y: [0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0], g: ["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"], x: [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6], w: [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2] };
    const copy = JSON.parse(JSON.stringify(cols));
    await glmer("y ~ x + (1 | g)", cols, { family: "binomial", weights: "w" });
    expect(cols).toEqual(copy);
  });

  it("the optimizer's evaluations start from the same point: the objective is deterministic", async () => {
    const m = await glmer(formula, cbpp(), { family: "binomial" });
    const par = [...m.theta, ...Object.values(m.fixef())];
    const a = m.devianceAt(m.theta, Object.values(m.fixef()));
    expect(m.devianceAt(par.slice(0, 1), par.slice(1))).toBe(a);
    expect(a).toBe(m.objectiveAtOptimum);
  });
});

// ---------------------------------------------------------------------------------------------
// The families' arithmetic (R 4.2.2's values) and the quadrature rule (lme4's GHrule)

describe("families and quadrature", () => {
  it("R's pnorm, dbinom, dpois, lgamma and stirlerr", () => {
    const pn: [number, number][] = [
      [-40, 0], [-10, 7.6198530241605269e-24], [-3, 1.3498980316300946e-3], [-0.5, 3.0853753872598694e-1],
      [0.3, 6.1791142218895267e-1], [1.7, 9.5543453724145699e-1], [7, 9.9999999999872013e-1],
    ];
    for (const [x, p] of pn) relClose(pnorm(x), p, 1e-15, 0, `pnorm(${x})`);
    relClose(logDbinom(3, 10, 0.2), -1.6028268537197232, 1e-15, 0, "dbinom(3, 10, 0.2, log = TRUE)");
    relClose(logDpois(0, 0.5), -0.5, 1e-15, 0, "dpois(0, 0.5, log = TRUE)");
    relClose(logDpois(3, 2.2), -1.6263873881352446, 1e-15, 0, "dpois(3, 2.2, log = TRUE)");
    relClose(logDpois(50, 47.3), -2.9522521768786709, 1e-14, 0, "dpois(50, 47.3, log = TRUE)");
    const lg: [number, number][] = [[0.1, 2.25271265173420598], [0.5, 0.57236494292470008], [3.3, 0.98709857789473443], [12.7, 19.23304317957009246], [150.2, 601.01106392589224470]];
    for (const [x, v] of lg) relClose(lgamma(x), v, 1e-14, 0, `lgamma(${x})`);
    // The tabulated half-integer values agree with their definition (R: lgamma(n + 1) − (n + ½) log n + n − log √(2π)).
    const st: [number, number][] = [[12, 0.006942840107208692], [13.5, 0.0061717122630411403], [15, 0.0055547335519654517]];
    for (const [n, v] of st) relClose(stirlerr(n), v, 1e-11, 0, `stirlerr(${n})`);
  });

  it("lme4's GHrule(k)", () => {
    expect(Array.from(ghRule(1).z)).toEqual([0]);
    expect(Array.from(ghRule(1).w)).toEqual([1]);
    const z5 = [-2.8569700138728056, -1.3556261799742662, 0, 1.3556261799742659, 2.8569700138728056];
    const w5 = [0.011257411327720701, 0.222075922005612575, 0.533333333333333326, 0.22207592200561263, 0.011257411327720689];
    ghRule(5).z.forEach((v, i) => relClose(v, z5[i], 1e-14, 1e-15, `GHrule(5) z[${i}]`));
    ghRule(5).w.forEach((v, i) => relClose(v, w5[i], 1e-13, 0, `GHrule(5) w[${i}]`));
    // GHrule(25): the outermost and central nodes and weights.
    const r = ghRule(25);
    relClose(r.z[0], -8.7175976783995885, 1e-14, 0, "GHrule(25) z[1]");
    relClose(r.z[11], -0.62246227918607622, 1e-14, 0, "GHrule(25) z[12]");
    relClose(r.w[0], 1.530038997998701e-17, 1e-12, 0, "GHrule(25) w[1]");
    relClose(r.w[12], 0.24816935117648514, 1e-14, 0, "GHrule(25) w[13]");
    relClose(r.w.reduce((a, b) => a + b, 0), 1, 1e-14, 0, "GHrule(25) Σw");
    expect(() => ghRule(0)).toThrow(/from 1 to 100/);
  });

  it("links and their clamps as lme4's glmFamily", () => {
    const logit = binomial().link, probit = binomial("probit").link, cloglog = binomial("cloglog").link, log = poisson().link;
    expect(logit.linkinv(40)).toBe(1 - 2.220446049250313e-16);
    expect(logit.muEta(-800)).toBe(2.220446049250313e-16);
    expect(probit.linkinv(0)).toBe(0.5);
    expect(cloglog.linkinv(-50)).toBe(2.220446049250313e-16);
    expect(log.linkinv(-800)).toBe(2.220446049250313e-16);
    for (const l of [logit, probit, cloglog, log]) for (const eta of [-2, -0.3, 0.4, 1.5]) expect(l.linkfun(l.linkinv(eta))).toBeCloseTo(eta, 10);
    expect(negativeBinomial(3.66356588).label).toBe("Negative Binomial(3.6636)");
    expect(() => makeFamily("poisson", "probit")).toThrow(/link 'probit' is not available for the poisson family/);
    expect(() => makeFamily("gaussian")).toThrow(/unknown family 'gaussian'/);
  });

  it("MASS's theta.ml and R's optimize", () => {
    // theta.ml(y, mu) for y = 0..9 at mu = 3 (R: 3.0818856 with limit 10; the same Newton steps).
    const y = Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const mu = new Float64Array(10).fill(4.5);
    const w = new Float64Array(10).fill(1);
    const t = thetaML(y, mu, w).theta;
    // At θ̂ the score vanishes.
    const h = 1e-6;
    const ll = (th: number) => y.reduce((s, yi) => s + lgamma(th + yi) - lgamma(th) - lgamma(yi + 1) + th * Math.log(th / (th + 4.5)) + yi * Math.log(4.5 / (th + 4.5)), 0);
    expect(Math.abs((ll(t + h) - ll(t - h)) / (2 * h))).toBeLessThan(1e-6);
    expect(fmin((x) => (x - 1.234) ** 2, -3, 5, 1e-8)).toBeCloseTo(1.234, 7);
  });
});

// ---------------------------------------------------------------------------------------------
// Errors

describe("glmer errors", () => {
  const base = { g: ["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"], x: [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6] };
  const counts = [0, 2, 3, 1, 0, 4, 2, 2, 1, 5, 3, 0];

  it("needs a family, a known link and nAGQ in range", async () => {
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: counts }, {} as GlmerOptions)).rejects.toThrow(/glmer needs a family/);
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: counts }, { family: "poisson", link: "logit" })).rejects.toThrow(/link 'logit' is not available for the poisson family/);
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: counts }, { family: "poisson", nAGQ: 26 })).rejects.toThrow(/nAGQ must be an integer from 0 to 25/);
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: counts }, { family: "poisson", nAGQ: 1.5 })).rejects.toThrow(/nAGQ must be an integer/);
  });

  it("responses outside the family's support", async () => {
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: counts.map((c, i) => (i === 4 ? -1 : c)) }, { family: "poisson" })).rejects.toThrow(
      /negative values are not allowed for the poisson family: 'y' is -1 in row 5/,
    );
    const frac = counts.map((c, i) => (i === 2 ? 2.5 : c));
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: frac }, { family: "poisson" })).rejects.toThrow(/the poisson family needs integer counts: 'y' is 2.5 in row 3/);
    const ok = await glmer("y ~ x + (1 | g)", { ...base, y: frac }, { family: "poisson", allowNonInteger: true });
    expect(Number.isFinite(ok.objectiveAtOptimum)).toBe(true);
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: counts }, { family: "binomial" })).rejects.toThrow(
      /binomial response 'y' must be 0\/1 or a proportion in \[0, 1\]: it is 2 in row 2/,
    );
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: counts.map((c) => c / 5) }, { family: "binomial" })).rejects.toThrow(
      /not a whole number of successes/,
    );
    await expect(glmer("cbind(y, 5 - y) ~ x + (1 | g)", { ...base, y: counts.map((c, i) => (i === 0 ? 6 : c)) }, { family: "binomial" })).rejects.toThrow(
      /cbind\(y, 5 - y\): counts must be non-negative, row 1 has 6 successes and -1 failures/,
    );
    await expect(glmer("cbind(y, 5 - y) ~ x + (1 | g)", { ...base, y: counts }, { family: "poisson" })).rejects.toThrow(/a two-column cbind\(\) response is for the binomial family/);
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: counts.map(() => 0) }, { family: "binomial" })).rejects.toThrow(/the response 'y' is constant/);
  });

  it("factor responses: two levels for the binomial, none for counts", async () => {
    const three = counts.map((c) => ["lo", "mid", "hi"][c % 3]);
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: three }, { family: "binomial" })).rejects.toThrow(/is a factor with 3 levels .*: a binomial response needs two/);
    const two = counts.map((c) => (c > 1 ? "yes" : "no"));
    await expect(glmer("y ~ x + (1 | g)", { ...base, y: two }, { family: "poisson" })).rejects.toThrow(/response 'y' is a factor .*: the poisson family needs counts/);
    // First level = failure, as R: the same fit as the 0/1 coding.
    const asFactor = await glmer("y ~ x + (1 | g)", { ...base, y: two }, { family: "binomial", levels: { y: { levels: ["no", "yes"] } } });
    const as01 = await glmer("y ~ x + (1 | g)", { ...base, y: counts.map((c) => (c > 1 ? 1 : 0)) }, { family: "binomial" });
    expect(asFactor.objectiveAtOptimum).toBe(as01.objectiveAtOptimum);
    const asLogical = await glmer("y ~ x + (1 | g)", { ...base, y: counts.map((c) => c > 1) }, { family: "binomial" });
    expect(asLogical.objectiveAtOptimum).toBe(as01.objectiveAtOptimum);
  });

  it("weights: non-negative, one per row, an existing column", async () => {
    const y = counts.map((c) => (c > 1 ? 1 : 0));
    await expect(glmer("y ~ x + (1 | g)", { ...base, y }, { family: "binomial", weights: y.map((_, i) => (i === 3 ? -2 : 1)) })).rejects.toThrow(
      /weights must be non-negative: row 4 has weight -2/,
    );
    await expect(glmer("y ~ x + (1 | g)", { ...base, y }, { family: "binomial", weights: [1, 2] })).rejects.toThrow(/weights has 2 values but the data has 12 rows/);
    await expect(glmer("y ~ x + (1 | g)", { ...base, y }, { family: "binomial", weights: "n" })).rejects.toThrow(/weights: the data has no column 'n'/);
  });

  it("nAGQ > 1 needs a single scalar random-effects term", async () => {
    const { fit: gt, dir } = referenceFits("glmer").find((f) => f.file === "grouseticks-poisson.json")!;
    await expect(glmer(gt.formula, referenceTable(gt.data, gt.dataset, dir), { family: "poisson", nAGQ: 5 })).rejects.toThrow(
      /nAGQ > 1 is only available for models with a single, scalar random-effects term \(this model has \(1 \| BROOD\) \+ \(1 \| LOCATION\)\)/,
    );
    const { fit: ge } = referenceFits("glmer", extraDir).find((f) => f.file === "germination-cloglog.json")!;
    await expect(
      glmer(ge.formula_original, referenceTable(ge.data, ge.dataset, extraDir), { family: "binomial", link: "cloglog", nAGQ: 3 }),
    ).rejects.toThrow(/nAGQ > 1 is only available for models with a single, scalar random-effects term \(this model has \(time \| plot\)\)/);
  });

  it("complete separation is reported, not returned as a huge estimate", async () => {
    // x = 1 always succeeds: the slope of x diverges (lme4 returns about 40 with a standard error of 1e7).
    const g: string[] = [], x: number[] = [], y: number[] = [];
    for (let k = 0; k < 10; k++) for (let i = 0; i < 10; i++) {
      g.push(`g${k}`);
      x.push(i % 2);
      y.push(i % 2 === 1 ? 1 : (k * 7 + i * 3) % 5 < 2 ? 1 : 0);
    }
    await expect(glmer("y ~ x + (1 | g)", { g, x, y }, { family: "binomial" })).rejects.toThrow(/complete separation: .* the fixed effect 'x' \(estimate .*\) diverges/);
    const m = await glmer("y ~ x + (1 | g)", { g, x, y }, { family: "binomial", separation: "warning" });
    expect(m.warnings.some((w) => w.startsWith("complete separation"))).toBe(true);
  });

  it("lmer refuses the GLMM response forms with a pointer to glmer", async () => {
    await expect(lmer("cbind(y, 5 - y) ~ x + (1 | g)", { ...base, y: counts })).rejects.toThrow(/a two-column cbind\(successes, failures\) response needs a binomial GLMM \(glmer\)/);
  });
});
