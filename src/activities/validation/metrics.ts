// The task's metrics on the evaluation set, one check each: a floor or ceiling from the policy
// passes or fails it; an unbounded metric is recorded as info. A metric that cannot be computed
// (one class only, a constant target) is recorded with its code: info when nothing bounds it,
// failed when the policy does (a bound that cannot be judged is not a pass).
import type { ModelTask } from '../../contracts/index.js';
import type { MetricResult } from '../../models/metrics/index.js';
import { VALIDATION_METRICS_BY_TASK, type MetricBound, type ValidationMetricName, type ValidationPolicy } from '../../policy/schema.js';
import { check, shown, type ValidationCheck } from './report.js';

/** The bound on one metric: the policy's, with minAccuracy as accuracy's floor (the higher floor wins). */
function boundOf(metric: ValidationMetricName, validation: ValidationPolicy): MetricBound | undefined {
  const bound = validation.metrics?.[metric];
  if (metric !== 'accuracy') return bound;
  const min = Math.max(validation.minAccuracy, bound?.min ?? -Infinity);
  return { ...bound, min };
}

function describeBound(bound: MetricBound): string {
  return [bound.min !== undefined ? `≥ ${bound.min}` : '', bound.max !== undefined ? `≤ ${bound.max}` : ''].filter(Boolean).join(' and ');
}

export function metricChecks(
  task: ModelTask,
  results: Partial<Record<ValidationMetricName, MetricResult>>,
  validation: ValidationPolicy,
  rows: number,
): ValidationCheck[] {
  const checks: ValidationCheck[] = [];
  const own: readonly ValidationMetricName[] = VALIDATION_METRICS_BY_TASK[task];
  for (const metric of own) {
    const result = results[metric];
    if (!result) continue;
    const bound = boundOf(metric, validation);
    const limits = { ...(bound?.min !== undefined ? { min: bound.min } : {}), ...(bound?.max !== undefined ? { max: bound.max } : {}) };
    if (!result.ok) {
      const numbers = { code: result.code, message: result.message, rows, ...limits };
      checks.push(bound
        ? check(metric, 'failed', `${metric} could not be computed on the evaluation set (${result.code}: ${result.message}), and the policy bounds it ${describeBound(bound)}`, numbers)
        : check(metric, 'info', `${metric} could not be computed on the evaluation set (${result.code}: ${result.message})`, numbers));
      continue;
    }
    const value = result.value;
    const numbers = { [metric]: value, rows, ...limits };
    if (!bound) {
      checks.push(check(metric, 'info', `${metric} ${shown(value)} on ${rows} rows (not bounded by the policy)`, numbers));
      continue;
    }
    const low = bound.min !== undefined && value < bound.min;
    const high = bound.max !== undefined && value > bound.max;
    const verdict = low || high ? 'failed' : 'successful';
    const reason = low ? `${shown(value)} < ${bound.min} (the floor)` : high ? `${shown(value)} > ${bound.max} (the ceiling)` : `${shown(value)} ${describeBound(bound)}`;
    checks.push(check(metric, verdict, `golden-set ${metric} ${reason} on ${rows} rows`, numbers));
  }
  if (task === 'regression') {
    checks.push(check('accuracy', 'info', `minAccuracy (${validation.minAccuracy}) does not apply to a regression model; bound rmse, mae or r2 under validation.metrics instead`, { minAccuracy: validation.minAccuracy }));
  }
  // A policy written for another task: said here when the rollout's start could not refuse it.
  for (const [metric, bound] of Object.entries(validation.metrics ?? {})) {
    if (bound && !own.includes(metric as ValidationMetricName)) {
      checks.push(check(metric, 'failed', `the policy bounds ${metric}, which a ${task.replace('_', ' ')} model does not have (its metrics: ${own.join(', ')})`, { ...bound }));
    }
  }
  return checks;
}
