// The printed summary of a linear mixed model fit in the layout of lme4's
// print(summary(fit)) (lme4 1.1-31, R 4.2): print.summary.merMod and its helpers
// .prt.methTit, .prt.call, .prt.aictab, .prt.resids, .prt.VC/formatVC, .prt.grps,
// printCoefmat, the fixed-effects correlation and .prt.warn; and lmerTest 3.1-3's
// summary(fit) (summary.lmerModLmerTest: the same print method with lmerTest's title and class and
// the coefficient table Estimate, Std. Error, df, t value, Pr(>|t|) with Satterthwaite's df).

import type { FitJSON, GlmmFitJSON, VarCorrTerm } from "./results-types.js";
import {
  abbreviate,
  catFill,
  formatNum,
  formatNumber,
  printCoefmat,
  printNamedNumbers,
  printNamedStrings,
  printStringMatrix,
  R_WIDTH,
  roundR,
  strwrap,
  zapsmall,
} from "./format.js";

export interface SummaryOptions {
  /** what the fit's data argument was called: prints "   Data: NAME" (omitted when not given) */
  dataName?: string;
  /** significant digits, lme4's default max(3, getOption("digits") - 3) = 4 */
  digits?: number;
  /** show the correlation of the fixed effects: default when p <= 12 (lme4.summary.cor.max) */
  correlation?: boolean;
  /**
   * "Satterthwaite": lmerTest's summary (its title and the columns Estimate, Std. Error, df, t value,
   * Pr(>|t|) from fit.satterthwaite), the default when the fit has `satterthwaite`; "none": lme4's
   * summary (Estimate, Std. Error, t value), the default otherwise.
   */
  ddf?: "Satterthwaite" | "none";
  /** significance stars and their legend after the p-values (R's options(show.signif.stars)); default true */
  signifStars?: boolean;
}

/** lme4's getOption("lme4.summary.cor.max"). */
const COR_MAX = 12;

const RANK_DEFICIENT = /^fixed-effect model matrix is rank deficient/;

/**
 * The text lme4 prints for print(summary(fit)) of a linear mixed model, line for line
 * (every line ends with "\n"), or, with ddf = "Satterthwaite", what lmerTest prints for
 * print(summary(fit)) of its fit. The "Correlation matrix not shown" note, which lme4 sends as a
 * message, is included where it appears on the console.
 */
export function formatSummary(fit: FitJSON, opts: SummaryOptions = {}): string {
  const digits = opts.digits ?? 4;
  const ddf = opts.ddf ?? (fit.satterthwaite ? "Satterthwaite" : "none");
  if (ddf !== "Satterthwaite" && ddf !== "none") {
    throw new Error(`formatSummary: ddf must be "Satterthwaite" or "none" (got ${JSON.stringify(ddf)})`);
  }
  const satt = ddf === "Satterthwaite" ? fit.satterthwaite : null;
  if (ddf === "Satterthwaite" && !satt) {
    throw new Error(
      'formatSummary: ddf = "Satterthwaite" needs the fit\'s Satterthwaite t tests (fit.satterthwaite); use ddf = "none" for lme4\'s summary',
    );
  }
  let out = "";

  // .prt.methTit (lmerTest: summ$methTitle <- paste0(methTitle, ". t-tests use Satterthwaite's method"),
  // summ$objClass <- class(object))
  const title = `Linear mixed model fit by ${fit.REML ? "REML" : "maximum likelihood "}`;
  out += satt ? methTitle(`${title}. t-tests use Satterthwaite's method`, "lmerModLmerTest") : methTitle(title, "lmerMod");

  // .prt.call
  out += catFill(["Formula:", ...deparseFormula(fit.formula)]);
  if (opts.dataName !== undefined) out += catFill(["   Data:", opts.dataName]);
  out += "\n";

  // .prt.aictab
  if (fit.REML) {
    out += catFill(["REML criterion at convergence:", formatNumber(roundR(fit.REMLcrit ?? fit.objective, 1))]);
  } else {
    const vals = [fit.AIC, fit.BIC, fit.logLik, fit.deviance_ML ?? fit.deviance, fit.df_residual].map((v) => roundR(v, 1));
    const f = formatNum(vals);
    f[4] = formatNum([vals[4]])[0];
    out += printNamedStrings(["AIC", "BIC", "logLik", "deviance", "df.resid"], f);
  }
  out += "\n";

  // .prt.resids
  const sr = fit.scaled_residuals;
  if (sr) {
    out += "Scaled residuals: \n";
    const q = zapsmall([sr.Min, sr["1Q"], sr.Median, sr["3Q"], sr.Max], digits + 1);
    out += printNamedNumbers(["Min", "1Q", "Median", "3Q", "Max"], q, digits);
    out += "\n";
  }

  // .prt.VC
  out += "Random effects:\n";
  out += formatVarCorr(fit, digits);

  // .prt.grps
  const groups = Object.entries(fit.ngrps)
    .map(([g, n]) => `${g}, ${n}`)
    .join("; ");
  out += catFill([`Number of obs: ${fit.nobs}, groups: `, groups]);

  // fixed effects
  const names = Object.keys(fit.fixef);
  const p = names.length;
  if (p > 0) {
    out += "\nFixed effects:\n";
    const se = (nm: string, i: number) => fit.se?.[nm] ?? Math.sqrt(fit.vcov[i][i]);
    if (satt) {
      // lmerTest's get_coefmat: contest1D of each unit vector → Estimate, Std. Error, df, t value, Pr(>|t|)
      // keyed by fixed-effect name; a plain array (in fixef order) is read by position, as the reference
      // JSON has it when there is one coefficient; a missing value prints as NA
      const pick = (rec: Record<string, number> | number[] | undefined, nm: string, i: number): number | null => {
        const v = Array.isArray(rec) ? rec[i] : rec?.[nm];
        return typeof v === "number" ? v : null;
      };
      const rows = names.map((nm, i) => {
        const est = fit.fixef[nm];
        const s = se(nm, i);
        return [est, s, pick(satt.df, nm, i), pick(satt.t, nm, i) ?? est / s, pick(satt.p, nm, i)];
      });
      out += printCoefmat(rows, names, ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"], {
        digits,
        signifStars: opts.signifStars ?? true,
      });
    } else {
      const rows = names.map((nm, i) => {
        const est = fit.fixef[nm];
        const s = se(nm, i);
        return [est, s, est / s];
      });
      out += printCoefmat(rows, names, ["Estimate", "Std. Error", "t value"], { digits });
    }

    let correlation = opts.correlation;
    if (correlation === undefined) {
      correlation = p <= COR_MAX;
      if (!correlation) {
        out +=
          `\nCorrelation matrix not shown by default, as p = ${p} > ${COR_MAX}.\n` +
          "Use print(x, correlation=TRUE)  or\n" +
          "    vcov(x)        if you need it\n\n";
      }
    }
    if (correlation && p > 1 && fit.vcov && fit.vcov.length === p) {
      out += "\nCorrelation of Fixed Effects:\n";
      out += formatFixefCorrelation(fit.vcov, names);
    }
  }

  // fit warnings (lme4's .merMod.msgs: the rank-deficiency note of the model matrix)
  const fitMsgs = fitMessages(fit);
  if (fitMsgs.length) out += "fit warnings:\n" + fitMsgs.map((m) => m + "\n").join("");

  // .prt.warn: when the optimizer failed, warned, or lme4's checks have messages
  const msgs = fit.conv_messages ?? [];
  const code = fit.optimizer_code ?? 0;
  const optWarnings = (fit.warnings ?? []).filter((w) => w.startsWith("convergence code "));
  if (code !== 0 || optWarnings.length > 0 || msgs.length > 0) {
    const status = code === 0 ? "OK" : fit.optimizer_message ?? "";
    out += [`optimizer (${fit.optimizer}) convergence code: ${code} (${status})`, ...optWarnings, ...msgs].join("\n") + "\n\n";
  }
  return out;
}

/**
 * lme4's .prt.methTit(mtit, class): "TITLE ['CLASS']" on one line when it fits in the width, else the
 * title strwrap()ped to width - 2 (continuation lines indented by 2) and cat(mtit, " [", class, "]",
 * sep = "", fill = TRUE), which is how lmerTest's long title prints at width 80.
 */
function methTitle(mtit: string, cls: string, width = R_WIDTH): string {
  if (mtit.length + 5 + cls.length > width) {
    return catFill([...strwrap(mtit, width - 2, { exdent: 2 }), " [", cls, "]"], width, "");
  }
  return `${mtit} ['${cls}']\n`;
}

function fitMessages(fit: FitJSON): string[] {
  const fromWarnings = (fit.warnings ?? []).filter((w) => RANK_DEFICIENT.test(w));
  if (fromWarnings.length) return fromWarnings;
  const k = fit.dropped_columns?.length ?? 0;
  if (k === 0) return [];
  return [
    k === 1
      ? "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient"
      : `fixed-effect model matrix is rank deficient so dropping ${k} columns / coefficients`,
  ];
}

/**
 * lme4's formatVC(VarCorr(fit), digits, comp = c("Variance", "Std.Dev.")) printed as .prt.VC does;
 * without the Residual row for a model with no scale parameter (glmer's binomial, Poisson).
 */
function formatVarCorr(fit: Pick<FitJSON, "VarCorr" | "sigma">, digits: number, residual = true): string {
  const terms: [string, VarCorrTerm][] = Object.entries(fit.VarCorr).filter(([g]) => g !== "Residual");
  const groupCol: string[] = [];
  const nameCol: string[] = [];
  const sds: number[] = [];
  const lens: number[] = [];
  for (const [g, t] of terms) {
    t.names.forEach((nm, i) => {
      groupCol.push(i === 0 ? g : "");
      nameCol.push(nm);
      sds.push(t.sd[i]);
    });
    lens.push(t.names.length);
  }
  if (residual) {
    groupCol.push("Residual");
    nameCol.push("");
    sds.push(fit.VarCorr.Residual?.sd?.[0] ?? fit.sigma);
    lens.push(1);
  }
  const variance = formatNum(sds.map((s) => s * s), { digits });
  const stddev = formatNum(sds, { digits });
  const nr = sds.length;
  const cells: string[][] = Array.from({ length: nr }, (_, i) => [groupCol[i], nameCol[i], variance[i], stddev[i]]);
  const colNames = ["Groups", "Name", "Variance", "Std.Dev."];
  const maxlen = Math.max(...lens);
  if (maxlen > 1) {
    const dig = Math.max(2, digits - 2);
    const corrRows: string[][] = [];
    for (const [, t] of terms) {
      const k = t.names.length;
      const m = t.corr ?? identity(k);
      const flat: (number | null)[] = [];
      for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) flat.push(numOrNaN(m[i]?.[j]));
      const f = formatNum(
        flat.map((v) => (v === null ? null : roundR(v, dig))),
        { nsmall: dig },
      );
      for (let i = 0; i < k; i++) {
        const row: string[] = [];
        for (let j = 0; j < maxlen - 1; j++) row.push(j < i && j < k ? f[j * k + i] : "");
        corrRows.push(row);
      }
    }
    if (residual) corrRows.push(Array.from({ length: maxlen - 1 }, () => ""));
    for (let i = 0; i < nr; i++) cells[i].push(...corrRows[i]);
    colNames.push("Corr", ...Array.from({ length: maxlen - 2 }, () => ""));
  }
  return printStringMatrix(
    cells,
    cells.map(() => ""),
    colNames,
    { right: false },
  );
}

function identity(k: number): number[][] {
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)));
}

function numOrNaN(v: number | null | undefined): number {
  return v === null || v === undefined ? NaN : v;
}

/** The lower triangle of cov2cor(vcov) as print.summary.merMod shows it. */
function formatFixefCorrelation(vcov: number[][], names: string[]): string {
  const p = names.length;
  const is = vcov.map((row, i) => Math.sqrt(1 / row[i]));
  const flat: number[] = [];
  for (let j = 0; j < p; j++)
    for (let i = 0; i < p; i++) flat.push(i === j ? 1 : is[i] * vcov[i][j] * is[j]);
  const f = formatNum(
    flat.map((v) => roundR(v, 3)),
    { nsmall: 3 },
  );
  const rowNames = abbreviate(names, 11);
  const colNames = abbreviate(names, 6);
  const cells: string[][] = [];
  for (let i = 1; i < p; i++) {
    const row: string[] = [];
    for (let j = 0; j < p - 1; j++) row.push(j < i ? f[j * p + i] : "");
    cells.push(row);
  }
  return printStringMatrix(cells, rowNames.slice(1), colNames.slice(0, p - 1), { right: false });
}

// ---------------------------------------------------------------------------------------------
// Formula deparsing: R's deparse() of the formula (spacing normalised, lines broken after a
// binary operator or comma once a line passes 60 characters, continuation lines indented).

type Node =
  | { t: "atom"; s: string }
  | { t: "bin"; op: string; l: Node; r: Node }
  | { t: "un"; op: string; a: Node }
  | { t: "paren"; e: Node }
  | { t: "call"; fn: string; args: { name: string | null; v: Node }[] };

// binding powers (higher binds tighter), following R's grammar
const BINARY: Record<string, { lbp: number; right?: boolean; spaced: boolean }> = {
  "~": { lbp: 10, spaced: true },
  "|": { lbp: 20, spaced: true },
  "||": { lbp: 20, spaced: true },
  "&": { lbp: 30, spaced: true },
  "&&": { lbp: 30, spaced: true },
  "==": { lbp: 50, spaced: true },
  "!=": { lbp: 50, spaced: true },
  "<": { lbp: 50, spaced: true },
  ">": { lbp: 50, spaced: true },
  "<=": { lbp: 50, spaced: true },
  ">=": { lbp: 50, spaced: true },
  "+": { lbp: 60, spaced: true },
  "-": { lbp: 60, spaced: true },
  "*": { lbp: 70, spaced: true },
  "/": { lbp: 70, spaced: false },
  "%%": { lbp: 80, spaced: false },
  ":": { lbp: 90, spaced: false },
  "^": { lbp: 110, right: true, spaced: false },
};
const UNARY_BP: Record<string, number> = { "~": 10, "!": 40, "-": 100, "+": 100 };

function tokenize(src: string): string[] | null {
  const toks: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    let m: RegExpMatchArray | null;
    const rest = src.slice(i);
    if ((m = rest.match(/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?L?/))) {
      toks.push(m[0]);
    } else if ((m = rest.match(/^[A-Za-z.][A-Za-z0-9._]*/))) {
      toks.push(m[0]);
    } else if ((m = rest.match(/^`[^`]*`/))) {
      toks.push(m[0]);
    } else if ((m = rest.match(/^"(?:[^"\\]|\\.)*"|^'(?:[^'\\]|\\.)*'/))) {
      toks.push(m[0]);
    } else if ((m = rest.match(/^%[^%]*%/))) {
      toks.push(m[0]);
    } else if ((m = rest.match(/^(\|\||&&|==|!=|<=|>=|[~|&<>+\-*/^:!(),=])/))) {
      toks.push(m[0]);
    } else return null;
    i += m[0].length;
  }
  return toks;
}

function parseFormula(src: string): Node | null {
  const toks = tokenize(src);
  if (!toks || toks.length === 0) return null;
  let pos = 0;
  const peek = () => toks[pos];
  const binInfo = (tok: string | undefined) => {
    if (tok === undefined) return undefined;
    if (tok.startsWith("%") && tok.length > 1) return { lbp: 80, spaced: true };
    return BINARY[tok];
  };
  const isAtom = (tok: string) => /^[A-Za-z0-9.`"']/.test(tok) && !tok.startsWith("%");
  const expr = (rbp: number): Node => {
    const tok = toks[pos++];
    if (tok === undefined) throw new Error("eof");
    let left: Node;
    if (tok === "(") {
      const e = expr(0);
      if (toks[pos++] !== ")") throw new Error(")");
      left = { t: "paren", e };
    } else if (UNARY_BP[tok] !== undefined) {
      left = { t: "un", op: tok, a: expr(UNARY_BP[tok]) };
    } else if (isAtom(tok)) {
      if (peek() === "(") {
        pos++;
        const args: { name: string | null; v: Node }[] = [];
        if (peek() !== ")") {
          for (;;) {
            let name: string | null = null;
            if (toks[pos + 1] === "=" && isAtom(toks[pos])) {
              name = toks[pos];
              pos += 2;
            }
            args.push({ name, v: expr(0) });
            if (peek() === ",") {
              pos++;
              continue;
            }
            break;
          }
        }
        if (toks[pos++] !== ")") throw new Error(")");
        left = { t: "call", fn: tok, args };
      } else left = { t: "atom", s: atomText(tok) };
    } else throw new Error("token");
    for (;;) {
      const op = peek();
      const info = binInfo(op);
      if (!info || info.lbp <= rbp) {
        // right associative ^ continues at equal power
        if (!(info && info.right && info.lbp === rbp)) break;
      }
      pos++;
      const right = expr(info.right ? info.lbp - 1 : info.lbp);
      left = { t: "bin", op: op!, l: left, r: right };
    }
    return left;
  };
  try {
    const e = expr(0);
    return pos === toks.length ? e : null;
  } catch {
    return null;
  }
}

function atomText(tok: string): string {
  if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(tok)) return formatNumber(Number(tok), 15);
  if (tok.startsWith("'")) {
    const inner = tok.slice(1, -1);
    return inner.includes('"') ? tok : `"${inner}"`;
  }
  return tok;
}

/** The lines of R's deparse() of a formula (width.cutoff = 60); the text itself if it does not parse. */
export function deparseFormula(formula: string, cutoff = 60): string[] {
  const tree = parseFormula(formula);
  if (!tree) return [formula];
  const lines: string[] = [];
  let cur = "";
  let indent = 0;
  let startline = true;
  const put = (s: string) => {
    if (startline) {
      startline = false;
      for (let i = 1; i <= indent; i++) cur += i <= 4 ? "    " : "  ";
    }
    cur += s;
  };
  const writeline = () => {
    lines.push(cur);
    cur = "";
    startline = true;
  };
  const linebreak = (state: { lbreak: boolean }) => {
    if (cur.length > cutoff) {
      if (!state.lbreak) {
        state.lbreak = true;
        indent++;
      }
      writeline();
    }
  };
  const walk = (n: Node): void => {
    switch (n.t) {
      case "atom":
        put(n.s);
        break;
      case "paren":
        put("(");
        walk(n.e);
        put(")");
        break;
      case "un":
        put(n.op);
        walk(n.a);
        break;
      case "call": {
        put(n.fn + "(");
        const st = { lbreak: false };
        n.args.forEach((a, i) => {
          if (a.name !== null) put(a.name + " = ");
          walk(a.v);
          if (i < n.args.length - 1) {
            put(", ");
            linebreak(st);
          }
        });
        if (st.lbreak) indent--;
        put(")");
        break;
      }
      case "bin": {
        const info = n.op.startsWith("%") && n.op !== "%%" ? { spaced: true } : BINARY[n.op];
        walk(n.l);
        if (info.spaced) {
          put(` ${n.op} `);
          const st = { lbreak: false };
          linebreak(st);
          walk(n.r);
          if (st.lbreak) indent--;
        } else {
          put(n.op);
          walk(n.r);
        }
        break;
      }
    }
  };
  walk(tree);
  if (cur.length || lines.length === 0) lines.push(cur);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// glmer: print(summary(fit)) of a generalized linear mixed model (lme4 1.1-31, print.summary.merMod
// with .prt.family; the coefficient table has z tests).

export interface GlmerSummaryOptions {
  /** what the fit's data argument was called: prints "   Data: NAME" */
  dataName?: string;
  /** the weights column's name: prints "Weights: NAME" (lme4 prints the weights argument) */
  weightsName?: string;
  digits?: number;
  correlation?: boolean;
  signifStars?: boolean;
}

/** The text lme4 prints for print(summary(fit)) of a glmer fit, line for line. */
export function formatGlmerSummary(fit: GlmmFitJSON, opts: GlmerSummaryOptions = {}): string {
  const digits = opts.digits ?? 4;
  const how = fit.nAGQ === 1 ? "(Laplace Approximation)" : `(Adaptive Gauss-Hermite Quadrature, nAGQ = ${fit.nAGQ})`;
  let out = methTitle(`Generalized linear mixed model fit by maximum likelihood ${how}`, "glmerMod");
  out += ` Family: ${fit.family}  ( ${fit.link} )\n`;
  out += catFill(["Formula:", ...deparseFormula(fit.formula)]);
  if (opts.dataName !== undefined) out += catFill(["   Data:", opts.dataName]);
  if (opts.weightsName !== undefined) out += catFill(["Weights:", opts.weightsName]);
  out += "\n";
  // .prt.aictab: the deviance column is −2 log L
  const vals = [fit.AIC, fit.BIC, fit.logLik, -2 * fit.logLik, fit.df_residual].map((v) => roundR(v, 1));
  const f = formatNum(vals);
  f[4] = formatNum([vals[4]])[0];
  out += printNamedStrings(["AIC", "BIC", "logLik", "deviance", "df.resid"], f);
  out += "\n";
  const sr = fit.scaled_residuals;
  out += "Scaled residuals: \n";
  out += printNamedNumbers(["Min", "1Q", "Median", "3Q", "Max"], zapsmall([sr.Min, sr["1Q"], sr.Median, sr["3Q"], sr.Max], digits + 1), digits);
  out += "\n";
  out += "Random effects:\n";
  out += formatVarCorr(fit, digits, false);
  const groups = Object.entries(fit.ngrps)
    .map(([g, n]) => `${g}, ${n}`)
    .join("; ");
  out += catFill([`Number of obs: ${fit.nobs}, groups: `, groups]);
  const names = Object.keys(fit.fixef);
  const p = names.length;
  if (p > 0) {
    out += "\nFixed effects:\n";
    const rows = names.map((nm) => [fit.fixef[nm], fit.se[nm], fit.z[nm], fit.p[nm]]);
    out += printCoefmat(rows, names, ["Estimate", "Std. Error", "z value", "Pr(>|z|)"], { digits, signifStars: opts.signifStars ?? true });
    let correlation = opts.correlation;
    if (correlation === undefined) {
      correlation = p <= COR_MAX;
      if (!correlation) {
        out +=
          `\nCorrelation matrix not shown by default, as p = ${p} > ${COR_MAX}.\n` +
          "Use print(x, correlation=TRUE)  or\n" +
          "    vcov(x)        if you need it\n\n";
      }
    }
    if (correlation && p > 1) {
      out += "\nCorrelation of Fixed Effects:\n";
      out += formatFixefCorrelation(fit.vcov, names);
    }
  }
  const k = fit.dropped_columns?.length ?? 0;
  if (k > 0) {
    out += "fit warnings:\n";
    out += (k === 1 ? "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient" : `fixed-effect model matrix is rank deficient so dropping ${k} columns / coefficients`) + "\n";
  }
  const msgs = fit.conv_messages ?? [];
  const code = fit.optimizer_code ?? 0;
  const optWarnings = (fit.warnings ?? []).filter((w) => w.startsWith("convergence code "));
  if (code !== 0 || optWarnings.length > 0 || msgs.length > 0) {
    const status = code === 0 ? "OK" : fit.optimizer_message ?? "";
    out += [`optimizer (${fit.optimizer}) convergence code: ${code} (${status})`, ...optWarnings, ...msgs].join("\n") + "\n\n";
  }
  return out;
}
