// Kernels of the profiled-deviance evaluation (Bates et al. 2015, JSS 67(1), section 3) on f64 data in
// linear memory. JS lays out every array once per fit (see src/blocked.ts) and passes byte offsets; no
// kernel allocates. Matrices are row-major; "lower" means only the lower triangle is read or written.
//
// The factor L of  [Λ'Z'ZΛ + I  Λ'Z'X  Λ'Z'y; ...; y'ZΛ y'X y'y]  is kept in two parts:
//  - the first (largest) random-effects term: one k1×k1 block per level (L11), with a "panel" per level
//    holding that level's column of L below the block, restricted to the trailing rows it touches;
//  - the trailing dense lower triangle C (other random terms, then X, then y), which receives the Schur
//    complement of the first block and is factored in place.

// ---------------------------------------------------------------------------------------------------
// Arena
// ---------------------------------------------------------------------------------------------------

/** Bump-allocates `bytes` (8-byte aligned) from the arena; memory grows as needed. */
export function alloc(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

/** Forgets every allocation: the next fit reuses the same memory. */
export function reset(): void {
  heap.reset();
}

// ---------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------

@inline function ld(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}
@inline function st(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}
@inline function ldi(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/** Σ a[i] b[i] for i < n; the SIMD build does two lanes at a time. */
@inline function dot(a: usize, b: usize, n: i32): f64 {
  let s: f64 = 0;
  let i: i32 = 0;
  if (ASC_FEATURE_SIMD) {
    let acc0 = f64x2.splat(0);
    let acc1 = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 3;
      acc0 = f64x2.add(acc0, f64x2.mul(v128.load(a + o), v128.load(b + o)));
      acc1 = f64x2.add(acc1, f64x2.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
    }
    const acc = f64x2.add(acc0, acc1);
    s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  }
  for (; i < n; i++) s += ld(a, i) * ld(b, i);
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Dense Cholesky
// ---------------------------------------------------------------------------------------------------

// A 4×2 tile of dot products, returned through globals (no tuples in AssemblyScript).
let t00: f64 = 0, t01: f64 = 0, t10: f64 = 0, t11: f64 = 0, t20: f64 = 0, t21: f64 = 0, t30: f64 = 0, t31: f64 = 0;

/**
 * t_ab = Σ_{k<n} r_a[k] s_b[k] for four rows r0..r3 against two rows s0, s1: 6 loads serve 8 products
 * (a 4×1 tile needs 5 for 4), and the 8 independent sums keep the adders busy. Both loops bump six
 * pointers rather than index six bases (fewer live registers: the scalar build spilled, 13% slower),
 * and take one vector per trip: unrolled, V8 hoists all 12 loads above the arithmetic and spills
 * (twice as slow). At 8 accumulators + 6 loads the 16 XMM registers are full.
 */
@inline function dot4x2(r0: usize, r1: usize, r2: usize, r3: usize, s0: usize, s1: usize, n: i32): void {
  let a00: f64 = 0, a01: f64 = 0, a10: f64 = 0, a11: f64 = 0, a20: f64 = 0, a21: f64 = 0, a30: f64 = 0, a31: f64 = 0;
  let k: i32 = 0;
  if (ASC_FEATURE_SIMD) {
    let v00 = f64x2.splat(0), v01 = f64x2.splat(0), v10 = f64x2.splat(0), v11 = f64x2.splat(0);
    let v20 = f64x2.splat(0), v21 = f64x2.splat(0), v30 = f64x2.splat(0), v31 = f64x2.splat(0);
    if (n >= 2) {
      let p0 = r0, p1 = r1, p2 = r2, p3 = r3, q0 = s0, q1 = s1;
      const end = s0 + (<usize>(n & ~1) << 3);
      do {
        const x0 = v128.load(q0), x1 = v128.load(q1);
        let y = v128.load(p0);
        v00 = f64x2.add(v00, f64x2.mul(y, x0));
        v01 = f64x2.add(v01, f64x2.mul(y, x1));
        y = v128.load(p1);
        v10 = f64x2.add(v10, f64x2.mul(y, x0));
        v11 = f64x2.add(v11, f64x2.mul(y, x1));
        y = v128.load(p2);
        v20 = f64x2.add(v20, f64x2.mul(y, x0));
        v21 = f64x2.add(v21, f64x2.mul(y, x1));
        y = v128.load(p3);
        v30 = f64x2.add(v30, f64x2.mul(y, x0));
        v31 = f64x2.add(v31, f64x2.mul(y, x1));
        p0 += 16;
        p1 += 16;
        p2 += 16;
        p3 += 16;
        q0 += 16;
        q1 += 16;
      } while (q0 < end);
      k = n & ~1;
    }
    a00 = f64x2.extract_lane(v00, 0) + f64x2.extract_lane(v00, 1);
    a01 = f64x2.extract_lane(v01, 0) + f64x2.extract_lane(v01, 1);
    a10 = f64x2.extract_lane(v10, 0) + f64x2.extract_lane(v10, 1);
    a11 = f64x2.extract_lane(v11, 0) + f64x2.extract_lane(v11, 1);
    a20 = f64x2.extract_lane(v20, 0) + f64x2.extract_lane(v20, 1);
    a21 = f64x2.extract_lane(v21, 0) + f64x2.extract_lane(v21, 1);
    a30 = f64x2.extract_lane(v30, 0) + f64x2.extract_lane(v30, 1);
    a31 = f64x2.extract_lane(v31, 0) + f64x2.extract_lane(v31, 1);
  }
  if (k < n) {
    const o = <usize>k << 3;
    let p0 = r0 + o, p1 = r1 + o, p2 = r2 + o, p3 = r3 + o, q0 = s0 + o, q1 = s1 + o;
    const end = q0 + (<usize>(n - k) << 3);
    do {
      const x0 = load<f64>(q0), x1 = load<f64>(q1);
      let y = load<f64>(p0);
      a00 += y * x0;
      a01 += y * x1;
      y = load<f64>(p1);
      a10 += y * x0;
      a11 += y * x1;
      y = load<f64>(p2);
      a20 += y * x0;
      a21 += y * x1;
      y = load<f64>(p3);
      a30 += y * x0;
      a31 += y * x1;
      p0 += 8;
      p1 += 8;
      p2 += 8;
      p3 += 8;
      q0 += 8;
      q1 += 8;
    } while (q0 < end);
  }
  t00 = a00;
  t01 = a01;
  t10 = a10;
  t11 = a11;
  t20 = a20;
  t21 = a21;
  t30 = a30;
  t31 = a31;
}

// Block sizes of the right-looking factorisation: steps of NB columns, whose trailing update goes JB
// columns at a time so that those rows' NB-long slices (32 KB) stay in cache while every row quad below
// passes them. Long slices keep the per-tile reductions and stores small next to the tile's loop, and
// make few passes over the trailing triangle. Measured at n = 1159 (V8, Zen 3): NB 128-256 and JB 16-32
// within 3% on a quiet machine (NB = 192 up to 10% ahead with a memory-bound process on the other
// core); NB = 64 10% slower; no JB 15% slower. JB must be a multiple of 4 (diagonal tiles start J-blocks).
const NB: i32 = 128;
const JB: i32 = 32;

/**
 * Row i of L restricted to columns ≥ k0 (earlier columns were already subtracted by the trailing
 * updates): entries j0 ≤ j < i, then the pivot. Returns 0 or i+1 when the pivot is not positive.
 */
@inline function choleskyRow(a: usize, rowBytes: usize, i: i32, j0: i32, k0: i32): i32 {
  const ri = a + <usize>i * rowBytes + (<usize>k0 << 3);
  for (let j = j0; j < i; j++) {
    const rj = a + <usize>j * rowBytes + (<usize>k0 << 3);
    st(ri, j - k0, (ld(ri, j - k0) - dot(ri, rj, j - k0)) / ld(rj, j - k0));
  }
  const d = ld(ri, i - k0) - dot(ri, ri, i - k0);
  if (!(d > 0)) return i + 1;
  st(ri, i - k0, Math.sqrt(d));
  return 0;
}

/**
 * Columns k0 ≤ j < j1 of the four rows at r0 (row stride rowBytes), by forward substitution against
 * rows j (factored already) two columns at a time: the 4×2 tile gives Σ_{k0≤k<j} for both columns, and
 * column j+1 then takes the k = j term from the freshly computed L[i][j].
 */
@inline function solveQuad(a: usize, rowBytes: usize, r0: usize, k0: i32, j1: i32): void {
  const off = <usize>k0 << 3;
  const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
  let j = k0;
  for (; j + 2 <= j1; j += 2) {
    const s0 = a + <usize>j * rowBytes, s1 = s0 + rowBytes;
    dot4x2(r0 + off, r1 + off, r2 + off, r3 + off, s0 + off, s1 + off, j - k0);
    const d0 = ld(s0, j), c = ld(s1, j), d1 = ld(s1, j + 1);
    let x = (ld(r0, j) - t00) / d0;
    st(r0, j, x);
    st(r0, j + 1, (ld(r0, j + 1) - t01 - x * c) / d1);
    x = (ld(r1, j) - t10) / d0;
    st(r1, j, x);
    st(r1, j + 1, (ld(r1, j + 1) - t11 - x * c) / d1);
    x = (ld(r2, j) - t20) / d0;
    st(r2, j, x);
    st(r2, j + 1, (ld(r2, j + 1) - t21 - x * c) / d1);
    x = (ld(r3, j) - t30) / d0;
    st(r3, j, x);
    st(r3, j + 1, (ld(r3, j + 1) - t31 - x * c) / d1);
  }
  for (; j < j1; j++) {
    const s = a + <usize>j * rowBytes;
    const d = ld(s, j);
    for (let r = r0; r <= r3; r += rowBytes) st(r, j, (ld(r, j) - dot(r + off, s + off, j - k0)) / d);
  }
}

// The three parts of a step are separate functions so that V8 compiles them optimised while the first
// call is still running (one big function runs that whole call in the baseline tier: 200 ms vs 75 ms
// at n = 1159).

/** Rows k0 ≤ i < k1 of L for columns ≥ k0 (the diagonal block of one step); 0 or the failing i+1. */
function factorDiagonal(a: usize, rowBytes: usize, k0: i32, k1: i32): i32 {
  let i = k0;
  for (; i + 4 <= k1; i += 4) {
    solveQuad(a, rowBytes, a + <usize>i * rowBytes, k0, i);
    for (let r = i; r < i + 4; r++) {
      const info = choleskyRow(a, rowBytes, r, i, k0);
      if (info != 0) return info;
    }
  }
  for (; i < k1; i++) {
    const info = choleskyRow(a, rowBytes, i, k0, k0);
    if (info != 0) return info;
  }
  return 0;
}

/**
 * Columns k0 ≤ j < k1 of the rows i0 ≤ i < i1 below the diagonal block (i0 - k1 a multiple of 4; i1
 * likewise or n): rows are independent here, so threads can take disjoint ranges.
 */
function solveBelow(a: usize, rowBytes: usize, n: i32, k0: i32, k1: i32, i0: i32, i1: i32): void {
  const off = <usize>k0 << 3;
  let i = i0;
  for (; i + 4 <= i1; i += 4) solveQuad(a, rowBytes, a + <usize>i * rowBytes, k0, k1);
  for (; i < i1; i++) {
    const ri = a + <usize>i * rowBytes;
    for (let j = k0; j < k1; j++) {
      const s = a + <usize>j * rowBytes;
      st(ri, j, (ld(ri, j) - dot(ri + off, s + off, j - k0)) / ld(s, j));
    }
  }
}

/**
 * C[i][j] -= Σ_{k0≤k<k1} L[i][k] L[j][k] for k1 ≤ j ≤ i < n: the trailing (Schur complement) update of
 * one right-looking step, in 4×2 tiles; the tiles on the diagonal compute a few unused upper entries
 * (from lower-triangle inputs) but store only the lower ones. Only rows i0 ≤ i < i1 (i0 - k1 a multiple
 * of 4; i1 likewise or n): each entry is one tile's work whichever range holds its row, so threads
 * taking disjoint ranges give the serial result bit for bit.
 */
function trailingUpdate(a: usize, rowBytes: usize, n: i32, k0: i32, k1: i32, i0: i32, i1: i32): void {
  const off = <usize>k0 << 3;
  const kb = k1 - k0;
  const iEnd = k1 + ((n - k1) & ~3);
  const rowsEnd = min(i1, iEnd);
  for (let jb = k1; jb < rowsEnd; jb += JB) {
    const je = min(jb + JB, iEnd);
    for (let i = max(jb, i0); i < rowsEnd; i += 4) {
      const r0 = a + <usize>i * rowBytes;
      const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
      const jEnd = min(i, je);
      for (let j = jb; j < jEnd; j += 2) {
        const s0 = a + <usize>j * rowBytes;
        dot4x2(r0 + off, r1 + off, r2 + off, r3 + off, s0 + off, s0 + rowBytes + off, kb);
        st(r0, j, ld(r0, j) - t00);
        st(r0, j + 1, ld(r0, j + 1) - t01);
        st(r1, j, ld(r1, j) - t10);
        st(r1, j + 1, ld(r1, j + 1) - t11);
        st(r2, j, ld(r2, j) - t20);
        st(r2, j + 1, ld(r2, j + 1) - t21);
        st(r3, j, ld(r3, j) - t30);
        st(r3, j + 1, ld(r3, j + 1) - t31);
      }
      if (i >= je) continue;
      // the 4×4 diagonal block: columns i, i+1 against rows r0..r3, then columns i+2, i+3
      dot4x2(r0 + off, r1 + off, r2 + off, r3 + off, r0 + off, r1 + off, kb);
      st(r0, i, ld(r0, i) - t00);
      st(r1, i, ld(r1, i) - t10);
      st(r1, i + 1, ld(r1, i + 1) - t11);
      st(r2, i, ld(r2, i) - t20);
      st(r2, i + 1, ld(r2, i + 1) - t21);
      st(r3, i, ld(r3, i) - t30);
      st(r3, i + 1, ld(r3, i + 1) - t31);
      dot4x2(r0 + off, r1 + off, r2 + off, r3 + off, r2 + off, r3 + off, kb);
      st(r2, i + 2, ld(r2, i + 2) - t20);
      st(r3, i + 2, ld(r3, i + 2) - t30);
      st(r3, i + 3, ld(r3, i + 3) - t31);
    }
  }
  // the last n - iEnd < 4 rows: the same tiles with the missing rows aliased to the first (their sums
  // are dropped), then their own small triangle
  const nt = n - iEnd;
  if (nt == 0 || i1 < n) return;
  const r0 = a + <usize>iEnd * rowBytes;
  const r1 = nt > 1 ? r0 + rowBytes : r0;
  const r2 = nt > 2 ? r1 + rowBytes : r0;
  for (let j = k1; j < iEnd; j += 2) {
    const s0 = a + <usize>j * rowBytes;
    dot4x2(r0 + off, r1 + off, r2 + off, r0 + off, s0 + off, s0 + rowBytes + off, kb);
    st(r0, j, ld(r0, j) - t00);
    st(r0, j + 1, ld(r0, j + 1) - t01);
    if (nt > 1) {
      st(r1, j, ld(r1, j) - t10);
      st(r1, j + 1, ld(r1, j + 1) - t11);
    }
    if (nt > 2) {
      st(r2, j, ld(r2, j) - t20);
      st(r2, j + 1, ld(r2, j + 1) - t21);
    }
  }
  for (let i = iEnd; i < n; i++) {
    const ri = a + <usize>i * rowBytes;
    for (let j = iEnd; j <= i; j++) st(ri, j, ld(ri, j) - dot(ri + off, a + <usize>j * rowBytes + off, kb));
  }
}

/**
 * In-place lower Cholesky factor of the leading n×n of a row-major matrix with row stride `ld_`.
 * Right-looking in steps of NB columns: factor the diagonal block (Crout order), solve the rows below
 * it for those columns, and subtract their products from the trailing lower triangle. The bulk of the
 * work is that update, whose inputs are cache-sized blocks of NB-long slices (InstEval's 1159² factor,
 * 10 MB, is not), done in 4×2 register tiles. Only the lower triangle is read or written. The pivots
 * are still taken in order, each from the rows and columns before it only, so the first failure is
 * the unblocked one. Returns 0, or j+1 when the leading (j+1)×(j+1) minor is not positive definite.
 */
export function choleskyStrided(a: usize, n: i32, ld_: i32): i32 {
  const rowBytes = <usize>ld_ << 3;
  for (let k0: i32 = 0; k0 < n; k0 += NB) {
    const k1 = min(k0 + NB, n);
    const info = factorDiagonal(a, rowBytes, k0, k1);
    if (info != 0) return info;
    if (k1 == n) break;
    solveBelow(a, rowBytes, n, k0, k1, k1, n);
    trailingUpdate(a, rowBytes, n, k0, k1, k1, n);
  }
  return 0;
}

// The steps of choleskyStrided one by one, for a team of threads sharing the memory (src/threads.ts):
// one thread factors the diagonal block, then each takes a row range of the solve, then (after all
// have finished it) a row range of the trailing update.

/** The column block NB of one step. */
export function choleskyStep(): i32 {
  return NB;
}

/** Factors the diagonal block of the step at column k0; 0 or the failing pivot as choleskyStrided. */
export function choleskyDiagonal(a: usize, n: i32, ld_: i32, k0: i32): i32 {
  return factorDiagonal(a, <usize>ld_ << 3, k0, min(k0 + NB, n));
}

/** The step at k0's solve for rows i0 ≤ i < i1. */
export function choleskySolveRows(a: usize, n: i32, ld_: i32, k0: i32, i0: i32, i1: i32): void {
  solveBelow(a, <usize>ld_ << 3, n, k0, min(k0 + NB, n), i0, i1);
}

/** The step at k0's trailing update of rows i0 ≤ i < i1. */
export function choleskyUpdateRows(a: usize, n: i32, ld_: i32, k0: i32, i0: i32, i1: i32): void {
  trailingUpdate(a, <usize>ld_ << 3, n, k0, min(k0 + NB, n), i0, i1);
}

/** In-place lower Cholesky factor of a dense row-major n×n matrix. */
export function cholesky(a: usize, n: i32): i32 {
  return choleskyStrided(a, n, n);
}

/** Σ log a[i·step] for i < n: the log-determinant contribution of a factor's diagonal. */
export function sumLogDiag(a: usize, n: i32, step: i32): f64 {
  let s: f64 = 0;
  for (let i: i32 = 0; i < n; i++) s += Math.log(ld(a, i * step));
  return s;
}

/** Σ log of the diagonals of m consecutive k×k blocks. */
export function sumLogDiagBlocks(a: usize, m: i32, k: i32): f64 {
  let s: f64 = 0;
  const kk = k * k;
  for (let j: i32 = 0; j < m; j++) {
    for (let c: i32 = 0; c < k; c++) s += Math.log(ld(a, j * kk + c * (k + 1)));
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// First term: block-diagonal part
// ---------------------------------------------------------------------------------------------------

/**
 * L11_j = chol(λ' A11_j λ + I) for each of the m levels (k×k blocks, λ lower triangular k×k).
 * `work` needs k*k doubles. Returns 0 or (level*k + j + 1) of the first failure.
 */
export function updateBlockDiag(m: i32, k: i32, lambda: usize, A: usize, L: usize, work: usize): i32 {
  const kk = k * k;
  if (k == 1) {
    const t = ld(lambda, 0);
    const t2 = t * t;
    for (let j: i32 = 0; j < m; j++) st(L, j, Math.sqrt(t2 * ld(A, j) + 1.0));
    return 0;
  }
  for (let j: i32 = 0; j < m; j++) {
    const a = A + (<usize>(j * kk) << 3);
    const l = L + (<usize>(j * kk) << 3);
    // work = A_j λ  (λ[b, c] = 0 for b < c)
    for (let r: i32 = 0; r < k; r++) {
      for (let c: i32 = 0; c < k; c++) {
        let s: f64 = 0;
        for (let b: i32 = c; b < k; b++) s += ld(a, r * k + b) * ld(lambda, b * k + c);
        st(work, r * k + c, s);
      }
    }
    // l = λ' work + I (lower triangle)
    for (let r: i32 = 0; r < k; r++) {
      for (let c: i32 = 0; c <= r; c++) {
        let s: f64 = r == c ? 1.0 : 0.0;
        for (let b: i32 = r; b < k; b++) s += ld(lambda, b * k + r) * ld(work, b * k + c);
        st(l, r * k + c, s);
      }
      for (let c: i32 = r + 1; c < k; c++) st(l, r * k + c, 0);
    }
    const info = cholesky(l, k);
    if (info != 0) return j * k + info;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// First term: panels (its columns of L below the diagonal block)
// ---------------------------------------------------------------------------------------------------

/**
 * For each level j: P_j = (Λ' A[rows_j, cols_j] λ1) L11_j^{-T}, where rows_j (panelRow) are the trailing
 * rows that level j touches. Rows of other random terms come in complete level blocks, so Λ' acts
 * within a panel: row r of block b becomes Σ_{a ≥ r} λ[a, r] row a (λ lower triangular).
 * `work` needs k1 doubles.
 */
export function updatePanels(
  m1: i32, k1: i32, lambda1: usize, L11: usize,
  panelStart: usize, panelRow: usize, Apanel: usize, P: usize,
  rowTerm: usize, rowBlock: usize, termK: usize, termLambda: usize, work: usize,
): void {
  if (k1 == 1) {
    updatePanelsScalar(m1, lambda1, L11, panelStart, panelRow, Apanel, P, rowTerm, rowBlock, termK, termLambda);
    return;
  }
  const kk = k1 * k1;
  for (let j: i32 = 0; j < m1; j++) {
    const r0 = ldi(panelStart, j);
    const r1 = ldi(panelStart, j + 1);
    const l = L11 + (<usize>(j * kk) << 3);
    for (let r = r0; r < r1; r++) {
      const src = Apanel + (<usize>(r * k1) << 3);
      const dst = P + (<usize>(r * k1) << 3);
      // dst = (Λ' A)[row] λ1: first the left factor (rows of the same level block of another term)
      const t = ldi(rowTerm, ldi(panelRow, r));
      if (t < 0) {
        for (let c: i32 = 0; c < k1; c++) st(work, c, ld(src, c));
      } else {
        const kt = ldi(termK, t);
        const lam = <usize>ldi(termLambda, t);
        const trow = ldi(panelRow, r);
        const off = trow - ldi(rowBlock, trow); // position of this row within its level block
        for (let c: i32 = 0; c < k1; c++) {
          let s: f64 = 0;
          for (let a = off; a < kt; a++) s += ld(lam, a * kt + off) * ld(src, (a - off) * k1 + c);
          st(work, c, s);
        }
      }
      // right factor λ1, then solve x L11' = row (forward substitution)
      for (let c: i32 = 0; c < k1; c++) {
        let s: f64 = 0;
        for (let b = c; b < k1; b++) s += ld(work, b) * ld(lambda1, b * k1 + c);
        st(dst, c, s);
      }
      for (let c: i32 = 0; c < k1; c++) {
        let s = ld(dst, c);
        for (let b: i32 = 0; b < c; b++) s -= ld(l, c * k1 + b) * ld(dst, b);
        st(dst, c, s / ld(l, c * k1 + c));
      }
    }
  }
}

/**
 * updatePanels for a scalar first term (k1 = 1): the same operations in the same order per entry
 * ((0 + w λ1) / L11_j, w the row's Λ' combination), without the k1 loops and scratch row.
 */
function updatePanelsScalar(
  m1: i32, lambda1: usize, L11: usize, panelStart: usize, panelRow: usize, Apanel: usize, P: usize,
  rowTerm: usize, rowBlock: usize, termK: usize, termLambda: usize,
): void {
  const l1 = ld(lambda1, 0);
  for (let j: i32 = 0; j < m1; j++) {
    const r1 = ldi(panelStart, j + 1);
    const d = ld(L11, j);
    for (let r = ldi(panelStart, j); r < r1; r++) {
      const trow = ldi(panelRow, r);
      const t = ldi(rowTerm, trow);
      let w: f64;
      if (t < 0) {
        w = ld(Apanel, r);
      } else {
        const kt = ldi(termK, t);
        const lam = <usize>ldi(termLambda, t);
        const off = trow - ldi(rowBlock, trow);
        w = 0;
        for (let a = off; a < kt; a++) w += ld(lam, a * kt + off) * ld(Apanel, r + a - off);
      }
      st(P, r, (0.0 + w * l1) / d);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Trailing block
// ---------------------------------------------------------------------------------------------------

/**
 * C = Λ' A Λ + I_Z on the lower triangle of the trailing q×q block, when every trailing random term is
 * scalar: Λ is then the diagonal `scale` (θ of the row's term, 1 on X and y rows).
 */
export function sandwichScalar(q: i32, nZ: i32, scale: usize, A: usize, C: usize): void {
  for (let r: i32 = 0; r < q; r++) {
    const sr = ld(scale, r);
    const ar = A + (<usize>(r * q) << 3);
    const cr = C + (<usize>(r * q) << 3);
    let c: i32 = 0;
    if (ASC_FEATURE_SIMD) {
      // the same two products per entry, in the same order, two entries at a time
      const vs = f64x2.splat(sr);
      for (; c + 2 <= r + 1; c += 2) {
        const o = <usize>c << 3;
        v128.store(cr + o, f64x2.mul(f64x2.mul(vs, v128.load(scale + o)), v128.load(ar + o)));
      }
    }
    for (; c <= r; c++) st(cr, c, sr * ld(scale, c) * ld(ar, c));
    if (r < nZ) st(cr, r, ld(cr, r) + 1.0);
  }
}

/**
 * C = Λ' A Λ + I_Z on the full trailing q×q block for vector-valued terms: first C = A Λ (each column
 * block of a term level times λ), then C = Λ' C in place (row r of a level block only needs rows ≥ r).
 */
export function sandwichBlocks(
  q: i32, nZ: i32, rowTerm: usize, rowBlock: usize, termK: usize, termLambda: usize, A: usize, C: usize,
): void {
  for (let r: i32 = 0; r < q; r++) {
    const ar = A + (<usize>(r * q) << 3);
    const cr = C + (<usize>(r * q) << 3);
    for (let c: i32 = 0; c < q; c++) {
      const t = ldi(rowTerm, c);
      if (t < 0) {
        st(cr, c, ld(ar, c));
        continue;
      }
      const kt = ldi(termK, t);
      const lam = <usize>ldi(termLambda, t);
      const b0 = ldi(rowBlock, c);
      const off = c - b0;
      let s: f64 = 0;
      for (let b = off; b < kt; b++) s += ld(ar, b0 + b) * ld(lam, b * kt + off);
      st(cr, c, s);
    }
  }
  for (let r: i32 = 0; r < q; r++) {
    const t = ldi(rowTerm, r);
    if (t < 0) continue;
    const kt = ldi(termK, t);
    const lam = <usize>ldi(termLambda, t);
    const b0 = ldi(rowBlock, r);
    const off = r - b0;
    const cr = C + (<usize>(r * q) << 3);
    for (let c: i32 = 0; c < q; c++) {
      let s: f64 = 0;
      for (let a = off; a < kt; a++) s += ld(lam, a * kt + off) * ld(C + (<usize>((b0 + a) * q) << 3), c);
      st(cr, c, s);
    }
  }
  for (let r: i32 = 0; r < nZ; r++) st(C, r * q + r, ld(C, r * q + r) + 1.0);
}

/**
 * C[rows_j, rows_j] -= P_j P_j' for every level j of the first term (lower triangle only), done row
 * of C by row of C: `rowPtr`/`rowEntry` list, for each trailing row, the panel rows that land on it
 * (and `panelOf` their level), so the writes stay within one row of C at a time instead of scattering
 * over all of C (which for InstEval is 10 MB) panel by panel.
 */
export function schurDowndate(
  k1: i32, panelStart: usize, panelRow: usize, panelOf: usize, rowPtr: usize, rowEntry: usize, P: usize, q: i32, C: usize,
): void {
  schurDowndateRows(k1, panelStart, panelRow, panelOf, rowPtr, rowEntry, P, q, C, 0, q);
}

/** schurDowndate for the rows ra0 ≤ ra < ra1 of C only (rows are independent: threads split them). */
export function schurDowndateRows(
  k1: i32, panelStart: usize, panelRow: usize, panelOf: usize, rowPtr: usize, rowEntry: usize, P: usize, q: i32, C: usize,
  ra0: i32, ra1: i32,
): void {
  for (let ra: i32 = ra0; ra < ra1; ra++) {
    const crow = C + (<usize>(ra * q) << 3);
    const e1 = ldi(rowPtr, ra + 1);
    for (let e = ldi(rowPtr, ra); e < e1; e++) {
      const a = ldi(rowEntry, e);
      const r0 = ldi(panelStart, ldi(panelOf, a));
      if (k1 == 1) {
        const pa = ld(P, a);
        let b = r0;
        if (ASC_FEATURE_SIMD) {
          // Rows r0..a of the panel on consecutive rows of C (a crossed design where every level of the
          // first term meets every level of the next, e.g. items × subjects): C's row is updated as a
          // vector, each entry by the same subtraction as below, so the result is the same bit for bit.
          const rb0 = ldi(panelRow, r0);
          if (ldi(panelRow, a) - rb0 == a - r0) {
            const c = crow + (<usize>(rb0 - r0) << 3); // C's entry for panel row b is c[b]
            const va = f64x2.splat(pa);
            for (; b + 2 <= a + 1; b += 2) {
              const o = <usize>b << 3;
              v128.store(c + o, f64x2.sub(v128.load(c + o), f64x2.mul(va, v128.load(P + o))));
            }
          }
        }
        for (; b <= a; b++) {
          const rb = ldi(panelRow, b);
          st(crow, rb, ld(crow, rb) - pa * ld(P, b));
        }
      } else {
        const pa = P + (<usize>(a * k1) << 3);
        for (let b = r0; b <= a; b++) {
          const rb = ldi(panelRow, b);
          st(crow, rb, ld(crow, rb) - dot(pa, P + (<usize>(b * k1) << 3), k1));
        }
      }
    }
  }
}
