// normalize.ts for responses streamed from a ResponseSource: a first pass gathers what needs every
// response (each observation's library size, each response's detection count and name), then the
// fitting pass reads the responses again through the selection and normalisation built on it. The
// values equal those of logNormalize and filterResponses on the whole matrix bit for bit: library
// sizes add the responses in the same order, and each value goes through the same expression.
// Runtime-neutral (no Node API).

import type { ResponseChunk, ResponseSource } from "../response-source.js";
import { checkLibrarySizes, isCount, notACount, type LogNormalizeOptions } from "./normalize.js";

/** What one pass over every response tells: what normalisation and filtering need. */
export interface ResponseStats {
  /** Every response's name (its 1-based position where the source names none). */
  names: string[];
  /** Per observation, the sum of its values over every response (logNormalize's library size). */
  librarySizes: Float64Array;
  /** Per response, the observations in which it is > 0 (detectedCounts). */
  detected: Int32Array;
  /** The first value, in response order, that is not a count (logNormalize's error), if any. */
  notACount: { value: number; response: number; observation: number } | null;
}

/** One pass over the source, `size` responses at a time. */
export async function scanResponses(source: ResponseSource, size: number): Promise<ResponseStats> {
  const n = source.nObs;
  const names: string[] = [];
  const lib = new Float64Array(n);
  let detected: Int32Array = new Int32Array(1024);
  let bad: ResponseStats["notACount"] = null;
  for await (const chunk of source.chunks(size)) {
    const v = chunk.values;
    const k = n === 0 ? chunk.names?.length ?? 0 : v.length / n;
    if (names.length + k > detected.length) detected = grown(detected, names.length + k);
    for (let r = 0; r < k; r++) {
      const at = names.length;
      let count = 0;
      for (let i = 0, o = r * n; i < n; i++) {
        const x = v[o + i];
        if (x > 0) count++;
        else if (bad === null && !isCount(x)) bad = { value: x, response: at, observation: i };
        lib[i] += x;
      }
      detected[at] = count;
      names.push(chunk.names?.[r] ?? String(at + 1));
    }
  }
  return { names, librarySizes: lib, detected: detected.slice(0, names.length), notACount: bad };
}

function grown(a: Int32Array, min: number): Int32Array {
  const b = new Int32Array(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}

/**
 * The responses at positions `keep` (0-based, in the order given; filterResponses' selection) as a
 * source. Responses arrive in the source's order: one wanted later than it arrives (a reordering
 * list of names) is held until its turn, so at most the selection's out-of-order part is held besides
 * one block. The pass stops reading once every kept response has been handed out.
 */
export function selectResponses(source: ResponseSource, keep: number[]): ResponseSource {
  const names = source.responseNames;
  return {
    nObs: source.nObs,
    observationIds: source.observationIds,
    nResponses: keep.length,
    responseNames: names ? keep.map((r) => names[r]) : undefined,
    chunks: (size) => selected(source, keep, size),
  };
}

async function* selected(source: ResponseSource, keep: number[], size: number): AsyncGenerator<ResponseChunk> {
  const n = source.nObs;
  const slotOf = new Map<number, number>();
  keep.forEach((r, slot) => slotOf.set(r, slot));
  const held = new Map<number, { values: Float32Array | Float64Array; name?: string }>();
  let next = 0; // the slot to hand out next
  let block = new Float64Array(0), names: string[] = [], count = 0, named = true;
  let at = 0; // the source position of the response being read
  const flush = () => {
    const out: ResponseChunk = { values: block.subarray(0, count * n), ...(named ? { names } : {}) };
    (block = new Float64Array(0)), (names = []), (count = 0), (named = true);
    return out;
  };
  for await (const chunk of source.chunks(size)) {
    const k = n === 0 ? chunk.names?.length ?? 0 : chunk.values.length / n;
    for (let r = 0; r < k; r++, at++) {
      const slot = slotOf.get(at);
      if (slot !== undefined) held.set(slot, { values: chunk.values.slice(r * n, (r + 1) * n), name: chunk.names?.[r] });
    }
    for (let h = held.get(next); h; h = held.get(next)) {
      held.delete(next++);
      if (count === 0) block = new Float64Array(size * n);
      block.set(h.values, count * n);
      names.push(h.name ?? "");
      named &&= h.name !== undefined;
      if (++count === size) yield flush();
    }
    if (next === keep.length) break;
  }
  if (count > 0) yield flush();
  if (next < keep.length) throw new Error(`response selection: response ${keep[next] + 1} is not in the source (it has ${at})`);
}

/**
 * logNormalize of the source's responses: log1p(value / library size × scale), with the library sizes
 * of a first pass over every response (scanResponses). Fails as logNormalize does on a value that is
 * not a count or an observation without counts.
 */
export function logNormalizeSource(source: ResponseSource, stats: ResponseStats, opts: LogNormalizeOptions = {}): ResponseSource {
  const scale = opts.scale ?? 1e6;
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`logNormalize: scale must be a positive number, got ${scale}`);
  const bad = stats.notACount;
  if (bad) throw notACount(bad.value, bad.response, bad.observation, stats.names, source.observationIds);
  const lib = stats.librarySizes;
  checkLibrarySizes({ obsIds: source.observationIds }, lib);
  return {
    nObs: source.nObs,
    observationIds: source.observationIds,
    nResponses: source.nResponses,
    responseNames: source.responseNames,
    async *chunks(size: number) {
      const n = source.nObs;
      for await (const chunk of source.chunks(size)) {
        const v = chunk.values;
        const out = new Float64Array(v.length);
        for (let o = 0; o < v.length; o += n) for (let i = 0; i < n; i++) out[o + i] = Math.log1p((v[o + i] / lib[i]) * scale);
        yield { values: out, names: chunk.names };
      }
    },
  };
}
