// Variance decomposition (src/varpart.ts) against values computed in R 4.2.2 / lme4 1.1-31 by hand from
// the formulas, since performance, MuMIn and variancePartition are not installed there:
//
//   X <- getME(fit, "X"); vc <- VarCorr(fit); Zt <- getME(fit, "Zt"); Gp <- getME(fit, "Gp")
//   var_fixed  <- var(as.vector(X %*% fixef(fit)))                         # σ²_f, n − 1 (insight's var.fixed)
//   rand_by[i] <- mean(colSums(Z * (kronecker(diag(nlev), S) %*% Z)))      # Z = Zt[Gp[i]+1:Gp[i+1], ], S = vc[[i]]:
//                                                                          # mean_i z_i' Σ z_i (Johnson 2014)
//   var_random <- sum(rand_by); s2 <- sigma(fit)^2; tot <- var_fixed + var_random + s2
//   R2 marginal = var_fixed / tot, conditional = (var_fixed + var_random) / tot          (performance::r2_nakagawa)
//   ICC adjusted = var_random / (var_random + s2), unadjusted = var_random / tot         (performance::icc)
//   ICC by group = S[1, 1] / (var_random + s2) for terms whose first column is (Intercept) (icc(by_group = TRUE))
//   varPart (variancePartition::getVarianceComponents, per fixed term through attr(X, "assign")):
//     fv[t] <- var(X[, assign == t] %*% beta[assign == t]) * (N - 1) / N
//     fixed term t: fv[t] / sum(fv) * var(rowSums(fx)) * (N - 1) / N; random: rand_by; Residuals: s2
// For every model the random part was also computed insight's / MuMIn's way (X[, rownames(S)] %*% S),
// with the same result. The comparisons are made at lme4's θ (m.setTheta(theta)), where our fit is
// lme4's up to rounding, and at our own optimum with the tolerance of the reference tests.
import { describe, expect, it } from "vitest";
import { lmer, type LinearMixedModel } from "../src/linearmixedmodel.js";
import { icc, r2Nakagawa, varianceComponents, varPart } from "../src/varpart.js";
import { extraDir, referenceTable } from "./helpers/reference.js";

interface Expected {
  theta: number[];
  vc: { fixed: number; random: number; residual: number; randomByTerm: Record<string, number>; intercept: Record<string, number> };
  r2: { marginal: number; conditional: number };
  icc: { adjusted: number; unadjusted: number; byGroup: Record<string, number> };
  varpart: { variances: Record<string, number>; fractions: Record<string, number> };
}

// Printed by R with sprintf("%.17g") (script in the header comment).
const R: Record<string, Expected> = {
  "sleepstudy-slope-reml": {
    theta: [0.96674177396741234, 0.015169058896036137, 0.23090995320779453],
    vc: { fixed: 908.9533626230924, random: 1698.0837004369457, residual: 654.94000825996079, randomByTerm: { "Subject": 1698.0837004369457 }, intercept: { "Subject": 612.1001580247688 } },
    r2: { marginal: 0.27865105816187519, conditional: 0.79921992278292397 },
    icc: { adjusted: 0.72166025958885749, unadjusted: 0.52056886462104879, byGroup: { "Subject": 0.26013344266885735 } },
    varpart: { variances: { "Subject": 1698.0837004369457, "Days": 903.90362171963113, "Residuals": 654.94000825996079 }, fractions: { "Subject": 0.52137598667876106, "Days": 0.27753263429553654, "Residuals": 0.20109137902570232 } },
  },
  "sleepstudy-slope-ml": {
    theta: [0.92919060527824848, 0.018165754720411969, 0.22264320561261811],
    vc: { fixed: 908.95336262305443, random: 1596.4039472523004, residual: 654.94570576419108, randomByTerm: { "Subject": 1596.4039472523004 }, intercept: { "Subject": 565.47696613241919 } },
    r2: { marginal: 0.28761588940202015, conditional: 0.79275857330039889 },
    icc: { adjusted: 0.70908752228395255, unadjusted: 0.5051426838983788, byGroup: { "Subject": 0.25117243133458172 } },
    varpart: { variances: { "Subject": 1596.4039472523004, "Days": 903.90362171959305, "Residuals": 654.94570576419108 }, fractions: { "Subject": 0.50595112602674619, "Days": 0.28647577326267043, "Residuals": 0.2075731007105833 } },
  },
  "sleepstudy-uncorr-reml": {
    theta: [0.97989652791423731, 0.23423122534704488],
    vc: { fixed: 908.95336262309934, random: 1649.5328705573004, residual: 653.58350065420711, randomByTerm: { "Subject": 627.56905083573008, "Subject.1": 1021.9638197215703 }, intercept: { "Subject": 627.56905083573008 } },
    r2: { marginal: 0.2829805819744704, conditional: 0.79652263032473103 },
    icc: { adjusted: 0.7162177696169113, unadjusted: 0.51354204835026063, byGroup: { "Subject": 0.27248690456123592 } },
    varpart: { variances: { "Subject": 627.56905083573008, "Subject.1": 1021.9638197215703, "Days": 903.90362171963773, "Residuals": 653.58350065420711 }, fractions: { "Subject": 0.19568604256256783, "Subject.1": 0.31866462384835897, "Days": 0.28185157052715776, "Residuals": 0.20379776306191538 } },
  },
  "penicillin-reml": {
    theta: [1.5396755541521649, 3.5125188600064563],
    vc: { fixed: 0, random: 4.4480369835494873, residual: 0.302414956255594, randomByTerm: { "plate": 0.71690514087671853, "sample": 3.7311318426727684 }, intercept: { "plate": 0.71690514087671853, "sample": 3.7311318426727684 } },
    r2: { marginal: 0, conditional: 0.93633975038846451 },
    icc: { adjusted: 0.93633975038846451, unadjusted: 0.93633975038846451, byGroup: { "plate": 0.15091303942465192, "sample": 0.78542671096381256 } },
    varpart: { variances: { "plate": 0.71690514087671853, "sample": 3.7311318426727684, "Residuals": 0.302414956255594 }, fractions: { "plate": 0.15091303942465195, "sample": 0.78542671096381267, "Residuals": 0.063660249611535408 } },
  },
  "pastes-nested-reml": {
    theta: [3.5269017877317386, 1.5634614020968556],
    vc: { fixed: 0, random: 10.090976843128612, residual: 0.67799994966875599, randomByTerm: { "cask:batch": 8.433665931294847, "batch": 1.6573109118337646 }, intercept: { "cask:batch": 8.433665931294847, "batch": 1.6573109118337646 } },
    r2: { marginal: 0, conditional: 0.93704137703015355 },
    icc: { adjusted: 0.93704137703015355, unadjusted: 0.93704137703015355, byGroup: { "cask:batch": 0.78314459150246751, "batch": 0.15389678552768601 } },
    varpart: { variances: { "cask:batch": 8.433665931294847, "batch": 1.6573109118337646, "Residuals": 0.67799994966875599 }, fractions: { "cask:batch": 0.78314459150246751, "batch": 0.15389678552768601, "Residuals": 0.062958622969846473 } },
  },
  "village-intercept-reml": {
    theta: [0.43136434886284097],
    vc: { fixed: 2.10322627294858, random: 1.7836988634191435, residual: 9.5859031688757099, randomByTerm: { "village": 1.7836988634191435 }, intercept: { "village": 1.7836988634191435 } },
    r2: { marginal: 0.15610874163148314, conditional: 0.28850105176913649 },
    icc: { adjusted: 0.15688313965190914, unadjusted: 0.13239231013765337, byGroup: { "village": 0.15688313965190914 } },
    varpart: { variances: { "village": 1.7836988634191435, "treatment": 1.064342365419807, "age": 0.95092419479298917, "sex": 0.084782633773625632, "Residuals": 9.5859031688757099 }, fractions: { "village": 0.1324235374364322, "treatment": 0.079017811785884851, "age": 0.070597536552215692, "sex": 0.0062943451429686775, "Residuals": 0.7116667690824986 } },
  },
  "dose-ordered-reml": {
    theta: [0.60993919373878358],
    vc: { fixed: 2.0415018644803995, random: 0.86823177429254417, residual: 2.3337943967316837, randomByTerm: { "g": 0.86823177429254417 }, intercept: { "g": 0.86823177429254417 } },
    r2: { marginal: 0.38933745574680223, conditional: 0.5549190581361918 },
    icc: { adjusted: 0.27115074266080219, unadjusted: 0.16558160238938957, byGroup: { "g": 0.27115074266080219 } },
    varpart: { variances: { "g": 0.86823177429254417, "dose_level": 0.77926276462191135, "x": 1.0787507335535227, "dose_level:x": 0.17654448241217416, "Residuals": 2.3337943967316837 }, fractions: { "g": 0.16580116907417594, "dose_level": 0.14881127507175684, "x": 0.20600274956365977, "dose_level:x": 0.03371367236747895, "Residuals": 0.44567113392292856 } },
  },
  "eeg-crossed-reml": {
    theta: [0.46058897536435661, 0.65360453618811953, -0.11912069260310246, 0.26517159683197528],
    vc: { fixed: 0.35699422086839694, random: 2.5944003944598766, residual: 4.2953658373265826, randomByTerm: { "item": 0.9112283766926218, "subject": 1.6831720177672547 }, intercept: { "item": 0.9112283766926218, "subject": 1.8349755166715611 } },
    r2: { marginal: 0.049262594396591634, conditional: 0.4072708949896402 },
    icc: { adjusted: 0.37655855179678138, unadjusted: 0.35800830059304861, byGroup: { "item": 0.13225824302842099, "subject": 0.26633349448138927 } },
    varpart: { variances: { "item": 0.9112283766926218, "subject": 1.6831720177672547, "condition": 0.29052303898132043, "rt": 0.066140631682568826, "Residuals": 4.2953658373265826 }, fractions: { "item": 0.12574859468170582, "subject": 0.23227603667263758, "condition": 0.040091885644692613, "rt": 0.0091273403003875962, "Residuals": 0.59275614270057642 } },
  },
};

const MODELS: { key: string; formula: string; data: string; dataset: string; dir?: string; REML: boolean }[] = [
  { key: "sleepstudy-slope-reml", formula: "Reaction ~ Days + (Days | Subject)", data: "data/sleepstudy.csv", dataset: "sleepstudy", REML: true },
  { key: "sleepstudy-slope-ml", formula: "Reaction ~ Days + (Days | Subject)", data: "data/sleepstudy.csv", dataset: "sleepstudy", REML: false },
  { key: "sleepstudy-uncorr-reml", formula: "Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))", data: "data/sleepstudy.csv", dataset: "sleepstudy", REML: true },
  { key: "penicillin-reml", formula: "diameter ~ 1 + (1 | plate) + (1 | sample)", data: "data/Penicillin.csv", dataset: "Penicillin", REML: true },
  { key: "pastes-nested-reml", formula: "strength ~ 1 + (1 | batch/cask)", data: "data/Pastes.csv", dataset: "Pastes", REML: true },
  { key: "village-intercept-reml", formula: "y ~ treatment + age + sex + (1 | village)", data: "data/village.csv", dataset: "village", dir: extraDir, REML: true },
  { key: "dose-ordered-reml", formula: "y ~ dose_level * x + (1 | g)", data: "data/dose.csv", dataset: "dose", dir: extraDir, REML: true },
  { key: "eeg-crossed-reml", formula: "amp ~ condition + rt + (1 + condition | subject) + (1 | item)", data: "data/eeg.csv", dataset: "eeg", dir: extraDir, REML: true },
];

const fits = new Map<string, Promise<LinearMixedModel>>();
function fit(key: string): Promise<LinearMixedModel> {
  let f = fits.get(key);
  if (!f) {
    const s = MODELS.find((m) => m.key === key)!;
    f = lmer(s.formula, s.dir ? referenceTable(s.data, s.dataset, s.dir) : referenceTable(s.data, s.dataset), { REML: s.REML });
    fits.set(key, f);
  }
  return f;
}

/** A fresh fit moved to lme4's θ (so the cached fit at our own optimum stays as it is). */
async function atLme4Theta(key: string): Promise<LinearMixedModel> {
  const m = (await fit(key)).refit();
  return m.setTheta(R[key].theta);
}

function close(got: number, want: number, rel: number, what: string, abs = 1e-12): void {
  const ok = Math.abs(got - want) <= Math.max(rel * Math.abs(want), abs);
  expect(ok, `${what}: got ${got}, want ${want} (rel ${rel})`).toBe(true);
}

function closeRecord(got: Record<string, number>, want: Record<string, number>, rel: number, what: string): void {
  expect(Object.keys(got), `${what} keys`).toEqual(Object.keys(want));
  for (const k of Object.keys(want)) close(got[k], want[k], rel, `${what} ${k}`);
}

function checkAll(m: LinearMixedModel, e: Expected, rel: number, what: string): void {
  const v = varianceComponents(m);
  close(v.fixed, e.vc.fixed, rel, `${what} var.fixed`);
  close(v.random, e.vc.random, rel, `${what} var.random`);
  close(v.residual, e.vc.residual, rel, `${what} var.residual`);
  closeRecord(v.randomByTerm, e.vc.randomByTerm, rel, `${what} randomByTerm`);
  closeRecord(v.intercept, e.vc.intercept, rel, `${what} intercept`);
  const r2 = r2Nakagawa(m);
  close(r2.marginal, e.r2.marginal, rel, `${what} R2 marginal`);
  close(r2.conditional, e.r2.conditional, rel, `${what} R2 conditional`);
  const c = icc(m);
  close(c.adjusted, e.icc.adjusted, rel, `${what} ICC adjusted`);
  close(c.unadjusted, e.icc.unadjusted, rel, `${what} ICC unadjusted`);
  closeRecord(c.byGroup, e.icc.byGroup, rel, `${what} ICC by group`);
  const vp = varPart(m);
  closeRecord(vp.variances, e.varpart.variances, rel, `${what} varPart variances`);
  closeRecord(vp.fractions, e.varpart.fractions, rel, `${what} varPart fractions`);
  close(Object.values(vp.fractions).reduce((a, b) => a + b, 0), 1, 1e-14, `${what} fractions sum`);
}

describe("variance components, R², ICC and varPart against R", () => {
  for (const { key } of MODELS) {
    it(`${key} at lme4's θ`, async () => {
      checkAll(await atLme4Theta(key), R[key], 1e-9, key);
    });
    it(`${key} at our optimum`, async () => {
      // estimates agree with lme4's to 1e-4 (reference tests); variance ratios inherit that
      checkAll(await fit(key), R[key], 2e-4, key);
    });
  }
});

/** The numeric column of a data set, on the rows the fit used. */
function numericColumn(m: LinearMixedModel, name: string): number[] {
  const col = (m.data as { columns: Map<string, { type: string; values?: Float64Array }> }).columns.get(name)!;
  return Array.from(m.frame.rows, (r) => col.values![r]);
}

function factorColumn(m: LinearMixedModel, name: string): string[] {
  const col = (m.data as { columns: Map<string, { type: string; levels?: string[]; codes?: Int32Array }> }).columns.get(name)!;
  return Array.from(m.frame.rows, (r) => col.levels![col.codes![r]]);
}

const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
const varR = (x: number[]) => {
  const mu = mean(x);
  return x.reduce((s, v) => s + (v - mu) ** 2, 0) / (x.length - 1);
};

describe("by hand from the fit's estimates and the data", () => {
  it("sleepstudy (Days | Subject): σ²_random = σ0² + 2 σ01 mean(Days) + σ1² mean(Days²); ICC by group uses σ0²", async () => {
    const m = await fit("sleepstudy-slope-reml");
    const vc = m.VarCorr().Subject;
    const [s0, s1] = vc.sd;
    const c01 = vc.corr![0][1] * s0 * s1;
    const days = numericColumn(m, "Days");
    const random = s0 ** 2 + 2 * c01 * mean(days) + s1 ** 2 * mean(days.map((d) => d * d));
    const fe = m.fixef();
    const fixed = varR(days.map((d) => fe["(Intercept)"] + fe.Days * d));
    const s2 = m.sigma ** 2;
    const v = varianceComponents(m);
    close(v.random, random, 1e-12, "σ²_random");
    close(v.fixed, fixed, 1e-12, "σ²_f");
    expect(v.randomSlopes).toBe(true);
    const r2 = r2Nakagawa(m);
    close(r2.marginal, fixed / (fixed + random + s2), 1e-12, "R2m");
    close(r2.conditional, (fixed + random) / (fixed + random + s2), 1e-12, "R2c");
    const c = icc(m);
    close(c.adjusted, random / (random + s2), 1e-12, "ICC adjusted");
    close(c.byGroup.Subject, s0 ** 2 / (random + s2), 1e-12, "ICC Subject");
    expect(c.randomSlopes).toBe(true);
    // variancePartition: Days's variance with the N denominator, one fixed term so no rescaling
    const vp = varPart(m);
    close(vp.variances.Days, (varR(days.map((d) => fe.Days * d)) * (days.length - 1)) / days.length, 1e-12, "varPart Days");
    close(vp.variances.Subject, random, 1e-12, "varPart Subject");
    close(vp.variances.Residuals, s2, 1e-12, "varPart Residuals");
  });

  it("sleepstudy (1 | Subject) + (0 + Days | Subject): only the intercept term has a by-group ICC", async () => {
    const m = await fit("sleepstudy-uncorr-reml");
    const vc = m.VarCorr();
    const days = numericColumn(m, "Days");
    const v = varianceComponents(m);
    close(v.randomByTerm.Subject, vc.Subject.sd[0] ** 2, 1e-12, "Subject");
    close(v.randomByTerm["Subject.1"], vc["Subject.1"].sd[0] ** 2 * mean(days.map((d) => d * d)), 1e-12, "Subject.1");
    expect(Object.keys(icc(m).byGroup)).toEqual(["Subject"]);
    expect(Object.keys(varPart(m).variances)).toEqual(["Subject", "Subject.1", "Days", "Residuals"]);
  });

  it("Penicillin (crossed) and Pastes (nested): intercept-only terms, the fractions are σ²_g / (Σ σ² + σ²)", async () => {
    for (const key of ["penicillin-reml", "pastes-nested-reml"]) {
      const m = await fit(key);
      const vc = m.VarCorr();
      const groups = Object.keys(vc).filter((g) => g !== "Residual");
      const s2 = m.sigma ** 2;
      const total = groups.reduce((s, g) => s + vc[g].sd[0] ** 2, 0) + s2;
      const c = icc(m), vp = varPart(m), r2 = r2Nakagawa(m);
      expect(c.randomSlopes).toBe(false);
      expect(Object.keys(c.byGroup)).toEqual(groups);
      for (const g of groups) {
        close(c.byGroup[g], vc[g].sd[0] ** 2 / total, 1e-12, `${key} ICC ${g}`);
        close(vp.fractions[g], vc[g].sd[0] ** 2 / total, 1e-12, `${key} varPart ${g}`);
      }
      close(c.adjusted, 1 - s2 / total, 1e-12, `${key} ICC adjusted`);
      close(c.adjusted, Object.values(c.byGroup).reduce((a, b) => a + b, 0), 1e-12, `${key} by-group ICCs add up`);
      expect(c.unadjusted).toBe(c.adjusted); // no fixed-effect variance: σ²_f = 0
      expect(r2.marginal).toBe(0);
      close(r2.conditional, c.adjusted, 1e-12, `${key} R2c = ICC`);
      close(vp.fractions.Residuals, s2 / total, 1e-12, `${key} Residuals`);
    }
    expect(Object.keys(varPart(await fit("pastes-nested-reml")).variances)).toEqual(["cask:batch", "batch", "Residuals"]);
  });

  it("village: fixed-effect variance and variancePartition's per-term split from the data columns", async () => {
    const m = await fit("village-intercept-reml");
    const fe = m.fixef();
    const age = numericColumn(m, "age");
    const trt = factorColumn(m, "treatment").map((v) => (v === "intervention" ? 1 : 0));
    const sex = factorColumn(m, "sex").map((v) => (v === "male" ? 1 : 0));
    const parts = {
      treatment: trt.map((x) => fe.treatmentintervention * x),
      age: age.map((x) => fe.age * x),
      sex: sex.map((x) => fe.sexmale * x),
    };
    const n = age.length;
    const eta = age.map((_, i) => fe["(Intercept)"] + parts.treatment[i] + parts.age[i] + parts.sex[i]);
    close(varianceComponents(m).fixed, varR(eta), 1e-12, "σ²_f");
    const varN = (x: number[]) => (varR(x) * (n - 1)) / n;
    const each = Object.fromEntries(Object.entries(parts).map(([k, x]) => [k, varN(x)]));
    const sumEach = Object.values(each).reduce((a, b) => a + b, 0);
    const totalFixed = varN(eta);
    const vp = varPart(m);
    expect(Object.keys(vp.variances)).toEqual(["village", "treatment", "age", "sex", "Residuals"]);
    for (const k of Object.keys(parts)) close(vp.variances[k], (each[k] / sumEach) * totalFixed, 1e-12, `varPart ${k}`);
    const tau = m.VarCorr().village.sd[0] ** 2;
    close(vp.variances.village, tau, 1e-12, "varPart village");
    close(icc(m).byGroup.village, tau / (tau + m.sigma ** 2), 1e-12, "ICC village");
  });

  it("a factor term with several columns (contr.poly dose_level, dose_level:x) is one component", async () => {
    const m = await fit("dose-ordered-reml");
    expect(m.frame.xNames.length).toBe(8);
    expect(Object.keys(varPart(m).variances)).toEqual(["g", "dose_level", "x", "dose_level:x", "Residuals"]);
  });

  it("a rank-deficient fit: a term whose only column was dropped (x3 = x1 + x2) has no component", async () => {
    const m = await lmer("y ~ x1 + x2 + x3 + (1 | g)", referenceTable("data/rankdef.csv", "rankdef", extraDir));
    expect(m.frame.droppedColumns).toEqual(["x3"]);
    const vp = varPart(m);
    expect(Object.keys(vp.variances)).toEqual(["g", "x1", "x2", "Residuals"]);
    close(Object.values(vp.fractions).reduce((a, b) => a + b, 0), 1, 1e-14, "fractions sum");
  });

  it("a singular fit: the random variance is 0, flagged as singular", async () => {
    const m = await lmer("expr ~ condition + (1 | donor)", referenceTable("data/scgene1.csv", "scgene1", extraDir));
    expect(m.isSingular()).toBe(true);
    const v = varianceComponents(m);
    expect(v.singular).toBe(true);
    expect(v.random).toBeLessThan(1e-10 * v.residual);
    const r2 = r2Nakagawa(m);
    expect(r2.singular).toBe(true);
    close(r2.conditional, r2.marginal, 1e-9, "R2c = R2m");
    expect(icc(m).adjusted).toBeLessThan(1e-10);
  });
});
