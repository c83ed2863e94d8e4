// fitMany's worker pool over any message-passing worker (Node's worker_threads, browsers' Web
// Workers): each worker rebuilds the fitter from the spec once, then fits the chunks it is sent.
// The worker side is `serveManyWorker`; platforms adapt their Worker to `ManyPort`.
import { fitterFromSpec, type ManySpec, type ManyWorkerPool, type ResponseFitter } from "./fitmany.js";
import type { ResponseFit } from "./manyresults.js";

/** The few operations the pool needs from a worker. */
export interface ManyPort {
  post(msg: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(f: (msg: unknown) => void): void;
  onError(f: (e: Error) => void): void;
  terminate(): Promise<void> | void;
}

type Reply = { ready?: boolean; id?: number; fits?: ResponseFit[]; error?: string };
type Request = { init?: ManySpec; bytes?: Uint8Array | null; chunk?: Float64Array; count?: number; nObs?: number; warmStart?: boolean; id?: number };

/** The worker's side: answers { init } with { ready } and each { chunk, id } with { id, fits }. */
export function serveManyWorker(post: (reply: Reply) => void): (msg: Request) => Promise<void> {
  let fitter: ResponseFitter | null = null;
  return async (msg) => {
    try {
      if (msg.init) {
        fitter = await fitterFromSpec(msg.init, msg.bytes ?? null);
        post({ ready: true });
        return;
      }
      if (!fitter) throw new Error("internal: chunk before init");
      post({ id: msg.id, fits: fitter.fitChunk(msg.chunk!, msg.count!, msg.nObs!, msg.warmStart!) });
    } catch (e) {
      post({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
    }
  };
}

/** A pool of `size` workers made by `spawn`, chunks handed to whichever is idle. */
export class ManyPool implements ManyWorkerPool {
  private readonly ports: ManyPort[] = [];
  private readonly idle: ManyPort[] = [];
  private readonly waiting: ((p: ManyPort) => void)[] = [];
  private readonly pending = new Map<number, { resolve: (f: ResponseFit[]) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(
    readonly size: number,
    private readonly spawn: () => ManyPort,
  ) {}

  async init(spec: ManySpec, bytes: Uint8Array | null): Promise<void> {
    await Promise.all(
      Array.from({ length: this.size }, () => {
        const port = this.spawn();
        this.ports.push(port);
        return new Promise<void>((resolve, reject) => {
          let started = false;
          port.onError((e) => {
            const err = new Error(`fitMany worker failed${started ? "" : " to start"}: ${e.message}`);
            if (!started) return reject(err);
            this.fail(err);
          });
          port.onMessage((m) => {
            const r = m as Reply;
            if (!started) {
              started = true;
              if (r.error !== undefined) return reject(new Error(r.error));
              this.release(port);
              return resolve();
            }
            this.settle(port, r);
          });
          port.post({ init: spec, bytes });
        });
      }),
    );
  }

  fitChunk(values: Float64Array, count: number, nObs: number, warmStart: boolean): Promise<ResponseFit[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const send = (port: ManyPort) => {
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject });
        port.post({ chunk: values, count, nObs, warmStart, id }, [values.buffer as ArrayBuffer]);
      };
      const port = this.idle.pop();
      if (port) send(port);
      else this.waiting.push(send);
    });
  }

  private settle(port: ManyPort, r: Reply): void {
    const p = this.pending.get(r.id!);
    this.pending.delete(r.id!);
    this.release(port);
    if (!p) return;
    if (r.error !== undefined) p.reject(new Error(r.error));
    else p.resolve(r.fits!);
  }

  private release(port: ManyPort): void {
    const next = this.waiting.shift();
    if (next) next(port);
    else this.idle.push(port);
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.ports.map((p) => p.terminate()));
  }
}
