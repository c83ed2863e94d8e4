// The tail probabilities and quantiles against R 4.2.2 (pt, pf, pchisq with lower.tail = FALSE, qt),
// values printed with sprintf("%.17g"). Tiny tails must be right in relative terms: they are the
// p-values of strong effects (lmerTest's reference values go down to 1e-24).
import { describe, expect, it } from "vitest";
import { pchisqUpper, pfUpper, ptTwoTailed, ptUpper, qt } from "../src/distributions.js";

function relClose(got: number, want: number, rel: number, what: string): void {
  const ok = got === want || Math.abs(got - want) <= rel * Math.abs(want);
  expect(ok, `${what}: got ${got}, R ${want}`).toBe(true);
}

const REL = 1e-10;

describe("ptUpper = pt(t, df, lower.tail = FALSE)", () => {
  // [t, df, R]
  const cases: [number, number, number][] = [
    [-36.8, 17, 1],
    [36.8, 17, 5.9576680107865972e-18],
    [2.1, 3.5, 0.056762912610399098],
    [-1.5, 3.3, 0.88874840164035418],
    [0.01, 5, 0.49620400902129091],
    [1e-10, 5, 0.49999999996203937],
    [40, 2.5, 7.0978171452466926e-5],
    [100000, 1, 3.1830988617318035e-6],
    [3, 1000000, 0.0013499312707108962],
    [8, 1000000000, 6.2209671422273791e-16],
    [0.5, 0.7, 0.36520084334116509],
    [-4, 12.25, 0.99915337177594987],
    [19.0704659821671, 41.999999810179098, 1.3354239247496033e-22],
    [300, 60, 2.6226735938626087e-97],
  ];
  for (const [t, df, want] of cases) it(`pt(${t}, ${df})`, () => relClose(ptUpper(t, df), want, REL, `ptUpper(${t}, ${df})`));

  it("df = Inf is the normal distribution", () => {
    relClose(ptUpper(3, Infinity), 0.0013498980316300946, REL, "pt(3, Inf)");
    relClose(ptUpper(-2, Infinity), 0.97724986805182079, REL, "pt(-2, Inf)");
    relClose(ptUpper(12, Infinity), 1.776482112077679e-33, REL, "pt(12, Inf)");
  });

  it("two-sided p = 2 P(T > |t|), tiny tails included (R: pt(-36.8, 17) * 2)", () => {
    relClose(ptTwoTailed(-36.8, 17), 1.1915336021573194e-17, REL, "2 pt(-36.8, 17)");
    relClose(ptTwoTailed(36.8, 17), 1.1915336021573194e-17, REL, "2 pt(36.8, 17)");
    relClose(ptTwoTailed(19.0704659821671, 41.999999810179098), 2.6708478494992066e-22, REL, "cake intercept");
    expect(ptTwoTailed(0, 5)).toBe(1);
  });

  it("edge values", () => {
    expect(ptUpper(0, 3)).toBe(0.5);
    expect(ptUpper(Infinity, 3)).toBe(0);
    expect(ptUpper(-Infinity, 3)).toBe(1);
    expect(ptUpper(NaN, 3)).toBeNaN();
    expect(ptUpper(1, 0)).toBeNaN();
    expect(ptUpper(1, -2)).toBeNaN();
  });
});

describe("pfUpper = pf(f, df1, df2, lower.tail = FALSE)", () => {
  // [f, df1, df2, R]
  const cases: [number, number, number, number][] = [
    [20.519860606578501, 5, 210.000000070982, 1.1531618107473647e-16],
    [0.248788812314577, 2, 41.999999812236503, 0.78088558492501636],
    [125.55747751353053, 1, 271.37747390045632, 3.3337428876400708e-24],
    [1e-8, 3, 10, 0.9999999999985173],
    [749.95, 2, 16.9998, 2.635323007968884e-17],
    [3, 4, 7.5, 0.09191259934266241],
    [1.2, 10, 3.1, 0.49111468017334292],
    [0.5, 1, 1, 0.60817344796939288],
    [5000, 3, 200, 9.3297826459165549e-188],
    [2.5, 0.6, 40, 0.12824440989222241],
  ];
  for (const [f, df1, df2, want] of cases) {
    it(`pf(${f}, ${df1}, ${df2})`, () => relClose(pfUpper(f, df1, df2), want, REL, `pfUpper(${f}, ${df1}, ${df2})`));
  }

  it("df2 = Inf is χ²_df1 / df1", () => {
    relClose(pfUpper(3, 4, Infinity), 0.017351265236664512, REL, "pf(3, 4, Inf)");
    relClose(pfUpper(0.7, 2, Infinity), 0.49658530379140953, REL, "pf(0.7, 2, Inf)");
  });

  it("edge values", () => {
    expect(pfUpper(0, 2, 5)).toBe(1);
    expect(pfUpper(-1, 2, 5)).toBe(1);
    expect(pfUpper(Infinity, 2, 5)).toBe(0);
    expect(pfUpper(1, 0, 5)).toBeNaN();
    expect(pfUpper(NaN, 2, 5)).toBeNaN();
  });
});

describe("pchisqUpper = pchisq(x, df, lower.tail = FALSE)", () => {
  // [x, df, R]
  const cases: [number, number, number][] = [
    [0.0639, 1, 0.80043475125966856],
    [3.84, 1, 0.050043521248705224],
    [100, 2, 1.9287498479639178e-22],
    [300, 3, 9.948758346327708e-65],
    [700, 1, 2.9902269751246203e-154],
    [1e-12, 1, 0.99999920211543925],
    [50, 40, 0.13357483408565046],
    [7.5, 0.5, 0.0020628347904533078],
    [120, 100.5, 0.089850103445034052],
    [0.001, 3, 0.99999159208094202],
  ];
  for (const [x, df, want] of cases) it(`pchisq(${x}, ${df})`, () => relClose(pchisqUpper(x, df), want, REL, `pchisqUpper(${x}, ${df})`));

  it("edge values", () => {
    expect(pchisqUpper(0, 2)).toBe(1);
    expect(pchisqUpper(-3, 2)).toBe(1);
    expect(pchisqUpper(Infinity, 2)).toBe(0);
    expect(pchisqUpper(1, -1)).toBeNaN();
  });
});

describe("qt = qt(p, df)", () => {
  // [p, df, R]
  const cases: [number, number, number][] = [
    [0.975, 17, 2.1098155778333165],
    [0.975, 41.9999998, 2.0180817031031504],
    [0.025, 3.5, -2.9400886379827296],
    [1e-10, 5, -156.82559270889428],
    [0.995, 1, 63.656741162871526],
    [0.9, 2.2, 1.8123849217763521],
    [0.975, 1e7, 1.9599642217672049],
    [0.75, 200, 0.67571841140422018],
  ];
  for (const [p, df, want] of cases) it(`qt(${p}, ${df})`, () => relClose(qt(p, df), want, REL, `qt(${p}, ${df})`));

  it("df = Inf is the normal quantile", () => {
    relClose(qt(0.975, Infinity), 1.9599639845400536, REL, "qt(0.975, Inf)");
    relClose(qt(0.001, Infinity), -3.0902323061678132, REL, "qt(0.001, Inf)");
  });

  it("edge values", () => {
    expect(qt(0.5, 7)).toBe(0);
    expect(qt(0, 7)).toBe(-Infinity);
    expect(qt(1, 7)).toBe(Infinity);
    expect(qt(1.5, 7)).toBeNaN();
    expect(qt(0.5, 0)).toBeNaN();
  });

  it("inverts ptUpper (lower tail p = P(T > −qt(p)) by symmetry)", () => {
    for (const df of [1.5, 4, 30.7]) for (const p of [1e-12, 0.01, 0.3]) relClose(ptUpper(-qt(p, df), df), p, 1e-9, `ptUpper(-qt(${p}, ${df}))`);
  });
});
