// One dataset × one engine of the benchmark suite, in its own process so that its peak memory is its
// own: bench/suite.ts runs `node --import tsx bench/fit-case.ts '<spec JSON>'` and reads the JSON
// result from the last line of stdout.
//
// What it measures, in order:
//   read     the CSV through the streaming reader (readCSVStream), levels from the levels file
//   fit      LinearMixedModel.fit (model frame, A = [Z X y]'[Z X y], the optimisation), `warmup`
//            untimed fits first (small data: the JIT compiles the TypeScript on the first fits),
//            then `repeats` timed fits: the median is reported
//   peak     process.resourceUsage().maxRSS right after the first fit: the peak resident set of the
//            process through Node itself, the data and one fit
//   evals    objective evaluations per second at θ̂ (m.objective: the per-θ update of L alone),
//            the median of 10 windows
//   parts    one more model frame alone, and a BlockedSystem built from it alone (the A accumulation),
//            and BlockedSystem.update at `evalTheta` (the per-evaluation time compared across sizes)
// With systemOnly (a design that cannot be fitted, n ≤ q) only read, frame, system and update run.
import fs from "node:fs";
import path from "node:path";
import { BlockedSystem, type ReBlock } from "../src/blocked.js";
import { instantiateKernels, instantiateThreadsKernels } from "../src/engine.js";
import { registerThreadSpawner } from "../src/threads.js";
import { nodeHelperCount, nodeThreadSpawner } from "../src/threads-node.js";
import { parseFormula } from "../src/formula.js";
import { TsKernels, type EngineName, type Kernels } from "../src/kernels.js";
import { LinearMixedModel } from "../src/linearmixedmodel.js";
import { modelFrame, type ModelFrame, type ReTermData } from "../src/modelframe.js";
import { readCSVStream, readLevels } from "../src/node.js";

export interface CaseSpec {
  id: string;
  csv: string;
  levels: string | null;
  formula: string;
  REML: boolean;
  engine: EngineName;
  repeats: number;
  warmup: number;
  /** Seconds spent evaluating the objective at θ̂ (and again at evalTheta). */
  evalSeconds: number;
  evalTheta?: number[];
  systemOnly?: boolean;
}

export interface CaseResult {
  id: string;
  engine: EngineName;
  n: number;
  p: number;
  groups: Record<string, number>;
  read_s: number;
  frame_s: number;
  system_s: number;
  fit_s?: number;
  fit_runs_s?: number[];
  objective?: number;
  feval?: number;
  theta?: number[];
  warnings?: string[];
  /** m.objective(θ̂) per second. */
  evals_per_s?: number;
  /** BlockedSystem.update(evalTheta) (or θ̂) in microseconds. */
  update_us: number;
  update_theta: number[];
  peak_rss_mb: number;
  peak_rss_end_mb: number;
  wasm_memory_mb: number | null;
  node: string;
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

async function kernelsFor(engine: EngineName): Promise<Kernels> {
  if (engine === "ts") return new TsKernels();
  if (engine === "wasm-threads") {
    registerThreadSpawner(nodeThreadSpawner, nodeHelperCount());
    return instantiateThreadsKernels(new Uint8Array(fs.readFileSync(path.join(root, "build", "threads.wasm"))), nodeHelperCount(), true);
  }
  const file = engine === "wasm-simd" ? "simd.wasm" : "release.wasm";
  return instantiateKernels(engine, new Uint8Array(fs.readFileSync(path.join(root, "build", file))));
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const maxRssMb = () => process.resourceUsage().maxRSS / 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/**
 * Calls per second of fn over about `budget` seconds: the median over 10 windows (each at least one
 * call), so that a burst of other work on a shared machine moves a window, not the result.
 */
function rate(fn: () => void, budget: number): number {
  const rates: number[] = [];
  for (let w = 0; w < 10; w++) {
    let count = 0;
    const t0 = performance.now();
    do {
      fn();
      count++;
    } while (performance.now() - t0 < budget * 100);
    rates.push(count / seconds(t0));
  }
  return median(rates);
}

/** The engine's blocks as LinearMixedModel makes them: terms by decreasing number of levels, stable. */
function blocksOf(terms: ReTermData[]): ReBlock[] {
  return terms
    .map((t, i) => ({ t, i }))
    .sort((a, b) => b.t.levels.length - a.t.levels.length || a.i - b.i)
    .map(({ t }) => ({ m: t.levels.length, k: t.names.length, refs: t.refs, Z: t.Z }));
}

function systemOf(K: Kernels, frame: ModelFrame): BlockedSystem {
  const y = frame.offset ? frame.y.map((v, i) => v - frame.offset![i]) : frame.y;
  return new BlockedSystem(K, blocksOf(frame.reTerms), frame.X, frame.xNames.length, y);
}

export async function runCase(spec: CaseSpec, log: (s: string) => void = () => {}): Promise<CaseResult> {
  const K = await kernelsFor(spec.engine);
  let t0 = performance.now();
  const levels = spec.levels && fs.existsSync(spec.levels) ? readLevels(spec.levels) : undefined;
  const table = await readCSVStream(spec.csv, { levels });
  const read_s = seconds(t0);
  log(`${spec.id} ${spec.engine}: read ${table.nrow} rows in ${read_s.toFixed(2)} s`);

  let fit: Partial<CaseResult> = {};
  let peak = NaN;
  let m: LinearMixedModel | undefined;
  if (!spec.systemOnly) {
    for (let i = 0; i < spec.warmup; i++) {
      m = LinearMixedModel.fit(K, spec.formula, table, { REML: spec.REML });
      if (i === 0) peak = maxRssMb();
    }
    const runs: number[] = [];
    for (let i = 0; i < spec.repeats; i++) {
      t0 = performance.now();
      m = LinearMixedModel.fit(K, spec.formula, table, { REML: spec.REML });
      runs.push(seconds(t0));
      if (i === 0 && spec.warmup === 0) peak = maxRssMb();
      log(`${spec.id} ${spec.engine}: fit ${i + 1}/${spec.repeats} ${runs[i].toFixed(3)} s`);
    }
    const theta = Float64Array.from(m!.theta);
    fit = {
      fit_s: median(runs),
      fit_runs_s: runs,
      objective: m!.objectiveAtOptimum,
      feval: m!.feval,
      theta: m!.theta,
      warnings: m!.warnings,
      evals_per_s: rate(() => m!.objective(theta), spec.evalSeconds),
    };
  }

  // The parts of a fit, each alone: the model frame, then the blocked system (A accumulated once).
  // Without fits before, one untimed frame first, so that every dataset's frame is timed JIT-compiled.
  if (spec.systemOnly) modelFrame(parseFormula(spec.formula), table, {});
  t0 = performance.now();
  const frame = modelFrame(parseFormula(spec.formula), table, {});
  const frame_s = seconds(t0);
  t0 = performance.now();
  const system = systemOf(K, frame);
  const system_s = seconds(t0);
  if (spec.systemOnly) peak = maxRssMb();
  const theta = spec.evalTheta ?? m?.theta;
  if (!theta) throw new Error(`${spec.id}: systemOnly needs evalTheta`);
  if (system.update(theta) === null) throw new Error(`${spec.id}: the system is not positive definite at θ = ${theta.join(", ")}`);
  const update_us = 1e6 / rate(() => system.update(theta), spec.evalSeconds);

  const groups: Record<string, number> = {};
  for (const t of frame.reTerms) groups[t.group] = t.levels.length;
  const memory = K.name === "ts" ? null : K.buffer().byteLength / 2 ** 20;
  return {
    id: spec.id,
    engine: spec.engine,
    n: frame.n,
    p: frame.xNames.length,
    groups,
    read_s,
    frame_s,
    system_s,
    ...fit,
    update_us,
    update_theta: Array.from(theta),
    peak_rss_mb: peak,
    peak_rss_end_mb: maxRssMb(),
    wasm_memory_mb: memory,
    node: process.version,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const spec = JSON.parse(process.argv[2]) as CaseSpec;
  const result = await runCase(spec, (s) => process.stderr.write(s + "\n"));
  process.stdout.write(JSON.stringify(result) + "\n");
}
