// Node entry: the library plus file helpers that need node:fs (the core stays runtime-neutral).
import { createReadStream, readFileSync } from "node:fs";
import Papa from "papaparse";
import { csvParseConfig, CSVTableBuilder, parseCSV, type CSVOptions, type Table } from "./data.js";
import { registerManyWorkers } from "./fitmany.js";
import { nodeWorkers } from "./fitmany-node.js";
import { registerThreadSpawner } from "./threads.js";
import { nodeHelperCount, nodeThreadSpawner } from "./threads-node.js";

export * from "./index.js";
// File readers for many-response inputs (dense CSV/TSV, 10x, AnnData) and normalisation.
export * from "./io/index.js";

// fitMany runs on worker_threads in Node, and so do the threads engine's helpers.
registerManyWorkers(nodeWorkers);
registerThreadSpawner(nodeThreadSpawner, nodeHelperCount());

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

/**
 * Reads a CSV (or TSV) file into a Table as readCSV does, streaming: the file is parsed chunk by chunk
 * straight into typed columns (Float64Array for numbers, integer codes for factors), so neither the
 * text nor an object per row is ever held. A million-row file needs its columns plus one chunk.
 * A column that turns out to be text after numeric rows is read in a second pass over the file.
 */
export async function readCSVStream(file: string, options: CSVOptions = {}): Promise<Table> {
  const delimiter = options.delimiter ?? (/\.(tsv|tab)$/i.test(file) ? "\t" : ",");
  const opts = { ...options, delimiter };
  const builder = new CSVTableBuilder(opts);
  await streamRecords(file, opts, builder);
  if (builder.needsTextPass()) {
    builder.beginTextPass();
    await streamRecords(file, opts, builder);
  }
  return builder.finish();
}

function streamRecords(file: string, options: CSVOptions, builder: CSVTableBuilder): Promise<void> {
  return new Promise((resolve, reject) => {
    // 128 KiB chunks: on a million rows as fast as 64 KiB, and much faster than 1 MiB, whose records
    // outlive the young generation and make the collector copy them.
    const input = createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 17 });
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      input.destroy();
      const code = (e as NodeJS.ErrnoException).code;
      reject(code ? new Error(`cannot read '${file}': ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message}`) : e);
    };
    // Papa Parse takes a Node stream as its input (its typings only list browser files).
    input.on("error", fail);
    Papa.parse(input as unknown as File, {
      ...csvParseConfig(options),
      chunk: (results: Papa.ParseResult<string[]>, parser: Papa.Parser) => {
        if (failed) return;
        try {
          builder.add(results.data, results.errors);
        } catch (e) {
          // fail() first: abort() calls `complete` synchronously.
          fail(e);
          parser.abort();
        }
      },
      complete: () => {
        if (!failed) resolve();
      },
      error: fail,
    });
  });
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
