// The parametric bootstrap on fitMany's workers (bootMerAsync, confintBootAsync, m.confintAsync, `lmm
// confint --method boot --threads N`): the same BootMerResult as the serial bootMer with the same
// seed, bit for bit, for any number of threads, with the chunks fitted in worker threads.
import { afterAll, describe, expect, it } from "vitest";
import { bootMer, confintBoot, type BootMerResult } from "../src/bootstrap.js";
import { bootMerAsync, confintBootAsync, type BootMerAsyncOptions, type BootRunInfo } from "../src/bootstrap-parallel.js";
import type { Table } from "../src/data.js";
import { closeManyWorkers, registerManyWorkers } from "../src/fitmany.js";
import { nodeWorkers } from "../src/fitmany-node.js";
import { lmer, type LinearMixedModel, type LmerOptions } from "../src/linearmixedmodel.js";
import { referenceDir, referenceTable } from "./helpers/reference.js";
import path from "node:path";

registerManyWorkers(nodeWorkers);
afterAll(() => closeManyWorkers());

const sleep = () => referenceTable("data/sleepstudy.csv", "sleepstudy");
const SLOPE = "Reaction ~ Days + (Days | Subject)";

/** sleepstudy with Reaction missing at `rows`. */
function withMissing(rows: number[]): Table {
  const t = sleep();
  const y = Float64Array.from((t.columns.get("Reaction") as { values: Float64Array }).values);
  for (const r of rows) y[r] = NaN;
  const columns = new Map(t.columns);
  columns.set("Reaction", { type: "numeric", values: y });
  return { ...t, columns };
}

/** Every value of every row as its 64 bits (so -0, NaN and the last bit count). */
function bits(b: BootMerResult): bigint[] {
  const all = new Float64Array(b.t.length * b.names.length);
  b.t.forEach((row, i) => all.set(row, i * b.names.length));
  return Array.from(new BigUint64Array(all.buffer));
}

/** The fit's JSON without its timing. */
function snapshot(m: LinearMixedModel): string {
  return JSON.stringify({ ...m.toJSON(), time_s: 0 });
}

/** bootMerAsync with its run info. */
async function parallel(m: LinearMixedModel, opts: BootMerAsyncOptions): Promise<{ b: BootMerResult; info: BootRunInfo; progress: number[] }> {
  let info: BootRunInfo | null = null;
  const progress: number[] = [];
  const b = await bootMerAsync(m, { ...opts, onInfo: (i) => (info = i), onProgress: (done) => progress.push(done) });
  return { b, info: info!, progress };
}

/**
 * Serial bootMer, then bootMerAsync with 1 thread (this thread, through fitMany's fitter), 2 threads
 * all in workers and 2 lanes (this thread and a worker): every result the serial one, bit for bit.
 */
async function expectSameAsSerial(m: LinearMixedModel, opts: { nsim: number; seed: number; useREForm?: boolean }): Promise<BootMerResult> {
  const before = snapshot(m);
  const serial = bootMer(m, opts);
  const one = await parallel(m, { ...opts, threads: 1 });
  const workers = await parallel(m, { ...opts, threads: 2, mainThread: false });
  const lanes = await parallel(m, { ...opts, threads: 2 });
  for (const p of [one, workers, lanes]) {
    expect(p.info.mode).toBe("workers");
    expect(p.b).toStrictEqual(serial);
    expect(bits(p.b)).toEqual(bits(serial));
    expect(p.progress.at(-1)).toBe(opts.nsim);
    expect(p.progress.every((v, i) => i === 0 || v > p.progress[i - 1])).toBe(true);
  }
  expect(one.info.workerChunks).toBe(0);
  expect(one.info.threads).toBe(1);
  // every chunk fitted in a worker thread
  expect(workers.info.threads).toBe(2);
  expect(workers.info.chunks).toBeGreaterThan(1);
  expect(workers.info.workerChunks).toBe(workers.info.chunks);
  expect(snapshot(m)).toBe(before);
  return serial;
}

describe("bootMerAsync: bootMer's result on fitMany's workers", () => {
  it("sleepstudy (Days | Subject) REML: 1 thread, 2 workers, 2 lanes and serial bootMer agree bit for bit", async () => {
    const m = await lmer(SLOPE, sleep());
    const serial = await expectSameAsSerial(m, { nsim: 120, seed: 20240601 });
    expect(serial.failures).toBe(0);
    // in batches of 25 replicates (5 fitMany calls, the random stream continued across them)
    const batched = await parallel(m, { nsim: 120, seed: 20240601, threads: 2, batchSize: 25 });
    expect(batched.info.batches).toBe(5);
    expect(batched.b).toStrictEqual(serial);
    expect(batched.progress.at(-1)).toBe(120);
    // a different seed, different replicates
    expect(bits((await parallel(m, { nsim: 120, seed: 7, threads: 1 })).b)).not.toEqual(bits(serial));
  });

  it("Penicillin crossed (1 | plate) + (1 | sample); Dyestuff2 with singular refits (their warnings counted alike)", async () => {
    const pen = await lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", referenceTable("data/Penicillin.csv", "Penicillin"));
    await expectSameAsSerial(pen, { nsim: 60, seed: 3 });
    const dye = await lmer("Yield ~ 1 + (1 | Batch)", referenceTable("data/Dyestuff2.csv", "Dyestuff2"));
    const serial = await expectSameAsSerial(dye, { nsim: 60, seed: 11 });
    expect(Object.values(serial.warnings).reduce((a, c) => a + c, 0)).toBeGreaterThan(5);
    expect(Object.keys(serial.warnings).some((w) => /singular/.test(w))).toBe(true);
  });

  it("ML with useREForm (simulation conditional on b̂), and the TypeScript kernels in the workers", async () => {
    const ml = await lmer("Reaction ~ Days + (1 | Subject)", sleep(), { REML: false });
    await expectSameAsSerial(ml, { nsim: 40, seed: 5, useREForm: true });
    const ts = await lmer(SLOPE, sleep(), { engine: "ts" } as LmerOptions);
    await expectSameAsSerial(ts, { nsim: 24, seed: 9 });
  });

  it("a failing replicate: the same NaN row and failure message (the response named as bootMer names it)", async () => {
    const m = await lmer(SLOPE, sleep());
    // Replicate 4's response replaced by one the fixed effects fit exactly: its refit fails.
    const simulate = m.simulate.bind(m);
    let calls = 0;
    const days = Float64Array.from({ length: m.n }, (_, r) => m.frame.X[r * 2 + 1]);
    m.simulate = (nsim, o) => {
      const out = simulate(nsim, o);
      if (calls++ === 3) out[0] = days.map((d) => 250 + 10 * d);
      return out;
    };
    const serial = bootMer(m, { nsim: 20, seed: 2 });
    expect(serial.failures).toBe(1);
    expect(Object.keys(serial.failureMessages)[0]).toMatch(/^the response 'Reaction' is fitted exactly/);
    expect(Number.isNaN(serial.t[3][0])).toBe(true);
    calls = 0;
    const workers = await parallel(m, { nsim: 20, seed: 2, threads: 2, mainThread: false });
    expect(workers.info.workerChunks).toBe(workers.info.chunks);
    expect(workers.b).toStrictEqual(serial);
    expect(bits(workers.b)).toEqual(bits(serial));
  });

  it("rows dropped for missing responses: fitted on the rows used; a frame the subset would change runs serially", async () => {
    const m = await lmer(SLOPE, withMissing([3, 50, 51, 177]));
    expect(m.frame.nDropped).toBe(4);
    await expectSameAsSerial(m, { nsim: 40, seed: 4 });
    // scale(Days) is centred over every row of the data, also those without a response: the rows
    // used alone would centre it elsewhere, so bootMerAsync runs bootMer and says why.
    const scaled = await lmer("Reaction ~ scale(Days) + (1 | Subject)", withMissing([3, 50]));
    const serial = bootMer(scaled, { nsim: 20, seed: 4 });
    const p = await parallel(scaled, { nsim: 20, seed: 4, threads: 2 });
    expect(p.info.mode).toBe("serial");
    expect(p.info.reason).toMatch(/model frame/);
    expect(p.b).toStrictEqual(serial);
  });

  it("a design whose variance fractions fail (fitMany computes them per fit) runs serially", async () => {
    const m = await lmer("Reaction ~ Days + (1 | Days)", sleep());
    const serial = bootMer(m, { nsim: 10, seed: 6 });
    const p = await parallel(m, { nsim: 10, seed: 6, threads: 2 });
    expect(p.info.mode).toBe("serial");
    expect(p.info.reason).toMatch(/variance fractions fail/);
    expect(p.b).toStrictEqual(serial);
    expect(serial.failures).toBe(0);
  });

  it("a custom statistic runs on this thread (threads > 1 is refused); nsim, threads and batchSize are checked", async () => {
    const m = await lmer(SLOPE, sleep());
    const statistic = (fit: LinearMixedModel) => [fit.sigma, fit.objectiveAtOptimum];
    const serial = bootMer(m, { nsim: 10, seed: 1, statistic, names: ["sigma", "objective"] });
    const p = await parallel(m, { nsim: 10, seed: 1, statistic, names: ["sigma", "objective"] });
    expect(p.info.mode).toBe("serial");
    expect(p.info.reason).toMatch(/custom statistic/);
    expect(p.b).toStrictEqual(serial);
    await expect(bootMerAsync(m, { nsim: 10, seed: 1, statistic, threads: 2 })).rejects.toThrow(/custom bootstrap statistic .* cannot be sent to workers/);
    await expect(bootMerAsync(m, { nsim: 0 })).rejects.toThrow(/nsim must be a positive integer/);
    await expect(bootMerAsync(m, { nsim: 5, threads: 1.5 })).rejects.toThrow(/threads must be a positive integer/);
    await expect(bootMerAsync(m, { nsim: 5, batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer/);
  });

  it("confint: confintBootAsync and m.confintAsync give confintBoot's intervals", async () => {
    const m = await lmer(SLOPE, sleep());
    const serial = confintBoot(m, { nsim: 50, seed: 21, level: 0.9 });
    expect(await confintBootAsync(m, { nsim: 50, seed: 21, level: 0.9, threads: 2 })).toStrictEqual(serial);
    expect(await m.confintAsync({ method: "boot", nsim: 50, seed: 21, level: 0.9, threads: 2 })).toStrictEqual(serial);
    expect(await m.confintAsync({ method: "Wald" })).toEqual(m.confint());
    await expect(m.confintAsync({ method: "boot", nsim: 5, level: 1.5 })).rejects.toThrow(/level/);
    await expect(confintBootAsync(m, { nsim: 5, type: "basic" as "perc" })).rejects.toThrow(/not available/);
  });
});

describe("lmm confint --method boot --threads N", () => {
  // Last: the CLI's module registers the Node entry's threads, as in the installed command.
  it("the same intervals for 1 and 2 threads as the serial bootstrap; --threads is checked", async () => {
    const { runCli } = await import("./helpers/cli.js");
    const file = path.join(referenceDir, "data", "sleepstudy.csv");
    const args = ["confint", file, "-f", SLOPE, "--method", "boot", "--nsim", "40", "--seed", "7", "--json"];
    const one = await runCli([...args, "--threads", "1"]);
    const two = await runCli([...args, "--threads", "2"]);
    const all = await runCli(args);
    expect(one.code).toBe(0);
    const m = await lmer(SLOPE, sleep());
    const serial = JSON.parse(JSON.stringify(m.confint({ method: "boot", nsim: 40, seed: 7 })));
    for (const r of [one, two, all]) expect(JSON.parse(r.out)).toEqual(serial);
    const bad = await runCli([...args, "--threads", "0"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--threads must be a positive integer, got '0'/);
    const wald = await runCli(["confint", file, "-f", SLOPE, "--method", "wald", "--threads", "2"]);
    expect(wald.err).toMatch(/--threads is for --method boot/);
  });
});
