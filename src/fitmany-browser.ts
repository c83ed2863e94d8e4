// fitMany's workers in browsers: module Web Workers running fitmany-webworker.js, which the bundle
// places next to the library (dist/browser/). Registered by the browser entry when Workers exist.
import type { ManyWorkerPlatform } from "./fitmany.js";
import { ManyPool, type ManyPort } from "./fitmany-pool.js";

function spawn(): ManyPort {
  const w = new Worker(new URL("./fitmany-webworker.js", import.meta.url), { type: "module" });
  return {
    post: (msg, transfer) => w.postMessage(msg, transfer ?? []),
    onMessage: (f) => w.addEventListener("message", (e) => f(e.data)),
    onError: (f) => w.addEventListener("error", (e) => f(new Error(e.message || "the worker script failed to load"))),
    terminate: () => w.terminate(),
  };
}

export const browserWorkers: ManyWorkerPlatform = {
  cores: () => (typeof navigator !== "undefined" && navigator.hardwareConcurrency) || 1,
  create: (threads) => new ManyPool(threads, spawn),
};
