// Parser for lme4 model formulas: `response ~ fixed + (lhs | group) + ...`.
//
// Three stages:
//   1. lex + parse the text into an expression tree with R's operator precedence;
//   2. split the right-hand side into the fixed part and the random-effects terms (lme4's
//      nobars / findbars, with expandDoubleVerts for `||` and expandSlash for `a/b` groups);
//   3. expand each model part into terms exactly as R's terms.formula() does
//      (src/library/stats/src/model.c: ExtractVars, EncodeVars, TrimRepeats, ordering by degree).
// Labels are produced with a port of the relevant parts of R's deparse().
//
// No dependencies and no Node-only APIs: this runs in browsers too.

import { FormulaError } from "./formula-types.js";
import type { Expr, FixedPart, ParsedFormula, RandomTerm, Term } from "./formula-types.js";

export * from "./formula-types.js";

// ---------------------------------------------------------------------------------------------
// Lexer

type TokType = "name" | "num" | "str" | "op" | "eof";

interface Token {
  type: TokType;
  /** Operator text (normalised: `**` becomes `^`), or the name (unquoted) for names. */
  text: string;
  pos: number;
  end: number;
  /** Numbers: the value. */
  value?: number;
  /** Names: written with backquotes. */
  quoted?: boolean;
}

const SINGLE_OPS = new Set(["~", "+", "-", "*", "/", "^", ":", "|", "(", ")", ",", "="]);
const UNSUPPORTED_OP_CHARS = "<>!&=";

function isIdStart(ch: string): boolean {
  return /[\p{L}]/u.test(ch);
}
function isIdChar(ch: string): boolean {
  return /[\p{L}\p{N}._]/u.test(ch);
}
function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= "0" && ch <= "9";
}

function lex(src: string): Token[] {
  const toks: Token[] = [];
  const fail = (msg: string, pos: number, end = pos + 1): never => {
    throw new FormulaError(msg, src, pos, end);
  };
  let i = 0;
  const n = src.length;
  while (i < n) {
    const ch = src[i];
    if (/\s/u.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    // names: letters or '.' (not followed by a digit) first, then letters, digits, '.', '_'
    if (isIdStart(ch) || (ch === "." && !isDigit(src[i + 1]))) {
      i++;
      while (i < n && isIdChar(src[i])) i++;
      toks.push({ type: "name", text: src.slice(start, i), pos: start, end: i });
      continue;
    }
    // numbers: 12, 1.5, .5, 1., 1e-3, 0x1F, optionally with R's integer suffix L
    if (isDigit(ch) || (ch === "." && isDigit(src[i + 1]))) {
      const rest = src.slice(i);
      const m = /^0[xX][0-9a-fA-F]+/.exec(rest) ?? /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest);
      const text = m![0];
      i += text.length;
      const value = Number(text);
      if (src[i] === "L") i++;
      else if (src[i] === "i") fail(`complex numbers are not supported at position ${start}`, start, i + 1);
      toks.push({ type: "num", text: src.slice(start, i), pos: start, end: i, value });
      continue;
    }
    if (ch === "`") {
      let name = "";
      i++;
      while (i < n && src[i] !== "`") {
        if (src[i] === "\\" && i + 1 < n) i++;
        name += src[i];
        i++;
      }
      if (i >= n) fail(`unterminated backquoted name starting at position ${start}`, start, n);
      i++;
      if (name === "") fail(`empty backquoted name at position ${start}`, start, i);
      toks.push({ type: "name", text: name, pos: start, end: i, quoted: true });
      continue;
    }
    if (ch === '"' || ch === "'") {
      i++;
      while (i < n && src[i] !== ch) {
        if (src[i] === "\\") i++;
        i++;
      }
      if (i >= n) fail(`unterminated string starting at position ${start}`, start, n);
      i++;
      toks.push({ type: "str", text: src.slice(start, i), pos: start, end: i });
      continue;
    }
    if (ch === "%") {
      i++;
      while (i < n && src[i] !== "%" && src[i] !== "\n") i++;
      if (src[i] !== "%") fail(`unterminated operator '%...%' starting at position ${start}`, start, i);
      i++;
      toks.push({ type: "op", text: src.slice(start, i), pos: start, end: i });
      continue;
    }
    if (ch === "*" && src[i + 1] === "*") {
      i += 2;
      toks.push({ type: "op", text: "^", pos: start, end: i });
      continue;
    }
    if (ch === "|" && src[i + 1] === "|") {
      i += 2;
      toks.push({ type: "op", text: "||", pos: start, end: i });
      continue;
    }
    if (ch === "=" && src[i + 1] !== "=") {
      i++;
      toks.push({ type: "op", text: "=", pos: start, end: i });
      continue;
    }
    if (SINGLE_OPS.has(ch)) {
      i++;
      toks.push({ type: "op", text: ch, pos: start, end: i });
      continue;
    }
    if (UNSUPPORTED_OP_CHARS.includes(ch)) {
      while (i < n && UNSUPPORTED_OP_CHARS.includes(src[i])) i++;
      const op = src.slice(start, i);
      fail(`unsupported operator '${op}' at position ${start} (use I(...) only for arithmetic: + - * / ^)`, start, i);
    }
    fail(`unexpected character '${ch}' at position ${start}`, start);
  }
  toks.push({ type: "eof", text: "", pos: n, end: n });
  return toks;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree (a superset of the public Expr: any %op%, and operator positions for messages)

type Node =
  | { kind: "name"; name: string; pos: number; end: number }
  | { kind: "number"; value: number; pos: number; end: number }
  | { kind: "call"; fn: string; args: Node[]; argNames?: (string | null)[]; pos: number; end: number }
  | { kind: "binary"; op: string; left: Node; right: Node; pos: number; end: number; opPos: number; opEnd: number }
  | { kind: "unary"; op: "-" | "+"; arg: Node; pos: number; end: number }
  | { kind: "paren"; expr: Node; pos: number; end: number }
  | { kind: "bar"; op: "|" | "||"; left: Node; right: Node; pos: number; end: number; opPos: number; opEnd: number };

type BinaryNode = Extract<Node, { kind: "binary" }>;
type BarNode = Extract<Node, { kind: "bar" }>;

/** Words R's parser does not accept as names (the constants among them are kept as names). */
const KEYWORDS = new Set(["if", "else", "repeat", "while", "function", "for", "in", "next", "break"]);
const CONSTANTS = new Set([
  "TRUE", "FALSE", "NULL", "NA", "Inf", "NaN", "NA_integer_", "NA_real_", "NA_character_", "NA_complex_",
]);

/** Left binding powers of the binary operators, in R's precedence order (?Syntax). */
function infixPower(tok: Token): number {
  if (tok.type !== "op") return 0;
  switch (tok.text) {
    case "|":
    case "||":
      return 2;
    case "+":
    case "-":
      return 4;
    case "*":
    case "/":
      return 5;
    case ":":
      return 7;
    case "^":
      return 9;
    default:
      return tok.text.startsWith("%") ? 6 : 0;
  }
}
/** Unary minus and plus bind tighter than ':' and looser than '^'. */
const UNARY_POWER = 8;

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  peek(): Token {
    return this.toks[this.i];
  }
  next(): Token {
    return this.toks[this.i++];
  }
  fail(msg: string, pos: number, end = pos + 1): never {
    throw new FormulaError(msg, this.src, pos, end);
  }
  describe(t: Token): string {
    return t.type === "eof" ? "the end of the formula" : `'${this.src.slice(t.pos, t.end)}'`;
  }

  /** Parses an expression whose operators bind tighter than minPower; `after` names the token before it. */
  expr(minPower: number, after: Token | null): Node {
    let left = this.prefix(after);
    for (;;) {
      const t = this.peek();
      const p = infixPower(t);
      if (p <= minPower) return left;
      this.next();
      const right = this.expr(t.text === "^" ? p - 1 : p, t);
      if (t.text === "|" || t.text === "||") {
        left = { kind: "bar", op: t.text, left, right, pos: left.pos, end: right.end, opPos: t.pos, opEnd: t.end };
      } else {
        left = { kind: "binary", op: t.text, left, right, pos: left.pos, end: right.end, opPos: t.pos, opEnd: t.end };
      }
    }
  }

  private prefix(after: Token | null): Node {
    const t = this.peek();
    if (t.type === "name") {
      this.next();
      if (!t.quoted && KEYWORDS.has(t.text)) this.fail(`unexpected '${t.text}' at position ${t.pos}`, t.pos, t.end);
      if (this.peek().type === "op" && this.peek().text === "(") return this.call(t);
      return { kind: "name", name: t.text, pos: t.pos, end: t.end };
    }
    if (t.type === "num") {
      this.next();
      return { kind: "number", value: t.value!, pos: t.pos, end: t.end };
    }
    if (t.type === "str") {
      this.fail(`string literals are not supported in formulas (position ${t.pos})`, t.pos, t.end);
    }
    if (t.type === "op" && t.text === "(") {
      this.next();
      const inner = this.expr(0, t);
      const close = this.peek();
      if (close.type === "op" && close.text === ")") {
        this.next();
        return { kind: "paren", expr: inner, pos: t.pos, end: close.end };
      }
      if (close.type === "eof") {
        this.fail(`unbalanced parentheses: '(' at position ${t.pos} is never closed`, t.pos, t.end);
      }
      this.fail(`expected ')' or an operator at position ${close.pos} but found ${this.describe(close)}`, close.pos, close.end);
    }
    if (t.type === "op" && (t.text === "-" || t.text === "+")) {
      this.next();
      const arg = this.expr(UNARY_POWER, t);
      return { kind: "unary", op: t.text, arg, pos: t.pos, end: arg.end };
    }
    // Nothing that can start a term: say what was expected, and after what.
    const a = after ? this.src.slice(after.pos, after.end) : null;
    if (t.type === "op" && (t.text === "|" || t.text === "||") && a === "(") {
      this.fail(
        `empty random-effects term: expected a term before '${t.text}' at position ${t.pos} (write (1 ${t.text} g) for an intercept)`,
        t.pos,
        t.end,
      );
    }
    if (a === "|" || a === "||") {
      this.fail(
        `expected a grouping factor after '${a}' at position ${t.pos}` + (t.type === "eof" ? "" : ` but found ${this.describe(t)}`),
        t.pos,
        t.type === "eof" ? t.pos : t.end,
      );
    }
    if (t.type === "eof") {
      this.fail(a ? `expected a term after '${a}' at position ${t.pos}` : `expected a term at position ${t.pos}`, t.pos, t.pos);
    }
    if (t.type === "op" && t.text === ")") {
      this.fail(
        a ? `expected a term after '${a}' at position ${t.pos} but found ')'` : `unbalanced parentheses: unexpected ')' at position ${t.pos}`,
        t.pos,
        t.end,
      );
    }
    this.fail(
      (a ? `expected a term after '${a}'` : "expected a term") + ` at position ${t.pos} but found ${this.describe(t)}`,
      t.pos,
      t.end,
    );
  }

  private call(nameTok: Token): Node {
    const open = this.next(); // "("
    const args: Node[] = [];
    const names: (string | null)[] = [];
    let close = this.peek();
    if (!(close.type === "op" && close.text === ")")) {
      let sep: Token = open;
      for (;;) {
        const t = this.peek();
        const t2 = this.toks[this.i + 1];
        if ((t.type === "name" || t.type === "str") && t2.type === "op" && t2.text === "=") {
          this.next();
          this.next();
          names.push(t.type === "str" ? t.text.slice(1, -1) : t.text);
          args.push(this.expr(0, t2));
        } else {
          names.push(null);
          args.push(this.expr(0, sep));
        }
        const u = this.peek();
        if (u.type === "op" && u.text === ",") {
          sep = this.next();
          continue;
        }
        if (u.type === "op" && u.text === ")") break;
        if (u.type === "eof") {
          this.fail(`unbalanced parentheses: '(' at position ${open.pos} is never closed`, open.pos, open.end);
        }
        this.fail(`expected ',' or ')' in the arguments of ${nameTok.text}() at position ${u.pos} but found ${this.describe(u)}`, u.pos, u.end);
      }
      close = this.peek();
    }
    this.next();
    const node: Node = { kind: "call", fn: nameTok.text, args, pos: nameTok.pos, end: close.end };
    if (names.some((x) => x !== null)) node.argNames = names;
    return node;
  }
}

// ---------------------------------------------------------------------------------------------
// deparse: R's rules for operators, spacing, parentheses, names and numbers

const PREC_OR = 5;
const PREC_SUM = 9;
const PREC_PROD = 10;
const PREC_PERCENT = 11;
const PREC_COLON = 12;
const PREC_SIGN = 13;
const PREC_POWER = 14;

interface OpInfo {
  prec: number;
  rightAssoc: boolean;
  /** PP_BINARY (spaces around the operator) rather than PP_BINARY2. */
  spaced: boolean;
}

function opInfo(op: string): OpInfo {
  switch (op) {
    case "+":
    case "-":
      return { prec: PREC_SUM, rightAssoc: false, spaced: true };
    case "*":
      return { prec: PREC_PROD, rightAssoc: false, spaced: true };
    case "/":
      return { prec: PREC_PROD, rightAssoc: false, spaced: false };
    case "^":
      return { prec: PREC_POWER, rightAssoc: true, spaced: false };
    case ":":
      return { prec: PREC_COLON, rightAssoc: false, spaced: false };
    case "|":
    case "||":
      return { prec: PREC_OR, rightAssoc: false, spaced: true };
    default: // %op%
      return { prec: PREC_PERCENT, rightAssoc: false, spaced: true };
  }
}

type AnyNode = Expr | Node;

/** R's needsparens(): whether an operand must be parenthesised when deparsed. */
function needsParens(main: OpInfo, arg: AnyNode, left: boolean): boolean {
  let prec: number;
  if (arg.kind === "binary" || arg.kind === "bar") prec = opInfo(arg.op).prec;
  else if (arg.kind === "unary") {
    if (!left) return false;
    prec = PREC_SIGN;
  } else return false;
  return main.prec > prec || (main.prec === prec && left === main.rightAssoc);
}

/** R's isValidName(): a syntactic name that needs no backquotes. */
function isSyntacticName(name: string): boolean {
  if (KEYWORDS.has(name) || CONSTANTS.has(name)) return false;
  if (name === "..." || /^\.\.\d+$/.test(name)) return false;
  return /^(?:[\p{L}]|\.(?![0-9]))[\p{L}\p{N}._]*$/u.test(name) || name === ".";
}

function deparseName(name: string): string {
  if (isSyntacticName(name) || CONSTANTS.has(name)) return name;
  return "`" + name.replace(/\\/g, "\\\\").replace(/`/g, "\\`") + "`";
}

/** A double as R's deparse prints it: up to 15 significant digits, fixed or scientific, whichever is narrower. */
export function formatRNumber(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Inf" : "-Inf";
  if (x === 0) return "0";
  const neg = x < 0;
  const a = Math.abs(x);
  const [mant, expStr] = a.toExponential(14).split("e");
  const e = Number(expStr);
  const digits = mant.replace(".", "").replace(/0+$/, "");
  const nsig = Math.max(1, digits.length);
  // widths as in R's formatReal()
  const sciMant = nsig > 1 ? `${digits[0]}.${digits.slice(1)}` : digits[0];
  const sciExp = (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
  const sci = `${sciMant}e${sciExp}`;
  const rgt = Math.max(0, nsig - 1 - e);
  const wF = (e >= 0 ? e + 1 : 1) + (rgt > 0 ? rgt + 1 : 0);
  let s: string;
  if (wF <= sci.length && rgt <= 100 && a < 1e21) {
    s = Number(`${digits[0]}${digits.length > 1 ? "." + digits.slice(1) : ""}e${e}`).toFixed(rgt);
  } else s = sci;
  return neg ? "-" + s : s;
}

/** R's deparse() of an expression: "log(x)", "I(x^2)", "a:b", "I(x * 2)", "I(x/2)", "c:(b:a)". */
export function deparse(e: Expr): string {
  return deparseAny(e);
}

function deparseAny(e: AnyNode): string {
  switch (e.kind) {
    case "name":
      return deparseName(e.name);
    case "number":
      return formatRNumber(e.value);
    case "call": {
      const args = e.args.map((a, i) => {
        const nm = e.argNames?.[i];
        return (nm != null ? `${deparseName(nm)} = ` : "") + deparseAny(a);
      });
      return `${deparseName(e.fn)}(${args.join(", ")})`;
    }
    case "paren":
      return `(${deparseAny(e.expr)})`;
    case "unary": {
      const main: OpInfo = { prec: PREC_SIGN, rightAssoc: false, spaced: false };
      const inner = deparseAny(e.arg);
      return e.op + (needsParens(main, e.arg, false) ? `(${inner})` : inner);
    }
    case "binary":
    case "bar": {
      const info = opInfo(e.op);
      let l = deparseAny(e.left);
      if (needsParens(info, e.left, true)) l = `(${l})`;
      let r = deparseAny(e.right);
      if (needsParens(info, e.right, false)) r = `(${r})`;
      return info.spaced ? `${l} ${e.op} ${r}` : `${l}${e.op}${r}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers on nodes

const PUBLIC_BINARY = new Set(["+", "-", "*", "/", "^", ":"]);

/** Converts a syntax node into the public Expr (dropping internal fields), rejecting what Expr cannot hold. */
function toExpr(n: Node, ctx: Ctx): Expr {
  switch (n.kind) {
    case "name":
      return { kind: "name", name: n.name, pos: n.pos, end: n.end };
    case "number":
      return { kind: "number", value: n.value, pos: n.pos, end: n.end };
    case "call": {
      const c: Expr = { kind: "call", fn: n.fn, args: n.args.map((a) => toExpr(a, ctx)), pos: n.pos, end: n.end };
      if (n.argNames) c.argNames = n.argNames.slice();
      return c;
    }
    case "paren":
      return { kind: "paren", expr: toExpr(n.expr, ctx), pos: n.pos, end: n.end };
    case "unary":
      return { kind: "unary", op: n.op, arg: toExpr(n.arg, ctx), pos: n.pos, end: n.end };
    case "binary":
      if (!PUBLIC_BINARY.has(n.op)) {
        ctx.fail(`operator '${n.op}' is not supported inside a variable expression (position ${n.opPos})`, n.opPos, n.opEnd);
      }
      return {
        kind: "binary",
        op: n.op as "+" | "-" | "*" | "/" | "^" | ":",
        left: toExpr(n.left, ctx),
        right: toExpr(n.right, ctx),
        pos: n.pos,
        end: n.end,
      };
    case "bar":
      return ctx.fail(
        `'${n.op}' at position ${n.opPos} is only allowed in a random-effects term '(lhs ${n.op} group)'`,
        n.opPos,
        n.opEnd,
      );
  }
}

/** R's MatchVar(): structural equality of two variable expressions. */
function sameNode(a: Node, b: Node): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "name":
      return a.name === (b as typeof a).name;
    case "number":
      return a.value === (b as typeof a).value;
    case "call": {
      const c = b as typeof a;
      return (
        a.fn === c.fn &&
        a.args.length === c.args.length &&
        a.args.every((x, i) => sameNode(x, c.args[i]) && (a.argNames?.[i] ?? null) === (c.argNames?.[i] ?? null))
      );
    }
    case "paren":
      return sameNode(a.expr, (b as typeof a).expr);
    case "unary":
      return a.op === (b as typeof a).op && sameNode(a.arg, (b as typeof a).arg);
    case "binary":
    case "bar": {
      const c = b as typeof a;
      return a.op === c.op && sameNode(a.left, c.left) && sameNode(a.right, c.right);
    }
  }
}

/** The first bar node inside n (in source order), if any. */
function findBar(n: Node): BarNode | null {
  switch (n.kind) {
    case "bar":
      return findBar(n.left) ?? n;
    case "binary":
      return findBar(n.left) ?? findBar(n.right);
    case "unary":
      return findBar(n.arg);
    case "paren":
      return findBar(n.expr);
    case "call":
      for (const a of n.args) {
        const b = findBar(a);
        if (b) return b;
      }
      return null;
    default:
      return null;
  }
}

/** `(lhs | g)`: a parenthesis directly around a bar. */
function isRandomTerm(n: Node): n is Extract<Node, { kind: "paren" }> & { expr: BarNode } {
  return n.kind === "paren" && n.expr.kind === "bar";
}

class Ctx {
  constructor(readonly src: string) {}
  fail(msg: string, pos: number, end = pos + 1): never {
    throw new FormulaError(msg, this.src, pos, end);
  }
}

// ---------------------------------------------------------------------------------------------
// R's terms.formula(): variables, expansion into bit-coded terms, ordering

const FORMULA_OPS = new Set(["+", "-", "*", "/", ":", "^", "%in%"]);

class TermsBuilder {
  readonly vars: Node[] = [];
  intercept = true;
  private parity = true;

  constructor(
    private readonly ctx: Ctx,
    /** Skip `(lhs | g)` terms (the fixed part of an lme4 formula, as lme4's nobars()). */
    private readonly skipBars: boolean,
  ) {}

  install(v: Node): number {
    const k = this.vars.findIndex((w) => sameNode(v, w));
    if (k >= 0) return k;
    this.vars.push(v);
    return this.vars.length - 1;
  }

  /** R's ExtractVars(): collect the variables in order of appearance. */
  extract(n: Node): void {
    switch (n.kind) {
      case "number":
        if (n.value !== 0 && n.value !== 1) {
          this.ctx.fail(
            `invalid term '${this.ctx.src.slice(n.pos, n.end)}' at position ${n.pos}: the only numbers allowed as terms are 0 and 1 (use I(...) for arithmetic)`,
            n.pos,
            n.end,
          );
        }
        return;
      case "name":
        if (n.name === "." && this.ctx.src[n.pos] !== "`") {
          this.ctx.fail(`'.' (all other variables) is not supported at position ${n.pos}: list the variables`, n.pos, n.end);
        }
        this.install(n);
        return;
      case "call":
        toExpr(n, this.ctx); // validates what the call contains
        this.install(n);
        return;
      case "paren":
        if (this.skipBars && isRandomTerm(n)) return;
        this.extract(n.expr);
        return;
      case "unary":
        this.extract(n.arg);
        return;
      case "bar":
        return this.ctx.fail(
          `'${n.op}' at position ${n.opPos} is only allowed in a random-effects term '(lhs ${n.op} group)'`,
          n.opPos,
          n.opEnd,
        );
      case "binary":
        if (!FORMULA_OPS.has(n.op)) {
          this.ctx.fail(`operator '${n.op}' at position ${n.opPos} is not supported in model formulas`, n.opPos, n.opEnd);
        }
        if (n.op === "^") {
          const r = n.right;
          if (r.kind !== "number" || !Number.isInteger(r.value) || r.value < 2) {
            this.ctx.fail(
              `invalid power in formula at position ${r.pos}: expected a whole number of at least 2, as in (a + b + c)^2`,
              r.pos,
              r.end,
            );
          }
          this.extract(n.left);
          return;
        }
        this.extract(n.left);
        this.extract(n.right);
        return;
    }
  }

  private bit(v: Node): bigint {
    return 1n << BigInt(this.install(v));
  }

  /** R's EncodeVars(): expand into a list of bit-coded terms (and set the intercept). */
  encode(n: Node): bigint[] {
    switch (n.kind) {
      case "number":
        if (n.value === 1) this.intercept = this.parity;
        else if (n.value === 0) this.intercept = !this.parity;
        return [];
      case "name":
      case "call":
        return [this.bit(n)];
      case "paren":
        if (this.skipBars && isRandomTerm(n)) return [];
        return this.encode(n.expr);
      case "unary":
        return n.op === "+" ? this.encode(n.arg) : this.deleteTerms(null, n.arg);
      case "bar":
        return []; // unreachable: rejected by extract()
      case "binary":
        switch (n.op) {
          case "+":
            return trimRepeats([...this.encode(n.left), ...this.encode(n.right)]);
          case "-":
            return this.deleteTerms(n.left, n.right);
          case ":": {
            const l = this.encode(n.left);
            const r = this.encode(n.right);
            return trimRepeats(l.flatMap((a) => r.map((b) => a | b)));
          }
          case "*": {
            const l = this.encode(n.left);
            const r = this.encode(n.right);
            return trimRepeats([...l, ...r, ...l.flatMap((a) => r.map((b) => a | b))]);
          }
          case "%in%": {
            const l = this.encode(n.left);
            const all = this.encode(n.right).reduce((a, b) => a | b, 0n);
            return trimRepeats(l.map((a) => a | all));
          }
          case "/": {
            const l = this.encode(n.left);
            const r = this.encode(n.right);
            const all = l.reduce((a, b) => a | b, 0n);
            return trimRepeats([...l, ...r.map((b) => b | all)]);
          }
          case "^": {
            const l = this.encode(n.left);
            const p = (n.right as Extract<Node, { kind: "number" }>).value;
            let right = l;
            for (let i = 1; i < p; i++) right = trimRepeats(l.flatMap((a) => right.map((b) => a | b)));
            return right;
          }
        }
        return [];
    }
  }

  private deleteTerms(left: Node | null, right: Node): bigint[] {
    let l = left ? this.encode(left) : [];
    this.parity = !this.parity;
    const r = this.encode(right);
    this.parity = !this.parity;
    for (const t of r) {
      if (t === 0n) this.intercept = false;
      l = l.filter((x) => x !== t);
    }
    return l;
  }
}

/** R's TrimRepeats(): drop zero terms and repeated terms (keeping the first). */
function trimRepeats(list: bigint[]): bigint[] {
  const seen = new Set<bigint>();
  const out: bigint[] = [];
  for (const t of list) {
    if (t === 0n || seen.has(t)) continue;
    seen.add(t);
    out.push(t);
  }
  return out;
}

function bitCount(t: bigint): number {
  let c = 0;
  for (let x = t; x > 0n; x >>= 1n) if (x & 1n) c++;
  return c;
}

function bitIndices(t: bigint): number[] {
  const out: number[] = [];
  for (let i = 0, x = t; x > 0n; i++, x >>= 1n) if (x & 1n) out.push(i);
  return out;
}

function isOffset(v: Node): v is Extract<Node, { kind: "call" }> {
  return v.kind === "call" && v.fn === "offset";
}

interface ModelPart extends FixedPart {
  offsets: Expr[];
}

/**
 * Expands a right-hand side as terms.formula() does. With a response, it is the first variable
 * (as in R) and a term that is just the response is dropped (as model.matrix() does).
 */
function expandTerms(ctx: Ctx, rhs: Node, response: Node | null, fixed: boolean): ModelPart {
  const b = new TermsBuilder(ctx, fixed);
  if (response) b.install(response);
  b.extract(rhs);
  let terms = b.encode(rhs);

  // offsets: every offset(...) variable; terms containing one are removed (R's step 2b)
  const offsets: Expr[] = [];
  let offsetBits = 0n;
  b.vars.forEach((v, i) => {
    if ((response && i === 0) || !isOffset(v)) return;
    if (!fixed) ctx.fail(`offset() is not allowed in a random-effects term (position ${v.pos})`, v.pos, v.end);
    if (v.args.length !== 1 || v.argNames) {
      ctx.fail(`offset() takes exactly one unnamed argument (position ${v.pos})`, v.pos, v.end);
    }
    offsetBits |= 1n << BigInt(i);
    offsets.push(toExpr(v.args[0], ctx));
  });
  terms = terms.filter((t) => (t & offsetBits) === 0n);
  if (response) terms = terms.filter((t) => t !== 1n);

  // order by degree, stable within a degree (R's step 3)
  const ordered = terms
    .map((t, i) => ({ t, i, d: bitCount(t) }))
    .sort((x, y) => x.d - y.d || x.i - y.i)
    .map((x) => x.t);

  const out: Term[] = ordered.map((t) => {
    const factors = bitIndices(t).map((i) => toExpr(b.vars[i], ctx));
    return { label: factors.map(deparse).join(":"), factors };
  });
  return { intercept: b.intercept, terms: out, offsets };
}

// ---------------------------------------------------------------------------------------------
// lme4: random-effects terms (findbars / nobars / expandDoubleVerts / expandSlash)

/**
 * Collects the `(lhs | g)` terms of the right-hand side in formula order, checking that each
 * is added to the model (through '+', or the left of '-') and is written in parentheses.
 */
function collectBars(ctx: Ctx, n: Node, additive: boolean, out: BarNode[]): void {
  switch (n.kind) {
    case "paren":
      if (isRandomTerm(n)) {
        if (!additive) {
          ctx.fail(
            `the random-effects term at position ${n.pos} must be added to the model with '+', not combined with other operators`,
            n.pos,
            n.end,
          );
        }
        out.push(n.expr);
        return;
      }
      collectBars(ctx, n.expr, additive, out);
      return;
    case "bar":
      return ctx.fail(
        `random-effects terms must be in parentheses: '(lhs ${n.op} group)'; '${n.op}' at position ${n.opPos} is not`,
        n.opPos,
        n.opEnd,
      );
    case "unary":
      collectBars(ctx, n.arg, additive && n.op === "+", out);
      return;
    case "binary":
      collectBars(ctx, n.left, additive && (n.op === "+" || n.op === "-"), out);
      collectBars(ctx, n.right, additive && n.op === "+", out);
      return;
    default:
      return; // names, numbers, calls: bars inside calls are rejected by toExpr()
  }
}

interface GroupSpec {
  /** The grouping expression as lme4 builds it (b:a for a/b), for its label. */
  expr: Node;
  /** Its variables, in order. */
  names: Node[];
}

function invalidGroup(ctx: Ctx, n: Node, op: string): never {
  return ctx.fail(
    `invalid grouping factor at position ${n.pos}: after '${op}' expected a variable name or an interaction/nesting of names (g, a:b, a/b)`,
    n.pos,
    n.end,
  );
}

/** The names of an interaction of grouping variables a:b:c (parentheses allowed, '/' not). */
function groupNames(ctx: Ctx, n: Node, op: string): Node[] {
  switch (n.kind) {
    case "name":
      if (n.name === "." && ctx.src[n.pos] !== "`") invalidGroup(ctx, n, op);
      return [n];
    case "paren":
      return groupNames(ctx, n.expr, op);
    case "binary":
      if (n.op === ":") return [...groupNames(ctx, n.left, op), ...groupNames(ctx, n.right, op)];
      if (n.op === "/") {
        ctx.fail(`unparseable grouping factor: '/' at position ${n.opPos} must not be inside ':' or parentheses`, n.opPos, n.opEnd);
      }
      return invalidGroup(ctx, n, op);
    default:
      return invalidGroup(ctx, n, op);
  }
}

/** lme4's expandSlash/makeInteraction: a/b/c gives c:(b:a), b:a, a. */
function expandGroup(ctx: Ctx, g: Node, op: string): GroupSpec[] {
  if (g.kind === "binary" && g.op === "/") {
    const inner = expandGroup(ctx, g.left, op);
    const rightNames = groupNames(ctx, g.right, op);
    const expr: Node = {
      kind: "binary",
      op: ":",
      left: g.right,
      right: inner[0].expr,
      pos: g.pos,
      end: g.end,
      opPos: g.opPos,
      opEnd: g.opEnd,
    };
    return [{ expr, names: [...rightNames, ...inner[0].names] }, ...inner];
  }
  return [{ expr: g, names: groupNames(ctx, g, op) }];
}

function randomTerms(ctx: Ctx, bar: BarNode): RandomTerm[] {
  const lhs = bar.left;
  const g = bar.right;
  // nested bars: report the later '|' in the text
  const inL = findBar(lhs);
  if (inL) ctx.fail(`a random-effects term has only one '|' or '||'; found another at position ${bar.opPos}`, bar.opPos, bar.opEnd);
  const inG = findBar(g);
  if (inG) ctx.fail(`a random-effects term has only one '|' or '||'; found another at position ${inG.opPos}`, inG.opPos, inG.opEnd);

  const groups = expandGroup(ctx, g, bar.op);
  const part = (): ModelPart => expandTerms(ctx, lhs, null, false);
  const first = part();
  if (!first.intercept && first.terms.length === 0) {
    ctx.fail(
      `the random-effects term at position ${bar.pos} has no columns (its left-hand side removes the intercept and has no terms)`,
      bar.pos,
      bar.end,
    );
  }
  const group = (s: GroupSpec): Expr[] => s.names.map((v) => toExpr(v, ctx));

  if (bar.op === "|") {
    const lhsLabel = deparseAny(lhs);
    return groups.map((s) => {
      const p = part();
      const groupLabel = deparseAny(s.expr);
      return {
        label: `${lhsLabel} | ${groupLabel}`,
        lhs: { intercept: p.intercept, terms: p.terms },
        group: group(s),
        groupLabel,
      };
    });
  }

  // '||' (lme4's expandDoubleVerts): the intercept and each term become uncorrelated terms
  const pieces: { label: string; make: () => FixedPart }[] = [];
  if (first.intercept) pieces.push({ label: "1", make: () => ({ intercept: true, terms: [] }) });
  first.terms.forEach((t, k) => {
    pieces.push({
      label: `0 + ${t.label}`,
      make: () => {
        const p = part();
        return { intercept: false, terms: [p.terms[k]] };
      },
    });
  });
  const out: RandomTerm[] = [];
  for (const piece of pieces) {
    for (const s of groups) {
      const groupLabel = deparseAny(s.expr);
      out.push({ label: `${piece.label} | ${groupLabel}`, lhs: piece.make(), group: group(s), groupLabel });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Entry point

/**
 * Parses an lme4 model formula such as "Reaction ~ Days + (Days | Subject)".
 * Throws FormulaError (with pos/end of the offending token) for invalid formulas.
 */
export function parseFormula(src: string): ParsedFormula {
  const ctx = new Ctx(src);
  if (src.trim() === "") ctx.fail("empty formula: expected 'response ~ terms' or '~ terms'", 0, src.length);
  const toks = lex(src);
  const p = new Parser(src, toks);

  let response: Node | null = null;
  let tilde = p.peek();
  if (!(tilde.type === "op" && tilde.text === "~")) {
    response = p.expr(0, null);
    tilde = p.peek();
    if (!(tilde.type === "op" && tilde.text === "~")) {
      if (tilde.type === "eof") {
        ctx.fail(`missing '~' at position ${tilde.pos}: a model formula is 'response ~ terms' or '~ terms'`, tilde.pos, tilde.pos);
      }
      if (tilde.type === "op" && tilde.text === ")") {
        ctx.fail(`unbalanced parentheses: unexpected ')' at position ${tilde.pos}`, tilde.pos, tilde.end);
      }
      ctx.fail(`expected '~' or an operator at position ${tilde.pos} but found ${p.describe(tilde)}`, tilde.pos, tilde.end);
    }
  }
  p.next();
  const rhs = p.expr(0, tilde);
  const rest = p.peek();
  if (rest.type !== "eof") {
    if (rest.type === "op" && rest.text === ")") {
      ctx.fail(`unbalanced parentheses: unexpected ')' at position ${rest.pos}`, rest.pos, rest.end);
    }
    if (rest.type === "op" && rest.text === "~") {
      ctx.fail(`unexpected second '~' at position ${rest.pos}: a formula has one '~'`, rest.pos, rest.end);
    }
    ctx.fail(`expected an operator or the end of the formula at position ${rest.pos} but found ${p.describe(rest)}`, rest.pos, rest.end);
  }

  // response: any expression but a random-effects term
  let responseExpr: Expr | null = null;
  if (response) {
    if (response.kind === "number") ctx.fail(`invalid response at position ${response.pos}`, response.pos, response.end);
    responseExpr = toExpr(response, ctx);
  }

  const bars: BarNode[] = [];
  collectBars(ctx, rhs, true, bars);
  const fixed = expandTerms(ctx, rhs, response, true);
  const random = bars.flatMap((b) => randomTerms(ctx, b));

  return {
    source: src,
    response: responseExpr,
    fixed: { intercept: fixed.intercept, terms: fixed.terms },
    random,
    offsets: fixed.offsets,
  };
}
