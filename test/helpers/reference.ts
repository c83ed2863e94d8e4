// The project's copy of the lme4 reference fits (test/fixtures/reference, refreshed from
// the shared reference folder by `npm run reference:sync`).
import fs from "node:fs";
import path from "node:path";
import { parseCSV, type Table } from "../../src/data.js";

export const referenceDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../fixtures/reference");
/** Further lme4 fits on simulated data shaped like the applications (test/fixtures/extra/README.md). */
export const extraDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../fixtures/extra");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ReferenceFit = Record<string, any>;

/** The fits of one fixture folder (default: the shared references), optionally only one `call`. */
export function referenceFits(call?: string, dir = referenceDir): { file: string; fit: ReferenceFit; dir: string }[] {
  const fits = path.join(dir, "fits");
  return fs
    .readdirSync(fits)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, fit: JSON.parse(fs.readFileSync(path.join(fits, file), "utf8")), dir }))
    .filter(({ fit }) => call === undefined || fit.call === call);
}

export function levelsFor(dataset: string, dir = referenceDir): Record<string, { levels: string[]; ordered?: boolean }> {
  const p = path.join(dir, "data", `${dataset}.levels.json`);
  return fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, "utf8")) : {};
}

const tables = new Map<string, Table>();

/** A data set of a fixture folder as a Table with R's factor levels. */
export function referenceTable(dataFile: string, dataset: string, dir = referenceDir): Table {
  const file = path.join(dir, dataFile);
  let t = tables.get(file);
  if (!t) {
    t = parseCSV(fs.readFileSync(file, "utf8"), { levels: levelsFor(dataset, dir) });
    tables.set(file, t);
  }
  return t;
}
