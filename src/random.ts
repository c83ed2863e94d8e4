// Seeded, reproducible random numbers for simulate() and the parametric bootstrap.
//
// Uniform bits: xoshiro256** (Blackman & Vigna 2018, "Scrambled linear pseudorandom number
// generators", https://prng.di.unimi.it/xoshiro256starstar.c), its 256-bit state filled from the seed
// by splitmix64 (https://prng.di.unimi.it/splitmix64.c), as the authors recommend. The 64-bit words are
// kept as two unsigned 32-bit halves and every step uses only 32-bit integer operations, so the stream is
// bit-for-bit the reference C code's on every JavaScript engine (no BigInt; test/bootstrap.test.ts checks
// the C outputs).
//
// Standard normal deviates: inversion, as R's default normal.kind = "Inversion": z = Φ⁻¹(u) with
// Wichura's AS 241 (PPND16, R's qnorm, about 1e-16 relative). u = (2k + 1)/2⁵³ from the top 52 bits k
// of one 64-bit draw, so 0 < u < 1, 1 − u is exact and the deviates are exactly symmetric; |z| ≤ 8.3.
// (R builds its u from two 32-bit draws with 27 + 32 bits; the streams are different generators anyway.)
// The tail branch of AS 241 needs log(), which JavaScript leaves to the engine (Math.log is only
// "implementation-approximated"), so a port of fdlibm's __ieee754_log is used instead: with only
// IEEE-754 +, −, ×, ÷ and sqrt (correctly rounded by the standard), the normals are the same bits on
// every platform too. Inversion costs one rational function (and for 15% of draws a log and a sqrt):
// slower than a ziggurat but exact in its distribution and simple to check.
//
// Runtime-neutral: no Node API.

const TWO32 = 4294967296;

/** splitmix64 (Vigna): the seeder of xoshiro's state. The state is a 64-bit word in two halves. */
export class SplitMix64 {
  private hi: number;
  private lo: number;
  /** The last output's halves (unsigned 32-bit). */
  outHi = 0;
  outLo = 0;

  /** `seed`: any safe integer (negative seeds are taken as their 64-bit two's complement). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer (a safe integer, |seed| < 2^53), got ${seed}`);
    this.lo = seed >>> 0;
    this.hi = Math.floor(seed / TWO32) >>> 0;
  }

  /** Advances; the 64-bit output is in (outHi, outLo). */
  next(): void {
    // state += 0x9e3779b97f4a7c15
    let lo = this.lo + 0x7f4a7c15;
    let hi = (this.hi + 0x9e3779b9 + (lo >= TWO32 ? 1 : 0)) >>> 0;
    lo >>>= 0;
    this.hi = hi;
    this.lo = lo;
    // z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9
    lo = (lo ^ ((lo >>> 30) | (hi << 2))) >>> 0;
    hi = (hi ^ (hi >>> 30)) >>> 0;
    mul64(hi, lo, 0xbf58476d, 0x1ce4e5b9);
    hi = M_HI;
    lo = M_LO;
    // z = (z ^ (z >>> 27)) * 0x94d049bb133111eb
    lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0;
    hi = (hi ^ (hi >>> 27)) >>> 0;
    mul64(hi, lo, 0x94d049bb, 0x133111eb);
    hi = M_HI;
    lo = M_LO;
    // z ^ (z >>> 31)
    this.outLo = (lo ^ ((lo >>> 31) | (hi << 1))) >>> 0;
    this.outHi = (hi ^ (hi >>> 31)) >>> 0;
  }
}

let M_HI = 0;
let M_LO = 0;

/** (ah·2³² + al)(bh·2³² + bl) mod 2⁶⁴ into (M_HI, M_LO), through 16-bit limbs (every product exact). */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1; // each < 2^32
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff); // < 3·2^16
  M_LO = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const hiLow = p11 + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + Math.floor(mid / 65536); // al·bl >> 32
  M_HI = (hiLow + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0;
}

/** xoshiro256**'s jump polynomial (2¹²⁸ steps), as 32-bit halves, low word of each 64-bit word first. */
const JUMP = [0x3cfd0aba, 0x180ec6d3, 0xf0c9392c, 0xd5a61266, 0xe03fc9aa, 0xa9582618, 0x29b1661c, 0x39abdc45];

/**
 * xoshiro256** seeded through splitmix64: the same seed gives the same stream on every platform.
 * `uniform()` is in [0, 1) with 53 random bits, `normal()` a standard normal deviate (inversion).
 */
export class Rng {
  // The state s0..s3, each as (hi, lo) unsigned 32-bit halves.
  private h0 = 0; private l0 = 0;
  private h1 = 0; private l1 = 0;
  private h2 = 0; private l2 = 0;
  private h3 = 0; private l3 = 0;
  /** The last 64-bit output's halves (unsigned 32-bit), set by next(). */
  outHi = 0;
  outLo = 0;

  /** `seed`: any safe integer. */
  constructor(seed: number) {
    const sm = new SplitMix64(seed);
    sm.next(); this.h0 = sm.outHi; this.l0 = sm.outLo;
    sm.next(); this.h1 = sm.outHi; this.l1 = sm.outLo;
    sm.next(); this.h2 = sm.outHi; this.l2 = sm.outLo;
    sm.next(); this.h3 = sm.outHi; this.l3 = sm.outLo;
  }

  /** A copy continuing the same stream independently. */
  clone(): Rng {
    const r = Object.create(Rng.prototype) as Rng;
    Object.assign(r, this);
    return r;
  }

  /** Advances one step; the 64-bit output is in (outHi, outLo). */
  next(): void {
    const h1 = this.h1, l1 = this.l1;
    // result = rotl(s1 * 5, 7) * 9, with x*5 = (x << 2) + x and x*9 = (x << 3) + x
    let lo = ((l1 << 2) >>> 0) + l1;
    let hi = (((h1 << 2) | (l1 >>> 30)) + h1 + (lo >= TWO32 ? 1 : 0)) >>> 0;
    lo >>>= 0;
    const rh = ((hi << 7) | (lo >>> 25)) >>> 0, rl = ((lo << 7) | (hi >>> 25)) >>> 0;
    lo = ((rl << 3) >>> 0) + rl;
    this.outHi = (((rh << 3) | (rl >>> 29)) + rh + (lo >= TWO32 ? 1 : 0)) >>> 0;
    this.outLo = lo >>> 0;
    // t = s1 << 17
    const th = ((h1 << 17) | (l1 >>> 15)) >>> 0, tl = (l1 << 17) >>> 0;
    this.h2 = (this.h2 ^ this.h0) >>> 0; this.l2 = (this.l2 ^ this.l0) >>> 0;
    this.h3 = (this.h3 ^ h1) >>> 0; this.l3 = (this.l3 ^ l1) >>> 0;
    this.h1 = (h1 ^ this.h2) >>> 0; this.l1 = (l1 ^ this.l2) >>> 0;
    this.h0 = (this.h0 ^ this.h3) >>> 0; this.l0 = (this.l0 ^ this.l3) >>> 0;
    this.h2 = (this.h2 ^ th) >>> 0; this.l2 = (this.l2 ^ tl) >>> 0;
    // s3 = rotl(s3, 45) = rotl(swap halves, 13)
    const h3 = this.h3, l3 = this.l3;
    this.h3 = ((l3 << 13) | (h3 >>> 19)) >>> 0;
    this.l3 = ((h3 << 13) | (l3 >>> 19)) >>> 0;
  }

  /** The next 64-bit output as a 16-digit hexadecimal string (for checks against the reference code). */
  nextHex(): string {
    this.next();
    return this.outHi.toString(16).padStart(8, "0") + this.outLo.toString(16).padStart(8, "0");
  }

  /** Uniform on [0, 1): the top 53 bits of one draw, times 2⁻⁵³. */
  uniform(): number {
    this.next();
    return (this.outHi * 2097152 + (this.outLo >>> 11)) / 9007199254740992;
  }

  /** Uniform on (0, 1), never 0 or 1: (2k + 1)/2⁵³ with k the top 52 bits of one draw. */
  uniformOpen(): number {
    this.next();
    return ((this.outHi * 1048576 + (this.outLo >>> 12)) * 2 + 1) / 9007199254740992;
  }

  /** A standard normal deviate by inversion, Φ⁻¹(uniformOpen()). */
  normal(): number {
    return qnorm(this.uniformOpen());
  }

  /** Fills out[start, end) with standard normal deviates. */
  fillNormal(out: Float64Array, start = 0, end = out.length): Float64Array {
    for (let i = start; i < end; i++) out[i] = qnorm(this.uniformOpen());
    return out;
  }

  /** Advances `count` steps (one per uniform or normal deviate), e.g. to a replicate's place in the stream. */
  skip(count: number): void {
    for (let i = 0; i < count; i++) this.next();
  }

  /**
   * Jumps 2¹²⁸ steps ahead (the reference jump()): successive jumps of one seed give non-overlapping
   * streams, e.g. one per worker of a parallel bootstrap.
   */
  jump(): void {
    let a0 = 0, b0 = 0, a1 = 0, b1 = 0, a2 = 0, b2 = 0, a3 = 0, b3 = 0; // hi, lo of s0..s3
    for (let w = 0; w < 8; w++) {
      const word = JUMP[w];
      for (let b = 0; b < 32; b++) {
        if ((word >>> b) & 1) {
          a0 ^= this.h0; b0 ^= this.l0; a1 ^= this.h1; b1 ^= this.l1;
          a2 ^= this.h2; b2 ^= this.l2; a3 ^= this.h3; b3 ^= this.l3;
        }
        this.next();
      }
    }
    this.h0 = a0 >>> 0; this.l0 = b0 >>> 0; this.h1 = a1 >>> 0; this.l1 = b1 >>> 0;
    this.h2 = a2 >>> 0; this.l2 = b2 >>> 0; this.h3 = a3 >>> 0; this.l3 = b3 >>> 0;
  }
}

/** A random seed (when the caller gives none): 53 bits from Math.random. Not reproducible, as R without set.seed. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 21) * TWO32 + Math.floor(Math.random() * TWO32);
}

// ---------------------------------------------------------------------------------------------------
// log and the normal quantile, with IEEE-754 arithmetic only

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE ? 1 : 0;
const LO = LITTLE ? 0 : 1;

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const TWO54 = 1.80143985094819840000e16;
const LG1 = 6.666666666666735130e-1;
const LG2 = 3.999999999940941908e-1;
const LG3 = 2.857142874366239149e-1;
const LG4 = 2.222219843214978396e-1;
const LG5 = 1.818357216161805012e-1;
const LG6 = 1.531383769920937332e-1;
const LG7 = 1.479819860511658591e-1;

/**
 * The natural logarithm, a port of fdlibm 5.3's __ieee754_log (e_log.c; error < 1 ulp). V8 and
 * SpiderMonkey derive their Math.log from the same code, so there the results agree bit for bit.
 */
export function log(x: number): number {
  F64[0] = x;
  let hx = U32[HI] | 0;
  const lx = U32[LO];
  let k = 0;
  if (hx < 0x00100000) {
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity; // log(±0)
    if (hx < 0) return NaN; // log(negative)
    k -= 54; // subnormal: scale up
    x *= TWO54;
    F64[0] = x;
    hx = U32[HI] | 0;
  }
  if (hx >= 0x7ff00000) return x + x; // Inf or NaN
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i0 = (hx + 0x95f64) & 0x100000;
  U32[HI] = hx | (i0 ^ 0x3ff00000); // normalise x or x/2
  x = F64[0];
  k += i0 >> 20;
  const f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) {
    // |f| < 2^-20
    if (f === 0) return k === 0 ? 0 : k * LN2_HI + k * LN2_LO;
    const R = f * f * (0.5 - 0.33333333333333333 * f);
    return k === 0 ? f - R : k * LN2_HI - (R - k * LN2_LO - f);
  }
  const s = f / (2.0 + f);
  const dk = k;
  const z = s * s;
  let i = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  i |= j;
  const R = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    return k === 0 ? f - (hfsq - s * (hfsq + R)) : dk * LN2_HI - (hfsq - (s * (hfsq + R) + dk * LN2_LO) - f);
  }
  return k === 0 ? f - s * (f - R) : dk * LN2_HI - (s * (f - R) - dk * LN2_LO - f);
}

/**
 * The standard normal quantile Φ⁻¹(p), Wichura's AS 241 (PPND16) as R's qnorm (about 1e-16 relative),
 * with the log above so it is the same on every platform.
 */
export function qnorm(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r + 67265.770927008700853) * r + 45921.953931549871457) * r +
          13731.693765509461125) * r + 1971.5909503065514427) * r + 133.14166789178437745) * r + 3.387132872796366608)) /
      (((((((r * 5226.495278852545925 + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) * r +
        5394.1960214247511077) * r + 687.1870074920579083) * r + 42.313330701600911252) * r + 1)
    );
  }
  let r = q < 0 ? p : 1 - p;
  r = Math.sqrt(-log(r));
  let v: number;
  if (r <= 5) {
    r -= 1.6;
    v =
      (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r + 0.24178072517745061177) * r + 1.27045825245236838258) * r +
        3.64784832476320460504) * r + 5.7694972214606914055) * r + 4.6303378461565452959) * r + 1.42343711074968357734) /
      (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r + 0.14810397642748007459) * r +
        0.68976733498510000455) * r + 1.6763848301838038494) * r + 2.05319162663775882187) * r + 1);
  } else {
    r -= 5;
    v =
      (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r + 0.026532189526576123093) * r +
        0.29656057182850489123) * r + 1.7848265399172913358) * r + 5.4637849111641143699) * r + 6.6579046435011037772) /
      (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r +
        0.0148753612908506148525) * r + 0.13692988092273580531) * r + 0.59983220655588793769) * r + 1);
  }
  return q < 0 ? -v : v;
}
