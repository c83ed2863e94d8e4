// The `lmm` command: `lmm fit data.csv --formula F [--ml] [--levels L] [--json]`.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCli } from "./helpers/cli.js";
import { referenceDir } from "./helpers/reference.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const data = (f: string) => path.join(referenceDir, "data", f);

const run = runCli;

afterEach(() => vi.restoreAllMocks());

describe("lmm fit", () => {
  it("--json has the reference fits' field names and lme4's numbers", async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(referenceDir, "fits/penicillin-reml.json"), "utf8"));
    const r = await run(["fit", data("Penicillin.csv"), "--formula", ref.formula, "--levels", data("Penicillin.levels.json"), "--json"]);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out);
    for (const k of ["fixef", "se", "vcov", "theta", "theta_names", "sigma", "varcorr", "VarCorr", "objective", "logLik", "AIC", "BIC", "ranef", "ngrps", "nobs", "warnings"]) {
      expect(got, k).toHaveProperty(k);
    }
    expect(got.theta_names).toEqual(ref.theta_names);
    expect(Math.abs(got.objective - ref.objective) / ref.objective).toBeLessThan(1e-6);
    expect(Math.abs(got.fixef["(Intercept)"] - ref.fixef["(Intercept)"]) / ref.fixef["(Intercept)"]).toBeLessThan(1e-4);
  });

  it("--ml fits maximum likelihood and prints the lmerTest summary", async () => {
    const r = await run(["fit", data("sleepstudy.csv"), "--formula", "Reaction ~ Days + (Days | Subject)", "--ml", "--levels", data("sleepstudy.levels.json")]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Linear mixed model fit by maximum likelihood . t-tests use Satterthwaite's\n  method [lmerModLmerTest]");
    expect(r.out).toMatch(/Days +10\.467 +1\.502 +18\.000 +6\.968 +1\.65e-06 \*\*\*/);
    expect(r.out).toMatch(/ 1763\.9 +1783\.1 +-876\.0 +1751\.9 +174/);
    expect(r.out).toContain("Number of obs: 180, groups:  Subject, 18");
  });

  it("errors go to stderr with status 1: formula position, missing file, bad levels", async () => {
    const bad = await run(["fit", data("sleepstudy.csv"), "--formula", "Reaction ~ Days + (Days | Subject"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/lmm: error: unbalanced parentheses: '\(' at position 18/);
    const missing = await run(["fit", "no-such.csv", "--formula", "y ~ x + (1|g)"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read .no-such\.csv.: no such file/);
    const levels = await run(["fit", data("sleepstudy.csv"), "--formula", "Reaction ~ Days + (1|Subject)", "--levels", data("sleepstudy.csv")]);
    expect(levels.code).toBe(1);
    expect(levels.err).toMatch(/sleepstudy\.csv is not JSON/);
  });

  it("the installed command (bin/lmm.js) runs the bundle", async () => {
    expect(fs.existsSync(path.join(root, "dist/node/cli.js")), "run `npm run build` first").toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [
      path.join(root, "bin/lmm.js"), "fit", path.join(root, "examples/sleepstudy.csv"),
      "--formula", "Reaction ~ Days + (Days | Subject)", "--levels", path.join(root, "examples/sleepstudy.levels.json"),
    ]);
    expect(stdout).toContain("REML criterion at convergence: 1743.6");
    expect(stdout).toContain("Days          10.467      1.546  17.000   6.771 3.26e-06 ***");
  });
});

describe("lmm fit --tidy / --glance", () => {
  it("writes broom.mixed's tables as CSV", async () => {
    const dir = fs.mkdtempSync(path.join((await import("node:os")).tmpdir(), "lmm-"));
    const tidyFile = path.join(dir, "tidy.csv"), glanceFile = path.join(dir, "glance.csv");
    const r = await run(["fit", data("sleepstudy.csv"), "--formula", "Reaction ~ Days + (Days | Subject)", "--tidy", tidyFile, "--glance", glanceFile]);
    expect(r.code).toBe(0);
    const tidyCsv = fs.readFileSync(tidyFile, "utf8").split("\n");
    expect(tidyCsv[0]).toBe("effect,group,term,estimate,std.error,statistic,df,p.value,conf.low,conf.high");
    expect(tidyCsv[2]).toMatch(/^fixed,NA,Days,10\.46728\d*,1\.54578\d*,6\.7714\d*,16\.9999\d*,0\.000003263\d*,/);
    expect(tidyCsv.some((l) => l.startsWith("ran_pars,Subject,cor__(Intercept).Days,0.0655"))).toBe(true);
    expect(fs.readFileSync(glanceFile, "utf8")).toMatch(/^nobs,sigma,logLik,AIC,BIC,REMLcrit,df.residual\n180,25\.59/);
  });
});

describe("lmm confint", () => {
  it("profile intervals of every parameter, as lme4's confint", async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(referenceDir, "fits/confint-sleepstudy-slope-reml.json"), "utf8"));
    const r = await run(["confint", data("sleepstudy.csv"), "-f", "Reaction ~ Days + (Days | Subject)", "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { term: string; lower: number; upper: number }[];
    expect(rows.map((x) => x.term)).toEqual(ref.profile.map((x: { term: string }) => x.term));
    rows.forEach((x, i) => {
      expect(Math.abs(x.lower - ref.profile[i].lower) / Math.abs(ref.profile[i].lower)).toBeLessThan(1e-3);
      expect(Math.abs(x.upper - ref.profile[i].upper) / Math.abs(ref.profile[i].upper)).toBeLessThan(1e-3);
    });
    const text = await run(["confint", data("sleepstudy.csv"), "-f", "Reaction ~ Days + (Days | Subject)", "--method", "wald"]);
    expect(text.out.split("\n")[0]).toMatch(/2\.5 % +97\.5 %$/);
    expect(text.out).toMatch(/^Days +7\.43759\d +13\.4969\d+$/m);
    const boot1 = await run(["confint", data("sleepstudy.csv"), "-f", "Reaction ~ Days + (Days | Subject)", "--method", "boot", "--nsim", "50", "--seed", "7", "--json"]);
    const boot2 = await run(["confint", data("sleepstudy.csv"), "-f", "Reaction ~ Days + (Days | Subject)", "--method", "boot", "--nsim", "50", "--seed", "7", "--json"]);
    expect(boot1.code).toBe(0);
    expect(JSON.parse(boot1.out)).toEqual(JSON.parse(boot2.out));
    expect(JSON.parse(boot1.out).map((x: { term: string }) => x.term)).toEqual(ref.profile.map((x: { term: string }) => x.term));
    const bad = await run(["confint", data("sleepstudy.csv"), "-f", "Reaction ~ Days + (Days | Subject)", "--method", "boots"]);
    expect(bad.err).toMatch(/unknown method 'boots'/);
  });
});

describe("lmm fit --family (glmer)", () => {
  const data = (name: string) => path.join(referenceDir, "data", name);
  const ref = (id: string) => JSON.parse(fs.readFileSync(path.join(referenceDir, "fits", `${id}.json`), "utf8"));

  it("binomial with a cbind response, Laplace and nAGQ = 25, against lme4", async () => {
    for (const [id, extra] of [["cbpp-laplace", []], ["cbpp-agq25", ["--nagq", "25"]]] as const) {
      const r = ref(id);
      const res = await runCli(["fit", data("cbpp.csv"), "--levels", data("cbpp.levels.json"), "-f", r.formula, "--family", "binomial", ...extra, "--json"]);
      expect(res.err).toBe("");
      const fit = JSON.parse(res.out);
      expect(fit.objective).toBeLessThanOrEqual(r.objective * (1 + 1e-5));
      for (const k of Object.keys(r.fixef)) expect(Math.abs(fit.fixef[k] / r.fixef[k] - 1)).toBeLessThan(1e-3);
      expect(Math.abs(fit.theta[0] - r.theta[0])).toBeLessThan(1e-3);
    }
  });

  it("poisson prints glmer's summary; negative binomial fits", async () => {
    const r = ref("grouseticks-poisson");
    const res = await runCli(["fit", data("grouseticks.csv"), "--levels", data("grouseticks.levels.json"), "-f", r.formula, "--family", "poisson"]);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^Generalized linear mixed model fit by maximum likelihood \(Laplace\n {2}Approximation\) \[glmerMod\]/); // R's wrapped title
    expect(res.out).toMatch(/Family: poisson {2}\( log \)/);
    const extra = path.join(path.dirname(referenceDir), "extra-glmm");
    const nb = await runCli(["fit", path.join(extra, "data/overdisp.csv"), "--levels", path.join(extra, "data/overdisp.levels.json"), "-f", "count ~ visit + group + (1 | subject)", "--family", "nb", "--json"]);
    expect(nb.err).toBe("");
    const want = JSON.parse(fs.readFileSync(path.join(extra, "fits/overdisp-nb.json"), "utf8"));
    for (const k of Object.keys(want.fixef)) expect(Math.abs(JSON.parse(nb.out).fixef[k] / want.fixef[k] - 1)).toBeLessThan(1e-3);
  });

  it("clear errors for family flags", async () => {
    const f = "cbind(incidence, size - incidence) ~ period + (1 | herd)";
    let r = await runCli(["fit", data("cbpp.csv"), "-f", f, "--family", "gamma"]);
    expect(r.err).toMatch(/unknown family 'gamma'/);
    r = await runCli(["fit", data("cbpp.csv"), "-f", f, "--family", "poisson", "--link", "logit"]);
    expect(r.err).toMatch(/link 'logit' is not available for poisson: use log/);
    r = await runCli(["fit", data("cbpp.csv"), "-f", f, "--family", "binomial", "--nagq", "40"]);
    expect(r.err).toMatch(/--nagq must be an integer from 0 to 25/);
    r = await runCli(["fit", data("sleepstudy.csv"), "-f", "Reaction ~ Days + (Days | Subject)", "--nagq", "2"]);
    expect(r.err).toMatch(/--nagq is for generalized models/);
    r = await runCli(["fit", data("cbpp.csv"), "-f", f]);
    expect(r.err).toMatch(/glmer/); // a cbind response in lmer points to glmer
  });
});
