// The page's one error box (#error, data-testid "error"), shared by its two modes: each mode keeps its
// own messages, and the box shows the current mode's, so switching modes neither loses nor mixes them.
export type ErrorChannel = "single" | "many";

const messages: Record<ErrorChannel, HTMLElement[]> = { single: [], many: [] };
let shown: ErrorChannel = "single";

function render(): void {
  const box = document.getElementById("error");
  if (!box) return;
  box.replaceChildren(...messages[shown]);
  box.hidden = messages[shown].length === 0;
}

/** Replaces a mode's messages (paragraphs, formulas with the error marked). */
export function setErrors(channel: ErrorChannel, parts: HTMLElement[]): void {
  messages[channel] = parts;
  if (channel === shown) render();
}

export function showErrors(channel: ErrorChannel): void {
  shown = channel;
  render();
}

/** A paragraph of the error box. */
export function errorPara(text: string): HTMLElement {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

/** The formula with [pos, end) marked; a position at the end marks a blank so it stays visible. */
export function highlighted(text: string, pos: number, end: number): Node[] {
  const p = Math.max(0, Math.min(pos, text.length));
  const e = Math.max(p, Math.min(end, text.length));
  const mark = document.createElement("mark");
  mark.textContent = e > p ? text.slice(p, e) : " ";
  return [document.createTextNode(text.slice(0, p)), mark, document.createTextNode(text.slice(e))];
}

/** The formula as a code line with the problem's place marked. */
export function markedFormula(text: string, pos: number, end: number): HTMLElement {
  const code = document.createElement("code");
  code.append(...highlighted(text, pos, end));
  return code;
}
