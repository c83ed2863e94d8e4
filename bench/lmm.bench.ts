// Fit time of the same models with the SIMD and scalar WebAssembly kernels and the plain TypeScript
// kernels (the same blocked algorithm), next to lme4's stored time (median of 5 lmer() calls on this
// machine kind, from test/fixtures/reference/fits). Run: npx tsx bench/lmm.bench.ts [--quick] (after
// npm run asbuild). `npm run bench` runs bench/suite.ts, the issue-6 suite with lme4 measured in the same run.
import Benchmark from "benchmark";
import fs from "node:fs";
import path from "node:path";
import { instantiateKernels } from "../src/engine.js";
import { TsKernels, type Kernels } from "../src/kernels.js";
import { LinearMixedModel } from "../src/linearmixedmodel.js";
import { referenceTable, referenceDir } from "../test/helpers/reference.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const quick = process.argv.includes("--quick");

interface Case { id: string; slow?: boolean }
const cases: Case[] = [
  { id: "sleepstudy-slope-reml" },
  { id: "sleepstudy-slope-ml" },
  { id: "penicillin-reml" },
  { id: "pastes-nested-reml" },
  { id: "insteval-ml", slow: true },
];

async function kernelsAll(): Promise<Kernels[]> {
  const bytes = (f: string) => new Uint8Array(fs.readFileSync(path.join(root, "build", f)));
  return [
    await instantiateKernels("wasm-simd", bytes("simd.wasm")),
    await instantiateKernels("wasm-scalar", bytes("release.wasm")),
    new TsKernels(),
  ];
}

/** Median seconds of `runs` fits (for fits too slow for benchmark.js's repeated cycles). */
function timeRuns(fn: () => void, runs: number): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    fn();
    t.push((performance.now() - s) / 1000);
  }
  return t.sort((a, b) => a - b)[Math.floor(t.length / 2)];
}

/** Mean seconds per fit from benchmark.js. */
function timeBenchmark(name: string, fn: () => void): Promise<number> {
  return new Promise((resolve) => {
    new Benchmark.Suite()
      .add(name, fn, { maxTime: quick ? 0.5 : 2 })
      .on("cycle", (e: Benchmark.Event) => console.log(`  ${String(e.target)}`))
      .on("complete", function (this: Benchmark.Suite) {
        resolve((this as unknown as Benchmark[])[0].stats.mean);
      })
      .run();
  });
}

/** Objective evaluations per second at θ̂ (the per-θ engine work alone: update L, log-determinants). */
function evalsPerSecond(m: LinearMixedModel, budget: number): number {
  const theta = Float64Array.from(m.theta);
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < budget * 1000) {
    m.objective(theta);
    count++;
  }
  return count / ((performance.now() - start) / 1000);
}

const rows: string[] = [];
const json: Record<string, unknown>[] = [];
const kernels = await kernelsAll();
for (const c of cases) {
  const ref = JSON.parse(fs.readFileSync(path.join(referenceDir, "fits", `${c.id}.json`), "utf8"));
  const data = referenceTable(ref.data, ref.dataset);
  const formula = ref.formula_original ?? ref.formula;
  console.log(`${c.id}: ${formula} (${ref.nobs} rows)`);
  const times: Record<string, number> = {};
  const eps: Record<string, number> = {};
  let evals = 0, objective = NaN;
  let last: LinearMixedModel | undefined;
  for (const k of kernels) {
    if (c.slow && quick && k.name === "ts") continue;
    const fit = () => {
      const m = LinearMixedModel.fit(k, formula, data, { REML: ref.REML });
      evals = m.feval;
      objective = m.objectiveAtOptimum;
      last = m;
    };
    // Warm-up: the JIT compiles the shared TypeScript (frame, optimizer) on the first fits.
    if (!c.slow) for (let i = 0; i < 20; i++) fit();
    times[k.name] = c.slow ? timeRuns(fit, k.name === "ts" || quick ? 1 : 3) : await timeBenchmark(`${c.id} ${k.name}`, fit);
    if (c.slow) console.log(`  ${c.id} ${k.name}: ${times[k.name].toFixed(3)} s`);
    eps[k.name] = evalsPerSecond(last!, c.slow ? 3 : 0.5);
  }
  const lme4 = ref.time_s as number;
  const fmt = (s: number | undefined) => (s === undefined ? "-" : s < 0.1 ? `${(s * 1000).toFixed(2)} ms` : `${s.toFixed(2)} s`);
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? "-" : `${(a / b).toFixed(1)}×`);
  const e = (name: string) => (eps[name] === undefined ? "-" : eps[name] >= 100 ? eps[name].toFixed(0) : eps[name].toFixed(1));
  rows.push(
    `| ${c.id} | ${ref.nobs} | ${fmt(times["wasm-simd"])} | ${fmt(times["wasm-scalar"])} | ${fmt(times.ts)} | ${fmt(lme4)} | ` +
      `${ratio(lme4, times["wasm-simd"])} | ${ratio(times.ts, times["wasm-simd"])} | ${e("wasm-simd")} / ${e("wasm-scalar")} / ${e("ts")} | ` +
      `${evals} / ${ref.feval} | ${(objective - ref.objective).toExponential(1)} |`,
  );
  json.push({ id: c.id, rows: ref.nobs, seconds: times, evaluations_per_second: eps, lme4_seconds: lme4, lme4_source: "stored", evaluations: evals, lme4_evaluations: ref.feval, objective, lme4_objective: ref.objective });
}
const table = [
  `Fit time (median; benchmark.js mean for the small fits) on ${process.platform}/${process.arch}, Node ${process.version}; lme4: stored median of 5 lmer() calls on the same machine kind.`,
  "",
  "| fit | rows | WASM SIMD | WASM scalar | plain TS | lme4 (stored) | lme4 / SIMD | TS / SIMD | objective evals/s (SIMD / scalar / TS) | evals (ours / lme4) | objective − lme4's |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows,
].join("\n");
console.log("\n" + table);
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/lmm.md"), table + "\n");
fs.writeFileSync(path.join(root, "bench/results/lmm.json"), JSON.stringify(json, null, 2));
