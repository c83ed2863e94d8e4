// fitMany against its alternatives, one run, one machine:
//   single-cell: 8 donors × 300 cells × 2,000 genes, `~ condition + (1 | donor)` (REML, Satterthwaite)
//   EEG-like:    30 subjects × 120 items × 500 time points, `~ condition + rt + (1 + condition | subject) + (1 | item)`
// fitMany is timed on its first call (cold: workers start, code not yet optimised) and again (warm).
// Columns: fitMany with all cores and with 1 thread, a loop of this library's single lmer() fits,
// fitMany on the plain TypeScript kernels, and lme4 (+ lmerTest for the Satterthwaite tests) timed
// with Rscript on a sample of the same responses when R is installed, else the stored per-gene time
// of test/fixtures/reference/fits/singlecell-pergene.json, extrapolated to the response count.
// Uses the built package (dist/node: the workers run the bundle). Run: npm run bench:many [-- --quick]
// [-- --stream-only]
// Last, `lmm many` on a dense counts CSV of 20,000 genes × 2,400 cells generated here (not committed):
// its peak memory streamed (as it reads dense files) against the matrix's size and against the same
// fit with the matrix read into memory first (as `lmm many` did before it streamed); then the same
// for a sparse 10x directory (sorted into buckets of genes on disk, against read10x's whole matrix).
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DenseResponses } from "../src/responses.js";

// The built package, typed by its sources.
const { fitMany, lmer, Rng } = (await import(path.join("../dist/node/index.js"))) as typeof import("../src/node.js");

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const quick = process.argv.includes("--quick");
const outDir = path.join(root, "bench/results");

interface Case {
  name: string;
  formula: string;
  design: Record<string, (string | number)[]>;
  Y: DenseResponses;
  rFormula: string;
}

function singleCell(genes: number): Case {
  const rng = new Rng(20261125);
  const cell: string[] = [], donor: string[] = [], condition: string[] = [];
  for (let d = 0; d < 8; d++) {
    for (let c = 0; c < 300; c++) {
      cell.push(`c${d}_${c}`);
      donor.push(`D${d + 1}`);
      condition.push(d < 4 ? "control" : "case");
    }
  }
  const n = cell.length;
  const values = new Float64Array(genes * n);
  for (let g = 0; g < genes; g++) {
    const sd = [0, 0.1, 0.3, 0.6][g % 4];
    const effect = g % 10 === 0 ? 0.5 : 0;
    const u = Array.from({ length: 8 }, () => sd * rng.normal());
    for (let i = 0; i < n; i++) {
      const d = Math.floor(i / 300);
      values[g * n + i] = 1 + (d >= 4 ? effect : 0) + u[d] + 0.8 * rng.normal();
    }
  }
  return {
    name: `single-cell 8 donors × 300 cells × ${genes} genes`,
    formula: "~ condition + (1 | donor)",
    rFormula: "y ~ condition + (1 | donor)",
    design: { cell, donor, condition },
    Y: { kind: "dense", layout: "responses-by-obs", nResponses: genes, nObs: n, values, responseNames: Array.from({ length: genes }, (_, g) => `g${g + 1}`), obsIds: cell },
  };
}

function eeg(times: number): Case {
  const rng = new Rng(7);
  const subject: string[] = [], item: string[] = [], condition: string[] = [], rt: number[] = [];
  for (let s = 0; s < 30; s++) {
    for (let i = 0; i < 120; i++) {
      subject.push(`s${s + 1}`);
      item.push(`i${i + 1}`);
      condition.push((s + i) % 2 ? "related" : "unrelated");
      rt.push(Math.round(500 + 100 * rng.normal()));
    }
  }
  const n = subject.length;
  const values = new Float64Array(times * n);
  for (let t = 0; t < times; t++) {
    const wave = Math.sin((t / times) * 2 * Math.PI);
    const us = Array.from({ length: 30 }, () => [rng.normal(), 0.5 * rng.normal()]);
    const ui = Array.from({ length: 120 }, () => 0.6 * rng.normal());
    for (let k = 0; k < n; k++) {
      const s = Math.floor(k / 120), i = k % 120;
      const rel = condition[k] === "related" ? 1 : 0;
      values[t * n + k] = us[s][0] + rel * (wave + us[s][1]) + 0.002 * (rt[k] - 500) + ui[i] + 2 * rng.normal();
    }
  }
  return {
    name: `EEG-like 30 subjects × 120 items × ${times} time points`,
    formula: "~ condition + rt + (1 + condition | subject) + (1 | item)",
    rFormula: "y ~ condition + rt + (1 + condition | subject) + (1 | item)",
    design: { subject, item, condition, rt },
    Y: { kind: "dense", layout: "responses-by-obs", nResponses: times, nObs: n, values, responseNames: Array.from({ length: times }, (_, t) => `t${t + 1}`) },
  };
}

async function time<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [(performance.now() - t0) / 1000, r];
}

function haveLme4(): boolean {
  try {
    execFileSync("Rscript", ["-e", "suppressMessages(library(lmerTest))"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** lme4 + lmerTest seconds per response, timed in R on the first `count` responses (one loop, as users write it). */
function lme4PerResponse(c: Case, count: number): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fitmany-bench-"));
  const n = c.Y.nObs;
  const cols = Object.keys(c.design);
  const lines = [[...cols, ...Array.from({ length: count }, (_, r) => `y${r}`)].join(",")];
  for (let i = 0; i < n; i++) {
    lines.push([...cols.map((k) => c.design[k][i]), ...Array.from({ length: count }, (_, r) => c.Y.values[r * n + i])].join(","));
  }
  fs.writeFileSync(path.join(dir, "d.csv"), lines.join("\n"));
  const script = `
suppressMessages(library(lmerTest))
d <- read.csv("${dir}/d.csv", stringsAsFactors = TRUE)
t <- system.time(for (r in 0:${count - 1}) { d$y <- d[[paste0("y", r)]]; m <- lmerTest::lmer(${c.rFormula}, d); s <- summary(m) })
cat(t[["elapsed"]] / ${count})`;
  const out = execFileSync("Rscript", ["-e", script], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  fs.rmSync(dir, { recursive: true, force: true });
  return Number(out.trim());
}

const storedPerGene = JSON.parse(fs.readFileSync(path.join(root, "test/fixtures/reference/fits/singlecell-pergene.json"), "utf8")) as {
  lmerTest_time_per_gene_s: number;
  lmer_time_per_gene_s: number;
};

const streamOnly = process.argv.includes("--stream-only"); // only the `lmm many` memory runs at the end
const cases = streamOnly ? [] : quick ? [singleCell(200), eeg(40)] : [singleCell(2000), eeg(500)];
const R = haveLme4();
const rows: Record<string, string | number>[] = [];
for (const c of cases) {
  const mb = (c.Y.values.byteLength / 2 ** 20).toFixed(1);
  console.log(`\n${c.name}: ${c.Y.nResponses} responses × ${c.Y.nObs} observations (${mb} MB)`);
  const mem0 = process.memoryUsage();
  let peakRss = mem0.rss, peakAb = mem0.arrayBuffers;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakAb = Math.max(peakAb, m.arrayBuffers);
  }, 20);
  const [tAll, res] = await time(() => fitMany(c.formula, c.design, c.Y));
  clearInterval(sampler);
  const cnt = res.counts();
  console.log(`  fitMany, ${res.info.threads} threads: ${tAll.toFixed(2)} s (${((tAll / c.Y.nResponses) * 1000).toFixed(3)} ms/response); ${cnt.singular} singular, ${cnt.notConverged} not converged, ${cnt.failed} failed`);
  // A second call: the workers (kept between calls) and this thread run warmed-up code, as in a
  // pipeline that fits many designs (channels, cell types) one after another.
  const [tWarm] = await time(() => fitMany(c.formula, c.design, c.Y));
  console.log(`  fitMany again (warm workers): ${tWarm.toFixed(2)} s`);
  const [t1] = await time(() => fitMany(c.formula, c.design, c.Y, { threads: 1 }));
  console.log(`  fitMany, 1 thread (warm): ${t1.toFixed(2)} s`);
  // a loop of single fits on a sample (the full loop takes minutes), extrapolated
  const sample = Math.min(c.Y.nResponses, quick ? 20 : 100);
  const n = c.Y.nObs;
  const [tLoop] = await time(async () => {
    for (let r = 0; r < sample; r++) {
      const m = await lmer(c.rFormula, { ...c.design, y: c.Y.values.subarray(r * n, (r + 1) * n) });
      m.toJSON(); // estimates with Satterthwaite tests, as fitMany reports
    }
  });
  const loop = (tLoop / sample) * c.Y.nResponses;
  console.log(`  loop of lmer() + toJSON(), ${sample} responses: ${(tLoop / sample * 1000).toFixed(2)} ms each → ${loop.toFixed(1)} s for all`);
  const tsSample = Math.min(c.Y.nResponses, quick || !c.name.startsWith("single-cell") ? 20 : 200);
  const Yts: DenseResponses = { ...c.Y, nResponses: tsSample, values: c.Y.values.subarray(0, tsSample * n), responseNames: c.Y.responseNames!.slice(0, tsSample) };
  const [tTs] = await time(() => fitMany(c.formula, c.design, Yts, { threads: 1, engine: "ts" }));
  const [tWasmSample] = await time(() => fitMany(c.formula, c.design, Yts, { threads: 1 }));
  console.log(`  plain TypeScript kernels, 1 thread, ${tsSample} responses: ${tTs.toFixed(2)} s (WebAssembly ${tWasmSample.toFixed(2)} s)`);
  let lme4: number, lme4Source: string;
  const rSample = quick ? 10 : 40;
  if (R) {
    lme4 = lme4PerResponse(c, rSample) * c.Y.nResponses;
    lme4Source = `Rscript, lmerTest loop over ${rSample} responses, extrapolated`;
  } else if (c.name.startsWith("single-cell")) {
    lme4 = storedPerGene.lmerTest_time_per_gene_s * c.Y.nResponses;
    lme4Source = "stored lmerTest time per gene × genes";
  } else {
    lme4 = NaN;
    lme4Source = "no R here and no stored time";
  }
  console.log(`  lme4 + lmerTest: ${lme4.toFixed(1)} s (${lme4Source}) → fitMany is ${(lme4 / tAll).toFixed(0)}× faster`);
  console.log(`  memory: response matrix ${mb} MB; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB (from ${(mem0.rss / 2 ** 20).toFixed(0)} MB), peak ArrayBuffers +${((peakAb - mem0.arrayBuffers) / 2 ** 20).toFixed(1)} MB`);
  rows.push({
    case: c.name,
    responses: c.Y.nResponses,
    observations: c.Y.nObs,
    threads: res.info.threads,
    fitMany_s: +tAll.toFixed(3),
    fitMany_warm_s: +tWarm.toFixed(3),
    fitMany_1thread_s: +t1.toFixed(3),
    single_fit_loop_s: +loop.toFixed(2),
    ts_kernels_vs_wasm: +(tTs / tWasmSample).toFixed(2),
    lme4_s: +lme4.toFixed(1),
    lme4_source: lme4Source,
    speedup_vs_lme4: +(lme4 / tAll).toFixed(1),
    speedup_vs_lme4_warm: +(lme4 / tWarm).toFixed(1),
    speedup_vs_loop: +(loop / tAll).toFixed(1),
    matrix_MB: +mb,
    peak_rss_MB: +(peakRss / 2 ** 20).toFixed(0),
    rss_before_MB: +(mem0.rss / 2 ** 20).toFixed(0),
    peak_arraybuffers_growth_MB: +((peakAb - mem0.arrayBuffers) / 2 ** 20).toFixed(1),
  });
}
fs.mkdirSync(outDir, { recursive: true });
if (rows.length) {
  fs.writeFileSync(path.join(outDir, "fitmany.json"), JSON.stringify(rows, null, 2));
  const keys = Object.keys(rows[0]);
  const md = [`| ${keys.join(" | ")} |`, `|${keys.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${keys.map((k) => r[k]).join(" | ")} |`)].join("\n");
  fs.writeFileSync(path.join(outDir, "fitmany.md"), md + "\n");
  console.log("\n" + md);
}

// ---------------------------------------------------------------------------------------------------
// Streaming: peak memory of `lmm many` on a generated dense CSV, in a fresh process each time.

/** Integer counts (Poisson, donor effects) of `genes` genes × 8 donors × `perDonor` cells, and the cell table. */
function writeCountsCSV(dir: string, genes: number, perDonor: number): { matrix: string; meta: string; cells: number } {
  const rng = new Rng(7);
  const cells = Array.from({ length: 8 * perDonor }, (_, i) => `c${Math.floor(i / perDonor)}_${i % perDonor}`);
  const meta = path.join(dir, "cells.csv");
  fs.writeFileSync(meta, "cell,donor,condition\n" + cells.map((c, i) => `${c},D${Math.floor(i / perDonor) + 1},${i < 4 * perDonor ? "ctrl" : "stim"}`).join("\n") + "\n");
  const matrix = path.join(dir, "counts.csv");
  const fd = fs.openSync(matrix, "w");
  fs.writeSync(fd, ["gene", ...cells].join(",") + "\n");
  const row = new Array<number>(cells.length);
  for (let g = 0; g < genes; g++) {
    const base = -0.7 + 2 * rng.uniform();
    const u = Array.from({ length: 8 }, () => 0.3 * rng.normal());
    for (let i = 0; i < cells.length; i++) {
      const d = Math.floor(i / perDonor);
      row[i] = poisson(rng, Math.exp(base + u[d] + (g % 10 === 0 && d >= 4 ? 0.4 : 0)));
    }
    fs.writeSync(fd, `G${g + 1},${row.join(",")}\n`);
  }
  fs.closeSync(fd);
  return { matrix, meta, cells: cells.length };
}

/**
 * Sparse integer counts (Poisson with small means, about 8% non-zero, as single-cell data) of `genes`
 * genes × 8 donors × `perDonor` cells written as a 10x directory: matrix.mtx lists the entries cell
 * by cell, as Cell Ranger does (drawn cell by cell, so the generator holds no matrix either).
 */
function writeCounts10x(dir: string, genes: number, perDonor: number): { tenx: string; meta: string; cells: number; nnz: number } {
  const rng = new Rng(11);
  const nCells = 8 * perDonor;
  const base = Float64Array.from({ length: genes }, () => -3.5 + 2 * rng.uniform());
  const effect = Array.from({ length: genes }, (_, g) => Float64Array.from({ length: 8 }, (_, d) => 0.3 * rng.normal() + (g % 10 === 0 && d >= 4 ? 0.4 : 0)));
  const tenx = path.join(dir, "tenx");
  fs.mkdirSync(tenx);
  const body = path.join(tenx, "entries.tmp");
  const fd = fs.openSync(body, "w");
  let nnz = 0;
  for (let i = 0; i < nCells; i++) {
    const d = Math.floor(i / perDonor);
    const lines: string[] = [];
    for (let g = 0; g < genes; g++) {
      const c = poisson(rng, Math.exp(base[g] + effect[g][d]));
      if (c !== 0) lines.push(`${g + 1} ${i + 1} ${c}`);
    }
    nnz += lines.length;
    if (lines.length) fs.writeSync(fd, lines.join("\n") + "\n");
  }
  fs.closeSync(fd);
  // the size line (entry count) goes before the entries
  const mtx = path.join(tenx, "matrix.mtx");
  fs.writeFileSync(mtx, `%%MatrixMarket matrix coordinate integer general\n${genes} ${nCells} ${nnz}\n`);
  fs.appendFileSync(mtx, fs.readFileSync(body));
  fs.rmSync(body);
  const cells = Array.from({ length: nCells }, (_, i) => `c${Math.floor(i / perDonor)}_${i % perDonor}`);
  fs.writeFileSync(path.join(tenx, "features.tsv"), Array.from({ length: genes }, (_, g) => `ENSG${g + 1}\tG${g + 1}\tGene Expression`).join("\n") + "\n");
  fs.writeFileSync(path.join(tenx, "barcodes.tsv"), cells.join("\n") + "\n");
  const meta = path.join(dir, "cells10x.csv");
  fs.writeFileSync(meta, "cell,donor,condition\n" + cells.map((c, i) => `${c},D${Math.floor(i / perDonor) + 1},${i < 4 * perDonor ? "ctrl" : "stim"}`).join("\n") + "\n");
  return { tenx, meta, cells: nCells, nnz };
}

/**
 * `lmm many --normalize --min-detected 0.05`'s pipeline on a 10x directory through the library, with
 * the matrix streamed through buckets of genes (open10x) or read whole (read10x, what `lmm many` did
 * before), so that the reader is the only difference.
 */
function tenxScript(dir: string, tenx: string, meta: string, formula: string, streamed: boolean): string {
  const file = path.join(dir, streamed ? "tenx-streamed.mjs" : "tenx-whole.mjs");
  fs.writeFileSync(file, `
    const M = await import(${JSON.stringify(path.join(root, "dist/node/index.js"))});
    const raw = ${streamed ? `await M.open10x(${JSON.stringify(tenx)})` : `M.matrixSource(await M.read10x(${JSON.stringify(tenx)}))`};
    const stats = await M.scanResponses(raw, 32);
    const keep = M.keptResponses({ nResponses: stats.names.length, nObs: raw.nObs, responseNames: stats.names }, { minDetectedFraction: 0.05 }, () => stats.detected);
    const Y = M.logNormalizeSource(M.selectResponses(raw, keep), stats);
    const design = M.alignMetadata(M.readCSV(${JSON.stringify(meta)}), "cell", raw.observationIds).table;
    await M.fitMany(${JSON.stringify(formula)}, design, M.withObservationIds(Y, undefined));
    raw.close?.();`);
  return file;
}

/** Poisson deviate by inversion (the means here are small). */
function poisson(rng: InstanceType<typeof Rng>, mu: number): number {
  let k = 0, p = Math.exp(-mu), c = p;
  const u = rng.uniform();
  while (u > c && k < 1000) c += p *= mu / ++k;
  return k;
}

/** Peak RSS (the whole process: every thread) of `node args`, told by the process as it exits. */
const PEAK_RSS = 'data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss_kb="+process.resourceUsage().maxRSS+"\\n"))';

function peakOf(args: string[]): { seconds: number; peakMB: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--import", PEAK_RSS, ...args], { cwd: root, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed: ${r.stderr}`);
  const kb = Math.max(...Array.from(r.stderr.matchAll(/maxrss_kb=(\d+)/g), (m) => Number(m[1]))); // workers may report too
  return { seconds: (performance.now() - t0) / 1000, peakMB: kb / 1024 };
}

{
  const genes = quick ? 2000 : 20000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fitmany-stream-bench-"));
  try {
    const { matrix, meta, cells } = writeCountsCSV(dir, genes, 300);
    const matrixMB = (genes * cells * 8) / 2 ** 20;
    const csvMB = fs.statSync(matrix).size / 2 ** 20;
    const formula = "~ condition + (1 | donor)";
    console.log(`\nlmm many --normalize --min-detected 0.05 on a dense CSV of ${genes} genes × ${cells} cells (matrix ${matrixMB.toFixed(0)} MB as doubles, CSV ${csvMB.toFixed(0)} MB)`);
    const streamed = peakOf(["bin/lmm.js", "many", "--matrix", matrix, "--meta", meta, "-f", formula, "-o", path.join(dir, "out.csv"), "--normalize", "--min-detected", "0.05"]);
    console.log(`  streamed (chunk size 32): peak RSS ${streamed.peakMB.toFixed(0)} MB, ${streamed.seconds.toFixed(1)} s`);
    // What `lmm many` did before it streamed: the whole matrix read, normalised and filtered in memory.
    const inMemoryScript = `
      const { fitMany, readDenseMatrix, readCSV, logNormalize, filterResponses, alignMetadata } = await import(${JSON.stringify(path.join(root, "dist/node/index.js"))});
      const Y = await readDenseMatrix(${JSON.stringify(matrix)});
      const design = alignMetadata(readCSV(${JSON.stringify(meta)}), "cell", Y.obsIds).table;
      const Z = filterResponses(logNormalize(Y), { minDetectedFraction: 0.05 });
      await fitMany(${JSON.stringify(formula)}, design, { ...Z, obsIds: undefined });`;
    const script = path.join(dir, "in-memory.mjs");
    fs.writeFileSync(script, inMemoryScript);
    const inMemory = peakOf([script]);
    console.log(`  matrix in memory first: peak RSS ${inMemory.peakMB.toFixed(0)} MB, ${inMemory.seconds.toFixed(1)} s`);
    // A 10x directory: sorted into buckets of genes on disk (open10x), against read10x's whole matrix.
    const x = writeCounts10x(dir, genes, quick ? 300 : 1200);
    const mtxMB = fs.statSync(path.join(x.tenx, "matrix.mtx")).size / 2 ** 20;
    console.log(`\nthe same pipeline through the library on a 10x directory of ${genes} genes × ${x.cells} cells, ${x.nnz} non-zero counts (matrix.mtx ${mtxMB.toFixed(0)} MB)`);
    const tenxStreamed = peakOf([tenxScript(dir, x.tenx, x.meta, formula, true)]);
    console.log(`  open10x (buckets of genes on disk): peak RSS ${tenxStreamed.peakMB.toFixed(0)} MB, ${tenxStreamed.seconds.toFixed(1)} s`);
    const tenxInMemory = peakOf([tenxScript(dir, x.tenx, x.meta, formula, false)]);
    console.log(`  read10x (the whole matrix in memory): peak RSS ${tenxInMemory.peakMB.toFixed(0)} MB, ${tenxInMemory.seconds.toFixed(1)} s`);
    const stream = [
      {
        case: `lmm many, ${genes} genes × ${cells} cells dense CSV, --normalize --min-detected 0.05`,
        matrix_MB: +matrixMB.toFixed(0),
        csv_MB: +csvMB.toFixed(0),
        streamed_peak_rss_MB: +streamed.peakMB.toFixed(0),
        streamed_s: +streamed.seconds.toFixed(1),
        in_memory_peak_rss_MB: +inMemory.peakMB.toFixed(0),
        in_memory_s: +inMemory.seconds.toFixed(1),
      },
      {
        case: `the same through the library, ${genes} genes × ${x.cells} cells 10x directory (${x.nnz} non-zero): open10x vs read10x`,
        matrix_MB: +((genes * x.cells * 8) / 2 ** 20).toFixed(0),
        csv_MB: +mtxMB.toFixed(0),
        streamed_peak_rss_MB: +tenxStreamed.peakMB.toFixed(0),
        streamed_s: +tenxStreamed.seconds.toFixed(1),
        in_memory_peak_rss_MB: +tenxInMemory.peakMB.toFixed(0),
        in_memory_s: +tenxInMemory.seconds.toFixed(1),
      },
    ];
    fs.writeFileSync(path.join(outDir, "fitmany-stream.json"), JSON.stringify(stream, null, 2));
    const k = Object.keys(stream[0]);
    fs.writeFileSync(path.join(outDir, "fitmany-stream.md"), [`| ${k.join(" | ")} |`, `|${k.map(() => "---").join("|")}|`, ...stream.map((row) => `| ${k.map((c) => row[c as keyof typeof row]).join(" | ")} |`)].join("\n") + "\n");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
