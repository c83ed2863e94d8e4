// Likelihood-ratio tests between nested models (lme4's anova(m1, m2, ...)): the table against the
// reference fits, the printed layout against R's print.anova, the `lmm compare` command and the errors.
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { anova, formatAnova, type AnovaTable } from "../src/anova.js";
import { lmer, type LinearMixedModel } from "../src/linearmixedmodel.js";
import type { FactorColumn, NumericColumn, Table } from "../src/data.js";
import { runCli } from "./helpers/cli.js";
import { referenceDir, referenceTable } from "./helpers/reference.js";

const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
const sleepstudy = () => referenceTable("data/sleepstudy.csv", "sleepstudy");
const data = (f: string) => path.join(referenceDir, "data", f);

const FIELDS = ["models", "npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "p"];

/** The anova fixtures of the reference fits (columns stored as arrays, R's NA as null). */
const anovaFixtures = fs
  .readdirSync(path.join(referenceDir, "fits"))
  .filter((f) => /^anova-.*\.json$/.test(f))
  .sort()
  .map((file) => ({ file, ref: JSON.parse(fs.readFileSync(path.join(referenceDir, "fits", file), "utf8")) }));

/** Checks a table against one reference: npar exact, criteria 1e-6, Chisq 1e-5, p 1e-4 relative. */
function expectReference(t: AnovaTable, ref: Record<string, (number | string | null)[]>): void {
  expect(t.models).toEqual(ref.models);
  expect(t.npar).toEqual(ref.npar);
  for (const k of ["AIC", "BIC", "logLik", "deviance"] as const) {
    t[k].forEach((v, i) => expect(rel(v, ref[k][i] as number), `${k}[${i}]`).toBeLessThan(1e-6));
  }
  expect(t.Df).toEqual(ref.Df);
  expect(t.Chisq[0]).toBeNull();
  expect(t.p[0]).toBeNull();
  for (let i = 1; i < t.models.length; i++) {
    expect(rel(t.Chisq[i]!, ref.Chisq[i] as number), `Chisq[${i}]`).toBeLessThan(1e-5);
    expect(rel(t.p[i]!, ref.p[i] as number), `p[${i}]`).toBeLessThan(1e-4);
  }
}

describe("anova() against the lme4 reference fits", () => {
  it("finds the reference anova fixtures", () => {
    expect(anovaFixtures.length).toBeGreaterThanOrEqual(2);
  });

  for (const { file, ref } of anovaFixtures) {
    it(`${file}: ML fits`, async () => {
      const [a, b] = await Promise.all(ref.models.map((f: string) => lmer(f, sleepstudy(), { REML: false })));
      const t = anova(a, b);
      expectReference(t, ref);
      expect(t.refitted).toEqual([false, false]);
      // JSON: exactly the reference's fields (its id aside), columns as arrays, NA as null
      const json = JSON.parse(JSON.stringify(t));
      expect(Object.keys(json)).toEqual(FIELDS);
      expect(Object.keys(ref).filter((k) => k !== "id")).toEqual(FIELDS);
    });

    it(`${file}: REML fits are refitted by ML first`, async () => {
      const [a, b] = await Promise.all(ref.models.map((f: string) => lmer(f, sleepstudy())));
      expect(a.REML && b.REML).toBe(true);
      const t = anova(b, a); // the larger first: rows are sorted by npar
      expectReference(t, ref);
      expect(t.refitted).toEqual([true, true]);
      expect(a.REML && b.REML).toBe(true); // the caller's models are left alone
    });
  }
});

describe("anova() of several models", () => {
  let m: Record<string, LinearMixedModel>;
  beforeAll(async () => {
    const d = sleepstudy();
    const f = {
      m0: "Reaction ~ 1 + (1 | Subject)",
      m1: "Reaction ~ Days + (1 | Subject)",
      m3: "Reaction ~ Days + (Days || Subject)",
      m2: "Reaction ~ Days + (Days | Subject)",
      m4: "Reaction ~ Days + I(Days^2) + (Days | Subject)",
    };
    const fits = await Promise.all(Object.values(f).map((x) => lmer(x, d, { REML: false })));
    m = Object.fromEntries(Object.keys(f).map((k, i) => [k, fits[i]]));
  });

  it("sorts by npar (names follow their models) and matches lme4's Chisq and p, tiny tails included", () => {
    // R: anova(m0, m1, m3, m2, m4); here given out of order
    const t = anova({ names: ["m4", "m2", "m0", "m3", "m1"] }, m.m4, m.m2, m.m0, m.m3, m.m1);
    expect(t.models).toEqual(["m0", "m1", "m3", "m2", "m4"]);
    expect(t.labels).toEqual(t.models);
    expect(t.npar).toEqual([3, 4, 5, 6, 7]);
    expect(t.Df).toEqual([null, 1, 1, 1, 1]);
    const chisq = [116.462415067832807836, 42.075387860625141911, 0.063910655609788591, 1.657749930396221316];
    const p = [3.7644614765456403e-27, 8.7821585064763826e-11, 8.004184641892057e-1, 1.979073977598928e-1];
    chisq.forEach((v, i) => expect(rel(t.Chisq[i + 1]!, v), `Chisq[${i + 1}]`).toBeLessThan(1e-5));
    p.forEach((v, i) => expect(rel(t.p[i + 1]!, v), `p[${i + 1}]`).toBeLessThan(1e-4));
    expect(t.formulas[4]).toBe("Reaction ~ Days + I(Days^2) + (Days | Subject)");
  });

  it("models with equal npar are compared (Df 0, Chisq 0, no p), as lme4 does", () => {
    const t = anova(m.m1, m.m1);
    expect(t.npar).toEqual([4, 4]);
    expect(t.Df).toEqual([null, 0]);
    expect(t.Chisq).toEqual([null, 0]);
    expect(t.p).toEqual([null, null]);
  });

  // R 4.2.2, lme4 1.1-31: print(anova(...)) of the same sleepstudy fits
  it("formatAnova prints R's layout: significance stars and legend", () => {
    const t = anova({ names: ["m1", "m2"], dataName: "sleepstudy" }, m.m1, m.m2);
    expect(formatAnova(t)).toBe(
      [
        "Data: sleepstudy",
        "Models:",
        "m1: Reaction ~ Days + (1 | Subject)",
        "m2: Reaction ~ Days + (Days | Subject)",
        "   npar    AIC    BIC  logLik deviance  Chisq Df Pr(>Chisq)    ",
        "m1    4 1802.1 1814.8 -897.04   1794.1                         ",
        "m2    6 1763.9 1783.1 -875.97   1751.9 42.139  2  7.072e-10 ***",
        "---",
        "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
        "",
      ].join("\n"),
    );
  });

  it("formatAnova: no stars when no p < 0.1", () => {
    const t = anova({ names: ["m3", "m2"], dataName: "sleepstudy" }, m.m3, m.m2);
    expect(formatAnova(t)).toBe(
      [
        "Data: sleepstudy",
        "Models:",
        "m3: Reaction ~ Days + (Days || Subject)", // R deparses it as ((1 | Subject) + (0 + Days | Subject))
        "m2: Reaction ~ Days + (Days | Subject)",
        "   npar    AIC    BIC  logLik deviance  Chisq Df Pr(>Chisq)",
        "m3    5 1762.0 1778.0 -876.00   1752.0                     ",
        "m2    6 1763.9 1783.1 -875.97   1751.9 0.0639  1     0.8004",
        "",
      ].join("\n"),
    );
  });

  it("formatAnova: five models, p below machine epsilon as '< 2.2e-16'", () => {
    const t = anova({ names: ["m0", "m1", "m3", "m2", "m4"], dataName: "sleepstudy" }, m.m0, m.m1, m.m3, m.m2, m.m4);
    expect(formatAnova(t)).toBe(
      [
        "Data: sleepstudy",
        "Models:",
        "m0: Reaction ~ 1 + (1 | Subject)",
        "m1: Reaction ~ Days + (1 | Subject)",
        "m3: Reaction ~ Days + (Days || Subject)",
        "m2: Reaction ~ Days + (Days | Subject)",
        "m4: Reaction ~ Days + I(Days^2) + (Days | Subject)",
        "   npar    AIC    BIC  logLik deviance    Chisq Df Pr(>Chisq)    ",
        "m0    3 1916.5 1926.1 -955.27   1910.5                           ",
        "m1    4 1802.1 1814.8 -897.04   1794.1 116.4624  1  < 2.2e-16 ***",
        "m3    5 1762.0 1778.0 -876.00   1752.0  42.0754  1  8.782e-11 ***",
        "m2    6 1763.9 1783.1 -875.97   1751.9   0.0639  1     0.8004    ",
        "m4    7 1764.3 1786.6 -875.14   1750.3   1.6577  1     0.1979    ",
        "---",
        "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
        "",
      ].join("\n"),
    );
  });

  it("formatAnova: all p below epsilon; Chisq shown with R's digits", () => {
    const t = anova({ names: ["m0", "m2"], dataName: "sleepstudy" }, m.m0, m.m2);
    expect(formatAnova(t)).toBe(
      [
        "Data: sleepstudy",
        "Models:",
        "m0: Reaction ~ 1 + (1 | Subject)",
        "m2: Reaction ~ Days + (Days | Subject)",
        "   npar    AIC    BIC  logLik deviance Chisq Df Pr(>Chisq)    ",
        "m0    3 1916.5 1926.1 -955.27   1910.5                        ",
        "m2    6 1763.9 1783.1 -875.97   1751.9 158.6  3  < 2.2e-16 ***",
        "---",
        "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
        "",
      ].join("\n"),
    );
  });

  it("formatAnova: without names, lme4's generic MODEL1, MODEL2 labels; Df 0 leaves p blank", () => {
    // R: anova(m1, m1) ("failed to find model names, assigning generic names")
    const t = anova({ dataName: "sleepstudy" }, m.m1, m.m1);
    expect(t.models).toEqual(["Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (1 | Subject)"]);
    expect(formatAnova(t)).toBe(
      [
        "Data: sleepstudy",
        "Models:",
        "MODEL1: Reaction ~ Days + (1 | Subject)",
        "MODEL2: Reaction ~ Days + (1 | Subject)",
        "       npar    AIC    BIC  logLik deviance Chisq Df Pr(>Chisq)",
        "MODEL1    4 1802.1 1814.8 -897.04   1794.1                    ",
        "MODEL2    4 1802.1 1814.8 -897.04   1794.1     0  0           ",
        "",
      ].join("\n"),
    );
  });

  it("formatAnova without a data name leaves out the Data: line", () => {
    const out = formatAnova(anova(m.m1, m.m2));
    expect(out.startsWith("Models:\nMODEL1: Reaction ~ Days + (1 | Subject)\n")).toBe(true);
  });
});

describe("anova() errors", () => {
  let m1: LinearMixedModel, m2: LinearMixedModel;
  beforeAll(async () => {
    m1 = await lmer("Reaction ~ Days + (1 | Subject)", sleepstudy(), { REML: false });
    m2 = await lmer("Reaction ~ Days + (Days | Subject)", sleepstudy(), { REML: false });
  });

  /** sleepstudy as columns, with an extra grouping factor Pair (two subjects per level). */
  function columns(): { Reaction: number[]; Days: number[]; Subject: string[]; Pair: string[] } {
    const t: Table = sleepstudy();
    const col = (name: string) => t.columns.get(name)!;
    const num = (name: string) => Array.from((col(name) as NumericColumn).values);
    const subj = col("Subject") as FactorColumn;
    const Subject = Array.from(subj.codes, (c) => subj.levels[c]);
    const Pair = Array.from(subj.codes, (c) => `P${Math.floor(c / 2)}`);
    return { Reaction: num("Reaction"), Days: num("Days"), Subject, Pair };
  }

  it("fewer than two models", () => {
    expect(() => anova()).toThrow(/at least two models.*got 0/);
    expect(() => anova(m1)).toThrow(/at least two models.*got 1/);
    expect(() => anova({ names: ["a"] }, m1)).toThrow(/at least two models/);
  });

  it("names: one per model, distinct", () => {
    expect(() => anova({ names: ["a"] }, m1, m2)).toThrow(/1 name.* 2 models/);
    expect(() => anova({ names: ["a", "a"] }, m1, m2)).toThrow(/names must be distinct.*'a'/);
    expect(() => anova({ names: ["a", ""] }, m1, m2)).toThrow(/empty/);
  });

  it("a non-model argument", () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(() => anova(m1, {} as any)).toThrow(/argument 2 is not a fitted model/);
  });

  it("different numbers of observations: lme4's message", async () => {
    const c = columns();
    const keep = c.Days.map((d) => d < 9);
    const sub = {
      Reaction: c.Reaction.filter((_, i) => keep[i]),
      Days: c.Days.filter((_, i) => keep[i]),
      Subject: c.Subject.filter((_, i) => keep[i]),
    };
    const small = await lmer("Reaction ~ Days + (1 | Subject)", sub, { REML: false });
    expect(() => anova(small, m2)).toThrow(/models were not all fitted to the same size of dataset.*162.*180/);
  });

  it("different responses of the same size", async () => {
    const c = columns();
    const other = await lmer("log(Reaction) ~ Days + (Days | Subject)", c, { REML: false });
    expect(() => anova(m1, other)).toThrow(/not all fitted to the same data: the responses .*differ at observation 1/);
    const shifted = { ...c, Reaction: c.Reaction.map((v, i) => (i === 41 ? v + 1 : v)) };
    const m2b = await lmer("Reaction ~ Days + (Days | Subject)", shifted, { REML: false });
    expect(() => anova(m1, m2b)).toThrow(/differ at observation 42/);
  });

  it("fixed effects not nested: names the missing columns", async () => {
    const quad = await lmer("Reaction ~ I(Days^2) + (Days | Subject)", sleepstudy(), { REML: false });
    expect(() => anova(m1, quad)).toThrow(/not nested.*fixed-effects column 'Days' of 'Reaction ~ Days \+ \(1 \| Subject\)'.*'Reaction ~ I\(Days\^2\) \+ \(Days \| Subject\)'/);
    expect(() => anova({ names: ["lin", "quad"] }, m1, quad)).toThrow(/column 'Days' of 'lin' .*not in 'quad'/);
  });

  it("random effects not nested: another grouping factor, or columns split differently", async () => {
    const c = columns();
    const a = await lmer("Reaction ~ Days + (1 | Subject)", c, { REML: false });
    const pair = await lmer("Reaction ~ Days + (Days | Pair)", c, { REML: false });
    expect(() => anova({ names: ["subject", "pair"] }, a, pair)).toThrow(
      /not nested: the random-effects term \(1 \| Subject\) of 'subject' .*not within any term of 'pair', which has no term on grouping factor 'Subject'/,
    );
    // (0 + Days | Subject) and (1 | Subject): same npar, neither within the other
    const slope = await lmer("Reaction ~ Days + (0 + Days | Subject)", c, { REML: false });
    expect(() => anova({ names: ["slope", "intercept"] }, slope, a)).toThrow(
      /not nested: the random-effects term \(0 \+ Days \| Subject\) of 'slope' \(grouping factor 'Subject', column 'Days'\) is not within any term of 'intercept' \(its term on 'Subject': \(1 \| Subject\)\)/,
    );
  });

  it("the uncorrelated model is nested in the correlated one, not the other way", async () => {
    const uncorr = await lmer("Reaction ~ Days + (Days || Subject)", sleepstudy(), { REML: false });
    expect(anova(uncorr, m2).Df).toEqual([null, 1]);
    // same npar, so it is the order given that decides which is the smaller: (Days | Subject) + a column
    // is not within (Days || Subject) + a column
    const quad = await lmer("Reaction ~ Days + I(Days^2) + (Days || Subject)", sleepstudy(), { REML: false });
    expect(quad.npar()).toBe(m2.npar());
    expect(() => anova(m2, quad)).toThrow(/not nested/);
  });
});

describe("lmm compare", () => {
  afterEach(() => vi.restoreAllMocks());

  const run = runCli;

  const csv = data("sleepstudy.csv");
  const levels = data("sleepstudy.levels.json");

  for (const { file, ref } of anovaFixtures) {
    it(`--json: ${file}'s schema and numbers`, async () => {
      const r = await run(["compare", csv, "--formula", ref.models[1], "--formula", ref.models[0], "--levels", levels, "--json"]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const got = JSON.parse(r.out);
      expect(Object.keys(got)).toEqual(FIELDS);
      expectReference(got, ref);
    });
  }

  it("prints R's table (names with --name, Data: from the file name)", async () => {
    const r = await run([
      "compare", csv, "-f", "Reaction ~ Days + (1 | Subject)", "-f", "Reaction ~ Days + (Days | Subject)",
      "--name", "m1", "--name", "m2", "--levels", levels,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        "Data: sleepstudy",
        "Models:",
        "m1: Reaction ~ Days + (1 | Subject)",
        "m2: Reaction ~ Days + (Days | Subject)",
        "   npar    AIC    BIC  logLik deviance  Chisq Df Pr(>Chisq)    ",
        "m1    4 1802.1 1814.8 -897.04   1794.1                         ",
        "m2    6 1763.9 1783.1 -875.97   1751.9 42.139  2  7.072e-10 ***",
        "---",
        "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
        "",
      ].join("\n"),
    );
  });

  it("without --name, lme4's generic labels", async () => {
    const r = await run(["compare", csv, "--formula", "Reaction ~ Days + (Days | Subject)", "--formula", "Reaction ~ Days + (1 | Subject)"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Models:\nMODEL2: Reaction ~ Days + (1 | Subject)\nMODEL1: Reaction ~ Days + (Days | Subject)\n");
    expect(r.out).toMatch(/\nMODEL1 +6 1763\.9 1783\.1 -875\.97 +1751\.9 42\.139 +2 +7\.072e-10 \*\*\*\n/);
  });

  it("errors exit 1 with lmm: error", async () => {
    const one = await run(["compare", csv, "--formula", "Reaction ~ Days + (1 | Subject)"]);
    expect(one.code).toBe(1);
    expect(one.out).toBe("");
    expect(one.err).toMatch(/^lmm: error: compare needs at least two --formula \(got 1\)/);
    const none = await run(["compare", csv]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/got 0/);
    const names = await run(["compare", csv, "-f", "Reaction ~ Days + (1 | Subject)", "-f", "Reaction ~ Days + (Days | Subject)", "--name", "a"]);
    expect(names.code).toBe(1);
    expect(names.err).toMatch(/^lmm: error: .*1 name.* 2 models/);
    const nested = await run(["compare", csv, "-f", "Reaction ~ Days + (1 | Subject)", "-f", "Reaction ~ I(Days^2) + (Days | Subject)"]);
    expect(nested.code).toBe(1);
    expect(nested.err).toMatch(/^lmm: error: models are not nested: .*'Days'/);
    const bad = await run(["compare", csv, "-f", "Reaction ~ Days + (1 | Subject)", "-f", "Reaction ~ Days + (Days | Subject"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^lmm: error: unbalanced parentheses/);
    const missing = await run(["compare", "no-such.csv", "-f", "y ~ x + (1|g)", "-f", "y ~ (1|g)"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read .no-such\.csv./);
  });
});
