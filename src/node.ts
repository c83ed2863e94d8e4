// Node entry: the library plus file helpers that need node:fs (the core stays runtime-neutral).
import { readFileSync } from "node:fs";
import { parseCSV, type CSVOptions, type Table } from "./data.js";

export * from "./index.js";

/** Reads a CSV (or TSV with delimiter "\t") file into a Table, typing columns as R's read.csv. */
export function readCSV(file: string, options: CSVOptions = {}): Table {
  const delimiter = options.delimiter ?? (/\.(tsv|tab)$/i.test(file) ? "\t" : ",");
  return parseCSV(readFileSync(file, "utf8"), { ...options, delimiter });
}

/** Reads factor levels in the format of the reference data's NAME.levels.json. */
export function readLevels(file: string): Record<string, { levels: string[]; ordered?: boolean }> {
  const spec = JSON.parse(readFileSync(file, "utf8"));
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new Error(`${file}: expected an object {column: {levels: [...], ordered: bool}}`);
  }
  for (const [col, s] of Object.entries(spec as Record<string, unknown>)) {
    const levels = (s as { levels?: unknown })?.levels;
    if (!Array.isArray(levels) || !levels.every((l) => typeof l === "string")) {
      throw new Error(`${file}: column '${col}' needs "levels": an array of strings`);
    }
  }
  return spec as Record<string, { levels: string[]; ordered?: boolean }>;
}
