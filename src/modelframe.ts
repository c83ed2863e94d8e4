// The model frame: (ParsedFormula, data) → the numeric ingredients of a mixed model, built as R/lme4
// build them: model.frame (evaluate the formula's variables, na.omit, drop unused factor levels),
// model.matrix (contrasts, interactions, R's column names and order), lme4's rank check of X
// (chkRank.drop.cols) and mkReTrms (random-effects model matrices and grouping factors).
// No Node-only APIs: this runs in browsers too.

import { dqrdc2, makeContrast, rPow, CONTRAST_TYPES, type Contrast, type ContrastType } from "./contrasts.js";
import { formatNumberR, numericToFactor, toColumns, type Column, type DataInput, type FactorColumn, type LevelsOption, type Table } from "./data.js";
import { deparse } from "./formula.js";
import { FormulaError, type Expr, type FixedPart, type ParsedFormula, type RandomTerm } from "./formula-types.js";

export interface FrameOptions {
  levels?: LevelsOption;
  contrasts?: Record<string, ContrastType>;
}

/**
 * What a generalized linear mixed model's frame adds (glmer): a response that may be a factor (or
 * logical), or a two-column cbind(successes, failures); and prior weights, a column of the data by
 * name or one value per data row (a row whose weight is missing is dropped, as R's model.frame does).
 */
export interface GlmFrameOptions {
  weights?: string | ArrayLike<number>;
}

export interface ContrastInfo {
  type: string;
  ordered: boolean;
  levels: string[];
  columns: string[];
  matrix: number[][];
}

export interface ReTermData {
  /** RandomTerm.label, e.g. "Days | Subject". */
  label: string;
  /** RandomTerm.groupLabel, e.g. "Subject", "cask:batch". */
  group: string;
  /** Levels of the grouping factor present in the rows used, in R's order. */
  levels: string[];
  /** Per used row: 0-based level index. */
  refs: Int32Array;
  /** Column names of the term's model matrix: ["(Intercept)", "Days"], ["conditionA", "conditionB"], ... */
  names: string[];
  /** Used rows × names.length, row-major. */
  Z: Float64Array;
  /**
   * Levels of each grouping variable (in RandomTerm.group order) in the rows used, as lme4's factorize
   * made them; `levels` holds the combinations present. For predictions on new data.
   */
  groupLevels?: string[][];
}

/** A variable of the model frame as the fit saw it (for coding new data the same way). */
export type FrameVariable =
  | { type: "numeric" }
  | { type: "factor" | "logical"; levels: string[]; ordered: boolean };

/** Centre and scale of a scale(...) call over the fitting data (R's "scaled:center", "scaled:scale"). */
export interface ScaleParameters {
  center: number;
  scale: number;
}

export interface ModelFrame {
  n: number;
  nDropped: number;
  /** Rows used (0-based indices into the input), after na.omit over all variables of the formula. */
  rows: Int32Array;
  responseName: string;
  y: Float64Array;
  offset: Float64Array | null;
  /** n × p, row-major, after dropping rank-deficient columns. */
  X: Float64Array;
  xNames: string[];
  /** Per X column, the index of its term (0 = intercept), as R's attr(X, "assign"). */
  assign: number[];
  termLabels: string[];
  droppedColumns: string[];
  /** Factors among the fixed effects, with their contrasts (null if none). */
  contrasts: Record<string, ContrastInfo> | null;
  /** In formula order. */
  reTerms: ReTermData[];
  warnings: string[];
  /**
   * Every variable of the frame by its label ("Days", "log(x)", "factor(dose)", "offset(log(t))"): numeric,
   * or a factor with its levels in the rows used (R's xlevels). For predictions on new data.
   */
  variables?: Record<string, FrameVariable>;
  /**
   * Centre and scale of each scale(...) call by its text ("scale(HEIGHT)"), from the fitting data, so
   * new data is scaled as the fit's data was (R's makepredictcall).
   */
  scaling?: Record<string, ScaleParameters>;
  /** GLMMs: the failures of a cbind(successes, failures) response (y holds the successes). */
  yFailures?: Float64Array;
  /** GLMMs: the levels of a factor or logical response; y is 1 where the level is not the first (R's binomial coding). */
  responseLevels?: string[];
  /** GLMMs: the prior weights of the rows used (the weights option). */
  weights?: Float64Array;
}

/**
 * Build the model frame of a parsed formula on a data set. The data is never modified. `glm` (glmer's
 * frames only) allows the GLMM response forms and prior weights.
 */
export function modelFrame(formula: ParsedFormula, data: DataInput | Table, options: FrameOptions = {}, glm?: GlmFrameOptions): ModelFrame {
  checkContrastOptions(options.contrasts);
  const table = withWeightsColumn(toColumns(data, { levels: options.levels }), glm?.weights);
  if (formula.response === null) throw new Error(`the formula '${formula.source}' has no response (left of ~)`);
  const scaling: Record<string, ScaleParameters> = {};
  const vars = evaluateVariables(formula, table, formulaExprs(formula, { glm: glm !== undefined, weights: glm?.weights !== undefined }), { mode: "record", values: scaling });
  const rows = completeRows(vars, table);
  checkFinite(vars, table, rows);
  const frame = subsetVariables(vars, rows);
  const warnings: string[] = [];
  const glmY = glm ? glmResponse(formula.response, frame) : null;
  const response = glmY ? glmY.y : responseValues(formula.response, frame);
  const offset = offsetValues(formula.offsets, frame);
  const fixed = fixedMatrix(formula.fixed, frame, rows.length, options.contrasts ?? {}, warnings);
  const reTerms = formula.random.map((t) => randomTerm(t, frame, rows.length));
  return {
    n: rows.length,
    nDropped: table.nrow - rows.length,
    rows,
    responseName: deparse(formula.response),
    y: response,
    offset,
    X: fixed.X,
    xNames: fixed.names,
    assign: fixed.assign,
    termLabels: formula.fixed.terms.map((t) => t.label),
    droppedColumns: fixed.dropped,
    contrasts: fixed.contrasts,
    reTerms,
    warnings,
    variables: frameVariables(frame),
    scaling,
    ...(glmY?.failures ? { yFailures: glmY.failures } : {}),
    ...(glmY?.levels ? { responseLevels: glmY.levels } : {}),
    ...(glm?.weights !== undefined ? { weights: (frame.get(WEIGHTS_LABEL) as { values: Float64Array }).values } : {}),
  };
}

/** The frame's name of the prior weights (R's model.frame calls the column "(weights)"). */
const WEIGHTS_LABEL = "(weights)";

/**
 * The table with the prior weights as a column "(weights)" (a copy of the column map: the caller's
 * table is not modified), so that na.omit and the finiteness checks treat them as any variable.
 */
function withWeightsColumn(table: Table, weights: string | ArrayLike<number> | undefined): Table {
  if (weights === undefined) return table;
  let values: Float64Array;
  if (typeof weights === "string") {
    const col = table.columns.get(weights);
    if (!col) throw new Error(`weights: the data has no column '${weights}' (columns: ${table.names.slice(0, 20).join(", ")})`);
    if (col.type !== "numeric") throw new Error(`weights: column '${weights}' is not numeric (it is a ${col.type})`);
    values = col.values;
  } else {
    if (weights.length !== table.nrow) throw new Error(`weights has ${weights.length} values but the data has ${table.nrow} rows`);
    values = Float64Array.from(weights as ArrayLike<number>, (v) => (v === null || v === undefined ? NaN : Number(v)));
  }
  const columns = new Map(table.columns);
  columns.set(WEIGHTS_LABEL, { type: "numeric", values });
  return { ...table, columns, names: [...table.names, WEIGHTS_LABEL] };
}

/**
 * A GLMM response (R's binomial initialize, lme4's mkRespMod): cbind(successes, failures) gives both
 * counts; a factor gives 1 for every level but the first (the first is failure) and keeps its levels;
 * a logical gives 1 for TRUE; numbers are themselves.
 */
function glmResponse(response: Expr, frame: Map<string, Column>): { y: Float64Array; failures?: Float64Array; levels?: string[] } {
  const parts = cbindParts(response);
  if (parts) {
    const [s, f] = parts.map((e) => frameVariable(frame, e));
    const numbers = (c: Column, e: Expr) => {
      if (c.type === "numeric") return c.values;
      if (c.type === "logical") return Float64Array.from(c.codes);
      throw new Error(`cbind(successes, failures): '${deparse(e)}' is a factor, not a count`);
    };
    return { y: numbers(s, parts[0]), failures: numbers(f, parts[1]) };
  }
  const col = frameVariable(frame, response);
  if (col.type === "numeric") return { y: col.values };
  if (col.type === "logical") return { y: Float64Array.from(col.codes) };
  return { y: Float64Array.from(col.codes, (c) => (c === 0 ? 0 : 1)), levels: col.levels.slice() };
}

/** The two columns of a cbind(successes, failures) response, or null for any other response. */
function cbindParts(response: Expr): [Expr, Expr] | null {
  if (response.kind !== "call" || response.fn !== "cbind") return null;
  if (response.args.length !== 2 || (response.argNames ?? []).some((n) => n !== null)) {
    throw new Error(`a cbind() response must have two unnamed columns, successes and failures: '${deparse(response)}'`);
  }
  return [response.args[0], response.args[1]];
}

function frameVariables(frame: Map<string, Column>): Record<string, FrameVariable> {
  const out: Record<string, FrameVariable> = {};
  for (const [label, col] of frame) {
    out[label] = col.type === "numeric" ? { type: "numeric" } : { type: col.type, levels: col.levels.slice(), ordered: col.ordered };
  }
  return out;
}

function checkContrastOptions(contrasts: Record<string, string> | undefined): void {
  for (const [name, type] of Object.entries(contrasts ?? {})) {
    if (!CONTRAST_TYPES.includes(type as ContrastType)) {
      throw new Error(`unknown contrast '${type}' for '${name}' (use one of ${CONTRAST_TYPES.join(", ")})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Variables: the distinct expressions of the formula, evaluated over all input rows (as R's
// model.frame evaluates them on the whole data before na.omit; so scale(x) uses every non-missing x).

/** An evaluated variable of the model frame. */
interface Variable {
  label: string;
  column: Column;
  /** The data columns it reads; a row is missing for the variable if any of them is. */
  sources: string[];
}

type Value = Column | { type: "scalar"; value: number };

/**
 * scale(x): "record" computes centre and scale from the data and stores them; "apply" uses stored
 * ones (new data is scaled with the fitting data's mean and sd).
 */
interface Scaling {
  mode: "record" | "apply";
  values: Record<string, ScaleParameters>;
}

interface EvalContext {
  table: Table;
  formula: ParsedFormula;
  /** The variable being evaluated, to name it in errors. */
  label: string;
  sources: Set<string>;
  scaling?: Scaling;
}

interface FormulaVariable {
  expr: Expr;
  label: string;
  role: "response" | "fixed" | "random" | "group" | "offset" | "weights";
  /** The part of the model that needs it, for errors: "the fixed effects", "the grouping factor 'Subject'", ... */
  part: string;
}

/**
 * All variables in R's order: response, fixed terms, random terms (left of the bar, grouping), offsets.
 * `parts` leaves out the response or the random terms (new data for predictions).
 */
function formulaExprs(
  formula: ParsedFormula,
  parts: { response?: boolean; random?: boolean; glm?: boolean; weights?: boolean } = {},
): FormulaVariable[] {
  const exprs: FormulaVariable[] = [];
  const add = (role: FormulaVariable["role"], part: string, expr: Expr, label = deparse(expr)) => exprs.push({ expr, label, role, part });
  if (formula.response && parts.response !== false) {
    // glmer's cbind(successes, failures): two variables, each evaluated as any other.
    const cb = parts.glm ? cbindParts(formula.response) : null;
    if (cb) cb.forEach((e) => add("response", "the response", e));
    else add("response", "the response", formula.response);
  }
  const addPart = (role: "fixed" | "random", name: string, part: FixedPart) =>
    part.terms.forEach((t) => t.factors.forEach((e) => add(role, name, e)));
  addPart("fixed", "the fixed effects", formula.fixed);
  if (parts.random !== false) {
    for (const t of formula.random) {
      addPart("random", `the random effects (${t.label})`, t.lhs);
      t.group.forEach((e) => add("group", `the grouping factor '${t.groupLabel}'`, e));
    }
  }
  formula.offsets.forEach((e) => add("offset", "the offset", e, offsetLabel(e)));
  // The weights are the table's "(weights)" column (withWeightsColumn).
  if (parts.weights) add("weights", "the weights", { kind: "name", name: WEIGHTS_LABEL, pos: 0, end: 0 }, WEIGHTS_LABEL);
  return exprs;
}

function offsetLabel(e: Expr): string {
  return `offset(${deparse(e)})`;
}

function evaluateVariables(formula: ParsedFormula, table: Table, exprs: FormulaVariable[], scaling?: Scaling): Map<string, Variable> {
  const vars = new Map<string, Variable>();
  for (const { expr, label } of exprs) {
    if (vars.has(label)) continue;
    const ctx: EvalContext = { table, formula, label, sources: new Set(), scaling };
    const value = evaluate(expr, ctx);
    const column = value.type === "scalar" ? constantColumn(value.value, table.nrow) : value;
    vars.set(label, { label, column, sources: [...ctx.sources] });
  }
  return vars;
}

function constantColumn(value: number, n: number): Column {
  return { type: "numeric", values: new Float64Array(n).fill(value) };
}

function evaluate(expr: Expr, ctx: EvalContext): Value {
  switch (expr.kind) {
    case "name":
      return lookupColumn(expr, ctx);
    case "number":
      return { type: "scalar", value: expr.value };
    case "paren":
      return evaluate(expr.expr, ctx);
    case "unary": {
      const v = numericArg(expr.arg, evaluate(expr.arg, ctx), ctx);
      return expr.op === "-" ? mapNumeric(v, (x) => -x) : v;
    }
    case "binary":
      return evaluateArithmetic(expr, ctx);
    case "call":
      return evaluateCall(expr, ctx);
    case "bar":
      throw formulaError(ctx, expr, `a random-effects term '${deparse(expr)}' cannot be used inside an expression`);
  }
}

function formulaError(ctx: EvalContext, expr: Expr, message: string): FormulaError {
  return new FormulaError(message, ctx.formula.source, expr.pos, expr.end);
}

function lookupColumn(expr: Extract<Expr, { kind: "name" }>, ctx: EvalContext): Column {
  const col = ctx.table.columns.get(expr.name);
  if (!col) {
    const close = closeNames(expr.name, ctx.table.names);
    const hint = close.length
      ? `did you mean ${close.map((c) => `'${c}'`).join(" or ")}?`
      : `columns: ${ctx.table.names.slice(0, 20).join(", ")}${ctx.table.names.length > 20 ? ", ..." : ""}`;
    throw formulaError(ctx, expr, `unknown variable '${expr.name}' at position ${expr.pos}: the data has no column of that name (${hint})`);
  }
  ctx.sources.add(expr.name);
  return col;
}

/** Column names close to a misspelt one: same up to case, or within a small edit distance. */
export function closeNames(name: string, names: string[]): string[] {
  const lower = name.toLowerCase();
  // Very short names are all within an edit or two of each other, so only suggest on case for those.
  const limit = name.length <= 2 ? 0 : name.length <= 4 ? 1 : 2;
  return names
    .map((n) => ({ n, d: n.toLowerCase() === lower ? 0 : editDistance(lower, n.toLowerCase()) }))
    .filter(({ d }) => d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ n }) => n);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The numbers of a value for arithmetic: logicals count as 0/1 (as in R), factors are an error. */
function numericArg(expr: Expr, v: Value, ctx: EvalContext): Value {
  if (v.type === "factor") {
    throw new Error(`${ctx.label}: '${deparse(expr)}' is a factor with ${v.levels.length} levels, not a numeric variable`);
  }
  if (v.type === "logical") return { type: "numeric", values: Float64Array.from(v.codes, (c) => (c < 0 ? NaN : c)) };
  return v;
}

function mapNumeric(v: Value, f: (x: number) => number): Value {
  if (v.type === "scalar") return { type: "scalar", value: f(v.value) };
  if (v.type !== "numeric") throw new Error("internal: mapNumeric on a factor");
  return { type: "numeric", values: v.values.map(f) };
}

function combineNumeric(a: Value, b: Value, f: (x: number, y: number) => number): Value {
  if (a.type === "scalar" && b.type === "scalar") return { type: "scalar", value: f(a.value, b.value) };
  const n = a.type === "numeric" ? a.values.length : (b as { values: Float64Array }).values.length;
  const get = (v: Value) => (v.type === "scalar" ? () => v.value : (i: number) => (v as { values: Float64Array }).values[i]);
  const ga = get(a);
  const gb = get(b);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(ga(i), gb(i));
  return { type: "numeric", values: out };
}

const ARITHMETIC: Record<string, (x: number, y: number) => number> = {
  "+": (x, y) => x + y,
  "-": (x, y) => x - y,
  "*": (x, y) => x * y,
  "/": (x, y) => x / y,
  "^": rPow,
};

/** Arithmetic inside I(...) or a function's argument (the parser has expanded the formula operators). */
function evaluateArithmetic(expr: Extract<Expr, { kind: "binary" }>, ctx: EvalContext): Value {
  const f = ARITHMETIC[expr.op];
  if (!f) throw formulaError(ctx, expr, `operator '${expr.op}' is not supported inside an expression ('${deparse(expr)}')`);
  const left = numericArg(expr.left, evaluate(expr.left, ctx), ctx);
  const right = numericArg(expr.right, evaluate(expr.right, ctx), ctx);
  return combineNumeric(left, right, f);
}

const MATH: Record<string, (x: number) => number> = {
  log: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  log1p: Math.log1p,
  exp: Math.exp,
  sqrt: Math.sqrt,
  abs: Math.abs,
};

const SUPPORTED = [...Object.keys(MATH), "scale", "I", "factor", "as.factor", "ordered", "offset"];

// Named arguments understood (positionally, in this order) by the functions evaluated here.
const NAMED_ARGS: Record<string, (string | null)[]> = { log: [null, "base"] };

function evaluateCall(expr: Extract<Expr, { kind: "call" }>, ctx: EvalContext): Value {
  const { fn, args } = expr;
  const label = deparse(expr);
  checkArgNames(expr, ctx);
  if (Object.hasOwn(MATH, fn)) return evaluateMath(expr, ctx);
  switch (fn) {
    case "I":
      expectArgs(expr, ctx, 1);
      return evaluate(args[0], ctx);
    case "scale":
      expectArgs(expr, ctx, 1);
      return scaleValue(numericArg(args[0], evaluate(args[0], ctx), ctx), label, ctx.scaling);
    case "factor":
    case "as.factor":
    case "ordered":
      expectArgs(expr, ctx, 1);
      return toFactor(evaluate(args[0], ctx), fn);
    case "offset":
      throw formulaError(ctx, expr, `offset() can only be a term of the formula, not part of '${label}'`);
    case "cbind":
      throw formulaError(ctx, expr, `a two-column cbind(successes, failures) response needs a binomial GLMM (glmer), not '${label}' here`);
    case "poly":
      throw formulaError(ctx, expr, `poly() is not supported: use I(x^2), ... or compute orthogonal polynomial columns beforehand`);
    default:
      throw formulaError(ctx, expr, `unsupported function '${fn}' in '${label}' (supported: ${SUPPORTED.join(", ")})`);
  }
}

function checkArgNames(expr: Extract<Expr, { kind: "call" }>, ctx: EvalContext): void {
  const allowed = NAMED_ARGS[expr.fn] ?? [];
  (expr.argNames ?? []).forEach((name, i) => {
    if (name !== null && allowed[i] !== name) {
      throw formulaError(ctx, expr.args[i] ?? expr, `argument '${name}' of ${expr.fn}() is not supported in '${deparse(expr)}'`);
    }
  });
}

function expectArgs(expr: Extract<Expr, { kind: "call" }>, ctx: EvalContext, min: number, max = min): void {
  const n = expr.args.length;
  if (n < min || n > max) {
    const want = min === max ? `${min}` : `${min} or ${max}`;
    throw formulaError(ctx, expr, `${expr.fn}() takes ${want} argument${max === 1 ? "" : "s"} here, got ${n} in '${deparse(expr)}'`);
  }
}

function evaluateMath(expr: Extract<Expr, { kind: "call" }>, ctx: EvalContext): Value {
  const f = MATH[expr.fn];
  // log(x, base) is R's two-argument log; the other functions take one argument.
  expectArgs(expr, ctx, 1, expr.fn === "log" ? 2 : 1);
  const x = numericArg(expr.args[0], evaluate(expr.args[0], ctx), ctx);
  if (expr.args.length === 1) return mapNumeric(x, f);
  const base = numericArg(expr.args[1], evaluate(expr.args[1], ctx), ctx);
  return combineNumeric(x, base, (v, b) => Math.log(v) / Math.log(b));
}

/**
 * R's scale(x): centre by the mean and divide by the sample sd, both over the non-missing values; or,
 * on new data, by the stored centre and scale of the fit (`key` is the call's text).
 */
function scaleValue(v: Value, key: string, scaling?: Scaling): Value {
  if (v.type === "scalar") return { type: "scalar", value: NaN };
  const x = (v as { values: Float64Array }).values;
  if (scaling?.mode === "apply") {
    const s = scaling.values[key];
    if (!s) throw new Error(`internal: no centre and scale stored for '${key}'`);
    return { type: "numeric", values: x.map((xi) => (xi - s.center) / s.scale) };
  }
  let sum = 0;
  let m = 0;
  for (const xi of x) if (!Number.isNaN(xi)) (sum += xi, m++);
  const mean = sum / m;
  let ss = 0;
  for (const xi of x) if (!Number.isNaN(xi)) ss += (xi - mean) ** 2;
  const sd = Math.sqrt(ss / Math.max(1, m - 1));
  if (scaling) scaling.values[key] = { center: mean, scale: sd };
  return { type: "numeric", values: x.map((xi) => (xi - mean) / sd) };
}

/** factor(x), as.factor(x), ordered(x): numbers get sorted levels, factors keep their level order. */
function toFactor(v: Value, fn: string): FactorColumn {
  const ordered = fn === "ordered";
  if (v.type === "scalar") return { ...numericToFactor(new Float64Array([v.value])), ordered };
  if (v.type === "numeric") return { ...numericToFactor(v.values), ordered };
  // factor() and ordered() drop unused levels; as.factor() keeps them (the frame drops them anyway).
  const f = fn === "as.factor" ? { ...v, type: "factor" as const } : dropUnusedLevels(v.levels, v.codes);
  return { type: "factor", levels: f.levels, codes: f.codes, ordered: ordered || (fn === "as.factor" && v.ordered) };
}

function dropUnusedLevels(levels: readonly string[], codes: Int32Array): { levels: string[]; codes: Int32Array } {
  const used = new Uint8Array(levels.length);
  let nUsed = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c >= 0 && used[c] === 0) (used[c] = 1), nUsed++;
  }
  // Every level used (the usual case): the codes stay as they are (copied: the result is never shared).
  if (nUsed === levels.length) return { levels: levels.slice(), codes: codes.slice() };
  const map = new Int32Array(levels.length).fill(-1);
  const kept: string[] = [];
  levels.forEach((l, i) => {
    if (used[i]) map[i] = kept.push(l) - 1;
  });
  const out = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i] < 0 ? -1 : map[codes[i]];
  return { levels: kept, codes: out };
}

// ---------------------------------------------------------------------------------------------------
// na.omit and the checks on evaluated values

function isMissingAt(col: Column, i: number): boolean {
  return col.type === "numeric" ? Number.isNaN(col.values[i]) : col.codes[i] < 0;
}

/** Rows where no data column read by the formula is missing (R's na.omit over the model frame). */
function completeRows(vars: Map<string, Variable>, table: Table): Int32Array {
  const sources = [...new Set([...vars.values()].flatMap((v) => v.sources))];
  const n = table.nrow;
  const missing = new Uint8Array(n);
  for (const name of sources) markMissing(table.columns.get(name)!, missing);
  let count = 0;
  for (let i = 0; i < n; i++) count += missing[i] ^ 1;
  if (count === 0) throw new Error(noRowsMessage(sources, table));
  const rows = new Int32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (!missing[i]) rows[k++] = i;
  return rows;
}

/** Sets missing[i] = 1 where the column is missing (one loop per column type: no per-row dispatch). */
function markMissing(col: Column, missing: Uint8Array): void {
  if (col.type === "numeric") {
    const v = col.values;
    for (let i = 0; i < v.length; i++) if (v[i] !== v[i]) missing[i] = 1;
  } else {
    const c = col.codes;
    for (let i = 0; i < c.length; i++) if (c[i] < 0) missing[i] = 1;
  }
}

/** Whether `rows` (increasing, from completeRows) is every row 0..n-1, so columns can be copied whole. */
function allRows(rows: Int32Array, n: number): boolean {
  return rows.length === n;
}

function noRowsMessage(sources: string[], table: Table): string {
  const counts = sources.map((name) => {
    const col = table.columns.get(name)!;
    let k = 0;
    for (let i = 0; i < table.nrow; i++) if (isMissingAt(col, i)) k++;
    return { name, k };
  });
  const all = counts.find((c) => c.k === table.nrow);
  if (all) return `no rows left after removing missing values (column ${all.name} is missing in all rows)`;
  const some = counts.filter((c) => c.k > 0).map((c) => `${c.name} (${c.k} missing)`);
  return `no rows left after removing missing values (every row has a missing value in one of: ${some.join(", ")})`;
}

/**
 * Missing values in the data are dropped, but an infinite value in the data or a NaN or infinite value
 * that a complete row produces (log of a negative number, division by zero) is an error: R would
 * silently drop or choke on such rows, and they almost always mean a mistake in the formula or data.
 */
function checkFinite(vars: Map<string, Variable>, table: Table, rows: Int32Array): void {
  const sources = new Set([...vars.values()].flatMap((v) => v.sources));
  // A variable that is a data column itself (most are) was checked with the columns.
  const checked = new Set<Float64Array>();
  for (const name of sources) {
    const col = table.columns.get(name)!;
    if (col.type !== "numeric") continue;
    if (!allFinite(col.values, rows)) {
      const inf = rows.filter((i) => !Number.isFinite(col.values[i]));
      throw new Error(`column '${name}' has infinite values in ${rowsText(inf)}`);
    }
    checked.add(col.values);
  }
  for (const v of vars.values()) {
    if (v.column.type !== "numeric") continue;
    const values = v.column.values;
    if (checked.has(values) || allFinite(values, rows)) continue;
    const nan = rows.filter((i) => Number.isNaN(values[i]));
    if (nan.length) throw new Error(`${v.label} gives NaN for ${rowsText(nan)}`);
    const inf = rows.filter((i) => !Number.isFinite(values[i]));
    if (inf.length) throw new Error(`${v.label} gives infinite values for ${rowsText(inf)}`);
  }
}

/** Whether values[i] is finite at every i of rows (the common case, checked in one tight loop). */
function allFinite(values: Float64Array, rows: Int32Array): boolean {
  if (allRows(rows, values.length)) {
    for (let i = 0; i < values.length; i++) if (values[i] - values[i] !== 0) return false;
    return true;
  }
  for (let k = 0; k < rows.length; k++) {
    const x = values[rows[k]];
    // x − x is 0 for a finite x and NaN for ±Infinity or NaN.
    if (x - x !== 0) return false;
  }
  return true;
}

function rowsText(rows: Int32Array): string {
  return `${rows.length} row${rows.length === 1 ? "" : "s"} (first: row ${rows[0] + 1})`;
}

// ---------------------------------------------------------------------------------------------------
// The frame: variables restricted to the rows used, factors without unused levels

function subsetVariables(vars: Map<string, Variable>, rows: Int32Array): Map<string, Column> {
  const frame = new Map<string, Column>();
  for (const [label, v] of vars) frame.set(label, subsetColumn(v.column, rows));
  return frame;
}

/** The column on the rows used; factors drop levels no used row has (model.frame's drop.unused.levels). */
function subsetColumn(col: Column, rows: Int32Array): Column {
  if (col.type === "numeric") return { type: "numeric", values: pick(col.values, rows, new Float64Array(rows.length)) };
  const codes = pick(col.codes, rows, new Int32Array(rows.length));
  // Logicals keep both levels: model.matrix codes them as factor(x, levels = c(FALSE, TRUE)).
  if (col.type === "logical") return { ...col, codes };
  return { type: "factor", ordered: col.ordered, ...dropUnusedLevels(col.levels, codes) };
}

function pick<T extends Float64Array | Int32Array>(from: T, rows: Int32Array, to: T): T {
  if (allRows(rows, from.length)) to.set(from);
  else for (let k = 0; k < rows.length; k++) to[k] = from[rows[k]];
  return to;
}

function frameVariable(frame: Map<string, Column>, expr: Expr): Column {
  const col = frame.get(deparse(expr));
  if (!col) throw new Error(`internal: variable '${deparse(expr)}' is not in the model frame`);
  return col;
}

function responseValues(response: Expr, frame: Map<string, Column>): Float64Array {
  const col = frameVariable(frame, response);
  if (col.type === "numeric") return col.values;
  if (col.type === "logical") return Float64Array.from(col.codes);
  throw new Error(`response '${deparse(response)}' is not numeric (it is a factor with ${col.levels.length} levels)`);
}

function offsetValues(offsets: Expr[], frame: Map<string, Column>): Float64Array | null {
  if (offsets.length === 0) return null;
  let sum: Float64Array | null = null;
  for (const e of offsets) {
    const col = frame.get(offsetLabel(e))!;
    if (col.type !== "numeric") throw new Error(`offset(${deparse(e)}) is not numeric`);
    sum = sum ? sum.map((v, i) => v + col.values[i]) : Float64Array.from(col.values);
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------------
// model.matrix

/** How one variable of a term enters the term's columns. */
type Coding =
  | { kind: "numeric"; label: string; values: Float64Array }
  | { kind: "factor"; label: string; codes: Int32Array; matrix: number[][]; suffixes: string[] };

interface ModelMatrix {
  /** Column-major columns. */
  columns: Float64Array[];
  names: string[];
  assign: number[];
  contrasts: Record<string, ContrastInfo>;
}

type FactorLike = Exclude<Column, { type: "numeric" }>;

function isFactorLike(col: Column): col is FactorLike {
  return col.type !== "numeric";
}

/**
 * R's model.matrix for one right-hand side: intercept, then each term's columns, a factor coded by
 * contrasts where the term without it is in the model (else by indicators of all its levels), columns
 * of an interaction with the first variable varying fastest.
 */
function modelMatrix(
  part: FixedPart,
  frame: Map<string, Column>,
  n: number,
  contrastTypes: Record<string, ContrastType>,
  /** Contrasts to use as they are (the fit's, when coding new data). */
  known: Record<string, ContrastInfo> = {},
): ModelMatrix {
  const mm: ModelMatrix = { columns: [], names: [], assign: [], contrasts: { ...known } };
  if (part.intercept) {
    mm.columns.push(new Float64Array(n).fill(1));
    mm.names.push("(Intercept)");
    mm.assign.push(0);
  }
  const codes = termCodes(part, frame);
  part.terms.forEach((term, j) => {
    const codings = term.factors.map((e, i) => variableCoding(deparse(e), frame, codes[j][i], contrastTypes, mm.contrasts));
    const block = termColumns(codings, n);
    mm.columns.push(...block.columns);
    mm.names.push(...block.names);
    block.names.forEach(() => mm.assign.push(j + 1));
  });
  return mm;
}

/**
 * For each term and each of its variables: true = code by contrasts, false = by indicators. This is R's
 * TermCode: contrasts when the term without the variable is empty or contained in an earlier term;
 * without an intercept, the first factor of the first term with a factor gets indicators.
 */
function termCodes(part: FixedPart, frame: Map<string, Column>): boolean[][] {
  const sets = part.terms.map((t) => new Set(t.factors.map((e) => deparse(e))));
  const codes = part.terms.map((t, j) =>
    t.factors.map((e) => {
      const rest = [...sets[j]].filter((v) => v !== deparse(e));
      if (rest.length === 0) return true;
      return sets.slice(0, j).some((s) => rest.every((v) => s.has(v)));
    }),
  );
  if (!part.intercept) {
    outer: for (let j = 0; j < part.terms.length; j++) {
      for (let i = 0; i < part.terms[j].factors.length; i++) {
        const col = frameVariable(frame, part.terms[j].factors[i]);
        if (isFactorLike(col) && col.levels.length > 1) {
          codes[j][i] = false;
          break outer;
        }
      }
    }
  }
  return codes;
}

function variableCoding(
  label: string,
  frame: Map<string, Column>,
  byContrasts: boolean,
  contrastTypes: Record<string, ContrastType>,
  used: Record<string, ContrastInfo>,
): Coding {
  const col = frame.get(label)!;
  if (!isFactorLike(col)) return { kind: "numeric", label, values: col.values };
  const info = used[label] ?? (used[label] = contrastInfo(label, col, contrastTypes[label]));
  if (byContrasts) return { kind: "factor", label, codes: col.codes, matrix: info.matrix, suffixes: info.columns };
  const identity = col.levels.map((_, i) => col.levels.map((_, j) => (i === j ? 1 : 0)));
  return { kind: "factor", label, codes: col.codes, matrix: identity, suffixes: col.levels.slice() };
}

/** The contrast of a factor: the requested type, else contr.poly for ordered factors, else contr.treatment. */
function contrastInfo(label: string, col: FactorLike, requested: ContrastType | undefined): ContrastInfo {
  if (col.levels.length < 2) {
    const which = col.levels.length ? `only one level ('${col.levels[0]}')` : "no levels";
    throw new Error(`factor '${label}' has ${which} in the rows used: contrasts can be applied only to factors with 2 or more levels`);
  }
  const type: ContrastType = requested ?? (col.ordered ? "contr.poly" : "contr.treatment");
  const c: Contrast = makeContrast(type, col.levels);
  return { type, ordered: col.ordered, levels: col.levels.slice(), columns: c.columns, matrix: c.matrix };
}

/** The columns of one term: products over its variables, the first variable varying fastest. */
function termColumns(codings: Coding[], n: number): { columns: Float64Array[]; names: string[] } {
  const widths = codings.map((c) => (c.kind === "numeric" ? 1 : c.suffixes.length));
  const total = widths.reduce((a, b) => a * b, 1);
  const columns: Float64Array[] = [];
  const names: string[] = [];
  const index = new Array<number>(codings.length).fill(0);
  for (let k = 0; k < total; k++) {
    names.push(codings.map((c, v) => (c.kind === "numeric" ? c.label : c.label + c.suffixes[index[v]])).join(":"));
    columns.push(productColumn(codings, index, n));
    for (let v = 0; v < index.length && ++index[v] === widths[v]; v++) index[v] = 0;
  }
  return { columns, names };
}

function productColumn(codings: Coding[], index: number[], n: number): Float64Array {
  // A lone numeric variable is its own column (1 × x is x exactly), not copied: model-matrix columns
  // are read-only intermediates, copied into the row-major X and Z.
  if (codings.length === 1 && codings[0].kind === "numeric") return codings[0].values;
  const out = new Float64Array(n).fill(1);
  for (let v = 0; v < codings.length; v++) {
    const c = codings[v];
    if (c.kind === "numeric") {
      const x = c.values;
      for (let r = 0; r < n; r++) out[r] *= x[r];
    } else {
      // The contrast column as an array indexed by level code: one load per row.
      const j = index[v];
      const byCode = Float64Array.from(c.matrix, (row) => row[j]);
      const codes = c.codes;
      for (let r = 0; r < n; r++) out[r] *= byCode[codes[r]];
    }
  }
  return out;
}

function rowMajor(columns: Float64Array[], n: number): Float64Array {
  const p = columns.length;
  const out = new Float64Array(n * p);
  // Row by row: sequential writes, and p sequential read streams.
  for (let r = 0, o = 0; r < n; r++) for (let j = 0; j < p; j++) out[o++] = columns[j][r];
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Fixed effects: model.matrix + lme4's chkRank.drop.cols

interface FixedMatrix {
  X: Float64Array;
  names: string[];
  assign: number[];
  dropped: string[];
  contrasts: Record<string, ContrastInfo> | null;
}

function fixedMatrix(part: FixedPart, frame: Map<string, Column>, n: number, contrastTypes: Record<string, ContrastType>, warnings: string[]): FixedMatrix {
  const mm = modelMatrix(part, frame, n, contrastTypes);
  for (const name of Object.keys(contrastTypes)) {
    // R's model.matrix warns the same way about a contrast for a variable not among the fixed effects.
    if (!(name in mm.contrasts)) warnings.push(`variable '${name}' is absent, its contrast will be ignored`);
  }
  const keep = fullRankColumns(mm.columns, n);
  const dropped = mm.names.filter((_, j) => !keep.includes(j));
  if (dropped.length > 0) warnings.push(rankMessage(dropped.length));
  if (!scalesComparable(keep.map((j) => mm.columns[j]))) warnings.push(SCALE_MESSAGE);
  return {
    X: rowMajor(keep.map((j) => mm.columns[j]), n),
    names: keep.map((j) => mm.names[j]),
    assign: keep.map((j) => mm.assign[j]),
    dropped,
    contrasts: Object.keys(mm.contrasts).length ? mm.contrasts : null,
  };
}

// lme4 1.1's checkScaleX warning (lmerControl(check.scaleX = "warning")).
const SCALE_MESSAGE = "Some predictor variables are on very different scales: consider rescaling";

/**
 * lme4's checkScaleX: the sds of the columns that are not all 0/1 must be within a factor of 1000 of
 * each other and of 1.
 */
function scalesComparable(columns: Float64Array[]): boolean {
  const logSds: number[] = [];
  for (const col of columns) {
    const n = col.length;
    if (n < 2) continue;
    // One pass for the 0/1 check and the sum (added in index order, as before).
    let sum = 0;
    let binary = true;
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (binary && v !== 0 && v !== 1) binary = false;
      sum += v;
    }
    if (binary) continue;
    const mean = sum / n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (col[i] - mean) ** 2;
    logSds.push(Math.log(Math.sqrt(ss / (n - 1))));
  }
  const limit = Math.log(1000);
  const spread = logSds.length ? Math.max(...logSds) - Math.min(...logSds) : 0;
  return logSds.every((l) => Math.abs(l) <= limit) && spread <= limit;
}

/** lme4's message (chkRank.drop.cols), singular or plural as ngettext gives it. */
function rankMessage(k: number): string {
  return k === 1
    ? "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient"
    : `fixed-effect model matrix is rank deficient so dropping ${k} columns / coefficients`;
}

/** Columns kept as lme4 keeps them: qr(X, tol = 1e-7, LAPACK = FALSE)$pivot[1:rank]. */
function fullRankColumns(columns: Float64Array[], n: number): number[] {
  const p = columns.length;
  if (p === 0) return [];
  if (clearlyFullRank(columns, n)) return Array.from({ length: p }, (_, j) => j);
  const x = new Float64Array(n * p);
  columns.forEach((c, j) => x.set(c, j * n));
  const qr = dqrdc2(x, n, p, 1e-7);
  return Array.from(qr.pivot.subarray(0, qr.rank));
}

/** Ratio of a column's part orthogonal to the earlier columns to its norm above which it is surely kept. */
const CLEAR_RANK_RATIO = 1e-4;

/**
 * Whether dqrdc2 (tol 1e-7) certainly keeps every column in order, decided from X'X in O(n p²/2) with
 * no n × p copy: the pivot d_j of X'X's Cholesky factor is the squared norm of column j's part
 * orthogonal to the columns before it, the quantity dqrdc2 compares with tol² × the column's squared
 * norm. When every ratio is above 1e-4, a thousand times dqrdc2's threshold and far beyond the
 * rounding differences between the two computations, no column is moved and the QR is not needed;
 * otherwise (a small ratio, a zero column, n < p, overflow) the QR itself decides.
 */
function clearlyFullRank(columns: Float64Array[], n: number): boolean {
  const p = columns.length;
  if (n < p) return false;
  const G = new Float64Array(p * p); // lower triangle: X'X, then its Cholesky factor in place
  for (let i = 0; i < p; i++) {
    const ci = columns[i];
    for (let j = 0; j <= i; j++) {
      const cj = columns[j];
      let s = 0;
      for (let r = 0; r < n; r++) s += ci[r] * cj[r];
      G[i * p + j] = s;
    }
  }
  for (let j = 0; j < p; j++) {
    const norm2 = G[j * p + j];
    let d = norm2;
    for (let k = 0; k < j; k++) d -= G[j * p + k] ** 2;
    if (!(d > CLEAR_RANK_RATIO ** 2 * norm2)) return false;
    const ljj = Math.sqrt(d);
    G[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = G[i * p + j];
      for (let k = 0; k < j; k++) s -= G[i * p + k] * G[j * p + k];
      G[i * p + j] = s / ljj;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Random effects: lme4's mkReTrms per term

function randomTerm(term: RandomTerm, frame: Map<string, Column>, n: number): ReTermData {
  // lme4 builds the term's model matrix with model.matrix(~ lhs, fr): default contrasts, no rank check.
  const mm = modelMatrix(term.lhs, frame, n, {});
  const factors = term.group.map((e) => groupingFactor(frameVariable(frame, e)));
  const group = interaction(factors);
  return {
    label: term.label,
    group: term.groupLabel,
    levels: group.levels,
    refs: group.codes,
    names: mm.names,
    Z: rowMajor(mm.columns, n),
    groupLevels: factors.map((f) => f.levels.slice()),
  };
}

/** A grouping variable as lme4's factorize/makeFac makes it: factor(x), unused levels dropped. */
function groupingFactor(col: Column): { levels: string[]; codes: Int32Array } {
  if (col.type === "numeric") return numericToFactor(col.values);
  return dropUnusedLevels(col.levels, col.codes);
}

/** lme4's a %i% b: levels "a1:b1", "a1:b2", ... with the first factor slowest, only combinations present. */
function interaction(factors: { levels: string[]; codes: Int32Array }[]): { levels: string[]; codes: Int32Array } {
  if (factors.length === 1) return factors[0];
  const n = factors[0].codes.length;
  const keys = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let key = 0;
    for (const f of factors) key = key * f.levels.length + f.codes[r];
    keys[r] = key;
  }
  const sorted = Array.from(new Set(keys)).sort((a, b) => a - b);
  const index = new Map<number, number>();
  sorted.forEach((k, i) => index.set(k, i));
  const levels = sorted.map((key) => {
    const parts: string[] = [];
    for (let f = factors.length - 1; f >= 0; f--) {
      const m = factors[f].levels.length;
      parts.unshift(factors[f].levels[key % m]);
      key = Math.floor(key / m);
    }
    return parts.join(":");
  });
  const codes = new Int32Array(n);
  for (let r = 0; r < n; r++) codes[r] = index.get(keys[r])!;
  return { levels, codes };
}

// ---------------------------------------------------------------------------------------------------
// New data: the fit's model matrices for other rows (R's model.frame(delete.response(terms), newdata,
// xlev = ...) with makepredictcall, and lme4's mkNewReTrms)

export interface NewReTerm {
  /** As ReTermData.label / .group. */
  label: string;
  group: string;
  /** Per new row: index into the fit's levels of the term; −1 for a level the fit did not have or a missing row. */
  refs: Int32Array;
  /** n × (the fit's names.length), row-major; NaN in missing rows. */
  Z: Float64Array;
  /** Levels of the grouping factor in the new data that the fit did not have, in order of appearance. */
  newLevels: string[];
}

export interface NewdataMatrices {
  /** Rows of the new data (all of them: a row with a missing value is kept and marked, R's na.pass). */
  n: number;
  /** n × p, row-major, the fit's columns (frame.xNames) coded as in the fit; NaN in missing rows. */
  X: Float64Array;
  /** Offsets evaluated on the new data, or null if the formula has none. */
  offset: Float64Array | null;
  /** Aligned with frame.reTerms (formula order); empty when random terms are not asked for. */
  reTerms: NewReTerm[];
  /** 1 where a variable the model needs is missing in that row. */
  missing: Uint8Array;
}

/**
 * The model matrices of new rows, coded exactly as the fit coded its data: the fit's factor levels
 * and contrasts, the same dropped rank-deficient columns, scale() with the fit's centre and scale,
 * the random-effects terms' levels and columns. The response is not needed. A missing column, a
 * variable of another type than in the fit, or a new level of a factor among the fixed effects (or
 * left of a bar) is an error; a new level of a grouping factor gives ref −1 (listed in newLevels).
 * `random: false` leaves the random terms out (their variables need not be in the new data).
 * The new data is never modified.
 */
export function newdataMatrices(
  formula: ParsedFormula,
  frame: ModelFrame,
  newdata: DataInput | Table,
  opts: { random?: boolean } = {},
): NewdataMatrices {
  const random = opts.random ?? true;
  if (!frame.variables) throw new Error("the model frame does not describe its variables (it was not built by modelFrame)");
  const table = toColumns(newdata);
  const exprs = formulaExprs(formula, { response: false, random });
  checkNewdataColumns(exprs, table);
  const vars = evaluateVariables(formula, table, exprs, { mode: "apply", values: frame.scaling ?? {} });
  const n = table.nrow;
  const missing = new Uint8Array(n);
  for (const name of new Set([...vars.values()].flatMap((v) => v.sources))) {
    const col = table.columns.get(name)!;
    for (let i = 0; i < n; i++) if (isMissingAt(col, i)) missing[i] = 1;
  }
  // The frame of the new rows with the fit's coding; grouping variables are matched to their levels apart.
  const coded = new Map<string, Column>();
  const codedLabels = new Set(exprs.filter((e) => e.role !== "group").map((e) => e.label));
  for (const [label, v] of vars) {
    if (!codedLabels.has(label)) continue;
    const info = frame.variables[label];
    if (!info) throw new Error(`internal: variable '${label}' is not in the fit's model frame`);
    coded.set(label, codeLikeFit(label, v.column, info, missing));
  }

  const mm = modelMatrix(formula.fixed, coded, n, {}, frame.contrasts ?? {});
  const p = frame.xNames.length;
  const X = new Float64Array(n * p);
  frame.xNames.forEach((name, j) => {
    const col = mm.columns[mm.names.indexOf(name)];
    if (!col) throw new Error(`internal: column '${name}' of the fit is not in the new model matrix (${mm.names.join(", ")})`);
    for (let r = 0; r < n; r++) X[r * p + j] = col[r];
  });
  const offset = offsetValues(formula.offsets, coded);
  const reTerms = random ? formula.random.map((t, i) => newReTerm(t, frame.reTerms[i], vars, coded, n, missing)) : [];
  // Missing rows: NaN in every matrix and no level (their codes were placeholders).
  for (let r = 0; r < n; r++) {
    if (!missing[r]) continue;
    X.fill(NaN, r * p, (r + 1) * p);
    for (const t of reTerms) {
      const k = t.Z.length / n;
      t.Z.fill(NaN, r * k, (r + 1) * k);
      t.refs[r] = -1;
    }
  }
  return { n, X, offset, reTerms, missing };
}

/** Every data column the variables read must be in the new data; the error names it and its use. */
function checkNewdataColumns(exprs: FormulaVariable[], table: Table): void {
  for (const { expr, part } of exprs) {
    for (const name of exprNames(expr)) {
      if (!table.columns.has(name)) {
        const close = closeNames(name, table.names);
        const hint = close.length ? `; did you mean ${close.map((c) => `'${c}'`).join(" or ")}?` : "";
        throw new Error(`newdata has no column '${name}' (needed by ${part})${hint}`);
      }
    }
  }
}

/** Names (data columns) an expression reads. */
function exprNames(expr: Expr): string[] {
  switch (expr.kind) {
    case "name":
      return [expr.name];
    case "number":
      return [];
    case "paren":
      return exprNames(expr.expr);
    case "unary":
      return exprNames(expr.arg);
    case "binary":
    case "bar":
      return [...exprNames(expr.left), ...exprNames(expr.right)];
    case "call":
      return expr.args.flatMap(exprNames);
  }
}

/**
 * A variable evaluated on new data, coded as in the fit: a factor gets the fit's levels (a level
 * the fit did not have is an error, as R's "factor x has new level(s)"); missing rows get code 0 and
 * are marked in `missing`.
 */
function codeLikeFit(label: string, col: Column, info: FrameVariable, missing: Uint8Array): Column {
  if (info.type === "numeric") {
    if (col.type === "factor") {
      throw new Error(`variable '${label}' was numeric in the fit but is a factor in newdata (levels ${col.levels.slice(0, 5).join(", ")}${col.levels.length > 5 ? ", ..." : ""})`);
    }
    // Logicals count as 0/1, as in arithmetic.
    return col.type === "logical" ? { type: "numeric", values: Float64Array.from(col.codes, (c) => (c < 0 ? NaN : c)) } : col;
  }
  const { codes, unknown } = matchLevels(col, info.levels);
  if (unknown.length) {
    const shown = info.levels.slice(0, 10).join(", ") + (info.levels.length > 10 ? ", ..." : "");
    throw new Error(
      `factor '${label}' has new level${unknown.length === 1 ? "" : "s"} ${unknown.map((l) => `'${l}'`).join(", ")} in newdata ` +
        `(the fit's levels: ${shown})`,
    );
  }
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] < 0) (missing[i] = 1, (codes[i] = 0));
  }
  if (info.type === "logical") return { type: "logical", levels: ["FALSE", "TRUE"], codes, ordered: false };
  return { type: "factor", levels: info.levels.slice(), codes, ordered: info.ordered };
}

/**
 * Codes of a new column in the fit's levels: −1 where missing, −2 where the value is not among them.
 * Factor levels match by label; numbers by value (or their label), so a numeric column in the new
 * data matches a factor the fit made of numbers or of a levels option; 0/1 match FALSE/TRUE.
 */
function matchLevels(col: Column, levels: string[]): { codes: Int32Array; unknown: string[]; labelAt: (i: number) => string } {
  const index = new Map<string, number>();
  levels.forEach((l, i) => index.has(l) || index.set(l, i));
  const unknown = new Set<string>();
  const note = (l: string) => unknown.add(l);
  const n = col.type === "numeric" ? col.values.length : col.codes.length;
  const codes = new Int32Array(n);
  if (col.type !== "numeric") {
    const map = col.levels.map((l) => index.get(l) ?? -2);
    for (let i = 0; i < n; i++) {
      const c = col.codes[i];
      codes[i] = c < 0 ? -1 : map[c];
      if (codes[i] === -2) note(col.levels[c]);
    }
    return { codes, unknown: [...unknown], labelAt: (i) => (col.codes[i] < 0 ? "NA" : col.levels[col.codes[i]]) };
  }
  const byValue = new Map<number, number>();
  levels.forEach((l, i) => {
    const v = l === "FALSE" ? 0 : l === "TRUE" ? 1 : l.trim() === "" ? NaN : Number(l);
    if (!Number.isNaN(v) && !byValue.has(v)) byValue.set(v, i);
  });
  const label = (v: number) => (Number.isInteger(v) && Math.abs(v) <= 2147483647 ? String(v) : formatNumberR(v));
  for (let i = 0; i < n; i++) {
    const v = col.values[i];
    if (Number.isNaN(v)) codes[i] = -1;
    else {
      codes[i] = byValue.get(v) ?? index.get(label(v)) ?? index.get(formatNumberR(v)) ?? -2;
      if (codes[i] === -2) note(label(v));
    }
  }
  return { codes, unknown: [...unknown], labelAt: (i) => (Number.isNaN(col.values[i]) ? "NA" : label(col.values[i])) };
}

/** One random term on new data: its columns as in the fit and each row's level of the fit (lme4's mkNewReTrms). */
function newReTerm(
  term: RandomTerm,
  fit: ReTermData,
  vars: Map<string, Variable>,
  coded: Map<string, Column>,
  n: number,
  missing: Uint8Array,
): NewReTerm {
  if (!fit || fit.label !== term.label) throw new Error(`internal: random term '${term.label}' does not match the fit's terms`);
  const mm = modelMatrix(term.lhs, coded, n, {});
  if (mm.names.join("\u0000") !== fit.names.join("\u0000")) {
    throw new Error(`internal: columns of (${term.label}) on newdata (${mm.names.join(", ")}) differ from the fit's (${fit.names.join(", ")})`);
  }
  const groupLevels = fit.groupLevels ?? (term.group.length === 1 ? [fit.levels] : null);
  if (!groupLevels) throw new Error(`internal: the fit's levels of the grouping variables of (${term.label}) are not known`);
  const matched = term.group.map((e, v) => matchLevels(vars.get(deparse(e))!.column, groupLevels[v]));
  const index = new Map<string, number>();
  fit.levels.forEach((l, j) => index.set(l, j));
  const refs = new Int32Array(n);
  const newLevels = new Set<string>();
  for (let r = 0; r < n; r++) {
    refs[r] = -1;
    if (matched.some((m) => m.codes[r] === -1)) {
      missing[r] = 1;
      continue;
    }
    const known = matched.every((m) => m.codes[r] >= 0);
    const level = matched.map((m, v) => (known ? groupLevels[v][m.codes[r]] : m.labelAt(r))).join(":");
    const j = known ? index.get(level) : undefined;
    if (j === undefined) newLevels.add(level);
    else refs[r] = j;
  }
  return { label: term.label, group: fit.group, refs, Z: rowMajor(mm.columns, n), newLevels: [...newLevels] };
}
