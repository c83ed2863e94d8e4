// The kernel interface of the engine and its plain TypeScript implementation. The TypeScript kernels
// mirror assembly/index.ts line for line on an ArrayBuffer arena with the same byte offsets, so the
// blocked system (blocked.ts) runs unchanged on either; they are the "plain JS" baseline of bench/.

export type EngineName = "wasm-threads" | "wasm-simd" | "wasm-scalar" | "ts";

export interface Kernels {
  readonly name: EngineName;
  /** The arena's current buffer; re-read after alloc, which may replace or grow it. */
  buffer(): ArrayBuffer;
  alloc(bytes: number): number;
  reset(): void;
  cholesky(a: number, n: number): number;
  choleskyStrided(a: number, n: number, ld: number): number;
  sumLogDiag(a: number, n: number, step: number): number;
  sumLogDiagBlocks(a: number, m: number, k: number): number;
  updateBlockDiag(m: number, k: number, lambda: number, A: number, L: number, work: number): number;
  updatePanels(
    m1: number, k1: number, lambda1: number, L11: number,
    panelStart: number, panelRow: number, Apanel: number, P: number,
    rowTerm: number, rowBlock: number, termK: number, termLambda: number, work: number,
  ): void;
  sandwichScalar(q: number, nZ: number, scale: number, A: number, C: number): void;
  sandwichBlocks(
    q: number, nZ: number, rowTerm: number, rowBlock: number, termK: number, termLambda: number, A: number, C: number,
  ): void;
  schurDowndate(
    k1: number, panelStart: number, panelRow: number, panelOf: number, rowPtr: number, rowEntry: number, P: number, q: number, C: number,
  ): void;
}

/** Plain TypeScript kernels on a growable ArrayBuffer arena (pointers are byte offsets, 8-aligned). */
export class TsKernels implements Kernels {
  readonly name = "ts" as const;
  private buf = new ArrayBuffer(1 << 16);
  private f = new Float64Array(this.buf);
  private i = new Int32Array(this.buf);
  private top = 8; // offset 0 stays unused, like a null pointer

  buffer(): ArrayBuffer {
    return this.buf;
  }

  alloc(bytes: number): number {
    const p = this.top;
    this.top = (p + bytes + 7) & ~7;
    if (this.top > this.buf.byteLength) {
      let size = this.buf.byteLength;
      while (size < this.top) size *= 2;
      const next = new ArrayBuffer(size);
      new Uint8Array(next).set(new Uint8Array(this.buf));
      this.buf = next;
      this.f = new Float64Array(next);
      this.i = new Int32Array(next);
    }
    return p;
  }

  reset(): void {
    this.top = 8;
  }

  private dot(a: number, b: number, n: number): number {
    const f = this.f;
    let s = 0;
    for (let k = 0; k < n; k++) s += f[a + k] * f[b + k];
    return s;
  }

  choleskyStrided(a: number, n: number, ld: number): number {
    const f = this.f;
    const base = a >> 3;
    for (let i = 0; i < n; i++) {
      const ri = base + i * ld;
      for (let j = 0; j < i; j++) {
        const rj = base + j * ld;
        f[ri + j] = (f[ri + j] - this.dot(ri, rj, j)) / f[rj + j];
      }
      const d = f[ri + i] - this.dot(ri, ri, i);
      if (!(d > 0)) return i + 1;
      f[ri + i] = Math.sqrt(d);
    }
    return 0;
  }

  cholesky(a: number, n: number): number {
    return this.choleskyStrided(a, n, n);
  }

  sumLogDiag(a: number, n: number, step: number): number {
    const f = this.f;
    const base = a >> 3;
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.log(f[base + i * step]);
    return s;
  }

  sumLogDiagBlocks(a: number, m: number, k: number): number {
    const f = this.f;
    const base = a >> 3;
    let s = 0;
    for (let j = 0; j < m; j++) for (let c = 0; c < k; c++) s += Math.log(f[base + j * k * k + c * (k + 1)]);
    return s;
  }

  updateBlockDiag(m: number, k: number, lambda: number, A: number, L: number, work: number): number {
    const f = this.f;
    const lam = lambda >> 3, a0 = A >> 3, l0 = L >> 3, w = work >> 3;
    const kk = k * k;
    if (k === 1) {
      const t2 = f[lam] * f[lam];
      for (let j = 0; j < m; j++) f[l0 + j] = Math.sqrt(t2 * f[a0 + j] + 1);
      return 0;
    }
    for (let j = 0; j < m; j++) {
      const a = a0 + j * kk, l = l0 + j * kk;
      for (let r = 0; r < k; r++) {
        for (let c = 0; c < k; c++) {
          let s = 0;
          for (let b = c; b < k; b++) s += f[a + r * k + b] * f[lam + b * k + c];
          f[w + r * k + c] = s;
        }
      }
      for (let r = 0; r < k; r++) {
        for (let c = 0; c <= r; c++) {
          let s = r === c ? 1 : 0;
          for (let b = r; b < k; b++) s += f[lam + b * k + r] * f[w + b * k + c];
          f[l + r * k + c] = s;
        }
        for (let c = r + 1; c < k; c++) f[l + r * k + c] = 0;
      }
      const info = this.cholesky(l << 3, k);
      if (info !== 0) return j * k + info;
    }
    return 0;
  }

  updatePanels(
    m1: number, k1: number, lambda1: number, L11: number,
    panelStart: number, panelRow: number, Apanel: number, P: number,
    rowTerm: number, rowBlock: number, termK: number, termLambda: number, work: number,
  ): void {
    const f = this.f, iv = this.i;
    const lam1 = lambda1 >> 3, w = work >> 3;
    const ps = panelStart >> 2, pr = panelRow >> 2, rt = rowTerm >> 2, rb = rowBlock >> 2;
    const tk = termK >> 2, tl = termLambda >> 2;
    const kk = k1 * k1;
    for (let j = 0; j < m1; j++) {
      const r0 = iv[ps + j], r1 = iv[ps + j + 1];
      const l = (L11 >> 3) + j * kk;
      for (let r = r0; r < r1; r++) {
        const src = (Apanel >> 3) + r * k1;
        const dst = (P >> 3) + r * k1;
        const trow = iv[pr + r];
        const t = iv[rt + trow];
        if (t < 0) {
          for (let c = 0; c < k1; c++) f[w + c] = f[src + c];
        } else {
          const kt = iv[tk + t];
          const lam = iv[tl + t] >> 3;
          const off = trow - iv[rb + trow];
          for (let c = 0; c < k1; c++) {
            let s = 0;
            for (let a = off; a < kt; a++) s += f[lam + a * kt + off] * f[src + (a - off) * k1 + c];
            f[w + c] = s;
          }
        }
        for (let c = 0; c < k1; c++) {
          let s = 0;
          for (let b = c; b < k1; b++) s += f[w + b] * f[lam1 + b * k1 + c];
          f[dst + c] = s;
        }
        for (let c = 0; c < k1; c++) {
          let s = f[dst + c];
          for (let b = 0; b < c; b++) s -= f[l + c * k1 + b] * f[dst + b];
          f[dst + c] = s / f[l + c * k1 + c];
        }
      }
    }
  }

  sandwichScalar(q: number, nZ: number, scale: number, A: number, C: number): void {
    const f = this.f;
    const sc = scale >> 3, a0 = A >> 3, c0 = C >> 3;
    for (let r = 0; r < q; r++) {
      const sr = f[sc + r], ar = a0 + r * q, cr = c0 + r * q;
      for (let c = 0; c <= r; c++) f[cr + c] = sr * f[sc + c] * f[ar + c];
      if (r < nZ) f[cr + r] += 1;
    }
  }

  sandwichBlocks(
    q: number, nZ: number, rowTerm: number, rowBlock: number, termK: number, termLambda: number, A: number, C: number,
  ): void {
    const f = this.f, iv = this.i;
    const rt = rowTerm >> 2, rb = rowBlock >> 2, tk = termK >> 2, tl = termLambda >> 2;
    const a0 = A >> 3, c0 = C >> 3;
    for (let r = 0; r < q; r++) {
      const ar = a0 + r * q, cr = c0 + r * q;
      for (let c = 0; c < q; c++) {
        const t = iv[rt + c];
        if (t < 0) {
          f[cr + c] = f[ar + c];
          continue;
        }
        const kt = iv[tk + t], lam = iv[tl + t] >> 3, b0 = iv[rb + c], off = c - b0;
        let s = 0;
        for (let b = off; b < kt; b++) s += f[ar + b0 + b] * f[lam + b * kt + off];
        f[cr + c] = s;
      }
    }
    for (let r = 0; r < q; r++) {
      const t = iv[rt + r];
      if (t < 0) continue;
      const kt = iv[tk + t], lam = iv[tl + t] >> 3, b0 = iv[rb + r], off = r - b0;
      const cr = c0 + r * q;
      for (let c = 0; c < q; c++) {
        let s = 0;
        for (let a = off; a < kt; a++) s += f[lam + a * kt + off] * f[c0 + (b0 + a) * q + c];
        f[cr + c] = s;
      }
    }
    for (let r = 0; r < nZ; r++) f[c0 + r * q + r] += 1;
  }

  schurDowndate(
    k1: number, panelStart: number, panelRow: number, panelOf: number, rowPtr: number, rowEntry: number, P: number, q: number, C: number,
  ): void {
    const f = this.f, iv = this.i;
    const ps = panelStart >> 2, pr = panelRow >> 2, po = panelOf >> 2, rp = rowPtr >> 2, re = rowEntry >> 2;
    const p0 = P >> 3, c0 = C >> 3;
    for (let ra = 0; ra < q; ra++) {
      const crow = c0 + ra * q;
      for (let e = iv[rp + ra]; e < iv[rp + ra + 1]; e++) {
        const a = iv[re + e];
        const pa = p0 + a * k1;
        for (let b = iv[ps + iv[po + a]]; b <= a; b++) f[crow + iv[pr + b]] -= this.dot(pa, p0 + b * k1, k1);
      }
    }
  }
}
