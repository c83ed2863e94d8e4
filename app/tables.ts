// Numbers as the page's tables show them (R-like significant digits, p-values as R's format.pval) and
// a plain HTML table filled from strings.

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "NA";
  if (!Number.isFinite(v)) return v > 0 ? "Inf" : "-Inf";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(3);
  return Number(v.toPrecision(5)).toString();
}

export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return "NA";
  // As the printed summary (R's format.pval with its digits).
  if (p < 2.2e-16) return "< 2e-16";
  return p < 1e-4 ? p.toExponential(2) : Number(p.toPrecision(3)).toString();
}

/** `rowClass`: a class for some rows (e.g. the first row of a group), by row index. */
export function table(el: HTMLTableElement, head: string[], rows: string[][], textColumns = 1, rowClass?: (i: number) => string): void {
  const thead = document.createElement("thead");
  const tr = document.createElement("tr");
  for (const h of head) {
    const th = document.createElement("th");
    th.textContent = h;
    tr.append(th);
  }
  thead.append(tr);
  const tbody = document.createElement("tbody");
  rows.forEach((r, k) => {
    const row = document.createElement("tr");
    const cls = rowClass?.(k);
    if (cls) row.className = cls;
    r.forEach((cell, i) => {
      const td = document.createElement("td");
      td.textContent = cell;
      if (i < textColumns) td.className = "text";
      row.append(td);
    });
    tbody.append(row);
  });
  el.replaceChildren(thead, tbody);
}
