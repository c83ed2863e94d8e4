// The blocked system of a linear mixed model (Bates et al. 2015, JSS 67(1), sections 3.2-3.6, and
// MixedModels.jl's BlockedSparse / blockdiag layout).
//
// A = [Z X y]'[Z X y] is accumulated once per fit. Per θ only the factor L of
//   [Λ'Z'ZΛ + I   Λ'Z'X   Λ'Z'y]
//   [X'ZΛ         X'X     X'y  ]  = L L'                                    (JSS eq. 18 with y appended)
//   [y'ZΛ         y'X     y'y  ]
// is recomputed; nothing in that step touches the n rows.
//
// Layout: the random-effects term with most levels comes first (its block of Λ'Z'ZΛ + I is block
// diagonal, so its factor L11 is one k1×k1 block per level). Each level j of that term has a "panel":
// the rows of the rest of the system (other terms' level blocks, X, y) that it touches, with A's values
// there (Apanel) and L's (P). Everything after the first term is the dense trailing block: A's part
// (Atrail, full square) and the Schur complement C = Λ'AΛ + I − Σ_j P_j P_j', factored in place.

import type { Kernels } from "./kernels.js";

/** One random-effects term as the engine sees it. */
export interface ReBlock {
  /** Number of levels of the grouping factor. */
  m: number;
  /** Number of columns of the term (1 for (1|g), 2 for (1 + t|g)). */
  k: number;
  /** Level of each row (0-based). */
  refs: Int32Array;
  /** n × k row-major values of the term's columns. */
  Z: Float64Array;
}

/** Which system's layout the kernels' arena holds now. */
const arenaOwner = new WeakMap<Kernels, BlockedSystem>();

/** The largest trailing block we lay out densely (two q×q doubles): beyond it the fit is refused. */
const MAX_TRAILING_BYTES = 2 ** 31;

/** Arrays in the kernel arena (byte offsets), created once per fit. */
interface Layout {
  lambda: number[]; // per term: k×k λ, row-major
  termK: number;
  termLambda: number;
  A11: number;
  L11: number;
  panelStart: number;
  panelRow: number;
  panelOf: number;
  rowPtr: number;
  rowEntry: number;
  Apanel: number;
  P: number;
  rowTerm: number;
  rowBlock: number;
  scale: number;
  Atrail: number;
  C: number;
  work: number;
}

export interface Objectives {
  /** log |L_Z|² */
  logdetZ: number;
  /** log |L_X|² */
  logdetX: number;
  /** penalised residual sum of squares r² */
  pwrss: number;
}

export class BlockedSystem {
  readonly n: number;
  readonly p: number;
  readonly terms: ReBlock[];
  /** Size of the trailing block: other terms' columns, then X, then y. */
  readonly q2: number;
  /** Number of random-effects rows in the trailing block. */
  readonly nZ2: number;
  /** Start of each term's rows in the trailing block (term 0: -1, it is the block-diagonal part). */
  readonly offsets: number[];
  readonly nPanelRows: number;
  readonly scalarTrailing: boolean;
  private lay!: Layout;
  private view: Float64Array | undefined;
  private intView: Int32Array | undefined;
  /** invLXtLX's L_X⁻¹ (p × p), reused: it runs at every devcomp. */
  private lxInverse: Float64Array | null = null;
  private readonly panels: PanelStructure;
  private readonly X: Float64Array;
  private y: Float64Array;
  /** √w per row when A is weighted (GLMM working weights, see reweight()), else null. */
  private sqrtw: Float64Array | null = null;
  private readonly thetaIndex: number[][];

  /**
   * Lays out the arena and accumulates A. `terms` must already be ordered by decreasing number of
   * levels (the order of θ). X is n × p row-major; y already has any offset subtracted.
   */
  constructor(
    readonly kernels: Kernels,
    terms: ReBlock[],
    X: Float64Array,
    p: number,
    y: Float64Array,
  ) {
    if (terms.length === 0) throw new Error("a mixed model needs at least one random-effects term");
    this.n = y.length;
    this.p = p;
    this.terms = terms;
    const offsets = [-1];
    let q = 0;
    for (let t = 1; t < terms.length; t++) {
      offsets.push(q);
      q += terms[t].m * terms[t].k;
    }
    this.offsets = offsets;
    this.nZ2 = q;
    this.q2 = q + p + 1;
    this.scalarTrailing = terms.slice(1).every((t) => t.k === 1);
    const trailingBytes = 2 * this.q2 * this.q2 * 8;
    if (trailingBytes > MAX_TRAILING_BYTES) {
      throw new Error(
        `the model's dense trailing block (${this.q2} × ${this.q2}: the random-effects terms after the first ` +
          `plus the fixed effects) would need ${(trailingBytes / 2 ** 30).toFixed(1)} GiB; ` +
          `order the terms so the factor with most levels comes first or reduce the second factor's levels`,
      );
    }
    this.thetaIndex = thetaLayout(terms.map((t) => t.k));
    const panels = panelStructure(terms, offsets, this.q2, p);
    this.nPanelRows = panels.panelRow.length;
    this.panels = panels;
    this.X = X;
    this.y = y;
    this.claimArena();
  }

  /**
   * Lays out this system in the kernels' arena and accumulates A there. One arena serves every fit
   * (memory is reused, never leaked); a model used again after another took the arena lays itself out
   * anew, so its results stay valid.
   */
  private claimArena(): void {
    this.kernels.reset();
    this.lay = this.allocate(this.panels);
    if (this.sqrtw) this.accumulateWeighted();
    else this.accumulate(this.panels, this.X, this.y);
    arenaOwner.set(this.kernels, this);
  }

  /**
   * The same design with another response y (offset already subtracted), for lme4's refit(newresp).
   * Z, X, the layout and the panel structure are shared (never copied); only what depends on y is
   * computed: A's y column, i.e. each panel's y row (Z₁'y per level of the first term) and the trailing
   * block's y row and column (Z₂'y, X'y, y'y), summed in the order accumulate() uses, so they are
   * bit-for-bit a fresh system's. When the arena holds a system of this design (this one or another
   * response of it), the new system takes its layout over and rewrites those entries only (O(n·nnz)
   * per row, no reset, no allocation in the arena); otherwise it lays itself out anew (claimArena).
   * This system is not modified: as after any other fit took the arena, it lays itself out again on
   * its next update, so models on either response stay usable.
   */
  withResponse(y: Float64Array): BlockedSystem {
    if (y.length !== this.n) throw new Error(`the response has ${y.length} values but the design has ${this.n} rows`);
    const s = Object.create(BlockedSystem.prototype) as BlockedSystem;
    Object.assign(s, this, { y });
    const owner = arenaOwner.get(this.kernels);
    if (owner !== undefined && owner.panels === this.panels) {
      s.lay = owner.lay;
      s.writeResponse();
      arenaOwner.set(this.kernels, s);
    } else {
      s.claimArena();
    }
    return s;
  }

  /**
   * Recomputes A's y column in the arena from this.y (the y parts of accumulate(), nothing else).
   * Every entry is a sum over the rows in increasing order, as accumulate() sums it, so the values are
   * bit for bit a fresh system's; the sums run a few entries at a time in registers rather than row by
   * row through the arena, as fitMany does this once per response.
   */
  private writeResponse(): void {
    const f = this.f64();
    const { terms, p, q2, n, nZ2, X, y } = this;
    const Ap = this.lay.Apanel >> 3, At = this.lay.Atrail >> 3;
    const yRow = At + (q2 - 1) * q2;
    // The first term's Z₁'y and y'y, with k1 = 1 also X'y's first two columns (a = columns done).
    const a0 = terms[0].k === 1 ? this.writeScalarFirstTermY(f, Ap, yRow) : this.writeFirstTermY(f, Ap, yRow);
    for (let t = 1; t < terms.length; t++) writeTermY(f, yRow + this.offsets[t], terms[t], y, n);
    // The rest of X'y two columns per pass (two independent sums), then an odd last column.
    let a = a0;
    for (; a + 1 < p; a += 2) {
      let s0 = 0, s1 = 0;
      for (let r = 0, i = a; r < n; r++, i += p) {
        const yr = y[r];
        s0 += yr * X[i];
        s1 += yr * X[i + 1];
      }
      f[yRow + nZ2 + a] = s0;
      f[yRow + nZ2 + a + 1] = s1;
    }
    if (a < p) {
      let s = 0;
      for (let r = 0, i = a; r < n; r++, i += p) s += y[r] * X[i];
      f[yRow + nZ2 + a] = s;
    }
    for (let c = 0; c < q2 - 1; c++) f[At + c * q2 + q2 - 1] = f[yRow + c];
  }

  /** Where level j's row of y starts in the panels (the panel's last row), its k1 entries zeroed. */
  private panelYRows(f: Float64Array, Ap: number): Int32Array {
    const t0 = this.terms[0], k1 = t0.k;
    const ps = this.panels.panelStart;
    const yPos = new Int32Array(t0.m);
    for (let j = 0; j < t0.m; j++) {
      yPos[j] = Ap + (ps[j + 1] - 1) * k1;
      f.fill(0, yPos[j], yPos[j] + k1);
    }
    return yPos;
  }

  /**
   * writeResponse's first pass for k1 = 1 (the usual (1 | g) first): Z₁'y, y'y and, with p ≥ 2, the
   * first two columns of X'y in one pass over the rows, each sum a chain of its own. A run of rows of
   * one level (sorted data) sums in a register, loaded from and stored to the arena where the level
   * changes. Returns the number of X columns done (2 or 0).
   */
  private writeScalarFirstTermY(f: Float64Array, Ap: number, yRow: number): number {
    const { y, n, X, p, q2, nZ2 } = this;
    const refs = this.terms[0].refs, Z = this.terms[0].Z;
    const yPos = this.panelYRows(f, Ap);
    const xs = p >= 2;
    let yy = 0, s0 = 0, s1 = 0;
    if (n > 0) {
      let at = yPos[refs[0]], acc = 0;
      for (let r = 0, i = 0; r < n; r++, i += p) {
        const pos = yPos[refs[r]], yr = y[r];
        if (pos !== at) {
          f[at] = acc;
          at = pos;
          acc = f[pos];
        }
        acc += yr * Z[r];
        yy += yr * yr;
        if (xs) {
          s0 += yr * X[i];
          s1 += yr * X[i + 1];
        }
      }
      f[at] = acc;
    }
    f[yRow + q2 - 1] = yy;
    if (!xs) return 0;
    f[yRow + nZ2] = s0;
    f[yRow + nZ2 + 1] = s1;
    return 2;
  }

  /** Z₁'y and y'y for any k1 (each level's k1 sums over its rows in row order); no X columns done. */
  private writeFirstTermY(f: Float64Array, Ap: number, yRow: number): number {
    const { y, n } = this;
    const k1 = this.terms[0].k, refs = this.terms[0].refs, Z = this.terms[0].Z;
    const yPos = this.panelYRows(f, Ap);
    let yy = 0;
    for (let r = 0; r < n; r++) {
      const yr = y[r], pa = yPos[refs[r]], z = r * k1;
      for (let c = 0; c < k1; c++) f[pa + c] += yr * Z[z + c];
      yy += yr * yr;
    }
    f[yRow + this.q2 - 1] = yy;
    return 0;
  }

  /**
   * The data A is made of: the terms' Z, X (n × p row-major) and y (offset subtracted), and whether A
   * is weighted (then the rows of Z, X and y are scaled by √w and these are not what A holds).
   */
  designData(): { terms: ReBlock[]; X: Float64Array; y: Float64Array; p: number; n: number; weighted: boolean } {
    return { terms: this.terms, X: this.X, y: this.y, p: this.p, n: this.n, weighted: this.sqrtw !== null };
  }

  /** Length of θ. */
  get nTheta(): number {
    return this.thetaIndex.reduce((s, ix) => s + ix.length, 0);
  }

  private allocate(panels: PanelStructure): Layout {
    const K = this.kernels;
    const t0 = this.terms[0];
    const f64 = (count: number) => K.alloc(Math.max(1, count) * 8);
    const i32 = (count: number) => K.alloc(Math.max(2, count) * 4);
    const lambda = this.terms.map((t) => f64(t.k * t.k));
    const lay: Layout = {
      lambda,
      termK: i32(this.terms.length),
      termLambda: i32(this.terms.length),
      A11: f64(t0.m * t0.k * t0.k),
      L11: f64(t0.m * t0.k * t0.k),
      panelStart: i32(t0.m + 1),
      panelRow: i32(this.nPanelRows),
      panelOf: i32(this.nPanelRows),
      rowPtr: i32(this.q2 + 1),
      rowEntry: i32(this.nPanelRows),
      Apanel: f64(this.nPanelRows * t0.k),
      P: f64(this.nPanelRows * t0.k),
      rowTerm: i32(this.q2),
      rowBlock: i32(this.q2),
      scale: f64(this.q2),
      Atrail: f64(this.q2 * this.q2),
      C: f64(this.q2 * this.q2),
      work: f64(Math.max(...this.terms.map((t) => t.k)) ** 2 + 8),
    };
    // Views are made after every alloc: growing the memory detaches earlier ones.
    const iv = new Int32Array(K.buffer());
    const fv = new Float64Array(K.buffer());
    this.terms.forEach((t, i) => {
      iv[(lay.termK >> 2) + i] = t.k;
      iv[(lay.termLambda >> 2) + i] = lambda[i];
    });
    iv.set(panels.panelStart, lay.panelStart >> 2);
    iv.set(panels.panelRow, lay.panelRow >> 2);
    iv.set(panels.panelOf, lay.panelOf >> 2);
    iv.set(panels.rowPtr, lay.rowPtr >> 2);
    iv.set(panels.rowEntry, lay.rowEntry >> 2);
    iv.set(panels.rowTerm, lay.rowTerm >> 2);
    iv.set(panels.rowBlock, lay.rowBlock >> 2);
    fv.fill(0, lay.A11 >> 3, (lay.A11 >> 3) + t0.m * t0.k * t0.k);
    fv.fill(0, lay.Apanel >> 3, (lay.Apanel >> 3) + this.nPanelRows * t0.k);
    fv.fill(0, lay.Atrail >> 3, (lay.Atrail >> 3) + this.q2 * this.q2);
    return lay;
  }

  /** A = [Z X y]'[Z X y], in the blocks of the layout (once per fit, O(n)). */
  private accumulate(panels: PanelStructure, X: Float64Array, y: Float64Array): void {
    const f = this.f64();
    const { terms, p, q2, n } = this;
    const t0 = terms[0];
    const k1 = t0.k;
    const A11 = this.lay.A11 >> 3, Ap = this.lay.Apanel >> 3, At = this.lay.Atrail >> 3;
    const nnzMax = terms.slice(1).reduce((s, t) => s + t.k, 0) + p + 1;
    const idx = new Int32Array(nnzMax);
    const val = new Float64Array(nnzMax);
    const pos = new Int32Array(nnzMax); // panel row of each trailing nonzero
    for (let r = 0; r < n; r++) {
      const j = t0.refs[r];
      const z1 = r * k1;
      for (let a = 0; a < k1; a++) {
        for (let b = 0; b < k1; b++) f[A11 + j * k1 * k1 + a * k1 + b] += t0.Z[z1 + a] * t0.Z[z1 + b];
      }
      // The row's nonzeros in the trailing block, in increasing order of trailing index.
      let nnz = 0;
      for (let t = 1; t < terms.length; t++) {
        const tm = terms[t];
        const start = this.offsets[t] + tm.refs[r] * tm.k;
        const pr = findPanelRow(panels, j, start);
        for (let a = 0; a < tm.k; a++) {
          idx[nnz] = start + a;
          val[nnz] = tm.Z[r * tm.k + a];
          pos[nnz] = pr + a;
          nnz++;
        }
      }
      const xyRow = panels.panelStart[j + 1] - (p + 1);
      for (let a = 0; a < p; a++) {
        idx[nnz] = this.nZ2 + a;
        val[nnz] = X[r * p + a];
        pos[nnz] = xyRow + a;
        nnz++;
      }
      idx[nnz] = q2 - 1;
      val[nnz] = y[r];
      pos[nnz] = xyRow + p;
      nnz++;
      for (let a = 0; a < nnz; a++) {
        const pa = Ap + pos[a] * k1;
        for (let c = 0; c < k1; c++) f[pa + c] += val[a] * t0.Z[z1 + c];
        const row = At + idx[a] * q2;
        for (let b = 0; b <= a; b++) f[row + idx[b]] += val[a] * val[b];
      }
    }
    // Only the lower triangle was accumulated; mirror it so the block sandwich can read whole rows.
    for (let r = 0; r < q2; r++) {
      for (let c = 0; c < r; c++) f[At + c * q2 + r] = f[At + r * q2 + c];
    }
  }

  /**
   * A Float64Array view of the arena, made anew only when the memory has grown (which detaches the
   * old view): the per-θ path allocates nothing.
   */
  private f64(): Float64Array {
    const buf = this.kernels.buffer();
    if (this.view?.buffer !== buf) this.view = new Float64Array(buf);
    return this.view;
  }

  /** An Int32Array view of the arena, as f64(). */
  private i32(): Int32Array {
    const buf = this.kernels.buffer();
    if (this.intView?.buffer !== buf) this.intView = new Int32Array(buf);
    return this.intView;
  }

  /** Λ(θ): θ holds each term's lower triangle column by column (lme4's order). */
  private setLambda(theta: ArrayLike<number>): void {
    const f = this.f64();
    for (let i = 0; i < this.terms.length; i++) {
      const k = this.terms[i].k;
      const base = this.lay.lambda[i] >> 3;
      f.fill(0, base, base + k * k);
      const ix = this.thetaIndex[i];
      let s = 0;
      for (let c = 0; c < k; c++) for (let r = c; r < k; r++) f[base + r * k + c] = theta[ix[s++]];
    }
    if (this.scalarTrailing) {
      const sc = this.lay.scale >> 3;
      f.fill(1, sc, sc + this.q2);
      for (let t = 1; t < this.terms.length; t++) {
        const tm = this.terms[t];
        f.fill(theta[this.thetaIndex[t][0]], sc + this.offsets[t], sc + this.offsets[t] + tm.m);
      }
    }
  }

  /**
   * Updates L for θ (the only per-θ work). Returns the pieces of the profiled objectives, or null
   * when a block is not positive definite (θ outside the model's domain numerically).
   */
  update(theta: ArrayLike<number>): Objectives | null {
    const K = this.kernels;
    const L = this.lay;
    const t0 = this.terms[0];
    if (arenaOwner.get(K) !== this) this.claimArena();
    this.setLambda(theta);
    if (K.updateBlockDiag(t0.m, t0.k, L.lambda[0], L.A11, L.L11, L.work) !== 0) return null;
    K.updatePanels(
      t0.m, t0.k, L.lambda[0], L.L11, L.panelStart, L.panelRow, L.Apanel, L.P,
      L.rowTerm, L.rowBlock, L.termK, L.termLambda, L.work,
    );
    if (this.scalarTrailing) K.sandwichScalar(this.q2, this.nZ2, L.scale, L.Atrail, L.C);
    else K.sandwichBlocks(this.q2, this.nZ2, L.rowTerm, L.rowBlock, L.termK, L.termLambda, L.Atrail, L.C);
    K.schurDowndate(t0.k, L.panelStart, L.panelRow, L.panelOf, L.rowPtr, L.rowEntry, L.P, this.q2, L.C);
    // The last pivot is r: zero only for a perfect fit, where σ̂ = 0 is outside the model.
    if (K.choleskyStrided(L.C, this.q2, this.q2) !== 0) return null;
    const r = this.f64()[(L.C >> 3) + this.q2 * this.q2 - 1];
    const pwrss = r * r;
    const logdetZ =
      2 * (K.sumLogDiagBlocks(L.L11, t0.m, t0.k) + K.sumLogDiag(L.C, this.nZ2, this.q2 + 1));
    const logdetX = 2 * K.sumLogDiag(L.C + this.nZ2 * (this.q2 + 1) * 8, this.p, this.q2 + 1);
    return { logdetZ, logdetX, pwrss };
  }

  /** Which θ entries sit on a diagonal of some λ (lower bound 0; the others are unbounded). */
  thetaLowerBounds(): number[] {
    const lower: number[] = [];
    this.terms.forEach((t) => {
      for (let c = 0; c < t.k; c++) for (let r = c; r < t.k; r++) lower.push(r === c ? 0 : -Infinity);
    });
    return lower;
  }

  /** lme4's start: 1 on the diagonals, 0 off them. */
  thetaStart(): number[] {
    return this.thetaLowerBounds().map((l) => (l === 0 ? 1 : 0));
  }

  /** λ of term t for θ (k×k row-major). */
  lambdaOf(theta: ArrayLike<number>, t: number): Float64Array {
    const k = this.terms[t].k;
    const lam = new Float64Array(k * k);
    const ix = this.thetaIndex[t];
    let s = 0;
    for (let c = 0; c < k; c++) for (let r = c; r < k; r++) lam[r * k + c] = theta[ix[s++]];
    return lam;
  }

  /**
   * Solves L' [u; β] = [c_u; c_β] with the factor of the last update (JSS eq. 19-20): β̂ first from
   * the trailing block, then u of the trailing terms, then u of the first term level by level.
   * Returns β̂, the spherical random effects u per term (m×k row-major) and (L_X L_X')⁻¹.
   */
  solve(): { beta: Float64Array; u: Float64Array[]; covBetaUnscaled: Float64Array } {
    const f = this.f64();
    const { q2, p } = this;
    const C = this.lay.C >> 3;
    const x = new Float64Array(q2 - 1);
    // Back substitution through the trailing factor: L_trail' x = (its last row).
    for (let i = q2 - 2; i >= 0; i--) {
      let s = f[C + (q2 - 1) * q2 + i];
      for (let r = i + 1; r < q2 - 1; r++) s -= f[C + r * q2 + i] * x[r];
      x[i] = s / f[C + i * q2 + i];
    }
    const beta = x.slice(this.nZ2, this.nZ2 + p);
    return { beta, u: this.randomEffects(x), covBetaUnscaled: this.invLXtLX() };
  }

  /**
   * y'y (offset subtracted) as A holds it: Σ y_r² in row order, the sum accumulate() and
   * writeResponse() make (unweighted systems; a weighted one's is Σ w z²).
   */
  responseSumOfSquares(): number {
    if (arenaOwner.get(this.kernels) !== this) this.claimArena();
    return this.f64()[(this.lay.Atrail >> 3) + this.q2 * this.q2 - 1];
  }

  /**
   * A's response column as A holds it: Z'y (all terms, in θ order, level by level), X'y and y'y,
   * offset subtracted (for a weighted system, the weighted sums).
   */
  responseCrossProducts(): { Zty: Float64Array; Xty: Float64Array; yty: number } {
    if (arenaOwner.get(this.kernels) !== this) this.claimArena();
    const f = this.f64();
    const t0 = this.terms[0], k1 = t0.k, q1 = t0.m * k1;
    const Zty = new Float64Array(q1 + this.nZ2);
    const Ap = this.lay.Apanel >> 3, ps = this.panels.panelStart;
    for (let j = 0; j < t0.m; j++) {
      const yRow = Ap + (ps[j + 1] - 1) * k1; // a panel's last row is y's
      for (let a = 0; a < k1; a++) Zty[j * k1 + a] = f[yRow + a];
    }
    const yRow = (this.lay.Atrail >> 3) + (this.q2 - 1) * this.q2;
    Zty.set(f.subarray(yRow, yRow + this.nZ2), q1);
    return { Zty, Xty: f.slice(yRow + this.nZ2, yRow + this.nZ2 + this.p), yty: f[yRow + this.q2 - 1] };
  }

  /** (L_X L_X')⁻¹ from the factor of the last update: solve()'s covBetaUnscaled without β̂ and u. */
  covBetaUnscaled(): Float64Array {
    return this.invLXtLX();
  }

  /**
   * For one iteration of penalised iteratively reweighted least squares (GLMMs): A is accumulated
   * anew with the rows scaled by the square roots of the working weights and the working response z
   * in the response column, A = [Z X z]'W[Z X z] (lme4's updateXwts before updateDecomp). The weights
   * change every iteration, so this O(n·nnz²) pass is inherent to PIRLS; update(θ) then factors
   * Λ'Z'WZΛ + I and the rest as for a linear mixed model. The arrays are copied.
   */
  reweight(sqrtw: ArrayLike<number>, z: ArrayLike<number>): void {
    if (sqrtw.length !== this.n || z.length !== this.n) {
      throw new Error(`reweight: the design has ${this.n} rows, got ${sqrtw.length} weights and ${z.length} responses`);
    }
    if (this.sqrtw === null) {
      this.sqrtw = new Float64Array(this.n);
      this.y = new Float64Array(this.n); // never the constructor's (the caller's) array
    }
    this.sqrtw.set(sqrtw);
    this.y.set(z);
    if (arenaOwner.get(this.kernels) !== this) {
      this.claimArena(); // lays out and accumulates with the new weights
      return;
    }
    const f = this.f64();
    const t0 = this.terms[0];
    const L = this.lay;
    f.fill(0, L.A11 >> 3, (L.A11 >> 3) + t0.m * t0.k * t0.k);
    f.fill(0, L.Apanel >> 3, (L.Apanel >> 3) + this.nPanelRows * t0.k);
    f.fill(0, L.Atrail >> 3, (L.Atrail >> 3) + this.q2 * this.q2);
    this.accumulateWeighted();
  }

  /** Per row and trailing term, the panel row of the row's level block (accumulate()'s searches, done once). */
  private rowPanelPos: Int32Array | null = null;

  /** Scratch columns of accumulateWeighted: √w [X z] column by column (P1 · n). */
  private weightedColumns: Float64Array | null = null;

  /**
   * A = [Z X z]'W[Z X z] for the PIRLS iterations, in the blocks of accumulate(). The rows are scaled
   * by √w once, into columns, and every block is then summed column by column (unit-stride loops over
   * the rows, with the level of each row as the only indirection): the [X z] block as dot products,
   * its products with the random-effects columns by level. The panel positions of the trailing
   * random effects are looked up once per system (accumulate() searches them per row).
   */
  private accumulateWeighted(): void {
    const { terms, p, q2, n, nZ2, X, y, offsets } = this;
    const sqrtw = this.sqrtw!;
    const T = terms.length - 1;
    const panels = this.panels;
    if (!this.rowPanelPos) {
      const pos = new Int32Array(n * T);
      for (let r = 0; r < n; r++) {
        const j = terms[0].refs[r];
        for (let t = 1; t <= T; t++) pos[r * T + t - 1] = findPanelRow(panels, j, offsets[t] + terms[t].refs[r] * terms[t].k);
      }
      this.rowPanelPos = pos;
    }
    const rowPos = this.rowPanelPos;
    const P1 = p + 1;
    const W = (this.weightedColumns ??= new Float64Array(P1 * n));
    for (let a = 0; a < p; a++) {
      const o = a * n;
      for (let r = 0; r < n; r++) W[o + r] = sqrtw[r] * X[r * p + a];
    }
    for (let r = 0; r < n; r++) W[p * n + r] = sqrtw[r] * y[r];
    const f = this.f64();
    const t0 = terms[0];
    const k1 = t0.k, refs0 = t0.refs, Z0 = t0.Z;
    const A11 = this.lay.A11 >> 3, Ap = this.lay.Apanel >> 3, At = this.lay.Atrail >> 3;
    const ps = panels.panelStart;
    // First term: its diagonal blocks and its products with [X z] (the last P1 rows of each panel).
    for (let c = 0; c < k1; c++) {
      for (let d = 0; d < k1; d++) {
        for (let r = 0; r < n; r++) {
          const w = sqrtw[r];
          f[A11 + refs0[r] * k1 * k1 + c * k1 + d] += w * Z0[r * k1 + c] * (w * Z0[r * k1 + d]);
        }
      }
      for (let a = 0; a < P1; a++) {
        const o = a * n, pa = Ap + (a - P1) * k1 + c;
        for (let r = 0; r < n; r++) f[pa + ps[refs0[r] + 1] * k1] += W[o + r] * (sqrtw[r] * Z0[r * k1 + c]);
      }
    }
    // [X z] with itself.
    for (let a = 0; a < P1; a++) {
      const row = At + (nZ2 + a) * q2 + nZ2;
      for (let b = 0; b <= a; b++) {
        let s = 0;
        const oa = a * n, ob = b * n;
        for (let r = 0; r < n; r++) s += W[oa + r] * W[ob + r];
        f[row + b] += s;
      }
    }
    // Trailing random-effects columns: with the first term (panels), with each other, with [X z].
    for (let t = 1; t <= T; t++) {
      const tm = terms[t];
      const kt = tm.k, refs = tm.refs, Zt = tm.Z, off = offsets[t];
      for (let e = 0; e < kt; e++) {
        for (let r = 0; r < n; r++) {
          const v = sqrtw[r] * Zt[r * kt + e];
          const pa = Ap + (rowPos[r * T + t - 1] + e) * k1;
          for (let c = 0; c < k1; c++) f[pa + c] += v * (sqrtw[r] * Z0[r * k1 + c]);
        }
        for (let a = 0; a < P1; a++) {
          const o = a * n, row = At + (nZ2 + a) * q2 + off + e;
          for (let r = 0; r < n; r++) f[row + refs[r] * kt] += W[o + r] * (sqrtw[r] * Zt[r * kt + e]);
        }
        for (let t2 = 1; t2 <= t; t2++) {
          const tm2 = terms[t2];
          const k2 = tm2.k, refs2 = tm2.refs, Z2 = tm2.Z, off2 = offsets[t2];
          for (let e2 = 0; e2 < (t2 === t ? e + 1 : k2); e2++) {
            for (let r = 0; r < n; r++) {
              const w = sqrtw[r];
              f[At + (off + refs[r] * kt + e) * q2 + off2 + refs2[r] * k2 + e2] += w * Zt[r * kt + e] * (w * Z2[r * k2 + e2]);
            }
          }
        }
      }
    }
    for (let r = 0; r < q2; r++) {
      for (let c = 0; c < r; c++) f[At + c * q2 + r] = f[At + r * q2 + c];
    }
  }

  /**
   * The spherical random effects with the fixed effects held at zero, from the factor of the last
   * update: L_Z' u = c_u (lme4's solveU, used when β enters through the offset). It is solve()'s back
   * substitution with β = 0. Per term (m×k row-major).
   */
  solveU(): Float64Array[] {
    const f = this.f64();
    const { q2, nZ2 } = this;
    const C = this.lay.C >> 3;
    const x = new Float64Array(q2 - 1); // the X rows stay 0
    for (let i = nZ2 - 1; i >= 0; i--) {
      let s = f[C + (q2 - 1) * q2 + i];
      for (let r = i + 1; r < nZ2; r++) s -= f[C + r * q2 + i] * x[r];
      x[i] = s / f[C + i * q2 + i];
    }
    return this.randomEffects(x);
  }

  /**
   * u per term from the trailing block's solution x (its random-effects rows, then X's: β̂, or 0 for
   * solveU): the trailing terms' u are read off x, the first term's by back substitution level by
   * level through L11 with its panel (JSS eq. 19).
   */
  private randomEffects(x: Float64Array): Float64Array[] {
    const f = this.f64();
    const iv = this.i32();
    const t0 = this.terms[0];
    const k1 = t0.k;
    const u0 = new Float64Array(t0.m * k1);
    const ps = this.lay.panelStart >> 2, pr = this.lay.panelRow >> 2, P = this.lay.P >> 3, L11 = this.lay.L11 >> 3;
    const rhs = new Float64Array(k1);
    for (let j = 0; j < t0.m; j++) {
      const r0 = iv[ps + j], r1 = iv[ps + j + 1];
      for (let c = 0; c < k1; c++) rhs[c] = f[P + (r1 - 1) * k1 + c];
      for (let r = r0; r < r1 - 1; r++) {
        const xr = x[iv[pr + r]];
        if (xr === 0) continue;
        for (let c = 0; c < k1; c++) rhs[c] -= f[P + r * k1 + c] * xr;
      }
      const l = L11 + j * k1 * k1;
      for (let c = k1 - 1; c >= 0; c--) {
        let s = rhs[c];
        for (let b = c + 1; b < k1; b++) s -= f[l + b * k1 + c] * u0[j * k1 + b];
        u0[j * k1 + c] = s / f[l + c * k1 + c];
      }
    }
    const u = [u0];
    for (let t = 1; t < this.terms.length; t++) {
      const tm = this.terms[t];
      u.push(x.slice(this.offsets[t], this.offsets[t] + tm.m * tm.k));
    }
    return u;
  }

  /** The first term's diagonal blocks of L (m × k × k, row-major) at the last update. */
  firstTermFactor(): Float64Array {
    const t0 = this.terms[0];
    const base = this.lay.L11 >> 3;
    return this.f64().slice(base, base + t0.m * t0.k * t0.k);
  }

  /**
   * The diagonal k×k blocks, one per level of every term, of (L_Z L_Z')⁻¹ = (Λ'Z'ZΛ + I)⁻¹ at the θ
   * of the last update: with σ² and Λ they give lme4's conditional variances of b (ranef(condVar)).
   * With L_Z = [L11, 0; P, L22] and S = (L22 L22')⁻¹, a first-term level's block is
   * L11_j⁻ᵀ (I + P_j' S P_j) L11_j⁻¹ and a trailing level's block is S_RR; S costs O(nZ2³) once,
   * then each level only touches the few rows of its panel.
   * Returns per term an m × k × k array.
   */
  condVarBlocks(): Float64Array[] {
    const f = this.f64();
    const iv = this.i32();
    const { nZ2 } = this;
    const S = this.trailingInverse();
    const t0 = this.terms[0];
    const k1 = t0.k;
    const out = this.terms.map((t) => new Float64Array(t.m * t.k * t.k));
    const ps = this.lay.panelStart >> 2, pr = this.lay.panelRow >> 2, P = this.lay.P >> 3, L11 = this.lay.L11 >> 3;
    const Linv = new Float64Array(k1 * k1);
    const M = new Float64Array(k1 * k1); // I + P_j' S P_j
    for (let j = 0; j < t0.m; j++) {
      lowerInverse(f, L11 + j * k1 * k1, k1, Linv);
      M.fill(0);
      for (let c = 0; c < k1; c++) M[c * k1 + c] = 1;
      const r0 = iv[ps + j];
      let r1 = r0;
      while (r1 < iv[ps + j + 1] && iv[pr + r1] < nZ2) r1++; // the panel's random-effects rows (X, y come last)
      for (let a = r0; a < r1; a++) {
        const Sa = iv[pr + a] * nZ2;
        for (let b = r0; b < r1; b++) {
          const sab = S[Sa + iv[pr + b]];
          for (let c = 0; c < k1; c++) for (let d = 0; d < k1; d++) M[c * k1 + d] += f[P + a * k1 + c] * sab * f[P + b * k1 + d];
        }
      }
      const blk = out[0];
      for (let a = 0; a < k1; a++) {
        for (let b = 0; b < k1; b++) {
          let s = 0;
          for (let c = a; c < k1; c++) for (let d = b; d < k1; d++) s += Linv[c * k1 + a] * M[c * k1 + d] * Linv[d * k1 + b];
          blk[j * k1 * k1 + a * k1 + b] = s;
        }
      }
    }
    for (let t = 1; t < this.terms.length; t++) {
      const { m, k } = this.terms[t];
      for (let l = 0; l < m; l++) {
        const s0 = this.offsets[t] + l * k;
        for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out[t][l * k * k + a * k + b] = S[(s0 + a) * nZ2 + s0 + b];
      }
    }
    return out;
  }

  /**
   * S = (L22 L22')⁻¹ for the random-effects rows of the trailing factor (dense, symmetric): first
   * L22⁻¹ row by row (row i is (e_i − Σ_k L[i,k] row_k) / L[i,i]), then S = Σ_c row_c' row_c, both
   * with contiguous inner loops.
   */
  private trailingInverse(): Float64Array {
    const f = this.f64();
    const { q2, nZ2: n } = this;
    const C = this.lay.C >> 3;
    const Li = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      const ri = i * n;
      for (let k = 0; k < i; k++) {
        const lik = f[C + i * q2 + k];
        if (lik === 0) continue;
        const rk = k * n;
        for (let c = 0; c <= k; c++) Li[ri + c] -= lik * Li[rk + c];
      }
      Li[ri + i] += 1;
      const d = f[C + i * q2 + i];
      for (let c = 0; c <= i; c++) Li[ri + c] /= d;
    }
    const S = new Float64Array(n * n);
    for (let c = 0; c < n; c++) {
      const rc = c * n;
      for (let a = 0; a <= c; a++) {
        const v = Li[rc + a];
        if (v === 0) continue;
        const ra = a * n;
        for (let b = 0; b <= a; b++) S[ra + b] += v * Li[rc + b];
      }
    }
    for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) S[b * n + a] = S[a * n + b];
    return S;
  }

  /** (L_X L_X')⁻¹ = L_X'⁻¹ L_X⁻¹ from the X block of the trailing factor. */
  private invLXtLX(): Float64Array {
    const f = this.f64();
    const { q2, p, nZ2 } = this;
    const C = this.lay.C >> 3;
    // L_X⁻¹, lower: every lower entry is written before it is read (the upper ones are never read)
    const Linv = this.lxInverse?.length === p * p ? this.lxInverse : (this.lxInverse = new Float64Array(p * p));
    for (let c = 0; c < p; c++) {
      Linv[c * p + c] = 1 / f[C + (nZ2 + c) * q2 + nZ2 + c];
      for (let r = c + 1; r < p; r++) {
        let s = 0;
        for (let k = c; k < r; k++) s += f[C + (nZ2 + r) * q2 + nZ2 + k] * Linv[k * p + c];
        Linv[r * p + c] = -s / f[C + (nZ2 + r) * q2 + nZ2 + r];
      }
    }
    const V = new Float64Array(p * p);
    for (let a = 0; a < p; a++) {
      for (let b = 0; b <= a; b++) {
        let s = 0;
        for (let k = a; k < p; k++) s += Linv[k * p + a] * Linv[k * p + b];
        V[a * p + b] = s;
        V[b * p + a] = s;
      }
    }
    return V;
  }
}

/** The inverse of a k×k lower-triangular block at f[base..] into out (also lower triangular). */
function lowerInverse(f: Float64Array, base: number, k: number, out: Float64Array): void {
  out.fill(0);
  for (let c = 0; c < k; c++) {
    out[c * k + c] = 1 / f[base + c * k + c];
    for (let r = c + 1; r < k; r++) {
      let s = 0;
      for (let i = c; i < r; i++) s += f[base + r * k + i] * out[i * k + c];
      out[r * k + c] = -s / f[base + r * k + r];
    }
  }
}

/**
 * A trailing term's Z'y into the trailing block's y row, whose term entries start at f[base]: each
 * entry a sum over the rows in increasing order (as accumulate() adds them).
 */
function writeTermY(f: Float64Array, base: number, tm: ReBlock, y: Float64Array, n: number): void {
  const k = tm.k, refs = tm.refs, Z = tm.Z;
  f.fill(0, base, base + tm.m * k);
  if (k === 1) {
    for (let r = 0; r < n; r++) f[base + refs[r]] += y[r] * Z[r];
    return;
  }
  for (let r = 0; r < n; r++) {
    const yr = y[r], o = base + refs[r] * k, z = r * k;
    for (let a = 0; a < k; a++) f[o + a] += yr * Z[z + a];
  }
}

/** Indices into θ of each term's lower-triangle entries (terms in order, column-major within a term). */
export function thetaLayout(ks: number[]): number[][] {
  let next = 0;
  return ks.map((k) => {
    const ix: number[] = [];
    for (let i = 0; i < (k * (k + 1)) / 2; i++) ix.push(next++);
    return ix;
  });
}

interface PanelStructure {
  panelStart: Int32Array; // m1 + 1
  panelRow: Int32Array; // trailing row index of every panel row, sorted within a panel
  panelOf: Int32Array; // level j of every panel row
  rowPtr: Int32Array; // q2 + 1: the panel rows landing on trailing row r are rowEntry[rowPtr[r] .. rowPtr[r+1])
  rowEntry: Int32Array;
  rowTerm: Int32Array; // q2: term of a trailing row, -1 for X and y
  rowBlock: Int32Array; // q2: first row of its level block
}

/**
 * The rows of the trailing block that each level of the first term touches: the level blocks of the
 * other terms that co-occur with it in some data row, then all of X and y (dense).
 */
function panelStructure(terms: ReBlock[], offsets: number[], q2: number, p: number): PanelStructure {
  const t0 = terms[0];
  const n = t0.refs.length;
  const nOther = terms.length - 1;
  // (level j, block start) pairs, deduplicated through a sort of j * q2 + start.
  const keys = new Float64Array(n * nOther);
  for (let t = 1; t < terms.length; t++) {
    const tm = terms[t];
    for (let r = 0; r < n; r++) keys[(t - 1) * n + r] = t0.refs[r] * q2 + offsets[t] + tm.refs[r] * tm.k;
  }
  keys.sort();
  const blockK = new Int32Array(q2);
  const rowTerm = new Int32Array(q2).fill(-1);
  const rowBlock = new Int32Array(q2);
  for (let t = 1; t < terms.length; t++) {
    const tm = terms[t];
    for (let l = 0; l < tm.m; l++) {
      const s = offsets[t] + l * tm.k;
      blockK[s] = tm.k;
      for (let a = 0; a < tm.k; a++) {
        rowTerm[s + a] = t;
        rowBlock[s + a] = s;
      }
    }
  }
  for (let r = q2 - p - 1; r < q2; r++) rowBlock[r] = r;
  const rows: number[] = [];
  const panelStart = new Int32Array(t0.m + 1);
  let kp = 0;
  for (let j = 0; j < t0.m; j++) {
    panelStart[j] = rows.length;
    let last = -1;
    while (kp < keys.length && Math.floor(keys[kp] / q2) === j) {
      const start = keys[kp] - j * q2;
      if (start !== last) {
        for (let a = 0; a < blockK[start]; a++) rows.push(start + a);
        last = start;
      }
      kp++;
    }
    for (let r = q2 - p - 1; r < q2; r++) rows.push(r);
  }
  panelStart[t0.m] = rows.length;
  const panelRow = Int32Array.from(rows);
  const panelOf = new Int32Array(panelRow.length);
  for (let j = 0; j < t0.m; j++) panelOf.fill(j, panelStart[j], panelStart[j + 1]);
  // Transpose: for each trailing row, the panel rows on it (a counting sort by trailing row).
  const rowPtr = new Int32Array(q2 + 1);
  for (const r of panelRow) rowPtr[r + 1]++;
  for (let r = 0; r < q2; r++) rowPtr[r + 1] += rowPtr[r];
  const fill = rowPtr.slice(0, q2);
  const rowEntry = new Int32Array(panelRow.length);
  panelRow.forEach((r, a) => (rowEntry[fill[r]++] = a));
  return { panelStart, panelRow, panelOf, rowPtr, rowEntry, rowTerm, rowBlock };
}

/** Position in the panel of level j of the trailing row `start` (binary search: panels are sorted). */
function findPanelRow(ps: PanelStructure, j: number, start: number): number {
  let lo = ps.panelStart[j], hi = ps.panelStart[j + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = ps.panelRow[mid];
    if (v === start) return mid;
    if (v < start) lo = mid + 1;
    else hi = mid - 1;
  }
  throw new Error(`internal: panel of level ${j} lacks row ${start}`);
}
