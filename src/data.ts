// Data input: turns the ways a user can hand us a data set (column arrays, row objects, an Apache Arrow
// table, CSV text) into one columnar Table of numeric and factor columns, following R's conventions
// (read.csv type detection, factor levels sorted as R's sort(), logicals as FALSE/TRUE).
// No Node-only APIs: this runs in browsers too.

import Papa from "papaparse";

/** A numeric column; NaN marks a missing value. */
export interface NumericColumn {
  type: "numeric";
  values: Float64Array;
}

/** A factor column; code -1 marks a missing value, otherwise codes index `levels`. */
export interface FactorColumn {
  type: "factor";
  levels: string[];
  codes: Int32Array;
  ordered: boolean;
}

/**
 * A logical (boolean) column, shaped like a factor with R's levels FALSE/TRUE (code 0 = FALSE, 1 = TRUE,
 * -1 = missing). It is a factor in model matrices (column `xTRUE`) and 0/1 as a response.
 */
export interface LogicalColumn {
  type: "logical";
  levels: ["FALSE", "TRUE"];
  codes: Int32Array;
  ordered: false;
}

export type Column = NumericColumn | FactorColumn | LogicalColumn;

export interface Table {
  names: string[];
  nrow: number;
  columns: Map<string, Column>;
}

/** The parts of an Apache Arrow Table we use (duck typed so the core never imports apache-arrow). */
export interface ArrowTableLike {
  schema: { fields: ArrayLike<{ name: string }> };
  numRows: number;
  getChild(name: string): ArrowVectorLike | null;
}

export interface ArrowVectorLike {
  length: number;
  nullCount?: number;
  get(i: number): unknown;
  toArray(): ArrayLike<unknown>;
}

export type DataInput = Record<string, ArrayLike<unknown>> | Record<string, unknown>[] | ArrowTableLike | Table;

/** Factor levels for a column, as in the reference data's NAME.levels.json. */
export interface LevelSpec {
  levels: string[];
  ordered?: boolean;
}

export type LevelsOption = Record<string, LevelSpec>;

export interface DataOptions {
  /** Make these columns factors with exactly these levels (in this order). */
  levels?: LevelsOption;
}

// ---------------------------------------------------------------------------------------------------
// R's string forms and ordering

// R's sort() of strings in an en_US locale (R on Linux collates with ICU): case-insensitive first,
// lower case before upper case on ties, digits compared as characters ("10" < "2").
const collator = new Intl.Collator("en-US");

/** Compare two strings as R's sort() does in an en_US locale; code points break collation ties. */
export function compareStringsR(a: string, b: string): number {
  const c = collator.compare(a, b);
  if (c !== 0) return c;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * R's as.character() of a double: up to 15 significant digits, fixed notation unless scientific is
 * narrower (as.character(1e5) is "1e+05", as.character(0.0001) "1e-04").
 */
export function formatNumberR(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Inf";
  if (x === -Infinity) return "-Inf";
  if (x === 0) return "0";
  const [mant, expText] = Math.abs(x).toExponential(14).split("e");
  const digits = mant.replace(".", "").replace(/0+$/, "");
  const e = Number(expText);
  const sign = x < 0 ? "-" : "";
  const nsig = digits.length;
  const sciWidth = (nsig > 1 ? nsig + 1 : 1) + (Math.abs(e) >= 100 ? 5 : 4);
  const right = Math.max(0, nsig - e - 1);
  const fixedWidth = (e >= 0 ? e + 1 : 1) + (right > 0 ? right + 1 : 0);
  if (fixedWidth <= sciWidth) return sign + fixedDigits(digits, e);
  const m = nsig > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const ae = Math.abs(e);
  return `${sign}${m}e${e < 0 ? "-" : "+"}${ae < 10 ? "0" : ""}${ae}`;
}

/** Place the significant digits `digits` (value d.ddd × 10^e) in fixed notation. */
function fixedDigits(digits: string, e: number): string {
  if (e < 0) return "0." + "0".repeat(-e - 1) + digits;
  if (digits.length <= e + 1) return digits + "0".repeat(e + 1 - digits.length);
  return digits.slice(0, e + 1) + "." + digits.slice(e + 1);
}

/**
 * Labels for the values of a numeric column as R would print them when making it a factor. A column of
 * whole numbers is what read.csv reads as an R integer vector, whose labels never use scientific
 * notation ("100000", not "1e+05"), so whole-number columns are labelled as integers.
 */
export function numericLabeller(values: ArrayLike<number>): (x: number) => string {
  let integral = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v) && !(Number.isInteger(v) && Math.abs(v) <= 2147483647)) {
      integral = false;
      break;
    }
  }
  return integral ? (x) => (Object.is(x, -0) ? "0" : String(x)) : formatNumberR;
}

/** R's factor() of a numeric vector: levels are the distinct values sorted numerically. */
export function numericToFactor(values: Float64Array): FactorColumn {
  const distinct = Array.from(new Set(Array.from(values).filter((v) => !Number.isNaN(v)))).sort((a, b) => a - b);
  const label = numericLabeller(values);
  const index = new Map<number, number>();
  distinct.forEach((v, i) => index.set(v, i));
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) codes[i] = Number.isNaN(values[i]) ? -1 : index.get(values[i])!;
  return { type: "factor", levels: distinct.map(label), codes, ordered: false };
}

/** A factor from strings (null = missing) with levels sorted as R's sort(). */
export function stringsToFactor(values: (string | null)[]): FactorColumn {
  const levels = Array.from(new Set(values.filter((v): v is string => v !== null))).sort(compareStringsR);
  const index = new Map<string, number>();
  levels.forEach((l, i) => index.set(l, i));
  const codes = new Int32Array(values.length);
  values.forEach((v, i) => (codes[i] = v === null ? -1 : index.get(v)!));
  return { type: "factor", levels, codes, ordered: false };
}

function logicalColumn(codes: Int32Array): LogicalColumn {
  return { type: "logical", levels: ["FALSE", "TRUE"], codes, ordered: false };
}

// ---------------------------------------------------------------------------------------------------
// Generic values → column

/** How the non-missing values of an input column are typed. */
interface ValueKinds {
  number: boolean;
  string: boolean;
  boolean: boolean;
}

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === "number" && Number.isNaN(v));
}

function kindsOf(name: string, get: (i: number) => unknown, n: number): ValueKinds {
  const kinds: ValueKinds = { number: false, string: false, boolean: false };
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (isMissing(v)) continue;
    const t = typeof v;
    if (t === "number" || t === "bigint") kinds.number = true;
    else if (t === "string") kinds.string = true;
    else if (t === "boolean") kinds.boolean = true;
    else throw new Error(`column '${name}', row ${i + 1}: unsupported value ${describeValue(v)} (expected a number, string or boolean)`);
  }
  return kinds;
}

function describeValue(v: unknown): string {
  if (v instanceof Date) return "of type Date";
  if (Array.isArray(v)) return "of type array";
  return `of type ${typeof v}`;
}

/**
 * Build a column from arbitrary values, as R's c()/data.frame would type them: all numbers → numeric;
 * all booleans → logical; numbers and booleans → numeric (TRUE = 1); anything with strings → factor of
 * the values' string forms.
 */
export function columnFromValues(name: string, get: (i: number) => unknown, n: number): Column {
  const kinds = kindsOf(name, get, n);
  if (kinds.string) {
    const label = numberLabelFor(get, n);
    const strings: (string | null)[] = new Array(n);
    for (let i = 0; i < n; i++) strings[i] = stringForm(get(i), label);
    return stringsToFactor(strings);
  }
  if (kinds.boolean && !kinds.number) {
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = get(i);
      codes[i] = isMissing(v) ? -1 : v ? 1 : 0;
    }
    return logicalColumn(codes);
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    values[i] = isMissing(v) ? NaN : Number(v);
  }
  return { type: "numeric", values };
}

/** The labeller for the numbers of a mixed column (integers as integers, others as R's as.character). */
function numberLabelFor(get: (i: number) => unknown, n: number): (x: number) => string {
  const nums: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (typeof v === "number" || typeof v === "bigint") nums.push(Number(v));
  }
  return numericLabeller(nums);
}

function stringForm(v: unknown, label: (x: number) => string): string | null {
  if (isMissing(v)) return null;
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  return label(Number(v));
}

function isTypedNumberArray(a: unknown): a is ArrayLike<number> {
  return ArrayBuffer.isView(a) && !(a instanceof DataView) && !(a instanceof BigInt64Array) && !(a instanceof BigUint64Array);
}

/** A column from an array-like (plain array or typed array); the input is only read. */
function columnFromArrayLike(name: string, a: ArrayLike<unknown>): Column {
  if (isTypedNumberArray(a)) return { type: "numeric", values: Float64Array.from(a) };
  // An Arrow vector passed as a column: it has no index access, only get(i).
  if (isArrowVector(a)) return columnFromArrow(name, a, a.length);
  return columnFromValues(name, (i) => a[i], a.length);
}

// ---------------------------------------------------------------------------------------------------
// Input shapes

function isTable(x: unknown): x is Table {
  const t = x as Table;
  return t !== null && typeof t === "object" && t.columns instanceof Map && Array.isArray(t.names) && typeof t.nrow === "number";
}

function isArrowTable(x: unknown): x is ArrowTableLike {
  const t = x as ArrowTableLike;
  return (
    t !== null &&
    typeof t === "object" &&
    typeof t.getChild === "function" &&
    typeof t.numRows === "number" &&
    t.schema !== undefined &&
    t.schema.fields !== undefined
  );
}

function isArrowVector(x: unknown): x is ArrowVectorLike {
  const v = x as ArrowVectorLike;
  return !Array.isArray(x) && typeof v.get === "function" && typeof v.toArray === "function";
}

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  if (Array.isArray(x) || isTypedNumberArray(x)) return true;
  return x !== null && typeof x === "object" && typeof (x as ArrayLike<unknown>).length === "number" && typeof x !== "function";
}

function fromColumnRecord(data: Record<string, unknown>): Table {
  const names = Object.keys(data);
  if (names.length === 0) throw new Error("data has no columns");
  for (const name of names) {
    if (!isArrayLike(data[name])) {
      throw new Error(`column '${name}' is not an array (got ${describeValue(data[name])}); pass columns as arrays or rows as objects`);
    }
  }
  const nrow = (data[names[0]] as ArrayLike<unknown>).length;
  for (const name of names) {
    const len = (data[name] as ArrayLike<unknown>).length;
    if (len !== nrow) throw new Error(`columns have different lengths: column '${name}' has ${len} values but column '${names[0]}' has ${nrow}`);
  }
  const columns = new Map<string, Column>();
  for (const name of names) columns.set(name, columnFromArrayLike(name, data[name] as ArrayLike<unknown>));
  return { names, nrow, columns };
}

function fromRows(rows: unknown[]): Table {
  const names: string[] = [];
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new Error(`row ${i + 1} is not an object (got ${row === null ? "null" : Array.isArray(row) ? "an array" : typeof row}); rows must be objects keyed by column name`);
    }
    // Columns in order of first appearance over all rows; a key absent from a row is a missing value.
    for (const key of Object.keys(row)) if (!seen.has(key)) (seen.add(key), names.push(key));
  });
  const columns = new Map<string, Column>();
  for (const name of names) {
    columns.set(name, columnFromValues(name, (i) => (rows[i] as Record<string, unknown>)[name], rows.length));
  }
  return { names, nrow: rows.length, columns };
}

function fromArrow(t: ArrowTableLike): Table {
  const names = Array.from(t.schema.fields, (f) => f.name);
  const columns = new Map<string, Column>();
  for (const name of names) {
    const child = t.getChild(name);
    if (!child) throw new Error(`Arrow table has no column '${name}'`);
    columns.set(name, columnFromArrow(name, child, t.numRows));
  }
  return { names, nrow: t.numRows, columns };
}

function columnFromArrow(name: string, v: ArrowVectorLike, n: number): Column {
  // Null slots of a primitive Arrow vector read as 0 in toArray(), so go through get() when nulls exist.
  if (!v.nullCount) {
    const arr = v.toArray();
    if (isTypedNumberArray(arr)) return { type: "numeric", values: Float64Array.from(arr) };
  }
  return columnFromValues(name, (i) => v.get(i), n);
}

// ---------------------------------------------------------------------------------------------------
// Levels option

/** Apply a levels specification to one column (a new column; the input is not changed). */
export function applyLevels(name: string, col: Column, spec: LevelSpec): FactorColumn {
  const index = new Map<string, number>();
  spec.levels.forEach((l, i) => index.set(l, i));
  const ordered = spec.ordered ?? false;
  if (col.type === "numeric") return numericWithLevels(name, col.values, spec, index, ordered);
  const map = col.levels.map((l) => index.get(l) ?? -1);
  const codes = new Int32Array(col.codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = col.codes[i];
    if (c < 0) codes[i] = -1;
    else if (map[c] < 0) throw unknownLevel(name, col.levels[c], spec, i);
    else codes[i] = map[c];
  }
  return { type: "factor", levels: spec.levels.slice(), codes, ordered };
}

function numericWithLevels(name: string, values: Float64Array, spec: LevelSpec, index: Map<string, number>, ordered: boolean): FactorColumn {
  const label = numericLabeller(values);
  // Fall back to matching by numeric value, so that "1.0" or "1e5" in a levels file still matches.
  const byValue = new Map<number, number>();
  spec.levels.forEach((l, i) => {
    const v = l.trim() === "" ? NaN : Number(l);
    if (!Number.isNaN(v) && !byValue.has(v)) byValue.set(v, i);
  });
  const seen = new Map<number, number>();
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let code = Number.isNaN(v) ? -1 : seen.get(v);
    if (code === undefined) {
      code = index.get(label(v)) ?? byValue.get(v);
      if (code === undefined) throw unknownLevel(name, label(v), spec, i);
      seen.set(v, code);
    }
    codes[i] = code;
  }
  return { type: "factor", levels: spec.levels.slice(), codes, ordered };
}

function unknownLevel(name: string, value: string, spec: LevelSpec, row: number): Error {
  const shown = spec.levels.slice(0, 10).map((l) => `'${l}'`).join(", ") + (spec.levels.length > 10 ? ", ..." : "");
  return new Error(`column '${name}': value '${value}' (row ${row + 1}) is not among the given levels (${shown})`);
}

function withLevels(table: Table, levels: LevelsOption | undefined): Table {
  if (!levels || Object.keys(levels).length === 0) return table;
  const columns = new Map(table.columns);
  for (const [name, spec] of Object.entries(levels)) {
    const col = table.columns.get(name);
    if (!col) throw new Error(`levels given for column '${name}', which is not in the data (columns: ${table.names.join(", ")})`);
    if (!spec || !Array.isArray(spec.levels)) throw new Error(`levels for column '${name}' must be { levels: string[], ordered?: boolean }`);
    columns.set(name, applyLevels(name, col, spec));
  }
  return { names: table.names.slice(), nrow: table.nrow, columns };
}

/** Convert any supported data input to a Table. The caller's data is never modified. */
export function toColumns(data: DataInput, options: DataOptions = {}): Table {
  if (data === null || typeof data !== "object") throw new Error(`data must be an object of columns, an array of rows or an Arrow table (got ${data === null ? "null" : typeof data})`);
  let table: Table;
  if (isTable(data)) table = data;
  else if (Array.isArray(data)) table = fromRows(data);
  else if (isArrowTable(data)) table = fromArrow(data);
  else table = fromColumnRecord(data as Record<string, unknown>);
  if (table.nrow === 0) throw new Error("data has no rows");
  return withLevels(table, options.levels);
}

// ---------------------------------------------------------------------------------------------------
// CSV

export interface CSVOptions extends DataOptions {
  /** Field delimiter (default ","). */
  delimiter?: string;
  /** Strings read as missing values (default R's read.csv "NA", plus "" and "NaN"). */
  naStrings?: string[];
}

const DEFAULT_NA = ["NA", "", "NaN"];
// What R's type.convert() reads as a number: decimals, exponents, hex, Inf.
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?0[xX][0-9a-fA-F]+$|^[+-]?(Inf|inf|Infinity|infinity)$/;
// What type.convert() reads as logical.
const LOGICAL = new Map([["TRUE", 1], ["T", 1], ["true", 1], ["True", 1], ["FALSE", 0], ["F", 0], ["false", 0], ["False", 0]]);

/**
 * Parse CSV text with a header row, typing columns as R's read.csv does: a column whose non-missing
 * values all read as numbers is numeric (quotes do not matter, as in R), all TRUE/FALSE is logical,
 * anything else is a factor with levels sorted as R's sort().
 * The text is parsed in chunks straight into typed columns (CSVTableBuilder), so no array per row is kept.
 */
export function parseCSV(text: string, options: CSVOptions = {}): Table {
  const builder = new CSVTableBuilder(options);
  const pass = () => {
    // The typings list `chunk` only for files, but Papa Parse streams strings through it the same way.
    const config = {
      ...csvParseConfig(options),
      chunkSize: CSV_CHUNK_CHARS,
      chunk: (results: Papa.ParseResult<string[]>) => builder.add(results.data, results.errors),
    };
    Papa.parse<string[]>(text, config as Papa.ParseConfig<string[]>);
  };
  pass();
  // A column that turned out not to be numeric after numeric rows is read again as text.
  if (builder.needsTextPass()) {
    builder.beginTextPass();
    pass();
  }
  return builder.finish();
}

/** Characters per chunk when parsing CSV text: large enough to amortise the calls, small next to the text. */
export const CSV_CHUNK_CHARS = 1 << 16;

/** Papa Parse settings shared by parseCSV and the Node file reader (src/node.ts). */
export function csvParseConfig(options: CSVOptions): { header: false; skipEmptyLines: true; delimiter: string } {
  return { header: false, skipEmptyLines: true, delimiter: options.delimiter ?? "," };
}

/** The parts of a Papa Parse error the builder reports. */
interface CSVParseError {
  type: string;
  message: string;
  row?: number;
}

/**
 * Builds a Table from parsed CSV records delivered in chunks (Papa Parse's `chunk` callback over a
 * string or a stream), typing columns as R's read.csv: each column is read as numbers into a growing
 * Float64Array until a value is not a number; text columns are dictionary-encoded as they arrive
 * (one code per row, each distinct string kept once). Nothing per row outlives its chunk, so a
 * million-row file costs its typed columns plus one chunk.
 * A column whose first non-number comes after numbers cannot be recovered from the numbers (R keeps
 * the text: "1.50" stays "1.50"), so it is marked and the caller feeds the records once more
 * (beginTextPass), when only those columns are read, as text.
 */
export class CSVTableBuilder {
  private readonly na: Set<string>;
  private names: string[] | null = null;
  private columns: CSVColumnBuilder[] = [];
  private nrow = 0;
  /** Records seen, header and blank ones included (Papa's row numbers within a chunk are relative). */
  private records = 0;
  private textPass = false;

  constructor(private readonly options: CSVOptions = {}) {
    this.na = new Set(options.naStrings ?? DEFAULT_NA);
  }

  /** One chunk of records (and the parser's errors in it). */
  add(records: string[][], errors: CSVParseError[] = []): void {
    const fatal = errors.find((e) => e.type === "Quotes");
    if (fatal) throw new Error(`CSV parse error at row ${this.records + (fatal.row ?? 0) + 1}: ${fatal.message}`);
    let cols = this.columns;
    for (let k = 0; k < records.length; k++) {
      const r = records[k];
      this.records++;
      // read.csv skips blank lines, also those with only white space.
      if (isBlankRecord(r)) continue;
      if (this.names === null) {
        this.names = csvNames(r);
        // The second pass keeps the first pass's columns (see beginTextPass).
        if (!this.textPass) this.columns = cols = this.names.map(() => new CSVColumnBuilder(this.na));
        continue;
      }
      if (r.length > cols.length) throw new Error(`CSV line ${this.nrow + 2} has ${r.length} fields but the header has ${cols.length}`);
      const row = this.nrow++;
      for (let j = 0; j < cols.length; j++) cols[j].add(row, j < r.length ? r[j] : null);
    }
  }

  /** Whether some column needs its text read again (see the class comment). */
  needsTextPass(): boolean {
    return !this.textPass && this.columns.some((c) => c.retype);
  }

  /** Starts the second pass over the same records: only the retyped columns read them, as text. */
  beginTextPass(): void {
    this.textPass = true;
    for (const c of this.columns) if (c.retype) c.restartAsText();
    this.columns = this.columns.map((c) => (c.retype ? c : c.frozen()));
    this.nrow = 0;
    this.records = 0;
    this.names = null;
  }

  finish(): Table {
    if (this.names === null) throw new Error("CSV has no header row");
    if (this.nrow === 0) throw new Error("data has no rows");
    const columns = new Map<string, Column>();
    this.names.forEach((name, j) => columns.set(name, this.columns[j].finish(this.nrow)));
    return withLevels({ names: this.names, nrow: this.nrow, columns }, this.options.levels);
  }
}

function isBlankRecord(r: string[]): boolean {
  for (let j = 0; j < r.length; j++) {
    const f = r[j];
    if (f !== "" && f.trim() !== "") return false;
  }
  return true;
}

/** One column of CSVTableBuilder: numbers while every value reads as one, else dictionary-coded text. */
class CSVColumnBuilder {
  private text = false;
  /** A value that is not a number came after numbers: the text must be read in a second pass. */
  retype = false;
  /** Set in the first pass for a column the second pass leaves alone. */
  private done = false;
  private present = 0;
  private numbers = new Float64Array(1024);
  private codes = new Int32Array(0);
  private readonly dict = new Map<string, number>();
  private readonly keys: string[] = [];

  private readonly naMaxLength: number;

  constructor(private readonly na: Set<string>) {
    this.naMaxLength = Math.max(0, ...[...na].map((v) => v.length));
  }

  /** As na.has(c) || na.has(c.trim()), without hashing fields longer than any NA string. */
  private isNA(c: string): boolean {
    const n = c.length;
    if (n === 0) return this.na.has(c);
    const first = c.charCodeAt(0), last = c.charCodeAt(n - 1);
    // Every character trim() removes is ≤ U+0020 or ≥ U+00A0: only then can the trimmed text differ.
    if (first <= 32 || last <= 32 || first >= 127 || last >= 127) return this.na.has(c) || this.na.has(c.trim());
    return n <= this.naMaxLength && this.na.has(c);
  }

  add(row: number, c: string | null): void {
    if (this.done || (this.retype && !this.text)) return;
    const missing = c === null || this.isNA(c);
    if (!missing) this.present++;
    if (!this.text) {
      if (row >= this.numbers.length) this.numbers = grow(this.numbers, row);
      if (missing) {
        this.numbers[row] = NaN;
        return;
      }
      const v = readNumber(c!);
      if (v !== undefined) {
        this.numbers[row] = v;
        return;
      }
      if (this.present > 1) {
        // Earlier rows held numbers whose text is lost: read this column again, as text.
        this.retype = true;
        return;
      }
      this.startText(row);
    }
    if (row >= this.codes.length) this.codes = grow(this.codes, row);
    if (missing) {
      this.codes[row] = -1;
      return;
    }
    let code = this.dict.get(c!);
    if (code === undefined) {
      // A field is a slice of the parser's chunk and would keep the whole chunk alive as long as the
      // level lives: keep a copy of its characters only.
      const key = (" " + c!).slice(1);
      code = this.keys.push(key) - 1;
      this.dict.set(key, code);
    }
    this.codes[row] = code;
  }

  /** Switches to text at `row`; every earlier row was missing. */
  private startText(row: number): void {
    this.text = true;
    this.codes = new Int32Array(Math.max(1024, this.numbers.length));
    this.codes.fill(-1, 0, row);
    this.numbers = new Float64Array(0);
  }

  restartAsText(): void {
    this.present = 0;
    this.startText(0);
  }

  frozen(): this {
    this.done = true;
    return this;
  }

  /** The column of n rows. A column with no values at all stays numeric NaN (R: logical NA, the closest here). */
  finish(n: number): Column {
    if (!this.text) return { type: "numeric", values: this.numbers.length === n ? this.numbers : this.numbers.slice(0, n) };
    const codes = this.codes.length === n ? this.codes : this.codes.slice(0, n);
    if (this.keys.every((k) => LOGICAL.has(k.trim()))) {
      const value = this.keys.map((k) => LOGICAL.get(k.trim())!);
      for (let i = 0; i < n; i++) codes[i] = codes[i] < 0 ? -1 : value[codes[i]];
      return logicalColumn(codes);
    }
    // Codes in order of first appearance → levels sorted as R's sort().
    const order = this.keys.map((_, i) => i).sort((a, b) => compareStringsR(this.keys[a], this.keys[b]));
    const rank = new Int32Array(order.length);
    order.forEach((k, i) => (rank[k] = i));
    for (let i = 0; i < n; i++) if (codes[i] >= 0) codes[i] = rank[codes[i]];
    return { type: "factor", levels: order.map((k) => this.keys[k]), codes, ordered: false };
  }
}

/** A copy of `a` with room for index `need` (doubling, so n appends cost O(n)). */
function grow<T extends Float64Array | Int32Array>(a: T, need: number): T {
  let size = Math.max(1024, a.length);
  while (size <= need) size *= 2;
  const out = new (a.constructor as new (n: number) => T)(size);
  out.set(a);
  return out;
}

/** Header names as read.csv makes them: an empty name becomes "X", duplicates get ".1", ".2", ... */
function csvNames(header: string[]): string[] {
  const used = new Set<string>();
  return header.map((raw) => {
    const base = raw.trim() === "" ? "X" : raw;
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}.${k}`;
    used.add(name);
    return name;
  });
}

function plainDecimal(s: string): boolean {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const ch = s.charCodeAt(i);
    if (!((ch >= 48 && ch <= 57) || ch === 46 || ch === 45 || ch === 43)) return false;
  }
  return n > 0;
}

/** A CSV field as a number the way R's type.convert reads it, or undefined if it is not one. */
function readNumber(s: string): number | undefined {
  // Fast path for the common case, digits with sign and point only (no white space or letters to
  // weigh): Number() reads exactly what R's pattern accepts there.
  if (plainDecimal(s)) {
    const v = Number(s);
    if (!Number.isNaN(v)) return v;
  }
  const t = s.trim();
  if (t === "NaN") return NaN;
  const v = Number(t);
  // Number() is the fast path; the pattern rejects what it accepts but R does not ("0b1", "0o7").
  if (t !== "" && !Number.isNaN(v) && !/[a-zA-Z]/.test(t)) return v;
  if (!NUMBER_RE.test(t)) return undefined;
  if (/inf/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/0x/i.test(t)) return (t.startsWith("-") ? -1 : 1) * parseInt(t.replace(/^[+-]?0[xX]/, ""), 16);
  return v;
}
