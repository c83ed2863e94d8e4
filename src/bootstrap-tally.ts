// The bookkeeping of bootMer's replicates, shared by the serial loop (bootstrap.ts) and the worker
// runs (bootstrap-parallel.ts): one row of the statistic per replicate, the failures and the refits'
// warnings counted as lme4's bootFail and bootWarnings. Both runs record replicates in their serial
// order, so the rows, counts and even the key order of the counts are the same. Runtime-neutral.

import type { BootMerResult } from "./bootstrap.js";

export class BootTally {
  private readonly buf: Float64Array;
  private readonly rows: Float64Array[];
  private readonly failureMessages: Record<string, number> = {};
  private readonly warnings: Record<string, number> = {};
  private failures = 0;

  constructor(
    private readonly nsim: number,
    private readonly np: number,
    /** The design's own warnings (rank-deficient columns, scales): the data's, not a refit's. */
    private readonly designWarnings: ReadonlySet<string>,
  ) {
    this.buf = new Float64Array(nsim * np);
    this.rows = Array.from({ length: nsim }, (_, i) => this.buf.subarray(i * np, (i + 1) * np));
  }

  /** A refit's warnings, less those every fit of this design has. */
  warn(fitWarnings: readonly string[]): void {
    for (const w of fitWarnings) {
      if (this.designWarnings.has(w) || / dropped \(na\.omit\)$/.test(w)) continue;
      this.warnings[w] = (this.warnings[w] ?? 0) + 1;
    }
  }

  /** Replicate i's statistic. */
  value(i: number, value: ArrayLike<number>): void {
    if (value.length !== this.np) throw new Error(`the statistic returned ${value.length} values at replicate ${i + 1}, ${this.np} on the original fit`);
    this.rows[i].set(value);
  }

  /** Replicate i's refit or statistic threw: its row is NaN. */
  fail(i: number, message: string): void {
    this.failures++;
    this.failureMessages[message] = (this.failureMessages[message] ?? 0) + 1;
    this.rows[i].fill(NaN);
  }

  result(t0: number[], names: string[], seed: number): BootMerResult {
    const { rows: t, failures, failureMessages, warnings, nsim } = this;
    return { t0, t, names, failures, failureMessages, warnings, nsim, seed };
  }
}

/** bootMer's check of nsim (lme4's nsim: a positive count). */
export function checkNsim(nsim: number): void {
  if (!(Number.isInteger(nsim) && nsim >= 1)) throw new Error(`nsim must be a positive integer, got ${nsim}`);
}
