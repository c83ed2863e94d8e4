import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { compareStringsR, formatNumberR, parseCSV, toColumns, type Column, type FactorColumn, type Table } from "../src/data.js";

const refDir = fileURLToPath(new URL("./fixtures/reference/data/", import.meta.url));
const readRef = (name: string) => readFileSync(refDir + name, "utf8");

function factor(t: Table, name: string): FactorColumn {
  const c = t.columns.get(name)!;
  if (c.type !== "factor") throw new Error(`${name} is ${c.type}`);
  return c;
}
function numeric(t: Table, name: string): Float64Array {
  const c = t.columns.get(name)!;
  if (c.type !== "numeric") throw new Error(`${name} is ${c.type}`);
  return c.values;
}
const labels = (c: Column) => (c.type === "numeric" ? [] : Array.from(c.codes, (k) => (k < 0 ? null : c.levels[k])));

describe("R string forms and order", () => {
  it("formats numbers as R's as.character", () => {
    expect(formatNumberR(1)).toBe("1");
    expect(formatNumberR(0.5)).toBe("0.5");
    expect(formatNumberR(-2.25)).toBe("-2.25");
    expect(formatNumberR(100000)).toBe("1e+05");
    expect(formatNumberR(123456)).toBe("123456");
    expect(formatNumberR(0.0001)).toBe("1e-04");
    expect(formatNumberR(0.001)).toBe("0.001");
    expect(formatNumberR(1 / 3)).toBe("0.333333333333333");
    expect(formatNumberR(1e-300)).toBe("1e-300");
    expect(formatNumberR(0.1 + 0.2)).toBe("0.3");
  });

  it("sorts strings as R's sort() in en_US", () => {
    const sorted = ["b", "B", "a", "A", "10", "2", "1", "_x", "ab"].sort(compareStringsR);
    expect(sorted).toEqual(["_x", "1", "10", "2", "a", "A", "ab", "b", "B"]);
  });
});

describe("toColumns", () => {
  it("reads column arrays, typed arrays, strings and booleans", () => {
    const input = { x: new Float64Array([1, 2, NaN]), k: new Int32Array([3, 4, 5]), s: ["b", "a", null], t: [true, false, undefined] };
    const t = toColumns(input);
    expect(t.names).toEqual(["x", "k", "s", "t"]);
    expect(t.nrow).toBe(3);
    expect(Array.from(numeric(t, "x"))).toEqual([1, 2, NaN]);
    expect(Array.from(numeric(t, "k"))).toEqual([3, 4, 5]);
    expect(factor(t, "s").levels).toEqual(["a", "b"]);
    expect(Array.from(factor(t, "s").codes)).toEqual([1, 0, -1]);
    const lg = t.columns.get("t")!;
    expect(lg.type).toBe("logical");
    expect(labels(lg)).toEqual(["TRUE", "FALSE", null]);
  });

  it("never mutates or aliases the caller's arrays", () => {
    const x = new Float64Array([3, 1, 2]);
    const s = ["z", "y", "x"];
    const t = toColumns({ x, s });
    expect(numeric(t, "x")).not.toBe(x);
    numeric(t, "x")[0] = 99;
    expect(Array.from(x)).toEqual([3, 1, 2]);
    expect(s).toEqual(["z", "y", "x"]);
  });

  it("makes mixed number/string columns factors, numbers as R strings", () => {
    const t = toColumns({ m: [1, "a", 2.5, null, 10] });
    expect(factor(t, "m").levels).toEqual(["1", "10", "2.5", "a"]);
    expect(labels(t.columns.get("m")!)).toEqual(["1", "a", "2.5", null, "10"]);
  });

  it("makes numbers with booleans numeric, as R's c()", () => {
    expect(Array.from(numeric(toColumns({ v: [1, true, false, 2.5] }), "v"))).toEqual([1, 1, 0, 2.5]);
  });

  it("reads row objects; absent keys are missing", () => {
    const rows = [{ a: 1, b: "x" }, { a: 2 }, { b: "y", c: true }];
    const t = toColumns(rows);
    expect(t.names).toEqual(["a", "b", "c"]);
    expect(Array.from(numeric(t, "a"))).toEqual([1, 2, NaN]);
    expect(labels(t.columns.get("b")!)).toEqual(["x", null, "y"]);
    expect(labels(t.columns.get("c")!)).toEqual([null, null, "TRUE"]);
    expect(rows[1]).toEqual({ a: 2 });
  });

  it("reads an Apache Arrow table, with nulls", () => {
    const arrow = tableFromArrays({ y: new Float64Array([1.5, 2.5, 3.5]), g: ["b", "a", "b"], i: Int32Array.from([7, 8, 9]) });
    const t = toColumns(arrow);
    expect(t.names).toEqual(["y", "g", "i"]);
    expect(Array.from(numeric(t, "y"))).toEqual([1.5, 2.5, 3.5]);
    expect(factor(t, "g").levels).toEqual(["a", "b"]);
    expect(Array.from(numeric(t, "i"))).toEqual([7, 8, 9]);
    expect(Array.from(numeric(toColumns({ v: arrow.getChild("y")! as never }), "v"))).toEqual([1.5, 2.5, 3.5]);
    const withNull = tableFromArrays({ z: [1, null, 3] as unknown as number[] });
    expect(Array.from(numeric(toColumns(withNull), "z"))).toEqual([1, NaN, 3]);
  });

  it("gives clear errors", () => {
    expect(() => toColumns({ a: [] })).toThrow("data has no rows");
    expect(() => toColumns([])).toThrow("data has no rows");
    expect(() => toColumns({ a: [1, 2, 3], b: [1, 2] })).toThrow("column 'b' has 2 values but column 'a' has 3");
    expect(() => toColumns([{ a: 1 }, 5] as never)).toThrow("row 2 is not an object (got number)");
    expect(() => toColumns([{ a: 1 }, null] as never)).toThrow("row 2 is not an object (got null)");
    expect(() => toColumns({ a: 5 } as never)).toThrow("column 'a' is not an array");
    expect(() => toColumns({ a: [1, { x: 1 }] })).toThrow("column 'a', row 2: unsupported value of type object");
  });
});

describe("levels option", () => {
  it("sets the levels and their order, also on numeric columns", () => {
    const t = toColumns({ f: ["lo", "hi", "mid"], s: [2, 10, 0.5] }, {
      levels: { f: { levels: ["lo", "mid", "hi", "unused"], ordered: true }, s: { levels: ["10", "2", "0.5"] } },
    });
    expect(factor(t, "f")).toMatchObject({ levels: ["lo", "mid", "hi", "unused"], ordered: true });
    expect(Array.from(factor(t, "f").codes)).toEqual([0, 2, 1]);
    expect(Array.from(factor(t, "s").codes)).toEqual([1, 0, 2]);
    expect(factor(t, "s").ordered).toBe(false);
  });

  it("matches whole-number columns by their integer labels (InstEval's s)", () => {
    const t = toColumns({ s: [1, 100000, 3] }, { levels: { s: { levels: ["1", "3", "100000"] } } });
    expect(Array.from(factor(t, "s").codes)).toEqual([0, 2, 1]);
  });

  it("names the column and the value not among the levels", () => {
    expect(() => toColumns({ f: ["a", "b", "c"] }, { levels: { f: { levels: ["a", "b"] } } })).toThrow(
      "column 'f': value 'c' (row 3) is not among the given levels ('a', 'b')",
    );
    expect(() => toColumns({ s: [1, 2.5] }, { levels: { s: { levels: ["1", "2"] } } })).toThrow("column 's': value '2.5' (row 2)");
    expect(() => toColumns({ f: ["a"] }, { levels: { g: { levels: ["a"] } } })).toThrow("levels given for column 'g', which is not in the data");
  });

  it("applies to a Table given directly without changing it", () => {
    const t = toColumns({ f: ["a", "b"] });
    const t2 = toColumns(t, { levels: { f: { levels: ["b", "a"] } } });
    expect(factor(t2, "f").levels).toEqual(["b", "a"]);
    expect(factor(t, "f").levels).toEqual(["a", "b"]);
  });
});

describe("parseCSV", () => {
  it("types columns as read.csv: quoted numbers are numbers, NA/empty/NaN missing", () => {
    const t = parseCSV('"id","x","g","flag","txt"\n"1",1.5,"b",TRUE,"3"\n"2",NA,"a",FALSE,"x"\n"10",,NA,NA,NaN\n"2",NaN,"a",T,"4"\n');
    expect(t.names).toEqual(["id", "x", "g", "flag", "txt"]);
    expect(t.nrow).toBe(4);
    expect(Array.from(numeric(t, "id"))).toEqual([1, 2, 10, 2]);
    expect(Array.from(numeric(t, "x"))).toEqual([1.5, NaN, NaN, NaN]);
    expect(labels(t.columns.get("g")!)).toEqual(["b", "a", null, "a"]);
    expect(t.columns.get("flag")!.type).toBe("logical");
    expect(labels(t.columns.get("flag")!)).toEqual(["TRUE", "FALSE", null, "TRUE"]);
    // "3" and "4" are numbers but "x" is not: the column is a factor, numbers sorting as strings.
    expect(factor(t, "txt").levels).toEqual(["3", "4", "x"]);
  });

  it("reads exponents, signs, Inf and sorts string levels as R", () => {
    const t = parseCSV("a,b\n1e3,B10\n-2.5E-1,b2\nInf,a\n+.5,B9\n");
    expect(Array.from(numeric(t, "a"))).toEqual([1000, -0.25, Infinity, 0.5]);
    expect(factor(t, "b").levels).toEqual(["a", "B10", "b2", "B9"]);
  });

  it("names an empty or duplicate header as read.csv", () => {
    expect(parseCSV('"",x,x\n1,2,3\n').names).toEqual(["X", "x", "x.1"]);
  });

  it("applies levels and fills short lines with missing values", () => {
    const t = parseCSV("f,y\nlo,1\nhi\n", { levels: { f: { levels: ["lo", "hi"] } } });
    expect(factor(t, "f").levels).toEqual(["lo", "hi"]);
    expect(Array.from(numeric(t, "y"))).toEqual([1, NaN]);
  });

  it("errors on no rows and on lines with too many fields", () => {
    expect(() => parseCSV("a,b\n")).toThrow("data has no rows");
    expect(() => parseCSV("a,b\n1,2,3\n")).toThrow("CSV line 2 has 3 fields but the header has 2");
  });

  it("reads the reference data sets with their levels files", () => {
    for (const name of ["sleepstudy", "cake", "InstEval", "Pastes", "VerbAgg", "grouseticks"]) {
      const levels = JSON.parse(readRef(`${name}.levels.json`));
      const t = parseCSV(readRef(`${name}.csv`), { levels });
      for (const [col, spec] of Object.entries(levels) as [string, { levels: string[]; ordered: boolean }][]) {
        expect(factor(t, col)).toMatchObject({ levels: spec.levels, ordered: spec.ordered });
      }
    }
    const cake = parseCSV(readRef("cake.csv"), { levels: JSON.parse(readRef("cake.levels.json")) });
    expect(cake.nrow).toBe(270);
    expect(numeric(cake, "temp")[0]).toBe(175);
  });

  it("sorts string columns without a levels file as R's factor() would", () => {
    const t = parseCSV(readRef("Penicillin.csv"));
    const levels = JSON.parse(readRef("Penicillin.levels.json"));
    expect(factor(t, "plate").levels).toEqual(levels.plate.levels);
    expect(factor(t, "sample").levels).toEqual(levels.sample.levels);
  });
});
