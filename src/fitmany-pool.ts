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
  /** Node: whether the worker keeps the process alive (an idle, parked pool must not). */
  ref?(): void;
  unref?(): void;
}

type Reply = { ready?: boolean; id?: number; fits?: ResponseFit[]; error?: string };
type Request = { init?: ManySpec; bytes?: Uint8Array | null; chunk?: Float64Array; count?: number; nObs?: number; warmStart?: boolean; id?: number };

/** The worker's side: answers { init, id } with { id, ready } and each { chunk, id } with { id, fits }. */
export function serveManyWorker(post: (reply: Reply) => void): (msg: Request) => Promise<void> {
  let fitter: ResponseFitter | null = null;
  return async (msg) => {
    try {
      if (msg.init) {
        fitter = await fitterFromSpec(msg.init, msg.bytes ?? null);
        post({ id: msg.id, ready: true });
        return;
      }
      if (!fitter) throw new Error("internal: chunk before init");
      post({ id: msg.id, fits: fitter.fitChunk(msg.chunk!, msg.count!, msg.nObs!, msg.warmStart!) });
    } catch (e) {
      post({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
    }
  };
}

/**
 * A pool of `size` workers made by `spawn`, chunks handed to whichever is idle. The workers outlive
 * one fitMany call: `init` gives them the next design, and a parked pool keeps their warmed-up JIT
 * (the per-response work is small, so cold code costs as much as the fits themselves).
 */
export class ManyPool implements ManyWorkerPool {
  /**
   * Chunks a worker holds: the one it fits and the next, queued at the worker. It starts the next as
   * soon as it is done instead of waiting for the calling thread, often busy with a chunk of its own,
   * to read its reply and send another (with two threads the worker fitted 35% of the chunks of the
   * 2,000-gene bench case one at a time, 49% with one queued).
   */
  readonly depth = 2;
  private readonly ports: ManyPort[] = [];
  private idle: ManyPort[] = [];
  private waiting: ((p: ManyPort) => void)[] = [];
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(
    readonly size: number,
    private readonly spawn: () => ManyPort,
  ) {}

  get failed(): boolean {
    return this.failure !== null;
  }

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const port = this.spawn();
      port.onError((e) => this.fail(new Error(`fitMany worker failed: ${e.message}`)));
      port.onMessage((m) => this.settle(m as Reply));
      this.ports.push(port);
    }
  }

  private request(port: ManyPort, msg: Request, transfer?: ArrayBuffer[]): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      port.post({ ...msg, id }, transfer);
    });
  }

  prestart(): void {
    if (this.ports.length === 0) this.start();
  }

  async init(spec: ManySpec, bytes: Uint8Array | null): Promise<void> {
    this.prestart();
    for (const p of this.ports) p.ref?.();
    this.waiting = [];
    this.idle = [];
    await Promise.all(this.ports.map((port) => this.request(port, { init: spec, bytes })));
    for (let k = 0; k < this.depth; k++) for (const port of this.ports) this.release(port);
  }

  /** Fits a chunk on a worker with a free slot (of `depth`). */
  async fitChunk(values: Float64Array, count: number, nObs: number, warmStart: boolean): Promise<ResponseFit[]> {
    const port = this.idle.pop() ?? (await new Promise<ManyPort>((r) => this.waiting.push(r)));
    try {
      const reply = await this.request(port, { chunk: values, count, nObs, warmStart }, [values.buffer as ArrayBuffer]);
      return reply.fits!;
    } finally {
      this.release(port);
    }
  }

  private settle(r: Reply): void {
    const p = this.pending.get(r.id!);
    if (!p) return;
    this.pending.delete(r.id!);
    if (r.error !== undefined) p.reject(new Error(r.error));
    else p.resolve(r);
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

  /** Idle between calls: the workers stay (warm) but no longer keep a Node process alive. */
  park(): void {
    for (const p of this.ports) p.unref?.();
  }

  async close(): Promise<void> {
    await Promise.all(this.ports.map((p) => p.terminate()));
    this.ports.length = 0;
  }
}
