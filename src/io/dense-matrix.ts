// Dense response matrices in delimited text (CSV / TSV, optionally gzipped): one row per response
// (gene) with its name in the first column, one column per observation (cell) named in the header.
// Lines are streamed (through gunzip when compressed) and parsed one record at a time into a growing
// Float64Array, so the file is never held as one string.

import type { DenseResponses } from "../responses.js";
import { duplicates } from "./names.js";
import { delimitedRecords, readFirstLine, type LineRecord } from "./text.js";

export interface DenseMatrixOptions {
  /** Field separator; by default from the extension (.csv ",", .tsv/.tab "\t", also under .gz), else sniffed from the header. */
  delimiter?: "," | "\t";
  /** What the file's rows are: "responses" (default; genes × cells) or "obs" (cells × genes). */
  rows?: "responses" | "obs";
  /** Cell texts read as missing (NaN), compared after trimming white space; default "", "NA", "NaN". */
  naStrings?: string[];
}

export const DEFAULT_NA = ["", "NA", "NaN"];

/**
 * Reads a dense delimited matrix: first column the row names, header row the column names (its first
 * cell names the row-name column or is empty; a header one field shorter than the rows, as R's
 * write.table writes, names only the value columns). Missing cells become NaN.
 * Returns layout "responses-by-obs" (or "obs-by-responses" with `rows: "obs"`).
 */
export async function readDenseMatrix(file: string, opts: DenseMatrixOptions = {}): Promise<DenseResponses> {
  const rowsAre = opts.rows ?? "responses";
  const delimiter = opts.delimiter ?? delimiterFromName(file) ?? sniffDelimiter(await readFirstLine(file));
  const na = new Set(opts.naStrings ?? DEFAULT_NA);
  const reader = new MatrixBuilder(file, rowsAre === "responses" ? ["response", "observation"] : ["observation", "response"], na);
  for await (const rec of delimitedRecords(file, { delimiter })) reader.add(rec);
  const { rowNames, colNames, values } = reader.finish();
  return rowsAre === "responses"
    ? { kind: "dense", layout: "responses-by-obs", nResponses: rowNames.length, nObs: colNames.length, values, responseNames: rowNames, obsIds: colNames }
    : { kind: "dense", layout: "obs-by-responses", nResponses: colNames.length, nObs: rowNames.length, values, responseNames: colNames, obsIds: rowNames };
}

/** "," or "\t" from a .csv / .tsv / .tab name (with or without .gz); undefined for other names. */
export function delimiterFromName(file: string): "," | "\t" | undefined {
  const base = file.toLowerCase().replace(/\.gz$/, "");
  if (base.endsWith(".csv")) return ",";
  if (base.endsWith(".tsv") || base.endsWith(".tab")) return "\t";
  return undefined;
}

/** Comma or tab, whichever occurs more often outside double quotes in the header line. */
export function sniffDelimiter(headerLine: string): "," | "\t" {
  let commas = 0, tabs = 0, quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ",") commas++;
    else if (!quoted && ch === "\t") tabs++;
  }
  return tabs > commas ? "\t" : ",";
}

/**
 * The header and rows of a dense matrix file, each checked as it arrives (field counts, repeated
 * names, cells that are not numbers) and its values parsed into the caller's array: a growing buffer
 * (readDenseMatrix) or the block being read (openDenseMatrix).
 */
export class DenseRows {
  private header: LineRecord | null = null;
  private names = new Map<string, number>();
  private colNames: string[] | null = null;
  /** Data rows read. */
  count = 0;

  constructor(
    private readonly file: string,
    private readonly what: [row: string, col: string],
    private readonly na: Set<string>,
  ) {}

  /** Takes the header (true) or tells that `rec` is a data row, for `parse` (false). */
  takeHeader(rec: LineRecord): boolean {
    if (this.header !== null) return false;
    this.header = rec;
    return true;
  }

  /** A data row's name; its values are written to out[offset], out[offset + 1], .... */
  parse(rec: LineRecord, out: Float64Array, offset: number): string {
    const columns = this.columnsFor(rec);
    const { fields, line } = rec;
    const n = columns.length;
    if (fields.length !== n + 1) {
      throw new Error(`${this.file}, line ${line}: ${fields.length} fields, expected ${n + 1} (a ${this.what[0]} name and ${n} values, as the header has ${n} ${this.what[1]}s)`);
    }
    const name = fields[0];
    const before = this.names.get(name);
    if (before !== undefined) throw new Error(`${this.file}, line ${line}: ${this.what[0]} '${name}' already appeared on line ${before}`);
    this.names.set(name, line);
    for (let j = 0; j < n; j++) {
      const x = readCell(fields[j + 1], this.na);
      if (x === undefined) {
        throw new Error(`${this.file}, line ${line}, column '${columns[j]}' (${this.what[0]} '${name}'): '${fields[j + 1]}' is not a number`);
      }
      out[offset + j] = x;
    }
    this.count++;
    return name;
  }

  /**
   * The header's column names. Its meaning is settled by the first data row (`row`, from then on
   * ignored): it names the row-name column or not.
   */
  columnsFor(row: LineRecord): string[] {
    if (this.colNames !== null) return this.colNames;
    const h = this.header!.fields;
    const names = h.length === row.fields.length - 1 ? h.slice() : h.slice(1);
    if (names.length === 0) throw new Error(`${this.file}, line ${this.header!.line}: the header names no ${this.what[1]} columns`);
    const dup = duplicates(names).entries().next().value;
    if (dup) {
      const [name, at] = dup;
      const offset = h.length - names.length; // header position of names[0]
      throw new Error(`${this.file}, line ${this.header!.line}: ${this.what[1]} '${name}' appears more than once in the header (columns ${at.map((i) => i + offset + 1).join(", ")})`);
    }
    return (this.colNames = names);
  }

  /** Fails unless there was a header and at least one row. */
  checkComplete(): void {
    if (this.header === null) throw new Error(`${this.file}: the file is empty`);
    if (this.count === 0) throw new Error(`${this.file}: a header but no ${this.what[0]} rows`);
  }
}

/** Accumulates the rows into names and a growing row-major value buffer. */
class MatrixBuilder {
  private readonly rows: DenseRows;
  private rowNames: string[] = [];
  private colNames: string[] = [];
  private values = new Float64Array(0);

  constructor(file: string, what: [row: string, col: string], na: Set<string>) {
    this.rows = new DenseRows(file, what, na);
  }

  add(rec: LineRecord): void {
    if (this.rows.takeHeader(rec)) return;
    this.colNames = this.rows.columnsFor(rec);
    const n = this.colNames.length;
    if (this.values.length === 0) this.values = new Float64Array(n * 64);
    const offset = this.rowNames.length * n;
    this.reserve(offset + n);
    this.rowNames.push(this.rows.parse(rec, this.values, offset));
  }

  private reserve(size: number): void {
    if (size <= this.values.length) return;
    const grown = new Float64Array(Math.max(size, this.values.length * 2));
    grown.set(this.values);
    this.values = grown;
  }

  finish(): { rowNames: string[]; colNames: string[]; values: Float64Array } {
    this.rows.checkComplete();
    return { rowNames: this.rowNames, colNames: this.colNames, values: this.values.slice(0, this.rowNames.length * this.colNames.length) };
  }
}

// Plain decimal or exponent numbers, and R's Inf; hex and other forms Number() accepts are not data.
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INFINITY = new Map([["Inf", Infinity], ["+Inf", Infinity], ["-Inf", -Infinity], ["Infinity", Infinity], ["-Infinity", -Infinity]]);

/** A cell's value: NaN for a missing-value text, undefined if it is not a number. */
export function readCell(text: string, na: Set<string>): number | undefined {
  // Fast path for the common case; Number() alone would also take blanks, hex and "0b1".
  if (text.length > 0 && onlyNumberChars(text)) {
    const v = Number(text);
    if (v === v) return v;
  }
  const t = text.trim();
  if (na.has(t)) return NaN;
  if (NUMBER_RE.test(t)) return Number(t);
  return INFINITY.get(t);
}

function onlyNumberChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // 0-9 . + - e E
    if (!((c >= 48 && c <= 57) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69)) return false;
  }
  return true;
}
