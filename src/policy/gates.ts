// Canary analysis in the style of Argo Rollouts: metric windows come in (I/O lives in activities),
// a pure evaluation says successful / failed / inconclusive / error with the numbers behind it.
import { chiSquareHomogeneity, psiFromShares } from '../stats/index.js';
import type { CanaryGates, RolloutPolicy } from './schema.js';

export type GateVerdict = 'successful' | 'failed' | 'inconclusive' | 'error';

/** One version's traffic over an analysis window, measured by the same query for both versions. */
export interface VersionWindow {
  requests: number;
  errors: number;
  /** null when the window holds no successful request */
  p99LatencyMs: number | null;
  /**
   * Counts of the version's scores on bins both versions share, as the window's shift measure
   * sets them: equal-width bins over [0, 1] (a probability, or the first output), quantile bins
   * (a regression prediction) or one bin per class index (multiclass).
   */
  predictionHistogram: number[];
}

/**
 * What the prediction-shift gate compares, chosen from the model's contract:
 *  - probability: a binary classifier's P(positive class), 10 equal-width bins on [0, 1];
 *  - regression: the prediction, on bins at quantiles of the baseline (its reference profile's
 *    score bins when it has them, else the baseline's own scores in the window), plus a bin for
 *    predictions above the baseline's largest (and, from the window, below its smallest);
 *  - class_mix: a multiclass classifier's predicted class, counts per class index;
 *  - first_output: no contract, or no scores logged yet: the first output on [0, 1], as before
 *    contracts existed (old logs and old models keep their gate).
 */
export type ShiftMeasure = 'probability' | 'regression' | 'class_mix' | 'first_output';

export interface ShiftSpec {
  measure: ShiftMeasure;
  /** How the bins were set, for the gate's reason (e.g. "bins at the baseline's reference-profile quantiles"). */
  bins: string;
}

/** `shift` is absent in windows measured before contracts (their histograms are of the first output). */
export interface CanaryWindow { baseline: VersionWindow; candidate: VersionWindow; shift?: ShiftSpec }

export interface GateCheck { gate: string; verdict: GateVerdict; observed: number | null; limit: number; reason: string }

export interface GateEvaluation {
  verdict: GateVerdict;
  reason: string;
  checks: GateCheck[];
  numbers: Record<string, number | null>;
}

/** PSI between two count histograms on the same bins (the stats engine floors empty bins). */
export function histogramPsi(expected: number[], actual: number[]): number | null {
  const totalE = expected.reduce((a, b) => a + b, 0);
  const totalA = actual.reduce((a, b) => a + b, 0);
  if (!(totalE > 0) || !(totalA > 0)) return null;
  const result = psiFromShares(expected.map((x) => x / totalE), actual.map((x) => x / totalA));
  return result.ok ? result.psi : null;
}

/**
 * PSI between two class-count histograms. A class neither version predicted adds nothing; a class
 * only one version predicted counts as half an observation for the other (a half-count floor
 * instead of the fixed 1e-4 share), so one stray prediction of a rare class in a small window
 * cannot blow the PSI up on its own, while a real change of the class mix still does.
 */
export function classMixPsi(expected: number[], actual: number[]): number | null {
  const totalE = expected.reduce((a, b) => a + b, 0);
  const totalA = actual.reduce((a, b) => a + b, 0);
  if (!(totalE > 0) || !(totalA > 0)) return null;
  let psi = 0;
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected[i] ?? 0;
    const a = actual[i] ?? 0;
    if (e === 0 && a === 0) continue;
    const pe = Math.max(e, 0.5) / totalE;
    const pa = Math.max(a, 0.5) / totalA;
    psi += (pa - pe) * Math.log(pa / pe);
  }
  return psi;
}

/** What the shift gate calls its PSI in a reason, per measure. */
const SHIFT_NAMES: Record<ShiftMeasure, string> = {
  probability: 'probability PSI', regression: 'prediction PSI', class_mix: 'class-mix PSI', first_output: 'prediction PSI',
};

/** The shift gate's PSI for the window's measure, and (class mix) the chi-square p-value beside it. */
export function shiftStatistics(window: CanaryWindow): { psi: number | null; chiSquareP: number | null } {
  const measure = window.shift?.measure ?? 'first_output';
  const { baseline, candidate } = window;
  if (measure !== 'class_mix') return { psi: histogramPsi(baseline.predictionHistogram, candidate.predictionHistogram), chiSquareP: null };
  const width = Math.max(baseline.predictionHistogram.length, candidate.predictionHistogram.length);
  const pad = (h: number[]) => Array.from({ length: width }, (_, i) => h[i] ?? 0);
  // Reported, not gated: with thousands of requests any tiny change is "significant", so the
  // gate's limit stays a PSI, the same knob as for the other tasks.
  const chi = chiSquareHomogeneity(pad(baseline.predictionHistogram), pad(candidate.predictionHistogram));
  return { psi: classMixPsi(baseline.predictionHistogram, candidate.predictionHistogram), chiSquareP: chi.ok ? chi.pValue : null };
}

function validWindow(w: VersionWindow): boolean {
  return Number.isFinite(w.requests) && Number.isFinite(w.errors) && w.requests >= 0 && w.errors >= 0 && w.errors <= w.requests;
}

/**
 * Evaluates one analysis window against the canary gates. Any failed check fails the window; too
 * little candidate traffic makes it inconclusive rather than successful.
 */
export function evaluateCanaryWindow(window: CanaryWindow, gates: CanaryGates): GateEvaluation {
  const { baseline, candidate } = window;
  if (!validWindow(baseline) || !validWindow(candidate)) {
    return { verdict: 'error', reason: 'metric window is malformed (negative or inconsistent counts)', checks: [], numbers: {} };
  }
  const candidateErrorRate = candidate.requests > 0 ? candidate.errors / candidate.requests : null;
  const baselineErrorRate = baseline.requests > 0 ? baseline.errors / baseline.requests : null;
  const p99Ratio = candidate.p99LatencyMs !== null && baseline.p99LatencyMs !== null && baseline.p99LatencyMs > 0
    ? candidate.p99LatencyMs / baseline.p99LatencyMs : null;
  const { psi, chiSquareP } = shiftStatistics(window);
  const measure = window.shift?.measure ?? 'first_output';
  const numbers: Record<string, number | null> = {
    candidateRequests: candidate.requests, candidateErrors: candidate.errors, candidateErrorRate,
    baselineRequests: baseline.requests, baselineErrors: baseline.errors, baselineErrorRate,
    candidateP99Ms: candidate.p99LatencyMs, baselineP99Ms: baseline.p99LatencyMs, p99Ratio, predictionPsi: psi,
    ...(measure === 'class_mix' ? { classMixChiSquareP: chiSquareP } : {}),
  };

  const checks: GateCheck[] = [];
  // An error spike is decisive even on little traffic: it only needs a handful of failures.
  if (candidateErrorRate !== null) {
    checks.push(candidateErrorRate > gates.maxErrorRate && candidate.errors >= 3
      ? { gate: 'error_rate', verdict: 'failed', observed: candidateErrorRate, limit: gates.maxErrorRate, reason: `candidate error rate ${pct(candidateErrorRate)} > ${pct(gates.maxErrorRate)}` }
      : { gate: 'error_rate', verdict: 'successful', observed: candidateErrorRate, limit: gates.maxErrorRate, reason: `candidate error rate ${pct(candidateErrorRate)}` });
    if (baselineErrorRate !== null) {
      const delta = candidateErrorRate - baselineErrorRate;
      checks.push(delta > gates.maxErrorRateDelta && candidate.errors >= 3
        ? { gate: 'error_rate_delta', verdict: 'failed', observed: delta, limit: gates.maxErrorRateDelta, reason: `candidate errors exceed baseline by ${pct(delta)}` }
        : { gate: 'error_rate_delta', verdict: 'successful', observed: delta, limit: gates.maxErrorRateDelta, reason: `error rate delta ${pct(delta)}` });
    }
  }
  const enough = candidate.requests - candidate.errors >= gates.minRequests && baseline.requests - baseline.errors >= gates.minRequests;
  if (!enough) {
    checks.push({ gate: 'min_requests', verdict: 'inconclusive', observed: candidate.requests, limit: gates.minRequests,
      reason: `only ${candidate.requests} candidate and ${baseline.requests} baseline requests (need ${gates.minRequests} successful each)` });
  } else {
    if (p99Ratio !== null) {
      checks.push(p99Ratio > gates.maxP99LatencyRatio
        ? { gate: 'p99_latency', verdict: 'failed', observed: p99Ratio, limit: gates.maxP99LatencyRatio, reason: `candidate p99 is ${p99Ratio.toFixed(2)}× baseline` }
        : { gate: 'p99_latency', verdict: 'successful', observed: p99Ratio, limit: gates.maxP99LatencyRatio, reason: `p99 ratio ${p99Ratio.toFixed(2)}` });
    }
    const predictions = (w: VersionWindow) => w.predictionHistogram.reduce((a, b) => a + b, 0);
    if (psi !== null && Math.min(predictions(candidate), predictions(baseline)) >= gates.minPredictionSamples) {
      const gate = measure === 'class_mix' ? 'class_mix' : 'prediction_shift';
      const name = SHIFT_NAMES[measure];
      const bins = measure === 'regression' && window.shift ? ` (${window.shift.bins})` : '';
      checks.push(psi > gates.maxPredictionPsi
        ? { gate, verdict: 'failed', observed: psi, limit: gates.maxPredictionPsi, reason: `${name} ${psi.toFixed(3)} > ${gates.maxPredictionPsi}${bins}` }
        : { gate, verdict: 'successful', observed: psi, limit: gates.maxPredictionPsi, reason: `${name} ${psi.toFixed(3)}${bins}` });
    }
  }
  const failed = checks.filter((c) => c.verdict === 'failed');
  if (failed.length > 0) return { verdict: 'failed', reason: failed.map((c) => c.reason).join('; '), checks, numbers };
  const inconclusive = checks.find((c) => c.verdict === 'inconclusive');
  if (inconclusive) return { verdict: 'inconclusive', reason: inconclusive.reason, checks, numbers };
  return { verdict: 'successful', reason: checks.map((c) => c.reason).join('; ') || 'all gates passed', checks, numbers };
}

/**
 * What the shadow phase measured: mirrored requests compared, and how many agreed; `rule` says how
 * agreement was judged (same class at the contract's threshold, same top class, or a regression
 * prediction within the tolerance), absent in windows measured before contracts.
 */
export interface ShadowWindow { compared: number; agreed: number; agreement: number; shadowErrors: number; rule?: string }

export type ShadowGate = Pick<NonNullable<RolloutPolicy['shadow']>, 'minAgreement'>;

export interface ShadowEvaluation {
  verdict: Exclude<GateVerdict, 'error'>;
  /** The numbers in one line, for the rollout's record. */
  reason: string;
  /** Why the rollout rolls back; null unless the verdict is failed. */
  failure: string | null;
}

/**
 * The shadow phase's verdict: the candidate's answers must agree with the primary's on at least
 * `minAgreement` of the mirrored requests. No mirrored request at all proves nothing either way,
 * so it is inconclusive (the rollout goes on to the canary, whose gates see real traffic).
 */
export function evaluateShadowWindow(window: ShadowWindow, gate: ShadowGate): ShadowEvaluation {
  const agreement = `${(window.agreement * 100).toFixed(1)}%`;
  const floor = `${(gate.minAgreement * 100).toFixed(0)}%`;
  const reason = `agreement ${agreement} over ${window.compared} mirrored requests (${window.rule ? `${window.rule}; ` : ''}floor ${floor})`;
  if (window.compared === 0) return { verdict: 'inconclusive', reason, failure: null };
  if (window.agreement >= gate.minAgreement) return { verdict: 'successful', reason, failure: null };
  return { verdict: 'failed', reason, failure: `shadow agreement ${agreement} below ${floor}${window.rule ? ` (${window.rule})` : ''}` };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
