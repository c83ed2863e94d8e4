// `lmm many`: one model for every response (gene) of a matrix, with the design from the matrix's
// own metadata (.h5ad obs) or a metadata CSV keyed by observation id:
//   lmm many --matrix <file|dir> [--meta <csv>] --formula "~ condition + (1|donor)" --out results.csv
//            [--levels levels.json] [--threads N] [--normalize] [--pseudobulk] ...
//            [--family binomial|poisson|nb [--link L] [--nagq N] [--offset-library-size]]
// Dense files and dense or CSC .h5ad matrices are streamed: only a few blocks of --chunk-size
// responses are in memory at a time. Flags that need every response (--normalize's library sizes,
// --min-detected's detection counts) get them from a first pass over the file.
import { Command, InvalidArgumentError } from "commander";
import cliProgress from "cli-progress";
import { statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LevelsOption, Table } from "./data.js";
import { fitMany, type FitManyOptions, type ManyFamily } from "./fitmany.js";
import type { LinkName } from "./family.js";
import { open10x, openDenseMatrix, openH5ad, alignMetadata, keptResponses } from "./io/index.js";
import { logNormalizeSource, scanResponses, selectResponses, type ResponseStats } from "./io/normalize-stream.js";
import type { ManyResults } from "./manyresults.js";
import { readCSV, readLevels } from "./node.js";
import { pseudobulkSource, fitFixedMany } from "./pseudobulk.js";
import { withObservationIds, type ResponseSource } from "./response-source.js";
import { toCSV } from "./tidy.js";
import { toColumns } from "./data.js";
import { parseFormula } from "./formula.js";

interface Input {
  /** The matrix's responses as stored (counts, before any selection or normalisation). */
  source: ResponseSource;
  design: Table;
  notes: string[];
  /** Releases what opening the matrix made (a 10x directory's sorted buckets). */
  close: () => void;
}

function positiveInt(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n > 0)) throw new InvalidArgumentError(`${what} must be a positive integer, got '${v}'`);
    return n;
  };
}

function fraction(v: string): number {
  const x = Number(v);
  if (!(x >= 0 && x <= 1)) throw new InvalidArgumentError(`expected a fraction between 0 and 1, got '${v}'`);
  return x;
}

/**
 * The matrix, opened for streaming (dense files; dense or CSC .h5ad X; a 10x directory or a CSR
 * .h5ad X, which store their entries by cell, after sorting them into buckets of genes on disk), and
 * its design table, in the matrix's observation order.
 */
async function openInput(o: Record<string, unknown>, levels: LevelsOption | undefined): Promise<Input> {
  const file = o.matrix as string;
  const notes: string[] = [];
  let source: ResponseSource;
  let design: Table | null = null;
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    throw new Error(`cannot read the matrix '${file}': no such file or directory`);
  }
  let close = () => {};
  if (isDir) {
    const tenx = await open10x(file, { featureColumn: (o.featureColumn as "name" | "id") ?? "name" });
    source = tenx;
    close = () => tenx.close();
  } else if (/\.h5ad$/i.test(file)) {
    const h = await openH5ad(file, { layer: o.layer as string | undefined });
    source = h.source;
    close = () => h.close();
    if (!o.meta) design = toColumns({ [".obs_id"]: h.obsIds, ...h.obs }, { levels: { ...h.levels, ...levels } });
  } else {
    source = await openDenseMatrix(file);
  }
  if (o.meta) {
    try {
      design = alignedMetadata(o, levels, source, file, notes);
    } catch (e) {
      close();
      throw e;
    }
  }
  if (!design) {
    close();
    throw new Error(`--meta <csv> is needed: the matrix '${file}' has no observation metadata of its own (only .h5ad files do)`);
  }
  return { source, design, notes, close };
}

/** The metadata CSV's rows in the matrix's observation order (rows with no observation left out, noted). */
function alignedMetadata(o: Record<string, unknown>, levels: LevelsOption | undefined, source: ResponseSource, file: string, notes: string[]): Table {
  const meta = readCSV(o.meta as string, { levels });
  const idColumn = (o.idColumn as string | undefined) ?? meta.names[0];
  if (!source.observationIds) throw new Error(`the matrix '${file}' names no observations to match with the metadata`);
  const aligned = alignMetadata(meta, idColumn, source.observationIds);
  if (aligned.droppedMetadataRows > 0) {
    notes.push(`${aligned.droppedMetadataRows} metadata row${aligned.droppedMetadataRows === 1 ? "" : "s"} with no observation in the matrix left out`);
  }
  return aligned.table;
}

/**
 * Whether a first pass over every response is needed: for library sizes (--normalize,
 * --offset-library-size), detection counts (--min-detected), or names (--genes, when the file gives
 * them only with its rows).
 */
function needsFirstPass(o: Record<string, unknown>, source: ResponseSource): boolean {
  return !!o.normalize || o.minDetected !== undefined || !!o.offsetLibrarySize || (!!o.genes && !source.responseNames);
}

/** The positions of the responses --genes and --min-detected keep (filterResponses' selection), or null for all. */
function selection(o: Record<string, unknown>, source: ResponseSource, stats: ResponseStats | null): number[] | null {
  if (!o.genes && o.minDetected === undefined) return null;
  const names = source.responseNames ?? stats!.names;
  const responses = o.genes ? String(o.genes).split(",").map((s) => s.trim()).filter(Boolean) : undefined;
  return keptResponses({ nResponses: names.length, nObs: source.nObs, responseNames: names }, { responses, minDetectedFraction: o.minDetected as number | undefined }, () => stats!.detected);
}

/**
 * The counts of the responses kept (for --pseudobulk) and the responses to fit: those counts,
 * log-normalised with --normalize by the library sizes of every response (the first pass's).
 */
function responsesToFit(o: Record<string, unknown>, raw: ResponseSource, stats: ResponseStats | null): { counts: ResponseSource; Y: ResponseSource } {
  const keep = selection(o, raw, stats);
  const counts = keep ? selectResponses(raw, keep) : raw;
  return { counts, Y: o.normalize ? logNormalizeSource(counts, stats!) : counts };
}

/** What was read before fitting: the responses and observations, or only the observations. */
function inputLine(Y: ResponseSource, file: string, firstPass: boolean, seconds: number): string {
  const s = seconds.toFixed(2);
  if (Y.nResponses === undefined) return `${Y.nObs} observations, responses streamed from '${file}' as they are fitted (opened in ${s} s)`;
  return `${Y.nResponses} responses × ${Y.nObs} observations ${firstPass ? "read" : "opened"} in ${s} s`;
}

/** Writes rows by the file's extension: .csv, .tsv, .json, or .arrow / .feather (Arrow IPC file). */
async function writeTable(file: string, rows: Record<string, unknown>[], extra?: Record<string, unknown>): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".json") {
    writeFileSync(file, JSON.stringify({ ...extra, rows }, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n");
  } else if (ext === ".arrow" || ext === ".feather") {
    const arrow = await import("apache-arrow");
    const cols: Record<string, unknown[]> = {};
    for (const k of Object.keys(rows[0] ?? {})) cols[k] = rows.map((r) => r[k]);
    const typed = Object.fromEntries(
      Object.entries(cols).map(([k, v]) => [k, typeof v[0] === "number" ? Float64Array.from(v as number[]) : v.map((x) => (typeof x === "boolean" ? String(x) : x))]),
    );
    const table = arrow.tableFromArrays(typed as Parameters<typeof arrow.tableFromArrays>[0]);
    writeFileSync(file, arrow.tableToIPC(table, "file"));
  } else if (ext === ".tsv" || ext === ".txt") {
    writeFileSync(file, toCSV(rows, { delimiter: "\t" }));
  } else if (ext === ".csv") {
    writeFileSync(file, toCSV(rows));
  } else {
    throw new Error(`unknown output format '${ext || file}': use .csv, .tsv, .json or .arrow`);
  }
}

/** results.csv → results.responses.csv (and .pseudobulk.csv). */
function sibling(file: string, tag: string): string {
  const ext = path.extname(file);
  return file.slice(0, file.length - ext.length) + `.${tag}` + ext;
}

function summaryText(res: ManyResults, label: string): string {
  const c = res.counts(0.05);
  const lines = [`${label}: ${c.responses} responses (${c.fitted} fitted${c.failed ? `, ${c.failed} failed` : ""}) in ${res.info.timeS.toFixed(2)} s on ${res.info.threads} thread${res.info.threads === 1 ? "" : "s"} (${res.info.engine})`];
  for (const [t, k] of Object.entries(c.significant)) lines.push(`  ${t}: ${k} significant at FDR 5%`);
  if (res.thetaNames.length > 0) lines.push(`  singular fits: ${c.singular}; not converged: ${c.notConverged}`);
  return lines.join("\n");
}

/** The design column --offset-library-size adds (and the formula's offset names). */
const LIBRARY_SIZE_COLUMN = "log_library_size";

/**
 * log of each observation's library size (its counts summed over every response of the matrix as
 * read, before any response is picked: the first pass's), as a column of the design, which is in the
 * matrix's observation order. The design itself is not modified.
 */
function withLogLibrarySize(design: Table, lib: Float64Array, obsIds: string[] | undefined): Table {
  if (design.columns.has(LIBRARY_SIZE_COLUMN)) {
    throw new Error(`--offset-library-size adds the design column '${LIBRARY_SIZE_COLUMN}', but the metadata already has one: rename it or write the offset in the formula`);
  }
  const empty: string[] = [];
  lib.forEach((v, i) => {
    if (!(v > 0)) empty.push(obsIds ? `'${obsIds[i]}'` : `#${i + 1}`);
  });
  if (empty.length > 0) {
    throw new Error(`--offset-library-size: ${empty.length} observation(s) have library size 0 (no counts in any response): ${empty.slice(0, 5).join(", ")}${empty.length > 5 ? ", ..." : ""}; remove them first`);
  }
  const columns = new Map(design.columns);
  columns.set(LIBRARY_SIZE_COLUMN, { type: "numeric", values: lib.map(Math.log) });
  return { names: [...design.names, LIBRARY_SIZE_COLUMN], nrow: design.nrow, columns };
}

/** fitMany's family options from the flags, checked against each other. */
function familyOptions(o: Record<string, unknown>): Pick<FitManyOptions, "family" | "link" | "nAGQ" | "weights"> {
  const family = String(o.family ?? "gaussian").toLowerCase();
  const families = ["gaussian", "binomial", "poisson", "nb"];
  if (!families.includes(family)) throw new Error(`unknown family '${o.family}': use ${families.join(", ")}`);
  if (family === "gaussian") {
    for (const flag of ["link", "nagq", "weights", "offsetLibrarySize"] as const) {
      if (o[flag] !== undefined) throw new Error(`--${flag === "offsetLibrarySize" ? "offset-library-size" : flag} is for generalized models: give --family binomial, poisson or nb`);
    }
    return {};
  }
  if (o.ml) throw new Error("--ml is for linear models: generalized models are always fitted by maximum likelihood (Laplace or quadrature)");
  if (o.normalize) {
    throw new Error(`--normalize log-transforms the counts, but the ${family} family models the counts themselves: drop --normalize (--offset-library-size accounts for library size)`);
  }
  if (o.offsetLibrarySize && family === "binomial") throw new Error("--offset-library-size is for count families (poisson, nb): a binomial response is not a count of reads");
  const nAGQ = o.nagq === undefined ? undefined : Number(o.nagq);
  if (nAGQ !== undefined && !(Number.isInteger(nAGQ) && nAGQ >= 0 && nAGQ <= 25)) throw new Error(`--nagq must be an integer from 0 to 25, got '${o.nagq}'`);
  return { family: family as ManyFamily, link: o.link as LinkName | undefined, nAGQ, weights: o.weights as string | undefined };
}

const FAMILY_LABEL: Record<string, string> = { binomial: "binomial GLMM", poisson: "Poisson GLMM", nb: "negative binomial GLMM" };

export function registerMany(cli: Command): void {
  cli
    .command("many")
    .description("fit one mixed model to every response (gene) of a matrix: per-response estimates, Satterthwaite (or, with --family, Wald z) tests, FDR")
    .requiredOption("--matrix <file|dir>", "dense CSV/TSV (responses × observations), a 10x directory (matrix.mtx[.gz], features.tsv, barcodes.tsv) or an .h5ad file")
    .option("--meta <csv>", "observation metadata (the design); its first column (or --id-column) holds the observation ids")
    .requiredOption("-f, --formula <formula>", 'right-hand side for every response, e.g. "~ condition + (1|donor)"')
    .requiredOption("-o, --out <file>", "tidy results, one row per response and term (.csv, .tsv, .json or .arrow)")
    .option("--responses-out <file>", "per-response table (θ, σ, variance fractions, flags); default <out>.responses.<ext>")
    .option("--levels <file>", "factor levels per metadata column, as the reference *.levels.json")
    .option("--id-column <name>", "metadata column with the observation ids (default: the first)")
    .option("--layer <name>", "for .h5ad: read layers/<name> instead of X")
    .option("--feature-column <col>", "for 10x: name genes by 'name' (default) or 'id'")
    .option("--normalize", "log-normalise counts first: log1p(count / library size × 1e6)")
    .option("--min-detected <fraction>", "keep responses with a value > 0 in at least this fraction of observations", fraction)
    .option("--genes <names>", "keep only these responses (comma-separated, in this order)")
    .option("--ml", "maximum likelihood instead of REML")
    .option("--threads <n>", "worker threads (default: all cores)", positiveInt("--threads"))
    .option("--chunk-size <n>", "responses per task (default 32); a streamed matrix holds a few such blocks at a time", positiveInt("--chunk-size"))
    .option("--warm-start", "start each response at the previous response's θ̂ (within a chunk)")
    .option("--pseudobulk", "also sum the counts per level of the first grouping factor and fit the fixed-effects model to the sums (written to <out>.pseudobulk.<ext>)")
    .option("--engine <name>", "auto, wasm-simd, wasm-scalar or ts", "auto")
    .option("--family <family>", "gaussian (default: lmer on the values), binomial (0/1 values), poisson or nb (counts, glmer / glmer.nb): Wald z tests, df Inf")
    .option("--link <link>", "binomial: logit (default), probit or cloglog; poisson and nb: log")
    .option("--nagq <n>", "glmer's nAGQ: 1 = Laplace (default), 0, or up to 25 adaptive Gauss-Hermite points (one scalar random term)")
    .option("--weights <column>", "generalized models: prior weights column of the metadata (binomial proportions: the trials)")
    .option("--offset-library-size", `count families: add offset(${LIBRARY_SIZE_COLUMN}), the log of each observation's total count over all responses`)
    .action(async (o) => {
      const t0 = performance.now();
      const levels = o.levels ? readLevels(o.levels) : undefined;
      if (!["auto", "wasm-simd", "wasm-scalar", "ts"].includes(o.engine)) throw new Error(`unknown engine '${o.engine}': use auto, wasm-simd, wasm-scalar or ts`);
      const formula = parseFormula(o.formula); // syntax errors before any reading
      const fam = familyOptions(o); // flag conflicts before any reading too
      const { source: raw, design: metadata, notes, close } = await openInput(o, levels);
      try {
        const block = (o.chunkSize as number | undefined) ?? 32;
        const stats = needsFirstPass(o, raw) ? await scanResponses(raw, block) : null;
        const design = o.offsetLibrarySize ? withLogLibrarySize(metadata, stats!.librarySizes, raw.observationIds) : metadata;
        const modelFormula = o.offsetLibrarySize ? `${o.formula} + offset(${LIBRARY_SIZE_COLUMN})` : (o.formula as string);
        const { counts, Y } = responsesToFit(o, raw, stats);
        const Yd = withObservationIds(Y, undefined); // the design is in the matrix's observation order already
        const R = Y.nResponses;
        process.stderr.write(inputLine(Y, o.matrix, stats !== null, (performance.now() - t0) / 1000) + "\n");
        for (const n of notes) process.stderr.write(`note: ${n}\n`);
        const format = R === undefined ? "fitting {value} responses" : "fitting [{bar}] {value}/{total} responses | ETA {eta}s";
        const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format, clearOnComplete: true }, cliProgress.Presets.shades_classic) : null;
        bar?.start(R ?? 0, 0);
        const options: FitManyOptions = {
          levels,
          ...(fam.family ? fam : { REML: !o.ml }),
          threads: o.threads,
          chunkSize: o.chunkSize,
          warmStart: !!o.warmStart,
          engine: o.engine,
          onProgress: (p) => bar?.update(p.done),
        };
        let res: ManyResults;
        try {
          res = await fitMany(modelFormula, design, Yd, options);
        } finally {
          bar?.stop();
        }
        await writeTable(o.out, res.rows() as unknown as Record<string, unknown>[], { info: res.info });
        const responsesOut = o.responsesOut ?? sibling(o.out, "responses");
        await writeTable(responsesOut, res.responseRows());
        process.stdout.write(summaryText(res, fam.family ? FAMILY_LABEL[fam.family] : "mixed model") + `\nresults: ${o.out}\nper response: ${responsesOut}\n`);
        if (o.pseudobulk) {
          const term = formula.random[0];
          if (!term) throw new Error("--pseudobulk sums per level of the formula's first grouping factor, and the formula has none");
          if (term.group.length !== 1 || term.group[0].kind !== "name") {
            throw new Error(`--pseudobulk needs a plain grouping column as the first random term's group, got '${term.groupLabel}'`);
          }
          const group = term.group[0].name;
          const pb = await pseudobulkSource(counts, design, group, { normalize: !!o.normalize, formula: o.formula, blockSize: block });
          const pres = fitFixedMany(o.formula, pb.design, pb.Y, { levels });
          const pbOut = sibling(o.out, "pseudobulk");
          await writeTable(pbOut, pres.rows() as unknown as Record<string, unknown>[], { info: pres.info });
          process.stdout.write(summaryText(pres, `pseudobulk (${pb.Y.nObs} ${group} sums, fixed effects only)`) + `\npseudobulk results: ${pbOut}\n`);
        }
      } finally {
        close();
      }
    });
}
