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
