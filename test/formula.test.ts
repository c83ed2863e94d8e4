import { describe, expect, it } from "vitest";
import { deparse, FormulaError, formatRNumber, parseFormula } from "../src/formula.js";
import type { Expr, ParsedFormula } from "../src/formula.js";

const labels = (f: string | ParsedFormula) => (typeof f === "string" ? parseFormula(f) : f).fixed.terms.map((t) => t.label);
const names = (es: Expr[]) => es.map((e) => (e.kind === "name" ? e.name : deparse(e)));
const random = (f: string) =>
  parseFormula(f).random.map((r) => ({
    label: r.label,
    groupLabel: r.groupLabel,
    group: names(r.group),
    intercept: r.lhs.intercept,
    terms: r.lhs.terms.map((t) => t.label),
  }));

/** Parses `f`, expecting a FormulaError at character `pos`; returns it. */
function errorAt(f: string, pos: number): FormulaError {
  let err: unknown;
  try {
    parseFormula(f);
  } catch (e) {
    err = e;
  }
  expect(err, `no error for ${JSON.stringify(f)}`).toBeInstanceOf(FormulaError);
  const fe = err as FormulaError;
  expect(fe.pos, `${JSON.stringify(f)}: ${fe.message}`).toBe(pos);
  expect(fe.formula).toBe(f);
  return fe;
}

describe("R's term expansion and ordering (terms.formula)", () => {
  it("a*b*c", () => {
    expect(labels("y ~ a*b*c")).toEqual(["a", "b", "c", "a:b", "a:c", "b:c", "a:b:c"]);
  });
  it("(a+b+c)^2", () => {
    expect(labels("y ~ (a+b+c)^2")).toEqual(["a", "b", "c", "a:b", "a:c", "b:c"]);
    expect(labels("y ~ (a+b+c)^3")).toEqual(["a", "b", "c", "a:b", "a:c", "b:c", "a:b:c"]);
    expect(labels("y ~ (a+b+c)^2 - a:b")).toEqual(["a", "b", "c", "a:c", "b:c"]);
    expect(labels("y ~ (a+b+c)**2")).toEqual(["a", "b", "c", "a:b", "a:c", "b:c"]);
  });
  it("a/b and %in%", () => {
    expect(labels("y ~ a/b")).toEqual(["a", "a:b"]);
    expect(labels("y ~ a/b/c")).toEqual(["a", "a:b", "a:b:c"]);
    expect(labels("y ~ (a+b)/c")).toEqual(["a", "b", "a:b:c"]);
    expect(labels("y ~ a + b %in% a")).toEqual(["a", "a:b"]);
  });
  it("intercept: - 1, 0 +, + 0, -1 +, 1 +", () => {
    const a = parseFormula("y ~ x - 1");
    expect(a.fixed.intercept).toBe(false);
    expect(labels(a)).toEqual(["x"]);
    const b = parseFormula("y ~ 0 + x");
    expect(b.fixed.intercept).toBe(false);
    expect(labels(b)).toEqual(["x"]);
    expect(parseFormula("y ~ x + 0").fixed.intercept).toBe(false);
    expect(parseFormula("y ~ -1 + x").fixed.intercept).toBe(false);
    expect(parseFormula("y ~ 1 + x").fixed.intercept).toBe(true);
    expect(parseFormula("y ~ x").fixed.intercept).toBe(true);
    expect(parseFormula("y ~ x - 1 + 1").fixed.intercept).toBe(true);
    const c = parseFormula("y ~ 0");
    expect(c.fixed).toEqual({ intercept: false, terms: [] });
    expect(parseFormula("y ~ 1").fixed).toEqual({ intercept: true, terms: [] });
  });
  it("degree ordering, duplicates, and variable order inside interactions", () => {
    expect(labels("y ~ x*t")).toEqual(["x", "t", "x:t"]);
    // variables inside a label follow their first appearance in the formula
    expect(labels("y ~ t:x + x")).toEqual(["x", "t:x"]);
    expect(labels("y ~ b:a + a")).toEqual(["a", "b:a"]);
    expect(labels("y ~ a:b + b:a")).toEqual(["a:b"]);
    expect(labels("y ~ x + z + x + x:z + z:x")).toEqual(["x", "z", "x:z"]);
    expect(labels("y ~ a:b:c + d + a:b")).toEqual(["d", "a:b", "a:b:c"]);
    expect(labels("y ~ a*b - a:b")).toEqual(["a", "b"]);
    expect(labels("y ~ a + b - a")).toEqual(["b"]);
  });
  it("x^2 on a single variable is just x (as in R)", () => {
    expect(labels("y ~ x^2")).toEqual(["x"]);
  });
  it("term factors are the variables in label order", () => {
    const f = parseFormula("y ~ log(x):z + z");
    expect(f.fixed.terms.map((t) => names(t.factors))).toEqual([["z"], ["log(x)", "z"]]);
  });
  it("a term that is just the response is dropped (as model.matrix does)", () => {
    expect(labels("y ~ y + x")).toEqual(["x"]);
  });
  it("the fixed part ignores random-effects variables for label order", () => {
    expect(labels("y ~ (1 | a) + b:a + a")).toEqual(["a", "b:a"]);
  });
});

describe("variables: calls, numbers, names", () => {
  it("log(x) + I(x^2) + scale(z) + offset(log(n))", () => {
    const f = parseFormula("y ~ log(x) + I(x^2) + scale(z) + offset(log(n))");
    expect(labels(f)).toEqual(["log(x)", "I(x^2)", "scale(z)"]);
    expect(f.offsets.map(deparse)).toEqual(["log(n)"]);
    expect(f.fixed.terms[1].factors[0]).toMatchObject({ kind: "call", fn: "I" });
  });
  it("I() is not formula-expanded", () => {
    expect(labels("y ~ I(a*b) + I(x - 1) + I(x + z)")).toEqual(["I(a * b)", "I(x - 1)", "I(x + z)"]);
    const f = parseFormula("y ~ I(x - 1)");
    expect(f.fixed.intercept).toBe(true);
    const arg = (f.fixed.terms[0].factors[0] as Extract<Expr, { kind: "call" }>).args[0];
    expect(arg).toMatchObject({ kind: "binary", op: "-", left: { kind: "name", name: "x" }, right: { kind: "number", value: 1 } });
  });
  it("common transformations", () => {
    expect(
      labels("y ~ log2(a) + log10(b) + log1p(c) + exp(d) + sqrt(e) + abs(f) + factor(g) + as.factor(h) + ordered(k) + poly(x, 2)"),
    ).toEqual([
      "log2(a)",
      "log10(b)",
      "log1p(c)",
      "exp(d)",
      "sqrt(e)",
      "abs(f)",
      "factor(g)",
      "as.factor(h)",
      "ordered(k)",
      "poly(x, 2)",
    ]);
  });
  it("named arguments", () => {
    const f = parseFormula("y ~ poly(x, 2, raw = TRUE) + scale(z, center = FALSE)");
    expect(labels(f)).toEqual(["poly(x, 2, raw = TRUE)", "scale(z, center = FALSE)"]);
    expect(f.fixed.terms[0].factors[0]).toMatchObject({ kind: "call", fn: "poly", argNames: [null, null, "raw"] });
  });
  it("the same call twice is one variable", () => {
    expect(labels("y ~ log(x) + log(x) + log(x):z")).toEqual(["log(x)", "log(x):z"]);
  });
  it("names with dots, underscores, backquotes", () => {
    const f = parseFormula("y ~ Days.1 + log_x + `my var` + .hidden");
    expect(labels(f)).toEqual(["Days.1", "log_x", "`my var`", ".hidden"]);
    expect(f.fixed.terms[2].factors[0]).toEqual({ kind: "name", name: "my var", pos: 21, end: 29 });
  });
  it("response: name, call, cbind, one-sided", () => {
    expect(parseFormula("y ~ x").response).toEqual({ kind: "name", name: "y", pos: 0, end: 1 });
    expect(deparse(parseFormula("log(y) ~ x").response!)).toBe("log(y)");
    const c = parseFormula("cbind(a, b - a) ~ x");
    expect(c.response).toMatchObject({ kind: "call", fn: "cbind" });
    expect(deparse(c.response!)).toBe("cbind(a, b - a)");
    const o = parseFormula("~ x + z");
    expect(o.response).toBeNull();
    expect(labels(o)).toEqual(["x", "z"]);
  });
  it("positions of nodes", () => {
    const f = parseFormula("y ~ log(x) + I(x^2)");
    expect(f.fixed.terms[0].factors[0]).toMatchObject({ pos: 4, end: 10 });
    expect(f.fixed.terms[1].factors[0]).toMatchObject({ pos: 13, end: 19 });
    expect(f.source).toBe("y ~ log(x) + I(x^2)");
  });
  it("whitespace and newlines are ignored", () => {
    expect(labels("y~a*b")).toEqual(labels("y ~\n  a *\tb"));
  });
});

describe("deparse (R's style)", () => {
  const d = (f: string) => labels(`y ~ ${f}`)[0];
  it("operators and spacing", () => {
    expect(d("log(x)")).toBe("log(x)");
    expect(d("I(x^2)")).toBe("I(x^2)");
    expect(d("scale(HEIGHT)")).toBe("scale(HEIGHT)");
    expect(d("I(x*2)")).toBe("I(x * 2)");
    expect(d("I(x/2)")).toBe("I(x/2)"); // R: '/' is printed without spaces
    expect(d("I(x+2)")).toBe("I(x + 2)");
    expect(d("I(x-2)")).toBe("I(x - 2)");
    expect(d("I(a:b)")).toBe("I(a:b)");
    expect(d("I(-x^2)")).toBe("I(-x^2)");
    expect(d("I((a+b)^2)")).toBe("I((a + b)^2)");
    expect(d("exp(-x)")).toBe("exp(-x)");
    expect(d("I(x^-1)")).toBe("I(x^-1)");
    expect(d("I(x**2)")).toBe("I(x^2)");
  });
  it("numbers", () => {
    expect(d("I(0.5*x)")).toBe("I(0.5 * x)");
    expect(d("I(1e5*x)")).toBe("I(1e+05 * x)");
    expect(d("I(123456*x)")).toBe("I(123456 * x)");
    expect(d("I(0.0001*x)")).toBe("I(1e-04 * x)");
    expect(d("I(0.001*x)")).toBe("I(0.001 * x)");
    expect(d("I(2L*x)")).toBe("I(2 * x)");
    expect(formatRNumber(0.1 + 0.2)).toBe("0.3");
    expect(formatRNumber(1 / 3)).toBe("0.333333333333333");
    expect(formatRNumber(1.5e10)).toBe("1.5e+10");
    expect(formatRNumber(100)).toBe("100");
    expect(formatRNumber(-2.5)).toBe("-2.5");
  });
  it("constructed trees get R's parentheses", () => {
    const n = (name: string): Expr => ({ kind: "name", name, pos: 0, end: 0 });
    const bin = (op: "+" | "-" | "*" | "/" | "^" | ":", left: Expr, right: Expr): Expr => ({ kind: "binary", op, left, right, pos: 0, end: 0 });
    expect(deparse(bin(":", n("c"), bin(":", n("b"), n("a"))))).toBe("c:(b:a)");
    expect(deparse(bin(":", bin(":", n("c"), n("b")), n("a")))).toBe("c:b:a");
    expect(deparse(bin("*", bin("+", n("a"), n("b")), n("c")))).toBe("(a + b) * c");
    expect(deparse(bin("^", bin("^", n("a"), n("b")), n("c")))).toBe("(a^b)^c");
    expect(deparse({ kind: "unary", op: "-", arg: bin(":", n("a"), n("b")), pos: 0, end: 0 })).toBe("-(a:b)");
    expect(deparse(n("my var"))).toBe("`my var`");
    expect(deparse(n("TRUE"))).toBe("TRUE");
  });
});

describe("random-effects terms (lme4)", () => {
  it("Reaction ~ Days + (Days | Subject)", () => {
    const f = parseFormula("Reaction ~ Days + (Days | Subject)");
    expect(f.fixed).toMatchObject({ intercept: true });
    expect(labels(f)).toEqual(["Days"]);
    expect(f.random).toHaveLength(1);
    const r = f.random[0];
    expect(r.label).toBe("Days | Subject");
    expect(r.groupLabel).toBe("Subject");
    expect(r.group).toEqual([{ kind: "name", name: "Subject", pos: 26, end: 33 }]);
    expect(r.lhs.intercept).toBe(true);
    expect(r.lhs.terms.map((t) => t.label)).toEqual(["Days"]);
  });
  it("Reaction ~ Days + (Days || Subject)", () => {
    const f = parseFormula("Reaction ~ Days + (Days || Subject)");
    expect(labels(f)).toEqual(["Days"]);
    expect(random("Reaction ~ Days + (Days || Subject)")).toEqual([
      { label: "1 | Subject", groupLabel: "Subject", group: ["Subject"], intercept: true, terms: [] },
      { label: "0 + Days | Subject", groupLabel: "Subject", group: ["Subject"], intercept: false, terms: ["Days"] },
    ]);
  });
  it("(1 + x || g), (0 + x || g), (x*z || g)", () => {
    expect(random("y ~ (1 + x || g)").map((r) => r.label)).toEqual(["1 | g", "0 + x | g"]);
    expect(random("y ~ (0 + x || g)").map((r) => r.label)).toEqual(["0 + x | g"]);
    expect(random("y ~ (x*z || g)").map((r) => r.label)).toEqual(["1 | g", "0 + x | g", "0 + z | g", "0 + x:z | g"]);
  });
  it("(1|g), (x|g), (0 + x|g), (1 + x|g)", () => {
    expect(random("y ~ (1|g)")).toEqual([{ label: "1 | g", groupLabel: "g", group: ["g"], intercept: true, terms: [] }]);
    expect(random("y ~ (x|g)")).toEqual([{ label: "x | g", groupLabel: "g", group: ["g"], intercept: true, terms: ["x"] }]);
    expect(random("y ~ (0 + x|g)")).toEqual([{ label: "0 + x | g", groupLabel: "g", group: ["g"], intercept: false, terms: ["x"] }]);
    expect(random("y ~ (1 + x|g)")[0].label).toBe("1 + x | g");
    expect(random("y ~ (x - 1|g)")[0]).toMatchObject({ intercept: false, terms: ["x"] });
  });
  it("strength ~ 1 + (1 | batch/cask)", () => {
    const f = parseFormula("strength ~ 1 + (1 | batch/cask)");
    expect(f.fixed).toEqual({ intercept: true, terms: [] });
    expect(random("strength ~ 1 + (1 | batch/cask)")).toEqual([
      { label: "1 | cask:batch", groupLabel: "cask:batch", group: ["cask", "batch"], intercept: true, terms: [] },
      { label: "1 | batch", groupLabel: "batch", group: ["batch"], intercept: true, terms: [] },
    ]);
  });
  it("(1|a/b/c): lme4's makeInteraction, deparsed as R does", () => {
    // lme4 builds `c:(b:a)` (the call `:`(c, `:`(b, a))); R's deparse keeps those parentheses
    expect(random("y ~ (1|a/b/c)").map((r) => [r.groupLabel, r.group])).toEqual([
      ["c:(b:a)", ["c", "b", "a"]],
      ["b:a", ["b", "a"]],
      ["a", ["a"]],
    ]);
  });
  it("(1 + x || a/b): double bars first, then nesting", () => {
    expect(random("y ~ (1 + x || a/b)").map((r) => r.label)).toEqual(["1 | b:a", "1 | a", "0 + x | b:a", "0 + x | a"]);
  });
  it("y ~ recipe * temperature + (1 | recipe:replicate)", () => {
    const f = parseFormula("y ~ recipe * temperature + (1 | recipe:replicate)");
    expect(labels(f)).toEqual(["recipe", "temperature", "recipe:temperature"]);
    expect(random("y ~ recipe * temperature + (1 | recipe:replicate)")).toEqual([
      {
        label: "1 | recipe:replicate",
        groupLabel: "recipe:replicate",
        group: ["recipe", "replicate"],
        intercept: true,
        terms: [],
      },
    ]);
  });
  it("y ~ 1 + service + (1|s) + (1|d) + (1|dept:service)", () => {
    const f = parseFormula("y ~ 1 + service + (1|s) + (1|d) + (1|dept:service)");
    expect(f.fixed.intercept).toBe(true);
    expect(labels(f)).toEqual(["service"]);
    expect(f.random.map((r) => [r.label, r.groupLabel])).toEqual([
      ["1 | s", "s"],
      ["1 | d", "d"],
      ["1 | dept:service", "dept:service"],
    ]);
    expect(names(f.random[2].group)).toEqual(["dept", "service"]);
  });
  it("distance ~ age * Sex + (age | Subject)", () => {
    const f = parseFormula("distance ~ age * Sex + (age | Subject)");
    expect(labels(f)).toEqual(["age", "Sex", "age:Sex"]);
    expect(random("distance ~ age * Sex + (age | Subject)")).toEqual([
      { label: "age | Subject", groupLabel: "Subject", group: ["Subject"], intercept: true, terms: ["age"] },
    ]);
  });
  it("amp ~ condition + rt + (1 + condition | subject) + (1 | item)", () => {
    const f = parseFormula("amp ~ condition + rt + (1 + condition | subject) + (1 | item)");
    expect(labels(f)).toEqual(["condition", "rt"]);
    expect(random("amp ~ condition + rt + (1 + condition | subject) + (1 | item)")).toEqual([
      { label: "1 + condition | subject", groupLabel: "subject", group: ["subject"], intercept: true, terms: ["condition"] },
      { label: "1 | item", groupLabel: "item", group: ["item"], intercept: true, terms: [] },
    ]);
  });
  it("crossed and repeated grouping factors, formula order", () => {
    expect(random("y ~ x + (x | g1) + (1 | g2)").map((r) => r.label)).toEqual(["x | g1", "1 | g2"]);
    expect(random("y ~ (1 | g) + x + (0 + x | g)").map((r) => r.label)).toEqual(["1 | g", "0 + x | g"]);
  });
  it("random terms anywhere in the sum, also before '- 1' and inside parentheses", () => {
    const f = parseFormula("y ~ x + (1|g) - 1");
    expect(f.fixed).toMatchObject({ intercept: false });
    expect(labels(f)).toEqual(["x"]);
    expect(f.random.map((r) => r.label)).toEqual(["1 | g"]);
    const g = parseFormula("y ~ (x + (1|g)) + ((z|h))");
    expect(labels(g)).toEqual(["x"]);
    expect(g.random.map((r) => r.label)).toEqual(["1 | g", "z | h"]);
    const h = parseFormula("y ~ (1|g)");
    expect(h.fixed).toEqual({ intercept: true, terms: [] });
    expect(parseFormula("y ~ 0 + (1|g)").fixed.intercept).toBe(false);
  });
  it("random-effect left-hand sides are expanded like formulas", () => {
    expect(random("y ~ (a*b | g)")[0].terms).toEqual(["a", "b", "a:b"]);
    expect(random("y ~ (log(x) + I(x^2) | g)")[0]).toMatchObject({ label: "log(x) + I(x^2) | g", terms: ["log(x)", "I(x^2)"] });
  });
});

describe("errors", () => {
  it("reports what was expected, with the position", () => {
    expect(errorAt("y ~ x +", 7).message).toContain("expected a term after '+' at position 7");
    expect(errorAt("y ~ + * x", 6).message).toContain("expected a term after '+'");
  });
  it("missing or extra '~'", () => {
    expect(errorAt("y + x", 5).message).toContain("missing '~'");
    errorAt("y x", 2);
    expect(errorAt("y ~ a ~ b", 6).message).toContain("'~'");
    errorAt("", 0);
    errorAt("y ~", 3);
    errorAt("~", 1);
  });
  it("unbalanced parentheses", () => {
    expect(errorAt("y ~ (x + z", 4).message).toContain("unbalanced parentheses");
    expect(errorAt("y ~ x + z)", 9).message).toContain("unbalanced parentheses");
    errorAt("y ~ log(x", 7);
    errorAt("y ~ (1 | g", 4);
    errorAt("y ~ ()", 5);
    errorAt("(y ~ x)", 3);
  });
  it("unknown operators and characters", () => {
    errorAt("y ~ x & z", 6);
    errorAt("y ~ I(x > 2)", 8);
    errorAt("y ~ x$a", 5);
    errorAt("y ~ x[1]", 5);
    errorAt("y ~ a %o% b", 6);
    errorAt("y ~ I(x %% 2)", 8);
    errorAt("y ~ `my var", 4);
    errorAt('y ~ f(x, "a")', 9);
  });
  it("invalid terms", () => {
    expect(errorAt("y ~ x + 2", 8).message).toContain("0 and 1");
    expect(errorAt("y ~ (a + b)^x", 12).message).toContain("invalid power");
    errorAt("y ~ (a + b)^1", 12);
    errorAt("y ~ f(x,)", 8);
    errorAt("y ~ x y", 6);
    errorAt("y ~ .", 4);
    errorAt("y ~ if", 4);
  });
  it("random-effects terms", () => {
    expect(errorAt("y ~ x + ( | g)", 10).message).toContain("expected a term before '|'");
    expect(errorAt("y ~ x | g", 6).message).toContain("parentheses");
    expect(errorAt("y ~ x + 1 | g", 10).message).toContain("parentheses");
    expect(errorAt("y ~ x + (x | )", 13).message).toContain("expected a grouping factor after '|'");
    errorAt("y ~ (x |", 8);
    errorAt("y ~ (x | g | h)", 11);
    errorAt("y ~ (1 | (x | g))", 12);
    errorAt("y ~ ((x | g) | h)", 13);
    expect(errorAt("y ~ (x || 1)", 10).message).toContain("grouping factor");
    errorAt("y ~ (x || log(g))", 10);
    errorAt("y ~ (x || a + b)", 10);
    errorAt("y ~ (1 | (a/b))", 11);
    errorAt("y ~ (0 | g)", 5);
    errorAt("y ~ (0 || g)", 5);
    errorAt("y ~ x * (1 | g)", 8);
    errorAt("y ~ x - (1 | g)", 8);
    errorAt("y ~ log((1 | g))", 11);
    errorAt("(1 | g) ~ x", 3);
  });
  it("FormulaError carries pos/end and a caret display", () => {
    const e = errorAt("y ~ x + 2", 8);
    expect(e.end).toBe(9);
    expect(e.name).toBe("FormulaError");
    expect(e.message).toContain("y ~ x + 2\n          ^");
  });
});
