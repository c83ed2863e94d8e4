// The many-response worker (a module worker of its own, so a long fitMany never waits on or blocks the
// single-model worker): reads the response matrix and the metadata, matches their observation ids,
// and fits every response with fitMany. fitMany spreads the responses over nested Web Workers
// (dist/app/fitmany-webworker.js) plus this worker's own lane; where nested workers are missing or
// fail to start, it fits on this worker's lane alone and says so.
import { fitMany, registerManyWorkers, type FitManyOptions } from "../src/fitmany.js";
import { browserWorkers } from "../src/fitmany-browser.js";
import { alignMetadata, columnIds } from "../src/io/match.js";
import type { ManyResults } from "../src/manyresults.js";
import type { DenseResponses } from "../src/responses.js";
import type { Table } from "../src/data.js";
import { toCSV } from "../src/tidy.js";
import { describeColumns, readTable } from "./dataload.js";
import { readMatrix } from "./matrixload.js";
import type { FromManyWorker, ManyFitRequest, ManyResultData, ManySource, ToManyWorker } from "./many-protocol.js";
import { fitError, messageOf, serveInOrder, type WorkerScope } from "./worker-queue.js";

const scope = self as unknown as WorkerScope<FromManyWorker, ToManyWorker>;

/** The matrix (observation ids dropped: the design is in its order) and the metadata rows aligned to it. */
let data: { Y: DenseResponses; design: Table } | null = null;
let loadError: string | null = null;
/** Nested workers: available where this worker can start workers, until one fails to start. */
let nestedWorkers = typeof Worker !== "undefined";
if (nestedWorkers) registerManyWorkers(browserWorkers);

serveInOrder(scope, (msg) => (msg.type === "load" ? load(msg.loadId, msg.source) : fit(msg.fitId, msg)));

/**
 * The metadata rows in the matrix's observation order. When the ids do not match, the message says
 * which file holds what, and notices a transposed matrix (its row names are the metadata's ids).
 */
function align(meta: Table, metaName: string, Y: DenseResponses, matrixName: string): { table: Table; dropped: number } {
  const idColumn = meta.names[0];
  try {
    const { table, droppedMetadataRows } = alignMetadata(meta, idColumn, Y.obsIds!);
    return { table, dropped: droppedMetadataRows };
  } catch (e) {
    const ids = new Set(idsOrNone(meta, idColumn));
    const transposed = Y.responseNames!.filter((r) => ids.has(r)).length > Y.nResponses / 2 && Y.obsIds!.every((o) => !ids.has(o));
    const hint = transposed
      ? ` The matrix's row names are the metadata's ids: it seems transposed. Give one row per response (gene) and one column per observation (cell).`
      : ` The metadata's first column ('${idColumn}') must hold the observation ids of the matrix's header.`;
    throw new Error(`the ids of '${matrixName}' and '${metaName}' do not match: ${messageOf(e)}.${hint}`);
  }
}

function idsOrNone(meta: Table, column: string): string[] {
  try {
    return columnIds(meta, column);
  } catch {
    return [];
  }
}

async function load(loadId: number, source: ManySource): Promise<void> {
  data = null;
  loadError = null;
  try {
    const [Y, meta] = await Promise.all([readMatrix(source.matrix, source.matrix.name), readTable(source.meta, source.meta.name)]);
    const { table, dropped } = align(meta.table, source.meta.name, Y, source.matrix.name);
    let missing = 0;
    for (const v of Y.values) if (Number.isNaN(v)) missing++;
    data = { Y: { ...Y, obsIds: undefined }, design: table };
    scope.postMessage({
      type: "loaded",
      loadId,
      matrixName: source.matrix.name,
      metaName: source.meta.name,
      nResponses: Y.nResponses,
      nObs: Y.nObs,
      missing,
      columns: describeColumns(meta.table),
      droppedMetadataRows: dropped,
    });
  } catch (e) {
    loadError = messageOf(e);
    scope.postMessage({ type: "load-error", loadId, message: loadError });
  }
}

/** fitMany over nested workers; if they cannot start, again on this worker's lane alone. */
async function fitAll(req: ManyFitRequest, onProgress: FitManyOptions["onProgress"]): Promise<{ res: ManyResults; note: string | null }> {
  const { Y, design } = data!;
  const run = () => fitMany(req.formula, design, Y, { REML: req.REML, onProgress });
  if (!nestedWorkers) return { res: await run(), note: "fitted in this page's worker alone: this browser gives workers no nested workers" };
  try {
    return { res: await run(), note: null };
  } catch (e) {
    const msg = messageOf(e);
    if (!msg.startsWith("fitMany worker failed")) throw e;
    // Nested workers did not start (a missing file, a browser policy): every later fit runs here too.
    nestedWorkers = false;
    registerManyWorkers(null);
    return { res: await run(), note: `fitted in this page's worker alone: ${msg}` };
  }
}

function resultData(res: ManyResults, note: string | null): ManyResultData {
  return {
    responses: res.responses,
    terms: res.terms,
    estimate: res.estimate,
    stdError: res.stdError,
    df: res.df,
    statistic: res.statistic,
    pValue: res.pValue,
    pAdjusted: res.pAdjusted,
    singular: res.singular,
    errors: res.errors,
    info: res.info,
    counts: res.counts(0.05),
    csv: toCSV(res.rows()),
    responsesCSV: toCSV(res.responseRows()),
    json: JSON.stringify(res.toJSON(), null, 2),
    note,
  };
}

async function fit(fitId: number, req: ManyFitRequest): Promise<void> {
  if (!data) {
    const message = loadError ? `no data to fit: ${loadError}` : "no data loaded: choose a matrix and its metadata, or load the example";
    scope.postMessage({ type: "fit-error", fitId, message });
    return;
  }
  try {
    const { res, note } = await fitAll(req, (p) => scope.postMessage({ type: "progress", fitId, ...p }));
    const result = resultData(res, note);
    const arrays = [result.estimate, result.stdError, result.df, result.statistic, result.pValue, result.pAdjusted, result.singular];
    scope.postMessage({ type: "fitted", fitId, result }, arrays.map((a) => a.buffer));
  } catch (e) {
    scope.postMessage(fitError(fitId, e));
  }
}
