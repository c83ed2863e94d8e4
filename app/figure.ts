// A plot's figure on the page (caption, note, its SVG parts) with SVG and PNG export buttons, and file
// downloads: shared by the single-model results (main.ts) and the many-response results (many-page.ts).
import { pngOf, svgDocument } from "./plots.js";

/** A figure holding only a caption and a note (a plot that is not drawn says why here). */
export function figureNote(testid: string, title: string, note: string): HTMLElement {
  const f = document.createElement("figure");
  f.className = "plot";
  f.dataset.testid = `plot-${testid}`;
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  const p = document.createElement("p");
  p.className = "note";
  p.textContent = note;
  f.append(cap, p);
  return f;
}

/** A plot's figure, filled with its SVG parts one at a time, with SVG and PNG export of all of them. */
export interface Figure {
  element: HTMLElement;
  add(svg: SVGSVGElement): void;
}

export interface FigureExport {
  /** The exported files' name without extension (read when a button is clicked). */
  fileBase: () => string;
  /** What to do when the PNG cannot be made (the page shows it as an error). */
  onError: (message: string) => void;
}

export function figure(testid: string, title: string, note: string, exportTitle: string, direction: "row" | "column", exp: FigureExport): Figure {
  const f = figureNote(testid, title, note);
  const box = document.createElement("div");
  box.className = `parts ${direction}`;
  const parts: SVGSVGElement[] = [];
  const exports = document.createElement("div");
  exports.className = "exports";
  const file = () => `${exp.fileBase()}-${testid.replace(/[^\w.-]+/g, "_")}`;
  const svgButton = button("SVG", `export-svg-${testid}`, () => {
    download(new Blob([svgDocument(parts, exportTitle, direction).text], { type: "image/svg+xml" }), `${file()}.svg`);
  });
  const pngButton = button("PNG", `export-png-${testid}`, async () => {
    try {
      download(await pngOf(svgDocument(parts, exportTitle, direction)), `${file()}.png`);
    } catch (e) {
      exp.onError(`PNG export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  exports.append(svgButton, pngButton);
  f.append(box, exports);
  return {
    element: f,
    add(svg) {
      parts.push(svg);
      box.append(svg);
    },
  };
}

export function button(label: string, testid: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "small";
  b.textContent = label;
  b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  return b;
}

export function download(blob: Blob, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}
