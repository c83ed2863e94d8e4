// The browser bundle (dist/browser/index.js, WebAssembly inlined) fits sleepstudy in headless Chromium
// from a page served on localhost, and the numbers match lme4's.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referenceDir } from "./helpers/reference.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = fs.existsSync(CHROMIUM);
// CI installs chromium (.ci/run): there a missing browser is a failure, not a skip.
const run = haveChromium || process.env.CI ? describe : describe.skip;

const page = `<!doctype html><meta charset="utf-8"><title>mixedmodels</title>
<script type="module">
import { lmer, parseCSV, simdSupported } from "/dist/browser/index.js";
try {
  const [csv, levels] = await Promise.all([fetch("/data/sleepstudy.csv").then((r) => r.text()), fetch("/data/sleepstudy.levels.json").then((r) => r.json())]);
  const m = await lmer("Reaction ~ Days + (Days | Subject)", parseCSV(csv, { levels }));
  window.__result = { simd: simdSupported(), fit: m.toJSON(), summary: m.summary() };
} catch (e) { window.__result = { error: String(e && e.stack || e) }; }
</script>`;

// fitMany on Web Workers: the same 60 responses with 1 and with 3 threads.
const manyPage = `<!doctype html><meta charset="utf-8"><title>fitMany</title>
<script type="module">
import { fitMany, Rng } from "/dist/browser/index.js";
try {
  const rng = new Rng(9);
  const cell = [], donor = [], condition = [];
  for (let d = 0; d < 6; d++) for (let c = 0; c < 25; c++) { cell.push("c" + d + "_" + c); donor.push("D" + d); condition.push(d < 3 ? "a" : "b"); }
  const n = cell.length, R = 60;
  const values = new Float64Array(R * n);
  for (let r = 0; r < R; r++) { const u = [0, 1, 2, 3, 4, 5].map(() => 0.5 * rng.normal()); for (let i = 0; i < n; i++) values[r * n + i] = u[Math.floor(i / 25)] + rng.normal(); }
  const Y = { kind: "dense", layout: "responses-by-obs", nResponses: R, nObs: n, values, obsIds: cell };
  const one = await fitMany("~ condition + (1 | donor)", { cell, donor, condition }, Y, { threads: 1, chunkSize: 8 });
  const three = await fitMany("~ condition + (1 | donor)", { cell, donor, condition }, Y, { threads: 3, chunkSize: 8, mainThread: false });
  const same = ["estimate", "stdError", "df", "pValue", "pAdjusted", "theta", "sigma", "objective"].every((k) => one[k].every((v, i) => Object.is(v, three[k][i])));
  window.__result = { same, threads: three.info.threads, workerChunks: three.info.workerChunks, fitted: three.counts().fitted };
} catch (e) { window.__result = { error: String(e && e.stack || e) }; }
</script>`;

let server: http.Server;
let base = "";

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    let file: string | null = null;
    if (url.pathname === "/" || url.pathname === "/many") {
      res.writeHead(200, { "content-type": "text/html" }).end(url.pathname === "/" ? page : manyPage);
      return;
    }
    if (url.pathname.startsWith("/dist/")) file = path.join(root, url.pathname);
    if (url.pathname.startsWith("/data/")) file = path.join(referenceDir, url.pathname);
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith(".js") ? "text/javascript" : file.endsWith(".json") ? "application/json" : "text/plain";
    res.writeHead(200, { "content-type": type }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

run("browser bundle in Chromium", () => {
  it("fits sleepstudy and matches lme4", async () => {
    expect(fs.existsSync(path.join(root, "dist/browser/index.js")), "run `npm run build` first").toBe(true);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const tab = await browser.newPage();
      await tab.goto(base);
      await tab.waitForFunction(() => (window as unknown as { __result?: unknown }).__result, null, { timeout: 30000 });
      const result = await tab.evaluate(() => (window as unknown as { __result: Record<string, any> }).__result);
      expect(result.error).toBeUndefined();
      const ref = JSON.parse(fs.readFileSync(path.join(referenceDir, "fits/sleepstudy-slope-reml.json"), "utf8"));
      const fit = result.fit;
      expect(result.simd).toBe(true);
      expect(fit.engine).toBe("wasm-simd");
      expect(Math.abs(fit.objective - ref.objective) / ref.objective).toBeLessThan(1e-6);
      for (const k of Object.keys(ref.fixef)) {
        expect(Math.abs(fit.fixef[k] - ref.fixef[k]) / Math.abs(ref.fixef[k])).toBeLessThan(1e-4);
        expect(Math.abs(fit.se[k] - ref.se[k]) / ref.se[k]).toBeLessThan(1e-4);
      }
      expect(Math.abs(fit.sigma - ref.sigma) / ref.sigma).toBeLessThan(1e-4);
      ref.theta.forEach((t: number, i: number) => expect(Math.abs(fit.theta[i] - t)).toBeLessThan(1e-3));
      expect(result.summary).toContain("REML criterion at convergence: 1743.6");
    } finally {
      await browser.close();
    }
  });

  it("fitMany runs on Web Workers with the same results as in one thread", async () => {
    expect(fs.existsSync(path.join(root, "dist/browser/fitmany-webworker.js")), "run `npm run build` first").toBe(true);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      await tab.goto(base + "many");
      await tab.waitForFunction(() => (window as unknown as { __result?: unknown }).__result, null, { timeout: 60000 });
      const result = await tab.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result);
      expect(result.error).toBeUndefined();
      expect(errors).toEqual([]);
      expect(result.threads).toBe(3);
      expect(result.workerChunks).toBe(8); // every chunk fitted in a Web Worker
      expect(result.fitted).toBe(60);
      expect(result.same).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
