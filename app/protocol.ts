// Messages between the page (main.ts) and the fit worker (worker.ts). Everything here is structured-
// cloneable; large numeric arrays travel as typed arrays (transferred, not copied).
import type { TidyRow } from "../src/tidy.js";

/** Where the data comes from; the worker reads and parses it so the page never blocks on a big file. */
export type DataSource =
  | { kind: "file"; file: File; levels?: File }
  | { kind: "example"; id: string; name: string; csvUrl: string; levelsUrl?: string };

export interface ColumnInfo {
  name: string;
  type: "numeric" | "factor" | "logical";
  /** Levels of a factor or logical column. */
  nlevels?: number;
  /** Missing values (NA, empty, NaN). */
  missing: number;
}

export type Stage = "starting" | "building" | "optimizing" | "fitting" | "summarising" | "details";

/** gaussian: lmer (REML or ML); the others glmer (binomial, poisson) and glmer.nb (nb), by maximum likelihood. */
export type FamilyChoice = "gaussian" | "binomial" | "poisson" | "nb";

export interface FitRequest {
  formula: string;
  family: FamilyChoice;
  /** lmer only. */
  REML: boolean;
  /** glmer: binomial "logit" (default), "probit", "cloglog"; Poisson and negative binomial "log". */
  link?: "logit" | "probit" | "cloglog" | "log";
  /** glmer: 1 Laplace (default), 0 PIRLS only, up to 25 adaptive Gauss-Hermite points. */
  nAGQ?: number;
}

export type ToWorker = { type: "load"; loadId: number; source: DataSource } | ({ type: "fit"; fitId: number } & FitRequest);

/** Where a formula error points (0-based character offsets into the formula). */
export interface ErrorSpan {
  formula: string;
  pos: number;
  end: number;
}

export interface ResidualPoints {
  kind: "points";
  fitted: Float64Array;
  resid: Float64Array;
}

/** For large n the worker bins residuals vs fitted on a grid so the page draws hundreds of rects, not 10^5 dots. */
export interface ResidualBins {
  kind: "bins";
  x1: Float64Array;
  x2: Float64Array;
  y1: Float64Array;
  y2: Float64Array;
  count: Float64Array;
}

export interface QQData {
  /** Normal quantiles at R's ppoints(n) of the order statistics shown. */
  theoretical: Float64Array;
  /** Sorted scaled residuals (residual / sigma). */
  sample: Float64Array;
  /** Observations in the fit (sample.length may be smaller: evenly spaced order statistics). */
  n: number;
}

export type TrajectoryData =
  | {
      available: true;
      group: string;
      x: string;
      y: string;
      /** Levels shown, in the factor's order, and how many the factor has. */
      shown: string[];
      totalGroups: number;
      /** Whether the rows of the (single) shown group were thinned to keep the plot drawable. */
      thinned: boolean;
      /** Per shown row: index into `shown`, covariate, response, subject-level and population-level fit. */
      g: Int32Array;
      /**
       * Per shown row, its line: rows of a group whose other model columns are equal (e.g. one line per
       * condition when condition varies within subjects), so each line is a function of x.
       */
      line: Int32Array;
      xs: Float64Array;
      ys: Float64Array;
      fit: Float64Array;
      pop: Float64Array;
    }
  | { available: false; reason: string };

/** One term's panel of a caterpillar plot: modes with ±1.96 conditional sd, in the order drawn. */
export interface CaterpillarPanel {
  term: string;
  v: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  /** Position of each value among the sorted levels (0-based); thinned panels skip ranks. */
  rank: Float64Array;
}

/**
 * A grouping factor's caterpillar plot. With few levels (labelled) every panel lists the levels in the
 * order of the first term's modes, as lme4's dotplot; with many, each panel is sorted by its own modes
 * (as lme4's qqmath) and thinned to evenly spaced ranks: at a few hundred pixels the band looks the same.
 */
export interface CaterpillarData {
  group: string;
  nlevels: number;
  labelled: boolean;
  /** The levels in drawing order (labelled plots only). */
  levels: string[];
  panels: CaterpillarPanel[];
}

export interface PlotData {
  n: number;
  /** What the residual plot shows: "residual (y − fitted)" for lmer, Pearson residuals for glmer. */
  residualLabel: string;
  residuals: ResidualPoints | ResidualBins;
  /** Normal QQ plot of the scaled residuals (lmer); glmer's residuals are not normal, so the reason instead. */
  qq: ({ available: true } & QQData) | { available: false; reason: string };
  trajectories: TrajectoryData;
}

export type FromWorker =
  /** Sent once the worker's module has loaded: errors after it are crashes, not a failure to start. */
  | { type: "ready" }
  | { type: "loaded"; loadId: number; name: string; nrow: number; delimiter: string; columns: ColumnInfo[] }
  | { type: "load-error"; loadId: number; message: string }
  | { type: "progress"; fitId: number; stage: Stage; evaluations: number; objective: number }
  | {
      type: "fitted";
      fitId: number;
      summary: string;
      tidy: TidyRow[];
      tidyCSV: string;
      warnings: string[];
      engine: string;
      fitSeconds: number;
      /** Objective evaluations in all (progress reports count these; 0 for glmer, which reports none) and by the optimizer (lme4's feval). */
      evaluations: number;
      feval: number;
      /** "lmer" or "glmer": the tables show t tests with Satterthwaite df or Wald z tests. */
      call: "lmer" | "glmer";
      plots: PlotData;
    }
  | { type: "details"; fitId: number; json: string; caterpillars: CaterpillarData[] }
  | { type: "fit-error"; fitId: number; message: string; span?: ErrorSpan };
