// The model's behaviour beyond the reference fits: input formats give the same fit, offsets and
// transformations agree with their hand-made equivalents, and results are consistent with each other.
import { tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { lmer, LinearMixedModel } from "../src/linearmixedmodel.js";
import type { Table } from "../src/data.js";
import { referenceTable } from "./helpers/reference.js";

const sleep = () => referenceTable("data/sleepstudy.csv", "sleepstudy");

/** sleepstudy as plain columns (Subject as strings: levels sorted as R sorts them). */
function sleepColumns(t: Table = sleep()): { Reaction: number[]; Days: number[]; Subject: string[] } {
  const col = (name: string) => t.columns.get(name)!;
  const subj = col("Subject") as { levels: string[]; codes: Int32Array };
  return {
    Reaction: Array.from((col("Reaction") as { values: Float64Array }).values),
    Days: Array.from((col("Days") as { values: Float64Array }).values),
    Subject: Array.from(subj.codes, (c) => subj.levels[c]),
  };
}

const F = "Reaction ~ Days + (Days | Subject)";

describe("input formats", () => {
  it("columns, typed arrays, row objects and an Arrow table give the same fit", async () => {
    const cols = sleepColumns();
    const base = (await lmer(F, cols)).toJSON();
    const typed = (await lmer(F, { ...cols, Reaction: Float64Array.from(cols.Reaction), Days: Int32Array.from(cols.Days) })).toJSON();
    const rows = cols.Reaction.map((r, i) => ({ Reaction: r, Days: cols.Days[i], Subject: cols.Subject[i] }));
    const fromRows = (await lmer(F, rows)).toJSON();
    const arrow = tableFromArrays({ Reaction: Float64Array.from(cols.Reaction), Days: Float64Array.from(cols.Days), Subject: cols.Subject });
    const fromArrow = (await lmer(F, arrow)).toJSON();
    for (const other of [typed, fromRows, fromArrow]) {
      expect(other.objective).toBe(base.objective);
      expect(other.fixef).toEqual(base.fixef);
      expect(other.ranef).toEqual(base.ranef);
    }
    // Without levels, Subject's levels are sorted as R sorts strings.
    expect(base.ranef.Subject.levels.slice(0, 3)).toEqual(["308", "309", "310"]);
  });
});

describe("formula features agree with their hand-made equivalents", () => {
  const cols = sleepColumns();

  it("offset(x) is subtracting x from the response (then added back in fitted)", async () => {
    const off = cols.Days.map((d) => 3 * d);
    const a = await lmer("Reaction ~ Days + offset(o) + (1 | Subject)", { ...cols, o: off });
    const b = await lmer("y ~ Days + (1 | Subject)", { ...cols, y: cols.Reaction.map((r, i) => r - off[i]) });
    expect(a.objectiveAtOptimum).toBeCloseTo(b.objectiveAtOptimum, 8);
    expect(a.fixef().Days).toBeCloseTo(b.fixef().Days, 8);
    const fa = a.fitted(), fb = b.fitted();
    fa.forEach((v, i) => expect(v).toBeCloseTo(fb[i] + off[i], 8));
  });

  it("I(), log() and scale() build the same columns as precomputed ones", async () => {
    const days2 = cols.Days.map((d) => d * d);
    const mean = cols.Days.reduce((s, d) => s + d, 0) / cols.Days.length;
    const sd = Math.sqrt(cols.Days.reduce((s, d) => s + (d - mean) ** 2, 0) / (cols.Days.length - 1));
    const a = await lmer("log(Reaction) ~ scale(Days) + I(Days^2) + (1 | Subject)", cols);
    const b = await lmer("lr ~ sd + d2 + (1 | Subject)", { ...cols, lr: cols.Reaction.map(Math.log), sd: cols.Days.map((d) => (d - mean) / sd), d2: days2 });
    expect(Object.keys(a.fixef())).toEqual(["(Intercept)", "scale(Days)", "I(Days^2)"]);
    expect(a.objectiveAtOptimum).toBeCloseTo(b.objectiveAtOptimum, 8);
    expect(Object.values(a.fixef())).toEqual(Object.values(b.fixef()).map((v) => expect.closeTo(v, 8)));
  });

  it("(x || g) is (1 | g) + (0 + x | g)", async () => {
    const a = (await lmer("Reaction ~ Days + (Days || Subject)", cols)).toJSON();
    const b = (await lmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", cols)).toJSON();
    expect(a.objective).toBe(b.objective);
    expect(a.theta_names).toEqual(["Subject.(Intercept)", "Subject.Days"]);
    expect(Object.keys(a.VarCorr)).toEqual(["Subject", "Subject.1", "Residual"]);
  });

  it("no intercept: 0 + and - 1 give the same model", async () => {
    const a = await lmer("Reaction ~ 0 + Days + (1 | Subject)", cols);
    const b = await lmer("Reaction ~ Days - 1 + (1 | Subject)", cols);
    expect(Object.keys(a.fixef())).toEqual(["Days"]);
    expect(a.objectiveAtOptimum).toBe(b.objectiveAtOptimum);
  });

  it("sum contrasts change the coding, not the fit (ML: the REML criterion depends on X's coding)", async () => {
    const d = { ...cols, week: cols.Days.map((x) => (x < 3 ? "early" : x < 7 ? "mid" : "late")) };
    const a = await lmer("Reaction ~ week + (1 | Subject)", d, { REML: false });
    const b = await lmer("Reaction ~ week + (1 | Subject)", d, { REML: false, contrasts: { week: "contr.sum" } });
    expect(Object.keys(a.fixef())).toEqual(["(Intercept)", "weeklate", "weekmid"]);
    expect(Object.keys(b.fixef())).toEqual(["(Intercept)", "week1", "week2"]);
    expect(b.objectiveAtOptimum).toBeCloseTo(a.objectiveAtOptimum, 8);
    const fa = a.fitted(), fb = b.fitted();
    fa.forEach((v, i) => expect(fb[i]).toBeCloseTo(v, 6));
  });
});

describe("results are consistent with each other", () => {
  it("fitted + residuals = y; logLik, AIC, BIC from the objective; VarCorr from θ and σ", async () => {
    const m = await lmer(F, sleep());
    const y = sleepColumns().Reaction;
    const f = m.fitted(), r = m.residuals();
    y.forEach((v, i) => expect(f[i] + r[i]).toBeCloseTo(v, 9));
    expect(m.logLik()).toBeCloseTo(-m.objectiveAtOptimum / 2, 10);
    expect(m.AIC()).toBeCloseTo(m.objectiveAtOptimum + 2 * 6, 10);
    expect(m.BIC()).toBeCloseTo(m.objectiveAtOptimum + 6 * Math.log(180), 10);
    const [t1, t2, t3] = m.theta;
    const vc = m.VarCorr().Subject;
    expect(vc.sd[0]).toBeCloseTo(m.sigma * t1, 9);
    expect(vc.sd[1]).toBeCloseTo(m.sigma * Math.hypot(t2, t3), 9);
    expect(m.dfResidual()).toBe(174);
    expect(m.nobs()).toBe(180);
  });

  it("coef is fixef + ranef per level; a random term without a fixed counterpart is refused", async () => {
    const m = await lmer(F, sleep());
    const c = m.coef().Subject, r = m.ranef().Subject, fe = m.fixef();
    expect(c.terms).toEqual(["(Intercept)", "Days"]);
    c.values.forEach((row, j) => {
      expect(row[0]).toBeCloseTo(fe["(Intercept)"] + r.values[j][0], 10);
      expect(row[1]).toBeCloseTo(fe.Days + r.values[j][1], 10);
    });
    const noSlope = await lmer("Reaction ~ 1 + (Days | Subject)", sleep());
    expect(() => noSlope.coef()).toThrow(/unable to align random and fixed effects: 'Days' of 'Subject'/);
  });

  it("Wald intervals: level and method checks", async () => {
    const m = await lmer(F, sleep());
    const ci90 = m.confint({ level: 0.9 }), ci95 = m.confint();
    expect(ci90[1].upper - ci90[1].lower).toBeLessThan(ci95[1].upper - ci95[1].lower);
    expect((ci95[1].upper - ci95[1].lower) / 2 / m.se().Days).toBeCloseTo(1.959963984540054, 12);
    expect(() => m.confint({ level: 1.5 })).toThrow(/level must be between 0 and 1/);
  });

  it("the objective at θ̂ is the minimum along every coordinate", async () => {
    const m = await lmer(F, sleep());
    const th = m.theta;
    const f0 = m.objective(th);
    for (let i = 0; i < th.length; i++) {
      for (const h of [-1e-3, 1e-3]) {
        const t = [...th];
        t[i] += h;
        expect(m.objective(t)).toBeGreaterThan(f0);
      }
    }
  });

  it("every engine gives the same fit", async () => {
    const fits = await Promise.all((["wasm-simd", "wasm-scalar", "ts"] as const).map((engine) => lmer(F, sleep(), { engine })));
    expect(fits.map((m) => m.engine)).toEqual(["wasm-simd", "wasm-scalar", "ts"]);
    for (const m of fits.slice(1)) {
      expect(m.objectiveAtOptimum).toBeCloseTo(fits[0].objectiveAtOptimum, 8);
      m.theta.forEach((t, i) => expect(t).toBeCloseTo(fits[0].theta[i], 5));
    }
  });

  it("a fitted model stays valid after other models use the engine", async () => {
    const a = await lmer(F, sleep());
    const before = a.toJSON();
    await lmer("Reaction ~ Days + (1 | Subject)", sleep());
    expect(a.objective(a.theta)).toBeCloseTo(before.objective, 9);
    expect(a.setTheta(before.theta).toJSON().fixef).toEqual(before.fixef);
  });

  it("LinearMixedModel.fit runs synchronously with loaded kernels", async () => {
    const { loadKernels } = await import("../src/engine.js");
    const m = LinearMixedModel.fit(await loadKernels("ts"), F, sleep());
    expect(m.engine).toBe("ts");
  });
});
