// A dense genes × cells file (CSV / TSV, gzipped or not) as a ResponseSource: the file's rows are the
// responses, so each pass streams the file once and hands out blocks of rows as they are parsed. What
// is held is the names and the block being filled, whatever the number of rows; the rows are checked
// and their errors worded as readDenseMatrix's.

import { checkBlockSize, type ResponseChunk, type ResponseSource } from "../response-source.js";
import { DEFAULT_NA, DenseRows, delimiterFromName, sniffDelimiter, type DenseMatrixOptions } from "./dense-matrix.js";
import { delimitedRecords, readFirstLine } from "./text.js";

/** A dense matrix file opened for streaming: its observations (the header's columns) are known. */
export interface DenseMatrixSource extends ResponseSource {
  readonly observationIds: string[];
}

/**
 * Opens a dense matrix file whose rows are responses (readDenseMatrix's default orientation): reads
 * its header and first row (so an empty file or a bad header fails here), not the rest.
 */
export async function openDenseMatrix(file: string, opts: Omit<DenseMatrixOptions, "rows"> = {}): Promise<DenseMatrixSource> {
  const delimiter = opts.delimiter ?? delimiterFromName(file) ?? sniffDelimiter(await readFirstLine(file));
  const na = new Set(opts.naStrings ?? DEFAULT_NA);
  const rowsOf = () => new DenseRows(file, ["response", "observation"], na);
  const observationIds = await headerColumns(file, delimiter, rowsOf());
  return {
    nObs: observationIds.length,
    observationIds,
    chunks: (size) => denseBlocks(file, delimiter, rowsOf(), observationIds, size),
  };
}

/** The observation names: the header's columns, as the first data row settles them. */
async function headerColumns(file: string, delimiter: "," | "\t", rows: DenseRows): Promise<string[]> {
  for await (const rec of delimitedRecords(file, { delimiter })) {
    if (!rows.takeHeader(rec)) return rows.columnsFor(rec); // leaving the loop closes the file
  }
  rows.checkComplete();
  throw new Error(`internal: ${file} has rows but no columns`);
}

async function* denseBlocks(file: string, delimiter: "," | "\t", rows: DenseRows, observationIds: string[], size: number): AsyncGenerator<ResponseChunk> {
  checkBlockSize(size);
  const n = observationIds.length;
  let values: Float64Array | null = null;
  let names: string[] = [];
  for await (const rec of delimitedRecords(file, { delimiter })) {
    if (rows.takeHeader(rec)) continue;
    if (rows.count === 0) checkSameColumns(file, rows.columnsFor(rec), observationIds);
    values ??= new Float64Array(size * n);
    names.push(rows.parse(rec, values, names.length * n));
    if (names.length === size) {
      yield { values, names };
      (values = null), (names = []);
    }
  }
  rows.checkComplete();
  if (names.length > 0) yield { values: values!.subarray(0, names.length * n), names };
}

/** Each pass reads the file anew: it must still have the columns it had when opened. */
function checkSameColumns(file: string, columns: string[], opened: string[]): void {
  if (columns.length === opened.length && columns.every((c, i) => c === opened[i])) return;
  throw new Error(`${file}: its header changed while it was being read (${opened.length} observations when opened, ${columns.length} now)`);
}
