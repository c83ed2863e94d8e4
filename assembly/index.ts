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

// Four dot products against one shared row, returned through globals (no tuples in AssemblyScript).
let q0: f64 = 0, q1: f64 = 0, q2: f64 = 0, q3: f64 = 0;

/** q_a = Σ_{k<n} r_a[k] s[k] for the four rows r0..r3: each load of s serves four products. */
@inline function dot4(r0: usize, r1: usize, r2: usize, r3: usize, s: usize, n: i32): void {
  let a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0;
  let k: i32 = 0;
  if (ASC_FEATURE_SIMD) {
    let v0 = f64x2.splat(0), v1 = f64x2.splat(0), v2 = f64x2.splat(0), v3 = f64x2.splat(0);
    for (; k + 2 <= n; k += 2) {
      const o = <usize>k << 3;
      const vs = v128.load(s + o);
      v0 = f64x2.add(v0, f64x2.mul(v128.load(r0 + o), vs));
      v1 = f64x2.add(v1, f64x2.mul(v128.load(r1 + o), vs));
      v2 = f64x2.add(v2, f64x2.mul(v128.load(r2 + o), vs));
      v3 = f64x2.add(v3, f64x2.mul(v128.load(r3 + o), vs));
    }
    a0 = f64x2.extract_lane(v0, 0) + f64x2.extract_lane(v0, 1);
    a1 = f64x2.extract_lane(v1, 0) + f64x2.extract_lane(v1, 1);
    a2 = f64x2.extract_lane(v2, 0) + f64x2.extract_lane(v2, 1);
    a3 = f64x2.extract_lane(v3, 0) + f64x2.extract_lane(v3, 1);
  }
  for (; k < n; k++) {
    const x = ld(s, k);
    a0 += ld(r0, k) * x;
    a1 += ld(r1, k) * x;
    a2 += ld(r2, k) * x;
    a3 += ld(r3, k) * x;
  }
  q0 = a0;
  q1 = a1;
  q2 = a2;
  q3 = a3;
}

/** Row i of L from its entries left of column j0 already done (Crout order within the row). */
@inline function choleskyRow(a: usize, rowBytes: usize, i: i32, j0: i32): i32 {
  const ri = a + <usize>i * rowBytes;
  for (let j = j0; j < i; j++) {
    const rj = a + <usize>j * rowBytes;
    st(ri, j, (ld(ri, j) - dot(ri, rj, j)) / ld(rj, j));
  }
  const d = ld(ri, i) - dot(ri, ri, i);
  if (!(d > 0)) return i + 1;
  st(ri, i, Math.sqrt(d));
  return 0;
}

/**
 * In-place lower Cholesky factor of the leading n×n of a row-major matrix with row stride `ld_`
 * (Crout order: row i of L needs only rows < i, and each entry is one contiguous dot product).
 * Rows are done four at a time so each earlier row is streamed from memory once per four rows: the
 * factor of a large trailing block (InstEval: 1159²) does not fit in cache, and the loads dominate.
 * Returns 0, or j+1 when the leading (j+1)×(j+1) minor is not positive definite.
 */
export function choleskyStrided(a: usize, n: i32, ld_: i32): i32 {
  const rowBytes = <usize>ld_ << 3;
  let i0: i32 = 0;
  for (; i0 + 4 <= n; i0 += 4) {
    const r0 = a + <usize>i0 * rowBytes;
    const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
    for (let j: i32 = 0; j < i0; j++) {
      const rj = a + <usize>j * rowBytes;
      dot4(r0, r1, r2, r3, rj, j);
      const d = ld(rj, j);
      st(r0, j, (ld(r0, j) - q0) / d);
      st(r1, j, (ld(r1, j) - q1) / d);
      st(r2, j, (ld(r2, j) - q2) / d);
      st(r3, j, (ld(r3, j) - q3) / d);
    }
    for (let i = i0; i < i0 + 4; i++) {
      const info = choleskyRow(a, rowBytes, i, i0);
      if (info != 0) return info;
    }
  }
  for (let i = i0; i < n; i++) {
    const info = choleskyRow(a, rowBytes, i, 0);
    if (info != 0) return info;
  }
  return 0;
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
    for (let c: i32 = 0; c <= r; c++) st(cr, c, sr * ld(scale, c) * ld(ar, c));
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
  for (let ra: i32 = 0; ra < q; ra++) {
    const crow = C + (<usize>(ra * q) << 3);
    const e1 = ldi(rowPtr, ra + 1);
    for (let e = ldi(rowPtr, ra); e < e1; e++) {
      const a = ldi(rowEntry, e);
      const r0 = ldi(panelStart, ldi(panelOf, a));
      if (k1 == 1) {
        const pa = ld(P, a);
        for (let b = r0; b <= a; b++) {
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
