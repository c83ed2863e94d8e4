// Count normalisation and response filtering on response matrices of any kind and orientation. Each
// returns a new matrix of the same kind and layout; the input is never written to.

import { responseMajor, type DenseResponses, type ResponseMatrix, type SparseResponses } from "../responses.js";
import { firstFew } from "./names.js";

export interface LogNormalizeOptions {
  /** Counts per observation after scaling (1e6: log counts per million; 1e4 is Seurat's default). */
  scale?: number;
}

/**
 * log1p(count / library size × scale), where an observation's library size is the sum of its counts
 * over all responses. Sparse stays sparse (log1p(0) = 0). Counts must be finite and non-negative,
 * and every observation needs a positive library size.
 */
export function logNormalize<T extends ResponseMatrix>(Y: T, opts: LogNormalizeOptions = {}): T {
  const scale = opts.scale ?? 1e6;
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`logNormalize: scale must be a positive number, got ${scale}`);
  const obsOf = entryObservations(Y);
  const lib = librarySizes(Y, obsOf);
  checkLibrarySizes(Y, lib);
  const src = Y.kind === "dense" ? Y.values : Y.data;
  const n = Y.kind === "dense" ? src.length : Y.ptr[Y.ptr.length - 1];
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = Math.log1p((src[k] / lib[obsOf(k)]) * scale);
  if (Y.kind === "dense") return { ...Y, values: out, ...copiedNames(Y) };
  return { ...Y, ptr: Y.ptr.slice(0, Y.ptr.length), idx: Y.idx.slice(0, n), data: out, ...copiedNames(Y) };
}

/** Sum of each observation's values over the responses, checking that every value is a count. */
function librarySizes(Y: ResponseMatrix, obsOf: (k: number) => number): Float64Array {
  const lib = new Float64Array(Y.nObs);
  const src = Y.kind === "dense" ? Y.values : Y.data;
  const n = Y.kind === "dense" ? src.length : Y.ptr[Y.ptr.length - 1];
  for (let k = 0; k < n; k++) {
    const v = src[k];
    if (!isCount(v)) {
      const [r, i] = entryPosition(Y, k);
      throw notACount(v, r, i, Y.responseNames, Y.obsIds);
    }
    lib[obsOf(k)] += v;
  }
  return lib;
}

/** What logNormalize takes as a count: a finite, non-negative number. */
export function isCount(v: number): boolean {
  return v >= 0 && v < Infinity;
}

/** logNormalize's error for value v of response r at observation i, which is not a count. */
export function notACount(v: number, r: number, i: number, responseNames: string[] | undefined, obsIds: string[] | undefined): Error {
  return new Error(`logNormalize: response ${label(responseNames, r)}, observation ${label(obsIds, i)} has value ${v}; counts must be finite and non-negative`);
}

/** logNormalize's check that every observation has counts (a positive library size). */
export function checkLibrarySizes(Y: Pick<ResponseMatrix, "obsIds">, lib: Float64Array): void {
  const empty: string[] = [];
  lib.forEach((s, i) => s === 0 && empty.push(label(Y.obsIds, i)));
  if (empty.length === 0) return;
  throw new Error(
    `logNormalize: ${empty.length} observation${empty.length === 1 ? " has" : "s have"} library size 0 (no counts in any response): ${firstFew(empty)}; remove ${empty.length === 1 ? "it" : "them"} first`,
  );
}

function label(names: string[] | undefined, i: number): string {
  return names ? `'${names[i]}'` : `#${i + 1}`;
}

/** For entry k of the value array (dense position or stored sparse entry), its observation. */
function entryObservations(Y: ResponseMatrix): (k: number) => number {
  if (Y.kind === "dense") {
    const { nObs, nResponses } = Y;
    return Y.layout === "responses-by-obs" ? (k) => k % nObs : (k) => Math.floor(k / nResponses);
  }
  if (responseMajor(Y)) {
    const idx = Y.idx;
    return (k) => idx[k];
  }
  const majorOf = expandPointers(Y);
  return (k) => majorOf[k];
}

/** The (response, observation) of entry k, for messages. */
function entryPosition(Y: ResponseMatrix, k: number): [number, number] {
  if (Y.kind === "dense") {
    return Y.layout === "responses-by-obs" ? [Math.floor(k / Y.nObs), k % Y.nObs] : [k % Y.nResponses, Math.floor(k / Y.nResponses)];
  }
  const major = expandPointers(Y)[k];
  return responseMajor(Y) ? [major, Y.idx[k]] : [Y.idx[k], major];
}

/** The compressed row (or column) of each stored entry. */
function expandPointers(Y: SparseResponses): Int32Array {
  const nMajor = Y.ptr.length - 1;
  const out = new Int32Array(Y.ptr[nMajor]);
  for (let j = 0; j < nMajor; j++) out.fill(j, Y.ptr[j], Y.ptr[j + 1]);
  return out;
}

function copiedNames(Y: ResponseMatrix): Pick<ResponseMatrix, "responseNames" | "obsIds"> {
  return { responseNames: Y.responseNames?.slice(), obsIds: Y.obsIds?.slice() };
}

// ---------------------------------------------------------------------------------------------------
// Filtering responses

export interface FilterResponsesOptions {
  /** Keep responses with a value > 0 in at least this fraction (0..1) of all observations. */
  minDetectedFraction?: number;
  /** Keep these responses, in this order (applied before minDetectedFraction). */
  responses?: string[];
}

/** A new matrix holding the selected responses; observations are unchanged. */
export function filterResponses<T extends ResponseMatrix>(Y: T, opts: FilterResponsesOptions = {}): T {
  const keep = keptResponses(Y, opts, () => detectedCounts(Y));
  const responseNames = Y.responseNames ? keep.map((r) => Y.responseNames![r]) : undefined;
  const obsIds = Y.obsIds?.slice();
  const sub = Y.kind === "dense" ? selectDense(Y, keep) : selectSparse(Y, keep);
  return { ...Y, ...sub, nResponses: keep.length, responseNames, obsIds };
}

/**
 * The positions of the responses filterResponses keeps, in its order; `detected` (per response, the
 * observations in which it is > 0) is asked for only with minDetectedFraction.
 */
export function keptResponses(
  Y: Pick<ResponseMatrix, "nResponses" | "nObs" | "responseNames">,
  opts: FilterResponsesOptions,
  detected: () => ArrayLike<number>,
): number[] {
  let keep = opts.responses ? namedResponses(Y, opts.responses) : Array.from({ length: Y.nResponses }, (_, r) => r);
  const frac = opts.minDetectedFraction;
  if (frac !== undefined) {
    if (!(frac >= 0 && frac <= 1)) throw new Error(`filterResponses: minDetectedFraction must be between 0 and 1, got ${frac}`);
    const count = detected();
    keep = keep.filter((r) => count[r] / Y.nObs >= frac);
  }
  return keep;
}

function namedResponses(Y: Pick<ResponseMatrix, "responseNames">, names: string[]): number[] {
  if (!Y.responseNames) throw new Error("filterResponses: the matrix has no response names to select by");
  const at = new Map<string, number>();
  Y.responseNames.forEach((name, r) => at.has(name) || at.set(name, r));
  const seen = new Set<string>();
  const repeated = names.filter((n) => seen.has(n) || !seen.add(n));
  if (repeated.length) throw new Error(`filterResponses: response${repeated.length === 1 ? "" : "s"} requested more than once: ${firstFew(repeated)}`);
  const unknown = names.filter((n) => !at.has(n));
  if (unknown.length) {
    throw new Error(`filterResponses: ${unknown.length} of ${names.length} requested responses are not in the matrix (first: ${firstFew(unknown)})`);
  }
  return names.map((n) => at.get(n)!);
}

/** Number of observations in which each response is > 0. */
export function detectedCounts(Y: ResponseMatrix): Int32Array {
  const count = new Int32Array(Y.nResponses);
  if (Y.kind === "dense") {
    const { nObs, nResponses, values } = Y;
    const byResponse = Y.layout === "responses-by-obs";
    for (let k = 0; k < values.length; k++) {
      if (values[k] > 0) count[byResponse ? Math.floor(k / nObs) : k % nResponses]++;
    }
    return count;
  }
  const nnz = Y.ptr[Y.ptr.length - 1];
  const responseOf = responseMajor(Y) ? expandPointers(Y) : Y.idx;
  for (let k = 0; k < nnz; k++) if (Y.data[k] > 0) count[responseOf[k]]++;
  return count;
}

function selectDense(Y: DenseResponses, keep: number[]): Pick<DenseResponses, "values"> {
  const { nObs: n, nResponses: m } = Y;
  const values = new (Y.values instanceof Float32Array ? Float32Array : Float64Array)(keep.length * n);
  if (Y.layout === "responses-by-obs") {
    keep.forEach((r, j) => values.set(Y.values.subarray(r * n, (r + 1) * n), j * n));
  } else {
    const k = keep.length;
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) values[i * k + j] = Y.values[i * m + keep[j]];
  }
  return { values };
}

type SparseParts = Pick<SparseResponses, "ptr" | "idx" | "data">;

function selectSparse(Y: SparseResponses, keep: number[]): SparseParts {
  return responseMajor(Y) ? selectMajor(Y, keep) : selectMinor(Y, keep);
}

/** Responses are the compressed rows: copy the kept ones' stretches in order. */
function selectMajor(Y: SparseResponses, keep: number[]): SparseParts {
  const ptr = new Int32Array(keep.length + 1);
  keep.forEach((r, j) => (ptr[j + 1] = ptr[j] + (Y.ptr[r + 1] - Y.ptr[r])));
  const idx = new Int32Array(ptr[keep.length]);
  const data = sameTypedArray(Y.data, ptr[keep.length]);
  keep.forEach((r, j) => {
    idx.set(Y.idx.subarray(Y.ptr[r], Y.ptr[r + 1]), ptr[j]);
    data.set(Y.data.subarray(Y.ptr[r], Y.ptr[r + 1]), ptr[j]);
  });
  return { ptr, idx, data };
}

/**
 * Responses are the indices within each observation's row: keep the entries of kept responses,
 * renumbered to their new positions (and re-sorted within the row when the selection reorders them).
 */
function selectMinor(Y: SparseResponses, keep: number[]): SparseParts {
  const newPos = new Int32Array(Y.nResponses).fill(-1);
  keep.forEach((r, j) => (newPos[r] = j));
  const inOrder = keep.every((r, j) => j === 0 || r > keep[j - 1]);
  const nMajor = Y.ptr.length - 1;
  const ptr = new Int32Array(nMajor + 1);
  let nnz = 0;
  for (let k = 0; k < Y.ptr[nMajor]; k++) if (newPos[Y.idx[k]] >= 0) nnz++;
  const idx = new Int32Array(nnz);
  const data = sameTypedArray(Y.data, nnz);
  let n = 0;
  for (let i = 0; i < nMajor; i++) {
    const start = n;
    for (let k = Y.ptr[i]; k < Y.ptr[i + 1]; k++) {
      const j = newPos[Y.idx[k]];
      if (j >= 0) (idx[n] = j), (data[n] = Y.data[k]), n++;
    }
    if (!inOrder) sortRow(idx, data, start, n);
    ptr[i + 1] = n;
  }
  return { ptr, idx, data };
}

function sortRow(idx: Int32Array, data: SparseResponses["data"], start: number, end: number): void {
  const order = Array.from({ length: end - start }, (_, t) => start + t).sort((a, b) => idx[a] - idx[b]);
  const i2 = order.map((k) => idx[k]);
  const d2 = order.map((k) => data[k]);
  idx.set(i2, start);
  data.set(d2, start);
}

function sameTypedArray(a: SparseResponses["data"], n: number): SparseResponses["data"] {
  if (a instanceof Float32Array) return new Float32Array(n);
  if (a instanceof Int32Array) return new Int32Array(n);
  if (a instanceof Uint32Array) return new Uint32Array(n);
  return new Float64Array(n);
}
