// fitMany's workers in Node: worker_threads running src/fitmany-worker. From the bundle (dist/node)
// the worker is the sibling fitmany-worker.js; from the TypeScript sources (tests, tsx) it is that
// bundle too when it was built from these sources (fitmany-worker-built.ts), else the worker loads
// tsx's ESM hooks first and imports fitmany-worker.ts.
import os from "node:os";
import { Worker } from "node:worker_threads";
import type { ManyWorkerPlatform } from "./fitmany.js";
import { ManyPool, type ManyPort } from "./fitmany-pool.js";
import { builtWorker } from "./fitmany-worker-built.js";

function workerEntry(): URL {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new URL("./fitmany-worker.js", here);
  const built = builtWorker();
  if (built) return built;
  const tsx = import.meta.resolve("tsx/esm/api");
  const target = new URL("./fitmany-worker.ts", here).href;
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(target)});`;
  return new URL("data:text/javascript," + encodeURIComponent(code));
}

function spawn(): ManyPort {
  const w = new Worker(workerEntry());
  return {
    post: (msg, transfer) => w.postMessage(msg, transfer),
    onMessage: (f) => w.on("message", f),
    onError: (f) => w.on("error", f),
    terminate: async () => {
      await w.terminate();
    },
    ref: () => w.ref(),
    unref: () => w.unref(),
  };
}

export const nodeWorkers: ManyWorkerPlatform = {
  cores: () => (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length),
  create: (threads) => new ManyPool(threads, spawn),
};
