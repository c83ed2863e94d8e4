// fitMany with a GLMM family (binomial, Poisson, negative binomial): every response's result is the
// single glmer() / glmerNB() fit of that response (complete, or on its own rows when it has missing
// values), the same for 1 and 2 threads (the workers get the family in the spec), and `lmm many
// --family poisson` writes those results.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fitMany, registerManyWorkers, type FitManyOptions } from "../src/fitmany.js";
import { nodeWorkers } from "../src/fitmany-node.js";
import { GeneralizedLinearMixedModel, glmer, type GlmerOptions } from "../src/generalizedlinearmixedmodel.js";
import type { ManyResults } from "../src/manyresults.js";
import { glmerNB } from "../src/negativebinomial.js";
import { Rng } from "../src/random.js";
import type { DenseResponses } from "../src/responses.js";
import { runCli } from "./helpers/cli.js";

registerManyWorkers(nodeWorkers);

/** Poisson deviate by multiplying uniforms (Knuth): exact, fine for the small means used here. */
function rpois(rng: Rng, mu: number): number {
  const limit = Math.exp(-mu);
  let k = 0, prod = rng.uniform();
  while (prod > limit) {
    k++;
    prod *= rng.uniform();
  }
  return k;
}

/** Gamma(shape ≥ 1, scale 1) deviate (Marsaglia and Tsang 2000). */
function rgamma(rng: Rng, shape: number): number {
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    if (Math.log(rng.uniformOpen()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

type Kind = "poisson" | "binomial" | "nb";

/**
 * 8 donors (4 control, 4 case) × `cells` cells with a log library size; `genes` responses: counts
 * (Poisson, or negative binomial with shape 2) with donor effects of varying size (none for every
 * fifth gene: singular fits), or 0/1 detections on the logit scale.
 */
function simulate(seed: number, genes: number, kind: Kind, cells = 30) {
  const rng = new Rng(seed);
  const cell: string[] = [], donor: string[] = [], condition: string[] = [], loglib: number[] = [];
  for (let d = 0; d < 8; d++) {
    for (let c = 0; c < cells; c++) {
      cell.push(`c${d}_${c}`);
      donor.push(`D${d + 1}`);
      condition.push(d < 4 ? "control" : "case");
      loglib.push(Math.log(2000) + 0.3 * rng.normal());
    }
  }
  const n = cell.length;
  const values = new Float64Array(genes * n);
  for (let g = 0; g < genes; g++) {
    const sd = g % 5 === 0 ? 0 : 0.15 + 0.1 * (g % 4);
    const effect = g % 3 === 0 ? 0.6 : 0;
    const base = kind === "binomial" ? -0.5 + 0.2 * (g % 4) : -7 + 0.4 * (g % 6);
    const u = Array.from({ length: 8 }, () => sd * rng.normal());
    for (let i = 0; i < n; i++) {
      const d = Math.floor(i / cells);
      const eta = base + (d < 4 ? 0 : effect) + u[d];
      if (kind === "binomial") values[g * n + i] = rng.uniform() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
      else {
        const mu = Math.exp(eta + loglib[i]);
        values[g * n + i] = rpois(rng, kind === "nb" ? (mu * rgamma(rng, 2)) / 2 : mu);
      }
    }
  }
  const Y: DenseResponses = {
    kind: "dense",
    layout: "responses-by-obs",
    nResponses: genes,
    nObs: n,
    values,
    responseNames: Array.from({ length: genes }, (_, g) => `gene${g + 1}`),
    obsIds: cell,
  };
  return { design: { cell, donor, condition, loglib }, Y, n };
}

function rel(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

/**
 * Every result of response r against the single fit m of that response, to 1e-8 relative: estimates,
 * SEs, z, p (2Φ(−|z|)), df Infinity, θ, σ, −2 log L, nobs, flags, evaluations, warnings, NB θ.
 */
function expectSingleFit(res: ManyResults, r: number, m: GeneralizedLinearMixedModel): void {
  expect(res.errors[r]).toBeNull();
  const J = res.terms.length;
  const fe = m.fixef(), se = m.se(), z = m.zValues(), p = m.pValues();
  expect(Object.keys(fe)).toEqual(res.terms);
  res.terms.forEach((t, j) => {
    expect(rel(res.estimate[r * J + j], fe[t])).toBeLessThan(1e-8);
    expect(rel(res.stdError[r * J + j], se[t])).toBeLessThan(1e-8);
    expect(rel(res.statistic[r * J + j], z[t])).toBeLessThan(1e-8);
    expect(rel(res.pValue[r * J + j], p[t])).toBeLessThan(1e-8);
    expect(res.df[r * J + j]).toBe(Infinity);
  });
  const T = res.thetaNames.length;
  expect(m.thetaNames()).toEqual(res.thetaNames);
  m.theta.forEach((v, t) => expect(Math.abs(res.theta[r * T + t] - v)).toBeLessThanOrEqual(1e-8 * Math.max(Math.abs(v), 1e-300)));
  expect(res.sigma[r]).toBe(1);
  expect(rel(res.objective[r], m.objectiveAtOptimum)).toBeLessThan(1e-8);
  expect(res.nobs[r]).toBe(m.n);
  expect(res.singular[r]).toBe(m.isSingular() ? 1 : 0);
  expect(res.converged[r]).toBe(m.convergenceWarnings.every((w) => w.startsWith("boundary (singular) fit")) ? 1 : 0);
  expect(res.evaluations[r]).toBe(m.feval);
  expect(res.messages[r]).toEqual(m.warnings);
  if (m.glmerNBTheta !== undefined) expect(rel(res.nbTheta[r], m.glmerNBTheta)).toBeLessThan(1e-8);
  else expect(res.nbTheta[r]).toBeNaN();
}

const rhs = "condition + (1 | donor) + offset(loglib)";

describe("fitMany with a GLMM family equals single glmer() / glmerNB() fits", () => {
  it("30 Poisson responses (with a log library-size offset), one by one against glmer()", async () => {
    const { design, Y, n } = simulate(11, 30, "poisson");
    const res = await fitMany(`~ ${rhs}`, design, Y, { family: "poisson", threads: 1 });
    expect(res.terms).toEqual(["(Intercept)", "conditioncontrol"]);
    expect(res.thetaNames).toEqual(["donor.(Intercept)"]);
    expect(res.info).toMatchObject({ family: "poisson", link: "log", nAGQ: 1, REML: false });
    expect(res.components).toEqual([]); // no variance fractions for GLMMs
    let singular = 0;
    for (let r = 0; r < 30; r++) {
      const m = await glmer(`y ~ ${rhs}`, { ...design, y: Y.values.subarray(r * n, (r + 1) * n) }, { family: "poisson" });
      expectSingleFit(res, r, m);
      singular += m.isSingular() ? 1 : 0;
    }
    expect(singular).toBeGreaterThan(0); // the singular path is exercised
    expect(res.counts().singular).toBe(singular);
    const rows = res.responseRows();
    expect(Object.keys(rows[0])).toEqual(["response", "nobs", "sigma", "objective", "singular", "converged", "evaluations", "theta_donor.(Intercept)", "warnings", "error"]);
  });

  it("binomial 0/1 responses, with the default logit link and with probit and nAGQ = 5", async () => {
    const { design, Y, n } = simulate(5, 6, "binomial");
    const logit = await fitMany("~ condition + (1 | donor)", design, Y, { family: "binomial", threads: 1 });
    const probit = await fitMany("~ condition + (1 | donor)", design, Y, { family: "binomial", link: "probit", nAGQ: 5, threads: 1 });
    expect(probit.info).toMatchObject({ family: "binomial", link: "probit", nAGQ: 5 });
    for (let r = 0; r < 6; r++) {
      const data = { ...design, y: Y.values.subarray(r * n, (r + 1) * n) };
      expectSingleFit(logit, r, await glmer("y ~ condition + (1 | donor)", data, { family: "binomial" }));
      expectSingleFit(probit, r, await glmer("y ~ condition + (1 | donor)", data, { family: "binomial", link: "probit", nAGQ: 5 }));
    }
    expect(probit.estimate).not.toEqual(logit.estimate);
  });

  it("negative binomial responses against glmerNB(), θ included", async () => {
    const { design, Y, n } = simulate(7, 4, "nb");
    const res = await fitMany(`~ ${rhs}`, design, Y, { family: "nb", threads: 1 });
    expect(res.info.family).toBe("nb");
    for (let r = 0; r < 4; r++) {
      const m = await glmerNB(`y ~ ${rhs}`, { ...design, y: Y.values.subarray(r * n, (r + 1) * n) });
      expectSingleFit(res, r, m);
      expect(res.nbTheta[r]).toBeGreaterThan(0.5); // simulated with shape 2
      expect(res.nbTheta[r]).toBeLessThan(8);
    }
    expect(Object.keys(res.responseRows()[0])).toContain("nb_theta");
  });

  it("responses with missing values are fitted on their own rows (the single fit of that subset)", async () => {
    const { design, Y, n } = simulate(13, 5, "poisson");
    const values = Float64Array.from(Y.values);
    values[0 * n + 5] = NaN; // one cell
    for (let i = 0; i < 30; i++) values[1 * n + 60 + i] = NaN; // a whole donor (D3)
    values[3 * n + 5] = NaN; // the same pattern as response 0 (its subset design is reused)
    values[4 * n + 100] = NaN;
    values[4 * n + 201] = NaN;
    const res = await fitMany(`~ ${rhs}`, design, { ...Y, values }, { family: "poisson", threads: 1 });
    for (let r = 0; r < 5; r++) {
      const y = values.subarray(r * n, (r + 1) * n);
      const keep = Array.from({ length: n }, (_, i) => i).filter((i) => Number.isFinite(y[i]));
      const subset = Object.fromEntries(Object.entries({ ...design, y }).map(([k, v]) => [k, keep.map((i) => (v as ArrayLike<unknown>)[i])]));
      expectSingleFit(res, r, await glmer(`y ~ ${rhs}`, subset, { family: "poisson" }));
    }
    expect(Array.from(res.nobs)).toEqual([n - 1, n - 30, n, n - 1, n - 2]);
  });

  it("a response that cannot be fitted is reported in its row, with the single fit's error; the others are fitted", async () => {
    const { design, Y, n } = simulate(17, 4, "poisson");
    const values = Float64Array.from(Y.values);
    values.fill(0, 0, n); // an all-zero gene
    values.fill(0, 2 * n, 3 * n);
    values[2 * n + 7] = 2.5; // not a count
    const res = await fitMany(`~ ${rhs}`, design, { ...Y, values }, { family: "poisson", threads: 1 });
    expect(res.errors[0]).toBe("the response is constant (0 in every row): there is nothing to model");
    expect(res.errors[2]).toMatch(/^the poisson family needs integer counts: is 2.5 in row 8/);
    for (const r of [0, 2]) {
      expect(res.estimate[2 * r]).toBeNaN();
      expect(res.df[2 * r]).toBeNaN();
      expect(res.objective[r]).toBeNaN();
    }
    await expect(glmer(`y ~ ${rhs}`, { ...design, y: values.subarray(0, n) }, { family: "poisson" })).rejects.toThrow(/the response 'y' is constant/);
    expectSingleFit(res, 1, await glmer(`y ~ ${rhs}`, { ...design, y: values.subarray(n, 2 * n) }, { family: "poisson" }));
    expect(res.counts()).toMatchObject({ responses: 4, fitted: 2, failed: 2 });
    // the same for glmerNB: its Poisson start fails on the all-zero gene
    const nb = await fitMany(`~ ${rhs}`, design, { ...Y, nResponses: 2, values: values.subarray(0, 2 * n), responseNames: ["zero", "ok"] }, { family: "nb", threads: 1 });
    expect(nb.errors[0]).toBe("the response is constant (0 in every row): there is nothing to model");
    expect(nb.nbTheta[0]).toBeNaN();
    expect(nb.errors[1]).toBeNull();
  });

  it("binomial proportions with the number of trials as weights (a design column)", async () => {
    const { design, Y, n } = simulate(31, 3, "binomial");
    const rng = new Rng(2);
    const trials = Array.from({ length: n }, () => 1 + Math.floor(4 * rng.uniform()));
    // successes out of each row's trials, from the simulated 0/1 response's probability pattern
    const values = Float64Array.from(Y.values, (v, k) => Math.min(trials[k % n], Math.round(v * trials[k % n] * rng.uniform() + v)) / trials[k % n]);
    const res = await fitMany("~ condition + (1 | donor)", { ...design, trials }, { ...Y, values }, { family: "binomial", weights: "trials", threads: 1 });
    for (let r = 0; r < 3; r++) {
      const data = { ...design, trials, y: values.subarray(r * n, (r + 1) * n) };
      expectSingleFit(res, r, await glmer("y ~ condition + (1 | donor)", data, { family: "binomial", weights: "trials" }));
    }
    await expect(fitMany("~ condition + (1 | donor)", { ...design, trials: trials.map((t, i) => (i === 4 ? -1 : t)) }, { ...Y, values }, { family: "binomial", weights: "trials" })).rejects.toThrow(
      /weights must be non-negative: row 5 has weight -1/,
    );
  });

  it("a binomial response outside [0, 1] is that response's error", async () => {
    const { design, Y, n } = simulate(5, 2, "binomial");
    const values = Float64Array.from(Y.values);
    values[n + 3] = 2;
    const res = await fitMany("~ condition + (1 | donor)", design, { ...Y, values }, { family: "binomial", threads: 1 });
    expect(res.errors[0]).toBeNull();
    expect(res.errors[1]).toMatch(/^binomial response must be 0\/1 or a proportion in \[0, 1\]: it is 2 in row 4/);
  });
});

describe("GeneralizedLinearMixedModel.design / fitResponse", () => {
  it("is glmer() of the same data, and leaves the caller's data unchanged", async () => {
    const { design, Y, n } = simulate(19, 2, "poisson");
    const { loadKernels } = await import("../src/engine.js");
    const kernels = await loadKernels();
    const y0 = Y.values.subarray(0, n), y1 = Y.values.subarray(n, 2 * n);
    const copy = Float64Array.from(y1);
    const d = GeneralizedLinearMixedModel.design(kernels, `y ~ ${rhs}`, { ...design, y: y0 }, { family: "poisson" });
    const a = d.fitResponse(y1);
    const single = await glmer(`y ~ ${rhs}`, { ...design, y: y1 }, { family: "poisson" });
    expect(a.fixef()).toEqual(single.fixef());
    expect(a.theta).toEqual(single.theta);
    expect(a.objectiveAtOptimum).toBe(single.objectiveAtOptimum);
    expect(a.vcov()).toEqual(single.vcov());
    expect(y1).toEqual(copy);
    // a fitted model's fitResponse is the design's too (lme4's refit(newresp)), and it stays usable
    const b = single.fitResponse(y0);
    const other = await glmer(`y ~ ${rhs}`, { ...design, y: y0 }, { family: "poisson" });
    expect(b.fixef()).toEqual(other.fixef());
    expect(single.ranef()).toEqual((await glmer(`y ~ ${rhs}`, { ...design, y: y1 }, { family: "poisson" })).ranef());
    expect(() => d.fitResponse(y1.subarray(1))).toThrow(/the response has 239 values but the model has 240 observations/);
    expect(() => d.fitResponse(Float64Array.from(y1, (v, i) => (i === 3 ? NaN : v)))).toThrow(/the response\[3\] is NaN/);
  });

  it("refuses a cbind(successes, failures) design: fitResponse takes one value per row", async () => {
    const { loadKernels } = await import("../src/engine.js");
    const data = { s: [1, 2, 0, 3, 1, 2], f: [2, 1, 3, 0, 2, 1], g: ["a", "a", "b", "b", "c", "c"] };
    const d = GeneralizedLinearMixedModel.design(await loadKernels(), "cbind(s, f) ~ 1 + (1 | g)", data, { family: "binomial" } as GlmerOptions);
    expect(() => d.fitResponse([0.5, 0.5, 0, 1, 0.5, 0.5])).toThrow(/cbind\(successes, failures\): fitResponse takes one value per row/);
  });
});

describe("threads", () => {
  const same = (one: ManyResults, two: ManyResults) => {
    for (const k of ["estimate", "stdError", "df", "statistic", "pValue", "pAdjusted", "sigma", "objective", "theta", "nbTheta", "singular", "converged", "nobs", "evaluations"] as const) {
      expect(two[k]).toEqual(one[k]);
    }
    expect(two.messages).toEqual(one.messages);
    expect(two.errors).toEqual(one.errors);
  };

  it("Poisson results are identical with 1 and 2 threads (every chunk in a worker)", async () => {
    const { design, Y } = simulate(3, 12, "poisson");
    const o: FitManyOptions = { family: "poisson", chunkSize: 4 };
    const one = await fitMany(`~ ${rhs}`, design, Y, { ...o, threads: 1 });
    const two = await fitMany(`~ ${rhs}`, design, Y, { ...o, threads: 2, mainThread: false });
    expect(two.info.threads).toBe(2);
    expect(two.info.workerChunks).toBe(3);
    expect(one.info.workerChunks).toBe(0);
    same(one, two);
  });

  it("negative binomial and binomial (probit) results are identical with 1 and 2 threads", async () => {
    const nb = simulate(7, 3, "nb");
    const o1: FitManyOptions = { family: "nb", chunkSize: 2 };
    const one = await fitMany(`~ ${rhs}`, nb.design, nb.Y, { ...o1, threads: 1 });
    const two = await fitMany(`~ ${rhs}`, nb.design, nb.Y, { ...o1, threads: 2, mainThread: false });
    expect(two.info.workerChunks).toBe(2);
    same(one, two);
    const bin = simulate(5, 4, "binomial");
    const o2: FitManyOptions = { family: "binomial", link: "probit", chunkSize: 2 };
    const b1 = await fitMany("~ condition + (1 | donor)", bin.design, bin.Y, { ...o2, threads: 1 });
    const b2 = await fitMany("~ condition + (1 | donor)", bin.design, bin.Y, { ...o2, threads: 2, mainThread: false });
    expect(b2.info.workerChunks).toBe(2);
    same(b1, b2);
  });
});

describe("warm starts", () => {
  it("start each response at the previous θ̂ of its chunk: the same for any thread count, the cold fits' optimum", async () => {
    const { design, Y } = simulate(29, 8, "poisson");
    const o: FitManyOptions = { family: "poisson", chunkSize: 4, warmStart: true };
    const one = await fitMany(`~ ${rhs}`, design, Y, { ...o, threads: 1 });
    const two = await fitMany(`~ ${rhs}`, design, Y, { ...o, threads: 2, mainThread: false });
    expect(two.info.workerChunks).toBe(2);
    expect(two.theta).toEqual(one.theta);
    expect(two.pValue).toEqual(one.pValue);
    const cold = await fitMany(`~ ${rhs}`, design, Y, { family: "poisson", chunkSize: 4, threads: 1 });
    expect(one.theta).not.toEqual(cold.theta); // the starts did change the path
    for (let r = 0; r < 8; r++) expect(Math.abs(one.objective[r] - cold.objective[r])).toBeLessThan(1e-6 * Math.abs(cold.objective[r]));
  });
});

describe("errors", () => {
  const { design, Y } = simulate(1, 2, "poisson");
  const f = "~ condition + (1 | donor)";

  it("options that do not fit the family are refused by name", async () => {
    await expect(fitMany(f, design, Y, { family: "poisson", REML: true })).rejects.toThrow(/REML is for linear mixed models: the poisson family is fitted by maximum likelihood/);
    await expect(fitMany(f, design, Y, { family: "poisson", ddf: "Satterthwaite" })).rejects.toThrow(/ddf is for linear mixed models: the poisson family's tests are Wald z tests/);
    await expect(fitMany(f, design, Y, { family: "poisson", link: "logit" })).rejects.toThrow(/link 'logit' is not available for the poisson family: use log/);
    await expect(fitMany(f, design, Y, { family: "gamma" as never })).rejects.toThrow(/unknown family 'gamma' for fitMany: use "gaussian", "binomial", "poisson", "nb"/);
    await expect(fitMany(f, design, Y, { link: "log" })).rejects.toThrow(/link is for generalized models/);
    await expect(fitMany(f, design, Y, { family: "binomial", nAGQ: 30 })).rejects.toThrow(/nAGQ must be an integer from 0 to 25, got 30/);
    await expect(fitMany("~ condition + (1 | donor) + (1 | condition)", design, Y, { family: "poisson", nAGQ: 3 })).rejects.toThrow(/nAGQ > 1 is only available for models with a single, scalar random-effects term/);
  });
});

describe("lmm many --family", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lmm-many-glmm-"));
  const file = (name: string) => path.join(dir, name);
  const { design, Y, n } = simulate(23, 8, "poisson", 15);
  const values = Float64Array.from(Y.values);
  values.fill(0, 7 * n, 8 * n); // gene8 never detected
  const genes = Y.responseNames!;
  fs.writeFileSync(file("counts.csv"), [["gene", ...design.cell].join(","), ...genes.map((g, r) => [g, ...values.subarray(r * n, (r + 1) * n)].join(","))].join("\n") + "\n");
  // metadata in reverse order
  fs.writeFileSync(file("meta.csv"), ["cell,donor,condition", ...design.cell.map((_, i) => n - 1 - i).map((i) => `${design.cell[i]},${design.donor[i]},${design.condition[i]}`)].join("\n") + "\n");
  const readCsv = (p: string) => {
    const [head, ...lines] = fs.readFileSync(p, "utf8").trim().split("\n");
    const names = head.split(",");
    return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [names[i], v])));
  };

  it("--family poisson --offset-library-size: fitMany's results with offset(log library size), an error row for the all-zero gene", async () => {
    const r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", "~ condition + (1 | donor)", "--family", "poisson", "--offset-library-size", "-o", file("pois.csv"), "--threads", "2", "--chunk-size", "3"]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Poisson GLMM: 8 responses \(7 fitted, 1 failed\) in .* s on 2 threads/);
    // the library size of a cell is its total count over every gene of the matrix
    const lib = Array.from({ length: n }, (_, i) => genes.reduce((s, _, g) => s + values[g * n + i], 0));
    const lib2 = await fitMany("~ condition + (1 | donor) + offset(ll)", { ...design, ll: lib.map(Math.log) }, { ...Y, values }, { family: "poisson", threads: 1 });
    const rows = readCsv(file("pois.csv"));
    expect(rows.length).toBe(16);
    lib2.rows().forEach((x, k) => {
      expect(rows[k].response).toBe(x.response);
      expect(rows[k].term).toBe(x.term);
      for (const c of ["estimate", "std_error", "statistic", "p_value", "p_adjusted"] as const) {
        if (Number.isNaN(x[c])) expect(rows[k][c]).toBe("NA");
        else expect(Number(rows[k][c])).toBe(x[c]);
      }
      expect(rows[k].df).toBe(x.response === "gene8" ? "NA" : "Inf");
    });
    const per = readCsv(file("pois.responses.csv"));
    expect(Object.keys(per[0])).toEqual(["response", "nobs", "sigma", "objective", "singular", "converged", "evaluations", "theta_donor.(Intercept)", "warnings", "error"]);
    expect(per[7].error).toBe("the response is constant (0 in every row): there is nothing to model");
    per.slice(0, 7).forEach((row, g) => expect(Number(row.objective)).toBe(lib2.objective[g]));
  });

  it("--family nb writes each response's θ; JSON output names the family", async () => {
    const r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", "~ condition + (1 | donor)", "--family", "nb", "--genes", "gene2,gene3", "-o", file("nb.json"), "--threads", "1"]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/negative binomial GLMM: 2 responses/);
    const j = JSON.parse(fs.readFileSync(file("nb.json"), "utf8"));
    expect(j.info).toMatchObject({ family: "nb", link: "log", nAGQ: 1, REML: false });
    expect(j.rows[0].df).toBeNull(); // JSON has no Infinity
    const per = JSON.parse(fs.readFileSync(file("nb.responses.json"), "utf8")).rows;
    const want = await fitMany("~ condition + (1 | donor)", design, { ...Y, nResponses: 2, values: values.subarray(n, 3 * n), responseNames: ["gene2", "gene3"] }, { family: "nb", threads: 1 });
    per.forEach((row: { nb_theta: number }, g: number) => expect(row.nb_theta).toBe(want.nbTheta[g]));
  });

  it("flags that contradict the family are errors", async () => {
    const base = ["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", "~ condition + (1 | donor)", "-o", file("x.csv")];
    const a = await runCli([...base, "--family", "poisson", "--normalize"]);
    expect(a.code).toBe(1);
    expect(a.err).toMatch(/--normalize log-transforms the counts, but the poisson family models the counts themselves/);
    const b = await runCli([...base, "--link", "log"]);
    expect(b.err).toMatch(/--link is for generalized models: give --family binomial, poisson or nb/);
    const c = await runCli([...base, "--family", "poisson", "--ml"]);
    expect(c.err).toMatch(/--ml is for linear models/);
    const d = await runCli([...base, "--family", "binomial", "--offset-library-size"]);
    expect(d.err).toMatch(/--offset-library-size is for count families/);
    const e = await runCli([...base, "--family", "gamma"]);
    expect(e.err).toMatch(/unknown family 'gamma': use gaussian, binomial, poisson, nb/);
  });
});
