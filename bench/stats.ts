// Statistics and drift engine benchmark: `npm run bench:stats` (tsx bench/stats.ts).
// Seeded simulations of the sequential test (A/A false-positive rate with a look after every
// batch, the same looks at a fixed-horizon test, power and sample size at the MDE), of drift
// detection (false alarms without shift, detection with shifts on a quarter of the features),
// and the time to compute every drift measure over 100,000 rows × 32 features.
// Writes bench/results/stats.json and prints the figures with their ratios.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  buildReferenceProfile,
  createRandomSource,
  detectDrift,
  fixedHorizonSampleSize,
  initialSequentialState,
  mergeBinary,
  mergeContinuous,
  proportionInterval,
  seedRandom,
  sequentialTest,
  simulateBinaryBatch,
  simulateContinuousBatch,
  twoProportionZTest,
  welchTTest,
  type BinarySummary,
  type Columns,
  type ContinuousSummary,
  type DriftConfig,
  type MetricSummary,
  type RandomSource,
  type ReferenceProfile,
} from '../src/stats/index.js';

const ALPHA = 0.05;
const BATCH = 100; // users per arm between looks
const MAX_PER_ARM = 20_000;
const LOOKS = MAX_PER_ARM / BATCH; // 200
const RUNS = 2000;

type Metric = 'continuous' | 'binary';

interface ArmModel {
  readonly metric: Metric;
  readonly mean: number; // continuous mean or binary rate
  readonly sd: number; // continuous only
}

function draw(source: RandomSource, model: ArmModel): MetricSummary {
  return model.metric === 'continuous'
    ? simulateContinuousBatch(source, BATCH, model.mean, model.sd)
    : simulateBinaryBatch(source, BATCH, model.mean);
}

function merge(a: MetricSummary, b: MetricSummary): MetricSummary {
  return 'successes' in a ? mergeBinary(a, b as BinarySummary) : mergeContinuous(a, b as ContinuousSummary);
}

function fixedPValue(a: MetricSummary, b: MetricSummary): number {
  const result = 'successes' in a ? twoProportionZTest(a, b) : welchTTest(a, b);
  return result.ok ? result.pValue : 1;
}

interface RunOutcome {
  /** Per-arm sample at the first look where the mSPRT rejected, or null. */
  readonly sequentialStop: number | null;
  readonly sequentialEffect: number;
  /** Per-arm sample at the first look where the fixed-horizon test rejected, or null. */
  readonly fixedStop: number | null;
}

// One experiment: a look after every batch, up to MAX_PER_ARM per arm. Stops early once both tests
// have rejected (the A/A false-positive rate only needs "ever rejected").
function runExperiment(source: RandomSource, control: ArmModel, treatment: ArmModel, expectedSampleSize: number, trackFixed: boolean): RunOutcome {
  let a = draw(source, control);
  let b = draw(source, treatment);
  let state = initialSequentialState();
  let sequentialStop: number | null = null;
  let sequentialEffect = 0;
  let fixedStop: number | null = null;
  for (let look = 1; look <= LOOKS; look++) {
    if (look > 1) {
      a = merge(a, draw(source, control));
      b = merge(b, draw(source, treatment));
    }
    const n = look * BATCH;
    if (sequentialStop === null) {
      const s = sequentialTest(a, b, { alpha: ALPHA, expectedSampleSize }, state);
      if (s.ok) {
        state = s.state;
        if (s.significant) {
          sequentialStop = n;
          sequentialEffect = s.effect;
        }
      }
    }
    if (trackFixed && fixedStop === null && fixedPValue(a, b) < ALPHA) fixedStop = n;
    if (sequentialStop !== null && (!trackFixed || fixedStop !== null)) break;
  }
  return { sequentialStop, sequentialEffect, fixedStop };
}

function rate(count: number, total: number): { rate: number; ci95: [number, number] } {
  const [low, high] = proportionInterval(count, total);
  return { rate: count / total, ci95: [low, high] };
}

function simulateAA(metric: Metric, seed: string) {
  const source = createRandomSource(seedRandom(seed));
  const model: ArmModel = metric === 'continuous' ? { metric, mean: 10, sd: 3 } : { metric, mean: 0.1, sd: 0 };
  let sequential = 0;
  let fixed = 0;
  for (let run = 0; run < RUNS; run++) {
    const outcome = runExperiment(source, model, model, 5000, true);
    if (outcome.sequentialStop !== null) sequential++;
    if (outcome.fixedStop !== null) fixed++;
  }
  return { sequential: rate(sequential, RUNS), fixedPeeking: rate(fixed, RUNS) };
}

function simulatePower(metric: Metric, seed: string, expectedSampleSize: number | 'n_fixed') {
  const control: ArmModel = metric === 'continuous' ? { metric, mean: 10, sd: 3 } : { metric, mean: 0.1, sd: 0 };
  const mde = metric === 'continuous' ? 0.02 : 0.1; // relative
  const size = fixedHorizonSampleSize(
    metric === 'continuous'
      ? { metric, baselineMean: control.mean, standardDeviation: control.sd, minimumDetectableEffect: mde, alpha: ALPHA, power: 0.8 }
      : { metric, baselineRate: control.mean, minimumDetectableEffect: mde, alpha: ALPHA, power: 0.8 },
  );
  if (!size.ok) throw new Error(size.message);
  const treatment: ArmModel = { ...control, mean: control.mean * (1 + mde) };
  const nStar = expectedSampleSize === 'n_fixed' ? size.total : expectedSampleSize;
  const source = createRandomSource(seedRandom(seed));
  let detected = 0;
  let detectedByFixedN = 0;
  let detectedByTwiceFixedN = 0;
  let wrongSign = 0;
  let totalN = 0;
  for (let run = 0; run < RUNS; run++) {
    const outcome = runExperiment(source, control, treatment, nStar, false);
    if (outcome.sequentialStop !== null && outcome.sequentialEffect > 0) {
      detected++;
      if (outcome.sequentialStop <= size.control) detectedByFixedN++;
      if (outcome.sequentialStop <= 2 * size.control) detectedByTwiceFixedN++;
    }
    if (outcome.sequentialStop !== null && outcome.sequentialEffect < 0) wrongSign++;
    totalN += outcome.sequentialStop ?? MAX_PER_ARM;
  }
  return {
    mde_relative: mde,
    expected_sample_size_total: nStar,
    n_fixed_horizon_per_arm: size.control,
    power: rate(detected, RUNS),
    power_by_n_fixed: rate(detectedByFixedN, RUNS),
    power_by_2x_n_fixed: rate(detectedByTwiceFixedN, RUNS),
    wrong_sign_rate: wrongSign / RUNS,
    mean_n_per_arm: totalN / RUNS,
  };
}

// ---------------------------------------------------------------------------------------------
// Drift

const FEATURES = 32;
const SHIFTED = FEATURES / 4;

// Feature f draws from one of four shapes; shifts are in units of that shape's standard deviation.
function featureSampler(f: number): { draw: (source: RandomSource) => number; sd: number } {
  switch (f % 4) {
    case 0:
      return { draw: (s) => s.normal(), sd: 1 };
    case 1:
      return { draw: (s) => Math.exp(0.5 * s.normal()), sd: Math.sqrt((Math.exp(0.25) - 1) * Math.exp(0.25)) };
    case 2:
      return { draw: (s) => s.uniform() * 10, sd: 10 / Math.sqrt(12) };
    default:
      return { draw: (s) => s.gamma(3), sd: Math.sqrt(3) };
  }
}

function driftTable(source: RandomSource, rows: number, shiftInSd: number): Record<string, Float64Array> {
  const columns: Record<string, Float64Array> = {};
  for (let f = 0; f < FEATURES; f++) {
    const { draw: sample, sd } = featureSampler(f);
    const shift = f < SHIFTED ? shiftInSd * sd : 0;
    const column = new Float64Array(rows);
    for (let i = 0; i < rows; i++) column[i] = sample(source) + shift;
    columns[`f${f}`] = column;
  }
  return columns;
}

function profileOf(columns: Columns): ReferenceProfile {
  const result = buildReferenceProfile(columns, { seed: 'bench' });
  if (!result.ok) throw new Error(result.message);
  return result.profile;
}

// 500 windows without shift (the false-alarm rate), `shiftedWindows` per shifted condition.
function simulateDrift(referenceRows: number, windowRows: number, windows: number, shiftedWindows: number, seed: string) {
  const source = createRandomSource(seedRandom(seed));
  const profile = profileOf(driftTable(source, referenceRows, 0));
  const config: DriftConfig = {}; // Evidently-style defaults, Benjamini–Hochberg across features
  const conditions: Record<string, { windows: number; dataset_alarm_rate: number; shifted_feature_detection_rate: number | null; unshifted_feature_alarm_rate: number }> = {};
  for (const shift of [0, 0.1, 0.25, 0.5]) {
    let datasetAlarms = 0;
    let shiftedFlags = 0;
    let unshiftedFlags = 0;
    const count = shift === 0 ? windows : shiftedWindows;
    for (let w = 0; w < count; w++) {
      const report = detectDrift(profile, driftTable(source, windowRows, shift), config);
      if (!report.ok) throw new Error(report.message);
      if (report.dataset.drifted) datasetAlarms++;
      report.features.forEach((feature, f) => {
        if (!feature.drifted) return;
        if (shift > 0 && f < SHIFTED) shiftedFlags++;
        else unshiftedFlags++;
      });
    }
    const unshiftedCount = shift > 0 ? FEATURES - SHIFTED : FEATURES;
    conditions[String(shift)] = {
      windows: count,
      dataset_alarm_rate: datasetAlarms / count,
      shifted_feature_detection_rate: shift > 0 ? shiftedFlags / (count * SHIFTED) : null,
      unshifted_feature_alarm_rate: unshiftedFlags / (count * unshiftedCount),
    };
  }
  return { reference_rows: referenceRows, window_rows: windowRows, method: profile.rows <= 1000 ? 'ks (p < 0.05, BH)' : 'wasserstein normed (>= 0.1)', conditions };
}

function timeDrift(seed: string, mixed: boolean) {
  const source = createRandomSource(seedRandom(seed));
  const reference: Record<string, Float64Array | string[]> = driftTable(source, 50_000, 0);
  const current: Record<string, Float64Array | string[]> = driftTable(source, 100_000, 0.25);
  if (mixed) {
    // A quarter of the columns categorical (strings), the rest numeric.
    const labels = ['web', 'ios', 'android', 'api', 'partner', 'batch'];
    for (let f = FEATURES - SHIFTED; f < FEATURES; f++) {
      const pick = (rows: number) => Array.from({ length: rows }, () => labels[Math.floor(Math.abs(source.normal()) * 2) % labels.length]!);
      reference[`f${f}`] = pick(50_000);
      current[`f${f}`] = pick(100_000);
    }
  }
  const profile = profileOf(reference);
  const timings: number[] = [];
  for (let i = 0; i < 18; i++) {
    const start = performance.now();
    const report = detectDrift(profile, current);
    const elapsed = performance.now() - start;
    if (!report.ok) throw new Error(report.message);
    if (i >= 3) timings.push(elapsed); // the first runs warm the JIT
  }
  timings.sort((a, b) => a - b);
  return {
    median_ms: timings[Math.floor(timings.length / 2)]!,
    min_ms: timings[0]!,
    max_ms: timings[timings.length - 1]!,
    runs: timings.length,
  };
}

// ---------------------------------------------------------------------------------------------

function fmt(x: number, digits = 4): string {
  return Number(x.toPrecision(digits)).toString();
}

function main(): void {
  const started = performance.now();
  const phases: Record<string, number> = {};
  const phase = <T>(name: string, run: () => T): T => {
    const start = performance.now();
    const value = run();
    phases[name] = Number(((performance.now() - start) / 1000).toFixed(1));
    return value;
  };
  const aaContinuous = phase('aa_continuous', () => simulateAA('continuous', 'aa-continuous'));
  const aaBinary = phase('aa_binary', () => simulateAA('binary', 'aa-binary'));
  const powerDefault = phase('power_continuous', () => simulatePower('continuous', 'power-continuous', 5000));
  const powerTuned = phase('power_continuous_tuned', () => simulatePower('continuous', 'power-continuous-tuned', 'n_fixed'));
  const powerBinary = phase('power_binary', () => simulatePower('binary', 'power-binary', 5000));
  const driftLarge = phase('drift_large_reference', () => simulateDrift(20_000, 2_000, 500, 200, 'drift-large-reference'));
  const driftSmall = phase('drift_small_reference', () => simulateDrift(1_000, 2_000, 500, 200, 'drift-small-reference'));
  const timingNumeric = phase('drift_timing', () => timeDrift('drift-timing', false));
  const timingMixed = phase('drift_timing_mixed', () => timeDrift('drift-timing-mixed', true));
  const seconds = (performance.now() - started) / 1000;

  const results = {
    command: 'npm run bench:stats',
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
    generated_at: new Date().toISOString(),
    runtime_seconds: Number(seconds.toFixed(1)),
    phase_seconds: phases,
    aa_fpr_sequential: aaContinuous.sequential.rate,
    aa_fpr_sequential_ci95: aaContinuous.sequential.ci95,
    aa_fpr_fixed_peeking: aaContinuous.fixedPeeking.rate,
    aa_fpr_fixed_peeking_ci95: aaContinuous.fixedPeeking.ci95,
    aa_binary_fpr_sequential: aaBinary.sequential.rate,
    aa_binary_fpr_sequential_ci95: aaBinary.sequential.ci95,
    aa_binary_fpr_fixed_peeking: aaBinary.fixedPeeking.rate,
    aa_design: { runs: RUNS, batch_per_arm: BATCH, looks: LOOKS, max_per_arm: MAX_PER_ARM, alpha: ALPHA, expected_sample_size: 5000 },
    power_at_mde: powerDefault.power.rate,
    power_at_mde_ci95: powerDefault.power.ci95,
    power_by_n_fixed: powerDefault.power_by_n_fixed.rate,
    power_by_2x_n_fixed: powerDefault.power_by_2x_n_fixed.rate,
    mean_n_sequential: powerDefault.mean_n_per_arm,
    n_fixed_horizon: powerDefault.n_fixed_horizon_per_arm,
    power_design: { metric: 'continuous', baseline_mean: 10, sd: 3, mde_relative: powerDefault.mde_relative, expected_sample_size: 5000, max_per_arm: MAX_PER_ARM },
    power_tuned_n_star: powerTuned,
    power_binary: powerBinary,
    drift_false_alarm_rate: driftLarge.conditions['0']!.dataset_alarm_rate,
    drift_feature_false_alarm_rate: driftLarge.conditions['0']!.unshifted_feature_alarm_rate,
    drift_detection_rate: {
      '0.1': driftLarge.conditions['0.1']!.shifted_feature_detection_rate,
      '0.25': driftLarge.conditions['0.25']!.shifted_feature_detection_rate,
      '0.5': driftLarge.conditions['0.5']!.shifted_feature_detection_rate,
    },
    drift_large_reference: driftLarge,
    drift_small_reference: driftSmall,
    drift_ms_100k_x_32: timingNumeric.median_ms,
    drift_ms_100k_x_32_detail: timingNumeric,
    drift_ms_100k_x_32_mixed: timingMixed.median_ms,
    drift_ms_goal: 200,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/stats.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);

  const ci = (c: [number, number]) => `[${fmt(c[0], 3)}, ${fmt(c[1], 3)}]`;
  const lines = [
    `Sluice stats bench — ${results.machine.cpus} × ${results.machine.cpu}, Node ${results.machine.node}, ${fmt(seconds, 3)} s`,
    `A/A, ${RUNS} runs, a look every ${BATCH}/arm up to ${MAX_PER_ARM}/arm (${LOOKS} looks), alpha ${ALPHA}`,
    `  aa_fpr_sequential      ${fmt(results.aa_fpr_sequential)} ${ci(results.aa_fpr_sequential_ci95)}  = ${fmt(results.aa_fpr_sequential / ALPHA, 3)}× alpha (goal ≤ 1×)`,
    `  aa_fpr_fixed_peeking   ${fmt(results.aa_fpr_fixed_peeking)} ${ci(results.aa_fpr_fixed_peeking_ci95)}  = ${fmt(results.aa_fpr_fixed_peeking / ALPHA, 3)}× alpha`,
    `  binary: sequential ${fmt(results.aa_binary_fpr_sequential)} ${ci(results.aa_binary_fpr_sequential_ci95)}, fixed peeking ${fmt(results.aa_binary_fpr_fixed_peeking)}`,
    `A/B at the MDE (continuous, +${100 * powerDefault.mde_relative}% on mean 10, sd 3; N* = 5,000)`,
    `  power_at_mde           ${fmt(results.power_at_mde)} ${ci(results.power_at_mde_ci95)} by ${MAX_PER_ARM}/arm; ${fmt(results.power_by_n_fixed)} by n_fixed, ${fmt(results.power_by_2x_n_fixed)} by 2× n_fixed`,
    `  mean_n_sequential      ${fmt(results.mean_n_sequential)} per arm = ${fmt(results.mean_n_sequential / results.n_fixed_horizon, 3)}× n_fixed_horizon (${results.n_fixed_horizon} per arm, power 0.8)`,
    `  N* = n_fixed total:    power ${fmt(powerTuned.power.rate)}, mean n ${fmt(powerTuned.mean_n_per_arm)} = ${fmt(powerTuned.mean_n_per_arm / powerTuned.n_fixed_horizon_per_arm, 3)}× n_fixed`,
    `  binary (+10% on 10%):  power ${fmt(powerBinary.power.rate)}, mean n ${fmt(powerBinary.mean_n_per_arm)} = ${fmt(powerBinary.mean_n_per_arm / powerBinary.n_fixed_horizon_per_arm, 3)}× n_fixed (${powerBinary.n_fixed_horizon_per_arm})`,
    `Drift, ${FEATURES} features (shift on ${SHIFTED}), windows of 2,000 rows: 500 windows without shift, 200 per shift`,
  ];
  for (const run of [driftLarge, driftSmall]) {
    lines.push(`  reference ${run.reference_rows} rows, ${run.method}:`);
    for (const [shift, c] of Object.entries(run.conditions)) {
      lines.push(
        `    shift ${shift.padEnd(4)} sd: dataset alarms ${fmt(c.dataset_alarm_rate, 3)}, shifted features flagged ${c.shifted_feature_detection_rate === null ? '—' : fmt(c.shifted_feature_detection_rate, 3)}, other features flagged ${fmt(c.unshifted_feature_alarm_rate, 3)}`,
      );
    }
  }
  lines.push(
    `  drift_ms_100k_x_32     ${fmt(results.drift_ms_100k_x_32, 3)} ms median (min ${fmt(timingNumeric.min_ms, 3)}, max ${fmt(timingNumeric.max_ms, 3)}) = ${fmt(results.drift_ms_100k_x_32 / 200, 3)}× the 200 ms goal`,
    `  mixed (24 numeric + 8 categorical): ${fmt(results.drift_ms_100k_x_32_mixed, 3)} ms = ${fmt(results.drift_ms_100k_x_32_mixed / 200, 3)}× goal`,
    `phases (s): ${Object.entries(phases).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `wrote bench/results/stats.json`,
  );
  console.log(lines.join('\n'));
}

main();
