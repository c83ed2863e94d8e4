// lme4's post-fit checks: deriv12, the scaled gradient, the Hessian's eigenvalues.
import { describe, expect, it } from "vitest";
import { checkConvergence, deriv12, symmetricEigenvalues, SINGULAR_MESSAGE } from "../src/convergence.js";
import { lmer } from "../src/linearmixedmodel.js";
import { referenceTable } from "./helpers/reference.js";

describe("convergence checks", () => {
  it("deriv12 differentiates a quadratic exactly", () => {
    const f = (x: Float64Array) => 3 * x[0] ** 2 + 2 * x[0] * x[1] + x[1] ** 2 + x[0];
    const { gradient, hessian } = deriv12(f, [1, 2], f(Float64Array.from([1, 2])));
    expect(gradient[0]).toBeCloseTo(6 + 4 + 1, 6);
    expect(gradient[1]).toBeCloseTo(2 + 4, 6);
    expect(Array.from(hessian).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([6, 2, 2, 2]);
  });

  it("Jacobi eigenvalues", () => {
    const ev = symmetricEigenvalues(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3).sort((a, b) => a - b);
    expect(ev[0]).toBeCloseTo(1, 12);
    expect(ev[1]).toBeCloseTo(3, 12);
    expect(ev[2]).toBeCloseTo(5, 12);
  });

  it("a minimum passes; a point off the minimum fails with lme4's message", () => {
    const f = (x: Float64Array) => (x[0] - 1) ** 2 + 2 * (x[1] - 0.5) ** 2;
    expect(checkConvergence(f, Float64Array.from([1, 0.5]), 0, [0, -Infinity])).toEqual([]);
    const off = Float64Array.from([1.1, 0.5]);
    expect(checkConvergence(f, off, f(off), [0, -Infinity])).toEqual([
      "Model failed to converge with max|grad| = 0.141421 (tol = 0.002, component 1)",
    ]);
  });

  it("a negative-curvature point is a degenerate Hessian", () => {
    const f = (x: Float64Array) => x[0] ** 2 - x[1] ** 2;
    expect(checkConvergence(f, Float64Array.from([1, 1]), 0, [0, 0]).join("\n")).toMatch(/degenerate  Hessian with 1 negative eigenvalues/);
  });

  it("singular θ stops the checks with the boundary message", () => {
    const f = () => 0;
    expect(checkConvergence(f, Float64Array.from([0.5, 5e-5]), 0, [0, 0])).toEqual([SINGULAR_MESSAGE]);
  });

  it("a fit stopped early by maxfun says so", async () => {
    const m = await lmer("Reaction ~ Days + (Days | Subject)", referenceTable("data/sleepstudy.csv", "sleepstudy"), { maxfun: 8 });
    expect(m.warnings.join("\n")).toMatch(/convergence failure|failed to converge/);
    expect(m.summary()).toMatch(/convergence/);
  });
});
