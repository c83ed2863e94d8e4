// Response matrices for many-response fits (fitMany): one row per response (gene, time point ×
// channel) and one column per observation (cell, trial), dense or sparse, in either orientation.
// Readers (src/io/) return a ResponseMatrix; fitMany reads one response at a time through
// `responseVector`, so no layout is copied or transposed as a whole.

/** Dense values, row-major. "responses-by-obs": element (r, i) at r·nObs + i; "obs-by-responses": at i·nResponses + r. */
export interface DenseResponses {
  kind: "dense";
  layout: "responses-by-obs" | "obs-by-responses";
  nResponses: number;
  nObs: number;
  values: Float32Array | Float64Array;
  /** Response names (genes), nResponses of them; default "1", "2", ... */
  responseNames?: string[];
  /** Observation ids (cells, trials), nObs of them, matched against the design table's id column. */
  obsIds?: string[];
}

/**
 * Compressed sparse storage, absent entries are 0 (counts). "csr": compressed rows; "csc": compressed
 * columns. `rowsAre` says what a row is: "responses" (genes × cells, as 10x's matrix.mtx, whose rows
 * are features) or "obs" (cells × genes, as AnnData's X).
 * ptr has (number of compressed rows/columns) + 1 entries; idx and data have nnz.
 */
export interface SparseResponses {
  kind: "csr" | "csc";
  rowsAre: "responses" | "obs";
  nResponses: number;
  nObs: number;
  ptr: Int32Array | Uint32Array | Float64Array;
  idx: Int32Array | Uint32Array;
  data: Float32Array | Float64Array | Int32Array | Uint32Array;
  responseNames?: string[];
  obsIds?: string[];
}

export type ResponseMatrix = DenseResponses | SparseResponses;

/** True when the matrix stores one response contiguously (cheap to read one at a time). */
export function responseMajor(Y: ResponseMatrix): boolean {
  if (Y.kind === "dense") return Y.layout === "responses-by-obs";
  return (Y.kind === "csr") === (Y.rowsAre === "responses");
}

/** Checks shapes and index ranges, so a malformed matrix fails with a message rather than wrong fits. */
export function checkResponseMatrix(Y: ResponseMatrix): void {
  const { nResponses, nObs } = Y;
  if (!(Number.isInteger(nResponses) && nResponses >= 0 && Number.isInteger(nObs) && nObs >= 0)) {
    throw new Error(`response matrix: nResponses and nObs must be non-negative integers, got ${nResponses} and ${nObs}`);
  }
  if (Y.responseNames && Y.responseNames.length !== nResponses) {
    throw new Error(`response matrix: ${Y.responseNames.length} response names for ${nResponses} responses`);
  }
  if (Y.obsIds && Y.obsIds.length !== nObs) throw new Error(`response matrix: ${Y.obsIds.length} observation ids for ${nObs} observations`);
  if (Y.kind === "dense") {
    if (Y.values.length !== nResponses * nObs) {
      throw new Error(`response matrix: ${Y.values.length} values, expected ${nResponses} × ${nObs} = ${nResponses * nObs}`);
    }
    return;
  }
  // The compressed dimension ("major") is the responses when the storage is response-major.
  const [nMajor, nMinor] = responseMajor(Y) ? [nResponses, nObs] : [nObs, nResponses];
  if (Y.ptr.length !== nMajor + 1) throw new Error(`response matrix (${Y.kind}): ptr has ${Y.ptr.length} entries, expected ${nMajor + 1}`);
  const nnz = Y.ptr[nMajor];
  if (Y.ptr[0] !== 0 || Y.idx.length < nnz || Y.data.length < nnz) {
    throw new Error(`response matrix (${Y.kind}): ptr must start at 0 and idx/data hold ptr[end] = ${nnz} entries`);
  }
  for (let j = 0; j < nMajor; j++) {
    if (!(Y.ptr[j + 1] >= Y.ptr[j])) throw new Error(`response matrix (${Y.kind}): ptr decreases at ${j}`);
  }
  for (let k = 0; k < nnz; k++) {
    const i = Y.idx[k];
    if (!(i >= 0 && i < nMinor)) throw new Error(`response matrix (${Y.kind}): index ${i} at entry ${k} is outside 0..${nMinor - 1}`);
  }
}

/**
 * Response r as a vector over the observations, written into `out` (length nObs). For a
 * response-major layout this reads r's stretch; otherwise it strides (dense) or searches each
 * observation's entries (sparse, binary search as indices are sorted within a row; unsorted rows are
 * scanned).
 */
export function responseVector(Y: ResponseMatrix, r: number, out: Float64Array): Float64Array {
  const n = Y.nObs;
  if (Y.kind === "dense") {
    const v = Y.values;
    if (Y.layout === "responses-by-obs") {
      const o = r * n;
      for (let i = 0; i < n; i++) out[i] = v[o + i];
    } else {
      const m = Y.nResponses;
      for (let i = 0; i < n; i++) out[i] = v[i * m + r];
    }
    return out;
  }
  if (responseMajor(Y)) {
    out.fill(0, 0, n);
    for (let k = Y.ptr[r], e = Y.ptr[r + 1]; k < e; k++) out[Y.idx[k]] = Y.data[k];
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = sparseAt(Y, i, r);
  return out;
}

function sparseAt(Y: SparseResponses, major: number, minor: number): number {
  let lo = Y.ptr[major], hi = Y.ptr[major + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = Y.idx[mid];
    if (v === minor) return Y.data[mid];
    if (v < minor) lo = mid + 1;
    else hi = mid - 1;
  }
  // Unsorted storage: fall back to a scan of the row.
  for (let k = Y.ptr[major], e = Y.ptr[major + 1]; k < e; k++) if (Y.idx[k] === minor) return Y.data[k];
  return 0;
}

/**
 * The same matrix stored response-major (dense responses × obs, or CSR with response rows), so each
 * response is read in O(its entries). Sparse: one O(nnz) transpose; dense: one copy.
 */
export function toResponseMajor(Y: ResponseMatrix): ResponseMatrix {
  if (responseMajor(Y)) return Y;
  if (Y.kind === "dense") {
    const { nResponses: m, nObs: n } = Y;
    const v = new (Y.values instanceof Float32Array ? Float32Array : Float64Array)(m * n);
    for (let i = 0; i < n; i++) for (let r = 0; r < m; r++) v[r * n + i] = Y.values[i * m + r];
    return { ...Y, layout: "responses-by-obs", values: v };
  }
  const nMajor = Y.ptr.length - 1; // observations
  const nnz = Y.ptr[nMajor];
  const m = Y.nResponses;
  const ptr = new Int32Array(m + 1);
  for (let k = 0; k < nnz; k++) ptr[Y.idx[k] + 1]++;
  for (let r = 0; r < m; r++) ptr[r + 1] += ptr[r];
  const next = ptr.slice(0, m);
  const idx = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  for (let i = 0; i < nMajor; i++) {
    for (let k = Y.ptr[i], e = Y.ptr[i + 1]; k < e; k++) {
      const dst = next[Y.idx[k]]++;
      idx[dst] = i;
      data[dst] = Y.data[k];
    }
  }
  return { ...Y, kind: "csr", rowsAre: "responses", ptr, idx, data };
}
