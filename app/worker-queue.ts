// What the two page workers (worker.ts, many-worker.ts) share: one message handled at a time, and a
// failed fit reported as the page's "fit-error" message.
import { FormulaError } from "../src/formula-types.js";
import type { ErrorSpan } from "./protocol.js";

/** The part of DedicatedWorkerGlobalScope a page worker uses (the DOM lib types `self` as a Window). */
export interface WorkerScope<From, To> {
  postMessage(message: From, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<To>) => void) | null;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Hands each message to `handle` after the previous one is done (a fit posted right after a load waits
 * for the data), then tells the page the worker has started.
 */
export function serveInOrder<From, To>(scope: WorkerScope<From | { type: "ready" }, To>, handle: (msg: To) => Promise<void>): void {
  let queue: Promise<void> = Promise.resolve();
  scope.onmessage = (e) => {
    const msg = e.data;
    queue = queue.then(() => handle(msg));
  };
  scope.postMessage({ type: "ready" });
}

/** The "fit-error" message of a fit that threw: a formula error marks its place in the formula. */
export function fitError(fitId: number, e: unknown): { type: "fit-error"; fitId: number; message: string; span?: ErrorSpan } {
  if (e instanceof FormulaError) {
    return { type: "fit-error", fitId, message: e.message.split("\n")[0], span: { formula: e.formula, pos: e.pos, end: e.end } };
  }
  // The message is what the user sees; the stack only helps a developer (devtools, verbose level).
  console.debug(e);
  return { type: "fit-error", fitId, message: messageOf(e) };
}
