// The page's many-response mode: a response matrix and its observation metadata (or the simulated
// example), a right-hand-side formula, and fitMany in a worker of its own (many-worker.ts), with
// progress, Cancel, the top responses per term, a volcano plot and a p-value histogram per term, and
// the CLI's result files as downloads. The page only draws; all reading and fitting is in the worker.
import { showErrors } from "./errorbox.js";
import * as flow from "./fit-flow.js";
import { columnButtons, nextFrame, type FitErrors, type FitMode, type RunEnd } from "./fit-flow.js";
import { download, figure, type Figure } from "./figure.js";
import { fileProblem } from "./limits.js";
import { SINGLE_CELL_EXAMPLE, SINGLE_CELL_FORMULA, simulateSingleCell } from "./many-example.js";
import { pHistogramPlot, volcanoPlot } from "./many-plots.js";
import type { FromManyWorker, ManyFitRequest, ManyLoaded, ManyResultData, ManySource, ToManyWorker } from "./many-protocol.js";
import { displayTerms, FDR, pHistogram, topRows, volcanoData } from "./many-summary.js";
import { fmt, fmtP, table } from "./tables.js";

/** Responses listed per term in the results table. */
const TOP_PER_TERM = 10;

const el = <T extends HTMLElement>(testid: string): T => {
  const e = document.querySelector<T>(`[data-testid="${testid}"]`);
  if (!e) throw new Error(`internal: the page has no element [data-testid=${testid}]`);
  return e;
};

interface ManyUI {
  modeSingle: HTMLInputElement;
  modeMany: HTMLInputElement;
  matrixInput: HTMLInputElement;
  metaInput: HTMLInputElement;
  example: HTMLButtonElement;
  exampleDescription: HTMLElement;
  dataInfo: HTMLElement;
  formula: HTMLInputElement;
  formulaStatus: HTMLElement;
  fit: HTMLButtonElement;
  cancel: HTMLButtonElement;
  progress: HTMLElement;
  results: HTMLElement;
  summary: HTMLElement;
  tableHint: HTMLElement;
  table: HTMLTableElement;
  termSelect: HTMLSelectElement;
  plots: HTMLElement;
  downloadCSV: HTMLButtonElement;
  downloadResponses: HTMLButtonElement;
  downloadJSON: HTMLButtonElement;
}

let ui: ManyUI;
let loadSeq = 0;
let fitSeq = 0;
/** The files picked (or the example's); a load starts when both are there. */
const picked: { matrix: File | null; meta: File | null; example: boolean } = { matrix: null, meta: null, example: false };
let source: ManySource | null = null;
let loaded: ManyLoaded | null = null;
/** The fit in progress; `fitted` is its final line, shown while its plots are drawn. */
let running: { id: number; start: number; done: number; total: number; etaS: number; fitted?: string } | null = null;
let result: (ManyResultData & { name: string }) | null = null;
const errors: FitErrors = { data: null, formula: [], fit: null };
/** This mode for fit-flow.ts: set up with `ui` in setupManyMode. */
let fitMode: FitMode;

function setState(key: "manyData" | "manyFit", value: string): void {
  document.body.dataset[key] = value;
}

// ---------------------------------------------------------------------------------------------------
// Errors

function renderErrors(): void {
  flow.renderErrors(fitMode);
}

// ---------------------------------------------------------------------------------------------------
// Worker

const worker = new flow.PageWorker<ToManyWorker, FromManyWorker>(new URL("./many-worker.js", import.meta.url), "mixedmodels-many", onMessage, (e) =>
  flow.onWorkerError(fitMode, e, worker, {
    finish: finishRun,
    isRunning: () => running !== null,
    dataCrash: (what) => {
      if (document.body.dataset.manyData !== "loading") return false;
      finishRun(running ? "error" : "idle");
      rejectData(`reading the files stopped the worker${what}: they may be too large for this browser tab`);
      return true;
    },
    reload: () => source && loadSource(source),
    cannotStart: (what) => `the many-response worker (many-worker.js) could not start${what}: this page cannot fit many responses in this browser`,
    stopped: (what) => `the many-response worker stopped${what}. The page has started a new one and read the files again; try again, or with fewer responses.`,
  }),
);

function onMessage(msg: Exclude<FromManyWorker, { type: "ready" }>): void {
  switch (msg.type) {
    case "loaded":
      if (msg.loadId !== loadSeq) return;
      loaded = msg;
      errors.data = null;
      setState("manyData", "ready");
      renderDataInfo(msg);
      updateFormulaCheck();
      return;
    case "load-error":
      if (msg.loadId !== loadSeq) return;
      rejectData(msg.message);
      return;
    case "progress":
      if (!running || msg.fitId !== running.id) return;
      running.done = msg.done;
      running.total = msg.total;
      running.etaS = msg.etaS;
      renderProgress();
      return;
    case "fitted":
      if (!running || msg.fitId !== running.id) return;
      void showResults(msg.result, msg.fitId);
      return;
    case "fit-error":
      if (!running || msg.fitId !== running.id) return;
      flow.showFitError(fitMode, msg, finishRun);
      return;
  }
}

// ---------------------------------------------------------------------------------------------------
// Data

function rejectData(message: string): void {
  loaded = null;
  loadSeq++; // a load still in flight no longer counts
  errors.data = message;
  setState("manyData", "error");
  ui.dataInfo.replaceChildren();
  updateFormulaCheck();
}

function loadSource(src: ManySource): void {
  if (running) {
    // The worker fits one thing at a time: new data would wait for the fit, so stop the fit.
    flow.stopRun(fitMode, worker, finishRun, "Fit cancelled: new data was chosen.");
  }
  source = src;
  loaded = null;
  loadSeq++;
  errors.data = null;
  errors.fit = null;
  setState("manyData", "loading");
  ui.dataInfo.textContent = `Reading ${src.matrix.name} and ${src.meta.name}…`;
  worker.post({ type: "load", loadId: loadSeq, source: src });
  updateFormulaCheck();
}

/** A picked file (matrix or metadata): checked by size, then read with its partner once both are there. */
function pick(which: "matrix" | "meta", file: File | undefined): void {
  if (!file) return;
  // A file picked after the example replaces the example's pair: its partner must be picked too.
  if (picked.example) Object.assign(picked, { matrix: null, meta: null, example: false });
  ui.exampleDescription.replaceChildren();
  const problem = fileProblem(file, which === "matrix" ? "matrix CSV or TSV file" : "metadata CSV or TSV file", "lmm many");
  if (problem) {
    picked[which] = null;
    source = null;
    rejectData(problem);
    return;
  }
  picked[which] = file;
  if (picked.matrix && picked.meta) {
    loadSource({ matrix: picked.matrix, meta: picked.meta });
    return;
  }
  source = null;
  loaded = null;
  errors.data = null;
  setState("manyData", "none");
  ui.dataInfo.textContent = picked.matrix ? `Matrix: ${picked.matrix.name}. Now choose its observation metadata.` : `Metadata: ${picked.meta!.name}. Now choose the response matrix.`;
  updateFormulaCheck();
}

/** The simulated study, made in this page (a few hundred KB of text), read as if the user had picked its files. */
function loadExample(): void {
  const start = performance.now();
  const study = simulateSingleCell();
  performance.measure("simulate many-response example", { start });
  const matrix = new File([study.matrixCSV], "example-matrix.csv", { type: "text/csv" });
  const meta = new File([study.metaCSV], "example-meta.csv", { type: "text/csv" });
  Object.assign(picked, { matrix, meta, example: true });
  ui.matrixInput.value = "";
  ui.metaInput.value = "";
  const s = SINGLE_CELL_EXAMPLE;
  const text = document.createTextNode(
    `Simulated single-cell study: ${s.donors} donors × ${s.cellsPerDonor} cells, ${s.genes} genes (log1p of Poisson counts); ` +
      `donors D1–D${s.donors / 2} are controls, the others treated; ${Object.keys(study.truth).length} genes respond to treatment. ` +
      `Condition varies between donors, so (1 | donor) keeps cells of one donor from counting as independent replicates. Files: `,
  );
  const link = (label: string, testid: string, file: File) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.textContent = label;
    b.dataset.testid = testid;
    b.addEventListener("click", () => download(file, file.name));
    return b;
  };
  ui.exampleDescription.replaceChildren(text, link("matrix", "many-example-matrix", matrix), document.createTextNode(" "), link("metadata", "many-example-meta", meta));
  ui.formula.value = SINGLE_CELL_FORMULA;
  loadSource({ matrix, meta });
}

function renderDataInfo(m: ManyLoaded): void {
  const head = document.createElement("p");
  const dropped = m.droppedMetadataRows ? ` ${m.droppedMetadataRows} metadata row${m.droppedMetadataRows === 1 ? "" : "s"} with no observation in the matrix left out.` : "";
  const missing = m.missing ? ` ${m.missing.toLocaleString("en-US")} missing values (each response is fitted on its observed cells).` : "";
  head.textContent =
    `${m.matrixName}: ${m.nResponses.toLocaleString("en-US")} responses × ${m.nObs.toLocaleString("en-US")} observations, ` +
    `matched by id to the rows of ${m.metaName}.${dropped}${missing} Metadata columns (click one to insert it in the formula):`;
  ui.dataInfo.replaceChildren(head, columnButtons(m.columns.slice(1), "many-columns", insertAtCaret));
}

function insertAtCaret(text: string): void {
  flow.insertAtCaret(ui.formula, text);
  updateFormulaCheck();
}

// ---------------------------------------------------------------------------------------------------
// Formula

function updateFormulaCheck(): void {
  // The metadata's first column holds the ids; the model may use any column.
  flow.updateFormulaCheck(fitMode, loaded ? loaded.columns.map((c) => c.name) : null, { oneSided: true });
}

// ---------------------------------------------------------------------------------------------------
// Fitting

function request(): ManyFitRequest {
  const reml = document.querySelector<HTMLInputElement>('input[name="many-criterion"]:checked')?.value !== "ML";
  return { formula: ui.formula.value, REML: reml };
}

function startFit(): void {
  if (running) return;
  updateFormulaCheck();
  const req = flow.checkedRequest(fitMode, {
    hasData: source !== null,
    noData: "no data loaded: choose a response matrix and its metadata, or load the example",
    emptyFormula: "enter the right-hand side of the model, e.g. ~ condition + (1 | donor)",
    request,
  });
  if (!req) return;
  clearResults();
  const id = ++fitSeq;
  running = { id, start: performance.now(), done: 0, total: loaded?.nResponses ?? 0, etaS: NaN };
  flow.beginRun(fitMode);
  renderProgress();
  worker.post({ type: "fit", fitId: id, ...req });
}

function cancelFit(): void {
  if (!running) return;
  // Terminating is the only way to stop the fits (and the nested workers with them).
  flow.stopRun(fitMode, worker, finishRun, flow.cancelledText(running.start));
  if (source) loadSource(source);
}

function finishRun(state: RunEnd): void {
  running = null;
  flow.endRun(fitMode, state);
}

function renderProgress(): void {
  if (!running) return;
  if (running.fitted) {
    ui.progress.textContent = running.fitted;
    return;
  }
  const s = (performance.now() - running.start) / 1000;
  const eta = Number.isFinite(running.etaS) && running.done > 0 ? ` · about ${Math.ceil(running.etaS)} s left` : "";
  ui.progress.textContent = `Fitting… ${running.done.toLocaleString("en-US")} / ${running.total.toLocaleString("en-US")} responses · ${s.toFixed(1)} s${eta}`;
}

setInterval(() => running && renderProgress(), 200);

function clearResults(): void {
  ui.results.hidden = true;
  for (const e of [ui.summary, ui.table, ui.plots, ui.termSelect, ui.tableHint]) e.replaceChildren();
  result = null;
}

// ---------------------------------------------------------------------------------------------------
// Results

function lanesText(info: ManyResultData["info"]): string {
  const nested = info.threads - 1;
  if (nested <= 0) return "on 1 lane (this page's many-response worker)";
  return `on ${info.threads} lanes (this page's many-response worker and ${nested} nested worker${nested === 1 ? "" : "s"}, which fitted ${info.workerChunks} of the chunks)`;
}

function renderSummary(r: ManyResultData): void {
  const c = r.counts;
  const head = para(
    `${c.responses.toLocaleString("en-US")} responses × ${r.info.nObs.toLocaleString("en-US")} observations, ${r.info.formula} by ${r.info.REML ? "REML" : "ML"}: ` +
      `${c.fitted.toLocaleString("en-US")} fitted${c.failed ? `, ${c.failed} failed` : ""}; singular fits ${c.singular}, not converged ${c.notConverged}.`,
  );
  const sig = para(
    `Significant at FDR ${FDR * 100}% (Benjamini-Hochberg across responses): ` +
      displayTerms(r.terms).map((t) => `${t} ${c.significant[t]}`).join("; ") + ".",
  );
  const parts: HTMLElement[] = [head, sig];
  if (c.singular > 0 && r.info.family === undefined) {
    parts.push(
      para(
        `A singular fit estimates a random-effect variance as zero, so its tests treat the observations as independent ` +
          `(df near the number of observations): read their p-values with care (column "singular" of the downloads).`,
      ),
    );
  }
  if (r.note) parts.push(para(`Note: ${r.note}.`));
  const failed = r.errors.map((e, i) => (e === null ? null : `${r.responses[i]}: ${e}`)).filter((x): x is string => x !== null);
  if (failed.length) {
    const ul = document.createElement("ul");
    for (const f of failed.slice(0, 5)) {
      const li = document.createElement("li");
      li.textContent = f;
      ul.append(li);
    }
    if (failed.length > 5) ul.append(Object.assign(document.createElement("li"), { textContent: `… and ${failed.length - 5} more (see the per-response table)` }));
    parts.push(para(`${failed.length} response${failed.length === 1 ? "" : "s"} could not be fitted:`), ul);
  }
  ui.summary.replaceChildren(...parts);
}

function para(text: string): HTMLElement {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

function renderTable(r: ManyResultData): void {
  const glmm = r.info.family !== undefined;
  ui.tableHint.textContent =
    `The ${TOP_PER_TERM} responses with the smallest p-values for each fixed-effect term: ` +
    (glmm ? "Wald z tests. " : "t tests with Satterthwaite's degrees of freedom (lmerTest). ") +
    "p adj.: Benjamini-Hochberg over all responses. Every response and term: Download results (CSV).";
  const rows = displayTerms(r.terms).flatMap((t) => topRows(r, t, TOP_PER_TERM));
  table(
    ui.table,
    ["term", "response", "estimate", "std. error", "df", glmm ? "z value" : "t value", glmm ? "Pr(>|z|)" : "Pr(>|t|)", "p adj. (BH)"],
    rows.map((x) => [x.term, x.response, fmt(x.estimate), fmt(x.stdError), fmt(x.df), fmt(x.statistic), fmtP(x.p), fmtP(x.pAdjusted)]),
    2,
    (i) => (i > 0 && rows[i].term !== rows[i - 1].term ? "term-start" : ""),
  );
}

function plotWidth(): number {
  return flow.plotWidth(ui.results);
}

function exportsOf(name: string) {
  return {
    fileBase: () => name,
    onError: (message: string) => {
      errors.fit = { message };
      renderErrors();
    },
  };
}

/** The volcano plot and the p-value histogram of one term, one per frame. */
async function renderPlots(r: ManyResultData & { name: string }, term: string, id: number): Promise<void> {
  const width = plotWidth();
  const half = width >= 900 ? Math.floor(width / 2) - 10 : width;
  const v = volcanoData(r, term);
  const h = pHistogram(r, term);
  const nSig = v.significant.reduce((a, b) => a + b, 0);
  const volcano = figure(
    "volcano",
    `Volcano plot: ${term}`,
    `${v.estimate.length.toLocaleString("en-US")} responses; red: adjusted p < ${FDR} (${nSig}), above the dashed line; the ${v.labelled.length} smallest p-values labelled.`,
    `Volcano plot: ${term}`,
    "row",
    exportsOf(`${r.name}-${term}`),
  );
  volcano.element.dataset.testid = "volcano-plot";
  const hist = figure(
    "phist",
    `p-values: ${term}`,
    `${h.n.toLocaleString("en-US")} p-values in ${h.count.length} bins; dashed: the count per bin if no response had an effect (uniform p).`,
    `p-values: ${term}`,
    "row",
    exportsOf(`${r.name}-${term}`),
  );
  hist.element.dataset.testid = "phist-plot";
  ui.plots.replaceChildren(volcano.element, hist.element);
  const draw = async (fig: Figure, make: () => SVGSVGElement) => {
    await nextFrame();
    if (fitSeq !== id || ui.termSelect.value !== term) return false;
    fig.add(make());
    return true;
  };
  if (!(await draw(volcano, () => volcanoPlot(v, term, half)))) return;
  await draw(hist, () => pHistogramPlot(h, term, half));
}

async function showResults(r: ManyResultData, id: number): Promise<void> {
  const name = (source?.matrix.name ?? "many").replace(/\.(csv|tsv|tab|txt)$/i, "");
  result = { ...r, name };
  ui.results.hidden = false;
  renderSummary(r);
  renderTable(r);
  const terms = displayTerms(r.terms);
  ui.termSelect.replaceChildren(...terms.map((t) => Object.assign(document.createElement("option"), { value: t, textContent: t })));
  ui.termSelect.value = terms[0];
  const seconds = r.info.timeS;
  const done = `Fitted ${r.responses.length.toLocaleString("en-US")} responses in ${seconds.toFixed(2)} s ${lanesText(r.info)}; ${r.info.engine} engine.`;
  if (running?.id === id) running.fitted = done;
  ui.progress.textContent = done;
  await renderPlots(result, terms[0], id);
  if (running?.id !== id) return;
  finishRun("done");
}

// ---------------------------------------------------------------------------------------------------
// Wiring

function setMode(mode: "single" | "many"): void {
  document.body.dataset.mode = mode;
  showErrors(mode);
  if (mode === "many" && !worker.exists) worker.start();
}

function setupDownloads(): void {
  const save = (text: (r: ManyResultData) => string, type: string, suffix: string) => () => {
    if (result) download(new Blob([text(result)], { type }), `${result.name}-${suffix}`);
  };
  ui.downloadCSV.addEventListener("click", save((r) => r.csv, "text/csv", "results.csv"));
  ui.downloadResponses.addEventListener("click", save((r) => r.responsesCSV, "text/csv", "results.responses.csv"));
  ui.downloadJSON.addEventListener("click", save((r) => r.json, "application/json", "results.json"));
}

export function setupManyMode(): void {
  ui = {
    modeSingle: el("mode-single"),
    modeMany: el("mode-many"),
    matrixInput: el("matrix-input"),
    metaInput: el("meta-input"),
    example: el("many-example"),
    exampleDescription: document.getElementById("many-example-description")!,
    dataInfo: el("many-data-info"),
    formula: el("many-formula-input"),
    formulaStatus: el("many-formula-status"),
    fit: el("many-fit-button"),
    cancel: el("many-cancel-button"),
    progress: el("many-progress"),
    results: el("many-results"),
    summary: el("many-summary"),
    tableHint: document.getElementById("many-table-hint")!,
    table: el("many-table"),
    termSelect: el("many-term-select"),
    plots: el("many-plots"),
    downloadCSV: el("many-download-csv"),
    downloadResponses: el("many-download-responses"),
    downloadJSON: el("many-download-json"),
  };
  fitMode = { channel: "many", fitState: "manyFit", errors, ui };
  ui.modeSingle.addEventListener("change", () => ui.modeSingle.checked && setMode("single"));
  ui.modeMany.addEventListener("change", () => ui.modeMany.checked && setMode("many"));
  ui.matrixInput.addEventListener("change", () => pick("matrix", ui.matrixInput.files?.[0]));
  ui.metaInput.addEventListener("change", () => pick("meta", ui.metaInput.files?.[0]));
  ui.example.addEventListener("click", loadExample);
  ui.formula.addEventListener("input", () => {
    errors.fit = null;
    updateFormulaCheck();
  });
  ui.formula.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.isComposing) {
      e.preventDefault();
      startFit();
    }
  });
  ui.fit.addEventListener("click", startFit);
  ui.cancel.addEventListener("click", cancelFit);
  ui.termSelect.addEventListener("change", () => result && void renderPlots(result, ui.termSelect.value, fitSeq));
  setupDownloads();
  // A reload keeps the checked radio: start in the mode it shows.
  setMode(ui.modeMany.checked ? "many" : "single");
}
