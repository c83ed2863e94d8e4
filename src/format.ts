// R-like number formatting: what R's format(), print.default(), cat(), round(), signif(),
// zapsmall(), abbreviate() and printCoefmat() do, reproduced closely enough that printed
// output matches R (4.2) character for character.
//
// The core is R's formatReal() (src/main/format.c): for a vector of numbers and a number of
// significant digits it chooses one common layout (field width w, decimals d, fixed or
// scientific) that shows every element with at least `digits` significant digits (fewer
// when the number has fewer). Decimal rounding is done exactly on the binary value with
// BigInt, as C's printf does (ties to even), so that results do not depend on the
// approximations of Number.prototype.toFixed. No Node-only APIs: runs in browsers.

/** R's default getOption("width"). */
export const R_WIDTH = 80;

// ---------------------------------------------------------------------------------------------
// Exact decimal arithmetic on doubles

const BIG_TEN = 10n;
const pow10Cache: bigint[] = [1n];
function bigPow10(n: number): bigint {
  for (let i = pow10Cache.length; i <= n; i++) pow10Cache[i] = pow10Cache[i - 1] * BIG_TEN;
  return pow10Cache[n];
}

/** |x| as an exact fraction num/den (den a power of two), for finite x. */
function exactFraction(x: number): { num: bigint; den: bigint } {
  const a = Math.abs(x);
  if (a === 0) return { num: 0n, den: 1n };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, a);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) {
    e = -1074; // subnormal
  } else {
    mant |= 1n << 52n;
    e = bexp - 1075;
  }
  return e >= 0 ? { num: mant << BigInt(e), den: 1n } : { num: mant, den: 1n << BigInt(-e) };
}

/** |x| * 10^p as an exact fraction. */
function scaledFraction(x: number, p: number): { num: bigint; den: bigint } {
  const f = exactFraction(x);
  return p >= 0 ? { num: f.num * bigPow10(p), den: f.den } : { num: f.num, den: f.den * bigPow10(-p) };
}

/** round(|x| * 10^p) to an integer, ties to even (what printf and nearbyint do). */
function roundScaled(x: number, p: number): bigint {
  const { num, den } = scaledFraction(x, p);
  const q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) return q + 1n;
  return q;
}

/** C's sprintf("%.*f", d, x) for finite x (sign kept for negative values that round to zero). */
export function fixedC(x: number, d: number): string {
  const n = roundScaled(x, d).toString();
  let s: string;
  if (d > 0) {
    const padded = n.padStart(d + 1, "0");
    s = padded.slice(0, padded.length - d) + "." + padded.slice(padded.length - d);
  } else s = n;
  return (x < 0 || Object.is(x, -0) ? "-" : "") + s;
}

/** C's sprintf("%.*e", d, x) (and "%#.*e" when alt: keep the "." even if d = 0). */
export function expC(x: number, d: number, alt = false): string {
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  let mant: string;
  let k: number;
  if (x === 0) {
    mant = "0".repeat(d + 1);
    k = 0;
  } else {
    k = Math.floor(Math.log10(Math.abs(x)));
    let n = roundScaled(x, d - k);
    if (n >= bigPow10(d + 1)) {
      k += 1;
      n = roundScaled(x, d - k);
    } else if (n < bigPow10(d)) {
      k -= 1;
      n = roundScaled(x, d - k);
      if (n >= bigPow10(d + 1)) {
        k += 1;
        n = roundScaled(x, d - k);
      }
    }
    mant = n.toString();
  }
  const body = d > 0 || alt ? mant[0] + "." + mant.slice(1) : mant;
  const ek = Math.abs(k);
  return `${sign}${body}e${k < 0 ? "-" : "+"}${ek < 10 ? "0" + ek : String(ek)}`;
}

// ---------------------------------------------------------------------------------------------
// formatReal (R's src/main/format.c)

const KP_MAX = 27;

interface Sci {
  neg: boolean;
  kpower: number;
  nsig: number;
  roundingwidens: boolean;
}

/** R's scientific(): sign, decimal exponent and number of significant digits (≤ digits) of x. */
function scientific(x: number, digits: number): Sci {
  if (x === 0) return { neg: false, kpower: 0, nsig: 1, roundingwidens: false };
  const neg = x < 0;
  const r = Math.abs(x);
  if (digits >= 16) {
    // R uses sprintf("%#.*e") here
    const s = expC(r, digits - 1, true);
    const kpower = parseInt(s.slice(s.indexOf("e") + 1), 10);
    const m = s.slice(0, s.indexOf("e")).replace(".", "");
    let nsig = digits;
    while (nsig > 1 && m[nsig - 1] === "0") nsig--;
    return { neg, kpower, nsig, roundingwidens: false };
  }
  let kp = Math.floor(Math.log10(r)) - digits + 1;
  // r * 10^-kp should lie in [10^(digits-1), 10^digits); fix the estimate exactly
  {
    const { num, den } = scaledFraction(r, -kp);
    if (num < den * bigPow10(digits - 1)) kp--;
    else if (num >= den * bigPow10(digits)) kp++;
  }
  let alpha = roundScaled(r, -kp);
  let nsig = digits;
  for (let j = 1; j <= digits; j++) {
    if (alpha % 10n === 0n) {
      nsig--;
      alpha /= 10n;
    } else break;
  }
  if (nsig === 0 && digits > 0) {
    nsig = 1;
    kp += 1;
  }
  const kpower = kp + digits - 1;
  let rgt = digits - kpower;
  rgt = rgt < 0 ? 0 : rgt > KP_MAX ? KP_MAX : rgt;
  const fuzz = 0.5 / Math.pow(10, rgt);
  const roundingwidens = kpower > 0 && kpower <= KP_MAX && r < Math.pow(10, kpower) - fuzz;
  return { neg, kpower, nsig, roundingwidens };
}

/** Layout chosen by R's formatReal(): width, decimals (fixed) or mantissa digits (sci), e > 0 = scientific. */
export interface RealFormat {
  w: number;
  d: number;
  e: number;
}

/** R's formatReal(x, digits, nsmall): the common layout for the numbers x (null = NA). */
export function formatRealInfo(xs: ReadonlyArray<number | null>, digits = 7, nsmall = 0, scipen = 0): RealFormat {
  let naflag = false;
  let nanflag = false;
  let posinf = false;
  let neginf = false;
  let neg = false;
  let rgt = -Infinity;
  let mxl = -Infinity;
  let mxsl = -Infinity;
  let mxns = -Infinity;
  let mnl = Infinity;
  for (const x of xs) {
    if (x === null || x === undefined) {
      naflag = true;
      continue;
    }
    if (!Number.isFinite(x)) {
      if (Number.isNaN(x)) nanflag = true;
      else if (x > 0) posinf = true;
      else neginf = true;
      continue;
    }
    const s = scientific(x, digits);
    let left = s.kpower + 1;
    if (s.roundingwidens) left--;
    const sleft = (s.neg ? 1 : 0) + (left <= 0 ? 1 : left);
    const right = s.nsig - left;
    if (s.neg) neg = true;
    if (right > rgt) rgt = right;
    if (left > mxl) mxl = left;
    if (left < mnl) mnl = left;
    if (sleft > mxsl) mxsl = sleft;
    if (s.nsig > mxns) mxns = s.nsig;
  }
  let w: number;
  let d: number;
  let e: number;
  if (digits === 0) rgt = 0;
  if (mxl < 0) mxsl = 1 + (neg ? 1 : 0);
  if (rgt < 0) rgt = 0;
  let wF = mxsl + rgt + (rgt !== 0 ? 1 : 0);
  e = mxl > 100 || mnl <= -99 ? 2 : 1;
  if (mxns !== -Infinity) {
    d = mxns - 1;
    w = (neg ? 1 : 0) + (d > 0 ? 1 : 0) + d + 4 + e;
    if (wF <= w + scipen) {
      e = 0;
      if (nsmall > rgt) {
        rgt = nsmall;
        wF = mxsl + rgt + (rgt !== 0 ? 1 : 0);
      }
      d = rgt;
      w = wF;
    }
  } else {
    w = 0;
    d = 0;
    e = 0;
  }
  if (naflag && w < 2) w = 2;
  if (nanflag && w < 3) w = 3;
  if (posinf && w < 3) w = 3;
  if (neginf && w < 4) w = 4;
  return { w, d, e };
}

/** R's encodeReal0(): one number in the layout f, right-justified to width f.w. */
export function encodeReal(x: number | null, f: RealFormat): string {
  let s: string;
  if (x === 0) x = 0; // R strips the sign of negative zero
  if (x === null || x === undefined) s = "NA";
  else if (Number.isNaN(x)) s = "NaN";
  else if (x === Infinity) s = "Inf";
  else if (x === -Infinity) s = "-Inf";
  else if (f.e) s = expC(x, f.d, f.d > 0);
  else s = fixedC(x, f.d);
  return s.padStart(f.w);
}

export interface FormatOptions {
  /** significant digits (R's digits, default 7 = getOption("digits")) */
  digits?: number;
  /** minimum number of decimals in fixed notation (R's nsmall) */
  nsmall?: number;
  /** minimum field width */
  width?: number;
  /** trim = TRUE: no padding to a common width */
  trim?: boolean;
}

/** R's format() of a numeric vector: common layout, each element padded to the common width. */
export function formatNum(xs: ReadonlyArray<number | null>, opts: FormatOptions = {}): string[] {
  const digits = opts.digits ?? 7;
  const f = formatRealInfo(xs, digits, opts.nsmall ?? 0);
  if (opts.width !== undefined && opts.width > f.w) f.w = opts.width;
  const out = xs.map((x) => encodeReal(x, f));
  return opts.trim ? out.map((s) => s.trim()) : out;
}

/** One number as R's print()/cat() shows it (digits significant digits, no padding). */
export function formatNumber(x: number | null, digits = 7): string {
  return formatNum([x], { digits })[0];
}

/** R's formatC(x, digits, format = "f" | "e" | "g", width, flag) for one number. */
export function formatC(
  x: number,
  opts: { digits?: number; format?: "f" | "e" | "g" | "d"; width?: number; flag?: string } = {},
): string {
  const fmt = opts.format ?? "g";
  const flag = opts.flag ?? "";
  // R's default: 4 digits for doubles; a negative value means C's default of 6
  const digits = opts.digits === undefined ? 4 : opts.digits < 0 ? 6 : opts.digits;
  let s: string;
  if (!Number.isFinite(x)) s = Number.isNaN(x) ? "NaN" : x > 0 ? "Inf" : "-Inf";
  else if (fmt === "d") s = fixedC(Math.round(x), 0);
  else if (fmt === "f") s = fixedC(x, digits);
  else if (fmt === "e") s = expC(x, digits, flag.includes("#"));
  else {
    // %g: P significant digits; scientific when exponent < -4 or >= P; trailing zeros dropped unless '#'
    const P = digits === 0 ? 1 : digits;
    if (x === 0) s = flag.includes("#") ? "0." + "0".repeat(P - 1) : "0";
    else {
      const es = expC(x, P - 1);
      const X = parseInt(es.slice(es.indexOf("e") + 1), 10);
      s = X < -4 || X >= P ? es : fixedC(x, P - 1 - X);
      if (!flag.includes("#")) {
        const m = s.indexOf("e");
        let mant = m >= 0 ? s.slice(0, m) : s;
        const ex = m >= 0 ? s.slice(m) : "";
        if (mant.includes(".")) mant = mant.replace(/0+$/, "").replace(/\.$/, "");
        s = mant + ex;
      }
    }
  }
  if (flag.includes("+") && Number.isFinite(x) && !s.startsWith("-")) s = "+" + s;
  else if (flag.includes(" ") && Number.isFinite(x) && !s.startsWith("-")) s = " " + s;
  const width = opts.width ?? 0;
  if (s.length < width) {
    if (flag.includes("-")) s = s.padEnd(width);
    else if (flag.includes("0") && Number.isFinite(x)) {
      const signLen = /^[-+ ]/.test(s) ? 1 : 0;
      s = s.slice(0, signLen) + "0".repeat(width - s.length) + s.slice(signLen);
    } else s = s.padStart(width);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// round(), signif(), zapsmall()

function pow10(n: number): number {
  return Number("1e" + n);
}

function rint(x: number): number {
  // nearbyint: round half to even, keeping the sign (nearbyint(-0.4) is -0)
  if (x < 0 || Object.is(x, -0)) return -rint(-x);
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** R's round(x, digits) (R >= 4.0.0 algorithm: the nearer of the two candidates, ties to even). */
export function roundR(x: number, digits = 0): number {
  if (Number.isNaN(x) || Number.isNaN(digits)) return x + digits;
  if (!Number.isFinite(x) || digits > 308 + 15 || x === 0) return x;
  if (digits < -308) return 0;
  if (digits === 0) return rint(x);
  const dig = Math.floor(digits + 0.5);
  if (dig === 0) return rint(x);
  let sgn = 1;
  if (x < 0) {
    sgn = -1;
    x = -x;
  }
  const logb = Math.floor(Math.log2(x));
  if (Math.LOG10E * Math.LN2 * (0.5 + logb) + dig > 15) return sgn * x;
  let xd: number;
  let xu: number;
  let i10: number;
  if (dig > 0) {
    const p10 = pow10(dig);
    const x10 = p10 * x;
    i10 = Math.floor(x10);
    xd = i10 / p10;
    xu = Math.ceil(x10) / p10;
  } else {
    const p10 = pow10(-dig);
    const x10 = x / p10;
    i10 = Math.floor(x10);
    xd = i10 * p10;
    xu = Math.ceil(x10) * p10;
  }
  const du = xu - x;
  const dd = x - xd;
  return sgn * (du < dd || (du === dd && i10 % 2 === 1) ? xu : xd);
}

/** R's signif(x, digits). */
export function signifR(x: number, digits = 6): number {
  if (Number.isNaN(x) || Number.isNaN(digits)) return x + digits;
  if (!Number.isFinite(x)) return x;
  if (!Number.isFinite(digits)) {
    if (digits > 0) return x;
    digits = 1;
  }
  if (x === 0) return x;
  let dig = Math.round(digits);
  if (dig > 22) return x;
  if (dig < 1) dig = 1;
  let sgn = 1;
  if (x < 0) {
    sgn = -1;
    x = -x;
  }
  const max10e = 308;
  const l10 = Math.log10(x);
  let e10 = dig - 1 - Math.floor(l10);
  if (Math.abs(l10) < max10e - 2) {
    let p10 = 1;
    if (e10 > max10e) {
      p10 = pow10(e10 - max10e);
      e10 = max10e;
    }
    if (e10 > 0) {
      const p = pow10(e10);
      return (sgn * (rint(x * p * p10) / p)) / p10;
    }
    const p = pow10(-e10);
    return sgn * (rint(x / p) * p);
  }
  // extreme exponents: go through the exact decimal representation
  return sgn * Number(expC(x, dig - 1));
}

/** R's zapsmall(x, digits) (R 4.2): round so that values tiny relative to the largest become 0. */
export function zapsmall(xs: ReadonlyArray<number>, digits = 7): number[] {
  const fin = xs.filter((v) => !Number.isNaN(v));
  if (fin.length === 0) return xs.slice();
  const mx = Math.max(...fin.map(Math.abs));
  // R 4.2: digits - log10(mx), not rounded; round() then uses floor(digits + 0.5)
  const d = mx > 0 ? Math.max(0, digits - Math.log10(mx)) : digits;
  return xs.map((v) => roundR(v, d));
}

// ---------------------------------------------------------------------------------------------
// abbreviate()

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
const isLower = (c: string | undefined): boolean => c !== undefined && c >= "a" && c <= "z";
const isLowVowel = (c: string | undefined): boolean =>
  c === "a" || c === "e" || c === "i" || c === "o" || c === "u";

/** R's C-level stripchars(): abbreviate one name to about minlength characters. */
function stripChars(name: string, minlen: number, useClasses: boolean): string {
  let b = name.split("");
  const len = () => b.length;
  let nspace = 0;
  const done = () => len() - nspace <= minlen;
  const firstChar = (i: number) => isSpace(b[i - 1]);
  const lastChar = (i: number) => !isSpace(b[i - 1]) && (i + 1 >= b.length || isSpace(b[i + 1]));
  const del = (i: number) => {
    b.splice(i, 1);
  };
  const finish = () => {
    if (b.length > minlen) for (let i = b.length - 1; i > 0; i--) if (isSpace(b[i])) del(i);
    return b.join("");
  };
  if (b.length < minlen) return finish();
  // trailing blanks are cut, inner ones counted
  {
    let trailing = true;
    for (let i = b.length - 1; i > 0; i--) {
      if (isSpace(b[i])) {
        if (trailing) b = b.slice(0, i);
        else nspace++;
      } else trailing = false;
      if (done()) return finish();
    }
  }
  if (useClasses) {
    // lower-case vowels at the end of a word
    for (let i = b.length - 1; i > 0; i--) {
      if (isLowVowel(b[i]) && lastChar(i)) del(i);
      if (done()) return finish();
    }
    // lower-case vowels not at the start of a word
    for (let i = b.length - 1; i > 0; i--) {
      if (isLowVowel(b[i]) && !firstChar(i)) del(i);
      if (done()) return finish();
    }
    // lower-case letters at the end of a word
    for (let i = b.length - 1; i > 0; i--) {
      if (isLower(b[i]) && lastChar(i)) del(i);
      if (done()) return finish();
    }
    // lower-case letters not at the start of a word
    for (let i = b.length - 1; i > 0; i--) {
      if (isLower(b[i]) && !firstChar(i)) del(i);
      if (done()) return finish();
    }
  }
  // brute force: anything not at the start of a word
  for (let i = b.length - 1; i > 0; i--) {
    if (!firstChar(i) && !isSpace(b[i])) del(i);
    if (done()) return finish();
  }
  return finish();
}

/** R's abbreviate(names, minlength, use.classes = TRUE, strict, method = "left.kept") (values only). */
export function abbreviate(names: ReadonlyArray<string>, minlength = 4, strict = false, useClasses = true): string[] {
  const trimmed = names.map((s) => s.replace(/ +$/, "").replace(/^ +/, ""));
  if (minlength <= 0) return trimmed.map(() => "");
  const uniq: string[] = [];
  for (const s of trimmed) if (!uniq.includes(s)) uniq.push(s);
  const x = uniq.slice();
  if (strict) {
    for (let i = 0; i < x.length; i++) x[i] = stripChars(uniq[i], minlength, useClasses);
  } else {
    let dup2 = uniq.map(() => true);
    let minl = minlength;
    for (;;) {
      for (let i = 0; i < x.length; i++) if (dup2[i]) x[i] = stripChars(uniq[i], minl, useClasses);
      const dupd = x.map((v, i) => x.indexOf(v) < i);
      if (!dupd.some(Boolean)) break;
      minl++;
      const dupVals = new Set(x.filter((_, i) => dupd[i]));
      dup2 = x.map((v, i) => dupd[i] || dupVals.has(v));
      if (minl > 10000) break;
    }
  }
  return trimmed.map((s) => x[uniq.indexOf(s)]);
}

// ---------------------------------------------------------------------------------------------
// print.default of vectors and matrices

/** R's print() of a named vector of strings already formatted (quote = FALSE): right-justified columns. */
export function printNamedStrings(names: ReadonlyArray<string>, values: ReadonlyArray<string>, width = R_WIDTH): string {
  let w = 0;
  for (const s of values) w = Math.max(w, s.length);
  for (const s of names) w = Math.max(w, s.length);
  const gap = 1;
  const perLine = Math.max(1, Math.floor(width / (w + gap)));
  const n = values.length;
  let out = "";
  for (let i = 0; i * perLine < n; i++) {
    if (i) out += "\n";
    let l1 = "";
    let l2 = "";
    for (let j = 0; j < perLine && i * perLine + j < n; j++) {
      const k = i * perLine + j;
      l1 += names[k].padStart(w) + " ".repeat(gap);
      l2 += values[k].padStart(w) + " ".repeat(gap);
    }
    out += l1 + "\n" + l2;
  }
  return out + "\n";
}

/** R's print(x, digits) of a named numeric vector. */
export function printNamedNumbers(names: ReadonlyArray<string>, values: ReadonlyArray<number | null>, digits = 7, width = R_WIDTH): string {
  const f = formatRealInfo(values, digits);
  return printNamedStrings(
    names,
    values.map((v) => encodeReal(v, f)),
    width,
  );
}

/**
 * R's print.default() of a character matrix with quote = FALSE (also what print() of a formatted
 * numeric table amounts to): row labels left-justified, columns left- or right-justified,
 * columns split into blocks that fit in `width` characters.
 */
export function printStringMatrix(
  cells: ReadonlyArray<ReadonlyArray<string>>,
  rowNames: ReadonlyArray<string> | null,
  colNames: ReadonlyArray<string> | null,
  opts: { right?: boolean; width?: number } = {},
): string {
  const right = opts.right ?? false;
  const width = opts.width ?? R_WIDTH;
  const gap = 1;
  const r = cells.length;
  const c = r > 0 ? cells[0].length : colNames ? colNames.length : 0;
  const rlabels = rowNames ?? Array.from({ length: r }, (_, i) => `[${i + 1},]`);
  const clabels = colNames ?? Array.from({ length: c }, (_, j) => `[,${j + 1}]`);
  let rlabw = 0;
  for (const s of rlabels) rlabw = Math.max(rlabw, s.length);
  if (!rowNames) rlabw = String(r + 1).length + 3;
  const w: number[] = [];
  for (let j = 0; j < c; j++) {
    let wj = 0;
    for (let i = 0; i < r; i++) wj = Math.max(wj, cells[i][j].length);
    w[j] = Math.max(wj, clabels[j].length);
  }
  if (c === 0) {
    let out = " ".repeat(rlabw) + "\n";
    for (let i = 0; i < r; i++) out += rlabels[i].padEnd(rlabw) + "\n";
    return out;
  }
  let out = "";
  let jmin = 0;
  while (jmin < c) {
    let jmax = jmin;
    let tot = rlabw;
    do {
      tot += w[jmax] + gap;
      jmax++;
    } while (jmax < c && tot + w[jmax] + gap < width);
    out += " ".repeat(rlabw);
    for (let j = jmin; j < jmax; j++) {
      out += " ".repeat(gap) + (right ? clabels[j].padStart(w[j]) : clabels[j].padEnd(w[j]));
    }
    for (let i = 0; i < r; i++) {
      out += "\n" + rlabels[i].padEnd(rlabw);
      for (let j = jmin; j < jmax; j++) {
        out += " ".repeat(gap) + (right ? cells[i][j].padStart(w[j]) : cells[i][j].padEnd(w[j]));
      }
    }
    out += "\n";
    jmin = jmax;
  }
  return out;
}

/** Bytes of the UTF-8 encoding of s (what R's cat() counts with strlen for its fill width). */
function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * R's cat(..., sep = sep, fill = width) of character items: items separated by `sep`, a line break
 * (after the separator) before an item that would pass `width` (R counts bytes, as strlen), a final
 * newline.
 */
export function catFill(items: ReadonlyArray<string>, width = R_WIDTH, sep = " "): string {
  let out = "";
  let cur = 0;
  const sepw = utf8Length(sep);
  items.forEach((p, i) => {
    const w = utf8Length(p);
    if (i > 0) {
      out += sep;
      if (cur + w + sepw > width) {
        out += "\n";
        cur = 0;
      }
    }
    out += p;
    cur += w + sepw;
  });
  if (cur > 0) out += "\n";
  return out;
}

/**
 * R's strwrap(x, width, indent, exdent, prefix) of one paragraph (no blank lines inside): words split
 * at blanks, lines of fewer than `width` characters; the empty word after a sentence end ("." "?"
 * "!") of a double space is kept, others are dropped.
 */
export function strwrap(x: string, width = 0.9 * R_WIDTH, opts: { indent?: number; exdent?: number; prefix?: string } = {}): string[] {
  const indent = opts.indent ?? 0;
  const exdent = opts.exdent ?? 0;
  const prefix = opts.prefix ?? "";
  let words = x.split(/[ \t\n]/);
  const sentenceEnd = (w: string | undefined) => w !== undefined && /[.?!][)"']?$/.test(w);
  words = words.filter((w, i) => w.length > 0 || sentenceEnd(words[i - 1]));
  if (words.length === 0) return [prefix];
  const nc = words.map((w) => [...w].length);
  const lower = [0];
  const upper: number[] = [];
  let lens: number[] = [];
  {
    let acc = 0;
    for (const n of nc) lens.push((acc += n + 1));
  }
  let current = -1;
  let maxLength = width - prefix.length - indent;
  let first = true;
  while (lens.length) {
    let k = Math.max(lens.filter((l) => l <= maxLength).length, 1);
    if (first) {
      first = false;
      maxLength = width - prefix.length - exdent;
    }
    current += k;
    upper.push(nc[current] === 0 ? current - 1 : current);
    if (lens.length > k) {
      if (nc[current + 1] === 0) {
        current++;
        k++;
      }
      lower.push(current + 1);
    }
    if (lens.length > k) {
      const base = lens[k - 1];
      lens = lens.slice(k).map((l) => l - base);
    } else lens = [];
  }
  return upper.map(
    (u, b) => prefix + " ".repeat(b === 0 ? indent : exdent) + words.slice(lower[b], u + 1).join(" "),
  );
}

// ---------------------------------------------------------------------------------------------
// p-values and significance stars: format.pval(), symnum() with printCoefmat's cut points, and
// printCoefmat's legend (used by printCoefmat below and by anova.ts)

/** R's .Machine$double.eps. */
export const DOUBLE_EPS = 2.220446049250313e-16;

/** The legend of R's significance stars (attr(symnum(...), "legend")). */
export const SIGNIF_LEGEND = "0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1";

/** R's format.pval(pv, digits, eps = .Machine$double.eps) of non-missing p-values. */
export function formatPval(pv: number[], digits: number, eps = DOUBLE_EPS): string[] {
  const r: string[] = pv.map(() => "");
  const is0 = pv.map((p) => p < eps);
  const rest = pv.map((_, i) => i).filter((i) => !is0[i]);
  let rr: string[] = [];
  if (rest.length) {
    const expo = (p: number) => Math.floor(Math.log10(p > 0 ? p : 1e-50));
    const fixp = rest.filter((i) => expo(pv[i]) >= -3 || (expo(pv[i]) === -4 && digits > 1));
    const sci = rest.filter((i) => !fixp.includes(i));
    // each group is format()ted on its own (a common layout within the group)
    for (const group of [fixp, sci]) {
      if (!group.length) continue;
      const f = formatNum(group.map((i) => pv[i]), { digits });
      group.forEach((i, k) => (r[i] = f[k]));
    }
    rr = rest.map((i) => r[i]);
  }
  if (is0.some(Boolean)) {
    let d = Math.max(1, digits - 2);
    let sep: string;
    if (rr.length) {
      const nc = Math.max(...rr.map((s) => s.length));
      if (d > 1 && d + 6 > nc) d = Math.max(1, nc - 7);
      sep = d === 1 && nc <= 6 ? "" : " ";
    } else sep = d === 1 ? "" : " ";
    const s = "<" + sep + formatNumber(eps, d);
    is0.forEach((z, i) => z && (r[i] = s));
  }
  return r;
}

/** R's symnum() of one p-value with the cut points 0, .001, .01, .05, .1, 1 (NA → "", as na = FALSE). */
export function signifStars(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return "";
  return p <= 0.001 ? "***" : p <= 0.01 ? "**" : p <= 0.05 ? "*" : p <= 0.1 ? "." : " ";
}

/** format(symnum(pv, ...)): the stars column, left-justified to a common width. */
export function formatSignifStars(pv: ReadonlyArray<number | null>): string[] {
  const s = pv.map(signifStars);
  const w = Math.max(0, ...s.map((x) => x.length));
  return s.map((x) => x.padEnd(w));
}

/**
 * What printCoefmat prints under a table with stars: "---" and the "Signif. codes:" legend, wrapped
 * as R does when the legend is wider than `width`.
 */
export function signifLegend(width = R_WIDTH): string {
  const sleg = width < SIGNIF_LEGEND.length ? strwrap(SIGNIF_LEGEND, width - 2, { prefix: "  " }) : [SIGNIF_LEGEND];
  const extra = Math.max(...sleg.map((s) => utf8Length(s) - [...s].length));
  return catFill(["---\nSignif. codes:  ", ...sleg], width + 4 + extra, "");
}

// ---------------------------------------------------------------------------------------------
// printCoefmat()

export interface CoefmatOptions {
  digits?: number;
  /** columns holding coefficients and standard errors (0-based), default all before the test statistic */
  csInd?: number[];
  /** columns holding test statistics (0-based), default the last one before the p-values */
  tstInd?: number[];
  /** digits for the test statistics, default max(1, min(5, digits - 1)) */
  digTst?: number;
  width?: number;
  /**
   * the last column holds p-values; default (printCoefmat only) as R: at least 4 columns and the last
   * column's name starts with "Pr(" or "p-v"; formatCoefmat, which has no column names, defaults to false
   */
  hasPvalue?: boolean;
  /** show the p-values (R's P.values, default hasPvalue); false drops the p-value column */
  pValues?: boolean;
  /** significance stars after the p-values when some p < 0.1 (getOption("show.signif.stars"), default true) */
  signifStars?: boolean;
  /** the "Signif. codes" legend under the table, default signifStars */
  signifLegend?: boolean;
  /** p-values below this print as "< eps" (R's eps.Pvalue, default .Machine$double.eps) */
  epsPvalue?: number;
  /** what missing values print as (R's na.print, default "NA") */
  naPrint?: string;
}

interface CoefmatCells {
  cells: string[][];
  colNames: string[] | null;
  /** a stars column was added (and the legend is due, unless signifLegend = false) */
  stars: boolean;
}

function coefmatCells(
  x0: ReadonlyArray<ReadonlyArray<number | null>>,
  colNames0: ReadonlyArray<string> | null,
  opts: CoefmatOptions,
): CoefmatCells {
  const digits = opts.digits ?? 5;
  const nr = x0.length;
  let nc = nr > 0 ? x0[0].length : colNames0 ? colNames0.length : 0;
  let hasP =
    opts.hasPvalue ??
    (colNames0 !== null && nc >= 4 && colNames0.length === nc && /^(Pr\(|p-v)/.test(colNames0[nc - 1]));
  const pValues = opts.pValues ?? hasP;
  if (pValues && !hasP) throw new Error("printCoefmat: pValues is true, but hasPvalue is not");
  let x = x0;
  let colNames = colNames0 ? [...colNames0] : null;
  if (hasP && !pValues) {
    // p-values there but not wanted
    x = x0.map((row) => row.slice(0, nc - 1));
    colNames = colNames ? colNames.slice(0, nc - 1) : null;
    nc--;
    hasP = false;
  }
  const pCol = hasP ? nc - 1 : -1;
  const k = nc - (hasP ? 1 : 0) - (opts.tstInd ? opts.tstInd.length : 1);
  const csInd = opts.csInd ?? Array.from({ length: Math.max(0, k) }, (_, j) => j);
  const tstInd = opts.tstInd ?? (k >= 0 && k < nc ? [k] : []);
  const digTst = opts.digTst ?? Math.max(1, Math.min(5, digits - 1));
  const naPrint = opts.naPrint ?? "NA";
  const Cf: string[][] = Array.from({ length: nr }, () => Array.from({ length: nc }, () => ""));
  const isNA = (v: number | null) => v === null || Number.isNaN(v);
  const put = (cols: number[], vals: string[]) => {
    // vals in column-major order over cols
    let i = 0;
    for (const j of cols) for (let r = 0; r < nr; r++) Cf[r][j] = vals[i++];
  };
  if (csInd.length) {
    const cs: (number | null)[] = [];
    for (const j of csInd) for (let i = 0; i < nr; i++) cs.push(x[i][j]);
    const acs = cs.filter((v): v is number => v !== null && Number.isFinite(v)).map(Math.abs);
    if (acs.length) {
      const nz = acs.filter((v) => v !== 0);
      const digmin = nz.length
        ? [1 + Math.floor(Math.log10(Math.min(...nz))), 1 + Math.floor(Math.log10(Math.max(...nz)))]
        : [1];
      const rd = Math.max(1, ...digmin.map((dm) => digits - dm));
      put(csInd, formatNum(cs.map((v) => (v === null ? null : roundR(v, rd))), { digits }));
    }
  }
  if (tstInd.length) {
    const ts: (number | null)[] = [];
    for (const j of tstInd) for (let i = 0; i < nr; i++) ts.push(x[i][j]);
    put(tstInd, formatNum(ts.map((v) => (v === null ? null : roundR(v, digTst))), { digits }));
  }
  for (let j = 0; j < nc; j++) {
    if (csInd.includes(j) || tstInd.includes(j) || j === pCol) continue;
    put([j], formatNum(x.map((row) => row[j]), { digits }));
  }
  // cells that show 0 while the value is not 0 (or vice versa) are reformatted with digits - 1
  const fix: [number, number][] = [];
  for (let j = 0; j < nc; j++) {
    if (tstInd.includes(j) || j === pCol) continue;
    for (let i = 0; i < nr; i++) {
      const v = x[i][j];
      if (isNA(v)) continue;
      const cell = Cf[i][j].trim();
      const shown = cell === "" ? NaN : Number(cell);
      if (Number.isNaN(shown)) continue;
      if ((v === 0) !== (shown === 0)) fix.push([i, j]);
    }
  }
  if (fix.length) {
    const f = formatNum(
      fix.map(([i, j]) => x[i][j]),
      { digits: Math.max(1, digits - 1) },
    );
    fix.forEach(([i, j], k) => (Cf[i][j] = f[k]));
  }
  for (let i = 0; i < nr; i++)
    for (let j = 0; j < nc; j++) {
      const v = x[i][j];
      if (v === null) Cf[i][j] = naPrint;
      else if (Number.isNaN(v)) Cf[i][j] = "NaN";
    }
  let stars = false;
  if (pValues) {
    const pv = x.map((row) => row[pCol]);
    const okP = pv.map((v) => !isNA(v));
    if (okP.some(Boolean)) {
      const idx = pv.map((_, i) => i).filter((i) => okP[i]);
      const f = formatPval(idx.map((i) => pv[i]!), digTst, opts.epsPvalue ?? DOUBLE_EPS);
      idx.forEach((i, k) => (Cf[i][pCol] = f[k]));
      stars = (opts.signifStars ?? true) && idx.some((i) => pv[i]! < 0.1);
      if (stars) {
        const s = formatSignifStars(pv);
        Cf.forEach((row, i) => row.push(s[i]));
        if (colNames) colNames.push("");
      }
    }
  }
  return { cells: Cf, colNames, stars };
}

/**
 * The cells of R's printCoefmat(x, digits, ...): coefficients and standard errors rounded to a common
 * number of decimals, test statistics to digTst decimals, other columns format()ted; with hasPvalue the
 * last column as format.pval() and, when some p < 0.1 and signifStars is not false, a stars column.
 */
export function formatCoefmat(
  x: ReadonlyArray<ReadonlyArray<number | null>>,
  opts: CoefmatOptions = {},
): string[][] {
  return coefmatCells(x, null, opts).cells;
}

/**
 * R's printCoefmat(x, digits, signif.stars, ...) output: the table (right-justified, in column blocks of
 * `width`), then "---" and the significance legend when stars are shown. A last column named "Pr(..."
 * or "p-v..." (with at least 4 columns) holds p-values, as R decides has.Pvalue.
 */
export function printCoefmat(
  x: ReadonlyArray<ReadonlyArray<number | null>>,
  rowNames: ReadonlyArray<string>,
  colNames: ReadonlyArray<string>,
  opts: CoefmatOptions = {},
): string {
  const r = coefmatCells(x, colNames, opts);
  let out = printStringMatrix(r.cells, rowNames, r.colNames ?? colNames, { right: true, width: opts.width });
  if (r.stars && (opts.signifLegend ?? true)) out += signifLegend(opts.width);
  return out;
}
