// The page: data and formula input, the fit worker's lifecycle (start, progress, cancel), and the
// results (summary, tables, warnings, plots, JSON, downloads). All computing happens in worker.ts;
// this thread only draws, so it stays responsive during a fit. The many-response mode (a model per row
// of a matrix) is many-page.ts, with its own worker.
import type { TidyRow } from "../src/tidy.js";
import { EXAMPLES } from "./examples.js";
import { quoteName, suggest } from "./formula-check.js";
import * as flow from "./fit-flow.js";
import { columnButtons, columnType, nextFrame, type FitErrors, type FitMode, type RunEnd } from "./fit-flow.js";
import { fileProblem, formatBytes, MAX_FILE_BYTES } from "./limits.js";
import { setupManyMode } from "./many-page.js";
import { warmUpMany } from "./many-plots.js";
import { fmt, fmtP, table } from "./tables.js";
import { download, figure as makeFigure, figureNote, type Figure } from "./figure.js";
import { caterpillarLayout, caterpillarPanel, qqPlot, residualPlot, trajectoryLayout, trajectoryRow, warmUp } from "./plots.js";
import type { CaterpillarData, ColumnInfo, DataSource, FamilyChoice, FitRequest, FromWorker, PlotData, Stage, ToWorker } from "./protocol.js";

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`internal: the page has no element #${id}`);
  return el as T;
};
const byTestId = <T extends HTMLElement>(id: string): T => {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`internal: the page has no element [data-testid=${id}]`);
  return el;
};

const ui = {
  main: document.querySelector("main")!,
  fileInput: byTestId<HTMLInputElement>("file-input"),
  levelsInput: byTestId<HTMLInputElement>("levels-input"),
  exampleSelect: byTestId<HTMLSelectElement>("example-select"),
  exampleDescription: byId<HTMLParagraphElement>("example-description"),
  dropHint: byId<HTMLParagraphElement>("drop-hint"),
  dataInfo: byId<HTMLDivElement>("data-info"),
  formula: byTestId<HTMLInputElement>("formula-input"),
  suggestions: byId<HTMLUListElement>("suggestions"),
  formulaStatus: byId<HTMLDivElement>("formula-status"),
  family: byId<HTMLSelectElement>("family"),
  criterion: byId<HTMLFieldSetElement>("criterion"),
  linkLabel: byId<HTMLLabelElement>("link-label"),
  link: byId<HTMLSelectElement>("link"),
  nagqLabel: byId<HTMLLabelElement>("nagq-label"),
  nagq: byId<HTMLInputElement>("nagq"),
  fixedHint: byId<HTMLParagraphElement>("fixed-hint"),
  fit: byId<HTMLButtonElement>("fit-button"),
  cancel: byId<HTMLButtonElement>("cancel-button"),
  progress: byId<HTMLDivElement>("progress"),
  results: byId<HTMLElement>("results"),
  warnings: byId<HTMLDivElement>("warnings"),
  summary: byId<HTMLPreElement>("summary"),
  fixedTable: byId<HTMLTableElement>("fixed-table"),
  varcompTable: byId<HTMLTableElement>("varcomp-table"),
  plots: byId<HTMLDivElement>("plots"),
  json: byId<HTMLPreElement>("result-json"),
  downloadCSV: byId<HTMLButtonElement>("download-csv"),
  downloadJSON: byId<HTMLButtonElement>("download-json"),
  downloadSummary: byId<HTMLButtonElement>("download-summary"),
  footer: byId<HTMLElement>("footer"),
};

// ---------------------------------------------------------------------------------------------------
// State

let loadSeq = 0;
let fitSeq = 0;
let source: DataSource | null = null;
let dataName = "";
let columns: ColumnInfo[] | null = null;
/** The fit in progress (its id, start time and the last progress report), or null. */
let running: { id: number; start: number; stage: Stage; evaluations: number; objective: number } | null = null;
let lastResult: { tidyCSV: string; summary: string; json: string | null; name: string } | null = null;
/** Drawing of the current fit's results (spread over frames), so later parts wait for earlier ones. */
let rendering: Promise<void> = Promise.resolve();
const errors: FitErrors = { data: null, formula: [], fit: null };
const mode: FitMode = { channel: "single", fitState: "fit", errors, ui };

function setBodyState(key: "data" | "fit", value: string): void {
  document.body.dataset[key] = value;
}

// ---------------------------------------------------------------------------------------------------
// Worker

const worker = new flow.PageWorker<ToWorker, FromWorker>(new URL("./worker.js", import.meta.url), "mixedmodels-fit", onWorkerMessage, (e) =>
  flow.onWorkerError(mode, e, worker, {
    finish: finishRun,
    isRunning: () => running !== null,
    dataCrash: (what) => {
      if (!(document.body.dataset.data === "loading" && source)) return false;
      // Reading the data killed it: reading it again would only do the same.
      const name = source.kind === "file" ? source.file.name : source.name;
      rejectSource(`reading '${name}' stopped the worker${what}: the file may be too large for this browser tab`);
      return true;
    },
    reload: () => source && loadSource(source),
    cannotStart: (what) => `the fit worker (worker.js) could not start${what}: this page cannot fit models in this browser`,
    stopped: (what) => `the fit worker stopped${what}. The page has started a new one and read the data again; try again, or with a smaller data set.`,
  }),
);

function onWorkerMessage(msg: Exclude<FromWorker, { type: "ready" }>): void {
  switch (msg.type) {
    case "loaded":
      if (msg.loadId !== loadSeq) return;
      columns = msg.columns;
      dataName = msg.name;
      errors.data = null;
      setBodyState("data", "ready");
      renderDataInfo(msg.name, msg.nrow, msg.delimiter);
      updateFormulaCheck();
      renderErrors();
      return;
    case "load-error":
      if (msg.loadId !== loadSeq) return;
      columns = null;
      errors.data = msg.message;
      setBodyState("data", "error");
      ui.dataInfo.replaceChildren();
      updateFormulaCheck();
      renderErrors();
      return;
    case "progress":
      if (!running || msg.fitId !== running.id) return;
      running.stage = msg.stage;
      running.evaluations = msg.evaluations;
      running.objective = msg.objective;
      renderProgress();
      return;
    case "fitted":
      if (!running || msg.fitId !== running.id) return;
      rendering = showFitted(msg);
      return;
    case "details": {
      if (!running || msg.fitId !== running.id) return;
      const { json, caterpillars, fitId } = msg;
      // The details follow the summary's plots, which may still be drawing (one per frame).
      rendering = rendering.then(() => showDetails(json, caterpillars, fitId));
      return;
    }
    case "fit-error":
      if (!running || msg.fitId !== running.id) return;
      flow.showFitError(mode, msg, finishRun);
      return;
  }
}

// ---------------------------------------------------------------------------------------------------
// Data

function loadSource(src: DataSource): void {
  if (running) {
    // The worker handles one message at a time: new data would wait for the fit, so stop the fit.
    flow.stopRun(mode, worker, finishRun, "Fit cancelled: new data was chosen.");
  }
  source = src;
  columns = null;
  loadSeq++;
  errors.data = null;
  errors.fit = null;
  setBodyState("data", "loading");
  const label = src.kind === "file" ? `${src.file.name} (${formatBytes(src.file.size)})` : `the ${src.name} example`;
  ui.dataInfo.textContent = `Reading ${label}…`;
  worker.post({ type: "load", loadId: loadSeq, source: src });
  updateFormulaCheck();
  renderErrors();
}

function rejectSource(message: string): void {
  source = null;
  columns = null;
  loadSeq++; // a load still in flight no longer counts
  errors.data = message;
  setBodyState("data", "error");
  ui.dataInfo.replaceChildren();
  updateFormulaCheck();
  renderErrors();
}

function useFiles(data: File | undefined, levels: File | undefined): void {
  if (!data) return;
  const problem = fileProblem(data, "CSV or TSV file") ?? (levels ? fileProblem(levels, "levels JSON file") : null);
  if (problem) return rejectSource(problem);
  ui.exampleSelect.value = "";
  ui.exampleDescription.textContent = "";
  loadSource({ kind: "file", file: data, levels });
}

function renderDataInfo(name: string, nrow: number, delimiter: string): void {
  const cols = columns ?? [];
  const delim = delimiter === "\t" ? "tab" : delimiter === ";" ? "semicolon" : "comma";
  const head = document.createElement("p");
  head.textContent = `${name}: ${nrow.toLocaleString("en-US")} rows, ${cols.length} columns (${delim}-separated). Click a column to insert it in the formula.`;
  ui.dataInfo.replaceChildren(head, columnButtons(cols, "columns", insertAtCaret));
}

// ---------------------------------------------------------------------------------------------------
// Formula box: live check and column completion

let suggestion: { start: number; end: number; items: string[]; active: number } | null = null;

function updateFormulaCheck(): void {
  flow.updateFormulaCheck(mode, columns ? columns.map((c) => c.name) : null);
}

function updateSuggestions(): void {
  const caret = ui.formula.selectionStart ?? ui.formula.value.length;
  const names = columns ? columns.map((c) => c.name) : [];
  const s = document.activeElement === ui.formula && names.length ? suggest(ui.formula.value, caret, names) : null;
  if (!s || s.items.length === 0) {
    suggestion = null;
    ui.suggestions.hidden = true;
    ui.formula.setAttribute("aria-expanded", "false");
    return;
  }
  suggestion = { ...s, active: 0 };
  renderSuggestions();
}

function renderSuggestions(): void {
  if (!suggestion) return;
  const s = suggestion;
  ui.suggestions.replaceChildren(
    ...s.items.map((name, i) => {
      const li = document.createElement("li");
      li.role = "option";
      li.id = `suggestion-${i}`;
      li.setAttribute("aria-selected", String(i === s.active));
      li.textContent = name;
      const info = columns?.find((c) => c.name === name);
      if (info) {
        const t = document.createElement("span");
        t.className = "type";
        t.textContent = columnType(info);
        li.append(t);
      }
      // mousedown, not click: the input must keep its focus and caret.
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        acceptSuggestion(i);
      });
      return li;
    }),
  );
  ui.suggestions.hidden = false;
  ui.formula.setAttribute("aria-expanded", "true");
  ui.formula.setAttribute("aria-activedescendant", `suggestion-${s.active}`);
}

function acceptSuggestion(i: number): void {
  if (!suggestion) return;
  const { start, end, items } = suggestion;
  const name = quoteName(items[i]);
  const v = ui.formula.value;
  ui.formula.value = v.slice(0, start) + name + v.slice(end);
  ui.formula.setSelectionRange(start + name.length, start + name.length);
  suggestion = null;
  ui.suggestions.hidden = true;
  updateFormulaCheck();
}

function insertAtCaret(text: string): void {
  flow.insertAtCaret(ui.formula, text);
  updateFormulaCheck();
}

// ---------------------------------------------------------------------------------------------------
// Errors

function renderErrors(): void {
  flow.renderErrors(mode);
}

// ---------------------------------------------------------------------------------------------------
// Fitting

function criterionREML(): boolean {
  return (document.querySelector<HTMLInputElement>('input[name="criterion"]:checked')?.value ?? "REML") === "REML";
}

/** Shows the options of the chosen family: REML/ML for lmer; link (binomial) and nAGQ for glmer. */
function updateFamilyControls(): void {
  const family = ui.family.value as FamilyChoice;
  ui.criterion.hidden = family !== "gaussian";
  ui.linkLabel.hidden = family !== "binomial";
  ui.nagqLabel.hidden = family === "gaussian";
}

/** The fit the controls describe, or the reason they describe none. */
function fitRequest(): FitRequest | string {
  const family = ui.family.value as FamilyChoice;
  const formula = ui.formula.value;
  if (family === "gaussian") return { formula, family, REML: criterionREML() };
  const nAGQ = Number(ui.nagq.value);
  if (!(ui.nagq.value.trim() !== "" && Number.isInteger(nAGQ) && nAGQ >= 0 && nAGQ <= 25)) {
    return `nAGQ must be a whole number from 0 to 25 (1: Laplace, 0: PIRLS only, more: adaptive Gauss-Hermite quadrature), got '${ui.nagq.value}'`;
  }
  const link = family === "binomial" ? (ui.link.value as FitRequest["link"]) : "log";
  return { formula, family, REML: false, link, nAGQ };
}

function startFit(): void {
  if (running) return;
  updateFormulaCheck();
  const req = flow.checkedRequest(mode, {
    hasData: source !== null,
    noData: "no data loaded: choose a CSV or TSV file, drop one on the page, or pick an example",
    emptyFormula: "enter a model formula, e.g. Reaction ~ Days + (Days | Subject)",
    request: fitRequest,
  });
  if (!req) return;
  clearResults();
  const id = ++fitSeq;
  running = { id, start: performance.now(), stage: "starting", evaluations: 0, objective: NaN };
  flow.beginRun(mode);
  renderProgress();
  worker.post({ type: "fit", fitId: id, ...req });
}

function cancelFit(): void {
  if (!running) return;
  // Terminating is the only way to stop a synchronous fit; the new worker reads the data again.
  flow.stopRun(mode, worker, finishRun, flow.cancelledText(running.start));
  if (source) loadSource(source);
}

function finishRun(state: RunEnd): void {
  running = null;
  flow.endRun(mode, state);
}

const STAGES: Record<Stage, string> = {
  starting: "Starting",
  building: "Building the model",
  optimizing: "Optimizing",
  fitting: "Fitting by maximum likelihood",
  summarising: "Computing the summary and plots",
  details: "Computing conditional variances and the JSON",
};

function renderProgress(): void {
  if (!running) return;
  const s = (performance.now() - running.start) / 1000;
  let text = `${STAGES[running.stage]}… ${s.toFixed(1)} s`;
  if (running.evaluations > 0) {
    text += ` · ${running.evaluations} objective evaluations`;
    if (Number.isFinite(running.objective)) text += ` · objective ${running.objective.toFixed(4)}`;
  }
  ui.progress.textContent = text;
}

setInterval(() => running && renderProgress(), 100);

function clearResults(): void {
  ui.results.hidden = true;
  for (const el of [ui.warnings, ui.summary, ui.fixedTable, ui.varcompTable, ui.plots, ui.json]) el.replaceChildren();
  ui.downloadCSV.disabled = ui.downloadJSON.disabled = ui.downloadSummary.disabled = true;
  lastResult = null;
}

/** Runs fn as a User Timing measure: devtools' Performance panel (and the tests) see what drawing costs. */
function timed<T>(name: string, fn: () => T): T {
  const start = performance.now();
  try {
    return fn();
  } finally {
    performance.measure(name, { start });
  }
}

async function showFitted(msg: Extract<FromWorker, { type: "fitted" }>): Promise<void> {
  const id = msg.fitId;
  lastResult = { tidyCSV: msg.tidyCSV, summary: msg.summary, json: null, name: dataName.replace(/\.(csv|tsv|tab|txt)$/i, "") || "fit" };
  ui.results.hidden = false;
  renderWarnings(msg.warnings);
  ui.summary.textContent = msg.summary;
  renderTables(msg.tidy, msg.call);
  ui.downloadCSV.disabled = ui.downloadSummary.disabled = false;
  setBodyState("fit", "summary");
  // The convergence checks (gradient and Hessian probes) evaluate the objective beyond the optimizer's steps.
  const checks = msg.evaluations > msg.feval ? `, ${msg.evaluations} with the convergence checks` : "";
  // glmer's feval counts the second stage's evaluations (lme4's), after a first stage over θ alone.
  const done = `Fitted in ${msg.fitSeconds.toFixed(2)} s (${msg.feval} optimizer evaluations of the objective${checks}; ${msg.engine} engine).`;
  if (running) running.stage = "details";
  ui.plots.replaceChildren(placeholder("caterpillar", "Caterpillar plots follow with the conditional variances…"));
  await renderPlots(msg.plots, id);
  if (running?.id === id) ui.progress.dataset.fitted = done;
}

async function showDetails(json: string, caterpillars: CaterpillarData[], id: number): Promise<void> {
  if (fitSeq !== id) return;
  timed("show JSON", () => (ui.json.textContent = json));
  if (lastResult) lastResult.json = json;
  ui.downloadJSON.disabled = false;
  const width = plotWidth();
  const holder = ui.plots.querySelector<HTMLElement>('[data-testid="plot-caterpillar"]') ?? ui.plots.appendChild(placeholder("caterpillar", ""));
  holder.className = "";
  holder.replaceChildren();
  for (const c of caterpillars) {
    const layout = caterpillarLayout(c, width);
    const levels = c.nlevels.toLocaleString("en-US");
    const note = c.labelled
      ? `${levels} levels sorted by the first panel's modes, as lme4's dotplot(ranef(fit, condVar = TRUE)).`
      : `${levels} levels, each panel sorted by its own modes (as lme4's qqmath(ranef(fit, condVar = TRUE))).`;
    const fig = figure(`caterpillar-${c.group}`, `Conditional modes of ${c.group} (±1.96 conditional sd)`, note, `Random effects of ${c.group}`, "row");
    holder.append(fig.element);
    for (let k = 0; k < c.panels.length; k++) {
      await nextFrame();
      if (fitSeq !== id) return;
      fig.add(timed(`draw caterpillar ${c.group} ${c.panels[k].term}`, () => caterpillarPanel(c, layout, k)));
    }
  }
  const fitted = ui.progress.dataset.fitted;
  if (running?.id !== id) return;
  finishRun("done");
  ui.progress.textContent = fitted ?? "Fitted.";
}

function placeholder(testid: string, text: string): HTMLElement {
  const d = document.createElement("div");
  d.dataset.testid = `plot-${testid}`;
  d.className = "hint";
  d.textContent = text;
  return d;
}

function plotWidth(): number {
  return flow.plotWidth(ui.results);
}

/** The diagnostic plots, one SVG per frame so that drawing a large fit's plots never stalls the page. */
async function renderPlots(p: PlotData, id: number): Promise<void> {
  const width = plotWidth();
  const half = width >= 900 ? Math.floor(width / 2) - 10 : width;
  const draw = async (name: string, make: () => SVGSVGElement, fig: Figure): Promise<boolean> => {
    await nextFrame();
    if (fitSeq !== id) return false;
    fig.add(timed(`draw ${name}`, make));
    return true;
  };

  const t = p.trajectories;
  if (!t.available) {
    ui.plots.append(figureNote("trajectories", "Trajectories", `Not drawn: ${t.reason}.`));
  } else {
    const shown = t.shown.length < t.totalGroups ? `the first ${t.shown.length} of ${t.totalGroups} levels` : `all ${t.totalGroups} levels`;
    const note =
      `${t.y} against ${t.x} for ${shown} of ${t.group}${t.thinned ? " (rows thinned evenly)" : ""}. ` +
      `Points: data; solid blue: fit with ${t.group}'s own random effects; dashed grey: population-level fit (fixed effects only). ` +
      `Lines join the rows that differ only in ${t.x}.`;
    const fig = figure("trajectories", `Trajectories per ${t.group}`, note, `${t.y} vs ${t.x} per ${t.group}`, "column");
    ui.plots.append(fig.element);
    const layout = trajectoryLayout(t, width);
    for (let row = 0; row < layout.nrow; row++) if (!(await draw(`trajectories row ${row}`, () => trajectoryRow(t, layout, row), fig))) return;
  }

  const pair = document.createElement("div");
  pair.className = "pair";
  ui.plots.append(pair);
  const binned = p.residuals.kind === "bins";
  const residualNote = binned
    ? `All ${p.n.toLocaleString("en-US")} rows, binned: darker cells hold more rows (log scale).`
    : `${p.n.toLocaleString("en-US")} rows${p.residualLabel.startsWith("Pearson") ? ", Pearson residuals (as lme4's plot(fit))" : ""}. A trend or a funnel shape suggests a misspecified mean or variance.`;
  const res = figure("residuals", "Residuals vs fitted", residualNote, "Residuals vs fitted", "row");
  pair.append(res.element);
  if (!(await draw("residuals", () => residualPlot(p.residuals, half, p.residualLabel), res))) return;
  const q = p.qq;
  if (!q.available) {
    pair.append(figureNote("qq", "Normal QQ plot", `Not drawn: ${q.reason}.`));
  } else {
    const qqShown = q.sample.length < q.n ? `${q.sample.length} evenly spaced of ${q.n.toLocaleString("en-US")} order statistics` : `${q.n} residuals`;
    const qq = figure("qq", "Normal QQ plot of the scaled residuals", `${qqShown}; dashed: y = x.`, "Normal QQ plot of scaled residuals", "row");
    pair.append(qq.element);
    if (!(await draw("qq", () => qqPlot(q, half), qq))) return;
  }
  // The caterpillar plots (drawn when the conditional variances arrive) go last.
  const cat = ui.plots.querySelector('[data-testid="plot-caterpillar"]');
  if (cat) ui.plots.append(cat);
}

/** A figure of this fit's plots: exported files are named after the data, a failed PNG is a fit error. */
function figure(testid: string, title: string, note: string, exportTitle: string, direction: "row" | "column"): Figure {
  return makeFigure(testid, title, note, exportTitle, direction, {
    fileBase: () => lastResult?.name ?? "fit",
    onError: (message) => {
      errors.fit = { message };
      renderErrors();
    },
  });
}

function renderWarnings(warnings: string[]): void {
  if (warnings.length === 0) {
    const p = document.createElement("p");
    p.className = "ok";
    p.textContent = "No warnings: the optimizer converged, the fit is not singular and no rows were dropped.";
    ui.warnings.replaceChildren(p);
    return;
  }
  const h = document.createElement("strong");
  h.textContent = warnings.length === 1 ? "Warning" : `${warnings.length} warnings`;
  const ul = document.createElement("ul");
  for (const w of warnings) {
    const li = document.createElement("li");
    li.textContent = explainWarning(w);
    ul.append(li);
  }
  ui.warnings.replaceChildren(h, ul);
}

/** lme4's terse messages with a plain-language note on what they mean for the results. */
function explainWarning(warning: string): string {
  // One line, ending in one full stop before the note ("Rescale variables?" keeps its question mark).
  const w = warning.replace(/\s*\n\s*/g, " ");
  const end = /[.?!]$/.test(w) ? w : `${w}.`;
  if (w.startsWith("boundary (singular) fit")) {
    return `${end} Some variance is estimated as zero (or a correlation as ±1): the random-effects structure is more than these data support; consider simplifying it.`;
  }
  if (w.startsWith("Model failed to converge") || w.startsWith("convergence code") || w.startsWith("Model is nearly unidentifiable")) {
    return `${end} The estimates may not be at the optimum: check the model and the scaling of covariates.`;
  }
  if (/rows? with missing values dropped/.test(w)) return `${w}: the fit uses only the complete rows of the variables in the formula.`;
  return w;
}

// Tables ---------------------------------------------------------------------------------------------

function renderTables(rows: TidyRow[], call: "lmer" | "glmer"): void {
  const fixed = rows.filter((r) => r.effect === "fixed");
  if (call === "lmer") {
    ui.fixedHint.textContent = "t tests with Satterthwaite's degrees of freedom (lmerTest); 95% Wald intervals.";
    table(
      ui.fixedTable,
      ["term", "estimate", "std. error", "df", "t value", "Pr(>|t|)", "2.5 %", "97.5 %"],
      fixed.map((r) => [r.term, fmt(r.estimate), fmt(r["std.error"]), fmt(r.df), fmt(r.statistic), fmtP(r["p.value"]), fmt(r["conf.low"]), fmt(r["conf.high"])]),
    );
  } else {
    ui.fixedHint.textContent = "Wald z tests and 95% Wald intervals (glmer's summary), on the scale of the linear predictor.";
    table(
      ui.fixedTable,
      ["term", "estimate", "std. error", "z value", "Pr(>|z|)", "2.5 %", "97.5 %"],
      fixed.map((r) => [r.term, fmt(r.estimate), fmt(r["std.error"]), fmt(r.statistic), fmtP(r["p.value"]), fmt(r["conf.low"]), fmt(r["conf.high"])]),
    );
  }
  const vc = rows.filter((r) => r.effect === "ran_pars");
  table(
    ui.varcompTable,
    ["group", "parameter", "estimate"],
    vc.map((r) => [r.group ?? "", describeParameter(r.term), fmt(r.estimate)]),
    2,
  );
}

/** broom.mixed's "sd__(Intercept)" / "cor__(Intercept).Days" / "sd__Observation" in words. */
function describeParameter(term: string): string {
  if (term === "sd__Observation") return "residual sd";
  if (term.startsWith("sd__")) return `sd of ${term.slice(4)}`;
  if (term.startsWith("cor__")) return `correlation ${term.slice(5)}`;
  return term;
}

// ---------------------------------------------------------------------------------------------------
// Wiring

function setupExamples(): void {
  for (const ex of EXAMPLES) {
    const o = document.createElement("option");
    o.value = ex.id;
    o.textContent = ex.title;
    ui.exampleSelect.append(o);
  }
  ui.exampleSelect.addEventListener("change", () => {
    const ex = EXAMPLES.find((e) => e.id === ui.exampleSelect.value);
    if (!ex) return;
    ui.fileInput.value = "";
    ui.levelsInput.value = "";
    ui.exampleDescription.textContent = ex.description;
    ui.formula.value = ex.formula;
    ui.family.value = ex.family;
    ui.link.value = "logit";
    ui.nagq.value = "1";
    document.querySelector<HTMLInputElement>(`input[name="criterion"][value="${ex.REML ? "REML" : "ML"}"]`)!.checked = true;
    updateFamilyControls();
    loadSource({
      kind: "example",
      id: ex.id,
      name: ex.id,
      csvUrl: new URL(ex.csv, location.href).href,
      levelsUrl: new URL(ex.levels, location.href).href,
    });
  });
}

function setupDataInputs(): void {
  ui.fileInput.addEventListener("change", () => useFiles(ui.fileInput.files?.[0], ui.levelsInput.files?.[0]));
  ui.levelsInput.addEventListener("change", () => {
    // New levels apply to the file already chosen (read again with them).
    if (source?.kind === "file") useFiles(source.file, ui.levelsInput.files?.[0]);
  });
  let depth = 0;
  // Files dropped in the many-response mode are not a data table: that mode takes its two files from its pickers.
  const single = () => document.body.dataset.mode !== "many";
  document.addEventListener("dragenter", (e) => {
    if (!e.dataTransfer?.types.includes("Files") || !single()) return;
    depth++;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove("dragging");
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length === 0 || !single()) return;
    const isJSON = (f: File) => /\.json$/i.test(f.name);
    const data = files.find((f) => !isJSON(f));
    const levels = files.find(isJSON);
    if (data) useFiles(data, levels);
    else if (levels && source?.kind === "file") useFiles(source.file, levels);
    else rejectSource(`'${levels?.name}' is a levels JSON file: drop it together with (or after) its CSV or TSV file`);
  });
  ui.dropHint.textContent += ` Files up to ${formatBytes(MAX_FILE_BYTES)}.`;
}

function setupFormula(): void {
  ui.formula.addEventListener("input", () => {
    errors.fit = null;
    updateFormulaCheck();
    updateSuggestions();
  });
  ui.formula.addEventListener("click", updateSuggestions);
  ui.formula.addEventListener("focus", updateSuggestions);
  ui.formula.addEventListener("blur", () => {
    suggestion = null;
    ui.suggestions.hidden = true;
  });
  ui.formula.addEventListener("keydown", (e) => {
    if (suggestion && !ui.suggestions.hidden) {
      const n = suggestion.items.length;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        suggestion.active = (suggestion.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        renderSuggestions();
        return;
      }
      if (e.key === "Tab" || (e.key === "Enter" && !e.isComposing)) {
        e.preventDefault();
        acceptSuggestion(suggestion.active);
        return;
      }
      if (e.key === "Escape") {
        suggestion = null;
        ui.suggestions.hidden = true;
        return;
      }
    }
    if (e.key === "Enter") {
      e.preventDefault();
      startFit();
    }
  });
  ui.formula.addEventListener("keyup", (e) => {
    if (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End") updateSuggestions();
  });
}

function setupResults(): void {
  ui.fit.addEventListener("click", startFit);
  ui.family.addEventListener("change", () => {
    updateFamilyControls();
    errors.fit = null;
    renderErrors();
  });
  ui.cancel.addEventListener("click", cancelFit);
  ui.downloadCSV.addEventListener("click", () => lastResult && download(new Blob([lastResult.tidyCSV], { type: "text/csv" }), `${lastResult.name}-tidy.csv`));
  ui.downloadJSON.addEventListener("click", () => lastResult?.json && download(new Blob([lastResult.json], { type: "application/json" }), `${lastResult.name}-fit.json`));
  ui.downloadSummary.addEventListener("click", () => lastResult && download(new Blob([lastResult.summary], { type: "text/plain" }), `${lastResult.name}-summary.txt`));
}

function main(): void {
  setupExamples();
  setupDataInputs();
  setupFormula();
  setupResults();
  updateFamilyControls();
  worker.start();
  setupManyMode();
  ui.footer.textContent =
    `Cross-origin isolated: ${globalThis.crossOriginIsolated ? "yes" : "no"} · fits run in a Web Worker with the WebAssembly engine · ` +
    `the JSON is the object lmm fit --json prints.`;
  document.getElementById("boot")?.remove();
  ui.main.hidden = false;
  setBodyState("data", "none");
  setBodyState("fit", "idle");
  // Safari has no requestIdleCallback; a timeout does the same job there.
  const idle = window.requestIdleCallback ?? ((f: () => void) => setTimeout(f, 500));
  idle(() => {
    timed("warm up plots", warmUp);
    timed("warm up many-response plots", warmUpMany);
  });
}

main();
