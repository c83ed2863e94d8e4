// Parametric bootstrap cost per simulation on sleepstudy (Days | Subject) REML, in one run: bootMer
// (simulate + refit to the new response on this thread, sharing the design), bootMerAsync (the same
// replicates fitted by fitMany's lanes: 1 = this thread only, 2 = this thread and a worker; warm
// workers, as a second call finds them), and each simulated response fitted from scratch.
// Times per simulation are the best of 3 rounds after a warm-up.
// Uses the built package (dist/node: the workers run the bundle). Run: npx tsx bench/bootstrap.bench.ts
// (after npm run build)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NumericColumn, Table } from "../src/data.js";
import { referenceDir, referenceTable } from "../test/helpers/reference.js";

// The built package, typed by its sources.
const { bootMer, bootMerAsync, closeManyWorkers, LinearMixedModel, loadKernels } = (await import(path.join("../dist/node/index.js"))) as typeof import("../src/node.js");

const K = await loadKernels("wasm-simd");
const table = referenceTable("data/sleepstudy.csv", "sleepstudy");
const F = "Reaction ~ Days + (Days | Subject)";
const m = LinearMixedModel.fit(K, F, table);
const nsim = 500;

/** The ways of running the replicates, each called as run(nsim, seed). */
const variants: Record<string, (n: number, seed: number) => unknown> = {
  serial: (n, seed) => bootMer(m, { nsim: n, seed }),
  async1: (n, seed) => bootMerAsync(m, { nsim: n, seed, threads: 1 }),
  async2: (n, seed) => bootMerAsync(m, { nsim: n, seed, threads: 2 }),
};
// Warm-up: JIT-compiled code on this thread and in the worker (which stays parked between calls).
for (const run of Object.values(variants)) await run(200, 1);
// Milliseconds per simulation, the best of 3 interleaved rounds (timings on a shared machine are noisy).
const per: Record<string, number> = { serial: Infinity, async1: Infinity, async2: Infinity };
for (let round = 0; round < 3; round++) {
  for (const [name, run] of Object.entries(variants)) {
    const t0 = performance.now();
    await run(nsim, 2);
    per[name] = Math.min(per[name], (performance.now() - t0) / nsim);
  }
}
const { serial: perBoot, async1: perAsync1, async2: perAsync2 } = per;
// The same replicates, so the same rows, whatever runs them.
const boot = bootMer(m, { nsim, seed: 2 });
const rows = (b: typeof boot) => JSON.stringify(b.t.map((r) => Array.from(r)));
const same = rows(await bootMerAsync(m, { nsim, seed: 2, threads: 2 })) === rows(boot);
await closeManyWorkers();

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
const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
console.log(`sleepstudy (Days | Subject) REML, ${nsim} simulations, ${boot.failures} failed refits; bootMerAsync rows identical to bootMer's: ${same ? "yes" : "NO"}`);
// Two lanes only help with a free core: say how busy the machine was.
console.log(`${os.availableParallelism()} cores, load average ${os.loadavg()[0].toFixed(1)} at the end of the run`);
console.log(`| per simulation | bootMer (serial) | bootMerAsync, 1 thread | bootMerAsync, 2 threads | fresh fit | bootMer / 2 threads | fresh / bootMer | lme4 fresh fit (stored) |`);
console.log(`|---|---|---|---|---|---|---|---|`);
console.log(
  `| time | ${us(perBoot)} | ${us(perAsync1)} | ${us(perAsync2)} | ${us(perFresh)} | ${ratio(perBoot, perAsync2)} | ${ratio(perFresh, perBoot)} | ${(lme4 * 1000).toFixed(1)} ms |`,
);
