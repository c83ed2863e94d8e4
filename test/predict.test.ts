// predict(): lme4's predict(fit, newdata, re.form, allow.new.levels). New data is coded as the fitting
// data (levels, contrasts, scale() with the fit's centre and sd, offsets); R's values are pasted from
// lme4 1.1 (read.csv of the reference data, factors as in the levels files).
import { describe, expect, it } from "vitest";
import type { Table } from "../src/data.js";
import { lmer, type LinearMixedModel } from "../src/linearmixedmodel.js";
import { newdataMatrices } from "../src/modelframe.js";
import { predict } from "../src/predict.js";
import { referenceTable } from "./helpers/reference.js";

const sleep = () => referenceTable("data/sleepstudy.csv", "sleepstudy");
const cake = () => referenceTable("data/cake.csv", "cake");

/** The rows of a Table as plain objects (factors as their labels). */
function tableRows(t: Table, rows?: number[]): Record<string, number | string | null>[] {
  const idx = rows ?? Array.from({ length: t.nrow }, (_, i) => i);
  return idx.map((i) => {
    const row: Record<string, number | string | null> = {};
    for (const name of t.names) {
      const col = t.columns.get(name)!;
      row[name] = col.type === "numeric" ? col.values[i] : col.codes[i] < 0 ? null : col.levels[col.codes[i]];
    }
    return row;
  });
}

/** The same rows as columns. */
function tableColumns(t: Table, rows?: number[]): Record<string, (number | string | null)[]> {
  const r = tableRows(t, rows);
  return Object.fromEntries(t.names.map((name) => [name, r.map((row) => row[name])]));
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) expect(got[i]).toBeNaN();
    else expect(Math.abs(got[i] - want[i]), `element ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i])));
  }
}

/** Xβ̂ + offset of the fit's rows. */
function populationFitted(m: LinearMixedModel): Float64Array {
  const beta = Object.values(m.fixef());
  const p = beta.length;
  return Float64Array.from({ length: m.n }, (_, r) => {
    let s = m.frame.offset ? m.frame.offset[r] : 0;
    for (let c = 0; c < p; c++) s += m.frame.X[r * p + c] * beta[c];
    return s;
  });
}

const SLEEP = "Reaction ~ Days + (Days | Subject)";
const CAKE = "angle ~ recipe * temperature + (1 | recipe:replicate)";

describe("predict on the fit's own data", () => {
  it("without newdata: fitted values, or Xβ̂ with reForm none", async () => {
    const m = await lmer(SLEEP, sleep());
    expect(predict(m)).toEqual(m.fitted());
    expectClose(predict(m, undefined, { reForm: "none" }), populationFitted(m), 1e-12);
  });

  it("sleepstudy: the training data as newdata (Table, rows, columns) gives fitted() and Xβ̂", async () => {
    const m = await lmer(SLEEP, sleep());
    for (const nd of [sleep(), tableRows(sleep()), tableColumns(sleep())]) {
      expectClose(predict(m, nd), m.fitted(), 1e-10);
      expectClose(predict(m, nd, { reForm: "none" }), populationFitted(m), 1e-10);
    }
  });

  it("cake (ordered factor, poly contrasts, recipe:replicate): a subset of rows in another order", async () => {
    const m = await lmer(CAKE, cake());
    const rows = [199, 16, 4, 98, 149, 41, 269, 0];
    const fitted = m.fitted();
    const none = populationFitted(m);
    // As row objects with string labels: the levels come from the fit, not from the new rows.
    const nd = tableRows(cake(), rows);
    expectClose(predict(m, nd), rows.map((r) => fitted[r]), 1e-10);
    expectClose(predict(m, nd, { reForm: "none" }), rows.map((r) => none[r]), 1e-10);
    // temperature as numbers (the fit made it an ordered factor through the levels file), replicate too.
    const numeric = tableRows(cake(), rows).map((r) => ({ ...r, temperature: Number(r.temperature), replicate: Number(r.replicate) }));
    expectClose(predict(m, numeric), rows.map((r) => fitted[r]), 1e-10);
    // lme4: predict(f3, cake[c(200, 17, 5, 99, 150, 42), ]) and re.form = NA.
    const R = [32.1908258336924, 50.1798200086137, 49.4947462819525, 28.6718838785372, 30.4847658047907, 40.5012531149459];
    const Rnone = [31.533333333335, 34.4000000000001, 38.6666666666684, 31.7333333333334, 35.0666666666684, 35.0666666666684];
    expectClose(predict(m, tableRows(cake(), rows.slice(0, 6))), R, 1e-7);
    expectClose(predict(m, tableRows(cake(), rows.slice(0, 6)), { reForm: "none" }), Rnone, 1e-9);
  });

  it("scale(x), log(x) and an offset: a subset predicts the fitted values of those rows", async () => {
    const F = "Reaction ~ scale(Days) + log(Days + 1) + offset(Days / 2) + (1 | Subject)";
    const m = await lmer(F, sleep());
    const rows = [5, 100, 17, 3, 179, 60];
    const fitted = m.fitted();
    // scale(Days) on 6 rows would use their own mean and sd; the fit's must be used.
    expectClose(predict(m, tableRows(sleep(), rows)), rows.map((r) => fitted[r]), 1e-10);
    const none = populationFitted(m);
    expectClose(predict(m, tableColumns(sleep(), rows), { reForm: "none" }), rows.map((r) => none[r]), 1e-10);
    expect(m.frame.scaling).toEqual({ "scale(Days)": { center: 4.5, scale: expect.closeTo(2.8803, 4) } });
  });
});

describe("predict on new data, compared with lme4", () => {
  it("sleepstudy: known subjects, a new one with allowNewLevels gets the population line", async () => {
    const m = await lmer(SLEEP, sleep());
    const nd = { Days: [0, 5, 10.5, 3, 7], Subject: ["308", "309", "372", "999", "308"] };
    const got = predict(m, nd, { allowNewLevels: true });
    // lme4: predict(f1, nd, allow.new.levels = TRUE), re.form = NA.
    expectClose(got, [253.663655798386, 220.244393491444, 387.108431335546, 282.806962727273, 391.327487874519], 1e-7);
    expectClose(predict(m, nd, { reForm: "none" }), [251.405104848485, 303.741534646465, 361.311607424243, 282.806962727273, 324.676106565657], 1e-7);
    const { "(Intercept)": b0, Days: b1 } = m.fixef();
    expect(got[3]).toBe(b0 + b1 * 3);
    // The population level needs no grouping column at all.
    expectClose(predict(m, { Days: [3] }, { reForm: "none" }), [b0 + b1 * 3], 1e-15);
  });

  it("sleepstudy: a new subject without allowNewLevels is an error naming it", async () => {
    const m = await lmer(SLEEP, sleep());
    const nd = { Days: [0, 1, 2], Subject: ["308", "999", "1000"] };
    expect(() => predict(m, nd)).toThrow(/new levels detected in newdata: grouping factor 'Subject': '999', '1000'/);
    expect(() => predict(m, nd, { allowNewLevels: false })).toThrow(/allowNewLevels/);
    // Subjects given as numbers match the fit's levels.
    expectClose(predict(m, { Days: [0, 5], Subject: [308, 309] }), predict(m, { Days: [0, 5], Subject: ["308", "309"] }), 0);
  });

  it("scale(Days) uses the fit's centre and sd on new Days values", async () => {
    const m = await lmer("Reaction ~ scale(Days) + log(Days + 1) + offset(Days / 2) + (1 | Subject)", sleep());
    const nd = [
      { Days: 2.5, Subject: "330" },
      { Days: 12, Subject: "331" },
      { Days: 0, Subject: "335" },
      { Days: 9, Subject: "352" },
    ];
    expectClose(predict(m, nd), [279.568523374492, 395.225971591192, 211.741660523434, 384.89728651217], 1e-7);
    expectClose(predict(m, nd, { reForm: "none" }), [275.161687646099, 385.008869839983, 257.027832629747, 348.515611539568], 1e-7);
  });

  it("cake: a new recipe:replicate combination falls back to the population", async () => {
    const m = await lmer(CAKE, cake());
    const nd = { recipe: ["A", "C"], temperature: ["205", "175"], replicate: ["3", "16"] };
    expectClose(predict(m, nd, { allowNewLevels: true }), [38.9679197816125, 27.9333333333334], 1e-7);
    expect(() => predict(m, nd)).toThrow(/grouping factor 'recipe:replicate': 'C:16'/);
  });
});

describe("predict with other random-effects structures", () => {
  it("(age || Subject): two terms on one grouping factor; a new subject with allowNewLevels", async () => {
    const m = await lmer("distance ~ age * Sex + (age || Subject)", referenceTable("data/Orthodont.csv", "Orthodont"));
    expect(m.reTerms.map((t) => t.label)).toEqual(["1 | Subject", "0 + age | Subject"]);
    expectClose(predict(m, tableRows(referenceTable("data/Orthodont.csv", "Orthodont"))), m.fitted(), 1e-10);
    const nd = { age: [9, 13, 11, 8], Sex: ["Female", "Male", "Male", "Female"], Subject: ["F03", "M10", "X01", "F11"] };
    // lme4: predict(f, nd, allow.new.levels = TRUE)
    expectClose(predict(m, nd, { allowNewLevels: true }), [22.6027175104664, 30.6878102646058, 24.9687500000001, 24.2240432242016], 1e-7);
  });

  it("crossed terms given in the other order than θ's: (1 | sample) + (1 | plate)", async () => {
    const pen = referenceTable("data/Penicillin.csv", "Penicillin");
    const m = await lmer("diameter ~ 1 + (1 | sample) + (1 | plate)", pen);
    expect(m.reTerms.map((t) => t.group)).toEqual(["plate", "sample"]);
    expectClose(predict(m, tableColumns(pen)), m.fitted(), 1e-10);
    const nd = { plate: ["c", "x", "q"], sample: ["F", "A", "new"] };
    expectClose(predict(m, nd, { allowNewLevels: true }), [20.1501493371129, 23.9394837023099, 22.686737836274], 1e-7);
    expect(() => predict(m, nd)).toThrow(/new levels detected in newdata: grouping factor 'sample': 'new' \(/);
    expect(() => predict(m, { plate: ["zz", "a"], sample: ["new", "A"] })).toThrow(
      /grouping factor 'plate': 'zz'; grouping factor 'sample': 'new'/,
    );
  });

  it("(1 | batch/cask): nested terms", async () => {
    const pastes = referenceTable("data/Pastes.csv", "Pastes");
    const m = await lmer("strength ~ 1 + (1 | batch/cask)", pastes);
    const rows = [59, 0, 31, 12];
    const fitted = m.fitted();
    expectClose(predict(m, tableRows(pastes, rows)), rows.map((r) => fitted[r]), 1e-10);
    // A known batch with a cask:batch combination the fit did not have: only the batch effect remains.
    const ranef = m.ranef();
    const batchA = ranef.batch.values[ranef.batch.levels.indexOf("A")][0];
    const got = predict(m, { batch: ["A"], cask: ["z"] }, { allowNewLevels: true });
    expect(got[0]).toBeCloseTo(m.fixef()["(Intercept)"] + batchA, 12);
  });

  it("numeric grouping variable, factor() of a number and a logical among the fixed effects", async () => {
    const t = sleep();
    const cols = tableColumns(t);
    const data = {
      Reaction: cols.Reaction,
      Days: cols.Days,
      Subject: cols.Subject.map(Number),
      late: (cols.Days as number[]).map((d) => d >= 5),
      week: (cols.Days as number[]).map((d) => (d < 3 ? 1 : d < 7 ? 2 : 3)),
    };
    const m = await lmer("Reaction ~ Days + late + factor(week) + (1 | Subject)", data);
    expect(m.frame.xNames).toEqual(["(Intercept)", "Days", "lateTRUE", "factor(week)2", "factor(week)3"]);
    expectClose(predict(m, data), m.fitted(), 1e-10);
    const rows = [7, 150, 33];
    const fitted = m.fitted();
    const sub = rows.map((r) => ({ Days: data.Days[r], Subject: String(data.Subject[r]), late: data.late[r], week: data.week[r] }));
    expectClose(predict(m, sub), rows.map((r) => fitted[r]), 1e-10);
    expect(() => predict(m, [{ Days: 1, Subject: 308, late: false, week: 4 }])).toThrow(/factor 'factor\(week\)' has new level '4'/);
  });
});

describe("predict: errors and missing values", () => {
  it("a missing column names it and what needs it", async () => {
    const m = await lmer(SLEEP, sleep());
    expect(() => predict(m, { Subject: ["308"] })).toThrow("newdata has no column 'Days' (needed by the fixed effects)");
    expect(() => predict(m, { Days: [1] })).toThrow("newdata has no column 'Subject' (needed by the grouping factor 'Subject')");
    expect(() => predict(m, { days: [1], Subject: ["308"] })).toThrow(/no column 'Days'.*did you mean 'days'/);
    const o = await lmer("Reaction ~ Days + offset(log(Days + 1)) + (1 | Subject)", sleep());
    expect(() => predict(o, { Days: [1], subj: ["308"] }, { reForm: "none" })).not.toThrow();
  });

  it("a new level of a fixed-effect factor is an error naming the factor and the level", async () => {
    const m = await lmer(CAKE, cake());
    const nd = { recipe: ["A", "D"], temperature: ["175", "185"], replicate: ["1", "2"] };
    expect(() => predict(m, nd, { allowNewLevels: true })).toThrow(/factor 'recipe' has new level 'D'/);
    expect(() => predict(m, { ...nd, recipe: ["A", "B"], temperature: ["175", "180"] }, { reForm: "none" })).toThrow(
      /factor 'temperature' has new level '180'/,
    );
  });

  it("a factor where the fit had a number is an error", async () => {
    const m = await lmer(SLEEP, sleep());
    expect(() => predict(m, { Days: ["a", "b"], Subject: ["308", "309"] })).toThrow(/'Days' was numeric in the fit but is a factor/);
  });

  it("NA in a newdata row gives NaN only in that row", async () => {
    const m = await lmer(SLEEP, sleep());
    const nd = [
      { Days: 1, Subject: "308" },
      { Days: null, Subject: "309" },
      { Days: 2, Subject: null },
      { Days: 3, Subject: "310" },
    ];
    const got = predict(m, nd);
    const want = predict(m, { Days: [1, 3], Subject: ["308", "310"] });
    expect(got[0]).toBe(want[0]);
    expect(got[1]).toBeNaN();
    expect(got[2]).toBeNaN();
    expect(got[3]).toBe(want[1]);
    // At the population level a missing grouping value does not matter.
    const none = predict(m, nd, { reForm: "none" });
    expect(none[1]).toBeNaN();
    expect(none[2]).toBe(m.fixef()["(Intercept)"] + 2 * m.fixef().Days);
  });

  it("a bad reForm is an error", async () => {
    const m = await lmer(SLEEP, sleep());
    expect(() => predict(m, undefined, { reForm: "NA" as "none" })).toThrow(/reForm must be "all" or "none"/);
  });

  it("never mutates the caller's newdata", async () => {
    const m = await lmer("Reaction ~ scale(Days) + log(Days + 1) + offset(Days / 2) + (1 | Subject)", sleep());
    const cols = { Days: Float64Array.from([0, 2.5, NaN]), Subject: ["308", "999", "309"] };
    const rows = [{ Days: 1, Subject: "308" }, { Days: 4, Subject: "350" }];
    const before = JSON.stringify({ cols: { Days: Array.from(cols.Days), Subject: cols.Subject }, rows });
    const table = sleep();
    const days = Float64Array.from((table.columns.get("Days") as { values: Float64Array }).values);
    predict(m, cols, { allowNewLevels: true });
    predict(m, rows);
    predict(m, table);
    expect(JSON.stringify({ cols: { Days: Array.from(cols.Days), Subject: cols.Subject }, rows })).toBe(before);
    expect((table.columns.get("Days") as { values: Float64Array }).values).toEqual(days);
  });
});

describe("newdataMatrices", () => {
  it("X has the fit's columns (rank-deficient ones dropped), Z and refs the fit's coding", async () => {
    // x2 = 2 x: lme4 drops x2. A factor g2 left of the bar is coded with the fit's contrasts.
    const n = 24;
    const data = {
      y: Array.from({ length: n }, (_, i) => Math.sin(i) * 3 + (i % 4)),
      x: Array.from({ length: n }, (_, i) => i % 6),
      x2: Array.from({ length: n }, (_, i) => 2 * (i % 6)),
      f: Array.from({ length: n }, (_, i) => ["lo", "mid", "hi"][i % 3]),
      g: Array.from({ length: n }, (_, i) => `g${Math.floor(i / 4)}`),
    };
    const m = await lmer("y ~ x + x2 + f + (1 | g)", data);
    expect(m.frame.droppedColumns).toEqual(["x2"]);
    const nd = newdataMatrices(m.formula, m.frame, { x: [1, 2], x2: [0, 0], f: ["mid", "hi"], g: ["g1", "new"] });
    expect(m.frame.xNames).toEqual(["(Intercept)", "x", "flo", "fmid"]);
    expect(Array.from(nd.X)).toEqual([1, 1, 0, 1, 1, 2, 0, 0]);
    expect(Array.from(nd.reTerms[0].refs)).toEqual([1, -1]);
    expect(nd.reTerms[0].newLevels).toEqual(["new"]);
    expect(Array.from(nd.reTerms[0].Z)).toEqual([1, 1]);
    expect(Array.from(nd.missing)).toEqual([0, 0]);
  });
});
