// A 10x directory as a ResponseSource whose memory is bounded by a bucket, not by the matrix.
// matrix.mtx lists its entries by cell (Cell Ranger writes them column by column), so one pass sorts
// them into buckets of genes on disk (src/io/gene-buckets.ts), read back a bucket at a time.

import type { ResponseSource } from "../response-source.js";
import { bucketBlocks, bucketDuplicates, checkBucketEntries, GeneBuckets } from "./gene-buckets.js";
import { makeUnique } from "./names.js";
import { duplicatesError, findFiles, readBarcodes, readFeatures, scanMatrixMarket } from "./tenx.js";

export interface Open10xOptions {
  /** Which features.tsv column names the responses: "name" (default) or "id". */
  featureColumn?: "name" | "id";
  /** Repeated (feature, barcode) entries: "error" (default, checked when the directory is opened) or "sum". */
  duplicates?: "error" | "sum";
  /** Largest number of entries a bucket holds in memory (default 1 M: 16 MB of records). */
  bucketEntries?: number;
  /** Where the buckets' temporary directory is made (default: the OS's temporary directory). */
  tmpDir?: string;
}

export interface TenxSource extends ResponseSource {
  readonly nResponses: number;
  readonly responseNames: string[];
  readonly observationIds: string[];
  /** How many buckets the genes were sorted into (1: in memory). */
  readonly buckets: number;
  /** Removes the temporary files (also done when the process exits). */
  close(): void;
}

/**
 * Opens a 10x directory for streaming: features and barcodes are read, matrix.mtx is sorted into
 * buckets of genes, and (duplicates "error") every bucket is checked for repeated entries, so a bad
 * file fails here and not halfway through a fit.
 */
export async function open10x(dir: string, opts: Open10xOptions = {}): Promise<TenxSource> {
  const files = await findFiles(dir);
  const features = await readFeatures(files.features, opts.featureColumn ?? "name");
  const barcodes = await readBarcodes(files.barcodes);
  const nGenes = features.names.length, nCells = barcodes.length;
  const buckets = new GeneBuckets(nGenes, checkBucketEntries(opts.bucketEntries), opts.tmpDir);
  try {
    await scanMatrixMarket(files.matrix, nGenes, nCells, files.features, files.barcodes, 65536, (t, count) => buckets.add(t, count), (h) => buckets.layout(h.nnz));
    buckets.finish();
  } catch (e) {
    buckets.remove();
    throw e;
  }
  const names = makeUnique(features.names);
  const sum = opts.duplicates === "sum";
  if (!sum) {
    const { count, first } = bucketDuplicates(buckets, nCells);
    if (first) {
      buckets.remove();
      throw duplicatesError(files.matrix, count, first, features.names, barcodes);
    }
  }
  return {
    nObs: nCells,
    nResponses: nGenes,
    responseNames: names,
    observationIds: barcodes,
    buckets: buckets.count,
    close: () => buckets.remove(),
    chunks: (size: number) => bucketBlocks(buckets, nCells, names, size, sum),
  };
}
