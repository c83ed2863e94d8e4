// Lining up a response matrix's observations (cells) with the rows of a metadata table (the design):
// every matrix observation needs exactly one metadata row; metadata rows for observations not in
// the matrix are dropped and counted.

import { numericLabeller, type Column, type Table } from "../data.js";
import { duplicates, firstFew } from "./names.js";

export interface ObservationMatch {
  /** For each matrix observation, in matrix order, its row (0-based) in the metadata. */
  rows: Int32Array;
  /** How many metadata rows matched no matrix observation (they are left out). */
  droppedMetadataRows: number;
}

/**
 * For each matrix observation id, the index of the metadata row with the same id. Fails when a
 * matrix observation has no metadata row or when either side repeats an id.
 */
export function matchObservations(obsIds: readonly string[], metaIds: readonly string[]): ObservationMatch {
  rejectDuplicates(obsIds, "matrix observation ids");
  rejectDuplicates(metaIds, "metadata ids");
  const rowOf = new Map<string, number>();
  metaIds.forEach((id, i) => rowOf.set(id, i));
  const rows = new Int32Array(obsIds.length);
  const missing: string[] = [];
  obsIds.forEach((id, i) => {
    const r = rowOf.get(id);
    if (r === undefined) missing.push(id);
    else rows[i] = r;
  });
  if (missing.length) {
    throw new Error(`${missing.length} of ${obsIds.length} matrix observations have no metadata row (first: ${firstFew(missing)})`);
  }
  return { rows, droppedMetadataRows: metaIds.length - obsIds.length };
}

function rejectDuplicates(ids: readonly string[], what: string): void {
  const dups = duplicates(ids);
  if (dups.size === 0) return;
  const shown = Array.from(dups).slice(0, 3).map(([id, at]) => `'${id}' (positions ${at.map((i) => i + 1).join(", ")})`);
  throw new Error(`duplicate ${what}: ${shown.join("; ")}${dups.size > 3 ? `; and ${dups.size - 3} more` : ""}`);
}

/** A Table column's values as id strings (factor labels, or numbers as R prints them); missing ids fail. */
export function columnIds(table: Table, column: string): string[] {
  const col = table.columns.get(column);
  if (!col) throw new Error(`no id column '${column}' in the metadata (columns: ${table.names.join(", ")})`);
  const ids = idStrings(col);
  const gap = ids.indexOf(null);
  if (gap >= 0) throw new Error(`id column '${column}' has a missing value at row ${gap + 1}`);
  return ids as string[];
}

function idStrings(col: Column): (string | null)[] {
  if (col.type === "numeric") {
    const label = numericLabeller(col.values);
    return Array.from(col.values, (v) => (Number.isNaN(v) ? null : label(v)));
  }
  return Array.from(col.codes, (c) => (c < 0 ? null : col.levels[c]));
}

/**
 * The table's rows in the given order (indices may repeat or leave rows out). Factor levels are kept
 * whole, as R's subsetting keeps them; the input table is not changed.
 */
export function subsetTable(table: Table, rows: ArrayLike<number>): Table {
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    if (!(Number.isInteger(r) && r >= 0 && r < table.nrow)) throw new Error(`subsetTable: row index ${r} (position ${k + 1}) is outside 0..${table.nrow - 1}`);
  }
  const columns = new Map<string, Column>();
  for (const name of table.names) columns.set(name, subsetColumn(table.columns.get(name)!, rows));
  return { names: table.names.slice(), nrow: rows.length, columns };
}

function subsetColumn(col: Column, rows: ArrayLike<number>): Column {
  if (col.type === "numeric") return { type: "numeric", values: Float64Array.from(rows, (r) => col.values[r]) };
  const codes = Int32Array.from(rows, (r) => col.codes[r]);
  return { ...col, levels: col.levels.slice(), codes } as Column;
}

export interface AlignedMetadata {
  /** The metadata rows in matrix observation order. */
  table: Table;
  droppedMetadataRows: number;
}

/** The metadata table reordered to the matrix's observations, matched on `idColumn`. */
export function alignMetadata(table: Table, idColumn: string, obsIds: readonly string[]): AlignedMetadata {
  const { rows, droppedMetadataRows } = matchObservations(obsIds, columnIds(table, idColumn));
  return { table: subsetTable(table, rows), droppedMetadataRows };
}
