// The browser app (app/, built into dist/app) in headless Chromium, served by src/serve.ts: an uploaded
// sleepstudy fit matches lme4, the bundled examples match their lme4 fits, formula and file errors are
// shown in the page without a crash, a 200,000-row fit leaves the page responsive, a fit can be
// cancelled, and plots export as SVG and PNG. The many-response mode (a model per row of a matrix) gives
// fitMany's numbers in Node, draws the volcano plot and p-value histogram, and explains bad inputs.
// Screenshots go to test/output/.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLES } from "../app/examples.js";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveApp, staticHandler, type RunningServer } from "../src/serve.js";
import { binResiduals, caterpillarData, qqData, trajectories } from "../app/analysis.js";
import { binaryReason, sniffDelimiter, sniffEncoding } from "../app/dataload.js";
import { checkFormula, quoteName, suggest } from "../app/formula-check.js";
import { SINGLE_CELL_EXAMPLE, SINGLE_CELL_FORMULA, simulateSingleCell } from "../app/many-example.js";
import { displayTerms, pHistogram, topRows, volcanoData, type ManyColumns } from "../app/many-summary.js";
import { readCell, readMatrix } from "../app/matrixload.js";
import { parseCSV, toColumns } from "../src/data.js";
import { fitMany } from "../src/fitmany.js";
import { readDenseMatrix } from "../src/io/dense-matrix.js";
import type { ManyResults } from "../src/manyresults.js";
import { toCSV } from "../src/tidy.js";
import { loadKernels } from "../src/engine.js";
import { LinearMixedModel } from "../src/linearmixedmodel.js";
import { qnorm } from "../src/random.js";
import { extraDir, referenceDir, referenceTable, type ReferenceFit } from "./helpers/reference.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const appDir = path.join(root, "dist/app");
const outDir = path.join(root, "test/output");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = fs.existsSync(CHROMIUM);
// CI installs chromium (.ci/run): there a missing browser is a failure, not a skip.
const run = haveChromium || process.env.CI ? describe : describe.skip;

const tid = (id: string) => `[data-testid="${id}"]`;
const readFit = (file: string): ReferenceFit => JSON.parse(fs.readFileSync(file, "utf8"));

let server: RunningServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!haveChromium && !process.env.CI) return;
  expect(fs.existsSync(path.join(appDir, "index.html")), "dist/app is missing: run `node scripts/build.mjs` (or `npm run build`) first").toBe(true);
  fs.mkdirSync(outDir, { recursive: true });
  server = await serveApp({ root: appDir, port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Tab {
  page: Page;
  /** Uncaught exceptions in the page or its worker, and console errors. */
  problems: string[];
}

async function open(query = "", init?: () => void, setup?: (page: Page) => Promise<unknown>, base = server!.url): Promise<Tab> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  if (setup) await setup(page);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("worker", (w) => w.on("console", (m) => m.type() === "error" && problems.push(`worker console: ${m.text()}`)));
  if (init) await page.addInitScript(init);
  await page.goto(base + query);
  await page.waitForSelector("main:not([hidden])");
  return { page, problems };
}

const state = (page: Page, key: "data" | "fit") => page.evaluate((k) => document.body.dataset[k], key);

async function waitData(page: Page, want: "ready" | "error"): Promise<void> {
  await page.waitForFunction((w) => document.body.dataset.data === w || document.body.dataset.data === (w === "ready" ? "error" : "ready"), want, { timeout: 30000 });
  const got = await state(page, "data");
  if (got !== want) throw new Error(`data state ${got}, wanted ${want}; page says: ${await page.textContent(tid("error"))}`);
}

/** Types the formula, clicks Fit and waits for the whole result (summary, plots and JSON). */
async function fit(page: Page, formula: string, timeout = 60000): Promise<ReferenceFit> {
  await page.fill(tid("formula-input"), formula);
  await page.click(tid("fit-button"));
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.fit ?? ""), null, { timeout });
  const s = await state(page, "fit");
  if (s !== "done") throw new Error(`fit ended in state ${s}: ${await page.textContent(tid("error"))}`);
  return JSON.parse((await page.textContent(tid("result-json")))!);
}

function relClose(got: number, want: number, rel: number, abs: number, what: string): void {
  const ok = Math.abs(got - want) <= Math.max(rel * Math.abs(want), abs);
  expect(ok, `${what}: got ${got}, lme4 ${want} (rel ${rel}, abs ${abs})`).toBe(true);
}

/** test/reference.test.ts's tolerances: fixef, se, sigma 1e-4 relative, θ 1e-3, objective 1e-6. */
function checkAgainstLme4(got: ReferenceFit, ref: ReferenceFit, what: string): void {
  relClose(got.objective, ref.objective, 1e-6, 0, `${what} objective`);
  expect(got.nobs).toBe(ref.nobs);
  expect(Object.keys(got.fixef)).toEqual(Object.keys(ref.fixef));
  for (const k of Object.keys(ref.fixef)) {
    relClose(got.fixef[k], ref.fixef[k], 1e-4, 1e-6, `${what} fixef ${k}`);
    relClose(got.se[k], ref.se[k], 1e-4, 1e-6, `${what} se ${k}`);
  }
  relClose(got.sigma, ref.sigma, 1e-4, 1e-6, `${what} sigma`);
  expect(got.theta_names).toEqual(ref.theta_names);
  ref.theta.forEach((t: number, i: number) => relClose(got.theta[i], t, 0, 1e-3, `${what} theta[${i}]`));
  for (const [g, r] of Object.entries(ref.ranef) as [string, { levels: string[]; values: number[][]; condsd: number[][]; terms: string[] }][]) {
    const mine = got.ranef[g];
    const byLevel = new Map<string, number>(mine.levels.map((l: string, i: number) => [l, i]));
    r.terms.forEach((term, c) => {
      const scale = Math.max(...r.values.map((v) => Math.abs(v[c])));
      r.levels.forEach((lev, i) => {
        const j = byLevel.get(lev)!;
        relClose(mine.values[j][c], r.values[i][c], 1e-3, 1e-4 * scale, `${what} ranef ${g} ${lev} ${term}`);
        relClose(mine.condsd[j][c], r.condsd[i][c], 1e-4, 1e-6 * ref.sigma, `${what} condsd ${g} ${lev} ${term}`);
      });
    });
  }
}

async function shoot(page: Page, selector: string, file: string): Promise<void> {
  const el = page.locator(selector).first();
  await el.scrollIntoViewIfNeeded();
  await el.screenshot({ path: path.join(outDir, file) });
}

/** A screenshot of the region spanning several elements (e.g. the formula box and the error under it). */
async function shootAll(page: Page, selectors: string[], file: string): Promise<void> {
  const boxes = [];
  for (const s of selectors) boxes.push((await page.locator(s).first().boundingBox())!);
  const x = Math.min(...boxes.map((b) => b.x)), y = Math.min(...boxes.map((b) => b.y));
  const right = Math.max(...boxes.map((b) => b.x + b.width)), bottom = Math.max(...boxes.map((b) => b.y + b.height));
  await page.screenshot({ path: path.join(outDir, file), clip: { x, y, width: right - x, height: bottom - y }, fullPage: true });
}

/** The file a click downloads, as bytes. */
async function downloadOf(page: Page, selector: string): Promise<{ name: string; bytes: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), bytes: fs.readFileSync(file) };
}

/** The many-response mode's body states (data-many-data, data-many-fit). */
const manyState = (page: Page, key: "manyData" | "manyFit") => page.evaluate((k) => document.body.dataset[k], key);

async function waitManyData(page: Page, want: "ready" | "error"): Promise<void> {
  await page.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.manyData ?? ""), null, { timeout: 30000 });
  const got = await manyState(page, "manyData");
  if (got !== want) throw new Error(`many-response data state ${got}, wanted ${want}; page says: ${await page.textContent(tid("error"))}`);
}

/** Clicks the many-response Fit and waits for the results and their plots. */
/**
 * Records, from now on, the time of every animation frame and each new text of the progress element
 * `testid` (a stalled main thread shows as a long gap between frames); stopFrames returns them.
 */
async function recordFrames(page: Page, testid: string): Promise<void> {
  await page.evaluate((id) => {
    const w = window as unknown as { __frames: number[]; __progress: string[]; __stop: boolean };
    Object.assign(w, { __frames: [], __progress: [], __stop: false });
    const progress = document.querySelector(`[data-testid="${id}"]`)!;
    const tick = () => {
      w.__frames.push(performance.now());
      const t = progress.textContent ?? "";
      if (w.__progress[w.__progress.length - 1] !== t) w.__progress.push(t);
      if (!w.__stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, testid);
}

async function stopFrames(page: Page): Promise<{ frames: number[]; progress: string[] }> {
  return page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __progress: string[]; __stop: boolean };
    w.__stop = true;
    return { frames: w.__frames, progress: w.__progress };
  });
}

async function fitManyInPage(page: Page, timeout = 60000): Promise<void> {
  await page.click(tid("many-fit-button"));
  await page.waitForFunction(() => ["done", "error", "cancelled"].includes(document.body.dataset.manyFit ?? ""), null, { timeout });
  const s = await manyState(page, "manyFit");
  if (s !== "done") throw new Error(`many-response fit ended in state ${s}: ${await page.textContent(tid("error"))}`);
}

/** ManyResults.toJSON() as the page's download holds it (NaN and Infinity as null). */
interface ManyJSON {
  info: ManyResults["info"];
  terms: string[];
  results: Record<string, string | number | boolean | null>[];
  responses: Record<string, unknown>[];
}

/** fitMany in Node on the files the page read: the CLI's matrix reader, the metadata matched by fitMany itself. */
async function fitManyInNode(matrixFile: string, metaText: string, formula: string, REML = true): Promise<ManyResults> {
  return fitMany(formula, parseCSV(metaText), await readDenseMatrix(matrixFile), { threads: 1, REML });
}

const MANY_NUMBERS = ["estimate", "std_error", "df", "statistic", "p_value", "p_adjusted", "sigma"] as const;

/**
 * Relative tolerances of the all-responses comparison: the reference tests' bounds against lme4
 * (estimates and standard errors 1e-4; θ-derived df and p-values 1e-3).
 */
const LOOSE: Record<(typeof MANY_NUMBERS)[number], number> = { estimate: 1e-4, std_error: 1e-4, statistic: 1e-4, sigma: 1e-4, df: 1e-3, p_value: 1e-3, p_adjusted: 1e-3 };

/**
 * The page's results against Node's: the responses in `exact` (those the table and the plot labels show
 * first) to 1e-8 relative, every other response and term to LOOSE. Chromium's V8 computes Math.log,
 * exp and pow differently from Node's in the last bit for a few percent of arguments (Chromium 156
 * against Node 20), so BOBYQA may take a different last step and stop elsewhere within its tolerance;
 * for a near-singular fit the Satterthwaite df (a derivative in θ) and a tiny p-value then move in the
 * 6th or 7th digit, for well-determined fits not beyond the 9th. Prints the largest differences seen.
 */
function checkManyAgainstNode(got: ManyJSON, want: ManyResults, what: string, exact: string[]): void {
  expect(got.terms).toEqual(want.terms);
  const rows = want.rows();
  expect(got.results).toHaveLength(rows.length);
  const checked = new Set<string>();
  const worst = { exact: 0, other: 0 };
  rows.forEach((w, k) => {
    const g = got.results[k];
    expect([g.response, g.term, g.singular], `${what} row ${k}`).toEqual([w.response, w.term, w.singular]);
    const tight = exact.includes(w.response);
    if (tight) checked.add(w.response);
    for (const f of MANY_NUMBERS) {
      if (Number.isNaN(w[f])) {
        expect(g[f], `${what} ${w.response} ${w.term} ${f}`).toBeNull();
        continue;
      }
      const v = g[f] as number;
      const d = w[f] === v ? 0 : Math.abs(v - w[f]) / Math.abs(w[f]);
      if (tight) worst.exact = Math.max(worst.exact, d);
      else worst.other = Math.max(worst.other, d);
      relClose(v, w[f], tight ? 1e-8 : LOOSE[f], 1e-300, `${what} ${w.response} ${w.term} ${f}`);
    }
  });
  expect([...checked].sort()).toEqual([...exact].sort());
  console.log(`${what}: largest relative difference from Node ${worst.exact.toExponential(1)} for ${exact.join(", ")}; ${worst.other.toExponential(1)} for the others`);
}

/** Circles per dot mark of the volcano plot (non-significant, then significant) and its labels. */
async function volcanoMarks(page: Page, scope: string): Promise<{ dots: number[]; labels: string[] }> {
  return page.$eval(scope, (root) => ({
    dots: Array.from(root.querySelectorAll('svg g[aria-label="dot"]'), (g) => g.querySelectorAll("circle").length),
    labels: Array.from(root.querySelectorAll('svg g[aria-label="text"] text'), (t) => t.textContent ?? ""),
  }));
}

/** The histogram's bars' tooltips ("p 0.00–0.05: 42 responses") as counts. */
async function histogramCounts(page: Page, scope: string): Promise<number[]> {
  const titles = await page.$$eval(`${scope} svg g[aria-label="rect"] rect`, (rects) => rects.map((r) => r.querySelector("title")?.textContent ?? ""));
  return titles.map((t) => Number(/: (\d+) responses$/.exec(t)?.[1] ?? NaN));
}

/**
 * A small study for the upload test: 25 responses × 36 observations (6 subjects × 6, treatment A/B
 * between subjects, age within), written as R's write.table writes a matrix (TSV, the header without the
 * name column; response r05 with 3 missing values), its metadata (rows shuffled, two extra), and
 * broken variants: metadata lacking 3 ids, the matrix transposed, a cell that is no number, a short row.
 */
function smallManyStudy(dir: string): Record<"matrix" | "meta" | "metaMissing" | "transposed" | "badCell" | "ragged", string> {
  let s = 777;
  const unif = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 0.5) / 4294967296;
  const normal = () => Math.sqrt(-2 * Math.log(unif())) * Math.cos(2 * Math.PI * unif());
  const obs = Array.from({ length: 36 }, (_, i) => `o${String(i + 1).padStart(2, "0")}`);
  const subject = obs.map((_, i) => `s${Math.floor(i / 6) + 1}`);
  const treatment = obs.map((_, i) => (i < 18 ? "A" : "B"));
  const age = obs.map((_, i) => 20 + ((i * 7) % 13));
  const rows = Array.from({ length: 25 }, (_, r) => {
    const u = Array.from({ length: 6 }, () => normal());
    return obs.map((_, i) => {
      if (r === 4 && [2, 15, 30].includes(i)) return "NA";
      const y = 5 + (r % 3 === 0 ? 1.2 : 0) * (treatment[i] === "B" ? 1 : 0) + 0.05 * age[i] + 0.7 * u[Math.floor(i / 6)] + normal();
      return y.toFixed(5);
    });
  });
  const names = rows.map((_, r) => `r${String(r + 1).padStart(2, "0")}`);
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const metaLines = obs.map((o, i) => `${o},${subject[i]},${treatment[i]},${age[i]}`);
  // Every 5th row first, then the rest: another order than the matrix's; two observations it lacks.
  const shuffled = [...metaLines.filter((_, i) => i % 5 === 0), ...metaLines.filter((_, i) => i % 5 !== 0), "o98,s7,A,30", "o99,s7,A,31"];
  const matrixRows = (sep: string, rs: string[][]) => rs.map((r, k) => [names[k], ...r].join(sep));
  return {
    matrix: write("counts.tsv", [obs.join("\t"), ...matrixRows("\t", rows)].join("\n") + "\n"),
    meta: write("meta.csv", ["obs,subject,treatment,age", ...shuffled].join("\n") + "\n"),
    metaMissing: write("meta-missing.csv", ["obs,subject,treatment,age", ...shuffled.filter((l) => !/^o(04|11|29),/.test(l))].join("\n") + "\n"),
    transposed: write("transposed.csv", ["obs," + names.join(","), ...obs.map((o, i) => [o, ...rows.map((r) => r[i])].join(","))].join("\n") + "\n"),
    badCell: write("bad-cell.csv", ["gene," + obs.join(","), ...matrixRows(",", rows.map((r, k) => (k === 2 ? r.map((v, i) => (i === 6 ? "n/a" : v)) : r)))].join("\n") + "\n"),
    ragged: write("ragged.csv", ["gene," + obs.join(","), ...matrixRows(",", rows.map((r, k) => (k === 1 ? r.slice(1) : r)))].join("\n") + "\n"),
  };
}

/** 2,000 subjects × 100 rows, random intercept (sd 2) and slope (sd 0.5), residual sd 1. */
function bigCSV(): Buffer {
  let s = 12345;
  const unif = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 0.5) / 4294967296;
  const normal = () => Math.sqrt(-2 * Math.log(unif())) * Math.cos(2 * Math.PI * unif());
  const lines = ["y,x,g"];
  for (let i = 0; i < 2000; i++) {
    const a = 2 * normal(), b = 0.5 * normal();
    for (let j = 0; j < 100; j++) {
      const x = j / 10;
      lines.push(`${(10 + a + (1 + b) * x + normal()).toFixed(4)},${x},s${i}`);
    }
  }
  return Buffer.from(lines.join("\n") + "\n");
}

describe("app helpers (the page's and the worker's pure parts)", () => {
  it("checks formulas as the user types: parse errors and unknown columns with their position", () => {
    const cols = ["Reaction", "Days", "Subject"];
    expect(checkFormula("Reaction ~ Days + (Days | Subject", cols).problems).toEqual([
      { message: "unbalanced parentheses: '(' at position 18 is never closed", pos: 18, end: 19 },
    ]);
    expect(checkFormula("Reaction ~ Dayz + (1 | subject)", cols).problems).toEqual([
      { message: "unknown column 'Dayz' at position 11: the data has no column of that name (did you mean 'Days'?)", pos: 11, end: 15 },
      { message: "unknown column 'subject' at position 23: the data has no column of that name (did you mean 'Subject'?)", pos: 23, end: 30 },
    ]);
    expect(checkFormula("Reaction ~ log(Days + 1) + (Days || Subject)", cols).problems).toEqual([]);
    // Without data only syntax and structure are checked.
    expect(checkFormula("y ~ x + (1 | g)", null).problems).toEqual([]);
    expect(checkFormula("y ~ x", null).problems[0].message).toMatch(/^no random-effects term/);
  });

  it("completes column names at the caret", () => {
    const cols = ["Reaction", "Days", "Subject", "my col"];
    expect(suggest("Reaction ~ Da", 13, cols)).toEqual({ start: 11, end: 13, items: ["Days"] });
    expect(suggest("Reaction ~ ", 11, cols).items).toEqual(cols);
    expect(suggest("Reaction ~ Days ", 16, cols).items).toEqual([]);
    // Replaces the whole word under the caret; matches inside names come after prefix matches.
    expect(suggest("Reaction ~ Dxys", 12, cols)).toEqual({ start: 11, end: 15, items: ["Days"] });
    expect(suggest("y ~ ject", 8, cols).items).toEqual(["Subject"]);
    expect(quoteName("my col")).toBe("`my col`");
    expect(quoteName("Days")).toBe("Days");
  });

  it("tells text tables from binary files and finds the delimiter and encoding", () => {
    expect(binaryReason(new TextEncoder().encode("a,b\n1,2\n"))).toBeNull();
    expect(binaryReason(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]))).toMatch(/NUL bytes/);
    expect(sniffDelimiter("a\tb\tc\n1\t2\t3", "x.csv")).toBe("\t");
    expect(sniffDelimiter('"a;b",c,d\n', "x.csv")).toBe(",");
    expect(sniffDelimiter("a;b;c\n", "x.txt")).toBe(";");
    expect(sniffDelimiter("a,b\n", "x.tsv")).toBe("\t");
    expect(sniffEncoding(new TextEncoder().encode("Größe,ü\n"))).toBe("utf-8");
    expect(sniffEncoding(Uint8Array.from([0x47, 0x72, 0xf6, 0xdf, 0x65]))).toBe("windows-1252");
    // A multi-byte character cut at the end of the sample is still UTF-8.
    expect(sniffEncoding(new TextEncoder().encode("ab\u00fc").subarray(0, 3))).toBe("utf-8");
  });

  it("computes the QQ points, residual bins and caterpillar panels as R would", () => {
    const r5 = Float64Array.from([3, -1, 2, 0, -4]);
    const q = qqData(r5, 2);
    expect(Array.from(q.sample)).toEqual([-2, -0.5, 0, 1, 1.5]);
    // R's ppoints(5): (i - 3/8) / (5 + 1 - 3/4)
    [1, 2, 3, 4, 5].forEach((i, k) => expect(q.theoretical[k]).toBeCloseTo(qnorm((i - 3 / 8) / 5.25), 12));
    const big = Float64Array.from({ length: 5001 }, (_, i) => i - 2500);
    const qb = qqData(big, 1, 2000);
    expect(qb.sample.length).toBe(2000);
    expect([qb.sample[0], qb.sample[1999]]).toEqual([-2500, 2500]);
    expect(qb.theoretical[0]).toBeCloseTo(qnorm(0.5 / 5001), 12);

    const fitted = Float64Array.from({ length: 1000 }, (_, i) => i % 37);
    const resid = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const bins = binResiduals(fitted, resid, 10, 8);
    expect(bins.count.reduce((a, b) => a + b, 0)).toBe(1000);
    for (let i = 0; i < bins.count.length; i++) expect(bins.x1[i]).toBeLessThan(bins.x2[i]);

    const few = caterpillarData({ g: { levels: ["a", "b", "c"], terms: ["(Intercept)", "x"], values: [[1, 0], [-1, 5], [0, -5]], condsd: [[1, 1], [1, 1], [1, 1]] } })[0];
    expect(few.labelled).toBe(true);
    expect(few.levels).toEqual(["b", "c", "a"]);
    expect(Array.from(few.panels[1].v)).toEqual([5, -5, 0]);
    expect(few.panels[0].hi[0]).toBeCloseTo(-1 + 1.96, 12);
    const m = 5000;
    const many = caterpillarData({ g: { levels: Array.from({ length: m }, (_, i) => `l${i}`), terms: ["(Intercept)"], values: Array.from({ length: m }, (_, i) => [Math.sin(i)]), condsd: Array.from({ length: m }, () => [0.1]) } })[0];
    expect(many.labelled).toBe(false);
    const p = many.panels[0];
    expect(p.v.length).toBe(1000);
    expect([p.rank[0], p.rank[999]]).toEqual([0, m - 1]);
    for (let i = 1; i < p.v.length; i++) expect(p.v[i]).toBeGreaterThanOrEqual(p.v[i - 1]);
  });

  it("checks many-response formulas (one-sided) against the metadata's columns", () => {
    const cols = ["cell", "donor", "condition", "age"];
    expect(checkFormula("~ condition + (1 | donor)", cols, { oneSided: true }).problems).toEqual([]);
    // The left side only names the responses (fitMany's rule), so it is no column.
    expect(checkFormula("expr ~ condition + (1 | donor)", cols, { oneSided: true }).problems).toEqual([]);
    expect(checkFormula("~ condition + agee + (1 | donor)", cols, { oneSided: true }).problems).toEqual([
      { message: "unknown column 'agee' at position 14: the metadata has no column of that name (did you mean 'age'?)", pos: 14, end: 18 },
    ]);
    expect(checkFormula("~ condition", cols, { oneSided: true }).problems[0].message).toMatch(/^no random-effects term/);
    // The one-model formula box still wants a response.
    expect(checkFormula("~ condition + (1 | donor)", cols).problems[0].message).toMatch(/^the formula has no response/);
  });

  it("reads a dense matrix in the page as the CLI's reader does, and names what is wrong with bad ones", async () => {
    const study = simulateSingleCell();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lmm-app-matrix-"));
    const file = path.join(dir, "m.csv");
    fs.writeFileSync(file, study.matrixCSV);
    const [mine, cli] = [await readMatrix(new Blob([study.matrixCSV]), "m.csv"), await readDenseMatrix(file)];
    expect([mine.nResponses, mine.nObs]).toEqual([300, 480]);
    expect(mine.responseNames).toEqual(cli.responseNames);
    expect(mine.obsIds).toEqual(cli.obsIds);
    expect(Array.from(mine.values)).toEqual(Array.from(cli.values));
    // R's write.table header (no name for the name column), tabs, NA and Inf.
    const r = await readMatrix(new Blob(["a\tb\tc\ng1\t1\tNA\t-Inf\ng2\t.5\t2e3\t\n"]), "x.tsv");
    expect([r.obsIds, r.responseNames, Array.from(r.values)]).toEqual([["a", "b", "c"], ["g1", "g2"], [1, NaN, -Infinity, 0.5, 2000, NaN]]);
    expect([readCell(" 3 "), readCell("0x10"), readCell("1e")]).toEqual([3, undefined, undefined]);
    const fails = (text: string) => readMatrix(new Blob([text]), "bad.csv").then(() => "read", (e: Error) => e.message);
    expect(await fails("gene,c1,c2\ng1,1,2\ng2,3,abc\n")).toBe("'bad.csv', data row 2 (response 'g2'), column 'c2': 'abc' is not a number");
    expect(await fails("gene,c1,c2\ng1,1,2\ng2,3\n")).toBe("'bad.csv', data row 2: 2 fields, expected 3 (a response name and 2 values, as the header has 2 observations)");
    expect(await fails("gene,c1,c2\ng1,1,2\ng1,3,4\n")).toBe("'bad.csv', data row 2: response 'g1' already appeared in data row 1");
    expect(await fails("gene,c1,c1\ng1,1,2\n")).toBe("'bad.csv': observation 'c1' appears more than once in the header (columns 2, 3)");
    expect(await fails("gene,c1,c2\n")).toBe("'bad.csv' has a header row but no response rows");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("ranks responses, bins p-values and builds the volcano plot from a result's columns", () => {
    // 5 responses × terms (Intercept), x; response-major.
    const r: ManyColumns = {
      responses: ["a", "b", "c", "d", "e"],
      terms: ["(Intercept)", "x"],
      estimate: [1, 0.5, 1, -2, 1, 0.1, 1, 3, 1, NaN],
      stdError: [1, 1, 1, 1, 1, 1, 1, 1, 1, NaN],
      df: [9, 9, 9, 9, 9, 9, 9, 9, 9, NaN],
      statistic: [1, 0.5, 1, -2, 1, 0.1, 1, 3, 1, NaN],
      pValue: [0.5, 0.3, 0.5, 0.001, 0.5, 1, 0.5, 0, 0.5, NaN],
      pAdjusted: [0.5, 0.4, 0.5, 0.002, 0.5, 1, 0.5, 0, 0.5, NaN],
    };
    expect(displayTerms(r.terms)).toEqual(["x", "(Intercept)"]);
    expect(topRows(r, "x", 10).map((t) => [t.response, t.p])).toEqual([["d", 0], ["b", 0.001], ["a", 0.3], ["c", 1]]);
    const h = pHistogram(r, "x");
    expect(h.n).toBe(4);
    expect([h.count[0], h.count[6], h.count[19], h.count.reduce((a, b) => a + b, 0)]).toEqual([2, 1, 1, 4]);
    const v = volcanoData(r, "x", 2);
    expect(v.response).toEqual(["a", "b", "c", "d"]);
    expect(Array.from(v.significant)).toEqual([0, 1, 0, 1]);
    expect(v.labelled.map((i) => v.response[i])).toEqual(["d", "b"]);
    // p = 0 is drawn at the largest finite −log10 p; the BH cut at the largest significant p.
    expect(Array.from(v.mlog10p)).toEqual([-Math.log10(0.3), 3, -0, 3]);
    expect(v.cut).toBe(3);
  });

  it("draws one trajectory line per group and level of the other within-group variables", async () => {
    const kernels = await loadKernels("auto");
    const eeg = referenceTable("data/eeg.csv", "eeg", extraDir);
    const m = LinearMixedModel.fit(kernels, "amp ~ condition + rt + (1 + condition | subject) + (1 | item)", eeg);
    const t = trajectories(m, eeg);
    if (!t.available) throw new Error(t.reason);
    expect([t.group, t.x, t.y, t.totalGroups, t.shown.length]).toEqual(["subject", "rt", "amp", 30, 24]);
    // condition varies within subjects: two lines each, and on each line the subject's fit is linear in rt.
    const lines = new Map<number, number[]>();
    t.line.forEach((l, i) => lines.set(l, [...(lines.get(l) ?? []), i]));
    expect(lines.size).toBe(48);
    const b = m.fixef();
    for (const rows of lines.values()) {
      const slope = (t.fit[rows[1]] - t.fit[rows[0]]) / (t.xs[rows[1]] - t.xs[rows[0]]);
      expect(slope).toBeCloseTo(b.rt, 8);
      for (const i of rows) expect(t.fit[i] - t.pop[i]).toBeCloseTo(t.fit[rows[0]] - t.pop[rows[0]], 8);
    }
    const trial = referenceTable("data/trial.csv", "trial", extraDir);
    const mt = LinearMixedModel.fit(kernels, "y ~ arm * time + (1 + time | patient)", trial);
    const tt = trajectories(mt, trial);
    if (!tt.available) throw new Error(tt.reason);
    expect(new Set(tt.line).size).toBe(24);
    expect(new Set(tt.g).size).toBe(24);
    // A covariate constant within groups has no trajectories, and neither has a model without covariates.
    const g = Array.from({ length: 40 }, (_, i) => `g${i % 8}`);
    const data = { y: g.map((_, i) => Math.sin(i) + (i % 8)), g, z: g.map((_, i) => i % 8) };
    expect(trajectories(LinearMixedModel.fit(kernels, "y ~ z + (1 | g)", data), toColumns(data))).toEqual({
      available: false,
      reason: "'z' does not vary within the levels of 'g': there are no trajectories to draw",
    });
    expect(trajectories(LinearMixedModel.fit(kernels, "y ~ 1 + (1 | g)", data), toColumns(data)).available).toBe(false);
  });
});

run("browser app (dist/app) in Chromium", () => {
  it("serves the app with cross-origin isolation headers", async () => {
    const res = await fetch(server!.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(res.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
    expect(await res.text()).toContain('data-testid="formula-input"');
    for (const f of ["app.js", "worker.js", "style.css", "examples/sleepstudy.csv", "examples/trial.csv", "examples/eeg.levels.json"]) {
      expect((await fetch(server!.url + f)).status, f).toBe(200);
    }
    expect((await fetch(server!.url + "..%2f..%2fpackage.json")).status).toBe(403);
    expect((await fetch(server!.url + "nothing.js")).status).toBe(404);
    // A worker that cannot start (here: worker.js missing) is reported once, not restarted in a loop.
    {
      const { page, problems } = await open("", undefined, (p) => p.route("**/worker.js", (r) => r.fulfill({ status: 404, body: "" })));
      await expect.poll(() => page.textContent(tid("error"))).toContain("the fit worker (worker.js) could not start");
      expect(await page.isDisabled(tid("fit-button"))).toBe(true);
      expect(problems.filter((p) => !p.includes("404"))).toEqual([]);
      await page.close();
    }
    // Opened as a file, browsers run neither module scripts nor workers: the page says what to do.
    const page = await browser!.newPage();
    await page.goto("file://" + path.join(appDir, "index.html"));
    await expect.poll(() => page.textContent("#boot")).toContain("open the page through a web server");
    expect(await page.isVisible("main")).toBe(false);
    await page.close();
    // No CDN: the page and its bundles load nothing from another origin.
    for (const f of ["index.html", "app.js", "worker.js"]) expect(fs.readFileSync(path.join(appDir, f), "utf8")).not.toMatch(/https?:\/\/(?!localhost)[a-z0-9.-]*(cdn|unpkg|jsdelivr)/i);
  });

  it("runs from a plain static server (no isolation headers) on the single-thread SIMD build", async () => {
    // The same files without COOP/COEP: no SharedArrayBuffer, so the engine falls back, and the fit is the same.
    const handler = staticHandler(appDir);
    const plain = http.createServer((req, res) => {
      const set = res.setHeader.bind(res);
      res.setHeader = (k: string, v: number | string | readonly string[]) => (k.toLowerCase().startsWith("cross-origin") ? res : set(k, v));
      handler(req, res);
    });
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    try {
      const { page, problems } = await open("", undefined, undefined, `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      await page.setInputFiles(tid("file-input"), path.join(root, "examples/sleepstudy.csv"));
      await waitData(page, "ready");
      const got = await fit(page, "Reaction ~ Days + (Days | Subject)");
      expect(got.engine).toBe("wasm-simd");
      checkAgainstLme4(got, readFit(path.join(referenceDir, "fits/sleepstudy-slope-reml.json")), "sleepstudy (plain static)");
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await new Promise((r) => plain.close(r));
    }
  });

  it("fits an uploaded sleepstudy.csv as lme4 does, with summary, tables, plots and downloads", async () => {
    const { page, problems } = await open();
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.setInputFiles(tid("file-input"), path.join(root, "examples/sleepstudy.csv"));
    await waitData(page, "ready");
    expect(await page.textContent(tid("data-info"))).toContain("180 rows, 3 columns");
    // Column completion: a partial name offers the column, Tab inserts it.
    await page.fill(tid("formula-input"), "");
    await page.type(tid("formula-input"), "Reaction ~ Da");
    await expect.poll(() => page.locator(`${tid("suggestions")} li`).allTextContents()).toEqual(["Daysnumeric"]);
    await page.keyboard.press("Tab");
    expect(await page.inputValue(tid("formula-input"))).toBe("Reaction ~ Days");

    const got = await fit(page, "Reaction ~ Days + (Days | Subject)");
    const ref = readFit(path.join(referenceDir, "fits/sleepstudy-slope-reml.json"));
    checkAgainstLme4(got, ref, "sleepstudy");
    // Cross-origin isolated with a second core: the threads build, which gives the SIMD build's bits.
    const engine = (await page.evaluate(() => navigator.hardwareConcurrency)) > 1 ? "wasm-threads" : "wasm-simd";
    expect(got.engine).toBe(engine);
    expect(await page.textContent(tid("summary"))).toContain("REML criterion at convergence: 1743.6");
    expect(await page.textContent(tid("progress"))).toMatch(
      new RegExp(`^Fitted in [\\d.]+ s \\(${got.feval} optimizer evaluations of the objective, \\d+ with the convergence checks; ${engine} engine\\)\\.$`),
    );
    // Tables: Satterthwaite df and p for the fixed effects (lmerTest: Days df 17), variance components.
    const fixedRows = await page.locator(`${tid("fixed-table")} tbody tr`).allTextContents();
    expect(fixedRows).toHaveLength(2);
    const daysCells = await page.locator(`${tid("fixed-table")} tbody tr:nth-child(2) td`).allTextContents();
    expect(daysCells[0]).toBe("Days");
    relClose(Number(daysCells[3]), ref.satterthwaite.df.Days, 1e-3, 0, "Satterthwaite df of Days");
    expect(await page.locator(`${tid("varcomp-table")} tbody tr`).allTextContents()).toHaveLength(4);
    expect(await page.textContent(tid("warnings"))).toContain("No warnings");
    // Plots: trajectories (18 subjects), residuals, QQ, caterpillar of Subject with two term panels.
    for (const p of ["plot-trajectories", "plot-residuals", "plot-qq"]) expect(await page.locator(`${tid(p)} svg`).count(), p).toBeGreaterThan(0);
    expect(await page.locator(`${tid("plot-caterpillar-Subject")} .parts > svg`).count()).toBe(2);
    expect(await page.textContent(tid("plot-trajectories"))).toContain("all 18 levels of Subject");

    // Downloads: the JSON is the displayed object, the CSV the tidy table, plots as SVG and PNG.
    const json = await downloadOf(page, tid("download-json"));
    expect(JSON.parse(json.bytes.toString("utf8"))).toEqual(got);
    const csv = (await downloadOf(page, tid("download-csv"))).bytes.toString("utf8").split("\n");
    expect(csv[0]).toBe("effect,group,term,estimate,std.error,statistic,df,p.value,conf.low,conf.high");
    expect(csv[1]).toMatch(/^fixed,NA,\(Intercept\),251\.40/);
    const svg = await downloadOf(page, tid("export-svg-qq"));
    expect(svg.name).toMatch(/\.svg$/);
    const svgText = svg.bytes.toString("utf8");
    expect(svgText).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect((svgText.match(/<circle/g) ?? []).length).toBe(180);
    const png = await downloadOf(page, tid("export-png-caterpillar-Subject"));
    expect(png.bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const pngWidth = png.bytes.readUInt32BE(16);
    expect(pngWidth).toBeGreaterThan(600);
    fs.writeFileSync(path.join(outDir, "app-export-caterpillar-Subject.png"), png.bytes);
    fs.writeFileSync(path.join(outDir, "app-export-qq.svg"), svg.bytes);

    await shoot(page, tid("summary"), "app-summary.png");
    await shoot(page, tid("fixed-table"), "app-fixed-table.png");
    for (const p of ["trajectories", "residuals", "qq", "caterpillar-Subject"]) await shoot(page, tid(`plot-${p}`), `app-plot-${p}.png`);
    await page.screenshot({ path: path.join(outDir, "app-page.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("fits the bundled examples as lme4 does (eeg: crossed; trial: rows with missing values dropped)", async () => {
    const { page, problems } = await open();
    const example = async (id: string, file: string) => {
      const ref = readFit(path.join(extraDir, file));
      expect(EXAMPLES.find((e) => e.id === id)!.formula).toBe(ref.formula);
      await page.selectOption(tid("example-select"), id);
      expect(await page.inputValue(tid("formula-input"))).toBe(ref.formula);
      await waitData(page, "ready");
      checkAgainstLme4(await fit(page, ref.formula), ref, id);
    };
    await example("eeg", "fits/eeg-crossed-reml.json");
    expect(await page.locator(`${tid("plot-caterpillar-item")} .parts > svg`).count()).toBe(1);
    expect(await page.locator(`${tid("plot-caterpillar-subject")} .parts > svg`).count()).toBe(2);
    expect(await page.textContent(tid("plot-trajectories"))).toContain("amp against rt for the first 24 of 30 levels of subject");
    await shoot(page, tid("plot-caterpillar-item"), "app-plot-eeg-caterpillar-item.png");
    await shoot(page, tid("plot-trajectories"), "app-plot-eeg-trajectories.png");

    await example("trial", "fits/trial-slope-reml.json");
    expect(await page.textContent(tid("warnings"))).toContain("18 rows with missing values dropped (na.omit)");
    expect(await page.textContent(tid("plot-trajectories"))).toContain("y against time for the first 24 of 60 levels of patient");
    await shoot(page, tid("warnings"), "app-trial-warnings.png");
    await shoot(page, tid("plot-trajectories"), "app-plot-trial-trajectories.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("fits GLMMs (family choice): the cbpp and grouseticks examples as lme4's glmer does", async () => {
    const { page, problems } = await open();
    expect(await page.isVisible(tid("reml-radio"))).toBe(true);
    expect(await page.isVisible(tid("nagq-input"))).toBe(false);
    const example = async (id: string, file: string) => {
      const ref = readFit(path.join(referenceDir, file));
      const ex = EXAMPLES.find((e) => e.id === id)!;
      expect([ex.formula, ex.family]).toEqual([ref.formula, ref.family]);
      await page.selectOption(tid("example-select"), id);
      expect(await page.inputValue(tid("family-select"))).toBe(ref.family);
      await waitData(page, "ready");
      const got = await fit(page, ref.formula);
      // test/glmm.test.ts's tolerances: the Laplace deviance 1e-5, estimates and se 1e-3, θ 1e-3.
      expect([got.call, got.family, got.link, got.nAGQ]).toEqual(["glmer", ref.family, ref.link, 1]);
      relClose(got.objective, ref.objective, 1e-5, 0, `${id} objective`);
      for (const k of Object.keys(ref.fixef)) {
        relClose(got.fixef[k], ref.fixef[k], 1e-3, 1e-3 * ref.se[k], `${id} fixef ${k}`);
        relClose(got.se[k], ref.se[k], 1e-3, 0, `${id} se ${k}`);
      }
      ref.theta.forEach((t: number, i: number) => relClose(got.theta[i], t, 0, 1e-3, `${id} theta[${i}]`));
      expect(await page.textContent(tid("summary"))).toMatch(/^Generalized linear mixed model fit by maximum likelihood \(Laplace/);
      expect(await page.locator(`${tid("fixed-table")} th`).allTextContents()).toEqual(["term", "estimate", "std. error", "z value", "Pr(>|z|)", "2.5 %", "97.5 %"]);
      expect(await page.textContent(tid("plot-qq"))).toContain(`Not drawn: the residuals of a ${ref.family} model are not expected to be normal.`);
      expect(await page.textContent(tid("plot-residuals"))).toContain("Pearson residuals (as lme4's plot(fit))");
      return got;
    };
    await example("cbpp", "fits/cbpp-laplace.json");
    expect(await page.isVisible(tid("reml-radio"))).toBe(false);
    expect(await page.isVisible(tid("link-select"))).toBe(true);
    expect(await page.locator(`${tid("plot-caterpillar-herd")} .parts > svg`).count()).toBe(1);
    await shoot(page, tid("summary"), "app-glmm-cbpp-summary.png");
    await shoot(page, tid("plot-residuals"), "app-glmm-cbpp-residuals.png");
    // Quadrature: nAGQ 25 reproduces lme4's cbpp-agq25 fit; a bad nAGQ is refused before fitting.
    await page.fill(tid("nagq-input"), "30");
    await page.click(tid("fit-button"));
    expect(await page.textContent(tid("error"))).toContain("nAGQ must be a whole number from 0 to 25");
    await page.fill(tid("nagq-input"), "25");
    const agq = await fit(page, await page.inputValue(tid("formula-input")));
    relClose(agq.objective, readFit(path.join(referenceDir, "fits/cbpp-agq25.json")).objective, 1e-5, 0, "cbpp nAGQ 25 objective");
    await example("grouseticks", "fits/grouseticks-poisson.json");
    expect(await page.isVisible(tid("link-select"))).toBe(false);
    // HEIGHT is a brood's (its nest's altitude): no trajectories within broods, and the page says so.
    expect(await page.textContent(tid("plot-trajectories"))).toContain("Not drawn: 'HEIGHTc' does not vary within the levels of 'BROOD'");
    await shoot(page, tid("plot-caterpillar-BROOD"), "app-glmm-grouseticks-caterpillar.png");
    // A two-column binomial response with the gaussian family: the library's own message.
    await page.selectOption(tid("example-select"), "cbpp");
    await waitData(page, "ready");
    await page.selectOption(tid("family-select"), "gaussian");
    expect(await page.isVisible(tid("reml-radio"))).toBe(true);
    await page.click(tid("fit-button"));
    await page.waitForFunction(() => document.body.dataset.fit === "error");
    expect(await page.textContent(tid("error"))).toMatch(/^Fit: .*glmer/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows formula syntax errors at their position while typing, and refuses to fit them", async () => {
    const { page, problems } = await open();
    await page.selectOption(tid("example-select"), "sleepstudy");
    await waitData(page, "ready");
    const cases: [string, RegExp, string][] = [
      ["Reaction ~ Days + (Days | Subject", /unbalanced parentheses: '\(' at position 18 is never closed/, "("],
      ["Reaction ~ Days +", /expected a term after '\+' at position 17/, " "],
      ["Reaction ~ Days + (Days | Subject))", /unexpected '\)' at position 34/, ")"],
      ["Reaction ~ Days + (1 | )", /expected a grouping factor after '\|'/, ")"],
      ["Reaction ~ Days", /no random-effects term/, ""],
    ];
    for (const [formula, message, marked] of cases) {
      await page.fill(tid("formula-input"), formula);
      await expect.poll(() => page.textContent(tid("error"))).toMatch(message);
      if (marked) expect(await page.textContent(`${tid("error")} mark`)).toBe(marked);
      if (formula === cases[0][0]) await shootAll(page, ["#model-panel", tid("error")], "app-formula-error.png");
      await page.click(tid("fit-button"));
      expect(await state(page, "fit")).toBe("idle");
      expect(await page.isVisible(tid("results"))).toBe(false);
    }
    await page.fill(tid("formula-input"), "Reaction ~ Days + (Days | Subject)");
    await expect.poll(() => page.isVisible(tid("error"))).toBe(false);
    await fit(page, "Reaction ~ Days + (Days | Subject)");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("explains bad files and formulas naming missing columns, and keeps working", async () => {
    const { page, problems } = await open();
    const errorText = () => page.textContent(tid("error"));

    // Binary bytes, dropped on the page.
    await page.evaluate(() => {
      const bytes = new Uint8Array(4096);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
      bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], "picture.png", { type: "image/png" }));
      document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await waitData(page, "error");
    expect(await errorText()).toMatch(/'picture\.png' cannot be read as a table: it contains NUL bytes/);

    const upload = async (name: string, text: string) => {
      await page.setInputFiles(tid("file-input"), { name, mimeType: "text/csv", buffer: Buffer.from(text) });
    };
    await upload("empty.csv", "");
    await waitData(page, "error");
    expect(await errorText()).toContain("'empty.csv' is empty (0 bytes)");
    await upload("blank.csv", "\n  \n\n");
    await waitData(page, "error");
    expect(await errorText()).toContain("'blank.csv' is empty: it has no header row and no data");
    await upload("header.csv", "Reaction,Days,Subject\n");
    await waitData(page, "error");
    expect(await errorText()).toContain("'header.csv' has a header row but no data rows");
    await upload("ragged.csv", "a,b\n1,2\n3,4,5\n");
    await waitData(page, "error");
    expect(await errorText()).toContain("'ragged.csv': CSV line 3 has 3 fields but the header has 2");
    // Fitting without usable data says so.
    await page.fill(tid("formula-input"), "a ~ b + (1 | c)");
    await page.click(tid("fit-button"));
    expect(await errorText()).toContain("no usable data");

    // A formula naming a column the data lacks: named with a suggestion, before any fit.
    await page.setInputFiles(tid("file-input"), path.join(root, "examples/sleepstudy.csv"));
    await waitData(page, "ready");
    await page.fill(tid("formula-input"), "Reaction ~ Dayz + (1 | Subject)");
    await expect.poll(errorText).toContain("unknown column 'Dayz' at position 11: the data has no column of that name (did you mean 'Days'?)");
    expect(await page.textContent(`${tid("error")} mark`)).toBe("Dayz");
    await page.click(tid("fit-button"));
    expect(await state(page, "fit")).toBe("idle");
    // An error only the fit finds (in the worker): a grouping factor with a level per row.
    await page.fill(tid("formula-input"), "Reaction ~ 1 + (1 | Reaction)");
    await page.click(tid("fit-button"));
    await page.waitForFunction(() => document.body.dataset.fit === "error");
    expect(await errorText()).toContain(
      "Fit: number of levels of grouping factor 'Reaction' (180) must be < number of observations (180): with a level per observation the random effect and the residual cannot be told apart",
    );
    await shoot(page, tid("error"), "app-fit-error.png");
    // A fit that ends with convergence warnings shows them with what they mean.
    const bad = await fit(page, "Days ~ 1 + (1 | Days)");
    const warnings = await page.locator(`${tid("warnings")} li`).allTextContents();
    expect(warnings).toHaveLength(bad.warnings.length);
    expect(warnings[0]).toMatch(/^Model failed to converge with max\|grad\| = [\d.]+ \(tol = 0\.002, component 1\)\. The estimates may not be at the optimum/);
    expect(warnings[1]).toBe("Model is nearly unidentifiable: very large eigenvalue - Rescale variables? The estimates may not be at the optimum: check the model and the scaling of covariates.");
    await shoot(page, tid("warnings"), "app-convergence-warnings.png");
    // Still alive: a good fit after all of that.
    const got = await fit(page, "Reaction ~ Days + (1 | Subject)");
    expect(got.nobs).toBe(180);
    expect(await page.isVisible(tid("error"))).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("refuses a file above the size limit from file.size alone, without reading it", async () => {
    const def = await open();
    expect(await def.page.textContent("#drop-hint")).toContain("Files up to 512.0 MB.");
    await def.page.close();
    // The limit lowered to 1000 bytes; every way of reading a Blob and every message to the worker counted.
    const { page, problems } = await open("?maxFileBytes=1000", () => {
      const w = window as unknown as { __reads: number; __posted: string[] };
      w.__reads = 0;
      w.__posted = [];
      const count = (proto: object, names: string[]) => {
        for (const name of names) {
          const p = proto as Record<string, (...a: unknown[]) => unknown>;
          const orig = p[name];
          if (typeof orig !== "function") continue;
          p[name] = function (this: unknown, ...args: unknown[]) {
            w.__reads++;
            return orig.apply(this, args);
          };
        }
      };
      count(Blob.prototype, ["text", "arrayBuffer", "stream", "slice", "bytes"]);
      count(FileReader.prototype, ["readAsText", "readAsArrayBuffer", "readAsDataURL", "readAsBinaryString"]);
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (this: Worker, msg: { type?: string }, ...rest: unknown[]) {
        w.__posted.push(String(msg?.type));
        return (post as (...a: unknown[]) => void).call(this, msg, ...rest);
      };
    });
    expect(await page.textContent("#drop-hint")).toContain("Files up to 1000 bytes.");
    await page.setInputFiles(tid("file-input"), path.join(root, "examples/sleepstudy.csv"));
    await expect.poll(() => page.textContent(tid("error"))).toContain("'sleepstudy.csv' is 3.0 KB, larger than the 1000 bytes this page can read");
    expect(await state(page, "data")).toBe("error");
    const { reads, posted } = await page.evaluate(() => {
      const w = window as unknown as { __reads: number; __posted: string[] };
      return { reads: w.__reads, posted: w.__posted };
    });
    expect(reads).toBe(0);
    expect(posted).not.toContain("load");
    // A file under the limit is read as usual.
    await page.setInputFiles(tid("file-input"), { name: "small.tsv", mimeType: "text/tab-separated-values", buffer: Buffer.from("y\tg\n1\ta\n2\ta\n3\tb\n5\tb\n") });
    await waitData(page, "ready");
    expect(await page.textContent(tid("data-info"))).toContain("small.tsv: 4 rows, 2 columns (tab-separated)");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("keeps the page responsive while it reads a 200,000-row file and fits it, and finishes", async () => {
    const { page, problems } = await open();
    // Frames are counted from before the upload: reading, parsing and fitting all happen in the worker.
    await recordFrames(page, "progress");
    // From a file on disk, as a user picks it: an in-memory buffer would be decoded by Playwright's own
    // script on the page's main thread, a stall of the test harness, not of the app.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lmm-app-"));
    const csvFile = path.join(dir, "big.csv");
    fs.writeFileSync(csvFile, bigCSV());
    const t0 = Date.now();
    await page.setInputFiles(tid("file-input"), csvFile);
    await waitData(page, "ready");
    expect(await page.textContent(tid("data-info"))).toContain("200,000 rows, 3 columns");
    await page.fill(tid("formula-input"), "y ~ x + (x | g)");
    await page.click(tid("fit-button"));
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.fit ?? ""), null, { timeout: 45000 });
    const seconds = (Date.now() - t0) / 1000;
    const { frames, progress } = await stopFrames(page);
    expect(await state(page, "fit"), (await page.textContent(tid("error"))) ?? "").toBe("done");
    const gaps = frames.slice(1).map((t, i) => t - frames[i]);
    const maxGap = Math.max(...gaps);
    console.log(`200,000 rows: read + fit + results in ${seconds.toFixed(1)} s, ${frames.length} frames, longest gap ${maxGap.toFixed(0)} ms`);
    expect(frames.length).toBeGreaterThan(10 * seconds);
    expect(maxGap).toBeLessThan(500);
    expect(progress.some((p) => /\d+ objective evaluations/.test(p))).toBe(true);
    const got = JSON.parse((await page.textContent(tid("result-json")))!);
    expect(got.nobs).toBe(200000);
    expect(got.ngrps).toEqual({ g: 2000 });
    // The simulation's truth: intercept 10, slope 1, sds 2 and 0.5, residual sd 1.
    relClose(got.fixef["(Intercept)"], 10, 0, 0.3, "intercept");
    relClose(got.fixef.x, 1, 0, 0.1, "slope");
    relClose(got.sigma, 1, 0, 0.02, "sigma");
    relClose(got.VarCorr.g.sd[0], 2, 0, 0.2, "sd of intercepts");
    relClose(got.VarCorr.g.sd[1], 0.5, 0, 0.05, "sd of slopes");
    expect(await page.textContent(tid("plot-residuals"))).toContain("All 200,000 rows, binned");
    fs.rmSync(dir, { recursive: true, force: true });
    await shoot(page, tid("plot-residuals"), "app-plot-200k-residuals.png");
    await shoot(page, tid("plot-caterpillar-g"), "app-plot-200k-caterpillar.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("cancels a running fit and fits again on a fresh worker", async () => {
    const { page, problems } = await open();
    await page.setInputFiles(tid("levels-input"), path.join(referenceDir, "data/InstEval.levels.json"));
    await page.setInputFiles(tid("file-input"), path.join(referenceDir, "data/InstEval.csv"));
    await waitData(page, "ready");
    await page.click(tid("ml-radio"));
    await page.fill(tid("formula-input"), "y ~ 1 + service + (1|s) + (1|d) + (1|dept:service)");
    await page.click(tid("fit-button"));
    await expect.poll(() => page.textContent(tid("progress")), { timeout: 30000 }).toMatch(/Optimizing… [\d.]+ s · \d+ objective evaluations · objective \d+/);
    expect(await page.isVisible(tid("cancel-button"))).toBe(true);
    await page.click(tid("cancel-button"));
    expect(await state(page, "fit")).toBe("cancelled");
    expect(await page.textContent(tid("progress"))).toMatch(/Fit cancelled after [\d.]+ s/);
    expect(await page.isVisible(tid("cancel-button"))).toBe(false);
    // The new worker reads the data again; a quick model on it then fits.
    await waitData(page, "ready");
    const got = await fit(page, "y ~ service + (1 | dept)");
    expect(got.nobs).toBe(73421);
    expect(got.REML).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });
});

run("browser app: many responses (fitMany) in Chromium", () => {
  it("fits the bundled single-cell example as fitMany does in Node, with progress, table, volcano plot, p-value histogram and downloads", async () => {
    const { page, problems } = await open();
    expect(await page.isVisible(tid("matrix-input"))).toBe(false);
    await page.check(tid("mode-many"));
    for (const t of ["matrix-input", "meta-input", "many-example", "many-formula-input", "many-fit-button"]) expect(await page.isVisible(tid(t)), t).toBe(true);
    for (const t of ["file-input", "formula-input", "fit-button"]) expect(await page.isVisible(tid(t)), t).toBe(false);
    await page.click(tid("many-example"));
    await waitManyData(page, "ready");
    expect(await page.inputValue(tid("many-formula-input"))).toBe(SINGLE_CELL_FORMULA);
    expect(await page.textContent(tid("many-data-info"))).toContain("example-matrix.csv: 300 responses × 480 observations, matched by id to the rows of example-meta.csv.");
    expect(await page.locator(`${tid("many-columns")} button`).allTextContents()).toEqual(["donorfactor, 8 levels", "conditionfactor, 2 levels", "library_sizenumeric"]);
    // The page's example is the one simulated here: its files, downloaded, are the same text.
    const study = simulateSingleCell();
    expect((await downloadOf(page, tid("many-example-matrix"))).bytes.toString("utf8")).toBe(study.matrixCSV);
    expect((await downloadOf(page, tid("many-example-meta"))).bytes.toString("utf8")).toBe(study.metaCSV);

    // Frames and progress texts are recorded from the click on: the fit runs in workers.
    await recordFrames(page, "many-progress");
    await fitManyInPage(page);
    const { frames, progress } = await stopFrames(page);
    const maxGap = Math.max(...frames.slice(1).map((t, i) => t - frames[i]));
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    console.log(`many-response example: ${progress[progress.length - 1]} (${frames.length} frames, longest gap ${maxGap.toFixed(0)} ms, ${cores} cores)`);
    expect(maxGap).toBeLessThan(500);
    expect(progress.some((p) => /^Fitting… \d+ \/ 300 responses · [\d.]+ s/.test(p))).toBe(true);
    const lanes = cores > 1 ? `on ${cores} lanes \\(this page's many-response worker and ${cores - 1} nested workers?, which fitted \\d+ of the chunks\\)` : "on 1 lane";
    expect(progress[progress.length - 1]).toMatch(new RegExp(`^Fitted 300 responses in [\\d.]+ s ${lanes}; wasm-simd engine\\.$`));

    // The numbers: fitMany in Node on the same files (one thread there; the page's lanes do not change them).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lmm-app-many-"));
    fs.writeFileSync(path.join(dir, "matrix.csv"), study.matrixCSV);
    const want = await fitManyInNode(path.join(dir, "matrix.csv"), study.metaCSV, SINGLE_CELL_FORMULA);
    const got: ManyJSON = JSON.parse((await downloadOf(page, tid("many-download-json"))).bytes.toString("utf8"));
    const top5 = topRows(want, "conditiontreated", 5).map((t) => t.response);
    checkManyAgainstNode(got, want, "example", top5);
    expect(got.info.threads).toBe(cores);
    // Nothing fell back to a single lane. (Whether nested workers get any of the example's 10 chunks
    // depends on how soon they start: this page's worker may fit all 300 responses first. A job that
    // outlasts their start is checked below.)
    expect(await page.textContent(tid("many-summary"))).not.toContain("Note:");
    // The CSV is the CLI's results.csv of the same numbers (each written as the shortest decimal of its double).
    const csv = (await downloadOf(page, tid("many-download-csv"))).bytes.toString("utf8").trim().split("\n");
    expect(csv[0]).toBe("response,term,estimate,std_error,df,statistic,p_value,p_adjusted,sigma,singular");
    expect(csv[0]).toBe(toCSV(want.rows()).split("\n")[0]);
    expect(csv.slice(1)).toEqual(got.results.map((r) => [r.response, r.term, ...MANY_NUMBERS.map((f) => String(r[f] ?? "NA")), r.singular ? "TRUE" : "FALSE"].join(",")));
    const responsesCSV = (await downloadOf(page, tid("many-download-responses"))).bytes.toString("utf8").split("\n");
    expect(responsesCSV[0]).toBe(toCSV(want.responseRows()).split("\n")[0]);
    expect(responsesCSV.filter(Boolean)).toHaveLength(301);

    // Summary and table: significant counts, and the top responses of each term (the treatment first).
    const counts = want.counts(0.05);
    const term = "conditiontreated";
    expect(await page.textContent(tid("many-summary"))).toContain(
      `300 fitted; singular fits ${counts.singular}, not converged ${counts.notConverged}.` +
        `Significant at FDR 5% (Benjamini-Hochberg across responses): ${term} ${counts.significant[term]}; (Intercept) ${counts.significant["(Intercept)"]}.`,
    );
    const tableRows = await page.locator(`${tid("many-table")} tbody tr`).evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent)));
    expect(tableRows).toHaveLength(20);
    const top = topRows(want, term, 10);
    expect(tableRows.slice(0, 10).map((r) => [r[0], r[1]])).toEqual(top.map((t) => [term, t.response]));
    expect(tableRows.slice(10).every((r) => r[0] === "(Intercept)")).toBe(true);
    relClose(Number(tableRows[0][2]), top[0].estimate, 1e-4, 0, "table's top estimate");

    // The volcano plot: a dot per response, the significant ones (BH < 0.05) in their own mark, the 5
    // smallest p-values labelled; the histogram: 20 bins with the counts of the p-values.
    expect(await page.inputValue(tid("many-term-select"))).toBe(term);
    const v = volcanoData(want, term);
    const marks = await volcanoMarks(page, tid("volcano-plot"));
    expect(marks.dots).toEqual([300 - counts.significant[term], counts.significant[term]]);
    expect(marks.labels).toEqual(v.labelled.map((i) => v.response[i]));
    expect(await histogramCounts(page, tid("phist-plot"))).toEqual(Array.from(pHistogram(want, term).count));
    await shoot(page, tid("volcano-plot"), "app-many-volcano.png");
    await shoot(page, tid("phist-plot"), "app-many-phist.png");
    await shoot(page, tid("many-table"), "app-many-table.png");
    await page.screenshot({ path: path.join(outDir, "app-many-page.png"), fullPage: true });

    // Exports, as the other plots: the SVG holds the 300 dots, the PNG is a PNG.
    const svg = await downloadOf(page, tid("export-svg-volcano"));
    expect(svg.name).toBe("example-matrix-conditiontreated-volcano.svg");
    expect((svg.bytes.toString("utf8").match(/<circle/g) ?? []).length).toBe(300);
    fs.writeFileSync(path.join(outDir, "app-many-export-volcano.svg"), svg.bytes);
    const png = await downloadOf(page, tid("export-png-phist"));
    expect(png.bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    fs.writeFileSync(path.join(outDir, "app-many-export-phist.png"), png.bytes);

    // Another term redraws both plots for it.
    await page.selectOption(tid("many-term-select"), "(Intercept)");
    await expect.poll(() => page.textContent(`${tid("volcano-plot")} figcaption`)).toBe("Volcano plot: (Intercept)");
    await expect.poll(async () => (await volcanoMarks(page, tid("volcano-plot"))).dots.reduce((a, b) => a + b, 0)).toBe(300);
    await expect.poll(() => histogramCounts(page, tid("phist-plot"))).toEqual(Array.from(pHistogram(want, "(Intercept)").count));

    // Cancel: a running fit stops, the worker restarts and reads the files again, and fits again.
    await page.click(tid("many-ml-radio"));
    await page.click(tid("many-fit-button"));
    expect(await manyState(page, "manyFit")).toBe("running");
    await page.click(tid("many-cancel-button"));
    expect(await manyState(page, "manyFit")).toBe("cancelled");
    expect(await page.textContent(tid("many-progress"))).toMatch(/^Fit cancelled after [\d.]+ s\.$/);
    await waitManyData(page, "ready");
    await fitManyInPage(page);
    const ml: ManyJSON = JSON.parse((await downloadOf(page, tid("many-download-json"))).bytes.toString("utf8"));
    expect(ml.info.REML).toBe(false);
    const wantML = await fitManyInNode(path.join(dir, "matrix.csv"), study.metaCSV, SINGLE_CELL_FORMULA, false);
    checkManyAgainstNode(ml, wantML, "example ML", topRows(wantML, "conditiontreated", 5).map((t) => t.response));
    // Nested workers fit chunks of a job that outlasts their start: 3,000 genes, uploaded.
    if (cores > 1) {
      const big = simulateSingleCell({ ...SINGLE_CELL_EXAMPLE, genes: 3000 });
      fs.writeFileSync(path.join(dir, "big-matrix.csv"), big.matrixCSV);
      fs.writeFileSync(path.join(dir, "big-meta.csv"), big.metaCSV);
      await page.setInputFiles(tid("matrix-input"), path.join(dir, "big-matrix.csv"));
      await page.setInputFiles(tid("meta-input"), path.join(dir, "big-meta.csv"));
      await waitManyData(page, "ready");
      await fitManyInPage(page);
      const bigFit: ManyJSON = JSON.parse((await downloadOf(page, tid("many-download-json"))).bytes.toString("utf8"));
      expect(new Set(bigFit.results.map((r) => r.response)).size).toBe(3000);
      expect(bigFit.info.workerChunks).toBeGreaterThan(0);
      expect(await page.textContent(tid("many-progress"))).toMatch(new RegExp(`^Fitted 3,000 responses in [\\d.]+ s ${lanes}; wasm-simd engine\\.$`));
    }
    // The single-model mode is still there, as it was.
    await page.check(tid("mode-single"));
    expect(await page.isVisible(tid("many-results"))).toBe(false);
    expect(await page.isVisible(tid("file-input"))).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("fits an uploaded matrix and metadata, and explains mismatched ids, bad matrices and missing columns", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lmm-app-many-upload-"));
    const files = smallManyStudy(dir);
    const { page, problems } = await open();
    await page.check(tid("mode-many"));
    const errorText = () => page.textContent(tid("error"));
    const upload = async (matrix: string, meta: string) => {
      await page.setInputFiles(tid("matrix-input"), matrix);
      await page.setInputFiles(tid("meta-input"), meta);
    };

    // Ids that do not match: named, with what the first column must hold.
    await upload(files.matrix, files.metaMissing);
    await waitManyData(page, "error");
    expect(await errorText()).toBe(
      "Data: the ids of 'counts.tsv' and 'meta-missing.csv' do not match: 3 of 36 matrix observations have no metadata row (first: o04, o11, o29). " +
        "The metadata's first column ('obs') must hold the observation ids of the matrix's header.",
    );
    await shoot(page, tid("error"), "app-many-id-error.png");
    // A transposed matrix (observations as rows) is recognised as such.
    await upload(files.transposed, files.meta);
    await waitManyData(page, "error");
    expect(await errorText()).toContain("The matrix's row names are the metadata's ids: it seems transposed.");
    // A matrix cell that is not a number, and a short row.
    await upload(files.badCell, files.meta);
    await waitManyData(page, "error");
    expect(await errorText()).toBe("Data: 'bad-cell.csv', data row 3 (response 'r03'), column 'o07': 'n/a' is not a number");
    await upload(files.ragged, files.meta);
    await waitManyData(page, "error");
    expect(await errorText()).toContain("'ragged.csv', data row 2: 36 fields, expected 37");
    // Fitting without usable data says so.
    await page.fill(tid("many-formula-input"), "~ treatment + (1 | subject)");
    await page.click(tid("many-fit-button"));
    expect(await errorText()).toContain("Fit: no usable data: see the data error above");

    // Good files: R's write.table layout (TSV, a header without the name column), metadata rows in
    // another order with two extra, one response with missing values.
    await upload(files.matrix, files.meta);
    await waitManyData(page, "ready");
    expect(await page.isVisible(tid("error"))).toBe(false);
    expect(await page.textContent(tid("many-data-info"))).toContain(
      "counts.tsv: 25 responses × 36 observations, matched by id to the rows of meta.csv. 2 metadata rows with no observation in the matrix left out. 3 missing values",
    );
    // A formula naming a column the metadata lacks: named before any fit, and the fit is refused.
    await page.fill(tid("many-formula-input"), "~ treatment + agee + (1 | subject)");
    await expect.poll(errorText).toContain("Formula: unknown column 'agee' at position 14: the metadata has no column of that name (did you mean 'age'?)");
    expect(await page.textContent(`${tid("error")} mark`)).toBe("agee");
    await shootAll(page, ["#many-model-panel", tid("error")], "app-many-formula-error.png");
    await page.click(tid("many-fit-button"));
    expect(await manyState(page, "manyFit")).toBe("idle");
    // An error only the fit finds: the worker's message.
    await page.fill(tid("many-formula-input"), "~ treatment + (1 | obs)");
    await page.click(tid("many-fit-button"));
    await page.waitForFunction(() => document.body.dataset.manyFit === "error");
    expect(await errorText()).toMatch(/^Fit: number of levels of grouping factor 'obs' \(36\) must be < number of observations \(36\)/);

    const formula = "~ treatment + age + (1 | subject)";
    await page.fill(tid("many-formula-input"), formula);
    await fitManyInPage(page);
    const got: ManyJSON = JSON.parse((await downloadOf(page, tid("many-download-json"))).bytes.toString("utf8"));
    const want = await fitManyInNode(files.matrix, fs.readFileSync(files.meta, "utf8"), formula);
    const topUpload = topRows(want, "treatmentB", 3).map((t) => t.response);
    checkManyAgainstNode(got, want, "upload", topUpload);
    expect(got.results.filter((r) => r.response === "r05").map((r) => r.term)).toEqual(["(Intercept)", "treatmentB", "age"]);
    expect(got.responses.find((r) => r.response === "r05")!.nobs).toBe(33);
    for (const term of ["treatmentB", "age"]) {
      await page.selectOption(tid("many-term-select"), term);
      await expect.poll(() => page.textContent(`${tid("phist-plot")} figcaption`)).toBe(`p-values: ${term}`);
      await expect.poll(() => histogramCounts(page, tid("phist-plot"))).toEqual(Array.from(pHistogram(want, term).count));
      expect((await volcanoMarks(page, tid("volcano-plot"))).dots.reduce((a, b) => a + b, 0)).toBe(25);
    }
    await shoot(page, tid("many-results"), "app-many-upload-results.png");
    // The error box shows each mode's own errors.
    await page.check(tid("mode-single"));
    await page.fill(tid("formula-input"), "y ~ x +");
    await expect.poll(errorText).toMatch(/^Formula: expected a term after '\+'/);
    await page.check(tid("mode-many"));
    expect(await page.isVisible(tid("error"))).toBe(false);
    expect(problems).toEqual([]);
    await page.close();

    // Without nested workers (their script missing) the example's 10 chunks are fitted on the
    // many-response worker alone, with the same numbers, and the page says so. (Playwright's routes do
    // not see a worker's own requests, so the file is missing from a copy of the app.)
    const copy = path.join(dir, "app");
    fs.cpSync(appDir, copy, { recursive: true });
    fs.rmSync(path.join(copy, "fitmany-webworker.js"));
    const partial = await serveApp({ root: copy, port: 0 });
    const blocked = await open("", undefined, undefined, partial.url);
    await blocked.page.check(tid("mode-many"));
    await blocked.page.click(tid("many-example"));
    await waitManyData(blocked.page, "ready");
    await fitManyInPage(blocked.page);
    const alone: ManyJSON = JSON.parse((await downloadOf(blocked.page, tid("many-download-json"))).bytes.toString("utf8"));
    const study = simulateSingleCell();
    fs.writeFileSync(path.join(dir, "example.csv"), study.matrixCSV);
    const wantExample = await fitManyInNode(path.join(dir, "example.csv"), study.metaCSV, SINGLE_CELL_FORMULA);
    checkManyAgainstNode(alone, wantExample, "example, one lane", topRows(wantExample, "conditiontreated", 5).map((t) => t.response));
    expect([alone.info.threads, alone.info.workerChunks]).toEqual([1, 0]);
    expect(await blocked.page.textContent(tid("many-summary"))).toContain("Note: fitted in this page's worker alone: fitMany worker failed");
    expect(await blocked.page.textContent(tid("many-progress"))).toMatch(/^Fitted 300 responses in [\d.]+ s on 1 lane/);
    expect(blocked.problems.filter((p) => !p.includes("404"))).toEqual([]);
    await blocked.page.close();
    await partial.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
