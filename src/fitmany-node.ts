// fitMany's workers in Node: a pool of worker_threads running src/fitmany-worker. From the bundle
// (dist/node) the worker is the sibling fitmany-worker.js; from the TypeScript sources (tests, tsx)
// the worker loads tsx's ESM hooks first and imports fitmany-worker.ts.
import os from "node:os";
import { Worker } from "node:worker_threads";
import type { ManySpec, ManyWorkerPlatform, ManyWorkerPool } from "./fitmany.js";
import type { ResponseFit } from "./manyresults.js";

function workerEntry(): URL {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new URL("./fitmany-worker.js", here);
  const tsx = import.meta.resolve("tsx/esm/api");
  const target = new URL("./fitmany-worker.ts", here).href;
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(target)});`;
  return new URL("data:text/javascript," + encodeURIComponent(code));
}

interface Pending {
  resolve: (f: ResponseFit[]) => void;
  reject: (e: Error) => void;
}

class NodePool implements ManyWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(readonly size: number) {}

  async init(spec: ManySpec, bytes: Uint8Array | null): Promise<void> {
    const entry = workerEntry();
    await Promise.all(
      Array.from({ length: this.size }, () => {
        const w = new Worker(entry);
        this.workers.push(w);
        return new Promise<void>((resolve, reject) => {
          const onError = (e: Error) => reject(new Error(`fitMany worker failed to start: ${e.message}`));
          w.once("error", onError);
          w.once("message", (m: { ready?: boolean; error?: string }) => {
            w.off("error", onError);
            if (m.error) return reject(new Error(m.error));
            w.on("message", (r: { id: number; fits?: ResponseFit[]; error?: string }) => this.settle(w, r));
            w.on("error", (e) => this.failAll(e));
            this.release(w);
            resolve();
          });
          w.postMessage({ init: spec, bytes });
        });
      }),
    );
  }

  fitChunk(values: Float64Array, count: number, nObs: number, warmStart: boolean): Promise<ResponseFit[]> {
    return new Promise((resolve, reject) => {
      const send = (w: Worker) => {
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject });
        w.postMessage({ chunk: values, count, nObs, warmStart, id }, [values.buffer as ArrayBuffer]);
      };
      const w = this.idle.pop();
      if (w) send(w);
      else this.waiting.push(send);
    });
  }

  private settle(w: Worker, r: { id: number; fits?: ResponseFit[]; error?: string }): void {
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    this.release(w);
    if (!p) return;
    if (r.error !== undefined) p.reject(new Error(r.error));
    else p.resolve(r.fits!);
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new Error(`fitMany worker failed: ${e.message}`));
    this.pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export const nodeWorkers: ManyWorkerPlatform = {
  cores: () => (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length),
  create: (threads) => new NodePool(threads),
};
