// GLMM timings against lme4, one run, one machine:
//   reference fits: VerbAgg (binomial, crossed id × item, 7,584 rows) and cbpp (binomial cbind, Laplace
//     and nAGQ = 25): this library's glmer() against the stored lme4 time (time_s of
//     test/fixtures/reference/fits/*.json: median of 5 glmer() calls on the project's 2-core machine
//     kind) and against lme4 timed now with Rscript when R and lme4 are installed;
//   many responses: a Poisson GLMM per gene, 8 donors × 300 cells × 2,000 genes (simulated counts with
//     a log library-size offset), `~ condition + (1 | donor) + offset(loglib)`: fitMany with all cores
//     and with 1 thread, a loop of this library's glmer() on a sample, and lme4's glmer() + summary()
//     looped in R over a sample of the same genes, extrapolated to all genes (the sample's estimates
//     and −2 log L are compared with fitMany's, so both sides fit the same model).
// Uses the built package (dist/node: the workers run the bundle). Build first (node scripts/build.mjs),
// then: npx tsx bench/glmm.bench.ts [--quick]. Writes bench/results/glmm.json and glmm.md.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DenseResponses } from "../src/responses.js";

// The built package, typed by its sources.
const { fitMany, glmer, readCSV, Rng } = (await import(path.join("../dist/node/index.js"))) as typeof import("../src/node.js");

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const refDir = path.join(root, "test/fixtures/reference");
const outDir = path.join(root, "bench/results");
const quick = process.argv.includes("--quick");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function time<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [(performance.now() - t0) / 1000, r];
}

function haveLme4(): boolean {
  try {
    execFileSync("Rscript", ["-e", "suppressMessages({library(lme4); library(jsonlite)})"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function rscript(script: string): string {
  return execFileSync("Rscript", ["-e", script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 });
}

const R = haveLme4();
const rVersion = R ? rscript('cat(R.version$major, ".", R.version$minor, " / lme4 ", as.character(packageVersion("lme4")), sep = "")') : "not installed";

// ------------------------------------------------------------------------------------------------
// Reference fits

interface RefFit {
  formula: string;
  data: string;
  family: string;
  nAGQ: number;
  time_s: number;
  objective: number;
}

/** lme4's median seconds of `runs` glmer() calls after one warm-up, timed now in R on the same CSV and levels. */
function lme4Time(ref: RefFit, runs: number): number {
  const csv = path.join(refDir, ref.data);
  const levels = csv.replace(/\.csv$/, ".levels.json");
  const script = `
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("${csv}", stringsAsFactors = FALSE)
lv <- fromJSON("${levels}")
for (nm in names(lv)) d[[nm]] <- factor(d[[nm]], levels = lv[[nm]]$levels, ordered = isTRUE(lv[[nm]]$ordered))
f <- function() glmer(${ref.formula}, d, family = ${ref.family}, nAGQ = ${ref.nAGQ})
m <- f()
ts <- replicate(${runs}, system.time(f())[["elapsed"]])
cat(median(ts), -2 * as.numeric(logLik(m)))`;
  const [t, obj] = rscript(script).trim().split(/\s+/).map(Number);
  if (Math.abs(obj - ref.objective) > 1e-6 * Math.abs(ref.objective)) throw new Error(`lme4 now gives −2 log L ${obj}, the reference ${ref.objective}: not the reference model`);
  return t;
}

const rows: Record<string, string | number>[] = [];

for (const [id, runs] of [["verbagg-binomial", quick ? 1 : 3], ["cbpp-laplace", quick ? 3 : 9], ["cbpp-agq25", quick ? 3 : 9]] as const) {
  const ref = JSON.parse(fs.readFileSync(path.join(refDir, "fits", `${id}.json`), "utf8")) as RefFit;
  const csv = path.join(refDir, ref.data);
  const levels = JSON.parse(fs.readFileSync(csv.replace(/\.csv$/, ".levels.json"), "utf8"));
  const data = readCSV(csv, { levels });
  const fit = () => glmer(ref.formula, data, { family: ref.family as "binomial" | "poisson", nAGQ: ref.nAGQ, levels });
  const m = await fit(); // warm-up (JIT, WebAssembly compilation)
  const ts: number[] = [];
  for (let k = 0; k < runs; k++) ts.push((await time(fit))[0]);
  const ours = median(ts);
  const rel = (m.objectiveAtOptimum - ref.objective) / Math.abs(ref.objective);
  const now = R ? lme4Time(ref, runs) : NaN;
  console.log(
    `${id} (${data.nrow} rows, nAGQ ${ref.nAGQ}): glmer ${ours.toFixed(3)} s (median of ${runs}); lme4 stored ${ref.time_s.toFixed(3)} s` +
      (R ? `, lme4 now ${now.toFixed(3)} s` : "") +
      `; −2 log L − lme4's: ${rel.toExponential(2)} relative`,
  );
  rows.push({
    case: `${id}: ${ref.formula}${ref.nAGQ > 1 ? ` (nAGQ ${ref.nAGQ})` : ""}`,
    rows: data.nrow,
    ours_s: +ours.toFixed(4),
    lme4_stored_s: +ref.time_s.toFixed(4),
    lme4_now_s: R ? +now.toFixed(4) : "n/a",
    speedup_vs_stored: +(ref.time_s / ours).toFixed(2),
    speedup_vs_now: R ? +(now / ours).toFixed(2) : "n/a",
    objective_rel_diff: +rel.toExponential(2),
    note: `median of ${runs} runs after a warm-up, both sides`,
  });
}

// ------------------------------------------------------------------------------------------------
// Many responses: a Poisson GLMM per gene

/** Poisson deviate by multiplying uniforms (Knuth): exact, and quick for the small means of single cells. */
function rpois(rng: InstanceType<typeof Rng>, mu: number): number {
  const limit = Math.exp(-mu);
  let k = 0, prod = rng.uniform();
  while (prod > limit) {
    k++;
    prod *= rng.uniform();
  }
  return k;
}

function singleCellCounts(genes: number) {
  const rng = new Rng(20261201);
  const cell: string[] = [], donor: string[] = [], condition: string[] = [], loglib: number[] = [];
  for (let d = 0; d < 8; d++) {
    for (let c = 0; c < 300; c++) {
      cell.push(`c${d}_${c}`);
      donor.push(`D${d + 1}`);
      condition.push(d < 4 ? "control" : "case");
      loglib.push(Math.log(3000) + 0.4 * rng.normal()); // library sizes vary about 1.5-fold
    }
  }
  const n = cell.length;
  const values = new Float64Array(genes * n);
  for (let g = 0; g < genes; g++) {
    const sd = [0, 0.1, 0.3, 0.5][g % 4]; // a quarter of the genes without donor variance (singular fits)
    const effect = g % 10 === 0 ? 0.4 : 0;
    const base = -8.5 + 3 * ((g * 0.618034) % 1); // mean counts per cell from about 0.6 to 12
    const u = Array.from({ length: 8 }, () => sd * rng.normal());
    for (let i = 0; i < n; i++) {
      const d = Math.floor(i / 300);
      values[g * n + i] = rpois(rng, Math.exp(base + loglib[i] + (d >= 4 ? effect : 0) + u[d]));
    }
  }
  const Y: DenseResponses = { kind: "dense", layout: "responses-by-obs", nResponses: genes, nObs: n, values, responseNames: Array.from({ length: genes }, (_, g) => `g${g + 1}`), obsIds: cell };
  return { design: { cell, donor, condition, loglib }, Y };
}

/**
 * lme4's glmer() + summary() per gene in one R loop over the first `count` genes: seconds per gene, and
 * each gene's −2 log L and conditioncontrol estimate.
 */
function lme4PerGene(design: Record<string, (string | number)[]>, Y: DenseResponses, count: number): { perGene: number; objective: number[]; estimate: number[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "glmm-bench-"));
  const n = Y.nObs;
  const cols = Object.keys(design);
  const lines = [[...cols, ...Array.from({ length: count }, (_, r) => `y${r}`)].join(",")];
  for (let i = 0; i < n; i++) lines.push([...cols.map((k) => design[k][i]), ...Array.from({ length: count }, (_, r) => Y.values[r * n + i])].join(","));
  fs.writeFileSync(path.join(dir, "d.csv"), lines.join("\n"));
  const script = `
suppressMessages(library(lme4))
d <- read.csv("${dir}/d.csv", stringsAsFactors = TRUE)
obj <- est <- numeric(${count})
t <- system.time(for (r in 1:${count}) {
  d$y <- d[[paste0("y", r - 1)]]
  m <- glmer(y ~ condition + (1 | donor) + offset(loglib), d, family = poisson)
  s <- summary(m)
  obj[r] <- -2 * as.numeric(logLik(m)); est[r] <- coef(s)["conditioncontrol", "Estimate"]
})
cat(t[["elapsed"]] / ${count}, "\\n"); cat(sprintf("%.17g", obj), "\\n"); cat(sprintf("%.17g", est), "\\n")`;
  const [t, o, e] = rscript(script).trim().split("\n");
  fs.rmSync(dir, { recursive: true, force: true });
  return { perGene: Number(t), objective: o.trim().split(/\s+/).map(Number), estimate: e.trim().split(/\s+/).map(Number) };
}

const G = quick ? 200 : 2000;
const { design, Y } = singleCellCounts(G);
const formula = "~ condition + (1 | donor) + offset(loglib)";
console.log(`\nsingle-cell counts: ${G} genes × ${Y.nObs} cells (8 donors × 300), Poisson GLMM ${formula}`);
const [tAll, res] = await time(() => fitMany(formula, design, Y, { family: "poisson" }));
const cnt = res.counts();
console.log(`  fitMany, ${res.info.threads} threads: ${tAll.toFixed(2)} s (${((tAll / G) * 1000).toFixed(2)} ms/gene); ${cnt.fitted} fitted, ${cnt.failed} failed, ${cnt.singular} singular, ${cnt.notConverged} not converged; conditioncontrol significant at FDR 5%: ${cnt.significant.conditioncontrol}`);
const [t1] = await time(() => fitMany(formula, design, Y, { family: "poisson", threads: 1 }));
console.log(`  fitMany, 1 thread: ${t1.toFixed(2)} s`);
const sample = Math.min(G, quick ? 20 : 100);
const n = Y.nObs;
const [tLoop] = await time(async () => {
  for (let r = 0; r < sample; r++) {
    const m = await glmer(`y ${formula}`, { ...design, y: Y.values.subarray(r * n, (r + 1) * n) }, { family: "poisson" });
    m.pValues();
  }
});
const loop = (tLoop / sample) * G;
console.log(`  loop of this library's glmer(), ${sample} genes: ${((tLoop / sample) * 1000).toFixed(2)} ms each → ${loop.toFixed(1)} s for all`);
const rSample = Math.min(G, quick ? 10 : 40);
let lme4 = NaN, lme4Source = "no R here: not timed (no stored per-gene glmer time exists)";
let agreement = "";
if (R) {
  const r = lme4PerGene(design, Y, rSample);
  lme4 = r.perGene * G;
  lme4Source = `Rscript: glmer() + summary() loop over ${rSample} genes, ${(r.perGene * 1000).toFixed(1)} ms each, extrapolated`;
  const J = res.terms.length, j = res.terms.indexOf("conditioncontrol");
  let dObj = 0, dEst = 0;
  for (let g = 0; g < rSample; g++) {
    dObj = Math.max(dObj, (res.objective[g] - r.objective[g]) / Math.abs(r.objective[g]));
    dEst = Math.max(dEst, Math.abs(res.estimate[g * J + j] - r.estimate[g]) / res.stdError[g * J + j]);
  }
  agreement = `max (ours − lme4's) −2 log L: ${dObj.toExponential(2)} relative; max |Δ estimate| / SE: ${dEst.toExponential(2)}`;
  console.log(`  lme4 vs fitMany on the ${rSample} sampled genes: ${agreement}`);
}
console.log(`  lme4: ${lme4.toFixed(1)} s (${lme4Source}) → fitMany is ${(lme4 / tAll).toFixed(1)}× faster`);
rows.push({
  case: `fitMany Poisson, ${G} genes × ${n} cells: ${formula}`,
  rows: n,
  ours_s: +tAll.toFixed(3),
  lme4_stored_s: "n/a",
  lme4_now_s: +lme4.toFixed(1),
  speedup_vs_stored: "n/a",
  speedup_vs_now: +(lme4 / tAll).toFixed(1),
  objective_rel_diff: agreement ? agreement : "n/a",
  note: `${res.info.threads} threads; 1 thread ${t1.toFixed(2)} s; this library's glmer() loop ${loop.toFixed(1)} s (${sample} genes extrapolated); lme4: ${lme4Source}`,
});

fs.mkdirSync(outDir, { recursive: true });
const meta = { date: new Date().toISOString(), cores: os.availableParallelism?.() ?? os.cpus().length, loadavg: os.loadavg(), node: process.version, R: rVersion, quick };
fs.writeFileSync(path.join(outDir, "glmm.json"), JSON.stringify({ meta, rows }, null, 2) + "\n");
const keys = Object.keys(rows[0]);
const md = [`| ${keys.join(" | ")} |`, `|${keys.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${keys.map((k) => r[k]).join(" | ")} |`)].join("\n");
fs.writeFileSync(path.join(outDir, "glmm.md"), md + "\n");
console.log(`\n${md}\n\n(${meta.cores} cores, load average ${meta.loadavg.map((v) => v.toFixed(2)).join(" ")}; R ${rVersion})`);
