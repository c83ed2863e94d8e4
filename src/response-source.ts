// Responses read a block at a time, for inputs too large to hold whole (30,000 genes × 100,000 cells
// of a dense file is 24 GB of doubles): fitMany pulls the next block only when one of its lanes is
// free, so only a few blocks are in memory at once. A ResponseMatrix in memory is a source too
// (matrixSource), which is how fitMany reads one. Runtime-neutral; the file readers are in src/io/.

import { responseVector, type ResponseMatrix } from "./responses.js";

/** Consecutive responses, response-major: response k's value at observation i is values[k·nObs + i]. */
export interface ResponseChunk {
  values: Float32Array | Float64Array;
  /** The responses' names (default: their 1-based positions among all of the source's responses). */
  names?: string[];
}

/**
 * Responses over a fixed set of observations, read in blocks. `chunks(size)` may be called more than
 * once (a first pass for library sizes, then the fitting pass); each call reads the responses from
 * the start. Its values are the consumer's to keep: a source must not reuse a block's array.
 */
export interface ResponseSource {
  /** Observations per response. */
  readonly nObs: number;
  /** Observation ids, matched against the design's id column (as ResponseMatrix.obsIds). */
  readonly observationIds?: string[];
  /** How many responses, when known before reading them (progress totals, the thread count). */
  readonly nResponses?: number;
  /** Their names, when known before reading them (an .h5ad's var names); else they come with the blocks. */
  readonly responseNames?: string[];
  /** Blocks of about `size` responses (any size > 0 is accepted), in order. */
  chunks(size: number): AsyncIterable<ResponseChunk>;
}

export function isResponseSource(x: ResponseMatrix | ResponseSource): x is ResponseSource {
  return typeof (x as ResponseSource).chunks === "function";
}

/** Responses from..from+count−1 of Y as one response-major block of doubles. */
export function responseBlock(Y: ResponseMatrix, from: number, count: number): Float64Array {
  const n = Y.nObs;
  const values = new Float64Array(count * n);
  if (Y.kind === "dense" && Y.layout === "responses-by-obs") {
    values.set(Y.values.subarray(from * n, (from + count) * n)); // already response-major: one copy
  } else {
    const y = new Float64Array(n);
    for (let r = 0; r < count; r++) values.set(responseVector(Y, from + r, y), r * n);
  }
  freshBlocks.add(values);
  return values;
}

/**
 * The blocks responseBlock made: nobody else holds them, so fittingChunks may hand one on as it is
 * (to be transferred to a worker) instead of copying it into a block of its own.
 */
const freshBlocks = new WeakSet<Float64Array>();

/** A matrix in memory as a source: blocks of `size` responses read through responseVector. */
export function matrixSource(Y: ResponseMatrix): ResponseSource {
  return {
    nObs: Y.nObs,
    observationIds: Y.obsIds,
    nResponses: Y.nResponses,
    responseNames: Y.responseNames,
    async *chunks(size: number) {
      checkBlockSize(size);
      for (let from = 0; from < Y.nResponses; from += size) {
        const count = Math.min(size, Y.nResponses - from);
        yield { values: responseBlock(Y, from, count), names: Y.responseNames?.slice(from, from + count) };
      }
    },
  };
}

/** The same responses with other observation ids (undefined: design rows are taken in order). */
export function withObservationIds(source: ResponseSource, observationIds: string[] | undefined): ResponseSource {
  return {
    nObs: source.nObs,
    observationIds,
    nResponses: source.nResponses,
    responseNames: source.responseNames,
    chunks: (size) => source.chunks(size),
  };
}

export function checkBlockSize(size: number): void {
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`response source: the block size must be a positive integer, got ${size}`);
}

/** A block of fitMany's: `count` responses starting at response `from` (0-based), values as doubles. */
export interface FittingChunk {
  from: number;
  count: number;
  values: Float64Array;
  names: string[];
}

/**
 * The source's responses regrouped into blocks of exactly `size` (the last may be shorter), whatever
 * sizes the source yields: a fit depends on its block (warm starts restart at each), so fixed blocks
 * make the results independent of how the source reads. Each block's values are copied into a fresh
 * Float64Array (it is transferred to a worker). A source block is read only when the block being
 * filled needs it, so at most one source block is held besides the one being filled.
 */
export async function* fittingChunks(source: ResponseSource, size: number): AsyncGenerator<FittingChunk> {
  checkBlockSize(size);
  const n = source.nObs;
  let block: FittingChunk | null = null;
  let from = 0;
  for await (const chunk of source.chunks(size)) {
    const k = chunkResponses(chunk, n, from);
    if (block === null && k === size && chunk.values instanceof Float64Array && freshBlocks.has(chunk.values)) {
      const names = Array.from({ length: k }, (_, r) => chunk.names?.[r] ?? String(from + r + 1));
      freshBlocks.delete(chunk.values);
      yield { from, count: k, values: chunk.values, names };
      from += k;
      continue;
    }
    for (let r = 0; r < k; r++) {
      block ??= { from, count: 0, values: new Float64Array(size * n), names: [] };
      block.values.set(chunk.values.subarray(r * n, (r + 1) * n), block.count * n);
      block.names.push(chunk.names?.[r] ?? String(from + 1));
      block.count++;
      from++;
      if (block.count === size) {
        yield block;
        block = null;
      }
    }
  }
  if (block) yield { ...block, values: block.values.subarray(0, block.count * n) };
  if (source.nResponses !== undefined && from !== source.nResponses) {
    throw new Error(`response source: it announced ${source.nResponses} responses but yielded ${from}`);
  }
}

/** How many responses a source block holds, checked against its names. */
function chunkResponses(chunk: ResponseChunk, nObs: number, from: number): number {
  const len = chunk.values.length;
  if (nObs === 0 ? len !== 0 : len % nObs !== 0) {
    throw new Error(`response source: a block of ${len} values after response ${from} is not a whole number of responses of ${nObs} observations`);
  }
  const k = nObs === 0 ? chunk.names?.length ?? 0 : len / nObs;
  if (chunk.names && chunk.names.length !== k) {
    throw new Error(`response source: a block of ${k} responses after response ${from} has ${chunk.names.length} names`);
  }
  return k;
}
