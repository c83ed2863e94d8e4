// fitMany's worker in Node (worker_threads): see serveManyWorker.
import { parentPort } from "node:worker_threads";
import { serveManyWorker } from "./fitmany-pool.js";

const port = parentPort;
if (!port) throw new Error("fitmany-worker must run in a worker thread");
const handle = serveManyWorker((reply) => port.postMessage(reply));
port.on("message", (msg) => void handle(msg));
