// The threads build: the SIMD kernels compiled with shared memory, run by a team of threads that all
// instantiate the same module on the same WebAssembly.Memory. The calling thread drives every step;
// helpers (worker_threads in Node, Web Workers in browsers) wait on a control block of Int32 words
// and each take a row range of the parallel parts:
//   - the dense Cholesky factor of the trailing block (per column block: the diagonal block on the
//     calling thread, then the solve below it and the trailing update split by rows), which is where
//     crossed designs such as InstEval spend most of an objective evaluation;
//   - the Schur downdate C −= Σ_j P_j P_j', split by rows of C.
// Each entry is computed by the same code whichever thread holds its row, so a fit gives the same bits
// as the single-thread SIMD build. The helpers never allocate (the stub runtime's bump pointer is per
// instance): every pointer they use comes from the calling thread's allocations.
// Blocking waits (Atomics.wait) are allowed on Node's main thread and in workers, not on a browser's
// main thread: there the engine is not offered (fit in a worker, as the app does).
import type { Kernels } from "./kernels.js";

/** A helper thread as the team needs it. */
export interface ThreadHandle {
  terminate(): void;
}

/** Starts one helper running `code` (plain JavaScript) with `init` as its start data. */
export type ThreadSpawner = (code: string, init: HelperInit) => ThreadHandle;

export interface HelperInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  id: number;
}

let spawner: ThreadSpawner | null = null;
let defaultHelpers = 0;

/** Node and browser entry points register how to start a helper and how many to start. */
export function registerThreadSpawner(spawn: ThreadSpawner | null, helpers: number): void {
  spawner = spawn;
  defaultHelpers = Math.max(0, helpers);
}

// Control words.
const GEN = 0; // bumped for every task; helpers wait for it to change
const OP = 1;
const DONE = 2; // helpers add 1 when their part is done
const READY = 3; // helpers add 1 once instantiated
const FAILED = 4; // a helper's error (1), then the calling thread throws
const ARGS = 8; // up to 12 arguments of the task
const RANGES = 20; // per thread t: rows [RANGES + 2t, RANGES + 2t + 1)
const MAX_THREADS = 64;

const OP_STOP = 1;
const OP_SOLVE = 2;
const OP_UPDATE = 3;
const OP_DOWNDATE = 4;

/** The helper's whole program: instantiate, signal ready, then run tasks until told to stop. */
const HELPER_CODE = `
const run = ({ module, memory, control, id }) => {
  const x = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const c = new Int32Array(control);
  Atomics.add(c, ${READY}, 1);
  Atomics.notify(c, ${READY});
  let seen = Atomics.load(c, ${GEN});
  for (;;) {
    for (let spin = 0; Atomics.load(c, ${GEN}) === seen; spin++) if (spin > 2000) Atomics.wait(c, ${GEN}, seen);
    seen = Atomics.load(c, ${GEN});
    const op = c[${OP}];
    if (op === ${OP_STOP}) return;
    const r0 = c[${RANGES} + 2 * id], r1 = c[${RANGES} + 2 * id + 1];
    const a = (i) => c[${ARGS} + i];
    try {
      if (r0 < r1) {
        if (op === ${OP_SOLVE}) x.choleskySolveRows(a(0) >>> 0, a(1), a(2), a(3), r0, r1);
        else if (op === ${OP_UPDATE}) x.choleskyUpdateRows(a(0) >>> 0, a(1), a(2), a(3), r0, r1);
        else if (op === ${OP_DOWNDATE})
          x.schurDowndateRows(a(0), a(1) >>> 0, a(2) >>> 0, a(3) >>> 0, a(4) >>> 0, a(5) >>> 0, a(6) >>> 0, a(7), a(8) >>> 0, r0, r1);
      }
    } catch (e) {
      Atomics.store(c, ${FAILED}, 1);
    }
    Atomics.add(c, ${DONE}, 1);
    Atomics.notify(c, ${DONE});
  }
};
if (typeof require === "function") run(require("node:worker_threads").workerData);
else self.onmessage = (e) => run(e.data);
`;

/** The threads build's extra exports (assembly/index.ts). */
interface StepExports {
  choleskyStep(): number;
  choleskyStrided(a: number, n: number, ld: number): number;
  choleskyDiagonal(a: number, n: number, ld: number, k0: number): number;
  choleskySolveRows(a: number, n: number, ld: number, k0: number, i0: number, i1: number): void;
  choleskyUpdateRows(a: number, n: number, ld: number, k0: number, i0: number, i1: number): void;
  schurDowndate(k1: number, ps: number, pr: number, po: number, rp: number, re: number, P: number, q: number, C: number): void;
  schurDowndateRows(k1: number, ps: number, pr: number, po: number, rp: number, re: number, P: number, q: number, C: number, r0: number, r1: number): void;
}

/** Below this order the trailing factor stays on one thread: a step's sync costs more than its work. */
const PARALLEL_MIN_ORDER = 256;
/** Below this many downdate entries (panel rows landing on C) likewise. */
const PARALLEL_MIN_ENTRIES = 20000;

/** The calling thread's side of the team. */
class ThreadTeam {
  readonly size: number; // threads including the calling one
  private readonly c: Int32Array;
  private readonly handles: ThreadHandle[] = [];

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, helpers: number, spawn: ThreadSpawner) {
    this.size = Math.min(helpers, MAX_THREADS - 1) + 1;
    const control = new SharedArrayBuffer(4 * (RANGES + 2 * MAX_THREADS));
    this.c = new Int32Array(control);
    for (let id = 1; id < this.size; id++) this.handles.push(spawn(HELPER_CODE, { module, memory, control, id }));
  }

  /** Whether every helper has instantiated the module. */
  get ready(): boolean {
    return Atomics.load(this.c, READY) >= this.size - 1;
  }

  /** Waits (up to `ms`) until the team is ready. */
  async whenReady(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.ready) {
      if (Date.now() > until) return false;
      await new Promise((res) => setTimeout(res, 2));
    }
    return true;
  }

  /**
   * Runs `op` with `args`, thread t on rows [bounds[t], bounds[t+1]); the calling thread does range 0
   * through `own` and returns when every helper has finished its range.
   */
  run(op: number, args: number[], bounds: number[], own: (r0: number, r1: number) => void): void {
    const c = this.c;
    for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i] | 0;
    for (let t = 0; t < this.size; t++) {
      c[RANGES + 2 * t] = bounds[t];
      c[RANGES + 2 * t + 1] = bounds[t + 1];
    }
    c[OP] = op;
    teamTasks[taskKind[op as keyof typeof taskKind]]++;
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    if (bounds[0] < bounds[1]) own(bounds[0], bounds[1]);
    const want = this.size - 1;
    for (let spin = 0; ; spin++) {
      const done = Atomics.load(c, DONE);
      if (done >= want) break;
      if (spin > 2000) Atomics.wait(c, DONE, done, 1000);
    }
    if (Atomics.load(c, FAILED)) throw new Error("internal: a helper thread of the threads engine failed");
  }

  stop(): void {
    this.c[OP] = OP_STOP;
    Atomics.add(this.c, GEN, 1);
    Atomics.notify(this.c, GEN);
    for (const h of this.handles) h.terminate();
  }
}

/** Tasks run by teams so far, per kind (tests check that the parallel paths ran). */
export const teamTasks = { solve: 0, update: 0, downdate: 0 };
const taskKind = { [OP_SOLVE]: "solve", [OP_UPDATE]: "update", [OP_DOWNDATE]: "downdate" } as const;

/** Splits rows [lo, hi) into `parts` ranges of multiples of 4 from lo, the cumulative work w(i) even. */
function splitRows(lo: number, hi: number, parts: number, share: (f: number) => number): number[] {
  const b = [lo];
  for (let t = 1; t < parts; t++) {
    const at = lo + 4 * Math.round(((hi - lo) * share(t / parts)) / 4);
    b.push(Math.min(hi, Math.max(b[t - 1], at)));
  }
  b.push(hi);
  return b;
}

/** The trailing update's work on rows [k1, k1 + x) grows as x² (a triangle): equal areas. */
const triangleShare = (f: number) => Math.sqrt(f);
const evenShare = (f: number) => f;

/** choleskyStrided by the team: bit-identical to the serial kernel, which it uses for small orders. */
function parallelCholesky(x: StepExports, team: ThreadTeam | null, a: number, n: number, ld: number): number {
  if (!team || n < PARALLEL_MIN_ORDER) return x.choleskyStrided(a, n, ld);
  const NB = x.choleskyStep();
  for (let k0 = 0; k0 < n; k0 += NB) {
    const info = x.choleskyDiagonal(a, n, ld, k0);
    if (info !== 0) return info;
    const k1 = Math.min(k0 + NB, n);
    if (k1 === n) break;
    if (n - k1 < PARALLEL_MIN_ORDER / 2) {
      x.choleskySolveRows(a, n, ld, k0, k1, n);
      x.choleskyUpdateRows(a, n, ld, k0, k1, n);
      continue;
    }
    const args = [a, n, ld, k0];
    team.run(OP_SOLVE, args, splitRows(k1, n, team.size, evenShare), (r0, r1) => x.choleskySolveRows(a, n, ld, k0, r0, r1));
    team.run(OP_UPDATE, args, splitRows(k1, n, team.size, triangleShare), (r0, r1) => x.choleskyUpdateRows(a, n, ld, k0, r0, r1));
  }
  return 0;
}

/**
 * Row bounds of C for the downdate with even work: row ra costs Σ over its entries e of the panel
 * positions before e (a − r0 + 1), read from the same index arrays the kernel reads.
 */
function downdateBounds(buf: ArrayBuffer, parts: number, q: number, panelStart: number, panelOf: number, rowPtr: number, rowEntry: number): number[] {
  const iv = new Int32Array(buf);
  const ps = panelStart >> 2, po = panelOf >> 2, rp = rowPtr >> 2, re = rowEntry >> 2;
  const work = new Float64Array(q + 1);
  for (let ra = 0; ra < q; ra++) {
    let w = 0;
    for (let e = iv[rp + ra]; e < iv[rp + ra + 1]; e++) {
      const a = iv[re + e];
      w += a - iv[ps + iv[po + a]] + 1;
    }
    work[ra + 1] = work[ra] + w;
  }
  const b = [0];
  let ra = 0;
  for (let t = 1; t < parts; t++) {
    const target = (work[q] * t) / parts;
    while (ra < q && work[ra] < target) ra++;
    b.push(ra);
  }
  b.push(q);
  return b;
}

export interface ThreadsEngine {
  kernels: Kernels;
  threads: number;
  close(): void;
}

/** Whether this runtime can run the threads build: shared memory, and blocking waits on this thread. */
export function threadsSupported(): boolean {
  if (!spawner || defaultHelpers < 1) return false;
  if (typeof SharedArrayBuffer !== "function" || typeof Atomics !== "object") return false;
  const g = globalThis as { crossOriginIsolated?: boolean; document?: unknown };
  if (g.crossOriginIsolated === false) return false; // a browser page without COOP/COEP
  if (typeof g.document !== "undefined") return false; // a browser's main thread cannot Atomics.wait
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    return true;
  } catch {
    return false;
  }
}

/** Pages of the shared memory: asconfig.json's threads target (initialMemory, maximumMemory). */
const INITIAL_PAGES = 16;
const MAXIMUM_PAGES = 65536;

/**
 * Instantiates the threads build; `wrap` turns the exports into Kernels (engine.ts). The helpers start
 * with the first step large enough to share, and until they are ready steps run on the calling thread
 * (a Node worker starts while its parent is busy); with `eager` they start now and this resolves once
 * they are ready (a browser worker may need its event loop to start its own workers), or rejects.
 */
export async function startThreadsEngine(
  bytes: Uint8Array<ArrayBuffer>,
  wrap: (exports: Record<string, unknown>, memory: WebAssembly.Memory) => Kernels,
  helpers = defaultHelpers,
  eager = typeof process === "undefined",
): Promise<ThreadsEngine> {
  const spawn = spawner;
  if (!spawn || helpers < 1) throw new Error("the threads engine needs a registered helper-thread spawner and at least one helper");
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true } as WebAssembly.MemoryDescriptor);
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const x = instance.exports as unknown as StepExports;
  let team: ThreadTeam | null = null;
  let spawnFailed = false;
  const start = (): ThreadTeam | null => {
    if (!team && !spawnFailed) {
      try {
        team = new ThreadTeam(module, memory, helpers, spawn);
      } catch {
        spawnFailed = true;
      }
    }
    return team;
  };
  /** The team when it can take a step now (started by the first large step). */
  const readyTeam = (): ThreadTeam | null => {
    const t = start();
    return t && t.ready ? t : null;
  };
  if (eager && !(await start()?.whenReady(10000))) {
    (team as ThreadTeam | null)?.stop();
    throw new Error("the threads engine's helpers did not start");
  }
  const base = wrap(instance.exports as Record<string, unknown>, memory);
  const kernels: Kernels = {
    ...base,
    choleskyStrided: (a, n, ld) => parallelCholesky(x, n >= PARALLEL_MIN_ORDER ? readyTeam() : null, a, n, ld),
    cholesky: (a, n) => parallelCholesky(x, n >= PARALLEL_MIN_ORDER ? readyTeam() : null, a, n, n),
    schurDowndate: (k1, ps, pr, po, rp, re, P, q, C) => {
      const buf = memory.buffer as unknown as ArrayBuffer;
      const t = new Int32Array(buf)[(rp >> 2) + q] >= PARALLEL_MIN_ENTRIES ? readyTeam() : null;
      const b = t ? downdateBounds(buf, t.size, q, ps, po, rp, re) : null;
      if (!t || !b) return x.schurDowndate(k1, ps, pr, po, rp, re, P, q, C);
      t.run(OP_DOWNDATE, [k1, ps, pr, po, rp, re, P, q, C], b, (r0, r1) => x.schurDowndateRows(k1, ps, pr, po, rp, re, P, q, C, r0, r1));
    },
  };
  return { kernels, threads: helpers + 1, close: () => (team as ThreadTeam | null)?.stop() };
}
