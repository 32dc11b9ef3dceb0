// A seeded random source whose whole state is plain JSON. Temporal replays workflow code and
// requires it to be deterministic, so anything random the workflow decides (bandit allocation,
// reservoir samples) draws from here: the state goes into the function and comes back out, and a
// replay that starts from the same state draws the same numbers. Math.random is never used.
//
// Generator: xoshiro128** (Blackman & Vigna), 128 bits of state in four 32-bit words, period
// 2^128 − 1, fast on 32-bit integer arithmetic. Seeds are spread over the state with splitmix32.

/** The generator's complete state: store it, send it, replay from it. */
export interface RandomState {
  readonly algorithm: 'xoshiro128**';
  readonly words: readonly [number, number, number, number];
}

/** A live generator built from a RandomState. Transient: keep `state()`, not the object. */
export interface RandomSource {
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Gamma(shape, scale 1), shape > 0: Marsaglia & Tsang (2000). */
  gamma(shape: number): number;
  /** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number;
  /** Chi-square with k degrees of freedom: 2 · Gamma(k/2). */
  chiSquare(k: number): number;
  /** Binomial(n, p) by sequential inversion: O(n·min(p, 1−p)) expected work, meant for modest n. */
  binomial(n: number, p: number): number;
  /** Uniform integer in [0, bound). */
  integer(bound: number): number;
  /** Snapshot of the current state. */
  state(): RandomState;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

// FNV-1a over the seed's text, so 1, 1.5 and "1" give different streams and strings work as seeds.
function hashSeed(seed: number | string): number {
  const text = typeof seed === 'number' ? `n:${seed}` : `s:${seed}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A fresh state from a number or string seed. Same seed, same stream. */
export function seedRandom(seed: number | string): RandomState {
  const next = splitmix32(hashSeed(seed));
  const words: [number, number, number, number] = [next(), next(), next(), next()];
  if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1; // the all-zero state is a fixed point
  return { algorithm: 'xoshiro128**', words };
}

/** True when `value` is a usable RandomState (for validating state read back from storage). */
export function isRandomState(value: unknown): value is RandomState {
  if (value === null || typeof value !== 'object') return false;
  const { algorithm, words } = value as { algorithm?: unknown; words?: unknown };
  return (
    algorithm === 'xoshiro128**' &&
    Array.isArray(words) &&
    words.length === 4 &&
    words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
    words.some((w) => w !== 0)
  );
}

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

class Xoshiro128 implements RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: RandomState) {
    [this.s0, this.s1, this.s2, this.s3] = state.words;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  uniform(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * TWO_POW_26 + low) / TWO_POW_53;
  }

  normal(): number {
    // Box–Muller, one output per call: a cached second value would be hidden state outside RandomState.
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) return Number.NaN;
    if (shape < 1) {
      // Boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
      let u = this.uniform();
      while (u === 0) u = this.uniform();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2) return d * v;
      if (u > 0 && Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    const sum = x + y;
    return sum > 0 ? x / sum : a / (a + b);
  }

  chiSquare(k: number): number {
    return 2 * this.gamma(k / 2);
  }

  binomial(n: number, p: number): number {
    if (!Number.isInteger(n) || n < 0 || !(p >= 0 && p <= 1)) return Number.NaN;
    if (n === 0 || p === 0) return 0;
    if (p === 1) return n;
    if (p > 0.5) return n - this.binomial(n, 1 - p);
    // Inversion: walk the CDF from 0 with the pmf recurrence f(k+1) = f(k)·(n−k)/(k+1)·p/(1−p).
    const ratio = p / (1 - p);
    let u = this.uniform();
    let pmf = Math.pow(1 - p, n);
    if (pmf === 0) {
      // (1 − p)^n underflowed (huge n): sum Bernoulli draws instead.
      let count = 0;
      for (let i = 0; i < n; i++) if (this.uniform() < p) count++;
      return count;
    }
    for (let k = 0; k < n; k++) {
      if (u < pmf) return k;
      u -= pmf;
      pmf *= ((n - k) / (k + 1)) * ratio;
    }
    return n;
  }

  integer(bound: number): number {
    return Math.floor(this.uniform() * bound);
  }

  state(): RandomState {
    return { algorithm: 'xoshiro128**', words: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0] };
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Builds a generator that continues from `state`. */
export function createRandomSource(state: RandomState): RandomSource {
  return new Xoshiro128(state);
}
