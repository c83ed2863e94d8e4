// The benchmark suite (issue 6): per dataset this library's fit time, the plain TypeScript engine's,
// peak memory, objective evaluations per second, and lme4's time and objective measured in the same
// run with Rscript (bench/lme4.R) when R with lme4 is installed, else lme4's stored time from
// test/fixtures/reference/fits (marked "stored"). Writes bench/results/bench.md and bench.json and
// prints the Markdown.
//
//   npm run bench                       (builds, then this, then bench/bootstrap.bench.ts)
//   npx tsx bench/suite.ts [--quick] [--only insteval,long-1m] [--no-r] [--no-ts]
//
// Every dataset × engine runs in its own Node process (bench/fit-case.ts) so that its peak memory
// (maxRSS after the first fit: Node, the data and one fit) is its own; lme4 likewise runs in one R
// process per dataset (VmHWM after the first fit). The simulated datasets come from
// bench/simulate.ts (seeded, written to bench/data/, not committed).
// With Chromium and dist/app, InstEval is also fitted in the browser app (app/bench-insteval.ts) and
// its page time reported next to Node's (`--only InstEval-page` for that alone).
// The WebAssembly/TypeScript kernel comparison with benchmark.js stays in bench/lmm.bench.ts.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CaseResult, CaseSpec } from "./fit-case.js";
import { dataDir, ensureSimulated } from "./simulate.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const rel = (p: string) => path.relative(root, p);
const refDir = path.join(root, "test/fixtures/reference");
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const useR = !argv.includes("--no-r");
const useTs = !argv.includes("--no-ts");
const onlyAt = argv.indexOf("--only");
const only = onlyAt >= 0 ? new Set(argv[onlyAt + 1].split(",")) : null;

/** The plain TypeScript engine is skipped beyond this (the issue: "skip with a note if > 5 min"). */
const TS_TIMEOUT_S = 300;

interface Runs {
  warmup: number;
  repeats: number;
}

interface SuiteCase {
  id: string;
  csv: string;
  levels: string | null;
  formula: string;
  REML: boolean;
  /** The reference fit with lme4's stored time and objective (test/fixtures/reference/fits). */
  ref?: string;
  ours: Runs;
  ts: Runs;
  lme4Repeats: number;
  evalSeconds: number;
  /** Not fittable (n ≤ q): only the per-evaluation time, at the θ̂ of `thetaFrom`. */
  systemOnly?: { thetaFrom: string; note: string };
  note?: string;
}

const small = (lme4Repeats = 11): Pick<SuiteCase, "ours" | "ts" | "lme4Repeats" | "evalSeconds"> => ({
  ours: { warmup: 20, repeats: quick ? 10 : 50 },
  ts: { warmup: 20, repeats: quick ? 10 : 50 },
  lme4Repeats: quick ? 3 : lme4Repeats,
  evalSeconds: quick ? 0.3 : 1,
});
const big = (lme4Repeats = 3): Pick<SuiteCase, "ours" | "ts" | "lme4Repeats" | "evalSeconds"> => ({
  ours: { warmup: 0, repeats: quick ? 1 : 3 },
  ts: { warmup: 0, repeats: 1 },
  lme4Repeats: quick ? 1 : lme4Repeats,
  evalSeconds: quick ? 1 : 3,
});

const LONG = "y ~ t + x1 + x2 + x3 + (1 + t | g)";
const ref = (name: string) => ({ csv: path.join(refDir, "data", `${name}.csv`), levels: path.join(refDir, "data", `${name}.levels.json`) });
const sim = (name: string) => ({ csv: path.join(dataDir, `${name}.csv`), levels: path.join(dataDir, `${name}.levels.json`) });

const cases: SuiteCase[] = [
  { id: "sleepstudy", ...ref("sleepstudy"), formula: "Reaction ~ Days + (Days | Subject)", REML: true, ref: "sleepstudy-slope-reml", ...small() },
  { id: "Penicillin", ...ref("Penicillin"), formula: "diameter ~ 1 + (1 | plate) + (1 | sample)", REML: true, ref: "penicillin-reml", ...small() },
  {
    id: "InstEval",
    ...ref("InstEval"),
    formula: "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)",
    REML: false,
    ref: "insteval-ml",
    ...big(3),
  },
  { id: "eeg-sim", ...sim("eeg-sim"), formula: "amp ~ condition + (1 + condition | subject) + (1 | item)", REML: true, ...small(5), note: "simulated, 30 subjects × 120 items" },
  { id: "long-1m", ...sim("long-1m"), formula: LONG, REML: true, ...big(3), note: "simulated, 5,000 groups × 200 rows" },
  {
    id: "long-20k",
    ...sim("long-20k"),
    formula: LONG,
    REML: true,
    ...big(5),
    ours: { warmup: 2, repeats: quick ? 3 : 10 },
    ts: { warmup: 1, repeats: 3 },
    note: "simulated, the same 5,000 groups × 4 rows",
  },
  {
    id: "long-10k",
    ...sim("long-10k"),
    formula: LONG,
    REML: true,
    ...big(0),
    systemOnly: {
      thetaFrom: "long-1m",
      note: "5,000 groups × 2 rows: n = q = 10,000, which lme4 and this library refuse to fit (n ≤ q); per-evaluation time only, at long-1m's θ̂",
    },
  },
];

// ---------------------------------------------------------------------------------------------------

function runChild(spec: CaseSpec, timeoutS?: number): CaseResult | { skipped: string } {
  const child = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "bench/fit-case.ts"), JSON.stringify(spec)], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "inherit"],
    timeout: timeoutS ? timeoutS * 1000 : undefined,
  });
  if (child.error && (child.error as NodeJS.ErrnoException).code === "ETIMEDOUT") return { skipped: `over ${(timeoutS ?? 0) / 60} min, stopped` };
  if (child.status !== 0) throw new Error(`${spec.id} (${spec.engine}) failed with status ${child.status}${child.signal ? ` (${child.signal})` : ""}`);
  const lines = child.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as CaseResult;
}

interface Lme4Result {
  source: "measured" | "stored";
  time_s: number;
  time_s_runs?: number[];
  objective: number;
  feval: number;
  theta?: number[];
  peak_rss_mb?: number;
  read_s?: number;
  messages?: string[];
  versions?: Record<string, string>;
}

function rAvailable(): boolean {
  const r = spawnSync("Rscript", ["-e", "if (!requireNamespace('lme4', quietly = TRUE)) quit(status = 1)"], { stdio: "ignore" });
  return r.status === 0;
}

function runLme4(c: SuiteCase, tmp: string): Lme4Result {
  const spec = path.join(tmp, `${c.id}.spec.json`);
  const out = path.join(tmp, `${c.id}.lme4.json`);
  // Warm-up fits as for ours: the small datasets only (a big fit's first call is as fast as the next).
  const warmup = c.ours.warmup > 0 ? 3 : 0;
  fs.writeFileSync(spec, JSON.stringify({ id: c.id, csv: c.csv, levels: c.levels, formula: c.formula, REML: c.REML, warmup, repeats: c.lme4Repeats }));
  console.error(`${c.id} lme4: ${c.lme4Repeats} fit${c.lme4Repeats === 1 ? "" : "s"} in R`);
  const r = spawnSync("Rscript", [path.join(root, "bench/lme4.R"), spec, out], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`${c.id}: Rscript bench/lme4.R failed with status ${r.status}`);
  const j = JSON.parse(fs.readFileSync(out, "utf8"));
  return {
    source: "measured",
    time_s: j.time_s,
    time_s_runs: j.time_s_runs,
    objective: Number(j.objective),
    feval: j.feval,
    theta: (j.theta as string[]).map(Number),
    peak_rss_mb: j.peak_rss_mb,
    read_s: j.read_s,
    messages: j.messages,
    versions: j.versions,
  };
}

function storedLme4(c: SuiteCase): Lme4Result | null {
  if (!c.ref) return null;
  const j = JSON.parse(fs.readFileSync(path.join(refDir, "fits", `${c.ref}.json`), "utf8"));
  return { source: "stored", time_s: j.time_s, time_s_runs: j.time_s_runs, objective: j.objective, feval: j.feval, theta: j.theta, versions: j.versions };
}

// ---------------------------------------------------------------------------------------------------

ensureSimulated({ log: (s) => console.error(s) });
const haveR = useR && rAvailable();
if (useR && !haveR) console.error("Rscript with lme4 not found: lme4 times are the stored ones (test/fixtures/reference/fits)");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mixedmodels-bench-"));
const load0 = os.loadavg();
const started = new Date();

interface Row {
  c: SuiteCase;
  ours?: CaseResult;
  ts?: CaseResult | { skipped: string };
  lme4?: Lme4Result | null;
  /** With lme4 measured: its stored time too (the reference fits, timed on an otherwise idle machine). */
  lme4Stored?: Lme4Result | null;
  /** InstEval with the threads engine: the single-thread SIMD fit too, for the threads' gain. */
  oursSingle?: CaseResult;
}
/** The engine lmer's "auto" picks in Node: the threads build with a second core. */
const OURS_ENGINE: CaseSpec["engine"] = (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length) > 1 ? "wasm-threads" : "wasm-simd";
const rows = new Map<string, Row>();
for (const c of cases) {
  if (only && !only.has(c.id)) continue;
  const row: Row = { c };
  rows.set(c.id, row);
  const evalTheta = c.systemOnly ? rows.get(c.systemOnly.thetaFrom)?.ours?.theta : undefined;
  if (c.systemOnly && !evalTheta) {
    console.error(`${c.id}: skipped (needs ${c.systemOnly.thetaFrom} in the same run for its θ̂)`);
    rows.delete(c.id);
    continue;
  }
  // The smaller longitudinal fits are evaluated at long-1m's θ̂ too, for the per-evaluation comparison.
  const scalingTheta = c.id.startsWith("long-") ? (rows.get("long-1m")?.ours?.theta ?? evalTheta) : evalTheta;
  const spec = (engine: CaseSpec["engine"], runs: Runs): CaseSpec => ({
    id: c.id,
    csv: c.csv,
    levels: c.levels,
    formula: c.formula,
    REML: c.REML,
    engine,
    warmup: runs.warmup,
    repeats: runs.repeats,
    evalSeconds: c.evalSeconds,
    evalTheta: scalingTheta,
    systemOnly: c.systemOnly !== undefined,
  });
  row.ours = runChild(spec(OURS_ENGINE, c.ours)) as CaseResult;
  if (c.id === "InstEval" && OURS_ENGINE === "wasm-threads") row.oursSingle = runChild(spec("wasm-simd", c.ours)) as CaseResult;
  if (useTs && !c.systemOnly) row.ts = runChild(spec("ts", c.ts), TS_TIMEOUT_S);
  if (!c.systemOnly) {
    row.lme4 = haveR ? runLme4(c, tmp) : storedLme4(c);
    if (haveR) row.lme4Stored = storedLme4(c);
  }
}
fs.rmSync(tmp, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------------
// InstEval in the browser app: app/bench-insteval.ts fits it once in the page (headless Chromium, the
// app's Web Worker) and once in Node with the same build, in a child process of its own. `--only
// InstEval` or `--only InstEval-page` selects it; without Chromium or dist/app the table says so.

const PAGE_ID = "InstEval-page";
type PageTimes = Record<string, number | string>;
type PageBench = { page: PageTimes; node: PageTimes } | { skipped: string };

function runPageBench(): PageBench {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!fs.existsSync(chromium)) {
    console.error(`${PAGE_ID}: no Chromium at ${chromium} (CHROMIUM_PATH): not measured`);
    return { skipped: "not measured (no chromium)" };
  }
  if (!fs.existsSync(path.join(root, "dist/app/index.html"))) return { skipped: "not measured (no dist/app: run node scripts/build.mjs)" };
  console.error(`${PAGE_ID}: InstEval fitted in the browser app (headless Chromium) and in Node`);
  const child = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "app/bench-insteval.ts")], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 30 * 60 * 1000,
  });
  if (child.status !== 0) return { skipped: `not measured (app/bench-insteval.ts failed with status ${child.status}${child.signal ? `, ${child.signal}` : ""})` };
  const lines = child.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as PageBench;
}

const pageBench: PageBench | null = !only || only.has(PAGE_ID) || only.has("InstEval") ? runPageBench() : null;

// ---------------------------------------------------------------------------------------------------
// Report

const fmtTime = (s: number | undefined) =>
  s === undefined || !Number.isFinite(s) ? "—" : s < 0.001 ? `${(s * 1e6).toFixed(0)} µs` : s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms` : `${s.toFixed(2)} s`;
const fmtMb = (mb: number | undefined | null) => (mb === undefined || mb === null || !Number.isFinite(mb) ? "—" : `${mb.toFixed(0)} MB`);
const fmtRate = (r: number | undefined) => (r === undefined ? "—" : r >= 100 ? r.toFixed(0) : r.toFixed(1));
const groupsText = (g: Record<string, number>) => Object.entries(g).map(([k, v]) => `${k} ${v.toLocaleString("en-US")}`).join(", ");
const tsResult = (r: Row) => (r.ts && "fit_s" in r.ts ? r.ts : undefined);
/** (ours − lme4) / |lme4|: negative is a lower (better) optimum. */
const relDiff = (r: Row) => (r.ours?.objective !== undefined && r.lme4 ? (r.ours.objective - r.lme4.objective) / Math.abs(r.lme4.objective) : undefined);
const PARITY = 1e-6;

const fitted = [...rows.values()].filter((r) => !r.c.systemOnly);
const main = [
  "| dataset | rows | groups | model | this library (median) | plain TS | lme4 | lme4 / ours | peak memory ours / lme4 | objective evals/s | evals ours / lme4 | objective vs lme4 |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ...fitted.map((r) => {
    const o = r.ours!;
    const ts = tsResult(r);
    const l = r.lme4;
    const d = relDiff(r);
    const tsText = ts ? `${fmtTime(ts.fit_s)}${ts.fit_runs_s!.length === 1 ? " (1 run)" : ""}` : r.ts && "skipped" in r.ts ? `skipped: ${r.ts.skipped}` : "—";
    const lText = l ? `${fmtTime(l.time_s)}${l.source === "stored" ? " (stored)" : ""}` : "— (no stored fit)";
    const parity = d === undefined ? "—" : `${d.toExponential(1)} ${d <= PARITY ? "✓" : "✗"}`;
    return (
      `| ${r.c.id} | ${o.n.toLocaleString("en-US")} | ${groupsText(o.groups)} | \`${r.c.formula.replaceAll("|", "\\|")}\` ${r.c.REML ? "REML" : "ML"} | ` +
      `${fmtTime(o.fit_s)} | ${tsText} | ${lText} | ${l ? `${(l.time_s / o.fit_s!).toFixed(1)}×` : "—"} | ` +
      `${fmtMb(o.peak_rss_mb)} / ${fmtMb(l?.peak_rss_mb)} | ${fmtRate(o.evals_per_s)} | ${o.feval} / ${l?.feval ?? "—"} | ${parity} |`
    );
  }),
];

const num = (v: number | string | undefined) => (typeof v === "number" ? v : NaN);
const pageRows = !pageBench
  ? []
  : "skipped" in pageBench
    ? [`| InstEval (browser page) | ${pageBench.skipped} | — | — |`]
    : [
        `| InstEval (browser page): fit | ${fmtTime(num(pageBench.page.fit_s))} | ${fmtTime(num(pageBench.node.fit_s))} | ${(num(pageBench.page.fit_s) / num(pageBench.node.fit_s)).toFixed(2)}× |`,
        `| InstEval (browser page): to all results | ${fmtTime(num(pageBench.page.click_to_all_results_s))} (click to every result shown) | ` +
          `${fmtTime(num(pageBench.node.fit_to_all_results_s))} (fit, summary, JSON) | ${(num(pageBench.page.click_to_all_results_s) / num(pageBench.node.fit_to_all_results_s)).toFixed(2)}× |`,
      ];
const pageSection = !pageBench
  ? []
  : [
      "## InstEval in the browser page",
      "",
      "One fit of `y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)` by ML in the app (app/bench-insteval.ts: headless Chromium, " +
        "the data read from a file input, the fit in the page's Web Worker; \"fit\" is the page's \"Fitted in\") and one in Node with the same build.",
      "",
      "| | page | Node | page / Node |",
      "|---|---|---|---|",
      ...pageRows,
      ...("skipped" in pageBench
        ? []
        : [
            "",
            `Chromium ${pageBench.page.browser}, ${pageBench.page.engine} engine, objective ${num(pageBench.page.objective).toFixed(4)} (Node: ${pageBench.node.node}, ` +
              `${pageBench.node.engine}, ${num(pageBench.node.objective).toFixed(4)}); the page read and parsed the CSV in ${fmtTime(num(pageBench.page.read_parse_s))}.`,
          ]),
      "",
    ];

const longRows = [...rows.values()].filter((r) => r.c.id.startsWith("long-")).sort((a, b) => a.ours!.n - b.ours!.n);
const ingest = [
  "| dataset | rows | CSV read (streaming) | model frame | A = [Z X y]'[Z X y] | per evaluation (update of L) | evaluation θ |",
  "|---|---|---|---|---|---|---|",
  ...[...rows.values()].map((r) => {
    const o = r.ours!;
    return (
      `| ${r.c.id} | ${o.n.toLocaleString("en-US")} | ${fmtTime(o.read_s)} | ${fmtTime(o.frame_s)} | ${fmtTime(o.system_s)} | ` +
      `${o.update_us.toFixed(o.update_us < 100 ? 1 : 0)} µs | ${r.c.id.startsWith("long-") ? "long-1m's θ̂" : "θ̂"} |`
    );
  }),
];

// The issue's targets, each with the numbers it is judged on.
const targets: string[] = [];
const verdict = (ok: boolean | undefined) => (ok === undefined ? "not measured" : ok ? "**met**" : "**missed**");
const inst = rows.get("InstEval");
if (inst?.lme4 && inst.ours?.fit_s) {
  const x = inst.lme4.time_s / inst.ours.fit_s;
  const single = inst.oursSingle?.fit_s;
  targets.push(
    `- InstEval at least 10× faster than lme4: ${x.toFixed(1)}× (${fmtTime(inst.ours.fit_s)} with ${OURS_ENGINE} vs ${fmtTime(inst.lme4.time_s)}${inst.lme4.source === "stored" ? ", stored" : ""}` +
      `${single ? `; the single-thread SIMD build ${fmtTime(single)}, ${(inst.lme4.time_s / single).toFixed(1)}×` : ""}) — ${verdict(x >= 10)}`,
  );
}
const big1 = rows.get("long-1m");
if (big1?.ours?.fit_s) {
  const o = big1.ours;
  const fit = big1.ours.fit_s;
  targets.push(`- 1,000,000-row model fitted in under 5 s: ${fmtTime(fit)} (median of ${o.fit_runs_s!.length}) — ${verdict(fit < 5)}`);
  targets.push(`- ... with peak memory under 1 GB: ${fmtMb(o.peak_rss_mb)} peak resident set of the whole process (Node, streaming CSV read, one fit) — ${verdict(o.peak_rss_mb < 1024)}`);
}
const diffs = fitted.map((r) => ({ id: r.c.id, d: relDiff(r) }));
if (diffs.some((x) => x.d !== undefined)) {
  const bad = diffs.filter((x) => x.d !== undefined && x.d > PARITY);
  const worst = Math.max(...diffs.filter((x) => x.d !== undefined).map((x) => x.d!));
  const missing = diffs.filter((x) => x.d === undefined).map((x) => x.id);
  targets.push(
    `- every fit's objective within 1e-6 relative of lme4's (or lower): largest (ours − lme4)/|lme4| = ${worst.toExponential(1)}` +
      `${bad.length ? `; above: ${bad.map((b) => b.id).join(", ")}` : ""}${missing.length ? `; no lme4 objective for ${missing.join(", ")}` : ""} — ${verdict(bad.length === 0 && missing.length === 0)}`,
  );
}
const r10k = rows.get("long-10k"), r1m = rows.get("long-1m");
if (r10k?.ours && r1m?.ours) {
  const ratio = r1m.ours.update_us / r10k.ours.update_us;
  targets.push(
    `- per-evaluation time of the 1M-row model within 2× of the 10,000-row model (same 5,000 groups, same θ): ` +
      `${r1m.ours.update_us.toFixed(0)} µs vs ${r10k.ours.update_us.toFixed(0)} µs = ${ratio.toFixed(2)}× — ${verdict(ratio <= 2)}`,
  );
}
targets.push("- WebAssembly memory does not grow after the first of 100 fits of one model shape: test/memory.test.ts (`npx vitest run test/memory.test.ts`)");

const lme4Versions = [...rows.values()].find((r) => r.lme4?.versions)?.lme4?.versions;
const cpu = os.cpus();
const header = [
  `# Benchmark suite`,
  "",
  `${started.toISOString()} · ${cpu.length} × ${cpu[0]?.model ?? "cpu"} · ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB · ${process.platform}/${process.arch} · Node ${process.version} · ` +
    `lme4: ${haveR ? `measured in this run (${lme4Versions?.R ?? "R"}, lme4 ${lme4Versions?.lme4 ?? "?"}, Matrix ${lme4Versions?.Matrix ?? "?"})` : "stored times (test/fixtures/reference/fits)"}` +
    ` · load average at start ${load0.map((x) => x.toFixed(1)).join(" ")}, at end ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}${quick ? " · --quick" : ""}`,
  "",
  `This library: the ${OURS_ENGINE} engine (what lmer's engine "auto" runs in Node on this machine). ` +
    "Fit time: wall seconds of LinearMixedModel.fit (model frame, A, optimisation; the data already read), median of " +
    "repeated fits, after untimed warm-up fits for the small datasets; lme4: median of `system.time(lmer(...))` in R, " +
    "after 3 untimed fits for the small datasets. " +
    `Timed fits (this library / plain TS / lme4): ${fitted.map((r) => `${r.c.id} ${r.c.ours.repeats}/${useTs ? r.c.ts.repeats : "—"}/${r.c.lme4Repeats}`).join(", ")}. ` +
    "Peak memory: peak resident set (maxRSS / VmHWM) of the process right after its first fit, i.e. runtime + data + one fit, " +
    "each dataset in its own process. Objective evals/s: m.objective(θ̂) per second (the per-θ update of L and the log-determinants).",
  "",
];
const notes = [...rows.values()]
  .filter((r) => r.c.note || r.c.systemOnly || r.lme4Stored || r.lme4?.messages?.length || (r.ts && "skipped" in r.ts))
  .map((r) => {
    const stored = r.lme4Stored && r.ours?.fit_s
      ? `lme4's stored time (test/fixtures/reference/fits, median of 5): ${fmtTime(r.lme4Stored.time_s)}, ${(r.lme4Stored.time_s / r.ours.fit_s).toFixed(1)}× ours`
      : undefined;
    const parts = [r.c.note, r.c.systemOnly?.note, stored, r.lme4?.messages?.length ? `lme4 said: ${r.lme4.messages.map((m) => `"${m.trim()}"`).join("; ")}` : undefined];
    return `- ${r.c.id}: ${parts.filter(Boolean).join(". ")}`;
  });
const md = [
  ...header,
  ...main,
  "",
  ...pageSection,
  "## Ingestion and per-evaluation cost",
  "",
  ...ingest,
  "",
  "## Targets (issue 6)",
  "",
  ...targets,
  "",
  "## Notes",
  "",
  ...notes,
  "",
].join("\n");

const json = {
  started: started.toISOString(),
  machine: { cpus: cpu.length, model: cpu[0]?.model, memory_gib: os.totalmem() / 2 ** 30, loadavg_start: load0, loadavg_end: os.loadavg() },
  node: process.version,
  lme4_source: haveR ? "measured" : "stored",
  quick,
  cases: [...rows.values()].map((r) => ({
    id: r.c.id,
    formula: r.c.formula,
    REML: r.c.REML,
    csv: rel(r.c.csv),
    note: r.c.note ?? r.c.systemOnly?.note,
    ours: r.ours,
    ts: r.ts,
    lme4: r.lme4,
    lme4_stored: r.lme4Stored,
    lme4_over_ours: r.lme4 && r.ours?.fit_s ? r.lme4.time_s / r.ours.fit_s : undefined,
    objective_rel_diff: relDiff(r),
  })),
  targets,
  insteval_page: pageBench,
};
const outDir = path.join(root, "bench/results");
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, "bench.md"), md);
fs.writeFileSync(path.join(outDir, "bench.json"), JSON.stringify(json, null, 2) + "\n");
console.log(md);
