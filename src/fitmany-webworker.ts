// fitMany's worker in browsers (a module Web Worker): see serveManyWorker.
import { serveManyWorker } from "./fitmany-pool.js";

const scope = self as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent) => void) | null };
const handle = serveManyWorker((reply) => scope.postMessage(reply));
scope.onmessage = (e) => void handle(e.data);
