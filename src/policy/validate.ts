import { Value } from '@sinclair/typebox/value';
import '../shared/formats.js';
import { RolloutPolicy, VALIDATION_METRICS_BY_TASK, type ValidationPolicy } from './schema.js';

export interface PolicyFieldError {
  /** JSON pointer of the offending field, e.g. /canary/steps/1/weight */
  field: string;
  message: string;
}

export type PolicyParseResult =
  | { ok: true; policy: RolloutPolicy }
  | { ok: false; errors: PolicyFieldError[] };

/**
 * Fills defaults and checks a policy, including the rules a schema cannot say (steps increasing,
 * sample bounds ordered). A refused policy never reaches a workflow.
 */
export function parseRolloutPolicy(input: unknown): PolicyParseResult {
  const source = Value.Clone(input ?? {}) as Record<string, unknown>;
  // Without a primary metric there is nothing to test, so the experiment phase defaults to none
  // (validate → canary → promote); naming a metric turns the sequential A/B test on.
  const experiment = source.experiment;
  if (experiment === undefined || (typeof experiment === 'object' && experiment !== null && !('kind' in experiment))) {
    const e = (experiment ?? {}) as Record<string, unknown>;
    source.experiment = { ...e, kind: e.primaryMetric === undefined ? 'none' : 'ab' };
  }
  const withDefaults = Value.Default(RolloutPolicy, source);
  const errors: PolicyFieldError[] = [...Value.Errors(RolloutPolicy, withDefaults)].map((e) => ({
    field: e.path || '/',
    message: e.message,
  }));
  if (errors.length > 0) return { ok: false, errors: dedupe(errors) };
  const policy = withDefaults as RolloutPolicy;

  const steps = policy.canary.steps;
  for (let i = 1; i < steps.length; i++) {
    if ((steps[i]?.weight ?? 0) <= (steps[i - 1]?.weight ?? 0)) {
      errors.push({ field: `/canary/steps/${i}/weight`, message: `canary steps must increase: ${steps[i]?.weight} follows ${steps[i - 1]?.weight}` });
    }
  }
  for (let i = 0; i < steps.length; i++) {
    if ((steps[i]?.weight ?? 0) <= 0) errors.push({ field: `/canary/steps/${i}/weight`, message: 'a canary step must send some traffic (weight > 0)' });
  }
  const exp = policy.experiment;
  if (exp.minSamplePerArm > exp.maxSamplePerArm) {
    errors.push({ field: '/experiment/minSamplePerArm', message: `minSamplePerArm (${exp.minSamplePerArm}) exceeds maxSamplePerArm (${exp.maxSamplePerArm})` });
  }
  if (exp.kind !== 'none' && !exp.primaryMetric) {
    errors.push({ field: '/experiment/primaryMetric', message: `experiment kind ${exp.kind} needs a primary metric ({name, type, direction})` });
  }
  const guardrailNames = exp.guardrails.map((g) => g.name);
  if (exp.primaryMetric && guardrailNames.includes(exp.primaryMetric.name)) {
    errors.push({ field: '/experiment/guardrails', message: `metric ${exp.primaryMetric.name} is the primary metric and cannot also be a guardrail` });
  }
  if (exp.kind === 'bandit' && exp.primaryMetric && exp.primaryMetric.type !== 'binary') {
    errors.push({ field: '/experiment/primaryMetric/type', message: 'bandit mode needs a binary primary metric (Bernoulli rewards)' });
  }
  for (const [metric, bound] of Object.entries(policy.validation.metrics ?? {})) {
    if (!bound) continue;
    if (bound.min === undefined && bound.max === undefined) {
      errors.push({ field: `/validation/metrics/${metric}`, message: `a bound on ${metric} needs min, max or both` });
    } else if (bound.min !== undefined && bound.max !== undefined && bound.min > bound.max) {
      errors.push({ field: `/validation/metrics/${metric}/min`, message: `min (${bound.min}) exceeds max (${bound.max}): no value of ${metric} could pass` });
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policy };
}

/**
 * The validation fields a model of this task cannot be judged on (a bound on rmse for a
 * classifier, a champion/challenger rule on roc_auc for a regressor): checked when a rollout
 * starts for a model whose contract is known, so the policy is refused naming the field instead of
 * failing in validation. The validator says the same in a failed check when it gets that far.
 */
export function validationPolicyProblems(validation: ValidationPolicy, task: keyof typeof VALIDATION_METRICS_BY_TASK): PolicyFieldError[] {
  const allowed: readonly string[] = VALIDATION_METRICS_BY_TASK[task];
  const problem = (field: string, metric: string): PolicyFieldError => ({
    field, message: `${metric} is not a metric of a ${task.replace('_', ' ')} model (its metrics: ${allowed.join(', ')})`,
  });
  const problems: PolicyFieldError[] = [];
  for (const [metric, bound] of Object.entries(validation.metrics ?? {})) {
    if (bound && !allowed.includes(metric)) problems.push(problem(`/validation/metrics/${metric}`, metric));
  }
  const compared = validation.championChallenger?.metric;
  if (compared && !allowed.includes(compared)) problems.push(problem('/validation/championChallenger/metric', compared));
  const fair = validation.fairness?.metric;
  if (fair && !allowed.includes(fair)) problems.push(problem('/validation/fairness/metric', fair));
  return problems;
}

function dedupe(errors: PolicyFieldError[]): PolicyFieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A one-line summary for HTTP 400 bodies and CLI errors: names the first offending field. */
export function describePolicyErrors(errors: PolicyFieldError[]): string {
  return errors.slice(0, 5).map((e) => `${e.field}: ${e.message}`).join('; ');
}
