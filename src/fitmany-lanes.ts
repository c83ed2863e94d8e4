// fitMany's lanes: the calling thread and each worker take the next block of responses when they are
// free, so blocks are read only as fast as they are fitted (a streamed file is never read far ahead)
// and which lane fits a block does not change its results.

import type { ManyWorkerPool, ResponseFitter } from "./fitmany.js";
import type { ResponseFit } from "./manyresults.js";
import type { FittingChunk } from "./response-source.js";

export interface Lanes {
  /** This thread's fitter; it fits blocks unless `mainThread` is false. */
  fitter: ResponseFitter;
  mainThread: boolean;
  pool: ManyWorkerPool | null;
  /** The pool's init: worker lanes start taking blocks when it resolves. */
  ready: Promise<void>;
  nObs: number;
  warmStart: boolean;
  /** Yield to the event loop after each of this thread's blocks (worker replies, progress displays). */
  yieldBetween: boolean;
}

/**
 * Fits every block of `blocks` on some lane and hands each result to `done` (the block's values may
 * have been transferred to a worker by then: `done` reads only from, count and names). Each worker is
 * kept `depth` blocks ahead (the pool's), so a worker that finishes does not wait for this thread to
 * finish its own block before it is handed the next. On a failure the other lanes stop taking blocks,
 * every lane settles, the source is closed and the first error is thrown.
 */
export async function fitOnLanes(
  blocks: AsyncGenerator<FittingChunk>,
  lanes: Lanes,
  done: (block: FittingChunk, fits: ResponseFit[], byWorker: boolean) => void,
): Promise<void> {
  const { fitter, pool, nObs, warmStart } = lanes;
  let failure: { error: unknown } | null = null;
  const take = async (): Promise<FittingChunk | null> => {
    if (failure) return null;
    const next = await blocks.next();
    return next.done || failure ? null : next.value;
  };
  const here = async () => {
    for (let b = await take(); b; b = await take()) {
      done(b, fitter.fitChunk(b.values, b.count, nObs, warmStart), false);
      if (lanes.yieldBetween) await new Promise((r) => setTimeout(r, 0));
    }
  };
  const worker = async () => {
    await lanes.ready;
    for (let b = await take(); b; b = await take()) done(b, await pool!.fitChunk(b.values, b.count, nObs, warmStart), true);
  };
  const guarded = (lane: () => Promise<void>) =>
    lane().catch((error: unknown) => {
      failure ??= { error };
    });
  const workerLanes = pool ? pool.size * (pool.depth ?? 1) : 0;
  const all = Array.from({ length: workerLanes }, () => guarded(worker));
  if (lanes.mainThread || !pool) all.push(guarded(here));
  await Promise.all(all);
  if (failure) {
    await blocks.return(undefined).catch(() => {});
    throw (failure as { error: unknown }).error;
  }
}
