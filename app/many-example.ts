// The bundled many-response example: a small single-cell-like study simulated in the page (seeded, so
// every visit and test/app.test.ts see the same numbers) rather than a committed file. Donors are split
// between two conditions, so the condition effect is tested against donor-to-donor variation: the
// pseudo-replication a per-cell t test ignores and (1 | donor) accounts for.
// Output: the texts of `lmm many --matrix matrix.csv --meta meta.csv`'s two files.
import { Rng } from "../src/random.js";

export interface SingleCellSpec {
  donors: number;
  cellsPerDonor: number;
  genes: number;
  /** Fraction of genes whose mean differs between the conditions. */
  deFraction: number;
  seed: number;
}

export const SINGLE_CELL_EXAMPLE: SingleCellSpec = { donors: 8, cellsPerDonor: 60, genes: 300, deFraction: 0.1, seed: 20240508 };

/** The formula the example is fitted with. */
export const SINGLE_CELL_FORMULA = "~ condition + (1 | donor)";

export interface SimulatedStudy {
  /** Genes × cells, log1p(counts): a header of cell ids, then a row per gene. */
  matrixCSV: string;
  /** One row per cell: cell id, donor, condition, library size. */
  metaCSV: string;
  /** The genes simulated with a condition effect (log scale), for the curious. */
  truth: Record<string, number>;
}

/**
 * Poisson deviate by inversion of the CDF. A large mean is split in two halves (a sum of Poissons is
 * Poisson), so exp(−mean) never underflows and the loops stay short.
 */
function poisson(rng: Rng, mean: number): number {
  if (mean > 30) return poisson(rng, mean / 2) + poisson(rng, mean / 2);
  let k = 0, p = Math.exp(-mean), cdf = p;
  const u = rng.uniform();
  while (u > cdf && k < 10000) {
    k++;
    p *= mean / k;
    cdf += p;
  }
  return k;
}

const pad = (i: number, width: number) => String(i).padStart(width, "0");

/**
 * Counts ~ Poisson(exp(base + donor effect + condition effect + cell size)), per gene its own base level
 * (0.3 to 30 counts per cell), donor sd (0.15 to 0.5 on the log scale) and, for a tenth of the genes, a
 * condition effect of ±0.5 to 1.5; the matrix holds log1p(count) with 4 decimals, as a log-normalised
 * expression matrix would.
 */
export function simulateSingleCell(spec: SingleCellSpec = SINGLE_CELL_EXAMPLE): SimulatedStudy {
  const rng = new Rng(spec.seed);
  const { donors, cellsPerDonor, genes } = spec;
  const nCells = donors * cellsPerDonor;
  const cellIds: string[] = [];
  const donorOf = new Int32Array(nCells);
  const logSize = new Float64Array(nCells);
  for (let d = 0; d < donors; d++) {
    for (let c = 0; c < cellsPerDonor; c++) {
      const i = d * cellsPerDonor + c;
      cellIds.push(`D${d + 1}_${pad(c + 1, 3)}`);
      donorOf[i] = d;
      logSize[i] = 0.3 * rng.normal();
    }
  }
  // The first half of the donors are controls, the others treated.
  const treated = (d: number) => d >= donors / 2;
  const meta = ["cell,donor,condition,library_size"];
  for (let i = 0; i < nCells; i++) {
    meta.push(`${cellIds[i]},D${donorOf[i] + 1},${treated(donorOf[i]) ? "treated" : "control"},${Math.exp(logSize[i]).toFixed(3)}`);
  }
  const lines = ["gene," + cellIds.join(",")];
  const truth: Record<string, number> = {};
  const donorEffect = new Float64Array(donors);
  for (let g = 0; g < genes; g++) {
    const name = `g${pad(g + 1, 3)}`;
    const base = Math.log(0.3) + rng.uniform() * Math.log(100);
    const sdDonor = 0.15 + 0.35 * rng.uniform();
    const de = rng.uniform() < spec.deFraction ? (rng.uniform() < 0.5 ? -1 : 1) * (0.5 + rng.uniform()) : 0;
    if (de !== 0) truth[name] = de;
    for (let d = 0; d < donors; d++) donorEffect[d] = sdDonor * rng.normal();
    const row: string[] = [name];
    for (let i = 0; i < nCells; i++) {
      const d = donorOf[i];
      const count = poisson(rng, Math.exp(base + donorEffect[d] + (treated(d) ? de : 0) + logSize[i]));
      row.push(count === 0 ? "0" : Math.log1p(count).toFixed(4));
    }
    lines.push(row.join(","));
  }
  return { matrixCSV: lines.join("\n") + "\n", metaCSV: meta.join("\n") + "\n", truth };
}
