// Parametric bootstrap cost per simulation (bootMer: simulate + refit to the new response, sharing the
// design) against fitting each simulated response from scratch, on sleepstudy (Days | Subject) REML.
// Run: npx tsx bench/bootstrap.bench.ts  (after npm run asbuild)
import fs from "node:fs";
import path from "node:path";
import { bootMer } from "../src/bootstrap.js";
import { instantiateKernels } from "../src/engine.js";
import { LinearMixedModel } from "../src/linearmixedmodel.js";
import { referenceDir, referenceTable } from "../test/helpers/reference.js";
import type { NumericColumn, Table } from "../src/data.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const K = await instantiateKernels("wasm-simd", new Uint8Array(fs.readFileSync(path.join(root, "build/simd.wasm"))));
const table = referenceTable("data/sleepstudy.csv", "sleepstudy");
const F = "Reaction ~ Days + (Days | Subject)";
const m = LinearMixedModel.fit(K, F, table);
const nsim = 500;

// Warm-up so both paths run JIT-compiled code.
bootMer(m, { nsim: 20, seed: 1 });
const t0 = performance.now();
const boot = bootMer(m, { nsim, seed: 2 });
const perBoot = (performance.now() - t0) / nsim;

// The same simulated responses, each fitted from scratch (model frame, A, optimisation from the default start).
const sims = m.simulate(nsim, { seed: 2 });
const withResponse = (y: Float64Array): Table => {
  const columns = new Map(table.columns);
  columns.set("Reaction", { type: "numeric", values: y } as NumericColumn);
  return { ...table, columns };
};
for (let i = 0; i < 20; i++) LinearMixedModel.fit(K, F, withResponse(sims[i]));
const t1 = performance.now();
for (const y of sims) LinearMixedModel.fit(K, F, withResponse(y));
const perFresh = (performance.now() - t1) / nsim;

const lme4 = JSON.parse(fs.readFileSync(path.join(referenceDir, "fits/sleepstudy-slope-reml.json"), "utf8")).time_s as number;
console.log(`sleepstudy (Days | Subject) REML, ${nsim} simulations, ${boot.failures} failed refits`);
console.log(`| per simulation | bootMer (refit to new response) | fresh fit | fresh / bootMer | lme4 fresh fit (stored) |`);
console.log(`|---|---|---|---|---|`);
console.log(`| time | ${(perBoot * 1000).toFixed(0)} µs | ${(perFresh * 1000).toFixed(0)} µs | ${(perFresh / perBoot).toFixed(2)}× | ${(lme4 * 1000).toFixed(1)} ms |`);
