import { describe, expect, it } from "vitest";
import { bobyqa, minimize, nelderMead, type OptimizerName, type OptimOptions, type OptimResult } from "../src/optim/index.js";

const I = Infinity;
type F = (x: Float64Array) => number;

interface Run {
  r: OptimResult;
  /** Every evaluation: the point (copied) followed by the value f returned. */
  calls: number[][];
  /** Evaluations at a point outside the box or not given as a Float64Array of the right length. */
  bad: number;
}

/** Minimises f, recording every evaluation and checking each point handed to f. */
function run(name: OptimizerName, f: F, x0: number[], lower: number[], upper: number[], opts?: OptimOptions): Run {
  const calls: number[][] = [];
  let bad = 0;
  const g = (x: Float64Array) => {
    if (!(x instanceof Float64Array) || x.length !== x0.length) bad++;
    for (let i = 0; i < x.length; i++) if (!(x[i] >= lower[i] && x[i] <= upper[i])) bad++;
    const v = f(x);
    calls.push([...x, v]);
    return v;
  };
  return { r: minimize(name, g, x0, lower, upper, opts), calls, bad };
}

/** What every run must satisfy: counts, bounds, and the result being the best point evaluated. */
function checkRun({ r, calls, bad }: Run, lower: number[], upper: number[]): void {
  expect(bad).toBe(0);
  expect(r.feval).toBe(calls.length);
  r.x.forEach((v, i) => {
    expect(v).toBeGreaterThanOrEqual(lower[i]);
    expect(v).toBeLessThanOrEqual(upper[i]);
  });
  const finite = calls.filter((c) => Number.isFinite(c[c.length - 1]));
  if (finite.length === 0) return;
  const best = finite.reduce((a, c) => (c[c.length - 1] < a[a.length - 1] ? c : a));
  expect(r.f).toBe(best[best.length - 1]);
  expect(Array.from(r.x)).toEqual(best.slice(0, -1));
}

const relErr = (f: number, ref: number) => (f - ref) / Math.abs(ref);

// ---- test functions -------------------------------------------------------------------------

const rosenbrock: F = (x) => {
  let s = 0;
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    s = s + 100 * (a * a) + b * b;
  }
  return s;
};

/** Deterministic N(0,1) stream: an LCG and Box-Muller. */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/**
 * ML profiled deviance (up to constants) of a random-intercept model without fixed effects:
 * sum_i log(1 + θ² w_i) + N log(S0 + sum_i r_i / (1 + θ² w_i)), with w_i the group sizes,
 * r_i = w_i ȳ_i² and S0 the within-group sum of squares (a term with w = 0).
 */
function randomInterceptDeviance(seed: number, sdGroup: number): F {
  const z = normals(seed);
  const w: number[] = [];
  const r: number[] = [];
  let s0 = 0;
  let nobs = 0;
  for (const m of [3, 5, 4, 6, 2, 7, 5, 4]) {
    const b = sdGroup * z();
    const ys = Array.from({ length: m }, () => b + z());
    const mean = ys.reduce((a, v) => a + v, 0) / m;
    w.push(m);
    r.push(m * mean * mean);
    s0 += ys.reduce((a, v) => a + (v - mean) ** 2, 0);
    nobs += m;
  }
  return (t) => {
    const t2 = t[0] * t[0];
    let logdet = 0;
    let q = s0;
    for (let i = 0; i < w.length; i++) {
      const d = 1 + t2 * w[i];
      logdet += Math.log(d);
      q += r[i] / d;
    }
    return logdet + nobs * Math.log(q);
  };
}

/**
 * ML profiled deviance of a random intercept-and-slope model (y_ij = b0_i + b1_i t_j + e_ij),
 * θ = (Λ11, Λ21, Λ22) of the lower-triangular relative covariance factor, lower bounds
 * [0, -Inf, 0] as in lme4: sum_i log det(I + Λ'Z_i'Z_iΛ) + N log(y'V⁻¹y).
 */
function slopeDeviance(seed: number): F {
  const z = normals(seed);
  const times = [0, 1, 2, 3, 4, 5, 6, 7];
  const groups: { a00: number; a01: number; a11: number; u0: number; u1: number; yy: number }[] = [];
  let nobs = 0;
  for (let i = 0; i < 12; i++) {
    const b0 = z();
    const b1 = 0.4 * z() + 0.3 * b0;
    const g = { a00: 0, a01: 0, a11: 0, u0: 0, u1: 0, yy: 0 };
    for (const t of times) {
      const y = b0 + b1 * t + 0.8 * z();
      g.a00 += 1;
      g.a01 += t;
      g.a11 += t * t;
      g.u0 += y;
      g.u1 += t * y;
      g.yy += y * y;
      nobs++;
    }
    groups.push(g);
  }
  return (th) => {
    const [l11, l21, l22] = [th[0], th[1], th[2]];
    let logdet = 0;
    let q = 0;
    for (const { a00, a01, a11, u0, u1, yy } of groups) {
      // M = I + Λ' A Λ, c = Λ' Z'y; y'V⁻¹y = y'y - c' M⁻¹ c.
      const p00 = a00 * l11 + a01 * l21;
      const p01 = a01 * l22;
      const p10 = a01 * l11 + a11 * l21;
      const p11 = a11 * l22;
      const m00 = 1 + l11 * p00 + l21 * p10;
      const m01 = l11 * p01 + l21 * p11;
      const m11 = 1 + l22 * p11;
      const det = m00 * m11 - m01 * m01;
      const c0 = l11 * u0 + l21 * u1;
      const c1 = l22 * u1;
      logdet += Math.log(det);
      q += yy - (m11 * c0 * c0 - 2 * m01 * c0 * c1 + m00 * c1 * c1) / det;
    }
    return logdet + nobs * Math.log(q);
  };
}

/** 1-D reference minimum on [lo, hi]: a fine grid, then golden section around the best node. */
function gridMin1(f: (t: number) => number, lo: number, hi: number, nodes = 200000): { t: number; f: number } {
  let bi = 0;
  let bf = Infinity;
  for (let i = 0; i <= nodes; i++) {
    const v = f(lo + ((hi - lo) * i) / nodes);
    if (v < bf) [bf, bi] = [v, i];
  }
  let a = lo + ((hi - lo) * Math.max(0, bi - 1)) / nodes;
  let b = lo + ((hi - lo) * Math.min(nodes, bi + 1)) / nodes;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let k = 0; k < 100; k++) {
    const c = b - g * (b - a);
    const d = a + g * (b - a);
    if (f(c) < f(d)) b = d;
    else a = c;
  }
  const t = bi === 0 && f(lo) <= f((a + b) / 2) ? lo : (a + b) / 2;
  return { t, f: f(t) };
}

/** 3-D reference minimum: a 21³ grid, zoomed around its best node level after level. */
function gridMin3(f: (x: number[]) => number, lo: number[], hi: number[]): { x: number[]; f: number } {
  const k = 21;
  let c = lo.map((l, i) => (l + hi[i]) / 2);
  let h = lo.map((l, i) => (hi[i] - l) / 2);
  let best = { x: c, f: f(c) };
  for (let level = 0; level < 25; level++) {
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++)
        for (let d = 0; d < k; d++) {
          const x = [a, b, d].map((j, i) => Math.max(c[i] - h[i] + (2 * h[i] * j) / (k - 1), lo[i]));
          const v = f(x);
          if (v < best.f) best = { x, f: v };
        }
    c = best.x;
    h = h.map((v) => (v * 4) / (k - 1));
  }
  return best;
}

// ---- the same problems for both optimisers --------------------------------------------------

/** Accuracy expected with default settings: BOBYQA tightly, lme4's Nelder-Mead (xt = 1e-5) loosely. */
const TOL: Record<OptimizerName, { x: number; frel: number }> = {
  bobyqa: { x: 1e-6, frel: 1e-8 },
  neldermead: { x: 1e-4, frel: 1e-6 },
};

describe.each<OptimizerName>(["bobyqa", "neldermead"])("%s", (name) => {
  const tol = TOL[name];

  it("minimises the 2-D Rosenbrock function with infinite bounds", () => {
    const lo = [-I, -I];
    const up = [I, I];
    const res = run(name, rosenbrock, [-1.2, 1], lo, up);
    checkRun(res, lo, up);
    expect(res.r.converged).toBe(true);
    expect(res.r.f).toBeLessThan(1e-10);
    res.r.x.forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(tol.x * 10));
  });

  it("minimises the 5-D Rosenbrock function with infinite bounds", () => {
    const lo = Array(5).fill(-I);
    const up = Array(5).fill(I);
    const res = run(name, rosenbrock, [0, 0, 0, 0, 0], lo, up);
    checkRun(res, lo, up);
    expect(res.r.converged).toBe(true);
    expect(res.r.f).toBeLessThan(1e-9);
    res.r.x.forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-4));
  });

  it("finds a minimum on the bounds exactly when the unconstrained one is outside the box", () => {
    const c = [3, -2, 0.5];
    const f: F = (x) => (x[0] - c[0]) ** 2 + (x[1] - c[1]) ** 2 + (x[2] - c[2]) ** 2;
    const lo = [0, 0, 0];
    const up = [1, 1, 1];
    const res = run(name, f, [0.5, 0.5, 0.5], lo, up);
    checkRun(res, lo, up);
    expect(res.r.converged).toBe(true);
    expect(res.r.x[0]).toBe(1); // active upper bound, exactly
    expect(res.r.x[1]).toBe(0); // active lower bound, exactly
    expect(Math.abs(res.r.x[2] - 0.5)).toBeLessThan(tol.x * 10);
    expect(relErr(res.r.f, 8)).toBeLessThan(tol.frel);
  });

  it("returns exactly the bound 0 for a 1-D problem whose minimum is there (singular variance)", () => {
    const res = run(name, (t) => (t[0] + 1) ** 2, [1], [0], [I]);
    checkRun(res, [0], [I]);
    expect(res.r.converged).toBe(true);
    expect(res.r.x[0]).toBe(0);
    expect(res.r.f).toBe(1);
  });

  it("minimises a 1-D problem with an interior minimum", () => {
    const res = run(name, (t) => (t[0] - 0.7) ** 2 + 3, [1], [0], [I]);
    checkRun(res, [0], [I]);
    expect(res.r.converged).toBe(true);
    expect(Math.abs(res.r.x[0] - 0.7)).toBeLessThan(tol.x);
    expect(relErr(res.r.f, 3)).toBeLessThan(tol.frel);
  });

  it("minimises the random-intercept profiled deviance (1-D) to the grid-search minimum", () => {
    const f = randomInterceptDeviance(7, 1.3);
    const ref = gridMin1((t) => f(Float64Array.of(t)), 0, 10);
    expect(ref.t).toBeGreaterThan(0.5); // an interior minimum
    const res = run(name, f, [1], [0], [I]);
    checkRun(res, [0], [I]);
    expect(res.r.converged).toBe(true);
    expect(relErr(res.r.f, ref.f)).toBeLessThanOrEqual(tol.frel);
    expect(relErr(res.r.f, ref.f)).toBeGreaterThan(-1e-12);
    expect(Math.abs(res.r.x[0] - ref.t)).toBeLessThan(name === "bobyqa" ? 1e-5 : 1e-3);
  });

  it("returns θ = 0 exactly when the random-intercept deviance is minimised at the bound", () => {
    const f = randomInterceptDeviance(3, 0);
    const ref = gridMin1((t) => f(Float64Array.of(t)), 0, 10);
    expect(ref.t).toBe(0); // this data set gives a singular fit
    const res = run(name, f, [1], [0], [I]);
    checkRun(res, [0], [I]);
    expect(res.r.x[0]).toBe(0);
    expect(res.r.f).toBe(ref.f);
  });

  it("minimises a 3-parameter slope-model deviance with lower bounds [0, -Inf, 0]", () => {
    const f = slopeDeviance(11);
    const lo = [0, -I, 0];
    const up = [I, I, I];
    const ref = gridMin3((x) => f(Float64Array.from(x)), [0, -3, 0], [4, 3, 4]);
    const res = run(name, f, [1, 0, 1], lo, up);
    checkRun(res, lo, up);
    expect(res.r.converged).toBe(true);
    expect(relErr(res.r.f, ref.f)).toBeLessThanOrEqual(tol.frel);
    expect(relErr(res.r.f, ref.f)).toBeGreaterThan(-1e-12);
    res.r.x.forEach((v, i) => expect(Math.abs(v - ref.x[i])).toBeLessThan(name === "bobyqa" ? 1e-5 : 1e-3));
  });

  it("survives NaN in part of the domain and still finds the minimum outside it", () => {
    const f: F = (x) => (x[0] < 0 ? NaN : (x[0] - 1) ** 2 + (x[1] - 2) ** 2);
    const res = run(name, f, [2, 0], [-I, -I], [I, I]);
    checkRun(res, [-I, -I], [I, I]);
    expect(Number.isFinite(res.r.f)).toBe(true);
    expect(Math.abs(res.r.x[0] - 1)).toBeLessThan(1e-4);
    expect(Math.abs(res.r.x[1] - 2)).toBeLessThan(1e-4);
  });

  it("stops with a finite answer when the minimum lies on the edge of a NaN or Infinity region", () => {
    const cases: [F, number[]][] = [
      [(x) => (x[0] < 0 ? NaN : (x[0] + 1) ** 2 + x[1] ** 2), [1, 1]],
      [(x) => (x[0] + x[1] > 1 ? Infinity : (x[0] - 1) ** 2 + (x[1] - 1) ** 2), [0, 0]],
      [(x) => -Math.log(x[0]) - Math.log(x[1]) - 2 * Math.log(1 - x[0] - x[1]), [0.2, 0.2]],
    ];
    for (const [f, x0] of cases) {
      const res = run(name, f, x0, [-I, -I], [I, I]);
      checkRun(res, [-I, -I], [I, I]);
      expect(Number.isFinite(res.r.f)).toBe(true);
      expect(res.r.f).toBeLessThanOrEqual(f(Float64Array.from(x0)));
      const nonFinite = res.calls.filter((c) => !Number.isFinite(c[2])).length;
      if (nonFinite > 0) expect(res.r.message).toContain(`f was not finite at ${nonFinite} of ${res.r.feval} points`);
    }
  });

  it("reports a non-finite value at the start without throwing", () => {
    const res = run(name, () => NaN, [1, 2], [0, 0], [5, 5]);
    expect(res.r.converged).toBe(false);
    expect(res.r.f).toBeNaN();
    expect(res.r.feval).toBe(1);
    expect(Array.from(res.r.x)).toEqual([1, 2]);
    expect(res.r.message).toMatch(/not finite at the starting point/);
  });

  it("is deterministic: the same input gives bit-identical evaluations and result", () => {
    const f = slopeDeviance(5);
    const a = run(name, f, [1, 0, 1], [0, -I, 0], [I, I, I]);
    const b = run(name, f, [1, 0, 1], [0, -I, 0], [I, I, I]);
    expect(b.calls).toEqual(a.calls); // toEqual distinguishes -0 and 0 and compares NaN
    expect(b.r).toEqual(a.r);
  });

  it("counts evaluations, reports each to onEval and respects maxfun", () => {
    const seen: number[][] = [];
    const res = run(name, rosenbrock, [-1.2, 1], [-I, -I], [I, I], {
      maxfun: 37,
      onEval: (x, v) => seen.push([...x, v]),
    });
    expect(res.r.feval).toBe(37);
    expect(seen).toEqual(res.calls);
    expect(res.r.converged).toBe(false);
    expect(res.r.message).toMatch(/maxfun/);
    checkRun(res, [-I, -I], [I, I]);
  });

  it("clamps a start outside the box and keeps a variable with equal bounds fixed", () => {
    const f: F = (x) => (x[0] - 2) ** 2 + (x[1] - 3) ** 2 + (x[2] + 1) ** 2;
    const lo = [0, 1.5, -5];
    const up = [1, 1.5, 5];
    const res = run(name, f, [7, 0, 0], lo, up);
    checkRun(res, lo, up);
    expect(res.calls[0].slice(0, 3)).toEqual([1, 1.5, 0]);
    expect(res.calls.every((c) => c[1] === 1.5)).toBe(true);
    expect(res.r.x[0]).toBe(1);
    expect(Math.abs(res.r.x[2] + 1)).toBeLessThan(1e-4);
  });

  it("evaluates the only feasible point when every variable is fixed", () => {
    const res = run(name, (x) => x[0] + x[1], [1, 2], [1, 2], [1, 2]);
    expect(res.r).toMatchObject({ f: 3, feval: 1, converged: true });
  });

  it("rejects inconsistent arguments", () => {
    expect(() => minimize(name, rosenbrock, [0, 0], [0], [1, 1])).toThrow(RangeError);
    expect(() => minimize(name, rosenbrock, [0, 0], [1, 0], [0, 1])).toThrow(RangeError);
    expect(() => minimize(name, rosenbrock, [NaN, 0], [0, 0], [1, 1])).toThrow(RangeError);
  });
});

// ---- against the reference implementations ------------------------------------------------

// Sequences recorded in R from nloptr 2.0.3 (NLopt 2.7.1, NLOPT_LN_BOBYQA, default initial step,
// xtol_rel = 1e-6, other tolerances 0) and lme4 1.1-31 (Nelder_Mead, default control), with the
// same floating-point expressions for f as below. nloptr's two extra evaluations at x0 before
// NLopt starts are left out.

const cubic1: F = (t) => {
  const a = t[0] - 0.7;
  return a * a + 3 + 0.1 * (t[0] * t[0] * t[0]);
};

const theta3: F = (t) => {
  const a = t[0] - 0.8;
  const b = t[1] + 0.3;
  const c = t[2] - 0.1;
  const d = t[1] * t[2];
  return a * a + 2 * (b * b) + c * c + 0.5 * t[0] * t[1] + 0.3 * (d * d) + t[0] * t[0] * (t[0] * t[0]);
};

describe("bobyqa reproduces NLopt's BOBYQA evaluation by evaluation", () => {
  it("1-D with lower bound 0 (n = 1, npt = 3)", () => {
    const nlopt = [
      [1.0, 3.19],
      [1.75, 4.6384375],
      [0.25, 3.2040625],
      [0.6322115384615385, 3.029864228864556],
      [0.7072115384615385, 3.0354230612656283],
      [0.6377350695485975, 3.029813990691071],
      [0.6302350695485975, 3.0298998456970434],
      [0.6387646772563975, 3.0298126611005443],
      [0.6395146772563974, 3.0298132830205606],
      [0.6386896772563975, 3.0298126726447885],
      [0.6388396772563976, 3.0298126629621307],
      [0.6387917624610371, 3.0298126602263418],
      [0.638784262461037, 3.029812660293374],
      [0.6387925124610371, 3.029812660227012],
      [0.6387910124610371, 3.0298126602270123],
      [0.6387917625852504, 3.0298126602263418],
    ];
    const res = run("bobyqa", cubic1, [1], [0], [I]);
    expect(res.calls).toEqual(nlopt);
    expect(res.r.x[0]).toBe(0.6387917624610371);
  });

  it("θ-like bounds [0, -Inf, 0], where NLopt rescales the variables (steps 0.75, 1, 0.75)", () => {
    const nloptStart = [
      [1.0, 0.0, 1.0, 2.0300000000000002],
      [1.75, 0.0, 1.0, 11.27140625],
      [1.0, 1.0, 1.0, 6.03],
      [1.0, 0.0, 1.75, 3.9425],
      [0.25, 0.0, 1.0, 1.29640625],
      [1.0, -1.0, 1.0, 2.63],
      [1.0, 0.0, 0.25, 1.2425],
      [0.5603305785123965, -0.3695652173913045, 0.09999999999999931, 0.06256784506821916],
      [0.6067241680913318, -0.28808054469051136, 0.44018661459751673, 0.2063061604380735],
      [0.4413636363636362, -0.406521739130435, 0.009999999999999232, 0.10765456887931929],
    ];
    const res = run("bobyqa", theta3, [1, 0, 1], [0, -I, 0], [I, I, I]);
    expect(res.calls.slice(0, 10)).toEqual(nloptStart);
    expect(res.r.feval).toBe(51);
    expect(Array.from(res.r.x)).toEqual([0.5533312101753072, -0.36865587610669326, 0.09608248623329012]);
    expect(res.r.f).toBe(0.062413491311351633);
  });

  it("a box with two active bounds", () => {
    const c = [3, -2, 0.5];
    const f: F = (x) => {
      let s = 0;
      for (let i = 0; i < 3; i++) s = s + (x[i] - c[i]) * (x[i] - c[i]);
      return s;
    };
    const res = run("bobyqa", f, [0.5, 0.5, 0.5], [0, 0, 0], [1, 1, 1]);
    expect(res.calls.slice(7, 10)).toEqual([
      [0.9172411829056124, 0.3141764634382084, 0.5, 9.693296994115787],
      [1.0, 0.0, 0.5, 8.0],
      [0.975, 0.0, 0.5, 8.100625],
    ]);
    expect(res.r.feval).toBe(28);
  });
});

describe("nelderMead reproduces lme4's Nelder_Mead", () => {
  it("θ-like bounds [0, -Inf, 0] with lme4's defaults", () => {
    const lme4Start = [
      [1.0, 0.0, 1.0, 2.0300000000000002],
      [1.02, 0.0, 1.0, 2.12083216],
      [1.0, 0.02, 1.0, 2.06492],
      [1.0, 0.0, 1.02, 2.0664],
      [0.9799999999999998, 0.013333333333333334, 1.0133333333333332, 1.9918895917037025],
      [0.9599999999999996, 0.02, 1.0199999999999998, 1.9358714079999984],
      [0.9733333333333329, 0.02666666666666667, 0.9933333333333327, 1.9522240410864171],
      [0.955555555555555, 0.011111111111111106, 1.008888888888888, 1.8829299404359054],
    ];
    const res = run("neldermead", theta3, [1, 0, 1], [0, -I, 0], [I, I, I]);
    expect(res.calls.slice(0, 8)).toEqual(lme4Start);
    expect(res.r.feval).toBe(163);
    expect(Array.from(res.r.x)).toEqual([0.5449000735735184, -0.3862875088674003, 0.18343259176462545]);
    expect(res.r.f).toBe(0.07134940171035653);
  });

  it("1-D with lower bound 0", () => {
    const res = run("neldermead", cubic1, [1], [0], [I]);
    expect(res.calls.slice(0, 8)).toEqual([
      [1.0, 3.19],
      [1.02, 3.2085208],
      [0.98, 3.1725192],
      [0.96, 3.1560736],
      [0.9199999999999999, 3.1262688],
      [0.8799999999999999, 3.1005472],
      [0.7999999999999998, 3.0612],
      [0.7199999999999998, 3.0377248],
    ]);
    expect(res.r.feval).toBe(40);
    expect(res.r.x[0]).toBe(0.6387890624999997);
  });
});

// ---- options --------------------------------------------------------------------------------

describe("options", () => {
  it("bobyqa accepts npt from n+2 to (n+1)(n+2)/2 and rejects others", () => {
    for (const npt of [6, 9, 15]) {
      const r = bobyqa(rosenbrock, [0, 0, 0, 0], Array(4).fill(-I), Array(4).fill(I), { npt, rhoend: 1e-9 });
      expect(r.converged).toBe(true);
      expect(r.f).toBeLessThan(1e-10);
    }
    expect(() => bobyqa(rosenbrock, [0, 0], [-I, -I], [I, I], { npt: 3 })).toThrow(RangeError);
    expect(() => bobyqa(rosenbrock, [0, 0], [-I, -I], [I, I], { npt: 7 })).toThrow(RangeError);
  });

  it("bobyqa shrinks rhobeg to fit a narrow box (Powell needs upper - lower >= 2 rhobeg)", () => {
    const res = run("bobyqa", (x) => (x[0] - 0.3) ** 2 + (x[1] - 5) ** 2, [0.25, 0], [0.2, -I], [0.4, I], { rhobeg: 1 });
    checkRun(res, [0.2, -I], [0.4, I]);
    expect(res.r.converged).toBe(true);
    expect(Math.abs(res.r.x[0] - 0.3)).toBeLessThan(1e-6);
  });

  it("ftolAbs stops bobyqa early, and a larger rhoend too", () => {
    const lo = [-I, -I];
    const up = [I, I];
    const full = bobyqa(rosenbrock, [-1.2, 1], lo, up);
    const ftol = bobyqa(rosenbrock, [-1.2, 1], lo, up, { ftolAbs: 1e-3 });
    const coarse = bobyqa(rosenbrock, [-1.2, 1], lo, up, { rhoend: 1e-2 });
    expect(ftol.converged).toBe(true);
    expect(ftol.message).toMatch(/ftol/);
    expect(ftol.feval).toBeLessThan(full.feval);
    expect(coarse.feval).toBeLessThan(full.feval);
  });

  it("ftolAbs stops nelderMead on the spread of the simplex's values", () => {
    const lo = [-I, -I];
    const up = [I, I];
    const full = nelderMead(rosenbrock, [-1.2, 1], lo, up);
    const ftol = nelderMead(rosenbrock, [-1.2, 1], lo, up, { ftolAbs: 1e-4 });
    expect(ftol.converged).toBe(true);
    expect(ftol.message).toMatch(/spread of f/);
    expect(ftol.feval).toBeLessThan(full.feval);
  });

  it("minimize rejects an unknown optimizer name", () => {
    expect(() => minimize("lbfgs" as OptimizerName, rosenbrock, [0, 0], [-I, -I], [I, I])).toThrow(/unknown optimizer/);
  });
});
