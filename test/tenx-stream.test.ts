// A 10x directory streamed through buckets of genes sorted on disk (src/io/tenx-stream.ts) gives the
// same responses as the whole matrix read into memory (read10x), for any number of buckets and any
// block size; repeated entries fail when the directory is opened, as read10x's do, or are summed;
// the temporary files are gone after close().
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { open10x, read10x } from "../src/io/index.js";
import { matrixSource, type ResponseSource } from "../src/response-source.js";
import { Rng } from "../src/random.js";

const root = mkdtempSync(join(tmpdir(), "tenx-stream-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const entriesIn = new Map<string, number>();

/** A nGenes × nCells count matrix with ~30% non-zeros, written as a 10x directory (entries by cell, or shuffled). */
function write10x(nGenes: number, nCells: number, opts: { shuffle?: boolean; extra?: [number, number, number][]; seed?: number } = {}): string {
  const rng = new Rng(opts.seed ?? 5);
  const entries: [number, number, number][] = [];
  for (let j = 0; j < nCells; j++) for (let g = 0; g < nGenes; g++) if (rng.uniformOpen() < 0.3) entries.push([g + 1, j + 1, 1 + Math.floor(rng.uniformOpen() * 20)]);
  entries.push(...(opts.extra ?? []));
  if (opts.shuffle) for (let i = entries.length - 1; i > 0; i--) { const k = Math.floor(rng.uniformOpen() * (i + 1)); [entries[i], entries[k]] = [entries[k], entries[i]]; }
  const d = join(root, `d${dirs++}`);
  mkdirSync(d);
  entriesIn.set(d, entries.length);
  const lines = ["%%MatrixMarket matrix coordinate integer general", `${nGenes} ${nCells} ${entries.length}`, ...entries.map((e) => e.join(" "))];
  writeFileSync(join(d, "matrix.mtx.gz"), gzipSync(lines.join("\n") + "\n"));
  // repeated names, made unique as R's make.unique by both readers
  writeFileSync(join(d, "features.tsv"), Array.from({ length: nGenes }, (_, g) => `ENSG${g}\t${g % 9 === 4 ? "DUP" : `gene${g}`}\tGene Expression`).join("\n") + "\n");
  writeFileSync(join(d, "barcodes.tsv"), Array.from({ length: nCells }, (_, j) => `AAC${j}-1`).join("\n") + "\n");
  return d;
}

async function collect(source: ResponseSource, size: number): Promise<{ values: number[]; names: string[]; sizes: number[] }> {
  const values: number[] = [], names: string[] = [], sizes: number[] = [];
  for await (const c of source.chunks(size)) {
    values.push(...c.values);
    names.push(...c.names!);
    sizes.push(c.values.length / source.nObs);
  }
  return { values, names, sizes };
}

describe("open10x: a 10x directory streamed by buckets of genes", () => {
  it("gives read10x's responses for any bucket count and block size, entries by cell or in any order", async () => {
    for (const shuffle of [false, true]) {
      const d = write10x(37, 23, { shuffle });
      const whole = matrixSource(await read10x(d));
      for (const bucketEntries of [1, 7, 50, 1000]) {
        const s = await open10x(d, { bucketEntries });
        // ⌈nnz / bucketEntries⌉ buckets (at most one per gene) of equally many genes
        const perBucket = Math.ceil(37 / Math.min(37, Math.ceil(entriesIn.get(d)! / bucketEntries)));
        expect(s.buckets).toBe(Math.ceil(37 / perBucket));
        expect([s.nResponses, s.nObs]).toEqual([37, 23]);
        expect(s.responseNames).toEqual(whole.responseNames);
        expect(s.observationIds).toEqual(whole.observationIds);
        for (const size of [1, 5, 32, 100]) {
          const [got, want] = [await collect(s, size), await collect(whole, size)];
          expect(got.names).toEqual(want.names);
          expect(got.sizes).toEqual(want.sizes);
          expect(got.values).toEqual(want.values);
        }
        s.close();
      }
    }
  });

  it("keeps its buckets in a temporary directory until close()", async () => {
    const tmp = mkdtempSync(join(root, "buckets-"));
    const s = await open10x(write10x(20, 11), { bucketEntries: 10, tmpDir: tmp });
    expect(s.buckets).toBeGreaterThan(1);
    const made = readdirSync(tmp);
    expect(made).toHaveLength(1);
    expect(readdirSync(join(tmp, made[0])).length).toBe(s.buckets);
    s.close();
    expect(existsSync(join(tmp, made[0]))).toBe(false);
    // one bucket: nothing on disk
    const one = await open10x(write10x(20, 11), { tmpDir: tmp });
    expect(one.buckets).toBe(1);
    expect(readdirSync(tmp)).toHaveLength(0);
    one.close();
  });

  it("rejects repeated entries when opened, with read10x's message, or sums them", async () => {
    const d = write10x(30, 9, { extra: [[25, 3, 1], [25, 3, 2], [2, 1, 5]] });
    const want = await read10x(d).then(() => "", (e: Error) => e.message);
    expect(want).toMatch(/repeated entr/);
    const tmp = mkdtempSync(join(root, "dups-"));
    await expect(open10x(d, { bucketEntries: 5, tmpDir: tmp })).rejects.toThrow(want);
    expect(readdirSync(tmp)).toHaveLength(0); // removed on the error too
    const s = await open10x(d, { bucketEntries: 5, duplicates: "sum" });
    const [got, sum] = [await collect(s, 7), await collect(matrixSource(await read10x(d, { duplicates: "sum" })), 7)];
    expect(got.values).toEqual(sum.values);
    s.close();
  });

  it("reports a bad matrix file as read10x does, leaving nothing behind", async () => {
    const d = write10x(10, 4);
    writeFileSync(join(d, "matrix.mtx.gz"), gzipSync(["%%MatrixMarket matrix coordinate integer general", "10 4 2", "1 1 3", "11 2 1"].join("\n")));
    const tmp = mkdtempSync(join(root, "bad-"));
    await expect(open10x(d, { bucketEntries: 1, tmpDir: tmp })).rejects.toThrow(`${join(d, "matrix.mtx.gz")}, line 4: row '11' is outside 1..10`);
    expect(readdirSync(tmp)).toHaveLength(0);
    await expect(open10x(d, { bucketEntries: 0 })).rejects.toThrow("bucketEntries must be a positive integer, got 0");
  });
});
