// Memory and ingestion at scale (issue 6). The kernels' WebAssembly memory is one arena reused by every
// fit: after the first fit of a model shape, fitting that shape again (100 fresh fits, 100 refits to new
// responses) must not grow it. The streaming CSV reader, which builds typed columns chunk by chunk so
// that large files never exist as one string or as arrays per row, must read exactly what parseCSV
// reads, including the cases that cross chunk boundaries or need its second pass. And the model
// frame's shortcut for large full-rank X (decided from X'X instead of a QR copy of X) must keep the
// columns R's QR keeps.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { dqrdc2 } from "../src/contrasts.js";
import { parseCSV, type Column, type Table } from "../src/data.js";
import { loadKernels } from "../src/engine.js";
import { lmer, LinearMixedModel } from "../src/linearmixedmodel.js";
import { modelFrame } from "../src/modelframe.js";
import { parseFormula } from "../src/formula.js";
import { readCSVStream, readLevels } from "../src/node.js";
import { Rng } from "../src/random.js";

/** A sleepstudy-shaped design (18 subjects × 10 days) with a response drawn from `seed`. */
function sleepLike(seed: number): { Reaction: Float64Array; Days: Float64Array; Subject: string[] } {
  const rng = new Rng(seed);
  const ns = 18, nd = 10;
  const Reaction = new Float64Array(ns * nd), Days = new Float64Array(ns * nd);
  const Subject: string[] = [];
  for (let s = 0; s < ns; s++) {
    const b0 = 25 * rng.normal(), b1 = 6 * rng.normal();
    for (let d = 0; d < nd; d++) {
      const i = s * nd + d;
      Days[i] = d;
      Subject.push(`S${300 + s}`);
      Reaction[i] = 250 + b0 + (10 + b1) * d + 25 * rng.normal();
    }
  }
  return { Reaction, Days, Subject };
}

/** A crossed design (Penicillin-shaped: 24 plates × 6 samples), so the dense trailing block is used too. */
function crossed(seed: number): { y: Float64Array; plate: string[]; sample: string[] } {
  const rng = new Rng(seed);
  const bp = Array.from({ length: 24 }, () => 0.8 * rng.normal());
  const bs = Array.from({ length: 6 }, () => 1.9 * rng.normal());
  const y = new Float64Array(144);
  const plate: string[] = [], sample: string[] = [];
  for (let p = 0; p < 24; p++) {
    for (let s = 0; s < 6; s++) {
      y[p * 6 + s] = 23 + bp[p] + bs[s] + 0.55 * rng.normal();
      plate.push(String.fromCharCode(97 + p));
      sample.push(String.fromCharCode(65 + s));
    }
  }
  return { y, plate, sample };
}

describe("WebAssembly memory across repeated fits", () => {
  it("does not grow after the first of 100 fits of one model shape, nor over 100 refits", async () => {
    const K = await loadKernels("wasm-simd");
    const bytes = () => K.buffer().byteLength;
    const first = await lmer("Reaction ~ Days + (Days | Subject)", sleepLike(1), { engine: "wasm-simd" });
    expect(first.engine).toBe("wasm-simd");
    const after1 = bytes();
    const sizes: number[] = [];
    let m = first;
    for (let seed = 2; seed <= 100; seed++) {
      m = await lmer("Reaction ~ Days + (Days | Subject)", sleepLike(seed), { engine: "wasm-simd" });
      // Every fit is a real fit: a finite optimum reached in a plausible number of evaluations.
      expect(Number.isFinite(m.objectiveAtOptimum)).toBe(true);
      expect(m.feval).toBeGreaterThan(5);
      sizes.push(bytes());
    }
    expect(sizes.every((s) => s === after1)).toBe(true);
    // refit(newresp) shares the layout and only rewrites the response's entries.
    for (const y of first.simulate(100, { seed: 7 })) {
      const r = first.refitResponse(y);
      expect(Number.isFinite(r.objectiveAtOptimum)).toBe(true);
      expect(bytes()).toBe(after1);
    }
    // The first model is still usable (it lays itself out again) and gives its own objective.
    expect(first.objective(first.theta)).toBeCloseTo(first.objectiveAtOptimum, 8);
    expect(bytes()).toBe(after1);
  });

  it("does not grow over 100 fits of a crossed design (dense trailing block)", async () => {
    const K = await loadKernels("wasm-simd");
    await lmer("y ~ 1 + (1 | plate) + (1 | sample)", crossed(1), { engine: "wasm-simd" });
    const after1 = K.buffer().byteLength;
    for (let seed = 2; seed <= 100; seed++) {
      const m = await lmer("y ~ 1 + (1 | plate) + (1 | sample)", crossed(seed), { engine: "wasm-simd" });
      expect(Number.isFinite(m.objectiveAtOptimum)).toBe(true);
      expect(K.buffer().byteLength).toBe(after1);
    }
  });

  it("grows for a larger design (the check above can see growth)", async () => {
    const K = await loadKernels("wasm-simd");
    const before = K.buffer().byteLength;
    // 3,000 subjects: the first term's blocks and panels alone need more than the arena held so far.
    const n = 3000 * 4;
    const rng = new Rng(5);
    const data = {
      y: Float64Array.from({ length: n }, () => rng.normal()),
      t: Float64Array.from({ length: n }, (_, i) => i % 4),
      g: Array.from({ length: n }, (_, i) => `g${Math.floor(i / 4)}`),
    };
    LinearMixedModel.fit(K, "y ~ t + (1 + t | g)", data);
    expect(K.buffer().byteLength).toBeGreaterThan(before);
  });
});

// ---------------------------------------------------------------------------------------------------
// Streaming CSV reader

const refDir = fileURLToPath(new URL("./fixtures/reference/data/", import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), "mixedmodels-memory-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectSameTable(a: Table, b: Table): void {
  expect(a.names).toEqual(b.names);
  expect(a.nrow).toBe(b.nrow);
  for (const name of a.names) {
    const x = a.columns.get(name)!, y = b.columns.get(name)!;
    expect(x.type, name).toBe(y.type);
    if (x.type === "numeric") expect(Array.from(x.values), name).toEqual(Array.from((y as typeof x).values));
    else {
      const yy = y as Exclude<Column, { type: "numeric" }>;
      expect(x.levels, name).toEqual(yy.levels);
      expect(x.ordered, name).toBe(yy.ordered);
      expect(Array.from(x.codes), name).toEqual(Array.from(yy.codes));
    }
  }
}

const labelsOf = (c: Column) => (c.type === "numeric" ? null : Array.from(c.codes, (k) => (k < 0 ? null : c.levels[k])));

describe("readCSVStream", () => {
  it("reads the reference data sets exactly as parseCSV does", async () => {
    for (const name of ["sleepstudy", "cake", "InstEval", "VerbAgg", "grouseticks", "Penicillin"]) {
      const file = path.join(refDir, `${name}.csv`);
      const levels = readLevels(path.join(refDir, `${name}.levels.json`));
      const streamed = await readCSVStream(file, { levels });
      expectSameTable(streamed, parseCSV(await readFile(file, "utf8"), { levels }));
    }
    // Without levels: factor levels sorted as R's sort(), from the dictionary of each column.
    const file = path.join(refDir, "Penicillin.csv");
    expectSameTable(await readCSVStream(file), parseCSV(await readFile(file, "utf8")));
  });

  it("types columns as read.csv across many chunks: quotes, CRLF, blank lines, late text, logicals", async () => {
    // About 1 MB: many chunks of the stream (64 KiB) and of parseCSV, with boundaries in different
    // places (multi-byte characters make bytes and characters differ).
    const n = 40000;
    const rng = new Rng(11);
    const expectX: number[] = [], expectLate: (string | null)[] = [], expectG: (string | null)[] = [], expectFlag: (string | null)[] = [];
    const lines = ['"x","late","g","flag","empty","note"'];
    for (let i = 0; i < n; i++) {
      const x = Math.round(rng.normal() * 1e6) / 1e3;
      const missingX = i % 997 === 5;
      expectX.push(missingX ? NaN : x);
      // Numbers up to row 30000, then one word: the whole column is text ("1.50" stays "1.50").
      const late = i === 30000 ? "word" : i % 101 === 0 ? "NA" : (i % 7) + 0.5 === 1.5 ? "1.50" : String((i % 7) + 0.5);
      expectLate.push(late === "NA" ? null : late);
      const g = i % 13 === 0 ? "na\u00efve, \"quoted\"\nline" : i % 13 === 1 ? "\u6f22\u5b57" : `g${i % 50}`;
      expectG.push(g);
      const flag = i % 211 === 0 ? "" : i % 2 ? "TRUE" : "F";
      expectFlag.push(flag === "" ? null : flag === "TRUE" ? "TRUE" : "FALSE");
      const quotedG = `"${g.replaceAll('"', '""')}"`;
      lines.push(`${missingX ? "NA" : x},${late},${quotedG},${flag},,${i % 3 === 0 ? "" : "note"}`);
      if (i % 5000 === 17) lines.push("", "   ");
    }
    const text = lines.join("\r\n") + "\r\n";
    const file = path.join(tmp, "mixed.csv");
    writeFileSync(file, text);
    const streamed = await readCSVStream(file);
    expectSameTable(streamed, parseCSV(text));
    expect(streamed.nrow).toBe(n);
    const x = streamed.columns.get("x")!;
    expect(x.type).toBe("numeric");
    expect(Array.from((x as { values: Float64Array }).values)).toEqual(expectX);
    expect(labelsOf(streamed.columns.get("late")!)).toEqual(expectLate);
    expect(labelsOf(streamed.columns.get("g")!)).toEqual(expectG);
    expect(streamed.columns.get("flag")!.type).toBe("logical");
    expect(labelsOf(streamed.columns.get("flag")!)).toEqual(expectFlag);
    // No value at all: numeric NaN (read.csv's logical NA).
    const empty = streamed.columns.get("empty")!;
    expect(empty.type).toBe("numeric");
    expect((empty as { values: Float64Array }).values.every(Number.isNaN)).toBe(true);
    expect(labelsOf(streamed.columns.get("note")!)?.slice(0, 4)).toEqual([null, "note", "note", null]);
  });

  it("fills short lines, takes levels and a tab delimiter, and reports errors with their line and file", async () => {
    const tsv = path.join(tmp, "short.tsv");
    writeFileSync(tsv, "f\ty\nlo\t1\nhi\n");
    const t = await readCSVStream(tsv, { levels: { f: { levels: ["lo", "hi"] } } });
    expect(labelsOf(t.columns.get("f")!)).toEqual(["lo", "hi"]);
    expect(Array.from((t.columns.get("y") as { values: Float64Array }).values)).toEqual([1, NaN]);
    const wide = path.join(tmp, "wide.csv");
    writeFileSync(wide, "a,b\n1,2\n1,2,3\n");
    await expect(readCSVStream(wide)).rejects.toThrow("CSV line 3 has 3 fields but the header has 2");
    const none = path.join(tmp, "none.csv");
    writeFileSync(none, "a,b\n");
    await expect(readCSVStream(none)).rejects.toThrow("data has no rows");
    await expect(readCSVStream(path.join(tmp, "absent.csv"))).rejects.toThrow(/cannot read '.*absent\.csv': no such file/);
    const unknown = path.join(tmp, "unknown.csv");
    writeFileSync(unknown, "f\nlo\nmid\n");
    await expect(readCSVStream(unknown, { levels: { f: { levels: ["lo", "hi"] } } })).rejects.toThrow("value 'mid' (row 2) is not among the given levels");
  });
});

describe("the rank check of a large X", () => {
  it("keeps and drops the columns dqrdc2 (R's qr, tol 1e-7) keeps and drops, near collinearity included", () => {
    const n = 50000;
    const rng = new Rng(3);
    const x1 = Float64Array.from({ length: n }, () => rng.normal());
    const x2 = Float64Array.from({ length: n }, () => 3 + rng.normal());
    const noise = Float64Array.from({ length: n }, () => rng.normal());
    const y = Float64Array.from({ length: n }, () => rng.normal());
    const g = Array.from({ length: n }, (_, i) => `g${i % 100}`);
    // x3 = x1 + x2 + eps·noise: its part orthogonal to 1, x1, x2 relative to its norm is about eps / 3.3,
    // from clearly independent to exactly collinear, across dqrdc2's threshold (1e-7) and the shortcut's (1e-4).
    for (const eps of [1, 1e-2, 1e-3, 3e-4, 1e-4, 1e-5, 1e-6, 3e-7, 1e-7, 3e-8, 1e-8, 1e-10, 0]) {
      const x3 = Float64Array.from(x1, (v, i) => v + x2[i] + eps * noise[i]);
      const mf = modelFrame(parseFormula("y ~ x1 + x2 + x3 + (1 | g)"), { y, x1, x2, x3, g });
      const cols = [new Float64Array(n).fill(1), x1, x2, x3];
      const x = new Float64Array(n * 4);
      cols.forEach((c, j) => x.set(c, j * n));
      const qr = dqrdc2(x, n, 4, 1e-7);
      const names = ["(Intercept)", "x1", "x2", "x3"];
      expect(mf.xNames, `eps = ${eps}`).toEqual(Array.from(qr.pivot.subarray(0, qr.rank), (j) => names[j]));
      if (eps >= 1e-3) expect(mf.xNames).toEqual(names);
      if (eps <= 1e-8) expect(mf.droppedColumns).toEqual(["x3"]);
    }
  });
});
