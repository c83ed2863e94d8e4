// The diagnostic plots, drawn in the page with Observable Plot from the numbers the worker sends, and
// their export as SVG text and PNG images.
import * as Plot from "@observablehq/plot";
import type { CaterpillarData, QQData, ResidualBins, ResidualPoints, TrajectoryData } from "./protocol.js";

/** The look shared by every plot of the page. */
export const STYLE = { fontSize: "12px", background: "white", color: "#222" };
/** Unlabelled caterpillar panels draw each level's interval up to this many levels, a band beyond. */
const SEGMENT_LEVELS = 300;

export function svgOf(el: Element): SVGSVGElement {
  // Plot wraps the SVG in a <figure> only for legends, titles and captions, which these plots do not use.
  if (!(el instanceof SVGSVGElement)) throw new Error("internal: expected Plot to return an <svg>");
  return el;
}

export function residualPlot(r: ResidualPoints | ResidualBins, width: number, label = "residual (y − fitted)"): SVGSVGElement {
  const common = {
    width,
    height: Math.round(width * 0.6),
    style: STYLE,
    x: { label: "fitted", nice: true },
    y: { label, nice: true },
  };
  if (r.kind === "points") {
    const n = r.fitted.length;
    return svgOf(
      Plot.plot({
        ...common,
        marks: [
          Plot.ruleY([0], { stroke: "#888" }),
          Plot.dot({ length: n }, { x: r.fitted, y: r.resid, r: n > 2000 ? 1.2 : 2, fill: "steelblue", fillOpacity: n > 2000 ? 0.35 : 0.6 }),
        ],
      }),
    );
  }
  return svgOf(
    Plot.plot({
      ...common,
      color: { type: "log", scheme: "blues", range: [0.25, 1] },
      marks: [
        Plot.rect({ length: r.count.length }, { x1: r.x1, x2: r.x2, y1: r.y1, y2: r.y2, fill: r.count, inset: 0 }),
        Plot.ruleY([0], { stroke: "#c33" }),
      ],
    }),
  );
}

export function qqPlot(q: QQData, width: number): SVGSVGElement {
  const m = q.sample.length;
  const lo = Math.min(q.theoretical[0], q.sample[0]), hi = Math.max(q.theoretical[m - 1], q.sample[m - 1]);
  return svgOf(
    Plot.plot({
      width,
      height: Math.round(width * 0.6),
      style: STYLE,
      x: { label: "normal quantile" },
      y: { label: "scaled residual (residual / σ)" },
      marks: [
        Plot.link([0], { x1: lo, y1: lo, x2: hi, y2: hi, stroke: "#c33", strokeDasharray: "4,3" }),
        Plot.dot({ length: m }, { x: q.theoretical, y: q.sample, r: m > 1000 ? 1.3 : 2, fill: "steelblue", fillOpacity: 0.6 }),
      ],
    }),
  );
}

/** Shared scales and sizes of the trajectory plot, which is drawn one row of panels at a time. */
export interface TrajectoryLayout {
  ncol: number;
  nrow: number;
  width: number;
  panelHeight: number;
  xDomain: [number, number];
  yDomain: [number, number];
}

function extent(...arrays: Float64Array[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) {
    for (const v of a) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const pad = (hi - lo) * 0.04 || 0.5;
  return [lo - pad, hi + pad];
}

export function trajectoryLayout(t: Extract<TrajectoryData, { available: true }>, width: number): TrajectoryLayout {
  const ncol = Math.min(6, t.shown.length);
  return {
    ncol,
    nrow: Math.ceil(t.shown.length / ncol),
    width,
    panelHeight: Math.max(110, Math.round((width / ncol) * 0.75)),
    xDomain: extent(t.xs),
    yDomain: extent(t.ys, t.fit, t.pop),
  };
}

/**
 * One row of panels of the trajectory plot (one panel per group: the data, the group's own fitted line,
 * the population line). Rows are separate SVGs with the same scales, so the page can draw them in
 * separate frames: 24 panels of 100 points in one go would stall it for a noticeable moment.
 */
export function trajectoryRow(t: Extract<TrajectoryData, { available: true }>, layout: TrajectoryLayout, row: number): SVGSVGElement {
  const { ncol, nrow } = layout;
  const first = row * ncol, last = Math.min(t.shown.length, first + ncol);
  const rows: { line: number; fx: number; x: number; y: number; fit: number; pop: number }[] = [];
  for (let i = 0; i < t.g.length; i++) {
    const g = t.g[i];
    if (g >= first && g < last) rows.push({ line: t.line[i], fx: g - first, x: t.xs[i], y: t.ys[i], fit: t.fit[i], pop: t.pop[i] });
  }
  const panels = t.shown.slice(first, last).map((label, i) => ({ label, fx: i }));
  const bottom = row === nrow - 1;
  const top = row === 0;
  // Every row has all ncol columns so panels line up across rows; a short last row leaves blanks.
  const fxDomain = Array.from({ length: ncol }, (_, i) => i);
  return svgOf(
    Plot.plot({
      width: layout.width,
      height: layout.panelHeight + (bottom ? 36 : 4) + (top ? 22 : 4),
      style: STYLE,
      // Explicit margins: Plot's defaults depend on the axes, and rows with and without an x axis must align.
      marginLeft: 48,
      marginRight: 20,
      marginTop: top ? 22 : 4,
      marginBottom: bottom ? 36 : 4,
      fx: { axis: null, padding: 0.06, domain: fxDomain },
      x: { label: t.x, domain: layout.xDomain, ticks: 4, axis: bottom ? "bottom" : null },
      y: { label: top ? t.y : null, domain: layout.yDomain, ticks: 4 },
      marks: [
        Plot.frame({ stroke: "#ccc" }),
        Plot.dot(rows, { fx: "fx", x: "x", y: "y", r: 1.8, fill: "#555", fillOpacity: 0.7 }),
        Plot.line(rows, { fx: "fx", x: "x", y: "pop", z: "line", sort: "x", stroke: "#999", strokeDasharray: "4,3", strokeWidth: 1.5 }),
        Plot.line(rows, { fx: "fx", x: "x", y: "fit", z: "line", sort: "x", stroke: "steelblue", strokeWidth: 1.8 }),
        // Last, with a white halo: the label stays readable over points and lines.
        Plot.text(panels, { fx: "fx", text: "label", frameAnchor: "top-left", dx: 4, dy: 4, fontWeight: "bold", fill: "#222", stroke: "white", strokeWidth: 3 }),
      ],
    }),
  );
}

/** Shared size and margins of a grouping factor's caterpillar panels (one per term). */
export interface CaterpillarLayout {
  height: number;
  marginLeft: number;
  panelWidth: number;
}

export function caterpillarLayout(c: CaterpillarData, width: number): CaterpillarLayout {
  const longest = c.labelled ? Math.max(...c.levels.map((l) => l.length)) : 0;
  const marginLeft = c.labelled ? Math.min(160, 12 + 7 * longest) : 40;
  return {
    height: c.labelled ? 50 + 13 * c.nlevels : 420,
    marginLeft,
    panelWidth: Math.max(220, Math.floor((width - marginLeft) / c.panels.length) - 28),
  };
}

/**
 * One term's panel of lme4's dotplot(ranef(fit, condVar = TRUE)): conditional modes with ±1.96
 * conditional sd, each term on its own x scale (as lme4's). With many levels the intervals become a
 * band and the modes a curve over the sorted levels: the same picture as thousands of overlapping
 * segments, drawn as two paths (thousands of SVG elements stall the page).
 */
export function caterpillarPanel(c: CaterpillarData, layout: CaterpillarLayout, k: number): SVGSVGElement {
  const p = c.panels[k];
  const first = k === 0;
  const common = {
    width: layout.panelWidth + (first ? layout.marginLeft : 10) + 18,
    height: layout.height,
    style: STYLE,
    marginLeft: first ? layout.marginLeft : 10,
    // Room for the last tick label, which would otherwise run into the next panel's first one.
    marginRight: 18,
    marginTop: 28,
    x: { label: p.term, nice: true, labelAnchor: "center" as const },
  };
  const zero = Plot.ruleX([0], { stroke: "#888" });
  const title = Plot.text([p.term], { frameAnchor: "top", dy: -18, fontWeight: "bold" });
  const n = p.v.length;
  if (c.labelled) {
    const y = c.levels;
    return svgOf(
      Plot.plot({
        ...common,
        y: { type: "point", domain: c.levels, axis: first ? "left" : null, label: null, padding: 0.6 },
        marks: [
          zero,
          Plot.ruleY({ length: n }, { y, x1: p.lo, x2: p.hi, stroke: "steelblue" }),
          Plot.dot({ length: n }, { x: p.v, y, r: 2.5, fill: "#222" }),
          title,
        ],
      }),
    );
  }
  // Up to a few hundred levels every interval is still a visible segment; beyond, a band.
  const marks =
    c.nlevels <= SEGMENT_LEVELS
      ? [
          Plot.ruleY({ length: n }, { y: p.rank, x1: p.lo, x2: p.hi, stroke: "steelblue", strokeOpacity: 0.7 }),
          Plot.dot({ length: n }, { x: p.v, y: p.rank, r: 1.5, fill: "#222" }),
        ]
      : [
          Plot.areaX({ length: n }, { y: p.rank, x1: p.lo, x2: p.hi, fill: "steelblue", fillOpacity: 0.35 }),
          Plot.lineX({ length: n }, { y: p.rank, x: p.v, stroke: "#222", strokeWidth: 1 }),
        ];
  return svgOf(
    Plot.plot({
      ...common,
      y: { domain: [-0.5, c.nlevels - 0.5], axis: first ? "left" : null, label: first ? `${c.nlevels.toLocaleString("en-US")} levels, sorted` : null, ticks: 0 },
      marks: [zero, ...marks, title],
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// Export

function sizeOf(svg: SVGSVGElement): { w: number; h: number } {
  return { w: Number(svg.getAttribute("width")), h: Number(svg.getAttribute("height")) };
}

/**
 * One standalone SVG document: a title line over the parts placed side by side (a caterpillar plot's
 * term panels) or one under another (the trajectory plot's rows), each part's own styles kept (Plot
 * writes them into a <style> inside its <svg>).
 */
export function svgDocument(parts: SVGSVGElement[], title: string, direction: "row" | "column" = "row"): { text: string; width: number; height: number } {
  const titleHeight = 24;
  let x = 0, y = titleHeight, width = 0, height = 0;
  const placed = parts.map((svg) => {
    const { w, h } = sizeOf(svg);
    const copy = svg.cloneNode(true) as SVGSVGElement;
    copy.setAttribute("x", String(x));
    copy.setAttribute("y", String(y));
    if (direction === "row") {
      x += w;
      width = x;
      height = Math.max(height, h);
    } else {
      y += h;
      height = y - titleHeight;
      width = Math.max(width, w);
    }
    return new XMLSerializer().serializeToString(copy);
  });
  height += titleHeight;
  const esc = title.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const text =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="8" y="17" font-family="system-ui, sans-serif" font-size="14" font-weight="bold" fill="#222">${esc}</text>` +
    placed.join("") +
    `</svg>`;
  return { text, width, height };
}

/** The SVG drawn onto a canvas at `scale` × its size, as a PNG. */
export async function pngOf(doc: { text: string; width: number; height: number }, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([doc.text], { type: "image/svg+xml" }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(doc.width * scale);
    canvas.height = Math.round(doc.height * scale);
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("this browser gives no 2D canvas to draw the PNG on");
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the canvas could not be encoded as PNG"))), "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}


/**
 * Draws one small plot of each kind and discards it. The first call of Plot's code compiles it (about
 * as long as drawing the plots themselves); done while the page is idle, the first real results then
 * appear without that stall.
 */
export function warmUp(): void {
  const xs = Float64Array.from({ length: 8 }, (_, i) => i);
  const t: Extract<TrajectoryData, { available: true }> = {
    available: true,
    group: "g",
    x: "x",
    y: "y",
    shown: ["a", "b"],
    totalGroups: 2,
    thinned: false,
    g: Int32Array.from(xs, (x) => (x < 4 ? 0 : 1)),
    line: Int32Array.from(xs, (x) => (x < 4 ? 0 : 1)),
    xs,
    ys: xs,
    fit: xs,
    pop: xs,
  };
  trajectoryRow(t, trajectoryLayout(t, 400), 0);
  residualPlot({ kind: "points", fitted: xs, resid: xs }, 300);
  residualPlot({ kind: "bins", x1: xs, x2: xs, y1: xs, y2: xs, count: xs.map((x) => x + 1) }, 300);
  qqPlot({ theoretical: xs, sample: xs, n: 8 }, 300);
  const panel = { term: "t", v: xs, lo: xs, hi: xs, rank: xs };
  for (const [labelled, nlevels] of [[true, 8], [false, 8], [false, SEGMENT_LEVELS + 1]] as const) {
    const c: CaterpillarData = { group: "g", nlevels, labelled, levels: labelled ? Array.from(xs, (x) => `l${x}`) : [], panels: [panel] };
    caterpillarPanel(c, caterpillarLayout(c, 300), 0);
  }
}
