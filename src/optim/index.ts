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
