// Seeded simulated datasets of the benchmark suite, written as CSV + levels JSON (the format of
// test/fixtures/reference/data) to bench/data/ (gitignored: they are regenerated, never committed).
//
//   eeg-sim       EEG / psycholinguistics: 30 subjects × 120 items fully crossed (3,600 trials),
//                 condition congruent/incongruent counterbalanced (Latin square: within subject and
//                 within item). Model: amp ~ condition + (1 + condition | subject) + (1 | item).
//   long-1m       longitudinal: 5,000 groups × 200 rows = 1,000,000 rows. Per row an irregular time t
//                 in [0, 10), two row-level covariates x1, x2 ~ N(0, 1); per group a binary x3 (e.g.
//                 treatment arm) and a correlated random intercept and slope in t.
//                 Model: y ~ t + x1 + x2 + x3 + (1 + t | g).
//   long-20k      the same 5,000 groups (same x3 and random effects), 4 rows each: the smallest
//                 balanced size at which (1 + t | g) is identifiable (lme4 and this library refuse
//                 n ≤ q = 2 × 5,000 random effects).
//   long-10k      the same groups, 2 rows each (n = q: not fittable; used for the per-evaluation time
//                 through the blocked system alone, see bench/suite.ts).
//
// Every number is rounded to a few decimals before it is written, so the CSV holds it exactly and R
// and this library read the same doubles. Run: npx tsx bench/simulate.ts [--seed 20261125] [--force]
import fs from "node:fs";
import path from "node:path";
import { Rng } from "../src/random.js";

export const benchDir = path.dirname(new URL(import.meta.url).pathname);
export const dataDir = path.join(benchDir, "data");

const GROUPS = 5000;
const DEFAULT_SEED = 20261125;

/** Rounds to `d` decimals and prints without exponent or trailing noise (the CSV text of the value). */
function fixed(x: number, d: number): string {
  const s = x.toFixed(d);
  return s === "-0" || /^-0\.0+$/.test(s) ? s.slice(1) : s;
}

/** Writes lines through a buffer, so a million rows cost a few hundred write calls. */
class CsvWriter {
  private fd: number;
  private parts: string[] = [];
  private size = 0;
  constructor(file: string, header: string[]) {
    this.fd = fs.openSync(file, "w");
    this.line(header.map((h) => `"${h}"`).join(","));
  }
  line(s: string): void {
    this.parts.push(s);
    this.size += s.length + 1;
    if (this.size > 1 << 20) this.flush();
  }
  private flush(): void {
    fs.writeSync(this.fd, this.parts.join("\n") + "\n");
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    if (this.parts.length) this.flush();
    fs.closeSync(this.fd);
  }
}

function writeLevels(file: string, levels: Record<string, { levels: string[]; ordered: boolean }>): void {
  fs.writeFileSync(file, JSON.stringify(levels, null, 2) + "\n");
}

/** Draws (b0, b1) ~ N(0, Σ) with sds s0, s1 and correlation rho (Σ's Cholesky factor by hand). */
function correlatedPair(rng: Rng, s0: number, s1: number, rho: number): [number, number] {
  const z0 = rng.normal(), z1 = rng.normal();
  return [s0 * z0, s1 * (rho * z0 + Math.sqrt(1 - rho * rho) * z1)];
}

export interface SimulatedDataset {
  name: string;
  csv: string;
  levels: string;
  rows: number;
}

/** The EEG design: 30 subjects × 120 items, every trial kept. */
export function simulateEEG(seed = DEFAULT_SEED, dir = dataDir): SimulatedDataset {
  const ns = 30, ni = 120;
  const rng = new Rng(seed);
  // Subject intercept sd 1.5 µV, condition effect sd 0.8 µV, correlation −0.3; item sd 0.9; residual
  // sd 2 (single-trial amplitudes are noisy); fixed: −2 µV, incongruent −1.1 µV (an N400-like effect).
  const subj = Array.from({ length: ns }, () => correlatedPair(rng, 1.5, 0.8, -0.3));
  const item = Array.from({ length: ni }, () => 0.9 * rng.normal());
  const subjects = Array.from({ length: ns }, (_, i) => `s${i + 1}`);
  const items = Array.from({ length: ni }, (_, i) => `w${i + 1}`);
  fs.mkdirSync(dir, { recursive: true });
  const csv = path.join(dir, "eeg-sim.csv");
  const w = new CsvWriter(csv, ["subject", "item", "condition", "amp"]);
  for (let s = 0; s < ns; s++) {
    for (let i = 0; i < ni; i++) {
      const inc = (s + i) % 2;
      const amp = -2 - 1.1 * inc + subj[s][0] + subj[s][1] * inc + item[i] + 2 * rng.normal();
      w.line(`"${subjects[s]}","${items[i]}","${inc ? "incongruent" : "congruent"}",${fixed(amp, 4)}`);
    }
  }
  w.close();
  const levels = path.join(dir, "eeg-sim.levels.json");
  // Natural order (s1, s2, ..., s10), not R's alphabetical one: the levels file carries it.
  writeLevels(levels, {
    subject: { levels: subjects, ordered: false },
    item: { levels: items, ordered: false },
    condition: { levels: ["congruent", "incongruent"], ordered: false },
  });
  return { name: "eeg-sim", csv, levels, rows: ns * ni };
}

/**
 * The longitudinal design with `perGroup` rows in each of the 5,000 groups. The group-level values
 * (x3, random intercept and slope) come from the seed alone, so every size shares the same groups.
 */
export function simulateLongitudinal(name: string, perGroup: number, seed = DEFAULT_SEED, dir = dataDir): SimulatedDataset {
  const groupRng = new Rng(seed);
  // Random intercept sd 2, slope sd 0.3 per unit of t, correlation 0.25; residual sd 1.5.
  const b = Array.from({ length: GROUPS }, () => correlatedPair(groupRng, 2, 0.3, 0.25));
  const x3 = Array.from({ length: GROUPS }, () => (groupRng.uniform() < 0.5 ? 1 : 0));
  const labels = Array.from({ length: GROUPS }, (_, j) => `g${String(j + 1).padStart(4, "0")}`);
  const rng = new Rng(seed + perGroup); // each size its own rows
  fs.mkdirSync(dir, { recursive: true });
  const csv = path.join(dir, `${name}.csv`);
  const w = new CsvWriter(csv, ["g", "t", "x1", "x2", "x3", "y"]);
  for (let j = 0; j < GROUPS; j++) {
    for (let r = 0; r < perGroup; r++) {
      const t = Math.round(rng.uniform() * 10000) / 1000;
      const x1 = Math.round(rng.normal() * 1e4) / 1e4;
      const x2 = Math.round(rng.normal() * 1e4) / 1e4;
      const y = 10 + 0.5 * t + 1.0 * x1 - 0.5 * x2 + 0.8 * x3[j] + b[j][0] + b[j][1] * t + 1.5 * rng.normal();
      w.line(`${labels[j]},${fixed(t, 3)},${fixed(x1, 4)},${fixed(x2, 4)},${x3[j]},${fixed(y, 4)}`);
    }
  }
  w.close();
  const levels = path.join(dir, `${name}.levels.json`);
  writeLevels(levels, { g: { levels: labels, ordered: false } });
  return { name, csv, levels, rows: GROUPS * perGroup };
}

/** The suite's simulated datasets, written unless already there (same seed, same files). */
export function ensureSimulated(opts: { seed?: number; force?: boolean; dir?: string; log?: (s: string) => void } = {}): void {
  const seed = opts.seed ?? DEFAULT_SEED;
  const dir = opts.dir ?? dataDir;
  const stamp = path.join(dir, "SEED");
  const fresh = !opts.force && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8").trim() === String(seed);
  const jobs: [string, () => SimulatedDataset][] = [
    ["eeg-sim", () => simulateEEG(seed, dir)],
    ["long-10k", () => simulateLongitudinal("long-10k", 2, seed, dir)],
    ["long-20k", () => simulateLongitudinal("long-20k", 4, seed, dir)],
    ["long-1m", () => simulateLongitudinal("long-1m", 200, seed, dir)],
  ];
  for (const [name, make] of jobs) {
    if (fresh && fs.existsSync(path.join(dir, `${name}.csv`))) continue;
    const t0 = performance.now();
    const d = make();
    opts.log?.(`wrote ${path.relative(process.cwd(), d.csv)} (${d.rows} rows, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(stamp, `${seed}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("--seed");
  const seed = at >= 0 ? Number(argv[at + 1]) : DEFAULT_SEED;
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed needs an integer, got ${argv[at + 1]}`);
  ensureSimulated({ seed, force: argv.includes("--force"), log: console.log });
}
