// Satterthwaite t and F tests against lmerTest 3.1-3: every lmer reference fit (shared and extra) with
// `satterthwaite` / `anova_type3` is refitted and compared, plus contest() with vectors and matrices
// against values printed by R (lmerTest::contest, anova(type = 3)) and its errors.
//
// The comparisons with the brief's tolerances are made at lme4's θ (m.setTheta(ref.theta)): there
// the deviance surface is lme4's exactly, so the differences are those of the numerical derivatives
// alone. At our own optimum, which on flat optima differs from lme4's in the 4th-5th digit of θ,
// df, t and F are checked too; tiny p-values are too sensitive to t there (d log p / d t ≈ t) to be
// compared in relative terms, so p is compared at lme4's θ only.
import { describe, expect, it } from "vitest";
import { loadKernels } from "../src/engine.js";
import { LinearMixedModel } from "../src/linearmixedmodel.js";
import { anovaType3, contest, hessian, jacobian, satterthwaite, satterthwaiteWarnings, type SattFTest, type SattTest } from "../src/satterthwaite.js";
import { extraDir, referenceFits, referenceTable, type ReferenceFit } from "./helpers/reference.js";

function relClose(got: number, want: number, rel: number, abs: number, what: string): void {
  const ok = Math.abs(got - want) <= Math.max(rel * Math.abs(want), abs);
  expect(ok, `${what}: got ${got}, lmerTest ${want} (rel ${rel}, abs ${abs})`).toBe(true);
}

const TOL = { df: 1e-3, t: 1e-4, pRel: 1e-4, pAbs: 1e-10 };

// InstEval (73,421 rows) takes ~25 s to fit and differentiate; LMM_SLOW_TESTS=1 includes it (it matches).
const includeSlow = process.env.LMM_SLOW_TESTS === "1";
const fits = [...referenceFits("lmer"), ...referenceFits("lmer", extraDir)].filter(({ fit }) => fit.satterthwaite);

async function refit(ref: ReferenceFit, dir: string): Promise<LinearMixedModel> {
  const kernels = await loadKernels("auto");
  return LinearMixedModel.fit(kernels, ref.formula_original ?? ref.formula, referenceTable(ref.data, ref.dataset, dir), { REML: ref.REML });
}

/** The reference keys its numbers by column name, except for one-column models (a bare array). */
function refValue(field: Record<string, number> | number[], names: string[], name: string): number {
  return Array.isArray(field) ? field[names.indexOf(name)] : field[name];
}

function checkSatterthwaite(m: LinearMixedModel, ref: ReferenceFit, what: string, withP: boolean): void {
  const got = satterthwaite(m);
  const names = m.frame.xNames;
  expect(Object.keys(got.df)).toEqual(names);
  for (const nm of names) {
    relClose(got.df[nm], refValue(ref.satterthwaite.df, names, nm), TOL.df, 0, `${what} df ${nm}`);
    relClose(got.t[nm], refValue(ref.satterthwaite.t, names, nm), TOL.t, 0, `${what} t ${nm}`);
    if (withP) relClose(got.p[nm], refValue(ref.satterthwaite.p, names, nm), TOL.pRel, TOL.pAbs, `${what} p ${nm}`);
  }
}

function checkAnova(m: LinearMixedModel, ref: ReferenceFit, what: string, withP: boolean): void {
  const got = anovaType3(m);
  const want: { term: string; NumDF: number | null; DenDF: number | null; F: number | null; p: number | null }[] = ref.anova_type3 ?? [];
  expect(got.map((r) => r.term)).toEqual(want.map((r) => r.term));
  want.forEach((w, i) => {
    const g = got[i];
    if (w.F === null) {
      // lmerTest's NA row: nothing of the term is left to test (its column was dropped as aliased).
      for (const k of ["F", "NumDF", "DenDF", "p"] as const) expect(g[k], `${what} ${w.term} ${k}`).toBeNaN();
      return;
    }
    expect(g.NumDF, `${what} ${w.term} NumDF`).toBe(w.NumDF);
    relClose(g.DenDF, w.DenDF!, TOL.df, 0, `${what} ${w.term} DenDF`);
    relClose(g.F, w.F, TOL.t, 0, `${what} ${w.term} F`);
    if (withP) relClose(g.p, w.p!, TOL.pRel, TOL.pAbs, `${what} ${w.term} p`);
  });
}

describe("Satterthwaite tests against lmerTest on the reference fits", () => {
  it("finds the fits with lmerTest results", () => {
    expect(fits.length).toBeGreaterThanOrEqual(26);
    expect(fits.filter(({ fit }) => fit.anova_type3).length).toBeGreaterThanOrEqual(20);
  });

  for (const { file, fit: ref, dir } of fits) {
    const slow = ref.nobs > 10000;
    it.skipIf(slow && !includeSlow)(`${file}: ${ref.formula_original ?? ref.formula} (${ref.REML ? "REML" : "ML"})`, async () => {
      const m = await refit(ref, dir);
      checkSatterthwaite(m, ref, `${file} at our optimum`, false);
      checkAnova(m, ref, `${file} at our optimum`, false);
      m.setTheta(ref.theta);
      checkSatterthwaite(m, ref, `${file} at lme4's θ`, true);
      checkAnova(m, ref, `${file} at lme4's θ`, true);
    }, 120000);
  }
});

describe("contest", () => {
  const sleep = fits.find(({ file }) => file === "sleepstudy-slope-reml.json")!;

  async function sleepAtRef(): Promise<LinearMixedModel> {
    return (await refit(sleep.fit, sleep.dir)).setTheta(sleep.fit.theta);
  }

  it("a unit vector is the fixed effect's row of the summary table", async () => {
    const m = await sleepAtRef();
    const s = satterthwaite(m);
    const r = contest(m, [0, 1]) as SattTest;
    expect(r.estimate).toBe(m.fixef().Days);
    expect(r.se).toBeCloseTo(m.se().Days, 12);
    expect(r.df).toBe(s.df.Days);
    expect(r.t).toBe(s.t.Days);
    expect(r.p).toBe(s.p.Days);
  });

  // R: ft <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy); contest(ft, L, joint = FALSE) / contest(ft, L)
  it("a vector: the t test of L'β (lmerTest's contest1D)", async () => {
    const r = contest(await sleepAtRef(), [1, 5]) as SattTest;
    relClose(r.estimate, 303.74153464646491, 1e-9, 0, "estimate");
    relClose(r.se, 9.5812773920098309, 1e-9, 0, "se");
    relClose(r.df, 16.999799390321147, TOL.df, 0, "df");
    relClose(r.t, 31.701569865805766, TOL.t, 0, "t");
    relClose(r.p, 1.4529418332384176e-16, TOL.pRel, 0, "p");
  });

  it("a matrix with two rows: the F test (lmerTest's contestMD)", async () => {
    const m = await sleepAtRef();
    const r = contest(m, [[1, 0], [0, 1]]) as SattFTest;
    expect(r.NumDF).toBe(2);
    relClose(r.F, 749.95045389929862, TOL.t, 0, "F");
    relClose(r.DenDF, 16.999846049349909, TOL.df, 0, "DenDF");
    relClose(r.p, 2.6350970937880524e-17, TOL.pRel, 0, "p");
    // Another basis of the same space: the same F; DenDF (from the eigenvectors of L Cov L') as R's.
    const r2 = contest(m, [[1, 5], [1, -3]]) as SattFTest;
    relClose(r2.F, 749.9504538992984, TOL.t, 0, "F");
    relClose(r2.DenDF, 16.999841793817815, TOL.df, 0, "DenDF");
    relClose(r2.p, 2.6351167315165038e-17, TOL.pRel, 0, "p");
  });

  it("a rank-deficient matrix is tested on its row space", async () => {
    const r = contest(await sleepAtRef(), [[1, 0], [2, 0]]) as SattFTest;
    expect(r.NumDF).toBe(1);
    relClose(r.F, 1357.0448487876856, TOL.t, 0, "F");
    relClose(r.DenDF, 16.999726288492724, TOL.df, 0, "DenDF");
    relClose(r.p, 1.1715581112082509e-17, TOL.pRel, 0, "p");
  });

  it("a one-row matrix is the F = t² test of that row", async () => {
    const m = await sleepAtRef();
    const t = contest(m, [1, 5]) as SattTest;
    const F = contest(m, [[1, 5]]) as SattFTest;
    expect(F.NumDF).toBe(1);
    expect(F.F).toBeCloseTo(t.t ** 2, 8);
    expect(F.DenDF).toBe(t.df);
    relClose(F.p, t.p, 1e-10, 0, "p");
  });

  it("explains wrong contrasts", async () => {
    const m = await sleepAtRef();
    expect(() => contest(m, [1, 0, 0])).toThrow("contrast has 3 elements but the model has 2 fixed effects ((Intercept), Days)");
    expect(() => contest(m, [1])).toThrow("contrast has 1 element but the model has 2 fixed effects ((Intercept), Days)");
    expect(() => contest(m, [[1, 0], [0, 1, 0]])).toThrow("contrast row 2 has 3 elements but the model has 2 fixed effects ((Intercept), Days)");
    expect(() => contest(m, [])).toThrow("contrast is empty");
    expect(() => contest(m, [1, NaN])).toThrow("contrast: element 2 (Days) is NaN, not a finite number");
    expect(() => contest(m, [0, 0])).toThrow("the contrast is all zeros");
    expect(() => contest(m, [[0, 0], [0, 0]])).toThrow("the contrast matrix is all zeros");
    // Not all zeros, but L Cov(β̂) L' vanishes (underflows): no direction left to test.
    expect(() => contest(m, [[1e-300, 0], [0, 1e-300]])).toThrow("the contrast matrix has rank 0");
  });

  it("recomputes the derivatives when setTheta moves the model", async () => {
    const m = await refit(sleep.fit, sleep.dir);
    const other = [1, 0, 0.5];
    const before = satterthwaite(m).df.Days;
    m.setTheta(other);
    const moved = satterthwaite(m).df.Days;
    const fresh = satterthwaite((await refit(sleep.fit, sleep.dir)).setTheta(other)).df.Days;
    expect(moved).not.toBe(before);
    expect(moved).toBe(fresh);
  });

  it("no Hessian warnings at a well-defined optimum", async () => {
    expect(satterthwaiteWarnings(await sleepAtRef())).toEqual([]);
  });
});

describe("type III hypotheses with other contrasts (lmerTest remakes X with contr.treatment)", () => {
  const cake = fits.find(({ file }) => file === "cake-numeric-reml.json")!;
  const table = () => referenceTable(cake.fit.data, cake.fit.dataset, cake.dir);

  // R: anova(lmer(angle ~ recipe * temp + (1 | recipe:replicate), cake, contrasts = list(recipe = "contr.sum")), type = 3)
  it("contr.sum: the marginal hypotheses, as with treatment coding", async () => {
    const kernels = await loadKernels("auto");
    const m = LinearMixedModel.fit(kernels, "angle ~ recipe * temp + (1 | recipe:replicate)", table(), { contrasts: { recipe: "contr.sum" } });
    m.setTheta([1.4141387706848927]);
    const want = [
      { term: "recipe", NumDF: 2, DenDF: 254.01575928856096, F: 0.095677963132294569, p: 0.90878935619826151 },
      { term: "temp", NumDF: 1, DenDF: 221.99999591740973, F: 94.163229581807414, p: 8.7468410193396126e-19 },
      { term: "recipe:temp", NumDF: 2, DenDF: 222.00000014322063, F: 0.041692444545223639, p: 0.95917223996734791 },
    ];
    checkAnova(m, { anova_type3: want }, "contr.sum", true);
  });

  // R: anova(lmer(angle ~ recipe * temperature + (1 | recipe:replicate), cake, contrasts = list(recipe = "contr.helmert")), type = 3)
  it("contr.helmert with an ordered factor (contr.poly)", async () => {
    const kernels = await loadKernels("auto");
    const m = LinearMixedModel.fit(kernels, "angle ~ recipe * temperature + (1 | recipe:replicate)", table(), { contrasts: { recipe: "contr.helmert" } });
    m.setTheta([1.4295916335886836]);
    const want = [
      { term: "recipe", NumDF: 2, DenDF: 41.999999806831951, F: 0.24878878629580037, p: 0.78088560500496274 },
      { term: "temperature", NumDF: 5, DenDF: 210.00000006838846, F: 20.51986044185659, p: 1.1531621207984446e-16 },
      { term: "recipe:temperature", NumDF: 10, DenDF: 210.00000006827452, F: 1.0061979846030922, p: 0.43926943669142798 },
    ];
    checkAnova(m, { anova_type3: want }, "contr.helmert", true);
  });

  // R: anova(lmer(angle ~ recipe + recipe:temp + (1 | recipe:replicate), cake), type = 3)
  it("a nested slope (A + A:x): A is not contained in A:x (x is coded by contrasts there, A is not)", async () => {
    const kernels = await loadKernels("auto");
    const m = LinearMixedModel.fit(kernels, "angle ~ recipe + recipe:temp + (1 | recipe:replicate)", table());
    m.setTheta([1.4141387704829351]);
    const want = [
      { term: "recipe", NumDF: 2, DenDF: 254.0157605251373, F: 0.095677963130324811, p: 0.90878935619989099 },
      { term: "recipe:temp", NumDF: 3, DenDF: 222.00000227576476, F: 31.415538155648573, p: 5.7610756016662254e-17 },
    ];
    checkAnova(m, { anova_type3: want }, "nested", true);
  });
});

describe("other model forms against lmerTest (village data, values printed by R)", () => {
  const village = fits.find(({ file }) => file === "village-intercept-reml.json")!;
  const table = () => referenceTable(village.fit.data, village.fit.dataset, village.dir);
  type Row = { df: number; t: number; p: number };
  function checkRows(m: LinearMixedModel, want: Record<string, Row>, what: string): void {
    const got = satterthwaite(m);
    expect(Object.keys(got.df)).toEqual(Object.keys(want));
    for (const [nm, w] of Object.entries(want)) {
      relClose(got.df[nm], w.df, TOL.df, 0, `${what} df ${nm}`);
      relClose(got.t[nm], w.t, TOL.t, 0, `${what} t ${nm}`);
      relClose(got.p[nm], w.p, TOL.pRel, TOL.pAbs, `${what} p ${nm}`);
    }
  }

  // R: fit <- lmer(y ~ treatment * sex * age + (1 | village), village); anova(fit, type = 3); summary(fit)
  it("a three-way interaction of two factors and a covariate", async () => {
    const kernels = await loadKernels("auto");
    const m = LinearMixedModel.fit(kernels, "y ~ treatment * sex * age + (1 | village)", table());
    m.setTheta([0.4327552836370539]);
    checkAnova(m, {
      anova_type3: [
        { term: "treatment", NumDF: 1, DenDF: 38.579929143877884, F: 17.097343609335613, p: 0.00018515561239992515 },
        { term: "sex", NumDF: 1, DenDF: 637.73959412023737, F: 5.1823799724592403, p: 0.023147596954415085 },
        { term: "age", NumDF: 1, DenDF: 635.21915107639018, F: 59.08390803040318, p: 5.7607321973350722e-14 },
        { term: "treatment:sex", NumDF: 1, DenDF: 637.73959410784119, F: 0.69813976161667468, p: 0.40372238838184993 },
        { term: "treatment:age", NumDF: 1, DenDF: 635.21915106891311, F: 0.48421061179485242, p: 0.48677575167737364 },
        { term: "sex:age", NumDF: 1, DenDF: 635.33264077833519, F: 0.44849067298315271, p: 0.50329589094652905 },
        { term: "treatment:sex:age", NumDF: 1, DenDF: 635.33264085402277, F: 0.23178330317003407, p: 0.63037045223299448 },
      ],
    }, "3-way", true);
    checkRows(m, {
      "(Intercept)": { df: 64.880678987937671, t: 49.727305937868678, p: 2.2089322003809418e-53 },
      treatmentintervention: { df: 60.993904763230745, t: 4.0470078566520815, p: 0.0001484692188816554 },
      sexmale: { df: 638.69001902553987, t: -0.97154147277656611, p: 0.33164649557188797 },
      age: { df: 643.06992196084502, t: 3.1014742394421608, p: 0.0020098720633297804 },
      "treatmentintervention:sexmale": { df: 637.73959410784119, t: -0.83554758189864609, p: 0.40372238838184993 },
      "treatmentintervention:age": { df: 637.56040970332288, t: 0.14999577412668672, p: 0.88081538751357635 },
      "sexmale:age": { df: 637.80515142232559, t: 0.12410628534820604, p: 0.90127022313104732 },
      "treatmentintervention:sexmale:age": { df: 635.33264085402277, t: 0.48143878444723798, p: 0.63037045223299448 },
    }, "3-way");
  });

  // R: fit <- lmer(y ~ 0 + treatment + age + (1 | village), village)
  it("no intercept: the factor is coded by indicators and its test has 2 df", async () => {
    const kernels = await loadKernels("auto");
    const m = LinearMixedModel.fit(kernels, "y ~ 0 + treatment + age + (1 | village)", table());
    m.setTheta([0.43142971386878637]);
    checkAnova(m, {
      anova_type3: [
        { term: "treatment", NumDF: 2, DenDF: 38.524059958514158, F: 3516.6798420496434, p: 2.4806045902264973e-44 },
        { term: "age", NumDF: 1, DenDF: 639.24896807631092, F: 60.737013220627624, p: 2.6516719009568271e-14 },
      ],
    }, "no intercept", true);
    checkRows(m, {
      treatmentcontrol: { df: 40.777830026286338, t: 55.469684268654824, p: 4.9682397651334839e-40 },
      treatmentintervention: { df: 36.517877938485128, t: 62.90307694963515, p: 7.8121174780061693e-39 },
      age: { df: 639.24896807631092, t: 7.7933954872460838, p: 2.6516719009568271e-14 },
    }, "no intercept");
  });

  // R: anova(lmer(y ~ age + treatment:age + (1 | village), village), type = 3). In age:treatment,
  // treatment is coded by contrasts and age by indicators (R's factors attribute 1 and 2), so for
  // lmerTest age:treatment has no numeric variable and does not contain age.
  it("a slope by group without the group's main effect (R's factor codes 1 and 2)", async () => {
    const kernels = await loadKernels("auto");
    const m = LinearMixedModel.fit(kernels, "y ~ age + treatment:age + (1 | village)", table());
    m.setTheta([0.53967254592086344]);
    checkAnova(m, {
      anova_type3: [
        { term: "age", NumDF: 1, DenDF: 638.26646127625145, F: 21.895658610712477, p: 3.5168420085734272e-6 },
        { term: "age:treatment", NumDF: 1, DenDF: 636.20035347749706, F: 0.30216994431897931, p: 0.58271815711028641 },
      ],
    }, "age + treatment:age", true);
  });

  it("an intercept-only model has no terms to test", async () => {
    const dye = fits.find(({ file }) => file === "dyestuff-reml.json")!;
    expect(anovaType3(await refit(dye.fit, dye.dir))).toEqual([]);
  });
});

describe("numDeriv's Richardson derivatives", () => {
  it("hessian: exact to ~1e-9 on a smooth function, with a coordinate at 0 (absolute step)", () => {
    // f = x² y + e^y + x z³ at (1.5, 0.3, 0): H = [[2y, 2x, 3z²], [2x, e^y, 0], [3z², 0, 6xz]].
    const H = hessian(([x, y, z]) => x * x * y + Math.exp(y) + x * z ** 3, [1.5, 0.3, 0]);
    const want = [[0.6, 3, 0], [3, Math.exp(0.3), 0], [0, 0, 0]];
    want.forEach((row, i) => row.forEach((w, j) => expect(Math.abs(H[i][j] - w), `H[${i}][${j}]`).toBeLessThan(1e-8)));
  });

  it("jacobian: rows are outputs, columns are inputs", () => {
    const J = jacobian(([x, y]) => [x * y, Math.sin(x), y ** 2], [1.5, -0.7]);
    const want = [[-0.7, 1.5], [Math.cos(1.5), 0], [0, -1.4]];
    want.forEach((row, i) => row.forEach((w, j) => expect(Math.abs(J[i][j] - w), `J[${i}][${j}]`).toBeLessThan(1e-10)));
  });
});
