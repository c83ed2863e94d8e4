import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { contrHelmert, contrPoly, contrSum, contrTreatment, dqrdc2, makeContrast, polyColumnNames, qrQy } from "../src/contrasts.js";

const fitsDir = fileURLToPath(new URL("./fixtures/reference/fits/", import.meta.url));
const cakeOrdered = JSON.parse(readFileSync(fitsDir + "cake-ordered-reml.json", "utf8"));

function expectClose(a: number[][], b: number[][], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    row.forEach((v, j) => expect(Math.abs(v - b[i][j])).toBeLessThanOrEqual(tol));
  });
}

describe("contrasts", () => {
  it("contr.treatment matches the reference", () => {
    const ref = cakeOrdered.contrasts.recipe;
    const c = contrTreatment(["A", "B", "C"]);
    expect(c).toEqual({ type: "contr.treatment", columns: ref.columns, matrix: ref.matrix });
  });

  it("contr.poly matches R's numbers to 1e-12 (cake temperature, 6 levels)", () => {
    const ref = cakeOrdered.contrasts.temperature;
    const c = contrPoly(ref.levels);
    expect(c.type).toBe("contr.poly");
    expect(c.columns).toEqual([".L", ".Q", ".C", "^4", "^5"]);
    expectClose(c.matrix, ref.matrix, 1e-12);
  });

  it("contr.poly for 2, 3 and 4 levels as R prints them", () => {
    expectClose(contrPoly(2).matrix, [[-Math.SQRT1_2], [Math.SQRT1_2]], 1e-15);
    const s6 = 1 / Math.sqrt(6);
    expectClose(contrPoly(3).matrix, [[-Math.SQRT1_2, s6], [0, -2 * s6], [Math.SQRT1_2, s6]], 1e-15);
    const c4 = contrPoly(4);
    expect(c4.columns).toEqual([".L", ".Q", ".C"]);
    expectClose(c4.matrix, [
      [-0.670820393249937, 0.5, -0.223606797749979],
      [-0.223606797749979, -0.5, 0.670820393249937],
      [0.223606797749979, -0.5, -0.670820393249937],
      [0.670820393249937, 0.5, 0.223606797749979],
    ], 1e-14);
    expect(polyColumnNames(7)).toEqual([".L", ".Q", ".C", "^4", "^5", "^6", "^7"]);
  });

  it("contr.poly columns are orthonormal and orthogonal to the constant, for many levels", () => {
    const n = 20;
    const m = contrPoly(n).matrix;
    for (let a = 0; a < n - 1; a++) {
      expect(Math.abs(m.reduce((s, r) => s + r[a], 0))).toBeLessThan(1e-12);
      for (let b = a; b < n - 1; b++) {
        const dot = m.reduce((s, r) => s + r[a] * r[b], 0);
        expect(Math.abs(dot - (a === b ? 1 : 0))).toBeLessThan(1e-12);
      }
    }
  });

  it("contr.sum and contr.helmert as R", () => {
    expect(contrSum(["a", "b", "c"])).toEqual({ type: "contr.sum", columns: ["1", "2"], matrix: [[1, 0], [0, 1], [-1, -1]] });
    expect(contrHelmert(["a", "b", "c", "d"])).toEqual({
      type: "contr.helmert",
      columns: ["1", "2", "3"],
      matrix: [[-1, -1, -1], [1, -1, -1], [0, 2, -1], [0, 0, 3]],
    });
  });

  it("makeContrast dispatches and rejects bad input", () => {
    expect(makeContrast("contr.sum", ["x", "y"]).matrix).toEqual([[1], [-1]]);
    expect(() => makeContrast("contr.treatment", ["x"])).toThrow("contrasts can be applied only to factors with 2 or more levels");
    expect(() => makeContrast("contr.bogus" as never, ["x", "y"])).toThrow("unknown contrast 'contr.bogus'");
    expect(() => contrPoly(96)).toThrow("cannot be represented accurately enough for 96 degrees of freedom");
  });
});

describe("dqrdc2 (R's qr(x, LAPACK = FALSE))", () => {
  const colMajor = (rows: number[][]) => Float64Array.from({ length: rows.length * rows[0].length }, (_, k) => rows[k % rows.length][Math.floor(k / rows.length)]);

  it("moves a dependent column to the end and reports the rank", () => {
    // Columns: 1, x, 2x, z  →  2x depends on x: pivot 0, 1, 3, 2; rank 3.
    const x = [1, 2, 3, 4, 5];
    const z = [1, 0, 0, 1, 1];
    const qr = dqrdc2(colMajor(x.map((v, i) => [1, v, 2 * v, z[i]])), 5, 4);
    expect(qr.rank).toBe(3);
    expect(Array.from(qr.pivot)).toEqual([0, 1, 3, 2]);
  });

  it("reconstructs the matrix: Q R = X", () => {
    const rows = [[1, 2, 0.5], [1, -1, 2], [1, 0.3, -1], [1, 4, 4]];
    const n = 4;
    const p = 3;
    const qr = dqrdc2(colMajor(rows), n, p);
    expect(qr.rank).toBe(3);
    const R = new Float64Array(n * p);
    for (let j = 0; j < p; j++) for (let i = 0; i <= j; i++) R[i + j * n] = qr.qr[i + j * n];
    const QR = qrQy(qr, R, p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) expect(QR[i + j * n]).toBeCloseTo(rows[i][j], 12);
  });
});
