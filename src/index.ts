// mixedmodels: linear mixed-effects models (lme4's lmer) with a WebAssembly engine. Runtime-neutral:
// no Node-only API here (see node.ts for file helpers).
export { lmer, LinearMixedModel, type LmerOptions } from "./linearmixedmodel.js";
export { glmer, GeneralizedLinearMixedModel, type GlmerOptions } from "./generalizedlinearmixedmodel.js";
export { glmerNB, fitNBResponse, type GlmerNBOptions } from "./negativebinomial.js";
export { binomial, poisson, negativeBinomial, makeFamily, type Family, type FamilyName, type Link, type LinkName } from "./family.js";
export { parseFormula, deparse } from "./formula.js";
export type { ParsedFormula, Expr, Term, RandomTerm, FixedPart } from "./formula-types.js";
export { FormulaError } from "./formula-types.js";
export { parseCSV, toColumns, type DataInput, type Table, type CSVOptions } from "./data.js";
export { modelFrame, type ModelFrame, type FrameOptions } from "./modelframe.js";
export { loadKernels, simdSupported, type EngineChoice } from "./engine.js";
export { formatSummary, formatGlmerSummary } from "./summary.js";
export { predict, type PredictOptions } from "./predict.js";
export { profile, confintProfile, confintFromProfile, type ProfileTrace } from "./profile.js";
export * from "./bootstrap.js";
export { bootMerAsync, confintBootAsync, type BootMerAsyncOptions, type BootRunInfo } from "./bootstrap-parallel.js";
export { Rng } from "./random.js";
export { tidy, glance, toCSV, type TidyRow, type TidyOptions, type TidyEffect, type Glance } from "./tidy.js";
export { icc, r2Nakagawa, varPart, varianceComponents, type ICC, type R2Nakagawa, type VarPart, type VarianceComponents } from "./varpart.js";
export { satterthwaite, contest, anovaType3, satterthwaiteWarnings, type3Contrasts, type SattTest, type SattFTest, type AnovaRow } from "./satterthwaite.js";
export { anova, formatAnova, type AnovaTable, type AnovaOptions, type AnovaJSON } from "./anova.js";
export type { FitJSON, GlmmFitJSON } from "./results-types.js";
export { fitMany, alignDesign, registerManyWorkers, closeManyWorkers, type FitManyOptions, type ManyFamily, type ManyWorkerPlatform, type ManyWorkerPool } from "./fitmany.js";
export { ManyResults, pAdjustBH, type ManyRow, type ResponseFit } from "./manyresults.js";
export * from "./responses.js";
export { matrixSource, withObservationIds, isResponseSource, fittingChunks, type ResponseSource, type ResponseChunk, type FittingChunk } from "./response-source.js";

import { registerManyWorkers } from "./fitmany.js";
import { browserWorkers } from "./fitmany-browser.js";
import { registerThreadSpawner } from "./threads.js";
import { browserHelperCount, browserThreadSpawner } from "./threads-browser.js";
// In browsers fitMany runs on Web Workers (Node's entry, src/node.ts, registers worker_threads instead).
if (typeof Worker !== "undefined" && typeof navigator !== "undefined") {
  registerManyWorkers(browserWorkers);
  registerThreadSpawner(browserThreadSpawner, browserHelperCount());
}
