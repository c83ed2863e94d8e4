// An .h5ad file as a ResponseSource: obs, the names and the matrix's layout are read when it is
// opened, the values a block of genes at a time, each pass reopening the file. AnnData stores cells ×
// genes, so what a block of genes is depends on the layout:
//   dense X        hyperslabs of every cell × a slab of genes (about 16 MB: a row's genes are
//                  contiguous on disk, so each slab costs one read per cell, and narrow slabs of
//                  a block each made a pass 8 times slower), handed out a block at a time as genes × cells;
//   CSC X          genes are the compressed columns: the block's indptr range of indices and data;
//   CSR X          cells are the compressed rows (scanpy's usual layout): a block of genes is spread
//                  over every cell's entries, so reading one would scan the whole matrix. When the
//                  file is opened, one pass over X (slabs of cells) sorts the entries into buckets of
//                  genes on disk (src/io/gene-buckets.ts), read back a bucket at a time.
// The values are those readH5ad gives, bit for bit.

import type { Dataset } from "h5wasm/node";
import { checkBlockSize, type ResponseChunk, type ResponseSource } from "../response-source.js";
import { bucketBlocks, bucketDuplicates, checkBucketEntries, GeneBuckets } from "./gene-buckets.js";
import type { Triplets } from "./tenx.js";
import { checkH5File, H5adReader, openH5File, withH5File, type DenseLayout, type H5adData, type H5adOptions, type MatrixLayout, type SparseLayout } from "./h5ad.js";

export interface H5adSourceOptions extends H5adOptions {
  /** A dense X is read in slabs of every cell × as many genes as fit about this many bytes (default 16 MiB). */
  slabBytes?: number;
  /** A CSR X: the largest number of entries a bucket of genes holds in memory (default 1 M). */
  bucketEntries?: number;
  /** A CSR X: where the buckets' temporary directory is made (default: the OS's temporary directory). */
  tmpDir?: string;
}

export interface H5adSource extends Omit<H5adData, "Y"> {
  /** The matrix's genes as responses over its cells. */
  source: ResponseSource;
  /** True when the matrix was read into memory; false: it is read a block at a time (since CSR is sorted into buckets, always). */
  inMemory: boolean;
  /** Removes a CSR X's buckets of genes (also done when the process exits); nothing to do otherwise. */
  close(): void;
}

/** Opens an .h5ad file: reads obs, the names and the matrix's layout (CSR: the matrix itself). */
export async function openH5ad(file: string, opts: H5adSourceOptions = {}): Promise<H5adSource> {
  await checkH5File(file);
  return withH5File(file, (f) => {
    const r = new H5adReader(file, f);
    const obsFrame = r.frame("obs");
    const obsIds = r.index(obsFrame, "obs");
    const responseNames = r.index(r.frame("var"), "var");
    const layout = r.matrixLayout(opts.layer, obsIds.length, responseNames.length);
    const { columns, levels } = r.columns(obsFrame, "obs", obsIds.length, opts.obsColumns);
    checkPointers(file, layout);
    if (layout.kind === "csr") {
      const buckets = csrBuckets(r, layout, obsIds, responseNames, opts);
      const source: ResponseSource = {
        nObs: obsIds.length,
        observationIds: obsIds,
        nResponses: responseNames.length,
        responseNames,
        chunks: (size) => bucketBlocks(buckets, obsIds.length, responseNames, size, false),
      };
      return { source, inMemory: false, close: () => buckets.remove(), obs: columns, levels, obsIds, responseNames };
    }
    const source = blockSource(file, opts, obsIds, responseNames);
    return { source, inMemory: false, close: () => {}, obs: columns, levels, obsIds, responseNames };
  });
}

function blockSource(file: string, opts: H5adSourceOptions, obsIds: string[], responseNames: string[]): ResponseSource {
  return {
    nObs: obsIds.length,
    observationIds: obsIds,
    nResponses: responseNames.length,
    responseNames,
    chunks: (size) => blocks(file, opts, obsIds.length, responseNames, size),
  };
}

/** Entries of a CSR X's cells read at a time while sorting them into buckets of genes. */
const CSR_SLAB_ENTRIES = 2 ** 20;

/**
 * One pass over a CSR X (cells × genes), slabs of whole cells of about CSR_SLAB_ENTRIES entries,
 * every entry appended to its gene's bucket; repeated (cell, gene) entries are an error, as the value
 * of a cell would be ambiguous.
 */
function csrBuckets(r: H5adReader, layout: SparseLayout, obsIds: string[], genes: string[], opts: H5adSourceOptions): GeneBuckets {
  const { ptr, path } = layout;
  const nObs = obsIds.length, nGenes = genes.length;
  const buckets = new GeneBuckets(nGenes, checkBucketEntries(opts.bucketEntries), opts.tmpDir);
  try {
    buckets.layout(ptr[nObs]);
    for (let i0 = 0; i0 < nObs; ) {
      let i1 = i0 + 1;
      while (i1 < nObs && ptr[i1 + 1] - ptr[i0] <= CSR_SLAB_ENTRIES) i1++;
      const lo = ptr[i0], hi = ptr[i1];
      if (hi > lo) {
        const idx = r.indices(layout.indices, `${path}/indices`, [lo, hi]);
        const data = r.floats(layout.data, `${path}/data`, [[lo, hi]]);
        const t: Triplets = { rows: new Int32Array(hi - lo), cols: new Int32Array(hi - lo), vals: new Float64Array(hi - lo), byColumn: true };
        for (let i = i0; i < i1; i++) {
          for (let k = ptr[i]; k < ptr[i + 1]; k++) {
            const g = idx[k - lo];
            if (!(g >= 0 && g < nGenes)) throw r.fail(path, `response matrix (csr): index ${g} at entry ${k} is outside 0..${nGenes - 1}`);
            t.rows[k - lo] = g;
            t.cols[k - lo] = i;
            t.vals[k - lo] = data[k - lo];
          }
        }
        buckets.add(t, hi - lo);
      }
      i0 = i1;
    }
    buckets.finish();
    const { count, first } = bucketDuplicates(buckets, nObs);
    if (first) {
      const [g, c] = first;
      throw r.fail(path, `response matrix (csr): ${count} repeated entr${count === 1 ? "y" : "ies"} (first: cell '${obsIds[c]}', row ${c + 1}, gene '${genes[g]}', column ${g + 1}); each (cell, gene) may be stored once`);
    }
  } catch (e) {
    buckets.remove();
    throw e;
  }
  return buckets;
}

/** One pass: the file is open while the blocks are read, and closed when the pass ends or is left. */
async function* blocks(file: string, opts: H5adSourceOptions, nObs: number, names: string[], size: number): AsyncGenerator<ResponseChunk> {
  checkBlockSize(size);
  const f = await openH5File(file);
  try {
    const r = new H5adReader(file, f);
    const layout = r.matrixLayout(opts.layer, nObs, names.length); // checked again: the file may have changed
    if (layout.kind === "dense") {
      yield* denseBlocks(r, layout, nObs, names, size, opts.slabBytes ?? SLAB_BYTES);
      return;
    }
    for (let from = 0; from < names.length; from += size) {
      const to = Math.min(names.length, from + size);
      yield { values: cscBlock(r, layout, nObs, from, to), names: names.slice(from, to) };
    }
  } finally {
    f.close();
  }
}

/** Bytes of stored values a dense slab holds (a constant: memory does not grow with the genes). */
const SLAB_BYTES = 16 * 2 ** 20;

/** Genes per slab: whole chunk columns (a chunked X) or whole blocks, about `bytes`, at least one. */
function slabWidth(d: Dataset, nObs: number, size: number, bytes: number): number {
  const m = d.metadata as { size?: number; chunks?: number[] | null };
  const unit = m.chunks?.[1] ?? size;
  return unit * Math.max(1, Math.floor(bytes / ((m.size ?? 8) * Math.max(1, nObs) * unit)));
}

function* denseBlocks(r: H5adReader, layout: DenseLayout, nObs: number, names: string[], size: number, slabBytes: number): Generator<ResponseChunk> {
  const width = slabWidth(layout.values, nObs, size, slabBytes);
  for (let s0 = 0; s0 < names.length; s0 += width) {
    const s1 = Math.min(names.length, s0 + width);
    const slab = r.floats(layout.values, layout.path, [[0, nObs], [s0, s1]]);
    for (let from = s0; from < s1; from += size) {
      const to = Math.min(s1, from + size);
      yield { values: genesOf(slab, nObs, s1 - s0, from - s0, to - s0), names: names.slice(from, to) };
    }
  }
}

/** Columns from..to−1 of a cells × w slab, as genes × cells. */
function genesOf(slab: Float32Array | Float64Array, nObs: number, w: number, from: number, to: number): Float64Array {
  const out = new Float64Array((to - from) * nObs);
  for (let i = 0; i < nObs; i++) for (let g = from; g < to; g++) out[(g - from) * nObs + i] = slab[i * w + g];
  return out;
}

/** Genes (compressed columns) from..to−1 of a CSC X, as dense genes × cells (absent entries 0). */
function cscBlock(r: H5adReader, layout: SparseLayout, nObs: number, from: number, to: number): Float64Array {
  const { ptr, path } = layout;
  const out = new Float64Array((to - from) * nObs);
  const lo = ptr[from], hi = ptr[to];
  if (hi === lo) return out;
  const idx = r.indices(layout.indices, `${path}/indices`, [lo, hi]);
  const data = r.floats(layout.data, `${path}/data`, [[lo, hi]]);
  for (let g = from; g < to; g++) {
    const o = (g - from) * nObs;
    for (let k = ptr[g]; k < ptr[g + 1]; k++) {
      const i = idx[k - lo];
      if (!(i >= 0 && i < nObs)) throw r.fail(path, `response matrix (csc): index ${i} at entry ${k} is outside 0..${nObs - 1}`);
      out[o + i] = data[k - lo];
    }
  }
  return out;
}

/** checkResponseMatrix's checks of a sparse matrix's pointers (its indices are checked as they are read). */
function checkPointers(file: string, layout: MatrixLayout): void {
  if (layout.kind === "dense") return;
  const { ptr, path } = layout;
  const fail = (message: string) => new Error(`${file}: ${path}: response matrix (${layout.kind}): ${message}`);
  const nnz = ptr[ptr.length - 1];
  const length = (d: Dataset) => (d.shape ?? [0])[0];
  if (ptr[0] !== 0 || length(layout.indices) < nnz || length(layout.data) < nnz) throw fail(`ptr must start at 0 and idx/data hold ptr[end] = ${nnz} entries`);
  for (let j = 0; j + 1 < ptr.length; j++) if (!(ptr[j + 1] >= ptr[j])) throw fail(`ptr decreases at ${j}`);
}
