// A 10x directory as a ResponseSource whose memory is bounded by a bucket, not by the matrix.
// matrix.mtx lists its entries by cell (Cell Ranger writes them column by column), so any one gene's
// counts are spread over the whole file. One pass over the file sorts the entries into B buckets of
// consecutive genes on disk (an external bucket sort: each bucket a temporary file of (gene, cell,
// count) records); the genes are then read bucket by bucket, each bucket made into CSR in memory
// (≈ nnz / B entries) and handed out as dense responses. With at most `bucketEntries` entries there is
// one bucket and no temporary file.

import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkBlockSize, type ResponseChunk, type ResponseSource } from "../response-source.js";
import { makeUnique } from "./names.js";
import { duplicateEntries, duplicatesError, findFiles, readBarcodes, readFeatures, scanMatrixMarket, sumDuplicates, tripletsToCSR, type CSR, type Triplets } from "./tenx.js";

export interface Open10xOptions {
  /** Which features.tsv column names the responses: "name" (default) or "id". */
  featureColumn?: "name" | "id";
  /** Repeated (feature, barcode) entries: "error" (default, checked when the directory is opened) or "sum". */
  duplicates?: "error" | "sum";
  /** Largest number of entries a bucket holds in memory (default 4 M: 64 MB of records). */
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

/** Bytes per record in a bucket file: gene (i32), cell (i32), count (f64). */
const RECORD = 16;

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
  const maxEntries = opts.bucketEntries ?? 4 * 2 ** 20;
  if (!(Number.isInteger(maxEntries) && maxEntries > 0)) throw new Error(`bucketEntries must be a positive integer, got ${opts.bucketEntries}`);
  const buckets = new BucketWriter(nGenes, maxEntries, opts.tmpDir);
  try {
    await scanMatrixMarket(files.matrix, nGenes, nCells, files.features, files.barcodes, 65536, (t, count) => buckets.add(t, count), (h) => buckets.layout(h.nnz));
    buckets.finish();
  } catch (e) {
    buckets.remove();
    throw e;
  }
  const names = makeUnique(features.names);
  const dup = opts.duplicates ?? "error";
  const bucketCSR = (b: number): CSR => {
    const csr = tripletsToCSR(buckets.read(b), buckets.genesIn(b), nCells);
    return dup === "sum" ? sumDuplicates(csr) : csr;
  };
  if (dup === "error") {
    let count = 0;
    let first: [number, number] | null = null;
    for (let b = 0; b < buckets.count; b++) {
      const d = duplicateEntries(bucketCSR(b));
      count += d.count;
      if (d.first && !first) first = [buckets.firstGene(b) + d.first[0], d.first[1]];
    }
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
    async *chunks(size: number): AsyncGenerator<ResponseChunk> {
      checkBlockSize(size);
      let block = new Float64Array(Math.min(size, nGenes) * nCells);
      let inBlock = 0, first = 0;
      for (let b = 0; b < buckets.count; b++) {
        const csr = bucketCSR(b);
        const g0 = buckets.firstGene(b);
        for (let r = 0; r < buckets.genesIn(b); r++) {
          const row = inBlock * nCells;
          for (let k = csr.ptr[r]; k < csr.ptr[r + 1]; k++) block[row + csr.idx[k]] = csr.data[k];
          if (++inBlock === size || g0 + r + 1 === nGenes) {
            yield { values: block.subarray(0, inBlock * nCells), names: names.slice(first, first + inBlock) };
            first += inBlock;
            inBlock = 0;
            block = new Float64Array(Math.min(size, nGenes - first) * nCells);
          }
        }
      }
    },
  };
}

/**
 * The bucket sort's two sides: records appended to the bucket of their gene (buffered, then written
 * to its file), and a bucket read back as triplets. Genes [b·G, (b+1)·G) go to bucket b, with
 * B = ⌈nnz / maxEntries⌉ from the size line's entry count.
 */
class BucketWriter {
  count = 1;
  private perBucket = 0; // genes per bucket
  private dir: string | null = null;
  private fds: number[] = [];
  private buffers: Buffer[] = [];
  private filled: number[] = [];
  private sizes: number[] = [];
  private memory: Triplets | null = null; // the one bucket when everything fits
  private memoryCount = 0;
  private byColumn: boolean[] = [];
  private lastCol: number[] = [];
  private readonly exitHook = () => this.remove();

  constructor(
    private readonly nGenes: number,
    private readonly maxEntries: number,
    private readonly tmpDir: string | undefined,
  ) {}

  /** The buckets for nnz entries (the size line's count, read before any entry). */
  layout(nnz: number): void {
    this.count = Math.max(1, Math.min(this.nGenes, Math.ceil(nnz / this.maxEntries)));
    this.perBucket = Math.ceil(this.nGenes / this.count);
    this.count = Math.ceil(this.nGenes / this.perBucket);
    this.sizes = new Array<number>(this.count).fill(0);
    this.byColumn = new Array<boolean>(this.count).fill(true);
    this.lastCol = new Array<number>(this.count).fill(-1);
    if (this.count === 1) {
      this.memory = { rows: new Int32Array(nnz), cols: new Int32Array(nnz), vals: new Float64Array(nnz), byColumn: true };
      return;
    }
    this.dir = mkdtempSync(join(this.tmpDir ?? tmpdir(), "mixedmodels-10x-"));
    process.once("exit", this.exitHook);
    // buffers of up to 1 MB each, 64 MB in all
    const bufRecords = Math.max(256, Math.min(65536, Math.floor((64 * 2 ** 20) / RECORD / this.count)));
    for (let b = 0; b < this.count; b++) {
      this.fds.push(openSync(join(this.dir, `bucket-${b}.bin`), "w+"));
      this.buffers.push(Buffer.alloc(bufRecords * RECORD));
      this.filled.push(0);
    }
  }

  add(t: Triplets, count: number): void {
    for (let k = 0; k < count; k++) {
      const g = t.rows[k], c = t.cols[k];
      const b = Math.floor(g / this.perBucket);
      if (c < this.lastCol[b]) this.byColumn[b] = false;
      this.lastCol[b] = c;
      if (this.memory) {
        const m = this.memoryCount++;
        this.memory.rows[m] = g;
        this.memory.cols[m] = c;
        this.memory.vals[m] = t.vals[k];
        continue;
      }
      const buf = this.buffers[b];
      const at = this.filled[b] * RECORD;
      buf.writeInt32LE(g, at);
      buf.writeInt32LE(c, at + 4);
      buf.writeDoubleLE(t.vals[k], at + 8);
      if (++this.filled[b] * RECORD === buf.length) this.flush(b);
      this.sizes[b]++;
    }
    if (this.memory) this.sizes[0] = this.memoryCount;
  }

  finish(): void {
    for (let b = 0; b < this.fds.length; b++) this.flush(b);
  }

  private flush(b: number): void {
    if (this.filled[b] === 0) return;
    writeSync(this.fds[b], this.buffers[b], 0, this.filled[b] * RECORD);
    this.filled[b] = 0;
  }

  firstGene(b: number): number {
    return b * this.perBucket;
  }

  genesIn(b: number): number {
    return Math.min(this.perBucket, this.nGenes - b * this.perBucket);
  }

  /** Bucket b's entries with 0-based genes relative to its first gene. */
  read(b: number): Triplets {
    const n = this.sizes[b], g0 = this.firstGene(b);
    const t: Triplets = { rows: new Int32Array(n), cols: new Int32Array(n), vals: new Float64Array(n), byColumn: this.byColumn[b] };
    if (this.memory) {
      for (let k = 0; k < n; k++) t.rows[k] = this.memory.rows[k] - g0;
      t.cols.set(this.memory.cols.subarray(0, n));
      t.vals.set(this.memory.vals.subarray(0, n));
      return t;
    }
    const bytes = readFileSync(join(this.dir!, `bucket-${b}.bin`));
    for (let k = 0; k < n; k++) {
      t.rows[k] = bytes.readInt32LE(k * RECORD) - g0;
      t.cols[k] = bytes.readInt32LE(k * RECORD + 4);
      t.vals[k] = bytes.readDoubleLE(k * RECORD + 8);
    }
    return t;
  }

  remove(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    process.removeListener("exit", this.exitHook);
  }
}
