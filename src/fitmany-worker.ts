// A worker of fitMany's Node pool (worker_threads): rebuilds the fitter from the spec the main thread
// sends, then fits the chunks it is given. Messages: { init: ManySpec, bytes } → { ready } or
// { error }; { chunk: values, count, nObs, warmStart, id } → { id, fits }.
import { parentPort } from "node:worker_threads";
import { fitterFromSpec, type ManySpec, type ResponseFitter } from "./fitmany.js";

let fitter: ResponseFitter | null = null;
const port = parentPort;
if (!port) throw new Error("fitmany-worker must run in a worker thread");

port.on("message", async (msg: { init?: ManySpec; bytes?: Uint8Array | null; chunk?: Float64Array; count?: number; nObs?: number; warmStart?: boolean; id?: number }) => {
  try {
    if (msg.init) {
      fitter = await fitterFromSpec(msg.init, msg.bytes ?? null);
      port.postMessage({ ready: true });
      return;
    }
    if (!fitter) throw new Error("internal: chunk before init");
    const fits = fitter.fitChunk(msg.chunk!, msg.count!, msg.nObs!, msg.warmStart!);
    port.postMessage({ id: msg.id, fits });
  } catch (e) {
    port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
