// The bundled example data sets (copied into dist/app/examples/ by scripts/build.mjs). The formulas are
// those of the lme4 fits in test/fixtures (test/app.test.ts checks they still agree).
import type { FamilyChoice } from "./protocol.js";

export interface Example {
  id: string;
  title: string;
  /** Shown under the picker: what the data are and what the model says. */
  description: string;
  csv: string;
  levels: string;
  formula: string;
  family: FamilyChoice;
  /** lmer's criterion (gaussian family only). */
  REML: boolean;
}

export const EXAMPLES: Example[] = [
  {
    id: "sleepstudy",
    title: "sleepstudy: reaction times under sleep deprivation",
    description: "18 subjects × 10 days (lme4's sleepstudy); a random intercept and Days slope per subject.",
    csv: "examples/sleepstudy.csv",
    levels: "examples/sleepstudy.levels.json",
    formula: "Reaction ~ Days + (Days | Subject)",
    family: "gaussian",
    REML: true,
  },
  {
    id: "trial",
    title: "trial: a longitudinal clinical trial (simulated)",
    description: "60 patients × 6 visits, arm control/active, 18 missing responses; random intercept and time slope per patient.",
    csv: "examples/trial.csv",
    levels: "examples/trial.levels.json",
    formula: "y ~ arm * time + (1 + time | patient)",
    family: "gaussian",
    REML: true,
  },
  {
    id: "eeg",
    title: "eeg: subjects × items, crossed (simulated)",
    description: "30 subjects × 40 items, condition congruent/incongruent within both; crossed random effects.",
    csv: "examples/eeg.csv",
    levels: "examples/eeg.levels.json",
    formula: "amp ~ condition + rt + (1 + condition | subject) + (1 | item)",
    family: "gaussian",
    REML: true,
  },
  {
    id: "cbpp",
    title: "cbpp: contagious bovine pleuropneumonia (binomial GLMM)",
    description: "15 herds × 4 periods (lme4's cbpp): new cases among the herd's cattle, a random intercept per herd; glmer, binomial, Laplace.",
    csv: "examples/cbpp.csv",
    levels: "examples/cbpp.levels.json",
    formula: "cbind(incidence, size - incidence) ~ period + (1 | herd)",
    family: "binomial",
    REML: false,
  },
  {
    id: "grouseticks",
    title: "grouseticks: ticks on red grouse chicks (Poisson GLMM)",
    description: "403 chicks in 118 broods at 63 locations (lme4's grouseticks); crossed random intercepts; glmer, Poisson, Laplace.",
    csv: "examples/grouseticks.csv",
    levels: "examples/grouseticks.levels.json",
    formula: "TICKS ~ YEAR + HEIGHTc + (1 | BROOD) + (1 | LOCATION)",
    family: "poisson",
    REML: false,
  },
];
