// The plots of a many-response fit, drawn with Observable Plot from many-summary.ts's numbers: the
// volcano plot (effect against −log10 p, one dot per response) and the p-value histogram (a flat
// histogram is what no effect at all looks like; a spike near 0 is the signal).
import * as Plot from "@observablehq/plot";
import type { PHistogram, VolcanoData } from "./many-summary.js";
import { STYLE, svgOf } from "./plots.js";

const SIGNIFICANT = "#c0392b";
const OTHER = "#8a8f98";

function indices(v: VolcanoData, significant: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < v.significant.length; i++) if ((v.significant[i] === 1) === significant) out.push(i);
  return out;
}

export function volcanoPlot(v: VolcanoData, term: string, width: number): SVGSVGElement {
  const x = (i: number) => v.estimate[i];
  const y = (i: number) => v.mlog10p[i];
  const many = v.estimate.length > 3000;
  return svgOf(
    Plot.plot({
      width,
      height: Math.round(width * 0.7),
      style: STYLE,
      marginRight: 30,
      x: { label: `estimate of ${term}`, nice: true },
      y: { label: "−log10 p", nice: true, zero: true },
      marks: [
        Plot.ruleX([0], { stroke: "#ccc" }),
        // The BH cut: points above it (and only those) have adjusted p below the FDR level.
        ...(v.cut === null ? [] : [Plot.ruleY([v.cut], { stroke: SIGNIFICANT, strokeOpacity: 0.6, strokeDasharray: "4,3" })]),
        // Significant points last, so they are drawn over the others.
        Plot.dot(indices(v, false), { x, y, r: many ? 1.3 : 2.2, fill: OTHER, fillOpacity: many ? 0.4 : 0.6 }),
        Plot.dot(indices(v, true), { x, y, r: many ? 1.8 : 2.6, fill: SIGNIFICANT, fillOpacity: 0.85 }),
        Plot.text(v.labelled, { x, y, text: (i: number) => v.response[i], dy: -9, fontSize: 11, fill: "#222", stroke: "white", strokeWidth: 3 }),
      ],
    }),
  );
}

export function pHistogramPlot(h: PHistogram, term: string, width: number): SVGSVGElement {
  const bins = h.count.length;
  return svgOf(
    Plot.plot({
      width,
      height: Math.round(width * 0.7),
      style: STYLE,
      x: { label: `p-value of ${term}`, domain: [0, 1] },
      y: { label: "responses", grid: true, nice: true },
      marks: [
        Plot.rectY({ length: bins }, {
          x1: h.x1,
          x2: h.x2,
          y: h.count,
          fill: "steelblue",
          insetLeft: 0.5,
          insetRight: 0.5,
          title: (_: unknown, i: number) => `p ${h.x1[i].toFixed(2)}–${h.x2[i].toFixed(2)}: ${h.count[i]} responses`,
        }),
        // What the histogram would be with no effect in any response: uniform p-values.
        Plot.ruleY([h.n / bins], { stroke: SIGNIFICANT, strokeDasharray: "4,3" }),
        Plot.ruleY([0]),
      ],
    }),
  );
}

/** Compiles Plot's code for these marks while the page is idle (see plots.ts's warmUp). */
export function warmUpMany(): void {
  const xs = Float64Array.from({ length: 4 }, (_, i) => i / 4);
  volcanoPlot({ response: ["a", "b", "c", "d"], estimate: xs, mlog10p: xs, significant: Uint8Array.from([0, 1, 0, 1]), labelled: [1], cut: 0.5 }, "t", 300);
  pHistogramPlot({ x1: xs, x2: xs.map((x) => x + 0.25), count: xs, n: 4 }, "t", 300);
}
