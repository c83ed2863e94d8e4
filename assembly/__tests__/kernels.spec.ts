import {
  alloc, cholesky, choleskyStrided, sandwichScalar, schurDowndate, sumLogDiag, sumLogDiagBlocks, updateBlockDiag,
} from "../index";

function f64s(values: f64[]): usize {
  const p = alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) store<f64>(p + (<usize>i << 3), values[i]);
  return p;
}
function i32s(values: i32[]): usize {
  const p = alloc(values.length * 4 + 4);
  for (let i = 0; i < values.length; i++) store<i32>(p + (<usize>i << 2), values[i]);
  return p;
}
function at(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

// A random SPD matrix B B' + n I (B uniform in [-0.5, 0.5), a fixed LCG) in the leading n×n of a buffer
// with row stride ld and one extra row; every other entry (the upper triangle, the columns past n, the
// extra row) is NaN, so reading one spoils the factor and writing one shows.
let seed: u32 = 1;
function rnd(): f64 {
  seed = seed * 1664525 + 1013904223;
  return <f64>(seed >>> 8) / 16777216.0 - 0.5;
}
function spd(n: i32, ld: i32): usize {
  const B = new StaticArray<f64>(n * n);
  for (let i = 0; i < n * n; i++) B[i] = rnd();
  const p = alloc((n + 1) * ld * 8);
  for (let i = 0; i < (n + 1) * ld; i++) store<f64>(p + (<usize>i << 3), NaN);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s: f64 = i == j ? <f64>n : 0.0;
      for (let k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
      store<f64>(p + (<usize>(i * ld + j) << 3), s);
    }
  }
  return p;
}
/** Textbook row-by-row Cholesky of the lower triangle of a (leading n×n, stride ld) into n×n L. */
function naiveCholesky(a: usize, n: i32, ld: i32): StaticArray<f64> {
  const L = new StaticArray<f64>(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = load<f64>(a + (<usize>(i * ld + j) << 3));
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i == j ? Math.sqrt(s) : s / L[j * n + j];
    }
  }
  return L;
}
/** max |a - L| / max |L| over the lower triangle; -1 if a cell outside it is no longer NaN. */
function factorError(a: usize, L: StaticArray<f64>, n: i32, ld: i32): f64 {
  let diff: f64 = 0, big: f64 = 0;
  for (let i = 0; i <= n; i++) {
    for (let j = 0; j < ld; j++) {
      const v = load<f64>(a + (<usize>(i * ld + j) << 3));
      if (i < n && j <= i) {
        diff = max(diff, Math.abs(v - L[i * n + j]));
        big = max(big, Math.abs(L[i * n + j]));
      } else if (!isNaN(v)) return -1;
    }
  }
  return isFinite(diff) ? diff / big : <f64>Infinity;
}

describe("cholesky", () => {
  it("factors the classic 3×3 example", () => {
    const a = f64s([4, 12, -16, 12, 37, -43, -16, -43, 98]);
    expect<i32>(cholesky(a, 3)).toBe(0);
    expect<f64>(at(a, 0)).toBeCloseTo(2.0);
    expect<f64>(at(a, 3)).toBeCloseTo(6.0);
    expect<f64>(at(a, 4)).toBeCloseTo(1.0);
    expect<f64>(at(a, 6)).toBeCloseTo(-8.0);
    expect<f64>(at(a, 7)).toBeCloseTo(5.0);
    expect<f64>(at(a, 8)).toBeCloseTo(3.0);
  });
  it("reports the first non-positive pivot", () => {
    const a = f64s([1, 2, 2, 1]);
    expect<i32>(cholesky(a, 2)).toBe(2);
  });
  it("factors a leading block with a row stride", () => {
    // 2×2 leading block [9 3; 3 5] of a 3-column matrix
    const a = f64s([9, 0, 7, 3, 5, 7, 7, 7, 7]);
    expect<i32>(choleskyStrided(a, 2, 3)).toBe(0);
    expect<f64>(at(a, 0)).toBeCloseTo(3.0);
    expect<f64>(at(a, 3)).toBeCloseTo(1.0);
    expect<f64>(at(a, 4)).toBeCloseTo(2.0);
    expect<f64>(at(a, 2)).toBe(7.0); // outside the block: untouched
  });
  it("is exact on a long SIMD dot product", () => {
    // A = L L' with L lower, L[i][j] = 1 for j <= i: pivots all 1
    const n = 11;
    const vals = new Array<f64>(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vals[i * n + j] = <f64>(min(i, j) + 1);
    const a = f64s(vals);
    expect<i32>(cholesky(a, n)).toBe(0);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) expect<f64>(at(a, i * n + j)).toBeCloseTo(1.0);
  });
  it("matches a textbook factor at sizes around the 4-row, 2-column and block boundaries", () => {
    const sizes: i32[] = [
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 31, 64, 65, 127, 128, 129, 130, 131, 133, 191, 192, 193, 195, 197, 198,
      199, 261, 391,
    ];
    for (let s = 0; s < sizes.length; s++) {
      const n = sizes[s];
      for (let pad = n > 300 ? 1 : 0; pad < 2; pad++) {
        const ld = n + pad * 3;
        const a = spd(n, ld);
        const L = naiveCholesky(a, n, ld);
        expect<i32>(choleskyStrided(a, n, ld)).toBe(0);
        const err = factorError(a, L, n, ld);
        expect<f64>(err).toBeGreaterThanOrEqual(0.0, "wrote outside the lower triangle");
        expect<f64>(err).toBeLessThan(1e-13);
      }
    }
  });
  it("reports the first failing pivot wherever it falls", () => {
    // (n, failing row): inside a 4-row group of the first diagonal block, at its edges, in a later
    // block, and in the rows past the last whole group
    const cases: i32[] = [
      2, 1, 7, 5, 11, 6, 13, 12, 9, 0, 140, 133, 140, 128, 140, 139, 131, 130, 200, 193, 200, 191, 261, 257, 391, 388,
    ];
    for (let c = 0; c < cases.length; c += 2) {
      const n = cases[c], f = cases[c + 1];
      for (let pad = n > 300 ? 1 : 0; pad < 2; pad++) {
        const ld = n + pad;
        const a = spd(n, ld);
        store<f64>(a + (<usize>(f * ld + f) << 3), -1.0);
        expect<i32>(choleskyStrided(a, n, ld)).toBe(f + 1);
        // a NaN pivot fails the same way (only the entries up to row f have been read)
        const b = spd(n, ld);
        store<f64>(b + (<usize>(f * ld + f) << 3), NaN);
        expect<i32>(choleskyStrided(b, n, ld)).toBe(f + 1);
      }
    }
  });
  it("fails at a pivot that only the earlier columns make non-positive", () => {
    // A = L L' with L[i][j] = 1 (j ≤ i) has pivots 1; lowering A[f][f] by 1 makes pivot f exactly 0
    const n = 200;
    for (let f = 188; f < 198; f++) {
      const vals = new Array<f64>(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vals[i * n + j] = <f64>(min(i, j) + 1);
      vals[f * n + f] -= 1.0;
      expect<i32>(cholesky(f64s(vals), n)).toBe(f + 1);
    }
  });
});

describe("log-determinants", () => {
  it("sums logs along a strided diagonal", () => {
    const a = f64s([2, 0, 0, 3]);
    expect<f64>(sumLogDiag(a, 2, 3)).toBeCloseTo(Math.log(6.0));
  });
  it("sums logs over diagonal blocks", () => {
    const a = f64s([2, 0, 1, 4, 3, 0, 1, 5]);
    expect<f64>(sumLogDiagBlocks(a, 2, 2)).toBeCloseTo(Math.log(2.0 * 4.0 * 3.0 * 5.0));
  });
});

describe("first-term blocks", () => {
  it("scalar term: sqrt(θ² a + 1)", () => {
    const lam = f64s([2]);
    const A = f64s([1, 2, 6]);
    const L = f64s([0, 0, 0]);
    const w = f64s([0]);
    expect<i32>(updateBlockDiag(3, 1, lam, A, L, w)).toBe(0);
    expect<f64>(at(L, 0)).toBeCloseTo(Math.sqrt(5.0));
    expect<f64>(at(L, 2)).toBeCloseTo(5.0);
  });
  it("vector term: chol(λ' A λ + I)", () => {
    // λ = [1 0; 1 1], A = [2 1; 1 3] → λ'Aλ = [7 4; 4 3], + I = [8 4; 4 4]
    const lam = f64s([1, 0, 1, 1]);
    const A = f64s([2, 1, 1, 3]);
    const L = f64s([0, 0, 0, 0]);
    const w = f64s([0, 0, 0, 0]);
    expect<i32>(updateBlockDiag(1, 2, lam, A, L, w)).toBe(0);
    expect<f64>(at(L, 0)).toBeCloseTo(Math.sqrt(8.0));
    expect<f64>(at(L, 2)).toBeCloseTo(4.0 / Math.sqrt(8.0));
    expect<f64>(at(L, 3)).toBeCloseTo(Math.sqrt(2.0));
    expect<f64>(at(L, 1)).toBe(0.0);
  });
});

describe("trailing block", () => {
  it("scales A by θ on both sides and adds I on random-effects rows", () => {
    const scale = f64s([2, 1]);
    const A = f64s([3, 5, 5, 7]);
    const C = f64s([0, 0, 0, 0]);
    sandwichScalar(2, 1, scale, A, C);
    expect<f64>(at(C, 0)).toBe(13.0);
    expect<f64>(at(C, 2)).toBe(10.0);
    expect<f64>(at(C, 3)).toBe(7.0);
  });
  it("fills exactly the lower triangle, bit for bit the scalar products, at odd and even sizes", () => {
    for (let q = 1; q <= 7; q++) {
      const sc = new Array<f64>(q), av = new Array<f64>(q * q), cv = new Array<f64>(q * q);
      for (let i = 0; i < q; i++) sc[i] = 0.5 + rnd();
      for (let i = 0; i < q * q; i++) {
        av[i] = rnd();
        cv[i] = NaN;
      }
      const scale = f64s(sc), A = f64s(av), C = f64s(cv);
      sandwichScalar(q, q - 1, scale, A, C);
      for (let r = 0; r < q; r++) {
        for (let c = 0; c < q; c++) {
          const v = at(C, r * q + c);
          if (c > r) expect<bool>(isNaN(v)).toBe(true);
          else expect<f64>(v).toBe(sc[r] * sc[c] * av[r * q + c] + (r == c && r < q - 1 ? 1.0 : 0.0));
        }
      }
    }
  });
  it("subtracts each panel's outer product from its rows", () => {
    // one level touching trailing rows 0 and 2 of a 3×3 C, panel P = [1; 2] (k1 = 1)
    const start = i32s([0, 2]);
    const rows = i32s([0, 2]);
    const panelOf = i32s([0, 0]);
    const rowPtr = i32s([0, 1, 1, 2]); // trailing row 0 ← panel row 0; row 2 ← panel row 1
    const rowEntry = i32s([0, 1]);
    const P = f64s([1, 2]);
    const C = f64s([10, 0, 0, 0, 10, 0, 0, 0, 10]);
    schurDowndate(1, start, rows, panelOf, rowPtr, rowEntry, P, 3, C);
    expect<f64>(at(C, 0)).toBe(9.0);
    expect<f64>(at(C, 6)).toBe(-2.0);
    expect<f64>(at(C, 8)).toBe(6.0);
    expect<f64>(at(C, 4)).toBe(10.0);
  });
});
