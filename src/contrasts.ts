// R's contrast matrices (contr.treatment, contr.sum, contr.helmert, contr.poly) and the LINPACK QR
// (dqrdc2) that R uses both to build contr.poly and, in lm()/lme4, to find rank-deficient columns.

export type ContrastType = "contr.treatment" | "contr.sum" | "contr.poly" | "contr.helmert";

export const CONTRAST_TYPES: readonly ContrastType[] = ["contr.treatment", "contr.sum", "contr.poly", "contr.helmert"];

/** A contrast matrix: `matrix` is levels × columns; `columns` are the suffixes R appends to the factor name. */
export interface Contrast {
  type: ContrastType;
  columns: string[];
  matrix: number[][];
}

function checkLevels(type: ContrastType, n: number): void {
  if (n < 2) throw new Error(`${type}: contrasts can be applied only to factors with 2 or more levels (got ${n})`);
}

/** Treatment contrasts: the first level is the baseline; columns are named by the other levels. */
export function contrTreatment(levels: string[]): Contrast {
  const n = levels.length;
  checkLevels("contr.treatment", n);
  const matrix = levels.map((_, i) => Array.from({ length: n - 1 }, (_, j) => (i === j + 1 ? 1 : 0)));
  return { type: "contr.treatment", columns: levels.slice(1), matrix };
}

/** Sum-to-zero contrasts: identity over the first n-1 levels, -1 for the last; columns "1", "2", ... */
export function contrSum(levels: string[]): Contrast {
  const n = levels.length;
  checkLevels("contr.sum", n);
  const matrix = levels.map((_, i) => Array.from({ length: n - 1 }, (_, j) => (i === n - 1 ? -1 : i === j ? 1 : 0)));
  return { type: "contr.sum", columns: numberedColumns(n - 1), matrix };
}

/** Helmert contrasts: column j contrasts level j+1 with the mean of the levels before it. */
export function contrHelmert(levels: string[]): Contrast {
  const n = levels.length;
  checkLevels("contr.helmert", n);
  const matrix = levels.map((_, i) => Array.from({ length: n - 1 }, (_, j) => (i <= j ? -1 : i === j + 1 ? j + 1 : 0)));
  return { type: "contr.helmert", columns: numberedColumns(n - 1), matrix };
}

function numberedColumns(k: number): string[] {
  return Array.from({ length: k }, (_, j) => String(j + 1));
}

/** R's names for the columns of contr.poly: ".L", ".Q", ".C", "^4", "^5", ... */
export function polyColumnNames(k: number): string[] {
  return Array.from({ length: k }, (_, j) => [".L", ".Q", ".C"][j] ?? `^${j + 1}`);
}

/**
 * Orthogonal polynomial contrasts, computed exactly as R's contr.poly (make.poly): QR of the
 * Vandermonde matrix of the centred scores, Q scaled by diag(R), columns normalised, constant dropped.
 */
export function contrPoly(levels: string[] | number, scores?: number[]): Contrast {
  const n = typeof levels === "number" ? levels : levels.length;
  checkLevels("contr.poly", n);
  if (n > 95) throw new Error(`contr.poly: orthogonal polynomials cannot be represented accurately enough for ${n} degrees of freedom`);
  const s = scores ?? Array.from({ length: n }, (_, i) => i + 1);
  if (s.length !== n) throw new Error(`contr.poly: 'scores' has ${s.length} values for ${n} levels`);
  const Z = makePoly(n, s);
  const matrix = Array.from({ length: n }, (_, i) => Array.from({ length: n - 1 }, (_, j) => Z[i + (j + 1) * n]));
  return { type: "contr.poly", columns: polyColumnNames(n - 1), matrix };
}

/** make.poly() inside R's contr.poly: returns the n × n column-major matrix including the constant column. */
function makePoly(n: number, scores: number[]): Float64Array {
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  const y = scores.map((v) => v - mean);
  const X = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) X[i + j * n] = rPow(y[i], j);
  const qr = dqrdc2(X, n, n, 1e-7);
  if (qr.rank < n) throw new Error("contr.poly: 'scores' must all be different numbers");
  const z = new Float64Array(n * n);
  for (let j = 0; j < n; j++) z[j + j * n] = qr.qr[j + j * n];
  const raw = qrQy(qr, z, n);
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += raw[i + j * n] ** 2;
    const norm = Math.sqrt(ss);
    for (let i = 0; i < n; i++) raw[i + j * n] /= norm;
  }
  return raw;
}

/** R's x^y: squares multiply, x^0 is 1 (also for 0^0). */
export function rPow(x: number, y: number): number {
  if (y === 2) return x * x;
  if (x === 1 || y === 0) return 1;
  return Math.pow(x, y);
}

/** Build a contrast of the named type for these levels. */
export function makeContrast(type: ContrastType, levels: string[]): Contrast {
  switch (type) {
    case "contr.treatment":
      return contrTreatment(levels);
    case "contr.sum":
      return contrSum(levels);
    case "contr.helmert":
      return contrHelmert(levels);
    case "contr.poly":
      return contrPoly(levels);
    default:
      throw new Error(`unknown contrast '${type as string}' (use one of ${CONTRAST_TYPES.join(", ")})`);
  }
}

// ---------------------------------------------------------------------------------------------------
// LINPACK QR with R's limited pivoting (dqrdc2.f), and Q·y (dqrsl with job 10000).

/** Result of dqrdc2 on an n × p column-major matrix, as R's qr(x, LAPACK = FALSE). */
export interface LinpackQR {
  n: number;
  p: number;
  /** Compact QR: R in the upper triangle, Householder vectors below. Column-major, columns pivoted. */
  qr: Float64Array;
  qraux: Float64Array;
  rank: number;
  /** 0-based original column index of each pivoted column (R's qr$pivot - 1). */
  pivot: Int32Array;
}

/** Euclidean norm as the reference BLAS dnrm2 (scaled to avoid overflow). */
function nrm2(x: Float64Array, start: number, len: number): number {
  let scale = 0;
  let ssq = 1;
  for (let i = start; i < start + len; i++) {
    const v = x[i];
    if (v === 0) continue;
    const a = Math.abs(v);
    if (scale < a) {
      ssq = 1 + ssq * (scale / a) ** 2;
      scale = a;
    } else ssq += (a / scale) ** 2;
  }
  return scale * Math.sqrt(ssq);
}

/**
 * R's dqrdc2: Householder QR where a column whose remaining norm falls below tol × its original norm
 * is moved to the right-hand end, so the first `rank` pivots are the columns R keeps. `x` is copied.
 */
export function dqrdc2(x: Float64Array, n: number, p: number, tol = 1e-7): LinpackQR {
  const a = Float64Array.from(x);
  const qraux = new Float64Array(p);
  const work1 = new Float64Array(p);
  const work2 = new Float64Array(p);
  const pivot = Int32Array.from({ length: p }, (_, j) => j);
  for (let j = 0; j < p; j++) {
    qraux[j] = nrm2(a, j * n, n);
    work1[j] = qraux[j];
    work2[j] = qraux[j] === 0 ? 1 : qraux[j];
  }
  const lup = Math.min(n, p);
  let k = p + 1; // 1-based, as in the Fortran
  for (let l = 0; l < lup; l++) {
    while (!(l + 1 >= k || qraux[l] >= work2[l] * tol)) {
      moveColumnToEnd(a, n, p, l, [qraux, work1, work2], pivot);
      k--;
    }
    if (l + 1 === n) continue;
    householderStep(a, n, p, l, qraux, work1);
  }
  return { n, p, qr: a, qraux, rank: Math.min(k - 1, n), pivot };
}

/** Rotate column l (and its bookkeeping) to the last position, shifting the others left. */
function moveColumnToEnd(a: Float64Array, n: number, p: number, l: number, vecs: Float64Array[], pivot: Int32Array): void {
  const col = a.slice(l * n, (l + 1) * n);
  a.copyWithin(l * n, (l + 1) * n, p * n);
  a.set(col, (p - 1) * n);
  for (const v of vecs) {
    const t = v[l];
    v.copyWithin(l, l + 1, p);
    v[p - 1] = t;
  }
  const t = pivot[l];
  pivot.copyWithin(l, l + 1, p);
  pivot[p - 1] = t;
}

/** One Householder reflection for column l, applied to the later columns with dqrdc2's norm updates. */
function householderStep(a: Float64Array, n: number, p: number, l: number, qraux: Float64Array, work1: Float64Array): void {
  const ll = l + l * n;
  let nrmxl = nrm2(a, ll, n - l);
  if (nrmxl === 0) return;
  if (a[ll] !== 0) nrmxl = Math.abs(nrmxl) * Math.sign(a[ll]);
  const inv = 1 / nrmxl;
  for (let i = ll; i < (l + 1) * n; i++) a[i] *= inv;
  a[ll] = 1 + a[ll];
  for (let j = l + 1; j < p; j++) {
    const lj = l + j * n;
    let dot = 0;
    for (let i = 0; i < n - l; i++) dot += a[ll + i] * a[lj + i];
    const t = -dot / a[ll];
    for (let i = 0; i < n - l; i++) a[lj + i] += t * a[ll + i];
    if (qraux[j] === 0) continue;
    const tt = Math.max(1 - (Math.abs(a[lj]) / qraux[j]) ** 2, 0);
    // dqrdc2 recomputes the norm when it has shrunk a lot, since the downdate loses accuracy.
    if (Math.abs(tt) < 1e-6) {
      qraux[j] = nrm2(a, lj + 1, n - l - 1);
      work1[j] = qraux[j];
    } else qraux[j] *= Math.sqrt(tt);
  }
  qraux[l] = a[ll];
  a[ll] = -nrmxl;
}

/** Q·y for the Q of a LinpackQR (R's qr.qy); y is n × m column-major and is not modified. */
export function qrQy(qr: LinpackQR, y: Float64Array, m: number): Float64Array {
  const { n, qr: a, qraux } = qr;
  const out = Float64Array.from(y);
  const ju = Math.min(qr.rank, n - 1);
  for (let c = 0; c < m; c++) {
    const off = c * n;
    for (let j = ju - 1; j >= 0; j--) {
      if (qraux[j] === 0) continue;
      const jj = j + j * n;
      const diag = qraux[j]; // dqrsl temporarily puts qraux(j) on the diagonal
      let dot = diag * out[off + j];
      for (let i = 1; i < n - j; i++) dot += a[jj + i] * out[off + j + i];
      const t = -dot / diag;
      out[off + j] += t * diag;
      for (let i = 1; i < n - j; i++) out[off + j + i] += t * a[jj + i];
    }
  }
  return out;
}
