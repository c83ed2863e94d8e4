// The size limit of the files the page reads, checked from file.size alone before anything reads them.

/**
 * The largest file the page reads. The worker streams the file into typed columns (never the whole
 * text), so memory goes with rows and columns: a 500 MB file of 27 million rows (y, x, g) reads in under
 * a minute and fits y ~ x + (1 | g) with Chromium at about 4 GB in all. Far beyond that the tab runs out
 * of memory and crashes instead of failing with a message. `?maxFileBytes=N` lowers it (tests).
 */
const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024;

function maxFileBytes(): number {
  const v = new URLSearchParams(location.search).get("maxFileBytes");
  const n = v === null ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? Math.min(n, DEFAULT_MAX_FILE_BYTES) : DEFAULT_MAX_FILE_BYTES;
}
export const MAX_FILE_BYTES = maxFileBytes();

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** Checks a picked file before anything reads it: the size limit is decided from file.size alone. */
export function fileProblem(file: File, what: string, command = "lmm fit"): string | null {
  if (file.size > MAX_FILE_BYTES) {
    return (
      `'${file.name}' is ${formatBytes(file.size)}, larger than the ${formatBytes(MAX_FILE_BYTES)} this page can read ` +
      `(the browser tab would run out of memory). Use the command line (${command}) for files this large, or a subset of the rows.`
    );
  }
  if (file.size === 0) return `'${file.name}' is empty (0 bytes): choose a ${what} with a header row and data rows`;
  return null;
}
