// Node entry: the library plus file helpers that need node:fs (the core stays runtime-neutral).
import { readFileSync } from "node:fs";
import { parseCSV, type CSVOptions, type Table } from "./data.js";

export * from "./index.js";

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read '${file}': ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message}`);
  }
}

/** Reads a CSV (or TSV with delimiter "\t") file into a Table, typing columns as R's read.csv. */
export function readCSV(file: string, options: CSVOptions = {}): Table {
  const delimiter = options.delimiter ?? (/\.(tsv|tab)$/i.test(file) ? "\t" : ",");
  return parseCSV(readText(file), { ...options, delimiter });
}

/** Reads factor levels in the format of the reference data's NAME.levels.json. */
export function readLevels(file: string): Record<string, { levels: string[]; ordered?: boolean }> {
  let spec: unknown;
  try {
    spec = JSON.parse(readText(file));
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`${file} is not JSON: ${e.message}`);
    throw e;
  }
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
