// Bad input gets a specific error (column, level or formula position), never a crash, hang or NaN.
import { describe, expect, it } from "vitest";
import { lmer } from "../src/linearmixedmodel.js";
import { FormulaError } from "../src/formula-types.js";
import { referenceTable } from "./helpers/reference.js";

const sleep = () => referenceTable("data/sleepstudy.csv", "sleepstudy");

/** A small balanced design: g has 6 levels × 5 rows. */
function small(overrides: Record<string, unknown[]> = {}): Record<string, unknown[]> {
  const n = 30;
  const g = Array.from({ length: n }, (_, i) => `g${Math.floor(i / 5)}`);
  const x = Array.from({ length: n }, (_, i) => i % 5);
  const y = x.map((v, i) => 1 + 0.5 * v + Math.sin(i * 1.7) + (i % 7) * 0.1 + Math.floor(i / 5) * 0.3);
  return { y, x, g, ...overrides };
}

describe("bad input", () => {
  it("unknown column: names it, its position and close names", async () => {
    await expect(lmer("Reaction ~ Dayz + (1 | Subject)", sleep())).rejects.toThrow(/Dayz.*position 11[\s\S]*Days/);
  });

  it("formula syntax error: a FormulaError at the position", async () => {
    const err = await lmer("Reaction ~ Days + (1 | Subject", sleep()).catch((e) => e);
    expect(err).toBeInstanceOf(FormulaError);
    expect((err as FormulaError).pos).toBe(18);
    await expect(lmer("Reaction ~ Days +", sleep())).rejects.toThrow(/position/);
  });

  it("non-numeric response", async () => {
    await expect(lmer("Subject ~ Days + (1 | Subject)", sleep())).rejects.toThrow(/response 'Subject' is not numeric/);
  });

  it("no random-effects term", async () => {
    await expect(lmer("Reaction ~ Days", sleep())).rejects.toThrow(/no random effects terms/);
  });

  it("grouping factor with a single level", async () => {
    const d = small({ g: Array(30).fill("a") });
    await expect(lmer("y ~ x + (1 | g)", d)).rejects.toThrow(/grouping factor 'g' must have > 1 sampled level/);
  });

  it("grouping factor with as many levels as observations", async () => {
    const d = small({ g: Array.from({ length: 30 }, (_, i) => `id${i}`) });
    await expect(lmer("y ~ x + (1 | g)", d)).rejects.toThrow(/levels of grouping factor 'g' \(30\) must be < number of observations \(30\)/);
  });

  it("more random effects than observations for a vector term", async () => {
    const d = small({ g: Array.from({ length: 30 }, (_, i) => `id${Math.floor(i / 2)}`) });
    await expect(lmer("y ~ x + (1 + x | g)", d)).rejects.toThrow(/number of observations \(30\) <= number of random effects \(30\)/);
  });

  it("fewer observations than fixed effects", async () => {
    const d = { y: [1, 2, 3, 4], a: [1, 2, 3, 5], b: [2, 1, 2, 7], c: [0, 1, 1, 3], g: ["u", "u", "v", "v"] };
    await expect(lmer("y ~ a + b + c + (1 | g)", d)).rejects.toThrow(/fewer observations \(4\) than fixed effects \(4\)/);
  });

  it("all values missing", async () => {
    const d = small({ y: Array(30).fill(null) });
    await expect(lmer("y ~ x + (1 | g)", d)).rejects.toThrow(/no rows left after removing missing values/);
  });

  it("infinite values name the column", async () => {
    const d = small();
    (d.x as number[])[3] = Infinity;
    await expect(lmer("y ~ x + (1 | g)", d)).rejects.toThrow(/'x'/);
  });

  it("empty data set", async () => {
    await expect(lmer("y ~ x + (1 | g)", { y: [], x: [], g: [] })).rejects.toThrow(/no rows/);
    await expect(lmer("y ~ x + (1 | g)", [])).rejects.toThrow(/no rows/);
  });

  it("a response the fixed effects fit exactly is refused, not returned as NaN", async () => {
    const d = small({ y: Array(30).fill(4.2) });
    await expect(lmer("y ~ x + (1 | g)", d)).rejects.toThrow(/fitted exactly/);
  });

  it("a numeric grouping variable is converted to a factor, as lme4 does", async () => {
    const d = small({ g: Array.from({ length: 30 }, (_, i) => Math.floor(i / 5) * 10) });
    const m = await lmer("y ~ x + (1 | g)", d);
    expect(m.ngrps()).toEqual({ g: 6 });
    expect(m.ranef().g.levels).toEqual(["0", "10", "20", "30", "40", "50"]);
    expect(Number.isFinite(m.objectiveAtOptimum)).toBe(true);
  });

  it("missing values drop rows and say so; the caller's data is untouched", async () => {
    const d = small();
    (d.y as (number | null)[])[0] = null;
    (d.x as (number | null)[])[7] = NaN;
    const copy = JSON.parse(JSON.stringify(d));
    const m = await lmer("y ~ x + (1 | g)", d);
    expect(m.nobs()).toBe(28);
    expect(m.toJSON().n_dropped).toBe(2);
    expect(m.warnings.join("\n")).toMatch(/2 rows with missing values dropped/);
    expect(JSON.parse(JSON.stringify(d))).toEqual(copy);
  });

  it("a start of the wrong length or below the bounds", async () => {
    await expect(lmer("Reaction ~ Days + (Days | Subject)", sleep(), { start: [1, 0] })).rejects.toThrow(/start has 2 values but θ has 3/);
    await expect(lmer("Reaction ~ Days + (Days | Subject)", sleep(), { start: [-1, 0, 1] })).rejects.toThrow(/below its lower bound/);
  });
});
