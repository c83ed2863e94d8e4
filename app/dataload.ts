// Reading a user's file into a Table, in the worker. Everything a user can get wrong with a file is
// turned into a message that names the file and the problem, so the page can show it as it is.
import Papa from "papaparse";
import { csvParseConfig, CSVTableBuilder, type LevelsOption, type Table } from "../src/data.js";
import type { ColumnInfo } from "./protocol.js";

/** Bytes inspected for binary content: enough to catch any binary format's header, cheap on huge files. */
const SNIFF_BYTES = 1 << 20;

/**
 * Why the bytes are not a text table, or null. NUL bytes never occur in CSV text; other control
 * characters (besides tab, newline, carriage return, form feed) only in binary formats.
 */
export function binaryReason(bytes: Uint8Array): string | null {
  const n = Math.min(bytes.length, SNIFF_BYTES);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0) return "it contains NUL bytes (a binary file, not CSV or TSV text)";
    if (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 12) control++;
  }
  if (control > 0 && control > n / 1000) return `it contains ${control} control characters (a binary file, not CSV or TSV text)`;
  return null;
}

/**
 * The text encoding: UTF-8 if the file's first bytes are valid UTF-8, else Windows-1252, as
 * spreadsheets export non-UTF-8 CSV. (A multi-byte character cut at the end of the sample is fine:
 * stream mode leaves an incomplete sequence pending.)
 */
export function sniffEncoding(head: Uint8Array): "utf-8" | "windows-1252" {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
    return "utf-8";
  } catch {
    return "windows-1252";
  }
}

/**
 * The field delimiter: tab for .tsv/.tab names, otherwise whichever of comma, tab and semicolon is most
 * frequent in the header line outside quotes (comma on ties, the CSV default).
 */
export function sniffDelimiter(text: string, fileName: string): string {
  if (/\.(tsv|tab)$/i.test(fileName)) return "\t";
  const counts: Record<string, number> = { ",": 0, "\t": 0, ";": 0 };
  let quoted = false;
  for (let i = 0; i < text.length && i < 65536; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === "\n" || c === "\r")) break;
    else if (!quoted && c in counts) counts[c]++;
  }
  let best = ",";
  for (const d of ["\t", ";"]) if (counts[d] > counts[best]) best = d;
  return best;
}

/** A levels JSON ({"column": {"levels": [...], "ordered": false}}) with its problems named. */
export function parseLevels(text: string, fileName: string): LevelsOption {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`levels file '${fileName}' is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`levels file '${fileName}' must be an object like {"column": {"levels": ["a", "b"], "ordered": false}}`);
  }
  for (const [col, spec] of Object.entries(value as Record<string, unknown>)) {
    const levels = (spec as { levels?: unknown } | null)?.levels;
    if (!Array.isArray(levels) || !levels.every((l) => typeof l === "string")) {
      throw new Error(`levels file '${fileName}': column '${col}' needs {"levels": [strings], "ordered": false}`);
    }
  }
  return value as LevelsOption;
}

/** Characters handed to the parser at a time (as the Node reader's 128 KiB chunks: fast, and short-lived). */
const CHUNK_CHARS = 1 << 17;

/**
 * Papa Parse's Node-stream interface (on/removeListener/read/pause/resume) over a Web stream of text.
 * Papa parses a Node stream one chunk per 'data' event, as the chunks arrive: the worker never holds
 * the file's text, only its typed columns and one chunk. (Papa's string input parses every chunk in one
 * synchronous recursion, deeper than a worker's stack for files of 100 MB and more.)
 */
class PapaStream {
  readonly readable = true;
  private readonly listeners = new Map<string, (arg?: unknown) => void>();
  private readonly reader: ReadableStreamDefaultReader<string>;
  private stopped = false;

  constructor(stream: ReadableStream<string>) {
    this.reader = stream.getReader();
  }

  on(event: string, fn: (arg?: unknown) => void): this {
    this.listeners.set(event, fn);
    return this;
  }

  removeListener(event: string): this {
    this.listeners.delete(event);
    return this;
  }

  read(): null {
    return null;
  }

  pause(): void {}

  resume(): void {}

  stop(): void {
    this.stopped = true;
    void this.reader.cancel().catch(() => undefined);
  }

  /** Reads the stream to its end, handing the parser chunks of at least CHUNK_CHARS characters. */
  async pump(): Promise<void> {
    let pending = "";
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (this.stopped) return;
        if (done) break;
        pending += value;
        if (pending.length >= CHUNK_CHARS) {
          this.listeners.get("data")?.(pending);
          pending = "";
        }
      }
      if (pending) this.listeners.get("data")?.(pending);
      this.listeners.get("end")?.();
    } catch (e) {
      if (!this.stopped) this.listeners.get("error")?.(e);
    }
  }
}

/** What receives the parsed records, a chunk at a time (CSVTableBuilder, or matrixload's reader). */
export interface RecordSink {
  add(rows: string[][], errors: Papa.ParseError[]): void;
}

/** One pass of the data through the sink (it may throw to stop the pass with its message). */
export function streamRecords(data: Blob, encoding: string, delimiter: string, builder: RecordSink): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = new PapaStream(data.stream().pipeThrough(new TextDecoderStream(encoding)));
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      input.stop();
      reject(e);
    };
    Papa.parse(input as unknown as File, {
      ...csvParseConfig({ delimiter }),
      chunk: (results: Papa.ParseResult<string[]>, parser: Papa.Parser) => {
        if (failed) return;
        try {
          builder.add(results.data, results.errors);
        } catch (e) {
          fail(e);
          parser.abort();
        }
      },
      complete: () => {
        if (!failed) resolve();
      },
      error: fail,
    });
    void input.pump();
  });
}

/**
 * Reads a CSV or TSV file (any Blob) into a Table with R's read.csv typing, streaming it in chunks
 * straight into typed columns (the library's CSVTableBuilder, as its Node reader readCSVStream).
 * Errors say which file and what is wrong with it.
 */
export async function readTable(data: Blob, fileName: string, levels?: LevelsOption): Promise<{ table: Table; delimiter: string }> {
  if (data.size === 0) throw new Error(`'${fileName}' is empty (0 bytes)`);
  const head = new Uint8Array(await data.slice(0, SNIFF_BYTES).arrayBuffer());
  const why = binaryReason(head);
  if (why) throw new Error(`'${fileName}' cannot be read as a table: ${why}`);
  const encoding = sniffEncoding(head);
  const headText = new TextDecoder(encoding).decode(head);
  if (data.size <= SNIFF_BYTES && headText.trim() === "") throw new Error(`'${fileName}' is empty: it has no header row and no data`);
  const delimiter = sniffDelimiter(headText.replace(/^\s+/, ""), fileName);
  const builder = new CSVTableBuilder({ delimiter, levels });
  try {
    await streamRecords(data, encoding, delimiter, builder);
    // A column that turned out to be text after numeric rows is read again, as text.
    if (builder.needsTextPass()) {
      builder.beginTextPass();
      await streamRecords(data, encoding, delimiter, builder);
    }
    return { table: builder.finish(), delimiter };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg === "data has no rows") throw new Error(`'${fileName}' has a header row but no data rows`);
    if (msg === "CSV has no header row") throw new Error(`'${fileName}' is empty: it has no header row and no data`);
    throw new Error(`'${fileName}': ${msg}`);
  }
}

export function describeColumns(table: Table): ColumnInfo[] {
  return table.names.map((name) => {
    const col = table.columns.get(name)!;
    if (col.type === "numeric") {
      let missing = 0;
      for (const v of col.values) if (Number.isNaN(v)) missing++;
      return { name, type: "numeric", missing };
    }
    let missing = 0;
    for (const c of col.codes) if (c < 0) missing++;
    return { name, type: col.type, nlevels: col.levels.length, missing };
  });
}
