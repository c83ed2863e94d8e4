// The threads engine's helpers in browsers: Web Workers from a Blob of the helper's program, given the
// module, the shared memory and the control block by message (both need a cross-origin isolated page).
import type { ThreadSpawner } from "./threads.js";

export const browserThreadSpawner: ThreadSpawner = (code, init) => {
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const w = new Worker(url);
  w.postMessage(init);
  URL.revokeObjectURL(url);
  return { terminate: () => w.terminate() };
};

/** Helpers to start: one per further logical core the browser reports. */
export const browserHelperCount = (): number => (navigator.hardwareConcurrency ?? 1) - 1;
