// Messages between the page's many-response mode (many-page.ts) and its worker (many-worker.ts). The
// result's numbers travel as typed arrays (transferred); the downloads as the texts the CLI would write.
import type { ManyResults } from "../src/manyresults.js";
import type { ColumnInfo, ErrorSpan } from "./protocol.js";

/** The matrix (responses × observations) and the observations' metadata, as the user picked them. */
export interface ManySource {
  matrix: File;
  meta: File;
}

export interface ManyFitRequest {
  /** The right-hand side for every response: `~ condition + (1 | donor)`. */
  formula: string;
  REML: boolean;
}

export type ToManyWorker = { type: "load"; loadId: number; source: ManySource } | ({ type: "fit"; fitId: number } & ManyFitRequest);

/** What the worker sends once the matrix and metadata are read and their ids matched. */
export interface ManyLoaded {
  type: "loaded";
  loadId: number;
  matrixName: string;
  metaName: string;
  nResponses: number;
  nObs: number;
  /** Missing values in the matrix (each such response is fitted on its own rows). */
  missing: number;
  /** The metadata's columns (the first holds the observation ids). */
  columns: ColumnInfo[];
  /** Metadata rows for observations the matrix lacks (left out, as the CLI does). */
  droppedMetadataRows: number;
}

/** A many-response fit's results: per response and term (response-major, R × J), and the downloads. */
export interface ManyResultData {
  responses: string[];
  terms: string[];
  estimate: Float64Array;
  stdError: Float64Array;
  df: Float64Array;
  statistic: Float64Array;
  pValue: Float64Array;
  pAdjusted: Float64Array;
  singular: Uint8Array;
  /** Per response: why it could not be fitted, or null. */
  errors: (string | null)[];
  info: ManyResults["info"];
  counts: ReturnType<ManyResults["counts"]>;
  /** results.csv (the CLI's columns), results.responses.csv, and ManyResults.toJSON() as text. */
  csv: string;
  responsesCSV: string;
  json: string;
  /** Why the fit ran without nested workers, if it had to. */
  note: string | null;
}

export type FromManyWorker =
  | { type: "ready" }
  | ManyLoaded
  | { type: "load-error"; loadId: number; message: string }
  | { type: "progress"; fitId: number; done: number; total: number; elapsedS: number; etaS: number }
  | { type: "fitted"; fitId: number; result: ManyResultData }
  | { type: "fit-error"; fitId: number; message: string; span?: ErrorSpan };
