// Types of a parsed lme4 formula. The parser (formula.ts) produces them; the model frame
// (modelframe.ts) evaluates them against a data table.

/** A node of the formula's expression tree; pos/end are 0-based character offsets into the formula text. */
export type Expr =
  | { kind: "name"; name: string; pos: number; end: number }
  | { kind: "number"; value: number; pos: number; end: number }
  | {
      kind: "call";
      fn: string;
      args: Expr[];
      /** Names of named arguments, e.g. poly(x, 2, raw = TRUE) gives [null, null, "raw"]; absent when no argument is named. */
      argNames?: (string | null)[];
      pos: number;
      end: number;
    }
  | { kind: "binary"; op: "+" | "-" | "*" | "/" | "^" | ":"; left: Expr; right: Expr; pos: number; end: number }
  | { kind: "unary"; op: "-" | "+"; arg: Expr; pos: number; end: number }
  | { kind: "paren"; expr: Expr; pos: number; end: number }
  | { kind: "bar"; op: "|" | "||"; left: Expr; right: Expr; pos: number; end: number };

/** One term of R's terms(): an interaction of variables (degree = factors.length). */
export interface Term {
  /** R's term label: "Days", "recipe:temperature", "log(x)", "I(x^2)", "scale(HEIGHT)". */
  label: string;
  /** The variables of the interaction in R's order: each a name or a call (log(x), I(...), scale(x), ...). */
  factors: Expr[];
}

/** A model formula's right-hand side after R's expansion (*, ^, /, -, 0/1). */
export interface FixedPart {
  intercept: boolean;
  /** Terms in R's order: by degree (main effects, then 2-way interactions, ...), then order of appearance. */
  terms: Term[];
}

/** One random-effects term after lme4's expansion of `a/b` and `||`. */
export interface RandomTerm {
  /** As lme4 deparses the bar: "Days | Subject", "1 | Subject", "0 + Days | Subject". */
  label: string;
  /** The model of the term's columns (the left of the bar). */
  lhs: FixedPart;
  /** Grouping variables; more than one means their interaction: (1|a:b) gives [a, b]. */
  group: Expr[];
  /** lme4's name of the grouping factor: "Subject", "cask:batch", "recipe:replicate". */
  groupLabel: string;
}

export interface ParsedFormula {
  source: string;
  response: Expr | null;
  fixed: FixedPart;
  /** Random terms in formula order (after expansion); the model sorts them by number of levels. */
  random: RandomTerm[];
  /** Arguments of offset(...) terms. */
  offsets: Expr[];
}

/** A formula that cannot be parsed or expanded; pos/end locate the offending token. */
export class FormulaError extends Error {
  constructor(
    message: string,
    readonly formula: string,
    readonly pos: number,
    readonly end: number = pos + 1,
  ) {
    super(`${message}\n  ${formula}\n  ${" ".repeat(Math.max(0, pos))}${"^".repeat(Math.max(1, end - pos))}`);
    this.name = "FormulaError";
  }
}
