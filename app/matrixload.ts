// Reading a dense response matrix (genes × cells) from a user's file, in the many-response worker. The
// layout and the rules are those of the CLI's reader (src/io/dense-matrix.ts, `lmm many --matrix x.csv`):
// the first column names the responses, the header names the observations (its first cell names the
// name column or is left out, as R's write.table writes it), "", NA and NaN are missing. That reader
// streams from the file system; this one streams a Blob through Papa Parse, as dataload.ts reads tables.
import type { DenseResponses } from "../src/responses.js";
import { duplicates } from "../src/io/names.js";
import { binaryReason, sniffDelimiter, sniffEncoding, streamRecords, type RecordSink } from "./dataload.js";

const NA = new Set(["", "NA", "NaN"]);
// Plain decimal or exponent numbers, and R's Inf; hex and other forms Number() accepts are not data.
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INFINITY = new Map([["Inf", Infinity], ["+Inf", Infinity], ["-Inf", -Infinity], ["Infinity", Infinity], ["-Infinity", -Infinity]]);

/** A cell's value: NaN for a missing-value text, undefined if it is not a number (the CLI reader's rule). */
export function readCell(text: string): number | undefined {
  const t = text.trim();
  if (NA.has(t)) return NaN;
  if (NUMBER_RE.test(t)) return Number(t);
  return INFINITY.get(t);
}

/** Accumulates records into names and a row-major value buffer, checking each row as it arrives. */
class MatrixReader implements RecordSink {
  private header: string[] | null = null;
  private colNames: string[] = [];
  readonly rowNames: string[] = [];
  private readonly rowOf = new Map<string, number>();
  private values = new Float64Array(0);
  private nCols = 0;

  constructor(private readonly file: string) {}

  add(rows: string[][], errors: { type: string; message: string; row?: number }[]): void {
    const quote = errors.find((e) => e.type === "Quotes");
    if (quote) throw new Error(`'${this.file}': ${quote.message}${quote.row !== undefined ? ` (near data row ${this.rowNames.length + 1})` : ""}`);
    for (const r of rows) {
      if (this.header === null) {
        // A byte-order mark is not part of the first name.
        this.header = r.map((f, j) => (j === 0 ? f.replace(/^\uFEFF/, "") : f));
        continue;
      }
      if (this.rowNames.length === 0) this.setColumns(r);
      this.addRow(r);
    }
  }

  /** The header's meaning is settled by the first data row: it names the name column or not. */
  private setColumns(firstRow: string[]): void {
    const h = this.header!;
    this.colNames = h.length === firstRow.length - 1 ? h.slice() : h.slice(1);
    this.nCols = this.colNames.length;
    if (this.nCols === 0) throw new Error(`'${this.file}': the header names no observation columns (a matrix needs a response name column and one column per observation)`);
    const dup = duplicates(this.colNames).entries().next().value;
    if (dup) {
      const [name, at] = dup;
      const offset = h.length - this.nCols;
      throw new Error(`'${this.file}': observation '${name}' appears more than once in the header (columns ${at.map((i) => i + offset + 1).join(", ")})`);
    }
    this.values = new Float64Array(this.nCols * 64);
  }

  private addRow(fields: string[]): void {
    const n = this.nCols;
    const k = this.rowNames.length + 1;
    if (fields.length !== n + 1) {
      throw new Error(`'${this.file}', data row ${k}: ${fields.length} fields, expected ${n + 1} (a response name and ${n} values, as the header has ${n} observations)`);
    }
    const name = fields[0];
    const before = this.rowOf.get(name);
    if (before !== undefined) throw new Error(`'${this.file}', data row ${k}: response '${name}' already appeared in data row ${before}`);
    this.rowOf.set(name, k);
    const offset = (k - 1) * n;
    this.reserve(offset + n);
    for (let j = 0; j < n; j++) {
      const x = readCell(fields[j + 1]);
      if (x === undefined) throw new Error(`'${this.file}', data row ${k} (response '${name}'), column '${this.colNames[j]}': '${fields[j + 1]}' is not a number`);
      this.values[offset + j] = x;
    }
    this.rowNames.push(name);
  }

  private reserve(size: number): void {
    if (size <= this.values.length) return;
    const grown = new Float64Array(Math.max(size, this.values.length * 2));
    grown.set(this.values);
    this.values = grown;
  }

  finish(): DenseResponses {
    if (this.header === null) throw new Error(`'${this.file}' is empty: it has no header row and no data`);
    if (this.rowNames.length === 0) throw new Error(`'${this.file}' has a header row but no response rows`);
    const nResponses = this.rowNames.length, nObs = this.nCols;
    return {
      kind: "dense",
      layout: "responses-by-obs",
      nResponses,
      nObs,
      values: this.values.slice(0, nResponses * nObs),
      responseNames: this.rowNames,
      obsIds: this.colNames,
    };
  }
}

/** Reads a dense matrix (responses as rows) from a CSV/TSV Blob; errors name the file and the place. */
export async function readMatrix(data: Blob, fileName: string): Promise<DenseResponses> {
  if (data.size === 0) throw new Error(`'${fileName}' is empty (0 bytes)`);
  const head = new Uint8Array(await data.slice(0, 1 << 20).arrayBuffer());
  const why = binaryReason(head);
  if (why) throw new Error(`'${fileName}' cannot be read as a matrix: ${why}`);
  const encoding = sniffEncoding(head);
  const delimiter = sniffDelimiter(new TextDecoder(encoding).decode(head).replace(/^\s+/, ""), fileName);
  const reader = new MatrixReader(fileName);
  await streamRecords(data, encoding, delimiter, reader);
  return reader.finish();
}
