// The threads engine's helpers in Node: worker_threads evaluating the helper's plain-JavaScript
// program, unref'd so an idle team never keeps the process alive.
import os from "node:os";
import { Worker } from "node:worker_threads";
import type { ThreadSpawner } from "./threads.js";

export const nodeThreadSpawner: ThreadSpawner = (code, init) => {
  const w = new Worker(code, { eval: true, workerData: init });
  w.unref();
  return { terminate: () => void w.terminate() };
};

/** Helpers to start: one per further core. */
export const nodeHelperCount = (): number =>
  (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length) - 1;
