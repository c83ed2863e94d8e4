// Genes sorted into buckets on disk, for sparse matrices stored by cell (a 10x matrix.mtx, a CSR
// .h5ad X): any one gene's values are spread over the whole matrix, so reading genes a block at a
// time from the file itself would scan all of it per block. One pass appends every entry to the
// bucket of its gene (an external bucket sort: B buckets of consecutive genes, each a temporary file
// of (gene, cell, value) records); the genes are then read bucket by bucket, each bucket made into
// CSR in memory (≈ nnz / B entries) and handed out as dense responses. With at most `maxEntries`
// entries there is one bucket, kept in memory, and no temporary file.

import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkBlockSize, type ResponseChunk } from "../response-source.js";
import { duplicateEntries, sumDuplicates, tripletsToCSR, type CSR, type Triplets } from "./tenx.js";

/** Bytes per record in a bucket file: gene (i32), cell (i32), value (f64), in the platform's byte order (the files live only while this process reads them). */
const RECORD = 16;

/** Records as bytes with i32 and f64 views: record k is i32[4k], i32[4k+1], f64[2k+1]. */
interface RecordBuffer {
  bytes: Uint8Array;
  i32: Int32Array;
  f64: Float64Array;
}

function recordBuffer(records: number): RecordBuffer {
  const ab = new ArrayBuffer(records * RECORD);
  return { bytes: new Uint8Array(ab), i32: new Int32Array(ab), f64: new Float64Array(ab) };
}

/** Default largest bucket: 1 M entries, 16 MB of records (12 MB as CSR). */
export const BUCKET_ENTRIES = 2 ** 20;

/** Most buckets (open files) a sort makes. */
const MAX_BUCKETS = 512;

export function checkBucketEntries(n: number | undefined): number {
  const v = n ?? BUCKET_ENTRIES;
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`bucketEntries must be a positive integer, got ${n}`);
  return v;
}

/**
 * The bucket sort's two sides: records appended to the bucket of their gene (buffered, then written
 * to its file), and a bucket read back. Genes [b·G, (b+1)·G) go to bucket b, with B = ⌈nnz / maxEntries⌉
 * (at most one per gene) from the number of entries, known before the first is added (layout()).
 */
export class GeneBuckets {
  count = 1;
  private perBucket = 0; // genes per bucket
  private dir: string | null = null;
  private fds: number[] = [];
  private buffers: RecordBuffer[] = [];
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
    // at most MAX_BUCKETS files open (beyond, the buckets grow past maxEntries)
    this.count = Math.max(1, Math.min(this.nGenes, Math.ceil(nnz / this.maxEntries), MAX_BUCKETS));
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
      this.buffers.push(recordBuffer(bufRecords));
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
      const at = this.filled[b];
      buf.i32[4 * at] = g;
      buf.i32[4 * at + 1] = c;
      buf.f64[2 * at + 1] = t.vals[k];
      if (++this.filled[b] * RECORD === buf.bytes.length) this.flush(b);
      this.sizes[b]++;
    }
    if (this.memory) this.sizes[0] = this.memoryCount;
  }

  finish(): void {
    for (let b = 0; b < this.fds.length; b++) this.flush(b);
    this.buffers = []; // the write buffers are not needed to read
  }

  private flush(b: number): void {
    if (this.filled[b] === 0) return;
    writeSync(this.fds[b], this.buffers[b].bytes, 0, this.filled[b] * RECORD);
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
    const rec = recordBuffer(n);
    for (let done = 0; done < rec.bytes.length; ) {
      const got = readSync(this.fds[b], rec.bytes, done, rec.bytes.length - done, done);
      if (got === 0) throw new Error(`internal: bucket ${b} of the sorted genes is shorter than the ${n} entries written`);
      done += got;
    }
    for (let k = 0; k < n; k++) {
      t.rows[k] = rec.i32[4 * k] - g0;
      t.cols[k] = rec.i32[4 * k + 1];
      t.vals[k] = rec.f64[2 * k + 1];
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

/** Repeated (gene, cell) entries over all buckets: how many, and the first (0-based gene and cell). */
export function bucketDuplicates(buckets: GeneBuckets, nCells: number): { count: number; first: [number, number] | null } {
  let count = 0;
  let first: [number, number] | null = null;
  for (let b = 0; b < buckets.count; b++) {
    const d = duplicateEntries(tripletsToCSR(buckets.read(b), buckets.genesIn(b), nCells));
    count += d.count;
    if (d.first && !first) first = [buckets.firstGene(b) + d.first[0], d.first[1]];
  }
  return { count, first };
}

/**
 * The genes as dense responses over nCells, blocks of `size` in order ("sum": repeated entries
 * added; otherwise they must have been rejected before).
 */
export async function* bucketBlocks(buckets: GeneBuckets, nCells: number, names: string[], size: number, sum: boolean): AsyncGenerator<ResponseChunk> {
  checkBlockSize(size);
  const nGenes = names.length;
  let block = new Float64Array(Math.min(size, nGenes) * nCells);
  let inBlock = 0, first = 0;
  for (let b = 0; b < buckets.count; b++) {
    const raw = tripletsToCSR(buckets.read(b), buckets.genesIn(b), nCells);
    const csr: CSR = sum ? sumDuplicates(raw) : raw;
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
}
