// Champion/challenger: the candidate and production scored on the same evaluation set, and the
// paired bootstrap interval of the difference on the policy's metric.
//
// The rule (a non-inferiority test): with the difference oriented so that positive means the
// candidate is better (candidate − production for a higher-is-better metric, production −
// candidate otherwise), the candidate fails when the LOWER end of the interval is below −δ, that
// is, when the data cannot rule out, at the policy's level, that it is worse than production by
// more than δ. The burden is on the challenger: a candidate that scores the same rows exactly as
// production does has the interval [0, 0] and passes, but a noisy tie fails unless δ covers the
// noise of the evaluation set (more rows narrow the interval); one clearly worse by more than δ
// fails with the interval to show it.
import type { ModelContract } from '../../contracts/index.js';
import { HIGHER_IS_BETTER, pairedBootstrapDifference, type PairedEvaluation } from '../../models/metrics/index.js';
import { VALIDATION_METRICS_BY_TASK, type ChampionChallenger, type ValidationMetricName } from '../../policy/schema.js';
import { check, shown, type ValidationCheck } from './report.js';
import { predictionsOf, type Scores } from './scoring.js';

const NAME = 'champion_challenger';

function pairedEvaluation(contract: ModelContract, metric: ValidationMetricName, candidate: Scores, production: Scores, targets: Float64Array): PairedEvaluation | string {
  const own: readonly string[] = VALIDATION_METRICS_BY_TASK[candidate.task];
  if (!own.includes(metric)) return `${metric} is not a metric of a ${candidate.task.replace('_', ' ')} model (its metrics: ${own.join(', ')})`;
  if (production.task !== candidate.task) return `production scores a ${production.task}, the candidate a ${candidate.task}`;
  const pair = { candidate: predictionsOf(candidate), production: predictionsOf(production) };
  if (candidate.task === 'binary_classification') {
    return { task: candidate.task, metric: metric as Extract<PairedEvaluation, { task: 'binary_classification' }>['metric'], ...pair, labels: targets, threshold: contract.threshold ?? 0.5 };
  }
  if (candidate.task === 'multiclass_classification') {
    const classes = production.task === 'multiclass_classification' ? production.classes : 0;
    if (classes !== candidate.classes) return `production scores ${classes} classes, the candidate ${candidate.classes}`;
    return { task: candidate.task, metric: metric as Extract<PairedEvaluation, { task: 'multiclass_classification' }>['metric'], ...pair, labels: targets, classes };
  }
  return { task: 'regression', metric: metric as Extract<PairedEvaluation, { task: 'regression' }>['metric'], ...pair, targets };
}

export function championChallengerCheck(
  contract: ModelContract,
  rule: ChampionChallenger,
  candidate: Scores,
  production: { version: string; scores: Scores },
  targets: Float64Array,
): ValidationCheck {
  const settings = { metric: rule.metric, maxDegradation: rule.maxDegradation, resamples: rule.resamples, level: rule.level, seed: rule.seed, production: production.version };
  const evaluation = pairedEvaluation(contract, rule.metric, candidate, production.scores, targets);
  if (typeof evaluation === 'string') return check(NAME, 'failed', `champion/challenger on ${rule.metric} cannot be judged: ${evaluation}`, settings);
  const result = pairedBootstrapDifference(evaluation, { seed: rule.seed, resamples: rule.resamples, level: rule.level });
  if (!result.ok) {
    return check(NAME, 'failed', `champion/challenger on ${rule.metric} against production ${production.version} cannot be judged (${result.code}: ${result.message})`, { ...settings, code: result.code, message: result.message });
  }
  const higher = HIGHER_IS_BETTER[rule.metric];
  // Improvement of the candidate over production: positive is better, whichever way the metric points.
  const improvement = higher ? result.difference : -result.difference;
  const improvementInterval = higher
    ? { lower: result.interval.lower, upper: result.interval.upper }
    : { lower: -result.interval.upper, upper: -result.interval.lower };
  const worse = improvementInterval.lower < -rule.maxDegradation;
  const numbers = {
    ...settings,
    candidate: result.candidate, production: production.version, productionValue: result.production,
    difference: result.difference, interval: result.interval, higherIsBetter: higher,
    estimate: improvement, improvementInterval, skippedResamples: result.skippedResamples,
  };
  const pct = Math.round(rule.level * 100);
  const summary = `${rule.metric} candidate ${shown(result.candidate)} vs production ${production.version} ${shown(result.production)}: `
    + `improvement ${shown(improvement)}, ${pct}% CI [${shown(improvementInterval.lower)}, ${shown(improvementInterval.upper)}] `
    + `(${rule.resamples} paired resamples, seed ${String(rule.seed)})`;
  return worse
    ? check(NAME, 'failed', `${summary}; its lower end is below −δ = −${rule.maxDegradation}: the candidate may be worse than production by more than δ`, numbers)
    : check(NAME, 'successful', `${summary}; its lower end is at least −δ = −${rule.maxDegradation}`, numbers);
}
