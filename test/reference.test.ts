// Parity with lme4: every lmer fit in the project's copy of the reference fits is refitted and compared
// field by field with the tolerances of issue 3. A new file in test/fixtures/reference/fits is picked
// up with no code change.
import { describe, expect, it } from "vitest";
import { LinearMixedModel } from "../src/linearmixedmodel.js";
import { loadKernels } from "../src/engine.js";
import { extraDir, referenceFits, referenceTable, type ReferenceFit } from "./helpers/reference.js";

function relClose(got: number, want: number, rel: number, abs: number, what: string): void {
  const ok = Math.abs(got - want) <= Math.max(rel * Math.abs(want), abs);
  expect(ok, `${what}: got ${got}, lme4 ${want} (rel ${rel}, abs ${abs})`).toBe(true);
}

// The shared lme4 references, then further lme4 fits on simulated data shaped like the applications.
const fits = [...referenceFits("lmer"), ...referenceFits("lmer", extraDir)];

describe("lme4 reference fits", () => {
  it("finds the LMM reference fits", () => {
    expect(referenceFits("lmer").length).toBeGreaterThanOrEqual(14);
    expect(referenceFits("lmer", extraDir).length).toBeGreaterThanOrEqual(12);
  });

  for (const { file, fit: ref, dir } of fits) {
    const formula: string = ref.formula_original ?? ref.formula;
    it(`${file}: ${formula} (${ref.REML ? "REML" : "ML"})`, async () => {
      const data = referenceTable(ref.data, ref.dataset, dir);
      const kernels = await loadKernels("auto");
      const m = LinearMixedModel.fit(kernels, formula, data, { REML: ref.REML });
      const got = { ...m.toJSON(), confint_wald: m.confint() } as unknown as ReferenceFit;
      // The optimum: within 1e-6 relative of lme4's, or lower.
      expect(got.objective, `${file} objective`).toBeLessThanOrEqual(ref.objective + 1e-6 * Math.abs(ref.objective));
      // Where our optimum is lower than lme4's by more than rounding, the estimates may differ from
      // lme4's accordingly (README of the reference fits); they are then checked at lme4's θ below.
      const better = got.objective < ref.objective - 1e-9 * Math.abs(ref.objective);
      if (!better) checkFit(got, ref, file, { rel: 1e-4, ranefRel: 1e-3, ranefAbs: 1e-4, theta: 1e-3, crit: 1e-6 });
      checkSingular(got, ref);
      // Rank-deficient X: the same columns dropped, with lme4's message.
      expect(got.dropped_columns).toEqual(ref.dropped_columns ?? []);
      for (const msg of ref.messages ?? []) if (!msg.startsWith("boundary")) expect(got.warnings).toContain(msg);
      // At lme4's θ every derived number must agree closely: this checks the engine itself.
      m.setTheta(ref.theta);
      const atRef = { ...m.toJSON(), confint_wald: m.confint() } as unknown as ReferenceFit;
      relClose(atRef.objective, ref.objective, 1e-9, 0, `${file} objective at lme4's θ`);
      checkFit(atRef, ref, file + " at lme4's θ", { rel: 1e-6, ranefRel: 1e-6, ranefAbs: 1e-8, theta: 0, crit: 1e-9 });
    });
  }
});

describe("lme4 reference fits with Nelder-Mead", () => {
  // InstEval is left to BOBYQA: its Nelder-Mead fit takes a minute.
  for (const { file, fit: ref, dir } of fits.filter(({ fit }) => fit.nobs <= 10000)) {
    const formula: string = ref.formula_original ?? ref.formula;
    it(`${file}: the same optimum`, async () => {
      const kernels = await loadKernels("auto");
      const m = LinearMixedModel.fit(kernels, formula, referenceTable(ref.data, ref.dataset, dir), { REML: ref.REML, optimizer: "neldermead" });
      expect(m.objectiveAtOptimum).toBeLessThanOrEqual(ref.objective + 1e-6 * Math.abs(ref.objective));
      relClose(m.objectiveAtOptimum, ref.objective, 1e-6, 0, `${file} objective`);
      // A lower optimum than lme4's (beyond rounding) may sit at a different θ on a flat surface.
      if (m.objectiveAtOptimum >= ref.objective - 1e-9 * Math.abs(ref.objective)) {
        ref.theta.forEach((t: number, i: number) => relClose(m.theta[i], t, 0, 1e-3, `${file} theta[${i}]`));
      }
      expect(m.isSingular()).toBe(ref.singular);
    });
  }
});

interface Tolerances { rel: number; ranefRel: number; ranefAbs: number; theta: number; crit: number }

function checkSingular(got: ReferenceFit, ref: ReferenceFit): void {
  expect(got.singular).toBe(ref.singular);
  if (ref.singular) {
    expect(got.conv_messages).toContain("boundary (singular) fit: see help('isSingular')");
    expect(got.theta.some((t: number, i: number) => t === 0 && ref.theta[i] === 0)).toBe(true);
  } else {
    expect(got.conv_messages).toEqual([]);
  }
}

function checkFit(got: ReferenceFit, ref: ReferenceFit, file: string, tol: Tolerances): void {
  relClose(got.objective, ref.objective, tol.crit, 0, `${file} objective`);
  expect(got.nobs).toBe(ref.nobs);
  expect(got.ngrps).toEqual(ref.ngrps);
  expect(Object.keys(got.fixef)).toEqual(Object.keys(ref.fixef));
  for (const k of Object.keys(ref.fixef)) {
    relClose(got.fixef[k], ref.fixef[k], tol.rel, 1e-6, `${file} fixef ${k}`);
    relClose(got.se[k], ref.se[k], tol.rel, 1e-6, `${file} se ${k}`);
  }
  ref.vcov.forEach((row: number[], i: number) =>
    row.forEach((v, j) =>
      relClose(got.vcov[i][j], v, tol.rel, 1e-6 * Math.sqrt(Math.abs(ref.vcov[i][i] * ref.vcov[j][j])), `${file} vcov[${i}][${j}]`),
    ),
  );
  relClose(got.sigma, ref.sigma, tol.rel, 1e-6, `${file} sigma`);
  expect(got.theta_names).toEqual(ref.theta_names);
  ref.theta.forEach((t: number, i: number) => relClose(got.theta[i], t, 0, tol.theta, `${file} theta[${i}]`));
  for (const [g, vc] of Object.entries(ref.VarCorr) as [string, { names: string[]; sd: number[] }][]) {
    expect(got.VarCorr[g], `${file} VarCorr ${g}`).toBeDefined();
    expect(got.VarCorr[g].names).toEqual(vc.names);
    vc.sd.forEach((s, i) => relClose(got.VarCorr[g].sd[i], s, tol.rel, 1e-6, `${file} VarCorr ${g} sd ${vc.names[i]}`));
  }
  for (const k of ["logLik", "AIC", "BIC", "REMLcrit", "deviance_ML"]) relClose(got[k], ref[k], tol.crit, 0, `${file} ${k}`);
  // An endpoint β̂ ± z·se inherits the errors of β̂ and se (each within tol.rel): its tolerance is
  // tol.rel·(|β̂| + z·se), not relative to the endpoint itself, which may sit near 0 (InstEval's service1).
  for (const w of ref.confint_wald ?? []) {
    const mine = got.confint_wald.find((c: { term: string }) => c.term === w.term);
    const scale = Math.abs(ref.fixef[w.term]) + 1.959963984540054 * ref.se[w.term];
    relClose(mine.lower, w.lower, 0, tol.rel * scale, `${file} Wald lower ${w.term}`);
    relClose(mine.upper, w.upper, 0, tol.rel * scale, `${file} Wald upper ${w.term}`);
  }
  expect(got.npar).toBe(ref.npar);
  expect(got.df_residual).toBe(ref.df_residual);
  ref.fitted_head.forEach((v: number, i: number) => relClose(got.fitted_head[i], v, tol.rel, 1e-6, `${file} fitted[${i}]`));
  // Conditional modes by level name (the reference lists levels in as.data.frame(ranef) order); modes
  // near zero are compared against the size of their column.
  for (const [g, r] of Object.entries(ref.ranef) as [string, { levels: string[]; terms: string[]; values: number[][]; condsd?: number[][] }][]) {
    const mine = got.ranef[g];
    expect(mine, `${file} ranef ${g}`).toBeDefined();
    expect(mine.terms).toEqual(r.terms);
    expect([...mine.levels].sort()).toEqual([...r.levels].sort());
    const row = new Map<string, number[]>(mine.levels.map((l: string, i: number) => [l, mine.values[i]]));
    const sd = new Map<string, number[]>(mine.levels.map((l: string, i: number) => [l, mine.condsd[i]]));
    r.terms.forEach((term, c) => {
      const scale = Math.max(...r.values.map((v) => Math.abs(v[c])));
      r.levels.forEach((lev, i) =>
        relClose(row.get(lev)![c], r.values[i][c], tol.ranefRel, tol.ranefAbs * scale, `${file} ranef ${g} ${lev} ${term}`),
      );
      // Conditional sds (lme4's ranef(condVar = TRUE)), as relative as the estimates themselves.
      const condsd = r.condsd;
      if (condsd) r.levels.forEach((lev, i) => relClose(sd.get(lev)![c], condsd[i][c], tol.rel, 1e-6 * ref.sigma, `${file} condsd ${g} ${lev} ${term}`));
    });
  }
}
