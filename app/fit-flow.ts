// What the page's two modes (main.ts: one model; many-page.ts: a model per response) share in running a
// fit: their error messages, the formula box's live check and the column buttons, the checks before a
// fit, the Fit and Cancel buttons, and what happens when their worker dies. Each mode keeps its own
// state (data, the run in progress) and passes in what differs: messages, names, the request.
import { errorPara, highlighted, markedFormula, setErrors, type ErrorChannel } from "./errorbox.js";
import { checkFormula, quoteName, type FormulaProblem } from "./formula-check.js";
import type { ColumnInfo, ErrorSpan } from "./protocol.js";

/** A mode's messages in the error box: about its data, its formula and its last fit. */
export interface FitErrors {
  data: string | null;
  formula: FormulaProblem[];
  fit: { message: string; span?: ErrorSpan } | null;
}

/** The controls of a mode that run a fit. */
export interface FitControls {
  formula: HTMLInputElement;
  formulaStatus: HTMLElement;
  fit: HTMLButtonElement;
  cancel: HTMLButtonElement;
  progress: HTMLElement;
}

/** A mode: its error channel, the body data attribute of its fit's state, its messages and controls. */
export interface FitMode {
  channel: ErrorChannel;
  fitState: "fit" | "manyFit";
  errors: FitErrors;
  ui: FitControls;
}

export type RunEnd = "done" | "error" | "cancelled" | "idle";

export function renderErrors(mode: FitMode): void {
  const { errors, ui } = mode;
  const parts: HTMLElement[] = [];
  if (errors.data) parts.push(errorPara(`Data: ${errors.data}`));
  for (const p of errors.formula) {
    parts.push(errorPara(`Formula: ${p.message}`));
    if (p.pos >= 0) parts.push(markedFormula(ui.formula.value, p.pos, p.end));
  }
  if (errors.fit) {
    parts.push(errorPara(`Fit: ${errors.fit.message}`));
    if (errors.fit.span) parts.push(markedFormula(errors.fit.span.formula, errors.fit.span.pos, errors.fit.span.end));
  }
  setErrors(mode.channel, parts);
}

/** The formula box's live check against the data's columns (null: no data yet), shown under the box and in the error box. */
export function updateFormulaCheck(mode: FitMode, columns: string[] | null, opts: { oneSided?: boolean } = {}): void {
  const { errors, ui } = mode;
  const text = ui.formula.value;
  if (text.trim() === "") {
    errors.formula = [];
    ui.formula.classList.remove("invalid");
    ui.formulaStatus.textContent = "";
    renderErrors(mode);
    return;
  }
  const check = checkFormula(text, columns, opts);
  errors.formula = check.problems;
  ui.formula.classList.toggle("invalid", check.problems.length > 0);
  ui.formula.setAttribute("aria-invalid", String(check.problems.length > 0));
  const first = check.problems.find((p) => p.pos >= 0);
  ui.formulaStatus.replaceChildren(...(first ? highlighted(text, first.pos, first.end) : []));
  if (!first && check.parsed && check.problems.length === 0) {
    const r = check.parsed.random.map((t) => `(${t.label})`).join(" ");
    ui.formulaStatus.textContent = `✓ fixed: ${check.parsed.fixed.terms.map((t) => t.label).join(" + ") || "intercept only"}; random: ${r}`;
  }
  renderErrors(mode);
}

/** Inserts text at the input's caret (replacing its selection) and keeps the focus there. */
export function insertAtCaret(input: HTMLInputElement, text: string): void {
  const v = input.value;
  const a = input.selectionStart ?? v.length, b = input.selectionEnd ?? v.length;
  input.value = v.slice(0, a) + text + v.slice(b);
  input.focus();
  input.setSelectionRange(a + text.length, a + text.length);
}

export function columnType(c: ColumnInfo): string {
  return c.type === "numeric" ? "numeric" : `${c.type}, ${c.nlevels} level${c.nlevels === 1 ? "" : "s"}`;
}

/** The data's columns as buttons (data-testid `testid`); clicking one hands its name, quoted as needed, to `insert`. */
export function columnButtons(columns: ColumnInfo[], testid: string, insert: (name: string) => void): HTMLDivElement {
  const list = document.createElement("div");
  list.className = "columns";
  list.dataset.testid = testid;
  for (const c of columns) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = c.name;
    const t = document.createElement("span");
    t.className = "type";
    t.textContent = columnType(c);
    b.append(t);
    b.title = `${c.name}: ${columnType(c)}${c.missing ? `, ${c.missing} missing` : ""}`;
    b.addEventListener("click", () => insert(quoteName(c.name)));
    list.append(b);
  }
  return list;
}

/**
 * The checks before a fit: data there and usable, a formula with no problems, and a request the
 * controls describe (`request` returns the reason when they describe none). The request, or null once
 * the error box says why there is none.
 */
export function checkedRequest<R>(mode: FitMode, o: { hasData: boolean; noData: string; emptyFormula: string; request: () => R | string }): R | null {
  const { errors, ui } = mode;
  errors.fit = null;
  if (!o.hasData || errors.data) {
    errors.fit = { message: errors.data ? "no usable data: see the data error above" : o.noData };
    renderErrors(mode);
    return null;
  }
  if (ui.formula.value.trim() === "") {
    errors.fit = { message: o.emptyFormula };
    renderErrors(mode);
    return null;
  }
  if (errors.formula.length > 0) {
    renderErrors(mode);
    ui.formula.focus();
    return null;
  }
  const req = o.request();
  if (typeof req === "string") {
    errors.fit = { message: req };
    renderErrors(mode);
    return null;
  }
  renderErrors(mode);
  return req;
}

/** The Fit and Cancel buttons and the body's state while a fit runs. */
export function beginRun(mode: FitMode): void {
  mode.ui.fit.disabled = true;
  mode.ui.cancel.hidden = false;
  document.body.dataset[mode.fitState] = "running";
}

/** The same once it has ended (or was never running). */
export function endRun(mode: FitMode, state: RunEnd): void {
  mode.ui.fit.disabled = false;
  mode.ui.cancel.hidden = true;
  document.body.dataset[mode.fitState] = state;
}

/** What stopping a fit and a worker's death do with a mode's worker. */
export interface ReplaceableWorker {
  readonly started: boolean;
  start(): void;
  terminate(): void;
  restart(): void;
}

/**
 * A mode's worker (a module worker): started, replaced, and whether the current one has started (its
 * module loaded and ran: it said "ready"). Its other messages go to `onMessage`, its error event to
 * `onError` (see onWorkerError).
 */
export class PageWorker<To, From extends { type: string }> implements ReplaceableWorker {
  private worker: Worker | null = null;
  private ready = false;

  constructor(
    private readonly url: URL,
    private readonly name: string,
    private readonly onMessage: (msg: Exclude<From, { type: "ready" }>) => void,
    private readonly onError: (e: ErrorEvent) => void,
  ) {}

  /** Whether a worker was ever started. */
  get exists(): boolean {
    return this.worker !== null;
  }

  /** Whether the current worker has started. */
  get started(): boolean {
    return this.ready;
  }

  start(): void {
    const w = new Worker(this.url, { type: "module", name: this.name });
    this.worker = w;
    this.ready = false;
    w.onmessage = (e: MessageEvent<From>) => {
      if (e.data.type === "ready") this.ready = true;
      else this.onMessage(e.data as Exclude<From, { type: "ready" }>);
    };
    w.onerror = this.onError;
  }

  post(msg: To): void {
    this.worker!.postMessage(msg);
  }

  terminate(): void {
    this.worker?.terminate();
  }

  /** A new worker in place of the current one: the only way to stop a fit. */
  restart(): void {
    this.terminate();
    this.start();
  }
}

/** Stops the fit in progress by replacing the worker; the progress line says why. */
export function stopRun(mode: FitMode, worker: ReplaceableWorker, finish: (state: RunEnd) => void, text: string): void {
  worker.restart();
  finish("cancelled");
  mode.ui.progress.textContent = text;
}

/** The text once a fit started at `start` (performance.now()) is cancelled. */
export function cancelledText(start: number): string {
  const seconds = (performance.now() - start) / 1000;
  return `Fit cancelled after ${seconds.toFixed(1)} s.`;
}

/** A fit's "fit-error" message: shown in the error box, the run ended. */
export function showFitError(mode: FitMode, msg: { message: string; span?: ErrorSpan }, finish: (state: RunEnd) => void): void {
  mode.errors.fit = { message: msg.message, span: msg.span };
  finish("error");
  mode.ui.progress.textContent = "";
  renderErrors(mode);
}

/**
 * A worker that fails to load or dies (e.g. out of memory) reports through its error event, not its
 * messages. One that never started would fail the same way again, so the mode's Fit button is
 * disabled; otherwise a new worker starts, `dataCrash` handles a death while reading the
 * data (true: handled), and else the data is read again (`reload`) and the error box says so.
 */
export function onWorkerError(
  mode: FitMode,
  e: ErrorEvent,
  worker: ReplaceableWorker,
  o: {
    finish: (state: RunEnd) => void;
    isRunning: () => boolean;
    dataCrash: (what: string) => boolean;
    reload: () => void;
    cannotStart: (what: string) => string;
    stopped: (what: string) => string;
  },
): void {
  e.preventDefault();
  const what = e.message ? ` (${e.message})` : "";
  worker.terminate();
  if (!worker.started) {
    o.finish("error");
    mode.errors.fit = { message: o.cannotStart(what) };
    mode.ui.fit.disabled = true;
    renderErrors(mode);
    return;
  }
  worker.start();
  if (o.dataCrash(what)) return;
  o.finish(o.isRunning() ? "error" : "idle");
  o.reload();
  mode.errors.fit = { message: o.stopped(what) };
  renderErrors(mode);
}

/** The width of a mode's plots, from the width of its results. */
export function plotWidth(results: HTMLElement): number {
  return Math.max(480, Math.min(1000, results.clientWidth - 40));
}

/** Lets the browser paint between pieces of work on this thread. */
export const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0)));
