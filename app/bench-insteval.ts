// InstEval, y ~ 1 + service + (1|s) + (1|d) + (1|dept:service) by ML, fitted once in the browser app
// (headless Chromium, in its Web Worker) and once in Node with the same build, for the bench to cite.
//   node scripts/build.mjs && npx tsx app/bench-insteval.ts      (bench/suite.ts runs it for its table)
// Prints one JSON line: seconds for the fit (lmer: model frame + optimisation, as the page's "Fitted in")
// and until every result is shown (page) / computed (Node: summary + toJSON, the same work as the worker).
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { serveApp } from "../src/serve.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const data = path.join(root, "test/fixtures/reference/data/InstEval.csv");
const levelsFile = path.join(root, "test/fixtures/reference/data/InstEval.levels.json");
const formula = "y ~ 1 + service + (1|s) + (1|d) + (1|dept:service)";
const tid = (id: string) => `[data-testid="${id}"]`;

async function inPage(): Promise<Record<string, number | string>> {
  const server = await serveApp({ root: path.join(root, "dist/app"), port: 0 });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(server.url);
    await page.waitForSelector("main:not([hidden])");
    await page.setInputFiles(tid("levels-input"), levelsFile);
    const t0 = Date.now();
    await page.setInputFiles(tid("file-input"), data);
    await page.waitForFunction(() => document.body.dataset.data === "ready" || document.body.dataset.data === "error", null, { timeout: 120000 });
    const readSeconds = (Date.now() - t0) / 1000;
    await page.click(tid("ml-radio"));
    await page.fill(tid("formula-input"), formula);
    const t1 = Date.now();
    await page.click(tid("fit-button"));
    await page.waitForFunction(() => document.body.dataset.fit !== "running", null, { timeout: 600000 });
    const summarySeconds = (Date.now() - t1) / 1000;
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.fit ?? ""), null, { timeout: 600000 });
    const doneSeconds = (Date.now() - t1) / 1000;
    if ((await page.evaluate(() => document.body.dataset.fit)) !== "done") throw new Error(String(await page.textContent(tid("error"))));
    const fit = JSON.parse((await page.textContent(tid("result-json")))!);
    const progress = (await page.textContent(tid("progress")))!;
    return {
      browser: browser.version(),
      engine: fit.engine,
      read_parse_s: readSeconds,
      fit_s: fit.time_s,
      click_to_summary_s: summarySeconds,
      click_to_all_results_s: doneSeconds,
      objective: fit.objective,
      feval: fit.feval,
      progress,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

async function inNode(): Promise<Record<string, number | string>> {
  // The built bundle, as `lmm fit` runs it (src/ imports .wasm files, which only the bundlers load).
  const lib = (await import(new URL("../dist/node/index.js", import.meta.url).href)) as typeof import("../src/node.js");
  const t0 = performance.now();
  const table = lib.parseCSV(fs.readFileSync(data, "utf8"), { levels: JSON.parse(fs.readFileSync(levelsFile, "utf8")) });
  const t1 = performance.now();
  const m = await lib.lmer(formula, table, { REML: false });
  const t2 = performance.now();
  m.summary();
  m.tidy({ effects: ["fixed", "ran_pars"], confInt: true });
  const json = m.toJSON();
  const t3 = performance.now();
  return {
    node: process.version,
    engine: m.engine,
    read_parse_s: (t1 - t0) / 1000,
    fit_s: (t2 - t1) / 1000,
    fit_to_all_results_s: (t3 - t1) / 1000,
    objective: json.objective,
    feval: json.feval,
  };
}

const page = await inPage();
const node = await inNode();
console.log(JSON.stringify({ formula, REML: false, page, node }));
