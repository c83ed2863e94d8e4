// `lmm many` end to end: each input kind (dense CSV + metadata, a 10x directory + metadata, an .h5ad
// with its own obs), each output format, --normalize, --genes, --min-detected, --pseudobulk, and the
// errors a user meets first. Numbers are checked against the library's fitMany / OLS on the same input
// in memory: dense files and dense or CSC .h5ad matrices are streamed, and give those numbers exactly.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import h5wasm, { type Group } from "h5wasm/node";
import { tableFromIPC } from "apache-arrow";
import { beforeAll, describe, expect, it } from "vitest";
import { fitMany, registerManyWorkers } from "../src/fitmany.js";
import { nodeWorkers } from "../src/fitmany-node.js";
import { filterResponses, logNormalize } from "../src/io/normalize.js";
import { pseudobulk, pseudobulkSource } from "../src/pseudobulk.js";
import { Rng } from "../src/random.js";
import { matrixSource } from "../src/response-source.js";
import { toColumns } from "../src/data.js";
import type { DenseResponses } from "../src/responses.js";
import { runCli } from "./helpers/cli.js";

registerManyWorkers(nodeWorkers);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lmm-many-"));
const file = (name: string) => path.join(dir, name);

// 6 donors (3 per condition) × 20 cells, 12 genes of Poisson-like counts with donor effects
const rng = new Rng(42);
const cells: string[] = [], donors: string[] = [], conditions: string[] = [];
for (let d = 0; d < 6; d++) for (let c = 0; c < 20; c++) {
  cells.push(`cell${d}_${c}`);
  donors.push(`D${d + 1}`);
  conditions.push(d < 3 ? "ctrl" : "stim");
}
const n = cells.length, G = 12;
const genes = Array.from({ length: G }, (_, g) => `G${g + 1}`);
const counts = new Float64Array(G * n);
for (let g = 0; g < G; g++) {
  const u = Array.from({ length: 6 }, () => 0.4 * rng.normal());
  for (let i = 0; i < n; i++) {
    const d = Math.floor(i / 20);
    const mu = Math.exp(1 + (g % 3 === 0 && d >= 3 ? 0.7 : 0) + u[d]);
    counts[g * n + i] = Math.max(0, Math.round(mu + Math.sqrt(mu) * rng.normal()));
  }
}
counts.fill(0, 11 * n, 12 * n); // G12 never detected
counts[11 * n + 7] = 3;
const Y: DenseResponses = { kind: "dense", layout: "responses-by-obs", nResponses: G, nObs: n, values: counts, responseNames: genes, obsIds: cells };
const design = { cell: cells, donor: donors, condition: conditions };

beforeAll(async () => {
  // metadata in another order than the matrix, with one extra cell
  const order = Array.from({ length: n }, (_, i) => (i * 7) % n);
  fs.writeFileSync(file("meta.csv"), ["cell,donor,condition,size", ...order.map((i) => `${cells[i]},${donors[i]},${conditions[i]},${(i % 5) + 1}`), "extra_cell,D1,ctrl,1"].join("\n") + "\n");
  fs.writeFileSync(file("counts.csv"), [["gene", ...cells].join(","), ...genes.map((g, r) => [g, ...counts.subarray(r * n, (r + 1) * n)].join(","))].join("\n") + "\n");
  // 10x: features × barcodes, 1-based coordinates, gzipped
  const entries: string[] = [];
  for (let g = 0; g < G; g++) for (let i = 0; i < n; i++) if (counts[g * n + i] !== 0) entries.push(`${g + 1} ${i + 1} ${counts[g * n + i]}`);
  fs.mkdirSync(file("tenx"));
  fs.writeFileSync(file("tenx/matrix.mtx.gz"), zlib.gzipSync(`%%MatrixMarket matrix coordinate integer general\n%\n${G} ${n} ${entries.length}\n${entries.join("\n")}\n`));
  fs.writeFileSync(file("tenx/features.tsv.gz"), zlib.gzipSync(genes.map((g, r) => `ENSG${r}\t${g}\tGene Expression`).join("\n") + "\n"));
  fs.writeFileSync(file("tenx/barcodes.tsv.gz"), zlib.gzipSync(cells.join("\n") + "\n"));
  await h5wasm.ready;
  writeH5ad(file("cells.h5ad"));
});

/** An AnnData file (0.8 layout): X cells × genes (dense, or CSC: genes compressed), obs with a string index and two categoricals. */
function writeH5ad(p: string, kind: "dense" | "csc" = "dense"): void {
  const f = new h5wasm.File(p, "w");
  const encode = (o: Group, type: string, version: string) => {
    o.create_attribute("encoding-type", type);
    o.create_attribute("encoding-version", version);
  };
  const strings = (g: Group, name: string, values: string[]) => encode(g.create_dataset({ name, data: values }) as unknown as Group, "string-array", "0.2.0");
  const categorical = (obs: Group, name: string, values: string[]) => {
    const levels = [...new Set(values)].sort();
    const g = obs.create_group(name);
    encode(g, "categorical", "0.2.0");
    g.create_attribute("ordered", new Int8Array([0]), [], "b");
    strings(g, "categories", levels);
    encode(g.create_dataset({ name: "codes", data: Int8Array.from(values, (v) => levels.indexOf(v)) }) as unknown as Group, "array", "0.2.0");
  };
  try {
    encode(f, "anndata", "0.1.0");
    const obs = f.create_group("obs");
    encode(obs, "dataframe", "0.2.0");
    obs.create_attribute("_index", "_index");
    obs.create_attribute("column-order", ["donor", "condition"]);
    strings(obs, "_index", cells);
    categorical(obs, "donor", donors);
    categorical(obs, "condition", conditions);
    const v = f.create_group("var");
    encode(v, "dataframe", "0.2.0");
    v.create_attribute("_index", "_index");
    v.create_attribute("column-order", []);
    strings(v, "_index", genes);
    if (kind === "dense") {
      const X = Float64Array.from({ length: n * G }, (_, k) => counts[(k % G) * n + Math.floor(k / G)]);
      encode(f.create_dataset({ name: "X", data: X, shape: [n, G] }) as unknown as Group, "array", "0.2.0");
    } else {
      const ptr = [0], idx: number[] = [], data: number[] = [];
      for (let g = 0; g < G; g++) {
        for (let i = 0; i < n; i++) if (counts[g * n + i] !== 0) idx.push(i), data.push(counts[g * n + i]);
        ptr.push(idx.length);
      }
      const X = f.create_group("X");
      encode(X, "csc_matrix", "0.1.0");
      X.create_attribute("shape", new BigInt64Array([BigInt(n), BigInt(G)]));
      X.create_dataset({ name: "data", data: Float32Array.from(data) });
      X.create_dataset({ name: "indices", data: Int32Array.from(idx) });
      X.create_dataset({ name: "indptr", data: Int32Array.from(ptr) });
    }
  } finally {
    f.close();
  }
}

function readCsv(p: string): Record<string, string>[] {
  const [head, ...lines] = fs.readFileSync(p, "utf8").trim().split("\n");
  const names = head.split(p.endsWith(".tsv") ? "\t" : ",");
  return lines.map((l) => Object.fromEntries(l.split(p.endsWith(".tsv") ? "\t" : ",").map((v, i) => [names[i], v])));
}

const formula = "~ condition + (1 | donor)";

describe("lmm many", () => {
  it("dense CSV + metadata (other order, one extra cell): the tidy table the issue names, equal to fitMany", async () => {
    const r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", formula, "-o", file("dense.csv"), "--normalize", "--min-detected", "0.05", "--threads", "2", "--chunk-size", "4"]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/1 metadata row with no observation in the matrix left out/);
    expect(r.out).toMatch(/mixed model: 11 responses \(11 fitted\) in .* s on 2 threads/);
    expect(r.out).toMatch(/conditionstim: \d+ significant at FDR 5%/);
    const rows = readCsv(file("dense.csv"));
    expect(Object.keys(rows[0])).toEqual(["response", "term", "estimate", "std_error", "df", "statistic", "p_value", "p_adjusted", "sigma", "singular"]);
    expect(rows.length).toBe(22); // G12 filtered out (1 of 120 cells)
    const normalized = logNormalize(Y); // library sizes over all genes
    const lib = await fitMany(formula, design, { ...normalized, nResponses: 11, values: normalized.values.slice(0, 11 * n), responseNames: genes.slice(0, 11) }, { threads: 1 });
    lib.rows().forEach((x, k) => {
      expect(rows[k].response).toBe(x.response);
      expect(rows[k].term).toBe(x.term);
      for (const c of ["estimate", "std_error", "df", "statistic", "p_value", "p_adjusted", "sigma"] as const) expect(Number(rows[k][c])).toBe(x[c]);
    });
    const per = readCsv(file("dense.responses.csv"));
    expect(Object.keys(per[0])).toEqual(expect.arrayContaining(["response", "sigma", "theta_donor.(Intercept)", "varfrac_donor", "varfrac_Residuals", "singular", "converged", "warnings", "error"]));
    expect(per.length).toBe(11);
  });

  it("a 10x directory + metadata gives the dense input's results; TSV output", async () => {
    const r = await runCli(["many", "--matrix", file("tenx"), "--meta", file("meta.csv"), "-f", formula, "-o", file("tenx.tsv"), "--normalize", "--genes", "G3,G1"]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const rows = readCsv(file("tenx.tsv"));
    expect(rows.map((x) => x.response)).toEqual(["G3", "G3", "G1", "G1"]);
    const dense = readCsv(file("dense.csv"));
    // normalisation uses every gene's counts (library sizes) in both runs: --genes picks after reading
    const want = dense.filter((x) => x.response === "G3" || x.response === "G1");
    for (const x of rows) {
      const y = want.find((w) => w.response === x.response && w.term === x.term)!;
      expect(Number(x.estimate)).toBeCloseTo(Number(y.estimate), 12);
    }
  });

  it("an .h5ad file brings its own design (obs); JSON and Arrow output", async () => {
    const r1 = await runCli(["many", "--matrix", file("cells.h5ad"), "-f", formula, "-o", file("h5.json"), "--genes", "G1,G2,G4"]);
    expect(r1.code).toBe(0);
    const j = JSON.parse(fs.readFileSync(file("h5.json"), "utf8"));
    expect(j.rows.length).toBe(6);
    const lib = await fitMany(formula, design, { ...Y, nResponses: 3, values: Float64Array.from([0, 1, 3].flatMap((g) => Array.from(counts.subarray(g * n, (g + 1) * n)))), responseNames: ["G1", "G2", "G4"] }, { threads: 1 });
    lib.rows().forEach((x, k) => expect(j.rows[k].estimate).toBe(x.estimate));
    const r2 = await runCli(["many", "--matrix", file("cells.h5ad"), "-f", formula, "-o", file("h5.arrow"), "--genes", "G1,G2,G4"]);
    expect(r2.code).toBe(0);
    const t = tableFromIPC(fs.readFileSync(file("h5.arrow")));
    expect(t.numRows).toBe(6);
    expect(t.getChild("p_value")!.get(1)).toBe(lib.rows()[1].p_value);
    expect(t.getChild("response")!.get(0)).toBe("G1");
  });

  it("an .h5ad with dense or CSC X is streamed: --normalize, --min-detected and --genes give the in-memory fits exactly", async () => {
    const picked = ["G4", "G12", "G1", "G7"]; // G12 is detected in 1 of 120 cells: --min-detected drops it
    const normalized = filterResponses(logNormalize(Y), { responses: picked, minDetectedFraction: 0.05 });
    const lib = await fitMany(formula, design, normalized, { threads: 1, chunkSize: 2 });
    expect(lib.responses).toEqual(["G4", "G1", "G7"]);
    for (const kind of ["dense", "csc"] as const) {
      writeH5ad(file(`cells-${kind}.h5ad`), kind);
      const r = await runCli(["many", "--matrix", file(`cells-${kind}.h5ad`), "-f", formula, "-o", file(`h5-${kind}.json`), "--normalize", "--min-detected", "0.05", "--genes", picked.join(","), "--chunk-size", "2", "--threads", "2"]);
      expect(r.err).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const j = JSON.parse(fs.readFileSync(file(`h5-${kind}.json`), "utf8"));
      expect(j.rows.length).toBe(6);
      lib.rows().forEach((x, k) => {
        for (const c of ["response", "term", "estimate", "std_error", "df", "statistic", "p_value", "p_adjusted", "sigma", "singular"] as const) {
          expect(j.rows[k][c], `${kind} ${c}`).toBe(typeof x[c] === "number" && !Number.isFinite(x[c]) ? null : x[c]);
        }
      });
    }
  });

  it("a dense CSV without flags needing a first pass is fitted as it is read: the in-memory results, the same thread count", async () => {
    const r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", formula, "-o", file("plain.csv"), "--threads", "2", "--chunk-size", "32"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/120 observations, responses streamed from/);
    expect(r.out).toMatch(/mixed model: 12 responses \(12 fitted\) in .* s on 1 thread \(/); // 12 responses are one chunk: one lane
    const lib = await fitMany(formula, design, Y, { threads: 1 });
    const rows = readCsv(file("plain.csv"));
    lib.rows().forEach((x, k) => {
      expect(rows[k].response).toBe(x.response);
      for (const c of ["estimate", "std_error", "p_value", "p_adjusted"] as const) expect(Number(rows[k][c])).toBe(Number.isFinite(x[c]) ? x[c] : NaN);
    });
  });

  it("--pseudobulk: sums per donor, OLS on the sums (a two-group pooled t test here)", async () => {
    const r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", formula, "-o", file("pb.csv"), "--genes", "G1,G4", "--pseudobulk"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/pseudobulk \(6 donor sums, fixed effects only\): 2 responses/);
    const rows = readCsv(file("pb.pseudobulk.csv"));
    expect(rows.length).toBe(4);
    for (const [g, gene] of [[0, "G1"], [3, "G4"]] as const) {
      const sums = Array.from({ length: 6 }, (_, d) => counts.subarray(g * n + d * 20, g * n + d * 20 + 20).reduce((a, b) => a + b, 0));
      const a = sums.slice(0, 3), b = sums.slice(3);
      const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
      const ss = (x: number[]) => x.reduce((s, v) => s + (v - mean(x)) ** 2, 0);
      const sp = Math.sqrt((ss(a) + ss(b)) / 4);
      const t = (mean(b) - mean(a)) / (sp * Math.sqrt(1 / 3 + 1 / 3));
      const row = rows.find((x) => x.response === gene && x.term === "conditionstim")!;
      expect(Number(row.statistic)).toBeCloseTo(t, 10);
      expect(Number(row.df)).toBe(4);
      expect(Number(row.estimate)).toBeCloseTo(mean(b) - mean(a), 10);
    }
  });

  it("pseudobulk of a stream: the matrix's sums, normalised or not, exactly", async () => {
    const table = toColumns(design);
    for (const normalize of [false, true]) {
      const want = pseudobulk(Y, table, "donor", { normalize, formula });
      const got = await pseudobulkSource(matrixSource(Y), table, "donor", { normalize, formula, blockSize: 5 });
      expect(got.Y).toEqual(want.Y);
      expect(got.design).toEqual(want.design);
    }
  });

  it("clear errors", async () => {
    const bad = file("meta-missing.csv");
    fs.writeFileSync(bad, ["cell,donor,condition", ...cells.slice(2).map((c, i) => `${c},${donors[i + 2]},${conditions[i + 2]}`)].join("\n"));
    let r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", bad, "-f", formula, "-o", file("x.csv")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/2 of 120 matrix observations have no metadata row \(first: cell0_0, cell0_1\)/);
    r = await runCli(["many", "--matrix", file("counts.csv"), "-f", formula, "-o", file("x.csv")]);
    expect(r.err).toMatch(/--meta <csv> is needed/);
    r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", formula, "-o", file("x.xlsx")]);
    expect(r.err).toMatch(/unknown output format '.xlsx'/);
    r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", formula, "-o", file("x.csv"), "--genes", "G1,NOPE"]);
    expect(r.err).toMatch(/NOPE/);
    r = await runCli(["many", "--matrix", file("nothere.csv"), "--meta", file("meta.csv"), "-f", formula, "-o", file("x.csv")]);
    expect(r.err).toMatch(/nothere\.csv/);
    r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", "~ condition + (1 | donor", "-o", file("x.csv")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\^/); // the formula error points at its position
    r = await runCli(["many", "--matrix", file("counts.csv"), "--meta", file("meta.csv"), "-f", "~ condition + size + (1 | donor)", "-o", file("x.csv"), "--pseudobulk", "--genes", "G1"]);
    expect(r.err).toMatch(/'size' varies within donor 'D1'/);
  });
});
