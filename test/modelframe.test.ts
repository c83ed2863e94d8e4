import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { contrPoly } from "../src/contrasts.js";
import { parseCSV, type DataInput, type Table } from "../src/data.js";
import { parseFormula } from "../src/formula.js";
import { FormulaError } from "../src/formula-types.js";
import { modelFrame, type FrameOptions, type ModelFrame } from "../src/modelframe.js";

const refDir = fileURLToPath(new URL("./fixtures/reference/", import.meta.url));
const read = (path: string) => readFileSync(refDir + path, "utf8");
const datasets = new Map<string, Table>();

/** A reference data set (CSV parsed once; levels applied per frame). */
function dataset(name: string): { table: Table; levels: FrameOptions["levels"] } {
  if (!datasets.has(name)) datasets.set(name, parseCSV(read(`data/${name}.csv`)));
  return { table: datasets.get(name)!, levels: JSON.parse(read(`data/${name}.levels.json`)) };
}

function frame(formula: string, data: DataInput | Table, options?: FrameOptions): ModelFrame {
  return modelFrame(parseFormula(formula), data, options);
}

/** Column `name` of X. */
function xcol(mf: ModelFrame, name: string): number[] {
  const j = mf.xNames.indexOf(name);
  if (j < 0) throw new Error(`no column ${name} in ${mf.xNames.join(", ")}`);
  const p = mf.xNames.length;
  return Array.from({ length: mf.n }, (_, i) => mf.X[i * p + j]);
}

/** Row i of X. */
const xrow = (mf: ModelFrame, i: number) => Array.from(mf.X.subarray(i * mf.xNames.length, (i + 1) * mf.xNames.length));

// ---------------------------------------------------------------------------------------------------

interface RefFit {
  id: string;
  call: string;
  data: string;
  formula: string;
  formula_original?: string;
  nobs: number;
  ngrps: Record<string, number>;
  fixef: Record<string, number>;
  contrasts: Record<string, { type: string; ordered: boolean; levels: string[]; columns: string[]; matrix: number[][] }> | null;
  ranef: Record<string, { levels: string[] }>;
}

const fits: RefFit[] = readdirSync(refDir + "fits")
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(read(`fits/${f}`)))
  .filter((fit) => fit.call === "lmer");

describe("reference lmer fits", () => {
  it("has the lmer fits", () => expect(fits.length).toBeGreaterThanOrEqual(14));

  for (const fit of fits) {
    it(`${fit.id}: ${fit.formula_original ?? fit.formula}`, () => {
      const { table, levels } = dataset(fit.data.replace(/^data\//, "").replace(/\.csv$/, ""));
      const mf = frame(fit.formula_original ?? fit.formula, table, { levels });
      expect(mf.xNames).toEqual(Object.keys(fit.fixef));
      expect(mf.n).toBe(fit.nobs);
      expect(mf.nDropped).toBe(0);
      expect(mf.warnings).toEqual([]);
      expect(mf.droppedColumns).toEqual([]);
      const ngrps: Record<string, number> = {};
      for (const t of mf.reTerms) ngrps[t.group] = t.levels.length;
      expect(ngrps).toEqual(fit.ngrps);
      // Same levels as lme4's ranef (whose order the reference's data.frame conversion does not keep).
      for (const t of mf.reTerms) expect([...t.levels].sort()).toEqual([...fit.ranef[t.group].levels].sort());
      if (fit.contrasts === null) expect(mf.contrasts).toBeNull();
      else {
        expect(Object.keys(mf.contrasts!)).toEqual(Object.keys(fit.contrasts));
        for (const [name, ref] of Object.entries(fit.contrasts)) {
          const got = mf.contrasts![name];
          expect({ ...got, matrix: null }).toEqual({ ...ref, matrix: null });
          got.matrix.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - ref.matrix[i][j])).toBeLessThan(1e-12)));
        }
      }
    });
  }

  it("sleepstudy: y, X, Z and refs hold the data", () => {
    const { table, levels } = dataset("sleepstudy");
    const mf = frame("Reaction ~ Days + (Days | Subject)", table, { levels });
    const days = table.columns.get("Days")! as { values: Float64Array };
    expect(mf.responseName).toBe("Reaction");
    expect(mf.y[1]).toBe(258.7047);
    expect(xcol(mf, "Days")).toEqual(Array.from(days.values));
    expect(mf.assign).toEqual([0, 1]);
    expect(mf.termLabels).toEqual(["Days"]);
    const t = mf.reTerms[0];
    expect(t).toMatchObject({ label: "Days | Subject", group: "Subject", names: ["(Intercept)", "Days"] });
    expect(t.levels).toEqual(levels!.Subject.levels);
    expect(Array.from(t.Z.subarray(0, 6))).toEqual([1, 0, 1, 1, 1, 2]);
    expect(t.refs[0]).toBe(0);
    expect(t.refs[179]).toBe(17);
    expect(mf.offset).toBeNull();
    expect(Array.from(mf.rows.subarray(0, 3))).toEqual([0, 1, 2]);
  });

  it("cake: interaction columns hold products of contrasts, first factor fastest", () => {
    const { table, levels } = dataset("cake");
    const mf = frame("angle ~ recipe * temperature + (1 | recipe:replicate)", table, { levels });
    const poly = contrPoly(6).matrix;
    // Row 0: replicate 1, recipe A, temperature 175. Find a recipe B row at temperature 185.
    expect(xcol(mf, "temperature.L")[0]).toBeCloseTo(poly[0][0], 14);
    const recipe = table.columns.get("recipe")! as { codes: Int32Array; levels: string[] };
    const temp = table.columns.get("temp")! as { values: Float64Array };
    const i = Array.from({ length: table.nrow }, (_, k) => k).find((k) => recipe.levels[recipe.codes[k]] === "B" && temp.values[k] === 185)!;
    expect(xcol(mf, "recipeB:temperature.Q")[i]).toBeCloseTo(poly[1][1], 14);
    expect(Math.abs(xcol(mf, "recipeC:temperature.Q")[i])).toBe(0);
    expect(mf.assign).toEqual([0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    // recipe:replicate levels: recipe slowest, in the levels' order.
    expect(mf.reTerms[0].levels.slice(0, 3)).toEqual(["A:1", "A:2", "A:3"]);
    expect(mf.reTerms[0].levels[15]).toBe("B:1");
  });

  it("Pastes: batch/cask gives cask:batch (cask slowest) and batch", () => {
    const { table, levels } = dataset("Pastes");
    const mf = frame("strength ~ 1 + (1 | batch/cask)", table, { levels });
    expect(mf.reTerms.map((t) => t.group)).toEqual(["cask:batch", "batch"]);
    expect(mf.reTerms[0].levels.slice(0, 11)).toEqual(["a:A", "a:B", "a:C", "a:D", "a:E", "a:F", "a:G", "a:H", "a:I", "a:J", "b:A"]);
  });

  it("grouseticks: scale(HEIGHT) equals the data's HEIGHTc", () => {
    const { table, levels } = dataset("grouseticks");
    const fit = JSON.parse(read("fits/grouseticks-poisson.json"));
    const mf = frame(fit.formula_original, table, { levels });
    expect(mf.xNames).toEqual(["(Intercept)", "YEAR96", "YEAR97", "scale(HEIGHT)"]);
    const ref = (table.columns.get("HEIGHTc") as { values: Float64Array }).values;
    xcol(mf, "scale(HEIGHT)").forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-12));
    expect(mf.n).toBe(fit.nobs);
    expect(Object.fromEntries(mf.reTerms.map((t) => [t.group, t.levels.length]))).toEqual(fit.ngrps);
  });
});

// ---------------------------------------------------------------------------------------------------

// A small design: y, numeric x, factors f (a/b/c) and g (A/B), logical flag.
const small = {
  y: [1.5, 2.1, 3.3, 4.8, 5.2, 6.9, 7.1, 8.4],
  x: [1, 2, 3, 4, 5, 6, 7, 8],
  f: ["a", "b", "c", "a", "b", "c", "a", "b"],
  g: ["A", "A", "A", "A", "B", "B", "B", "B"],
  flag: [true, false, true, true, false, false, true, false],
  s: ["s1", "s2", "s3", "s1", "s2", "s3", "s1", "s2"],
};

describe("fixed-effects model matrix", () => {
  it("numeric × factor", () => {
    const mf = frame("y ~ x * f + (1 | s)", small);
    expect(mf.xNames).toEqual(["(Intercept)", "x", "fb", "fc", "x:fb", "x:fc"]);
    expect(mf.assign).toEqual([0, 1, 2, 2, 3, 3]);
    expect(xrow(mf, 1)).toEqual([1, 2, 1, 0, 2, 0]);
    expect(xrow(mf, 5)).toEqual([1, 6, 0, 1, 0, 6]);
    expect(mf.contrasts).toEqual({ f: { type: "contr.treatment", ordered: false, levels: ["a", "b", "c"], columns: ["b", "c"], matrix: [[0, 0], [1, 0], [0, 1]] } });
  });

  it("numeric:factor without the factor's margin uses indicators", () => {
    expect(frame("y ~ x:f + (1 | s)", small).xNames).toEqual(["(Intercept)", "x:fa", "x:fb", "x:fc"]);
    expect(frame("y ~ x + x:f + (1 | s)", small).xNames).toEqual(["(Intercept)", "x", "x:fb", "x:fc"]);
  });

  it("factor × factor with and without main effects", () => {
    expect(frame("y ~ f * g + (1 | s)", small).xNames).toEqual(["(Intercept)", "fb", "fc", "gB", "fb:gB", "fc:gB"]);
    expect(frame("y ~ f + f:g + (1 | s)", small).xNames).toEqual(["(Intercept)", "fb", "fc", "fa:gB", "fb:gB", "fc:gB"]);
    // ~ f:g alone: indicators of both (R's model.matrix), then the last column is rank deficient.
    const mf = frame("y ~ f:g + (1 | s)", small);
    expect(mf.xNames).toEqual(["(Intercept)", "fa:gA", "fb:gA", "fc:gA", "fa:gB", "fb:gB"]);
    expect(mf.droppedColumns).toEqual(["fc:gB"]);
    expect(mf.warnings).toEqual(["fixed-effect model matrix is rank deficient so dropping 1 column / coefficient"]);
  });

  it("0 + gives indicators for the first factor only", () => {
    const mf = frame("y ~ 0 + f + (1 | s)", small);
    expect(mf.xNames).toEqual(["fa", "fb", "fc"]);
    expect(xrow(mf, 2)).toEqual([0, 0, 1]);
    expect(mf.assign).toEqual([1, 1, 1]);
    expect(frame("y ~ 0 + f + g + (1 | s)", small).xNames).toEqual(["fa", "fb", "fc", "gB"]);
    expect(frame("y ~ 0 + x + f + (1 | s)", small).xNames).toEqual(["x", "fa", "fb", "fc"]);
    expect(frame("y ~ 0 + x + (1 | s)", small).xNames).toEqual(["x"]);
  });

  it("sum and helmert contrasts on request", () => {
    const mf = frame("y ~ f + g + (1 | s)", small, { contrasts: { f: "contr.sum", g: "contr.helmert" } });
    expect(mf.xNames).toEqual(["(Intercept)", "f1", "f2", "g1"]);
    expect(xrow(mf, 2)).toEqual([1, -1, -1, -1]);
    expect(mf.contrasts!.f.type).toBe("contr.sum");
    expect(mf.contrasts!.g).toMatchObject({ type: "contr.helmert", columns: ["1"], matrix: [[-1], [1]] });
  });

  it("poly contrasts on ordered factors, from levels or ordered()", () => {
    const byLevels = frame("y ~ f + (1 | s)", small, { levels: { f: { levels: ["c", "b", "a"], ordered: true } } });
    expect(byLevels.xNames).toEqual(["(Intercept)", "f.L", "f.Q"]);
    expect(byLevels.contrasts!.f).toMatchObject({ type: "contr.poly", ordered: true, levels: ["c", "b", "a"], columns: [".L", ".Q"] });
    expect(xcol(byLevels, "f.L")[0]).toBeCloseTo(Math.SQRT1_2, 15); // "a" is the last level
    const byCall = frame("y ~ ordered(x) + (1 | s)", { ...small, x: [1, 2, 3, 4, 1, 2, 3, 4] });
    expect(byCall.xNames).toEqual(["(Intercept)", "ordered(x).L", "ordered(x).Q", "ordered(x).C"]);
  });

  it("factor() of a numeric variable, levels sorted numerically", () => {
    const mf = frame("y ~ factor(x) + (1 | s)", { ...small, x: [10, 2, 2, 10, 2.5, 10, 2, 2.5] });
    expect(mf.xNames).toEqual(["(Intercept)", "factor(x)2.5", "factor(x)10"]);
    expect(mf.contrasts!["factor(x)"].levels).toEqual(["2", "2.5", "10"]);
  });

  it("logical variables are factors with levels FALSE/TRUE", () => {
    const mf = frame("y ~ flag + (1 | s)", small);
    expect(mf.xNames).toEqual(["(Intercept)", "flagTRUE"]);
    expect(xcol(mf, "flagTRUE")).toEqual([1, 0, 1, 1, 0, 0, 1, 0]);
    expect(mf.contrasts!.flag).toMatchObject({ type: "contr.treatment", levels: ["FALSE", "TRUE"], columns: ["TRUE"] });
  });

  it("I(x^2), log, log2, log10, exp, sqrt, abs, arithmetic in I()", () => {
    const cases: [string, (x: number) => number][] = [
      ["I(x^2)", (x) => x * x],
      ["log(x)", Math.log],
      ["log2(x)", Math.log2],
      ["log10(x)", Math.log10],
      ["log1p(x)", Math.log1p],
      ["exp(x)", Math.exp],
      ["sqrt(x)", Math.sqrt],
      ["abs(x)", Math.abs],
      ["I(-x/2 + 1)", (x) => -x / 2 + 1],
      ["I((x - 1) * (x + 1))", (x) => (x - 1) * (x + 1)],
      ["log(x, 2)", (x) => Math.log(x) / Math.log(2)],
    ];
    for (const [term, f] of cases) {
      const mf = frame(`y ~ ${term} + (1 | s)`, small);
      expect(mf.xNames).toEqual(["(Intercept)", term]);
      expect(xcol(mf, term)).toEqual(small.x.map(f));
    }
  });

  it("a response expression", () => {
    const mf = frame("log(y) ~ x + (1 | s)", small);
    expect(mf.responseName).toBe("log(y)");
    expect(mf.y[0]).toBe(Math.log(1.5));
  });

  it("scale() centres and scales over all non-missing values, before na.omit (as R)", () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const mf = frame("y ~ scale(x) + (1 | s)", { ...small, x, y: [NaN, 2, 3, 4, 5, 6, 7, 8] });
    const sd = Math.sqrt(x.reduce((s, v) => s + (v - 4.5) ** 2, 0) / 7);
    expect(mf.n).toBe(7);
    expect(xcol(mf, "scale(x)")[0]).toBeCloseTo((2 - 4.5) / sd, 14);
  });

  it("offsets are summed and join na.omit", () => {
    const mf = frame("y ~ x + offset(log(x)) + offset(x) + (1 | s)", { ...small, x: [1, 2, 3, 4, 5, 6, 7, NaN] });
    expect(mf.n).toBe(7);
    expect(mf.offset![1]).toBeCloseTo(Math.log(2) + 2, 14);
  });
});

describe("rank deficiency", () => {
  it("drops a duplicated column, as lme4", () => {
    const mf = frame("y ~ x + x2 + (1 | s)", { ...small, x2: small.x.map((v) => v) });
    expect(mf.xNames).toEqual(["(Intercept)", "x"]);
    expect(mf.droppedColumns).toEqual(["x2"]);
    expect(mf.assign).toEqual([0, 1]);
    expect(mf.X.length).toBe(mf.n * 2);
    expect(mf.warnings).toEqual(["fixed-effect model matrix is rank deficient so dropping 1 column / coefficient"]);
  });

  it("drops columns of a factor combination never observed, plural message", () => {
    const data = { ...small, f: ["a", "b", "a", "a", "b", "a", "a", "b"], g: ["A", "A", "B", "A", "A", "B", "B", "A"], z: small.x.map((v) => 2 * v - 1) };
    const mf = frame("y ~ f * g + x + z + (1 | s)", data);
    expect(mf.xNames).toEqual(["(Intercept)", "fb", "gB", "x"]);
    expect(mf.droppedColumns).toEqual(["z", "fb:gB"]);
    expect(mf.assign).toEqual([0, 1, 2, 3]);
    expect(mf.warnings).toEqual(["fixed-effect model matrix is rank deficient so dropping 2 columns / coefficients"]);
  });
});

describe("scale check", () => {
  it("warns as lme4 when predictors are on very different scales", () => {
    const big = frame("y ~ x + z + (1 | s)", { ...small, z: small.x.map((v) => (v % 3) * 1e4) });
    expect(big.warnings).toEqual(["Some predictor variables are on very different scales: consider rescaling"]);
    const tiny = frame("y ~ z + (1 | s)", { ...small, z: small.x.map((v) => v * 1e-4) });
    expect(tiny.warnings).toEqual(["Some predictor variables are on very different scales: consider rescaling"]);
    expect(frame("y ~ x + f + (1 | s)", small).warnings).toEqual([]);
  });
});

describe("missing values", () => {
  it("drops rows with a missing value in any variable, and counts them", () => {
    const data = {
      y: [1, NaN, 3, 4, 5, 6, 7, 8, 9, 10],
      x: [1, 2, null, 4, 5, 6, 7, 8, 9, 10],
      f: ["a", "b", "a", undefined, "b", "a", "b", "a", "b", "a"],
      flag: [true, false, true, false, null, true, false, true, false, true],
      w: [1, 2, 3, 4, 5, NaN, 7, 8, 9, 10],
      s: ["s1", "s2", "s1", "s2", "s1", "s2", null, "s2", "s1", "s2"],
      o: [0, 0, 0, 0, 0, 0, 0, null, 0, 0],
      unused: [null, null, null, null, null, null, null, null, null, null],
    };
    const mf = frame("y ~ x + f + flag + offset(o) + (w | s)", data);
    expect(mf.n).toBe(3);
    expect(mf.nDropped).toBe(7);
    expect(Array.from(mf.rows)).toEqual([0, 8, 9]);
    expect(Array.from(mf.y)).toEqual([1, 9, 10]);
    expect(mf.reTerms[0].levels).toEqual(["s1", "s2"]);
    // A missing value in a column the formula does not use drops nothing.
    expect(frame("y ~ x + (1 | s)", { ...small, unused: small.x.map(() => null) }).nDropped).toBe(0);
  });

  it("drops factor levels no used row has", () => {
    const data = { ...small, y: [1, 2, NaN, 4, 5, NaN, 7, 8], s: ["s1", "s2", "s3", "s1", "s2", "s3", "s1", "s2"] };
    const mf = frame("y ~ f + (1 | s)", data);
    expect(mf.xNames).toEqual(["(Intercept)", "fb"]);
    expect(mf.contrasts!.f.levels).toEqual(["a", "b"]);
    expect(mf.reTerms[0].levels).toEqual(["s1", "s2"]);
  });
});

describe("random-effects terms", () => {
  it("(0 + factor | g) has a column per level; (1 | a:b) drops unused combinations", () => {
    const mf = frame("y ~ 1 + (0 + f | s) + (1 | g:f)", small);
    expect(mf.reTerms[0].names).toEqual(["fa", "fb", "fc"]);
    expect(Array.from(mf.reTerms[0].Z.subarray(0, 6))).toEqual([1, 0, 0, 0, 1, 0]);
    expect(mf.reTerms[1].group).toBe("g:f");
    expect(mf.reTerms[1].levels).toEqual(["A:a", "A:b", "A:c", "B:a", "B:b", "B:c"]);
    const sparse = frame("y ~ 1 + (1 | g:f)", { ...small, f: ["a", "b", "a", "b", "c", "c", "c", "c"] });
    expect(sparse.reTerms[0].levels).toEqual(["A:a", "A:b", "B:c"]);
    expect(Array.from(sparse.reTerms[0].refs)).toEqual([0, 1, 0, 1, 2, 2, 2, 2]);
  });

  it("(x | g) with a factor in the term: contrasts as in the fixed part", () => {
    const mf = frame("y ~ 1 + (f | s)", small);
    expect(mf.reTerms[0].names).toEqual(["(Intercept)", "fb", "fc"]);
  });

  it("numeric and logical grouping variables become factors (numeric levels sorted numerically)", () => {
    const mf = frame("y ~ 1 + (1 | id) + (1 | flag)", { ...small, id: [10, 2, 10, 2, 30, 30, 2.5, 2.5] });
    expect(mf.reTerms[0].levels).toEqual(["2", "2.5", "10", "30"]);
    expect(Array.from(mf.reTerms[0].refs)).toEqual([2, 0, 2, 0, 3, 3, 1, 1]);
    expect(mf.reTerms[1].levels).toEqual(["FALSE", "TRUE"]);
  });

  it("user factor levels keep their order; unused levels are dropped", () => {
    const mf = frame("y ~ 1 + (1 | s)", small, { levels: { s: { levels: ["s3", "zz", "s1", "s2"] } } });
    expect(mf.reTerms[0].levels).toEqual(["s3", "s1", "s2"]);
  });
});

describe("data inputs", () => {
  const rows = small.y.map((_, i) => ({ y: small.y[i], x: small.x[i], f: small.f[i], s: small.s[i] }));
  const expected = frame("y ~ x + f + (x | s)", small);

  it("row objects", () => {
    const mf = frame("y ~ x + f + (x | s)", rows);
    expect(mf.xNames).toEqual(expected.xNames);
    expect(mf.X).toEqual(expected.X);
    expect(mf.reTerms[0].Z).toEqual(expected.reTerms[0].Z);
  });

  it("column objects with typed arrays", () => {
    const mf = frame("y ~ x + f + (x | s)", { y: Float64Array.from(small.y), x: Int32Array.from(small.x), f: small.f, s: small.s });
    expect(mf.X).toEqual(expected.X);
    expect(mf.y).toEqual(expected.y);
  });

  it("an Apache Arrow table", () => {
    const arrow = tableFromArrays({ y: Float64Array.from(small.y), x: Float64Array.from(small.x), f: small.f, s: small.s });
    const mf = frame("y ~ x + f + (x | s)", arrow);
    expect(mf.xNames).toEqual(expected.xNames);
    expect(mf.X).toEqual(expected.X);
  });

  it("CSV text with NA and quoted numbers", () => {
    const csv = 'y,x,f,s\n1.5,"1",a,s1\n2.1,2,b,s2\nNA,3,c,s3\n4.8,"4",a,s1\n5.2,5,b,s2\n6.9,NA,c,s3\n7.1,7,a,s1\n8.4,8,b,s2\n';
    const mf = frame("y ~ x + f + (1 | s)", parseCSV(csv));
    expect(mf.n).toBe(6);
    expect(mf.nDropped).toBe(2);
    expect(xcol(mf, "x")).toEqual([1, 2, 4, 5, 7, 8]);
  });

  it("never mutates the caller's data", () => {
    const data = { y: [...small.y, NaN], x: Float64Array.from([...small.x, 1]), f: [...small.f, "z"], s: [...small.s, "s9"] };
    const before = JSON.stringify({ ...data, x: Array.from(data.x) });
    frame("y ~ scale(x) + factor(f) + (1 | s)", data, { levels: { f: { levels: ["c", "b", "a", "z"] } } });
    expect(JSON.stringify({ ...data, x: Array.from(data.x) })).toBe(before);
  });
});

describe("errors", () => {
  it("an unknown column names it, its position and close column names", () => {
    const { table } = dataset("sleepstudy");
    let err: unknown;
    try {
      frame("Reaction ~ Dayz + (1 | Subject)", table);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormulaError);
    expect((err as FormulaError).message).toContain("unknown variable 'Dayz' at position 11");
    expect((err as FormulaError).message).toContain("did you mean 'Days'?");
    expect((err as FormulaError).pos).toBe(11);
    expect(() => frame("Reaction ~ Days + (1 | qqqq)", table)).toThrow("columns: Reaction, Days, Subject");
  });

  it("a non-numeric response", () => {
    const { table, levels } = dataset("sleepstudy");
    expect(() => frame("Subject ~ Days + (1 | Subject)", table, { levels })).toThrow("response 'Subject' is not numeric (it is a factor with 18 levels)");
  });

  it("NaN and infinite values from the formula or the data", () => {
    const x = [1, 2, 3, 4, -5, -6, 7, -8];
    expect(() => frame("y ~ log(x) + (1 | s)", { ...small, x })).toThrow("log(x) gives NaN for 3 rows (first: row 5)");
    expect(() => frame("y ~ sqrt(x) + (1 | s)", { ...small, x: [1, 2, 3, 4, 5, 6, 7, -8] })).toThrow("sqrt(x) gives NaN for 1 row (first: row 8)");
    expect(() => frame("y ~ log(x) + (1 | s)", { ...small, x: [0, 1, 2, 3, 4, 5, 6, 7] })).toThrow("log(x) gives infinite values for 1 row (first: row 1)");
    expect(() => frame("y ~ x + (1 | s)", { ...small, x: [1, Infinity, 3, 4, 5, 6, 7, 8] })).toThrow("column 'x' has infinite values in 1 row (first: row 2)");
    // Rows dropped for a missing value elsewhere are not checked, as R would drop them first.
    expect(frame("y ~ log(x) + (1 | s)", { ...small, x: [-1, 2, 3, 4, 5, 6, 7, 8], y: [NaN, 2, 3, 4, 5, 6, 7, 8] }).n).toBe(7);
  });

  it("no rows left after removing missing values", () => {
    expect(() => frame("y ~ x + (1 | s)", { ...small, x: small.x.map(() => null) })).toThrow(
      "no rows left after removing missing values (column x is missing in all rows)",
    );
    expect(() => frame("y ~ x + (1 | s)", { ...small, x: [1, NaN, 3, NaN, 5, NaN, 7, NaN], y: [NaN, 2, NaN, 4, NaN, 6, NaN, 8] })).toThrow(
      "no rows left after removing missing values (every row has a missing value in one of: y (4 missing), x (4 missing))",
    );
  });

  it("unsupported functions, poly, factors in arithmetic, one-level factors, bad contrasts", () => {
    expect(() => frame("y ~ foo(x) + (1 | s)", small)).toThrow("unsupported function 'foo' in 'foo(x)'");
    expect(() => frame("y ~ poly(x, 2) + (1 | s)", small)).toThrow("poly() is not supported");
    expect(() => frame("y ~ scale(x, center = FALSE) + (1 | s)", small)).toThrow("argument 'center' of scale() is not supported");
    expect(frame("y ~ log(x, base = 2) + (1 | s)", small).xNames).toEqual(["(Intercept)", "log(x, base = 2)"]);
    expect(() => frame("y ~ I(f + 1) + (1 | s)", small)).toThrow("I(f + 1): 'f' is a factor with 3 levels, not a numeric variable");
    expect(() => frame("y ~ log(f) + (1 | s)", small)).toThrow("log(f): 'f' is a factor");
    expect(() => frame("y ~ f + (1 | s)", { ...small, f: small.f.map(() => "a") })).toThrow(
      "factor 'f' has only one level ('a') in the rows used: contrasts can be applied only to factors with 2 or more levels",
    );
    expect(() => frame("y ~ f + (1 | s)", small, { contrasts: { f: "contr.bogus" as never } })).toThrow("unknown contrast 'contr.bogus' for 'f'");
    expect(frame("y ~ x + (1 | s)", small, { contrasts: { f: "contr.sum" } }).warnings).toEqual(["variable 'f' is absent, its contrast will be ignored"]);
  });

  it("data errors come through", () => {
    expect(() => frame("y ~ x + (1 | s)", { y: [], x: [], s: [] })).toThrow("data has no rows");
    expect(() => frame("y ~ x + (1 | s)", { y: [1, 2], x: [1], s: ["a", "b"] })).toThrow("column 'x' has 1 values but column 'y' has 2");
    expect(() => frame("y ~ x + (1 | s)", small, { levels: { f: { levels: ["a", "b"] } } })).toThrow("column 'f': value 'c' (row 3)");
  });
});
