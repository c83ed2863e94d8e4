// The fit worker (a module worker): reads and parses the data, fits, and sends the page the printed
// summary, the tables, the numbers behind the plots and the JSON. Fitting here keeps the page
// responsive however long the fit takes; the page cancels a fit by terminating this worker.
import { glmer } from "../src/generalizedlinearmixedmodel.js";
import { lmer } from "../src/linearmixedmodel.js";
import { glmerNB } from "../src/negativebinomial.js";
import type { FitJSON, GlmmFitJSON } from "../src/results-types.js";
import { toCSV } from "../src/tidy.js";
import type { Table } from "../src/data.js";
import { caterpillarData, glmmPlotData, glmmTidy, plotData } from "./analysis.js";
import { describeColumns, parseLevels, readTable } from "./dataload.js";
import { registerThreadSpawner } from "../src/threads.js";
import { browserHelperCount, browserThreadSpawner } from "../src/threads-browser.js";

// The threads build runs where the page is cross-origin isolated (lmm serve); loadKernels falls back
// to the single-thread SIMD build on a plain static server.
registerThreadSpawner(browserThreadSpawner, browserHelperCount());
import type { DataSource, FitRequest, FromWorker, PlotData, Stage, ToWorker } from "./protocol.js";
import { fitError, messageOf, serveInOrder, type WorkerScope } from "./worker-queue.js";

const scope = self as unknown as WorkerScope<FromWorker, ToWorker>;

/** Progress messages at most this often: a fast objective would otherwise flood the page with thousands. */
const PROGRESS_INTERVAL_MS = 50;

let table: Table | null = null;
let dataName = "";
let loadError: string | null = null;

// Messages are handled one after another: a fit posted right after a load waits for the data.
serveInOrder(scope, (msg) => (msg.type === "load" ? load(msg.loadId, msg.source) : fit(msg.fitId, msg)));

/** The data as a Blob (read in chunks by readTable) with its name, and the levels file's text. */
async function openSource(source: DataSource): Promise<{ name: string; data: Blob; levels?: { name: string; text: string } }> {
  if (source.kind === "file") {
    const levels = source.levels ? { name: source.levels.name, text: await source.levels.text() } : undefined;
    return { name: source.file.name, data: source.file, levels };
  }
  const get = async (url: string) => {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`could not load the example '${source.name}' (${url}: HTTP ${r.status})`);
    return r;
  };
  const data = await (await get(source.csvUrl)).blob();
  const levels = source.levelsUrl ? { name: source.levelsUrl.split("/").pop()!, text: await (await get(source.levelsUrl)).text() } : undefined;
  return { name: `${source.name}.csv`, data, levels };
}

async function load(loadId: number, source: DataSource): Promise<void> {
  table = null;
  loadError = null;
  try {
    const { name, data, levels } = await openSource(source);
    const parsed = await readTable(data, name, levels ? parseLevels(levels.text, levels.name) : undefined);
    table = parsed.table;
    dataName = name.replace(/\.(csv|tsv|tab|txt)$/i, "");
    scope.postMessage({ type: "loaded", loadId, name, nrow: table.nrow, delimiter: parsed.delimiter, columns: describeColumns(table) });
  } catch (e) {
    loadError = messageOf(e);
    scope.postMessage({ type: "load-error", loadId, message: loadError });
  }
}

function transferables(p: PlotData): Transferable[] {
  const arrays: Float64Array[] = p.qq.available ? [p.qq.theoretical, p.qq.sample] : [];
  const r = p.residuals;
  if (r.kind === "points") arrays.push(r.fitted, r.resid);
  else arrays.push(r.x1, r.x2, r.y1, r.y2, r.count);
  const t = p.trajectories;
  const out: Transferable[] = arrays.map((a) => a.buffer);
  if (t.available) out.push(t.g.buffer, t.line.buffer, t.xs.buffer, t.ys.buffer, t.fit.buffer, t.pop.buffer);
  return out;
}

async function fit(fitId: number, req: FitRequest): Promise<void> {
  const progress = (stage: Stage, evaluations = 0, objective = NaN) => scope.postMessage({ type: "progress", fitId, stage, evaluations, objective });
  if (!table) {
    scope.postMessage({ type: "fit-error", fitId, message: loadError ? `no data to fit: ${loadError}` : "no data loaded: choose a CSV/TSV file or an example first" });
    return;
  }
  const data = table;
  try {
    if (req.family === "gaussian") await fitLinear(fitId, req, data, progress);
    else await fitGeneralized(fitId, req, data, progress);
  } catch (e) {
    scope.postMessage(fitError(fitId, e));
  }
}

type Progress = (stage: Stage, evaluations?: number, objective?: number) => void;

/** The caterpillar data and the JSON text, posted once the conditional variances are known. */
function postDetails(fitId: number, json: FitJSON | GlmmFitJSON): void {
  const caterpillars = caterpillarData(json.ranef);
  const buffers = caterpillars.flatMap((c) => c.panels.flatMap((p) => [p.v.buffer, p.lo.buffer, p.hi.buffer, p.rank.buffer]));
  scope.postMessage({ type: "details", fitId, json: JSON.stringify(json, null, 2), caterpillars }, buffers);
}

async function fitLinear(fitId: number, req: FitRequest, data: Table, progress: Progress): Promise<void> {
  progress("building");
  let evaluations = 0, last = 0;
  const t0 = performance.now();
  const m = await lmer(req.formula, data, {
    REML: req.REML,
    dataName,
    progress: (info) => {
      evaluations = info.evaluations;
      const now = performance.now();
      if (now - last >= PROGRESS_INTERVAL_MS) {
        last = now;
        progress("optimizing", info.evaluations, info.objective);
      }
    },
  });
  const fitSeconds = (performance.now() - t0) / 1000;
  progress("summarising", evaluations, m.objectiveAtOptimum);
  const tidy = m.tidy({ effects: ["fixed", "ran_pars"], confInt: true });
  const plots = plotData(m, data);
  scope.postMessage(
    { type: "fitted", fitId, call: "lmer", summary: m.summary(), tidy, tidyCSV: toCSV(tidy), warnings: m.warnings, engine: m.engine, fitSeconds, evaluations, feval: m.feval, plots },
    transferables(plots),
  );
  // The full JSON needs the conditional variances of every random effect (the caterpillar plot's
  // intervals), the slow part for large crossed designs, so it follows the summary.
  progress("details", evaluations, m.objectiveAtOptimum);
  postDetails(fitId, m.toJSON());
}

/** glmer / glmer.nb: fitted by maximum likelihood; they report no progress per evaluation. */
async function fitGeneralized(fitId: number, req: FitRequest, data: Table, progress: Progress): Promise<void> {
  const family = req.family;
  if (family === "gaussian") throw new Error("internal: a gaussian model is fitted by lmer");
  progress("fitting");
  const t0 = performance.now();
  const common = { dataName, nAGQ: req.nAGQ ?? 1 };
  const m = family === "nb" ? await glmerNB(req.formula, data, common) : await glmer(req.formula, data, { ...common, family, link: req.link });
  const fitSeconds = (performance.now() - t0) / 1000;
  progress("summarising", 0, m.objectiveAtOptimum);
  const json = m.toJSON();
  const tidy = glmmTidy(json);
  const plots = glmmPlotData(m, data);
  scope.postMessage(
    { type: "fitted", fitId, call: "glmer", summary: m.summary(), tidy, tidyCSV: toCSV(tidy), warnings: m.warnings, engine: m.engine, fitSeconds, evaluations: 0, feval: m.feval, plots },
    transferables(plots),
  );
  progress("details", 0, m.objectiveAtOptimum);
  postDetails(fitId, json);
}
