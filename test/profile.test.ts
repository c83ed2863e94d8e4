// Likelihood-profile confidence intervals against lme4 1.1-31's confint(fit, method = "profile",
// oldNames = FALSE): the sleepstudy reference fixture, and values computed with R for the other fits
// (pasted below with the R call that produced them).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { lmer } from "../src/linearmixedmodel.js";
import { confintFromProfile, confintProfile, profile, type ConfintRow } from "../src/profile.js";
import { referenceDir, referenceTable } from "./helpers/reference.js";

/** Relative tolerance on every interval end (the target is 1e-3; the ends agree to about 1e-6). */
const TOL = 1e-4;

type Row = [term: string, lower: number, upper: number];

function expectRows(got: ConfintRow[], want: Row[], tol = TOL): void {
  expect(got.map((r) => r.term)).toEqual(want.map((r) => r[0]));
  got.forEach((r, i) => {
    for (const [g, w] of [[r.lower, want[i][1]], [r.upper, want[i][2]]]) {
      if (w === 0 || !Number.isFinite(w) || Math.abs(w) === 1) expect(g, r.term).toBe(w);
      else expect(Math.abs(g - w) / Math.abs(w), `${r.term}: ${g} vs ${w}`).toBeLessThan(tol);
    }
  });
}

const sleepstudy = () => referenceTable("data/sleepstudy.csv", "sleepstudy");

describe("sleepstudy Reaction ~ Days + (Days | Subject), REML (reference fixture)", () => {
  const ref = JSON.parse(fs.readFileSync(path.join(referenceDir, "fits/confint-sleepstudy-slope-reml.json"), "utf8"));
  const want: Row[] = ref.profile.map((r: { term: string; lower: number; upper: number }) => [r.term, r.lower, r.upper]);

  test("every profile interval end within 1e-4 relative of lme4's", async () => {
    const m = await lmer("Reaction ~ Days + (Days | Subject)", sleepstudy());
    const ci = confintProfile(m);
    expectRows(ci, want);
  });

  test("the profiles: lme4's names and grid, ζ increasing through 0 at the ML estimate", async () => {
    const m = await lmer("Reaction ~ Days + (Days | Subject)", sleepstudy());
    const ml = m.refit({ REML: false });
    const tr = profile(m);
    expect(tr.map((t) => t.par)).toEqual(want.map((r) => r[0]));
    // lme4's profile has 21, 19, 20, 19, 19, 19 points for these parameters.
    expect(tr.map((t) => t.focal.length)).toEqual([21, 19, 20, 19, 19, 19]);
    const names = tr[0].names;
    expect(names).toEqual([...want.map((r) => r[0])]);
    for (const t of tr) {
      expect(t.warnings).toEqual([]);
      expect(t.values.length).toBe(t.focal.length);
      for (let i = 1; i < t.focal.length; i++) {
        expect(t.focal[i]).toBeGreaterThan(t.focal[i - 1]);
        expect(t.zeta[i]).toBeGreaterThan(t.zeta[i - 1]);
      }
      const at = t.zeta.indexOf(0);
      expect(at).toBeGreaterThan(0);
      expect(t.focal[at]).toBe(t.estimate);
      t.values.forEach((v, i) => expect(v[names.indexOf(t.par)]).toBe(t.focal[i]));
      // The profiles are those of the ML refit: they pass through its estimates.
      const est = t.values[at];
      // (lme4's refitML starts at the REML θ̂, m.refit at lme4's default start: they agree to ~1e-6.)
      expect(Math.abs(est[names.indexOf("sigma")] / ml.sigma - 1)).toBeLessThan(1e-5);
      expect(Math.abs(est[names.indexOf("Days")] / ml.fixef().Days - 1)).toBeLessThan(1e-8);
    }
    // Their bounds: sd ≥ 0, −1 ≤ cor ≤ 1, σ ≥ 0, fixed effects unbounded.
    expect(tr.map((t) => [t.lower, t.upper])).toEqual([
      [0, Infinity], [-1, 1], [0, Infinity], [0, Infinity], [-Infinity, Infinity], [-Infinity, Infinity],
    ]);
  });

  test("level 0.9 (R) and nesting inside 0.95 from one profile", async () => {
    const m = await lmer("Reaction ~ Days + (Days | Subject)", sleepstudy());
    const tr = profile(m);
    const ci95 = confintFromProfile(tr);
    const ci90 = confintFromProfile(tr, { level: 0.9 });
    expectRows(ci95, want);
    // R: confint(fm, method = "profile", oldNames = FALSE, level = 0.9)
    expectRows(ci90, [
      ["sd_(Intercept)|Subject", 15.757286793558693, 34.960149024334186],
      ["cor_Days.(Intercept)|Subject", -0.405084109068215, 0.595494106774447],
      ["sd_Days|Subject", 4.065899351240994, 8.145330386943364],
      ["sigma", 23.298326947121957, 28.287832274026286],
      ["(Intercept)", 240.072948583744846, 262.737260817038759],
      ["Days", 7.900507999368624, 13.034063821326603],
    ]);
    ci90.forEach((r, i) => {
      expect(r.lower).toBeGreaterThan(ci95[i].lower);
      expect(r.upper).toBeLessThan(ci95[i].upper);
    });
  });

  test("which selects parameters (lme4's order, 'theta_' and 'beta_'); unknown names are refused", async () => {
    const m = await lmer("Reaction ~ Days + (Days | Subject)", sleepstudy());
    const byTerm = Object.fromEntries(want.map((r) => [r[0], r]));
    expectRows(confintProfile(m, { which: ["Days", "sigma"] }), [byTerm.sigma, byTerm.Days]);
    expect(profile(m, { which: ["theta_"] }).map((t) => t.par)).toEqual(want.slice(0, 4).map((r) => r[0]));
    expect(profile(m, { which: ["beta_"] }).map((t) => t.par)).toEqual(["(Intercept)", "Days"]);
    expect(() => profile(m, { which: ["sd_Days"] })).toThrow(/unknown parameter 'sd_Days'.*'sd_Days\|Subject'/);
  });
});

test("sleepstudy Reaction ~ Days + (1 | Subject), ML", async () => {
  const m = await lmer("Reaction ~ Days + (1 | Subject)", sleepstudy(), { REML: false });
  // R: confint(lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = FALSE), method = "profile", oldNames = FALSE)
  expectRows(confintProfile(m), [
    ["sd_(Intercept)|Subject", 26.0071204480657, 52.9359835296312],
    ["sigma", 27.81384720813, 34.5910498578691],
    ["(Intercept)", 231.9923263721244, 270.817883468577],
    ["Days", 8.8865509580503, 12.0480209620092],
  ]);
  expectRows(confintProfile(m, { level: 0.9 }), [
    ["sd_(Intercept)|Subject", 27.32366244680384, 49.4977142808099],
    ["sigma", 28.2736044147797, 33.949008762478],
    ["(Intercept)", 235.31628846301518, 267.4939214449848],
    ["Days", 9.14302373168866, 11.7915481875315],
  ]);
});

test("Dyestuff Yield ~ 1 + (1 | Batch), REML (scalar term)", async () => {
  const m = await lmer("Yield ~ 1 + (1 | Batch)", referenceTable("data/Dyestuff.csv", "Dyestuff"));
  // R: confint(lmer(Yield ~ 1 + (1 | Batch), Dyestuff), method = "profile", oldNames = FALSE)
  expectRows(confintProfile(m), [
    ["sd_(Intercept)|Batch", 12.198535213114, 84.0630467107707],
    ["sigma", 38.229984882571, 67.6576962448221],
    ["(Intercept)", 1486.451499968833, 1568.5484943681231],
  ]);
  expectRows(confintProfile(m, { level: 0.9 }), [
    ["sd_(Intercept)|Batch", 16.7714480163044, 72.8732842767195],
    ["sigma", 39.7320075217546, 64.0691427703632],
    ["(Intercept)", 1494.7840333368472, 1560.2159574164491],
  ]);
  // Beyond lme4's range (|ζ| ≤ √χ²_0.99(3) = 3.37) the profile is extended on request.
  const wide = confintProfile(m, { level: 0.9999 });
  const ci99 = confintProfile(m, { level: 0.99 });
  wide.forEach((r, i) => {
    // (the sd's profile reaches sd = 0 before ζ = −2.58: both lower ends are 0)
    if (r.term.startsWith("sd_")) expect([r.lower, ci99[i].lower]).toEqual([0, 0]);
    else expect(r.lower).toBeLessThan(ci99[i].lower);
    expect(r.upper).toBeGreaterThan(ci99[i].upper);
    expect(Number.isFinite(r.upper)).toBe(true);
  });
});

test("Dyestuff2 (singular fit): the sd interval starts at 0, as lme4's", async () => {
  const m = await lmer("Yield ~ 1 + (1 | Batch)", referenceTable("data/Dyestuff2.csv", "Dyestuff2"));
  expect(m.theta).toEqual([0]);
  // R: confint(lmer(Yield ~ 1 + (1 | Batch), Dyestuff2), method = "profile", oldNames = FALSE)
  expectRows(confintProfile(m), [
    ["sd_(Intercept)|Batch", 0, 2.08404348901022],
    ["sigma", 2.8928310201022, 4.81583255245072],
    ["(Intercept)", 4.31210021673831, 7.01909234683741],
  ]);
  expectRows(confintProfile(m, { level: 0.9 }), [
    ["sd_(Intercept)|Batch", 0, 1.67658317572913],
    ["sigma", 2.99603612544255, 4.5910932070596],
    ["(Intercept)", 4.54329533022495, 6.78790525367062],
  ]);
  // The sd profile starts at the estimate 0 and only goes up (lme4: no profile below the bound).
  const [sd] = profile(m, { which: ["sd_(Intercept)|Batch"] });
  expect(sd.focal[0]).toBe(0);
  expect(sd.zeta[0]).toBe(0);
});

test("Orthodont distance ~ age + Sex + (age | Subject): sd intervals from 0, the correlation's [−1, 1]", async () => {
  const m = await lmer("distance ~ age + Sex + (age | Subject)", referenceTable("data/Orthodont.csv", "Orthodont"));
  // R: confint(lmer(distance ~ age + Sex + (age | Subject), Orthodont), method = "profile", oldNames = FALSE)
  // (lme4 warns there; its profiles do not reach ζ = −1.96 before sd = 0, nor ±1.96 for the correlation.)
  expectRows(confintProfile(m), [
    ["sd_(Intercept)|Subject", 0, 4.69152283639880974],
    ["cor_age.(Intercept)|Subject", -1, 1],
    ["sd_age|Subject", 0, 0.39286149794341035],
    ["sigma", 1.0970319360145282, 1.60234885890873424],
    ["(Intercept)", 15.90385231087678441, 19.43996990163365268],
    ["age", 0.51812009227908906, 0.80225028034223334],
    ["SexFemale", -3.77092302549408931, -0.52005415562102209],
  ]);
});

test("Penicillin diameter ~ 1 + (1 | plate) + (1 | sample): crossed terms", async () => {
  const m = await lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", referenceTable("data/Penicillin.csv", "Penicillin"));
  // R: confint(lmer(diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin), method = "profile", oldNames = FALSE)
  expectRows(confintProfile(m), [
    ["sd_(Intercept)|plate", 0.633565966937209, 1.18210399143218],
    ["sd_(Intercept)|sample", 1.095789188180464, 3.55629163683995],
    ["sigma", 0.485845400184026, 0.62945347845447],
    ["(Intercept)", 21.266627383623696, 24.67781761617379],
  ]);
  expectRows(confintProfile(m, { level: 0.9 }), [
    ["sd_(Intercept)|plate", 0.66208388284939323, 1.11572234866703357],
    ["sd_(Intercept)|sample", 1.17167583838725808, 3.11497425269740491],
    ["sigma", 0.4952769932374908, 0.61543202558841281],
    ["(Intercept)", 21.60872242478928129, 24.33572237854953002],
  ]);
});

test("argument checks", async () => {
  const m = await lmer("Yield ~ 1 + (1 | Batch)", referenceTable("data/Dyestuff.csv", "Dyestuff"));
  expect(() => confintProfile(m, { level: 1.5 })).toThrow(/level must be between 0 and 1/);
  expect(() => profile(m, { maxSteps: 1 })).toThrow(/maxSteps/);
});
