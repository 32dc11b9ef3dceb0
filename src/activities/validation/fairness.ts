// Fairness across the evaluation set's segments: the policy's metric on each segment's rows, and
// the ratio of the worst segment to the best. The ratio is min/max of the segment values for every
// metric: for a higher-is-better metric that is worst/best, for a lower-is-better one (rmse) it is
// best/worst; either way 1 is equal and lower is less fair.
import type { ModelContract } from '../../contracts/index.js';
import { HIGHER_IS_BETTER } from '../../models/metrics/index.js';
import { VALIDATION_METRICS_BY_TASK, type ValidationMetricName, type ValidationPolicy } from '../../policy/schema.js';
import { check, shown, type ValidationCheck } from './report.js';
import { taskMetrics, type Scores } from './scoring.js';

const NAME = 'fairness';

export function fairnessCheck(
  contract: ModelContract,
  fairness: NonNullable<ValidationPolicy['fairness']>,
  scores: Scores,
  targets: Float64Array,
  segments: readonly string[] | undefined,
): ValidationCheck {
  const metric: ValidationMetricName = fairness.metric ?? (scores.task === 'regression' ? 'rmse' : 'accuracy');
  const own: readonly string[] = VALIDATION_METRICS_BY_TASK[scores.task];
  if (!own.includes(metric)) return check(NAME, 'failed', `fairness on ${metric} cannot be judged: not a metric of a ${scores.task.replace('_', ' ')} model (its metrics: ${own.join(', ')})`, { metric });
  const bySegment = new Map<string, number[]>();
  segments?.forEach((segment, row) => {
    const rows = bySegment.get(segment) ?? [];
    rows.push(row);
    bySegment.set(segment, rows);
  });
  const perSegment: Record<string, { n: number; value: number }> = {};
  const skipped: Record<string, { n: number; code: string; message: string }> = {};
  for (const [segment, rows] of bySegment) {
    const result = taskMetrics(contract, scores, targets, rows)[metric];
    if (result?.ok) perSegment[segment] = { n: rows.length, value: result.value };
    else if (result) skipped[segment] = { n: rows.length, code: result.code, message: result.message };
  }
  const values = Object.values(perSegment).map((s) => s.value);
  const numbers = { metric, minRatio: fairness.minRatio, perSegment, ...(Object.keys(skipped).length > 0 ? { skipped } : {}) };
  if (values.length < 2) {
    const why = bySegment.size < 2 ? `the evaluation set has ${bySegment.size} segment${bySegment.size === 1 ? '' : 's'}` : `${metric} could be computed on ${values.length} of ${bySegment.size} segments`;
    return check(NAME, 'failed', `fairness needs ${metric} on at least two segments of the evaluation set; ${why}`, numbers);
  }
  if (values.some((v) => v < 0)) return check(NAME, 'failed', `fairness on ${metric} cannot be judged: a segment's value is negative, so no ratio of segments means anything`, numbers);
  const best = HIGHER_IS_BETTER[metric] ? Math.max(...values) : Math.min(...values);
  const worst = HIGHER_IS_BETTER[metric] ? Math.min(...values) : Math.max(...values);
  const ratio = Math.max(...values) === 0 ? 1 : Math.min(...values) / Math.max(...values);
  const fair = ratio >= fairness.minRatio;
  return check(NAME, fair ? 'successful' : 'failed',
    `worst/best segment ${metric} ratio ${ratio.toFixed(3)} ${fair ? '≥' : '<'} ${fairness.minRatio} (worst ${shown(worst)}, best ${shown(best)}, ${values.length} segments)`,
    { ...numbers, ratio, worst, best });
}
