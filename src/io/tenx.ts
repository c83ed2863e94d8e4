// 10x Genomics count matrices (Cell Ranger's filtered_feature_bc_matrix/ or the older
// filtered_gene_bc_matrices/<genome>/): matrix.mtx[.gz] in Matrix Market coordinate format with
// features as rows and barcodes as columns, features.tsv[.gz] (id, name, type) or genes.tsv[.gz]
// (id, name), and barcodes.tsv[.gz].
//
// No Matrix Market parser on npm is maintained, and the format is a banner, comments, a size line
// and one "row col value" line per entry, so the entries are read with a line reader over the
// (gunzipped) stream; the TSVs go through the shared delimited-record reader.

import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { SparseResponses } from "../responses.js";
import { duplicates, firstFew, makeUnique } from "./names.js";
import { delimitedRecords, fsErrorMessage, lineBatches } from "./text.js";

export interface Read10xOptions {
  /** Which features.tsv column names the responses: "name" (gene symbol; default) or "id" (e.g. Ensembl id). */
  featureColumn?: "name" | "id";
  /** Keep only features of this type (features.tsv's third column, e.g. "Gene Expression"). */
  featureType?: string;
  /**
   * What to do when an entry (feature, barcode) occurs more than once in matrix.mtx, which Cell
   * Ranger never writes: "error" (default) or "sum" (as scipy's and Matrix's readers do).
   */
  duplicates?: "error" | "sum";
}

/**
 * Reads a 10x directory into a CSR matrix with features (responses) as rows and barcodes
 * (observations) as columns. Feature names are made unique as R's make.unique does ("X", "X.1").
 */
export async function read10x(dir: string, opts: Read10xOptions = {}): Promise<SparseResponses> {
  const files = await findFiles(dir);
  const featureColumn = opts.featureColumn ?? "name";
  const features = await readFeatures(files.features, featureColumn);
  const barcodes = await readBarcodes(files.barcodes);
  const triplets = await readMatrixMarket(files.matrix, features.names.length, barcodes.length, files.features, files.barcodes);
  const csr = tripletsToCSR(triplets, features.names.length, barcodes.length);
  const dup = opts.duplicates ?? "error";
  if (dup === "error") rejectDuplicates(csr, files.matrix, features.names, barcodes);
  const { ptr, idx, data } = dup === "sum" ? sumDuplicates(csr) : csr;
  const names = makeUnique(features.names);
  const Y: SparseResponses = {
    kind: "csr",
    rowsAre: "responses",
    nResponses: names.length,
    nObs: barcodes.length,
    ptr,
    idx,
    data,
    responseNames: names,
    obsIds: barcodes,
  };
  return opts.featureType === undefined ? Y : keepFeatureType(Y, features.types, opts.featureType, files.features);
}

// ---------------------------------------------------------------------------------------------------
// Files

export interface TenxFiles {
  matrix: string;
  features: string;
  barcodes: string;
}

export async function findFiles(dir: string): Promise<TenxFiles> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOTDIR" ? `'${dir}' is not a directory (read10x takes the directory holding matrix.mtx)` : fsErrorMessage(dir, e));
  }
  const present = new Set(entries);
  const pick = (names: string[], what: string): string => {
    const found = names.find((n) => present.has(n));
    if (found === undefined) {
      throw new Error(`${dir}: no ${what} (looked for ${names.join(", ")}; the directory has ${entries.length ? firstFew(entries.sort(), 8) : "no files"})`);
    }
    return join(dir, found);
  };
  return {
    matrix: pick(["matrix.mtx.gz", "matrix.mtx"], "matrix file"),
    features: pick(["features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"], "features file"),
    barcodes: pick(["barcodes.tsv.gz", "barcodes.tsv"], "barcodes file"),
  };
}

export async function readFeatures(file: string, column: "name" | "id"): Promise<{ names: string[]; types: (string | null)[] }> {
  const names: string[] = [];
  const types: (string | null)[] = [];
  for await (const { fields, line } of delimitedRecords(file, { delimiter: "\t", quotes: false })) {
    if (column === "name" && fields.length < 2) {
      throw new Error(`${file}, line ${line}: 1 column, expected at least 2 (id and name); use featureColumn: "id" for a file of ids only`);
    }
    const name = column === "name" ? fields[1] : fields[0];
    if (name === "") throw new Error(`${file}, line ${line}: the feature ${column} is empty`);
    names.push(name);
    types.push(fields.length >= 3 ? fields[2] : null);
  }
  if (names.length === 0) throw new Error(`${file}: no features`);
  return { names, types };
}

export async function readBarcodes(file: string): Promise<string[]> {
  const barcodes: string[] = [];
  const lines: number[] = [];
  for await (const { fields, line } of delimitedRecords(file, { delimiter: "\t", quotes: false })) {
    if (fields[0] === "") throw new Error(`${file}, line ${line}: the barcode is empty`);
    barcodes.push(fields[0]);
    lines.push(line);
  }
  if (barcodes.length === 0) throw new Error(`${file}: no barcodes`);
  const dup = duplicates(barcodes).entries().next().value;
  if (dup) throw new Error(`${file}: barcode '${dup[0]}' appears more than once (lines ${dup[1].map((i) => lines[i]).join(", ")})`);
  return barcodes;
}

// ---------------------------------------------------------------------------------------------------
// Matrix Market

/** Entries as 0-based rows and columns; `byColumn` when the columns never decrease (Cell Ranger's order). */
export interface Triplets {
  rows: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
  byColumn: boolean;
}

export interface MatrixMarketHeader {
  field: "integer" | "real";
  nrow: number;
  ncol: number;
  nnz: number;
}

/**
 * The entries of a Matrix Market coordinate file, checked against the expected dimensions (the
 * feature and barcode counts) and the header's entry count.
 */
export async function readMatrixMarket(file: string, nFeatures: number, nBarcodes: number, featuresFile = "the features file", barcodesFile = "the barcodes file"): Promise<Triplets> {
  let all: Triplets | null = null;
  await scanMatrixMarket(file, nFeatures, nBarcodes, featuresFile, barcodesFile, null, (t) => (all = t));
  return all!;
}

/**
 * Reads a Matrix Market coordinate file's entries into a buffer of `batch` entries (null: all of
 * them, one buffer), handing each full buffer and the last partial one to `onBatch(t, count)`; the
 * buffer is reused, so onBatch must copy what it keeps. `byColumn` is over all entries read so far.
 * Returns the size line.
 */
export async function scanMatrixMarket(
  file: string,
  nFeatures: number,
  nBarcodes: number,
  featuresFile: string,
  barcodesFile: string,
  batch: number | null,
  onBatch: (t: Triplets, count: number) => void,
  onHeader?: (h: MatrixMarketHeader) => void,
): Promise<MatrixMarketHeader> {
  let header: MatrixMarketHeader | null = null;
  let field: MatrixMarketHeader["field"] | null = null;
  let t: Triplets | null = null;
  let k = 0; // entries read
  let b = 0; // entries in the buffer
  let lineNo = 0;
  let lastCol = -1;
  for await (const lines of lineBatches(file)) {
    for (const line of lines) {
      lineNo++;
      if (field === null) {
        field = readBanner(file, line);
        continue;
      }
      if (line.charCodeAt(0) === 37 /* % */ || isBlank(line)) continue;
      if (header === null) {
        header = readSizeLine(file, line, lineNo, field);
        checkDimensions(file, header, nFeatures, nBarcodes, featuresFile, barcodesFile);
        onHeader?.(header);
        const size = batch === null ? header.nnz : Math.max(1, Math.min(batch, header.nnz));
        t = { rows: new Int32Array(size), cols: new Int32Array(size), vals: new Float64Array(size), byColumn: true };
        continue;
      }
      if (k === header.nnz) throw new Error(`${file}, line ${lineNo}: more entries than the ${header.nnz} the size line announces`);
      if (b === t!.rows.length) {
        onBatch(t!, b);
        b = 0;
      }
      if (!scanEntry(line, header, t!, b)) readEntry(file, line, lineNo, header, t!, b);
      if (t!.cols[b] < lastCol) t!.byColumn = false;
      lastCol = t!.cols[b];
      k++;
      b++;
    }
  }
  if (field === null) throw new Error(`${file}: the file is empty (expected a %%MatrixMarket banner)`);
  if (header === null) throw new Error(`${file}: no size line (rows, columns, entries) after the banner`);
  if (k < header.nnz) throw new Error(`${file}: ${k} entries, but the size line announces ${header.nnz} (the file may be truncated)`);
  if (b > 0 || batch === null) onBatch(t!, b);
  return header;
}

function readBanner(file: string, line: string): MatrixMarketHeader["field"] {
  const parts = line.trim().split(/\s+/).map((p) => p.toLowerCase());
  if (parts[0] !== "%%matrixmarket") throw new Error(`${file}, line 1: not a Matrix Market file (expected '%%MatrixMarket matrix coordinate ...', found '${line.slice(0, 60)}')`);
  const [, object, format, field, symmetry] = parts;
  if (object !== "matrix" || format !== "coordinate") {
    throw new Error(`${file}, line 1: '${object} ${format}' is not supported; a 10x matrix is 'matrix coordinate'`);
  }
  if (field !== "integer" && field !== "real") throw new Error(`${file}, line 1: field '${field}' is not supported (expected integer or real)`);
  if (symmetry !== "general") throw new Error(`${file}, line 1: symmetry '${symmetry}' is not supported (expected general)`);
  return field;
}

function readSizeLine(file: string, line: string, lineNo: number, field: MatrixMarketHeader["field"]): MatrixMarketHeader {
  const parts = line.trim().split(/\s+/);
  const nums = parts.map(Number);
  if (parts.length !== 3 || !nums.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`${file}, line ${lineNo}: expected the size line 'rows columns entries' (three non-negative integers), found '${line.slice(0, 60)}'`);
  }
  const [nrow, ncol, nnz] = nums;
  if (nnz > nrow * ncol) throw new Error(`${file}, line ${lineNo}: ${nnz} entries cannot fit a ${nrow} × ${ncol} matrix`);
  return { field, nrow, ncol, nnz };
}

function checkDimensions(file: string, h: MatrixMarketHeader, nFeatures: number, nBarcodes: number, featuresFile: string, barcodesFile: string): void {
  if (h.nrow !== nFeatures) throw new Error(`${file}: the matrix has ${h.nrow} rows but ${featuresFile} lists ${nFeatures} features`);
  if (h.ncol !== nBarcodes) throw new Error(`${file}: the matrix has ${h.ncol} columns but ${barcodesFile} lists ${nBarcodes} barcodes`);
}

// A Matrix Market value: decimal, optionally with an exponent (Number() alone would also take hex).
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function isBlank(line: string): boolean {
  // Entry lines start with a digit; only the rare other lines pay for the pattern.
  const c = line.charCodeAt(0);
  return line.length === 0 || ((c < 48 || c > 57) && /^\s*$/.test(line));
}

let scanEnd = 0;

/** The unsigned decimal integer at position i (-1 if none); scanEnd is set to just after it. */
function scanUint(s: string, i: number): number {
  const start = i;
  let v = 0;
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  scanEnd = i;
  return i === start || i - start > 15 ? -1 : v;
}

/**
 * The fast path for entry lines as every writer emits them ("i j v", single spaces, indices in range):
 * reads them without splitting strings. Anything else returns false and goes through readEntry,
 * which also words the errors.
 */
function scanEntry(line: string, h: MatrixMarketHeader, t: Triplets, k: number): boolean {
  const i = scanUint(line, 0);
  if (i < 1 || i > h.nrow || line.charCodeAt(scanEnd) !== 32) return false;
  const j = scanUint(line, scanEnd + 1);
  if (j < 1 || j > h.ncol || line.charCodeAt(scanEnd) !== 32) return false;
  let v: number;
  if (h.field === "integer") {
    v = scanUint(line, scanEnd + 1);
    if (v < 0 || scanEnd !== line.length) return false;
  } else {
    const text = line.slice(scanEnd + 1);
    v = Number(text);
    if (!Number.isFinite(v) || !DECIMAL.test(text)) return false;
  }
  t.rows[k] = i - 1;
  t.cols[k] = j - 1;
  t.vals[k] = v;
  return true;
}

/** An entry line in any spacing, or an error naming what is wrong with it. */
function readEntry(file: string, line: string, lineNo: number, h: MatrixMarketHeader, t: Triplets, k: number): void {
  const parts = line.trim().split(/\s+/);
  if (parts.length !== 3) throw new Error(`${file}, line ${lineNo}: expected 'row column value', found '${line.slice(0, 60)}'`);
  const index = (text: string) => (/^\d+$/.test(text) ? Number(text) : NaN);
  const i = index(parts[0]), j = index(parts[1]), v = DECIMAL.test(parts[2]) ? Number(parts[2]) : NaN;
  if (!(Number.isInteger(i) && i >= 1 && i <= h.nrow)) throw new Error(`${file}, line ${lineNo}: row '${parts[0]}' is outside 1..${h.nrow}`);
  if (!(Number.isInteger(j) && j >= 1 && j <= h.ncol)) throw new Error(`${file}, line ${lineNo}: column '${parts[1]}' is outside 1..${h.ncol}`);
  if (!Number.isFinite(v) || (h.field === "integer" && !Number.isInteger(v))) {
    throw new Error(`${file}, line ${lineNo}: value '${parts[2]}' is not ${h.field === "integer" ? "an integer" : "a finite number"}`);
  }
  t.rows[k] = i - 1;
  t.cols[k] = j - 1;
  t.vals[k] = v;
}

// ---------------------------------------------------------------------------------------------------
// Triplets → CSR

export interface CSR {
  ptr: Int32Array;
  idx: Int32Array;
  data: Float64Array;
}

/**
 * CSR with rows = matrix rows, column indices ascending within each row (repeats adjacent), in
 * O(nnz + nrow + ncol): a stable counting sort by column (skipped when the file is already in
 * column order) followed by one by row.
 */
export function tripletsToCSR(t: Triplets, nrow: number, ncol: number): CSR {
  const byCol = t.byColumn ? t : sortByColumn(t, ncol);
  const nnz = byCol.rows.length;
  const ptr = new Int32Array(nrow + 1);
  for (let k = 0; k < nnz; k++) ptr[byCol.rows[k] + 1]++;
  for (let r = 0; r < nrow; r++) ptr[r + 1] += ptr[r];
  const next = ptr.slice(0, nrow);
  const idx = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  for (let k = 0; k < nnz; k++) {
    const dst = next[byCol.rows[k]]++;
    idx[dst] = byCol.cols[k];
    data[dst] = byCol.vals[k];
  }
  return { ptr, idx, data };
}

function sortByColumn(t: Triplets, ncol: number): Triplets {
  const nnz = t.rows.length;
  const start = new Int32Array(ncol + 1);
  for (let k = 0; k < nnz; k++) start[t.cols[k] + 1]++;
  for (let j = 0; j < ncol; j++) start[j + 1] += start[j];
  const out: Triplets = { rows: new Int32Array(nnz), cols: new Int32Array(nnz), vals: new Float64Array(nnz), byColumn: true };
  for (let k = 0; k < nnz; k++) {
    const dst = start[t.cols[k]]++;
    out.rows[dst] = t.rows[k];
    out.cols[dst] = t.cols[k];
    out.vals[dst] = t.vals[k];
  }
  return out;
}

/** How many entries repeat an earlier (row, column) of their row, and the first of them. */
export function duplicateEntries(m: CSR): { count: number; first: [number, number] | null } {
  let count = 0;
  let first: [number, number] | null = null;
  for (let r = 0; r + 1 < m.ptr.length; r++) {
    for (let k = m.ptr[r] + 1; k < m.ptr[r + 1]; k++) {
      if (m.idx[k] !== m.idx[k - 1]) continue;
      count++;
      first ??= [r, m.idx[k]];
    }
  }
  return { count, first };
}

/** The error for `count` repeated entries, the first at 0-based (row, column). */
export function duplicatesError(file: string, count: number, [r, c]: [number, number], features: string[], barcodes: string[]): Error {
  return new Error(
    `${file}: ${count} repeated entr${count === 1 ? "y" : "ies"} (first: row ${r + 1} '${features[r]}', column ${c + 1} '${barcodes[c]}'); ` +
      `a 10x matrix lists each entry once — pass duplicates: "sum" to add repeats`,
  );
}

function rejectDuplicates(m: CSR, file: string, features: string[], barcodes: string[]): void {
  const { count, first } = duplicateEntries(m);
  if (first) throw duplicatesError(file, count, first, features, barcodes);
}

/** The same matrix with adjacent repeats of a column index within a row added together. */
export function sumDuplicates(m: CSR): CSR {
  const nrow = m.ptr.length - 1;
  const ptr = new Int32Array(nrow + 1);
  const idx = new Int32Array(m.idx.length);
  const data = new Float64Array(m.data.length);
  let n = 0;
  for (let r = 0; r < nrow; r++) {
    for (let k = m.ptr[r]; k < m.ptr[r + 1]; k++) {
      if (k > m.ptr[r] && m.idx[k] === m.idx[k - 1]) data[n - 1] += m.data[k];
      else (idx[n] = m.idx[k]), (data[n] = m.data[k]), n++;
    }
    ptr[r + 1] = n;
  }
  return { ptr, idx: idx.slice(0, n), data: data.slice(0, n) };
}

// ---------------------------------------------------------------------------------------------------
// Names and feature types


function keepFeatureType(Y: SparseResponses, types: (string | null)[], type: string, file: string): SparseResponses {
  if (types.every((t) => t === null)) throw new Error(`${file} has no feature type column (id, name, type); featureType cannot be applied`);
  const keep: number[] = [];
  types.forEach((t, r) => t === type && keep.push(r));
  if (keep.length === 0) {
    const present = Array.from(new Set(types.filter((t): t is string => t !== null)));
    throw new Error(`${file}: no feature of type '${type}' (types present: ${present.map((t) => `'${t}'`).join(", ")})`);
  }
  const ptr = new Int32Array(keep.length + 1);
  keep.forEach((r, i) => (ptr[i + 1] = ptr[i] + (Y.ptr[r + 1] - Y.ptr[r])));
  const idx = new Int32Array(ptr[keep.length]);
  const data = new Float64Array(ptr[keep.length]);
  keep.forEach((r, i) => {
    idx.set(Y.idx.subarray(Y.ptr[r], Y.ptr[r + 1]), ptr[i]);
    data.set(Y.data.subarray(Y.ptr[r], Y.ptr[r + 1]), ptr[i]);
  });
  return { ...Y, nResponses: keep.length, ptr, idx, data, responseNames: keep.map((r) => Y.responseNames![r]) };
}
