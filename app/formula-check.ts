// Live checks of the formula box: parse errors with their position, variables that are not columns of
// the loaded data, and column-name completion at the caret. Pure functions (no DOM) so they are easy
// to reason about; main.ts renders what they return.
import { parseFormula } from "../src/formula.js";
import { FormulaError, type Expr, type ParsedFormula } from "../src/formula-types.js";

export interface FormulaProblem {
  message: string;
  /** 0-based span in the formula text; pos < 0 when the problem has no single place. */
  pos: number;
  end: number;
}

export interface FormulaCheck {
  parsed: ParsedFormula | null;
  problems: FormulaProblem[];
}

/**
 * Every name the formula reads: the model frame looks each one up as a data column. (fitMany's
 * left side only names the responses, so `withResponse` false leaves it out.)
 */
function names(f: ParsedFormula, withResponse = true): Extract<Expr, { kind: "name" }>[] {
  const out = new Map<number, Extract<Expr, { kind: "name" }>>();
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case "name":
        out.set(e.pos, e);
        return;
      case "number":
        return;
      case "paren":
        return walk(e.expr);
      case "unary":
        return walk(e.arg);
      case "call":
        return e.args.forEach(walk);
      default:
        walk(e.left);
        walk(e.right);
    }
  };
  if (f.response && withResponse) walk(f.response);
  f.fixed.terms.forEach((t) => t.factors.forEach(walk));
  f.random.forEach((r) => {
    r.lhs.terms.forEach((t) => t.factors.forEach(walk));
    r.group.forEach(walk);
  });
  f.offsets.forEach(walk);
  return [...out.values()].sort((a, b) => a.pos - b.pos);
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

function closest(name: string, columns: string[]): string[] {
  const lower = name.toLowerCase();
  const scored = columns
    .map((c) => ({ c, d: c.toLowerCase() === lower ? 0 : distance(lower, c.toLowerCase()) }))
    .filter(({ d }) => d <= Math.max(1, Math.floor(name.length / 3)))
    .sort((a, b) => a.d - b.d);
  return scored.slice(0, 3).map(({ c }) => c);
}

/**
 * Parses the formula and checks it against the data's columns (null: no data loaded yet, only syntax
 * and structure are checked). The messages are the parser's own, or say what the fit would reject.
 * `oneSided`: a many-response formula (`~ condition + (1 | donor)`), whose responses are a matrix's rows.
 */
export function checkFormula(text: string, columns: string[] | null, opts: { oneSided?: boolean } = {}): FormulaCheck {
  let parsed: ParsedFormula;
  try {
    parsed = parseFormula(text);
  } catch (e) {
    if (e instanceof FormulaError) return { parsed: null, problems: [{ message: e.message.split("\n")[0], pos: e.pos, end: e.end }] };
    return { parsed: null, problems: [{ message: e instanceof Error ? e.message : String(e), pos: -1, end: -1 }] };
  }
  const problems: FormulaProblem[] = [];
  if (parsed.response === null && !opts.oneSided) problems.push({ message: "the formula has no response: write it left of ~, as in y ~ x + (1 | g)", pos: -1, end: -1 });
  if (parsed.random.length === 0) {
    problems.push({ message: "no random-effects term: add one like (1 | group), or (x | group) for a random slope", pos: -1, end: -1 });
  }
  if (columns) {
    const what = opts.oneSided ? "the metadata has" : "the data has";
    for (const nm of names(parsed, !opts.oneSided)) {
      if (columns.includes(nm.name)) continue;
      const close = closest(nm.name, columns);
      const hint = close.length ? `did you mean ${close.map((c) => `'${c}'`).join(" or ")}?` : `columns: ${columns.slice(0, 20).join(", ")}${columns.length > 20 ? ", ..." : ""}`;
      problems.push({ message: `unknown column '${nm.name}' at position ${nm.pos}: ${what} no column of that name (${hint})`, pos: nm.pos, end: nm.end });
    }
  }
  return { parsed, problems };
}

const ID_CHAR = /[\p{L}\p{N}._]/u;
const SYNTACTIC = /^(?:\p{L}|\.(?!\d))[\p{L}\p{N}._]*$/u;

/** A column name as the formula must spell it: backquoted unless it is a syntactic R name. */
export function quoteName(name: string): string {
  return SYNTACTIC.test(name) ? name : "`" + name.replace(/[`\\]/g, "\\$&") + "`";
}

export interface Suggestions {
  /** The span the chosen column replaces (the partial name at the caret). */
  start: number;
  end: number;
  items: string[];
}

/**
 * Column names completing the name at the caret, best first (prefix matches, then names containing
 * it). At an empty position right after an operator every column is offered.
 */
export function suggest(text: string, caret: number, columns: string[], max = 8): Suggestions {
  let start = caret;
  while (start > 0 && ID_CHAR.test(text[start - 1])) start--;
  let end = caret;
  while (end < text.length && ID_CHAR.test(text[end])) end++;
  const prefix = text.slice(start, caret).toLowerCase();
  if (prefix === "") {
    const before = text.slice(0, start).trimEnd();
    const afterOperator = before === "" || /[~+*:|(/,\-^]$/.test(before);
    return { start, end, items: afterOperator ? columns.slice(0, max) : [] };
  }
  const word = text.slice(start, end);
  const starts = columns.filter((c) => c.toLowerCase().startsWith(prefix) && c !== word);
  const contains = columns.filter((c) => !c.toLowerCase().startsWith(prefix) && c.toLowerCase().includes(prefix));
  return { start, end, items: [...starts, ...contains].slice(0, max) };
}
