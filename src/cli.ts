// The `lmm` command line:
//   lmm fit <data.csv> --formula "<formula>" [--ml] [--levels levels.json] [--json] [--tidy t.csv] [--glance g.csv]
//           [--family binomial|poisson|nb] [--link L] [--nagq N] [--weights col] [--fast]
//   lmm compare <data.csv> --formula F1 --formula F2 [...] [--levels levels.json] [--json]
//   lmm confint <data.csv> --formula F [--method wald|profile|boot] [--level 0.95] [--nsim N --seed S --threads T] [--json]
//   lmm many --matrix <file|dir> [--meta <csv>] --formula "~ x + (1|g)" --out results.csv [...]   (src/cli-many.ts)
import { Command, InvalidArgumentError } from "commander";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { anova, formatAnova } from "./anova.js";
import { glmer, type GlmerOptions } from "./generalizedlinearmixedmodel.js";
import { glmerNB } from "./negativebinomial.js";
import { lmer, type LinearMixedModel, type LmerOptions } from "./linearmixedmodel.js";
import { readCSVStream, readLevels } from "./node.js";
import { registerServe } from "./serve.js";
import { registerMany } from "./cli-many.js";
import { toCSV } from "./tidy.js";
import type { Table } from "./data.js";

const CONTRASTS = ["contr.treatment", "contr.sum", "contr.poly", "contr.helmert"] as const;
type ContrastName = (typeof CONTRASTS)[number];

/** --contrasts recipe=contr.sum,temperature=contr.treatment */
function parseContrasts(v: string, prev: Record<string, ContrastName> = {}): Record<string, ContrastName> {
  for (const part of v.split(",")) {
    const [col, type] = part.split("=").map((s) => s.trim());
    if (!col || !CONTRASTS.includes(type as ContrastName)) {
      throw new InvalidArgumentError(`expected column=${CONTRASTS.join("|")}, got '${part}'`);
    }
    prev[col] = type as ContrastName;
  }
  return prev;
}

/** commander's repeatable option: every occurrence appended. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The options every command that fits shares: data reading, coding, optimizer, engine. */
function fitOptions(cmd: Command): Command {
  return cmd
    .argument("<data>", "CSV or TSV file with a header row")
    .option("--levels <file>", "factor levels (and orderedness) per column, as the reference *.levels.json")
    .option("--contrasts <col=type,...>", "contrasts per factor: contr.treatment, contr.sum, contr.poly, contr.helmert", parseContrasts)
    .option("--optimizer <name>", "bobyqa (default) or neldermead", "bobyqa")
    .option("--engine <name>", "auto (threads where available), wasm-threads, wasm-simd, wasm-scalar or ts", "auto");
}

interface Loaded {
  data: Table;
  options: LmerOptions;
}

/** Checks the shared options, reads the data with its levels and returns the fit options. */
async function load(file: string, o: Record<string, unknown>): Promise<Loaded> {
  if (!["bobyqa", "neldermead"].includes(o.optimizer as string)) throw new Error(`unknown optimizer '${o.optimizer}': use bobyqa or neldermead`);
  if (!["auto", "wasm-threads", "wasm-simd", "wasm-scalar", "ts"].includes(o.engine as string)) {
    throw new Error(`unknown engine '${o.engine}': use auto, wasm-threads, wasm-simd, wasm-scalar or ts`);
  }
  const levels = o.levels ? readLevels(o.levels as string) : undefined;
  return {
    data: await readCSVStream(file, { levels }), // streamed: a million-row file never sits in one string
    options: {
      levels,
      contrasts: o.contrasts as LmerOptions["contrasts"],
      optimizer: o.optimizer as LmerOptions["optimizer"],
      engine: o.engine as LmerOptions["engine"],
      dataName: path.basename(file).replace(/\.(csv|tsv|txt)$/i, ""),
    },
  };
}

export function program(): Command {
  const cli = new Command("lmm").description("Linear mixed-effects models with lme4 formulas, on a WebAssembly engine");

  fitOptions(cli.command("fit").description("fit a linear (lmer) or generalized linear (glmer) mixed model and print its summary (or JSON)"))
    .requiredOption("-f, --formula <formula>", 'lme4 formula, e.g. "Reaction ~ Days + (Days | Subject)" or "cbind(incidence, size - incidence) ~ period + (1 | herd)"')
    .option("--ml", "maximum likelihood instead of REML (linear models)")
    .option("--family <family>", "gaussian (default: lmer), binomial, poisson or nb (negative binomial, glmer.nb)")
    .option("--link <link>", "binomial: logit (default), probit or cloglog; poisson and nb: log")
    .option("--nagq <n>", "glmer's nAGQ: 1 = Laplace (default), 0 = PIRLS only, up to 25 adaptive Gauss-Hermite points (one scalar random term)")
    .option("--weights <column>", "prior weights column (binomial proportions: the number of trials)")
    .option("--fast", "glmer: optimise θ only (β from PIRLS; MixedModels.jl's fast = true, lme4's nAGQ = 0)")
    .option("--json", "print the result as JSON with the reference fits' field names")
    .option("--tidy <file>", "also write broom.mixed's tidy table (fixed effects with Satterthwaite tests, variance parameters) as CSV (linear models)")
    .option("--glance <file>", "also write broom.mixed's glance row as CSV (linear models)")
    .action(async (file: string, o) => {
      const { data, options } = await load(file, o);
      const family = String(o.family ?? "gaussian").toLowerCase();
      if (family !== "gaussian") {
        await fitGeneralized(family, o, data, options);
        return;
      }
      for (const flag of ["link", "nagq", "weights", "fast"] as const) {
        if (o[flag] !== undefined) throw new Error(`--${flag} is for generalized models: give --family binomial, poisson or nb`);
      }
      const m = await lmer(o.formula, data, { ...options, REML: !o.ml });
      process.stdout.write(o.json ? JSON.stringify(m.toJSON(), null, 2) + "\n" : m.summary() + "\n");
      if (o.tidy) writeFileSync(o.tidy, toCSV(m.tidy({ effects: ["fixed", "ran_pars"], confInt: true })));
      if (o.glance) writeFileSync(o.glance, toCSV([m.glance()]));
    });

  fitOptions(cli.command("compare").description("likelihood-ratio tests between nested models fitted by ML, as lme4's anova(m1, m2, ...)"))
    .option("-f, --formula <formula>", "an lme4 formula; give two or more (repeat the option)", collect, [])
    .option("--name <name>", "a name for each model, in the order of the formulas (repeat the option)", collect, [])
    .option("--json", "print the table as JSON with the reference anova fields (one array per column)")
    .action(async (file: string, o) => {
      const formulas: string[] = o.formula;
      if (formulas.length < 2) throw new Error(`compare needs at least two --formula (got ${formulas.length})`);
      const names: string[] = o.name;
      if (names.length > 0 && names.length !== formulas.length) {
        throw new Error(`${names.length} ${names.length === 1 ? "name" : "names"} (--name) given for ${formulas.length} models: give one --name per --formula`);
      }
      const { data, options } = await load(file, o);
      // by ML directly: the likelihood-ratio test compares ML fits (anova would refit REML ones)
      const models: LinearMixedModel[] = [];
      for (const f of formulas) models.push(await lmer(f, data, { ...options, REML: false }));
      const table = anova({ names: names.length ? names : undefined, dataName: options.dataName }, ...models);
      process.stdout.write(o.json ? JSON.stringify(table, null, 2) + "\n" : formatAnova(table));
    });

  fitOptions(cli.command("confint").description("confidence intervals of a fit's parameters, as lme4's confint()"))
    .requiredOption("-f, --formula <formula>", "lme4 formula")
    .option("--ml", "maximum likelihood instead of REML")
    .option("--method <method>", "wald (fixed effects), profile (likelihood profile) or boot (parametric bootstrap)", "profile")
    .option("--level <level>", "confidence level", "0.95")
    .option("--nsim <n>", "bootstrap simulations", "500")
    .option("--seed <seed>", "bootstrap random seed (default: a random one)")
    .option("--threads <n>", "bootstrap worker threads (default: all cores; the intervals do not depend on it)")
    .option("--json", "print the intervals as JSON rows { term, lower, upper }")
    .action(async (file: string, o) => {
      const method = String(o.method).toLowerCase();
      if (!["wald", "profile", "boot"].includes(method)) throw new Error(`unknown method '${o.method}': use wald, profile or boot`);
      const nsim = Number(o.nsim);
      if (!(Number.isInteger(nsim) && nsim > 0)) throw new Error(`--nsim must be a positive integer, got '${o.nsim}'`);
      const seed = o.seed === undefined ? undefined : Number(o.seed);
      if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`--seed must be an integer, got '${o.seed}'`);
      const level = Number(o.level);
      if (!(level > 0 && level < 1)) throw new Error(`--level must be a number between 0 and 1, got '${o.level}'`);
      const threads = o.threads === undefined ? undefined : Number(o.threads);
      if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new Error(`--threads must be a positive integer, got '${o.threads}'`);
      if (threads !== undefined && method !== "boot") throw new Error("--threads is for --method boot");
      const { data, options } = await load(file, o);
      const m = await lmer(o.formula, data, { ...options, REML: !o.ml });
      const progress = method === "boot" && process.stderr.isTTY ? bootProgress() : undefined;
      // boot: the refits on worker threads (the same intervals for any number of them)
      const rows = await m.confintAsync({ method: method === "wald" ? "Wald" : (method as "profile" | "boot"), level, nsim, seed, threads, onProgress: progress });
      process.stdout.write(o.json ? JSON.stringify(rows, null, 2) + "\n" : formatIntervals(rows, level));
    });
  registerServe(cli);
  registerMany(cli);
  return cli;
}

/** `lmm fit --family binomial|poisson|nb`: glmer / glmer.nb with the flags checked. */
async function fitGeneralized(family: string, o: Record<string, unknown>, data: Table, options: LmerOptions): Promise<void> {
  if (!["binomial", "poisson", "nb"].includes(family)) throw new Error(`unknown family '${o.family}': use gaussian, binomial, poisson or nb`);
  if (o.ml) throw new Error("--ml is for linear models: generalized models are always fitted by maximum likelihood (Laplace or quadrature)");
  if (o.tidy || o.glance) throw new Error("--tidy and --glance are not available for generalized models yet");
  const nAGQ = o.nagq === undefined ? 1 : Number(o.nagq);
  if (!(Number.isInteger(nAGQ) && nAGQ >= 0 && nAGQ <= 25)) throw new Error(`--nagq must be an integer from 0 to 25, got '${o.nagq}'`);
  const links: Record<string, string[]> = { binomial: ["logit", "probit", "cloglog"], poisson: ["log"], nb: ["log"] };
  const link = o.link === undefined ? undefined : String(o.link);
  if (link !== undefined && !links[family].includes(link)) throw new Error(`link '${link}' is not available for ${family}: use ${links[family].join(", ")}`);
  const common = { levels: options.levels, contrasts: options.contrasts, engine: options.engine, dataName: options.dataName, weights: o.weights as string | undefined, nAGQ, fast: !!o.fast };
  const m =
    family === "nb"
      ? await glmerNB(o.formula as string, data, common)
      : await glmer(o.formula as string, data, { ...common, family: family as "binomial" | "poisson", link: link as GlmerOptions["link"] });
  process.stdout.write(o.json ? JSON.stringify(m.toJSON(), null, 2) + "\n" : m.summary({ weightsName: o.weights as string | undefined }) + "\n");
}

/** A one-line progress counter on stderr for bootstrap runs in a terminal. */
function bootProgress(): (done: number, total: number) => void {
  const start = Date.now();
  return (done, total) => {
    const eta = done > 0 ? ((Date.now() - start) / done) * (total - done) / 1000 : 0;
    process.stderr.write(`\rbootstrap ${done}/${total}  ETA ${eta.toFixed(0)} s${done === total ? "\n" : ""}`);
  };
}

/** R's print of confint(): a matrix with the terms as row names and "2.5 %", "97.5 %" columns. */
function formatIntervals(rows: { term: string; lower: number; upper: number }[], level: number): string {
  const pct = (p: number) => `${Number((100 * p).toPrecision(3))} %`;
  const head = [pct((1 - level) / 2), pct((1 + level) / 2)];
  const cells = rows.map((r) => [r.lower, r.upper].map((v) => (Number.isFinite(v) ? v.toPrecision(7) : "NA")));
  const w0 = Math.max(...rows.map((r) => r.term.length));
  const w = [0, 1].map((c) => Math.max(head[c].length, ...cells.map((x) => x[c].length)));
  const line = (name: string, a: string, b: string) => `${name.padEnd(w0)} ${a.padStart(w[0])} ${b.padStart(w[1])}\n`;
  return line("", head[0], head[1]) + rows.map((r, i) => line(r.term, cells[i][0], cells[i][1])).join("");
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (e) {
    process.stderr.write(`lmm: error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
