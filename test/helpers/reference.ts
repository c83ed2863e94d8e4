// The project's copy of the lme4 reference fits (test/fixtures/reference, refreshed from
// ../shared/reference by `npm run reference:sync`).
import fs from "node:fs";
import path from "node:path";
import { parseCSV, type Table } from "../../src/data.js";

export const referenceDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../fixtures/reference");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ReferenceFit = Record<string, any>;

export function referenceFits(call?: string): { file: string; fit: ReferenceFit }[] {
  const dir = path.join(referenceDir, "fits");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, fit: JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) }))
    .filter(({ fit }) => call === undefined || fit.call === call);
}

export function levelsFor(dataset: string): Record<string, { levels: string[]; ordered?: boolean }> {
  const p = path.join(referenceDir, "data", `${dataset}.levels.json`);
  return fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, "utf8")) : {};
}

const tables = new Map<string, Table>();

/** A reference data set as a Table with R's factor levels. */
export function referenceTable(dataFile: string, dataset: string): Table {
  let t = tables.get(dataFile);
  if (!t) {
    t = parseCSV(fs.readFileSync(path.join(referenceDir, dataFile), "utf8"), { levels: levelsFor(dataset) });
    tables.set(dataFile, t);
  }
  return t;
}
