// fitMany on a ResponseSource (responses read a block at a time): the results of the same matrix in
// memory, number for number, whatever block sizes the source yields, for any chunk size and thread
// count, with warm starts and missing values; and the source is never read far ahead of the fits.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fitMany, registerManyWorkers, type FitManyOptions } from "../src/fitmany.js";
import { nodeWorkers } from "../src/fitmany-node.js";
import { openDenseMatrix, readDenseMatrix } from "../src/io/index.js";
import type { ManyResults } from "../src/manyresults.js";
import { Rng } from "../src/random.js";
import { matrixSource, responseBlock, type ResponseChunk, type ResponseSource } from "../src/response-source.js";
import type { DenseResponses } from "../src/responses.js";

registerManyWorkers(nodeWorkers);

/** 8 donors × 20 cells; `genes` responses with donor effects of varying size and a few missing values. */
function singleCell(seed: number, genes: number) {
  const rng = new Rng(seed);
  const cell: string[] = [], donor: string[] = [], condition: string[] = [];
  for (let d = 0; d < 8; d++) for (let c = 0; c < 20; c++) {
    cell.push(`c${d}_${c}`);
    donor.push(`D${d + 1}`);
    condition.push(d < 4 ? "ctrl" : "stim");
  }
  const n = cell.length;
  const values = new Float64Array(genes * n);
  for (let g = 0; g < genes; g++) {
    const u = Array.from({ length: 8 }, () => (g % 5 === 0 ? 0 : 0.4) * rng.normal());
    for (let i = 0; i < n; i++) values[g * n + i] = 1 + (g % 3 === 0 && i >= 80 ? 0.7 : 0) + u[Math.floor(i / 20)] + rng.normal();
  }
  values[3 * n + 11] = NaN; // a response fitted on its own rows
  values.fill(2, 9 * n, 10 * n); // a response that cannot be fitted (its error is its result)
  const Y: DenseResponses = { kind: "dense", layout: "responses-by-obs", nResponses: genes, nObs: n, values, responseNames: Array.from({ length: genes }, (_, g) => `g${g + 1}`), obsIds: cell };
  return { design: { cell, donor, condition }, Y };
}

/**
 * Y's responses in blocks of sizes[0], sizes[1], ... in turn, whatever size is asked for; `seen`
 * (if given) is told how many responses each block hands out, just before it does.
 */
function irregularSource(Y: DenseResponses, sizes: number[], opts: { announce?: boolean; names?: boolean; seen?: (k: number) => void } = {}): ResponseSource {
  return {
    nObs: Y.nObs,
    observationIds: Y.obsIds,
    nResponses: opts.announce === false ? undefined : Y.nResponses,
    async *chunks() {
      for (let from = 0, b = 0; from < Y.nResponses; b++) {
        const count = Math.min(sizes[b % sizes.length], Y.nResponses - from);
        opts.seen?.(count);
        const block = responseBlock(Y, from, count);
        const values = Y.values instanceof Float32Array ? Float32Array.from(block) : block; // Float32 as stored, as an .h5ad's X may be
        yield { values, ...(opts.names === false ? {} : { names: Y.responseNames!.slice(from, from + count) }) };
        from += count;
      }
    },
  };
}

const NUMBERS = ["estimate", "stdError", "df", "statistic", "pValue", "pAdjusted", "sigma", "objective", "theta", "varFractions", "singular", "converged", "nobs", "evaluations"] as const;

function expectSameResults(got: ManyResults, want: ManyResults): void {
  expect(got.responses).toEqual(want.responses);
  expect(got.terms).toEqual(want.terms);
  expect(got.components).toEqual(want.components);
  for (const k of NUMBERS) expect(got[k], k).toEqual(want[k]);
  expect(got.messages).toEqual(want.messages);
  expect(got.errors).toEqual(want.errors);
  expect(got.info.threads).toBe(want.info.threads);
}

const formula = "~ condition + (1 | donor)";

describe("fitMany on a ResponseSource", () => {
  const { design, Y } = singleCell(7, 40);

  it("gives the matrix's results for any block sizes, chunk size, thread count and warm start", async () => {
    const cases: FitManyOptions[] = [
      { chunkSize: 7, threads: 1 },
      { chunkSize: 7, threads: 2, mainThread: false, warmStart: true },
      { chunkSize: 32, threads: 2 },
      { chunkSize: 1, threads: 2, warmStart: true },
    ];
    for (const o of cases) {
      const want = await fitMany(formula, design, Y, o);
      for (const sizes of [[1], [5, 13, 2], [40]]) {
        const got = await fitMany(formula, design, irregularSource(Y, sizes), o);
        expectSameResults(got, want);
      }
    }
    const one = await fitMany(formula, design, Y, { threads: 1 });
    expect(one.errors[9]).toMatch(/fitted exactly/);
    expect(one.nobs[3]).toBe(Y.nObs - 1);
  });

  it("Float32 values give the Float32 matrix's results", async () => {
    const Y32: DenseResponses = { ...Y, values: Float32Array.from(Y.values) };
    const want = await fitMany(formula, design, Y32, { threads: 2, chunkSize: 8 });
    expectSameResults(await fitMany(formula, design, irregularSource(Y32, [3, 11]), { threads: 2, chunkSize: 8 }), want);
  });

  it("a source that announces no count and names no responses: numbered responses, NaN totals, the same threads", async () => {
    const want = await fitMany(formula, design, { ...Y, responseNames: undefined }, { chunkSize: 16 });
    const totals: number[] = [];
    const got = await fitMany(formula, design, irregularSource(Y, [9], { announce: false, names: false }), { chunkSize: 16, onProgress: (p) => totals.push(p.total) });
    expectSameResults(got, want);
    expect(got.responses.slice(0, 3)).toEqual(["1", "2", "3"]);
    expect(totals.length).toBe(3);
    expect(totals.every(Number.isNaN)).toBe(true);
  });

  it("matches observations to the design by the source's ids, in any order", async () => {
    const order = Array.from({ length: Y.nObs }, (_, i) => (i * 37) % Y.nObs);
    const shuffled = Object.fromEntries(Object.entries(design).map(([k, v]) => [k, order.map((i) => v[i])]));
    const want = await fitMany(formula, design, Y, { threads: 1 });
    expectSameResults(await fitMany(formula, shuffled, matrixSource(Y), { threads: 1 }), want);
  });

  it("checks the blocks a source yields", async () => {
    const bad: ResponseSource = { nObs: Y.nObs, async *chunks() { yield { values: new Float64Array(Y.nObs + 1) }; } };
    await expect(fitMany(formula, design, bad, { threads: 1 })).rejects.toThrow(/not a whole number of responses of 160 observations/);
    const short: ResponseSource = { ...irregularSource(Y, [8]), nResponses: 41 };
    await expect(fitMany(formula, design, short, { threads: 1 })).rejects.toThrow(/announced 41 responses but yielded 40/);
    const failing: ResponseSource = {
      nObs: Y.nObs,
      observationIds: Y.obsIds,
      async *chunks(size: number): AsyncGenerator<ResponseChunk> {
        yield { values: responseBlock(Y, 0, size) };
        throw new Error("disk on fire");
      },
    };
    await expect(fitMany(formula, design, failing, { threads: 2, chunkSize: 4 })).rejects.toThrow("disk on fire");
  });
});

describe("read-ahead", () => {
  const { design, Y } = singleCell(3, 120);

  /**
   * The most responses read from the source but not yet fitted, at any time. Lanes hold at most one
   * block each on this thread and `depth` (2) per worker, and one more is being read: with c the chunk
   * size, at most (this thread + 2 · workers + 1) · c.
   */
  async function maxAhead(o: FitManyOptions, sizes: number[]): Promise<number> {
    await fitMany(formula, design, Y, { ...o, chunkSize: 60 }); // workers started and ready: they take their share
    let read = 0, done = 0, most = 0;
    const source = irregularSource(Y, sizes, {
      seen: (k) => {
        read += k;
        most = Math.max(most, read - done);
      },
    });
    const res = await fitMany(formula, design, source, { ...o, onProgress: (p) => (done = p.done) });
    expect(res.nResponses).toBe(120);
    if ((o.threads ?? 1) > 1) expect(res.info.workerChunks).toBeGreaterThan(0);
    return most;
  }

  it("stays within a few chunks of the fits, whatever the source's block size", async () => {
    const c = 6;
    expect(await maxAhead({ chunkSize: c, threads: 2 }, [c])).toBeLessThanOrEqual((1 + 2 + 1) * c);
    expect(await maxAhead({ chunkSize: c, threads: 2 }, [1])).toBeLessThanOrEqual((1 + 2 + 1) * c);
    expect(await maxAhead({ chunkSize: c, threads: 2, mainThread: false }, [4])).toBeLessThanOrEqual((2 * 2 + 1) * c);
    expect(await maxAhead({ chunkSize: c, threads: 1 }, [c])).toBeLessThanOrEqual(2 * c);
  });

  it("a dense CSV file streamed through fitMany: the file's results, read a few chunks ahead at most", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fitmany-stream-"));
    const file = path.join(dir, "y.csv.gz");
    const n = Y.nObs;
    const lines = [["gene", ...Y.obsIds!].join(","), ...Y.responseNames!.map((g, r) => [g, ...Array.from(Y.values.subarray(r * n, (r + 1) * n), (v) => (Number.isNaN(v) ? "NA" : String(v)))].join(","))];
    const { gzipSync } = await import("node:zlib");
    fs.writeFileSync(file, gzipSync(lines.join("\n") + "\n"));
    const want = await fitMany(formula, design, await readDenseMatrix(file), { chunkSize: 5 }); // also starts the workers
    const source = await openDenseMatrix(file);
    let read = 0, done = 0, most = 0;
    const counted: ResponseSource = {
      ...source,
      chunks: async function* (size: number) {
        for await (const b of source.chunks(size)) {
          read += b.values.length / n;
          most = Math.max(most, read - done);
          yield b;
        }
      },
    };
    const got = await fitMany(formula, design, counted, { chunkSize: 5, onProgress: (p) => (done = p.done) });
    expectSameResults(got, want);
    expect(got.info.workerChunks).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual((1 + 2 + 1) * 5);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
