// Derivative-free minimisers subject to bounds, for the profiled deviance over θ.

import { bobyqa, type Objective, type OptimOptions, type OptimResult } from "./bobyqa.js";
import { nelderMead } from "./neldermead.js";

export { bobyqa, nloptInitialStep } from "./bobyqa.js";
export type { Objective, OptimOptions, OptimResult } from "./bobyqa.js";
export { nelderMead } from "./neldermead.js";

export type OptimizerName = "bobyqa" | "neldermead";

/** Minimise f over [lower, upper] with the named optimiser (see bobyqa() and nelderMead()). */
export function minimize(
  name: OptimizerName,
  f: Objective,
  x0: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  opts?: OptimOptions,
): OptimResult {
  switch (name) {
    case "bobyqa":
      return bobyqa(f, x0, lower, upper, opts);
    case "neldermead":
      return nelderMead(f, x0, lower, upper, opts);
    default:
      throw new RangeError(`unknown optimizer '${String(name)}': use "bobyqa" or "neldermead"`);
  }
}

/**
 * lme4's nloptwrap settings for BOBYQA: NLopt's defaults through nloptr (xtol_rel = 1e-4, which makes
 * rhoend = 1e-4 rhobeg) plus lme4's xtol_abs = ftol_abs = 1e-8. With them the optimizer takes the
 * same steps as lme4's, so fits reproduce lme4's estimates and evaluation counts. optCtrl overrides
 * them (MixedModels.jl's tighter settings: { xtolRel: 0, xtolAbs: 1e-10, ftolRel: 1e-12, ftolAbs: 1e-8 }).
 */
export const NLOPTWRAP_DEFAULTS: OptimOptions = { xtolRel: 1e-4, xtolAbs: 1e-8, ftolAbs: 1e-8 };
