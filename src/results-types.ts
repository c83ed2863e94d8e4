// The structured result of a fit: the field names of the lme4 reference fits
// (test/fixtures/reference/README.md) so a fit compares field by field with lme4's, plus a few extensions.

export interface VarCorrRow {
  grp: string;
  var1: string | null;
  var2: string | null;
  vcov: number;
  sdcor: number;
}

export interface VarCorrTerm {
  names: string[];
  sd: number[];
  corr: number[][] | null;
}

export interface RanefGroup {
  levels: string[];
  terms: string[];
  /** levels × terms */
  values: number[][];
  /** conditional standard deviations, levels × terms (lme4's ranef(condVar = TRUE)) */
  condsd?: number[][];
}

export interface FitJSON {
  call: "lmer";
  formula: string;
  family: "gaussian";
  link: "identity";
  REML: boolean;
  nobs: number;
  n: number;
  /** rows dropped because of missing values (extension) */
  n_dropped: number;
  ngrps: Record<string, number>;
  fixef: Record<string, number>;
  se: Record<string, number>;
  vcov: number[][];
  /** fixed-effect columns dropped as rank deficient (extension) */
  dropped_columns: string[];
  theta: number[];
  theta_names: string[];
  sigma: number;
  varcorr: VarCorrRow[];
  /** per grouping term (lme4's names; `(x || g)` gives g and g.1) plus Residual */
  VarCorr: Record<string, VarCorrTerm>;
  contrasts: Record<string, { type: string; ordered: boolean; levels: string[]; columns: string[]; matrix: number[][] }> | null;
  objective: number;
  REMLcrit: number;
  deviance_ML: number;
  deviance: number;
  minus2logLik: number;
  logLik: number;
  npar: number;
  AIC: number;
  BIC: number;
  df_residual: number;
  ranef: Record<string, RanefGroup>;
  fitted_head: number[];
  /** quantiles (Min, 1Q, Median, 3Q, Max) of the scaled (Pearson) residuals, as summary() prints (extension) */
  scaled_residuals: { Min: number; "1Q": number; Median: number; "3Q": number; Max: number };
  singular: boolean;
  optimizer: string;
  feval: number;
  /** the optimizer's result as lme4's optinfo$conv$opt: 0, or an NLopt code < 0 or 5 (maxfun reached) (extension) */
  optimizer_code: number;
  /** the optimizer's own words on why it stopped (extension) */
  optimizer_message: string;
  /** lme4's convergence messages ("boundary (singular) fit: see help('isSingular')", "Model failed to converge ...") */
  conv_messages: string[];
  /** everything the user must know: conv_messages plus rank-deficiency and missing-value notes (extension) */
  warnings: string[];
  /** lmerTest's Satterthwaite t tests per fixed effect: df, t, p keyed by column name (toJSON: always) */
  satterthwaite?: { df: Record<string, number>; t: Record<string, number>; p: Record<string, number> };
  /** lmerTest's type III F tests with Satterthwaite denominator df */
  anova_type3?: { term: string; NumDF: number; DenDF: number; F: number; p: number }[];
  /** broom.mixed's tidy(fit, effects = c("fixed", "ran_pars"), conf.int = TRUE) (extension) */
  tidy?: import("./tidy.js").TidyRow[];
  /** broom.mixed's glance(fit): REMLcrit for REML fits, deviance for ML (extension) */
  glance?: import("./tidy.js").Glance;
  /** Nakagawa's marginal / conditional R², performance::icc, variancePartition fractions (extensions) */
  r2_nakagawa?: { marginal: number; conditional: number };
  icc?: { adjusted: number; unadjusted: number; by_group: Record<string, number> };
  varpart?: Record<string, number>;
  /** which engine build ran the fit: "wasm-threads" | "wasm-simd" | "wasm-scalar" | "ts" (extension) */
  engine: string;
  /** wall time of the fit in seconds (extension) */
  time_s: number;
}

/**
 * The structured result of a generalized linear mixed model fit (glmer), with the field names of the
 * lme4 glmer reference fits (test/fixtures/reference/README.md) plus extensions.
 */
export interface GlmmFitJSON {
  call: "glmer";
  formula: string;
  /** R's family(fit)$family: "binomial", "poisson", "Negative Binomial(3.2197)" */
  family: string;
  link: string;
  REML: false;
  /** 0 (lme4's nAGQ = 0 / MixedModels.jl's fast), 1 (Laplace) or the number of quadrature points */
  nAGQ: number;
  nobs: number;
  n: number;
  /** rows dropped because of missing values (extension) */
  n_dropped: number;
  ngrps: Record<string, number>;
  fixef: Record<string, number>;
  se: Record<string, number>;
  vcov: number[][];
  /** Wald z and two-sided normal p per fixed effect */
  z: Record<string, number>;
  p: Record<string, number>;
  confint_wald: { term: string; lower: number; upper: number }[];
  /** fixed-effect columns dropped as rank deficient (extension) */
  dropped_columns: string[];
  theta: number[];
  theta_names: string[];
  /** 1: the binomial, Poisson and negative binomial have no scale parameter */
  sigma: number;
  varcorr: VarCorrRow[];
  /** per grouping term (lme4's names); no Residual entry */
  VarCorr: Record<string, VarCorrTerm>;
  contrasts: Record<string, { type: string; ordered: boolean; levels: string[]; columns: string[]; matrix: number[][] }> | null;
  /** the value minimised: −2 log L by the Laplace approximation or adaptive Gauss-Hermite quadrature (devcomp$cmp["dev"]) */
  objective: number;
  REMLcrit: null;
  deviance_ML: null;
  /** lme4's deviance(): the sum of the squared deviance residuals at the conditional means */
  deviance: number;
  minus2logLik: number;
  logLik: number;
  npar: number;
  AIC: number;
  BIC: number;
  df_residual: number;
  ranef: Record<string, RanefGroup>;
  /** first 20 fitted means (response scale) */
  fitted_head: number[];
  /** quantiles of the Pearson residuals, as summary() prints them (extension) */
  scaled_residuals: { Min: number; "1Q": number; Median: number; "3Q": number; Max: number };
  singular: boolean;
  /** the optimizer of the last stage: "Nelder_Mead" (lme4's default stage 2), "bobyqa" */
  optimizer: string;
  /** evaluations of the last stage's optimizer */
  feval: number;
  /** evaluations of the first stage (θ with β from PIRLS) (extension) */
  feval_stage1: number;
  optimizer_code: number;
  optimizer_message: string;
  conv_messages: string[];
  warnings: string[];
  /** glmer.nb: the estimated negative binomial shape θ (getME(fit, "glmer.nb.theta")) */
  glmer_nb_theta?: number;
  engine: string;
  time_s: number;
}
