// The few pieces of R's nmath that the GLMM families need, ported so the conditional log-likelihood,
// the deviance residuals and the inverse links are R's to rounding: pnorm (Cody 1969, R's
// pnorm_both), dnorm, plogis/dlogis, dbinom and dpois through Loader's saddle-point expansion
// (Loader 2000, "Fast and accurate computation of binomial probabilities": stirlerr + bd0), lgamma,
// digamma and trigamma (for MASS's theta.ml).

const DBL_EPSILON = 2.220446049250313e-16;
const DBL_MIN = 2.2250738585072014e-308;
const M_1_SQRT_2PI = 0.398942280401432677939946059934;
const M_LN_SQRT_2PI = 0.918938533204672741780329736406;
const M_LN_2PI = 1.837877066409345483560659472811;
const M_2PI = 6.283185307179586476925286766559;

// Cody's rational Chebyshev approximations for the normal distribution function (R's pnorm.c).
const PA = [2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582, 18154.981253343561249, 0.065682337918207449113];
const PB = [47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956];
const PC = [
  0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979, 597.27027639480026226, 2494.5375852903726711,
  6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8,
];
const PD = [
  22.266688044328115691, 235.38790178262499861, 1519.377599407554805, 6485.558298266760755, 18615.571640885098091,
  34900.952721145977266, 38912.003286093271411, 19685.429676859990727,
];
const PP = [0.21589853405795699, 0.1274011611602473639, 0.022235277870649807, 0.001421619193227893466, 2.9112874951168792e-5, 0.02307344176494017303];
const PQ = [1.28426009614491121, 0.468238212480865118, 0.0659881378689285515, 0.00378239633202758244, 7.29751555083966205e-5];

/** Φ(x), the standard normal distribution function (R's pnorm(x), lower tail). */
export function pnorm(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  let cum: number, ccum: number;
  if (y <= 0.67448975) {
    let xnum = 0, xden = 0;
    if (y > DBL_EPSILON * 0.5) {
      const xsq = x * x;
      xnum = PA[4] * xsq;
      xden = xsq;
      for (let i = 0; i < 3; i++) {
        xnum = (xnum + PA[i]) * xsq;
        xden = (xden + PB[i]) * xsq;
      }
    }
    const temp = (x * (xnum + PA[3])) / (xden + PB[3]);
    return 0.5 + temp;
  } else if (y <= 5.656854249492380195206754896838) {
    let xnum = PC[8] * y, xden = y;
    for (let i = 0; i < 7; i++) {
      xnum = (xnum + PC[i]) * y;
      xden = (xden + PD[i]) * y;
    }
    const temp = (xnum + PC[7]) / (xden + PD[7]);
    [cum, ccum] = tailDel(y, temp);
  } else if (-37.5193 < x && x < 8.2924) {
    const xsq = 1 / (x * x);
    let xnum = PP[5] * xsq, xden = xsq;
    for (let i = 0; i < 4; i++) {
      xnum = (xnum + PP[i]) * xsq;
      xden = (xden + PQ[i]) * xsq;
    }
    let temp = (xsq * (xnum + PP[4])) / (xden + PQ[4]);
    temp = (M_1_SQRT_2PI - temp) / y;
    [cum, ccum] = tailDel(x, temp);
  } else {
    return x > 0 ? 1 : 0;
  }
  return x > 0 ? ccum : cum;
}

/** R's do_del: exp(−x²/2)·temp computed with x split at a multiple of 1/16 so the square is exact. */
function tailDel(x: number, temp: number): [number, number] {
  const xsq = Math.trunc(x * 16) / 16;
  const del = (x - xsq) * (x + xsq);
  const cum = Math.exp(-xsq * xsq * 0.5) * Math.exp(-del * 0.5) * temp;
  return [cum, 1 - cum];
}

/** φ(x), the standard normal density (R's dnorm(x)). */
export function dnorm(x: number): number {
  const a = Math.abs(x);
  if (a < 5) return M_1_SQRT_2PI * Math.exp(-0.5 * a * a);
  if (a > Math.sqrt(-2 * Math.LN2 * (-1021 + 1 - 53))) return 0;
  // Split x so that x1² is exact (R's dnorm4 for large |x|).
  const x1 = Math.round(a * 65536) / 65536;
  const x2 = a - x1;
  return M_1_SQRT_2PI * (Math.exp(-0.5 * x1 * x1) * Math.exp((-0.5 * x2 - x1) * x2));
}

/** The logistic distribution function 1/(1 + e^−x) (R's plogis). */
export function plogis(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** The logistic density e^−|x| / (1 + e^−|x|)² (R's dlogis). */
export function dlogis(x: number): number {
  const e = Math.exp(-Math.abs(x));
  const f = 1 + e;
  return e / (f * f);
}

// ---------------------------------------------------------------------------------------------
// lgamma, digamma, trigamma

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log |Γ(x)| (Lanczos, g = 7; relative error near 1e-15 for x > 0). */
export function lgamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  if (x === 1 || x === 2) return 0;
  if (x > 1e17) return x * (Math.log(x) - 1);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return M_LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ψ(x) = d log Γ(x)/dx for x > 0: the recurrence up to x ≥ 6, then the asymptotic series. */
export function digamma(x: number): number {
  let r = 0;
  while (x < 6) {
    r -= 1 / x;
    x += 1;
  }
  const f = 1 / (x * x);
  return r + Math.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132)))));
}

/** ψ'(x) for x > 0: the recurrence up to x ≥ 6, then the asymptotic series. */
export function trigamma(x: number): number {
  let r = 0;
  while (x < 6) {
    r += 1 / (x * x);
    x += 1;
  }
  const f = 1 / (x * x);
  return r + 1 / x + f / 2 + (f / x) * (1 / 6 - f * (1 / 30 - f * (1 / 42 - f * (1 / 30))));
}

// ---------------------------------------------------------------------------------------------
// Loader's saddle-point densities (R's stirlerr.c, bd0.c, dbinom.c, dpois.c)

/** stirlerr(n) = log n! − log(√(2πn) (n/e)^n) at n = 0, 0.5, ..., 15 (R's sferr_halves). */
const SFERR_HALVES = [
  0.0, 0.1534264097200273452913848, 0.0810614667953272582196702, 0.054814121051917653896139, 0.0413406959554092940938221,
  0.03316287351993628748511048, 0.02767792568499833914878929, 0.0237461636562974959713292, 0.02079067210376509311152277,
  0.01848845053267318523077934, 0.01664469118982119216319487, 0.01513497322191737887351255, 0.01387612882307074799874573,
  0.01281046524292022692424986, 0.01189670994589177009505572, 0.01110455975820691732662991, 0.010411265261972096497478567,
  0.009799416126158803298389475, 0.009255462182712732917728637, 0.008768700134139385462952823, 0.008330563433362871256469318,
  0.0079341145643140205472481, 0.007573675487951840794972024, 0.007244554301320383179543912, 0.006942840107209529865664152,
  0.006665247032707682442354394, 0.006408994188004207068439631, 0.006171712263039457647532867, 0.005951370112758847735624416,
  0.005746216513010115682023589, 0.00555473355196280137103869,
];

/** The error of Stirling's formula, log n! − log(√(2πn) (n/e)^n). */
export function stirlerr(n: number): number {
  const S0 = 0.083333333333333333333, S1 = 0.00277777777777777777778, S2 = 0.00079365079365079365079365;
  const S3 = 0.000595238095238095238095238, S4 = 0.0008417508417508417508417508;
  if (n <= 15) {
    const nn = n + n;
    if (nn === Math.trunc(nn)) return SFERR_HALVES[nn];
    return lgamma(n + 1) - (n + 0.5) * Math.log(n) + n - M_LN_SQRT_2PI;
  }
  const nn = n * n;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** The deviance term bd0(x, np) = x log(x/np) + np − x, by its Taylor series when x ≈ np. */
export function bd0(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    if (Math.abs(s) < DBL_MIN) return s;
    let ej = 2 * x * v;
    v = v * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
  }
  return x * Math.log(x / np) + np - x;
}

/** log P(X = x) for X ~ Binomial(n, p), q = 1 − p (R's dbinom_raw with log = TRUE). */
export function logDbinomRaw(x: number, n: number, p: number, q: number): number {
  if (p === 0) return x === 0 ? 0 : -Infinity;
  if (q === 0) return x === n ? 0 : -Infinity;
  if (x === 0) {
    if (n === 0) return 0;
    return p < 0.1 ? -bd0(n, n * q) - n * p : n * Math.log(q);
  }
  if (x === n) return q < 0.1 ? -bd0(n, n * p) - n * q : n * Math.log(p);
  if (x < 0 || x > n) return -Infinity;
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
  const lf = M_LN_2PI + Math.log(x) + Math.log1p(-x / n);
  return lc - 0.5 * lf;
}

/** log P(X = x) for X ~ Binomial(n, p) with x and n rounded to integers (R's dbinom(log = TRUE)). */
export function logDbinom(x: number, n: number, p: number): number {
  return logDbinomRaw(Math.round(x), Math.round(n), p, 1 - p);
}

/**
 * log P(X = x) for X ~ Poisson(λ) (R's dpois_raw, log = TRUE). For x not an integer this is the
 * continuous extension Γ(x + 1) in place of x! (R's dpois gives −Inf there).
 */
export function logDpois(x: number, lambda: number): number {
  if (lambda === 0) return x === 0 ? 0 : -Infinity;
  if (!Number.isFinite(lambda) || x < 0) return -Infinity;
  if (x <= lambda * DBL_MIN) return -lambda;
  if (lambda < x * DBL_MIN) return -lambda + x * Math.log(lambda) - lgamma(x + 1);
  return -0.5 * Math.log(M_2PI * x) - stirlerr(x) - bd0(x, lambda);
}
