// Readers and preparation of many-response inputs (src/io): every reader on small files written here
// into a temporary folder, round trips of one matrix through every format, hand-computed
// normalisation values, each error path, and the bundled single-cell example. The streaming readers
// and preparation (openDenseMatrix, openH5ad, normalize-stream) give the in-memory ones' values.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import h5wasm, { type Group } from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toColumns, parseCSV, type Table } from "../src/data.js";
import { readCSV } from "../src/node.js";
import { checkResponseMatrix, responseVector, type DenseResponses, type ResponseMatrix, type SparseResponses } from "../src/responses.js";
import {
  alignMetadata,
  columnIds,
  detectedCounts,
  filterResponses,
  keptResponses,
  logNormalize,
  logNormalizeSource,
  makeUnique,
  matchObservations,
  openDenseMatrix,
  openH5ad,
  read10x,
  readDenseMatrix,
  readH5ad,
  scanResponses,
  selectResponses,
  sniffDelimiter,
  subsetTable,
} from "../src/io/index.js";
import { matrixSource, type ResponseSource } from "../src/response-source.js";

const refData = fileURLToPath(new URL("./fixtures/reference/data/", import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mixedmodels-io-"));
  await h5wasm.ready;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** A fresh path in the temp folder. */
const tmp = (name: string) => join(dir, `${++fileCount}-${name}`);
function write(name: string, text: string | Buffer, gzip = false): string {
  const p = tmp(name);
  writeFileSync(p, gzip ? gzipSync(text) : text);
  return p;
}

// The small matrix of the round trips: 4 genes × 3 cells of counts (rows are genes).
const genes = ["g1", "g2", "g3", "g4"];
const cells = ["c1", "c2", "c3"];
const counts = [
  [1, 0, 4],
  [0, 2, 0],
  [3, 0, 0],
  [0, 0, 5],
];

function vectors(Y: ResponseMatrix): Record<string, number[]> {
  checkResponseMatrix(Y);
  const out = new Float64Array(Y.nObs);
  const names = Y.responseNames ?? [];
  return Object.fromEntries(names.map((g, r) => [g, Array.from(responseVector(Y, r, out))]));
}
const expected = Object.fromEntries(genes.map((g, r) => [g, counts[r]]));

function denseText(sep: string, opts: { quote?: boolean; rowNameHeader?: string | null } = {}): string {
  const q = (s: string) => (opts.quote ? `"${s}"` : s);
  const head = opts.rowNameHeader === null ? cells.map(q) : [q(opts.rowNameHeader ?? "gene"), ...cells.map(q)];
  return [head.join(sep), ...genes.map((g, r) => [q(g), ...counts[r]].join(sep))].join("\n") + "\n";
}

/** message of the rejection of a promise (fails the test if it resolves). */
async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a rejection");
}
function syncErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

// ---------------------------------------------------------------------------------------------------
describe("readDenseMatrix", () => {
  it("reads a CSV of genes × cells into a responses-by-obs Float64Array", async () => {
    const Y = await readDenseMatrix(write("m.csv", denseText(",", { quote: true })));
    expect(Y).toMatchObject({ kind: "dense", layout: "responses-by-obs", nResponses: 4, nObs: 3, responseNames: genes, obsIds: cells });
    expect(Y.values).toBeInstanceOf(Float64Array);
    expect(Array.from(Y.values)).toEqual(counts.flat());
  });

  it("reads gzipped TSV, and tells tab from comma by the extension or by sniffing", async () => {
    for (const [name, sep, gz] of [
      ["m.tsv.gz", "\t", true],
      ["m.tsv", "\t", false],
      ["m.txt", "\t", false],
      ["m.txt.gz", ",", true],
      ["m.csv.gz", ",", true],
    ] as const) {
      const Y = await readDenseMatrix(write(name, denseText(sep), gz));
      expect(vectors(Y), name).toEqual(expected);
    }
    expect(sniffDelimiter('gene\tcell "a,b"\tc2')).toBe("\t");
    expect(sniffDelimiter('"gene","c\t1",c2')).toBe(",");
  });

  it("reads gzip by its content even when the name does not say so", async () => {
    const Y = await readDenseMatrix(write("noext.csv", denseText(","), true));
    expect(vectors(Y)).toEqual(expected);
  });

  it("accepts R write.table's header without the row-name cell, CRLF line ends and a BOM", async () => {
    const Y = await readDenseMatrix(write("wt.tsv", denseText("\t", { rowNameHeader: null, quote: true })));
    expect(Y.obsIds).toEqual(cells);
    expect(vectors(Y)).toEqual(expected);
    const crlf = "\ufeff" + denseText(",").replace(/\n/g, "\r\n");
    expect(vectors(await readDenseMatrix(write("crlf.csv", crlf)))).toEqual(expected);
  });

  it("reads empty cells and NA as NaN, and Inf, exponents and signs as numbers", async () => {
    const Y = await readDenseMatrix(write("na.csv", "gene,a,b,c\nx,,NA,1e-3\ny,-Inf,+2.5,NaN\n"));
    expect(Array.from(Y.values)).toEqual([NaN, NaN, 0.001, -Infinity, 2.5, NaN]);
    const custom = await readDenseMatrix(write("na2.csv", "gene,a,b\nx,-,1\n"), { naStrings: ["-"] });
    expect(Array.from(custom.values)).toEqual([NaN, 1]);
  });

  it("follows CSV quoting: delimiters, doubled quotes and line breaks inside quoted names", async () => {
    const text = 'gene,"c,1","c""2"\n"GENE,A",1,2\n"multi\nline",3,4\n';
    const Y = await readDenseMatrix(write("q.csv", text));
    expect(Y.obsIds).toEqual(["c,1", 'c"2']);
    expect(Y.responseNames).toEqual(["GENE,A", "multi\nline"]);
    expect(Array.from(Y.values)).toEqual([1, 2, 3, 4]);
  });

  it("reads cells × genes with rows: 'obs' (layout obs-by-responses)", async () => {
    const text = ["cell,g1,g2", "c1,1,2", "c2,3,4", "c3,5,6"].join("\n");
    const Y = await readDenseMatrix(write("obs.csv", text), { rows: "obs" });
    expect(Y).toMatchObject({ layout: "obs-by-responses", nResponses: 2, nObs: 3, responseNames: ["g1", "g2"], obsIds: cells });
    expect(vectors(Y)).toEqual({ g1: [1, 3, 5], g2: [2, 4, 6] });
  });

  it("grows past its initial buffer (more rows than 64)", async () => {
    const rows = Array.from({ length: 150 }, (_, r) => `r${r},${r},${-r}`);
    const Y = await readDenseMatrix(write("tall.csv", ["g,a,b", ...rows].join("\n")));
    expect(Y.nResponses).toBe(150);
    expect(Y.values.length).toBe(300);
    expect(Y.values[2 * 149]).toBe(149);
    expect(Y.values[2 * 149 + 1]).toBe(-149);
  });

  it("names the line, field counts, column and text of bad input", async () => {
    const f1 = write("ragged.csv", "gene,a,b\nx,1,2\ny,1\n");
    expect(await errorOf(readDenseMatrix(f1))).toBe(`${f1}, line 3: 2 fields, expected 3 (a response name and 2 values, as the header has 2 observations)`);
    const f2 = write("text.csv", "gene,a,b\nx,1,2\ny,1,two\n");
    expect(await errorOf(readDenseMatrix(f2))).toBe(`${f2}, line 3, column 'b' (response 'y'): 'two' is not a number`);
    const f3 = write("hex.csv", "gene,a\nx,0x10\n");
    expect(await errorOf(readDenseMatrix(f3))).toContain("'0x10' is not a number");
    const f4 = write("dupgene.csv", "gene,a,b\nx,1,2\ny,1,2\n\nx,3,4\n");
    expect(await errorOf(readDenseMatrix(f4))).toBe(`${f4}, line 5: response 'x' already appeared on line 2`);
    const f5 = write("dupcell.csv", "gene,a,b,a\nx,1,2,3\n");
    expect(await errorOf(readDenseMatrix(f5))).toBe(`${f5}, line 1: observation 'a' appears more than once in the header (columns 2, 4)`);
    const f6 = write("empty.csv", "");
    expect(await errorOf(readDenseMatrix(f6))).toBe(`${f6}: the file is empty`);
    const f7 = write("headonly.csv", "gene,a,b\n");
    expect(await errorOf(readDenseMatrix(f7))).toBe(`${f7}: a header but no response rows`);
    const f8 = write("open.csv", 'gene,a\n"x,1\n');
    expect(await errorOf(readDenseMatrix(f8))).toBe(`${f8}, line 2: a quoted field is not closed before the end of the file`);
    const f9 = write("badquote.csv", 'gene,a\nx"y"z,1\n');
    expect(await errorOf(readDenseMatrix(f9))).toMatch(new RegExp(`^${escapeRe(f9)}, line 2: .*quote`, "i"));
  });

  it("names the file when it is missing, a directory, or broken gzip", async () => {
    const missing = join(dir, "nope.csv");
    expect(await errorOf(readDenseMatrix(missing))).toBe(`cannot read '${missing}': no such file`);
    expect(await errorOf(readDenseMatrix(dir, { delimiter: "," }))).toBe(`cannot read '${dir}': it is a directory`);
    const gz = gzipSync(denseText(",").repeat(50));
    const cut = write("cut.csv.gz", gz.subarray(0, gz.length - 20));
    expect(await errorOf(readDenseMatrix(cut))).toMatch(new RegExp(`^${escapeRe(cut)}: not valid gzip data`));
  });

  it("reads the single-cell example (100 genes × 2,400 cells) and matches its cell table", async () => {
    const Y = await readDenseMatrix(join(refData, "singlecell-logexpr.csv"));
    expect([Y.nResponses, Y.nObs]).toEqual([100, 2400]);
    expect(Y.responseNames![0]).toBe("gene001");
    expect(Y.responseNames![99]).toBe("gene100");
    expect(Y.values[0]).toBe(0.20824); // gene001, c00001
    expect(Y.values[2399]).toBe(0.357); // gene001, c02400
    expect(Y.values[49 * 2400 + 1233]).toBe(2.20106); // gene050, c01234
    expect(Y.values[99 * 2400]).toBe(2.29355); // gene100, c00001
    expect(Y.values.some(Number.isNaN)).toBe(false);
    const cellsTable = readCSV(join(refData, "singlecell-cells.csv"));
    const { rows, droppedMetadataRows } = matchObservations(Y.obsIds!, columnIds(cellsTable, "cell"));
    expect(Array.from(rows)).toEqual(Array.from({ length: 2400 }, (_, i) => i));
    expect(droppedMetadataRows).toBe(0);
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------------------------------------------
// 10x

interface TenxFixture {
  entries?: [number, number, number][]; // 1-based feature, barcode, value
  features?: string[][];
  barcodes?: string[];
  gzip?: boolean;
  header?: string;
  banner?: string;
  genesFile?: boolean; // the older genes.tsv name
}

/** The round-trip matrix's non-zeros as (feature, barcode, count), 1-based, in barcode order as Cell Ranger writes. */
function countEntries(): [number, number, number][] {
  const e: [number, number, number][] = [];
  for (let j = 0; j < cells.length; j++) for (let r = 0; r < genes.length; r++) if (counts[r][j] !== 0) e.push([r + 1, j + 1, counts[r][j]]);
  return e;
}

function write10x(f: TenxFixture = {}): string {
  const d = tmp("tenx");
  mkdirSync(d);
  const gz = f.gzip ?? true;
  const put = (name: string, text: string) => writeFileSync(join(d, gz ? `${name}.gz` : name), gz ? gzipSync(text) : text);
  const entries = f.entries ?? countEntries();
  const features = f.features ?? genes.map((g, r) => [`ENSG0${r + 1}`, g, "Gene Expression"]);
  const barcodes = f.barcodes ?? cells;
  const header = f.header ?? `${features.length} ${barcodes.length} ${entries.length}`;
  const banner = f.banner ?? "%%MatrixMarket matrix coordinate integer general";
  put("matrix.mtx", [banner, "%metadata_json: {}", header, ...entries.map((e) => e.join(" "))].join("\n") + "\n");
  put(f.genesFile ? "genes.tsv" : "features.tsv", features.map((r) => r.join("\t")).join("\n") + "\n");
  put("barcodes.tsv", barcodes.join("\n") + "\n");
  return d;
}

describe("read10x", () => {
  it("reads matrix.mtx.gz, features.tsv.gz and barcodes.tsv.gz into CSR with gene rows", async () => {
    const Y = await read10x(write10x());
    expect(Y).toMatchObject({ kind: "csr", rowsAre: "responses", nResponses: 4, nObs: 3, responseNames: genes, obsIds: cells });
    expect(Array.from(Y.ptr)).toEqual([0, 2, 3, 4, 5]);
    expect(Array.from(Y.idx)).toEqual([0, 2, 1, 0, 2]);
    expect(vectors(Y)).toEqual(expected);
  });

  it("reads uncompressed files, the older genes.tsv, ids instead of names, and real values", async () => {
    const old = write10x({ gzip: false, genesFile: true, features: genes.map((g, r) => [`ENSG0${r + 1}`, g]) });
    expect(vectors(await read10x(old))).toEqual(expected);
    const byId = await read10x(write10x(), { featureColumn: "id" });
    expect(byId.responseNames).toEqual(["ENSG01", "ENSG02", "ENSG03", "ENSG04"]);
    const real = await read10x(write10x({ banner: "%%MatrixMarket matrix coordinate real general", entries: [[1, 1, 0.5], [4, 3, 1e-3]] }));
    expect(vectors(real).g1).toEqual([0.5, 0, 0]);
    expect(vectors(real).g4).toEqual([0, 0, 0.001]);
  });

  it("reads entries with any white space between fields, and only decimal numbers", async () => {
    const d = write10x({ entries: [] , header: "4 3 3" });
    const lines = ["%%MatrixMarket matrix coordinate real general", "% comment", "", "4 3 3", "1\t1\t2.5", "  2   2 1e1 ", "4 3 -.5", ""];
    writeFileSync(join(d, "matrix.mtx.gz"), gzipSync(lines.join("\n")));
    const Y = await read10x(d);
    expect(vectors(Y)).toEqual({ g1: [2.5, 0, 0], g2: [0, 10, 0], g3: [0, 0, 0], g4: [0, 0, -0.5] });
    writeFileSync(join(d, "matrix.mtx.gz"), gzipSync(["%%MatrixMarket matrix coordinate integer general", "4 3 1", "1 0x1 2"].join("\n")));
    expect(await errorOf(read10x(d))).toBe(`${join(d, "matrix.mtx.gz")}, line 3: column '0x1' is outside 1..3`);
    writeFileSync(join(d, "matrix.mtx.gz"), gzipSync(["%%MatrixMarket matrix coordinate integer general", "4 3 1", "1 1 0x10"].join("\n")));
    expect(await errorOf(read10x(d))).toBe(`${join(d, "matrix.mtx.gz")}, line 3: value '0x10' is not an integer`);
    writeFileSync(join(d, "matrix.mtx.gz"), gzipSync(["%%MatrixMarket matrix coordinate integer general", "4 3 1", "1 1"].join("\n")));
    expect(await errorOf(read10x(d))).toBe(`${join(d, "matrix.mtx.gz")}, line 3: expected 'row column value', found '1 1'`);
  });

  it("sorts entries in any order into ascending columns within each row", async () => {
    const shuffled = countEntries().reverse();
    [shuffled[0], shuffled[2]] = [shuffled[2], shuffled[0]];
    const Y = await read10x(write10x({ entries: shuffled }));
    expect(Array.from(Y.idx)).toEqual([0, 2, 1, 0, 2]);
    expect(vectors(Y)).toEqual(expected);
  });

  it("makes repeated feature names unique as R's make.unique", async () => {
    const features = [["e1", "X"], ["e2", "X"], ["e3", "X.1"], ["e4", "X"]];
    const Y = await read10x(write10x({ features }));
    expect(Y.responseNames).toEqual(["X", "X.2", "X.1", "X.3"]);
    expect(makeUnique(["a", "a", "a.1", "b", "a"])).toEqual(["a", "a.2", "a.1", "b", "a.3"]);
  });

  it("rejects repeated entries by default and sums them with duplicates: 'sum'", async () => {
    const d = write10x({ entries: [...countEntries(), [1, 1, 10], [1, 1, 100]] });
    expect(await errorOf(read10x(d))).toBe(
      `${join(d, "matrix.mtx.gz")}: 2 repeated entries (first: row 1 'g1', column 1 'c1'); a 10x matrix lists each entry once — pass duplicates: "sum" to add repeats`,
    );
    const Y = await read10x(d, { duplicates: "sum" });
    expect(vectors(Y).g1).toEqual([111, 0, 4]);
    expect(Y.idx.length).toBe(5);
  });

  it("keeps one feature type with featureType", async () => {
    const features = [...genes.map((g, r) => [`ENSG0${r + 1}`, g, "Gene Expression"]), ["AB1", "CD3", "Antibody Capture"]];
    const d = write10x({ features, entries: [...countEntries(), [5, 2, 7]] });
    const all = await read10x(d);
    expect(all.nResponses).toBe(5);
    const Y = await read10x(d, { featureType: "Gene Expression" });
    expect(Y.responseNames).toEqual(genes);
    expect(vectors(Y)).toEqual(expected);
    expect(await errorOf(read10x(d, { featureType: "Peaks" }))).toBe(
      `${join(d, "features.tsv.gz")}: no feature of type 'Peaks' (types present: 'Gene Expression', 'Antibody Capture')`,
    );
  });

  it("checks the size line against the features, the barcodes and the entries", async () => {
    const mtx = (d: string) => join(d, "matrix.mtx.gz");
    let d = write10x({ header: "5 3 5" });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}: the matrix has 5 rows but ${join(d, "features.tsv.gz")} lists 4 features`);
    d = write10x({ header: "4 2 5" });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}: the matrix has 2 columns but ${join(d, "barcodes.tsv.gz")} lists 3 barcodes`);
    d = write10x({ header: "4 3 6" });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}: 5 entries, but the size line announces 6 (the file may be truncated)`);
    d = write10x({ header: "4 3 4" });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}, line 8: more entries than the 4 the size line announces`);
    d = write10x({ header: "4 3" });
    expect(await errorOf(read10x(d))).toMatch(/line 3: expected the size line 'rows columns entries'/);
  });

  it("names the line of a bad entry or banner", async () => {
    const mtx = (d: string) => join(d, "matrix.mtx.gz");
    let d = write10x({ entries: [[1, 1, 1], [5, 1, 1]] });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}, line 5: row '5' is outside 1..4`);
    d = write10x({ entries: [[1, 0, 1]] });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}, line 4: column '0' is outside 1..3`);
    d = write10x({ entries: [[1, 1, 1.5]] });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}, line 4: value '1.5' is not an integer`);
    d = write10x({ entries: [[1, 1, NaN]] });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}, line 4: value 'NaN' is not an integer`);
    d = write10x({ banner: "%%MatrixMarket matrix coordinate integer symmetric" });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}, line 1: symmetry 'symmetric' is not supported (expected general)`);
    d = write10x({ banner: "%%MatrixMarket matrix array real general" });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}, line 1: 'matrix array' is not supported; a 10x matrix is 'matrix coordinate'`);
    d = write10x({ banner: "%%MatrixMarket matrix coordinate complex general" });
    expect(await errorOf(read10x(d))).toBe(`${mtx(d)}, line 1: field 'complex' is not supported (expected integer or real)`);
    d = write10x({ banner: "4 3 5" });
    expect(await errorOf(read10x(d))).toMatch(/line 1: not a Matrix Market file/);
  });

  it("names missing files, repeated barcodes and short feature lines", async () => {
    const d = tmp("empty10x");
    mkdirSync(d);
    writeFileSync(join(d, "readme.txt"), "");
    expect(await errorOf(read10x(d))).toBe(`${d}: no matrix file (looked for matrix.mtx.gz, matrix.mtx; the directory has readme.txt)`);
    const missing = join(dir, "no-such-dir");
    expect(await errorOf(read10x(missing))).toBe(`cannot read '${missing}': no such file`);
    const notDir = write("file.txt", "x");
    expect(await errorOf(read10x(notDir))).toBe(`'${notDir}' is not a directory (read10x takes the directory holding matrix.mtx)`);
    let t = write10x({ barcodes: ["c1", "c2", "c1"] });
    expect(await errorOf(read10x(t))).toBe(`${join(t, "barcodes.tsv.gz")}: barcode 'c1' appears more than once (lines 1, 3)`);
    t = write10x({ features: genes.map((g) => [g]) });
    expect(await errorOf(read10x(t))).toBe(
      `${join(t, "features.tsv.gz")}, line 1: 1 column, expected at least 2 (id and name); use featureColumn: "id" for a file of ids only`,
    );
    expect((await read10x(t, { featureColumn: "id" })).responseNames).toEqual(genes);
  });
});

// ---------------------------------------------------------------------------------------------------
// h5ad, written with h5wasm following anndata's on-disk specification (0.8+)

type XKind = "dense" | "csr" | "csc";

function encode(o: Group, type: string, version: string): void {
  o.create_attribute("encoding-type", type);
  o.create_attribute("encoding-version", version);
}

function stringArray(g: Group, name: string, values: string[]): void {
  const d = g.create_dataset({ name, data: values });
  encode(d as unknown as Group, "string-array", "0.2.0");
}

function numericArray(g: Group, name: string, data: Float64Array | Float32Array | Int32Array | Int8Array | BigInt64Array, shape?: number[], chunks?: number[]): void {
  const d = g.create_dataset({ name, data, shape, chunks });
  encode(d as unknown as Group, "array", "0.2.0");
}

/** Compressed storage of `dense` (rows × cols, row-major) along rows ("csr") or columns ("csc"). */
function compress(dense: number[][], kind: "csr" | "csc"): { ptr: number[]; idx: number[]; data: number[] } {
  const [n, m] = [dense.length, dense[0].length];
  const [outer, inner] = kind === "csr" ? [n, m] : [m, n];
  const ptr = [0], idx: number[] = [], data: number[] = [];
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const v = kind === "csr" ? dense[a][b] : dense[b][a];
      if (v !== 0) idx.push(b), data.push(v);
    }
    ptr.push(idx.length);
  }
  return { ptr, idx, data };
}

/** Cells × genes, as AnnData stores them. */
const cellByGene = cells.map((_, j) => genes.map((_, r) => counts[r][j]));

function writeMatrix(parent: Group, name: string, kind: XKind, values: number[][], int64Pointers = false, chunks?: number[]): void {
  if (kind === "dense") {
    numericArray(parent, name, Float64Array.from(values.flat()), [values.length, values[0].length], chunks);
    return;
  }
  const { ptr, idx, data } = compress(values, kind);
  const g = parent.create_group(name);
  encode(g, `${kind}_matrix`, "0.1.0");
  g.create_attribute("shape", new BigInt64Array([BigInt(values.length), BigInt(values[0].length)]));
  g.create_dataset({ name: "data", data: Float32Array.from(data) });
  g.create_dataset({ name: "indices", data: Int32Array.from(idx) });
  g.create_dataset({ name: "indptr", data: int64Pointers ? BigInt64Array.from(ptr.map(BigInt)) : Int32Array.from(ptr) });
}

interface H5adFixture {
  X?: XKind;
  layers?: Record<string, XKind>;
  int64Pointers?: boolean;
  /** Replace the X group's encoding-type. */
  xEncoding?: string;
  extraObs?: (obs: Group) => string[];
  codes?: number[];
  noX?: boolean;
  /** A dense X stored in chunks of this shape. */
  chunks?: number[];
}

function writeH5ad(f: H5adFixture = {}): string {
  const p = tmp("a.h5ad");
  const file = new h5wasm.File(p, "w");
  try {
    encode(file, "anndata", "0.1.0");
    const obs = file.create_group("obs");
    const extra = f.extraObs ? f.extraObs(obs) : [];
    encode(obs, "dataframe", "0.2.0");
    obs.create_attribute("_index", "cell_id");
    obs.create_attribute("column-order", ["donor", "age", ...extra]);
    stringArray(obs, "cell_id", cells);
    numericArray(obs, "age", new Float64Array([31.5, 42, NaN]));
    const donor = obs.create_group("donor");
    encode(donor, "categorical", "0.2.0");
    // h5py writes `ordered` as a numpy bool, which h5wasm cannot create; an int8 0 is read the same.
    donor.create_attribute("ordered", new Int8Array([0]), [], "b");
    stringArray(donor, "categories", ["D2", "D1"]);
    numericArray(donor, "codes", Int8Array.from(f.codes ?? [0, 1, -1]));
    const v = file.create_group("var");
    encode(v, "dataframe", "0.2.0");
    v.create_attribute("_index", "_index");
    v.create_attribute("column-order", ["gene_ids"]);
    stringArray(v, "_index", genes);
    stringArray(v, "gene_ids", genes.map((_, r) => `ENSG0${r + 1}`));
    if (!f.noX) writeMatrix(file, "X", f.X ?? "csr", cellByGene, f.int64Pointers, f.chunks);
    if (f.xEncoding) {
      const x = file.get("X") as Group;
      x.delete_attribute("encoding-type");
      x.create_attribute("encoding-type", f.xEncoding);
    }
    const layers = file.create_group("layers");
    encode(layers, "dict", "0.1.0");
    for (const [name, kind] of Object.entries(f.layers ?? {})) writeMatrix(layers, name, kind, cellByGene.map((row) => row.map((x) => 10 * x)));
  } finally {
    file.close();
  }
  return p;
}

describe("readH5ad", () => {
  it("reads dense, CSR and CSC X as cells × genes with names and obs", async () => {
    for (const X of ["dense", "csr", "csc"] as const) {
      const d = await readH5ad(writeH5ad({ X }));
      expect(d.Y.kind).toBe(X);
      if (d.Y.kind === "dense") expect(d.Y.layout).toBe("obs-by-responses");
      else expect(d.Y.rowsAre).toBe("obs");
      expect([d.Y.nResponses, d.Y.nObs]).toEqual([4, 3]);
      expect(d.obsIds).toEqual(cells);
      expect(d.responseNames).toEqual(genes);
      expect(d.Y.obsIds).toEqual(cells);
      expect(vectors(d.Y)).toEqual(expected);
    }
  });

  it("returns obs columns with categoricals as strings (null = code -1) and their category order", async () => {
    const d = await readH5ad(writeH5ad());
    expect(Object.keys(d.obs)).toEqual(["donor", "age"]);
    expect(d.obs.donor).toEqual(["D2", "D1", null]);
    expect(Array.from(d.obs.age as Float64Array)).toEqual([31.5, 42, NaN]);
    expect(d.levels).toEqual({ donor: { levels: ["D2", "D1"], ordered: false } });
    // The category order survives into a design table.
    const t = toColumns(d.obs, { levels: d.levels });
    const donor = t.columns.get("donor")!;
    expect(donor.type === "factor" && [donor.levels, Array.from(donor.codes)]).toEqual([["D2", "D1"], [0, 1, -1]]);
    const only = await readH5ad(writeH5ad(), { obsColumns: ["age"] });
    expect(Object.keys(only.obs)).toEqual(["age"]);
  });

  it("reads nullable columns (values with a mask) and 64-bit pointers", async () => {
    const p = writeH5ad({
      int64Pointers: true,
      extraObs: (obs) => {
        const n = obs.create_group("n_genes");
        encode(n, "nullable-integer", "0.1.0");
        n.create_dataset({ name: "values", data: new BigInt64Array([5n, 0n, 7n]) });
        n.create_dataset({ name: "mask", data: new Uint8Array([0, 1, 0]) });
        const b = obs.create_group("pass");
        encode(b, "nullable-boolean", "0.1.0");
        b.create_dataset({ name: "values", data: new Uint8Array([1, 0, 0]) });
        b.create_dataset({ name: "mask", data: new Uint8Array([0, 0, 1]) });
        return ["n_genes", "pass"];
      },
    });
    const d = await readH5ad(p);
    expect(d.obs.n_genes).toEqual([5, null, 7]);
    expect(d.obs.pass).toEqual([true, false, null]);
    expect(d.Y.kind === "csr" && d.Y.ptr).toBeInstanceOf(Float64Array);
    expect(vectors(d.Y)).toEqual(expected);
  });

  it("reads a named layer instead of X", async () => {
    for (const kind of ["dense", "csr", "csc"] as const) {
      const d = await readH5ad(writeH5ad({ layers: { counts: kind, other: "dense" } }), { layer: "counts" });
      expect(vectors(d.Y)).toEqual(Object.fromEntries(genes.map((g, r) => [g, counts[r].map((x) => 10 * x)])));
    }
  });

  it("names a missing layer and lists the ones present", async () => {
    const p = writeH5ad({ layers: { counts: "csr", spliced: "dense" } });
    expect(await errorOf(readH5ad(p, { layer: "raw" }))).toBe(`${p}: no layer 'raw' (layers: counts, spliced)`);
    const q = writeH5ad();
    expect(await errorOf(readH5ad(q, { layer: "raw" }))).toBe(`${q}: no layer 'raw' (the file has no layers)`);
    const noX = writeH5ad({ noX: true });
    expect(await errorOf(readH5ad(noX))).toBe(`${noX}: no X matrix (the file may keep its data in layers; pass layer)`);
  });

  it("names unsupported encodings", async () => {
    const p = writeH5ad({ xEncoding: "coo_matrix" });
    expect(await errorOf(readH5ad(p))).toBe(`${p}: X: encoding-type 'coo_matrix' is not supported for a matrix (expected 'array', 'csr_matrix' or 'csc_matrix')`);
    const q = writeH5ad({
      extraObs: (obs) => {
        const g = obs.create_group("tracks");
        encode(g, "awkward-array", "0.1.0");
        return ["tracks"];
      },
    });
    const msg = await errorOf(readH5ad(q));
    expect(msg).toMatch(new RegExp(`^${escapeRe(q)}: obs/tracks: encoding-type 'awkward-array' is not supported for a dataframe column`));
    expect(msg).toContain("pass obsColumns");
    expect((await readH5ad(q, { obsColumns: ["donor"] })).obs.donor).toEqual(["D2", "D1", null]);
    expect(await errorOf(readH5ad(q, { obsColumns: ["batch"] }))).toBe(`${q}: obs: no column 'batch' (columns: donor, age, tracks)`);
  });

  it("names bad codes, missing files and files that are not HDF5", async () => {
    const p = writeH5ad({ codes: [0, 2, -1] });
    expect(await errorOf(readH5ad(p))).toBe(`${p}: obs/donor/codes: code 2 at row 2 is outside -1..1 (2 categories)`);
    const missing = join(dir, "nope.h5ad");
    expect(await errorOf(readH5ad(missing))).toBe(`cannot read '${missing}': no such file`);
    const text = write("fake.h5ad", "not hdf5 at all, just text that is long enough");
    expect(await errorOf(readH5ad(text))).toBe(`${text}: not an HDF5 file (an .h5ad file is HDF5)`);
  });
});

// A file written by anndata itself (0.8.0, with h5py 3.7 and HDF5 1.10, Debian bookworm's packages),
// gzipped and in base64: it has what h5wasm cannot write, h5py's boolean enums (a bool column and the
// categorical's `ordered`) and the empty float64 column-order of a var without columns. Made by
//   X = np.array([[1,0,3,0],[0,2,0,0],[4,0,0,5]], dtype=np.float32)
//   obs = pd.DataFrame({"donor": pd.Categorical(["D2","D1",None], categories=["D2","D1"]),
//     "age": [31.5, 42.0, np.nan], "treated": [True, False, True],
//     "nint": pd.array([1, None, 3], dtype="Int64")}, index=["c1","c2","c3"])
//   ad.AnnData(X=sp.csr_matrix(X), obs=obs, var=pd.DataFrame(index=["g1","g2","g3","g4"]),
//     layers={"counts": X.astype(np.int64)}).write_h5ad(path)
const anndataWritten = [
  "H4sIAAAAAAACA+1dTVATSRTuGQIMIBoUJaCu0fgTf0BAVPawa9wFTLmu4m/h6pYZk0hwYYJJYLH2IEf2ZtVWbe3eOO7RvXnk",
  "6HGPHj16ZG/c3Ml0v6S7SeeHzLho3ldlNa/zprun5/316+nx1+jYRGd7XzvJwzCIj/gJjw8M0Z9FGn6PsVJj5Qor/9Kh3uf8",
  "FmD1ftZ+sInSa6z+zq3xcUL0QvtyP6sttAwyOrJAy1GCaARExy9P5stXjJ5k5cuct/12MXmV5XoHiTL53km6iUGSVjydmLGm",
  "+3PP55N2fa+mOVf6C7phCHrSWqxy6nawO9LsHoX2FpOZ7EzagvFUareZa1d36ltK6h9UpAT905T6t9QrXIZoUP2bIqIdjraI",
  "fAkzZ+bLGSsxE09m8+V8LlOUz1rt9e3rN8byPoSJNHnXJPobw0fLMBtHBPzFTyLfG0a/nwM9oBj8WuSbYvRSRLzP1R+l9hj9",
  "/tGn/VyvfHvjmsZNiGCfbJiW5TxSnbcv+XkbGBoYtEv2OEg7K+PZzKM5M5eZWaK0T3Fds9RPLpM0c8kEAXGC66wZK8fzQX/m",
  "dJKzfsX2EmkrbYsbaWM0tPfIFsTkUnGccD/xc7TskOuHwc5L9UO07CTi71n7lm1rbWYy5vM8vXPTfQ87971LqocL/Ar+Lqn/",
  "Mdb/brmejXdPhXF1K/rZS8R5iNtPYzqdmYmbsw69T3Fdj+J+Agr+XgV/n4J/v4L/gIL/oIL/CwX/ISLaA2thdtZ8PJvst+Uu",
  "OZ3MBBXye5jRbZzde5Ix55KMPqLoL6SQy6PS85xmcnlMrh+h5XG5nj3/E3I9k5dwBbk4qRjvqQr3eVpx3RlJj21v4Ohxv2I+",
  "BxT8ZxX8gwr+IQX/sIL/nIJ/RCFH5xX3e0HR/kVF+6MK/i8V/ICpdoxFEAgEAoFAIBBbB+QD57+i9FphnQD5zRb77wDJpkwn",
  "r+k3YM1NEySapgnrDV1ap0N8q9kRrcYlGDS2QoTrId6FvGOT/Xv+l67gIdZGkPQYpOdFIT42nN/1Jtqiwdpr0vW1vmII7Sve",
  "6cq2mnea12oq5C9SgUrPiWL9VHk+aGZwpDHkN5+31krkrbsV/OtHRLpZklMEAoFAIBCfI5Yv2bFrhAawy/a/1QjErZoUu+rs",
  "72aIaw2IjUW6Q6KdFK32ga/aLbF0FUdD42gyzsqNF/lwRisMptSgoJUTEn1coo9K9DGuPSK1K0NX1KsCpWaULAQCgUBsX9Se",
  "h/I7rPm8F+ShKJ8y/wR731L+6eW2nI9a8ye+UGm3j/kTBAKBQCAaN37y1R8/Rc4XQ4pPNn7yK/gDUvzkw/gJgUAgEIjPHnCe",
  "VD63Vu950vZilbOl48V5Up9T31ryPOl6hNLrXFxU7jzp+jeEiwYRjQb5PCmccfkjIvLB+Sg41wfn/uC8IJwPBHkNV+i3cP75",
  "Hi3WCOjfCpP7TltfAiSenl2Ys/rTmUQyU1ZPpHWPr4TeGEwngW4l4vnvQqKY0S3OeCJsPK2O/sI8VNLXFq6dNqfeKLteg+3f",
  "Yknfu1T1U1i36dK6TQuHxCfpjl3bwd1PJ/f8Rsdo3VShp+osCX3vsrl4nvhyeX6wc5PXKskVW6WOEWH8rxn9dkKUz1fXRb63",
  "jN6YFO9m6fvtqb9e+JedRP29gskrlK72ewVvooTrDdHo/gX0aWNC5LOlNpklxfPODkG2/r0CkNeX38n+BeygQY7b/xzHYvuv",
  "gE4K+THQj4nL126POzJ+dxwGo23Kw9Vq1/2b+hHtuS7Z86mQ2II79pzX913cfPmvyvY8XNO8U7uuF+xw6mp5frALr6+grnht",
  "1/28XVfI6+bzI1uNQx6ESsUDbsYhezyap25ufSjHDfWOv4PrZ69H499XxXNWxZtdwUuFc0UjHWTkQxOpYJ9+CYkRmvv2qcej",
  "eQpw8xSuep7CdF6r9BfqefvNc7ve69G89RH19+Qid0V/Wyk+XL4lxu2Ixo4PQZ4CN0W+OTPrfDlq0ZxdyMeGIJeRLfZbe9zm",
  "lt7/7rne7+f08c1tOZ7zl43bIB6bv1ndOjt4B2XY67jtAOen/FtYZ/DnhNVy+afnfvygR/PzBRevyfmbesfv5/o55NH4g9z4",
  "5e/e1Tv+Nq6fwx6N/0iZ/Yjl+yzPVmU8EHmA+SKMB4r+CvxM+H7p/QiQx2id/YK8vnuoyheV3o9QrZfALm/2D/XvJ4SqiF/k",
  "fZCtr+P/DpWKtNxcx4e5+V95WM9+glawG4M/oC5tl/jlJOff3rP9PuO++/7tlEfjP11mvRuLlVrvEqV/Q6B/4+0b2CsjJq9P",
  "KSZd6hf0T/5ecr36x++Xn/FI//rL6N+7OOofon79W4l/HP2LmpROxd3XvwGP9O9sOf83jfqHcMH/TX8k/5dg/u+J+/o36JH+",
  "DZXzf09R/xAu+L+nH8n/sRfHUk/d179hj/TvXBn98z8rpX/q/OZ8GvObqH+b85uGJfLF0wtWLutefnNzvpC+16Xp4v5RMV8o",
  "07XuJ/3L8oYxV/OGvF6OcHr4el7OGwZqyhfGLJTN7ZIvPM/Ha9L/F+Wmv7jg0fgvlvEXK4sYryHqj9dGc97GawDoN/2YvpC9",
  "aGaAnmP0HKPnGe2Us+ZzW4EIWbCywvhiHs0TnCeBUy+rCXFe5HUf+NN/nol8G4wO5EQvsnZP5JP3MeAt6aAp8sn5HniPPZiS",
  "+KS4+P8C2F15Hty0u6Me2d38/9n0HzLeO9ZIdwAA"
].join("");

describe("readH5ad on a file written by anndata", () => {
  it("reads X, a layer, booleans, a nullable integer and a categorical", async () => {
    const p = write("anndata.h5ad", gunzipSync(Buffer.from(anndataWritten, "base64")));
    const d = await readH5ad(p);
    expect(d.Y).toMatchObject({ kind: "csr", rowsAre: "obs", nObs: 3, nResponses: 4 });
    expect(d.Y.kind === "csr" && d.Y.data).toBeInstanceOf(Float32Array);
    expect(vectors(d.Y)).toEqual(expected);
    expect(d.obsIds).toEqual(cells);
    expect(d.responseNames).toEqual(genes);
    expect(d.obs).toEqual({ donor: ["D2", "D1", null], age: new Float64Array([31.5, 42, NaN]), treated: [true, false, true], nint: [1, null, 3] });
    expect(d.levels).toEqual({ donor: { levels: ["D2", "D1"], ordered: false } });
    const counts = await readH5ad(p, { layer: "counts" });
    expect(counts.Y).toMatchObject({ kind: "dense", layout: "obs-by-responses" });
    expect(vectors(counts.Y)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------------
describe("round trips", () => {
  it("gives the same response vectors from dense CSV, 10x mtx.gz and h5ad dense / CSR / CSC", async () => {
    const read = [
      await readDenseMatrix(write("rt.csv.gz", denseText(",", { quote: true }), true)),
      await read10x(write10x()),
      ...(await Promise.all((["dense", "csr", "csc"] as const).map(async (X) => (await readH5ad(writeH5ad({ X }))).Y))),
    ];
    for (const Y of read) {
      expect(Y.responseNames).toEqual(genes);
      expect(Y.obsIds).toEqual(cells);
      expect(vectors(Y)).toEqual(expected);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Normalisation and filtering on every kind and orientation of the same matrix

/** The round-trip matrix in each storage: dense both ways, CSR and CSC with genes or cells as rows. */
function allKinds(): ResponseMatrix[] {
  const names = { responseNames: genes.slice(), obsIds: cells.slice() };
  const base = { nResponses: 4, nObs: 3, ...names };
  const byGene = compress(counts, "csr"); // rows genes
  const byGeneCols = compress(counts, "csc"); // compressed cells, rows genes
  const byCell = compress(cellByGene, "csr"); // rows cells
  const byCellCols = compress(cellByGene, "csc"); // compressed genes, rows cells
  const sparse = (kind: "csr" | "csc", rowsAre: "responses" | "obs", c: ReturnType<typeof compress>): SparseResponses => ({
    kind, rowsAre, ...base, ptr: Int32Array.from(c.ptr), idx: Int32Array.from(c.idx), data: Float64Array.from(c.data),
  });
  return [
    { kind: "dense", layout: "responses-by-obs", ...base, values: Float64Array.from(counts.flat()) },
    { kind: "dense", layout: "obs-by-responses", ...base, values: Float64Array.from(cellByGene.flat()) },
    sparse("csr", "responses", byGene),
    sparse("csc", "responses", byGeneCols),
    sparse("csr", "obs", byCell),
    sparse("csc", "obs", byCellCols),
  ];
}

function snapshot(Y: ResponseMatrix): string {
  return JSON.stringify(Y, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v));
}

function describeKind(Y: ResponseMatrix): string {
  return Y.kind === "dense" ? `dense ${Y.layout}` : `${Y.kind} rows=${Y.rowsAre}`;
}

describe("logNormalize", () => {
  // Library sizes: c1 = 1 + 3 = 4, c2 = 2, c3 = 4 + 5 = 9. With scale 10, g1 in c1 is log1p(1/4 · 10) = ln 3.5.
  const byHand = {
    g1: [Math.log(3.5), 0, Math.log(1 + 40 / 9)],
    g2: [0, Math.log(11), 0],
    g3: [Math.log(8.5), 0, 0],
    g4: [0, 0, Math.log(1 + 50 / 9)],
  };

  it("gives log1p(count / library size × scale) for every kind, sparse staying sparse, input untouched", () => {
    for (const Y of allKinds()) {
      const before = snapshot(Y);
      const Z = logNormalize(Y, { scale: 10 });
      expect(Z.kind, describeKind(Y)).toBe(Y.kind);
      if (Z.kind !== "dense" && Y.kind !== "dense") {
        expect(Z.rowsAre).toBe(Y.rowsAre);
        expect(Z.data.length).toBe(5);
        expect(Z.idx).not.toBe(Y.idx);
      }
      const got = vectors(Z);
      for (const g of genes) got[g].forEach((x, i) => expect(x, `${describeKind(Y)} ${g}[${i}]`).toBeCloseTo(byHand[g as keyof typeof byHand][i], 14));
      expect(snapshot(Y)).toBe(before);
    }
  });

  it("scales to counts per million by default", () => {
    const Z = logNormalize(allKinds()[0]);
    expect(vectors(Z).g2[1]).toBeCloseTo(Math.log(1e6 + 1), 12);
  });

  it("names observations with library size 0 and values that are not counts", () => {
    for (const Y of allKinds()) {
      const zeroed = filterResponses(Y, { responses: ["g2"] }); // only c2 has counts
      expect(syncErrorOf(() => logNormalize(zeroed)), describeKind(Y)).toBe(
        "logNormalize: 2 observations have library size 0 (no counts in any response): 'c1', 'c3'; remove them first",
      );
    }
    const neg = allKinds()[1] as DenseResponses;
    neg.values[1 * 4 + 2] = -1; // c2, g3
    expect(syncErrorOf(() => logNormalize(neg))).toBe("logNormalize: response 'g3', observation 'c2' has value -1; counts must be finite and non-negative");
    const nan = allKinds()[4] as SparseResponses;
    nan.data[3] = NaN;
    expect(syncErrorOf(() => logNormalize(nan))).toMatch(/observation 'c3' has value NaN/);
    expect(syncErrorOf(() => logNormalize(allKinds()[0], { scale: 0 }))).toBe("logNormalize: scale must be a positive number, got 0");
  });
});

describe("filterResponses", () => {
  it("keeps responses detected in at least a fraction of observations, for every kind", () => {
    for (const Y of allKinds()) {
      expect(Array.from(detectedCounts(Y)), describeKind(Y)).toEqual([2, 1, 1, 1]);
      const before = snapshot(Y);
      const Z = filterResponses(Y, { minDetectedFraction: 0.5 });
      expect(Z.kind).toBe(Y.kind);
      expect(Z.responseNames).toEqual(["g1"]);
      expect(vectors(Z)).toEqual({ g1: [1, 0, 4] });
      expect(filterResponses(Y, { minDetectedFraction: 1 / 3 }).nResponses).toBe(4);
      expect(snapshot(Y)).toBe(before);
    }
  });

  it("keeps a named subset in the given order, for every kind", () => {
    for (const Y of allKinds()) {
      const Z = filterResponses(Y, { responses: ["g4", "g1", "g3"] });
      expect(Z.responseNames, describeKind(Y)).toEqual(["g4", "g1", "g3"]);
      expect(Z.obsIds).toEqual(cells);
      expect(vectors(Z)).toEqual({ g4: counts[3], g1: counts[0], g3: counts[2] });
      if (Z.kind !== "dense") {
        // Indices stay ascending within each compressed row, so lookups can bisect.
        for (let j = 0; j + 1 < Z.ptr.length; j++) for (let k = Z.ptr[j] + 1; k < Z.ptr[j + 1]; k++) expect(Z.idx[k]).toBeGreaterThan(Z.idx[k - 1]);
      }
      const both = filterResponses(Y, { responses: ["g4", "g1"], minDetectedFraction: 0.5 });
      expect(both.responseNames).toEqual(["g1"]);
    }
  });

  it("names unknown or repeated responses and bad fractions", () => {
    const Y = allKinds()[0];
    expect(syncErrorOf(() => filterResponses(Y, { responses: ["g1", "x", "y", "z", "w"] }))).toBe(
      "filterResponses: 4 of 5 requested responses are not in the matrix (first: x, y, z, ...)",
    );
    expect(syncErrorOf(() => filterResponses(Y, { responses: ["g1", "g1"] }))).toBe("filterResponses: response requested more than once: g1");
    expect(syncErrorOf(() => filterResponses(Y, { minDetectedFraction: 1.5 }))).toBe("filterResponses: minDetectedFraction must be between 0 and 1, got 1.5");
    const unnamed = { ...Y, responseNames: undefined };
    expect(syncErrorOf(() => filterResponses(unnamed, { responses: ["g1"] }))).toBe("filterResponses: the matrix has no response names to select by");
  });
});

// ---------------------------------------------------------------------------------------------------
describe("matchObservations", () => {
  it("gives each matrix observation its metadata row and counts the dropped rows", () => {
    const m = matchObservations(["c3", "c1"], ["c1", "c2", "c3"]);
    expect(Array.from(m.rows)).toEqual([2, 0]);
    expect(m.droppedMetadataRows).toBe(1);
  });

  it("names missing and repeated ids", () => {
    const obs = Array.from({ length: 2400 }, (_, i) => `c${String(i + 1).padStart(5, "0")}`);
    expect(syncErrorOf(() => matchObservations(obs, obs.slice(12)))).toBe(
      "12 of 2400 matrix observations have no metadata row (first: c00001, c00002, c00003, ...)",
    );
    expect(syncErrorOf(() => matchObservations(["a", "b", "a"], ["a", "b"]))).toBe("duplicate matrix observation ids: 'a' (positions 1, 3)");
    expect(syncErrorOf(() => matchObservations(["a"], ["a", "b", "b", "a", "c", "c", "d", "d"]))).toBe(
      "duplicate metadata ids: 'b' (positions 2, 3); 'a' (positions 1, 4); 'c' (positions 5, 6); and 1 more",
    );
  });

  it("reorders a Table without changing it, and aligns metadata on an id column", () => {
    const t: Table = parseCSV("cell,donor,x\nc3,D1,3\nc1,D2,1\nc9,D1,9\nc2,D2,2\n");
    const before = JSON.stringify([...t.columns].map(([k, c]) => [k, c.type === "numeric" ? Array.from(c.values) : Array.from(c.codes)]));
    const { table, droppedMetadataRows } = alignMetadata(t, "cell", cells);
    expect(droppedMetadataRows).toBe(1);
    expect(table.nrow).toBe(3);
    expect(columnIds(table, "cell")).toEqual(cells);
    const x = table.columns.get("x")!;
    expect(x.type === "numeric" && Array.from(x.values)).toEqual([1, 2, 3]);
    const donor = table.columns.get("donor")!;
    expect(donor.type === "factor" && donor.levels).toEqual(["D1", "D2"]);
    expect(JSON.stringify([...t.columns].map(([k, c]) => [k, c.type === "numeric" ? Array.from(c.values) : Array.from(c.codes)]))).toBe(before);
    expect(syncErrorOf(() => subsetTable(t, [0, 4]))).toBe("subsetTable: row index 4 (position 2) is outside 0..3");
    expect(syncErrorOf(() => columnIds(t, "id"))).toBe("no id column 'id' in the metadata (columns: cell, donor, x)");
    expect(columnIds(parseCSV("id,y\n10,1\n100000,2\n"), "id")).toEqual(["10", "100000"]);
    expect(syncErrorOf(() => columnIds(parseCSV("id,y\n10,1\nNA,2\n"), "id"))).toBe("id column 'id' has a missing value at row 2");
  });
});

// ---------------------------------------------------------------------------------------------------
// Streaming: each pass reads the file anew, a block at a time; the values are the in-memory readers'.

/** A pass over the source in blocks of `size`: the block sizes, and the responses by name. */
async function pass(source: ResponseSource, size: number): Promise<{ sizes: number[]; vectors: Record<string, number[]> }> {
  const sizes: number[] = [];
  const out: Record<string, number[]> = {};
  for await (const b of source.chunks(size)) {
    const k = b.values.length / source.nObs;
    sizes.push(k);
    for (let r = 0; r < k; r++) out[b.names![r]] = Array.from(b.values.subarray(r * source.nObs, (r + 1) * source.nObs));
  }
  return { sizes, vectors: out };
}

describe("openDenseMatrix", () => {
  it("streams the rows of CSV / TSV (gzipped or not) in blocks, pass after pass, with readDenseMatrix's values", async () => {
    for (const [name, sep, gz] of [["s.csv", ",", false], ["s.tsv.gz", "\t", true]] as const) {
      const f = write(name, denseText(sep, { quote: true }), gz);
      const src = await openDenseMatrix(f);
      expect([src.nObs, src.observationIds, src.nResponses]).toEqual([3, cells, undefined]);
      const a = await pass(src, 3);
      expect(a.sizes).toEqual([3, 1]);
      expect(a.vectors).toEqual(vectors(await readDenseMatrix(f)));
      expect((await pass(src, 1)).vectors).toEqual(expected);
    }
    const wt = await openDenseMatrix(write("s-wt.tsv", denseText("\t", { rowNameHeader: null })));
    expect(wt.observationIds).toEqual(cells);
    expect((await pass(wt, 2)).vectors).toEqual(expected);
  });

  it("fails as readDenseMatrix does: at opening for the header, while reading for a row", async () => {
    const f6 = write("s-empty.csv", "");
    expect(await errorOf(openDenseMatrix(f6))).toBe(`${f6}: the file is empty`);
    const f7 = write("s-headonly.csv", "gene,a,b\n");
    expect(await errorOf(openDenseMatrix(f7))).toBe(`${f7}: a header but no response rows`);
    const f5 = write("s-dupcell.csv", "gene,a,b,a\nx,1,2,3\n");
    expect(await errorOf(openDenseMatrix(f5))).toBe(`${f5}, line 1: observation 'a' appears more than once in the header (columns 2, 4)`);
    const f1 = write("s-ragged.csv", "gene,a,b\nx,1,2\ny,1\n");
    expect(await errorOf(pass(await openDenseMatrix(f1), 8))).toBe(`${f1}, line 3: 2 fields, expected 3 (a response name and 2 values, as the header has 2 observations)`);
    const f2 = write("s-text.csv", "gene,a,b\nx,1,2\ny,1,two\n");
    expect(await errorOf(pass(await openDenseMatrix(f2), 1))).toBe(`${f2}, line 3, column 'b' (response 'y'): 'two' is not a number`);
    const f4 = write("s-dupgene.csv", "gene,a,b\nx,1,2\ny,1,2\n\nx,3,4\n");
    expect(await errorOf(pass(await openDenseMatrix(f4), 2))).toBe(`${f4}, line 5: response 'x' already appeared on line 2`);
    const missing = join(dir, "nope-stream.csv");
    expect(await errorOf(openDenseMatrix(missing))).toBe(`cannot read '${missing}': no such file`);
  });
});

describe("openH5ad", () => {
  it("streams dense and CSC X (and layers) in blocks, CSR through buckets of genes, with readH5ad's values, obs and names", async () => {
    for (const [X, int64Pointers] of [["dense", false], ["csc", false], ["csc", true], ["csr", false]] as const) {
      const p = writeH5ad({ X, int64Pointers, layers: { counts: X } });
      const d = await readH5ad(p);
      const h = await openH5ad(p);
      expect(h.inMemory, X).toBe(false);
      expect([h.source.nObs, h.source.nResponses, h.source.observationIds, h.source.responseNames]).toEqual([3, 4, cells, genes]);
      expect([h.obsIds, h.responseNames, h.obs, h.levels]).toEqual([d.obsIds, d.responseNames, d.obs, d.levels]);
      const a = await pass(h.source, 3);
      expect(a.sizes).toEqual([3, 1]);
      expect(a.vectors, X).toEqual(vectors(d.Y));
      expect((await pass(h.source, 1)).vectors).toEqual(expected);
      const layer = await openH5ad(p, { layer: "counts" });
      expect((await pass(layer.source, 2)).vectors).toEqual(vectors((await readH5ad(p, { layer: "counts" })).Y));
      // one gene per bucket (4 buckets of temporary files), removed by close()
      const tmp = mkdtempSync(join(dir, "buckets-"));
      const b = await openH5ad(p, { bucketEntries: 1, tmpDir: tmp });
      expect(readdirSync(tmp).length, X).toBe(X === "csr" ? 1 : 0);
      expect((await pass(b.source, 3)).vectors, X).toEqual(vectors(d.Y));
      b.close();
      h.close();
      layer.close();
      expect(readdirSync(tmp)).toHaveLength(0);
    }
  });

  it("reads a dense X in slabs of whole blocks, or of whole chunk columns when it is chunked", async () => {
    // the narrowest slabs: one block of 2 genes; one chunk column of 3 genes; one of 1 gene
    for (const [chunks, sizes] of [[undefined, [2, 2]], [[2, 3], [2, 1, 1]], [[3, 1], [1, 1, 1, 1]]] as const) {
      const h = await openH5ad(writeH5ad({ X: "dense", chunks: chunks?.slice() }), { slabBytes: 1 });
      const a = await pass(h.source, 2);
      expect(a.vectors, JSON.stringify(chunks)).toEqual(expected);
      expect(a.sizes).toEqual(sizes); // blocks end where slabs do
    }
  });

  it("rejects a CSR X that stores a (cell, gene) entry twice, naming the first", async () => {
    const p = writeH5ad({ noX: true });
    const file = new h5wasm.File(p, "a");
    try {
      const g = file.create_group("X");
      encode(g, "csr_matrix", "0.1.0");
      g.create_attribute("shape", new BigInt64Array([3n, 4n]));
      g.create_dataset({ name: "data", data: Float32Array.from([1, 2, 3, 4]) });
      g.create_dataset({ name: "indices", data: Int32Array.from([0, 1, 2, 2]) }); // cell 2 (c2): gene 3 (g3) twice
      g.create_dataset({ name: "indptr", data: Int32Array.from([0, 1, 4, 4]) });
    } finally {
      file.close();
    }
    expect(await errorOf(openH5ad(p, { bucketEntries: 1 }))).toBe(
      `${p}: X: response matrix (csr): 1 repeated entry (first: cell '${cells[1]}', row 2, gene '${genes[2]}', column 3); each (cell, gene) may be stored once`,
    );
  });

  it("fails as readH5ad does", async () => {
    const p = writeH5ad({ layers: { counts: "csc" } });
    expect(await errorOf(openH5ad(p, { layer: "raw" }))).toBe(`${p}: no layer 'raw' (layers: counts)`);
    const q = writeH5ad({ xEncoding: "coo_matrix" });
    expect(await errorOf(openH5ad(q))).toBe(`${q}: X: encoding-type 'coo_matrix' is not supported for a matrix (expected 'array', 'csr_matrix' or 'csc_matrix')`);
    const text = write("fake-stream.h5ad", "not hdf5 at all, just text that is long enough");
    expect(await errorOf(openH5ad(text))).toBe(`${text}: not an HDF5 file (an .h5ad file is HDF5)`);
  });
});

describe("normalisation and filtering of a stream", () => {
  it("a first pass gives the library sizes, detection counts and names of every kind of matrix", async () => {
    for (const Y of allKinds()) {
      const stats = await scanResponses(matrixSource({ ...Y, responseNames: genes }), 3);
      expect(stats.names).toEqual(genes);
      expect(Array.from(stats.librarySizes), describeKind(Y)).toEqual([4, 2, 9]);
      expect(Array.from(stats.detected)).toEqual(Array.from(detectedCounts(Y)));
      expect(stats.notACount).toBeNull();
    }
  });

  it("logNormalizeSource and selectResponses give logNormalize and filterResponses' values exactly", async () => {
    const odd = Float32Array.from({ length: 4 * 3 }, (_, k) => (k * 7919) % 13); // library sizes without a short binary fraction
    const mats: ResponseMatrix[] = [...allKinds(), { kind: "dense", layout: "responses-by-obs", nResponses: 4, nObs: 3, values: odd, responseNames: genes.slice(), obsIds: cells.slice() }];
    for (const Y of mats) {
      const source = matrixSource(Y);
      const stats = await scanResponses(source, 2);
      for (const opts of [{}, { responses: ["g4", "g1", "g3"] }, { minDetectedFraction: 0.5 }, { responses: ["g3", "g1"], minDetectedFraction: 0.3 }]) {
        const keep = keptResponses(Y, opts, () => stats.detected);
        const want = filterResponses(logNormalize(Y, { scale: 10 }), opts);
        const got = await pass(logNormalizeSource(selectResponses(source, keep), stats, { scale: 10 }), 2);
        expect(Object.keys(got.vectors), describeKind(Y)).toEqual(want.responseNames);
        expect(got.vectors, `${describeKind(Y)} ${JSON.stringify(opts)}`).toEqual(vectors(want));
        expect((await pass(selectResponses(source, keep), 1)).vectors).toEqual(vectors(filterResponses(Y, opts)));
      }
    }
  });

  it("holds only the out-of-order part of a selection, and stops reading once it has every response", async () => {
    const many: DenseResponses = { kind: "dense", layout: "responses-by-obs", nResponses: 100, nObs: 3, values: Float64Array.from({ length: 300 }, (_, k) => k), responseNames: Array.from({ length: 100 }, (_, r) => `r${r}`) };
    let read = 0;
    const counting: ResponseSource = {
      ...matrixSource(many),
      chunks: async function* (size: number) {
        for await (const b of matrixSource(many).chunks(size)) {
          read += b.values.length / 3;
          yield b;
        }
      },
    };
    const got = await pass(selectResponses(counting, [20, 3, 21]), 5);
    expect(Object.keys(got.vectors)).toEqual(["r20", "r3", "r21"]);
    expect(got.vectors.r3).toEqual([9, 10, 11]);
    expect(read).toBe(25); // up to r21's block of 5, not the 100
  });

  it("fails as logNormalize does on values that are not counts and observations without counts", async () => {
    const neg = allKinds()[0] as DenseResponses;
    neg.values[2 * 3 + 1] = -1; // g3, c2
    const stats = await scanResponses(matrixSource(neg), 2);
    expect(syncErrorOf(() => logNormalizeSource(matrixSource(neg), stats))).toBe(syncErrorOf(() => logNormalize(neg)));
    const zeroed = filterResponses(allKinds()[0], { responses: ["g2"] });
    const z = matrixSource(zeroed);
    expect(syncErrorOf(() => logNormalizeSource(z, { ...stats, notACount: null, librarySizes: new Float64Array([0, 2, 0]) }))).toBe(syncErrorOf(() => logNormalize(zeroed)));
  });
});
