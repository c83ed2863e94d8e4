// AnnData files (.h5ad, anndata ≥ 0.8's on-disk format) through h5wasm. AnnData stores cells ×
// genes: X (or layers/<name>) is a dense 2-D dataset or a csr_matrix / csc_matrix group; obs and var
// are dataframe groups whose `_index` attribute names the index column. Elements are told apart by
// their `encoding-type` attribute.

import type { Dataset, Group } from "h5wasm/node";
import type { LevelsOption } from "../data.js";
import { checkResponseMatrix, type ResponseMatrix } from "../responses.js";
import { checkReadableFile, readPrefix } from "./text.js";

export interface H5adOptions {
  /** Read layers/<layer> instead of X. */
  layer?: string;
  /** Read only these obs columns (default: all, in the file's column order). */
  obsColumns?: string[];
}

export interface H5adData {
  /** Cells × genes as stored: dense "obs-by-responses", or CSR / CSC with rowsAre "obs". */
  Y: ResponseMatrix;
  /**
   * The obs columns: numbers (Float64Array, or arrays with null for missing), booleans, strings;
   * categoricals as strings with null for missing.
   */
  obs: Record<string, ArrayLike<unknown>>;
  /** Category order (and orderedness) of each categorical obs column, for toColumns(obs, { levels }). */
  levels: LevelsOption;
  obsIds: string[];
  responseNames: string[];
}

type H5Entity = ReturnType<Group["get"]>;

// The entities' `type` tells groups from datasets without needing h5wasm's classes at load time.
function isGroup(e: H5Entity): e is Group {
  return e !== null && (e as { type?: unknown }).type === "Group";
}
function isDataset(e: H5Entity): e is Dataset {
  return e !== null && (e as { type?: unknown }).type === "Dataset";
}

/** Reads the matrix, the obs table and the names of an .h5ad file. */
export async function readH5ad(file: string, opts: H5adOptions = {}): Promise<H5adData> {
  await checkH5File(file);
  return withH5File(file, (f) => {
    const r = new H5adReader(file, f);
    const obsFrame = r.frame("obs");
    const varFrame = r.frame("var");
    const obsIds = r.index(obsFrame, "obs");
    const responseNames = r.index(varFrame, "var");
    const Y = r.matrix(opts.layer, obsIds.length, responseNames.length);
    const { columns, levels } = r.columns(obsFrame, "obs", obsIds.length, opts.obsColumns);
    return { Y: { ...Y, obsIds, responseNames }, obs: columns, levels, obsIds, responseNames };
  });
}

/** Fails with a message unless `file` is a readable HDF5 file. */
export async function checkH5File(file: string): Promise<void> {
  await checkReadableFile(file);
  // h5wasm does not fail on a file it cannot open (it prints HDF5's diagnostics and returns a dead
  // handle), so the signature is checked first.
  if (!(await hasHdf5Signature(file))) throw new Error(`${file}: not an HDF5 file (an .h5ad file is HDF5)`);
}

/** The HDF5 file (checked by checkH5File) opened for reading; the caller closes it. */
export async function openH5File(file: string): Promise<Group & { close(): unknown }> {
  // Loaded on first use: h5wasm brings a few MB of WebAssembly that other users of the library never need.
  const h5wasm = (await import("h5wasm/node")).default;
  await h5wasm.ready;
  return new h5wasm.File(file, "r");
}

/** `use` of the open HDF5 file (checked by checkH5File), closed afterwards. */
export async function withH5File<T>(file: string, use: (root: Group) => T): Promise<T> {
  const f = await openH5File(file);
  try {
    return use(f);
  } finally {
    f.close();
  }
}

/** HDF5's format signature at offset 0, 512, 1024, 2048, ... (a user block may precede it). */
async function hasHdf5Signature(file: string): Promise<boolean> {
  const sig = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
  for (let at = 0; at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
    const b = await readPrefix(file, 8, at);
    if (b.length < 8) return false;
    if (b.equals(sig)) return true;
  }
  return false;
}

/** Where X (or a layer) is and how it is stored, checked against the obs × var shape; no values read. */
export type MatrixLayout = DenseLayout | SparseLayout;
export interface DenseLayout {
  kind: "dense";
  path: string;
  values: Dataset;
}
export interface SparseLayout {
  kind: "csr" | "csc";
  path: string;
  ptr: Int32Array | Float64Array;
  indices: Dataset;
  data: Dataset;
}

export class H5adReader {
  constructor(
    private readonly file: string,
    private readonly root: Group,
  ) {}

  fail(path: string, message: string): Error {
    return new Error(`${this.file}: ${path}: ${message}`);
  }

  private encoding(e: NonNullable<H5Entity>): string | null {
    if (!(isGroup(e) || isDataset(e))) return null;
    const a = e.attrs["encoding-type"];
    const v = a ? a.json_value : null;
    return typeof v === "string" ? v : null;
  }

  private attr(e: Group | Dataset, name: string): unknown {
    const a = e.attrs[name];
    return a ? a.json_value : undefined;
  }

  /** The obs or var dataframe group. */
  frame(name: "obs" | "var"): Group {
    const g = this.root.get(name);
    if (g === null) throw new Error(`${this.file}: no '${name}' dataframe (not an AnnData file?)`);
    if (isDataset(g)) {
      throw this.fail(name, "stored as a compound dataset, the format of anndata before 0.7, which is not supported; re-save the file with a recent anndata");
    }
    if (!isGroup(g)) throw this.fail(name, "expected a dataframe group");
    const enc = this.encoding(g);
    if (enc !== null && enc !== "dataframe") throw this.fail(name, `encoding-type '${enc}', expected 'dataframe'`);
    if (typeof this.attr(g, "_index") !== "string") throw this.fail(name, "the dataframe has no '_index' attribute naming its index column");
    return g;
  }

  /** The dataframe's row names (obs_names / var_names). */
  index(g: Group, name: string): string[] {
    const key = this.attr(g, "_index") as string;
    const path = `${name}/${key}`;
    const d = g.get(key);
    if (!isDataset(d)) throw this.fail(path, "the index column named by '_index' is missing or not an array");
    const v = d.value;
    if (!Array.isArray(v)) throw this.fail(path, `the index is not a string array (dtype ${JSON.stringify(d.dtype)})`);
    return v.map((x) => String(x));
  }

  /** X or layers/<layer> as a response matrix of the given shape. */
  matrix(layer: string | undefined, nObs: number, nVars: number): ResponseMatrix {
    const m = this.matrixLayout(layer, nObs, nVars);
    const Y: ResponseMatrix =
      m.kind === "dense"
        ? { kind: "dense", layout: "obs-by-responses", nResponses: nVars, nObs, values: this.floats(m.values, m.path) }
        : { kind: m.kind, rowsAre: "obs", nResponses: nVars, nObs, ptr: m.ptr, idx: this.indices(m.indices, `${m.path}/indices`), data: this.floats(m.data, `${m.path}/data`) };
    try {
      checkResponseMatrix(Y);
    } catch (err) {
      throw this.fail(m.path, (err as Error).message);
    }
    return Y;
  }

  /** X or layers/<layer>: its storage, checked against the shape, without reading its values. */
  matrixLayout(layer: string | undefined, nObs: number, nVars: number): MatrixLayout {
    const path = layer === undefined ? "X" : `layers/${layer}`;
    const e = layer === undefined ? this.root.get("X") : this.layer(layer);
    if (e === null) throw new Error(`${this.file}: no X matrix (the file may keep its data in layers; pass layer)`);
    if (isDataset(e)) return this.denseMatrix(e, path, nObs, nVars);
    if (isGroup(e)) return this.sparseMatrix(e, path, nObs, nVars);
    throw this.fail(path, "neither an array nor a sparse matrix group");
  }

  private layer(name: string): H5Entity {
    const layers = this.root.get("layers");
    const names = isGroup(layers) ? layers.keys() : [];
    if (!names.includes(name)) {
      throw new Error(`${this.file}: no layer '${name}' (${names.length ? `layers: ${names.join(", ")}` : "the file has no layers"})`);
    }
    return (layers as Group).get(name);
  }

  private denseMatrix(d: Dataset, path: string, nObs: number, nVars: number): MatrixLayout {
    const enc = this.encoding(d);
    if (enc !== null && enc !== "array") throw this.fail(path, `encoding-type '${enc}' is not supported for a matrix (expected 'array', 'csr_matrix' or 'csc_matrix')`);
    const shape = d.shape ?? [];
    if (shape.length !== 2 || shape[0] !== nObs || shape[1] !== nVars) {
      throw this.fail(path, `shape [${shape.join(", ")}], expected [${nObs}, ${nVars}] (obs × var)`);
    }
    return { kind: "dense", path, values: d };
  }

  private sparseMatrix(g: Group, path: string, nObs: number, nVars: number): MatrixLayout {
    const enc = this.encoding(g);
    if (enc !== "csr_matrix" && enc !== "csc_matrix") {
      const legacy = this.attr(g, "h5sparse_format");
      throw this.fail(
        path,
        legacy !== undefined
          ? "sparse matrix in the h5sparse format of anndata before 0.7, which is not supported; re-save the file with a recent anndata"
          : `encoding-type '${enc ?? "(none)"}' is not supported for a matrix (expected 'array', 'csr_matrix' or 'csc_matrix')`,
      );
    }
    const shape = this.attr(g, "shape");
    if (!Array.isArray(shape) || shape.length !== 2 || shape[0] !== nObs || shape[1] !== nVars) {
      throw this.fail(path, `shape attribute ${JSON.stringify(shape)}, expected [${nObs}, ${nVars}] (obs × var)`);
    }
    const part = (name: string): Dataset => {
      const d = g.get(name);
      if (!isDataset(d)) throw this.fail(path, `the ${enc} group has no '${name}' array`);
      return d;
    };
    const nMajor = enc === "csr_matrix" ? nObs : nVars;
    const ptr = this.pointers(part("indptr"), `${path}/indptr`);
    if (ptr.length !== nMajor + 1) throw this.fail(`${path}/indptr`, `${ptr.length} entries, expected ${nMajor + 1} for ${enc} of shape [${nObs}, ${nVars}]`);
    return { kind: enc === "csr_matrix" ? "csr" : "csc", path, ptr, indices: part("indices"), data: part("data") };
  }

  /**
   * Numeric values as Float32Array / Float64Array (kept as stored) or Float64Array (other types): the
   * whole dataset, or the hyperslab `ranges` ([start, stop) per dimension).
   */
  floats(d: Dataset, path: string, ranges?: [number, number][]): Float32Array | Float64Array {
    const v = this.numeric(d, path, ranges);
    return v instanceof Float32Array || v instanceof Float64Array ? v : toFloat64(v);
  }

  private numeric(d: Dataset, path: string, ranges?: [number, number][]): ArrayLike<number> | BigInt64Array | BigUint64Array {
    const v = ranges ? d.slice(ranges) : d.value;
    if (!ArrayBuffer.isView(v)) throw this.fail(path, `expected numbers, found dtype ${JSON.stringify(d.dtype)}`);
    return v as unknown as ArrayLike<number> | BigInt64Array | BigUint64Array;
  }

  /** Sparse indices (the whole dataset, or the entries start..stop−1), checked to be valid indices. */
  indices(d: Dataset, path: string, range?: [number, number]): Int32Array | Uint32Array {
    const v = this.numeric(d, path, range && [range]);
    if (v instanceof Int32Array || v instanceof Uint32Array) return v;
    const out = new Int32Array(v.length);
    for (let k = 0; k < v.length; k++) {
      const x = Number(v[k]);
      if (!(x >= 0 && x <= 2147483647)) throw this.fail(path, `index ${x} at entry ${k} is not a valid index`);
      out[k] = x;
    }
    return out;
  }

  private pointers(d: Dataset, path: string): Int32Array | Float64Array {
    const v = this.numeric(d, path);
    if (v instanceof Int32Array) return v;
    // Pointers past 2^31 (more than 2 billion entries) stay exact in a Float64Array.
    return toFloat64(v);
  }

  /** The dataframe's columns (all, in column-order, or the requested ones). */
  columns(g: Group, name: string, n: number, only?: string[]): { columns: Record<string, ArrayLike<unknown>>; levels: LevelsOption } {
    const order = this.attr(g, "column-order");
    const all = Array.isArray(order) ? order.map(String) : typeof order === "string" ? [order] : [];
    if (only) {
      const missing = only.filter((c) => !all.includes(c));
      if (missing.length) throw this.fail(name, `no column ${missing.map((c) => `'${c}'`).join(", ")} (columns: ${all.join(", ") || "none"})`);
    }
    const columns: Record<string, ArrayLike<unknown>> = {};
    const levels: LevelsOption = {};
    for (const col of only ?? all) {
      const path = `${name}/${col}`;
      const e = g.get(col);
      if (e === null) throw this.fail(path, "listed in column-order but missing");
      const values = isGroup(e) ? this.groupColumn(e, path, levels, col) : isDataset(e) ? this.arrayColumn(e, path) : null;
      if (values === null) throw this.fail(path, "neither an array nor an encoded group");
      if (values.length !== n) throw this.fail(path, `${values.length} values, expected ${n} (one per row)`);
      columns[col] = values;
    }
    return { columns, levels };
  }

  private arrayColumn(d: Dataset, path: string): ArrayLike<unknown> {
    const enc = this.encoding(d);
    if (d.attrs["categories"] !== undefined) {
      throw this.fail(path, "a categorical in the format of anndata before 0.8 (codes with a 'categories' reference), which is not supported; re-save the file with a recent anndata");
    }
    if (enc !== null && enc !== "array" && enc !== "string-array") throw this.unsupported(path, enc);
    if ((d.shape ?? []).length !== 1) throw this.fail(path, `a column must be 1-dimensional, shape is [${(d.shape ?? []).join(", ")}]`);
    if (isBooleanEnum(d)) return Array.from(d.value as ArrayLike<number>, (x) => x !== 0);
    const v = d.value;
    if (Array.isArray(v)) return v.map((x) => (x === null || x === undefined ? null : String(x)));
    if (!ArrayBuffer.isView(v)) throw this.fail(path, `unsupported dtype ${JSON.stringify(d.dtype)}`);
    return toFloat64(v as unknown as ArrayLike<number>);
  }

  private groupColumn(g: Group, path: string, levels: LevelsOption, col: string): ArrayLike<unknown> {
    const enc = this.encoding(g);
    const part = (key: string): Dataset => {
      const d = g.get(key);
      if (!isDataset(d)) throw this.fail(path, `the ${enc} group has no '${key}' array`);
      return d;
    };
    switch (enc) {
      case "categorical": {
        const categories = this.arrayColumn(part("categories"), `${path}/categories`);
        const cats = Array.from(categories, (c) => String(c));
        const codes = this.numeric(part("codes"), `${path}/codes`);
        const ordered = this.attr(g, "ordered");
        levels[col] = { levels: cats, ordered: ordered === true || ordered === 1 };
        const out: (string | null)[] = new Array(codes.length);
        for (let i = 0; i < codes.length; i++) {
          const c = Number(codes[i]);
          if (c === -1) out[i] = null;
          else if (Number.isInteger(c) && c >= 0 && c < cats.length) out[i] = cats[c];
          else throw this.fail(`${path}/codes`, `code ${c} at row ${i + 1} is outside -1..${cats.length - 1} (${cats.length} categories)`);
        }
        return out;
      }
      case "nullable-integer":
      case "nullable-boolean":
      case "nullable-string-array": {
        const values = this.arrayColumn(part("values"), `${path}/values`);
        const mask = this.arrayColumn(part("mask"), `${path}/mask`);
        if (mask.length !== values.length) throw this.fail(path, `mask has ${mask.length} entries, values ${values.length}`);
        const asBool = enc === "nullable-boolean";
        return Array.from(values, (v, i) => (mask[i] ? null : asBool ? Boolean(v) : v));
      }
      default:
        throw this.unsupported(path, enc);
    }
  }

  private unsupported(path: string, enc: string | null): Error {
    return this.fail(
      path,
      `encoding-type '${enc ?? "(none)"}' is not supported for a dataframe column (supported: array, string-array, categorical, ` +
        "nullable-integer, nullable-boolean, nullable-string-array); pass obsColumns to read only the columns you need",
    );
  }
}

/** h5py stores numpy booleans as an enum {FALSE: 0, TRUE: 1}. */
function isBooleanEnum(d: Dataset): boolean {
  const e = (d.metadata as { enum_type?: { members?: Record<string, number> } }).enum_type;
  const m = e?.members;
  return m !== undefined && Object.keys(m).length === 2 && m.FALSE === 0 && m.TRUE === 1;
}

function toFloat64(v: ArrayLike<number> | BigInt64Array | BigUint64Array): Float64Array {
  const out = new Float64Array(v.length);
  for (let k = 0; k < v.length; k++) out[k] = Number(v[k]);
  return out;
}
