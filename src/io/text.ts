// Shared plumbing of the file readers: opening a possibly gzipped file as a stream, and turning
// file-system failures into messages that name the file.

import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { pipeline, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { parse as parseSync } from "csv-parse/sync";

/** A file-system error as a sentence that names the file. */
export function fsErrorMessage(file: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
  return `cannot read '${file}': ${why}`;
}

/** Fails with a message naming the file unless it exists and is a regular file. */
export async function checkReadableFile(file: string): Promise<void> {
  try {
    const s = await stat(file);
    if (s.isDirectory()) throw Object.assign(new Error("directory"), { code: "EISDIR" });
  } catch (e) {
    throw new Error(fsErrorMessage(file, e));
  }
}

/** The first `n` bytes of a file (fewer if it is shorter). */
export async function readPrefix(file: string, n: number, position = 0): Promise<Buffer> {
  const fh = await open(file, "r").catch((e) => {
    throw new Error(fsErrorMessage(file, e));
  });
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Gzip is recognised by its magic bytes rather than the name, so a misnamed file still reads. */
export async function isGzip(file: string): Promise<boolean> {
  const head = await readPrefix(file, 2);
  return head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * The file's bytes, decompressed when gzipped. A failure of reading or decompressing arrives on the
 * returned stream, so a consumer's `for await` rejects; `streamErrorMessage` words it.
 */
export async function openBytes(file: string): Promise<Readable> {
  await checkReadableFile(file);
  const source = createReadStream(file);
  if (!(await isGzip(file))) return source;
  // pipeline forwards a failure of either stage to the last one; the callback only keeps it from
  // being reported as unhandled.
  return pipeline(source, createGunzip(), () => {});
}

/** A stream failure while reading `file` as a message naming it. */
export function streamErrorMessage(file: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err.code === "string" && err.code.startsWith("Z_")) return `${file}: not valid gzip data (${err.message})`;
  if (typeof err.syscall === "string") return fsErrorMessage(file, e);
  return err.message?.includes(file) ? err.message : `${file}: ${err.message ?? String(e)}`;
}

/** The decompressed text up to and excluding the first line break (at most `max` bytes are read). */
export async function readFirstLine(file: string, max = 1 << 20): Promise<string> {
  const stream = await openBytes(file);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (chunk.includes(10) || size >= max) break; // leaving the loop destroys the stream
    }
  } catch (e) {
    throw new Error(streamErrorMessage(file, e));
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const eol = text.search(/\r?\n/);
  return eol < 0 ? text : text.slice(0, eol);
}

/** A parsed delimited record with the (1-based) line on which it starts. */
export interface LineRecord {
  fields: string[];
  line: number;
}

export interface DelimitedOptions {
  delimiter: string;
  /** Honour double quotes (CSV); 10x's TSVs have none, so a stray quote there is data. */
  quotes?: boolean;
}

/**
 * Records of a delimited text file with their line numbers, streamed line by line. Empty lines are
 * skipped; field counts are not checked here (callers give their own messages).
 *
 * Lines are split directly when their quoting is the plain kind R and pandas write (whole fields in
 * quotes, no quote or delimiter inside): csv-parse alone reads about 8 MB/s here, too slow for
 * matrices of tens of MB. Any other quoting, including fields running over several lines, is handed
 * to csv-parse, so the result is always csv-parse's reading of the record.
 */
export async function* delimitedRecords(file: string, opts: DelimitedOptions): AsyncGenerator<LineRecord> {
  const { delimiter } = opts;
  const quotes = opts.quotes !== false;
  let lineNo = 0;
  let pending: { text: string; line: number } | null = null; // a record whose quotes are still open
  for await (const batch of lineBatches(file)) {
    for (let line of batch) {
      lineNo++;
      if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (pending) {
        pending.text += "\n" + line;
        if (countQuotes(pending.text) % 2 === 0) {
          yield { fields: parseRecord(file, pending.text, pending.line, delimiter), line: pending.line };
          pending = null;
        }
        continue;
      }
      if (line.trim() === "") continue;
      if (!quotes || line.indexOf('"') < 0) {
        yield { fields: line.split(delimiter), line: lineNo };
      } else if (countQuotes(line) % 2 === 1) {
        pending = { text: line, line: lineNo };
      } else {
        yield { fields: splitPlainQuoted(line, delimiter) ?? parseRecord(file, line, lineNo, delimiter), line: lineNo };
      }
    }
  }
  if (pending) throw new Error(`${file}, line ${pending.line}: a quoted field is not closed before the end of the file`);
}

function countQuotes(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/** Fields of a line whose quoted fields are each wholly quoted with nothing to unescape; null otherwise. */
function splitPlainQuoted(line: string, delimiter: string): string[] | null {
  const fields = line.split(delimiter);
  for (let j = 0; j < fields.length; j++) {
    const f = fields[j];
    const q = f.indexOf('"');
    if (q < 0) continue;
    if (q !== 0 || f.length < 2 || f.indexOf('"', 1) !== f.length - 1) return null;
    fields[j] = f.slice(1, -1);
  }
  return fields;
}

/** One record by csv-parse (the general quoting rules), with errors placed at the file's line. */
function parseRecord(file: string, text: string, line: number, delimiter: string): string[] {
  let records: string[][];
  try {
    records = parseSync(text, { delimiter, relax_column_count: true, skip_empty_lines: false });
  } catch (e) {
    throw new Error(`${file}, line ${line}: ${(e as Error).message}`);
  }
  if (records.length !== 1) throw new Error(`${file}, line ${line}: expected one record, csv-parse read ${records.length}`);
  return records[0];
}

/** Lines of a (possibly gzipped) text file in batches, one batch per chunk read; line breaks \n or \r\n. */
export async function* lineBatches(file: string): AsyncGenerator<string[]> {
  const bytes = await openBytes(file);
  bytes.setEncoding("utf8"); // decodes characters split across chunks correctly
  let rest = "";
  try {
    for await (const chunk of bytes as AsyncIterable<string>) {
      // A line longer than a chunk is only concatenated until its end arrives, then split once.
      if (chunk.indexOf("\n") < 0) {
        rest += chunk;
        continue;
      }
      const text = rest + chunk;
      const lines = text.split("\n");
      rest = lines.pop()!;
      yield text.indexOf("\r") < 0 ? lines : lines.map(stripCR);
    }
    if (rest !== "") yield [stripCR(rest)];
  } catch (e) {
    throw new Error(streamErrorMessage(file, e));
  } finally {
    bytes.destroy();
  }
}

function stripCR(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
