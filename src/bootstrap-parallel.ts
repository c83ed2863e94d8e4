// The parametric bootstrap on fitMany's workers: bootMer's replicates as many responses on one design.
//
// The responses are simulated here, on the calling thread, in bootMer's order from bootMer's single
// random stream, a batch at a time (memory stays bounded for large n), and each batch is fitted by
// fitMany (worker_threads in Node, Web Workers in browsers; this thread alone where there are none)
// with every fit starting at θ̂, as bootMer's refitResponse does, and no warm start between replicates.
// The default statistic (bootParameters) needs only each fit's θ, σ and β, which the workers return.
// A replicate's fit is bootMer's bit for bit: the same design built from the same rows, the same
// kernels, start and optimizer, so the result equals bootMer's for any number of threads and chunks.
// Where that cannot hold the replicates run through bootMer on this thread instead (BootRunInfo says
// why): a custom statistic (a function of the fitted model, which cannot be sent to a worker), or a
// design that fitMany would not rebuild bit for bit. Runtime-neutral: no Node API.

import { bootIntervals, bootParameterNames, bootParameters, bootParametersOf, bootMer, checkBootType } from "./bootstrap.js";
import type { BootMerOptions, BootMerResult, ConfintRow } from "./bootstrap.js";
import { BootTally, checkNsim } from "./bootstrap-tally.js";
import { toColumns, type Table } from "./data.js";
import { fitMany, type FitManyOptions } from "./fitmany.js";
import { subsetTable } from "./io/match.js";
import type { LinearMixedModel } from "./linearmixedmodel.js";
import type { ManyResults } from "./manyresults.js";
import { modelFrame, type ModelFrame } from "./modelframe.js";
import { randomSeed, Rng } from "./random.js";
import type { DenseResponses } from "./responses.js";
import { varPart } from "./varpart.js";

export interface BootMerAsyncOptions extends BootMerOptions {
  /**
   * Lanes fitting replicates, as fitMany's threads (default: all cores where workers are available;
   * 1: this thread only). With a custom `statistic` the replicates run on this thread, and threads > 1
   * is an error.
   */
  threads?: number;
  /** Whether this thread fits replicates too (fitMany's mainThread; default true). */
  mainThread?: boolean;
  /**
   * Replicates simulated and handed to fitMany at a time (default: as many as 64 MiB of responses
   * hold): the memory bound. The result does not depend on it.
   */
  batchSize?: number;
  /** Called with how the replicates were run, when they are done. */
  onInfo?: (info: BootRunInfo) => void;
}

export interface BootRunInfo {
  /** "workers": fitted by fitMany's lanes; "serial": by bootMer on this thread, for `reason`. */
  mode: "workers" | "serial";
  reason?: string;
  /** Lanes used (this thread counted when it fits). */
  threads: number;
  /** Chunks of replicates handed out, and how many of them workers fitted. */
  chunks: number;
  workerChunks: number;
  /** fitMany calls (batches of simulated responses). */
  batches: number;
  timeS: number;
}

/** Simulated values held at once (64 MiB of doubles), whatever nsim is. */
const BATCH_VALUES = 1 << 23;
/** Replicates per chunk at most (fitMany's default chunk size). */
const MAX_CHUNK = 32;

/**
 * bootMer(m, opts) with the refits on fitMany's workers: the same BootMerResult (t rows, failures,
 * warnings) for the same seed, for any number of threads. See the file's comment for when it runs
 * serially instead; onProgress is called as chunks of replicates complete.
 */
export async function bootMerAsync(m: LinearMixedModel, opts: BootMerAsyncOptions): Promise<BootMerResult> {
  const t0 = performance.now();
  checkNsim(opts.nsim);
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads > 0)) {
    throw new Error(`threads must be a positive integer, got ${opts.threads}`);
  }
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) {
    throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  if (opts.statistic) {
    if ((opts.threads ?? 1) > 1) {
      throw new Error(
        "a custom bootstrap statistic is a function of the fitted model and cannot be sent to workers: " +
          "leave threads out (or 1) to run it on this thread, or use the default statistic",
      );
    }
    return serially(m, opts, "a custom statistic runs on this thread", t0);
  }
  const design = replicateDesign(m);
  if ("serialBecause" in design) return serially(m, opts, design.serialBecause, t0);
  return onWorkers(m, opts, design, t0);
}

/** bootMer on this thread, reported as such. */
function serially(m: LinearMixedModel, opts: BootMerAsyncOptions, reason: string, t0: number): BootMerResult {
  const b = bootMer(m, opts);
  opts.onInfo?.({ mode: "serial", reason, threads: 1, chunks: 0, workerChunks: 0, batches: 0, timeS: (performance.now() - t0) / 1000 });
  return b;
}

/** What fitMany rebuilds m's design from: the formula's right side, the rows m used, m's options. */
interface ReplicateDesign {
  formula: string;
  table: Table;
  options: FitManyOptions;
}

/**
 * m's design as fitMany's input, or why fitMany would not rebuild it bit for bit. The rows m dropped
 * (missing values) are left out of the table, so every simulated response is complete and fitted on
 * the design itself; a subset can change what depends on all rows of the data (scale() of a column
 * with rows dropped for a missing response only), so the subset's model frame must be m's.
 */
function replicateDesign(m: LinearMixedModel): ReplicateDesign | { serialBecause: string } {
  const all = toColumns(m.data, { levels: m.options.levels });
  const table = m.frame.nDropped === 0 ? all : subsetTable(all, m.frame.rows);
  if (table !== all && !sameFrame(modelFrame(m.formula, table, m.options), m.frame)) {
    return { serialBecause: "the model frame of the rows used differs from the fit's (scale() over rows with a missing response?)" };
  }
  // fitMany computes each fit's variance fractions; a design where they fail (a fixed-effect term
  // named as a grouping factor) fails so for every replicate, while bootMer's refits succeed.
  try {
    varPart(m);
  } catch (e) {
    return { serialBecause: `fitMany's variance fractions fail on this design (${e instanceof Error ? e.message : String(e)})` };
  }
  const source = m.formula.source;
  const { start: _s, progress: _p, engine: _e, ...lmerOptions } = m.options;
  return {
    formula: source.slice(source.indexOf("~")), // the right side: fitMany names the response itself
    table,
    options: { ...lmerOptions, engine: m.kernels.name, start: m.theta, warmStart: false, ddf: "none" },
  };
}

/** Whether two model frames give the same design bit for bit (X, Z, grouping, offset, warnings). */
function sameFrame(a: ModelFrame, b: ModelFrame): boolean {
  const sameTerms =
    a.reTerms.length === b.reTerms.length &&
    a.reTerms.every((t, i) => {
      const u = b.reTerms[i];
      return t.group === u.group && t.levels.length === u.levels.length && sameBits(t.names, u.names) && sameBits(t.refs, u.refs) && sameBits(t.Z, u.Z);
    });
  const sameOffset = a.offset === null || b.offset === null ? a.offset === b.offset : sameBits(a.offset, b.offset);
  return sameTerms && sameOffset && sameBits(a.xNames, b.xNames) && sameBits(a.X, b.X) && sameBits(a.warnings, b.warnings);
}

function sameBits<T>(a: ArrayLike<T>, b: ArrayLike<T>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** The replicates in batches: simulated here in bootMer's order, fitted by fitMany, tallied in order. */
async function onWorkers(m: LinearMixedModel, opts: BootMerAsyncOptions, design: ReplicateDesign, t0: number): Promise<BootMerResult> {
  const { nsim } = opts;
  const seed = opts.seed ?? randomSeed();
  const rng = new Rng(seed);
  const stat0 = bootParameters(m);
  const tally = new BootTally(nsim, stat0.length, new Set(m.frame.warnings));
  const batch = Math.min(nsim, opts.batchSize ?? Math.max(1, Math.floor(BATCH_VALUES / m.n)));
  // Chunks only share out the work (with no warm start a replicate's fit does not depend on them):
  // about 64 per batch, so that the lanes finish close together.
  const chunkSize = Math.min(MAX_CHUNK, Math.max(1, Math.ceil(batch / 64)));
  const info: BootRunInfo = { mode: "workers", threads: 1, chunks: 0, workerChunks: 0, batches: 0, timeS: 0 };
  for (let from = 0; from < nsim; from += batch) {
    const count = Math.min(batch, nsim - from);
    const res = await fitMany(design.formula, design.table, simulated(m, count, rng, opts.useREForm), {
      ...design.options,
      chunkSize,
      threads: opts.threads,
      mainThread: opts.mainThread,
      onProgress: opts.onProgress && ((p) => opts.onProgress!(from + p.done, nsim)),
    });
    tallyBatch(m, res, from, tally);
    info.threads = Math.max(info.threads, res.info.threads);
    info.chunks += Math.ceil(count / chunkSize);
    info.workerChunks += res.info.workerChunks;
    info.batches++;
  }
  info.timeS = (performance.now() - t0) / 1000;
  opts.onInfo?.(info);
  return tally.result(stat0, bootParameterNames(m), seed);
}

/** `count` responses simulated from m, one after another from `rng` (bootMer's draws), as fitMany's matrix. */
function simulated(m: LinearMixedModel, count: number, rng: Rng, useREForm: boolean | undefined): DenseResponses {
  const n = m.n;
  const values = new Float64Array(count * n);
  for (let r = 0; r < count; r++) values.set(m.simulate(1, { rng, useREForm })[0], r * n);
  return { kind: "dense", layout: "responses-by-obs", nResponses: count, nObs: n, values };
}

/** A batch's fits as bootMer's rows: the statistic from θ, σ, β, or the failure. */
function tallyBatch(m: LinearMixedModel, res: ManyResults, from: number, tally: BootTally): void {
  const J = res.terms.length, T = res.thetaNames.length;
  if (!sameBits(res.terms, m.frame.xNames) || !sameBits(res.thetaNames, m.thetaNames())) {
    throw new Error(`internal: the bootstrap's design has terms ${res.terms.join(", ")} and θ ${res.thetaNames.join(", ")}, the fit's ${m.frame.xNames.join(", ")} and ${m.thetaNames().join(", ")}`);
  }
  for (let r = 0; r < res.nResponses; r++) {
    const error = res.errors[r];
    if (error !== null) {
      tally.fail(from + r, serialMessage(error, m.frame.responseName));
      continue;
    }
    const value = bootParametersOf(m.reTerms, res.theta.subarray(r * T, (r + 1) * T), res.sigma[r], res.estimate.subarray(r * J, (r + 1) * J));
    tally.warn(res.messages[r]);
    tally.value(from + r, value);
  }
}

/**
 * A failed fit's message in bootMer's words. fitMany's fitter names the response by a placeholder,
 * which it strips from its messages ("the response is fitted exactly ..."); bootMer's refit names it
 * as m does ("the response 'Reaction' is fitted exactly ...").
 */
function serialMessage(error: string, responseName: string): string {
  return error.replace(/^the response is fitted exactly/, `the response '${responseName}' is fitted exactly`);
}

/**
 * confint(m, method = "boot") with the replicates on fitMany's workers (bootMerAsync): the same
 * intervals as confintBoot with the same seed.
 */
export async function confintBootAsync(
  m: LinearMixedModel,
  opts: {
    nsim?: number;
    seed?: number;
    level?: number;
    type?: "perc";
    onProgress?: (done: number, total: number) => void;
    threads?: number;
    mainThread?: boolean;
    onInfo?: (info: BootRunInfo) => void;
  } = {},
): Promise<ConfintRow[]> {
  checkBootType(opts.type);
  const { level, type, nsim, ...run } = opts;
  const b = await bootMerAsync(m, { ...run, nsim: nsim ?? 500 });
  return bootIntervals(b, { level, type });
}
