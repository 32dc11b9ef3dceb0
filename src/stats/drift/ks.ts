// p-values of the two-sample Kolmogorov–Smirnov statistic, following scipy.stats.ks_2samp with
// method='auto' (SciPy 1.17) step for step, so a drift report and a notebook agree:
//   - exact when both samples have at most 10,000 values: the lattice-path counts of Hodges
//     (1958), with Viehmann's (2021) recursion for 1 − p, and the square case in closed form;
//   - otherwise, or if the exact count fails numerically, the one-sample distribution at
//     n = round(n₁n₂/(n₁+n₂)) (scipy.stats.kstwo.sf), computed with the method choices of
//     Simard & L'Ecuyer (2011): Durbin's matrix in the Marsaglia–Tsang–Wang form, Pomeranz's
//     recursion, the Pelz–Good series, or twice the one-sided Smirnov tail.
// One deliberate difference: an exact count that would take more than 5e7 lattice steps (both
// samples near 10,000 and a huge D) falls back to the asymptotic form, whose p is then far below
// any threshold anyway.

export type KsMethod = 'auto' | 'exact' | 'asymptotic';

export interface KsPValue {
  /** D, rounded to the lattice (h / lcm) when computed exactly, as SciPy reports it. */
  readonly statistic: number;
  readonly pValue: number;
  readonly method: 'exact' | 'asymptotic';
}

const MAX_AUTO_N = 10_000;
const MAX_EXACT_STEPS = 5e7;
const INT32_MAX = 2147483647;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const LOG_2PI = Math.log(2 * Math.PI);
const MIN_LOG = -708.3964185322641; // ln of the smallest normal double
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
// Stirling series coefficients B_2j / (2j (2j − 1)) for j = 8 … 1 (SciPy's _STIRLING_COEFFS).
const STIRLING = [-3617 / 122400, 1 / 156, -691 / 360360, 1 / 1188, -1 / 1680, 1 / 1260, -1 / 360, 1 / 12] as const;

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** numpy.round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** x · 2^e without overflowing the power on the way. */
function ldexp(x: number, e: number): number {
  let value = x;
  let exponent = e;
  while (exponent > 1000) {
    value *= 2 ** 1000;
    exponent -= 1000;
  }
  while (exponent < -1000) {
    value *= 2 ** -1000;
    exponent += 1000;
  }
  return value * 2 ** exponent;
}

// ---------------------------------------------------------------------------------------------
// Exact two-sample distribution

// P(D ≥ h/n) for equal sizes: 2 Σ (−1)^(k+1) C(2n, n − kh) / C(2n, n) in a Horner-like form.
function probabilityOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

// Proportion of lattice paths from (0,0) to (m,n) leaving |x/m − y/n| < h/lcm, computed directly
// as 1 − p (Viehmann's recursion) over a sliding window of one column.
function outerProbabilityInside(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  // The recursion val ← (A·i + val·j) / (i + j) is a chain of dependent operations, so it is
  // written as val ← c + d·val with c and d formed off the chain, and with a tabled 1/(i + j)
  // instead of a division: about three times faster, rounding within ~1e-16 a step of SciPy's.
  const reciprocal = new Float64Array(m + n + 1);
  for (let k = 1; k <= m + n; k++) reciprocal[k] = 1 / k;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      const r = reciprocal[i + j]!;
      val = A[jj + minj - lastminj]! * i * r + j * r * val;
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

function attemptExact(n1: number, n2: number, d: number): { statistic: number; pValue: number; ok: boolean } {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1, ok: true };
  if (n1 !== n2) {
    const steps = Math.max(n1, n2) * ((2 * h) / (Math.max(n1, n2) / g) + 2);
    if (steps > MAX_EXACT_STEPS) return { statistic, pValue: Number.NaN, ok: false };
  }
  const pValue = n1 === n2 ? probabilityOutsideSquare(n1, h) : outerProbabilityInside(n1, n2, g, h);
  return { statistic, pValue, ok: Number.isFinite(pValue) && pValue >= 0 && pValue <= 1 };
}

// ---------------------------------------------------------------------------------------------
// One-sample two-sided distribution, scipy.stats.kstwo (scipy/stats/_ksstats.py)

function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

function matmul(a: Float64Array, b: Float64Array, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < size; k++) {
      const aik = a[i * size + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < size; j++) out[i * size + j]! += aik * b[k * size + j]!;
    }
  }
  return out;
}

// Durbin's matrix algorithm as Marsaglia, Tsang & Wang (2003) evaluate it: P(D_n ≤ d).
function kolmogornDurbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j;
    v[j - 1]! *= fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)]!;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let power: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let nn = n;
  let exponent = 0;
  let hExponent = 0;
  while (nn > 0) {
    if (nn % 2 === 1) {
      power = matmul(power, H, m);
      exponent += hExponent;
    }
    H = matmul(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > EP128) {
      for (let i = 0; i < H.length; i++) H[i]! /= EP128;
      hExponent += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      exponent -= 128;
    }
  }
  if (exponent !== 0) p = ldexp(p, exponent);
  return clip01(p);
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

// Pomeranz (1974) recursion: P(D_n ≤ x).
function kolmogornPomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * gOverN) / m;
    twogpower[m] = (twogpower[m - 1]! * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 === 1 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // np.convolve(V0[k1 − V0s : k1 − V0s + ln2], pwrs[:ln2]), keeping conv[j1 − k1 : j2 − k1 + 1].
      const start = k1 - V0s;
      const aLength = Math.max(0, Math.min(ln2, npwrs - start));
      const bLength = Math.min(ln2, npwrs);
      const convStart = j1 - k1;
      const convLength = j2 - j1 + 1;
      let maxValue = 0;
      for (let c = 0; c < convLength; c++) {
        const index = convStart + c;
        let total = 0;
        const low = Math.max(0, index - (bLength - 1));
        const high = Math.min(aLength - 1, index);
        for (let a = low; a <= high; a++) total += V0[start + a]! * pwrs[index - a]!;
        V1[c] = total;
        if (total > maxValue) maxValue = total;
      }
      if (maxValue > 0 && maxValue < EM128) {
        for (let c = 0; c < npwrs; c++) V1[c]! *= EP128;
        exponent -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let answer = V1[n - V1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > EP128) {
      answer *= EM128;
      exponent += 128;
    }
    answer *= m;
  }
  if (exponent !== 0) answer = ldexp(answer, exponent);
  return clip01(answer);
}

// Pelz & Good (1976): the Li-Chien/Korolyuk expansion rewritten for small z. P(D_n ≤ x).
function kolmogornPelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI_SQUARED / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * z2)) / 16;
  const k3d = (PI_SIX * (5 - 30 * z2)) / 64;
  const k3c = (PI_FOUR * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI_SQUARED * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = q ** (8 * k);
    K[0] = K[0]! * qpower + 1;
    K[1] = K[1]! * qpower + (k1a + k1b * m2);
    K[2] = K[2]! * qpower + (k2a + k2b * m2 + k2c * m4);
    K[3] = K[3]! * qpower + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * SQRT_2PI) / divisors[i]!;
  q = Math.exp(-PI_SQUARED / 2 / z2);
  const sqrt3z = SQRT3 * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    k2extra += k2 * qp;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  K[2] = K[2]! + (k2extra * PI_SQUARED * SQRT_2PI) / (-36 * z3);
  K[3] = K[3]! + (k3extra * PI_SQUARED * SQRT_2PI) / (216 * z6);
  return K[0]! + K[1]! / Math.sqrt(n) + K[2]! / n + K[3]! / n ** 1.5;
}

/** One-sided Smirnov tail P(D⁺_n ≥ x), by the Birnbaum–Tingey sum (cephes/xsf `smirnov`). */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  const nxfl = Math.floor(nx);
  const alpha = nx - nxfl;
  let lastTerm = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) lastTerm -= 1;
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) return clip01(1 - x * (1 + x) ** (n - 1));
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxfl >= n - 1) return (1 - x) ** n;
  if (n > 1_000_000) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : clip01(1 + Math.expm1(logp));
  }
  // sf = x Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (1 − x − v/n)^(n−v) (x + v/n)^(v−1), each term in logs.
  const nTerms = lastTerm + 1;
  const vmid = Math.floor(n / 2);
  let sum = Math.exp(n * Math.log1p(-x) - Math.log(x));
  let logBinomial = 0;
  for (let v = 1; v < nTerms; v++) {
    logBinomial += Math.log((n - v + 1) / v);
    const t2x = (n - v) / n - x;
    const t1x = v / n + x;
    const term = Math.exp(logBinomial + (n - v) * Math.log(t2x) + (v - 1) * Math.log(t1x));
    sum += term;
    if (term !== 0) {
      if (4 * (nTerms - v) * term < Number.EPSILON * sum && v !== nTerms - 1) break;
    } else if (v > vmid) {
      break;
    }
  }
  return clip01(x * sum);
}

/** P(D_n ≥ x) for the two-sided one-sample statistic (scipy.stats.kstwo.sf(x, n)). */
export function kolmogorovSmirnovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: for 1/(2n) ≤ x ≤ 1/n the CDF is n!/n^n (2t − 1)^n.
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1);
    } else {
      cdf = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip01(1 - kolmogornDurbinCdf(n, x));
    if (nxSquared <= 4) return clip01(1 - kolmogornPomeranzCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nxSquared >= 18) cdf = 1;
  else if (n <= 100_000 && n * x ** 1.5 <= 1.4) cdf = kolmogornDurbinCdf(n, x);
  else cdf = kolmogornPelzGoodCdf(n, x);
  return clip01(1 - cdf);
}

/**
 * p-value of a two-sample, two-sided KS statistic `d` (in [0, 1]) from samples of n1 and n2 values
 * (positive integers), choosing the method as scipy.stats.ks_2samp does. A low-level function:
 * ksTwoSample and detectDrift validate their inputs before calling it.
 */
export function ksTwoSamplePValue(d: number, n1: number, n2: number, method: KsMethod = 'auto'): KsPValue {
  let mode: 'exact' | 'asymptotic' = method === 'auto' ? (Math.max(n1, n2) <= MAX_AUTO_N ? 'exact' : 'asymptotic') : method;
  let statistic = d;
  if (mode === 'exact') {
    const g = gcd(n1, n2);
    if (n1 / g >= INT32_MAX / (n2 / g)) {
      mode = 'asymptotic';
    } else {
      const exact = attemptExact(n1, n2, d);
      statistic = exact.statistic;
      if (exact.ok) return { statistic, pValue: clip01(exact.pValue), method: 'exact' };
      mode = 'asymptotic';
    }
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const effective = Math.max(1, roundHalfEven((m * n) / (m + n)));
  return { statistic, pValue: clip01(kolmogorovSmirnovSf(effective, statistic)), method: 'asymptotic' };
}
